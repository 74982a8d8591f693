//! Per-client quotas, by address (IPv6: by /64, as connections are counted): runs per minute,
//! new saved snippets per hour, runs in flight, page views per minute.

use crate::connections::{client_key, ClientCounter};
use crate::metrics::Cap;
use crate::{AppError, AppState};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

/// So many actions per client IP per period, as a burst refilled evenly over the period.
#[derive(Clone)]
pub struct ClientQuota {
    allowed: NonZeroU32,
    /// What is counted, for the message: "runs".
    what: &'static str,
    /// The period: "minute".
    period: &'static str,
    /// Its flag, for the metrics.
    cap: Cap,
    limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl ClientQuota {
    /// Runs per minute; `None` when `per_minute` is 0 (no limit).
    pub fn runs_per_minute(per_minute: u32) -> Option<Self> {
        let allowed = NonZeroU32::new(per_minute)?;
        Some(Self::new(
            allowed,
            "runs",
            "minute",
            Cap::RunsPerMinute,
            Quota::per_minute(allowed),
        ))
    }

    /// New saved snippets per hour; `None` when `per_hour` is 0 (no limit).
    pub fn snippets_per_hour(per_hour: u32) -> Option<Self> {
        let allowed = NonZeroU32::new(per_hour)?;
        Some(Self::new(
            allowed,
            "new saved snippets",
            "hour",
            Cap::SnippetsPerHour,
            Quota::per_hour(allowed),
        ))
    }

    /// Page views per minute; `None` when `per_minute` is 0 (no limit).
    pub fn page_views_per_minute(per_minute: u32) -> Option<Self> {
        let allowed = NonZeroU32::new(per_minute)?;
        Some(Self::new(
            allowed,
            "page views",
            "minute",
            Cap::PageViewsPerMinute,
            Quota::per_minute(allowed),
        ))
    }

    fn new(allowed: NonZeroU32, what: &'static str, period: &'static str, cap: Cap, quota: Quota) -> Self {
        Self {
            allowed,
            what,
            period,
            cap,
            limiter: Arc::new(RateLimiter::keyed(quota)),
        }
    }

    /// Counts one action of `client`, or answers 429 with `Retry-After` once it used them up.
    pub fn check(&self, client: IpAddr) -> Result<(), AppError> {
        // Forget clients whose budget is full again, so the table cannot grow without bound.
        if self.limiter.len() > 10_000 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&client_key(client)).map_err(|not_until| {
            crate::metrics::refused(self.cap);
            let wait = not_until
                .wait_time_from(DefaultClock::default().now())
                .as_secs()
                .max(1);
            AppError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "too many {}: at most {} per {} from one address; try again in {wait} s",
                    self.what, self.allowed, self.period
                ),
            )
            .retry_after(wait)
        })
    }
}

/// The versions each client has in flight, waiting or running (a run counts its versions, each
/// under each ini variant, not 1): a client may hold only so many, so that one client cannot
/// take the whole line.
#[derive(Clone)]
pub struct RunsInFlight {
    counter: Option<ClientCounter>,
    per_client: usize,
}

/// A run's place among its client's runs in flight; given back when dropped.
pub(crate) type InFlight = crate::connections::Place;

impl RunsInFlight {
    /// At most `per_client` per client address (IPv6: per /64); 0 means no cap.
    pub fn per_client(per_client: usize) -> Self {
        Self {
            counter: (per_client != 0).then(|| ClientCounter::new(usize::MAX, Some(per_client))),
            per_client,
        }
    }

    /// A place for a run of `versions` versions (each version under each ini variant counts)
    /// of `client`, or `429` when it would take more than its share in flight; a run larger
    /// than the share still runs when it is the client's only one.
    pub(crate) fn enter(&self, client: IpAddr, versions: usize) -> Result<Option<InFlight>, AppError> {
        let Some(counter) = &self.counter else {
            return Ok(None);
        };
        let place = counter.admit_many(client, versions).map_err(|_| {
            crate::metrics::refused(Cap::RunsInFlightPerIp);
            let message = format!(
                "you already have runs of up to {} versions waiting or running; try again when one has finished",
                self.per_client
            );
            AppError::new(StatusCode::TOO_MANY_REQUESTS, message).retry_after(1)
        })?;
        Ok(Some(place))
    }
}

/// Answers 429 with `Retry-After` once a client IP has used up its runs.
pub async fn limit_runs(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(quota) = &state.run_quota {
        let client = state.trusted_proxies.client(peer.ip(), request.headers());
        if let Err(refused) = quota.check(client) {
            return refused.into_response();
        }
    }
    next.run(request).await
}

/// Page views (`/`, `/s/{id}`, `/e/{id}`): so many per client per minute, and rendered on the
/// blocking pool, a few at a time, never on the async workers, so that however heavy a page is
/// to render, health checks, runs and static files are answered meanwhile (issue 23).
#[derive(Clone)]
pub struct PageViews {
    quota: Option<ClientQuota>,
    /// Pages rendering at once: one per CPU; more wait their turn (without holding a thread).
    renders: Arc<tokio::sync::Semaphore>,
}

impl PageViews {
    /// `per_minute` page views per client (0: no limit).
    pub fn per_minute(per_minute: u32) -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        Self {
            quota: ClientQuota::page_views_per_minute(per_minute),
            renders: Arc::new(tokio::sync::Semaphore::new(cpus)),
        }
    }
}

/// A page's GET: what [`limit_page_views`] counts. Static files (`/pkg/…`, `/favicon.svg`), the
/// API and unknown paths are not.
fn is_page_view(request: &Request) -> bool {
    let path = request.uri().path();
    let reading = matches!(
        *request.method(),
        axum::http::Method::GET | axum::http::Method::HEAD
    );
    reading && (path == "/" || app::snippet_id(path).is_some() || app::embed_id(path).is_some())
}

/// Counts a client's page views (429 with `Retry-After` past its quota) and renders the page
/// on a thread of the blocking pool: the page's views, diffs included, are built as the
/// handler's future is polled, which Leptos does for the whole page before its first byte
/// (`SsrMode::Async`).
pub async fn limit_page_views(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    if !is_page_view(&request) {
        return next.run(request).await;
    }
    let views = &state.page_views;
    if let Some(quota) = &views.quota {
        let client = state.trusted_proxies.client(peer.ip(), request.headers());
        if let Err(refused) = quota.check(client) {
            return refused.into_response();
        }
    }
    let Ok(turn) = views.renders.clone().acquire_owned().await else {
        return AppError::new(StatusCode::SERVICE_UNAVAILABLE, "the server is stopping").into_response();
    };
    let runtime = tokio::runtime::Handle::current();
    // The render's own tasks (loading the snippet) still run on the workers; only its polling,
    // where the views are built, is here. The turn goes with it: a client that hangs up drops
    // this future, not the render, which holds its turn until it is done.
    let render = move || {
        let _turn = turn;
        runtime.block_on(next.run(request))
    };
    match tokio::task::spawn_blocking(render).await {
        Ok(response) => response,
        Err(error) => {
            tracing::error!(%error, "a page could not be rendered");
            AppError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be rendered",
            )
            .into_response()
        }
    }
}
