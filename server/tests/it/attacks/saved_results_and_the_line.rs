//! Issue 23's findings 3 and 4: one client cannot hold the line (it is shared fairly between
//! clients, and a client's share is counted in versions, not requests); a transient failure
//! never replaces a saved result; saved snippets that cannot run on a new version do not stop
//! the backfill from reaching the others.

use crate::common;
use crate::common::tags::{offers, Tags};
use crate::common::{fresh_database, Client, TestServer};
use app::model::{RunLine, Status};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// A client of `server` known by the address `ip` (the server trusts the test's proxy, which is
/// the test itself on 127.0.0.1, to say so in `X-Forwarded-For`).
fn client_at(server: &TestServer, ip: &str) -> Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-forwarded-for", ip.parse().unwrap());
    Client {
        base: server.base.clone(),
        http: reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .unwrap(),
    }
}

/// A run of 16 slow cells (4 versions × 4 ini variants), more than the server runs at once.
fn sixteen_slow_cells() -> Value {
    json!({
        "code": "<?php usleep(1500000); echo PHP_VERSION;",
        "images": ["php:7.4-cli", "php:8.2-cli", "php:8.4-cli", "php:8.5-cli"],
        "ini": [{}, {"precision": 13}, {"precision": 12}, {"precision": 11}],
    })
}

#[tokio::test]
async fn a_client_with_a_wide_run_takes_its_turn_with_the_others_not_the_whole_line() {
    let server = TestServer::setup()
        .with(|c| {
            c.capacity.max_containers = Some(4);
            common::trust_proxies(c, "127.0.0.1/32");
        })
        .start()
        .await;
    let (wide, other) = (
        client_at(&server, "203.0.113.1"),
        client_at(&server, "203.0.113.2"),
    );
    // 4 cells run, the next 4 wait in line in waves, the rest follow.
    let wide_run = wide.start_stream(sixteen_slow_cells()).await;
    let wide_run = tokio::spawn(wide_run.rest());
    tokio::time::sleep(Duration::from_millis(700)).await;
    let mut own = other
        .start_stream(json!({"code": "<?php echo 'mine';", "images": ["php:8.2-cli"]}))
        .await;
    let first = own.next().await.expect("a line");
    // First come, first served by client: at most the wide run's own next cell goes first,
    // not every cell it has in line.
    match &first {
        RunLine::Waiting { waiting } => assert!(
            waiting.ahead <= 1,
            "{} cells ahead of another client's one-version run",
            waiting.ahead
        ),
        RunLine::Result(result) => assert_eq!(result.outcome.status, Status::Ok, "{result:?}"),
        other => panic!("{other:?}"),
    }
    let lines = own.rest().await;
    let mine: Vec<_> = std::iter::once(first)
        .chain(lines)
        .filter_map(|line| match line {
            RunLine::Result(result) => Some(result),
            _ => None,
        })
        .collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(
        (mine[0].outcome.status, mine[0].outcome.stdout.as_str()),
        (Status::Ok, "mine")
    );
    let wide_results = wide_run.await.unwrap();
    let oks = wide_results
        .iter()
        .filter(|line| matches!(line, RunLine::Result(r) if r.outcome.status == Status::Ok))
        .count();
    assert_eq!(oks, 16, "the wide run still runs whole: {wide_results:?}");
    server.containers.wait_until_settled().await;
    server.containers.assert_none_left().await;
}

#[tokio::test]
async fn a_client_s_share_of_runs_in_flight_counts_its_versions_not_its_requests() {
    let server = TestServer::setup()
        .with(|c| {
            c.capacity.max_containers = Some(4);
            c.quotas.runs_in_flight_per_ip = 8;
            common::trust_proxies(c, "127.0.0.1/32");
        })
        .start()
        .await;
    let (wide, other) = (
        client_at(&server, "203.0.113.3"),
        client_at(&server, "203.0.113.4"),
    );
    let wide_run = tokio::spawn(wide.start_stream(sixteen_slow_cells()).await.rest());
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Its 16 versions fill its share (a run larger than the share still runs, alone).
    let again = wide
        .post_json(
            "/api/run",
            json!({"code": "<?php echo 1;", "images": ["php:8.2-cli"]}),
        )
        .await;
    assert_eq!(again.status(), StatusCode::TOO_MANY_REQUESTS);
    let error: Value = again.json().await.unwrap();
    assert!(error["error"].as_str().unwrap().contains("versions"), "{error}");
    // Another client is not counted with it.
    let theirs = other.run("<?php echo 2;", &["php:8.2-cli"]).await;
    assert_eq!(theirs[0].outcome.status, Status::Ok, "{theirs:?}");
    wide_run.await.unwrap();
    server.containers.wait_until_settled().await;
    server.containers.assert_none_left().await;
}

#[tokio::test]
async fn a_run_refused_for_lack_of_room_never_replaces_a_saved_result() {
    let database = fresh_database();
    let database = database.to_str().unwrap();
    let code = "<?php usleep(1500000); echo PHP_VERSION;";
    let images = ["php:7.4-cli", "php:8.2-cli", "php:8.4-cli", "php:8.5-cli"];
    let body = json!({ "code": code, "images": images, "save": true, "force": true });
    let id = {
        let roomy = TestServer::setup().database(database).start().await;
        let saved = roomy.post_run(body.clone()).await;
        assert!(
            saved.results.iter().all(|r| r.outcome.status == Status::Ok),
            "{saved:?}"
        );
        saved.id.unwrap()
    };
    // One container at a time and a short wait: the first version runs, the others are told
    // the server is busy.
    let busy = TestServer::setup()
        .database(database)
        .with(|c| {
            c.capacity.max_containers = Some(1);
            c.capacity.admission_wait_secs = 1.0;
        })
        .start()
        .await;
    let again = busy.post_run(body).await;
    assert_eq!(again.id.as_deref(), Some(id.as_str()));
    let refused = again
        .results
        .iter()
        .filter(|r| r.outcome.status == Status::Error)
        .count();
    assert!(refused >= 1, "some version was refused: {again:?}");
    let snippet = busy.snippet(&id).await.unwrap();
    for result in &snippet.results {
        assert_eq!(
            (
                result.outcome.status,
                result.outcome.stdout.starts_with(result.php_version.as_str())
            ),
            (Status::Ok, true),
            "the saved result stays: {result:?}"
        );
    }
    busy.containers.assert_none_left().await;
}

#[tokio::test]
async fn snippets_that_cannot_run_on_a_new_version_do_not_stop_the_others_reaching_it() {
    let tags = Tags::of("evalgrid-backfill-failures/php");
    let php84 = tags.add("8.4-cli");
    let server = TestServer::setup()
        .repositories(tags.repository)
        .with(|c| c.capacity.backfill_per_minute = 600)
        .start()
        .await;
    offers(&server, &[&php84]).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // More snippets than one look-up returns, each asking for a setting PHP 7.4 lacks.
    for n in 0..20 {
        let saved = server
            .post_run(json!({
                "code": format!("<?php echo {n};"), "images": [&php84], "save": true,
                "ini": [{ "zend.exception_string_param_max_len": 15 }],
            }))
            .await;
        assert_eq!(saved.results[0].outcome.status, Status::Ok, "{saved:?}");
    }
    // Saved after all of them (created_at counts to the second).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (fine, _) = server.save("<?php echo 'fine';", &[&php84]).await;

    let php74 = tags.add("7.4-cli");
    offers(&server, &[&php74, &php84]).await;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let snippet = server.snippet(&fine).await.unwrap();
        if let Some(on74) = snippet.results.iter().find(|r| r.image == php74) {
            assert_eq!(
                (on74.outcome.status, on74.outcome.stdout.as_str()),
                (Status::Ok, "fine")
            );
            assert!(on74.added_later);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the snippet saved after 20 that cannot run on {php74} never got a result for it"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    server.containers.wait_until_settled().await;
    server.containers.assert_none_left().await;
}
