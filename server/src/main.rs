use clap::Parser;
use server::config::{Command, LogFormat};
use server::{leptos_options, Config, Server};
use tokio::signal::unix::{signal, SignalKind};
use tokio_util::sync::CancellationToken;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = Config::parse();
    init_log(&config);
    if let Some(Command::Images(command)) = &config.command {
        std::process::exit(server::images_command::run(&config, command).await);
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
    let addr = leptos_options.site_addr;
    let server = match Server::start(&config, leptos_options).await {
        Ok(server) => server,
        Err(error) => {
            tracing::error!("{error}");
            std::process::exit(2);
        }
    };
    let stop = CancellationToken::new();
    tokio::spawn(stop_on_signal(stop.clone()));
    if let Some((metrics_addr, handle)) = metrics {
        let listener = tokio::net::TcpListener::bind(metrics_addr).await?;
        tracing::info!("metrics on http://{metrics_addr}/metrics");
        let (router, stop) = (
            server::metrics::router(server.state().clone(), handle),
            stop.clone(),
        );
        tokio::spawn(async move {
            let served = axum::serve(listener, router).with_graceful_shutdown(stop.cancelled_owned());
            if let Err(error) = served.await {
                tracing::error!(%error, "the metrics server stopped");
            }
        });
    }
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!("listening on http://{addr}");
    server.serve(listener, stop).await?;
    Ok(())
}

/// Text or JSON lines (`--log-format`), on stdout; the `images` commands print their answer on
/// stdout, so their log goes to stderr.
fn init_log(config: &Config) {
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
}

async fn stop_on_signal(stop: CancellationToken) {
    let mut terminate = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = terminate.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    stop.cancel();
}
