//! Authentication and authorization: whether a framework's subscription
//! or an agent's registration proves a principal the master knows, as the
//! master's [`Authentication`] settings require, and whether that
//! principal may do what it asks (`--acls`, [`crate::acls`]).
//!
//! A refusal changes nothing: the framework gets a `FrameworkError`, the
//! agent a `RegistrationRefused`, each saying why.

use corral_api::auth::{AuthError, Credential};
use corral_api::framework::FrameworkInfo;

use super::config::Authentication;
use super::MasterCore;

impl MasterCore {
    /// The framework's info with the principal its credential or its
    /// certificate (`certified`) proves, or why it may not subscribe. A
    /// framework that names a principal must prove that one; one that
    /// names none takes the proved one.
    pub(super) fn authenticate_framework(
        &self,
        info: FrameworkInfo,
        given: Option<&Credential>,
        certified: Option<&str>,
    ) -> Result<FrameworkInfo, AuthError> {
        let auth = &self.cfg.authentication;
        let Some(proved) = authenticate(auth, auth.frameworks, given, certified)? else {
            return Ok(info);
        };
        match &info.principal {
            Some(claimed) if claimed != &proved => Err(AuthError::PrincipalMismatch {
                claimed: claimed.clone(),
                proved,
            }),
            _ => Ok(FrameworkInfo {
                principal: Some(proved),
                ..info
            }),
        }
    }

    /// Whether the framework's principal may register in `role`, or why
    /// not. The principal is the proved one where frameworks authenticate;
    /// otherwise the one `info` claims, as in Mesos.
    pub(super) fn authorize_registration(
        &self,
        info: &FrameworkInfo,
        role: &str,
    ) -> Result<(), String> {
        let principal = info.principal.as_deref();
        if self.cfg.acls.may_register(principal, role) {
            return Ok(());
        }
        Err(format!(
            "subscription refused: {} may not register frameworks in role {role:?}",
            who(principal)
        ))
    }

    /// Whether the framework's principal may run tasks as the framework's
    /// user, or why not.
    pub(super) fn authorize_run(&self, info: &FrameworkInfo) -> Result<(), String> {
        let principal = info.principal.as_deref();
        if self.cfg.acls.may_run_as(principal, &info.user) {
            return Ok(());
        }
        let user = match info.user.as_str() {
            "" => "the agent's user".to_owned(),
            u => format!("user {u:?}"),
        };
        Err(format!("{} may not run tasks as {user}", who(principal)))
    }

    /// The principal an agent's credential or certificate proves (None
    /// where none is asked or given), or why it may not register.
    pub(super) fn authenticate_agent(
        &self,
        given: Option<&Credential>,
        certified: Option<&str>,
    ) -> Result<Option<String>, AuthError> {
        let auth = &self.cfg.authentication;
        authenticate(auth, auth.agents, given, certified)
    }
}

/// A framework's principal as refusals name it.
fn who(principal: Option<&str>) -> String {
    match principal {
        Some(p) => format!("principal {p:?}"),
        None => "a framework without a principal".to_owned(),
    }
}

/// The principal `given` proves against `auth`'s credentials, or the
/// `certified` one the sender's certificate proves (the cluster CA vouches
/// for it, so it need not be among the credentials); both must agree. A
/// sender that proves nothing is refused only when `required`.
fn authenticate(
    auth: &Authentication,
    required: bool,
    given: Option<&Credential>,
    certified: Option<&str>,
) -> Result<Option<String>, AuthError> {
    let proved = match (given, &auth.credentials) {
        (Some(c), Some(known)) => Some(known.verify(c)?),
        // A master with no credentials cannot check one; config validation
        // makes sure it then requires none, or has certificates to check.
        (Some(_), None) | (None, _) => None,
    };
    match (proved, certified) {
        (Some(proved), Some(certified)) if proved != certified => {
            Err(AuthError::CertificateMismatch {
                certified: certified.to_owned(),
                proved,
            })
        }
        (Some(proved), _) => Ok(Some(proved)),
        (None, Some(certified)) => Ok(Some(certified.to_owned())),
        (None, None) if required => Err(AuthError::Missing),
        (None, None) => Ok(None),
    }
}
