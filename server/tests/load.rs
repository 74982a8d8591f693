//! Admission under load and per-client rate limiting, on the real engine.

mod common;

use app::model::{RunResponse, Status};
use common::server_process::ServerProcess;
use common::{run_body, TestServer};
use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::Value;

const FOUR: [&str; 4] = ["php:7.4-cli", "php:8.2-cli", "php:8.4-cli", "php:8.5-cli"];

#[tokio::test]
async fn fifty_clients_get_results_or_a_clean_503_and_nothing_is_left() {
    // A server process of its own, so that its memory is its alone.
    let process = ServerProcess::start(&[
        "--pool-size",
        "0",
        "--max-containers",
        "8",
        "--admission-wait-secs",
        "1",
        "--runs-per-minute",
        "0",
    ])
    .await;
    let server = process.client();
    server.assert_still_answers().await;
    let idle_kib = process.rss_kib();

    let body = run_body("<?php usleep(200000); echo 'done';", &FOUR);
    let responses = join_all((0..50).map(|_| server.post_json("/api/run", body.clone()))).await;
    let (mut served, mut turned_away) = (0, 0);
    for response in responses {
        match response.status() {
            StatusCode::OK => {
                let run: RunResponse = response.json().await.unwrap();
                assert_eq!(run.results.len(), 4);
                assert!(
                    run.results
                        .iter()
                        .all(|r| r.status == Status::Ok && r.stdout == "done"),
                    "{run:?}"
                );
                served += 1;
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(response.headers()["retry-after"], "1");
                let error: Value = response.json().await.unwrap();
                assert!(error["error"].as_str().unwrap().contains("busy"), "{error}");
                turned_away += 1;
            }
            other => panic!("unexpected {other}: {}", response.text().await.unwrap()),
        }
    }
    assert!(served >= 2, "only {served} of 50 served");
    assert!(
        turned_away > 0,
        "50 × 4 containers cannot all fit in 8 slots within 1 s"
    );
    println!("served {served}, turned away {turned_away}");

    process.containers.assert_none_left().await;
    let growth_mib = process.rss_kib().saturating_sub(idle_kib) / 1024;
    assert!(growth_mib < 64, "resident memory grew by {growth_mib} MiB");
    server.assert_still_answers().await;
    process.containers.assert_none_left().await;
}

#[tokio::test]
async fn a_run_larger_than_the_container_limit_is_refused() {
    let server = TestServer::start_with(&["--max-containers", "2"]).await;
    server
        .assert_refused(
            run_body("<?php echo 1;", &FOUR[..3]),
            StatusCode::BAD_REQUEST,
            "can never fit",
        )
        .await;
}

#[tokio::test]
async fn a_client_over_its_rate_gets_429_with_retry_after() {
    let server = TestServer::start_with(&["--runs-per-minute", "3"]).await;
    for _ in 0..3 {
        let response = server
            .post_json("/api/run", run_body("<?php echo 1;", &["php:8.4-cli"]))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let response = server
        .post_json("/api/run/stream", run_body("<?php echo 1;", &["php:8.4-cli"]))
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&retry_after), "{retry_after}");
    let error: Value = response.json().await.unwrap();
    assert!(
        error["error"].as_str().unwrap().contains("at most 3 per minute"),
        "{error}"
    );
    // Reading is not limited.
    assert_eq!(server.get("/api/images").await.status(), StatusCode::OK);
}
