//! The offer book: each rejection case of an accept, valid and partial
//! accepts, declines, removals, expiry, and random accepts.

use proptest::prelude::*;

use super::*;
use corral_api::resources::RangeSet;

use corral_api::resources::strategies::cpus_mem as res;

fn fw(s: &str) -> FrameworkId {
    FrameworkId::from(s)
}

fn ag(s: &str) -> AgentId {
    AgentId::from(s)
}

fn secs(s: u64) -> Time {
    Time::from_nanos(s * 1_000_000_000)
}

fn task(id: &str, resources: Resources) -> TaskInfo {
    TaskInfo {
        task_id: TaskId::from(id),
        name: id.to_owned(),
        command: "true".to_owned(),
        env: Vec::new(),
        resources,
        container: None,
        executor: None,
    }
}

fn launch(offer_ids: Vec<OfferId>, tasks: Vec<TaskInfo>) -> Accept {
    Accept {
        offer_ids,
        operations: vec![Operation::Launch(tasks)],
        refuse: None,
    }
}

fn no_tasks(_: &TaskId) -> bool {
    false
}

/// A book with offers O0 (f1 on a1), O1 (f1 on a1), O2 (f1 on a2),
/// O3 (f2 on a1), each of 2 cpus and 1024 MB.
fn book() -> (OfferBook, Vec<OfferId>) {
    let mut b = OfferBook::new("m");
    let ids = [("f1", "a1"), ("f1", "a1"), ("f1", "a2"), ("f2", "a1")]
        .iter()
        .map(|(f, a)| b.create(fw(f), ag(a), "host", res(2.0, 1024.0), secs(0)).id)
        .collect();
    (b, ids)
}

fn total(parts: &[(AgentId, Resources)]) -> Resources {
    parts
        .iter()
        .fold(Resources::empty(), |acc, (_, r)| acc.plus(r))
}

#[test]
fn create_numbers_offers_with_the_prefix() {
    let (b, ids) = book();
    assert_eq!(ids[0], OfferId::from("m-O0"));
    assert_eq!(ids[3], OfferId::from("m-O3"));
    assert_eq!(b.len(), 4);
    let o = b.get(&ids[2]).unwrap();
    assert_eq!((o.framework.clone(), o.agent.clone()), (fw("f1"), ag("a2")));
    assert_eq!(o.created_at, secs(0));
}

/// Checks an offer-level rejection: every task dropped (or lost) with
/// reason InvalidOffers and the error named.
fn assert_all_invalid(r: &AcceptResult, tasks: usize, state: TaskState, error: &OfferError) {
    assert_eq!(r.offer_error.as_ref(), Some(error));
    assert!(r.launch.is_empty());
    assert!(r.used.is_empty());
    assert_eq!(r.rejected.len(), tasks);
    for s in &r.rejected {
        assert_eq!(s.state, state);
        assert_eq!(s.reason, Some(StatusReason::InvalidOffers));
        assert_eq!(s.source, StatusSource::Master);
        assert_eq!(s.uuid, None);
        assert_eq!(s.timestamp_ms, 77);
        assert!(s.message.contains(&error.to_string()), "{}", s.message);
    }
}

#[test]
fn accept_without_offers_drops_every_task() {
    let (mut b, _) = book();
    let a = launch(
        vec![],
        vec![task("t1", res(1.0, 1.0)), task("t2", res(1.0, 1.0))],
    );
    let r = b.accept(&fw("f1"), &a, true, no_tasks, 77);
    assert_all_invalid(&r, 2, TaskState::Dropped, &OfferError::NoOffers);
    assert!(r.recover.is_empty());
    assert_eq!(b.len(), 4);
}

#[test]
fn accept_of_an_unknown_offer_drops_and_returns_the_valid_ones() {
    let (mut b, ids) = book();
    let bogus = OfferId::from("m-O99");
    let a = launch(
        vec![ids[0].clone(), bogus.clone()],
        vec![task("t1", res(1.0, 1.0))],
    );
    let r = b.accept(&fw("f1"), &a, true, no_tasks, 77);
    assert_all_invalid(
        &r,
        1,
        TaskState::Dropped,
        &OfferError::Unknown(bogus.clone()),
    );
    assert_eq!(r.unknown_offers, vec![bogus]);
    assert_eq!(r.recover, vec![(ag("a1"), res(2.0, 1024.0))]);
    assert_eq!(r.rejected[0].agent_id, Some(ag("a1")));
    assert!(b.get(&ids[0]).is_none(), "the valid offer is consumed");
    assert_eq!(b.len(), 3);
}

#[test]
fn accept_of_a_used_offer_is_lost_for_frameworks_that_are_not_partition_aware() {
    let (mut b, ids) = book();
    let first = b.accept(
        &fw("f1"),
        &launch(vec![ids[0].clone()], vec![]),
        true,
        no_tasks,
        77,
    );
    assert_eq!(first.offer_error, None);
    let a = launch(vec![ids[0].clone()], vec![task("t1", res(1.0, 1.0))]);
    let r = b.accept(&fw("f1"), &a, false, no_tasks, 77);
    assert_all_invalid(&r, 1, TaskState::Lost, &OfferError::Unknown(ids[0].clone()));
    assert!(r.recover.is_empty());
    assert_eq!(r.agent, None);
    assert_eq!(r.rejected[0].agent_id, None);
}

#[test]
fn accept_of_another_frameworks_offer_leaves_that_offer_alone() {
    let (mut b, ids) = book();
    let a = launch(
        vec![ids[0].clone(), ids[3].clone()],
        vec![task("t1", res(1.0, 1.0))],
    );
    let r = b.accept(&fw("f1"), &a, true, no_tasks, 77);
    let error = OfferError::OtherFramework(ids[3].clone());
    assert_all_invalid(&r, 1, TaskState::Dropped, &error);
    assert_eq!(r.unknown_offers, vec![ids[3].clone()]);
    assert_eq!(r.recover, vec![(ag("a1"), res(2.0, 1024.0))]);
    assert!(b.get(&ids[3]).is_some(), "f2's offer stays");
    assert!(b.get(&ids[0]).is_none());
}

#[test]
fn accept_of_offers_on_different_agents_returns_both() {
    let (mut b, ids) = book();
    let a = launch(
        vec![ids[0].clone(), ids[2].clone()],
        vec![task("t1", res(1.0, 1.0))],
    );
    let r = b.accept(&fw("f1"), &a, true, no_tasks, 77);
    let error = OfferError::DifferentAgents(ag("a1"), ag("a2"));
    assert_all_invalid(&r, 1, TaskState::Dropped, &error);
    assert_eq!(r.agent, None);
    assert_eq!(
        r.recover,
        vec![(ag("a1"), res(2.0, 1024.0)), (ag("a2"), res(2.0, 1024.0))]
    );
    assert_eq!(b.len(), 2);
}

#[test]
fn accept_naming_an_offer_twice_returns_it_once() {
    let (mut b, ids) = book();
    let a = launch(
        vec![ids[0].clone(), ids[0].clone()],
        vec![task("t1", res(1.0, 1.0))],
    );
    let r = b.accept(&fw("f1"), &a, true, no_tasks, 77);
    assert_all_invalid(
        &r,
        1,
        TaskState::Dropped,
        &OfferError::Duplicate(ids[0].clone()),
    );
    assert_eq!(r.recover, vec![(ag("a1"), res(2.0, 1024.0))]);
    assert!(r.unknown_offers.is_empty());
}

/// Accepts `tasks` on f1's two offers on a1 (4 cpus, 2048 MB in all).
fn accept_on_a1(tasks: Vec<TaskInfo>, exists: impl Fn(&TaskId) -> bool) -> AcceptResult {
    let (mut b, ids) = book();
    let a = launch(vec![ids[0].clone(), ids[1].clone()], tasks);
    let r = b.accept(&fw("f1"), &a, true, exists, 77);
    assert_eq!(r.offer_error, None);
    assert_eq!(b.len(), 2);
    assert_eq!(r.used.plus(&total(&r.recover)), res(4.0, 2048.0));
    r
}

fn assert_task_error(s: &TaskStatus, id: &str, reason: StatusReason) {
    assert_eq!(s.task_id, TaskId::from(id));
    assert_eq!(s.state, TaskState::Error);
    assert_eq!(s.reason, Some(reason));
    assert_eq!(s.source, StatusSource::Master);
    assert_eq!(s.agent_id, Some(ag("a1")));
    assert_eq!(s.framework_id, fw("f1"));
    assert_eq!((s.timestamp_ms, s.uuid), (77, None));
}

#[test]
fn valid_accept_launches_two_tasks_from_two_offers() {
    let tasks = vec![task("t1", res(3.0, 1024.0)), task("t2", res(1.0, 512.0))];
    let r = accept_on_a1(tasks.clone(), no_tasks);
    assert_eq!(r.agent, Some(ag("a1")));
    assert_eq!(r.launch, tasks);
    assert!(r.rejected.is_empty());
    assert_eq!(r.used, res(4.0, 1536.0));
    assert_eq!(r.recover, vec![(ag("a1"), res(0.0, 512.0))]);
}

#[test]
fn a_fully_used_accept_recovers_nothing() {
    let r = accept_on_a1(vec![task("t1", res(4.0, 2048.0))], no_tasks);
    assert_eq!(r.launch.len(), 1);
    assert!(r.recover.is_empty());
}

#[test]
fn empty_task_id_is_an_error() {
    let r = accept_on_a1(vec![task("", res(1.0, 1.0))], no_tasks);
    assert_task_error(&r.rejected[0], "", StatusReason::InvalidTask);
    assert!(r.launch.is_empty());
}

#[test]
fn existing_task_id_is_an_error() {
    let r = accept_on_a1(vec![task("t1", res(1.0, 1.0))], |t| t.0 == "t1");
    assert_task_error(&r.rejected[0], "t1", StatusReason::InvalidTask);
    assert!(r.rejected[0].message.contains("in use"));
}

#[test]
fn task_id_twice_in_one_accept_is_an_error_the_second_time() {
    let r = accept_on_a1(
        vec![task("t1", res(1.0, 1.0)), task("t1", res(1.0, 1.0))],
        no_tasks,
    );
    assert_eq!(r.launch.len(), 1);
    assert_task_error(&r.rejected[0], "t1", StatusReason::InvalidTask);
}

/// A task of the framework's own executor `id` running `command`.
fn executor_task(task_id: &str, id: &str, command: &str) -> TaskInfo {
    let mut t = task(task_id, res(1.0, 1.0));
    t.command = String::new();
    t.executor = Some(corral_api::task::ExecutorInfo {
        executor_id: id.to_owned(),
        command: command.to_owned(),
        env: Vec::new(),
    });
    t
}

#[test]
fn a_task_of_its_own_executor_needs_no_command_but_a_well_formed_executor() {
    let mut with_container = executor_task("t5", "procs", "/bin/ex");
    with_container.container = Some(corral_api::container::ContainerInfo::docker("busybox"));
    let tasks = vec![
        executor_task("t1", "procs", "/bin/ex"),
        executor_task("t2", "", "/bin/ex"),
        executor_task("t3", "../up", "/bin/ex"),
        executor_task("t4", "procs", "  "),
        with_container,
    ];
    let r = accept_on_a1(tasks, no_tasks);
    assert_eq!(r.launch.len(), 1, "{:?}", r.rejected);
    assert_eq!(r.launch[0].task_id, TaskId::from("t1"));
    let said: Vec<(&str, &str)> = r
        .rejected
        .iter()
        .map(|s| (s.task_id.0.as_str(), s.message.as_str()))
        .collect();
    for s in &r.rejected {
        assert_task_error(s, &s.task_id.0, StatusReason::InvalidTask);
    }
    assert!(said[0].1.contains("invalid executor id"), "{said:?}");
    assert!(said[1].1.contains("invalid executor id"), "{said:?}");
    assert!(
        said[2].1.contains("executor procs has no command"),
        "{said:?}"
    );
    assert!(said[3].1.contains("cannot have a container"), "{said:?}");
}

#[test]
fn task_without_resources_is_an_error() {
    let r = accept_on_a1(vec![task("t1", Resources::empty())], no_tasks);
    assert_task_error(&r.rejected[0], "t1", StatusReason::InvalidTask);
    assert!(r.rejected[0].message.contains("no resources"));
}

#[test]
fn task_beyond_the_offers_is_not_offered() {
    let ports = Resources::empty()
        .with_ranges("ports", RangeSet::from_pairs([(1, 2)]).unwrap())
        .unwrap();
    let r = accept_on_a1(vec![task("t1", res(5.0, 1.0)), task("t2", ports)], no_tasks);
    assert_task_error(&r.rejected[0], "t1", StatusReason::ResourcesNotOffered);
    assert_task_error(&r.rejected[1], "t2", StatusReason::ResourcesNotOffered);
    assert!(r.used.is_empty());
    assert_eq!(r.recover, vec![(ag("a1"), res(4.0, 2048.0))]);
}

#[test]
fn second_task_overflowing_what_the_first_left_is_not_offered() {
    let r = accept_on_a1(
        vec![task("t1", res(3.0, 1024.0)), task("t2", res(2.0, 512.0))],
        no_tasks,
    );
    assert_eq!(r.launch, vec![task("t1", res(3.0, 1024.0))]);
    assert_task_error(&r.rejected[0], "t2", StatusReason::ResourcesNotOffered);
    assert_eq!(r.used, res(3.0, 1024.0));
    assert_eq!(r.recover, vec![(ag("a1"), res(1.0, 1024.0))]);
}

#[test]
fn one_bad_task_among_good_ones_leaves_the_good_ones() {
    let tasks = vec![
        task("t1", res(1.0, 256.0)),
        task("", res(1.0, 256.0)),
        task("t3", res(1.0, 256.0)),
    ];
    let r = accept_on_a1(tasks.clone(), no_tasks);
    assert_eq!(r.launch, vec![tasks[0].clone(), tasks[2].clone()]);
    assert_eq!(r.rejected.len(), 1);
    assert_task_error(&r.rejected[0], "", StatusReason::InvalidTask);
    assert_eq!(r.used, res(2.0, 512.0));
}

#[test]
fn decline_removes_own_offers_and_ignores_the_rest() {
    let (mut b, ids) = book();
    let bogus = OfferId::from("x");
    let list = [
        ids[0].clone(),
        ids[3].clone(),
        bogus.clone(),
        ids[2].clone(),
        ids[0].clone(),
    ];
    let r = b.decline(&fw("f1"), &list);
    assert_eq!(
        r.recover,
        vec![(ag("a1"), res(2.0, 1024.0)), (ag("a2"), res(2.0, 1024.0))]
    );
    assert_eq!(r.ignored, vec![ids[3].clone(), bogus, ids[0].clone()]);
    assert!(b.get(&ids[3]).is_some());
    assert_eq!(b.len(), 2);
}

#[test]
fn remove_agent_returns_offers_to_rescind() {
    let (mut b, ids) = book();
    let mut r = b.remove_agent(&ag("a1"));
    r.sort();
    assert_eq!(
        r,
        vec![
            (fw("f1"), ids[0].clone()),
            (fw("f1"), ids[1].clone()),
            (fw("f2"), ids[3].clone())
        ]
    );
    assert_eq!(b.len(), 1);
    assert!(b.remove_agent(&ag("a1")).is_empty());
}

#[test]
fn remove_framework_returns_resources_to_recover() {
    let (mut b, ids) = book();
    let r = b.remove_framework(&fw("f2"));
    assert_eq!(r, vec![(ag("a1"), res(2.0, 1024.0))]);
    assert!(b.get(&ids[3]).is_none());
    assert_eq!(b.len(), 3);
    assert_eq!(b.remove_framework(&fw("f1")).len(), 3);
    assert!(b.is_empty());
}

#[test]
fn expire_removes_offers_at_or_past_the_timeout() {
    let (mut b, _) = book();
    let late = b
        .create(fw("f1"), ag("a3"), "h", res(1.0, 1.0), secs(10))
        .id;
    let timeout = Duration::from_secs(30);
    assert!(b.expire(secs(29), timeout).is_empty());
    let gone = b.expire(secs(30), timeout);
    assert_eq!(gone.len(), 4);
    assert!(gone.iter().all(|o| o.created_at == secs(0)));
    assert_eq!(b.len(), 1);
    let last = b.expire(secs(40), timeout);
    assert_eq!(last.len(), 1);
    assert_eq!(last[0].id, late);
    assert!(b.is_empty());
}

// ---- random accepts ----

/// Offers: (framework 0..2, agent 0..2, cpus millis, mem, port count).
fn arb_offers() -> impl Strategy<Value = Vec<(u8, u8, u64, u64, u64)>> {
    prop::collection::vec((0u8..2, 0u8..2, 0u64..4_000, 0u64..2_048, 0u64..4), 1..6)
}

/// A task's optional port: (offer index, offset into its ports).
type Port = Option<(u64, u64)>;

/// Tasks: (id index, cpus millis, mem, optional port).
fn arb_tasks() -> impl Strategy<Value = Vec<(u8, u64, u64, Port)>> {
    prop::collection::vec(
        (
            0u8..6,
            0u64..2_000,
            0u64..1_000,
            prop::option::of((0u64..6, 0u64..4)),
        ),
        0..6,
    )
}

/// Offer i holds ports [i*100, i*100+count): offers never overlap.
fn offer_resources(i: usize, cpus_m: u64, mem: u64, ports: u64) -> Resources {
    let r = res(cpus_m as f64 / 1000.0, mem as f64);
    if ports == 0 {
        return r;
    }
    let start = i as u64 * 100;
    let set = RangeSet::from_pairs([(start, start + ports - 1)]).unwrap();
    r.with_ranges("ports", set).unwrap()
}

const TASK_IDS: &[&str] = &["", "a", "b", "c", "d", "existing"];

fn task_of((id, cpus_m, mem, port): (u8, u64, u64, Port)) -> TaskInfo {
    let mut r = res(cpus_m as f64 / 1000.0, mem as f64);
    if let Some((offer, offset)) = port {
        let p = offer * 100 + offset;
        let set = RangeSet::from_pairs([(p, p)]).unwrap();
        r = r.with_ranges("ports", set).unwrap();
    }
    task(TASK_IDS[usize::from(id) % TASK_IDS.len()], r)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn random_accepts_keep_resources_and_answer_every_task_once(
        offers in arb_offers(),
        picks in prop::collection::vec(0usize..10, 0..3),
        tasks in arb_tasks(),
        partition_aware in any::<bool>(),
        one_owner in any::<bool>(),
    ) {
        let mut b = OfferBook::new("m");
        let ids: Vec<OfferId> = offers
            .iter()
            .enumerate()
            .map(|(i, &(f, a, c, m, p))| {
                // Half the runs put every offer with f0 on a0, so that many
                // accepts are valid.
                let (f, a) = if one_owner { (0, 0) } else { (f, a) };
                let r = offer_resources(i, c, m, p);
                b.create(fw(&format!("f{f}")), ag(&format!("a{a}")), "h", r, secs(0)).id
            })
            .collect();
        // Picks 8 and 9 name ids the book never made.
        let listed: Vec<OfferId> = picks
            .iter()
            .map(|&i| match i {
                0..8 => ids[i % ids.len()].clone(),
                _ => OfferId(format!("m-O{i}x")),
            })
            .collect();
        let tasks: Vec<TaskInfo> = tasks.into_iter().map(task_of).collect();
        let before: Vec<OutstandingOffer> = ids.iter().filter_map(|id| b.get(id).cloned()).collect();
        let accept = launch(listed.clone(), tasks.clone());
        let r = b.accept(&fw("f0"), &accept, partition_aware, |t| t.0 == "existing", 5);

        // Consumed offers' resources == used + recovered.
        let consumed: Vec<&OutstandingOffer> =
            before.iter().filter(|o| b.get(&o.id).is_none()).collect();
        let consumed_sum = consumed.iter().fold(Resources::empty(), |acc, o| acc.plus(&o.resources));
        prop_assert_eq!(r.used.plus(&total(&r.recover)), consumed_sum);
        prop_assert_eq!(b.len(), before.len() - consumed.len());
        // Only f0's listed offers are consumed.
        for o in &consumed {
            prop_assert_eq!(&o.framework, &fw("f0"));
            prop_assert!(listed.contains(&o.id));
        }
        // Every task launched or rejected exactly once.
        let mut answered: Vec<TaskId> = r.launch.iter().map(|t| t.task_id.clone())
            .chain(r.rejected.iter().map(|s| s.task_id.clone()))
            .collect();
        let mut given: Vec<TaskId> = tasks.iter().map(|t| t.task_id.clone()).collect();
        answered.sort();
        given.sort();
        prop_assert_eq!(answered, given);
        // Launched tasks' resources sum to `used`, on one agent.
        let launched = r.launch.iter().fold(Resources::empty(), |acc, t| acc.plus(&t.resources));
        prop_assert_eq!(&launched, &r.used);
        if r.offer_error.is_some() {
            prop_assert!(r.launch.is_empty());
        } else {
            prop_assert!(r.agent.is_some());
            prop_assert!(consumed.iter().all(|o| Some(&o.agent) == r.agent.as_ref()));
            prop_assert_eq!(consumed.len(), listed.len());
        }
        // No offer can be accepted twice.
        let again = b.accept(&fw("f0"), &accept, partition_aware, |_| false, 6);
        prop_assert!(again.launch.is_empty());
        prop_assert!(again.used.is_empty());
        for o in &consumed {
            prop_assert!(again.unknown_offers.contains(&o.id));
        }
    }
}
