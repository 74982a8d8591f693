//! The JSON API besides the server functions: runs (whole and streamed) and health.

use crate::extract::CheckedRun;
use crate::AppState;
use app::model::{RunResponse, VersionResult};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::StreamExt;
use std::convert::Infallible;

/// `POST /api/run`: every version's result, in the order the images were asked for.
pub async fn run(State(state): State<AppState>, run: CheckedRun) -> Json<RunResponse> {
    let order: Vec<String> = run.images.iter().map(|i| i.name.clone()).collect();
    let mut results: Vec<VersionResult> = state
        .runner
        .run_all(&run.code, run.images, run.admission)
        .map(VersionResult::from)
        .collect()
        .await;
    results.sort_by_key(|r| order.iter().position(|name| *name == r.image));
    Json(RunResponse { results })
}

/// `POST /api/run/stream`: one JSON result per line, each sent as its version finishes. When
/// the client goes away the body stream is dropped, and with it the containers still running.
pub async fn run_stream(State(state): State<AppState>, run: CheckedRun) -> Response {
    let lines = state.runner.run_all(&run.code, run.images, run.admission).map(|execution| {
        let mut line = serde_json::to_vec(&VersionResult::from(execution))
            .expect("a result always serializes");
        line.push(b'\n');
        Ok::<_, Infallible>(Bytes::from(line))
    });
    (
        [
            (header::CONTENT_TYPE, "application/x-ndjson"),
            (header::CACHE_CONTROL, "no-cache"),
            // Tell buffering reverse proxies (nginx) to pass each line on at once.
            (header::HeaderName::from_static("x-accel-buffering"), "no"),
        ],
        Body::from_stream(lines),
    )
        .into_response()
}

/// `GET /api/health`: 200 when the engine answers, 503 when it does not.
pub async fn health(State(state): State<AppState>) -> Response {
    let images = match state.runner.engine().await {
        Ok(()) => state.runner.images().await,
        Err(error) => Err(error.into()),
    };
    match images {
        Ok(images) => Json(serde_json::json!({
            "engine": "ok",
            "images": images.len(),
            "pooled": state.runner.pooled(),
        }))
        .into_response(),
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "engine": "unavailable", "error": error.to_string() })),
        )
            .into_response(),
    }
}
