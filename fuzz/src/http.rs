//! What the HTTP fuzz targets (`http_master`, `http_agent`) share: an
//! input read as a request, and a response read as its status and body.

use std::future::poll_fn;
use std::pin::Pin;

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode, Uri};
use actix_web::test::{read_body, TestRequest};
use actix_web::web::Bytes;

/// The request `data` describes, or None if no HTTP parser would make one:
/// a method line, a target line (path and query), header lines
/// `name: value`, an empty line, then the body.
pub fn request(data: &[u8]) -> Option<(Method, TestRequest)> {
    let mut rest = data;
    let mut line = || -> Option<&[u8]> {
        let end = rest.iter().position(|&b| b == b'\n')?;
        let (l, r) = rest.split_at(end);
        rest = &r[1..];
        Some(l)
    };
    let method = Method::from_bytes(line()?).ok()?;
    let target = std::str::from_utf8(line()?).ok()?;
    if !target.starts_with('/') || target.parse::<Uri>().is_err() {
        return None;
    }
    let mut req = TestRequest::default().method(method.clone()).uri(target);
    loop {
        let l = line()?;
        if l.is_empty() {
            break;
        }
        let colon = l.iter().position(|&b| b == b':')?;
        let name = HeaderName::from_bytes(&l[..colon]).ok()?;
        let value = HeaderValue::from_bytes(l[colon + 1..].trim_ascii()).ok()?;
        req = req.append_header((name, value));
    }
    Some((method, req.set_payload(rest.to_vec())))
}

/// `response`'s status and body. A subscription's stream never ends by
/// itself: its first chunk is its body here.
pub async fn answer<B: MessageBody>(response: ServiceResponse<B>) -> (StatusCode, Bytes) {
    let status = response.status();
    if let BodySize::Stream = response.response().body().size() {
        let mut body = Box::pin(response.into_body());
        let first = poll_fn(|cx| Pin::new(&mut body).as_mut().poll_next(cx)).await;
        return (status, first.and_then(Result::ok).unwrap_or_default());
    }
    (status, read_body(response).await)
}

/// The HTTP contract both nodes keep: no 500, and every error answer (but
/// to HEAD, which has no body) is JSON `{"error": "..."}`.
pub fn assert_contract(method: &Method, status: StatusCode, body: &[u8]) {
    assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "500: {body:?}");
    if status.as_u16() >= 400 && method != Method::HEAD {
        let json: serde_json::Value = serde_json::from_slice(body)
            .unwrap_or_else(|e| panic!("a {status} whose body is not JSON ({e}): {body:?}"));
        assert!(
            json["error"].is_string(),
            "a {status} without an error: {json}"
        );
    }
}
