//! A saved snippet exported as tests, checked by running them with the PHP of each image: the
//! `.phpt` files under php-src's own `run-tests.php` (which the set-up unpacks from the
//! distribution's PHP development package), the PHPUnit test through `php -l` and a stand-in
//! for PHPUnit's runner (`phpunit_shim.php`: PHPUnit itself is not in the images).

use crate::common::TestServer;
use app::model::Snippet;
use reqwest::StatusCode;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const IMAGES: [&str; 4] = ["php:7.4-cli", "php:8.2-cli", "php:8.4-cli", "php:8.5-cli"];

/// Where a test keeps the files it downloads, removed with it.
fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("evalgrid-export-")
        .tempdir()
        .unwrap()
}

fn run_tests_php() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/php-src/run-tests.php");
    assert!(
        path.is_file(),
        "{} is missing: scripts/setup.sh unpacks it",
        path.display()
    );
    path
}

/// Saves `body` as a snippet and downloads each image's `.phpt` file under ini variant
/// `variant` (one per output group: images of a group get the same file) into `directory`, and
/// the PHPUnit test.
async fn export(
    directory: &Path,
    server: &TestServer,
    body: serde_json::Value,
    variant: usize,
) -> (Snippet, BTreeMap<String, String>, String) {
    let id = server.post_run(body).await.id.expect("saved");
    let snippet = server.snippet(&id).await.unwrap();
    let mut files = BTreeMap::new();
    for image in IMAGES {
        let response = server
            .get(&format!(
                "/api/snippets/{id}/phpt?image={image}&variant={variant}"
            ))
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{image}");
        let disposition = response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_owned();
        let name = disposition
            .strip_prefix("attachment; filename=\"")
            .and_then(|rest| rest.strip_suffix('"'))
            .unwrap_or_else(|| panic!("{disposition}"))
            .to_owned();
        files.insert(image.to_owned(), name.clone());
        let text = response.text().await.unwrap();
        std::fs::write(directory.join(&name), text).unwrap();
    }
    let phpunit = server.get(&format!("/api/snippets/{id}/phpunit")).await;
    assert_eq!(phpunit.status(), StatusCode::OK);
    (snippet, files, phpunit.text().await.unwrap())
}

/// Runs every exported file on `image`: `run-tests.php` over the `.phpt` files, `php -l` and
/// the runner stand-in over the PHPUnit test. Returns each file's run-tests.php verdict
/// (`PASS`, `SKIP`, `FAIL`, …), the lint's answer and the stand-in's lines.
fn check_on(image: &str, directory: &Path, class: &str) -> (BTreeMap<String, String>, String, String) {
    let output = Command::new("docker")
        .args(["run", "--rm", "--network", "none", "-e", "NO_COLOR=1", "-v"])
        .arg(format!("{}:/src:ro", directory.display()))
        .arg("-v")
        .arg(format!("{}:/run-tests.php:ro", run_tests_php().display()))
        .args([image, "sh", "-c"])
        .arg(format!(
            "mkdir /tmp/t && cp /src/*.phpt /tmp/t/ && cd /tmp \
             && TEST_PHP_EXECUTABLE=$(command -v php) php /run-tests.php -q /tmp/t; \
             echo '== lint'; php -l /src/{class}.php; \
             echo '== phpunit'; php /src/phpunit_shim.php /src/{class}.php"
        ))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (tests, rest) = text.split_once("== lint\n").unwrap_or_else(|| panic!("{text}"));
    let (lint, phpunit) = rest
        .split_once("== phpunit\n")
        .unwrap_or_else(|| panic!("{text}"));
    let verdicts = tests
        .lines()
        .filter_map(|line| {
            let (_, after) = line.split_once("[t/")?;
            let (name, verdict) = after.split_once(']')?;
            Some((name.to_owned(), verdict.split_whitespace().next()?.to_owned()))
        })
        .collect();
    (verdicts, lint.trim().to_owned(), phpunit.trim().to_owned())
}

/// Checks the exports of a snippet on every image: each `.phpt` passes where its group ran and
/// is skipped everywhere else; the PHPUnit test lints and passes its own group's case in each
/// of the snippet's `variants`.
fn assert_green_where_they_hold(
    directory: &Path,
    snippet: &Snippet,
    files: &BTreeMap<String, String>,
    phpunit: &str,
    variants: usize,
) {
    let class = app::export::phpunit_file_name(snippet)
        .trim_end_matches(".php")
        .to_owned();
    std::fs::write(directory.join(format!("{class}.php")), phpunit).unwrap();
    std::fs::write(
        directory.join("phpunit_shim.php"),
        include_str!("phpunit_shim.php"),
    )
    .unwrap();
    for image in IMAGES {
        let (verdicts, lint, cases) = check_on(image, directory, &class);
        let expected: BTreeMap<String, String> = files
            .values()
            .map(|name| {
                let same_group = files[image] == *name;
                (name.clone(), if same_group { "PASS" } else { "SKIP" }.to_owned())
            })
            .collect();
        assert_eq!(verdicts, expected, "run-tests.php on {image}");
        assert!(lint.starts_with("No syntax errors detected"), "{image}: {lint}");
        assert!(
            !cases.is_empty() && !cases.contains("FAIL"),
            "PHPUnit cases on {image}:\n{cases}"
        );
        assert_eq!(
            cases.lines().filter(|line| line.starts_with("PASS")).count(),
            variants,
            "one case per ini variant holds for {image}:\n{cases}"
        );
    }
}

#[tokio::test]
async fn exported_phpt_files_pass_where_their_output_held_and_skip_elsewhere() {
    let server = TestServer::start().await;
    // 7.4 has no str_contains (a fatal error, exit 255); 8.x deprecate strlen(null). The output
    // names the script's path and holds a literal `%`; the script reads its stdin.
    let code = "<?php\n$line = trim(fgets(STDIN));\necho strlen(null), \"\\n\";\necho \"100% of \", $line, \"\\n\";\necho str_contains($line, 'grid') ? \"yes\\n\" : \"no\\n\";\n";
    let body = json!({ "code": code, "stdin": "evalgrid\n", "images": IMAGES, "save": true });
    let directory = scratch();
    let (snippet, files, phpunit) = export(directory.path(), &server, body, 0).await;
    let distinct: std::collections::BTreeSet<&String> = files.values().collect();
    assert_eq!(distinct.len(), 2, "two output groups: {files:?}");
    assert_ne!(files["php:7.4-cli"], files["php:8.2-cli"]);
    assert_green_where_they_hold(directory.path(), &snippet, &files, &phpunit, 1);
    server.containers.assert_none_left().await;
}

#[tokio::test]
async fn each_version_s_own_number_stderr_and_an_ini_variant_are_exported_too() {
    let server = TestServer::start().await;
    let code = "<?php\necho 'PHP ', PHP_VERSION, ' ', M_PI, \"\\n\";\nfwrite(STDERR, \"to stderr\\n\");\n";
    let body = json!({
        "code": code,
        "images": IMAGES,
        "ini": [{}, { "precision": "5" }],
        "save": true,
    });
    let directory = scratch();
    let (snippet, files, phpunit) = export(directory.path(), &server, body, 1).await;
    let distinct: std::collections::BTreeSet<&String> = files.values().collect();
    assert_eq!(
        distinct.len(),
        1,
        "one group, each version printing its own number: {files:?}"
    );
    assert!(
        phpunit.contains("'PHP 7.4.") && phpunit.contains(" with precision=5' => ["),
        "{phpunit}"
    );
    assert_green_where_they_hold(directory.path(), &snippet, &files, &phpunit, 2);
    server.containers.assert_none_left().await;
}

#[tokio::test]
async fn what_cannot_be_exported_gets_a_clear_answer() {
    let server = TestServer::setup()
        .with(|c| c.sandbox.timeout_secs = 1.0)
        .start()
        .await;
    let (id, _) = server.save("<?php while (true) {}", &["php:8.4-cli"]).await;
    for (path, status, says) in [
        (
            format!("/api/snippets/{id}/phpt"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "no output of this snippet",
        ),
        (
            format!("/api/snippets/{id}/phpt?image=php:8.4-cli"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "timeout",
        ),
        (
            format!("/api/snippets/{id}/phpt?image=php:5.6-cli"),
            StatusCode::NOT_FOUND,
            "no result for",
        ),
        (
            format!("/api/snippets/{id}/phpt?variant=3"),
            StatusCode::NOT_FOUND,
            "no ini variant 3",
        ),
        (
            format!("/api/snippets/{id}/phpunit"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "no output of this snippet",
        ),
        (
            "/api/snippets/nosuchid/phpunit".to_owned(),
            StatusCode::NOT_FOUND,
            "no snippet",
        ),
    ] {
        let response = server.get(&path).await;
        assert_eq!(response.status(), status, "{path}");
        let text = response.text().await.unwrap();
        assert!(text.contains(says), "{path}: {text}");
    }
    server.assert_still_answers().await;
}
