//! Simulated processes: each runs for a virtual duration and exits with a
//! code, both decided by a model from its command line and the seed.

use std::time::Duration;

use rand::{Rng, RngCore};

use crate::kernel::Kernel;
use crate::process::ProcessSpec;

/// How a simulated process behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimProcess {
    /// How long it runs unless signalled.
    pub runs_for: Duration,
    /// Its exit code when it ends by itself.
    pub exit_code: i32,
}

/// Spawns an actor that stands in for a launched process, on the
/// launching node's kernel, and returns its name; None leaves the process
/// to the [`ProcessModel`]. See [`Sim::set_process_actors`](super::Sim::set_process_actors).
pub type ProcessActors = Box<dyn FnMut(&ProcessSpec, &mut Kernel) -> Option<String>>;

/// Decides how a launched command behaves in simulation.
pub type ProcessModel = Box<dyn FnMut(&ProcessSpec, &mut dyn RngCore) -> SimProcess>;

/// The default model understands a few shell commands and treats anything
/// else as a short successful job:
/// `sleep N` runs N seconds (fractions allowed) and exits 0; `exit N` exits
/// N at once; `true` exits 0 and `false` exits 1 at once; anything else runs
/// 1-100 ms and exits 0. Commands joined by `;` or `&&` run in sequence.
pub fn default_model(spec: &ProcessSpec, rng: &mut dyn RngCore) -> SimProcess {
    let mut runs_for = Duration::ZERO;
    for part in spec
        .command
        .split([';', '&'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let mut words = part.split_whitespace();
        match (words.next(), words.next()) {
            (Some("sleep"), Some(n)) => {
                let secs: f64 = n.parse().unwrap_or(0.0);
                runs_for += Duration::from_secs_f64(secs.clamp(0.0, 1e9));
            }
            (Some("exit"), n) => {
                let code = n.and_then(|n| n.parse().ok()).unwrap_or(0);
                return SimProcess {
                    runs_for,
                    exit_code: code,
                };
            }
            (Some("true"), None) => {}
            (Some("false"), None) => {
                return SimProcess {
                    runs_for,
                    exit_code: 1,
                }
            }
            _ => runs_for += Duration::from_millis(rng.random_range(1..=100)),
        }
    }
    SimProcess {
        runs_for,
        exit_code: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn run(cmd: &str) -> SimProcess {
        let spec = ProcessSpec {
            command: cmd.into(),
            ..ProcessSpec::default()
        };
        default_model(&spec, &mut rand_chacha::ChaCha12Rng::seed_from_u64(1))
    }

    #[test]
    fn the_default_model_reads_simple_commands() {
        assert_eq!(
            run("sleep 2.5"),
            SimProcess {
                runs_for: Duration::from_millis(2500),
                exit_code: 0
            }
        );
        assert_eq!(
            run("sleep 1; exit 3"),
            SimProcess {
                runs_for: Duration::from_secs(1),
                exit_code: 3
            }
        );
        assert_eq!(
            run("false"),
            SimProcess {
                runs_for: Duration::ZERO,
                exit_code: 1
            }
        );
        assert_eq!(
            run("true && sleep 1"),
            SimProcess {
                runs_for: Duration::from_secs(1),
                exit_code: 0
            }
        );
        let other = run("./my-job --flag");
        assert_eq!(other.exit_code, 0);
        assert!(
            other.runs_for >= Duration::from_millis(1)
                && other.runs_for <= Duration::from_millis(100)
        );
    }
}
