//! The types that cross the wire, shared by the server and the WASM page: the API's paths, the
//! image list and what sets two images' builds apart ([`build`]), a run ([`run`]), its ini
//! variants ([`ini`]) and a saved snippet; the run's enums
//! ([`Show`], [`Clock`], [`Status`]) come from the `spec` crate.

mod build;
mod ini;
mod run;

pub use build::{Build, BuildDifference, ValueChange};

pub use ini::{
    ini_text, normalize_ini, parse_ini_text, run_variants, IniSettings, MAX_INI_VARIANTS, PRODUCTION_INI,
};
pub use run::{RequestLimits, RunLine, RunRequest, RunResponse, RunSpec, VersionResult, Waiting};
use serde::{Deserialize, Serialize};
pub use spec::{format_rfc3339_seconds, parse_rfc3339_seconds, Clock, Outcome, Show, Status};

/// The API's paths and headers: the server routes them, the page calls them.
pub mod routes {
    /// Served by the server function `api::list_images` (its macro takes the literal path).
    pub const IMAGES: &str = "/api/images";
    pub const RUN: &str = "/api/run";
    pub const RUN_STREAM: &str = "/api/run/stream";
    /// `{id}` is the permalink id.
    pub const SNIPPET: &str = "/api/snippets/{id}";
    /// One output group of a snippet as a php-src `.phpt` test (`?image=…&variant=…`).
    pub const SNIPPET_PHPT: &str = "/api/snippets/{id}/phpt";
    /// A snippet's outputs as a PHPUnit test.
    pub const SNIPPET_PHPUNIT: &str = "/api/snippets/{id}/phpunit";
    /// How two images' builds differ (`?from=…&to=…`, image names).
    pub const BUILD_DIFFERENCE: &str = "/api/builds/difference";
    pub const HEALTH: &str = "/api/health";
    /// The response header that carries a saved run's permalink id on [`RUN_STREAM`].
    pub const SNIPPET_ID_HEADER: &str = "evalgrid-snippet-id";

    /// A snippet route with its `{id}` filled in, so the page links where the server routes.
    pub fn for_snippet(route: &str, id: &str) -> String {
        route.replace("{id}", id)
    }
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

/// A saved snippet, as `GET /api/snippets/{id}` returns it and `/s/{id}` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snippet {
    pub id: String,
    pub code: String,
    /// RFC 3339 time of the first save.
    pub created_at: String,
    /// What the script reads from `STDIN`.
    #[serde(default)]
    pub stdin: String,
    /// How it was saved to run: `fixed`, `real` or a time (the run body's `clock`).
    #[serde(default = "fixed_clock_choice")]
    pub clock: Clock,
    /// The RFC 3339 time the script's clock starts at; absent on the real clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_at: Option<String>,
    /// What it shows: the run body's `show`.
    #[serde(default)]
    pub show: Show,
    /// Its ini variants (the run body's `ini`); empty: the defaults only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ini: Vec<IniSettings>,
    /// The latest saved result per image and ini variant, oldest PHP version first.
    pub results: Vec<VersionResult>,
}

fn fixed_clock_choice() -> Clock {
    Clock::Saved
}

/// The body of every 4xx/5xx answer of the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub error: String,
}
