//! Comparing versions: grouping identical results into version ranges (as 3v4l does) and line
//! diffs with changed words marked. Pure code, shared by the server and the WASM page, so both
//! always agree.

use crate::model::{ImageInfo, VersionResult};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

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

/// A place along the run where the output changes: `after` is the first version with the new
/// output, `before` the version next to it with the old one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputChange {
    pub before: ImageInfo,
    pub after: ImageInfo,
}

/// Where the output changes along the run, in version order: each version whose result is not
/// the one of the version before it ("output changes in 8.0.0 and 8.4.0").
pub fn changes_at(run: &[ImageInfo], results: &HashMap<String, VersionResult>) -> Vec<OutputChange> {
    let arrived: Vec<(&ImageInfo, &VersionResult)> = run
        .iter()
        .filter_map(|info| Some((info, results.get(&info.image)?)))
        .filter(|(_, result)| !result.unstable)
        .collect();
    arrived
        .windows(2)
        .filter(|pair| !same_output(pair[0].1, pair[1].1))
        .map(|pair| OutputChange {
            before: pair[0].0.clone(),
            after: pair[1].0.clone(),
        })
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
                differs_by_version: members.iter().any(|(_, r)| {
                    r.outcome.stdout != newest.outcome.stdout || r.outcome.stderr != newest.outcome.stderr
                }),
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
    text(a, &a.outcome.stdout) == text(b, &b.outcome.stdout)
        && text(a, &a.outcome.stderr) == text(b, &b.outcome.stderr)
        && a.outcome.exit_code == b.outcome.exit_code
        && a.outcome.status == b.outcome.status
}

/// What [`without_version`] puts in place of a version.
pub(crate) const VERSION_MARK: &str = "\u{0}PHP_VERSION\u{0}";

/// `text` with each whole occurrence of `version` (not part of a longer version number, so
/// 8.4.1 in 8.4.10 stays) replaced by [`VERSION_MARK`].
pub(crate) fn without_version(text: &str, version: &str) -> String {
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
            false => out.push_str(VERSION_MARK),
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

/// The work of diffs is counted in steps: a line or word read, a diagonal of the edit graph
/// tried, two lines or words compared. One diff of a stream may take this many: past them, it is
/// too large to show (a few milliseconds).
pub const STREAM_DIFF_STEPS: usize = 2_000_000;

/// Steps all the diffs of one rendering of a page share, every cell and stream together: past
/// them, the cells left say their diff is too large. A few tens of milliseconds, on the server
/// and in the browser alike, whatever the outputs.
pub const PAGE_DIFF_STEPS: usize = 8_000_000;

/// Steps the shortest edit script of a stream's lines may take; past them, everything between
/// the common start and end counts as changed as a whole (two very different long outputs).
const LINE_EDIT_STEPS: usize = 1_000_000;

/// Steps the shortest edit script of the words of one changed region may take; past them, the
/// region's lines are changed as a whole, no word marked.
const WORD_EDIT_STEPS: usize = 250_000;

/// What the diffs of one rendering may still spend, shared by its clones: one for the whole page,
/// every cell and stream (see [`PAGE_DIFF_STEPS`]). Counted in steps, not time: the same on the
/// server and in the browser (where there is no clock to ask), so the page hydrates what the
/// server rendered.
#[derive(Debug, Clone)]
pub struct DiffBudget(Arc<AtomicUsize>);

impl DiffBudget {
    pub fn new(steps: usize) -> Self {
        Self(Arc::new(AtomicUsize::new(steps)))
    }

    /// A whole page's: [`PAGE_DIFF_STEPS`].
    pub fn for_page() -> Self {
        Self::new(PAGE_DIFF_STEPS)
    }

    /// Steps left.
    pub fn left(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    fn spend(&self, steps: usize) {
        let _ = self.0.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
            Some(left.saturating_sub(steps))
        });
    }
}

impl Default for DiffBudget {
    fn default() -> Self {
        Self::for_page()
    }
}

/// Budgets are equal when they are one budget: a fresh one is always news.
impl PartialEq for DiffBudget {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// A line diff of `other` against `base`, with changed words marked inside changed lines: in
/// a run of removed lines followed by added ones, the words that are not in both. `None` when
/// it would take more than `budget` has left, or more than [`STREAM_DIFF_STEPS`]: the diff is
/// too large to show. It takes what it spent from `budget`, at most that much.
///
/// Myers's shortest edit script, whose cost grows with the size of the difference (`(N+M)·D`),
/// after the common start and end; written out here rather than taken from a diff crate, to
/// keep the page's WASM small.
pub fn diff_lines(base: &str, other: &str, budget: &DiffBudget) -> Option<Vec<DiffLine>> {
    let mut steps = Steps::new(budget.left().min(STREAM_DIFF_STEPS));
    let lines = diff_within(base, other, &mut steps);
    budget.spend(steps.used);
    lines.ok()
}

/// The steps one diff may still take, and those it took.
#[derive(Debug)]
struct Steps {
    left: usize,
    used: usize,
}

/// Past the steps a diff may take.
#[derive(Debug)]
struct TooLarge;

impl Steps {
    fn new(left: usize) -> Self {
        Self { left, used: 0 }
    }

    /// Takes `n` steps, or all that are left and says the diff is too large.
    fn take(&mut self, n: usize) -> Result<(), TooLarge> {
        let taken = n.min(self.left);
        self.left -= taken;
        self.used += taken;
        match taken == n {
            true => Ok(()),
            false => Err(TooLarge),
        }
    }
}

fn diff_within(base: &str, other: &str, steps: &mut Steps) -> Result<Vec<DiffLine>, TooLarge> {
    let old: Vec<&str> = base.split_inclusive('\n').collect();
    let new: Vec<&str> = other.split_inclusive('\n').collect();
    steps.take(old.len() + new.len())?;
    let (old_ids, new_ids) = interned(&old, &new);
    // Past its steps, the middle is one changed region.
    let shared = common(&old_ids, &new_ids, LINE_EDIT_STEPS, steps)?.pairs;
    let mut lines = Vec::new();
    let (mut i, mut j) = (0, 0);
    for (same_i, same_j) in shared.into_iter().chain([(old.len(), new.len())]) {
        changed_lines(&old[i..same_i], &new[j..same_j], &mut lines, steps)?;
        if let Some(line) = old.get(same_i) {
            lines.push(plain_line(LineChange::Same, line));
        }
        (i, j) = (same_i + 1, same_j + 1);
    }
    Ok(lines)
}

/// The texts of `a` and `b` as numbers, equal where the texts are, so that comparing two long
/// lines is one step.
fn interned<'a>(a: &[&'a str], b: &[&'a str]) -> (Vec<u32>, Vec<u32>) {
    let mut ids: HashMap<&'a str, u32> = HashMap::with_capacity(a.len() + b.len());
    let mut id = |text: &&'a str| {
        let next = ids.len() as u32;
        *ids.entry(*text).or_insert(next)
    };
    let a_ids = a.iter().map(&mut id).collect();
    let b_ids = b.iter().map(&mut id).collect();
    (a_ids, b_ids)
}

/// Positions of a common subsequence of `a` and `b`, as pairs, in order.
#[derive(Debug)]
struct Common {
    pairs: Vec<(usize, usize)>,
    /// A longest one; false when the middle between the common start and end took more than its
    /// steps and is left out (changed as a whole).
    complete: bool,
}

fn common(a: &[u32], b: &[u32], cap: usize, steps: &mut Steps) -> Result<Common, TooLarge> {
    let start = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let end = a[start..]
        .iter()
        .rev()
        .zip(b[start..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    steps.take(start + end + 1)?;
    let (middle_a, middle_b) = (&a[start..a.len() - end], &b[start..b.len() - end]);
    let mut pairs: Vec<(usize, usize)> = (0..start).map(|k| (k, k)).collect();
    let middle = shortest_edit(middle_a, middle_b, cap, steps)?;
    let complete = middle.is_some();
    pairs.extend(middle.into_iter().flatten().map(|(i, j)| (start + i, start + j)));
    pairs.extend((0..end).map(|k| (a.len() - end + k, b.len() - end + k)));
    Ok(Common { pairs, complete })
}

/// The pairs of equal elements, in order, that a shortest edit script of `a` into `b` keeps (a
/// longest common subsequence), by Myers's algorithm ("An O(ND) Difference Algorithm and Its
/// Variations", 1986): `D` rounds, the `d`-th trying `d + 1` diagonals of the edit graph, each
/// following its run of equal elements. Each diagonal tried and each element compared is a step;
/// `Ok(None)` when that takes more than `cap` steps, `Err` past the steps of the diff.
fn shortest_edit(
    a: &[u32],
    b: &[u32],
    cap: usize,
    steps: &mut Steps,
) -> Result<Option<Vec<(usize, usize)>>, TooLarge> {
    let (n, m) = (a.len(), b.len());
    if n == 0 || m == 0 {
        return Ok(Some(Vec::new()));
    }
    let limit = cap.min(steps.left);
    // Round d tries d + 1 diagonals: past the limit, the rounds are over long before n + m.
    let rounds = (n + m).min(limit.saturating_mul(2).isqrt() + 1);
    // furthest[k + offset]: the furthest x reached on diagonal k = x - y, in the round before.
    let offset = rounds as isize + 1;
    let mut furthest = vec![0_u32; 2 * rounds + 3];
    // Round d's furthest x on diagonals -d, -d + 2, …, d; round d starts at d * (d + 1) / 2.
    let mut trace: Vec<u32> = Vec::new();
    let mut spent = 0;
    let mut last_round = None;
    'rounds: for d in 0..=rounds {
        let d_signed = d as isize;
        for k in (-d_signed..=d_signed).step_by(2) {
            let at = |k: isize| (k + offset) as usize;
            // Down from diagonal k + 1 (insert b[y]) or right from k - 1 (delete a[x]), whichever
            // got further.
            let down = k == -d_signed || (k != d_signed && furthest[at(k - 1)] < furthest[at(k + 1)]);
            let mut x = match down {
                true => furthest[at(k + 1)] as usize,
                false => furthest[at(k - 1)] as usize + 1,
            };
            let mut y = (x as isize - k) as usize;
            spent += 1;
            while x < n && y < m && a[x] == b[y] {
                (x, y) = (x + 1, y + 1);
                spent += 1;
            }
            furthest[at(k)] = x as u32;
            trace.push(x as u32);
            if x >= n && y >= m {
                last_round = Some(d);
                break 'rounds;
            }
            if spent > limit {
                break 'rounds;
            }
        }
    }
    steps.take(spent)?;
    let Some(rounds) = last_round else {
        return Ok(None);
    };
    // Back from (n, m), round by round, along the moves the rounds chose.
    let furthest_in = |d: usize, k: isize| trace[d * (d + 1) / 2 + ((k + d as isize) / 2) as usize] as usize;
    let mut pairs = Vec::with_capacity(n.min(m));
    let (mut x, mut y) = (n, m);
    for d in (1..=rounds).rev() {
        let (k, d_signed) = (x as isize - y as isize, d as isize);
        let down = k == -d_signed || (k != d_signed && furthest_in(d - 1, k - 1) < furthest_in(d - 1, k + 1));
        let before_k = if down { k + 1 } else { k - 1 };
        let before_x = furthest_in(d - 1, before_k);
        let before_y = (before_x as isize - before_k) as usize;
        let (run_x, run_y) = match down {
            true => (before_x, before_y + 1),
            false => (before_x + 1, before_y),
        };
        while x > run_x && y > run_y {
            (x, y) = (x - 1, y - 1);
            pairs.push((x, y));
        }
        (x, y) = (before_x, before_y);
    }
    while x > 0 && y > 0 {
        (x, y) = (x - 1, y - 1);
        pairs.push((x, y));
    }
    pairs.reverse();
    Ok(Some(pairs))
}

/// Lines only in the base (`removed`) and only in the other (`added`), removed first. When both
/// have some, the words they share are plain and the others marked; when finding them would
/// take too many steps, the lines are changed as a whole, none of their words marked.
fn changed_lines(
    removed: &[&str],
    added: &[&str],
    lines: &mut Vec<DiffLine>,
    steps: &mut Steps,
) -> Result<(), TooLarge> {
    let as_a_whole = |lines: &mut Vec<DiffLine>| {
        lines.extend(removed.iter().map(|line| plain_line(LineChange::Removed, line)));
        lines.extend(added.iter().map(|line| plain_line(LineChange::Added, line)));
    };
    if removed.is_empty() || added.is_empty() {
        as_a_whole(lines);
        return Ok(());
    }
    let old = words(removed);
    let new = words(added);
    steps.take(old.len() + new.len())?;
    let (old_ids, new_ids) = interned(&old, &new);
    let shared = common(&old_ids, &new_ids, WORD_EDIT_STEPS, steps)?;
    if !shared.complete {
        as_a_whole(lines);
        return Ok(());
    }
    let mut old_kept = vec![false; old.len()];
    let mut new_kept = vec![false; new.len()];
    for (i, j) in shared.pairs {
        old_kept[i] = true;
        new_kept[j] = true;
    }
    marked_lines(LineChange::Removed, &old, &old_kept, lines);
    marked_lines(LineChange::Added, &new, &new_kept, lines);
    Ok(())
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
    use crate::model::{Outcome, Status};

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
        assert_eq!(changed_in(&versions, &arrived), ["8.5.0"]);
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
        assert_eq!(changed_in(&versions, &arrived), ["8.2.29", "8.5.0"]);
        let before: Vec<_> = changes_at(&versions, &arrived)
            .into_iter()
            .map(|change| change.before.php_version)
            .collect();
        assert_eq!(before, ["7.4.33", "8.4.27"]);
    }

    /// The versions `changes_at` says the output changes in.
    fn changed_in(run: &[ImageInfo], results: &HashMap<String, VersionResult>) -> Vec<String> {
        changes_at(run, results)
            .into_iter()
            .map(|change| change.after.php_version)
            .collect()
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
            outcome: Outcome {
                exit_code: Some(0),
                stdout: stdout.into(),
                duration_ms: 10,
                ..Outcome::ended(Status::Ok)
            },
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
        assert_eq!(groups[0].result.outcome.stdout, "bool(false)\n");
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
        failed.outcome.exit_code = Some(255);
        failed.outcome.status = Status::Exit;
        let results = arrived(&[result("8.4.27", "same"), failed]);
        assert_eq!(group_results(&versions, &results).len(), 2);
        let mut noisy = result("8.5.7", "same");
        noisy.outcome.stderr = "warning".into();
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
        let lines = diff("same\nbool(true)\n", "same\nbool(false)\n");
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
        let lines = diff("a\nb\nc\nd\n", "a\nc\nx\nd\ne");
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
        let lines = diff(&base, &other);
        assert_eq!(lines.len(), 6000);
        assert!(lines[..3000].iter().all(|l| l.change == LineChange::Removed));
    }

    #[test]
    fn identical_texts_diff_to_unchanged_lines() {
        let lines = diff("a\nb\n", "a\nb\n");
        assert!(lines.iter().all(|l| l.change == LineChange::Same));
    }

    /// A diff within a budget of its own.
    fn diff(base: &str, other: &str) -> Vec<DiffLine> {
        diff_lines(base, other, &DiffBudget::for_page()).expect("a small diff")
    }

    /// The old diff's longest common subsequence, a table of `a.len() × b.len()` cells: the
    /// reference the edit scripts are checked against.
    fn lcs_length<T: PartialEq>(a: &[T], b: &[T]) -> usize {
        let width = b.len() + 1;
        let mut lengths = vec![0_u32; (a.len() + 1) * width];
        for i in (0..a.len()).rev() {
            for j in (0..b.len()).rev() {
                lengths[i * width + j] = match a[i] == b[j] {
                    true => lengths[(i + 1) * width + j + 1] + 1,
                    false => lengths[(i + 1) * width + j].max(lengths[i * width + j + 1]),
                };
            }
        }
        lengths[0] as usize
    }

    /// A small seeded generator (xorshift64*), so that a failure names the seed that made it.
    struct Random(u64);

    impl Random {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
            from[self.below(from.len())]
        }
    }

    /// An output of about `bytes` bytes: lines of words from a small vocabulary, so that lines
    /// and words repeat and a diff has much to find.
    fn output(random: &mut Random, bytes: usize) -> String {
        const WORDS: [&str; 10] = ["a", "b", "foo", "bar", " ", "  ", "(", ")", "1", "é"];
        let mut text = String::new();
        while text.len() < bytes {
            for _ in 0..random.below(12) {
                text.push_str(random.pick(&WORDS));
            }
            text.push('\n');
        }
        text
    }

    /// `text` with lines removed, added and changed here and there.
    fn edited(random: &mut Random, text: &str, edits: usize) -> String {
        let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_owned).collect();
        for _ in 0..edits {
            let at = random.below(lines.len() + 1);
            match random.below(3) {
                0 if at < lines.len() => {
                    lines.remove(at);
                }
                1 if at < lines.len() => lines[at] = format!("{} changed\n", lines[at].trim_end()),
                _ => lines.insert(at, output(random, 1)),
            }
        }
        lines.concat()
    }

    /// Both texts back from a diff (its kept and removed lines are the base, its kept and added
    /// ones the other), and in each changed region the words left unmarked alike on both sides.
    fn assert_valid_diff(base: &str, other: &str, lines: &[DiffLine], seed: u64) {
        let text = |line: &DiffLine| line.parts.iter().map(|(_, t)| t.as_str()).collect::<String>();
        let side = |keep: LineChange| -> Vec<String> {
            lines
                .iter()
                .filter(|l| l.change == LineChange::Same || l.change == keep)
                .map(text)
                .collect()
        };
        let lines_of = |s: &str| -> Vec<String> { s.lines().map(str::to_owned).collect() };
        assert_eq!(side(LineChange::Removed), lines_of(base), "seed {seed}: the base");
        assert_eq!(side(LineChange::Added), lines_of(other), "seed {seed}: the other");
        for region in lines.split(|l| l.change == LineChange::Same) {
            let unmarked = |change: LineChange| -> String {
                region
                    .iter()
                    .filter(|l| l.change == change)
                    .flat_map(|l| l.parts.iter().filter(|(marked, _)| !marked))
                    .map(|(_, t)| t.as_str())
                    .collect()
            };
            let removed = region.iter().any(|l| l.change == LineChange::Removed);
            let added = region.iter().any(|l| l.change == LineChange::Added);
            let marked = region.iter().any(|l| l.parts.iter().any(|(marked, _)| *marked));
            if removed && added && marked {
                assert_eq!(
                    unmarked(LineChange::Removed),
                    unmarked(LineChange::Added),
                    "seed {seed}: the words kept"
                );
            }
        }
    }

    #[test]
    fn the_edit_script_is_a_longest_common_subsequence_in_at_most_n_plus_m_times_d_steps() {
        for seed in 1..=400_u64 {
            let mut random = Random(seed);
            let (n, m) = (random.below(300), random.below(300));
            let alphabet = 1 + random.below(6) as u32;
            let a: Vec<u32> = (0..n).map(|_| random.next() as u32 % alphabet).collect();
            let b: Vec<u32> = match random.below(2) {
                0 => (0..m).map(|_| random.next() as u32 % alphabet).collect(),
                // Mostly `a`, a few changes.
                _ => a
                    .iter()
                    .map(|&x| if random.below(20) == 0 { x + 1 } else { x })
                    .collect(),
            };
            let mut steps = Steps::new(usize::MAX);
            let pairs = shortest_edit(&a, &b, usize::MAX, &mut steps).unwrap().unwrap();
            let (n, m) = (a.len(), b.len());
            let lcs = lcs_length(&a, &b);
            assert_eq!(pairs.len(), lcs, "seed {seed}");
            assert!(pairs.iter().all(|&(i, j)| a[i] == b[j]), "seed {seed}");
            assert!(
                pairs.windows(2).all(|p| p[0].0 < p[1].0 && p[0].1 < p[1].1),
                "seed {seed}"
            );
            let d = n + m - 2 * lcs;
            assert!(
                steps.used <= (d + 1) * (d + 1) + (2 * d + 1) * (n + m),
                "seed {seed}: {} steps for N + M = {}, D = {d}",
                steps.used,
                n + m
            );
            // A cap below what it needs: given up, having taken at most the cap and a run.
            if steps.used > 1 {
                let mut capped = Steps::new(usize::MAX);
                let cap = random.below(steps.used - 1);
                match shortest_edit(&a, &b, cap, &mut capped).unwrap() {
                    None => assert!(capped.used <= cap + 1 + n.min(m), "seed {seed}"),
                    Some(found) => assert_eq!(found.len(), lcs, "seed {seed}"),
                }
            }
        }
    }

    #[test]
    fn random_outputs_up_to_the_stream_cap_diff_validly_within_the_budget() {
        let (mut compared, mut too_large) = (0, 0);
        for seed in 1..=120_u64 {
            let mut random = Random(seed);
            // Up to 64 KiB a stream (the default cap), now and then 256 KiB (the stored cap).
            let bytes = match seed % 12 {
                0 => 256 * 1024,
                1..=3 => 64 * 1024,
                _ => random.below(8 * 1024),
            };
            let base = output(&mut random, bytes);
            let other = match random.below(3) {
                0 => output(&mut random, bytes),
                _ => {
                    let edits = random.below(60);
                    edited(&mut random, &base, edits)
                }
            };
            let budget = DiffBudget::for_page();
            let diffed = diff_lines(&base, &other, &budget);
            let spent = PAGE_DIFF_STEPS - budget.left();
            assert!(spent <= STREAM_DIFF_STEPS, "seed {seed}: {spent} steps");
            let Some(lines) = diffed else {
                assert_eq!(
                    spent, STREAM_DIFF_STEPS,
                    "seed {seed}: too large before its steps"
                );
                too_large += 1;
                continue;
            };
            assert_valid_diff(&base, &other, &lines, seed);
            // Where the line script finished, it kept as many lines as the reference does.
            let old: Vec<&str> = base.split_inclusive('\n').collect();
            let new: Vec<&str> = other.split_inclusive('\n').collect();
            let (old_ids, new_ids) = interned(&old, &new);
            let finished = common(&old_ids, &new_ids, LINE_EDIT_STEPS, &mut Steps::new(usize::MAX))
                .unwrap()
                .complete;
            if finished && old.len() * new.len() <= 16_000_000 {
                let kept = lines.iter().filter(|l| l.change == LineChange::Same).count();
                assert_eq!(kept, lcs_length(&old, &new), "seed {seed}");
                compared += 1;
            }
        }
        println!("{compared} of 120 diffs checked against the reference, {too_large} too large");
        assert!(
            compared >= 60,
            "only {compared} diffs were checked against the reference"
        );
    }

    /// The outputs of issue 23: 31 lines of 1000 random one-letter words, a blank line after
    /// each, different on each version.
    fn heavy_output(random: &mut Random) -> String {
        let mut text = String::new();
        for _ in 0..31 {
            let words: Vec<String> = (0..1000)
                .map(|_| char::from(b'a' + random.below(26) as u8).to_string())
                .collect();
            text.push_str(&words.join(" "));
            text.push_str("\n\n");
        }
        text
    }

    #[test]
    fn a_page_s_diffs_share_one_budget_and_the_rest_are_too_large() {
        let mut random = Random(23);
        let base = heavy_output(&mut random);
        let budget = DiffBudget::for_page();
        let mut too_large = 0;
        // 12 cells diffed against one base (4 versions × 4 ini variants, as in the issue).
        for _ in 0..12 {
            let other = heavy_output(&mut random);
            let before = budget.left();
            match diff_lines(&base, &other, &budget) {
                Some(lines) => assert_valid_diff(&base, &other, &lines, 23),
                None => too_large += 1,
            }
            assert!(before - budget.left() <= STREAM_DIFF_STEPS);
        }
        assert!(too_large > 0, "the page's budget ran out");
        assert_eq!(budget.left(), 0);
        // Once it is spent, a diff costs nothing and says so, however small.
        assert_eq!(diff_lines("a\n", "b\n", &budget), None);
        // A small diff still fits in what is left of a budget.
        let small = DiffBudget::new(100);
        assert!(diff_lines("a\nb\n", "a\nc\n", &small).is_some());
        assert!(small.left() < 100);
    }

    #[test]
    fn words_of_a_region_too_different_to_match_are_changed_as_a_whole() {
        let mut random = Random(7);
        let base = heavy_output(&mut random);
        let other = heavy_output(&mut random);
        // One region of one long line each: its word script is past its steps.
        let (one, two) = (base.lines().next().unwrap(), other.lines().next().unwrap());
        let lines = diff_lines(one, two, &DiffBudget::for_page()).unwrap();
        assert_eq!(lines.len(), 2);
        assert!(lines.iter().all(|l| l.parts.iter().all(|(marked, _)| !marked)));
    }
}
