//! The container driver: one task's Docker container, run for the executor
//! actor from a thread of its own.
//!
//! The actor hands [`DriverCommand`]s to the [`ContainerHook`] made by
//! [`channel`]; the driver thread (started with [`PendingDriver::start`]
//! once the actor's pid is known) carries them out with bollard on a
//! current-thread tokio runtime and reports back through the given
//! function, which the binary wires to `Node::send` so the reports arrive
//! as ordinary messages.
//!
//! A start goes: connect (API version negotiated), check the image is
//! there (or pull it when the task asks), create the container under its
//! name with its labels and limits, start it, report
//! [`ContainerStarted`]; then copy its
//! output into the sandbox's `stdout`/`stderr` files, wait for its end,
//! read its exit code and whether it was OOM-killed, remove it, and report
//! [`ContainerExited`]. A stop is
//! Docker's stop with the task's grace (SIGTERM, SIGKILL after it); a stop
//! before the container started keeps it from starting.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use bollard::container::LogOutput;
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, LogsOptions, RemoveContainerOptions,
    StopContainerOptions,
};
use bollard::Docker;
use futures_util::StreamExt;
use tokio::sync::{mpsc, oneshot, watch};

use super::body::create_body;
use super::{connect, is_not_found, plain, runtime, API_TIMEOUT};
use crate::container::{
    ContainerExit, ContainerExited, ContainerSpec, ContainerStarted, DriverCommand,
};

/// The longest a forced image pull may take.
pub const PULL_TIMEOUT: Duration = Duration::from_secs(600);

/// How long the container's output may keep coming after it has ended.
const LOG_DRAIN: Duration = Duration::from_secs(5);

/// What the driver tells the executor.
#[derive(Clone, Debug, PartialEq)]
pub enum DriverReport {
    /// The container runs.
    Started(ContainerStarted),
    /// The container ended and is removed, or never ran.
    Exited(ContainerExited),
}

/// How the driver reports (called on the driver's thread).
type Reporter = Arc<dyn Fn(DriverReport) + Send + Sync>;

/// The receiving end of a [`channel`], waiting for its thread.
pub struct PendingDriver {
    rx: mpsc::UnboundedReceiver<DriverCommand>,
}

/// A running driver thread; [`shutdown`](DockerDriver::shutdown) (or drop)
/// stops it.
pub struct DockerDriver {
    quit: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// The sending end for the driver's actor ([`super::actor::DriverActor`])
/// and the driver end it feeds. Commands sent before the driver starts
/// wait in the channel.
pub fn channel() -> (mpsc::UnboundedSender<DriverCommand>, PendingDriver) {
    let (tx, rx) = mpsc::unbounded_channel();
    (tx, PendingDriver { rx })
}

impl PendingDriver {
    /// Starts the driver thread, which reports through `report`. Docker is
    /// not touched until a container is asked for.
    pub fn start(
        self,
        report: impl Fn(DriverReport) + Send + Sync + 'static,
    ) -> std::io::Result<DockerDriver> {
        let (quit, quit_rx) = oneshot::channel();
        let report: Reporter = Arc::new(report);
        let rx = self.rx;
        let thread = std::thread::Builder::new()
            .name("corral-docker".into())
            .spawn(move || run(rx, quit_rx, report))?;
        Ok(DockerDriver {
            quit: Some(quit),
            thread: Some(thread),
        })
    }
}

impl DockerDriver {
    /// Stops the driver and waits for its thread. Call it once the executor
    /// has stopped: by then its container has ended and been removed.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(quit) = self.quit.take() {
            let _ = quit.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for DockerDriver {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The driver thread: commands in until told to quit.
fn run(
    mut rx: mpsc::UnboundedReceiver<DriverCommand>,
    mut quit: oneshot::Receiver<()>,
    report: Reporter,
) {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            // Without a runtime every container fails, in words.
            while let Some(cmd) = rx.blocking_recv() {
                if let DriverCommand::Start(_) = cmd {
                    let exit = ContainerExit::failed(e.to_string());
                    report(DriverReport::Exited(ContainerExited { exit }));
                }
            }
            return;
        }
    };
    rt.block_on(async move {
        let (stop_tx, stop_rx) = watch::channel(None::<Duration>);
        let mut started = false;
        loop {
            let cmd = tokio::select! {
                _ = &mut quit => break,
                cmd = rx.recv() => cmd,
            };
            match cmd {
                // The actor is gone: wait for the word to quit.
                None => {
                    let _ = (&mut quit).await;
                    break;
                }
                Some(DriverCommand::Start(spec)) if !started => {
                    started = true;
                    tokio::spawn(run_container(*spec, stop_rx.clone(), report.clone()));
                }
                Some(DriverCommand::Start(spec)) => {
                    tracing::warn!(name = %spec.name, "ignoring a second container start");
                }
                Some(DriverCommand::Stop { grace }) => {
                    let _ = stop_tx.send(Some(grace));
                }
            }
        }
    });
}

/// One container from start to removal; reports as it goes.
async fn run_container(
    spec: ContainerSpec,
    mut stop: watch::Receiver<Option<Duration>>,
    report: Reporter,
) {
    let exit = match connect(API_TIMEOUT).await {
        Err(e) => ContainerExit::failed(e.to_string()),
        Ok(docker) => match launch(&docker, &spec, &mut stop).await {
            Err(why) => ContainerExit::failed(why),
            Ok(()) => {
                let name = spec.name.clone();
                report(DriverReport::Started(ContainerStarted { name }));
                follow(&docker, &spec, &mut stop).await
            }
        },
    };
    report(DriverReport::Exited(ContainerExited { exit }));
}

const STOPPED_BEFORE_START: &str = "it was stopped before it started";

/// Image, directories, create, start; a failure removes what was made.
async fn launch(
    docker: &Docker,
    spec: &ContainerSpec,
    stop: &mut watch::Receiver<Option<Duration>>,
) -> Result<(), String> {
    let stopped = |stop: &watch::Receiver<Option<Duration>>| stop.borrow().is_some();
    if stopped(stop) {
        return Err(STOPPED_BEFORE_START.to_owned());
    }
    tokio::select! {
        r = ensure_image(docker, spec) => r?,
        _ = stop.wait_for(Option::is_some) => return Err(STOPPED_BEFORE_START.to_owned()),
    }
    for dir in &spec.make_dirs {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the volume directory {}: {e}", dir.display()))?;
    }
    // The sandbox and the volumes are the container user's to write in.
    if let Some((uid, gid)) = spec.owner {
        let sandbox = spec.stdout.parent();
        for dir in sandbox
            .into_iter()
            .chain(spec.make_dirs.iter().map(|d| d.as_path()))
        {
            std::os::unix::fs::chown(dir, Some(uid), Some(gid))
                .map_err(|e| format!("cannot give {} to uid {uid}: {e}", dir.display()))?;
        }
    }
    // A container under this name can only be a leftover of this very task.
    remove(docker, &spec.name).await;
    let options = CreateContainerOptions {
        name: Some(spec.name.clone()),
        ..CreateContainerOptions::default()
    };
    docker
        .create_container(Some(options), create_body(spec))
        .await
        .map_err(|e| format!("cannot create the container: {}", plain(&e)))?;
    if stopped(stop) {
        remove(docker, &spec.name).await;
        return Err(STOPPED_BEFORE_START.to_owned());
    }
    if let Err(e) = docker.start_container(&spec.name, None).await {
        remove(docker, &spec.name).await;
        return Err(format!("cannot start the container: {}", plain(&e)));
    }
    Ok(())
}

/// The image is there, or pulled when the task asks (only then).
async fn ensure_image(docker: &Docker, spec: &ContainerSpec) -> Result<(), String> {
    let image = &spec.image;
    if spec.force_pull {
        return match tokio::time::timeout(PULL_TIMEOUT, pull(docker, image)).await {
            Ok(r) => r,
            Err(_) => Err(format!(
                "cannot pull image '{image}': not done within {} s",
                PULL_TIMEOUT.as_secs()
            )),
        };
    }
    match docker.inspect_image(image).await {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Err(format!(
            "image '{image}' is not on this agent's Docker daemon, and the task does not \
             ask to pull it (force_pull_image)"
        )),
        Err(e) => Err(format!("cannot look up image '{image}': {}", plain(&e))),
    }
}

async fn pull(docker: &Docker, image: &str) -> Result<(), String> {
    let (from_image, tag) = split_tag(image);
    let options = CreateImageOptions {
        from_image: Some(from_image.to_owned()),
        tag: tag.map(str::to_owned),
        ..CreateImageOptions::default()
    };
    let mut progress = Box::pin(docker.create_image(Some(options), None, None));
    while let Some(item) = progress.next().await {
        let failed = match item {
            Ok(info) => info.error_detail.and_then(|d| d.message),
            Err(e) => Some(plain(&e)),
        };
        if let Some(why) = failed {
            return Err(format!("cannot pull image '{image}': {}", why.trim()));
        }
    }
    Ok(())
}

/// `name` and `tag` for a pull: an image without tag or digest means
/// `latest` (an empty tag would pull every tag).
fn split_tag(image: &str) -> (&str, Option<&str>) {
    let last = image.rsplit('/').next().unwrap_or(image);
    if last.contains('@') {
        return (image, None);
    }
    match last.rsplit_once(':') {
        Some((_, tag)) => (&image[..image.len() - tag.len() - 1], Some(tag)),
        None => (image, Some("latest")),
    }
}

/// Follows a started container to its end: output into the sandbox,
/// stops as asked, exit code and OOM from the daemon, then removal.
async fn follow(
    docker: &Docker,
    spec: &ContainerSpec,
    stop: &mut watch::Receiver<Option<Duration>>,
) -> ContainerExit {
    let logs = tokio::spawn(copy_logs(docker.clone(), spec.clone()));
    if let Some(grace) = *stop.borrow_and_update() {
        spawn_stop(docker, &spec.name, grace);
    }
    let mut wait = Box::pin(docker.wait_container(&spec.name, None));
    let mut stops_open = true;
    let waited = loop {
        tokio::select! {
            r = wait.next() => break r,
            changed = stop.changed(), if stops_open => match changed {
                Ok(()) => {
                    if let Some(grace) = *stop.borrow_and_update() {
                        spawn_stop(docker, &spec.name, grace);
                    }
                }
                Err(_) => stops_open = false,
            },
        }
    };
    let (mut code, error) = match waited {
        Some(Ok(r)) => (Some(r.status_code), None),
        Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => {
            (Some(code), None)
        }
        Some(Err(e)) => (None, Some(plain(&e))),
        None => (
            None,
            Some("the daemon ended the wait without an answer".to_owned()),
        ),
    };
    if tokio::time::timeout(LOG_DRAIN, logs).await.is_err() {
        tracing::warn!(name = %spec.name, "the container's output was still coming after it ended");
    }
    let mut oom_killed = false;
    match docker.inspect_container(&spec.name, None).await {
        Ok(info) => {
            let state = info.state.unwrap_or_default();
            oom_killed = state.oom_killed.unwrap_or(false);
            code = state.exit_code.or(code);
        }
        Err(e) => {
            tracing::warn!(name = %spec.name, "cannot inspect the ended container: {}", plain(&e))
        }
    }
    remove(docker, &spec.name).await;
    ContainerExit {
        code: if error.is_some() { None } else { code },
        oom_killed,
        error,
    }
}

/// Docker's stop (SIGTERM, SIGKILL after `grace`), in the background so the
/// wait goes on.
fn spawn_stop(docker: &Docker, name: &str, grace: Duration) {
    let (docker, name) = (docker.clone(), name.to_owned());
    // Docker takes whole seconds; round up so the task gets its full grace.
    let secs = grace.as_secs() + u64::from(grace.subsec_nanos() > 0);
    let t = i32::try_from(secs).unwrap_or(i32::MAX);
    tokio::spawn(async move {
        let options = StopContainerOptions {
            t: Some(t),
            signal: None,
        };
        match docker.stop_container(&name, Some(options)).await {
            Ok(()) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => tracing::warn!(%name, "cannot stop the container: {}", plain(&e)),
        }
    });
}

/// Appends the container's stdout and stderr to the sandbox's files until
/// the container ends.
async fn copy_logs(docker: Docker, spec: ContainerSpec) {
    let (mut out, mut err) = match (append(&spec.stdout), append(&spec.stderr)) {
        (Ok(out), Ok(err)) => (out, err),
        (Err(e), _) | (_, Err(e)) => {
            tracing::warn!(name = %spec.name, "cannot open the sandbox's output files: {e}");
            return;
        }
    };
    let options = LogsOptions {
        follow: true,
        stdout: true,
        stderr: true,
        ..LogsOptions::default()
    };
    let mut stream = Box::pin(docker.logs(&spec.name, Some(options)));
    while let Some(item) = stream.next().await {
        let written = match item {
            Ok(LogOutput::StdErr { message }) => err.write_all(&message),
            Ok(LogOutput::StdOut { message } | LogOutput::Console { message }) => {
                out.write_all(&message)
            }
            Ok(LogOutput::StdIn { .. }) => Ok(()),
            Err(e) => {
                tracing::warn!(name = %spec.name, "the container's output stopped: {}", plain(&e));
                return;
            }
        };
        if let Err(e) = written {
            tracing::warn!(name = %spec.name, "cannot write the container's output: {e}");
            return;
        }
    }
}

fn append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// Removes the container (and its anonymous volumes); absent is fine.
pub(crate) async fn remove(docker: &Docker, name: &str) {
    let options = RemoveContainerOptions {
        force: true,
        v: true,
        ..RemoveContainerOptions::default()
    };
    match docker.remove_container(name, Some(options)).await {
        Ok(()) => {}
        Err(e) if is_not_found(&e) => {}
        Err(e) => tracing::warn!(%name, "cannot remove the container: {}", plain(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pulls_name_a_tag() {
        assert_eq!(split_tag("busybox"), ("busybox", Some("latest")));
        assert_eq!(
            split_tag("corral/busybox:test"),
            ("corral/busybox", Some("test"))
        );
        assert_eq!(
            split_tag("registry:5000/app"),
            ("registry:5000/app", Some("latest"))
        );
        assert_eq!(
            split_tag("registry:5000/app:v1"),
            ("registry:5000/app", Some("v1"))
        );
        assert_eq!(split_tag("app@sha256:abc"), ("app@sha256:abc", None));
    }
}
