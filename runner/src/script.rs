//! What a run sends into each container, and how it travels: one header line, the script's
//! stdin, then the code, all on the container's stdin (no user data in argv, env or a mount).
//! The shell in the container (see `sandbox::command`) reads it back with builtins and `cat`
//! alone, so every image with a POSIX `sh` and `cat` can take it.

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
    /// The bytes the container's shell reads: `LINES PARTIAL CLOCK\n`, the stdin text as `LINES`
    /// newline-ended lines plus, when `PARTIAL` is 1, a last line that had no newline (sent with
    /// one, written without), then the code up to the end of input. `CLOCK` is seconds since the
    /// epoch (never negative), or `-`.
    pub(crate) fn wire(&self) -> Vec<u8> {
        let stdin = self.stdin.replace('\0', "");
        let lines = stdin.matches('\n').count();
        let partial = !stdin.is_empty() && !stdin.ends_with('\n');
        let clock = match self.clock {
            Some(at) => at.unix_timestamp().max(0).to_string(),
            None => "-".to_owned(),
        };
        let mut wire = format!("{lines} {} {clock}\n", u8::from(partial)).into_bytes();
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
        String::from_utf8(script.wire()).unwrap()
    }

    #[test]
    fn code_alone_travels_after_an_empty_header() {
        assert_eq!(wire(&Script::from("<?php echo 1;")), "0 0 -\n<?php echo 1;");
    }

    #[test]
    fn stdin_travels_as_whole_lines_and_says_whether_the_last_had_a_newline() {
        let script = |stdin: &str| Script {
            code: "<?php".into(),
            stdin: stdin.into(),
            clock: None,
        };
        assert_eq!(wire(&script("a\nb\n")), "2 0 -\na\nb\n<?php");
        assert_eq!(wire(&script("a\nb")), "1 1 -\na\nb\n<?php");
        assert_eq!(wire(&script("\n")), "1 0 -\n\n<?php");
        assert_eq!(wire(&script("x\0y")), "0 1 -\nxy\n<?php");
    }

    #[test]
    fn the_clock_travels_as_seconds_since_the_epoch() {
        let at = |seconds| Script {
            clock: Some(OffsetDateTime::from_unix_timestamp(seconds).unwrap()),
            ..Script::from("<?php")
        };
        assert_eq!(wire(&at(946_684_800)), "0 0 946684800\n<?php");
        assert_eq!(wire(&at(-5)), "0 0 0\n<?php");
    }
}
