//! Which isolation the server runs with (`--isolation`): namespaces when asked for, or when
//! `auto` finds that this host and engine allow them; single-use containers otherwise. With
//! `namespaces`, a check that could not be made (no engine yet) is only a warning: the server
//! starts without an engine, as always.

use crate::config::{Config, IsolationChoice};
use runner::{Isolation, IsolationError, Runner, RunnerConfig};
use std::time::Duration;

/// The runner for `config`, its isolation settled: with `auto`, a worker is tried first and
/// single-use containers are used if it fails (the reason is logged); with `namespaces`, a
/// failed check is an error.
pub async fn runner(config: &Config, runner_config: RunnerConfig) -> Result<Runner, String> {
    let runner = Runner::new(runner_config.clone());
    if runner.isolation() == Isolation::Containers {
        return Ok(runner);
    }
    match runner.check_isolation().await {
        Ok(()) => {
            tracing::info!("isolation: each run in fresh namespaces inside a worker container per image");
            Ok(runner)
        }
        Err(why) if config.sandbox.isolation == IsolationChoice::Auto => {
            tracing::warn!(%why, "isolation: namespaces are not available here; each run gets a single-use container");
            runner.shut_down(Duration::from_secs(5)).await;
            Ok(Runner::new(RunnerConfig {
                isolation: Isolation::Containers,
                ..runner_config
            }))
        }
        Err(IsolationError::Unknown(why)) => {
            tracing::warn!(%why, "isolation: namespaces, not checked yet");
            Ok(runner)
        }
        Err(why) => Err(format!("--isolation namespaces: {why}")),
    }
}
