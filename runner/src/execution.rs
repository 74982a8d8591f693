use crate::{Image, Outcome, Status, Usage};
use time::OffsetDateTime;

/// The result of running a snippet on one image.
#[derive(Debug, Clone)]
pub struct Execution {
    /// The image name, as offered (e.g. `php:8.2-cli`).
    pub image: String,
    /// The exact PHP version of the image (e.g. `8.2.29`).
    pub php_version: String,
    /// How PHP ended and what it printed.
    pub outcome: Outcome,
    /// When the code was sent, and when the run ended (the shell's report, or the engine's
    /// record of the exit).
    pub started_at: Option<OffsetDateTime>,
    pub finished_at: Option<OffsetDateTime>,
    /// CPU time and peak memory from the container's cgroup; empty when the run was killed
    /// (timeout, output flood) or the host does not expose the counters.
    pub usage: Usage,
    /// What went wrong, for [`Status::Error`], or what the runner did (killed on timeout, …).
    pub message: Option<String>,
    /// For a run that asked for a fixed clock: whether the script saw it (false: this image's
    /// PHP cannot have it, e.g. a static binary, and saw the real time). `None`: not asked.
    pub fixed_clock: Option<bool>,
}

impl Execution {
    pub(crate) fn failed(image: &Image, message: String, duration_ms: u64) -> Self {
        Self {
            image: image.name.clone(),
            php_version: image.php_version.clone(),
            outcome: Outcome {
                duration_ms,
                ..Outcome::ended(Status::Error)
            },
            started_at: None,
            finished_at: None,
            usage: Usage::default(),
            message: Some(message),
            fixed_clock: None,
        }
    }
}
