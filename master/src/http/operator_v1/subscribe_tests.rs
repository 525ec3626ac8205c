//! The operator stream as a client reads it: the state, each batch of
//! events in order and in Mesos's shapes, and its end.

use std::pin::Pin;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::http::header::ContentType;
use actix_web::test::{call_service, init_service, TestRequest};
use futures_util::future::poll_fn;
use serde_json::{json, Value};

use super::super::super::routes::routes;
use super::super::super::tests::{leading, limits, master, on_actix, published, three_tasks};
use crate::events::{OperatorEvent, MAX_KEPT_EVENTS};
use crate::state::Leadership;
use corral_api::ids::{AgentId, FrameworkId, TaskId};
use corral_api::task::{StatusSource, TaskState, TaskStatus};
use corral_http::app;
use corral_http::v1::recordio::Records;

/// The records of a response body, one chunk at a time.
struct Reader<B> {
    body: B,
    records: Records,
    got: std::collections::VecDeque<Value>,
}

impl<B: MessageBody + Unpin> Reader<B> {
    /// The next event; None once the stream ended.
    async fn next(&mut self) -> Option<Value> {
        while self.got.is_empty() {
            let chunk = poll_fn(|cx| Pin::new(&mut self.body).poll_next(cx)).await?;
            let Ok(chunk) = chunk else { return None };
            let records = self.records.push(&chunk).expect("RecordIO framing");
            for r in records {
                self.got
                    .push_back(serde_json::from_slice(&r).expect("each record is JSON"));
            }
        }
        self.got.pop_front()
    }
}

/// An operator's SUBSCRIBE to `uri`.
fn subscribe(uri: &str) -> TestRequest {
    TestRequest::post()
        .uri(uri)
        .insert_header(ContentType::json())
        .set_payload(r#"{"type":"SUBSCRIBE"}"#)
}

/// A reader of the records of `body`.
fn reader<B>(body: B) -> Reader<B> {
    Reader {
        body,
        records: Records::new(),
        got: Default::default(),
    }
}

fn removed(n: usize) -> Vec<OperatorEvent> {
    (0..n)
        .map(|i| OperatorEvent::AgentRemoved(AgentId(format!("a{i}"))))
        .collect()
}

fn killed(task: &str) -> OperatorEvent {
    let status = TaskStatus {
        task_id: TaskId(task.into()),
        framework_id: FrameworkId("fw-a".into()),
        agent_id: Some(AgentId("a1".into())),
        state: TaskState::Killed,
        source: StatusSource::Executor,
        reason: None,
        message: "killed".into(),
        timestamp_ms: 1_000,
        uuid: None,
    };
    OperatorEvent::TaskUpdated {
        framework_id: status.framework_id.clone(),
        status: Box::new(status),
        state: TaskState::Killed,
    }
}

#[test]
fn a_subscriber_hears_the_state_then_each_change_until_its_master_stops_leading() {
    let api = published(&master(), three_tasks(), leading());
    let board = api.board.clone();
    on_actix(async move {
        let svc = init_service(app(&limits(), routes(api))).await;
        let subscribe = subscribe("/api/v1").to_request();
        let resp = call_service(&svc, subscribe).await;
        assert_eq!(resp.status(), 200);
        let mut r = reader(resp.into_body());
        let first = r.next().await.expect("SUBSCRIBED");
        assert_eq!(first["type"], "SUBSCRIBED");
        let state = &first["subscribed"]["get_state"];
        assert_eq!(
            state["get_tasks"]["tasks"].as_array().map(Vec::len),
            Some(2)
        );
        assert_eq!(first["subscribed"]["heartbeat_interval_seconds"], 15.0);
        assert_eq!(r.next().await.expect("a heartbeat")["type"], "HEARTBEAT");

        let publish = |events, leadership: Leadership| {
            board.publish(
                three_tasks(),
                Default::default(),
                leadership,
                Duration::ZERO,
                events,
            )
        };
        publish(vec![killed("t1")], leading());
        publish(Vec::new(), leading());
        publish(removed(1), leading());
        let e = r.next().await.expect("the first batch");
        assert_eq!(
            e,
            json!({"type": "TASK_UPDATED", "task_updated": {
                "framework_id": {"value": "fw-a"},
                "state": "TASK_KILLED",
                "status": e["task_updated"]["status"].clone(),
            }})
        );
        let status = &e["task_updated"]["status"];
        assert_eq!(status["task_id"], json!({"value": "t1"}));
        assert_eq!(status["state"], "TASK_KILLED");
        assert_eq!(status["agent_id"], json!({"value": "a1"}));
        let e = r.next().await.expect("the third batch");
        assert_eq!(
            e,
            json!({"type": "AGENT_REMOVED", "agent_removed": {"agent_id": {"value": "a0"}}})
        );

        let standby = Leadership {
            leading: false,
            ..leading()
        };
        publish(removed(1), standby);
        assert_eq!(r.next().await, None, "a standby's stream ends");
    });
}

#[test]
fn a_subscriber_further_behind_than_the_events_kept_is_cut_off_not_given_a_gap() {
    let api = published(&master(), three_tasks(), leading());
    let board = api.board.clone();
    on_actix(async move {
        let svc = init_service(app(&limits(), routes(api))).await;
        let subscribe = subscribe("/api/v1/operator").to_request();
        let resp = call_service(&svc, subscribe).await;
        let mut r = reader(resp.into_body());
        assert_eq!(r.next().await.expect("SUBSCRIBED")["type"], "SUBSCRIBED");
        assert_eq!(r.next().await.expect("a heartbeat")["type"], "HEARTBEAT");
        let publish = |events| {
            board.publish(
                three_tasks(),
                Default::default(),
                leading(),
                Duration::ZERO,
                events,
            )
        };
        publish(removed(MAX_KEPT_EVENTS));
        publish(removed(1));
        assert_eq!(r.next().await, None, "the stream ends");
        // Nothing is kept once nobody reads.
        drop(r);
        let seq = publish(removed(1));
        assert!(board.events_after(seq - 1).is_err());
    });
}

fn framework(id: &str, user: &str) -> OperatorEvent {
    let mut info = corral_api::framework::FrameworkInfo::new(id, "*");
    info.user = user.into();
    OperatorEvent::FrameworkAdded(Box::new(crate::state::FrameworkState {
        id: FrameworkId(id.into()),
        name: id.into(),
        role: "*".into(),
        connected: true,
        used: Default::default(),
        offered: Default::default(),
        removed_ms: None,
        registered_ms: 1,
        pid: None,
        info,
    }))
}

#[test]
fn a_reader_the_view_acls_restrict_hears_only_what_it_may_view() {
    let mut api = published(&master(), three_tasks(), leading());
    api.acls = crate::acls::Acls::parse(
        r#"{"view_frameworks": [{"principals": {"type": "ANY"}, "users": {"values": ["alice"]}},
                                {"principals": {"type": "ANY"}, "users": {"type": "NONE"}}],
            "view_tasks": [{"principals": {"type": "ANY"}, "users": {"values": ["alice"]}},
                           {"principals": {"type": "ANY"}, "users": {"type": "NONE"}}]}"#,
    )
    .expect("ACLs");
    let board = api.board.clone();
    on_actix(async move {
        let svc = init_service(app(&limits(), routes(api))).await;
        let subscribe = subscribe("/api/v1").to_request();
        let mut r = reader(call_service(&svc, subscribe).await.into_body());
        let first = r.next().await.expect("SUBSCRIBED");
        let tasks = &first["subscribed"]["get_state"]["get_tasks"];
        assert_eq!(
            tasks["tasks"],
            json!([]),
            "no framework's tasks are alice's"
        );
        assert_eq!(r.next().await.expect("a heartbeat")["type"], "HEARTBEAT");
        let mut bobs_task = killed("t1");
        if let OperatorEvent::TaskUpdated { framework_id, .. } = &mut bobs_task {
            *framework_id = FrameworkId("fw-bob".into());
        }
        let events = vec![
            framework("fw-bob", "bob"),
            bobs_task,
            framework("fw-alice", "alice"),
        ];
        board.publish(
            three_tasks(),
            Default::default(),
            leading(),
            Duration::ZERO,
            events,
        );
        let e = r.next().await.expect("alice's framework");
        assert_eq!(e["type"], "FRAMEWORK_ADDED");
        let info = &e["framework_added"]["framework"]["framework_info"];
        assert_eq!(info["id"]["value"], "fw-alice", "{e}");
        let standby = Leadership {
            leading: false,
            ..leading()
        };
        board.publish(
            three_tasks(),
            Default::default(),
            standby,
            Duration::ZERO,
            Vec::new(),
        );
        assert_eq!(r.next().await, None, "nothing of bob's came before the end");
    });
}
