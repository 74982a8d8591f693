use super::*;
use crate::model::{Clock, Outcome, Status};
use crate::version_constraint::php_version_compare;
use std::cmp::Ordering;

fn result(image: &str, version: &str, stdout: &str) -> VersionResult {
    VersionResult {
        outcome: Outcome {
            exit_code: Some(0),
            stdout: stdout.into(),
            ..Outcome::ended(Status::Ok)
        },
        ..VersionResult::new(image.to_owned(), version, Status::Ok)
    }
}

fn on(version: &str, stdout: &str) -> VersionResult {
    result(&format!("php:{version}-cli"), version, stdout)
}

fn snippet(results: Vec<VersionResult>) -> Snippet {
    Snippet {
        id: "4k2m9x".into(),
        code: "<?php\necho PHP_MAJOR_VERSION >= 8 ? \"new\\n\" : \"old\\n\";\n".into(),
        created_at: "2026-12-04T05:00:00Z".into(),
        stdin: String::new(),
        clock: Clock::Saved,
        clock_at: Some("2026-12-04T05:00:00Z".into()),
        show: Show::Output,
        ini: Vec::new(),
        results,
    }
}

/// Each group's ranges as labels, oldest group first.
fn holds_for(results: &[VersionResult]) -> Vec<Vec<String>> {
    pin_groups(results)
        .iter()
        .map(|pinned| pinned.holds_for.iter().map(Range::label).collect())
        .collect()
}

/// Whether `version` is inside `range` by PHP's `version_compare`.
fn inside(range: &Range, version: &str) -> bool {
    range.comparisons().iter().all(|(operator, bound)| {
        let order = php_version_compare(version, bound);
        match *operator {
            ">=" => order != Ordering::Less,
            "<=" => order != Ordering::Greater,
            "<" => order == Ordering::Less,
            other => panic!("unexpected operator {other}"),
        }
    })
}

#[test]
fn a_group_holds_for_the_minor_versions_of_its_ends_and_what_lies_between_them() {
    let results = [
        on("7.4.33", "old\n"),
        on("8.2.29", "new\n"),
        on("8.4.12", "new\n"),
        on("8.5.0", "new\n"),
    ];
    assert_eq!(holds_for(&results), [vec!["7.4.*"], vec!["8.2.0 – 8.5.*"]]);
    let pinned = pin_groups(&results);
    let newer = &pinned[1].holds_for[0];
    for version in ["8.2.0", "8.3.7", "8.5.0RC2", "8.5.99"] {
        assert!(inside(newer, version), "{version} is in 8.2 – 8.5");
    }
    for version in ["8.1.31", "8.6.0-dev", "7.4.33"] {
        assert!(!inside(newer, version), "{version} is not in 8.2 – 8.5");
    }
    assert!(inside(&pinned[0].holds_for[0], "7.4.0"));
    assert!(!inside(&pinned[0].holds_for[0], "8.0.0"));
}

#[test]
fn within_one_minor_a_change_stops_both_groups_at_their_own_releases() {
    let results = [
        on("8.4.5", "before\n"),
        on("8.4.12", "after\n"),
        on("8.5.0", "after\n"),
    ];
    assert_eq!(
        holds_for(&results),
        [vec!["8.4.0 – 8.4.5"], vec!["8.4.12 – 8.5.*"]]
    );
    let pinned = pin_groups(&results);
    assert!(!inside(&pinned[0].holds_for[0], "8.4.6"), "8.4.6 was not run");
    assert!(!inside(&pinned[1].holds_for[0], "8.4.11"), "8.4.11 was not run");
}

#[test]
fn a_group_on_both_sides_of_another_holds_for_two_ranges() {
    let results = [on("7.4.33", "a\n"), on("8.2.29", "b\n"), on("8.5.0", "a\n")];
    assert_eq!(holds_for(&results), [vec!["7.4.*", "8.5.*"], vec!["8.2.*"]]);
}

#[test]
fn a_version_that_printed_two_things_is_claimed_by_neither() {
    let results = [
        on("8.2.29", "same\n"),
        result("php:8.4.5-cli", "8.4.5", "glibc\n"),
        result("php:8.4.5-cli-alpine", "8.4.5", "musl\n"),
        on("8.5.0", "same\n"),
    ];
    let pinned = pin_groups(&results);
    let claims: Vec<(Vec<&str>, Vec<String>)> = pinned
        .iter()
        .map(|p| {
            let images = p.group.images.iter().map(String::as_str).collect();
            (images, p.holds_for.iter().map(Range::label).collect())
        })
        .collect();
    assert_eq!(
        claims,
        [
            (
                vec!["php:8.2.29-cli", "php:8.5.0-cli"],
                vec!["8.2.*".to_owned(), "8.5.*".to_owned()]
            ),
            (vec!["php:8.4.5-cli"], vec![]),
            (vec!["php:8.4.5-cli-alpine"], vec![]),
        ]
    );
}

#[test]
fn killed_and_unstable_runs_are_no_group_and_bound_their_neighbours() {
    let mut timed_out = on("8.4.12", "");
    timed_out.outcome = Outcome::ended(Status::Timeout);
    let mut unstable = on("8.5.0", "0.123\n");
    unstable.unstable = true;
    let results = [on("8.4.5", "ok\n"), timed_out, unstable];
    assert_eq!(holds_for(&results), [vec!["8.4.0 – 8.4.5"]]);
}

#[test]
fn the_phpt_file_skips_outside_its_versions_and_expects_the_output() {
    let snippet = snippet(vec![
        on("7.4.33", "old\n"),
        on("8.2.29", "new\n"),
        on("8.5.0", "new\n"),
    ]);
    let file = phpt(&snippet, 0, None).unwrap();
    assert_eq!(file.name, "evalgrid-4k2m9x-php-8.5.0.phpt");
    let text = &file.text;
    assert!(
        text.starts_with("--TEST--\nevalgrid /s/4k2m9x: the output of PHP 8.2.29 – 8.5.0\n"),
        "{text}"
    );
    assert!(text.contains("(version_compare(PHP_VERSION, '8.2.0-dev', '>=') && version_compare(PHP_VERSION, '8.6.0-dev', '<'))"), "{text}");
    assert!(
        text.contains("--INI--\ndate.timezone=UTC\ndisplay_errors=1\n"),
        "{text}"
    );
    assert!(text.contains("--FILE--\n<?php\necho PHP_MAJOR_VERSION"), "{text}");
    assert!(text.ends_with("--EXPECT--\nnew\n"), "{text}");
    assert!(!text.contains("--STDIN--"), "no stdin, no section: {text}");
    assert!(text.contains("clock fixed at 2026-12-04T05:00:00Z"), "{text}");

    let older = phpt(&snippet, 0, Some("php:7.4.33-cli")).unwrap();
    assert!(older
        .text
        .contains("'7.4.0-dev', '>=') && version_compare(PHP_VERSION, '7.5.0-dev', '<'))"));
    assert!(older.text.ends_with("--EXPECT--\nold\n"));
}

#[test]
fn the_script_path_and_each_version_s_own_number_become_patterns_and_percent_stays_literal() {
    let warning =
        |version: &str| format!("100% --done\nWarning: x in /in/main.php on line 2\nPHP {version}\n");
    let snippet = snippet(vec![
        on("8.4.5", &warning("8.4.5")),
        on("8.4.12", &warning("8.4.12")),
    ]);
    let text = phpt(&snippet, 0, None).unwrap().text;
    assert!(
        text.ends_with("--EXPECTF--\n100%r\\x25%r --done\nWarning: x in %s on line 2\nPHP %s\n"),
        "{text}"
    );
}

#[test]
fn stderr_is_compared_alone_or_not_at_all_since_run_tests_merges_it_with_stdout() {
    let mut both = on("8.4.12", "out\n");
    both.outcome.stderr = "err\n".into();
    let text = phpt(&snippet(vec![both.clone()]), 0, None).unwrap().text;
    assert!(text.contains("--CAPTURE_STDIO--\nSTDIN STDOUT\n"), "{text}");
    assert!(text.contains("does not compare"), "{text}");
    both.outcome.stdout.clear();
    let text = phpt(&snippet(vec![both]), 0, None).unwrap().text;
    assert!(
        text.contains("--CAPTURE_STDIO--\nSTDIN STDERR\n") && text.ends_with("--EXPECT--\nerr\n"),
        "{text}"
    );
}

#[test]
fn what_cannot_be_a_test_is_refused_with_its_reason() {
    let mut timed_out = on("8.4.12", "");
    timed_out.outcome = Outcome::ended(Status::Timeout);
    let mut lint = snippet(vec![on("8.4.12", "No syntax errors")]);
    lint.show = Show::Lint;
    assert_eq!(phpt(&lint, 0, None), Err(ExportError::NotOutput("lint")));
    assert_eq!(phpunit(&lint), Err(ExportError::NotOutput("lint")));
    let timeouts = snippet(vec![timed_out]);
    assert_eq!(phpt(&timeouts, 0, None), Err(ExportError::NothingToExport));
    assert!(matches!(
        phpt(&timeouts, 0, Some("php:8.4.12-cli")),
        Err(ExportError::NotPinnable { why, .. }) if why.contains("timeout")
    ));
    let fine = snippet(vec![on("8.4.12", "x")]);
    assert_eq!(
        phpt(&fine, 0, Some("php:5.6-cli")),
        Err(ExportError::NoSuchImage("php:5.6-cli".into()))
    );
    assert_eq!(phpt(&fine, 1, None), Err(ExportError::NoSuchVariant(1)));
    let mut sections = fine;
    sections.code = "<?php\n?>\n--EXPECT--\n".into();
    assert_eq!(phpt(&sections, 0, None), Err(ExportError::SectionLine("code")));
}

#[test]
fn the_phpunit_test_has_a_case_per_group_and_the_code_verbatim() {
    let mut snippet = snippet(vec![on("7.4.33", "old\n"), on("8.2.29", "new\n")]);
    snippet.code = "<?php\necho 'x';\nEVALGRID_CODE;\n".into();
    let text = phpunit(&snippet).unwrap();
    assert_eq!(phpunit_file_name(&snippet), "EvalgridSnippet4k2m9xTest.php");
    assert!(
        text.contains("final class EvalgridSnippet4k2m9xTest extends TestCase"),
        "{text}"
    );
    assert!(
        text.contains("<<<'EVALGRID_CODE_'\n<?php\necho 'x';\nEVALGRID_CODE;\n\nEVALGRID_CODE_;"),
        "{text}"
    );
    assert!(
        text.contains("'PHP 7.4.33' => [\n                [['>=', '7.4.0-dev', '<', '7.5.0-dev']],"),
        "{text}"
    );
    assert!(text.contains("'PHP 8.2.29' => ["), "{text}");
    assert!(
        text.contains("'new\n',\n                '',\n                0,\n                false,"),
        "{text}"
    );
}

#[test]
fn the_phpunit_test_names_each_ini_variant_s_cases() {
    let strict: IniSettings = [("precision".to_owned(), "3".to_owned())].into();
    let mut short = on("8.4.12", "3.14\n");
    short.ini = strict.clone();
    let mut snippet = snippet(vec![on("8.4.12", "3.1415926535898\n"), short]);
    snippet.ini = vec![IniSettings::new(), strict];
    let text = phpunit(&snippet).unwrap();
    assert!(text.contains("'PHP 8.4.12' => ["), "{text}");
    assert!(text.contains("'PHP 8.4.12 with precision=3' => ["), "{text}");
    assert!(text.contains("'precision' => '3'"), "{text}");
}
