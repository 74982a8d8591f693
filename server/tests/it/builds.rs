//! How two images' builds differ, as discovery recorded it, against what each image's PHP says
//! of itself when asked outside evalgrid (`docker run … php -r`).

use crate::common::TestServer;
use app::model::{BuildDifference, ValueChange};
use reqwest::StatusCode;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// What `php -r "echo {code};"` prints on `image`, reading no `php.ini` (evalgrid's runs read
/// none either), with the settings evalgrid locks.
fn php_says(image: &str, code: &str) -> String {
    let output = Command::new("docker")
        .args(["run", "--rm", "--network", "none", image])
        .args([
            "php",
            "-c",
            "/nonexistent",
            "-d",
            "ffi.enable=0",
            "-d",
            "enable_dl=0",
            "-r",
        ])
        .arg(format!("echo {code};"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{image}: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// Each ini setting's value on `image` as PHP sets it by default (a setting without a value:
/// empty).
fn ini_defaults(image: &str) -> BTreeMap<String, String> {
    let json = php_says(image, "json_encode(ini_get_all(null, false))");
    let values: BTreeMap<String, Option<String>> = serde_json::from_str(&json).unwrap();
    values
        .into_iter()
        .map(|(name, value)| (name, value.unwrap_or_default()))
        .collect()
}

async fn difference(server: &TestServer, from: &str, to: &str) -> BuildDifference {
    let response = server
        .get(&format!("/api/builds/difference?from={from}&to={to}"))
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{from} → {to}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn two_images_differ_in_the_libraries_extensions_and_ini_defaults_their_php_reports() {
    let server = TestServer::start().await;
    let (old, new) = ("php:8.2-cli", "php:8.4-cli");
    let difference = difference(&server, old, new).await;
    assert_eq!(difference.from, php_says(old, "PHP_VERSION"));
    assert_eq!(difference.to, php_says(new, "PHP_VERSION"));

    // A library named is one whose version differs; one whose version is the same is not.
    let mut differing = 0;
    for (library, constant) in [
        ("PCRE", "PCRE_VERSION"),
        ("libxml2", "LIBXML_DOTTED_VERSION"),
        ("zlib", "ZLIB_VERSION"),
    ] {
        let (before, after) = (php_says(old, constant), php_says(new, constant));
        let named = difference.libraries.iter().find(|change| change.name == library);
        if before == after {
            assert_eq!(named, None, "{library} is {before} in both");
        } else {
            differing += 1;
            let expected = ValueChange {
                name: library.into(),
                from: Some(before),
                to: Some(after),
            };
            assert_eq!(named, Some(&expected));
        }
    }
    assert!(
        differing > 0,
        "these two images share their libraries; the test needs two that do not"
    );

    let extensions = |image| -> BTreeSet<String> {
        php_says(image, "implode(',', get_loaded_extensions())")
            .split(',')
            .map(str::to_owned)
            .collect()
    };
    let (old_extensions, new_extensions) = (extensions(old), extensions(new));
    let added: BTreeSet<String> = new_extensions.difference(&old_extensions).cloned().collect();
    let removed: BTreeSet<String> = old_extensions.difference(&new_extensions).cloned().collect();
    assert_eq!(
        difference
            .extensions_added
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>(),
        added
    );
    assert_eq!(
        difference
            .extensions_removed
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>(),
        removed
    );

    // The ini defaults that differ, leaving out the baseline evalgrid sets on every image.
    let baseline: BTreeSet<&str> = runner::PHP_INI.iter().map(|(name, _)| *name).collect();
    let (old_ini, new_ini) = (ini_defaults(old), ini_defaults(new));
    let names: BTreeSet<&String> = old_ini.keys().chain(new_ini.keys()).collect();
    let expected: Vec<ValueChange> = names
        .into_iter()
        .filter(|name| !baseline.contains(name.as_str()) && old_ini.get(*name) != new_ini.get(*name))
        .map(|name| ValueChange {
            name: name.clone(),
            from: old_ini.get(name).cloned(),
            to: new_ini.get(name).cloned(),
        })
        .collect();
    assert!(!expected.is_empty(), "8.2 and 8.4 have different ini settings");
    let reported: Vec<ValueChange> = difference
        .ini
        .into_iter()
        .filter(|change| !baseline.contains(change.name.as_str()))
        .collect();
    assert_eq!(reported, expected);
}

#[tokio::test]
async fn an_image_differs_from_itself_in_nothing_and_an_unknown_image_is_refused() {
    let server = TestServer::start().await;
    let same = difference(&server, "php:8.4-cli", "php:8.4-cli").await;
    assert!(same.is_empty(), "{same:?}");
    let unknown = server
        .get("/api/builds/difference?from=php:8.4-cli&to=php:9.9-cli")
        .await;
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    assert!(unknown.text().await.unwrap().contains("php:9.9-cli"));
    server.assert_still_answers().await;
}
