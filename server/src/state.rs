use crate::connections::ConnectionLimits;
use crate::middleware::RunRateLimit;
use app::model::RequestLimits;
use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;

/// What every handler can reach.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub runner: runner::Runner,
    pub store: app::store::Store,
    pub limits: RequestLimits,
    pub rate_limit: Option<RunRateLimit>,
    pub connections: ConnectionLimits,
}
