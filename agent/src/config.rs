//! The agent's settings, with Mesos's defaults.

use std::path::PathBuf;
use std::time::Duration;

use corral_api::agent::http_url_problem;
use corral_api::resources::{Attributes, Resources};
use corral_runtime::Pid;

use crate::containerizer::{check_containerizers, Containerizer};
use crate::error::ConfigError;

/// What a (re)started agent does with the executors an earlier run of it
/// left (Mesos's `--recover`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RecoverMode {
    /// Reattach to the executors that re-register and keep their tasks
    /// (the default).
    #[default]
    Reconnect,
    /// Shut every checkpointed executor down, report its task killed, and
    /// start with no tasks.
    Cleanup,
}

/// How an agent runs. Build with [`AgentConfig::new`], adjust the public
/// fields, then check with [`AgentConfig::validate`].
#[derive(Clone, Debug, PartialEq)]
pub struct AgentConfig {
    /// The masters' actors, in the order the agent tries them. Only the
    /// leading master admits agents; the others answer with the leader's
    /// pid when they know it, and an unanswered attempt moves on to the
    /// next master of the list. Default: the one master given to
    /// [`AgentConfig::new`]. Must not be empty or repeat a pid.
    pub masters: Vec<Pid>,
    /// Host name shown by the master.
    pub hostname: String,
    /// What the agent offers (see [`detect_resources`](crate::detect_resources)).
    pub resources: Resources,
    /// `name:value;...` attributes for the master (Mesos syntax). Default empty.
    pub attributes: String,
    /// Sandboxes live under `{work_dir}/frameworks/...`. Must be absolute.
    pub work_dir: PathBuf,
    /// The shell words that start the command executor, e.g.
    /// `exec '/usr/bin/corral-executor'`.
    pub executor_command: String,
    /// Longest wait between registration attempts. Default 60 s; attempts
    /// start 1 s apart and double, with jitter.
    pub registration_backoff_max: Duration,
    /// First retry of an unacknowledged status update. Default 10 s (Mesos).
    pub status_retry_min: Duration,
    /// Longest wait between retries of one update. Default 10 min (Mesos).
    pub status_retry_max: Duration,
    /// How long a launched executor has to register before it is killed and
    /// its task fails. Default 60 s (Mesos).
    pub executor_registration_timeout: Duration,
    /// Time an executor gets between SIGTERM and SIGKILL of its task. Default
    /// 5 s (Mesos). The agent itself SIGKILLs an executor that has not ended
    /// the task 5 s after that.
    pub kill_grace: Duration,
    /// Log filter given to executors as `CORRAL_LOG`. Default none.
    pub executor_log: Option<String>,
    /// The agent's TLS identity, handed to its executors (as
    /// `CORRAL_TLS_CERT`, `CORRAL_TLS_KEY`, `CORRAL_TLS_CA`) so that they can
    /// join a cluster that runs mutual TLS. Default: none (executors make a
    /// self-signed certificate).
    pub executor_tls: corral_runtime::node::tls::TlsConfig,
    /// Finished tasks remembered for display, oldest dropped first. Default
    /// 1000 (Mesos keeps 1000 per framework).
    pub max_completed_tasks: usize,
    /// Base URL of this agent's HTTP API (`http://ip:port`), told to the
    /// master so operators can reach sandboxes. Default none.
    pub http_url: Option<String>,
    /// Run each executor (and so its tasks) as its framework's `user`
    /// when the framework names one (`--switch-user`, default on as in
    /// Mesos; the agent must then run as root). Off: as the agent's user.
    pub switch_user: bool,
    /// The principal and secret the agent proves itself with to masters
    /// that authenticate agents (`--credential`). Default none.
    pub credential: Option<corral_api::auth::Credential>,
    /// The containerizers offered, in order of preference
    /// (`--containerizers`). Default `[Process]`. A task with a Docker
    /// container needs `Docker`, one without needs `Process`; others get
    /// TASK_ERROR.
    pub containerizers: Vec<Containerizer>,
    /// Why Docker cannot be used on this machine, when it cannot; found by
    /// [`prepare_docker`](crate::prepare_docker) at the binary edge (the
    /// actor never probes). Docker tasks then get TASK_ERROR naming it.
    /// Default none.
    pub docker_unavailable: Option<String>,
    /// The Docker daemon's address passed to executors as `DOCKER_HOST`;
    /// None: the default socket. Default none.
    pub docker_host: Option<String>,
    /// What to do at start with the tasks checkpointed by an earlier run
    /// (`--recover`). Default [`RecoverMode::Reconnect`]. Checkpoints live in
    /// the node's store (`ctx.store()`, redb under the node's data dir); a
    /// node without a store starts empty.
    pub recover: RecoverMode,
    /// How long a restarted agent waits for the executors of its
    /// checkpointed tasks to re-register; tasks whose executor has not come
    /// back by then fail. Also passed to executors of checkpointing
    /// frameworks as `MESOS_RECOVERY_TIMEOUT`. Default 15 min (Mesos).
    pub recovery_timeout: Duration,
    /// A known bug switched on so a simulation can show its checks catch
    /// it (`corral sim --plant-bug`); None (the default) everywhere else.
    pub planted: Option<AgentBug>,
}

/// Bugs the agent can be told to have, for the simulator's checks to find.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgentBug {
    /// Sends a task's second pending update ahead of its first.
    ReorderUpdates,
}

impl AgentConfig {
    /// A configuration with the required fields and defaults for the rest,
    /// for a cluster of one master (see [`with_masters`](Self::with_masters)
    /// for several).
    pub fn new(
        master: Pid,
        hostname: String,
        resources: Resources,
        work_dir: PathBuf,
        executor_command: String,
    ) -> AgentConfig {
        AgentConfig {
            masters: vec![master],
            hostname,
            resources,
            attributes: String::new(),
            work_dir,
            executor_command,
            registration_backoff_max: Duration::from_secs(60),
            status_retry_min: Duration::from_secs(10),
            status_retry_max: Duration::from_secs(600),
            executor_registration_timeout: Duration::from_secs(60),
            kill_grace: Duration::from_secs(5),
            executor_log: None,
            executor_tls: corral_runtime::node::tls::TlsConfig::default(),
            max_completed_tasks: 1000,
            http_url: None,
            credential: None,
            switch_user: true,
            containerizers: vec![Containerizer::Process],
            docker_unavailable: None,
            docker_host: None,
            recover: RecoverMode::Reconnect,
            recovery_timeout: Duration::from_secs(15 * 60),
            planted: None,
        }
    }

    /// This configuration with `masters` as the master list (tried in this
    /// order); [`validate`](Self::validate) checks it.
    pub fn with_masters(mut self, masters: Vec<Pid>) -> AgentConfig {
        self.masters = masters;
        self
    }

    /// Refuses an empty or repeating master list, zero durations and
    /// limits, a retry range upside down, an empty host name or executor
    /// command, a relative work directory, attributes that do not parse, an
    /// HTTP URL that is not one, and an empty or repeating containerizer
    /// list.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_masters(&self.masters)?;
        let durations = [
            ("registration_backoff_max", self.registration_backoff_max),
            ("status_retry_min", self.status_retry_min),
            ("status_retry_max", self.status_retry_max),
            (
                "executor_registration_timeout",
                self.executor_registration_timeout,
            ),
            ("kill_grace", self.kill_grace),
            ("recovery_timeout", self.recovery_timeout),
        ];
        if let Some((field, _)) = durations.iter().find(|(_, d)| d.is_zero()) {
            return Err(ConfigError::ZeroDuration { field });
        }
        if self.status_retry_min > self.status_retry_max {
            return Err(ConfigError::RetryOrder {
                min: self.status_retry_min,
                max: self.status_retry_max,
            });
        }
        if self.max_completed_tasks == 0 {
            return Err(ConfigError::ZeroLimit {
                field: "max_completed_tasks",
            });
        }
        if self.hostname.trim().is_empty() {
            return Err(ConfigError::EmptyHostname);
        }
        if self.executor_command.trim().is_empty() {
            return Err(ConfigError::EmptyExecutorCommand);
        }
        if !self.work_dir.is_absolute() {
            return Err(ConfigError::RelativeWorkDir(self.work_dir.clone()));
        }
        Attributes::parse(&self.attributes).map_err(|e| ConfigError::BadAttributes {
            text: self.attributes.clone(),
            reason: e.to_string(),
        })?;
        if let Some(reason) = self.http_url.as_deref().and_then(http_url_problem) {
            return Err(ConfigError::BadHttpUrl(reason));
        }
        check_containerizers(&self.containerizers)?;
        Ok(())
    }
}

/// Refuses an empty master list and one that names a master twice (a
/// repeated entry would be tried twice per round, skewing the rotation).
fn check_masters(masters: &[Pid]) -> Result<(), ConfigError> {
    if masters.is_empty() {
        return Err(ConfigError::NoMasters);
    }
    for (i, pid) in masters.iter().enumerate() {
        if masters[..i].contains(pid) {
            return Err(ConfigError::DuplicateMaster(pid.clone()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> AgentConfig {
        AgentConfig::new(
            "master@127.0.0.1:5050".parse().unwrap(),
            "host-1".into(),
            Resources::parse("cpus:2;mem:1024").unwrap(),
            PathBuf::from("/var/lib/corral"),
            "exec '/usr/bin/corral-executor'".into(),
        )
    }

    fn refused(f: impl FnOnce(&mut AgentConfig)) -> ConfigError {
        let mut c = config();
        f(&mut c);
        c.validate().unwrap_err()
    }

    #[test]
    fn defaults_follow_mesos_and_validate() {
        let c = config();
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.status_retry_min, Duration::from_secs(10));
        assert_eq!(c.status_retry_max, Duration::from_secs(600));
        assert_eq!(c.executor_registration_timeout, Duration::from_secs(60));
        assert_eq!(c.kill_grace, Duration::from_secs(5));
        assert_eq!(c.registration_backoff_max, Duration::from_secs(60));
    }

    #[test]
    fn validate_names_zero_and_contradictory_values() {
        assert_eq!(
            refused(|c| c.kill_grace = Duration::ZERO),
            ConfigError::ZeroDuration {
                field: "kill_grace"
            }
        );
        assert_eq!(
            refused(|c| c.status_retry_min = Duration::ZERO),
            ConfigError::ZeroDuration {
                field: "status_retry_min"
            }
        );
        assert!(matches!(
            refused(|c| c.status_retry_min = Duration::from_secs(700)),
            ConfigError::RetryOrder { .. }
        ));
        assert_eq!(
            refused(|c| c.max_completed_tasks = 0),
            ConfigError::ZeroLimit {
                field: "max_completed_tasks"
            }
        );
        assert_eq!(
            refused(|c| c.hostname = " ".into()),
            ConfigError::EmptyHostname
        );
        assert_eq!(
            refused(|c| c.executor_command = String::new()),
            ConfigError::EmptyExecutorCommand
        );
        assert!(matches!(
            refused(|c| c.work_dir = PathBuf::from("relative/dir")),
            ConfigError::RelativeWorkDir(_)
        ));
        assert!(matches!(
            refused(|c| c.http_url = Some("127.0.0.1:5051".into())),
            ConfigError::BadHttpUrl(_)
        ));
        let err = refused(|c| c.attributes = "rack".into());
        assert!(matches!(err, ConfigError::BadAttributes { .. }));
        assert!(err.to_string().contains("rack"), "{err}");
    }

    #[test]
    fn the_master_list_is_not_empty_and_does_not_repeat() {
        let a: Pid = "master@10.0.0.1:5050".parse().unwrap();
        let b: Pid = "master@10.0.0.2:5050".parse().unwrap();
        assert_eq!(config().masters.len(), 1);
        let c = config().with_masters(vec![a.clone(), b.clone()]);
        assert_eq!(c.masters, vec![a.clone(), b.clone()]);
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(refused(|c| c.masters.clear()), ConfigError::NoMasters);
        let err = refused(|c| c.masters = vec![a.clone(), b.clone(), a.clone()]);
        assert_eq!(err, ConfigError::DuplicateMaster(a.clone()));
        assert!(err.to_string().contains("10.0.0.1:5050"), "{err}");
    }

    #[test]
    fn good_attributes_pass() {
        let mut c = config();
        c.attributes = "rack:r1;zone:eu".into();
        assert_eq!(c.validate(), Ok(()));
    }
}
