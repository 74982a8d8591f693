//! What sets two images' builds apart besides PHP's own code: the libraries PHP is built with,
//! its loaded extensions and its ini defaults, as each image's probe found them at discovery.
//! Shown beside a change of output (`GET /api/builds/difference`), so that "the output changed
//! in 8.4.0" comes with "and PCRE went from 10.42 to 10.46 there".

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One image's build, as discovery found it.
#[derive(Debug, Clone, Copy)]
pub struct Build<'a> {
    /// `PHP_VERSION`.
    pub php_version: &'a str,
    /// Library name → its version (`PCRE` → `10.42 2022-12-11`).
    pub libraries: &'a BTreeMap<String, String>,
    /// The extensions it loads.
    pub extensions: &'a [String],
    /// Each ini setting's value under evalgrid's baseline, which is the same for every image:
    /// what differs is the build's default.
    pub ini: &'a BTreeMap<String, String>,
}

/// How the build of `to` differs from the one of `from` (`from` the older version of a change
/// of output, as a rule).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildDifference {
    /// The two versions, `PHP_VERSION` of each.
    pub from: String,
    pub to: String,
    /// The libraries whose version differs, or that only one of them has, by name.
    pub libraries: Vec<ValueChange>,
    /// The extensions `to` loads and `from` does not.
    pub extensions_added: Vec<String>,
    /// The extensions `from` loads and `to` does not.
    pub extensions_removed: Vec<String>,
    /// The ini settings whose default differs, or that only one of them knows, by name.
    pub ini: Vec<ValueChange>,
}

/// A named value in two builds: `None` where that build has no such thing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValueChange {
    pub name: String,
    pub from: Option<String>,
    pub to: Option<String>,
}

impl BuildDifference {
    pub fn between(from: Build<'_>, to: Build<'_>) -> Self {
        let missing_from = |one: &[String], other: &[String]| -> Vec<String> {
            one.iter().filter(|name| !other.contains(name)).cloned().collect()
        };
        Self {
            from: from.php_version.to_owned(),
            to: to.php_version.to_owned(),
            libraries: changes(from.libraries, to.libraries),
            extensions_added: missing_from(to.extensions, from.extensions),
            extensions_removed: missing_from(from.extensions, to.extensions),
            ini: changes(from.ini, to.ini),
        }
    }

    /// Whether the two builds are alike in everything discovery sees.
    pub fn is_empty(&self) -> bool {
        self.libraries.is_empty()
            && self.extensions_added.is_empty()
            && self.extensions_removed.is_empty()
            && self.ini.is_empty()
    }
}

/// The names whose values differ between the two maps, in name order.
fn changes(from: &BTreeMap<String, String>, to: &BTreeMap<String, String>) -> Vec<ValueChange> {
    let mut names: Vec<&String> = from.keys().chain(to.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|name| from.get(*name) != to.get(*name))
        .map(|name| ValueChange {
            name: name.clone(),
            from: from.get(name).cloned(),
            to: to.get(name).cloned(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn change(name: &str, from: Option<&str>, to: Option<&str>) -> ValueChange {
        ValueChange {
            name: name.into(),
            from: from.map(Into::into),
            to: to.map(Into::into),
        }
    }

    #[test]
    fn names_what_differs_and_what_only_one_build_has() {
        let (old_libraries, new_libraries) = (
            map(&[("PCRE", "10.42 2022-12-11"), ("zlib", "1.3.1"), ("GMP", "6.2.1")]),
            map(&[("PCRE", "10.46 2025-08-27"), ("zlib", "1.3.1"), ("ICU", "76.1")]),
        );
        let old_extensions = ["Core".to_owned(), "json".to_owned(), "xml".to_owned()];
        let new_extensions = ["Core".to_owned(), "random".to_owned(), "xml".to_owned()];
        let (old_ini, new_ini) = (
            map(&[("precision", "14"), ("assert.active", "1")]),
            map(&[("precision", "14"), ("zend.exception_string_param_max_len", "15")]),
        );
        let difference = BuildDifference::between(
            Build {
                php_version: "8.2.32",
                libraries: &old_libraries,
                extensions: &old_extensions,
                ini: &old_ini,
            },
            Build {
                php_version: "8.4.27",
                libraries: &new_libraries,
                extensions: &new_extensions,
                ini: &new_ini,
            },
        );
        assert_eq!(
            difference,
            BuildDifference {
                from: "8.2.32".into(),
                to: "8.4.27".into(),
                libraries: vec![
                    change("GMP", Some("6.2.1"), None),
                    change("ICU", None, Some("76.1")),
                    change("PCRE", Some("10.42 2022-12-11"), Some("10.46 2025-08-27")),
                ],
                extensions_added: vec!["random".into()],
                extensions_removed: vec!["json".into()],
                ini: vec![
                    change("assert.active", Some("1"), None),
                    change("zend.exception_string_param_max_len", None, Some("15")),
                ],
            }
        );
        assert!(!difference.is_empty());
    }

    #[test]
    fn two_builds_alike_differ_in_nothing() {
        let libraries = map(&[("PCRE", "10.42 2022-12-11")]);
        let ini = map(&[("precision", "14")]);
        let build = Build {
            php_version: "8.4.5",
            libraries: &libraries,
            extensions: &[],
            ini: &ini,
        };
        let difference = BuildDifference::between(
            build,
            Build {
                php_version: "8.4.27",
                ..build
            },
        );
        assert!(difference.is_empty(), "{difference:?}");
        assert_eq!(
            (difference.from.as_str(), difference.to.as_str()),
            ("8.4.5", "8.4.27")
        );
    }
}
