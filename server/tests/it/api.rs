//! The HTTP API and the server-rendered page, served by the real router on a real port, with a
//! real runner on the real Docker engine.

use crate::common;

use app::model::{ImageInfo, RunLine, RunResponse, Status, VersionResult};
use common::server_process::ServerProcess;
use common::{run_body, TestServer};
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn images_lists_the_php_versions_in_version_order() {
    let server = TestServer::start().await;
    let response = server.get("/api/images").await;
    assert_eq!(response.status(), StatusCode::OK);
    let images: Vec<ImageInfo> = response.json().await.unwrap();
    let names: Vec<&str> = images.iter().map(|i| i.image.as_str()).collect();
    assert_eq!(
        names,
        ["php:7.4-cli", "php:8.2-cli", "php:8.4-cli", "php:8.5-cli"]
    );
    assert!(images[0].php_version.starts_with("7.4."));
    // Each says what it is built on and which extensions it loads.
    assert_eq!(images[0].variant, "debian 11");
    assert!(
        images.iter().all(|i| i.extensions.iter().any(|e| e == "Core")),
        "{images:?}"
    );
}

#[tokio::test]
async fn official_and_alpine_shaped_images_are_offered_and_told_apart() {
    let server = TestServer::setup()
        .repositories("evalgrid-fixture/php")
        .start()
        .await;
    let images: Vec<ImageInfo> = server.get("/api/images").await.json().await.unwrap();
    let offered: Vec<(&str, &str)> = images
        .iter()
        .map(|i| (i.image.as_str(), i.variant.as_str()))
        .collect();
    assert_eq!(
        offered,
        [
            ("evalgrid-fixture/php:8.4.5-cli-alpine", "busybox 1.35"),
            ("evalgrid-fixture/php:8.4", "debian 13")
        ]
    );
    let results = server
        .run(
            "<?php echo function_exists('posix_getpid') ? 'posix' : 'none';",
            &[
                "evalgrid-fixture/php:8.4.5-cli-alpine",
                "evalgrid-fixture/php:8.4-cli-trixie",
            ],
        )
        .await;
    assert_eq!(
        (
            results[0].outcome.stdout.as_str(),
            results[1].outcome.stdout.as_str()
        ),
        ("none", "posix")
    );
    server.containers.assert_none_left().await;
}

#[tokio::test]
async fn run_returns_every_result_in_request_order() {
    let server = TestServer::start().await;
    let code = "<?php\nif (PHP_MAJOR_VERSION == 8) usleep(300000);\nvar_dump(0 == \"a\");";
    let response = server
        .post_json("/api/run", run_body(code, &["php:8.5-cli", "php:7.4-cli"]))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let run: RunResponse = response.json().await.unwrap();
    let images: Vec<&str> = run.results.iter().map(|r| r.image.as_str()).collect();
    assert_eq!(images, ["php:8.5-cli", "php:7.4-cli"]);
    assert_eq!(run.results[0].outcome.stdout, "bool(false)\n");
    assert_eq!(run.results[1].outcome.stdout, "bool(true)\n");
    assert!(run
        .results
        .iter()
        .all(|r| r.outcome.status == Status::Ok && r.outcome.exit_code == Some(0)));
    assert!(run.results[0].php_version.starts_with("8.5."));
}

#[tokio::test]
async fn stream_sends_one_line_per_version_as_each_finishes() {
    let server = TestServer::start().await;
    let code = "<?php if (PHP_MAJOR_VERSION == 8) sleep(2); echo PHP_MAJOR_VERSION;";
    let response = server
        .post_json("/api/run/stream", run_body(code, &["php:8.4-cli", "php:7.4-cli"]))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");

    // Read chunk by chunk: the 7.4 line must arrive while 8.4 is still sleeping.
    let mut body = response.bytes_stream();
    let mut text = String::new();
    while !text.contains('\n') {
        text.push_str(&String::from_utf8_lossy(&body.next().await.unwrap().unwrap()));
    }
    let first: VersionResult = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first.image, "php:7.4-cli");
    assert_eq!(first.outcome.stdout, "7");
    assert!(!text.contains("php:8.4-cli"), "8.4 cannot have finished yet");

    while let Some(chunk) = body.next().await {
        text.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
    }
    let results: Vec<VersionResult> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(results.len(), 2);
    assert_eq!(results[1].image, "php:8.4-cli");
    assert_eq!(results[1].outcome.stdout, "8");
}

#[tokio::test]
async fn bad_input_is_refused_with_a_clear_message() {
    let server = TestServer::setup()
        .with(|c| {
            c.requests.max_images = 3;
            c.requests.max_code_kib = 1;
        })
        .start()
        .await;
    let ok_code = "<?php echo 1;";
    server
        .assert_refused(
            json!({ "code": ok_code }),
            StatusCode::BAD_REQUEST,
            "pick at least one",
        )
        .await;
    server
        .assert_refused(
            run_body(ok_code, &[]),
            StatusCode::BAD_REQUEST,
            "pick at least one",
        )
        .await;
    server
        .assert_refused(
            run_body("", &["php:8.2-cli"]),
            StatusCode::BAD_REQUEST,
            "code is empty",
        )
        .await;
    server
        .assert_refused(
            run_body(ok_code, &["alpine"]),
            StatusCode::BAD_REQUEST,
            "unknown image \"alpine\"",
        )
        .await;
    for crafted in [
        "php:8.2-cli --privileged",
        "../",
        "php",
        "evil/php:8.2-cli",
        "-v=/:/host",
    ] {
        server
            .assert_refused(
                run_body(ok_code, &[crafted]),
                StatusCode::BAD_REQUEST,
                "unknown image",
            )
            .await;
    }
    let two_hundred: Vec<String> = (0..200).map(|i| format!("php:{i}-cli")).collect();
    let two_hundred: Vec<&str> = two_hundred.iter().map(String::as_str).collect();
    server
        .assert_refused(
            run_body(ok_code, &two_hundred),
            StatusCode::BAD_REQUEST,
            "at most 3",
        )
        .await;
    server
        .assert_refused(
            run_body(
                ok_code,
                &["php:7.4-cli", "php:8.2-cli", "php:8.4-cli", "php:8.5-cli"],
            ),
            StatusCode::BAD_REQUEST,
            "at most 3",
        )
        .await;
    let limit = 1024;
    let at_limit = format!("<?php //{}", "x".repeat(limit - 8));
    assert_eq!(at_limit.len(), limit);
    let response = server
        .post_json("/api/run", run_body(&at_limit, &["php:8.2-cli"]))
        .await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "code of exactly the limit runs"
    );
    server
        .assert_refused(
            run_body(&format!("{at_limit}x"), &["php:8.2-cli"]),
            StatusCode::BAD_REQUEST,
            "the limit is 1024 bytes",
        )
        .await;

    let malformed = server
        .post_raw("/api/run", "application/json", b"{\"code\": ".to_vec())
        .await;
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let error: Value = malformed.json().await.unwrap();
    assert!(error["error"].as_str().unwrap().contains("JSON"), "{error}");

    let not_utf8 = server
        .post_raw(
            "/api/run",
            "application/json",
            b"{\"code\": \"\xff\xfe\"}".to_vec(),
        )
        .await;
    assert_eq!(not_utf8.status(), StatusCode::BAD_REQUEST);
    assert!(not_utf8.json::<Value>().await.unwrap()["error"].is_string());

    let wrong_type = server.post_raw("/api/run", "text/plain", b"{}".to_vec()).await;
    assert_eq!(wrong_type.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(wrong_type.json::<Value>().await.unwrap()["error"].is_string());

    let huge = server
        .post_raw("/api/run", "application/json", vec![b' '; 10 * 1024 * 1024])
        .await;
    assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn health_reports_the_engine() {
    let server = TestServer::start().await;
    let response = server.get("/api/health").await;
    assert_eq!(response.status(), StatusCode::OK);
    let health: Value = response.json().await.unwrap();
    assert_eq!(health["engine"], "ok");
    assert_eq!(health["images"], 4);
    // The isolation in force: the test command runs this suite in both.
    let expected = match std::env::var("EVALGRID_ISOLATION").as_deref() {
        Ok("namespaces") => "namespaces",
        _ => "containers",
    };
    assert_eq!(health["isolation"], expected);
}

#[tokio::test]
async fn auto_isolation_picks_namespaces_where_the_host_allows_them_and_says_so() {
    let mut server = ServerProcess::start(&["--isolation", "auto"]).await;
    let health: Value = server.client().get("/api/health").await.json().await.unwrap();
    assert_eq!(health["isolation"], "namespaces", "{health}");
    // The check's worker serves the first run.
    let result = server
        .client()
        .post_json(
            "/api/run",
            json!({ "code": "<?php echo 6 * 7;", "images": ["php:8.4-cli"] }),
        )
        .await;
    let body: Value = result.json().await.unwrap();
    assert_eq!(body["results"][0]["stdout"], "42", "{body}");
    server.stop().await;
    server.containers.assert_none_left().await;
}

#[tokio::test]
async fn the_page_is_rendered_on_the_server_with_the_versions() {
    let server = TestServer::start().await;
    let response = server.get("/").await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("<textarea"), "the editor is in the HTML");
    for image in ["php:7.4-cli", "php:8.2-cli", "php:8.4-cli", "php:8.5-cli"] {
        assert!(
            html.contains(&format!("value=\"{image}\"")),
            "{image} checkbox is in the HTML"
        );
    }
    assert!(
        html.contains("/pkg/evalgrid.js"),
        "the hydration script is linked"
    );
}

const EVERY_VERSION: [&str; 4] = ["php:7.4-cli", "php:8.2-cli", "php:8.4-cli", "php:8.5-cli"];

#[tokio::test]
async fn stdin_reaches_every_version_and_belongs_to_the_permalink() {
    let server = TestServer::start().await;
    let code = "<?php while (($line = fgets(STDIN)) !== false) echo strtoupper($line);";
    let body = |stdin: &str| json!({ "code": code, "images": EVERY_VERSION, "save": true, "stdin": stdin });
    let run = server.post_run(body("one\ntwo")).await;
    for result in &run.results {
        assert_eq!(
            (result.outcome.status, result.outcome.stdout.as_str()),
            (Status::Ok, "ONE\nTWO"),
            "{result:?}"
        );
    }
    let id = run.id.expect("saved");
    let snippet = server.snippet(&id).await.expect("the permalink");
    assert_eq!(
        (snippet.code.as_str(), snippet.stdin.as_str()),
        (code, "one\ntwo")
    );
    // Other stdin is another snippet; the same is the same one.
    let other = server.post_run(body("three")).await;
    assert_ne!(other.id.as_deref(), Some(id.as_str()));
    assert_eq!(other.results[0].outcome.stdout, "THREE");
    assert_eq!(server.post_run(body("one\ntwo")).await.id, Some(id));
    server
        .assert_refused(
            json!({ "code": code, "images": ["php:8.4-cli"], "stdin": "x".repeat(65 * 1024) }),
            StatusCode::BAD_REQUEST,
            "stdin is 66560 bytes",
        )
        .await;
    server.containers.assert_none_left().await;
}

#[tokio::test]
async fn a_saved_snippet_runs_on_the_clock_of_its_first_save_on_every_version_and_every_re_run() {
    let server = TestServer::setup()
        .repositories("php,evalgrid-fixture/php")
        .start()
        .await;
    let code = "<?php echo date(DATE_ATOM), ' ', time();";
    let static_php = "evalgrid-fixture/php:8.4.5-cli-alpine";
    let mut images = EVERY_VERSION.to_vec();
    images.push(static_php);
    let body = json!({ "code": code, "images": images, "save": true });
    let first = server.post_run(body.clone()).await;
    let id = first.id.clone().expect("saved");
    let snippet = server.snippet(&id).await.expect("the permalink");
    assert_eq!(snippet.clock, app::model::Clock::Saved);
    let clock_at = snippet.clock_at.expect("a fixed clock has its time");
    let seconds = app::model::parse_rfc3339_seconds(&clock_at).unwrap();
    let expected = format!("{}+00:00 {seconds}", clock_at.trim_end_matches('Z'));
    let glibc = |run: &RunResponse| -> Vec<(String, Option<bool>)> {
        run.results
            .iter()
            .filter(|r| r.image != static_php)
            .map(|r| (r.outcome.stdout.clone(), r.fixed_clock))
            .collect()
    };
    assert_eq!(
        glibc(&first),
        vec![(expected.clone(), Some(true)); 4],
        "{first:?}"
    );
    let on_static = first.results.iter().find(|r| r.image == static_php).unwrap();
    assert_eq!(on_static.fixed_clock, Some(false), "{on_static:?}");
    // A re-run of the permalink, a second later and without the cache, prints the same time.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let again = server
        .post_run(json!({ "code": code, "images": images, "save": true, "force": true }))
        .await;
    assert_eq!(again.id, Some(id));
    assert_eq!(glibc(&again), glibc(&first));
    // A time of one's own, and the real clock, are runs of their own.
    let at = server
        .post_run(json!({ "code": code, "images": ["php:8.4-cli"], "clock": "2023-11-14T22:13:20Z" }))
        .await;
    assert_eq!(
        at.results[0].outcome.stdout,
        "2023-11-14T22:13:20+00:00 1700000000"
    );
    let real = server
        .post_run(json!({ "code": code, "images": ["php:8.4-cli"], "save": true, "clock": "real" }))
        .await;
    assert_eq!(real.results[0].fixed_clock, None);
    assert_ne!(real.id, first.id);
    let real_snippet = server.snippet(real.id.as_deref().unwrap()).await.unwrap();
    assert_eq!(
        (real_snippet.clock, real_snippet.clock_at),
        (app::model::Clock::Real, None)
    );
    server
        .assert_refused(
            json!({ "code": code, "images": ["php:8.4-cli"], "clock": "tomorrow" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "RFC 3339",
        )
        .await;
    server.containers.assert_none_left().await;
}

#[tokio::test]
async fn opcodes_are_a_way_of_showing_a_snippet_of_its_own() {
    let server = TestServer::start().await;
    let code = "<?php\n$x = 1 + 2;\necho $x;\n";
    let body = |show: &str| json!({ "code": code, "images": ["php:7.4-cli", "php:8.5-cli"], "save": true, "show": show });
    let opcodes = server.post_run(body("opcodes")).await;
    for result in &opcodes.results {
        assert_eq!(result.outcome.status, Status::Ok, "{result:?}");
        assert!(
            result.outcome.stdout.contains("(after optimizer)"),
            "{}",
            result.outcome.stdout
        );
        // Compiled, never run.
        assert!(!result.outcome.stdout.ends_with('3'), "{}", result.outcome.stdout);
    }
    assert_ne!(
        opcodes.results[0].outcome.stdout,
        opcodes.results[1].outcome.stdout
    );
    let unoptimized = server.post_run(body("opcodes_unoptimized")).await;
    assert!(unoptimized.results[0]
        .outcome
        .stdout
        .contains("(before optimizer)"));
    let output = server.post_run(body("output")).await;
    assert_eq!(output.results[0].outcome.stdout, "3");
    let lint = server.post_run(body("lint")).await;
    for result in &lint.results {
        assert_eq!(result.outcome.status, Status::Ok, "{result:?}");
        assert!(
            result.outcome.stdout.starts_with("No syntax errors detected"),
            "{result:?}"
        );
    }
    let ids = [&opcodes.id, &unoptimized.id, &output.id, &lint.id];
    for (index, id) in ids.iter().enumerate() {
        assert!(id.is_some() && !ids[..index].contains(id), "{ids:?}");
    }
    let saved = server.snippet(opcodes.id.as_deref().unwrap()).await.unwrap();
    assert_eq!(saved.show, app::model::Show::Opcodes);
    let saved = server.snippet(lint.id.as_deref().unwrap()).await.unwrap();
    assert_eq!(saved.show, app::model::Show::Lint);
    // A value that does not fit the body's schema, as a wrong type does; the message names the
    // modes there are.
    server
        .assert_refused(
            body("vld"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "`opcodes_unoptimized`, `lint`",
        )
        .await;
    server.containers.assert_none_left().await;
}

#[tokio::test]
async fn an_ini_matrix_runs_every_version_under_every_variant() {
    let server = TestServer::start().await;
    let code = "<?php echo ini_get('precision'), ' jit:', var_export(function_exists('opcache_get_status') && (opcache_get_status()['jit']['on'] ?? false), true);";
    let jit = json!({ "opcache.enable_cli": true, "opcache.jit": "tracing", "opcache.jit_buffer_size": "16M", "precision": 17 });
    let images = ["php:8.2-cli", "php:8.4-cli", "php:8.5-cli"];
    // On the real clock, so that runs saved in different seconds share cached results.
    let body =
        |ini: Value| json!({ "code": code, "images": images, "save": true, "clock": "real", "ini": ini });
    let matrix = server.post_run(body(json!([jit, {}]))).await;
    let cells: Vec<(String, String, bool)> = matrix
        .results
        .iter()
        .map(|r| (r.image.clone(), r.outcome.stdout.clone(), r.ini.is_empty()))
        .collect();
    let wanted: Vec<(String, String, bool)> = [("17 jit:true", false), ("14 jit:false", true)]
        .iter()
        .flat_map(|(stdout, defaults)| {
            images
                .iter()
                .map(|image| (image.to_string(), stdout.to_string(), *defaults))
        })
        .collect();
    assert_eq!(cells, wanted, "2 variants × 3 versions, variant by variant");
    assert_eq!(matrix.results[0].ini["opcache.enable_cli"], "1");
    assert_eq!(matrix.results[0].ini["precision"], "17");

    // The permalink keeps the variants, and each result's.
    let id = matrix.id.clone().unwrap();
    let saved = server.snippet(&id).await.unwrap();
    assert_eq!(saved.ini.len(), 2);
    assert_eq!(saved.ini[0], matrix.results[0].ini);
    assert_eq!(saved.results.len(), 6);
    assert_ne!(
        Some(&id),
        server.post_run(body(json!([{}, jit]))).await.id.as_ref(),
        "another order, another snippet"
    );
    let plain = server
        .post_run(json!({ "code": code, "images": images, "save": true }))
        .await;
    assert_ne!(Some(&id), plain.id.as_ref());
    assert!(plain
        .results
        .iter()
        .all(|r| r.ini.is_empty() && r.outcome.stdout == "14 jit:false"));

    // Each variant's results are cached on their own: the JIT variant alone finds them.
    let again = server.post_run(body(json!([jit]))).await;
    assert!(
        again
            .results
            .iter()
            .all(|r| r.cached && r.outcome.stdout == "17 jit:true"),
        "{:?}",
        again.results
    );

    // A version that lacks a setting says so in its cell; the other variant runs.
    let old = server
        .post_run(json!({ "code": code, "images": ["php:7.4-cli"], "ini": [jit, {}] }))
        .await;
    assert_eq!(old.results[0].outcome.status, Status::Error);
    assert!(
        old.results[0]
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("no ini setting \"opcache.jit\""),
        "{:?}",
        old.results[0]
    );
    assert_eq!(old.results[1].outcome.status, Status::Ok);

    let refused = |ini: Value| json!({ "code": code, "images": ["php:8.4-cli"], "ini": ini });
    server
        .assert_refused(
            refused(json!([{ "ffi.enable": "1" }])),
            StatusCode::BAD_REQUEST,
            "ini variant 1: ini setting \"ffi.enable\" cannot be changed",
        )
        .await;
    server
        .assert_refused(
            refused(json!([{}, { "extension": "ffi" }])),
            StatusCode::BAD_REQUEST,
            "ini variant 2",
        )
        .await;
    server
        .assert_refused(
            refused(json!([{ "precision": "1\nextension=ffi" }])),
            StatusCode::BAD_REQUEST,
            "one line",
        )
        .await;
    server
        .assert_refused(
            refused(json!([{ "a": 1 }, { "a": 2 }, { "a": 3 }, { "a": 4 }, { "a": 5 }])),
            StatusCode::BAD_REQUEST,
            "at most 4",
        )
        .await;
    server
        .assert_refused(
            refused(json!([{ "precision": [17] }])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "",
        )
        .await;
    server.containers.assert_none_left().await;
}

#[tokio::test]
async fn a_saved_snippet_whose_output_differs_between_two_runs_on_one_image_is_unstable() {
    let server = TestServer::start().await;
    let images = ["php:8.4-cli", "php:8.5-cli"];
    let run = |code: &str, force: bool| json!({ "code": code, "images": images, "save": true, "force": force, "clock": "real" });
    let unstable =
        |response: &RunResponse| -> Vec<bool> { response.results.iter().map(|r| r.unstable).collect() };

    let random = "<?php echo random_int(1, PHP_INT_MAX);";
    let first = server.post_run(run(random, false)).await;
    assert_eq!(unstable(&first), [false, false], "one run proves nothing");
    let again = server.post_run(run(random, true)).await;
    assert_eq!(unstable(&again), [true, true], "{:?}", again.results);
    let saved = server.snippet(first.id.as_deref().unwrap()).await.unwrap();
    assert!(saved.results.iter().all(|r| r.unstable), "{:?}", saved.results);

    let constant = "<?php echo 'the same every time';";
    let first = server.post_run(run(constant, false)).await;
    let again = server.post_run(run(constant, true)).await;
    assert_eq!(first.results[0].outcome.stdout, again.results[0].outcome.stdout);
    assert_eq!(unstable(&again), [false, false]);
    server.containers.assert_none_left().await;
}

/// Every image shape the tests have: Debian-built (7.4 to 8.5), the official Debian layout and
/// a static build without any `php.ini`.
const EVERY_SHAPE: [&str; 6] = [
    "php:7.4-cli",
    "php:8.2-cli",
    "php:8.4-cli",
    "php:8.5-cli",
    "evalgrid-fixture/php:8.4",
    "evalgrid-fixture/php:8.4.5-cli-alpine",
];

async fn server_with_every_shape() -> TestServer {
    TestServer::setup()
        .repositories("php,evalgrid-fixture/php")
        .start()
        .await
}

/// Issue 29: a script that depends on assertions, trace arguments and short tags reads the
/// same on every image of a version, whatever its php.ini, so the grouped view shows only real
/// changes between versions: here one, PHP 8.0's new default `assert.exception=1` (7.4 warns
/// and goes on), and none once a variant sets it for 7.4 too.
#[tokio::test]
async fn a_script_that_depends_on_the_images_ini_is_grouped_by_version_not_by_image() {
    let server = server_with_every_shape().await;
    // Issue 29's snippet: assertions, trace arguments, short tags.
    let code = include_str!("../../../runner/tests/fixtures/depends_on_php_ini.php");
    let images: Vec<ImageInfo> = server.get("/api/images").await.json().await.unwrap();
    let run: Vec<ImageInfo> = images
        .into_iter()
        .filter(|info| EVERY_SHAPE.contains(&info.image.as_str()))
        .collect();
    assert_eq!(run.len(), EVERY_SHAPE.len());
    let groups_of = |results: &[VersionResult]| {
        let arrived = results.iter().map(|r| (r.image.clone(), r.clone())).collect();
        app::compare::group_results(&run, &arrived)
    };
    let trace = "#0 /in/main.php(5): f('secret')\n#1 {main}\n";
    let groups = groups_of(&server.run(code, &EVERY_SHAPE).await);
    let shape: Vec<(&str, &str)> = groups
        .iter()
        .map(|g| (g.label.as_str(), g.result.outcome.stdout.as_str()))
        .collect();
    assert_eq!(
        shape,
        [
            ("8.2.32 – 8.5.7", format!("1 0 1\nassert on\n{trace}").as_str()),
            ("7.4.33", format!("1 0 1\nassert off\n{trace}").as_str()),
        ],
        "{groups:#?}"
    );
    let response = server
        .post_run(json!({ "code": code, "images": EVERY_SHAPE, "ini": [{ "assert.exception": 1 }] }))
        .await;
    let groups = groups_of(&response.results);
    assert_eq!(groups.len(), 1, "{groups:#?}");
    assert_eq!(
        groups[0].result.outcome.stdout,
        format!("1 0 1\nassert on\n{trace}")
    );
    server.containers.assert_none_left().await;
}

/// One `.phpt`-style case of `tests/fixtures/phpt`: its file, optional ini settings (run as an
/// ini variant) and expected output, compared as php-src's run-tests.php does (trimmed).
struct PhptCase {
    name: String,
    /// Code that prints `skip…` on the versions the case is not for.
    skip_if: Option<String>,
    ini: serde_json::Map<String, Value>,
    file: String,
    expect: String,
}

fn phpt_cases() -> Vec<PhptCase> {
    let directory = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/phpt");
    let mut paths: Vec<_> = std::fs::read_dir(directory)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let mut sections = std::collections::HashMap::new();
            let mut current = None;
            for line in text.split_inclusive('\n') {
                let trimmed = line.trim_end();
                if trimmed.starts_with("--") && trimmed.ends_with("--") && trimmed.len() > 4 {
                    current = Some(trimmed.trim_matches('-').to_owned());
                    continue;
                }
                let section: &mut String = sections.entry(current.clone().expect("a section")).or_default();
                section.push_str(line);
            }
            let ini = sections
                .get("INI")
                .map(|text| {
                    text.lines()
                        .filter_map(|line| line.split_once('='))
                        .map(|(name, value)| (name.trim().to_owned(), Value::from(value.trim())))
                        .collect()
                })
                .unwrap_or_default();
            PhptCase {
                name: path.file_name().unwrap().to_string_lossy().into_owned(),
                skip_if: sections.get("SKIPIF").cloned(),
                ini,
                file: sections["FILE"].clone(),
                expect: sections["EXPECT"].trim().to_owned(),
            }
        })
        .collect()
}

#[tokio::test]
async fn the_project_s_phpt_cases_pass_on_every_version_with_and_without_an_ini_variant() {
    let server = server_with_every_shape().await;
    let cases = phpt_cases();
    assert!(cases.len() >= 6 && cases.iter().any(|case| !case.ini.is_empty()));
    let mut failed = Vec::new();
    let mut passed = 0;
    for case in &cases {
        let mut images: Vec<&str> = EVERY_SHAPE.to_vec();
        if let Some(skip_if) = &case.skip_if {
            let answers = server.run(skip_if, &EVERY_SHAPE).await;
            images.retain(|image| {
                let answer = answers.iter().find(|r| r.image == *image).unwrap();
                !answer.outcome.stdout.starts_with("skip")
            });
        }
        let mut body = json!({ "code": case.file, "images": images });
        if !case.ini.is_empty() {
            body["ini"] = json!([case.ini]);
        }
        for result in server.post_run(body).await.results {
            match result.outcome.stdout.trim() == case.expect {
                true => passed += 1,
                false => failed.push(format!(
                    "{} on {}: {:?}",
                    case.name, result.image, result.outcome.stdout
                )),
            }
        }
    }
    assert!(failed.is_empty(), "{failed:#?}");
    assert!(passed >= cases.len() * 2, "{passed} passed");
    server.containers.assert_none_left().await;
}

#[tokio::test]
async fn an_ini_variant_carries_up_to_32_settings() {
    let server = TestServer::start().await;
    // php-src's run-tests.php sets 29 settings; 32 real settings of every version.
    let names = [
        "precision",
        "serialize_precision",
        "short_open_tag",
        "zend.assertions",
        "error_prepend_string",
        "error_append_string",
        "output_buffering",
        "implicit_flush",
        "max_execution_time",
        "default_charset",
        "variables_order",
        "request_order",
        "arg_separator.output",
        "highlight.comment",
        "default_socket_timeout",
        "docref_root",
        "docref_ext",
        "error_reporting",
        "html_errors",
        "ignore_repeated_errors",
        "ignore_repeated_source",
        "report_memleaks",
        "xmlrpc_errors",
        "zend.enable_gc",
        "unserialize_callback_func",
        "user_agent",
        "from",
        "auto_globals_jit",
        "mbstring.language",
        "date.timezone",
        "pcre.backtrack_limit",
        "pcre.recursion_limit",
    ];
    assert_eq!(names.len(), 32);
    let variant: serde_json::Map<String, Value> = names
        .iter()
        .map(|name| (name.to_string(), Value::from(ini_value_for(name))))
        .collect();
    let response = server
        .post_run(json!({
            "code": "<?php echo ini_get('precision'), ini_get('pcre.recursion_limit');",
            "images": ["php:7.4-cli", "php:8.5-cli"], "ini": [variant],
        }))
        .await;
    for result in &response.results {
        assert_eq!(
            (result.outcome.status, result.outcome.stdout.as_str()),
            (Status::Ok, "1290000"),
            "{result:#?}"
        );
    }
    let mut too_many = variant.clone();
    too_many.insert("display_errors".into(), Value::from("1"));
    server
        .assert_refused(
            json!({ "code": "<?php", "images": ["php:8.5-cli"], "ini": [too_many] }),
            StatusCode::BAD_REQUEST,
            "at most 32",
        )
        .await;
    server.containers.assert_none_left().await;
}

/// A harmless value for each setting of [`an_ini_variant_carries_up_to_32_settings`].
fn ini_value_for(name: &str) -> &'static str {
    match name {
        "precision" => "12",
        "pcre.recursion_limit" => "90000",
        "pcre.backtrack_limit" => "1000000",
        "serialize_precision" => "-1",
        "short_open_tag" | "implicit_flush" | "zend.enable_gc" | "auto_globals_jit" | "report_memleaks" => {
            "1"
        }
        "zend.assertions" => "1",
        "output_buffering" | "max_execution_time" | "ignore_repeated_errors" | "ignore_repeated_source" => {
            "0"
        }
        "xmlrpc_errors" | "html_errors" => "0",
        "highlight.comment" => "#FF8000",
        "default_charset" => "UTF-8",
        "variables_order" => "EGPCS",
        "request_order" => "GP",
        "arg_separator.output" => "&amp;",
        "default_socket_timeout" => "60",
        "error_reporting" => "E_ALL",
        "date.timezone" => "UTC",
        "mbstring.language" => "neutral",
        _ => "",
    }
}

#[tokio::test]
async fn the_json_log_has_a_line_per_run_and_per_refusal_with_the_request_id_and_never_code_stdin_or_output()
{
    let log = std::env::temp_dir().join(format!("evalgrid-json-log-{}.jsonl", std::process::id()));
    let mut server = ServerProcess::start_logging(&["--log-format", "json"], &log).await;
    let client = server.client();
    // Each mark is in one place only: the code, the stdin, the output (the code spells it
    // backwards).
    let code = "<?php /* CODE-MARK-7f3a */ echo strrev('KRAM-TUPTUO'), trim(fgets(STDIN));";
    let response = client
        .post_json(
            "/api/run",
            json!({ "code": code, "stdin": "STDIN-MARK-91c2\n", "images": ["php:8.2-cli", "php:8.4-cli"], "save": true }),
        )
        .await;
    let request_id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["results"][0]["stdout"], "OUTPUT-MARKSTDIN-MARK-91c2",
        "{body}"
    );
    let refused = client
        .post_json("/api/run", json!({ "code": "", "images": ["php:8.4-cli"] }))
        .await;
    assert!(refused.status().is_client_error());
    let refused_status = refused.status().as_u16();
    server.stop().await;

    let text = std::fs::read_to_string(&log).unwrap();
    let _ = std::fs::remove_file(&log);
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let run = lines
        .iter()
        .find(|line| line["message"] == "run")
        .unwrap_or_else(|| panic!("no run line in {text}"));
    assert_eq!(run["span"]["id"], request_id.as_str(), "{run}");
    assert_eq!(run["span"]["path"], "/api/run", "{run}");
    assert_eq!(run["snippet"], body["id"], "{run}");
    assert_eq!(run["client"], "127.0.0.1", "{run}");
    let sorted = |field: &str| {
        let mut items: Vec<String> = run[field]
            .as_str()
            .unwrap()
            .split(',')
            .map(str::to_owned)
            .collect();
        items.sort();
        items
    };
    assert_eq!(sorted("versions"), ["php:8.2-cli", "php:8.4-cli"], "{run}");
    assert_eq!(sorted("statuses"), ["ok", "ok"], "{run}");
    assert_eq!(sorted("durations_ms").len(), 2, "{run}");
    assert_eq!(
        (run["results"].as_u64(), run["expected"].as_u64()),
        (Some(2), Some(2)),
        "{run}"
    );
    let refusal = lines
        .iter()
        .find(|line| line["message"] == "request refused")
        .unwrap_or_else(|| panic!("no refusal line in {text}"));
    assert_eq!(refusal["status"], refused_status, "{refusal}");
    assert_ne!(
        refusal["span"]["id"],
        request_id.as_str(),
        "each request has its own id"
    );
    for mark in ["CODE-MARK-7f3a", "STDIN-MARK-91c2", "OUTPUT-MARK", "KRAM-TUPTUO"] {
        assert!(!text.contains(mark), "{mark} is in the log:\n{text}");
    }
    server.containers.assert_none_left().await;
}

/// The metrics page (`--metrics-addr`) as it is served.
async fn metrics_page(address: &str) -> String {
    let page = reqwest::get(format!("http://{address}/metrics")).await.unwrap();
    page.text().await.unwrap()
}

/// The metrics page as its series: `name{labels}` → value.
async fn scrape(address: &str) -> std::collections::BTreeMap<String, f64> {
    metrics_page(address)
        .await
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').unwrap();
            (series.to_owned(), value.parse().unwrap())
        })
        .collect()
}

/// The sum of the series of `name` that carry all of `labels` (0 when there is none yet).
fn sum_of(page: &std::collections::BTreeMap<String, f64>, name: &str, labels: &[(&str, &str)]) -> f64 {
    page.iter()
        .filter(|(series, _)| {
            let (series_name, series_labels) = series.split_once('{').unwrap_or((series, ""));
            series_name == name
                && labels
                    .iter()
                    .all(|(key, value)| series_labels.contains(&format!("{key}=\"{value}\"")))
        })
        .map(|(_, value)| value)
        .sum()
}

#[tokio::test]
async fn the_metrics_page_counts_runs_by_version_and_status_cache_hits_waits_and_refusals() {
    let metrics_addr = format!("127.0.0.1:{}", common::free_port());
    let server = ServerProcess::start(&[
        "--metrics-addr",
        &metrics_addr,
        "--max-containers",
        "1",
        "--timeout-secs",
        "2",
        "--snippets-per-hour",
        "1",
    ])
    .await;
    let client = server.client();
    // Never on the public port.
    assert_eq!(client.get("/metrics").await.status(), StatusCode::NOT_FOUND);
    let before = scrape(&metrics_addr).await;
    let run = |code: &str, save: bool| json!({ "code": code, "images": ["php:8.4-cli"], "save": save });
    // Streamed, so that each run says whether it waited in line (the pool's refill may take
    // the only container for a moment between runs).
    let waits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let post = |body: Value| {
        let (client, waits) = (server.client(), waits.clone());
        async move {
            let lines = client.start_stream(body).await.rest().await;
            let mut results = Vec::new();
            let mut waited = false;
            for line in lines {
                match line {
                    RunLine::Waiting { .. } => waited = true,
                    RunLine::Result(result) => results.push(*result),
                    RunLine::Saved { .. } => {}
                    RunLine::Refused { error } => panic!("refused: {error}"),
                }
            }
            waits.fetch_add(usize::from(waited), std::sync::atomic::Ordering::SeqCst);
            (results, waited)
        }
    };

    let (ok, _) = post(run("<?php echo 'metrics ok';", true)).await;
    let version = ok[0].php_version.clone();
    assert_eq!(ok[0].outcome.status, Status::Ok);
    let (again, _) = post(run("<?php echo 'metrics ok';", true)).await;
    assert!(again[0].cached, "{again:?}");
    let statuses = [
        (run("<?php while (true) {}", false), Status::Timeout),
        (run("<?php throw new Exception('metrics');", false), Status::Exit),
        (
            json!({ "code": "<?php echo 1;", "images": ["php:8.4-cli"], "ini": [{ "evalgrid.no_such_setting": "1" }] }),
            Status::Error,
        ),
    ];
    for (body, status) in statuses {
        let (answer, _) = post(body).await;
        assert_eq!(answer[0].outcome.status, status, "{answer:?}");
    }
    // One container only: a run sent while another runs waits for it in line.
    let long = tokio::spawn(post(run("<?php usleep(1500000); echo 'long';", false)));
    for _ in 0..100 {
        if sum_of(
            &scrape(&metrics_addr).await,
            "evalgrid_containers",
            &[("state", "running")],
        ) == 1.0
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (results, waited) = post(run("<?php echo 'waited';", false)).await;
    assert_eq!(results[0].outcome.stdout, "waited");
    assert!(waited, "a run sent while the only container is busy waits");
    assert_eq!(long.await.unwrap().0[0].outcome.stdout, "long");
    let after = scrape(&metrics_addr).await;
    let moved =
        |name: &str, labels: &[(&str, &str)]| sum_of(&after, name, labels) - sum_of(&before, name, labels);
    let of_version = |status: &'static str| [("php_version", version.as_str()), ("status", status)];
    assert_eq!(
        [
            moved("evalgrid_version_runs_total", &of_version("ok")),
            moved("evalgrid_version_runs_total", &of_version("timeout")),
            moved("evalgrid_version_runs_total", &of_version("exit")),
            moved("evalgrid_version_runs_total", &of_version("error")),
        ],
        [3.0, 1.0, 1.0, 1.0],
        "runs by status (ok: the first, the long one and the one that waited)"
    );
    assert_eq!(
        moved(
            "evalgrid_version_run_duration_seconds_count",
            &[("php_version", &version)]
        ),
        6.0
    );
    assert_eq!(
        [
            moved("evalgrid_result_cache_lookups_total", &[("result", "hit")]),
            moved("evalgrid_result_cache_lookups_total", &[("result", "miss")]),
        ],
        [1.0, 6.0],
        "cache look-ups: one hit, and a miss for every other run"
    );
    let waits = waits.load(std::sync::atomic::Ordering::SeqCst) as f64;
    assert_eq!(
        moved("evalgrid_run_wait_seconds_count", &[]),
        waits,
        "each run that waited"
    );
    assert!(moved("evalgrid_run_wait_seconds_sum", &[]) > 0.0);
    // A second new saved snippet within the hour is over the quota.
    let refused = client
        .post_json("/api/run", run("<?php echo 'one too many';", true))
        .await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let last = scrape(&metrics_addr).await;
    let refusals = |page| sum_of(page, "evalgrid_refused_total", &[("cap", "snippets_per_hour")]);
    assert_eq!(refusals(&last) - refusals(&after), 1.0);
    assert!(
        moved(
            "evalgrid_store_operation_duration_seconds_count",
            &[("operation", "save")]
        ) >= 1.0
    );
    assert!(sum_of(&after, "evalgrid_database_bytes", &[]) > 0.0);

    // Every series on the page is one evalgrid declares, of the kind it declares.
    let page = metrics_page(&metrics_addr).await;
    for line in page.lines().filter(|line| line.starts_with("# TYPE ")) {
        let mut words = line.split(' ').skip(2);
        let (name, kind) = (words.next().unwrap(), words.next().unwrap());
        let declared = server::metrics::all()
            .find(|metric| metric.name == name)
            .unwrap_or_else(|| panic!("{name} is exported but not declared"));
        assert_eq!(format!("{:?}", declared.kind).to_lowercase(), kind, "{name}");
    }
    // Runs done, nothing counted as running any more.
    assert_eq!(
        sum_of(
            &scrape(&metrics_addr).await,
            "evalgrid_containers",
            &[("state", "running")]
        ),
        0.0
    );
}
