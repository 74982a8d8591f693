//! How the page talks to the server: server functions for the image list (also the public
//! `GET /api/images`) and a saved snippet, a streaming `fetch` of `POST /api/run/stream`, and a
//! `fetch` of how two images' builds differ.

use crate::model::{ApiError, BuildDifference, ImageInfo, RunRequest, Snippet, VersionResult};

/// What a streaming run reports on its way.
pub enum RunUpdate {
    /// Waiting for a free slot, with so many runs ahead.
    Waiting { ahead: usize },
    /// One version's result.
    Result(Box<VersionResult>),
}
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

/// The PHP images the server offers, oldest version first.
#[server(prefix = "/api", endpoint = "images", input = GetUrl)]
pub async fn list_images() -> Result<Vec<ImageInfo>, ServerFnError> {
    let runner = expect_context::<runner::Runner>();
    let images = runner
        .images()
        .await
        .map_err(|error| ServerFnError::new(error.to_string()))?;
    Ok(images.iter().map(crate::ssr::image_info).collect())
}

/// A saved snippet for its permalink page, or `None` when there is no such id.
#[server(prefix = "/api", endpoint = "snippet", input = GetUrl)]
pub async fn load_snippet(id: String) -> Result<Option<Snippet>, ServerFnError> {
    let store = expect_context::<crate::store::Store>();
    store
        .snippet(&id)
        .await
        .map_err(|error| ServerFnError::new(error.to_string()))
}

/// Sends a run to `/api/run/stream` and calls `on_update` with each version's result as soon as
/// its line arrives, and before that with the run's place in line while it waits. Returns the
/// permalink id when the run was saved. Errors are meant for the user: the server's message, or
/// what failed. `abort` cancels the request (the page's next run, or the page going away).
pub async fn run_streaming(
    request: &RunRequest,
    abort: Option<&web_sys::AbortSignal>,
    mut on_update: impl FnMut(RunUpdate),
) -> Result<Option<String>, String> {
    use crate::model::RunLine;
    let response = post_run(request, abort).await?;
    let mut id = response
        .headers()
        .get(crate::model::routes::SNIPPET_ID_HEADER)
        .ok()
        .flatten();
    let mut lines = NdjsonReader::of(&response)?;
    while let Some(line) = lines.next_line().await? {
        match serde_json::from_str(&line).map_err(|e| e.to_string())? {
            RunLine::Waiting { waiting } => on_update(RunUpdate::Waiting { ahead: waiting.ahead }),
            RunLine::Saved { snippet_id } => id = Some(snippet_id),
            RunLine::Refused { error } => return Err(error),
            RunLine::Result(result) => on_update(RunUpdate::Result(result)),
        }
    }
    Ok(id)
}

fn js_error(value: wasm_bindgen::JsValue) -> String {
    value
        .as_string()
        .or_else(|| js_sys::Error::from(value).message().as_string())
        .unwrap_or_else(|| "the request failed".into())
}

/// How the build of image `to` differs from the one of `from` (`GET /api/builds/difference`).
pub async fn build_difference(from: &str, to: &str) -> Result<BuildDifference, String> {
    let encode = |name: &str| String::from(js_sys::encode_uri_component(name));
    let path = format!(
        "{}?from={}&to={}",
        crate::model::routes::BUILD_DIFFERENCE,
        encode(from),
        encode(to)
    );
    let response = fetch_ok(&path, &web_sys::RequestInit::new()).await?;
    serde_json::from_str(&text_of(&response).await?).map_err(|e| e.to_string())
}

/// POSTs the run as JSON; a response that is not a success is the server's error message.
async fn post_run(
    request: &RunRequest,
    abort: Option<&web_sys::AbortSignal>,
) -> Result<web_sys::Response, String> {
    use wasm_bindgen::JsValue;
    use web_sys::{Headers, RequestInit};

    let headers = Headers::new().map_err(js_error)?;
    headers
        .set("content-type", "application/json")
        .map_err(js_error)?;
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_headers(&headers);
    let body = serde_json::to_string(request).map_err(|e| e.to_string())?;
    init.set_body(&JsValue::from_str(&body));
    init.set_signal(abort);
    fetch_ok(crate::model::routes::RUN_STREAM, &init).await
}

/// Fetches `path`; a response that is not a success is the server's error message.
async fn fetch_ok(path: &str, init: &web_sys::RequestInit) -> Result<web_sys::Response, String> {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;

    let window = web_sys::window().ok_or("no window")?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str_and_init(path, init))
        .await
        .map_err(|e| format!("cannot reach the server: {}", js_error(e)))?
        .unchecked_into();
    if response.ok() {
        return Ok(response);
    }
    let text = text_of(&response).await?;
    Err(serde_json::from_str::<ApiError>(&text)
        .map(|e| e.error)
        .unwrap_or_else(|_| format!("the server answered {}: {text}", response.status())))
}

/// A whole response body as text.
async fn text_of(response: &web_sys::Response) -> Result<String, String> {
    let text = wasm_bindgen_futures::JsFuture::from(response.text().map_err(js_error)?)
        .await
        .map_err(js_error)?;
    Ok(text.as_string().unwrap_or_default())
}

/// A response body read as it arrives, one line (one JSON object, NDJSON) at a time; blank lines
/// are skipped.
struct NdjsonReader {
    reader: web_sys::ReadableStreamDefaultReader,
    decoder: web_sys::TextDecoder,
    streaming: web_sys::TextDecodeOptions,
    pending: String,
}

impl NdjsonReader {
    fn of(response: &web_sys::Response) -> Result<Self, String> {
        use wasm_bindgen::JsCast;
        let reader = response
            .body()
            .ok_or("the server sent no body")?
            .get_reader()
            .unchecked_into();
        let streaming = web_sys::TextDecodeOptions::new();
        streaming.set_stream(true);
        Ok(Self {
            reader,
            decoder: web_sys::TextDecoder::new().map_err(js_error)?,
            streaming,
            pending: String::new(),
        })
    }

    /// The next non-blank line, `None` at the end of the body.
    async fn next_line(&mut self) -> Result<Option<String>, String> {
        use js_sys::{Reflect, Uint8Array};
        use wasm_bindgen_futures::JsFuture;
        loop {
            while let Some(end) = self.pending.find('\n') {
                let line: String = self.pending.drain(..=end).collect();
                if !line.trim().is_empty() {
                    return Ok(Some(line));
                }
            }
            let chunk = JsFuture::from(self.reader.read())
                .await
                .map_err(|e| format!("the connection broke: {}", js_error(e)))?;
            if Reflect::get(&chunk, &"done".into())
                .map_err(js_error)?
                .as_bool()
                .unwrap_or(true)
            {
                return Ok(None);
            }
            let bytes = Uint8Array::new(&Reflect::get(&chunk, &"value".into()).map_err(js_error)?);
            let text = self
                .decoder
                .decode_with_js_u8_array_and_options(&bytes, &self.streaming)
                .map_err(js_error)?;
            self.pending.push_str(&text);
        }
    }
}
