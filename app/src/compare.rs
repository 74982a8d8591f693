//! Comparing versions: grouping identical results into version ranges (as 3v4l does) and line
//! diffs with changed words marked. Pure code, shared by the server and the WASM page, so both
//! always agree.

use crate::model::{ImageInfo, VersionResult};
use similar::{ChangeTag, TextDiff};
use std::collections::HashMap;

/// Versions whose results are identical (stdout, stderr and exit code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultGroup {
    /// The images in the group, oldest first.
    pub images: Vec<String>,
    /// The versions as ranges, e.g. `7.4.33, 8.4.27 – 8.5.7`.
    pub label: String,
    /// The shared result (the newest version's).
    pub result: VersionResult,
}

/// Groups the results that have arrived, newest group first. `run` lists the run's versions in
/// version order: versions next to each other in it form a range, gaps split ranges.
pub fn group_results(run: &[ImageInfo], results: &HashMap<String, VersionResult>) -> Vec<ResultGroup> {
    // (position in the run, result) per group, in order of first appearance.
    let mut groups: Vec<Vec<(usize, &VersionResult)>> = Vec::new();
    for (position, info) in run.iter().enumerate() {
        let Some(result) = results.get(&info.image) else {
            continue;
        };
        match groups.iter_mut().find(|group| same_output(group[0].1, result)) {
            Some(group) => group.push((position, result)),
            None => groups.push(vec![(position, result)]),
        }
    }
    let mut groups: Vec<ResultGroup> = groups
        .into_iter()
        .map(|members| ResultGroup {
            images: members.iter().map(|(_, r)| r.image.clone()).collect(),
            label: range_label(run, &members.iter().map(|(p, _)| *p).collect::<Vec<_>>()),
            result: members.last().expect("groups are never empty").1.clone(),
        })
        .collect();
    let newest = |group: &ResultGroup| {
        run.iter()
            .rposition(|info| group.images.contains(&info.image))
            .unwrap_or(0)
    };
    groups.sort_by_key(|group| std::cmp::Reverse(newest(group)));
    groups
}

fn same_output(a: &VersionResult, b: &VersionResult) -> bool {
    a.stdout == b.stdout && a.stderr == b.stderr && a.exit_code == b.exit_code && a.status == b.status
}

/// "7.4.33, 8.4.27 – 8.5.7" for positions [0, 2, 3] of a run of four.
fn range_label(run: &[ImageInfo], positions: &[usize]) -> String {
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for &position in positions {
        match ranges.last_mut() {
            Some((_, end)) if *end + 1 == position => *end = position,
            _ => ranges.push((position, position)),
        }
    }
    ranges
        .iter()
        .map(|&(start, end)| {
            if start == end {
                run[start].php_version.clone()
            } else {
                format!("{} – {}", run[start].php_version, run[end].php_version)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// How a line of `other` relates to the base.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineChange {
    Same,
    /// Only in the base.
    Removed,
    /// Only in the other version.
    Added,
}

/// One line of a diff, split into runs of text; `true` marks the words that changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffLine {
    pub change: LineChange,
    pub parts: Vec<(bool, String)>,
}

/// A line diff of `other` against `base`, with changed words marked inside changed lines.
pub fn diff_lines(base: &str, other: &str) -> Vec<DiffLine> {
    let diff = TextDiff::from_lines(base, other);
    let mut lines = Vec::new();
    for op in diff.ops() {
        for change in diff.iter_inline_changes(op) {
            let kind = match change.tag() {
                ChangeTag::Equal => LineChange::Same,
                ChangeTag::Delete => LineChange::Removed,
                ChangeTag::Insert => LineChange::Added,
            };
            let parts = change
                .iter_strings_lossy()
                .map(|(emphasized, text)| (emphasized, text.trim_end_matches('\n').to_owned()))
                .filter(|(_, text)| !text.is_empty())
                .collect();
            lines.push(DiffLine { change: kind, parts });
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;

    fn run(versions: &[&str]) -> Vec<ImageInfo> {
        versions
            .iter()
            .map(|v| ImageInfo {
                image: format!("php:{v}-cli"),
                php_version: v.to_string(),
                ..ImageInfo::default()
            })
            .collect()
    }

    fn result(version: &str, stdout: &str) -> VersionResult {
        VersionResult {
            image: format!("php:{version}-cli"),
            php_version: version.into(),
            status: Status::Ok,
            exit_code: Some(0),
            stdout: stdout.into(),
            stderr: String::new(),
            truncated: false,
            duration_ms: 10,
            started_at: None,
            finished_at: None,
            cpu_time_us: Some(1000),
            peak_memory_bytes: Some(1 << 20),
            cached: false,
            message: None,
        }
    }

    fn arrived(results: &[VersionResult]) -> HashMap<String, VersionResult> {
        results.iter().map(|r| (r.image.clone(), r.clone())).collect()
    }

    fn labels(groups: &[ResultGroup]) -> Vec<&str> {
        groups.iter().map(|g| g.label.as_str()).collect()
    }

    #[test]
    fn consecutive_identical_versions_form_one_range_newest_group_first() {
        let versions = run(&["7.4.33", "8.2.32", "8.4.27", "8.5.7"]);
        let results = arrived(&[
            result("7.4.33", "bool(true)\n"),
            result("8.2.32", "bool(false)\n"),
            result("8.4.27", "bool(false)\n"),
            result("8.5.7", "bool(false)\n"),
        ]);
        let groups = group_results(&versions, &results);
        assert_eq!(labels(&groups), ["8.2.32 – 8.5.7", "7.4.33"]);
        assert_eq!(groups[0].result.stdout, "bool(false)\n");
        assert_eq!(
            groups[0].images,
            ["php:8.2.32-cli", "php:8.4.27-cli", "php:8.5.7-cli"]
        );
    }

    #[test]
    fn gaps_split_a_group_into_several_ranges() {
        let versions = run(&["7.4.33", "8.2.32", "8.4.27", "8.5.7"]);
        let results = arrived(&[
            result("7.4.33", "a"),
            result("8.2.32", "b"),
            result("8.4.27", "a"),
            result("8.5.7", "a"),
        ]);
        assert_eq!(
            labels(&group_results(&versions, &results)),
            ["7.4.33, 8.4.27 – 8.5.7", "8.2.32"]
        );
    }

    #[test]
    fn exit_code_and_stderr_count_towards_identity() {
        let versions = run(&["8.4.27", "8.5.7"]);
        let mut failed = result("8.5.7", "same");
        failed.exit_code = Some(255);
        failed.status = Status::Exit;
        let results = arrived(&[result("8.4.27", "same"), failed]);
        assert_eq!(group_results(&versions, &results).len(), 2);
        let mut noisy = result("8.5.7", "same");
        noisy.stderr = "warning".into();
        assert_eq!(
            group_results(&versions, &arrived(&[result("8.4.27", "same"), noisy])).len(),
            2
        );
    }

    #[test]
    fn groups_grow_as_results_arrive() {
        let versions = run(&["7.4.33", "8.2.32", "8.4.27"]);
        let mut results = arrived(&[result("8.4.27", "x")]);
        assert_eq!(labels(&group_results(&versions, &results)), ["8.4.27"]);
        results.insert("php:7.4.33-cli".into(), result("7.4.33", "x"));
        assert_eq!(labels(&group_results(&versions, &results)), ["7.4.33, 8.4.27"]);
        results.insert("php:8.2.32-cli".into(), result("8.2.32", "x"));
        assert_eq!(labels(&group_results(&versions, &results)), ["7.4.33 – 8.4.27"]);
    }

    #[test]
    fn a_diff_marks_changed_lines_and_the_words_that_changed() {
        let lines = diff_lines("same\nbool(true)\n", "same\nbool(false)\n");
        let changes: Vec<LineChange> = lines.iter().map(|l| l.change).collect();
        assert_eq!(
            changes,
            [LineChange::Same, LineChange::Removed, LineChange::Added]
        );
        let emphasized = |line: &DiffLine| -> Vec<String> {
            line.parts
                .iter()
                .filter(|(e, _)| *e)
                .map(|(_, t)| t.clone())
                .collect()
        };
        assert_eq!(emphasized(&lines[1]), ["true"]);
        assert_eq!(emphasized(&lines[2]), ["false"]);
    }

    #[test]
    fn identical_texts_diff_to_unchanged_lines() {
        let lines = diff_lines("a\nb\n", "a\nb\n");
        assert!(lines.iter().all(|l| l.change == LineChange::Same));
    }
}
