use clap::Parser;
use server::config::LogFormat;
use server::{leptos_options, serve, AppState, Config};
use std::time::Duration;
use tokio::signal::unix::{signal, SignalKind};
use tokio_util::sync::CancellationToken;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::EnvFilter;

/// After SIGTERM or Ctrl+C: how long runs in flight get to be killed and removed, and how long
/// the whole process gets before it exits regardless.
const CLEANUP_GRACE: Duration = Duration::from_millis(1200);
const EXIT_DEADLINE: Duration = Duration::from_millis(1800);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = Config::parse();
    // The `images` commands print their answer on stdout; their log goes to stderr.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let writer = match config.command {
        Some(_) => BoxMakeWriter::new(std::io::stderr),
        None => BoxMakeWriter::new(std::io::stdout),
    };
    let log = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match config.observing.log_format {
        LogFormat::Text => log.init(),
        LogFormat::Json => log.json().flatten_event(true).with_current_span(true).init(),
    }
    if let Some(server::config::Command::Images(command)) = &config.command {
        use server::config::ImagesCommand;
        let runner = match command {
            // Which isolation is in force is part of the list, so the check runs.
            ImagesCommand::List => match server::isolation::runner(&config, config.runner_config()).await {
                Ok(runner) => runner,
                Err(error) => {
                    tracing::error!("{error}");
                    std::process::exit(2);
                }
            },
            ImagesCommand::Pull { .. } => runner::Runner::new(config.runner_config()),
        };
        let done = match command {
            ImagesCommand::List => server::images_command::list(&runner).await,
            ImagesCommand::Pull { references } => server::images_command::pull_all(&runner, references).await,
        };
        // Discovery's version probes are removed in the background: wait for that before the
        // exit, or their containers stay behind.
        if !runner.shut_down(CLEANUP_GRACE).await {
            tracing::warn!("some containers could not be removed in time");
        }
        std::process::exit(if done { 0 } else { 1 });
    }
    // Before anything records: what is recorded with no recorder is lost.
    let metrics = match config.observing.metrics_addr {
        Some(addr) => match server::metrics::install() {
            Ok(handle) => Some((addr, handle)),
            Err(error) => {
                tracing::error!("cannot start: the metrics recorder: {error}");
                std::process::exit(2);
            }
        },
        None => None,
    };
    let mut leptos_options = leptos_options();
    match config.listen.addr {
        Some(addr) => leptos_options.site_addr = addr,
        // Resolved here, since the default instance id is derived from it.
        None => config.listen.addr = Some(leptos_options.site_addr),
    }

    // A damaged or (with --require-database) missing database stops the start, loudly.
    let store =
        match app::store::Store::open(&config.storage.database, !config.storage.require_database).await {
            Ok(store) => store,
            Err(error) => {
                tracing::error!("cannot start: {error}");
                std::process::exit(2);
            }
        };
    tracing::info!(database = %config.storage.database, "database open");

    // The server starts without an engine; runs work as soon as one answers.
    let runner_config = config.runner_config();
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
    // Before the isolation check, whose worker is this instance's too.
    match runner::Runner::new(runner_config.clone()).remove_orphans().await {
        Ok(0) => {}
        Ok(n) => tracing::info!("removed {n} containers this instance left in an earlier run"),
        Err(error) => tracing::warn!(%error, "cannot look for orphaned containers"),
    }
    let runner = match server::isolation::runner(&config, runner_config).await {
        Ok(runner) => runner,
        Err(error) => {
            tracing::error!("cannot start: {error}");
            std::process::exit(2);
        }
    };
    if !config.images.pull.is_empty() {
        let (pulling, references) = (runner.clone(), config.images.pull.clone());
        tokio::spawn(async move {
            if !server::images_command::pull_all(&pulling, &references).await {
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
    let addr = leptos_options.site_addr;
    let state = AppState::new(&config, leptos_options, runner.clone(), store.clone());

    let stop = CancellationToken::new();
    tokio::spawn(stop_on_signal(stop.clone()));
    server::backfill::spawn(state.clone(), config.capacity.backfill_per_minute, stop.clone());
    if let Some((metrics_addr, handle)) = metrics {
        let listener = tokio::net::TcpListener::bind(metrics_addr).await?;
        tracing::info!("metrics on http://{metrics_addr}/metrics");
        let (router, stop) = (server::metrics::router(state.clone(), handle), stop.clone());
        tokio::spawn(async move {
            let served = axum::serve(listener, router).with_graceful_shutdown(stop.cancelled_owned());
            if let Err(error) = served.await {
                tracing::error!(%error, "the metrics server stopped");
            }
        });
    }
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!("listening on http://{addr}");
    let drain_time = Duration::from_secs_f64(config.listen.drain_secs);
    let stopped = {
        let (stop, drain) = (stop.clone(), state.drain.clone());
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
        served = serve(listener, state, stopped) => served?,
        () = async { stop.cancelled().await; tokio::time::sleep(drain_time + EXIT_DEADLINE).await } => {
            tracing::warn!("connections still open at the exit deadline; exiting anyway");
        }
    }
    store.close().await;
    Ok(())
}

async fn stop_on_signal(stop: CancellationToken) {
    let mut terminate = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = terminate.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    stop.cancel();
}
