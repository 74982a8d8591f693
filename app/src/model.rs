//! The types that cross the wire, shared by the server and the WASM page.

use serde::{Deserialize, Serialize};

/// The API's paths and headers: the server routes them, the page calls them.
pub mod routes {
    /// Served by the server function `api::list_images` (its macro takes the literal path).
    pub const IMAGES: &str = "/api/images";
    pub const RUN: &str = "/api/run";
    pub const RUN_STREAM: &str = "/api/run/stream";
    /// `{id}` is the permalink id.
    pub const SNIPPET: &str = "/api/snippets/{id}";
    pub const HEALTH: &str = "/api/health";
    /// The response header that carries a saved run's permalink id on [`RUN_STREAM`].
    pub const SNIPPET_ID_HEADER: &str = "evalgrid-snippet-id";
}

/// The form code is stored, hashed and run in: Windows line endings (`\r\n`, from a paste)
/// become `\n`. Nothing else is touched: a lone `\r` is the script's own (inside a string it is
/// output), and trailing spaces can be output too (inside strings or after `?>`).
pub fn normalize(code: &str) -> String {
    code.replace("\r\n", "\n")
}

/// A PHP image the server can run, as `GET /api/images` lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageInfo {
    /// The name to ask for in a run, e.g. `php:8.2-cli`.
    pub image: String,
    /// The exact PHP version, e.g. `8.2.29`.
    pub php_version: String,
    /// What the image is built on (`debian 13`, `alpine 3.21`, `… zts`): tells apart images
    /// of the same PHP version.
    #[serde(default)]
    pub variant: String,
    /// The PHP extensions it loads.
    #[serde(default)]
    pub extensions: Vec<String>,
}

/// The body of `POST /api/run` and `POST /api/run/stream`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRequest {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub images: Vec<String>,
    /// Store the code and results under a permalink; the response carries its id.
    #[serde(default)]
    pub save: bool,
    /// Run every version even when a cached result exists.
    #[serde(default)]
    pub force: bool,
}

/// What the server accepts; served with the page so the client can check before sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestLimits {
    pub max_code_bytes: usize,
    pub max_images: usize,
}

impl Default for RequestLimits {
    fn default() -> Self {
        Self {
            max_code_bytes: 64 * 1024,
            max_images: 64,
        }
    }
}

impl RunRequest {
    /// Checks everything that does not need the engine. The message is meant for the user.
    pub fn validate(&self, limits: &RequestLimits) -> Result<(), String> {
        if self.code.trim().is_empty() {
            return Err("code is empty: paste some PHP to run".into());
        }
        if self.code.len() > limits.max_code_bytes {
            return Err(format!(
                "code is {} bytes; the limit is {} bytes ({} KiB)",
                self.code.len(),
                limits.max_code_bytes,
                limits.max_code_bytes / 1024
            ));
        }
        if self.images.is_empty() {
            return Err("images is empty: pick at least one PHP version".into());
        }
        if self.images.len() > limits.max_images {
            return Err(format!(
                "{} images requested; at most {} per run",
                self.images.len(),
                limits.max_images
            ));
        }
        for (index, image) in self.images.iter().enumerate() {
            if self.images[..index].contains(image) {
                return Err(format!("image {image:?} is listed twice"));
            }
        }
        Ok(())
    }
}

/// How one version's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Exit code 0.
    Ok,
    /// A non-zero exit code.
    Exit,
    /// Killed for writing more than the output limit; the output is cut (`truncated`).
    #[serde(rename = "output_limit")]
    OutputLimit,
    /// Killed at the time limit.
    Timeout,
    /// Killed at the memory limit.
    Oom,
    /// Could not run; see `message`.
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Exit => "exit",
            Status::OutputLimit => "output_limit",
            Status::Timeout => "timeout",
            Status::Oom => "oom",
            Status::Error => "error",
        }
    }
}

/// The result of one version, as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionResult {
    pub image: String,
    pub php_version: String,
    pub status: Status,
    pub exit_code: Option<i64>,
    pub stdout: String,
    pub stderr: String,
    pub truncated: bool,
    pub duration_ms: u64,
    /// RFC 3339 times at which the engine started and finished the container.
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// CPU time (user + system) of PHP and anything it started, in microseconds, counted by the
    /// kernel for the container's cgroup. Absent when the run was killed.
    #[serde(default)]
    pub cpu_time_us: Option<u64>,
    /// Peak memory of the container's cgroup in bytes, as the kernel counts it (PHP plus the page
    /// cache it touched and the shell that started it). Absent when the run was killed.
    #[serde(default)]
    pub peak_memory_bytes: Option<u64>,
    /// True when this result was not run now but taken from an earlier run of the same code on
    /// the same image (same image id).
    #[serde(default)]
    pub cached: bool,
    /// Why the version could not run, or what the runner did to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The body of `POST /api/run`: one result per requested image, in request order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunResponse {
    pub results: Vec<VersionResult>,
    /// The permalink id (`/s/{id}`) when the request asked to save.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// One line of `POST /api/run/stream` (NDJSON). A run that is admitted at once sends only its
/// results. One that must wait for a free slot first sends where it stands in line, then (when
/// saved) its permalink id, then its results; or an error line if no slot came free in time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RunLine {
    /// `{"waiting":{"ahead":N}}`: N runs came first and still wait (0: this one is next).
    Waiting { waiting: Waiting },
    /// `{"snippet_id":"…"}`: the permalink of a run that waited (else it is in the
    /// `evalgrid-snippet-id` header).
    Saved { snippet_id: String },
    /// `{"error":"…"}`: the run could not start; no result follows.
    Refused { error: String },
    /// One version's result.
    Result(Box<VersionResult>),
}

/// Where a waiting run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiting {
    pub ahead: usize,
}

/// A saved snippet, as `GET /api/snippets/{id}` returns it and `/s/{id}` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snippet {
    pub id: String,
    pub code: String,
    /// RFC 3339 time of the first save.
    pub created_at: String,
    /// The latest saved result per image, oldest PHP version first.
    pub results: Vec<VersionResult>,
}

/// The body of every 4xx/5xx answer of the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub error: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_stream_line_has_its_documented_shape_and_reads_back_as_itself() {
        let result = VersionResult {
            image: "php:8.4-cli".into(),
            php_version: "8.4.1".into(),
            status: Status::Ok,
            exit_code: Some(0),
            stdout: "waiting".into(),
            stderr: String::new(),
            truncated: false,
            duration_ms: 1,
            started_at: None,
            finished_at: None,
            cpu_time_us: None,
            peak_memory_bytes: None,
            cached: false,
            message: None,
        };
        let lines = [
            (
                RunLine::Waiting {
                    waiting: Waiting { ahead: 3 },
                },
                r#"{"waiting":{"ahead":3}}"#.to_owned(),
            ),
            (
                RunLine::Saved {
                    snippet_id: "abc".into(),
                },
                r#"{"snippet_id":"abc"}"#.to_owned(),
            ),
            (
                RunLine::Refused { error: "busy".into() },
                r#"{"error":"busy"}"#.to_owned(),
            ),
            (
                RunLine::Result(Box::new(result.clone())),
                serde_json::to_string(&result).unwrap(),
            ),
        ];
        for (line, json) in lines {
            assert_eq!(serde_json::to_string(&line).unwrap(), json);
            assert_eq!(serde_json::from_str::<RunLine>(&json).unwrap(), line);
        }
    }

    fn request(code: &str, images: &[&str]) -> RunRequest {
        RunRequest {
            code: code.into(),
            images: images.iter().map(|i| i.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_normal_request_is_valid() {
        let limits = RequestLimits::default();
        assert_eq!(
            request("<?php echo 1;", &["php:8.2-cli"]).validate(&limits),
            Ok(())
        );
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        let limits = RequestLimits {
            max_code_bytes: 10,
            max_images: 2,
        };
        let error = |r: RunRequest| r.validate(&limits).unwrap_err();
        assert!(error(request("  ", &["a"])).contains("code is empty"));
        assert!(error(request("12345678901", &["a"])).contains("limit is 10 bytes"));
        assert!(request("1234567890", &["a"]).validate(&limits).is_ok());
        assert!(error(request("1", &[])).contains("pick at least one"));
        assert!(error(request("1", &["a", "b", "c"])).contains("at most 2"));
        assert!(error(request("1", &["a", "a"])).contains("listed twice"));
    }

    #[test]
    fn status_serializes_lowercase() {
        assert_eq!(serde_json::to_string(&Status::Oom).unwrap(), "\"oom\"");
        assert_eq!(
            serde_json::to_string(&Status::OutputLimit).unwrap(),
            "\"output_limit\""
        );
        assert_eq!(Status::OutputLimit.as_str(), "output_limit");
    }
}
