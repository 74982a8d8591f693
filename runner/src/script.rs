//! What a run sends into each container, and how it travels: one header line, the script's
//! stdin, then the code, all on the container's stdin (no user data in argv, env or a mount).
//! The shell in the container (see `sandbox::command`) reads it back with builtins and `cat`
//! alone, so every image with a POSIX `sh` and `cat` can take it.

use crate::images::{Image, Opcache};
use time::OffsetDateTime;

/// One run's input: the same on every version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Script {
    /// The PHP code, written to [`crate::SCRIPT_PATH`].
    pub code: String,
    /// What the script reads from `STDIN` (text: a NUL byte cannot travel and is dropped).
    pub stdin: String,
    /// Where the script's wall clock starts (it then advances normally); `None`: the real time.
    /// Only images whose PHP honours a preloaded library get it (see [`crate::Image::fixed_clock`]).
    pub clock: Option<OffsetDateTime>,
    /// What each version shows: the script's output, or its compiled opcodes.
    pub mode: Mode,
}

/// What a run shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    /// Runs the script: its output.
    #[default]
    Output,
    /// Compiles the script without running it and shows OPcache's dump of its opcodes after the
    /// optimizer (`opcache.opt_debug_level=0x20000`), as its stdout.
    Opcodes,
    /// The same, before the optimizer (`0x10000`).
    UnoptimizedOpcodes,
}

impl From<&str> for Script {
    fn from(code: &str) -> Self {
        Self {
            code: code.to_owned(),
            ..Self::default()
        }
    }
}

impl From<String> for Script {
    fn from(code: String) -> Self {
        Self {
            code,
            ..Self::default()
        }
    }
}

impl Script {
    /// The bytes the container's shell reads: `LINES PARTIAL CLOCK MODE\n`, the stdin text as
    /// `LINES` newline-ended lines plus, when `PARTIAL` is 1, a last line that had no newline
    /// (sent with one, written without), then the code up to the end of input. `CLOCK` is seconds
    /// since the epoch (never negative), or `-`. `MODE` is `-` (run), `a` (opcodes after the
    /// optimizer) or `b` (before), upper case when `image` must load OPcache first.
    pub(crate) fn wire(&self, image: &Image) -> Vec<u8> {
        let stdin = self.stdin.replace('\0', "");
        let lines = stdin.matches('\n').count();
        let partial = !stdin.is_empty() && !stdin.ends_with('\n');
        let clock = match self.clock {
            Some(at) => at.unix_timestamp().max(0).to_string(),
            None => "-".to_owned(),
        };
        let mode = match (self.mode, image.opcache) {
            (Mode::Output, _) => "-",
            (Mode::Opcodes, Opcache::Shared) => "A",
            (Mode::Opcodes, _) => "a",
            (Mode::UnoptimizedOpcodes, Opcache::Shared) => "B",
            (Mode::UnoptimizedOpcodes, _) => "b",
        };
        let mut wire = format!("{lines} {} {clock} {mode}\n", u8::from(partial)).into_bytes();
        wire.extend_from_slice(stdin.as_bytes());
        if partial {
            wire.push(b'\n');
        }
        wire.extend_from_slice(self.code.as_bytes());
        wire
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(script: &Script) -> String {
        wire_for(script, Opcache::Loaded)
    }

    fn wire_for(script: &Script, opcache: Opcache) -> String {
        let image = Image {
            opcache,
            ..Image::named("php:8.4-cli")
        };
        String::from_utf8(script.wire(&image)).unwrap()
    }

    #[test]
    fn code_alone_travels_after_an_empty_header() {
        assert_eq!(wire(&Script::from("<?php echo 1;")), "0 0 - -\n<?php echo 1;");
    }

    #[test]
    fn stdin_travels_as_whole_lines_and_says_whether_the_last_had_a_newline() {
        let script = |stdin: &str| Script {
            code: "<?php".into(),
            stdin: stdin.into(),
            ..Script::default()
        };
        assert_eq!(wire(&script("a\nb\n")), "2 0 - -\na\nb\n<?php");
        assert_eq!(wire(&script("a\nb")), "1 1 - -\na\nb\n<?php");
        assert_eq!(wire(&script("\n")), "1 0 - -\n\n<?php");
        assert_eq!(wire(&script("x\0y")), "0 1 - -\nxy\n<?php");
    }

    #[test]
    fn the_clock_travels_as_seconds_since_the_epoch() {
        let at = |seconds| Script {
            clock: Some(OffsetDateTime::from_unix_timestamp(seconds).unwrap()),
            ..Script::from("<?php")
        };
        assert_eq!(wire(&at(946_684_800)), "0 0 946684800 -\n<?php");
        assert_eq!(wire(&at(-5)), "0 0 0 -\n<?php");
    }

    #[test]
    fn the_mode_says_which_dump_and_whether_opcache_must_be_loaded_first() {
        let show = |mode| Script {
            mode,
            ..Script::from("<?php")
        };
        assert_eq!(wire(&show(Mode::Opcodes)), "0 0 - a\n<?php");
        assert_eq!(wire(&show(Mode::UnoptimizedOpcodes)), "0 0 - b\n<?php");
        assert_eq!(wire_for(&show(Mode::Opcodes), Opcache::Shared), "0 0 - A\n<?php");
        assert_eq!(
            wire_for(&show(Mode::UnoptimizedOpcodes), Opcache::Shared),
            "0 0 - B\n<?php"
        );
        assert_eq!(wire_for(&show(Mode::Output), Opcache::Shared), "0 0 - -\n<?php");
    }
}
