//! evalgrid's web server: configuration, state and routes around the `runner` engine and the
//! `app` page.

// The page's views are typed, not type-erased, in the browser and so here too: their
// asynchronous server rendering nests deeper than the default limit of 128.
#![recursion_limit = "256"]

mod asset_cache;
pub mod backfill;
mod body_deadline;
mod canonical_path;
mod client_addr;
pub mod config;
pub mod connections;
mod drain;
mod error;
mod extract;
mod handlers;
pub mod images_command;
pub mod isolation;
pub mod metrics;
mod middleware;
mod request_log;
mod runs;
mod security_headers;
pub mod startup;
mod state;

pub use client_addr::{ForwardedHeader, TrustedProxies};
pub use config::Config;
pub use connections::ConnectionLimits;
pub use drain::Drain;
pub use error::AppError;
pub use handlers::SNIPPET_ID_HEADER;
pub use middleware::ClientQuota;
pub use security_headers::FrameAncestors;
pub use startup::{Server, StartError};
pub use state::AppState;

use app::model::routes;
use app::{shell, App};
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

/// The whole application: API routes, server functions, the page and its static files.
pub fn router(state: AppState) -> Router {
    // JSON escapes can grow code up to six times (\u0000); anything larger is refused unread.
    let body_limit = state.limits.max_code_bytes * 6 + 16 * 1024;
    let routes = generate_route_list(App);
    let runner = state.runner.clone();
    let store = state.store.clone();
    let options = state.leptos_options.clone();
    // The context every page renders in, on its route and in the fallback alike.
    let page_context = move || {
        security_headers::provide_request_nonce();
        provide_context(runner.clone());
        provide_context(store.clone());
    };
    let runs = Router::new()
        .route(routes::RUN, post(handlers::run))
        .route(routes::RUN_STREAM, post(handlers::run_stream))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::limit_runs,
        ));
    Router::new()
        .merge(runs)
        .route(routes::BUILD_DIFFERENCE, get(handlers::build_difference))
        .route(routes::HEALTH, get(handlers::health))
        .route(routes::SNIPPET, get(handlers::snippet))
        .route(routes::SNIPPET_PHPT, get(handlers::snippet_phpt))
        .route(routes::SNIPPET_PHPUNIT, get(handlers::snippet_phpunit))
        .leptos_routes_with_context(&state, routes, page_context.clone(), move || {
            shell(options.clone())
        })
        // What no route takes: a static file, or the page's own "not found" (rendered by the
        // same app, so with the same context: a page the app's router matches needs the store
        // here as much as on its route).
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(
            page_context,
            shell,
        ))
        // Pages only (it tells them by their path): counted per client, rendered off the workers.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::limit_page_views,
        ))
        // Before anything reads or renders an odd path (`/s/{id}/`, `/e/%2e%2e`): a redirect to
        // the path it means.
        .layer(axum::middleware::from_fn(canonical_path::redirect_odd_paths))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(compression())
        .layer(axum::middleware::from_fn(asset_cache::add_asset_cache_policy))
        .layer(axum::middleware::from_fn_with_state(
            state.connections.body_timeout,
            body_deadline::limit_body_time,
        ))
        // Outermost, so every answer carries them, errors and timeouts included.
        .layer(axum::middleware::from_fn_with_state(
            state.embed_ancestors.clone(),
            security_headers::add_content_security_policy,
        ))
        .layer(security_headers::no_sniffing())
        .layer(security_headers::no_referrer())
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_log::span)
                .on_request(())
                .on_response(request_log::answered)
                .on_failure(()),
        )
        // Outside the trace, so the request's span has its id.
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// Brotli or gzip, as the client accepts, for pages, the WASM, scripts, styles and JSON (the
/// release WASM shrinks to about 40 %). Never for the run stream: a compressor holds bytes back
/// until it has enough, and each result line must reach the page as soon as it is written.
fn compression() -> tower_http::compression::CompressionLayer<impl tower_http::compression::Predicate> {
    use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
    let predicate = DefaultPredicate::new().and(NotForContentType::const_new("application/x-ndjson"));
    tower_http::compression::CompressionLayer::new().compress_when(predicate)
}

/// Serves the app until `shutdown` completes, within the state's connection limits. Client
/// addresses are kept for rate limiting.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.connections.clone();
    connections::serve(listener, router(state), limits, shutdown).await
}

/// Leptos options from the environment (cargo-leptos's, or `.cargo/config.toml`'s defaults).
pub fn leptos_options() -> LeptosOptions {
    get_configuration(None)
        .expect("Leptos configuration from the environment")
        .leptos_options
}
