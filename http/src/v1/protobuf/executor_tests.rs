//! The executor API's calls and events in protobuf: bytes built by hand
//! from Mesos's `executor.proto` field numbers read as the JSON shapes
//! read them, and every event the agent writes goes out and comes back.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

use super::tests::{id, len, num};
use super::{decode, encode, EXECUTOR_CALL, EXECUTOR_EVENT};
use crate::v1::executor::{Call, Event};

fn call(v: Value) -> Call {
    serde_json::from_value(v).expect("a call")
}

fn event(v: Value) -> Event {
    serde_json::from_value(v).expect("an event")
}

#[test]
fn a_hand_built_update_call_reads_as_its_json_and_is_written_back() {
    let uuid: Vec<u8> = (0..16).collect();
    // TaskStatus: task_id = 1, state = 2 (TASK_RUNNING = 1), uuid = 11.
    let status = [id(1, "t1"), num(2, 1), len(11, &uuid)].concat();
    // Call: executor_id = 1, framework_id = 2, type = 3 (UPDATE = 2),
    // update = 5 { status = 1 }.
    let bytes = [
        id(1, "ex"),
        id(2, "fw"),
        num(3, 2),
        len(5, &len(1, &status)),
    ]
    .concat();
    let want = call(json!({
        "executor_id": {"value": "ex"}, "framework_id": {"value": "fw"}, "type": "UPDATE",
        "update": {"status": {"task_id": {"value": "t1"}, "state": "TASK_RUNNING",
            "uuid": STANDARD.encode(&uuid)}}}));
    let got: Call = decode(EXECUTOR_CALL, &bytes).expect("decodes");
    assert_eq!(got, want);
    assert_eq!(encode(EXECUTOR_CALL, &want).expect("encodes"), bytes);
}

#[test]
fn a_hand_built_subscribe_call_carries_what_the_executor_still_holds() {
    let task = [len(1, b"web"), id(2, "t1"), id(3, "a1")].concat();
    let update = len(1, &[id(1, "t2"), num(2, 2)].concat()); // TASK_FINISHED = 2
    let subscribe = [len(1, &task), len(2, &update)].concat();
    let bytes = [id(1, "ex"), id(2, "fw"), num(3, 1), len(4, &subscribe)].concat();
    let got: Call = decode(EXECUTOR_CALL, &bytes).expect("decodes");
    let s = got.subscribe.expect("SUBSCRIBE's part");
    assert_eq!(s.unacknowledged_tasks[0].task_id.value, "t1");
    assert_eq!(
        s.unacknowledged_updates[0].status.task_id.value, "t2",
        "{s:?}"
    );
}

/// One of each event the agent writes, as it writes them.
fn every_event() -> Vec<Event> {
    let uuid = STANDARD.encode([7u8; 16]);
    [
        json!({"type": "SUBSCRIBED", "subscribed": {
            "executor_info": {"executor_id": {"value": "ex"}, "framework_id": {"value": "fw"},
                "command": {"value": "./run", "shell": true}, "type": "CUSTOM"},
            "framework_info": {"id": {"value": "fw"}, "user": "", "name": ""},
            "agent_info": {"id": {"value": "a1"}, "hostname": "node-1"}}}),
        json!({"type": "LAUNCH", "launch": {"task": {"name": "web", "task_id": {"value": "t1"},
            "agent_id": {"value": "a1"},
            "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.5}}],
            "executor": {"executor_id": {"value": "ex"}, "command": {"value": "./run", "shell": true}},
        }}}),
        json!({"type": "KILL", "kill": {"task_id": {"value": "t1"}}}),
        json!({"type": "ACKNOWLEDGED", "acknowledged": {"task_id": {"value": "t1"}, "uuid": uuid}}),
        json!({"type": "SHUTDOWN"}),
        json!({"type": "HEARTBEAT"}),
    ]
    .into_iter()
    .map(event)
    .collect()
}

#[test]
fn every_event_the_agent_writes_goes_out_and_comes_back() {
    for e in every_event() {
        let bytes = encode(EXECUTOR_EVENT, &e).unwrap_or_else(|err| panic!("{e:?}: {err}"));
        let back: Event = decode(EXECUTOR_EVENT, &bytes).expect("decodes");
        assert_eq!(back, e);
    }
}

#[test]
fn the_acknowledged_uuid_is_written_as_its_sixteen_bytes() {
    let e = event(json!({"type": "ACKNOWLEDGED",
        "acknowledged": {"task_id": {"value": "t1"}, "uuid": STANDARD.encode([7u8; 16])}}));
    // type = 1 (ACKNOWLEDGED = 4), acknowledged = 3 { task_id = 1, uuid = 2 }.
    let want = [
        num(1, 4),
        len(3, &[id(1, "t1"), len(2, &[7u8; 16])].concat()),
    ]
    .concat();
    assert_eq!(encode(EXECUTOR_EVENT, &e).expect("encodes"), want);
}

#[test]
fn bytes_that_are_not_an_executor_call_say_so() {
    let truncated = &id(1, "ex")[..3];
    let err = decode::<Call>(EXECUTOR_CALL, truncated).expect_err("truncated");
    assert!(err.to_string().contains("mesos.v1.executor.Call"), "{err}");
    // A call without its required executor id is serde's missing field,
    // as the same JSON would be.
    let err = decode::<Call>(EXECUTOR_CALL, &[id(2, "fw"), num(3, 4)].concat())
        .expect_err("no executor id");
    assert!(err.to_string().contains("executor_id"), "{err}");
}
