//! One output group as a php-src test: a `.phpt` file for `run-tests.php`, which runs the
//! code with the test's `--INI--` and `--STDIN--`, compares its trimmed output with
//! `--EXPECT--` (or the patterns of `--EXPECTF--`) and skips it where `--SKIPIF--` prints
//! `skip`. It checks no exit code.

use super::{
    clock_note, ini_with, permalink, php_string, pin_groups, variant_results, ExportError, PinnedGroup,
    TestFile,
};
use crate::compare::{without_version, VERSION_MARK};
use crate::model::Snippet;
use std::fmt::Write;

/// The `.phpt` file of the output group that `image` is in under ini variant `variant` (the
/// newest group that can be a test when no image is named).
pub fn phpt(snippet: &Snippet, variant: usize, image: Option<&str>) -> Result<TestFile, ExportError> {
    let (settings, results) = variant_results(snippet, variant)?;
    for (part, text) in [("code", &snippet.code), ("stdin", &snippet.stdin)] {
        if text.lines().any(is_section_line) {
            return Err(ExportError::SectionLine(part));
        }
    }
    let groups = pin_groups(&results);
    let pinned = match image {
        Some(image) => {
            let result = results
                .iter()
                .find(|result| result.image == image)
                .ok_or_else(|| ExportError::NoSuchImage(image.to_owned()))?;
            let not_pinnable = |why: String| ExportError::NotPinnable {
                image: image.to_owned(),
                why,
            };
            result.pinnable().map_err(not_pinnable)?;
            groups
                .iter()
                .find(|pinned| pinned.group.images.iter().any(|member| member == image))
                .filter(|pinned| !pinned.holds_for.is_empty())
                .ok_or_else(|| {
                    not_pinnable(format!(
                        "PHP {} printed something else on another image",
                        result.php_version
                    ))
                })?
        }
        None => groups
            .iter()
            .rev()
            .find(|pinned| !pinned.holds_for.is_empty())
            .ok_or(ExportError::NothingToExport)?,
    };
    let newest = &pinned.group.result.php_version;
    Ok(TestFile {
        name: format!("evalgrid-{}-php-{newest}.phpt", snippet.id),
        text: file(snippet, &settings, pinned),
    })
}

fn file(snippet: &Snippet, settings: &crate::model::IniSettings, pinned: &PinnedGroup) -> String {
    let result = &pinned.group.result;
    let holds_for: Vec<String> = pinned.holds_for.iter().map(|range| range.label()).collect();
    let ran_on: Vec<String> = pinned
        .ran_on
        .iter()
        .map(|(image, version)| format!("{image} (PHP {version})"))
        .collect();
    let (stdout, stderr) = (&result.outcome.stdout, &result.outcome.stderr);
    // run-tests.php reads stdout and stderr as one stream: with both, only stdout is compared.
    let (capture, expected) = match (stdout.is_empty(), stderr.is_empty()) {
        (false, false) => (Some("STDIN STDOUT"), stdout),
        (true, false) => (Some("STDIN STDERR"), stderr),
        _ => (None, stdout),
    };

    let mut text = format!(
        "--TEST--\nevalgrid {}: the output of PHP {}\n--DESCRIPTION--\n",
        permalink(snippet),
        pinned.group.label
    );
    let _ = writeln!(text, "Exported from evalgrid, snippet {}.", permalink(snippet));
    let _ = writeln!(text, "It printed this on {}.", ran_on.join(", "));
    let _ = writeln!(
        text,
        "Holds for PHP {}; skipped on any other version.",
        holds_for.join(", ")
    );
    if let Some(code) = result.outcome.exit_code.filter(|code| *code != 0) {
        let _ = writeln!(
            text,
            "PHP exited with code {code} (run-tests.php checks no exit code)."
        );
    }
    if capture == Some("STDIN STDOUT") {
        text.push_str("It also wrote to stderr, which this test does not compare.\n");
    }
    if let Some(note) = clock_note(snippet) {
        text.push_str(&note);
        text.push('\n');
    }

    text.push_str("--SKIPIF--\n<?php\nif (!(");
    let ranges: Vec<String> = pinned
        .holds_for
        .iter()
        .map(|range| {
            let [from, to] = range.comparisons();
            format!(
                "(version_compare(PHP_VERSION, {}, '{}') && version_compare(PHP_VERSION, {}, '{}'))",
                php_string(&from.1),
                from.0,
                php_string(&to.1),
                to.0
            )
        })
        .collect();
    text.push_str(&ranges.join("\n    || "));
    let _ = writeln!(
        text,
        ")) {{\n    die('skip evalgrid saw another output on PHP ' . PHP_VERSION);\n}}\n?>"
    );

    text.push_str("--INI--\n");
    for (name, value) in ini_with(settings) {
        let _ = writeln!(text, "{name}={value}");
    }
    if !snippet.stdin.is_empty() {
        text.push_str("--STDIN--\n");
        push_section(&mut text, &snippet.stdin);
    }
    if let Some(capture) = capture {
        let _ = writeln!(text, "--CAPTURE_STDIO--\n{capture}");
    }
    text.push_str("--FILE--\n");
    push_section(&mut text, &snippet.code);

    let marked = match pinned.group.differs_by_version {
        true => without_version(expected, &result.php_version),
        false => expected.clone(),
    };
    let patterned = marked.contains(runner::SCRIPT_PATH)
        || marked.contains(VERSION_MARK)
        || marked.lines().any(|line| line.starts_with("--"));
    match patterned {
        true => {
            text.push_str("--EXPECTF--\n");
            push_section(&mut text, &expectf(&marked));
        }
        false => {
            text.push_str("--EXPECT--\n");
            push_section(&mut text, &marked);
        }
    }
    text
}

/// A line `run-tests.php` takes for the start of a section.
fn is_section_line(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("--") else {
        return false;
    };
    let name_end = rest
        .find(|c: char| !(c.is_ascii_uppercase() || c == '_'))
        .unwrap_or(rest.len());
    name_end > 0 && rest[name_end..].starts_with("--")
}

/// `text` as `--EXPECTF--` patterns: the script's path (which the test's PHP names otherwise)
/// and the version a member printed match anything on their line; everything else is literal.
/// `%` (which starts a pattern) and a leading `--` (a section) are written as `%r…%r` regular
/// expressions, the only escape run-tests.php has.
fn expectf(text: &str) -> String {
    let literal_percent = text.replace('%', "%r\\x25%r");
    let lines: Vec<String> = literal_percent
        .split('\n')
        .map(|line| match line.strip_prefix('-') {
            Some(rest) if rest.starts_with('-') => format!("%r\\x2d%r{rest}"),
            _ => line.to_owned(),
        })
        .collect();
    lines
        .join("\n")
        .replace(runner::SCRIPT_PATH, "%s")
        .replace(VERSION_MARK, "%s")
}

/// A section's text, ending with the line break before the next section.
fn push_section(text: &mut String, section: &str) {
    text.push_str(section);
    if !section.ends_with('\n') {
        text.push('\n');
    }
}
