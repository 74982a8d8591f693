//! How a run's observations become its result: pure, so every path is unit-tested without an
//! engine ([`crate::container`] does the I/O).

use crate::usage::Report;
use crate::{Execution, Image, Outcome, RunnerConfig, Status, Usage};
use std::time::Duration;
use time::OffsetDateTime;

/// What the runner saw of one run: the output (the shell's closing lines already taken off)
/// and how it ended.
#[derive(Debug)]
pub(crate) struct Observed {
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: Vec<u8>,
    pub(crate) end: End,
}

#[derive(Debug)]
pub(crate) enum End {
    /// The shell reported that PHP exited by itself.
    Reported(Report),
    /// Killed at the deadline: it was still running.
    TimedOut,
    /// Killed for writing more than the output limit.
    Flooded,
    /// The engine's view after the output ended without a report of a normal exit (PHP killed,
    /// or the shell gone), with the shell's numbers when it got to report.
    Exited {
        exit_code: Option<i64>,
        oom_killed: bool,
        finished_at: Option<OffsetDateTime>,
        usage: Usage,
    },
}

/// The result of a run whose code was sent at `sent_at` and which took `duration` (to the
/// end of its output, or to the removal of a killed container).
pub(crate) fn classify(
    image: &Image,
    config: &RunnerConfig,
    observed: Observed,
    sent_at: OffsetDateTime,
    duration: Duration,
) -> Execution {
    let Observed { stdout, stderr, end } = observed;
    let mut execution = Execution {
        image: image.name.clone(),
        php_version: image.php_version.clone(),
        outcome: printed(stdout, stderr, config.limits.output_limit, duration),
        // A pooled container started long ago: the run starts when its code was sent.
        started_at: Some(sent_at),
        finished_at: None,
        usage: Usage::default(),
        message: None,
        fixed_clock: None,
    };
    let exited = |code: Option<i64>| if code == Some(0) { Status::Ok } else { Status::Exit };
    match end {
        End::Reported(report) => {
            execution.outcome.status = exited(Some(report.exit_code));
            execution.outcome.exit_code = Some(report.exit_code);
            execution.usage = report.usage;
            execution.finished_at = Some(sent_at + duration);
        }
        End::TimedOut => {
            execution.outcome.status = Status::Timeout;
            execution.message = Some(format!(
                "killed after the {} s time limit",
                config.limits.timeout.as_secs_f64()
            ));
        }
        End::Flooded => {
            execution.outcome.status = Status::OutputLimit;
            execution.outcome.truncated = true;
            execution.message = Some(format!(
                "output went over {} KiB; the process was killed",
                config.limits.output_limit / 1024
            ));
        }
        End::Exited {
            exit_code,
            oom_killed,
            finished_at,
            usage,
        } => {
            execution.outcome.exit_code = exit_code;
            execution.finished_at = finished_at;
            execution.usage = usage;
            execution.outcome.status = if oom_killed {
                execution.message = Some(format!(
                    "killed by the kernel at the {} MiB memory limit",
                    config.limits.memory_bytes / (1024 * 1024)
                ));
                Status::Oom
            } else {
                exited(exit_code)
            };
        }
    }
    execution
}

/// What a run printed, each stream cut at `limit` bytes, as if it ended well: the end, once
/// known, may say otherwise.
fn printed(mut stdout: Vec<u8>, mut stderr: Vec<u8>, limit: usize, duration: Duration) -> Outcome {
    let mut truncated = false;
    for stream in [&mut stdout, &mut stderr] {
        if stream.len() > limit {
            stream.truncate(limit);
            truncated = true;
        }
    }
    Outcome {
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        truncated,
        duration_ms: duration.as_millis() as u64,
        ..Outcome::ended(Status::Ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SandboxLimits;

    fn image() -> Image {
        Image {
            name: "php:8.4-cli".into(),
            aliases: vec![],
            id: "sha256:84".into(),
            php_version: "8.4.27".into(),
            variant: String::new(),
            extensions: Vec::new(),
            fixed_clock: true,
            opcache: crate::images::Opcache::Loaded,
            ini: Default::default(),
            libraries: Default::default(),
        }
    }

    fn config() -> RunnerConfig {
        RunnerConfig {
            limits: SandboxLimits {
                output_limit: 8,
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn result_of(stdout: &str, stderr: &str, end: End) -> Execution {
        let observed = Observed {
            stdout: stdout.as_bytes().to_vec(),
            stderr: stderr.as_bytes().to_vec(),
            end,
        };
        classify(
            &image(),
            &config(),
            observed,
            OffsetDateTime::UNIX_EPOCH,
            Duration::from_millis(30),
        )
    }

    fn reported(exit_code: i64) -> End {
        End::Reported(Report {
            exit_code,
            usage: Usage {
                cpu_time_us: Some(20_000),
                peak_memory_bytes: Some(6 << 20),
            },
        })
    }

    fn exited(exit_code: Option<i64>, oom_killed: bool) -> End {
        End::Exited {
            exit_code,
            oom_killed,
            finished_at: None,
            usage: Usage::default(),
        }
    }

    #[test]
    fn a_clean_exit_is_ok_with_its_measurements() {
        let result = result_of("hi", "", reported(0));
        assert_eq!(
            (result.outcome.status, result.outcome.exit_code),
            (Status::Ok, Some(0))
        );
        assert_eq!(result.outcome.stdout, "hi");
        assert_eq!(result.usage.cpu_time_us, Some(20_000));
        assert_eq!(result.outcome.duration_ms, 30);
        assert!(result.finished_at.is_some() && result.message.is_none() && !result.outcome.truncated);
    }

    #[test]
    fn a_non_zero_exit_and_a_fatal_error_are_exits_with_their_code() {
        for code in [1, 255] {
            let result = result_of("", "Fatal", reported(code));
            assert_eq!(
                (result.outcome.status, result.outcome.exit_code),
                (Status::Exit, Some(code))
            );
            assert_eq!(result.outcome.stderr, "Fatal");
        }
    }

    #[test]
    fn a_timeout_has_no_exit_code_nor_measurements() {
        let result = result_of("partial", "", End::TimedOut);
        assert_eq!(
            (result.outcome.status, result.outcome.exit_code),
            (Status::Timeout, None)
        );
        assert_eq!(result.usage, Usage::default());
        assert!(result.message.unwrap().contains("10 s time limit"));
        assert_eq!(result.outcome.stdout, "partial");
    }

    #[test]
    fn a_kill_at_the_memory_limit_is_oom() {
        let result = result_of("", "", exited(Some(137), true));
        assert_eq!(
            (result.outcome.status, result.outcome.exit_code),
            (Status::Oom, Some(137))
        );
        assert!(result.message.unwrap().contains("128 MiB"));
    }

    #[test]
    fn an_output_flood_is_cut_at_the_limit_and_says_so() {
        let result = result_of("0123456789abc", "", End::Flooded);
        assert_eq!(result.outcome.stdout, "01234567");
        assert!(result.outcome.truncated);
        assert_eq!(
            (result.outcome.status, result.outcome.exit_code),
            (Status::OutputLimit, None)
        );
        assert!(result.message.unwrap().contains("output went over"));
    }

    #[test]
    fn without_a_report_the_engine_s_exit_code_counts() {
        assert_eq!(
            result_of("", "", exited(Some(0), false)).outcome.status,
            Status::Ok
        );
        let killed = result_of("", "", exited(Some(137), false));
        assert_eq!(
            (killed.outcome.status, killed.outcome.exit_code),
            (Status::Exit, Some(137))
        );
        assert_eq!(killed.usage, Usage::default());
    }

    #[test]
    fn output_over_the_limit_is_cut_even_when_it_ended_normally() {
        let result = result_of("", "0123456789", reported(0));
        assert_eq!(result.outcome.stderr, "01234567");
        assert!(result.outcome.truncated);
        assert_eq!(result.outcome.status, Status::Ok);
    }

    #[test]
    fn invalid_utf8_is_replaced_not_refused() {
        let observed = Observed {
            stdout: vec![b'a', 0, 0xff],
            stderr: vec![],
            end: reported(0),
        };
        let result = classify(
            &image(),
            &config(),
            observed,
            OffsetDateTime::UNIX_EPOCH,
            Duration::ZERO,
        );
        assert_eq!(result.outcome.stdout, "a\0\u{FFFD}");
    }
}
