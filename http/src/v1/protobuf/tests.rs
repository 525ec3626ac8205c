use proptest::prelude::*;
use serde_json::json;

use super::*;

// Protobuf bytes built by hand from the field numbers of Mesos's .proto
// files, independently of the schema the transcoder reads.

pub(super) fn varint(mut v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
    out
}

/// Field `n`, varint `v`.
pub(super) fn num(n: u64, v: u64) -> Vec<u8> {
    [varint(n << 3), varint(v)].concat()
}

/// Field `n`, length-delimited `bytes`.
pub(super) fn len(n: u64, bytes: &[u8]) -> Vec<u8> {
    [
        varint((n << 3) | 2),
        varint(bytes.len() as u64),
        bytes.to_vec(),
    ]
    .concat()
}

/// Field `n`, a double.
pub(super) fn dbl(n: u64, x: f64) -> Vec<u8> {
    [varint((n << 3) | 1), x.to_le_bytes().to_vec()].concat()
}

/// An id message (`{"value": v}`) as field `n`.
pub(super) fn id(n: u64, v: &str) -> Vec<u8> {
    len(n, &len(1, v.as_bytes()))
}

fn call(v: Value) -> Call {
    serde_json::from_value(v).expect("a call")
}

fn event(v: Value) -> Event {
    serde_json::from_value(v).expect("an event")
}

#[test]
fn a_hand_built_kill_reads_and_is_written_byte_for_byte() {
    // framework_id = 1, type = 2 (KILL = 6), kill = 6 { task_id = 1, agent_id = 2 }.
    let bytes = [
        id(1, "fw"),
        num(2, 6),
        len(6, &[id(1, "t1"), id(2, "a1")].concat()),
    ]
    .concat();
    let want = call(json!({"type": "KILL", "framework_id": {"value": "fw"},
        "kill": {"task_id": {"value": "t1"}, "agent_id": {"value": "a1"}}}));
    assert_eq!(decode_call(&bytes).expect("decodes"), want);
    assert_eq!(encode_call(&want).expect("encodes"), bytes);
}

#[test]
fn a_hand_built_message_call_and_failure_event_read_as_mesos_numbers_them() {
    // framework_id = 1, type = 2 (MESSAGE = 10), message = 10 { agent_id =
    // 1, executor_id = 2, data = 3 }.
    let bytes = [
        id(1, "fw"),
        num(2, 10),
        len(10, &[id(1, "a1"), id(2, "e"), len(3, b"hi")].concat()),
    ]
    .concat();
    let c = call(
        json!({"framework_id": {"value": "fw"}, "type": "MESSAGE", "message": {
        "agent_id": {"value": "a1"}, "executor_id": {"value": "e"}, "data": "aGk="}}),
    );
    assert_eq!(decode_call(&bytes).expect("decodes"), c);
    assert_eq!(encode_call(&c).expect("encodes"), bytes);
    // type = 1 (FAILURE = 6), failure = 7 { agent_id = 1, executor_id = 2,
    // status = 3 }; MESSAGE = 5 with message = 6.
    let failure = [
        num(1, 6),
        len(7, &[id(1, "a1"), id(2, "e"), num(3, 256)].concat()),
    ]
    .concat();
    let e = event(
        json!({"type": "FAILURE", "failure": {"agent_id": {"value": "a1"},
        "executor_id": {"value": "e"}, "status": 256}}),
    );
    assert_eq!(encode_event(&e).expect("encodes"), failure);
    let message = [
        num(1, 5),
        len(6, &[id(1, "a1"), id(2, "e"), len(3, b"hi")].concat()),
    ]
    .concat();
    let e = event(
        json!({"type": "MESSAGE", "message": {"agent_id": {"value": "a1"},
        "executor_id": {"value": "e"}, "data": "aGk="}}),
    );
    assert_eq!(encode_event(&e).expect("encodes"), message);
}

#[test]
fn a_hand_built_update_event_is_what_corral_writes() {
    let uuid: Vec<u8> = (0..16).collect();
    let status = [
        id(1, "t1"),
        num(2, 1), // TASK_RUNNING
        id(5, "a1"),
        dbl(6, 1.5),
        num(9, 2),  // SOURCE_EXECUTOR
        num(10, 9), // REASON_RECONCILIATION
        len(11, &uuid),
    ]
    .concat();
    let bytes = [num(1, 4), len(5, &len(1, &status))].concat();
    let e = event(json!({"type": "UPDATE", "update": {"status": {
        "task_id": {"value": "t1"}, "state": "TASK_RUNNING", "agent_id": {"value": "a1"},
        "timestamp": 1.5, "source": "SOURCE_EXECUTOR", "reason": "REASON_RECONCILIATION",
        "uuid": STANDARD.encode(&uuid)}}}));
    assert_eq!(encode_event(&e).expect("encodes"), bytes);
    assert_eq!(decode_event(&bytes).expect("decodes"), e);
}

#[test]
fn a_hand_built_offer_event_is_what_corral_writes() {
    let cpus = [
        len(1, b"cpus"),
        num(2, 0), // SCALAR: 0, still written (proto2 keeps presence)
        len(3, &dbl(1, 0.5)),
        len(6, b"*"),
        len(11, &len(1, b"web")),
    ]
    .concat();
    let ports = [
        len(1, b"ports"),
        num(2, 1), // RANGES
        len(4, &len(1, &[num(1, 31000), num(2, 31010)].concat())),
    ]
    .concat();
    let offer = [
        id(1, "o1"),
        id(2, "fw"),
        id(3, "a1"),
        len(4, b"host"),
        len(5, &cpus),
        len(5, &ports),
    ]
    .concat();
    let bytes = [num(1, 2), len(3, &len(1, &offer))].concat();
    let e = event(json!({"type": "OFFERS", "offers": {"offers": [{
    "id": {"value": "o1"}, "framework_id": {"value": "fw"}, "agent_id": {"value": "a1"},
    "hostname": "host", "resources": [
        {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.5}, "role": "*",
         "allocation_info": {"role": "web"}},
        {"name": "ports", "type": "RANGES", "ranges": {"range": [{"begin": 31000, "end": 31010}]}}
    ]}]}}));
    assert_eq!(encode_event(&e).expect("encodes"), bytes);
    assert_eq!(decode_event(&bytes).expect("decodes"), e);
}

/// One of each call Corral reads, with every field the shapes carry.
fn every_call() -> Vec<Call> {
    let fw = json!({"value": "fw"});
    let task = json!({
        "name": "web", "task_id": {"value": "t1"}, "agent_id": {"value": "a1"},
        "resources": [
            {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.25}},
            {"name": "ports", "type": "RANGES", "ranges": {"range": [{"begin": 1, "end": 2}]}},
            {"name": "disks", "type": "SET", "set": {"item": ["a", "b"]}},
            {"name": "mem", "type": "SCALAR", "scalar": {"value": 8},
             "reservations": [{"role": "r", "type": "DYNAMIC"}]}],
        "command": {"value": "echo", "shell": false, "arguments": ["echo", "hi"],
            "environment": {"variables": [{"name": "A", "type": "VALUE", "value": "1"}]},
            "uris": [{"value": "http://x/y", "extract": false}], "user": "nobody"},
        "container": {"type": "DOCKER",
            "docker": {"image": "busybox", "network": "BRIDGE", "privileged": false,
                "port_mappings": [{"host_port": 31000, "container_port": 80, "protocol": "tcp"}],
                "parameters": [{"key": "label", "value": "x"}], "force_pull_image": true},
            "volumes": [{"container_path": "/data", "host_path": "data", "mode": "RW"}],
            "mesos": {"image": {"type": "DOCKER", "docker": {"name": "busybox"}}}},
        "executor": {"executor_id": {"value": "e"}, "command": {"value": "exec"},
            "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}}]}
    });
    [
        json!({"type": "SUBSCRIBE", "framework_id": fw, "subscribe": {
            "framework_info": {"user": "u", "name": "n", "id": fw, "failover_timeout": 60.5,
                "checkpoint": true, "role": "r", "roles": ["r", "s"], "principal": "p",
                "capabilities": [{"type": "MULTI_ROLE"}, {"type": "PARTITION_AWARE"}]},
            "suppressed_roles": ["s"]}}),
        json!({"type": "TEARDOWN", "framework_id": fw}),
        json!({"type": "ACCEPT", "framework_id": fw, "accept": {
            "offer_ids": [{"value": "o1"}, {"value": "o2"}],
            "operations": [{"type": "LAUNCH", "launch": {"task_infos": [task]}},
                           {"type": "RESERVE"}],
            "filters": {"refuse_seconds": 2.5}}}),
        json!({"type": "DECLINE", "framework_id": fw, "decline": {
            "offer_ids": [{"value": "o1"}], "filters": {"refuse_seconds": 0}}}),
        json!({"type": "REVIVE", "framework_id": fw, "revive": {"roles": ["r"]}}),
        json!({"type": "SUPPRESS", "framework_id": fw, "suppress": {"roles": []}}),
        json!({"type": "KILL", "framework_id": fw, "kill": {"task_id": {"value": "t1"}}}),
        json!({"type": "ACKNOWLEDGE", "framework_id": fw, "acknowledge": {
            "agent_id": {"value": "a1"}, "task_id": {"value": "t1"},
            "uuid": "AAECAwQFBgcICQoLDA0ODw=="}}),
        json!({"type": "RECONCILE", "framework_id": fw, "reconcile": {"tasks": [
            {"task_id": {"value": "t1"}, "agent_id": {"value": "a1"}},
            {"task_id": {"value": "t2"}}]}}),
        json!({"type": "RECONCILE", "framework_id": fw, "reconcile": {"tasks": []}}),
        json!({"type": "MESSAGE", "framework_id": fw}),
        json!({"type": "MESSAGE", "framework_id": fw, "message": {"agent_id": {"value": "a1"},
            "executor_id": {"value": "e"}, "data": "aGk="}}),
        json!({"type": "UPDATE_FRAMEWORK", "framework_id": fw}),
    ]
    .into_iter()
    .map(call)
    .collect()
}

/// One of each event Corral writes.
fn every_event() -> Vec<Event> {
    [
        json!({"type": "SUBSCRIBED", "subscribed": {"framework_id": {"value": "fw"},
            "heartbeat_interval_seconds": 15.0}}),
        json!({"type": "OFFERS", "offers": {"offers": [{
            "id": {"value": "o1"}, "framework_id": {"value": "fw"}, "agent_id": {"value": "a1"},
            "hostname": "h", "allocation_info": {"role": "r"}, "resources": [
                {"name": "disks", "type": "SET", "set": {"item": ["x"]}, "role": "*"}]}]}}),
        json!({"type": "OFFERS", "offers": {"offers": []}}),
        json!({"type": "RESCIND", "rescind": {"offer_id": {"value": "o1"}}}),
        json!({"type": "UPDATE", "update": {"status": {"task_id": {"value": "t"},
            "state": "TASK_FAILED", "message": "exit 1", "source": "SOURCE_AGENT",
            "reason": "REASON_COMMAND_EXECUTOR_FAILED", "agent_id": {"value": "a"},
            "executor_id": {"value": "e"}, "timestamp": 1_700_000_000.25}}}),
        json!({"type": "ERROR", "error": {"message": "refused"}}),
        json!({"type": "HEARTBEAT"}),
        json!({"type": "FAILURE"}),
        json!({"type": "FAILURE", "failure": {"agent_id": {"value": "a1"}}}),
        json!({"type": "FAILURE", "failure": {"agent_id": {"value": "a1"},
            "executor_id": {"value": "e"}, "status": 256}}),
        json!({"type": "MESSAGE", "message": {"agent_id": {"value": "a1"},
            "executor_id": {"value": "e"}, "data": "AP8="}}),
    ]
    .into_iter()
    .map(event)
    .collect()
}

#[test]
fn every_call_and_event_goes_out_and_comes_back() {
    for c in every_call() {
        let bytes = encode_call(&c).unwrap_or_else(|e| panic!("{c:?}: {e}"));
        assert_eq!(decode_call(&bytes).expect("decodes"), c);
    }
    for e in every_event() {
        let bytes = encode_event(&e).unwrap_or_else(|err| panic!("{e:?}: {err}"));
        assert_eq!(decode_event(&bytes).expect("decodes"), e);
    }
}

#[test]
fn protobuf_reads_as_the_json_mapping_of_the_same_message() {
    let c = &every_call()[2];
    let json = to_json(CALL, &encode_call(c).expect("encodes")).expect("decodes");
    assert_eq!(json["type"], "ACCEPT");
    assert_eq!(json["accept"]["operations"][1]["type"], "RESERVE");
    let t = &json["accept"]["operations"][0]["launch"]["task_infos"][0];
    assert_eq!(t["container"]["docker"]["network"], "BRIDGE");
    assert_eq!(t["command"]["uris"][0]["value"], "http://x/y");
    assert_eq!(t["resources"][1]["ranges"]["range"][0]["end"], 2);
}

#[test]
fn a_missing_required_part_is_the_error_the_json_gets() {
    // SUBSCRIBE { subscribe = 3 { framework_info = 1 { user = 1 } } }: no name.
    let bytes = [num(2, 1), len(3, &len(1, &len(1, b"u")))].concat();
    let got = decode_call(&bytes).expect_err("refused").to_string();
    let json = r#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u"}}}"#;
    let from_json = serde_json::from_str::<Call>(json).expect_err("refused");
    assert_eq!(got, "missing field `name`");
    assert!(from_json.to_string().starts_with(&got), "{from_json}");
    // No type at all, as in JSON.
    let got = decode_call(&id(1, "fw")).expect_err("refused").to_string();
    assert_eq!(got, "missing field `type`");
}

#[test]
fn unknown_numbers_are_refused_or_kept_as_an_unknown_name_would_be() {
    let got = decode_call(&num(2, 99)).expect_err("refused").to_string();
    assert!(got.contains("unknown variant `99`"), "{got}");
    // A capability Mesos adds later is no reason to refuse a framework.
    let info = [len(1, b"u"), len(2, b"n"), len(10, &num(1, 42))].concat();
    let c = decode_call(&[num(2, 1), len(3, &len(1, &info))].concat()).expect("reads");
    let sub = c.subscribe.expect("subscribe");
    assert_eq!(sub.framework_info.capabilities[0].kind, "42");
}

#[test]
fn fields_the_subset_lacks_are_skipped() {
    let plain = [id(1, "fw"), num(2, 5)].concat();
    let extra = [
        plain.clone(),
        num(100, 7),
        len(101, b"whatever"),
        dbl(102, 1.0),
        [varint((103 << 3) | 5), vec![0; 4]].concat(),
    ]
    .concat();
    assert_eq!(
        decode_call(&extra).expect("reads"),
        decode_call(&plain).expect("reads")
    );
}

#[test]
fn a_singular_field_twice_keeps_the_last_and_messages_merge() {
    // kill { task_id } then kill { agent_id }: one kill with both.
    let bytes = [
        num(2, 1),
        num(2, 6),
        len(6, &id(1, "t")),
        len(6, &id(2, "a")),
    ]
    .concat();
    let c = decode_call(&bytes).expect("reads");
    assert_eq!(c.kind, crate::v1::scheduler::CallType::Kill);
    let k = c.kill.expect("kill");
    assert_eq!(
        (k.task_id.value.as_str(), k.agent_id.map(|a| a.value)),
        ("t", Some("a".into()))
    );
}

#[test]
fn bytes_that_are_not_a_call_say_what_is_wrong() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (vec![0x80], "cut short"),
        (len(2, b"x"), "Call.type (field 2): wire type 2, expected 0"),
        (len(1, &len(1, &[0xff, 0xfe])), "UTF-8"),
        (varint((20 << 3) | 3), "groups"),
        (vec![0x00], "numbered 0"),
        (
            [varint(6 << 3 | 2), varint(1000)].concat(),
            "1000 bytes announced",
        ),
        (
            len(3, &len(1, &dbl(4, f64::NAN))),
            "not a number JSON can hold",
        ),
        ([varint(7 << 3 | 7)].concat(), "wire type 7"),
    ];
    for (bytes, says) in cases {
        match decode_call(&bytes) {
            Err(e @ ProtobufError::Wire { .. }) => {
                assert!(e.to_string().contains(says), "{bytes:?}: {e}")
            }
            other => panic!("{bytes:?}: {other:?}"),
        }
    }
}

#[test]
fn what_the_subset_cannot_carry_is_an_encode_error() {
    let e = from_json(EVENT, &json!({"type": "HEARTBEAT", "later": 1})).expect_err("refused");
    assert!(e.to_string().contains("no field \"later\""), "{e}");
    let e = from_json(EVENT, &json!({"type": "DANCING"})).expect_err("refused");
    assert!(e.to_string().contains("no value DANCING"), "{e}");
    let e = from_json(EVENT, &json!([])).expect_err("refused");
    assert!(matches!(e, ProtobufError::Encode { .. }), "{e}");
}

proptest! {
    #[test]
    fn no_bytes_make_the_reader_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode_call(&bytes);
        let _ = decode_event(&bytes);
    }

    #[test]
    fn no_damage_to_a_call_makes_the_reader_panic(
        i in 0usize..10_000, b in any::<u8>(), cut in 0usize..10_000,
    ) {
        let c = &every_call()[2];
        let mut bytes = encode_call(c).expect("encodes");
        let at = i % bytes.len();
        bytes[at] = b;
        bytes.truncate(cut % (bytes.len() + 1));
        let _ = decode_call(&bytes);
    }
}
