//! A session in the simulator, beside a stand-in for its agent, read
//! through its stream as the HTTP response would read it.

use std::time::Duration;

use corral_api::executor::{RegisterExecutor, RunTask};
use corral_api::ids::TaskId;
use corral_api::resources::Resources;
use corral_api::task::TaskInfo;
use corral_http::v1::media::Format;
use corral_http::v1::recordio::Records;
use corral_http::v1::stream::{queue, EventReceiver, Inbox, Poke};
use corral_runtime::sim::{Sim, SimConfig};
use corral_runtime::{Actor, Ctx, Handler, Handlers, Pid, Time};
use serde_json::Value;

use super::super::subscriptions::{Attach, FromExecutor, Subscriptions};
use super::{Identity, Session, HEARTBEAT_EVERY};

/// Answers an executor's registration with one task, as an agent does.
struct StandIn;

impl Actor for StandIn {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<RegisterExecutor>();
    }
}

impl Handler<RegisterExecutor> for StandIn {
    fn handle(&mut self, msg: RegisterExecutor, ctx: &mut Ctx<'_, Self>) {
        let Some(from) = ctx.sender().cloned() else {
            return;
        };
        let each = Resources::parse("cpus:0.1").expect("resources");
        let task = TaskInfo::command(TaskId("t1".into()), "true", each);
        let framework_id = msg.framework_id;
        ctx.send(&from, RunTask { framework_id, task });
    }
}

/// The types of the events written so far.
fn kinds(rx: &mut EventReceiver, records: &mut Records) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(bytes) = rx.try_recv() {
        for r in records.push(&bytes).expect("RecordIO framing") {
            let e: Value = serde_json::from_slice(&r).expect("JSON events");
            out.push(e["type"].as_str().unwrap_or_default().to_owned());
        }
    }
    out
}

#[test]
fn a_subscribed_executor_hears_a_heartbeat_every_interval_and_not_after_its_stream() {
    let at = std::net::SocketAddr::from(([10, 0, 0, 1], 5051));
    let agent = Pid::new("agent", at).expect("pid");
    let session = Pid::new("executor-session", at).expect("pid");
    let inbox = Inbox::shared();
    let (events, mut rx) = queue();
    let attach = Attach {
        stream: 1,
        events,
        format: Format::Json,
        tasks: Default::default(),
        updates: Vec::new(),
    };
    Inbox::push(&inbox, FromExecutor::Attach(attach));
    let mut sim = Sim::new(SimConfig::default());
    let (to, on) = (agent.clone(), inbox.clone());
    sim.add_node(at, move |k| {
        k.spawn_actor("agent", StandIn)
            .expect("the stand-in starts");
        let who = Identity {
            framework_id: "fw".into(),
            executor_id: "ex".into(),
            agent_id: "a1".into(),
            hostname: "node".into(),
        };
        let s = Session::new(to.clone(), who, on.clone(), Subscriptions::default());
        k.spawn_actor("executor-session", s)
            .expect("the session starts");
    })
    .expect("a node");
    sim.send(agent.clone(), &session, Poke).expect("poked");
    let mut records = Records::new();
    sim.run_until(Time::ZERO + Duration::from_secs(1));
    assert_eq!(kinds(&mut rx, &mut records), ["SUBSCRIBED", "LAUNCH"]);

    sim.run_until(Time::ZERO + (HEARTBEAT_EVERY - Duration::from_secs(1)));
    assert!(
        kinds(&mut rx, &mut records).is_empty(),
        "none before the interval"
    );
    sim.run_until(Time::ZERO + (HEARTBEAT_EVERY * 2 + Duration::from_secs(2)));
    assert_eq!(kinds(&mut rx, &mut records), ["HEARTBEAT", "HEARTBEAT"]);

    // The client goes away: nothing more is written for that stream.
    Inbox::push(&inbox, FromExecutor::Detach(1));
    sim.send(agent, &session, Poke).expect("poked");
    sim.run_until(Time::ZERO + HEARTBEAT_EVERY * 4);
    assert!(kinds(&mut rx, &mut records).is_empty());
}
