//! Each v1 call but SUBSCRIBE, checked and put in Corral's words.

use std::time::Duration;

use corral_api::framework::{
    Accept, Acknowledge, Decline, FrameworkMessage, Kill, Operation, Reconcile,
};
use corral_api::ids::{AgentId, OfferId, TaskId};
use corral_http::v1::convert;
use corral_http::v1::scheduler::{Call, CallType};
use corral_http::v1::shapes::{Filters, Id};
use corral_http::ApiError;

/// A framework call, in Corral's words, for the session to send.
#[derive(Debug)]
pub(super) enum Relay {
    Accept(Accept),
    Decline(Decline),
    Revive,
    Suppress,
    Kill(Kill),
    Acknowledge(Acknowledge),
    Reconcile(Reconcile),
    Message(FrameworkMessage),
    Teardown,
}

/// What to relay for `call`: None for a call that asks nothing of Corral
/// (inverse offers, which Corral never makes; REQUEST, which Mesos's
/// allocator ignores too). A 400 names what is missing or unsupported.
pub(super) fn relay(call: Call) -> Result<Option<Relay>, ApiError> {
    let missing = |part: &str| ApiError::bad_request(format!("Expecting '{part}' to be present"));
    Ok(Some(match call.kind {
        CallType::Teardown => Relay::Teardown,
        CallType::Accept => {
            let a = call.accept.ok_or_else(|| missing("accept"))?;
            let mut launches = Vec::new();
            for op in &a.operations {
                match (op.kind.as_str(), &op.launch) {
                    ("LAUNCH", Some(launch)) => {
                        let mut tasks = Vec::new();
                        for t in &launch.task_infos {
                            let (task, _agent) =
                                convert::task_info(t).map_err(ApiError::bad_request)?;
                            tasks.push(task);
                        }
                        launches.push(Operation::Launch(tasks));
                    }
                    ("LAUNCH", None) => return Err(missing("launch")),
                    (other, _) => {
                        return Err(ApiError::bad_request(format!(
                            "operation {other} is not supported by Corral (only LAUNCH)"
                        )))
                    }
                }
            }
            Relay::Accept(Accept {
                offer_ids: offer_ids(&a.offer_ids),
                operations: launches,
                refuse: refuse(a.filters)?,
            })
        }
        CallType::Decline => {
            let d = call.decline.ok_or_else(|| missing("decline"))?;
            Relay::Decline(Decline {
                offer_ids: offer_ids(&d.offer_ids),
                refuse: refuse(d.filters)?,
            })
        }
        CallType::Revive => Relay::Revive,
        CallType::Suppress => Relay::Suppress,
        CallType::Kill => {
            let k = call.kill.ok_or_else(|| missing("kill"))?;
            Relay::Kill(Kill {
                task_id: TaskId(k.task_id.value),
            })
        }
        CallType::Acknowledge => {
            let a = call.acknowledge.ok_or_else(|| missing("acknowledge"))?;
            Relay::Acknowledge(Acknowledge {
                task_id: TaskId(a.task_id.value),
                agent_id: AgentId(a.agent_id.value),
                uuid: convert::uuid(&a.uuid).map_err(ApiError::bad_request)?,
            })
        }
        CallType::Reconcile => {
            let r = call.reconcile.ok_or_else(|| missing("reconcile"))?;
            Relay::Reconcile(Reconcile {
                task_ids: r
                    .tasks
                    .into_iter()
                    .map(|t| TaskId(t.task_id.value))
                    .collect(),
            })
        }
        CallType::Message => {
            let m = call.message.ok_or_else(|| missing("message"))?;
            Relay::Message(FrameworkMessage {
                agent_id: AgentId(m.agent_id.value),
                executor_id: m.executor_id.value,
                data: convert::message_data(&m.data).map_err(ApiError::bad_request)?,
            })
        }
        CallType::AcceptInverseOffers | CallType::DeclineInverseOffers | CallType::Request => {
            return Ok(None)
        }
        CallType::Subscribe => {
            return Err(ApiError::bad_request("SUBSCRIBE is handled on its own"))
        }
        kind @ (CallType::Shutdown
        | CallType::AcknowledgeOperationStatus
        | CallType::ReconcileOperations
        | CallType::UpdateFramework
        | CallType::Unknown) => {
            let name = serde_json::to_value(kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            return Err(ApiError::bad_request(format!(
                "{name} is not supported by Corral yet (docs/mesos-compatibility.md)"
            )));
        }
    }))
}

fn offer_ids(ids: &[Id]) -> Vec<OfferId> {
    ids.iter().map(|id| OfferId(id.value.clone())).collect()
}

/// A filter's refusal time; None leaves the master's default (5 s).
fn refuse(filters: Option<Filters>) -> Result<Option<Duration>, ApiError> {
    match filters.and_then(|f| f.refuse_seconds) {
        None => Ok(None),
        Some(secs) => Duration::try_from_secs_f64(secs).map(Some).map_err(|_| {
            ApiError::bad_request(format!("filters.refuse_seconds {secs} is not a duration"))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(v: serde_json::Value) -> Call {
        serde_json::from_value(v).expect("a call")
    }

    fn refused(v: serde_json::Value) -> String {
        match relay(call(v)) {
            Err(e) => e.message().to_owned(),
            Ok(r) => panic!("accepted: {r:?}"),
        }
    }

    #[test]
    fn accept_becomes_launches_with_its_filter() {
        let r = relay(call(json!({
            "type": "ACCEPT", "framework_id": {"value": "f"},
            "accept": {"offer_ids": [{"value": "o1"}], "filters": {"refuse_seconds": 2.5},
                "operations": [{"type": "LAUNCH", "launch": {"task_infos": [{
                    "name": "t", "task_id": {"value": "t1"}, "agent_id": {"value": "a"},
                    "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}}],
                    "command": {"value": "true"}}]}}]}
        })));
        let Ok(Some(Relay::Accept(a))) = r else {
            panic!("not an accept: {r:?}");
        };
        assert_eq!(a.offer_ids, vec![OfferId("o1".into())]);
        assert_eq!(a.refuse, Some(Duration::from_millis(2_500)));
        let [Operation::Launch(tasks)] = a.operations.as_slice() else {
            panic!("one launch");
        };
        assert_eq!(tasks[0].task_id, TaskId("t1".into()));
        assert_eq!(tasks[0].command, "true");
    }

    #[test]
    fn each_simple_call_relays_its_message() {
        let ack = relay(call(json!({"type": "ACKNOWLEDGE", "acknowledge": {
            "agent_id": {"value": "a"}, "task_id": {"value": "t"},
            "uuid": "AAAAAAAAAAAAAAAAAAAAAA=="}})));
        assert!(matches!(ack, Ok(Some(Relay::Acknowledge(a))) if a.uuid == [0; 16]));
        let rec = relay(call(json!({"type": "RECONCILE", "reconcile": {"tasks": [
            {"task_id": {"value": "t"}, "agent_id": {"value": "a"}}]}})));
        assert!(
            matches!(rec, Ok(Some(Relay::Reconcile(r))) if r.task_ids == vec![TaskId("t".into())])
        );
        let kill = relay(call(
            json!({"type": "KILL", "kill": {"task_id": {"value": "t"}}}),
        ));
        assert!(matches!(kill, Ok(Some(Relay::Kill(k))) if k.task_id == TaskId("t".into())));
        assert!(matches!(
            relay(call(json!({"type": "REVIVE"}))),
            Ok(Some(Relay::Revive))
        ));
        assert!(matches!(
            relay(call(
                json!({"type": "SUPPRESS", "suppress": {"roles": ["*"]}})
            )),
            Ok(Some(Relay::Suppress))
        ));
        assert!(matches!(
            relay(call(json!({"type": "TEARDOWN"}))),
            Ok(Some(Relay::Teardown))
        ));
        let decline = relay(call(
            json!({"type": "DECLINE", "decline": {"offer_ids": [{"value": "o"}]}}),
        ));
        assert!(matches!(decline, Ok(Some(Relay::Decline(d))) if d.refuse.is_none()));
        assert!(matches!(
            relay(call(json!({"type": "REQUEST", "request": {}}))),
            Ok(None)
        ));
    }

    #[test]
    fn a_protobuf_call_is_relayed_as_its_json_twin() {
        use corral_http::v1::protobuf;
        let task = json!({"name": "t", "task_id": {"value": "t1"}, "agent_id": {"value": "a"},
            "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}}],
            "command": {"value": "true", "uris": [{"value": "http://x"}]}});
        for v in [
            json!({"type": "ACCEPT", "accept": {"offer_ids": [{"value": "o1"}],
                "operations": [{"type": "LAUNCH", "launch": {"task_infos": [task]}}]}}),
            json!({"type": "ACCEPT", "accept": {"operations": [{"type": "RESERVE"}]}}),
            json!({"type": "ACCEPT"}),
            json!({"type": "KILL", "kill": {"task_id": {"value": "t"}}}),
            json!({"type": "KILL"}),
            json!({"type": "DECLINE", "decline": {"filters": {"refuse_seconds": -1}}}),
            json!({"type": "ACKNOWLEDGE", "acknowledge": {"agent_id": {"value": "a"},
                "task_id": {"value": "t"}, "uuid": "AAAAAAAAAAAAAAAAAAAAAA=="}}),
            json!({"type": "RECONCILE", "reconcile": {}}),
            json!({"type": "MESSAGE"}),
            json!({"type": "MESSAGE", "message": {"agent_id": {"value": "a"},
                "executor_id": {"value": "e"}, "data": "aGk="}}),
            json!({"type": "TEARDOWN"}),
        ] {
            let c = call(v);
            let bytes = protobuf::encode_call(&c).expect("encodes");
            let twin = protobuf::decode_call(&bytes).expect("decodes");
            let answer = |r: Result<Option<Relay>, ApiError>| match r {
                Ok(relay) => format!("{relay:?}"),
                Err(e) => e.message().to_owned(),
            };
            assert_eq!(answer(relay(twin)), answer(relay(c)));
        }
    }

    #[test]
    fn missing_parts_and_what_corral_lacks_are_400s_that_say_so() {
        assert_eq!(
            refused(json!({"type": "ACCEPT"})),
            "Expecting 'accept' to be present"
        );
        assert_eq!(
            refused(json!({"type": "KILL"})),
            "Expecting 'kill' to be present"
        );
        let reserve =
            refused(json!({"type": "ACCEPT", "accept": {"operations": [{"type": "RESERVE"}]}}));
        assert!(reserve.contains("RESERVE is not supported"), "{reserve}");
        assert_eq!(
            refused(json!({"type": "MESSAGE"})),
            "Expecting 'message' to be present"
        );
        let shutdown = refused(json!({"type": "SHUTDOWN"}));
        assert!(
            shutdown.starts_with("SHUTDOWN is not supported"),
            "{shutdown}"
        );
        let bad_uuid = refused(json!({"type": "ACKNOWLEDGE", "acknowledge": {
            "agent_id": {"value": "a"}, "task_id": {"value": "t"}, "uuid": "!!"}}));
        assert!(bad_uuid.contains("base64"), "{bad_uuid}");
        let filter =
            refused(json!({"type": "DECLINE", "decline": {"filters": {"refuse_seconds": -1}}}));
        assert!(filter.contains("refuse_seconds"), "{filter}");
    }

    #[test]
    fn a_message_is_relayed_with_its_bytes_and_bad_data_is_a_400() {
        let r = relay(call(json!({"type": "MESSAGE", "message": {
            "agent_id": {"value": "a"}, "executor_id": {"value": "e"}, "data": "aGk="}})));
        let Ok(Some(Relay::Message(m))) = r else {
            panic!("not a message: {r:?}");
        };
        assert_eq!(
            (m.agent_id, m.executor_id.as_str(), m.data.as_slice()),
            (AgentId("a".into()), "e", b"hi".as_slice())
        );
        let message = |data: String| {
            refused(json!({"type": "MESSAGE", "message": {
                "agent_id": {"value": "a"}, "executor_id": {"value": "e"}, "data": data}}))
        };
        let not_base64 = message("!!".into());
        assert!(
            not_base64.contains("message.data is not base64"),
            "{not_base64}"
        );
        let max = corral_api::framework::MAX_MESSAGE_DATA_BYTES;
        let big = convert::message_data_out(&vec![0u8; max + 1]);
        let over = message(big);
        assert!(over.contains("over the limit of 32768"), "{over}");
        let at_limit = convert::message_data_out(&vec![0u8; max]);
        let r = relay(call(json!({"type": "MESSAGE", "message": {
            "agent_id": {"value": "a"}, "executor_id": {"value": "e"}, "data": at_limit}})));
        assert!(matches!(r, Ok(Some(Relay::Message(m))) if m.data.len() == max));
    }
}
