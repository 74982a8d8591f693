//! A saved snippet's results as tests that pin them: a php-src `.phpt` file for one output
//! group, in `run-tests.php`'s format ([`phpt`]), and a PHPUnit test with a case per group and
//! ini variant ([`phpunit`]). Each says which PHP versions it holds for and skips the others.
//! Server only.

mod phpt;
mod phpunit;

pub use phpt::phpt;
pub use phpunit::{phpunit, phpunit_file_name};

use crate::compare::{group_results, ResultGroup};
use crate::model::{run_variants, ImageInfo, IniSettings, Show, Snippet, VersionResult};
use std::collections::HashMap;

/// Why a snippet, or one of its groups, cannot be exported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    #[error("only a run's output can be exported as a test; this snippet shows its {0}")]
    NotOutput(&'static str),
    #[error("the snippet has no ini variant {0}")]
    NoSuchVariant(usize),
    #[error("the snippet has no result for {0:?}")]
    NoSuchImage(String),
    #[error("the output of {image} cannot be a test: {why}")]
    NotPinnable { image: String, why: String },
    #[error(
        "a line of its {0} starts like a .phpt section (`--NAME--`), which run-tests.php would read as one"
    )]
    SectionLine(&'static str),
    #[error(
        "no output of this snippet can be a test: every version timed out, was killed or gave two outputs"
    )]
    NothingToExport,
}

/// A file to download: its name and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestFile {
    pub name: String,
    pub text: String,
}

/// The settings evalgrid's PHP ran with that another PHP must be given to print the same: the
/// runner's baseline, and two of PHP's built-in defaults (what evalgrid runs with, reading no
/// `php.ini`) that `run-tests.php` or a distribution's `php.ini` change.
fn baseline_ini() -> IniSettings {
    let mut settings: IniSettings = runner::PHP_INI
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    settings.insert("short_open_tag".into(), "1".into());
    settings.insert("variables_order".into(), "EGPCS".into());
    settings
}

/// The baseline with an ini variant's own settings over it.
fn ini_with(variant: &IniSettings) -> IniSettings {
    let mut settings = baseline_ini();
    settings.extend(variant.iter().map(|(name, value)| (name.clone(), value.clone())));
    settings
}

/// One end of a range of versions a group holds for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Bound {
    /// The whole minor version on that side: no tested release of it said otherwise.
    Minor(u64, u64),
    /// This very release: a neighbouring release of the same minor printed something else,
    /// and the releases in between were not run.
    Release(String),
}

/// Versions `from` to `to`, both ends included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Range {
    pub from: Bound,
    pub to: Bound,
}

impl Range {
    /// `(operator, version)` pairs for PHP's `version_compare(PHP_VERSION, version, operator)`,
    /// both of which hold inside the range.
    pub fn comparisons(&self) -> [(&'static str, String); 2] {
        let from = match &self.from {
            Bound::Minor(major, minor) => (">=", format!("{major}.{minor}.0-dev")),
            Bound::Release(version) => (">=", version.clone()),
        };
        let to = match &self.to {
            Bound::Minor(major, minor) => ("<", format!("{major}.{}.0-dev", minor + 1)),
            Bound::Release(version) => ("<=", version.clone()),
        };
        [from, to]
    }

    /// `8.2.0 – 8.4.*`, `8.4.12 – 8.4.*`, `7.4.*`.
    pub fn label(&self) -> String {
        let from = match &self.from {
            Bound::Minor(major, minor) => format!("{major}.{minor}.0"),
            Bound::Release(version) => version.clone(),
        };
        let to = match &self.to {
            Bound::Minor(major, minor) => format!("{major}.{minor}.*"),
            Bound::Release(version) => version.clone(),
        };
        match (&self.from, &self.to) {
            (Bound::Minor(a, b), Bound::Minor(c, d)) if (a, b) == (c, d) => to,
            _ if from == to => from,
            _ => format!("{from} – {to}"),
        }
    }
}

/// One output group as a test: what it printed and where that holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PinnedGroup {
    pub group: ResultGroup,
    /// Its images with their versions, oldest first.
    pub ran_on: Vec<(String, String)>,
    /// Where it holds: the ranges of its versions, each stretched over the untested releases
    /// its neighbours agree on (see [`pin_groups`]). Empty: nowhere (every version of it also
    /// printed something else on another image).
    pub holds_for: Vec<Range>,
}

/// The output groups of one ini variant that can be tests, oldest first, with the versions
/// each holds for. A group holds for its tested versions and the releases between two of them;
/// beyond its oldest and newest it holds for the rest of their minor versions unless a tested
/// release of the same minor printed something else (then it stops at its own release: the
/// releases between were not run). A version that printed two things (on two images) or was
/// killed belongs to no group: no test may claim it.
pub(crate) fn pin_groups(results: &[VersionResult]) -> Vec<PinnedGroup> {
    let mut results: Vec<&VersionResult> = results.iter().collect();
    results.sort_by_cached_key(|result| runner::version_key(&result.php_version));
    let run: Vec<ImageInfo> = results
        .iter()
        .map(|result| ImageInfo {
            image: result.image.clone(),
            php_version: result.php_version.clone(),
            ..ImageInfo::default()
        })
        .collect();
    let by_image: HashMap<String, VersionResult> = results
        .iter()
        .map(|result| (result.image.clone(), (*result).clone()))
        .collect();
    let mut groups = group_results(&run, &by_image);
    let first_of = |group: &ResultGroup| run.iter().position(|info| group.images.contains(&info.image));
    groups.sort_by_cached_key(first_of);
    groups.retain(|group| group.result.pinnable().is_ok());
    // Each tested version, oldest first, with the one group all its images are in.
    let mut versions: Vec<(&str, Option<usize>)> = Vec::new();
    for info in &run {
        let owner = groups.iter().position(|group| group.images.contains(&info.image));
        match versions.last_mut() {
            Some((version, shared)) if *version == info.php_version => {
                if *shared != owner {
                    *shared = None;
                }
            }
            _ => versions.push((&info.php_version, owner)),
        }
    }
    let mut ranges: Vec<Vec<Range>> = vec![Vec::new(); groups.len()];
    let mut start = 0;
    while start < versions.len() {
        let owner = versions[start].1;
        let mut end = start;
        while end + 1 < versions.len() && versions[end + 1].1 == owner {
            end += 1;
        }
        if let Some(group) = owner {
            let before = start.checked_sub(1).map(|at| versions[at].0);
            let after = versions.get(end + 1).map(|(version, _)| *version);
            ranges[group].push(Range {
                from: bound(versions[start].0, before),
                to: bound(versions[end].0, after),
            });
        }
        start = end + 1;
    }
    groups
        .into_iter()
        .zip(ranges)
        .map(|(group, holds_for)| PinnedGroup {
            ran_on: group
                .images
                .iter()
                .map(|image| (image.clone(), by_image[image].php_version.clone()))
                .collect(),
            group,
            holds_for,
        })
        .collect()
}

/// A range's end at `version`, whose neighbour beyond it (if any) printed something else.
fn bound(version: &str, neighbour: Option<&str>) -> Bound {
    match (minor_of(version), neighbour.and_then(minor_of)) {
        (Some(own), Some(other)) if own == other => Bound::Release(version.to_owned()),
        (Some((major, minor)), _) => Bound::Minor(major, minor),
        (None, _) => Bound::Release(version.to_owned()),
    }
}

/// `(8, 4)` of `8.4.12` or `8.4.0RC2`.
fn minor_of(version: &str) -> Option<(u64, u64)> {
    let mut parts = version.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor: String = parts.next()?.chars().take_while(char::is_ascii_digit).collect();
    Some((major, minor.parse().ok()?))
}

/// The snippet's results under its ini variant `variant`, and the variant.
fn variant_results(
    snippet: &Snippet,
    variant: usize,
) -> Result<(IniSettings, Vec<VersionResult>), ExportError> {
    if snippet.show != Show::Output {
        return Err(ExportError::NotOutput(snippet.show.name()));
    }
    let settings = run_variants(&snippet.ini)
        .into_iter()
        .nth(variant)
        .ok_or(ExportError::NoSuchVariant(variant))?;
    let results = snippet
        .results
        .iter()
        .filter(|result| result.ini == settings)
        .cloned()
        .collect();
    Ok((settings, results))
}

/// Writes `text` as a PHP single-quoted string.
fn php_string(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The permalink's path, which every exported file names.
fn permalink(snippet: &Snippet) -> String {
    format!("/s/{}", snippet.id)
}

/// What an exported file says about the clock, when the snippet ran on a fixed one.
fn clock_note(snippet: &Snippet) -> Option<String> {
    snippet
        .clock_at
        .as_ref()
        .map(|at| format!("evalgrid ran it with the clock fixed at {at}; a test sees the real time."))
}

#[cfg(test)]
mod tests;
