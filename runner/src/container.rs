//! One run in one single-use container: create, attach, start, send the code, collect capped
//! output under a wall timeout, inspect, remove.

use crate::{sandbox, Execution, Image, RunError, RunnerConfig, Status, MANAGED_LABEL};
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

/// How long to wait for the engine to report an exit after the output ended.
const EXIT_GRACE: Duration = Duration::from_secs(5);

/// Removes its container when dropped, whatever path the run took (error, timeout, or the
/// request's future being dropped when a client disconnects). The normal path awaits
/// [`ContainerGuard::remove`] so that the container is gone before the result is returned.
pub(crate) struct ContainerGuard {
    docker: Docker,
    id: Option<String>,
}

impl ContainerGuard {
    fn new(docker: Docker, id: String) -> Self {
        Self {
            docker,
            id: Some(id),
        }
    }

    fn id(&self) -> &str {
        self.id.as_deref().unwrap_or_default()
    }

    async fn remove(mut self) {
        if let Some(id) = self.id.take() {
            force_remove(&self.docker, &id).await;
        }
    }
}

impl Drop for ContainerGuard {
    fn drop(&mut self) {
        let Some(id) = self.id.take() else { return };
        let docker = self.docker.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(async move { force_remove(&docker, &id).await });
            }
            // No runtime left (process exiting): start-up's orphan sweep will catch it.
            Err(_) => tracing::warn!(container = %id, "container left behind: no runtime"),
        }
    }
}

async fn force_remove(docker: &Docker, id: &str) {
    let options = RemoveContainerOptionsBuilder::new().force(true).v(true).build();
    if let Err(error) = docker.remove_container(id, Some(options)).await {
        tracing::warn!(container = %id, %error, "cannot remove container");
    }
}

pub(crate) async fn remove_labelled(docker: &Docker) -> Result<usize, bollard::errors::Error> {
    let filters = HashMap::from([("label", vec![MANAGED_LABEL])]);
    let options = ListContainersOptionsBuilder::new()
        .all(true)
        .filters(&filters)
        .build();
    let orphans = docker.list_containers(Some(options)).await?;
    for orphan in &orphans {
        if let Some(id) = &orphan.id {
            force_remove(docker, id).await;
        }
    }
    Ok(orphans.len())
}

pub(crate) async fn run(
    docker: &Docker,
    config: &RunnerConfig,
    code: &[u8],
    image: &Image,
) -> Execution {
    let clock = Instant::now();
    match try_run(docker, config, code, image).await {
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
    fn push(&mut self, chunk: LogOutput, limit: usize) -> bool {
        let (buffer, bytes) = match chunk {
            LogOutput::StdOut { message } => (&mut self.stdout, message),
            LogOutput::StdErr { message } => (&mut self.stderr, message),
            LogOutput::Console { message } => (&mut self.stdout, message),
            LogOutput::StdIn { .. } => return true,
        };
        let room = limit.saturating_sub(buffer.len());
        buffer.extend_from_slice(&bytes[..bytes.len().min(room)]);
        if bytes.len() > room {
            self.truncated = true;
        }
        !self.truncated
    }
}

async fn collect(
    mut stream: impl Stream<Item = Result<LogOutput, bollard::errors::Error>> + Unpin,
    limit: usize,
    output: &mut Output,
) -> Result<(), RunError> {
    while let Some(chunk) = stream.next().await {
        if !output.push(chunk.map_err(RunError::Output)?, limit) {
            break;
        }
    }
    Ok(())
}

async fn try_run(
    docker: &Docker,
    config: &RunnerConfig,
    code: &[u8],
    image: &Image,
) -> Result<Execution, RunError> {
    let clock = Instant::now();
    let created = docker
        .create_container(None, sandbox::container_body(config, &image.id))
        .await
        .map_err(RunError::Create)?;
    let container = ContainerGuard::new(docker.clone(), created.id);

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
    let started = Instant::now();
    docker
        .start_container(container.id(), None)
        .await
        .map_err(RunError::Start)?;

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

    let mut execution = Execution {
        image: image.name.clone(),
        php_version: image.php_version.clone(),
        status: Status::Ok,
        exit_code: None,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        truncated: output.truncated,
        duration_ms: 0,
        started_at: None,
        finished_at: None,
        message: None,
    };

    if timed_out || output.truncated {
        // Killed by us: removing with force kills it and frees everything in one call.
        container.remove().await;
        // From start to removal: how long the sandbox really lived.
        execution.duration_ms = elapsed_ms(started);
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

    let state = inspected.state.unwrap_or_default();
    execution.exit_code = state.exit_code;
    execution.started_at = state.started_at.as_deref().and_then(parse_time);
    execution.finished_at = state.finished_at.as_deref().and_then(parse_time);
    execution.duration_ms = match (execution.started_at, execution.finished_at) {
        (Some(start), Some(end)) if end >= start => (end - start).whole_milliseconds() as u64,
        _ => elapsed_ms(clock),
    };
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
