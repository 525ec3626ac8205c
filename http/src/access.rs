//! Who may call a node's HTTP API: HTTP Basic authentication against the
//! node's credentials, as Mesos's `--authenticate-http-readonly` and
//! `--authenticate-http-readwrite`, or a bearer token signed with the
//! node's `--jwt-secret-key` ([`crate::token`]; see docs/security.md).
//!
//! Reads (GET, HEAD) and writes (every other method) are required
//! separately. A request that sends credentials must prove them even where
//! none are required, as on the actor protocol. `/health` is always open:
//! load balancers and supervisors probe it without credentials, as Mesos's.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::ResponseError;
use base64::Engine;
use corral_api::auth::{AuthError, Credential, Credentials, Secret};

use crate::errors::ApiError;
use crate::token::JwtKey;

/// The realm browsers show when they ask for a principal and secret.
pub const REALM: &str = "corral";

/// Who must authenticate to a node's HTTP API. Default: nobody.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpAccess {
    /// The principals and secrets Basic authentication is checked against.
    pub credentials: Option<Credentials>,
    /// Reads need a principal (`--authenticate-http-readonly`).
    pub readonly: bool,
    /// Writes need a principal (`--authenticate-http-readwrite`).
    pub readwrite: bool,
    /// The key bearer tokens are checked with (`--jwt-secret-key`).
    pub jwt: Option<JwtKey>,
}

impl HttpAccess {
    /// Whether a request of `method` must authenticate.
    fn required(&self, method: &Method) -> bool {
        if method == Method::GET || method == Method::HEAD {
            self.readonly
        } else {
            self.readwrite
        }
    }

    /// The principal `req` proves, None if it sends no credentials and
    /// needs none, or why it is refused.
    fn check(&self, req: &ServiceRequest) -> Result<Option<String>, String> {
        if req.path() == "/health" {
            return Ok(None);
        }
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().unwrap_or(""));
        if let Some(token) = given.and_then(bearer) {
            return match &self.jwt {
                Some(key) => key
                    .verify(token, unix_now())
                    .map(Some)
                    .map_err(|e| e.to_string()),
                None if self.required(req.method()) => Err(
                    "this node takes no bearer tokens (no --jwt-secret-key); use HTTP Basic"
                        .to_owned(),
                ),
                None => Ok(None),
            };
        }
        match (given.map(basic), &self.credentials) {
            (Some(Some(c)), Some(known)) => known.verify(&c).map(Some).map_err(|e| e.to_string()),
            (Some(None), _) => Err(
                "the Authorization header is neither HTTP Basic (principal:secret) nor a Bearer token"
                    .to_owned(),
            ),
            (Some(Some(_)), None) if self.required(req.method()) => Err(
                "this node checks no secrets (no credentials); send a Bearer token".to_owned(),
            ),
            (None, _) if self.required(req.method()) => Err(AuthError::Missing.to_string()),
            // Credentials sent to a node that has none to check them with
            // are ignored; config validation keeps such a node open.
            (Some(Some(_)), None) | (None, _) => Ok(None),
        }
    }
}

/// Seconds since the epoch, for tokens' expiry.
// The HTTP edge reads the wall clock; actors do not (clippy.toml).
#[allow(clippy::disallowed_methods)]
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The token of an `Authorization: Bearer` header value, None if it is
/// not one.
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// The principal a request proved, put there by the middleware.
#[derive(Clone, Debug)]
struct Proved(String);

/// The principal `req` proved (by HTTP Basic against the node's
/// credentials, or by a bearer token), None if it proved none: what ACLs
/// decide an operator's call by.
pub fn request_principal(req: &actix_web::HttpRequest) -> Option<String> {
    use actix_web::HttpMessage;
    req.extensions().get::<Proved>().map(|p| p.0.clone())
}

/// The credential a request's `Authorization: Basic` header gives, None
/// if it has none (or not a Basic one). The server has checked it already
/// where authentication is configured; a handler passes it on where the
/// principal matters beyond the HTTP API (a v1 framework's subscription).
pub fn request_credential(req: &actix_web::HttpRequest) -> Option<Credential> {
    basic(req.headers().get(header::AUTHORIZATION)?.to_str().ok()?)
}

/// The credential of an `Authorization: Basic` header value, None if it is
/// not one.
fn basic(value: &str) -> Option<Credential> {
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (principal, secret) = text.split_once(':')?;
    Some(Credential {
        principal: principal.to_owned(),
        secret: Secret::new(secret),
    })
}

/// The middleware: 401 with `WWW-Authenticate` for a request that does not
/// prove what its method needs; the route is not reached.
pub(crate) async fn enforce(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let checked = match req.app_data::<HttpAccess>() {
        Some(access) => access.check(&req),
        None => Ok(None),
    };
    let refused = match checked {
        Ok(Some(principal)) => {
            use actix_web::HttpMessage;
            req.extensions_mut().insert(Proved(principal));
            None
        }
        Ok(None) => None,
        Err(e) => Some(e),
    };
    if let Some(e) = refused {
        let mut response = ApiError::unauthorized(e).error_response();
        let mut challenges = vec![format!("Basic realm=\"{REALM}\", charset=\"UTF-8\"")];
        if req
            .app_data::<HttpAccess>()
            .is_some_and(|a| a.jwt.is_some())
        {
            challenges.push(format!("Bearer realm=\"{REALM}\""));
        }
        for challenge in challenges {
            if let Ok(value) = header::HeaderValue::from_str(&challenge) {
                response
                    .headers_mut()
                    .append(header::WWW_AUTHENTICATE, value);
            }
        }
        return Ok(req.into_response(response).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_headers_read_as_mesos_and_curl_send_them() {
        // `curl -u ops:s3:cret` (a secret may hold a colon).
        let encoded = base64::engine::general_purpose::STANDARD.encode("ops:s3:cret");
        let c = basic(&format!("Basic {encoded}")).expect("a credential");
        assert_eq!(c.principal, "ops");
        assert_eq!(c.secret, Secret::new("s3:cret"));
        assert!(basic(&format!("basic  {encoded}")).is_some());
        for bad in ["Bearer abc", "Basic !!!", "Basic", "", "Basic b3Bz"] {
            assert_eq!(basic(bad), None, "{bad}");
        }
    }

    #[test]
    fn bearer_headers_give_their_token() {
        assert_eq!(bearer("Bearer a.b.c"), Some("a.b.c"));
        assert_eq!(bearer("bearer   a.b.c "), Some("a.b.c"));
        assert_eq!(bearer("Basic b3BzOng="), None);
        assert_eq!(bearer("Bearer"), None);
    }
}
