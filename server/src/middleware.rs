//! Per-client rate limiting of runs, by IP address.

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

/// Runs allowed per client IP: `per_minute` as a burst, refilled evenly over the minute.
#[derive(Clone)]
pub struct RunRateLimit {
    per_minute: NonZeroU32,
    limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl RunRateLimit {
    /// `None` when `per_minute` is 0 (no limit).
    pub fn per_minute(per_minute: u32) -> Option<Self> {
        let per_minute = NonZeroU32::new(per_minute)?;
        Some(Self {
            per_minute,
            limiter: Arc::new(RateLimiter::keyed(Quota::per_minute(per_minute))),
        })
    }
}

/// Answers 429 with `Retry-After` once a client IP has used up its runs.
pub async fn limit_runs(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(limit) = &state.rate_limit {
        // Forget clients whose budget is full again, so the table cannot grow without bound.
        if limit.limiter.len() > 10_000 {
            limit.limiter.retain_recent();
        }
        if let Err(not_until) = limit.limiter.check_key(&peer.ip()) {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            return AppError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "too many runs: at most {} per minute from one address; try again in {} s",
                    limit.per_minute,
                    wait.as_secs().max(1)
                ),
            )
            .retry_after(wait.as_secs().max(1))
            .into_response();
        }
    }
    next.run(request).await
}
