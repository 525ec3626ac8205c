//! The scheduler API's calls and events in either of the v1 encodings
//! ([`Format`], chosen by the request's headers).

use corral_http::v1::media::{self, Format};
use corral_http::v1::protobuf;
use corral_http::v1::scheduler::{Call, Event};
use corral_http::ApiError;

/// The call in `body`; a 400 names what is wrong with it. Either way the
/// call is read into the same shapes, so what follows cannot tell the two
/// apart.
pub(super) fn call(format: Format, body: &[u8]) -> Result<Call, ApiError> {
    media::read_call(format, protobuf::CALL, body)
}

/// `event` as one record (before RecordIO framing).
pub(super) fn event(format: Format, event: &Event) -> Result<Vec<u8>, String> {
    media::write_event(format, protobuf::EVENT, event)
}

#[cfg(test)]
mod tests {
    use ::protobuf::well_known_types::Empty;
    use ::protobuf::{Message as _, UnknownFields};

    use super::*;

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
        let bytes = event(Format::Protobuf, &e).expect("encodes");
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
        let bytes = message(|f| {
            f.add_length_delimited(1, id("fw"));
            f.add_varint(2, 6);
            f.add_length_delimited(6, kill);
            f.add_fixed32(99, 7);
        });
        let c = call(Format::Protobuf, &bytes).expect("reads");
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
            let e = call(f, body).expect_err("refused");
            assert_eq!(e.status_code().as_u16(), 400);
            assert!(
                e.message().starts_with("Failed to parse body into a Call"),
                "{}",
                e.message()
            );
        }
    }
}
