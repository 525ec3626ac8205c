//! The cluster a chaos seed runs: how many masters, which agents with
//! which resources, which frameworks in which roles doing what. Drawn from
//! the seed (swarm testing: each seed explores a different shape, not only
//! the ones a test author thought of), or the fixed shape of the
//! `failover-masters` scenario and the classic regression seeds.
//!
//! Agents' resources are drawn from small palettes so that identical,
//! overlapping, nested and disjoint port ranges and sets meet often: the
//! allocator once merged two agents' identical `ports:[31000-32000]` as a
//! set, a shape no hand-written scenario had.

use std::fmt;
use std::time::Duration;

use corral_api::resources::Resources;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha12Rng;

/// What a framework does with its offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Behaviour {
    /// The original chaos framework: keeps 6 tasks live, some "forever",
    /// some short, and sometimes kills one.
    #[default]
    Mixed,
    /// Runs a fixed number of short jobs with random exit codes, then wants
    /// nothing more.
    Batch,
    /// Keeps a number of long tasks running, relaunching those that end.
    Service,
    /// Declines nearly every offer with a long filter.
    Decliner,
    /// Never answers an offer.
    Hoarder,
    /// Runs short jobs, suppressing and reviving offers now and then.
    Cycler,
    /// A service whose scheduler fails over: its node restarts and it
    /// subscribes again under its framework id.
    FailsOver,
    /// A service whose scheduler quits for good at its time (it leaves its
    /// master and stops); the master tears it down once its failover
    /// timeout passes.
    Quits,
    /// Runs short jobs and sends invalid requests: unknown and used offer
    /// ids, duplicate task ids, resources it was not offered, kills of
    /// tasks it never launched.
    Invalid,
}

const BEHAVIOURS: [Behaviour; 8] = [
    Behaviour::Batch,
    Behaviour::Service,
    Behaviour::Decliner,
    Behaviour::Hoarder,
    Behaviour::Cycler,
    Behaviour::FailsOver,
    Behaviour::Quits,
    Behaviour::Invalid,
];

impl Behaviour {
    /// Whether, unfiltered and not suppressed, it takes offers it is given
    /// (what the fairness check after healing expects to be offered).
    pub fn takes_offers(self) -> bool {
        !matches!(self, Behaviour::Decliner | Behaviour::Hoarder)
    }
}

/// One agent.
#[derive(Debug, Clone)]
pub struct AgentShape {
    /// What it offers.
    pub resources: Resources,
    /// Its attributes (Mesos text syntax).
    pub attributes: String,
}

/// One framework.
#[derive(Debug, Clone)]
pub struct FrameworkShape {
    /// Its role.
    pub role: String,
    /// What it does.
    pub behaviour: Behaviour,
    /// Its failover timeout at the master.
    pub failover_timeout: Duration,
    /// When its scheduler fails over or quits (those behaviours only).
    pub event_at: Option<Duration>,
}

/// The whole cluster.
#[derive(Debug, Clone)]
pub struct Shape {
    /// Replicated masters: 1, 3 or 5.
    pub masters: usize,
    /// Agents.
    pub agents: Vec<AgentShape>,
    /// Frameworks, each on its own node.
    pub frameworks: Vec<FrameworkShape>,
    /// Role weights the masters are configured with.
    pub weights: Vec<(String, f64)>,
    /// Offers older than this are rescinded.
    pub offer_timeout: Option<Duration>,
}

const CPUS: [&str; 4] = ["1", "2", "4", "8"];
const MEM: [&str; 4] = ["1024", "2048", "4096", "8192"];
/// Identical, overlapping, nested and disjoint ranges.
const PORTS: [&str; 6] = [
    "",
    "[31000-32000]",
    "[31000-32000]",
    "[31500-31600]",
    "[40000-40010]",
    "[31000-31100,40000-40010]",
];
const DISKS: [&str; 4] = ["", "{a,b}", "{b,c}", "{a}"];
const ROLES: [&str; 3] = ["*", "analytics", "web"];
const WEIGHTS: [f64; 4] = [0.5, 1.0, 2.0, 3.0];

fn pick<'a, T>(rng: &mut impl Rng, from: &'a [T]) -> &'a T {
    &from[rng.random_range(0..from.len())]
}

fn agent_text(rng: &mut impl Rng) -> (String, String) {
    let mut text = format!("cpus:{};mem:{}", pick(rng, &CPUS), pick(rng, &MEM));
    let ports = pick(rng, &PORTS);
    if !ports.is_empty() {
        text.push_str(&format!(";ports:{ports}"));
    }
    let disks = pick(rng, &DISKS);
    if !disks.is_empty() {
        text.push_str(&format!(";disks:{disks}"));
    }
    let attributes = format!(
        "rack:r{};zone:{}",
        rng.random_range(1..4),
        pick(rng, &["east", "west"])
    );
    (text, attributes)
}

fn parse(text: &str) -> Resources {
    Resources::parse(text).unwrap_or_else(|e| unreachable!("palette texts parse: {text}: {e}"))
}

impl Shape {
    /// The fixed shape: 3 masters, `agents` agents of `cpus:4;mem:4096`,
    /// one [`Behaviour::Mixed`] framework in role `*`.
    pub fn fixed(agents: usize) -> Shape {
        let agent = AgentShape {
            resources: parse("cpus:4;mem:4096"),
            attributes: String::new(),
        };
        Shape {
            masters: 3,
            agents: vec![agent; agents],
            frameworks: vec![FrameworkShape {
                role: "*".into(),
                behaviour: Behaviour::Mixed,
                failover_timeout: Duration::from_secs(3600),
                event_at: None,
            }],
            weights: Vec::new(),
            offer_timeout: None,
        }
    }

    /// The shape of chaos seed `seed` (a pure function of it).
    pub fn draw(seed: u64) -> Shape {
        let mut rng = ChaCha12Rng::seed_from_u64(seed ^ 0x5348_4150_4521);
        let masters = *pick(&mut rng, &[1, 3, 3, 5]);
        let n_agents = rng.random_range(1..=12);
        let identical = rng.random_bool(0.4);
        let first = agent_text(&mut rng);
        let agents = (0..n_agents)
            .map(|i| {
                let (text, attributes) = if identical || i == 0 {
                    first.clone()
                } else {
                    agent_text(&mut rng)
                };
                AgentShape {
                    resources: parse(&text),
                    attributes,
                }
            })
            .collect();
        let n_frameworks = rng.random_range(1..=5);
        let frameworks = (0..n_frameworks)
            .map(|_| {
                let behaviour = *pick(&mut rng, &BEHAVIOURS);
                let failover_timeout = match behaviour {
                    Behaviour::Quits => Duration::from_secs(rng.random_range(3..15)),
                    _ => Duration::from_secs(3600),
                };
                let event_at = matches!(behaviour, Behaviour::FailsOver | Behaviour::Quits)
                    .then(|| Duration::from_secs(rng.random_range(5..45)));
                FrameworkShape {
                    role: pick(&mut rng, &ROLES).to_string(),
                    behaviour,
                    failover_timeout,
                    event_at,
                }
            })
            .collect();
        let weights = ROLES
            .iter()
            .map(|r| (r.to_string(), *pick(&mut rng, &WEIGHTS)))
            .collect();
        let offer_timeout = rng
            .random_bool(0.5)
            .then(|| Duration::from_secs(rng.random_range(5..30)));
        Shape {
            masters,
            agents,
            frameworks,
            weights,
            offer_timeout,
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "shape: {} masters, {} agents, {} frameworks, weights {:?}, offer timeout {:?}",
            self.masters,
            self.agents.len(),
            self.frameworks.len(),
            self.weights,
            self.offer_timeout
        )?;
        for (i, a) in self.agents.iter().enumerate() {
            writeln!(f, "  agent-{i}: {} ({})", a.resources, a.attributes)?;
        }
        for (i, fw) in self.frameworks.iter().enumerate() {
            write!(
                f,
                "  framework-{i}: {:?} in role {}, failover timeout {:?}",
                fw.behaviour, fw.role, fw.failover_timeout
            )?;
            match fw.event_at {
                Some(at) => writeln!(f, ", at {at:?}")?,
                None => writeln!(f)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_a_function_of_the_seed_and_cover_the_palettes() {
        let a = Shape::draw(7).to_string();
        assert_eq!(a, Shape::draw(7).to_string());
        let shapes: Vec<Shape> = (0..300).map(Shape::draw).collect();
        let masters: std::collections::BTreeSet<usize> = shapes.iter().map(|s| s.masters).collect();
        assert_eq!(masters.into_iter().collect::<Vec<_>>(), vec![1, 3, 5]);
        for b in BEHAVIOURS {
            assert!(
                shapes
                    .iter()
                    .any(|s| s.frameworks.iter().any(|f| f.behaviour == b)),
                "{b:?} never drawn"
            );
        }
        let twin_ports = shapes.iter().any(|s| {
            s.agents.len() > 1
                && s.agents
                    .iter()
                    .all(|a| a.resources.ranges("ports") == s.agents[0].resources.ranges("ports"))
                && !s.agents[0].resources.ranges("ports").is_empty()
        });
        assert!(twin_ports, "no seed drew agents with identical ports");
        assert!(shapes.iter().all(|s| (1..=12).contains(&s.agents.len())));
        assert!(shapes.iter().all(|s| (1..=5).contains(&s.frameworks.len())));
    }
}
