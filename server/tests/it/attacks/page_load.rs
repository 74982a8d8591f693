//! Issue 23, finding 1: one page view stalled every request. A saved snippet whose 16 results
//! (4 versions × 4 ini variants) each print ~62 KB of long lines of one-letter words, different
//! on each version, made `GET /s/{id}?view=grid&base=7.4` diff every cell against PHP 7.4 with
//! a longest-common-subsequence table per changed region, with no overall bound, on the async
//! workers: 34 s of CPU and a 20 MB page; two at once kept `/api/health` from answering for a
//! minute. Now the diffs of a page share a budget of steps (past it a cell says "diff too
//! large"), pages render off the async workers, and page views per client are bounded.

use crate::common::{Client, TestServer};
use reqwest::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};

const VERSIONS: [&str; 4] = ["php:7.4-cli", "php:8.2-cli", "php:8.4-cli", "php:8.5-cli"];

/// 31 lines of 1000 random one-letter words, seeded by the version, each followed by an empty
/// line: every long line is a changed region of its own between the blank lines all versions
/// share, and its words differ everywhere.
const HEAVY_OUTPUT: &str = r#"<?php
mt_srand(crc32(PHP_VERSION));
for ($line = 0; $line < 31; $line++) {
    $words = [];
    for ($word = 0; $word < 1000; $word++) {
        $words[] = chr(97 + mt_rand(0, 25));
    }
    echo implode(' ', $words), "\n\n";
}
"#;

/// What one page view came to.
#[derive(Debug)]
struct PageView {
    status: StatusCode,
    bytes: usize,
    too_large: usize,
    took: Duration,
}

async fn view_page(client: Client, path: String) -> PageView {
    let started = Instant::now();
    let response = client.get(&path).await;
    let status = response.status();
    let html = response.text().await.unwrap();
    PageView {
        status,
        bytes: html.len(),
        too_large: html.to_lowercase().matches("diff too large").count(),
        took: started.elapsed(),
    }
}

// Two worker threads, as on the 2-core host of the report: the server's and the test's tasks
// share them, so a render that holds a worker shows in the health checks' answer times.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permalink_of_huge_different_outputs_renders_within_a_bound_while_health_answers() {
    let server = TestServer::start().await;
    let variants = json!([{}, { "precision": 10 }, { "precision": 11 }, { "precision": 12 }]);
    let saved = server
        .post_run(json!({ "code": HEAVY_OUTPUT, "images": VERSIONS, "save": true, "ini": variants }))
        .await;
    assert_eq!(saved.results.len(), 16, "4 versions × 4 variants");
    for result in &saved.results {
        assert_eq!(
            result.outcome.status,
            app::model::Status::Ok,
            "{}: {:?}",
            result.image,
            result.message
        );
        assert!(
            (60_000..64_000).contains(&result.outcome.stdout.len()),
            "{}: {} bytes",
            result.image,
            result.outcome.stdout.len()
        );
    }
    assert_ne!(
        saved.results[0].outcome.stdout, saved.results[1].outcome.stdout,
        "each version its own words"
    );
    let path = format!("/s/{}?view=grid&base=7.4", saved.id.unwrap());

    // Two heavy page views at once, as the report did; health checks meanwhile.
    let started = Instant::now();
    let pages: Vec<_> = (0..2)
        .map(|_| tokio::spawn(view_page(Client::clone(&server), path.clone())))
        .collect();
    let mut health = Vec::new();
    while !pages.iter().all(|page| page.is_finished()) && started.elapsed() < Duration::from_secs(180) {
        let asked = Instant::now();
        let status = tokio::time::timeout(Duration::from_secs(180), server.get("/api/health"))
            .await
            .map(|response| response.status());
        health.push((asked.elapsed(), status.ok()));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut views = Vec::new();
    for page in pages {
        match tokio::time::timeout(Duration::from_secs(1), page).await {
            Ok(view) => views.push(Some(view.unwrap())),
            Err(_) => views.push(None),
        }
    }
    let slowest_health = health.iter().map(|(took, _)| *took).max().unwrap_or_default();
    println!(
        "two page views: {views:?}; {} health checks meanwhile, the slowest took {slowest_health:?}",
        health.len()
    );

    // Generous bounds: the page answers, is not huge, and health never waits on it.
    assert!(
        health.iter().all(|(_, status)| *status == Some(StatusCode::OK)),
        "health checks: {health:?}"
    );
    assert!(
        slowest_health < Duration::from_secs(3),
        "a health check waited {slowest_health:?} for the page views ({} checks)",
        health.len()
    );
    for view in &views {
        let Some(view) = view else {
            panic!("a page view did not answer within 180 s: {views:?}");
        };
        assert_eq!(view.status, StatusCode::OK);
        assert!(view.took < Duration::from_secs(30), "{view:?}");
        assert!(view.bytes < 5_000_000, "a page of {} bytes", view.bytes);
        // The 12 cells diffed against 7.4 are past the page's budget.
        assert!(
            view.too_large >= 1,
            "no cell says its diff is too large: {view:?}"
        );
    }
    server.assert_still_answers().await;
    server.containers.assert_none_left().await;
}

/// Page views are counted per client address like runs are: past the quota, 429 with
/// Retry-After; the API, health checks and static files do not count.
#[tokio::test]
async fn page_views_per_client_are_bounded() {
    let server = TestServer::setup()
        .with(|c| c.quotas.page_views_per_minute = 3)
        .start()
        .await;
    for path in ["/", "/s/nosuch", "/e/nosuch"] {
        let status = server.get(path).await.status();
        assert!(
            status == StatusCode::OK || status == StatusCode::NOT_FOUND,
            "{path}: {status}"
        );
    }
    let refused = server.get("/s/nosuch?view=grid").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "Retry-After: {wait}");
    assert!(refused.text().await.unwrap().contains("page views"));
    for path in [
        "/api/health",
        "/api/images",
        "/api/snippets/nosuch",
        "/favicon.svg",
        "/pkg/evalgrid.css",
    ] {
        assert_ne!(
            server.get(path).await.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "{path} is no page view"
        );
    }
    // The flag's default leaves room for a browser test's page loads.
    let roomy = TestServer::start().await;
    for _ in 0..60 {
        assert_ne!(
            roomy.get("/s/nosuch").await.status(),
            StatusCode::TOO_MANY_REQUESTS
        );
    }
}
