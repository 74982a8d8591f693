//! Composer's version constraints (`^7.4 || ^8.1`, `~8.2.0`, `>=8.1 <8.4`, `8.*`, `7.4 - 8.2`,
//! `@stable` flags), read and matched as composer/semver 3 does (`VersionParser::normalize` and
//! `parseConstraints`, `Constraint::matchSpecific`, PHP's own `version_compare`), so that the
//! picker ticks exactly the PHP versions a project's `require.php` allows. A port, not a
//! look-alike: its unit tests are composer/semver's own `SemverTest` vectors.

use std::cmp::Ordering;

/// A parsed constraint: satisfied when all the bounds of any one of its groups are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionConstraint {
    any_of: Vec<Vec<Bound>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Bound {
    /// `*`: every version.
    Any,
    /// The version compared with a normalized one (`8.1.0.0-dev`, or a branch `dev-main`).
    Compare(Op, String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "" | "=" | "==" => Op::Eq,
            "!=" | "<>" => Op::Ne,
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            _ => return None,
        })
    }

    fn holds(self, order: Ordering) -> bool {
        match self {
            Op::Eq => order == Ordering::Equal,
            Op::Ne => order != Ordering::Equal,
            Op::Lt => order == Ordering::Less,
            Op::Le => order != Ordering::Greater,
            Op::Gt => order == Ordering::Greater,
            Op::Ge => order != Ordering::Less,
        }
    }
}

impl VersionConstraint {
    /// The constraint `text`, or why Composer would refuse it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let any_of = split_or(text.trim())
            .into_iter()
            .map(|group| {
                let mut bounds = Vec::new();
                for piece in split_and(group) {
                    bounds.extend(parse_one(&piece)?);
                }
                match bounds.is_empty() {
                    true => Err(format!("\"{text}\" has an empty alternative")),
                    false => Ok(bounds),
                }
            })
            .collect::<Result<_, String>>()?;
        Ok(Self { any_of })
    }

    /// Whether `version` (a PHP version such as `8.4.27` or `8.5.0RC2`) satisfies it; a
    /// version Composer cannot read satisfies nothing.
    pub fn allows(&self, version: &str) -> bool {
        let Ok(version) = normalize(version) else {
            return false;
        };
        self.any_of
            .iter()
            .any(|all| all.iter().all(|bound| bound.allows(&version)))
    }
}

impl Bound {
    /// `Constraint::matchSpecific` with a provider `== version`: `version op self`.
    fn allows(&self, version: &str) -> bool {
        let Bound::Compare(op, bound) = self else {
            return true;
        };
        let (a_branch, b_branch) = (version.starts_with("dev-"), bound.starts_with("dev-"));
        if *op == Op::Ne && (a_branch || b_branch) {
            return version != bound;
        }
        if a_branch && b_branch {
            return *op == Op::Eq && version == bound;
        }
        // Branches are not comparable: they never match a version.
        if a_branch || b_branch {
            return false;
        }
        op.holds(php_version_compare(version, bound))
    }
}

/// The text of the constraint a pasted `composer.json` asks of PHP (its `require.php`), or the
/// text itself when it is not a JSON object.
pub fn constraint_text(input: &str) -> Result<String, String> {
    let input = input.trim();
    if !input.starts_with('{') {
        return Ok(input.to_owned());
    }
    // Typed, not a `serde_json::Value`: the page's WASM stays smaller.
    #[derive(serde::Deserialize)]
    struct ComposerJson {
        #[serde(default)]
        require: Require,
    }
    #[derive(serde::Deserialize, Default)]
    struct Require {
        php: Option<String>,
    }
    let json: ComposerJson = serde_json::from_str(input).map_err(|e| format!("not a composer.json: {e}"))?;
    json.require
        .php
        .ok_or_else(|| "the composer.json requires no PHP version (no require.php)".into())
}

/// `preg_split('{\s*\|\|?\s*}')`: the alternatives.
fn split_or(text: &str) -> Vec<&str> {
    let mut groups = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find('|') {
        groups.push(rest[..at].trim());
        rest = rest[at + 1..].strip_prefix('|').unwrap_or(&rest[at + 1..]);
    }
    groups.push(rest.trim());
    groups
}

/// The constraints of one alternative, split at commas and spaces as Composer splits them: an
/// operator stays with its version (`>= 8.1`), a hyphen range with both ends (`7.4 - 8.2`), an
/// alias with its source (`1.0 as 2.0`).
fn split_and(group: &str) -> Vec<String> {
    let words: Vec<&str> = group
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|word| !word.is_empty())
        .collect();
    let mut pieces: Vec<String> = Vec::new();
    let mut glue_next = false;
    let mut index = 0;
    while index < words.len() {
        let word = words[index];
        let joins_previous = matches!(word, "-" | "as") && !pieces.is_empty() && index + 1 < words.len();
        if joins_previous {
            let last = pieces.last_mut().expect("not empty");
            last.push(' ');
            last.push_str(word);
            last.push(' ');
            last.push_str(words[index + 1]);
            index += 2;
            continue;
        }
        match glue_next {
            true => pieces.last_mut().expect("glued to one").push_str(word),
            false => pieces.push(word.to_owned()),
        }
        glue_next = Op::parse(word).is_some() && !word.is_empty();
        index += 1;
    }
    pieces
}

const STABILITY_FLAGS: [&str; 5] = ["stable", "RC", "beta", "alpha", "dev"];
/// `stable|beta|b|RC|alpha|a|patch|pl|p`, in the order the regex tries them.
const MODIFIER_WORDS: [&str; 9] = ["stable", "beta", "b", "RC", "alpha", "a", "patch", "pl", "p"];

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}

fn digits(text: &str) -> (&str, &str) {
    let end = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    text.split_at(end)
}

/// A match of Composer's modifier, `[._-]?(?:(word)((?:[.-]?\d+)*+)?)?([.-]?dev)?`.
#[derive(Debug, Clone, Copy, Default)]
struct Modifier<'a> {
    word: &'a str,
    word_number: &'a str,
    dev: bool,
}

/// Every way the modifier can match at the start of `text`, in the order the regex tries them,
/// each with what it leaves.
fn modifiers(text: &str) -> Vec<(Modifier<'_>, &str)> {
    let mut found = Vec::new();
    let separated = text
        .strip_prefix(['.', '_', '-'])
        .into_iter()
        .chain(std::iter::once(text));
    for after_separator in separated {
        let words = MODIFIER_WORDS.iter().filter_map(|word| {
            let rest = strip_prefix_ignore_case(after_separator, word)?;
            Some((&after_separator[..word.len()], rest))
        });
        for (word, rest) in words.chain(std::iter::once(("", after_separator))) {
            let (word_number, rest) = match word.is_empty() {
                true => ("", rest),
                false => word_numbers(rest),
            };
            let dev = rest
                .strip_prefix(['.', '-'])
                .and_then(|r| strip_prefix_ignore_case(r, "dev"))
                .or_else(|| strip_prefix_ignore_case(rest, "dev"));
            let modifier = Modifier {
                word,
                word_number,
                dev: false,
            };
            if let Some(after_dev) = dev {
                found.push((
                    Modifier {
                        dev: true,
                        ..modifier
                    },
                    after_dev,
                ));
            }
            found.push((modifier, rest));
        }
    }
    found
}

/// `(?:[.-]?\d+)*+`: the numbers after a stability word, taken possessively.
fn word_numbers(text: &str) -> (&str, &str) {
    let mut end = 0;
    loop {
        let rest = &text[end..];
        let unseparated = rest.strip_prefix(['.', '-']).unwrap_or(rest);
        let (number, _) = digits(unseparated);
        if number.is_empty() {
            break;
        }
        end += rest.len() - unseparated.len() + number.len();
    }
    text.split_at(end)
}

/// A match of Composer's version pattern in constraints, anchored at both ends:
/// `v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.(\d+))?(?:MODIFIER|\.([xX*][.-]?dev))(?:\+[^\s]+)?`.
#[derive(Debug, Clone, Default)]
struct Pattern<'a> {
    numbers: [&'a str; 4],
    modifier: Modifier<'a>,
    /// The `.x-dev` of a branch such as `2.x-dev`.
    x_dev: bool,
}

impl<'a> Pattern<'a> {
    fn parse(text: &'a str) -> Option<Self> {
        let text = text.strip_prefix(['v', 'V']).unwrap_or(text);
        let mut numbers = [""; 4];
        let (first, mut rest) = digits(text);
        if first.is_empty() {
            return None;
        }
        numbers[0] = first;
        for slot in numbers.iter_mut().skip(1) {
            let Some(after_dot) = rest.strip_prefix('.') else {
                break;
            };
            let (number, after) = digits(after_dot);
            if number.is_empty() {
                break;
            }
            *slot = number;
            rest = after;
        }
        let x_dev = rest
            .strip_prefix('.')
            .and_then(|r| r.strip_prefix(['x', 'X', '*']))
            .and_then(|r| {
                let r = r.strip_prefix(['.', '-']).unwrap_or(r);
                strip_prefix_ignore_case(r, "dev")
            })
            .filter(|r| is_build_or_end(r));
        if x_dev.is_some() {
            return Some(Self {
                numbers,
                x_dev: true,
                ..Self::default()
            });
        }
        let (modifier, _) = modifiers(rest)
            .into_iter()
            .find(|(_, after)| is_build_or_end(after))?;
        Some(Self {
            numbers,
            modifier,
            x_dev: false,
        })
    }

    /// The position of the last number given (1 to 4).
    fn last_given(&self) -> usize {
        self.numbers
            .iter()
            .rposition(|n| !n.is_empty())
            .map_or(1, |i| i + 1)
    }

    /// Composer's `manipulateVersionString`: the numbers up to `position`, the one there
    /// increased by `increment`, zeros after.
    fn manipulated(&self, position: usize, increment: u64) -> String {
        let parts: Vec<String> = (1..=4)
            .map(|i| match i.cmp(&position) {
                Ordering::Greater => "0".to_owned(),
                Ordering::Equal if increment > 0 => {
                    (self.numbers[i - 1].parse::<u64>().unwrap_or(0) + increment).to_string()
                }
                _ => self.numbers[i - 1].to_owned(),
            })
            .collect();
        parts.join(".")
    }

    /// Whether it names a stability (or a dev branch), which keeps `-dev` off its lower bound.
    fn has_stability(&self) -> bool {
        !self.modifier.word.is_empty() || self.modifier.dev || self.x_dev
    }
}

fn is_build_or_end(text: &str) -> bool {
    text.is_empty()
        || text
            .strip_prefix('+')
            .is_some_and(|b| !b.is_empty() && !b.contains(char::is_whitespace))
}

/// Composer's `parseConstraint`: one constraint (no `||`, no space) as bounds.
fn parse_one(text: &str) -> Result<Vec<Bound>, String> {
    let refuse = |why: String| format!("could not read the constraint \"{text}\": {why}");
    let mut constraint = strip_alias(text);
    let mut stability = None;
    if let Some((before, flag)) = constraint.rsplit_once('@') {
        if is_stability_flag(flag) && !before.contains([',', ' ']) {
            stability = (flag != "stable").then_some(flag);
            constraint = if before.is_empty() { "*" } else { before };
        }
    }
    let wildcard = constraint.strip_prefix(['v', 'V']).unwrap_or(constraint);
    if !wildcard.is_empty() && wildcard.split('.').all(|part| matches!(part, "x" | "X" | "*")) {
        return Ok(match wildcard.len() == constraint.len() && wildcard.len() == 1 {
            true => vec![Bound::Any],
            false => vec![Bound::Compare(Op::Ge, "0.0.0.0-dev".into())],
        });
    }
    if let Some(rest) = constraint.strip_prefix('~') {
        if rest.starts_with('>') {
            return Err(refuse("the operator \"~>\" is not Composer's; \"~\" is".into()));
        }
        if let Some(pattern) = Pattern::parse(rest) {
            let position = pattern.last_given() + usize::from(pattern.x_dev);
            let low = normalize(&with_dev_unless_stable(rest, &pattern)).map_err(refuse)?;
            let high = pattern.manipulated(position.saturating_sub(1).max(1), 1);
            return Ok(vec![
                Bound::Compare(Op::Ge, low),
                Bound::Compare(Op::Lt, format!("{high}-dev")),
            ]);
        }
    }
    if let Some(rest) = constraint.strip_prefix('^') {
        if let Some(pattern) = Pattern::parse(rest) {
            let [major, minor, patch, _] = pattern.numbers;
            let position = if major != "0" || minor.is_empty() {
                1
            } else if minor != "0" || patch.is_empty() {
                2
            } else {
                3
            };
            let low = normalize(&with_dev_unless_stable(rest, &pattern)).map_err(refuse)?;
            let high = pattern.manipulated(position, 1);
            return Ok(vec![
                Bound::Compare(Op::Ge, low),
                Bound::Compare(Op::Lt, format!("{high}-dev")),
            ]);
        }
    }
    if let Some(pattern) = x_range(constraint) {
        let position = pattern.last_given();
        let low = format!("{}-dev", pattern.manipulated(position, 0));
        let high = format!("{}-dev", pattern.manipulated(position, 1));
        return Ok(match low == "0.0.0.0-dev" {
            true => vec![Bound::Compare(Op::Lt, high)],
            false => vec![Bound::Compare(Op::Ge, low), Bound::Compare(Op::Lt, high)],
        });
    }
    if let Some((from, to)) = hyphen_range(constraint) {
        let (low_pattern, high_pattern) = (Pattern::parse(from), Pattern::parse(to));
        if let (Some(low_pattern), Some(high_pattern)) = (low_pattern, high_pattern) {
            let mut low = normalize(from).map_err(refuse)?;
            if !low_pattern.has_stability() {
                low.push_str("-dev");
            }
            let [_, minor, patch, _] = high_pattern.numbers;
            let exact = (!minor.is_empty() && !patch.is_empty()) || high_pattern.has_stability();
            let high = match exact {
                true => Bound::Compare(Op::Le, normalize(to).map_err(refuse)?),
                false => {
                    normalize(to).map_err(refuse)?;
                    let position = if minor.is_empty() { 1 } else { 2 };
                    Bound::Compare(Op::Lt, format!("{}-dev", high_pattern.manipulated(position, 1)))
                }
            };
            return Ok(vec![Bound::Compare(Op::Ge, low), high]);
        }
    }
    basic(constraint, stability).map_err(refuse)
}

/// `~1.2` and `^1.2` start from `1.2.0.0-dev`, so that 1.2's own pre-releases count; a
/// stability given (`^1.2@beta`, `~1.2-RC1`) starts there.
fn with_dev_unless_stable(version: &str, pattern: &Pattern<'_>) -> String {
    match pattern.has_stability() {
        false => format!("{version}-dev"),
        true => version.to_owned(),
    }
}

/// `^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.[xX*])++$`: `8.*`, `8.1.x`.
fn x_range(text: &str) -> Option<Pattern<'_>> {
    let body = text.strip_prefix(['v', 'V']).unwrap_or(text);
    let mut numbers = [""; 4];
    let mut given = 0;
    let mut wildcards = 0;
    for part in body.split('.') {
        if matches!(part, "x" | "X" | "*") {
            wildcards += 1;
            continue;
        }
        let is_number = !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        if wildcards > 0 || !is_number || given == 3 {
            return None;
        }
        numbers[given] = part;
        given += 1;
    }
    (given > 0 && wildcards > 0).then_some(Pattern {
        numbers,
        ..Pattern::default()
    })
}

/// `FROM - TO`, as [`split_and`] glued it.
fn hyphen_range(text: &str) -> Option<(&str, &str)> {
    let mut words = text.split_whitespace();
    match (words.next(), words.next(), words.next(), words.next()) {
        (Some(from), Some("-"), Some(to), None) => Some((from, to)),
        _ => None,
    }
}

/// `^(<>|!=|>=?|<=?|==?)?\s*(.*)`: a version compared.
fn basic(text: &str, stability: Option<&str>) -> Result<Vec<Bound>, String> {
    let op_len = text
        .find(|c: char| !matches!(c, '<' | '>' | '=' | '!'))
        .unwrap_or(text.len());
    let (op_text, version_text) = text.split_at(op_len);
    let op = Op::parse(op_text).ok_or_else(|| format!("\"{op_text}\" is not an operator"))?;
    let version_text = version_text.trim_start();
    let mut version = match normalize(version_text) {
        Ok(version) => version,
        // `foo-dev` is the branch `dev-foo`, unless an operator says it must be a version.
        Err(_)
            if op_text.is_empty()
                && version_text.len() > 4
                && version_text.ends_with("-dev")
                && version_text
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-./".contains(&b)) =>
        {
            normalize(&format!("dev-{}", &version_text[..version_text.len() - 4]))?
        }
        Err(why) => return Err(why),
    };
    if let Some(flag) = stability.filter(|_| op != Op::Eq && stability_of(&version) == "stable") {
        version.push('-');
        version.push_str(flag);
    } else if matches!(op, Op::Lt | Op::Ge)
        && !has_hyphen_modifier(&version_text.to_ascii_lowercase())
        && !version_text.starts_with("dev-")
    {
        version.push_str("-dev");
    }
    Ok(vec![Bound::Compare(op, version)])
}

/// `/-MODIFIER$/`: a hyphen with a modifier after it up to the end (`1.0-beta`, `1.0-`).
fn has_hyphen_modifier(text: &str) -> bool {
    text.match_indices('-').any(|(at, _)| {
        modifiers(&text[at + 1..])
            .iter()
            .any(|(_, after)| after.is_empty())
    })
}

fn is_stability_flag(text: &str) -> bool {
    STABILITY_FLAGS.iter().any(|flag| flag.eq_ignore_ascii_case(text))
}

/// `VersionParser::parseStability` of a normalized version.
fn stability_of(version: &str) -> &'static str {
    if version.starts_with("dev-") || version.ends_with("-dev") {
        return "dev";
    }
    let lower = version.to_ascii_lowercase();
    let word = lower.rsplit_once('-').map_or("", |(_, modifier)| modifier);
    match word.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.') {
        "beta" | "b" => "beta",
        "alpha" | "a" => "alpha",
        "rc" => "RC",
        _ => "stable",
    }
}

/// `1.0 as 2.0`: the version aliased, not the alias.
fn strip_alias(text: &str) -> &str {
    let mut words = text.split_whitespace();
    match (words.next(), words.next(), words.next(), words.next()) {
        (Some(source), Some("as"), Some(_), None) => source,
        _ => text,
    }
}

/// Composer's `VersionParser::normalize`: `8.4` is `8.4.0.0`, `8.5.0RC2` is `8.5.0.0-RC2`,
/// `1.x-dev` is `1.9999999.9999999.9999999-dev`, `dev-main` stays a branch.
fn normalize(version: &str) -> Result<String, String> {
    let refuse = || format!("\"{version}\" is not a version");
    let mut text = strip_alias(version.trim());
    if let Some((before, flag)) = text.rsplit_once('@') {
        if is_stability_flag(flag) {
            text = before;
        }
    }
    if matches!(text, "master" | "trunk" | "default") {
        return Ok(format!("dev-{text}"));
    }
    if let Some(branch) = strip_prefix_ignore_case(text, "dev-") {
        return Ok(format!("dev-{branch}"));
    }
    if let Some((before, build)) = text.split_once('+') {
        if !before.is_empty() && !before.contains([',', ' ']) && is_build_or_end(&format!("+{build}")) {
            text = before;
        }
    }
    if let Some(normal) = classical(text) {
        return Ok(normal);
    }
    let branch = text
        .len()
        .checked_sub(3)
        .filter(|&at| text.is_char_boundary(at) && text[at..].eq_ignore_ascii_case("dev"))
        .map(|at| text[..at].strip_suffix(['.', '-']).unwrap_or(&text[..at]));
    if let Some(normal) = branch.and_then(numeric_branch) {
        return Ok(normal);
    }
    Err(refuse())
}

/// `^v?(\d{1,5}+)(\.\d++)?(\.\d++)?(\.\d++)?MODIFIER$`, in its normal form.
fn classical(text: &str) -> Option<String> {
    let body = text.strip_prefix(['v', 'V']).unwrap_or(text);
    let (major, mut rest) = digits(body);
    if major.is_empty() || major.len() > 5 {
        return None;
    }
    let mut numbers = vec![major];
    while numbers.len() < 4 {
        let Some(after_dot) = rest.strip_prefix('.') else {
            break;
        };
        let (number, after) = digits(after_dot);
        if number.is_empty() {
            break;
        }
        numbers.push(number);
        rest = after;
    }
    let (modifier, _) = modifiers(rest).into_iter().find(|(_, after)| after.is_empty())?;
    let mut normal = (0..4)
        .map(|i| numbers.get(i).copied().unwrap_or("0"))
        .collect::<Vec<_>>()
        .join(".");
    if !modifier.word.is_empty() {
        if modifier.word == "stable" {
            return Some(normal);
        }
        normal.push('-');
        normal.push_str(expand_stability(modifier.word));
        normal.push_str(modifier.word_number.trim_start_matches(['.', '-']));
    }
    if modifier.dev {
        normal.push_str("-dev");
    }
    Some(normal)
}

fn expand_stability(word: &str) -> &'static str {
    match word.to_ascii_lowercase().as_str() {
        "a" | "alpha" => "alpha",
        "b" | "beta" => "beta",
        "p" | "pl" | "patch" => "patch",
        "rc" => "RC",
        _ => "stable",
    }
}

/// `VersionParser::normalizeBranch` of a numeric branch: `1.x` is `1.9999999.9999999.9999999-dev`.
fn numeric_branch(name: &str) -> Option<String> {
    let body = name.trim();
    let body = body.strip_prefix(['v', 'V']).unwrap_or(body);
    let parts: Vec<&str> = body.split('.').collect();
    let numeric = |part: &&str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    let wildcard = |part: &&str| matches!(*part, "x" | "X" | "*");
    if parts.len() > 4 || !numeric(&parts[0]) || !parts[1..].iter().all(|p| numeric(p) || wildcard(p)) {
        return None;
    }
    let filled = (0..4)
        .map(|i| match parts.get(i) {
            Some(part) if !wildcard(part) => part.to_string(),
            _ => "9999999".to_owned(),
        })
        .collect::<Vec<_>>()
        .join(".");
    Some(format!("{filled}-dev"))
}

/// PHP's `version_compare` (`ext/standard/versioning.c`): the versions canonicalized (`-`, `_`,
/// `+` and any change between digits and letters become dots), then compared part by part,
/// numbers as numbers and words by `dev < alpha = a < beta = b < RC = rc < # < pl = p`.
pub fn php_version_compare(a: &str, b: &str) -> Ordering {
    let (a, b) = (canonical(a), canonical(b));
    let (mut left, mut right) = (a.split('.'), b.split('.'));
    loop {
        match (left.next(), right.next()) {
            (Some(l), Some(r)) => {
                let order = compare_parts(l, r);
                if order != Ordering::Equal {
                    return order;
                }
            }
            // The longer is newer if it goes on with a number (`1.0.1` after `1.0`), and
            // older or newer by the word it goes on with (`1.0-dev` before `1.0`).
            (Some(l), None) if is_number(l) => return Ordering::Greater,
            (Some(l), None) => return compare_parts(l, "#N#"),
            (None, Some(r)) if is_number(r) => return Ordering::Less,
            (None, Some(r)) => return compare_parts("#N#", r),
            (None, None) => return Ordering::Equal,
        }
    }
}

fn canonical(version: &str) -> String {
    let mut out = String::with_capacity(version.len() * 2);
    let mut chars = version.chars();
    let Some(first) = chars.next() else {
        return out;
    };
    out.push(first);
    let mut previous = first;
    for c in chars {
        let special = matches!(c, '-' | '_' | '+');
        let digit = |c: char| c.is_ascii_digit();
        let not_digit = |c: char| !c.is_ascii_digit() && c != '.';
        let switches = (not_digit(previous) && digit(c)) || (digit(previous) && not_digit(c));
        if special || switches || !c.is_ascii_alphanumeric() {
            if !out.ends_with('.') {
                out.push('.');
            }
            if !special && switches {
                out.push(c);
            }
        } else {
            out.push(c);
        }
        previous = c;
    }
    out
}

fn is_number(part: &str) -> bool {
    part.starts_with(|c: char| c.is_ascii_digit())
}

fn compare_parts(l: &str, r: &str) -> Ordering {
    match (is_number(l), is_number(r)) {
        (true, true) => leading_number(l).cmp(&leading_number(r)),
        (false, false) => special_order(l).cmp(&special_order(r)),
        (true, false) => special_order("#N#").cmp(&special_order(r)),
        (false, true) => special_order(l).cmp(&special_order("#N#")),
    }
}

fn leading_number(part: &str) -> u64 {
    digits(part).0.parse().unwrap_or(u64::MAX)
}

/// The order of PHP's special version words, by prefix as PHP matches them; -1 for any other.
fn special_order(part: &str) -> i32 {
    const FORMS: [(&str, i32); 10] = [
        ("dev", 0),
        ("alpha", 1),
        ("a", 1),
        ("beta", 2),
        ("b", 2),
        ("RC", 3),
        ("rc", 3),
        ("#", 4),
        ("pl", 5),
        ("p", 5),
    ];
    FORMS
        .iter()
        .find(|(name, _)| part.starts_with(name))
        .map_or(-1, |&(_, order)| order)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn satisfies(version: &str, constraint: &str) -> bool {
        VersionConstraint::parse(constraint)
            .unwrap_or_else(|e| panic!("{constraint:?}: {e}"))
            .allows(version)
    }

    /// composer/semver's `SemverTest::satisfiesProviderPositive` (MIT, Composer), whole.
    const SATISFIED: &[(&str, &str)] = &[
        ("1.2.3", "1.0.0 - 2.0.0"),
        ("1.2.3", "^1.2.3+build"),
        ("1.3.0", "^1.2.3+build"),
        ("2.4.3-alpha", "1.2.3+asdf - 2.4.3+asdf"),
        ("1.3.0-beta", ">1.2"),
        ("1.2.3-beta", "<=1.2.3"),
        ("1.2.3-beta", "^1.2.3"),
        ("1.2.3", "1.2.3+asdf - 2.4.3+asdf"),
        ("1.0.0", "1.0.0"),
        ("1.2.3", "*"),
        ("v1.2.3", "*"),
        ("1.0.0", ">=1.0.0"),
        ("1.0.1", ">=1.0.0"),
        ("1.1.0", ">=1.0.0"),
        ("1.0.1", ">1.0.0"),
        ("1.1.0", ">1.0.0"),
        ("2.0.0", "<=2.0.0"),
        ("1.9999.9999", "<=2.0.0"),
        ("0.2.9", "<=2.0.0"),
        ("1.9999.9999", "<2.0.0"),
        ("0.2.9", "<2.0.0"),
        ("1.0.0", ">= 1.0.0"),
        ("1.0.1", ">=  1.0.0"),
        ("1.1.0", ">=   1.0.0"),
        ("1.0.1", "> 1.0.0"),
        ("1.1.0", ">  1.0.0"),
        ("2.0.0", "<=   2.0.0"),
        ("1.9999.9999", "<= 2.0.0"),
        ("0.2.9", "<=  2.0.0"),
        ("1.9999.9999", "<    2.0.0"),
        ("0.2.9", "<\t2.0.0"),
        ("v0.1.97", ">=0.1.97"),
        ("0.1.97", ">=0.1.97"),
        ("1.2.4", "0.1.20 || 1.2.4"),
        ("0.0.0", ">=0.2.3 || <0.0.1"),
        ("0.2.3", ">=0.2.3 || <0.0.1"),
        ("0.2.4", ">=0.2.3 || <0.0.1"),
        ("2.1.3", "2.x.x"),
        ("1.2.3", "1.2.x"),
        ("2.1.3", "1.2.x || 2.x"),
        ("1.2.3", "1.2.x || 2.x"),
        ("1.2.3", "x"),
        ("2.1.3", "2.*.*"),
        ("1.2.3", "1.2.*"),
        ("2.1.3", "1.2.* || 2.*"),
        ("1.2.3", "1.2.* || 2.*"),
        ("1.2.3", "*"),
        ("2.9.0", "~2.4"),
        ("2.4.5", "~2.4"),
        ("1.2.3", "~1"),
        ("1.4.7", "~1.0"),
        ("1.0.0", ">=1"),
        ("1.0.0", ">= 1"),
        ("1.2.8", ">1.2"),
        ("1.1.1", "<1.2"),
        ("1.1.1", "< 1.2"),
        ("1.2.3", "~1.2.1 >=1.2.3"),
        ("1.2.3", "~1.2.1 =1.2.3"),
        ("1.2.3", "~1.2.1 1.2.3"),
        ("1.2.3", "~1.2.1 >=1.2.3 1.2.3"),
        ("1.2.3", "~1.2.1 1.2.3 >=1.2.3"),
        ("1.2.3", "~1.2.1 1.2.3"),
        ("1.2.3", ">=1.2.1 1.2.3"),
        ("1.2.3", "1.2.3 >=1.2.1"),
        ("1.2.3", ">=1.2.3 >=1.2.1"),
        ("1.2.3", ">=1.2.1 >=1.2.3"),
        ("1.2.8", ">=1.2"),
        ("1.8.1", "^1.2.3"),
        ("0.1.2", "^0.1.2"),
        ("0.1.2", "^0.1"),
        ("1.4.2", "^1.2"),
        ("1.4.2", "^1.2 ^1"),
        ("0.0.1-beta", "^0.0.1-alpha"),
    ];

    /// composer/semver's `SemverTest::satisfiesProviderNegative` (MIT, Composer), whole.
    const NOT_SATISFIED: &[(&str, &str)] = &[
        ("2.2.3", "1.0.0 - 2.0.0"),
        ("2.0.0", "^1.2.3+build"),
        ("1.2.0", "^1.2.3+build"),
        ("1.0.0beta", "1"),
        ("1.0.0beta", "<1"),
        ("1.0.0beta", "< 1"),
        ("1.0.1", "1.0.0"),
        ("0.0.0", ">=1.0.0"),
        ("0.0.1", ">=1.0.0"),
        ("0.1.0", ">=1.0.0"),
        ("0.0.1", ">1.0.0"),
        ("0.1.0", ">1.0.0"),
        ("3.0.0", "<=2.0.0"),
        ("2.9999.9999", "<=2.0.0"),
        ("2.2.9", "<=2.0.0"),
        ("2.9999.9999", "<2.0.0"),
        ("2.2.9", "<2.0.0"),
        ("v0.1.93", ">=0.1.97"),
        ("0.1.93", ">=0.1.97"),
        ("1.2.3", "0.1.20 || 1.2.4"),
        ("0.0.3", ">=0.2.3 || <0.0.1"),
        ("0.2.2", ">=0.2.3 || <0.0.1"),
        ("1.1.3", "2.x.x"),
        ("3.1.3", "2.x.x"),
        ("1.3.3", "1.2.x"),
        ("3.1.3", "1.2.x || 2.x"),
        ("1.1.3", "1.2.x || 2.x"),
        ("1.1.3", "2.*.*"),
        ("3.1.3", "2.*.*"),
        ("1.3.3", "1.2.*"),
        ("3.1.3", "1.2.* || 2.*"),
        ("1.1.3", "1.2.* || 2.*"),
        ("1.1.2", "2"),
        ("2.4.1", "2.3"),
        ("3.0.0", "~2.4"),
        ("2.3.9", "~2.4"),
        ("0.2.3", "~1"),
        ("1.0.0", "<1"),
        ("1.1.1", ">=1.2"),
        ("2.0.0beta", "1"),
        ("0.5.4-alpha", "~v0.5.4-beta"),
        ("1.2.3-beta", "<1.2.3"),
        ("2.0.0-alpha", "^1.2.3"),
        ("1.2.2", "^1.2.3"),
        ("1.1.9", "^1.2"),
    ];

    #[test]
    fn composer_s_own_vectors_are_satisfied_as_composer_says() {
        for (version, constraint) in SATISFIED {
            assert!(
                satisfies(version, constraint),
                "{version} should satisfy {constraint:?}"
            );
        }
        for (version, constraint) in NOT_SATISFIED {
            assert!(
                !satisfies(version, constraint),
                "{version} should not satisfy {constraint:?}"
            );
        }
    }

    /// composer/semver's `SemverTest::satisfiedByProvider`.
    #[test]
    fn composer_s_own_lists_are_filtered_as_composer_filters_them() {
        let cases: [(&str, &[&str], &[&str]); 3] = [
            (
                "~1.0",
                &["1.0", "1.2", "1.9999.9999", "2.0", "2.1", "0.9999.9999"],
                &["1.0", "1.2", "1.9999.9999"],
            ),
            (
                ">1.0 <3.0 || >=4.0",
                &[
                    "1.0",
                    "1.1",
                    "2.9999.9999",
                    "3.0",
                    "3.1",
                    "3.9999.9999",
                    "4.0",
                    "4.1",
                ],
                &["1.1", "2.9999.9999", "4.0", "4.1"],
            ),
            (
                "^0.2.0",
                &["0.1.1", "0.1.9999", "0.2.0", "0.2.1", "0.3.0"],
                &["0.2.0", "0.2.1"],
            ),
        ];
        for (constraint, versions, expected) in cases {
            let constraint = VersionConstraint::parse(constraint).unwrap();
            let kept: Vec<&str> = versions
                .iter()
                .copied()
                .filter(|v| constraint.allows(v))
                .collect();
            assert_eq!(kept, expected);
        }
    }

    #[test]
    fn php_versions_are_picked_as_a_project_s_require_php_would() {
        let versions = [
            "7.4.33", "8.1.31", "8.2.29", "8.3.20", "8.4.27", "8.5.0RC2", "8.5.1",
        ];
        let picked = |constraint: &str| -> Vec<&str> {
            let constraint = VersionConstraint::parse(constraint).unwrap();
            versions
                .iter()
                .copied()
                .filter(|v| constraint.allows(v))
                .collect()
        };
        assert_eq!(picked("^7.4 || ^8.1"), versions);
        assert_eq!(
            picked("^8.2"),
            ["8.2.29", "8.3.20", "8.4.27", "8.5.0RC2", "8.5.1"]
        );
        assert_eq!(picked("~8.2.0"), ["8.2.29"]);
        assert_eq!(picked(">=8.1 <8.4"), ["8.1.31", "8.2.29", "8.3.20"]);
        assert_eq!(picked(">=8.1, <8.4"), ["8.1.31", "8.2.29", "8.3.20"]);
        assert_eq!(
            picked("8.*"),
            ["8.1.31", "8.2.29", "8.3.20", "8.4.27", "8.5.0RC2", "8.5.1"]
        );
        assert_eq!(picked("7.4 - 8.2"), ["7.4.33", "8.1.31", "8.2.29"]);
        assert_eq!(picked("8.5.*@RC"), ["8.5.0RC2", "8.5.1"]);
        assert_eq!(
            picked(">=8.5"),
            ["8.5.0RC2", "8.5.1"],
            "8.5's pre-releases count for >=8.5"
        );
        assert_eq!(picked(">8.5.0"), ["8.5.1"], "8.5.0RC2 comes before 8.5.0");
        assert_eq!(
            picked("!=8.4.27"),
            ["7.4.33", "8.1.31", "8.2.29", "8.3.20", "8.5.0RC2", "8.5.1"]
        );
        assert_eq!(picked("dev-main"), Vec::<&str>::new(), "a branch is no version");
    }

    #[test]
    fn what_composer_refuses_is_refused_with_a_reason() {
        for bad in [
            "",
            "^",
            "~>1.2",
            ">=",
            "8.4 ||",
            "eight",
            "8.4.1.2.3",
            "^8.1 >=foo",
        ] {
            let error = VersionConstraint::parse(bad).expect_err(bad);
            assert!(!error.is_empty(), "{bad:?}");
        }
    }

    #[test]
    fn a_pasted_composer_json_gives_its_require_php() {
        let json = r#"{"name": "acme/app", "require": {"php": "^8.1", "monolog/monolog": "^3"}}"#;
        assert_eq!(constraint_text(json).unwrap(), "^8.1");
        assert_eq!(constraint_text("  ^7.4 || ^8.0 ").unwrap(), "^7.4 || ^8.0");
        assert!(constraint_text(r#"{"require": {}}"#)
            .unwrap_err()
            .contains("no require.php"));
        assert!(constraint_text("{nope")
            .unwrap_err()
            .contains("not a composer.json"));
    }

    #[test]
    fn versions_compare_as_php_s_version_compare_does() {
        use Ordering::*;
        let cases = [
            ("1.0.0.0-dev", "1.0.0.0", Less),
            ("1.0.0.0-alpha", "1.0.0.0-beta", Less),
            ("1.0.0.0-RC1", "1.0.0.0", Less),
            ("1.0.0.0-patch1", "1.0.0.0", Greater),
            ("8.5.0RC2", "8.5.0", Less),
            ("8.10.0", "8.9.0", Greater),
            ("1.0", "1.0.0", Less),
            ("1.0.0.0", "1.0.0.0", Equal),
        ];
        for (a, b, order) in cases {
            assert_eq!(php_version_compare(a, b), order, "{a} vs {b}");
        }
    }
}
