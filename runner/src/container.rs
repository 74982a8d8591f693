//! One run in one single-use container, made ready by [`crate::prepared`] (or taken started
//! from the pool): send the code, collect capped output under one deadline, find out how it
//! ended, remove. A run in a worker is [`crate::worker`]'s. How the observations become a result is [`crate::classify`]'s pure business; the
//! engine is reached through [`crate::backend::Backend`].

use crate::backend::bounded;
use crate::classify::{classify, End, Observed};
use crate::guard::ContainerGuard;
use crate::prepared::{input_sent, prepare, prepare_as, Prepared, Reserved};
use crate::{usage, worker, Execution, Image, Isolation, RunError, Runner, Script, Usage};
use bollard::container::{AttachContainerResults, LogOutput};
use futures::{Stream, StreamExt};
use time::OffsetDateTime;
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;

/// The shell's exit status for a process killed by SIGKILL (the OOM killer's signal).
const SIGKILLED: i64 = 128 + 9;

/// Runs `script` in the reserved container. A pooled container that died while waiting is
/// replaced by a fresh one in its slot.
pub(crate) async fn run(
    runner: &Runner,
    script: &Script,
    image: &Image,
    reserved: Reserved,
) -> Result<Execution, RunError> {
    let (mut prepared, mut pooled) = match reserved {
        Reserved::Pooled(prepared) => (*prepared, true),
        Reserved::Fresh(slot) => (prepare(runner, image, slot).await?, false),
        Reserved::SingleUse(slot) => (
            prepare_as(runner, image, slot, Isolation::Containers).await?,
            false,
        ),
    };
    prepared.count_as(crate::metrics::ContainerState::Running);
    if prepared.worker.is_some() {
        return worker::run(runner, script, image, prepared, pooled).await;
    }
    let wire = script.wire(image);
    loop {
        // One deadline covers the whole run: sending, running, and finding out how it ended.
        let started = Instant::now();
        let deadline = started + runner.config().limits.timeout;
        let sent_at = OffsetDateTime::now_utc();
        // Past the deadline, the run times out as it should.
        let sent = tokio::time::timeout_at(deadline, send(&mut prepared.attached, &wire)).await;
        let (ready, replaced) = input_sent(runner, image, prepared, pooled, sent.unwrap_or(Ok(()))).await?;
        (prepared, pooled) = (ready, pooled && !replaced);
        if replaced {
            continue;
        }
        let fixed_clock = script.clock.map(|_| prepared.clock && image.fixed_clock);
        let observed = observe(runner, prepared, deadline).await?;
        let duration = started.elapsed();
        tracing::debug!(image = %image.name, ?duration, "run finished");
        let execution = classify(image, runner.config(), observed, sent_at, duration);
        return Ok(Execution {
            fixed_clock,
            ..execution
        });
    }
}

/// Writes the script's input (see [`Script::wire`]) to the container's stdin and closes it:
/// `cat` ends and PHP starts on the complete file.
async fn send(attached: &mut AttachContainerResults, wire: &[u8]) -> std::io::Result<()> {
    attached.input.write_all(wire).await?;
    attached.input.shutdown().await
}

/// Output collected from the attach stream, capped per stream.
#[derive(Default)]
struct Output {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    flooded: bool,
}

impl Output {
    /// Appends a chunk; returns false once a stream went over `limit` (the rest is dropped).
    /// Each stream has room for the shell's closing line on top; what is left beyond `limit`
    /// once that line is taken off is cut by [`classify`].
    fn push(&mut self, chunk: LogOutput, limit: usize) -> bool {
        let (buffer, bytes) = match chunk {
            LogOutput::StdOut { message } | LogOutput::Console { message } => (&mut self.stdout, message),
            LogOutput::StdErr { message } => (&mut self.stderr, message),
            LogOutput::StdIn { .. } => return true,
        };
        let room = (limit + usage::LINE_ROOM).saturating_sub(buffer.len());
        buffer.extend_from_slice(&bytes[..bytes.len().min(room)]);
        if bytes.len() > room {
            self.flooded = true;
        }
        !self.flooded
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

/// Collects the output until `deadline` and finds out how the run ended. A container that is
/// killed (deadline, flood, still running when the output ended) is removed before this
/// returns; one that ended by itself goes in the background.
async fn observe(runner: &Runner, prepared: Prepared, deadline: Instant) -> Result<Observed, RunError> {
    let Prepared {
        container, attached, ..
    } = prepared;
    let limit = runner.config().limits.output_limit;
    let mut output = Output::default();
    let collected = tokio::time::timeout_at(deadline, collect(attached.output, limit, &mut output)).await;
    // The attach connection must be closed before removal: while it is open but unread, the
    // engine blocks on copying output and removal stalls for minutes.
    drop(attached.input);
    let (mut stdout, mut stderr) = (output.stdout, output.stderr);
    let report = usage::take(&mut stdout, &mut stderr);
    let end = match collected {
        Err(_elapsed) => End::TimedOut,
        Ok(result) => {
            result?;
            match report {
                _ if output.flooded => End::Flooded,
                // The shell saw PHP exit by itself: that is the whole result.
                Some(report) if report.exit_code != SIGKILLED => {
                    drop(container);
                    return Ok(Observed {
                        stdout,
                        stderr,
                        end: End::Reported(report),
                    });
                }
                // Killed (the kernel's OOM killer, most likely), or the shell itself is gone:
                // the engine knows why.
                _ => {
                    let measured = report.map(|report| report.usage).unwrap_or_default();
                    // None: still running at the deadline (a script can print the shell's lines).
                    exited(&container, deadline, measured)
                        .await?
                        .unwrap_or(End::TimedOut)
                }
            }
        }
    };
    container.remove().await;
    Ok(Observed { stdout, stderr, end })
}

/// Waits until `deadline` for the engine to see the container exit, then asks how it ended
/// (with `usage`, what the shell measured if it got to report); `None` when it is still running.
async fn exited(
    container: &ContainerGuard,
    deadline: Instant,
    usage: Usage,
) -> Result<Option<End>, RunError> {
    let backend = container.backend();
    let _ = tokio::time::timeout_at(deadline, backend.wait_stopped(container.id())).await;
    let state = bounded("inspect", backend.inspect(container.id())).await?;
    if state.running {
        return Ok(None);
    }
    Ok(Some(End::Exited {
        exit_code: state.exit_code,
        oom_killed: state.oom_killed,
        finished_at: state.finished_at,
        usage,
    }))
}
