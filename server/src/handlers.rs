//! The JSON API besides the server functions: runs (whole and streamed), snippets, builds and
//! health.

use crate::extract::CheckedRun;
use crate::runs::{self, RunEvent};
use crate::{AppError, AppState};
use app::model::{BuildDifference, RunLine, RunResponse, Snippet, VersionResult, Waiting};
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::StreamExt;
use std::convert::Infallible;

pub use app::model::routes::SNIPPET_ID_HEADER;

/// `POST /api/run`: every version's result, in the order the images were asked for (ini variant
/// by variant, in their order).
/// A run that must wait for a free slot waits here, and gets `503` if none comes free in time.
pub async fn run(State(state): State<AppState>, run: CheckedRun) -> Result<Json<RunResponse>, AppError> {
    let order: Vec<String> = run.images.iter().map(|i| i.name.clone()).collect();
    let variants = run.spec.variants();
    let started = runs::start(&state, run).await?;
    let mut id = started.id;
    let mut results: Vec<VersionResult> = Vec::new();
    let mut events = started.events;
    while let Some(event) = events.next().await {
        match event {
            RunEvent::Waiting { .. } => {}
            RunEvent::Saved(saved) => id = Some(saved),
            RunEvent::Result(result) => results.push(*result),
            RunEvent::Refused(error) => return Err(error),
        }
    }
    results.sort_by_key(|r| {
        let variant = variants.iter().position(|settings| *settings == r.ini);
        (variant, order.iter().position(|name| *name == r.image))
    });
    Ok(Json(RunResponse { results, id }))
}

/// `POST /api/run/stream`: one JSON line per event ([`RunLine`]): a result as each version
/// finishes (cached ones first); before them, while the run waits for a free slot, where it
/// stands. A saved run's id comes in the `evalgrid-snippet-id` header, or, for a run that
/// waited, in a line of its own. When the client goes away the body stream is dropped, and with
/// it the run's place in line or its containers still running.
pub async fn run_stream(State(state): State<AppState>, run: CheckedRun) -> Result<Response, AppError> {
    let started = runs::start(&state, run).await?;
    let lines = started.events.map(|event| {
        let line = match event {
            RunEvent::Waiting { ahead } => RunLine::Waiting {
                waiting: Waiting { ahead },
            },
            RunEvent::Saved(snippet_id) => RunLine::Saved { snippet_id },
            RunEvent::Result(result) => RunLine::Result(result),
            RunEvent::Refused(error) => RunLine::Refused { error: error.message },
        };
        let mut line = serde_json::to_vec(&line).expect("a stream line always serializes");
        line.push(b'\n');
        Ok::<_, Infallible>(Bytes::from(line))
    });
    let mut response = (
        [
            (header::CONTENT_TYPE, "application/x-ndjson"),
            (header::CACHE_CONTROL, "no-cache"),
            // Tell buffering reverse proxies (nginx) to pass each line on at once.
            (header::HeaderName::from_static("x-accel-buffering"), "no"),
        ],
        Body::from_stream(lines),
    )
        .into_response();
    if let Some(id) = started.id {
        let value = header::HeaderValue::from_str(&id).expect("ids are ASCII");
        response.headers_mut().insert(SNIPPET_ID_HEADER, value);
    }
    Ok(response)
}

/// `GET /api/snippets/{id}`: a saved snippet's code and latest results.
pub async fn snippet(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Snippet>, AppError> {
    Ok(Json(saved(&state, &id).await?))
}

/// Which of a snippet's outputs a `.phpt` export pins: the group of `image` (the newest one
/// that can be a test when absent) under ini variant `variant` (0, the first, when absent).
#[derive(Debug, serde::Deserialize)]
pub struct PhptQuery {
    image: Option<String>,
    #[serde(default)]
    variant: usize,
}

/// `GET /api/snippets/{id}/phpt`: one output group of a saved snippet as a php-src test.
pub async fn snippet_phpt(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<PhptQuery>,
) -> Result<Response, AppError> {
    let snippet = saved(&state, &id).await?;
    let file = app::export::phpt(&snippet, query.variant, query.image.as_deref())?;
    Ok(download(&file.name, file.text))
}

/// `GET /api/snippets/{id}/phpunit`: a saved snippet's outputs as a PHPUnit test.
pub async fn snippet_phpunit(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let snippet = saved(&state, &id).await?;
    let text = app::export::phpunit(&snippet)?;
    Ok(download(&app::export::phpunit_file_name(&snippet), text))
}

async fn saved(state: &AppState, id: &str) -> Result<Snippet, AppError> {
    match state.store.snippet(id).await.map_err(AppError::storage)? {
        Some(snippet) => Ok(snippet),
        None => Err(AppError::new(StatusCode::NOT_FOUND, format!("no snippet {id:?}"))),
    }
}

/// A text file the browser saves as `name` (plain text: it is never run or rendered as HTML).
fn download(name: &str, text: String) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        text,
    )
        .into_response()
}

/// Which two images' builds to compare, by name.
#[derive(Debug, serde::Deserialize)]
pub struct BuildPair {
    from: String,
    to: String,
}

/// `GET /api/builds/difference?from=…&to=…`: how the build of image `to` differs from the one of
/// `from` (libraries, extensions, ini defaults), as discovery found them.
pub async fn build_difference(
    State(state): State<AppState>,
    Query(pair): Query<BuildPair>,
) -> Result<Json<BuildDifference>, AppError> {
    let images = state.runner.resolve(&[pair.from, pair.to]).await?;
    let [from, to] = images.as_slice() else {
        unreachable!("resolve answers each name it is given");
    };
    Ok(Json(BuildDifference::between(from.into(), to.into())))
}

/// `GET /api/health`: 200 when the engine answers, 503 when it does not or the instance is
/// stopping (draining).
pub async fn health(State(state): State<AppState>) -> Response {
    if state.drain.is_draining() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({
                "instance": state.runner.instance_id(),
                "draining": true,
                "runs": state.drain.runs(),
            })),
        )
            .into_response();
    }
    let images = match state.runner.engine().await {
        Ok(()) => state.runner.images().await,
        Err(error) => Err(error.into()),
    };
    match images {
        Ok(images) => Json(serde_json::json!({
            "instance": state.runner.instance_id(),
            "engine": "ok",
            "images": images.len(),
            "isolation": state.runner.isolation().as_str(),
            "pooled": state.runner.pooled(),
            "containers": state.runner.containers(),
            "storage": state.store.size().await.ok(),
        }))
        .into_response(),
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({
                "instance": state.runner.instance_id(),
                "engine": "unavailable",
                "error": error.to_string(),
            })),
        )
            .into_response(),
    }
}
