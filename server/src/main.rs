use clap::Parser;
use server::{leptos_options, serve, AppState, Config, RunRateLimit};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let config = Config::parse();
    let mut leptos_options = leptos_options();
    if let Some(addr) = config.addr {
        leptos_options.site_addr = addr;
    }

    let runner = runner::Runner::connect(config.runner_config()).await?;
    match runner.remove_orphans().await {
        Ok(0) => {}
        Ok(n) => tracing::info!("removed {n} containers left by an earlier run"),
        Err(error) => tracing::warn!(%error, "cannot look for orphaned containers"),
    }
    let addr = leptos_options.site_addr;
    let state = AppState {
        leptos_options,
        runner,
        limits: config.request_limits(),
        rate_limit: RunRateLimit::per_minute(config.runs_per_minute),
    };

    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!("listening on http://{addr}");
    serve(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
