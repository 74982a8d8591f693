//! What a run asks each version to show ([`Show`]), on which clock ([`Clock`]), and how each
//! version's run ended ([`Status`], [`Outcome`]): one type each, shared by the page, the server and the
//! runner, with what each part needs to know about a value on the value itself. A new mode is a variant here and a line
//! of the container's shell (`runner/src/sandbox.rs`).

mod clock;

pub use clock::{civil_from_days, format_rfc3339_seconds, parse_rfc3339_seconds, Clock};
use serde::{Deserialize, Serialize};
use strum::VariantArray;

/// What a run shows of the script on each version. Its name (`"output"`, `"opcodes"`, …) is the
/// run body's `show`, the permalink's stored form and part of its id.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::VariantArray,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Show {
    /// Runs the script: its output.
    #[default]
    Output,
    /// Compiles the script without running it: OPcache's dump of its opcodes after the
    /// optimizer (`opcache.opt_debug_level=0x20000`), as stdout.
    Opcodes,
    /// The same, before the optimizer (`0x10000`).
    OpcodesUnoptimized,
    /// Checks the syntax without running anything (`php -l`).
    Lint,
}

impl Show {
    /// Every mode, in the order the page offers them.
    pub const ALL: &'static [Show] = Show::VARIANTS;

    /// Its name in the API, the store and the page's address.
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// The mode called `name`, if there is one.
    pub fn from_name(name: &str) -> Option<Self> {
        name.parse().ok()
    }

    /// How the page names it.
    pub fn label(self) -> &'static str {
        match self {
            Show::Output => "Output",
            Show::Opcodes => "Opcodes",
            Show::OpcodesUnoptimized => "Opcodes before the optimizer",
            Show::Lint => "Syntax check",
        }
    }

    /// Whether a version needs OPcache for it (one without cannot show it).
    pub fn needs_opcache(self) -> bool {
        matches!(self, Show::Opcodes | Show::OpcodesUnoptimized)
    }

    /// Whether what it shows points into the code with PHP's `on line N`, so the page marks
    /// those lines in the editor.
    pub fn marks_lines(self) -> bool {
        matches!(self, Show::Output | Show::Lint)
    }

    /// The letter that tells the container's shell what to do (see `runner::Script::wire`; the
    /// runner upper-cases it when the image must load OPcache first).
    pub fn wire_letter(self) -> char {
        match self {
            Show::Output => '-',
            Show::Opcodes => 'a',
            Show::OpcodesUnoptimized => 'b',
            Show::Lint => 'l',
        }
    }

    /// For serde's `skip_serializing_if`: the default is left out of a body.
    pub fn is_output(&self) -> bool {
        *self == Show::Output
    }
}

/// How one version's run ended.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, strum::IntoStaticStr, strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Status {
    /// The script exited with code 0.
    Ok,
    /// The script exited with a non-zero code (PHP fatal errors exit 255).
    Exit,
    /// The script wrote more than the output limit to a stream and was killed; the output is
    /// cut at the limit (`truncated`).
    OutputLimit,
    /// The wall-clock limit was hit; the run was killed.
    Timeout,
    /// The run hit its memory limit and the kernel killed it.
    Oom,
    /// The version could not run at all; see the result's `message`.
    Error,
}

impl Status {
    /// Its name in the API (`"ok"`, `"output_limit"`, …) and the store.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// How one version's PHP process ended and what it printed: what the runner measures of a run
/// and the API returns as it is (its fields stand in a result's JSON beside the others).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub status: Status,
    /// The process's exit code, when it exited by itself.
    pub exit_code: Option<i64>,
    /// Standard output, lossily decoded as UTF-8, at most the runner's limit.
    pub stdout: String,
    /// Standard error, likewise.
    pub stderr: String,
    /// True when an output stream hit the limit and the process was killed.
    pub truncated: bool,
    /// Wall time from sending the code until the output ended (for a killed run: until its
    /// container was removed).
    pub duration_ms: u64,
}

impl Outcome {
    /// A run that ended with `status` and nothing more to say yet: no exit code, no output, no
    /// time.
    pub fn ended(status: Status) -> Self {
        Self {
            status,
            exit_code: None,
            stdout: String::new(),
            stderr: String::new(),
            truncated: false,
            duration_ms: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_mode_reads_back_from_its_name_in_the_api_and_in_the_store() {
        for &show in Show::ALL {
            let json = serde_json::to_string(&show).unwrap();
            assert_eq!(json, format!("\"{}\"", show.name()));
            assert_eq!(serde_json::from_str::<Show>(&json).unwrap(), show);
            assert_eq!(Show::from_name(show.name()), Some(show));
        }
        // The names permalinks were saved with before the modes were one enum.
        let names: Vec<&str> = Show::ALL.iter().map(|show| show.name()).collect();
        assert_eq!(names, ["output", "opcodes", "opcodes_unoptimized", "lint"]);
        assert_eq!(Show::from_name("Output"), None);
        assert!(serde_json::from_str::<Show>("\"everything\"").is_err());
    }

    #[test]
    fn each_mode_tells_the_shell_apart_and_only_the_opcode_modes_need_opcache() {
        let letters: Vec<char> = Show::ALL.iter().map(|show| show.wire_letter()).collect();
        for (index, letter) in letters.iter().enumerate() {
            assert!(!letters[..index].contains(letter), "{letter} is used twice");
            assert!(!letter.is_ascii_uppercase(), "upper case means: load OPcache");
        }
        let needing: Vec<Show> = Show::ALL
            .iter()
            .copied()
            .filter(|show| show.needs_opcache())
            .collect();
        assert_eq!(needing, [Show::Opcodes, Show::OpcodesUnoptimized]);
    }

    #[test]
    fn statuses_have_their_documented_names() {
        let names: Vec<String> = Status::VARIANTS
            .iter()
            .map(|status| {
                let json = serde_json::to_string(status).unwrap();
                assert_eq!(json, format!("\"{}\"", status.as_str()));
                status.as_str().to_owned()
            })
            .collect();
        assert_eq!(names, ["ok", "exit", "output_limit", "timeout", "oom", "error"]);
    }
}
