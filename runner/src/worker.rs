//! Runs in workers ([`crate::Isolation::Namespaces`]): a worker is a long-lived container of one
//! image, sandboxed as a single-use container is, whose main process is evalgrid's supervisor
//! (the `supervisor` crate, built static by `build.rs` and delivered read-only in a volume,
//! [`crate::supervisor::TOOL`]). The runner speaks the supervisor's framed protocol over the
//! attach stream; a worker serves one run at a time, each in fresh namespaces, with the same
//! command, input and limits as a single-use container, so results are the same byte for byte.
//!
//! A worker lives in the pool between runs (it holds its slot all along) and is replaced:
//! after [`crate::RunnerConfig::worker_runs`] runs or once older than
//! [`crate::RunnerConfig::worker_lifetime`]; at once after a run that timed out or was killed
//! for memory or processes, or after which the supervisor could not confirm a clean state; and
//! when its supervisor or container is gone (the run it served fails with a clear error).

use crate::classify::{classify, End, Observed};
use crate::prepared::{input_sent, replace_gone, Prepared};
use crate::supervisor::next_frame;
use crate::usage::{self, Report};
use crate::{Execution, Image, RunError, Runner, Script, Usage};
use evalgrid_supervisor::{encode_request, Ended, Frame};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;

/// How long after the run's deadline the supervisor may take to report the end of a run it
/// killed; past it, the worker is given up.
const END_GRACE: Duration = Duration::from_secs(3);

/// Runs `script` in a worker (from the pool when `pooled`); a pooled worker found gone before
/// the run started is replaced by a new one in its slot. The worker goes back to the pool
/// afterwards, or is removed when it must be replaced.
pub(crate) async fn run(
    runner: &Runner,
    script: &Script,
    image: &Image,
    mut prepared: Prepared,
    mut pooled: bool,
) -> Result<Execution, RunError> {
    let wire = encode_request(&script.wire(image));
    loop {
        let started = Instant::now();
        let deadline = started + runner.config().limits.timeout;
        let sent_at = OffsetDateTime::now_utc();
        let sent = async {
            prepared.attached.input.write_all(&wire).await?;
            prepared.attached.input.flush().await
        };
        let sent = tokio::time::timeout_at(deadline, sent)
            .await
            .map_err(|_| RunError::Worker("it did not take the run's input in time".into()))?;
        let (ready, replaced) = input_sent(runner, image, prepared, pooled, sent).await?;
        (prepared, pooled) = (ready, pooled && !replaced);
        if replaced {
            continue;
        }
        let fixed_clock = script.clock.map(|_| prepared.clock && image.fixed_clock);
        // A pooled worker that ends before it takes the run was gone already (removed while
        // it waited): another takes the run. Once the run started, its end is the run's.
        let served = prepared.worker.as_mut().expect("a worker");
        match tokio::time::timeout_at(deadline, next_frame(&mut prepared.attached, &mut served.decoder)).await
        {
            Ok(Ok(Frame::Started)) => {}
            Ok(Err(error)) if pooled => {
                (prepared, pooled) = (replace_gone(runner, image, prepared, error).await?, false);
                continue;
            }
            Ok(Err(error)) => return Err(error),
            Ok(Ok(other)) => return Err(RunError::Worker(format!("it answered a run with {other:?}"))),
            Err(_) => return Err(RunError::Worker("it did not start the run in time".into())),
        }
        let (observed, keep) = observe(runner, &mut prepared, deadline).await?;
        let duration = started.elapsed();
        let execution = classify(image, runner.config(), observed, sent_at, duration);
        let served = prepared.worker.as_mut().expect("a worker");
        served.runs += 1;
        let config = runner.config();
        if keep && served.runs < config.worker_runs && served.since.elapsed() < config.worker_lifetime {
            runner.pool.give_back(prepared, runner.line.len() > 0);
        } else {
            // Removed in the background: the result need not wait for the engine.
            drop(prepared);
        }
        return Ok(Execution {
            fixed_clock,
            ..execution
        });
    }
}

/// Collects the run's output until the supervisor reports its end; says how it ended and
/// whether the worker may serve another run.
async fn observe(
    runner: &Runner,
    prepared: &mut Prepared,
    deadline: Instant,
) -> Result<(Observed, bool), RunError> {
    let limit = runner.config().limits.output_limit;
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let served = prepared.worker.as_mut().expect("a worker");
    let ended = loop {
        let frame = tokio::time::timeout_at(
            deadline + END_GRACE,
            next_frame(&mut prepared.attached, &mut served.decoder),
        )
        .await
        .map_err(|_| RunError::Worker("its supervisor did not report the end of the run".into()))??;
        match frame {
            // The supervisor forwards at most the limit and the shell's line per stream.
            Frame::Stdout(bytes) if stdout.len() <= limit + usage::LINE_ROOM => {
                stdout.extend_from_slice(&bytes)
            }
            Frame::Stderr(bytes) if stderr.len() <= limit + usage::LINE_ROOM => {
                stderr.extend_from_slice(&bytes)
            }
            Frame::Stdout(_) | Frame::Stderr(_) => {}
            Frame::Ended(ended) => break ended,
            Frame::Failed(why) => return Err(RunError::Worker(format!("cannot sandbox the run: {why}"))),
            Frame::Ready(_) | Frame::Started => {
                return Err(RunError::Worker("its supervisor broke the protocol".into()))
            }
        }
    };
    let keep = ended.clean && !ended.timed_out && !ended.oom_killed && !ended.pids_exhausted;
    let report = usage::take(&mut stdout, &mut stderr);
    Ok((
        Observed {
            stdout,
            stderr,
            end: end_of(&ended, report),
        },
        keep,
    ))
}

/// How the run ended, from the supervisor's report and the shell's line: usage is always the
/// supervisor's (the run's rusage; the worker's cgroup outlives runs, so its peak is not one
/// run's).
fn end_of(ended: &Ended, report: Option<Report>) -> End {
    let usage = Usage {
        cpu_time_us: Some(ended.cpu_us),
        peak_memory_bytes: Some(ended.peak_rss_bytes),
    };
    match report {
        _ if ended.timed_out => End::TimedOut,
        _ if ended.flooded => End::Flooded,
        Some(report) if !ended.oom_killed && !ended.cancelled => End::Reported(Report { usage, ..report }),
        _ => End::Exited {
            exit_code: Some(i64::from(ended.exit_code)),
            oom_killed: ended.oom_killed,
            finished_at: Some(OffsetDateTime::now_utc()),
            usage,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_s_end_is_read_from_the_supervisor_first() {
        let report = Report {
            exit_code: 3,
            usage: Usage::default(),
        };
        let ended = Ended {
            exit_code: 3,
            cpu_us: 9000,
            peak_rss_bytes: 1 << 20,
            clean: true,
            ..Ended::default()
        };
        let End::Reported(reported) = end_of(&ended, Some(report)) else {
            panic!("a normal end")
        };
        assert_eq!(reported.exit_code, 3);
        assert_eq!(reported.usage.cpu_time_us, Some(9000));
        let timed_out = Ended {
            timed_out: true,
            ..ended.clone()
        };
        assert!(matches!(end_of(&timed_out, Some(report)), End::TimedOut));
        let oom = Ended {
            exit_code: 137,
            oom_killed: true,
            ..ended.clone()
        };
        assert!(matches!(end_of(&oom, None), End::Exited { oom_killed: true, .. }));
        let flooded = Ended {
            flooded: true,
            ..ended
        };
        assert!(matches!(end_of(&flooded, None), End::Flooded));
    }
}
