//! Framework messages both ways and the failures frameworks are told of.

use super::*;
use corral_api::agent::{ExecutorToFramework, ExitedExecutor, FrameworkToExecutor};
use corral_api::framework::{ExecutorMessage, Failure, FrameworkMessage, MAX_MESSAGE_DATA_BYTES};

fn to_executor(agent: &AgentId, data: &[u8]) -> FrameworkMessage {
    FrameworkMessage {
        agent_id: agent.clone(),
        executor_id: "e1".into(),
        data: data.to_vec(),
    }
}

fn from_executor(fw: &FrameworkId, data: &[u8]) -> ExecutorToFramework {
    ExecutorToFramework {
        framework_id: fw.clone(),
        executor_id: "e1".into(),
        data: data.to_vec(),
    }
}

#[test]
fn framework_messages_are_relayed_both_ways_and_counted() {
    let mut o = launched();
    let (fw_pid, agent_pid) = (o.fw_pid.clone(), o.agent_pid.clone());
    let down = send(&mut o.core, 10, &fw_pid, to_executor(&o.agent, b"ping"));
    let relayed = FrameworkToExecutor {
        framework_id: o.fw.clone(),
        executor_id: "e1".into(),
        data: b"ping".to_vec(),
    };
    assert_eq!(down, [Action::Send(agent_pid.clone(), relayed.into())]);
    let up = send(&mut o.core, 11, &agent_pid, from_executor(&o.fw, b"pong"));
    let message = ExecutorMessage {
        agent_id: o.agent.clone(),
        executor_id: "e1".into(),
        data: b"pong".to_vec(),
    };
    assert_eq!(up, [Action::Send(fw_pid, message.into())]);
    let counts = o.core.metrics().messages;
    assert_eq!(
        (counts.framework_to_executor, counts.executor_to_framework),
        (1, 1)
    );
    assert_eq!(
        (
            counts.invalid_framework_to_executor,
            counts.invalid_executor_to_framework
        ),
        (0, 0)
    );
}

#[test]
fn framework_messages_the_master_cannot_place_are_dropped_and_counted() {
    let mut o = launched();
    let (fw_pid, agent_pid) = (o.fw_pid.clone(), o.agent_pid.clone());
    let big = vec![0u8; MAX_MESSAGE_DATA_BYTES + 1];
    let before = o.core.snapshot();
    let unknown_agent = to_executor(&AgentId::from("nowhere"), b"x");
    assert_eq!(send(&mut o.core, 10, &fw_pid, unknown_agent), []);
    assert_eq!(
        send(&mut o.core, 10, &fw_pid, to_executor(&o.agent, &big)),
        []
    );
    // From an executor: a sender that is no agent, a framework the master
    // does not know, data over the limit.
    let stranger = pid("mallory", 6666);
    assert_eq!(
        send(&mut o.core, 10, &stranger, from_executor(&o.fw, b"x")),
        []
    );
    let unknown_fw = from_executor(&FrameworkId::from("nobody"), b"x");
    assert_eq!(send(&mut o.core, 10, &agent_pid, unknown_fw), []);
    assert_eq!(
        send(&mut o.core, 10, &agent_pid, from_executor(&o.fw, &big)),
        []
    );
    let counts = o.core.metrics().messages;
    assert_eq!(
        (
            counts.invalid_framework_to_executor,
            counts.invalid_executor_to_framework
        ),
        (2, 3)
    );
    assert_eq!(
        (counts.framework_to_executor, counts.executor_to_framework),
        (0, 0)
    );
    assert_eq!(o.core.snapshot(), before, "nothing else changed");
    // A framework that is not connected hears nothing.
    o.core.handle(at(11), None, Input::Exited(fw_pid));
    assert_eq!(
        send(&mut o.core, 12, &agent_pid, from_executor(&o.fw, b"x")),
        []
    );
    assert_eq!(o.core.metrics().messages.invalid_executor_to_framework, 4);
}

#[test]
fn a_framework_message_from_an_actor_that_did_not_subscribe_is_refused_in_words() {
    let mut o = launched();
    let stranger = pid("mallory", 6666);
    let actions = send(&mut o.core, 10, &stranger, to_executor(&o.agent, b"x"));
    assert_eq!(
        actions,
        [error_to(
            &stranger,
            "framework message refused: not subscribed (send Subscribe first)"
        )]
    );
}

#[test]
fn an_executor_that_ended_is_a_failure_for_its_framework() {
    let mut o = launched();
    let (fw_pid, agent_pid) = (o.fw_pid.clone(), o.agent_pid.clone());
    let exited = ExitedExecutor {
        framework_id: o.fw.clone(),
        executor_id: "e1".into(),
        status: Some(256),
    };
    let actions = send(&mut o.core, 10, &agent_pid, exited.clone());
    let failure = Failure {
        agent_id: o.agent.clone(),
        executor_id: Some("e1".into()),
        status: Some(256),
    };
    assert_eq!(actions, [Action::Send(fw_pid, failure.into())]);
    let stranger = pid("mallory", 6666);
    assert_eq!(send(&mut o.core, 11, &stranger, exited), []);
}

#[test]
fn an_unreachable_agent_is_a_failure_for_every_connected_framework_after_its_tasks() {
    let mut o = launched();
    let then = Then::Ponged {
        id: o.agent.clone(),
        pid: o.agent_pid.clone(),
    };
    let missed = || Answer::Pong(Err(corral_runtime::AskError::Timeout));
    let mut actions = Vec::new();
    for _ in 0..5 {
        actions = o
            .core
            .handle(at(16_000), None, Input::Answer(then.clone(), missed()));
    }
    let to_fw: Vec<Outgoing> = sent(&actions)
        .into_iter()
        .filter(|(to, _)| *to == o.fw_pid)
        .map(|(_, m)| m)
        .collect();
    let lost = Failure {
        agent_id: o.agent.clone(),
        executor_id: None,
        status: None,
    };
    assert!(
        matches!(to_fw.as_slice(), [Outgoing::Update(_), Outgoing::Failure(f)] if *f == lost),
        "{to_fw:?}"
    );
}
