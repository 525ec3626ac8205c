//! The two encodings of the scheduler API, as Mesos has them: a call's
//! body is JSON or protobuf by its `Content-Type` (exactly those two
//! types), and a SUBSCRIBE's stream is written in the one its `Accept`
//! allows, JSON when it allows both (as Mesos prefers) or says nothing.

use corral_http::v1::scheduler::{Call, Event};
use corral_http::v1::{protobuf, JSON, PROTOBUF};
use corral_http::ApiError;

/// An encoding of calls and events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Format {
    /// `application/json`: protobuf's JSON mapping.
    Json,
    /// `application/x-protobuf`: `mesos.v1.scheduler.Call` and `Event`.
    Protobuf,
}

impl Format {
    /// The media type, for `Content-Type`.
    pub(super) fn media_type(self) -> &'static str {
        match self {
            Format::Json => JSON,
            Format::Protobuf => PROTOBUF,
        }
    }

    /// The format of a body whose `Content-Type` is `value` (parameters
    /// aside); None for any other type.
    pub(super) fn of_body(value: &str) -> Option<Format> {
        [Format::Json, Format::Protobuf]
            .into_iter()
            .find(|f| media_is(value, f.media_type()))
    }

    /// The format of a SUBSCRIBE's stream for its `Accept` header (None:
    /// the header is absent, which accepts anything); None when it allows
    /// neither.
    pub(super) fn of_stream(accept: Option<&str>) -> Option<Format> {
        let Some(accept) = accept else {
            return Some(Format::Json);
        };
        [Format::Json, Format::Protobuf]
            .into_iter()
            .find(|f| allows(accept, f.media_type()))
    }

    /// The call in `body`; a 400 names what is wrong with it. Either way
    /// the call is read into the same shapes, so what follows cannot tell
    /// the two apart.
    pub(super) fn call(self, body: &[u8]) -> Result<Call, ApiError> {
        let call = match self {
            Format::Json => serde_json::from_slice(body).map_err(|e| e.to_string()),
            Format::Protobuf => protobuf::decode_call(body).map_err(|e| e.to_string()),
        };
        call.map_err(|e| ApiError::bad_request(format!("Failed to parse body into a Call: {e}")))
    }

    /// `event` as one record (before RecordIO framing).
    pub(super) fn event(self, event: &Event) -> Result<Vec<u8>, String> {
        match self {
            Format::Json => serde_json::to_vec(event).map_err(|e| e.to_string()),
            Format::Protobuf => protobuf::encode_event(event).map_err(|e| e.to_string()),
        }
    }
}

/// Whether a media type (parameters aside) is `want`.
pub(super) fn media_is(value: &str, want: &str) -> bool {
    value
        .split(';')
        .next()
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(want))
}

/// Whether an `Accept` header allows `media` (`type/subtype`): a range
/// that is it, its `type/*` or `*/*`, with a quality above zero.
fn allows(accept: &str, media: &str) -> bool {
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
    use ::protobuf::well_known_types::Empty;
    use ::protobuf::{Message as _, UnknownFields};

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
    fn a_stream_is_json_unless_only_protobuf_is_accepted() {
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
            assert_eq!(Format::of_stream(accept), want, "{accept:?}");
        }
    }

    // rust-protobuf (raft-rs's codec) as a reader and writer independent
    // of ours: every field of an `Empty` is an unknown field, kept by
    // number.

    fn fields(bytes: &[u8]) -> UnknownFields {
        let m: Empty = ::protobuf::Message::parse_from_bytes(bytes).expect("protobuf");
        m.get_unknown_fields().clone()
    }

    fn delimited(f: &UnknownFields, number: u32) -> Vec<u8> {
        let values = f.get(number).expect("the field");
        assert_eq!(values.length_delimited.len(), 1, "field {number} once");
        values.length_delimited[0].clone()
    }

    fn message(build: impl FnOnce(&mut UnknownFields)) -> Vec<u8> {
        let mut m = Empty::new();
        build(m.mut_unknown_fields());
        m.write_to_bytes().expect("writes")
    }

    #[test]
    fn rust_protobuf_reads_our_update_events() {
        let e: Event = serde_json::from_value(serde_json::json!({"type": "UPDATE",
            "update": {"status": {"task_id": {"value": "t1"}, "state": "TASK_RUNNING",
                "timestamp": 1.5, "uuid": "AAECAwQFBgcICQoLDA0ODw=="}}}))
        .expect("an event");
        let bytes = Format::Protobuf.event(&e).expect("encodes");
        let event = fields(&bytes);
        assert_eq!(event.get(1).map(|v| v.varint.clone()), Some(vec![4]));
        let status = fields(&delimited(&fields(&delimited(&event, 5)), 1));
        assert_eq!(delimited(&fields(&delimited(&status, 1)), 1), b"t1");
        assert_eq!(status.get(2).map(|v| v.varint.clone()), Some(vec![1]));
        assert_eq!(
            status.get(6).map(|v| v.fixed64.clone()),
            Some(vec![1.5f64.to_bits()])
        );
        assert_eq!(delimited(&status, 11), (0..16).collect::<Vec<u8>>());
    }

    #[test]
    fn we_read_a_call_rust_protobuf_writes() {
        let id = |v: &str| message(|f| f.add_length_delimited(1, v.as_bytes().to_vec()));
        let kill = message(|f| {
            f.add_length_delimited(1, id("t1"));
            f.add_length_delimited(2, id("a1"));
        });
        let call = message(|f| {
            f.add_length_delimited(1, id("fw"));
            f.add_varint(2, 6);
            f.add_length_delimited(6, kill);
            f.add_fixed32(99, 7);
        });
        let c = Format::Protobuf.call(&call).expect("reads");
        assert_eq!(c.kind, corral_http::v1::scheduler::CallType::Kill);
        assert_eq!(c.framework_id.map(|f| f.value), Some("fw".into()));
        let k = c.kill.expect("kill");
        assert_eq!(
            (k.task_id.value, k.agent_id.map(|a| a.value)),
            ("t1".into(), Some("a1".into()))
        );
    }

    #[test]
    fn a_body_that_is_not_a_call_is_a_400_either_way() {
        use actix_web::ResponseError;
        for (f, body) in [
            (Format::Json, &b"{\"type\":"[..]),
            (Format::Protobuf, &[0x80][..]),
        ] {
            let e = f.call(body).expect_err("refused");
            assert_eq!(e.status_code().as_u16(), 400);
            assert!(
                e.message().starts_with("Failed to parse body into a Call"),
                "{}",
                e.message()
            );
        }
    }
}
