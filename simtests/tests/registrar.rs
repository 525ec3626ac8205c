//! The replicated registrar in the simulator: election, commit, failover,
//! durability across crashes, a partitioned minority, determinism, and the
//! seeded chaos scenario.

use std::collections::BTreeSet;
use std::time::Duration;

use corral_master::registrar::Raft;
use corral_simtests::registrar::{self, node_addr, op, Cluster};
use corral_simtests::Params;

const SECOND: Duration = Duration::from_secs(1);

fn elected(seed: u64, nodes: usize) -> (Cluster, usize) {
    let mut c = Cluster::new(seed, nodes, true);
    let leader = c.await_leader(10 * SECOND).expect("a leader within 10 s");
    (c, leader)
}

#[test]
fn three_and_five_members_elect_a_leader_and_commit_on_a_majority() {
    for nodes in [3, 5] {
        for seed in 0..5 {
            let (mut c, leader) = elected(seed, nodes);
            let tag = c.propose(leader, op(1));
            let index = c.await_answer(tag, 5 * SECOND).unwrap();
            assert!(index.is_ok(), "{nodes} members, seed {seed}: {index:?}");
            c.await_all_applied(5 * SECOND).unwrap();
        }
    }
}

#[test]
fn every_member_reports_the_same_registry_and_leader() {
    let (mut c, leader) = elected(2, 5);
    for n in 0..4 {
        c.commit(op(n), 5 * SECOND).unwrap();
    }
    c.await_all_applied(5 * SECOND).unwrap();
    c.run_for(SECOND).unwrap();
    for i in 0..5 {
        c.inspect(i);
    }
    c.run_for(SECOND).unwrap();
    let views = c.views.borrow();
    assert_eq!(views.len(), 5);
    let want = views.values().next().unwrap().1.clone().unwrap();
    assert_eq!(want.registry.agents.len(), 4);
    for (pid, (info, snap)) in views.iter() {
        assert_eq!(snap.as_ref(), Some(&want), "{pid}");
        let info = info.as_ref().unwrap();
        assert_eq!(info.leader, Some(registrar::registrar_pid(leader)), "{pid}");
        assert_eq!(info.is_leader, *pid == registrar::registrar_pid(leader));
    }
}

#[test]
fn a_follower_answers_not_leader_with_the_leader_to_redirect_to() {
    let (mut c, leader) = elected(1, 3);
    let follower = (leader + 1) % 3;
    c.run_for(SECOND).unwrap();
    let tag = c.propose(follower, op(1));
    let answer = c.await_answer(tag, 5 * SECOND).unwrap();
    let err = answer.expect_err("a follower does not commit");
    assert!(err.contains("not the leader"), "{err}");
    assert!(err.contains(&node_addr(leader).to_string()), "{err}");
}

#[test]
fn killing_the_leader_elects_another_within_5_s_and_commits_survive() {
    for nodes in [3, 5] {
        for seed in 0..5 {
            let (mut c, old) = elected(seed, nodes);
            let first = c.commit(op(1), 5 * SECOND).unwrap();
            c.sim.crash(node_addr(old)).unwrap();
            let new = c.await_leader(5 * SECOND).expect("failover within 5 s");
            assert_ne!(new, old);
            let second = c.commit(op(2), 5 * SECOND).unwrap();
            assert!(second > first);
            c.sim.restart(node_addr(old)).unwrap();
            c.await_all_applied(10 * SECOND).unwrap();
        }
    }
}

#[test]
fn a_committed_entry_survives_crashing_a_minority_with_the_old_leader() {
    for seed in 0..5 {
        let (mut c, old) = elected(seed, 5);
        let index = c.commit(op(7), 5 * SECOND).unwrap();
        // The old leader and one more crash at once, losing unsynced writes.
        let other = (old + 1) % 5;
        c.sim.crash(node_addr(old)).unwrap();
        c.sim.crash(node_addr(other)).unwrap();
        c.commit(op(8), 10 * SECOND).unwrap();
        c.sim.restart(node_addr(old)).unwrap();
        c.sim.restart(node_addr(other)).unwrap();
        c.await_all_applied(10 * SECOND).unwrap();
        let l = c.ledger.borrow();
        assert_eq!(
            l.applied.get(&index).map(|e| e.0),
            l.acked.get(&index).copied()
        );
    }
}

#[test]
fn a_partitioned_minority_never_commits() {
    for seed in 0..5 {
        let (mut c, leader) = elected(seed, 5);
        c.commit(op(1), 5 * SECOND).unwrap();
        let buddy = (leader + 1) % 5;
        for i in 0..5 {
            for m in [leader, buddy] {
                if i != leader && i != buddy {
                    c.sim.partition(node_addr(m), node_addr(i));
                }
            }
        }
        let stranded = c.propose(leader, op(2));
        let majority_leader = c.await_leader_among(&[leader, buddy], 10 * SECOND);
        let fresh = c.propose(majority_leader, op(3));
        c.run_for(5 * SECOND).unwrap();
        let answer = c.answer(stranded);
        assert!(
            !matches!(answer, Some(Ok(_))),
            "seed {seed}: the minority committed: {answer:?}"
        );
        assert!(matches!(c.answer(fresh), Some(Ok(_))), "seed {seed}");
    }
}

#[test]
fn garbage_and_forged_raft_messages_are_dropped_without_harm() {
    let (mut c, leader) = elected(4, 3);
    let stranger = corral_runtime::Pid::new("registrar", "10.0.7.7:5050".parse().unwrap()).unwrap();
    for i in 0..3 {
        let to = registrar::registrar_pid(i);
        let junk = Raft {
            bytes: vec![0xff; 64],
        };
        c.sim.send(stranger.clone(), &to, junk).unwrap();
        // A well-formed vote request from a non-member for a huge term.
        let forged = raft::eraftpb::Message {
            from: 9,
            to: i as u64 + 1,
            term: 1_000,
            ..Default::default()
        };
        let bytes = protobuf::Message::write_to_bytes(&forged).unwrap();
        c.sim.send(stranger.clone(), &to, Raft { bytes }).unwrap();
    }
    c.run_for(SECOND).unwrap();
    assert_eq!(c.leader(), Some(leader), "nothing changed");
    c.commit(op(1), 5 * SECOND).unwrap();
}

#[test]
fn same_seed_same_trace_hash_and_seeds_differ() {
    let mut hashes = BTreeSet::new();
    for seed in 0..10 {
        let p = Params {
            seed,
            ..Params::default()
        };
        let (a, b) = (registrar::run(&p), registrar::run(&p));
        assert_eq!(a.trace_hash, b.trace_hash, "seed {seed}");
        assert_eq!(a.events, b.events);
        hashes.insert(a.trace_hash);
    }
    assert_eq!(hashes.len(), 10);
}

#[test]
fn chaos_50_seeds_keep_safety_and_liveness() {
    for seed in 0..50 {
        let o = registrar::run(&Params {
            seed,
            ..Params::default()
        });
        assert_eq!(o.violation, None, "seed {seed}");
    }
}

#[test]
fn chaos_3_members_20_seeds() {
    for seed in 1000..1020 {
        let o = registrar::run(&Params {
            seed,
            nodes: Some(3),
            ..Params::default()
        });
        assert_eq!(o.violation, None, "seed {seed}");
    }
}

#[test]
fn skipping_syncs_is_caught_within_200_seeds() {
    let found = (0..200).find_map(|seed| {
        registrar::run(&Params {
            seed,
            plant_bug: Some("unsynced-writes".into()),
            ..Params::default()
        })
        .violation
    });
    assert!(found.is_some(), "the missing sync went unnoticed");
}
