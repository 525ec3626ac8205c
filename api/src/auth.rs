//! Who a framework or an agent is: a principal and the secret that proves
//! it ([`Credential`]), and the master's list of them ([`Credentials`]).
//!
//! A framework sends its credential with [`Subscribe`](crate::framework::Subscribe),
//! an agent with [`RegisterAgent`](crate::agent::RegisterAgent). The secret
//! travels inside the QUIC connection's TLS encryption, as an HTTP Basic
//! password does over HTTPS; it is never logged ([`Secret`]'s `Debug` hides
//! it). The files use Mesos's JSON shapes, or TOML:
//!
//! - the master's `--credentials`:
//!   `{"credentials": [{"principal": "p", "secret": "s"}]}`, or TOML
//!   `[[credentials]]` tables with `principal` and `secret`;
//! - an agent's or framework's `--credential`: `{"principal": "p",
//!   "secret": "s"}`, TOML `principal = "p"` and `secret = "s"`, or Mesos's
//!   plain text `p s` on one line.

use std::collections::BTreeMap;
use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// The most bytes a principal or a secret may have.
pub const MAX_CREDENTIAL_BYTES: usize = 1024;

/// A secret: compared in constant time, never printed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The secret `text`.
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }

    /// The secret's text, to send it (an HTTP Basic header); never log it.
    pub fn reveal(&self) -> &str {
        &self.0
    }

    /// Whether `other` is the same secret, taking as long whatever the
    /// first differing byte (only the length may show).
    fn matches(&self, other: &Secret) -> bool {
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A principal and its secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    /// Who.
    pub principal: String,
    /// What proves it.
    pub secret: Secret,
}

/// Why a credentials file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    /// Neither JSON, TOML nor (for one credential) `principal secret`.
    #[error("not a credentials file (JSON or TOML as Mesos's): {0}")]
    Syntax(String),
    /// A principal or secret that is empty or too long.
    #[error("principal {principal:?}: {why}")]
    Invalid {
        /// The principal concerned (as much as could be read).
        principal: String,
        /// What is wrong.
        why: String,
    },
    /// One principal named twice.
    #[error("principal {0:?} is listed twice")]
    Duplicate(String),
    /// A list without any credential.
    #[error("the file lists no credentials")]
    Empty,
}

/// Why an actor is not who it says.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Authentication is required and none was given.
    #[error(
        "authentication required: give a credential (principal and secret) or connect with a \
         certificate from the cluster CA that names a principal"
    )]
    Missing,
    /// A credential proves another principal than the one the sender's
    /// certificate proves.
    #[error(
        "the credential's principal {proved:?} is not {certified:?}, whom the certificate proves"
    )]
    CertificateMismatch {
        /// The principal the certificate names.
        certified: String,
        /// The principal the credential proves.
        proved: String,
    },
    /// Wrong secret, or a principal the master does not know (the two are
    /// not told apart, so principals cannot be probed).
    #[error("authentication failed for principal {0:?}: unknown principal or wrong secret")]
    Failed(String),
    /// The framework names a principal other than the one it proved.
    #[error("the framework's principal {claimed:?} is not the authenticated {proved:?}")]
    PrincipalMismatch {
        /// The principal in the framework's info.
        claimed: String,
        /// The principal the credential proves.
        proved: String,
    },
}

impl Credential {
    /// The value of an HTTP `Authorization` header proving this credential
    /// with Basic authentication.
    pub fn basic_header(&self) -> String {
        let pair = format!("{}:{}", self.principal, self.secret.reveal());
        format!("Basic {}", STANDARD.encode(pair))
    }

    /// Reads one credential: JSON `{"principal", "secret"}`, TOML with
    /// those keys, or Mesos's plain `principal secret`.
    pub fn parse(text: &str) -> Result<Credential, CredentialsError> {
        let parsed = serde_json::from_str::<Credential>(text)
            .or_else(|_| toml::from_str::<Credential>(text))
            .or_else(|e| plain(text).ok_or_else(|| CredentialsError::Syntax(e.to_string())))?;
        parsed.checked()
    }

    fn checked(self) -> Result<Credential, CredentialsError> {
        let invalid = |why: &str| CredentialsError::Invalid {
            principal: self.principal.chars().take(64).collect(),
            why: why.to_owned(),
        };
        if self.principal.is_empty() || self.secret.0.is_empty() {
            return Err(invalid("principal and secret must not be empty"));
        }
        if self.principal.len() > MAX_CREDENTIAL_BYTES || self.secret.0.len() > MAX_CREDENTIAL_BYTES
        {
            return Err(invalid(&format!(
                "principal and secret may have at most {MAX_CREDENTIAL_BYTES} bytes"
            )));
        }
        Ok(self)
    }
}

/// Mesos's plain-text credential: `principal secret` on one line.
fn plain(text: &str) -> Option<Credential> {
    let mut words = text.split_whitespace();
    match (words.next(), words.next(), words.next()) {
        (Some(principal), Some(secret), None) => Some(Credential {
            principal: principal.to_owned(),
            secret: Secret::new(secret),
        }),
        _ => None,
    }
}

/// The master's known principals and their secrets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Credentials {
    secrets: BTreeMap<String, Secret>,
}

#[derive(Deserialize)]
struct CredentialsFile {
    credentials: Vec<Credential>,
}

impl Credentials {
    /// Reads Mesos's JSON credentials file, or its TOML form.
    pub fn parse(text: &str) -> Result<Credentials, CredentialsError> {
        let file = serde_json::from_str::<CredentialsFile>(text)
            .or_else(|_| toml::from_str::<CredentialsFile>(text))
            .map_err(|e| CredentialsError::Syntax(e.to_string()))?;
        Credentials::from_list(file.credentials)
    }

    /// The credentials of `list`, each checked; a principal may appear once.
    pub fn from_list(list: Vec<Credential>) -> Result<Credentials, CredentialsError> {
        if list.is_empty() {
            return Err(CredentialsError::Empty);
        }
        let mut secrets = BTreeMap::new();
        for c in list {
            let c = c.checked()?;
            if secrets.insert(c.principal.clone(), c.secret).is_some() {
                return Err(CredentialsError::Duplicate(c.principal));
            }
        }
        Ok(Credentials { secrets })
    }

    /// How many principals are known.
    pub fn len(&self) -> usize {
        self.secrets.len()
    }

    /// Whether no principal is known.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// The principal `given` proves, if it proves one.
    pub fn verify(&self, given: &Credential) -> Result<String, AuthError> {
        match self.secrets.get(&given.principal) {
            Some(secret) if secret.matches(&given.secret) => Ok(given.principal.clone()),
            _ => Err(AuthError::Failed(given.principal.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cred(p: &str, s: &str) -> Credential {
        Credential {
            principal: p.into(),
            secret: Secret::new(s),
        }
    }

    #[test]
    fn the_master_reads_mesos_json_and_toml_and_verifies_secrets() {
        let json = r#"{"credentials": [{"principal": "ops", "secret": "s3"}, {"principal": "web", "secret": "w"}]}"#;
        let toml = "[[credentials]]\nprincipal = \"ops\"\nsecret = \"s3\"\n\n[[credentials]]\nprincipal = \"web\"\nsecret = \"w\"\n";
        for text in [json, toml] {
            let c = Credentials::parse(text).unwrap();
            assert_eq!(c.len(), 2);
            assert_eq!(c.verify(&cred("ops", "s3")), Ok("ops".into()));
            assert_eq!(
                c.verify(&cred("ops", "s4")),
                Err(AuthError::Failed("ops".into()))
            );
            assert_eq!(
                c.verify(&cred("ops", "s")),
                Err(AuthError::Failed("ops".into()))
            );
            assert_eq!(
                c.verify(&cred("nobody", "s3")),
                Err(AuthError::Failed("nobody".into()))
            );
        }
    }

    #[test]
    fn one_credential_reads_as_json_toml_or_plain_text() {
        for text in [
            r#"{"principal": "agent", "secret": "x"}"#,
            "principal = \"agent\"\nsecret = \"x\"\n",
            "agent x\n",
        ] {
            assert_eq!(Credential::parse(text), Ok(cred("agent", "x")), "{text}");
        }
    }

    #[test]
    fn bad_files_are_errors_in_words() {
        let cases = [
            ("nonsense", "not a credentials file"),
            (r#"{"credentials": []}"#, "lists no credentials"),
            (
                r#"{"credentials": [{"principal": "a", "secret": ""}]}"#,
                "must not be empty",
            ),
            (
                r#"{"credentials": [{"principal": "a", "secret": "x"}, {"principal": "a", "secret": "y"}]}"#,
                "listed twice",
            ),
        ];
        for (text, expected) in cases {
            let e = Credentials::parse(text).unwrap_err().to_string();
            assert!(e.contains(expected), "{text}: {e}");
        }
        let long = format!("a {}", "x".repeat(MAX_CREDENTIAL_BYTES + 1));
        assert!(Credential::parse(&long).is_err());
        assert!(Credential::parse("a b c").is_err());
    }

    #[test]
    fn basic_headers_are_rfc_7617s() {
        // RFC 7617's own example.
        let c = cred("Aladdin", "open sesame");
        assert_eq!(c.basic_header(), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    }

    #[test]
    fn secrets_are_never_printed() {
        let printed = format!("{:?}", cred("ops", "hunter2"));
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("ops"));
    }
}
