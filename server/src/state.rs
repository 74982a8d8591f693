use crate::connections::ConnectionLimits;
use crate::middleware::{ClientQuota, RunsInFlight};
use crate::Config;
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
    #[from_ref(skip)]
    pub run_quota: Option<ClientQuota>,
    #[from_ref(skip)]
    pub snippet_quota: Option<ClientQuota>,
    #[from_ref(skip)]
    pub runs_in_flight: RunsInFlight,
    /// Page views per client, and pages rendering at once (`--page-views-per-minute`).
    #[from_ref(skip)]
    pub page_views: crate::middleware::PageViews,
    /// Whose forwarding headers name the client.
    #[from_ref(skip)]
    pub trusted_proxies: crate::TrustedProxies,
    pub connections: ConnectionLimits,
    /// Who may frame the embed (`--embed-ancestors`).
    #[from_ref(skip)]
    pub embed_ancestors: crate::FrameAncestors,
    /// Stopping behind a balancer: new runs and health checks are refused meanwhile.
    #[from_ref(skip)]
    pub drain: crate::Drain,
}

impl AppState {
    /// The state for `config`, around an open store and a runner made from the same config.
    pub fn new(
        config: &Config,
        leptos_options: LeptosOptions,
        runner: runner::Runner,
        store: app::store::Store,
    ) -> Self {
        Self {
            leptos_options,
            runner,
            store: store.with_cache_limit(config.storage.cache_max_mib.saturating_mul(1 << 20)),
            limits: config.requests.limits(),
            run_quota: ClientQuota::runs_per_minute(config.quotas.runs_per_minute),
            snippet_quota: ClientQuota::snippets_per_hour(config.quotas.snippets_per_hour),
            runs_in_flight: RunsInFlight::per_client(config.quotas.runs_in_flight_per_ip),
            page_views: crate::middleware::PageViews::per_minute(config.quotas.page_views_per_minute),
            trusted_proxies: crate::TrustedProxies::new(
                config.connections.trusted_proxies.clone(),
                config.connections.forwarded_header,
            ),
            connections: config.connections.limits(),
            embed_ancestors: config.embedding.embed_ancestors.clone(),
            drain: crate::Drain::default(),
        }
    }
}
