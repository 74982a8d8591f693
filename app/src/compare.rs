//! Comparing versions: grouping identical results into version ranges (as 3v4l does) and line
//! diffs with changed words marked. Pure code, shared by the server and the WASM page, so both
//! always agree.

use crate::model::{ImageInfo, VersionResult};
use std::collections::HashMap;

/// Versions whose results are identical (stdout, stderr and exit code), counting each version's
/// own version string in its output as the same text (as 3v4l does): `echo PHP_VERSION;` on
/// 8.4.5 and 8.4.27 is one group. An unstable result (its output changes between runs on the
/// same image) says nothing about its version, so it is a group of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultGroup {
    /// The images in the group, oldest first.
    pub images: Vec<String>,
    /// The versions as ranges, e.g. `7.4.33, 8.4.27 – 8.5.7`.
    pub label: String,
    /// The shared result (the newest version's).
    pub result: VersionResult,
    /// True when the members' outputs differ only in their version strings: each shows its own.
    pub differs_by_version: bool,
}

/// Where the output changes along the run, in version order: the versions whose result is not
/// the one of the version before them ("output changes in 8.0.0 and 8.4.0").
pub fn changes_at(run: &[ImageInfo], results: &HashMap<String, VersionResult>) -> Vec<String> {
    let arrived: Vec<(&ImageInfo, &VersionResult)> = run
        .iter()
        .filter_map(|info| Some((info, results.get(&info.image)?)))
        .filter(|(_, result)| !result.unstable)
        .collect();
    arrived
        .windows(2)
        .filter(|pair| !same_output(pair[0].1, pair[1].1))
        .map(|pair| pair[1].0.php_version.clone())
        .collect()
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
        let joins = |group: &&mut Vec<(usize, &VersionResult)>| {
            !result.unstable && !group[0].1.unstable && same_output(group[0].1, result)
        };
        match groups.iter_mut().find(joins) {
            Some(group) => group.push((position, result)),
            None => groups.push(vec![(position, result)]),
        }
    }
    let mut groups: Vec<ResultGroup> = groups
        .into_iter()
        .map(|members| {
            let newest = members.last().expect("groups are never empty").1;
            ResultGroup {
                images: members.iter().map(|(_, r)| r.image.clone()).collect(),
                label: range_label(run, &members.iter().map(|(p, _)| *p).collect::<Vec<_>>()),
                result: newest.clone(),
                differs_by_version: members
                    .iter()
                    .any(|(_, r)| r.stdout != newest.stdout || r.stderr != newest.stderr),
            }
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
    let text = |r: &VersionResult, stream: &str| without_version(stream, &r.php_version);
    text(a, &a.stdout) == text(b, &b.stdout)
        && text(a, &a.stderr) == text(b, &b.stderr)
        && a.exit_code == b.exit_code
        && a.status == b.status
}

/// `text` with each whole occurrence of `version` (not part of a longer version number, so
/// 8.4.1 in 8.4.10 stays) replaced by a placeholder.
fn without_version(text: &str, version: &str) -> String {
    if version.is_empty() {
        return text.to_owned();
    }
    // A digit, or a dot with a digit beyond it, continues the number ("8.4.1" in "8.4.10",
    // "18.4.1"); a full stop ends it.
    fn continues(mut chars: impl Iterator<Item = char>) -> bool {
        match chars.next() {
            Some(c) if c.is_ascii_digit() => true,
            Some('.') => chars.next().is_some_and(|c| c.is_ascii_digit()),
            _ => false,
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(version) {
        let (before, after) = (&rest[..at], &rest[at + version.len()..]);
        out.push_str(before);
        match continues(before.chars().rev()) || continues(after.chars()) {
            true => out.push_str(version),
            false => out.push_str("\u{0}PHP_VERSION\u{0}"),
        }
        rest = &rest[at + version.len()..];
    }
    out.push_str(rest);
    out
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
            // Several images of one version (a Debian and an Alpine build) are one version.
            if run[start].php_version == run[end].php_version {
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

/// A line diff of `other` against `base`, with changed words marked inside changed lines: in
/// a run of removed lines followed by added ones, the words that are not in both. Written out
/// here rather than taken from a diff crate, to keep the page's WASM small: outputs are short,
/// and a longest common subsequence after the common start and end is plenty.
pub fn diff_lines(base: &str, other: &str) -> Vec<DiffLine> {
    let old: Vec<&str> = base.split_inclusive('\n').collect();
    let new: Vec<&str> = other.split_inclusive('\n').collect();
    let mut lines = Vec::new();
    let (mut i, mut j) = (0, 0);
    for (same_i, same_j) in common(&old, &new).into_iter().chain([(old.len(), new.len())]) {
        changed_lines(&old[i..same_i], &new[j..same_j], &mut lines);
        if let Some(line) = old.get(same_i) {
            lines.push(plain_line(LineChange::Same, line));
        }
        (i, j) = (same_i + 1, same_j + 1);
    }
    lines
}

/// Past this many cells the table of a longest common subsequence is not built: the middle
/// counts as changed as a whole (two very different outputs of thousands of lines).
const MAX_TABLE_CELLS: usize = 4_000_000;

/// Positions of a longest common subsequence of `a` and `b`, as pairs, in order.
fn common<T: PartialEq>(a: &[T], b: &[T]) -> Vec<(usize, usize)> {
    let start = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let end = a[start..]
        .iter()
        .rev()
        .zip(b[start..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (middle_a, middle_b) = (&a[start..a.len() - end], &b[start..b.len() - end]);
    let mut pairs: Vec<(usize, usize)> = (0..start).map(|k| (k, k)).collect();
    let (n, m) = (middle_a.len(), middle_b.len());
    if n > 0 && m > 0 && n * m <= MAX_TABLE_CELLS {
        // lengths[i][j]: the longest common subsequence of middle_a[i..] and middle_b[j..]; at
        // most min(n, m) <= 2000, so u16 is enough.
        let width = m + 1;
        let mut lengths = vec![0_u16; (n + 1) * width];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                lengths[i * width + j] = match middle_a[i] == middle_b[j] {
                    true => lengths[(i + 1) * width + j + 1] + 1,
                    false => lengths[(i + 1) * width + j].max(lengths[i * width + j + 1]),
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n && j < m {
            if middle_a[i] == middle_b[j] {
                pairs.push((start + i, start + j));
                (i, j) = (i + 1, j + 1);
            } else if lengths[(i + 1) * width + j] >= lengths[i * width + j + 1] {
                i += 1;
            } else {
                j += 1;
            }
        }
    }
    pairs.extend((0..end).map(|k| (a.len() - end + k, b.len() - end + k)));
    pairs
}

/// Lines only in the base (`removed`) and only in the other (`added`), removed first. When both
/// have some, the words they share are plain and the others marked.
fn changed_lines(removed: &[&str], added: &[&str], lines: &mut Vec<DiffLine>) {
    if removed.is_empty() || added.is_empty() {
        lines.extend(removed.iter().map(|line| plain_line(LineChange::Removed, line)));
        lines.extend(added.iter().map(|line| plain_line(LineChange::Added, line)));
        return;
    }
    let old = words(removed);
    let new = words(added);
    let shared = common(&old, &new);
    let mut old_kept = vec![false; old.len()];
    let mut new_kept = vec![false; new.len()];
    for (i, j) in shared {
        old_kept[i] = true;
        new_kept[j] = true;
    }
    marked_lines(LineChange::Removed, &old, &old_kept, lines);
    marked_lines(LineChange::Added, &new, &new_kept, lines);
}

/// The words of some lines: runs of letters, digits and `_`, runs of other white space, and each
/// other character (a newline too) on its own, so that `bool(true)` and `bool(false)` differ in
/// `true` and `false` alone.
fn words<'a>(lines: &[&'a str]) -> Vec<&'a str> {
    #[derive(PartialEq)]
    enum Kind {
        Word,
        Space,
        Other,
    }
    let kind = |c: char| match c {
        c if c.is_alphanumeric() || c == '_' => Kind::Word,
        '\n' => Kind::Other,
        c if c.is_whitespace() => Kind::Space,
        _ => Kind::Other,
    };
    let mut words = Vec::new();
    for line in lines {
        let mut start = 0;
        let mut previous: Option<Kind> = None;
        for (at, c) in line.char_indices() {
            let this = kind(c);
            let joins = this != Kind::Other && previous.as_ref() == Some(&this);
            if !joins && at > start {
                words.push(&line[start..at]);
                start = at;
            }
            previous = Some(this);
        }
        if start < line.len() {
            words.push(&line[start..]);
        }
    }
    words
}

/// Lines from words, each word marked unless `kept`; a newline ends a line.
fn marked_lines(change: LineChange, words: &[&str], kept: &[bool], lines: &mut Vec<DiffLine>) {
    let mut parts: Vec<(bool, String)> = Vec::new();
    let mut open = false;
    for (word, kept) in words.iter().zip(kept) {
        if *word == "\n" {
            lines.push(DiffLine {
                change,
                parts: std::mem::take(&mut parts),
            });
            open = false;
            continue;
        }
        open = true;
        match parts.last_mut() {
            Some((marked, text)) if *marked != *kept => text.push_str(word),
            _ => parts.push((!kept, (*word).to_owned())),
        }
    }
    if open {
        lines.push(DiffLine { change, parts });
    }
}

fn plain_line(change: LineChange, line: &str) -> DiffLine {
    let text = line.trim_end_matches('\n');
    DiffLine {
        change,
        parts: match text.is_empty() {
            true => Vec::new(),
            false => vec![(false, text.to_owned())],
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;

    #[test]
    fn each_version_s_own_version_string_counts_as_the_same_text() {
        let versions = run(&["8.4.5", "8.4.27", "8.5.0"]);
        let arrived: HashMap<String, VersionResult> = [
            result("8.4.5", "PHP 8.4.5.\n"),
            result("8.4.27", "PHP 8.4.27.\n"),
            result("8.5.0", "PHP 8.5.0 but 8.4.5 is older\n"),
        ]
        .into_iter()
        .map(|r| (r.image.clone(), r))
        .collect();
        let groups = group_results(&versions, &arrived);
        let labels: Vec<(&str, bool)> = groups
            .iter()
            .map(|g| (g.label.as_str(), g.differs_by_version))
            .collect();
        assert_eq!(labels, [("8.5.0", false), ("8.4.5 – 8.4.27", true)]);
        assert_eq!(changes_at(&versions, &arrived), ["8.5.0"]);
    }

    #[test]
    fn a_version_inside_a_longer_number_is_left_alone() {
        assert_eq!(
            without_version("8.4.10 18.4.1 8.4.1.5", "8.4.1"),
            "8.4.10 18.4.1 8.4.1.5"
        );
        assert_eq!(
            without_version("v8.4.1, 8.4.1.", "8.4.1"),
            "v\u{0}PHP_VERSION\u{0}, \u{0}PHP_VERSION\u{0}."
        );
    }

    #[test]
    fn the_output_changes_where_a_version_differs_from_the_one_before() {
        let versions = run(&["7.4.33", "8.2.29", "8.4.27", "8.5.0"]);
        let arrived: HashMap<String, VersionResult> = [
            result("7.4.33", "bool(true)"),
            result("8.2.29", "bool(false)"),
            result("8.4.27", "bool(false)"),
            result("8.5.0", "bool(true)"),
        ]
        .into_iter()
        .map(|r| (r.image.clone(), r))
        .collect();
        assert_eq!(changes_at(&versions, &arrived), ["8.2.29", "8.5.0"]);
    }

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
            exit_code: Some(0),
            stdout: stdout.into(),
            duration_ms: 10,
            cpu_time_us: Some(1000),
            peak_memory_bytes: Some(1 << 20),
            ..VersionResult::new(format!("php:{version}-cli"), version, Status::Ok)
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
    fn an_unstable_result_is_never_grouped_nor_a_change_of_output() {
        let versions = run(&["8.2.32", "8.4.27", "8.5.7"]);
        let unstable = VersionResult {
            unstable: true,
            ..result("8.4.27", "same\n")
        };
        let results = arrived(&[result("8.2.32", "same\n"), unstable, result("8.5.7", "same\n")]);
        let groups = group_results(&versions, &results);
        // The stable two agree; the unstable one between them is neither theirs nor a gap's end.
        assert_eq!(labels(&groups), ["8.2.32, 8.5.7", "8.4.27"]);
        assert!(groups[1].result.unstable);
        assert!(changes_at(&versions, &results).is_empty(), "8.2 and 8.5 agree");
        let two_unstable = arrived(&[
            VersionResult {
                unstable: true,
                ..result("8.2.32", "same\n")
            },
            VersionResult {
                unstable: true,
                ..result("8.4.27", "same\n")
            },
        ]);
        assert_eq!(
            labels(&group_results(&versions, &two_unstable)),
            ["8.4.27", "8.2.32"]
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
    fn several_images_of_one_version_are_labelled_once() {
        let mut versions = run(&["7.4.33", "8.2.32"]);
        let mut alpine = versions[0].clone();
        alpine.image = "php:7.4-cli-alpine".into();
        versions.insert(1, alpine);
        let mut results = arrived(&[result("7.4.33", "a"), result("8.2.32", "b")]);
        let mut on_alpine = result("7.4.33", "a");
        on_alpine.image = "php:7.4-cli-alpine".into();
        results.insert(on_alpine.image.clone(), on_alpine);
        assert_eq!(labels(&group_results(&versions, &results)), ["8.2.32", "7.4.33"]);
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
    fn lines_added_and_removed_in_the_middle_are_found() {
        let lines = diff_lines("a\nb\nc\nd\n", "a\nc\nx\nd\ne");
        let shape: Vec<(LineChange, String)> = lines
            .iter()
            .map(|l| (l.change, l.parts.iter().map(|(_, t)| t.as_str()).collect()))
            .collect();
        use LineChange::*;
        assert_eq!(
            shape,
            [
                (Same, "a".into()),
                (Removed, "b".into()),
                (Same, "c".into()),
                (Added, "x".into()),
                (Same, "d".into()),
                (Added, "e".into()),
            ]
        );
        // A line removed with nothing added in its place has no words to compare: none marked.
        assert!(lines[1].parts.iter().all(|(marked, _)| !marked));
    }

    #[test]
    fn words_are_runs_of_letters_or_spaces_and_single_signs() {
        assert_eq!(
            words(&["bool(true)  é_1\n", "x"]),
            ["bool", "(", "true", ")", "  ", "é_1", "\n", "x"]
        );
    }

    #[test]
    fn very_different_long_outputs_are_changed_as_a_whole() {
        let base: String = (0..3000).map(|n| format!("{n}\n")).collect();
        let other: String = (0..3000).map(|n| format!("x{n}\n")).collect();
        let lines = diff_lines(&base, &other);
        assert_eq!(lines.len(), 6000);
        assert!(lines[..3000].iter().all(|l| l.change == LineChange::Removed));
    }

    #[test]
    fn identical_texts_diff_to_unchanged_lines() {
        let lines = diff_lines("a\nb\n", "a\nb\n");
        assert!(lines.iter().all(|l| l.change == LineChange::Same));
    }
}
