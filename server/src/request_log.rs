//! What the log says about requests: each request gets an id (`x-request-id`, made here unless
//! the client or a proxy in front sent one), answered in the response's header and carried by
//! every log line written while it is handled; an answer that refuses (4xx, 5xx) gets a line of
//! its own. Only the method and the path are logged: a query string may hold code.

use axum::http::{Request, Response};
use std::time::Duration;
use tower_http::request_id::RequestId;
use tracing::Span;

/// The request's span: its id, method and path.
pub fn span<B>(request: &Request<B>) -> Span {
    let id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        id = %id,
        method = %request.method(),
        path = %request.uri().path()
    )
}

/// A line for an answer that refuses or fails; nothing for the others (the runs have their own).
pub fn answered<B>(response: &Response<B>, latency: Duration, _span: &Span) {
    let status = response.status();
    if status.is_client_error() || status.is_server_error() {
        tracing::info!(
            status = status.as_u16(),
            latency_ms = latency.as_millis() as u64,
            "request refused"
        );
    }
}
