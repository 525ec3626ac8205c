//! The masters' HTTP client against tiny loopback servers: one serves the
//! answers, another redirects to it (307) or knows no leader (503), and a
//! closed port refuses connections. Each server thread answers a fixed
//! number of requests, one per connection, and returns their request lines.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::*;

/// The longest request head read, in bytes.
const MAX_HEAD_BYTES: usize = 16 * 1024;

/// Serves `requests` requests on a loopback port, answering each request
/// line with what `answer` makes of it.
fn serve(
    requests: usize,
    answer: impl Fn(&str) -> String + Send + 'static,
) -> (String, JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let handle = thread::spawn(move || {
        let mut seen = Vec::new();
        for _ in 0..requests {
            let (mut stream, _) = listener.accept().unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let line = request_line(&mut stream);
            stream.write_all(answer(&line).as_bytes()).unwrap();
            seen.push(line);
        }
        seen
    });
    (base, handle)
}

/// Reads a request's head (up to the blank line) and returns its first
/// line, e.g. `GET /state HTTP/1.1`.
fn request_line(stream: &mut impl Read) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < MAX_HEAD_BYTES {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    let head = String::from_utf8_lossy(&head);
    head.lines().next().unwrap_or_default().to_owned()
}

fn response(status: &str, extra_headers: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{extra_headers}\r\n{body}",
        body.len()
    )
}

/// The path of a request line.
fn path(line: &str) -> String {
    line.split(' ').nth(1).unwrap_or("/").to_owned()
}

/// A loopback address where nothing listens: connections are refused.
fn refusing() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr.to_string()
}

fn leader_answering_ok(requests: usize) -> (String, JoinHandle<Vec<String>>) {
    serve(requests, |line| {
        let body = if line.starts_with("GET") {
            r#"{"leader":"master@127.0.0.1:5050"}"#
        } else {
            ""
        };
        response("200 OK", "Content-Type: application/json\r\n", body)
    })
}

#[test]
fn get_and_post_skip_a_refusing_master_and_follow_a_redirect_to_the_leader() {
    let (leader, leader_seen) = leader_answering_ok(2);
    let target = leader.clone();
    let (follower, follower_seen) = serve(2, move |line| {
        let location = format!("Location: {target}{}\r\n", path(line));
        response("307 Temporary Redirect", &location, "")
    });
    let list = format!("{},{}", refusing(), follower.trim_start_matches("http://"));
    let master = Master::new(&list).unwrap();

    let state = master.state_json().unwrap();
    assert_eq!(state["leader"], "master@127.0.0.1:5050");
    master.kill("fw-1", "task-1").unwrap();

    let both = [
        "GET /state HTTP/1.1",
        "POST /tasks/fw-1/task-1/kill HTTP/1.1",
    ];
    assert_eq!(follower_seen.join().unwrap(), both);
    assert_eq!(leader_seen.join().unwrap(), both);
}

#[test]
fn a_master_that_knows_no_leader_sends_the_client_to_the_next() {
    let (no_leader, _) = serve(1, |_| {
        response("503 Service Unavailable", "", "no leader elected yet")
    });
    let (leader, leader_seen) = leader_answering_ok(1);
    let master = Master::new(&format!("{no_leader},{leader}")).unwrap();
    assert!(master.state_json().is_ok());
    assert_eq!(leader_seen.join().unwrap(), ["GET /state HTTP/1.1"]);
}

#[test]
fn when_every_master_fails_one_error_says_what_each_said() {
    let refused = refusing();
    let (no_leader, _) = serve(1, |_| {
        response("503 Service Unavailable", "", "no leader elected yet")
    });
    let master = Master::new(&format!("{refused}, {no_leader}")).unwrap();
    let e = master.state_json().unwrap_err().to_string();
    assert!(e.starts_with("no master answered"), "{e}");
    assert!(
        e.contains(&format!("cannot reach http://{refused}/state: ")),
        "{e}"
    );
    // Each failure is said once: no URL or cause repeated.
    assert_eq!(
        e.matches(&format!("http://{refused}/state")).count(),
        1,
        "{e}"
    );
    assert!(!e.contains("Connection Failed"), "{e}");
    assert!(e.contains("answered 503: no leader elected yet"), "{e}");
}

#[test]
fn a_refusal_from_a_master_is_the_answer() {
    let (master_url, _) = serve(1, |_| response("404 Not Found", "", "no such task"));
    // Asked after a refusal, this one would change the error's wording.
    let master = Master::new(&format!("{master_url},{}", refusing())).unwrap();
    let e = master.kill("fw-1", "nope").unwrap_err().to_string();
    assert!(e.contains("answered 404: no such task"), "{e}");
    assert!(!e.contains("no master answered"), "{e}");
}

#[test]
fn bad_master_lists_are_refused() {
    for bad in ["", "a:1,", "a:1,,b:2"] {
        assert!(Master::new(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn redirects_name_absolute_urls_or_paths_on_the_same_origin() {
    let asked = "http://10.0.0.1:5050/state";
    assert_eq!(
        redirect_target(asked, "http://10.0.0.2:5050/state").as_deref(),
        Some("http://10.0.0.2:5050/state")
    );
    assert_eq!(
        redirect_target(asked, "/tasks/f/t/kill").as_deref(),
        Some("http://10.0.0.1:5050/tasks/f/t/kill")
    );
    assert_eq!(redirect_target(asked, "ftp://x/"), None);
    assert_eq!(redirect_target(asked, "state"), None);
}

/// A `/state` with tasks `(framework, id, state)`.
fn state_with(tasks: &[(&str, &str, &str)]) -> State {
    let tasks: Vec<serde_json::Value> = tasks
        .iter()
        .map(|(fw, id, state)| {
            serde_json::json!({"id": id, "name": id, "framework_id": fw, "agent_id": "a",
                "state": state, "resources": {}})
        })
        .collect();
    let doc = serde_json::json!({
        "version": "0", "leader": "m", "start_time_ms": 0, "agents": [], "frameworks": [],
        "tasks": tasks, "outstanding_offers": 0,
        "totals": {"total": {}, "used": {}, "offered": {}},
    });
    serde_json::from_value(doc).unwrap()
}

#[test]
fn a_task_id_several_jobs_used_means_the_live_one_else_asks_which() {
    let s = state_with(&[
        ("old", "t", "TASK_FINISHED"),
        ("new", "t", "TASK_RUNNING"),
        ("a", "u", "TASK_FINISHED"),
        ("b", "u", "TASK_FAILED"),
        ("c", "v", "TASK_FINISHED"),
    ]);
    assert_eq!(find_task(&s, "t", None).unwrap().framework_id, "new");
    assert_eq!(find_task(&s, "t", Some("old")).unwrap().framework_id, "old");
    assert_eq!(find_task(&s, "v", None).unwrap().framework_id, "c");
    let err = find_task(&s, "u", None).unwrap_err().to_string();
    assert!(err.contains("several frameworks (a, b)"), "{err}");
    let err = find_task(&s, "w", None).unwrap_err().to_string();
    assert_eq!(err, "no task 'w' on this cluster");
}
