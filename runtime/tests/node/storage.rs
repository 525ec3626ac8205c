//! A node's durable store (`NodeConfig::data_dir`) as actors see it through
//! `Ctx::store`.

use std::path::Path;

use corral_runtime::{message, Actor, Ctx, Handler, Handlers, Node, NodeConfig, StorageError};
use serde::{Deserialize, Serialize};

use crate::ASK;

/// Adds one to the stored counter, syncs, and answers with the new value.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Bump;
/// Answers with the stored counter (0 when never written).
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Get;
/// The counter, or the storage error as text.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Count(Result<u64, String>);
message!(Bump = "test.storage.Bump" => Count);
message!(Get = "test.storage.Get" => Count);
message!(Count = "test.storage.Count");

const KEY: &[u8] = b"count";

/// Keeps a counter in the node's store, none in memory: what it answers is
/// what the store holds.
struct Counter;
impl Actor for Counter {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Bump>().on::<Get>();
    }
}

fn read(ctx: &mut Ctx<'_, Counter>) -> Result<u64, StorageError> {
    let bytes = ctx.store().get(KEY)?;
    Ok(bytes.map_or(0, |b| {
        u64::from_be_bytes(b.try_into().expect("counter is 8 bytes"))
    }))
}

fn bump(ctx: &mut Ctx<'_, Counter>) -> Result<u64, StorageError> {
    let n = read(ctx)? + 1;
    let mut store = ctx.store();
    store.put(KEY, &n.to_be_bytes())?;
    store.sync()?;
    Ok(n)
}

impl Handler<Bump> for Counter {
    fn handle(&mut self, _: Bump, ctx: &mut Ctx<'_, Self>) {
        let n = bump(ctx).map_err(|e| e.to_string());
        ctx.reply(Count(n));
    }
}
impl Handler<Get> for Counter {
    fn handle(&mut self, _: Get, ctx: &mut Ctx<'_, Self>) {
        let n = read(ctx).map_err(|e| e.to_string());
        ctx.reply(Count(n));
    }
}

fn start(data_dir: Option<&Path>) -> Node {
    crate::init_logs();
    let node = Node::start(NodeConfig {
        data_dir: data_dir.map(Path::to_path_buf),
        ..NodeConfig::default()
    })
    .expect("node starts");
    node.spawn("counter", Counter).unwrap();
    node
}

fn ask<M: corral_runtime::Request<Reply = Count>>(node: &Node, msg: M) -> Count {
    node.ask(&node.pid("counter").unwrap(), msg, ASK).unwrap()
}

#[test]
fn synced_writes_outlive_a_node_restart_on_the_same_data_dir() {
    let dir = crate::child::temp_dir("storage");
    let node = start(Some(&dir));
    assert_eq!(ask(&node, Get), Count(Ok(0)));
    assert_eq!(ask(&node, Bump), Count(Ok(1)));
    assert_eq!(ask(&node, Bump), Count(Ok(2)));
    node.shutdown();

    let node = start(Some(&dir));
    assert_eq!(ask(&node, Get), Count(Ok(2)));
    assert_eq!(ask(&node, Bump), Count(Ok(3)));
    node.shutdown();
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_node_without_data_dir_answers_not_configured() {
    let node = start(None);
    let not_configured = Count(Err(StorageError::NotConfigured.to_string()));
    assert_eq!(ask(&node, Get), not_configured);
    assert_eq!(ask(&node, Bump), not_configured);
}
