//! What a run sends into each container, and how it travels: one header line, the script's
//! stdin, then the code, all on the container's stdin (no user data in argv, env or a mount).
//! The shell in the container (see `sandbox::command`) reads it back with builtins and `cat`
//! alone, so every image with a POSIX `sh` and `cat` can take it.

use crate::images::{Image, Opcache};
use spec::Show;
use time::OffsetDateTime;

/// Whether one ini setting is acceptable on any image: a name of letters, digits, `_` and `.`
/// that is not denied; a value of one line of text.
pub fn check_ini_setting(name: &str, value: &str) -> Result<(), String> {
    let well_formed = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.');
    if !well_formed {
        return Err(format!("{name:?} is not an ini setting's name"));
    }
    if name.starts_with("ffi.") || DENIED_INI.contains(&name) {
        return Err(format!(
            "ini setting {name:?} cannot be changed here: it loads code or weakens the sandbox"
        ));
    }
    if value.len() > MAX_INI_VALUE || value.chars().any(char::is_control) {
        return Err(format!(
            "the value of {name:?} must be one line of at most {MAX_INI_VALUE} bytes"
        ));
    }
    Ok(())
}

/// `name=value` as a php.ini line that means what `-d name=value` means on PHP's command line,
/// which puts a value that starts with anything but a letter, a digit or a quote in double
/// quotes (so `-d x=!a` is the text `!a`, not an expression).
fn ini_line(name: &str, value: &str) -> String {
    match value.bytes().next() {
        Some(first) if !first.is_ascii_alphanumeric() && first != b'"' && first != b'\'' => {
            format!("{name}=\"{value}\"")
        }
        _ => format!("{name}={value}"),
    }
}

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
    /// What each version shows: the script's output, its compiled opcodes, …
    pub show: Show,
    /// ini settings of the run's own, after evalgrid's (see [`Script::check_ini`]).
    pub ini: Vec<(String, String)>,
}

/// ini settings a run may not set: they load code, or change what the sandbox relies on.
const DENIED_INI: &[&str] = &[
    "disable_classes",
    "disable_functions",
    "enable_dl",
    "error_log",
    "extension",
    "extension_dir",
    "open_basedir",
    "opcache.file_cache",
    "opcache.lockfile_path",
    "opcache.preload",
    "opcache.preload_user",
    "sys_temp_dir",
    "zend_extension",
];

/// Longest ini value a run may set.
pub const MAX_INI_VALUE: usize = 256;

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
    /// Whether the run's ini settings may be used on `image`: each name one the image's PHP
    /// knows and none that loads code or weakens the sandbox (FFI included); each value one line
    /// of text. The message is meant for the user.
    pub fn check_ini(&self, image: &Image) -> Result<(), String> {
        for (name, value) in &self.ini {
            check_ini_setting(name, value)?;
            let known = image.ini.contains_key(name)
                || (name.starts_with("opcache.") && image.opcache == Opcache::Shared);
            if !known {
                return Err(format!("PHP {} has no ini setting {name:?}", image.php_version));
            }
        }
        Ok(())
    }

    /// The bytes the container's shell reads: `LINES PARTIAL CLOCK MODE\n`, the stdin text as
    /// `LINES` newline-ended lines plus, when `PARTIAL` is 1, a last line that had no newline
    /// (sent with one, written without), then the code up to the end of input. `CLOCK` is seconds
    /// since the epoch (never negative), or `-`. `MODE` is [`Show::wire_letter`], upper case
    /// when `image` must load OPcache first.
    pub(crate) fn wire(&self, image: &Image) -> Vec<u8> {
        let stdin = self.stdin.replace('\0', "");
        let lines = stdin.matches('\n').count();
        let partial = !stdin.is_empty() && !stdin.ends_with('\n');
        let clock = match self.clock {
            Some(at) => at.unix_timestamp().max(0).to_string(),
            None => "-".to_owned(),
        };
        let mode = match self.show.needs_opcache() && image.opcache == Opcache::Shared {
            true => self.show.wire_letter().to_ascii_uppercase(),
            false => self.show.wire_letter(),
        };
        let mut ini: Vec<String> = self
            .ini
            .iter()
            .map(|(name, value)| ini_line(name, value))
            .collect();
        // OPcache's settings on an image where it is built but not loaded: load it first (the
        // modes that need it load it anyway).
        let sets_opcache = self.ini.iter().any(|(name, _)| name.starts_with("opcache."));
        if image.opcache == Opcache::Shared && !self.show.needs_opcache() && sets_opcache {
            ini.insert(0, "zend_extension=opcache".into());
        }
        let mut wire = format!("{lines} {} {clock} {mode} {}\n", u8::from(partial), ini.len()).into_bytes();
        wire.extend_from_slice(stdin.as_bytes());
        if partial {
            wire.push(b'\n');
        }
        for setting in &ini {
            wire.extend_from_slice(setting.as_bytes());
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
        assert_eq!(wire(&Script::from("<?php echo 1;")), "0 0 - - 0\n<?php echo 1;");
    }

    #[test]
    fn stdin_travels_as_whole_lines_and_says_whether_the_last_had_a_newline() {
        let script = |stdin: &str| Script {
            code: "<?php".into(),
            stdin: stdin.into(),
            ..Script::default()
        };
        assert_eq!(wire(&script("a\nb\n")), "2 0 - - 0\na\nb\n<?php");
        assert_eq!(wire(&script("a\nb")), "1 1 - - 0\na\nb\n<?php");
        assert_eq!(wire(&script("\n")), "1 0 - - 0\n\n<?php");
        assert_eq!(wire(&script("x\0y")), "0 1 - - 0\nxy\n<?php");
    }

    #[test]
    fn the_clock_travels_as_seconds_since_the_epoch() {
        let at = |seconds| Script {
            clock: Some(OffsetDateTime::from_unix_timestamp(seconds).unwrap()),
            ..Script::from("<?php")
        };
        assert_eq!(wire(&at(946_684_800)), "0 0 946684800 - 0\n<?php");
        assert_eq!(wire(&at(-5)), "0 0 0 - 0\n<?php");
    }

    #[test]
    fn the_mode_says_which_dump_and_whether_opcache_must_be_loaded_first() {
        let show = |show| Script {
            show,
            ..Script::from("<?php")
        };
        assert_eq!(wire(&show(Show::Opcodes)), "0 0 - a 0\n<?php");
        assert_eq!(wire(&show(Show::OpcodesUnoptimized)), "0 0 - b 0\n<?php");
        assert_eq!(
            wire_for(&show(Show::Opcodes), Opcache::Shared),
            "0 0 - A 0\n<?php"
        );
        assert_eq!(
            wire_for(&show(Show::OpcodesUnoptimized), Opcache::Shared),
            "0 0 - B 0\n<?php"
        );
        assert_eq!(wire_for(&show(Show::Output), Opcache::Shared), "0 0 - - 0\n<?php");
        // A syntax check loads nothing.
        assert_eq!(wire_for(&show(Show::Lint), Opcache::Shared), "0 0 - l 0\n<?php");
    }

    fn with_ini(settings: &[(&str, &str)]) -> Script {
        Script {
            ini: settings
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            ..Script::from("<?php")
        }
    }

    #[test]
    fn ini_settings_travel_as_lines_before_the_code() {
        let script = with_ini(&[("precision", "17"), ("error_reporting", "E_ALL & ~E_DEPRECATED")]);
        assert_eq!(
            wire(&script),
            "0 0 - - 2\nprecision=17\nerror_reporting=E_ALL & ~E_DEPRECATED\n<?php"
        );
        // OPcache's own settings on an image where it is only built: loaded first.
        let jit = with_ini(&[("opcache.jit", "tracing")]);
        assert_eq!(
            wire_for(&jit, Opcache::Shared),
            "0 0 - - 2\nzend_extension=opcache\nopcache.jit=tracing\n<?php"
        );
        assert_eq!(
            wire_for(&jit, Opcache::Loaded),
            "0 0 - - 1\nopcache.jit=tracing\n<?php"
        );
    }

    #[test]
    fn a_value_reads_in_the_ini_file_as_it_would_on_the_command_line() {
        let script = with_ini(&[("error_prepend_string", "!x ${A}"), ("precision", "\"17\"")]);
        assert_eq!(
            wire(&script),
            "0 0 - - 2\nerror_prepend_string=\"!x ${A}\"\nprecision=\"17\"\n<?php"
        );
        assert_eq!(ini_line("precision", ""), "precision=");
    }

    #[test]
    fn ini_settings_must_be_known_to_the_image_harmless_and_one_line() {
        let image = Image {
            ini: std::sync::Arc::new(
                [("opcache.jit", "tracing"), ("precision", "14")]
                    .map(|(name, value)| (name.to_owned(), value.to_owned()))
                    .into(),
            ),
            php_version: "8.4.1".into(),
            ..Image::named("php:8.4-cli")
        };
        assert_eq!(
            with_ini(&[("precision", "17"), ("opcache.jit", "tracing")]).check_ini(&image),
            Ok(())
        );
        let error = |settings: &[(&str, &str)]| with_ini(settings).check_ini(&image).unwrap_err();
        assert!(error(&[("zend.assertions", "1")]).contains("PHP 8.4.1 has no ini setting"));
        for denied in [
            "ffi.enable",
            "zend_extension",
            "disable_functions",
            "open_basedir",
            "opcache.preload",
            "enable_dl",
        ] {
            assert!(
                error(&[(denied, "1")]).contains("weakens the sandbox"),
                "{denied}"
            );
        }
        assert!(error(&[("precision", "1\nffi.enable=1")]).contains("one line"));
        assert!(error(&[("Precision", "1")]).contains("not an ini setting"));
        assert!(error(&[("a=b", "1")]).contains("not an ini setting"));
        assert!(error(&[("precision", &"9".repeat(MAX_INI_VALUE + 1))]).contains("one line"));
        // Where OPcache is only built, its settings are known once it is loaded.
        let shared = Image {
            opcache: Opcache::Shared,
            ..image.clone()
        };
        assert_eq!(
            with_ini(&[("opcache.enable_cli", "1")]).check_ini(&shared),
            Ok(())
        );
    }
}
