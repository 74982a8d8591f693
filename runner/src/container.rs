//! One run in one single-use container: create, attach, start, send the code, collect capped
//! output under a wall timeout, inspect, remove.

use crate::{sandbox, usage, DiscoverError, Execution, Image, RunError, Runner, Status, MANAGED_LABEL};
use bollard::container::LogOutput;
use bollard::query_parameters::{
    AttachContainerOptionsBuilder, ListContainersOptionsBuilder, RemoveContainerOptionsBuilder,
    WaitContainerOptionsBuilder,
};
use bollard::Docker;
use futures::{Stream, StreamExt};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::io::AsyncWriteExt;

/// The shell's exit status for a process killed by SIGKILL (the OOM killer's signal).
const SIGKILLED: i64 = 128 + 9;
/// How long a pooled container's replacement waits before it starts (see [`refill_soon`]).
const REFILL_DELAY: Duration = Duration::from_millis(250);
/// How long to wait for the engine to report an exit after the output ended.
const EXIT_GRACE: Duration = Duration::from_secs(5);
/// Longest pause between attempts to remove a container while the engine is away.
const MAX_RETRY_PAUSE: Duration = Duration::from_secs(30);

/// Removes its container when dropped, whatever path the run took (error, timeout, shutdown,
/// or the request's future being dropped when a client disconnects). The normal path awaits
/// [`ContainerGuard::remove`] so that the container is gone before the result is returned.
pub(crate) struct ContainerGuard {
    runner: Runner,
    docker: Docker,
    id: Option<String>,
}

impl ContainerGuard {
    fn new(runner: &Runner, docker: Docker, id: String) -> Self {
        Self {
            runner: runner.clone(),
            docker,
            id: Some(id),
        }
    }

    fn id(&self) -> &str {
        self.id.as_deref().unwrap_or_default()
    }

    /// Removes the container now; if the engine refuses, keeps trying in the background.
    async fn remove(mut self) {
        if let Some(id) = self.id.take() {
            if let Err(error) = force_remove(&self.docker, &id).await {
                retry_removal(&self.runner, self.docker.clone(), id, error);
            }
        }
    }
}

impl Drop for ContainerGuard {
    fn drop(&mut self) {
        let Some(id) = self.id.take() else { return };
        let docker = self.docker.clone();
        let runner = self.runner.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                self.runner.cleanups.spawn_on(
                    async move {
                        if let Err(error) = force_remove(&docker, &id).await {
                            retry_removal(&runner, docker, id, error);
                        }
                    },
                    &handle,
                );
            }
            // No runtime left (process exiting): start-up's orphan sweep will catch it.
            Err(_) => tracing::warn!(container = %id, "container left behind: no runtime"),
        }
    }
}

/// Kills and removes a container. "No such container" counts as done.
async fn force_remove(docker: &Docker, id: &str) -> Result<(), bollard::errors::Error> {
    let options = RemoveContainerOptionsBuilder::new().force(true).v(true).build();
    match docker.remove_container(id, Some(options)).await {
        Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(()),
        result => result,
    }
}

/// Keeps trying to remove a container the engine could not remove (it is down or restarting),
/// backing off up to [`MAX_RETRY_PAUSE`], until it is gone.
fn retry_removal(runner: &Runner, docker: Docker, id: String, error: bollard::errors::Error) {
    tracing::warn!(container = %id, %error, "cannot remove container; will retry");
    runner.cleanups.spawn(async move {
        let mut pause = Duration::from_millis(250);
        loop {
            tokio::time::sleep(pause).await;
            match force_remove(&docker, &id).await {
                Ok(()) => return tracing::info!(container = %id, "removed after retrying"),
                Err(_) => pause = (pause * 2).min(MAX_RETRY_PAUSE),
            }
        }
    });
}

pub(crate) async fn remove_labelled(runner: &Runner) -> Result<usize, DiscoverError> {
    let docker = runner.docker().await?;
    let filters = HashMap::from([("label", vec![MANAGED_LABEL])]);
    let options = ListContainersOptionsBuilder::new()
        .all(true)
        .filters(&filters)
        .build();
    let orphans = docker
        .list_containers(Some(options))
        .await
        .map_err(DiscoverError::ListContainers)?;
    for id in orphans.iter().filter_map(|orphan| orphan.id.as_deref()) {
        if let Err(error) = force_remove(&docker, id).await {
            tracing::warn!(container = %id, %error, "cannot remove orphaned container");
        }
    }
    Ok(orphans.len())
}

/// Where a run's container comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// The pool when it has one (refilling it), else a fresh container.
    Pool,
    /// Always a fresh container, leaving the pool alone (version probes).
    Fresh,
}

pub(crate) async fn run(runner: &Runner, code: &[u8], image: &Image, source: Source) -> Execution {
    // Counts as in flight for shut_down until the run (and its guard) is done.
    let _in_flight = runner.cleanups.token();
    let clock = Instant::now();
    let outcome = tokio::select! {
        outcome = try_run(runner, code, image, source) => outcome,
        // Dropping try_run's future drops its guard, which removes the container.
        () = runner.stopping.cancelled() => Err(RunError::ShuttingDown),
    };
    if source == Source::Pool {
        // A refill skipped while the server was full gets its chance now.
        runner.pool.refill(runner, image);
    }
    match outcome {
        Ok(execution) => execution,
        Err(error) => {
            tracing::warn!(image = %image.name, %error, "version could not run");
            Execution::failed(image, error.to_string(), elapsed_ms(clock))
        }
    }
}

/// Output collected from the attach stream, capped per stream.
#[derive(Default)]
struct Output {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    truncated: bool,
}

impl Output {
    /// Appends a chunk; returns false once a stream went over `limit` (the rest is dropped).
    /// Each stream has room for the shell's closing line on top; what is left beyond `limit`
    /// once that line is taken off is cut afterwards.
    fn push(&mut self, chunk: LogOutput, limit: usize) -> bool {
        let (buffer, bytes) = match chunk {
            LogOutput::StdOut { message } => (&mut self.stdout, message),
            LogOutput::StdErr { message } => (&mut self.stderr, message),
            LogOutput::Console { message } => (&mut self.stdout, message),
            LogOutput::StdIn { .. } => return true,
        };
        let room = (limit + usage::LINE_ROOM).saturating_sub(buffer.len());
        buffer.extend_from_slice(&bytes[..bytes.len().min(room)]);
        if bytes.len() > room {
            self.truncated = true;
        }
        !self.truncated
    }
}

/// Reads output until the shell has reported (PHP is done), the stream ends, or a stream goes
/// over the limit.
async fn collect(
    mut stream: impl Stream<Item = Result<LogOutput, bollard::errors::Error>> + Unpin,
    limit: usize,
    output: &mut Output,
) -> Result<(), RunError> {
    while let Some(chunk) = stream.next().await {
        if !output.push(chunk.map_err(RunError::Output)?, limit) {
            break;
        }
        if usage::complete(&output.stdout, &output.stderr) {
            break;
        }
    }
    Ok(())
}

/// A started container, blocked in `cat` until its script arrives on stdin.
pub(crate) struct Prepared {
    container: ContainerGuard,
    docker: Docker,
    attached: bollard::container::AttachContainerResults,
    /// A pooled container's slot under the global container limit while it waits.
    pub(crate) idle_slot: Option<tokio::sync::OwnedSemaphorePermit>,
}

/// Creates, attaches to and starts a container for `image`: everything but the code.
pub(crate) async fn prepare(runner: &Runner, image: &Image) -> Result<Prepared, RunError> {
    let docker = runner.docker().await?;
    let created = docker
        .create_container(None, sandbox::container_body(runner.config(), &image.id))
        .await
        .map_err(RunError::Create)?;
    let container = ContainerGuard::new(runner, docker.clone(), created.id);
    let attach_options = AttachContainerOptionsBuilder::new()
        .stdin(true)
        .stdout(true)
        .stderr(true)
        .stream(true)
        .build();
    let attached = docker
        .attach_container(container.id(), Some(attach_options))
        .await
        .map_err(RunError::Attach)?;
    docker
        .start_container(container.id(), None)
        .await
        .map_err(RunError::Start)?;
    Ok(Prepared {
        container,
        docker,
        attached,
        idle_slot: None,
    })
}

/// Takes a pre-started container when the pool has one (and starts the pool's refill), else
/// starts one now. A pooled container that died while waiting is replaced by a fresh one.
async fn try_run(
    runner: &Runner,
    code: &[u8],
    image: &Image,
    source: Source,
) -> Result<Execution, RunError> {
    let pooled = match source {
        Source::Pool => {
            // The run's admission covers the container from now on: its idle slot goes to the
            // refill (which would otherwise find the limit full and skip).
            let pooled = runner.pool.take(&image.id).map(|mut prepared| {
                prepared.idle_slot = None;
                prepared
            });
            if pooled.is_some() {
                refill_soon(runner, image);
            } else {
                runner.pool.refill(runner, image);
            }
            pooled
        }
        Source::Fresh => None,
    };
    if let Some(prepared) = pooled {
        match execute(runner, prepared, code, image).await {
            Err(RunError::SendCode(error)) => {
                tracing::warn!(image = %image.name, %error, "pooled container was gone; starting one");
            }
            outcome => return outcome,
        }
    }
    let prepared = prepare(runner, image).await?;
    execute(runner, prepared, code, image).await
}

/// Refills the pool after [`REFILL_DELAY`]: starting a container keeps both cores busy for
/// ~100 ms, which would delay PHP's own start in the container just taken.
fn refill_soon(runner: &Runner, image: &Image) {
    let (runner, image) = (runner.clone(), image.clone());
    runner.cleanups.clone().spawn(async move {
        tokio::select! {
            () = tokio::time::sleep(REFILL_DELAY) => runner.pool.refill(&runner, &image),
            () = runner.stopping.cancelled() => {}
        }
    });
}

/// Sends the code to a prepared container and collects the result.
async fn execute(
    runner: &Runner,
    prepared: Prepared,
    code: &[u8],
    image: &Image,
) -> Result<Execution, RunError> {
    let config = runner.config();
    let Prepared {
        container,
        docker,
        attached,
        idle_slot,
    } = prepared;
    drop(idle_slot);
    let docker = &docker;
    // The wall clock runs from the moment the code is sent.
    let started = Instant::now();
    let sent_at = OffsetDateTime::now_utc();

    let mut output = Output::default();
    let collected = &mut output;
    // `move`: the attach connection must be closed (both halves dropped) before removal; while
    // it is open but unread, the engine blocks on copying output and removal stalls for minutes.
    let outcome = tokio::time::timeout(config.timeout, async move {
        let mut input = attached.input;
        input.write_all(code).await.map_err(RunError::SendCode)?;
        // Closing stdin ends `cat`, and PHP starts on the complete file.
        input.shutdown().await.map_err(RunError::SendCode)?;
        collect(attached.output, config.output_limit, collected).await
    })
    .await;
    let timed_out = match outcome {
        Ok(result) => {
            result?;
            false
        }
        Err(_elapsed) => true,
    };

    let report = usage::take(&mut output.stdout, &mut output.stderr);
    for stream in [&mut output.stdout, &mut output.stderr] {
        if stream.len() > config.output_limit {
            stream.truncate(config.output_limit);
            output.truncated = true;
        }
    }
    let mut execution = Execution {
        image: image.name.clone(),
        php_version: image.php_version.clone(),
        status: Status::Ok,
        exit_code: None,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        truncated: output.truncated,
        duration_ms: 0,
        // A pooled container started long ago: the run starts when its code was sent.
        started_at: Some(sent_at),
        finished_at: None,
        usage: report.map(|r| r.usage).unwrap_or_default(),
        message: None,
    };

    if timed_out || output.truncated {
        // Killed by us: removing with force kills it and frees everything in one call.
        container.remove().await;
        // From the code being sent until the container was removed.
        execution.duration_ms = elapsed_ms(started);
        execution.usage = Default::default();
        if timed_out {
            execution.status = Status::Timeout;
            execution.message = Some(format!(
                "killed after the {} s time limit",
                config.timeout.as_secs_f64()
            ));
        } else {
            execution.status = Status::Exit;
            execution.message = Some(format!(
                "output went over {} KiB; the process was killed",
                config.output_limit / 1024
            ));
        }
        return Ok(execution);
    }

    let ran_for = started.elapsed();
    execution.duration_ms = ran_for.as_millis() as u64;
    match report {
        // The shell saw PHP exit by itself: that is the whole result. The container is removed
        // in the background (the guard); the engine's own view of the exit adds nothing.
        Some(report) if report.exit_code != SIGKILLED => {
            execution.exit_code = Some(report.exit_code);
            execution.finished_at = Some(OffsetDateTime::now_utc());
            execution.status = if report.exit_code == 0 { Status::Ok } else { Status::Exit };
            tracing::debug!(image = %image.name, ?ran_for, "run finished");
            drop(container);
            return Ok(execution);
        }
        // Killed (the kernel's OOM killer, most likely), or the shell itself is gone: the
        // engine knows why.
        _ => {}
    }

    // The output ended, so the process is exiting; wait for the engine to agree.
    let wait_options = WaitContainerOptionsBuilder::new()
        .condition("not-running")
        .build();
    let mut waiting = docker.wait_container(container.id(), Some(wait_options));
    // A non-zero exit arrives as an Err (DockerContainerWaitError); inspect has the facts.
    let _ = tokio::time::timeout(EXIT_GRACE, waiting.next()).await;
    drop(waiting);

    let inspected = docker
        .inspect_container(container.id(), None)
        .await
        .map_err(RunError::Inspect)?;
    container.remove().await;
    tracing::debug!(image = %image.name, ?ran_for, total = ?started.elapsed(), "run finished after inspecting");

    let state = inspected.state.unwrap_or_default();
    execution.exit_code = state.exit_code;
    execution.finished_at = state.finished_at.as_deref().and_then(parse_time);
    execution.status = if state.oom_killed == Some(true) {
        execution.message = Some(format!(
            "killed by the kernel at the {} MiB memory limit",
            config.memory_bytes / (1024 * 1024)
        ));
        Status::Oom
    } else if state.exit_code == Some(0) {
        Status::Ok
    } else {
        Status::Exit
    };
    Ok(execution)
}

fn parse_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

fn elapsed_ms(since: Instant) -> u64 {
    since.elapsed().as_millis() as u64
}
