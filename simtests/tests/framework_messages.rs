//! Framework messages in a whole simulated cluster through the public
//! harness: a framework's message reaches its executor through the master
//! and the agent, the executor's answer comes back the same way, and the
//! executor's end is a failure the framework hears of.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use corral_api::framework::{FrameworkInfo, Offer};
use corral_api::ids::{AgentId, TaskId};
use corral_api::task::{ExecutorInfo, TaskInfo, TaskState, TaskStatus};
use corral_executor_sdk::{Control, Executor};
use corral_scheduler::{Driver, DriverConfig, Scheduler, SchedulerDriver};
use corral_simtests::harness::ClusterBuilder;

/// Answers a framework message with `echo ` and what came, then ends its
/// one task and itself.
#[derive(Default)]
struct Echo {
    task: Option<TaskId>,
}

impl Executor for Echo {
    fn launch(&mut self, ex: &mut Control<'_, '_, Self>, task: TaskInfo) {
        let _ = ex.update(&task.task_id, TaskState::Running, "");
        self.task = Some(task.task_id);
    }

    fn kill(&mut self, ex: &mut Control<'_, '_, Self>, id: &TaskId, _: Duration) {
        let _ = ex.update(id, TaskState::Killed, "");
    }

    fn framework_message(&mut self, ex: &mut Control<'_, '_, Self>, data: &[u8]) {
        let answer = [b"echo ".as_slice(), data].concat();
        ex.send_framework_message(answer)
            .expect("a registered executor sends");
        if let Some(id) = self.task.take() {
            let _ = ex.update(&id, TaskState::Finished, "");
        }
        ex.finish();
    }
}

/// What the framework heard.
#[derive(Clone, Debug, PartialEq)]
enum Heard {
    Message(AgentId, String, Vec<u8>),
    ExecutorLost(String, Option<i32>),
}

/// Launches one task on its executor and, once it runs, says hello.
struct Talker {
    task: Option<TaskInfo>,
    heard: Rc<RefCell<Vec<Heard>>>,
}

impl Scheduler for Talker {
    fn offers(&mut self, driver: &mut Driver<'_, '_, Self>, offers: Vec<Offer>) {
        for offer in offers {
            match self.task.take() {
                Some(task) => driver.launch(&offer.id, vec![task], None).expect("launch"),
                None => driver.decline(vec![offer.id], None).expect("decline"),
            }
        }
    }

    fn update(&mut self, driver: &mut Driver<'_, '_, Self>, status: &TaskStatus) {
        if status.state == TaskState::Running {
            let agent = status.agent_id.clone().expect("an agent's update");
            driver
                .send_framework_message(&agent, "echo-exec", b"hello".to_vec())
                .expect("a subscribed framework sends");
        }
    }

    fn framework_message(
        &mut self,
        _: &mut Driver<'_, '_, Self>,
        agent_id: &AgentId,
        executor_id: &str,
        data: &[u8],
    ) {
        let heard = Heard::Message(agent_id.clone(), executor_id.to_owned(), data.to_vec());
        self.heard.borrow_mut().push(heard);
    }

    fn executor_lost(
        &mut self,
        _: &mut Driver<'_, '_, Self>,
        _: &AgentId,
        executor_id: &str,
        status: Option<i32>,
    ) {
        let heard = Heard::ExecutorLost(executor_id.to_owned(), status);
        self.heard.borrow_mut().push(heard);
    }
}

#[test]
fn a_message_goes_to_the_executor_and_its_answer_and_end_come_back() {
    let mut c = ClusterBuilder::new(5)
        .agent("cpus:2;mem:1024".parse().expect("resources"))
        .executor("echo-executor", |_| Echo::default())
        .build()
        .expect("a cluster");
    let mut task = TaskInfo::command(
        TaskId("talk".into()),
        "unused",
        "cpus:0.5;mem:64".parse().expect("resources"),
    );
    task.executor = Some(ExecutorInfo {
        executor_id: "echo-exec".into(),
        command: "echo-executor".into(),
        env: Vec::new(),
    });
    let heard = Rc::new(RefCell::new(Vec::new()));
    let (log, masters) = (heard.clone(), c.masters());
    c.add_framework("talker", move || {
        let t = Talker {
            task: Some(task.clone()),
            heard: log.clone(),
        };
        SchedulerDriver::new(
            DriverConfig::new(masters.clone(), FrameworkInfo::new("t", "*")),
            t,
        )
        .expect("a driver")
    })
    .expect("a framework");
    c.run_until(
        Duration::from_secs(60),
        "the echo and the executor's end",
        |_| heard.borrow().len() == 2,
    )
    .expect("the message goes round and the executor ends");
    let heard = heard.borrow();
    let Heard::Message(agent, executor, data) = &heard[0] else {
        panic!("the echo first: {heard:?}");
    };
    assert_eq!(
        (executor.as_str(), data.as_slice()),
        ("echo-exec", b"echo hello".as_slice())
    );
    assert!(!agent.0.is_empty());
    assert_eq!(heard[1], Heard::ExecutorLost("echo-exec".into(), Some(0)));
}
