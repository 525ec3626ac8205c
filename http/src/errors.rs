//! Errors of the HTTP servers: [`HttpError`] when one cannot start,
//! [`ApiError`] as the JSON answer `{"error": "..."}` to a bad request.

use std::net::SocketAddr;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// Why an HTTP server could not start.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The body limit is zero, so no request with a body could be served.
    #[error("max_body_bytes must be above zero")]
    ZeroBodyLimit,
    /// Authentication is required with no credentials or token key to
    /// check.
    #[error(
        "--authenticate-http-readonly and --authenticate-http-readwrite need credentials or a --jwt-secret-key"
    )]
    NoCredentials,
    /// The TCP address could not be bound (in use, not an address of this
    /// machine, or a privileged port).
    #[error("cannot listen for HTTP on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The HTTPS certificate or key could not be read or used.
    #[error("cannot serve HTTPS: {0}")]
    Tls(#[from] corral_runtime::node::tls::TlsError),
    /// The server's thread could not be started or died while starting.
    #[error("the HTTP server thread failed: {0}")]
    Thread(String),
}

/// An answer to a request that cannot be served: a status and a message in
/// plain words, sent as `{"error": message}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    status: StatusCode,
    message: String,
    /// Methods the path accepts, for 405's `Allow` header.
    allow: Option<&'static str>,
}

/// The longest request text echoed back in an error message, so a huge URL
/// does not come back huge.
const MAX_ECHO_CHARS: usize = 200;

impl ApiError {
    /// An error with `status` and `message`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            allow: None,
        }
    }

    /// 400: the request's path or query is malformed.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 401: the request must prove a principal first.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, message)
    }

    /// 403: the request names something it may not see.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, message)
    }

    /// 404: nothing there.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    /// 405: the path exists but not for this method; `allow` lists the
    /// methods it takes (e.g. `"GET"`).
    pub fn method_not_allowed(method: &str, path: &str, allow: &'static str) -> ApiError {
        ApiError {
            allow: Some(allow),
            ..ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                format!(
                    "{} is not allowed on {}; use {allow}",
                    echo(method),
                    echo(path)
                ),
            )
        }
    }

    /// 409: the request conflicts with the current state.
    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, message)
    }

    /// 415: the request's body is not of a type the endpoint takes.
    pub fn unsupported_media_type(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, message)
    }

    /// 413: the request's body is over `max_bytes`.
    pub fn too_large(max_bytes: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is over the limit of {max_bytes} bytes"),
        )
    }

    /// 503: the actor behind the endpoint did not answer.
    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }

    /// 500: the server failed in a way the request did not cause.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    /// The message, in plain words.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// `text` for an error message: at most 200 characters,
/// control characters escaped.
pub fn echo(text: &str) -> String {
    let mut out: String = text.chars().take(MAX_ECHO_CHARS).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    if out.chars().any(char::is_control) {
        out = out.escape_default().to_string();
    }
    out
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if let Some(allow) = self.allow {
            response.insert_header((header::ALLOW, allow));
        }
        response.json(ErrorBody {
            error: &self.message,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoes_are_short_and_printable() {
        assert_eq!(echo("/state"), "/state");
        let long = "x".repeat(1000);
        assert_eq!(echo(&long).chars().count(), MAX_ECHO_CHARS + 1);
        assert_eq!(echo("a\nb"), "a\\nb");
    }

    #[test]
    fn a_405_says_what_is_allowed() {
        let e = ApiError::method_not_allowed("DELETE", "/state", "GET");
        let r = e.error_response();
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(r.headers().get(header::ALLOW).unwrap(), "GET");
        assert!(e.message().contains("use GET"), "{e}");
    }
}
