//! What a client does against a server, whichever way the server was started (in-process
//! [`super::TestServer`], the real binary [`super::server_process::ServerProcess`], the bench):
//! small request helpers so that each test reads like what a client does.

use app::model::{RunResponse, Snippet, Status, VersionResult};
use reqwest::StatusCode;
use serde_json::{json, Value};

#[derive(Clone)]
pub struct Client {
    pub base: String,
    pub http: reqwest::Client,
}

impl Client {
    pub fn of(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            http: reqwest::Client::new(),
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    pub async fn post_json(&self, path: &str, body: Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// `POST /api/run` with `body`, asserting a 200.
    pub async fn post_run(&self, body: Value) -> RunResponse {
        let response = self.post_json("/api/run", body.clone()).await;
        assert_eq!(response.status(), StatusCode::OK, "{body}");
        response.json().await.unwrap()
    }

    /// Runs `code` and returns the results in request order, asserting a 200.
    pub async fn run(&self, code: &str, images: &[&str]) -> Vec<VersionResult> {
        self.post_run(run_body(code, images)).await.results
    }

    /// Runs without the cache.
    pub async fn run_forced(&self, code: &str, images: &[&str]) -> Vec<VersionResult> {
        self.post_run(json!({ "code": code, "images": images, "force": true }))
            .await
            .results
    }

    /// Runs and saves; returns the permalink id and the results.
    pub async fn save(&self, code: &str, images: &[&str]) -> (String, Vec<VersionResult>) {
        let response = self
            .post_run(json!({ "code": code, "images": images, "save": true }))
            .await;
        (response.id.expect("a saved run has an id"), response.results)
    }

    pub async fn snippet(&self, id: &str) -> Option<Snippet> {
        let response = self.get(&format!("/api/snippets/{id}")).await;
        match response.status() {
            StatusCode::NOT_FOUND => None,
            StatusCode::OK => Some(response.json().await.unwrap()),
            other => panic!("GET /api/snippets/{id}: {other}"),
        }
    }

    /// The permalink page as a browser without JavaScript gets it.
    pub async fn page(&self, id: &str) -> (StatusCode, String) {
        let response = self.get(&format!("/s/{id}")).await;
        (response.status(), response.text().await.unwrap())
    }

    /// Asserts that both run endpoints refuse `body` with `status` and a message containing `says`.
    pub async fn assert_refused(&self, body: Value, status: StatusCode, says: &str) {
        for path in ["/api/run", "/api/run/stream"] {
            let response = self.post_json(path, body.clone()).await;
            assert_eq!(response.status(), status, "{path} {body}");
            let error: Value = response.json().await.unwrap();
            let message = error["error"].as_str().unwrap_or_default();
            assert!(message.contains(says), "{path}: {message:?} should say {says:?}");
        }
    }

    /// A normal request still gets a normal answer.
    pub async fn assert_still_answers(&self) {
        let results = self.run("<?php echo 6 * 7;", &["php:8.2-cli"]).await;
        assert_eq!(results[0].outcome.status, Status::Ok);
        assert_eq!(results[0].outcome.stdout, "42");
    }
}

pub fn run_body(code: &str, images: &[&str]) -> Value {
    json!({ "code": code, "images": images })
}

/// A streaming run's answer (`POST /api/run/stream`), read one line at a time.
pub struct RunStream {
    body: std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<axum::body::Bytes>> + Send>>,
    buffer: Vec<u8>,
}

impl Client {
    /// Starts a streaming run of `body`, asserting a 200 head.
    pub async fn start_stream(&self, body: Value) -> RunStream {
        let response = self.post_json("/api/run/stream", body).await;
        assert_eq!(response.status(), StatusCode::OK);
        RunStream {
            body: Box::pin(response.bytes_stream()),
            buffer: Vec::new(),
        }
    }
}

impl RunStream {
    /// The next line, or `None` at the end.
    pub async fn next(&mut self) -> Option<app::model::RunLine> {
        use futures::StreamExt;
        loop {
            if let Some(end) = self.buffer.iter().position(|byte| *byte == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=end).collect();
                return Some(serde_json::from_slice(&line).expect("a stream line"));
            }
            let chunk = self.body.next().await?.expect("the stream goes on");
            self.buffer.extend_from_slice(&chunk);
        }
    }

    /// Every line still to come.
    pub async fn rest(mut self) -> Vec<app::model::RunLine> {
        let mut lines = Vec::new();
        while let Some(line) = self.next().await {
            lines.push(line);
        }
        lines
    }
}
