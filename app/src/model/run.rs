//! A run on the wire: the body of `POST /api/run` (and its stream), its validation against the
//! server's limits, each version's result, and the stream's lines.

use super::ini::{
    ini_variants, normalize_ini, run_variants, IniSettings, MAX_INI_SETTINGS, MAX_INI_VARIANTS,
};
use super::normalize;
use serde::{Deserialize, Serialize};
use spec::{Clock, Outcome, Show, Status};
use std::collections::BTreeMap;

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
    /// saved, `"real"` otherwise ([`Clock::unless_asked`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<Clock>,
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

    /// What the request asks of every version, once it is [valid](RunRequest::validate).
    pub fn check(&self, limits: &RequestLimits) -> Result<RunSpec, String> {
        self.validate(limits)?;
        Ok(RunSpec {
            code: normalize(&self.code),
            stdin: self.stdin.clone(),
            clock: Clock::unless_asked(self.clock, self.save),
            show: self.show,
            ini: normalize_ini(self.ini.clone()),
        })
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

/// What a run asks of every version, checked and in the one form it is saved, keyed and run in
/// ([`RunRequest::check`]): the store's `SnippetInput` (its digest and cache keys) and the
/// runner's `Script` are made from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSpec {
    /// The code with Windows line endings made `\n` ([`normalize`]).
    pub code: String,
    pub stdin: String,
    /// How the clock was asked for, its default settled by whether the run is saved; where it
    /// starts is settled when the run starts.
    pub clock: Clock,
    pub show: Show,
    /// The ini variants, each distinct; empty: the images' own settings only (also what `[{}]`
    /// asks for). Whether a version knows a setting is the server's to check.
    pub ini: Vec<IniSettings>,
}

impl RunSpec {
    /// The variants every version runs under, in order: the images' own settings alone when
    /// the run asks for none.
    pub fn variants(&self) -> Vec<IniSettings> {
        run_variants(&self.ini)
    }
}

/// The result of one version, as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionResult {
    pub image: String,
    pub php_version: String,
    /// How PHP ended and what it printed (its fields stand in the JSON beside these).
    #[serde(flatten)]
    pub outcome: Outcome,
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
    /// Whether it can be a test's expectation (an exported test's): PHP ended by itself with
    /// all its output, which a second run on the same image would print again.
    pub fn pinnable(&self) -> Result<(), String> {
        match self.outcome.status {
            _ if self.unstable => Err("it prints something else each run".into()),
            _ if self.outcome.truncated => Err("its output was cut at the output limit".into()),
            Status::Ok | Status::Exit => Ok(()),
            status => Err(format!("the run did not end by itself ({})", status.as_str())),
        }
    }

    /// A result of `image` (PHP `php_version`) that ended with `status`, and nothing more to
    /// say yet: no exit code, no output, no time, no measurements, no marks.
    pub fn new(image: impl Into<String>, php_version: impl Into<String>, status: Status) -> Self {
        Self {
            image: image.into(),
            php_version: php_version.into(),
            outcome: Outcome::ended(status),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_stream_line_has_its_documented_shape_and_reads_back_as_itself() {
        let result = VersionResult {
            outcome: Outcome {
                exit_code: Some(0),
                stdout: "waiting".into(),
                duration_ms: 1,
                ..Outcome::ended(Status::Ok)
            },
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

    #[test]
    fn a_result_keeps_the_flat_json_the_api_served_and_the_store_kept_before_its_outcome_was_a_type() {
        let json = concat!(
            r#"{"image":"php:8.4-cli","php_version":"8.4.1","status":"exit","exit_code":255,"#,
            r#""stdout":"","stderr":"PHP Fatal error","truncated":false,"duration_ms":12,"#,
            r#""started_at":null,"finished_at":null,"cpu_time_us":null,"peak_memory_bytes":null,"#,
            r#""cached":false}"#
        );
        let result: VersionResult = serde_json::from_str(json).unwrap();
        assert_eq!(result.outcome.status, Status::Exit);
        assert_eq!(result.outcome.exit_code, Some(255));
        assert_eq!(result.outcome.stderr, "PHP Fatal error");
        assert_eq!(serde_json::to_string(&result).unwrap(), json);
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
    fn a_checked_request_is_in_the_one_form_it_is_saved_keyed_and_run_in() {
        let limits = RequestLimits::default();
        let spec = RunRequest {
            ini: vec![IniSettings::new()],
            stdin: "in".into(),
            ..request("<?php\r\necho 1;\r", &["php:8.4-cli"])
        }
        .check(&limits)
        .unwrap();
        assert_eq!(spec.code, "<?php\necho 1;\r", "a lone \\r is the script's own");
        assert_eq!(spec.stdin, "in");
        assert_eq!(
            spec.ini,
            Vec::<IniSettings>::new(),
            "[{{}}] is the defaults, once"
        );
        assert_eq!(spec.variants(), [IniSettings::new()]);
        assert_eq!(spec.clock, Clock::Real, "not saved: the real clock");
        let saved = RunRequest {
            save: true,
            ..request("<?php echo 1;", &["a"])
        };
        assert_eq!(saved.check(&limits).unwrap().clock, Clock::Saved);
        let empty = request(" ", &["a"]);
        assert_eq!(
            empty.check(&limits).unwrap_err(),
            empty.validate(&limits).unwrap_err()
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
        let with = |stdin: &str, clock: Option<Clock>| RunRequest {
            stdin: stdin.into(),
            clock,
            ..request("1", &["a"])
        };
        assert!(error(with("12345", None)).contains("stdin is 5 bytes; the limit is 4"));
        assert!(error(with("a\0", None)).contains("NUL"));
        assert!(with("1234", Some(Clock::At(1_706_702_400)))
            .validate(&limits)
            .is_ok());
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
}
