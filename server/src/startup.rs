//! The start-up `main` and the integration tests share, from parsed flags to a serving app: the
//! database, the sweep of containers an earlier run of this instance left, the isolation check,
//! `--pull`, the pool fill, the backfill, and on stop the drain and the removal of what runs.

use crate::config::CLEANUP_GRACE;
use crate::{AppState, Config};
use leptos::prelude::LeptosOptions;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// After a stop and the drain: how long the connections get before serving ends regardless.
const EXIT_DEADLINE: Duration = Duration::from_millis(1800);

/// Why the server cannot start; `main` exits with status 2.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A damaged database, or (with `--require-database`) a missing one.
    #[error("cannot start: {0}")]
    Database(#[from] app::store::OpenError),
    /// `--isolation namespaces` on a host or engine that refuses them.
    #[error("cannot start: {0}")]
    Isolation(String),
}

/// A started server, ready to serve on a listener: its state holds the runner and the store.
pub struct Server {
    state: AppState,
    backfill_per_minute: u32,
    drain_time: Duration,
}

impl Server {
    /// Opens the database, settles the engine side (orphans, isolation, pulls, pool) and builds
    /// the state. The server starts without an engine: runs work as soon as one answers.
    pub async fn start(config: &Config, leptos_options: LeptosOptions) -> Result<Self, StartError> {
        let store =
            app::store::Store::open(&config.storage.database, !config.storage.require_database).await?;
        tracing::info!(database = %config.storage.database, "database open");
        let runner_config = config.runner_config();
        warn_of_odd_engine_settings(config, &runner_config);
        // Before the isolation check, whose worker is this instance's too.
        match runner::Runner::new(runner_config.clone()).remove_orphans().await {
            Ok(0) => {}
            Ok(n) => tracing::info!("removed {n} containers this instance left in an earlier run"),
            Err(error) => tracing::warn!(%error, "cannot look for orphaned containers"),
        }
        let runner = crate::isolation::runner(config, runner_config)
            .await
            .map_err(StartError::Isolation)?;
        if !config.images.pull.is_empty() {
            let (pulling, references) = (runner.clone(), config.images.pull.clone());
            tokio::spawn(async move {
                if !crate::images_command::pull_all(&pulling, &references).await {
                    tracing::warn!("some images of --pull could not be pulled");
                }
            });
        }
        let filling = runner.clone();
        tokio::spawn(async move {
            if let Err(error) = filling.fill_pool().await {
                tracing::warn!(%error, "cannot start pooled containers yet");
            }
        });
        Ok(Self {
            state: AppState::new(config, leptos_options, runner, store),
            backfill_per_minute: config.capacity.backfill_per_minute,
            drain_time: Duration::from_secs_f64(config.listen.drain_secs),
        })
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves on `listener` until `stop` is cancelled; then drains (`--drain-secs`), stops the
    /// runs in flight, removes their containers and closes the database.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        stop: CancellationToken,
    ) -> std::io::Result<()> {
        let Self {
            state,
            backfill_per_minute,
            drain_time,
        } = self;
        crate::backfill::spawn(state.clone(), backfill_per_minute, stop.clone());
        let (runner, store, drain) = (state.runner.clone(), state.store.clone(), state.drain.clone());
        let stopped = {
            let stop = stop.clone();
            async move {
                stop.cancelled().await;
                if !drain_time.is_zero() {
                    tracing::info!(
                        runs = drain.runs(),
                        "draining: new runs and health checks get 503"
                    );
                    if !drain.drain(drain_time).await {
                        tracing::warn!(runs = drain.runs(), "runs still in flight after --drain-secs");
                    }
                }
                tracing::info!("shutting down: stopping runs in flight");
                if !runner.shut_down(CLEANUP_GRACE).await {
                    tracing::warn!("some containers could not be removed in time");
                }
            }
        };
        tokio::select! {
            served = crate::serve(listener, state, stopped) => served?,
            () = async { stop.cancelled().await; tokio::time::sleep(drain_time + EXIT_DEADLINE).await } => {
                tracing::warn!("connections still open at the exit deadline; exiting anyway");
            }
        }
        store.close().await;
        Ok(())
    }
}

/// Settings that work but deserve a word: a pool larger than the container limit allows, an
/// engine reached over plain TCP.
fn warn_of_odd_engine_settings(config: &Config, runner_config: &runner::RunnerConfig) {
    if runner_config.pool_size < config.capacity.pool_size {
        tracing::warn!(
            "--pool-size {} is more than --max-containers {} allows; using {}",
            config.capacity.pool_size,
            runner_config.max_containers,
            runner_config.pool_size
        );
    }
    tracing::info!(
        instance = %runner_config.instance_id,
        max_containers = runner_config.max_containers,
        pool_size = runner_config.pool_size,
        "containers: the pool uses free room only and gives it up to any run that needs it"
    );
    let plain_tcp = runner_config
        .docker_host
        .as_deref()
        .is_some_and(|host| host.starts_with("tcp://"));
    if plain_tcp && runner_config.docker_tls.is_none() {
        tracing::warn!(
            "the engine is reached over plain TCP: anyone who can reach it controls the host; \
             use --docker-tls-verify with client certificates"
        );
    }
}
