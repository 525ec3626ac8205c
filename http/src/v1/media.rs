//! The two encodings of Mesos's v1 APIs and how a request names them: a
//! body is JSON or protobuf by its `Content-Type` (exactly those two
//! types, case aside, parameters ignored), and a response is written in
//! the one its `Accept` allows, JSON when it allows both (as Mesos
//! prefers) or says nothing. Every v1 endpoint and the kill route decide
//! with these, so they agree on what a media type is.

use actix_web::http::header::{self, HeaderMap};
use actix_web::http::StatusCode;
use serde::de::DeserializeOwned;

use super::{JSON, PROTOBUF};
use crate::ApiError;

/// An encoding of calls and events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `application/json`: protobuf's JSON mapping.
    Json,
    /// `application/x-protobuf`.
    Protobuf,
}

impl Format {
    /// The media type, for `Content-Type`.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Json => JSON,
            Format::Protobuf => PROTOBUF,
        }
    }

    /// The format of a body whose `Content-Type` is `value`; None for any
    /// other type.
    pub fn of_body(value: &str) -> Option<Format> {
        [Format::Json, Format::Protobuf]
            .into_iter()
            .find(|f| media_is(value, f.media_type()))
    }

    /// The format of a response for its `Accept` header (None: the header
    /// is absent, which accepts anything); None when it allows neither.
    pub fn of_response(accept: Option<&str>) -> Option<Format> {
        let Some(accept) = accept else {
            return Some(Format::Json);
        };
        [Format::Json, Format::Protobuf]
            .into_iter()
            .find(|f| allows(accept, f.media_type()))
    }
}

/// A call posted as JSON, answered in JSON: 415 when the body says it is
/// something else, 406 when `Accept` rules JSON out, 400 with the reason
/// when the body is not a `T`.
pub fn json_call<T: DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<T, ApiError> {
    if !body_is_json(headers) {
        return Err(ApiError::unsupported_media_type(
            "Expecting 'Content-Type' of application/json (protobuf is not served yet)",
        ));
    }
    if accept(headers).is_some_and(|a| !allows(a, JSON)) {
        return Err(ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "Expecting 'Accept' to allow 'application/json'",
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("Failed to parse body into a Call: {e}")))
}

/// The format of a request's body, by its `Content-Type`: 400 when it
/// has none, 415 when it is neither JSON nor protobuf.
pub fn body_format(headers: &HeaderMap) -> Result<Format, ApiError> {
    let content_type = content_type(headers)
        .ok_or_else(|| ApiError::bad_request("Expecting 'Content-Type' to be present"))?;
    Format::of_body(content_type).ok_or_else(|| {
        ApiError::unsupported_media_type(format!(
            "Expecting 'Content-Type' of {JSON} or {PROTOBUF}, not '{}'",
            crate::echo(content_type)
        ))
    })
}

/// The format of a stream's events, by the request's `Accept`: 406 when
/// it allows neither.
pub fn response_format(headers: &HeaderMap) -> Result<Format, ApiError> {
    Format::of_response(accept(headers)).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            format!("Expecting 'Accept' to allow '{JSON}' or '{PROTOBUF}'"),
        )
    })
}

/// A call of protobuf message `message` (e.g.
/// [`EXECUTOR_CALL`](super::protobuf::EXECUTOR_CALL)) in `body`, read
/// into the shape `T` the same way either format: a 400 names what is
/// wrong.
pub fn read_call<T: DeserializeOwned>(
    format: Format,
    message: &str,
    body: &[u8],
) -> Result<T, ApiError> {
    let call = match format {
        Format::Json => serde_json::from_slice(body).map_err(|e| e.to_string()),
        Format::Protobuf => super::protobuf::decode(message, body).map_err(|e| e.to_string()),
    };
    call.map_err(|e| ApiError::bad_request(format!("Failed to parse body into a Call: {e}")))
}

/// `event`, the shape of protobuf message `message`, as one record
/// (before RecordIO framing).
pub fn write_event<T: serde::Serialize>(
    format: Format,
    message: &str,
    event: &T,
) -> Result<Vec<u8>, String> {
    match format {
        Format::Json => serde_json::to_vec(event).map_err(|e| e.to_string()),
        Format::Protobuf => super::protobuf::encode(message, event).map_err(|e| e.to_string()),
    }
}

/// A request's `Content-Type`; None when absent, "" when not text.
pub fn content_type(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or(""))
}

/// Whether a request says its body is JSON.
pub fn body_is_json(headers: &HeaderMap) -> bool {
    content_type(headers).is_some_and(|v| media_is(v, JSON))
}

/// A request's `Accept`; None when absent, "" (allowing nothing) when not
/// text.
pub fn accept(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::ACCEPT)
        .map(|v| v.to_str().unwrap_or(""))
}

/// Whether a media type (parameters aside) is `want`.
pub fn media_is(value: &str, want: &str) -> bool {
    value
        .split(';')
        .next()
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(want))
}

/// Whether an `Accept` header allows `media` (`type/subtype`): a range
/// that is it, its `type/*` or `*/*`, with a quality above zero.
pub fn allows(accept: &str, media: &str) -> bool {
    let wildcard = media
        .split_once('/')
        .map(|(kind, _)| format!("{kind}/*"))
        .unwrap_or_default();
    accept.split(',').any(|range| {
        let matches = [media, wildcard.as_str(), "*/*"]
            .iter()
            .any(|ok| media_is(range, ok));
        matches && quality(range) > 0.0
    })
}

/// A range's `q` parameter (1 when absent; 0, refusing it, when it is not
/// a number).
fn quality(range: &str) -> f32 {
    range
        .split(';')
        .skip(1)
        .filter_map(|p| p.split_once('='))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("q"))
        .map_or(1.0, |(_, q)| q.trim().parse().unwrap_or(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_json_or_protobuf_by_its_type() {
        assert_eq!(Format::of_body("application/json"), Some(Format::Json));
        assert_eq!(
            Format::of_body("application/json; charset=utf-8"),
            Some(Format::Json)
        );
        assert_eq!(
            Format::of_body("Application/X-Protobuf"),
            Some(Format::Protobuf)
        );
        assert_eq!(Format::of_body("text/plain"), None);
        assert_eq!(Format::of_body("application/protobuf"), None);
    }

    #[test]
    fn a_response_is_json_unless_only_protobuf_is_accepted() {
        let cases = [
            (None, Some(Format::Json)),
            (Some("application/json"), Some(Format::Json)),
            (Some("*/*"), Some(Format::Json)),
            (Some("application/*"), Some(Format::Json)),
            (
                Some("application/x-protobuf, application/json"),
                Some(Format::Json),
            ),
            (Some("application/x-protobuf"), Some(Format::Protobuf)),
            (
                Some("application/json;q=0, application/x-protobuf"),
                Some(Format::Protobuf),
            ),
            (Some("text/plain"), None),
            (Some(""), None),
            (Some("application/x-protobuf;q=0"), None),
        ];
        for (accept, want) in cases {
            assert_eq!(Format::of_response(accept), want, "{accept:?}");
        }
    }

    #[test]
    fn headers_that_are_not_text_name_no_type() {
        let mut h = HeaderMap::new();
        assert!(!body_is_json(&h));
        assert_eq!(accept(&h), None);
        let binary = header::HeaderValue::from_bytes(b"application/json\xff").expect("opaque");
        h.insert(header::CONTENT_TYPE, binary.clone());
        h.insert(header::ACCEPT, binary);
        assert!(!body_is_json(&h));
        assert_eq!(accept(&h), Some(""));
        h.insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("APPLICATION/JSON; charset=utf-8"),
        );
        assert!(body_is_json(&h));
    }
}
