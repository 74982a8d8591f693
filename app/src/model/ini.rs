//! ini variants: the sets of ini settings a run compares, their text form (what the page edits
//! and the store keys results by) and how a run body's `ini` reads.

use serde::Deserialize;
use std::collections::BTreeMap;

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
pub(super) fn ini_variants<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<IniSettings>, D::Error> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
