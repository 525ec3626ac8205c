//! The principal a peer's certificate proves reaches the actor handling
//! its message (`Ctx::certified`), and only where the cluster CA vouched
//! for it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use corral_runtime::node::tls::{generate_ca, generate_principal_cert, PemPair, TlsConfig};
use corral_runtime::{message, Actor, Ctx, Handler, Handlers, Node, NodeConfig};
use serde::{Deserialize, Serialize};

use crate::child;

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Who;
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Certified(Option<String>);
message!(Who = "test.Who" => Certified);
message!(Certified = "test.Certified");

/// Answers who the asker's connection proved to be.
struct Gate;
impl Actor for Gate {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Who>();
    }
}
impl Handler<Who> for Gate {
    fn handle(&mut self, _: Who, ctx: &mut Ctx<'_, Self>) {
        let proved = ctx.certified().map(str::to_owned);
        ctx.reply(Certified(proved));
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write a test file");
    p
}

/// A node with `pair` as its identity, trusting `ca` if given.
fn node(dir: &Path, who: &str, pair: &PemPair, ca: Option<&Path>) -> Node {
    Node::start(NodeConfig {
        tls: TlsConfig {
            cert_pem: Some(write(dir, &format!("{who}.pem"), &pair.cert_pem)),
            key_pem: Some(write(dir, &format!("{who}.key"), &pair.key_pem)),
            ca_pem: ca.map(Path::to_path_buf),
        },
        ..NodeConfig::default()
    })
    .expect("node starts")
}

fn ask_who(from: &Node, gate: &Node) -> Option<String> {
    let gate = gate.pid("gate").expect("gate pid");
    let Certified(p) = from
        .ask(&gate, Who, Duration::from_secs(10))
        .expect("the gate answers");
    p
}

#[test]
fn a_certificate_proves_its_principal_only_under_mutual_tls() {
    let dir = child::temp_dir("certified");
    let ca = generate_ca("corral test CA").expect("ca");
    let ca_pem = write(&dir, "ca.pem", &ca.cert_pem);
    let cert = |p: Option<&str>| generate_principal_cert(&ca, &[], p).expect("cert");

    let gate = node(&dir, "gate", &cert(None), Some(&ca_pem));
    let alice = node(&dir, "alice", &cert(Some("alice")), Some(&ca_pem));
    let plain = node(&dir, "plain", &cert(None), Some(&ca_pem));
    for n in [&gate, &alice, &plain] {
        n.spawn("gate", Gate).expect("spawn");
    }
    // Alice's messages come on the connection she dials (her certificate
    // as a client) ...
    assert_eq!(ask_who(&alice, &gate).as_deref(), Some("alice"));
    // ... and on one the gate dialed (her certificate as a server): the
    // gate asks first, and the pair then shares that connection.
    assert_eq!(
        ask_who(&gate, &plain),
        None,
        "a node certificate names no one"
    );
    assert_eq!(ask_who(&plain, &gate), None);
    let carol = node(&dir, "carol", &cert(Some("carol")), Some(&ca_pem));
    carol.spawn("gate", Gate).expect("spawn");
    assert_eq!(ask_who(&gate, &carol), None);
    assert_eq!(ask_who(&carol, &gate).as_deref(), Some("carol"));
    // A local message proves nothing.
    assert_eq!(ask_who(&gate, &gate), None);

    // Without a CA no one vouches for a certificate: the name in it proves
    // nothing, whichever side dialed.
    let open_gate = node(&dir, "open-gate", &cert(None), None);
    let mallory = node(&dir, "mallory", &cert(Some("mallory")), None);
    for n in [&open_gate, &mallory] {
        n.spawn("gate", Gate).expect("spawn");
    }
    assert_eq!(ask_who(&open_gate, &mallory), None);
    assert_eq!(ask_who(&mallory, &open_gate), None);
    let _ = std::fs::remove_dir_all(dir);
}
