//! The types that cross the wire, shared by the server and the WASM page.

use serde::{Deserialize, Serialize};
pub use spec::{Show, Status};
use std::collections::BTreeMap;

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
    /// The text the script reads from `STDIN`, the same on every version.
    #[serde(default)]
    pub stdin: String,
    /// The script's wall clock: `"fixed"` (from the snippet's first save, or from now for a run
    /// that is not saved), `"real"`, or an RFC 3339 time to start from. Absent: `"fixed"` when
    /// saved, `"real"` otherwise. See [`Clock`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<String>,
    /// What each version shows: `"output"` (default), `"opcodes"` (compiled, not run: OPcache's
    /// dump after the optimizer), `"opcodes_unoptimized"` (before it) or `"lint"` (the syntax
    /// checked, nothing run). See [`Show`].
    #[serde(default, skip_serializing_if = "Show::is_output")]
    pub show: Show,
    /// ini variants: every version runs once under each set of settings (`{}`: the image's own
    /// defaults), each variant × version a result of its own. Empty: once, with the defaults.
    /// Values may be strings, numbers or booleans (`true` is `"1"`, `false` is `"0"`).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "ini_variants"
    )]
    pub ini: Vec<IniSettings>,
}

/// One ini variant: setting names and their values, sorted by name (one form per variant, for
/// identity and cache keys).
pub type IniSettings = BTreeMap<String, String>;

/// Most ini variants in one run.
pub const MAX_INI_VARIANTS: usize = 4;

/// Most settings in one ini variant (php-src's run-tests.php sets 29).
pub const MAX_INI_SETTINGS: usize = 32;

/// The settings of PHP's `php.ini-production` that change what a script does and exist on
/// every version from 7.4 on: the "production" preset of the page's ini variants. evalgrid's
/// baseline is PHP's built-in defaults (what a PHP without a `php.ini` has, as the official
/// images), so this is how to see a script under production settings.
pub const PRODUCTION_INI: &[(&str, &str)] = &[
    ("display_errors", "0"),
    ("display_startup_errors", "0"),
    ("error_reporting", "E_ALL & ~E_DEPRECATED"),
    ("log_errors", "1"),
    ("output_buffering", "4096"),
    ("request_order", "GP"),
    ("short_open_tag", "0"),
    ("variables_order", "GPCS"),
    ("zend.assertions", "-1"),
    ("zend.exception_ignore_args", "1"),
];

/// A variant as text: `name=value`, one line each, sorted by name; empty for the defaults. The
/// form the page edits and the store keys results by (a value never holds a line break).
pub fn ini_text(settings: &IniSettings) -> String {
    settings
        .iter()
        .map(|(name, value)| format!("{name}={value}\n"))
        .collect()
}

/// A run's `ini` in one form: `[{}]` (the images' own settings, once) is no variants at all.
pub fn normalize_ini(variants: Vec<IniSettings>) -> Vec<IniSettings> {
    match variants.as_slice() {
        [only] if only.is_empty() => Vec::new(),
        _ => variants,
    }
}

/// The variants every version of a run runs under, in order: its `ini`, or the images' own
/// settings alone when it has none.
pub fn run_variants(ini: &[IniSettings]) -> Vec<IniSettings> {
    match ini.is_empty() {
        true => vec![IniSettings::new()],
        false => ini.to_vec(),
    }
}

/// A variant from its text form ([`ini_text`]): one `name=value` a line, blank lines and
/// `;` comments skipped, spaces around names and values dropped.
pub fn parse_ini_text(text: &str) -> Result<IniSettings, String> {
    let mut settings = IniSettings::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with(';') {
            continue;
        }
        let Some((name, value)) = line.split_once('=') else {
            return Err(format!("line {}: {line:?} is not name=value", number + 1));
        };
        let name = name.trim();
        if name.is_empty() {
            return Err(format!("line {}: a setting needs a name before =", number + 1));
        }
        if settings
            .insert(name.to_owned(), value.trim().to_owned())
            .is_some()
        {
            return Err(format!("line {}: {name} is set twice", number + 1));
        }
    }
    Ok(settings)
}

/// A run body's `ini`: objects whose values are strings, numbers or booleans.
fn ini_variants<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<IniSettings>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum IniValue {
        Text(String),
        Flag(bool),
        Number(serde_json::Number),
    }
    let variants = Vec::<BTreeMap<String, IniValue>>::deserialize(deserializer)?;
    Ok(variants
        .into_iter()
        .map(|variant| {
            variant
                .into_iter()
                .map(|(name, value)| {
                    let value = match value {
                        IniValue::Text(text) => text,
                        IniValue::Flag(flag) => u8::from(flag).to_string(),
                        IniValue::Number(number) => number.to_string(),
                    };
                    (name, value)
                })
                .collect()
        })
        .collect())
}

/// How a run's wall clock is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The real time.
    Real,
    /// Fixed at the snippet's first save (at the time of the request for a run not saved).
    Saved,
    /// Fixed at this many seconds since the epoch.
    At(i64),
}

impl Clock {
    /// Latest time a clock may be fixed at (the year 9999 is beyond what `date()` prints in
    /// four digits, and beyond the library's range).
    const LATEST: i64 = 253_402_300_799;

    /// The `"clock"` field of a run body, with its default for a run that is (not) saved.
    pub fn from_request(clock: Option<&str>, save: bool) -> Result<Self, String> {
        match clock {
            None if save => Ok(Self::Saved),
            None | Some("real") => Ok(Self::Real),
            Some("fixed") => Ok(Self::Saved),
            Some(at) => {
                let seconds = parse_rfc3339_seconds(at).ok_or_else(|| {
                    format!("clock {at:?} is not \"fixed\", \"real\" or an RFC 3339 time like 2024-01-31T12:00:00Z")
                })?;
                match (0..=Self::LATEST).contains(&seconds) {
                    true => Ok(Self::At(seconds)),
                    false => Err(format!("clock {at:?} is out of range: 1970 to 9999")),
                }
            }
        }
    }

    /// The form stored with a snippet and sent back by the page: `fixed`, `real` or the time.
    pub fn as_request(self) -> String {
        match self {
            Self::Real => "real".into(),
            Self::Saved => "fixed".into(),
            Self::At(seconds) => format_rfc3339_seconds(seconds),
        }
    }
}

/// Seconds since the epoch of an RFC 3339 time (`2024-01-31T12:00:00Z`, `…+02:00`, fractions
/// dropped). Hand-written so that the page's WASM needs no date library.
pub fn parse_rfc3339_seconds(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if bytes.len() < 20
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || !matches!(bytes[10], b'T' | b't' | b' ')
        || bytes[13] != b':'
        || bytes[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &fraction[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && rest.as_bytes()[3] == b':' => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (hours, minutes) = (rest[1..3].parse::<i64>().ok()?, rest[4..6].parse::<i64>().ok()?);
            sign * (hours * 3600 + minutes * 60)
        }
        _ => return None,
    };
    let days_in_month = [
        31,
        28 + i64::from(is_leap(year)),
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month[(month - 1) as usize]
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the epoch (0 to year 9999).
pub fn format_rfc3339_seconds(seconds: i64) -> String {
    let (days, time) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        time / 3600,
        time % 3600 / 60,
        time % 60
    )
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

// Howard Hinnant's civil calendar algorithms (public domain).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Year, month and day of a day counted from 1970-01-01.
pub(crate) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// What the server accepts; served with the page so the client can check before sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestLimits {
    pub max_code_bytes: usize,
    pub max_images: usize,
    #[serde(default = "default_max_stdin_bytes")]
    pub max_stdin_bytes: usize,
}

fn default_max_stdin_bytes() -> usize {
    64 * 1024
}

impl Default for RequestLimits {
    fn default() -> Self {
        Self {
            max_code_bytes: 64 * 1024,
            max_images: 64,
            max_stdin_bytes: default_max_stdin_bytes(),
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
        if self.stdin.len() > limits.max_stdin_bytes {
            return Err(format!(
                "stdin is {} bytes; the limit is {} bytes ({} KiB)",
                self.stdin.len(),
                limits.max_stdin_bytes,
                limits.max_stdin_bytes / 1024
            ));
        }
        if self.stdin.contains('\0') {
            return Err("stdin holds a NUL byte: only text can be sent to the script".into());
        }
        Clock::from_request(self.clock.as_deref(), self.save)?;
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
        self.validate_ini(limits)
    }

    /// At most [`MAX_INI_VARIANTS`] distinct variants of at most [`MAX_INI_SETTINGS`] each,
    /// and no more results than versions allowed in a run. Which names and values a version
    /// accepts is the server's to check.
    fn validate_ini(&self, limits: &RequestLimits) -> Result<(), String> {
        if self.ini.len() > MAX_INI_VARIANTS {
            return Err(format!(
                "{} ini variants; at most {MAX_INI_VARIANTS} per run",
                self.ini.len()
            ));
        }
        for (index, variant) in self.ini.iter().enumerate() {
            if variant.len() > MAX_INI_SETTINGS {
                return Err(format!(
                    "ini variant {} has {} settings; at most {MAX_INI_SETTINGS}",
                    index + 1,
                    variant.len()
                ));
            }
            if self.ini[..index].contains(variant) {
                return Err(format!("ini variant {} is listed twice", index + 1));
            }
        }
        let cells = self.images.len() * self.ini.len().max(1);
        if cells > limits.max_images {
            return Err(format!(
                "{} versions × {} ini variants are {cells} runs; at most {} per run",
                self.images.len(),
                self.ini.len(),
                limits.max_images
            ));
        }
        Ok(())
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
    /// For a run with a fixed clock: whether this version saw it (`false`: its PHP cannot
    /// have it, e.g. a static build, and saw the real time). Absent for a run on the real clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_clock: Option<bool>,
    /// Run in the background after the snippet was saved, when this version appeared on the
    /// server (nobody pressed Run for it).
    #[serde(default, skip_serializing_if = "is_false")]
    pub added_later: bool,
    /// Two runs of this code on this very image (same image id) gave different output: it
    /// depends on more than the code (randomness, the real clock, …), so it is never grouped
    /// with other versions.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unstable: bool,
    /// The ini variant it ran under (absent: the image's defaults).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ini: IniSettings,
}

impl VersionResult {
    /// A result of `image` (PHP `php_version`) that ended with `status`, and nothing more to
    /// say yet: no exit code, no output, no time, no measurements, no marks.
    pub fn new(image: impl Into<String>, php_version: impl Into<String>, status: Status) -> Self {
        Self {
            image: image.into(),
            php_version: php_version.into(),
            status,
            exit_code: None,
            stdout: String::new(),
            stderr: String::new(),
            truncated: false,
            duration_ms: 0,
            started_at: None,
            finished_at: None,
            cpu_time_us: None,
            peak_memory_bytes: None,
            cached: false,
            message: None,
            fixed_clock: None,
            added_later: false,
            unstable: false,
            ini: IniSettings::new(),
        }
    }
}

fn is_false(value: &bool) -> bool {
    !value
}

/// The body of `POST /api/run`: one result per requested image (and ini variant), in request order.
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
    /// What the script reads from `STDIN`.
    #[serde(default)]
    pub stdin: String,
    /// How it was saved to run: `fixed`, `real` or a time (the run body's `clock`).
    #[serde(default = "fixed_clock_choice")]
    pub clock: String,
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

fn fixed_clock_choice() -> String {
    Clock::Saved.as_request()
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
            exit_code: Some(0),
            stdout: "waiting".into(),
            duration_ms: 1,
            ..VersionResult::new("php:8.4-cli", "8.4.1", Status::Ok)
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
            max_stdin_bytes: 4,
        };
        let error = |r: RunRequest| r.validate(&limits).unwrap_err();
        assert!(error(request("  ", &["a"])).contains("code is empty"));
        assert!(error(request("12345678901", &["a"])).contains("limit is 10 bytes"));
        assert!(request("1234567890", &["a"]).validate(&limits).is_ok());
        assert!(error(request("1", &[])).contains("pick at least one"));
        assert!(error(request("1", &["a", "b", "c"])).contains("at most 2"));
        assert!(error(request("1", &["a", "a"])).contains("listed twice"));
        let with = |stdin: &str, clock: Option<&str>| RunRequest {
            stdin: stdin.into(),
            clock: clock.map(str::to_owned),
            ..request("1", &["a"])
        };
        assert!(error(with("12345", None)).contains("stdin is 5 bytes; the limit is 4"));
        assert!(error(with("a\0", None)).contains("NUL"));
        assert!(with("1234", Some("2024-01-31T12:00:00Z"))
            .validate(&limits)
            .is_ok());
        assert!(error(with("", Some("yesterday"))).contains("RFC 3339"));
        assert!(error(with("", Some("1969-12-31T23:59:59Z"))).contains("out of range"));
    }

    #[test]
    fn a_run_body_s_show_defaults_to_output_and_an_unknown_one_names_the_modes() {
        let body = |show: &str| serde_json::from_str::<RunRequest>(&format!(r#"{{"code":"<?php"{show}}}"#));
        assert_eq!(body("").unwrap().show, Show::Output);
        assert_eq!(body(r#","show":"lint""#).unwrap().show, Show::Lint);
        let unknown = body(r#","show":"vld""#).unwrap_err().to_string();
        assert!(unknown.contains("`opcodes_unoptimized`"), "{unknown}");
        // The default is left out, so bodies sent before there was a choice read the same.
        let sent = serde_json::to_value(body("").unwrap()).unwrap();
        assert!(sent.get("show").is_none(), "{sent}");
    }

    #[test]
    fn the_clock_defaults_to_fixed_for_saved_runs_and_real_otherwise() {
        assert_eq!(Clock::from_request(None, true), Ok(Clock::Saved));
        assert_eq!(Clock::from_request(None, false), Ok(Clock::Real));
        assert_eq!(Clock::from_request(Some("real"), true), Ok(Clock::Real));
        assert_eq!(Clock::from_request(Some("fixed"), false), Ok(Clock::Saved));
        assert_eq!(
            Clock::from_request(Some("2023-11-14T22:13:20Z"), true),
            Ok(Clock::At(1_700_000_000))
        );
        for clock in [Clock::Real, Clock::Saved, Clock::At(1_700_000_000)] {
            assert_eq!(Clock::from_request(Some(&clock.as_request()), true), Ok(clock));
        }
    }

    #[test]
    fn rfc3339_times_read_and_print_as_seconds_since_the_epoch() {
        let cases = [
            ("1970-01-01T00:00:00Z", 0),
            ("2000-02-29T12:30:15Z", 951_827_415),
            ("2023-11-14T22:13:20Z", 1_700_000_000),
            ("9999-12-31T23:59:59Z", 253_402_300_799),
        ];
        for (text, seconds) in cases {
            assert_eq!(parse_rfc3339_seconds(text), Some(seconds), "{text}");
            assert_eq!(format_rfc3339_seconds(seconds), text);
        }
        assert_eq!(
            parse_rfc3339_seconds("2023-11-15T00:13:20.75+02:00"),
            Some(1_700_000_000)
        );
        assert_eq!(parse_rfc3339_seconds("2023-11-14 22:13:20z"), Some(1_700_000_000));
        for bad in [
            "2023-02-29T00:00:00Z",
            "2023-11-14T22:13:20",
            "2023-11-14T24:00:00Z",
            "2023-1-14T22:13:20Z",
            "x",
        ] {
            assert_eq!(parse_rfc3339_seconds(bad), None, "{bad}");
        }
    }

    #[test]
    fn ini_variants_read_strings_numbers_and_booleans() {
        let asked: RunRequest = serde_json::from_str(
            r#"{"code":"1","images":["a"],"ini":[{"opcache.jit":"tracing","precision":17,"zend.assertions":-1,"opcache.enable_cli":true,"short_open_tag":false},{}]}"#,
        )
        .unwrap();
        let first: IniSettings = [
            ("opcache.enable_cli", "1"),
            ("opcache.jit", "tracing"),
            ("precision", "17"),
            ("short_open_tag", "0"),
            ("zend.assertions", "-1"),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
        assert_eq!(asked.ini, [first, IniSettings::new()]);
        assert!(serde_json::from_str::<RunRequest>(r#"{"ini":[{"precision":[17]}]}"#).is_err());
        // A run without variants writes none.
        assert!(!serde_json::to_string(&request("1", &["a"]))
            .unwrap()
            .contains("ini"));
    }

    #[test]
    fn an_ini_variant_reads_back_from_its_text() {
        let settings = parse_ini_text("; JIT on\n opcache.jit = tracing \n\nopcache.enable_cli=1\nerror_reporting=E_ALL & ~E_DEPRECATED").unwrap();
        assert_eq!(
            ini_text(&settings),
            "error_reporting=E_ALL & ~E_DEPRECATED\nopcache.enable_cli=1\nopcache.jit=tracing\n"
        );
        assert_eq!(parse_ini_text(&ini_text(&settings)), Ok(settings));
        assert_eq!(parse_ini_text(""), Ok(IniSettings::new()));
        assert!(parse_ini_text("a=1\nprecision").unwrap_err().contains("line 2"));
        assert!(parse_ini_text("=1").unwrap_err().contains("needs a name"));
        assert!(parse_ini_text("a=1\na=2").unwrap_err().contains("set twice"));
    }

    #[test]
    fn ini_variants_are_few_small_distinct_and_count_as_runs() {
        let limits = RequestLimits {
            max_images: 6,
            ..RequestLimits::default()
        };
        let variant = |settings: &[(&str, &str)]| -> IniSettings {
            settings
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect()
        };
        let with = |images: &[&str], ini: Vec<IniSettings>| RunRequest {
            ini,
            ..request("1", images)
        };
        let jit = variant(&[("opcache.jit", "tracing")]);
        assert_eq!(
            with(&["a", "b", "c"], vec![jit.clone(), IniSettings::new()]).validate(&limits),
            Ok(())
        );
        let error = |r: RunRequest| r.validate(&limits).unwrap_err();
        assert!(
            error(with(&["a", "b", "c", "d"], vec![jit.clone(), IniSettings::new()]))
                .contains("8 runs; at most 6")
        );
        assert!(error(with(&["a"], vec![jit.clone(), jit.clone()])).contains("variant 2 is listed twice"));
        let many: Vec<IniSettings> = (0..5)
            .map(|n| variant(&[("precision", &n.to_string())]))
            .collect();
        assert!(error(with(&["a"], many)).contains("at most 4"));
        let names: Vec<String> = (0..33).map(|n| format!("s{n}")).collect();
        let big = variant(&names.iter().map(|n| (n.as_str(), "1")).collect::<Vec<_>>());
        assert!(error(with(&["a"], vec![big.clone()])).contains("33 settings; at most 32"));
        let mut fits = big;
        fits.pop_last();
        assert_eq!(with(&["a"], vec![fits]).validate(&limits), Ok(()));
    }
}
