//! Admission under load and per-client limits, on the real engine: runs wait in line for a free
//! slot, first come first served, and are told where they stand; a full line or a client over its
//! share is turned away at once.

use crate::common;

use app::model::{RunLine, RunResponse, Status, Waiting};
use common::client::RunStream;
use common::server_process::ServerProcess;
use common::{run_body, TestServer};
use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};

const FOUR: [&str; 4] = ["php:7.4-cli", "php:8.2-cli", "php:8.4-cli", "php:8.5-cli"];

/// Holds the server's only slot for 3 s.
const HOLD: &str = "<?php sleep(3); echo 'held';";

fn waiting(ahead: usize) -> RunLine {
    RunLine::Waiting {
        waiting: Waiting { ahead },
    }
}

fn results(lines: &[RunLine]) -> Vec<&app::model::VersionResult> {
    lines
        .iter()
        .filter_map(|line| match line {
            RunLine::Result(result) => Some(&**result),
            _ => None,
        })
        .collect()
}

/// A server with room for one container, whose images are already discovered (version probes
/// wait in line like runs), holding its one slot with [`HOLD`].
async fn held(change: impl FnOnce(&mut server::Config)) -> (TestServer, RunStream) {
    let server = TestServer::setup()
        .with(|c| {
            c.capacity.max_containers = Some(1);
            c.quotas.runs_per_minute = 0;
        })
        .with(change)
        .start()
        .await;
    assert_eq!(server.get("/api/images").await.status(), StatusCode::OK);
    // The probes' containers are gone: the slot is free.
    server
        .containers
        .wait_until_none(std::time::Duration::from_secs(5))
        .await;
    let holder = server.start_stream(run_body(HOLD, &["php:8.4-cli"])).await;
    server.containers.wait_for(1).await;
    (server, holder)
}

/// A streaming run that waits behind the holder: its first line says so.
async fn queued(server: &TestServer, code: &str, ahead: usize) -> RunStream {
    let mut stream = server
        .start_stream(json!({ "code": code, "images": ["php:8.4-cli"], "save": true }))
        .await;
    assert_eq!(stream.next().await, Some(waiting(ahead)), "{code}");
    stream
}

#[tokio::test]
async fn a_burst_larger_than_the_capacity_is_served_from_the_line_or_turned_away_cleanly() {
    // A server process of its own, so that its memory is its alone.
    let process = ServerProcess::start(&[
        "--pool-size",
        "0",
        "--max-containers",
        "8",
        "--max-waiting-runs",
        "16",
        "--runs-per-minute",
        "0",
        // 50 clients, all on one address here: no per-address share.
        "--runs-in-flight-per-ip",
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
                assert!(
                    run.results
                        .iter()
                        .all(|r| r.outcome.status == Status::Ok && r.outcome.stdout == "done"),
                    "{run:?}"
                );
                assert_eq!(run.results.len(), 4);
                served += 1;
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(response.headers()["retry-after"], "5");
                let error: Value = response.json().await.unwrap();
                let message = error["error"].as_str().unwrap();
                assert!(message.contains("runs are already waiting"), "{error}");
                turned_away += 1;
            }
            other => panic!("unexpected {other}: {}", response.text().await.unwrap()),
        }
    }
    println!("served {served}, turned away {turned_away}");
    assert_eq!(served + turned_away, 50);
    assert!(
        served >= 16,
        "the whole line is served, and what ran at once: {served}"
    );
    assert!(
        turned_away > 0,
        "50 runs cannot all fit in 8 slots and a line of 16"
    );

    process.containers.assert_none_left().await;
    let growth_mib = process.rss_kib().saturating_sub(idle_kib) / 1024;
    assert!(growth_mib < 64, "resident memory grew by {growth_mib} MiB");
    server.assert_still_answers().await;
}

#[tokio::test]
async fn runs_that_wait_are_told_their_place_and_served_first_come_first_served() {
    let (server, holder) = held(|_| {}).await;
    let mut first = queued(&server, "<?php echo 'first';", 0).await;
    let mut second = queued(&server, "<?php echo 'second';", 1).await;
    let third = queued(&server, "<?php echo 'third';", 2).await;

    // The holder ends; the first runs while the others move up.
    assert_eq!(results(&holder.rest().await)[0].outcome.stdout, "held");
    let first_lines = {
        let mut lines = Vec::new();
        while let Some(line) = first.next().await {
            lines.push(line);
        }
        lines
    };
    assert!(matches!(first_lines[0], RunLine::Saved { .. }), "{first_lines:?}");
    assert_eq!(results(&first_lines)[0].outcome.stdout, "first");
    assert_eq!(second.next().await, Some(waiting(0)));
    let second_lines = second.rest().await;
    assert_eq!(results(&second_lines)[0].outcome.stdout, "second");
    let third_lines = third.rest().await;
    assert_eq!(third_lines[..2], [waiting(1), waiting(0)]);
    let RunLine::Saved { snippet_id } = &third_lines[2] else {
        panic!("a waiting run's id comes in a line: {third_lines:?}");
    };
    assert_eq!(results(&third_lines)[0].outcome.stdout, "third");
    let saved = server.snippet(snippet_id).await.expect("saved once admitted");
    assert_eq!(saved.results[0].outcome.stdout, "third");
    server.containers.assert_none_left().await;
}

#[tokio::test]
async fn a_client_that_leaves_the_line_lets_the_next_move_up_at_once() {
    let (server, holder) = held(|_| {}).await;
    let leaving = queued(&server, "<?php echo 'never';", 0).await;
    let mut staying = queued(&server, "<?php echo 'stayed';", 1).await;
    drop(leaving);
    // Long before the holder ends.
    let moved_up = tokio::time::timeout(std::time::Duration::from_secs(2), staying.next()).await;
    assert_eq!(moved_up.expect("told at once"), Some(waiting(0)));
    assert_eq!(results(&holder.rest().await)[0].outcome.stdout, "held");
    assert_eq!(results(&staying.rest().await)[0].outcome.stdout, "stayed");
    server.containers.assert_none_left().await;
    let id = &app::store::full_id("<?php echo 'never';")[..app::store::MIN_ID_LEN];
    assert!(
        server.snippet(id).await.is_none(),
        "a run that left the line was saved"
    );
}

#[tokio::test]
async fn a_run_still_waiting_when_the_wait_ends_gets_an_error_line_and_saves_nothing() {
    let (server, holder) = held(|c| c.capacity.admission_wait_secs = 1.0).await;
    let code = "<?php echo 'too late';";
    let refused = queued(&server, code, 0).await.rest().await;
    let [RunLine::Refused { error }] = &refused[..] else {
        panic!("{refused:?}");
    };
    assert!(error.contains("busy"), "{error}");
    // The same through the whole-answer API: a 503.
    let response = server
        .post_json("/api/run", run_body(code, &["php:8.4-cli"]))
        .await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "5");
    // Nothing was saved: the id the code would have is free.
    let id = &app::store::full_id(code)[..app::store::MIN_ID_LEN];
    assert!(
        server.snippet(id).await.is_none(),
        "a run that never started was saved"
    );
    assert_eq!(results(&holder.rest().await)[0].outcome.stdout, "held");
    server.containers.assert_none_left().await;
}

#[tokio::test]
async fn one_client_cannot_take_the_line() {
    let (server, holder) = held(|c| c.quotas.runs_in_flight_per_ip = 2).await;
    let waiting_run = queued(&server, "<?php echo 'second';", 0).await;
    server
        .assert_refused(
            run_body("<?php echo 'third';", &["php:8.4-cli"]),
            StatusCode::TOO_MANY_REQUESTS,
            "runs of up to 2 versions waiting or running",
        )
        .await;
    assert_eq!(results(&holder.rest().await)[0].outcome.stdout, "held");
    assert_eq!(results(&waiting_run.rest().await)[0].outcome.stdout, "second");
    // Its runs are done: its share is free again.
    assert_eq!(
        server.run("<?php echo 'again';", &["php:8.4-cli"]).await[0]
            .outcome
            .stdout,
        "again"
    );
    server.containers.assert_none_left().await;
}

/// More versions than containers: the run goes in waves, each result streamed as it comes, and
/// the engine never holds more containers than the limit (counted on the engine itself).
#[tokio::test]
async fn a_run_wider_than_the_container_limit_runs_in_waves_within_it() {
    // The four local images and the two fixtures, whatever else the engine holds.
    let tags = format!("{},8.4,8.4.5-cli-alpine", runner::testing::local_tags().join(","));
    let server = TestServer::setup()
        .repositories("php,evalgrid-fixture/php")
        .with(|c| {
            c.images.tags = tags.split(',').map(str::to_owned).collect();
            c.capacity.max_containers = Some(2);
            c.quotas.runs_per_minute = 0;
        })
        .start()
        .await;
    let images: Vec<app::model::ImageInfo> = server.get("/api/images").await.json().await.unwrap();
    let names: Vec<&str> = images.iter().map(|i| i.image.as_str()).collect();
    assert_eq!(names.len(), 6, "{names:?}");
    server
        .containers
        .wait_until_none(std::time::Duration::from_secs(5))
        .await;

    // Counts this server's containers on the engine all along the run.
    let census = runner::testing::Census::of_instance(server.containers.instance_id());
    let code = "<?php usleep(300000); echo PHP_VERSION;";
    let lines = server.start_stream(run_body(code, &names)).await.rest().await;
    let most = census.most().await;
    assert_eq!(most, 2, "two containers at a time, never more: the limit is 2");
    let results = results(&lines);
    assert_eq!(results.len(), 6, "{lines:?}");
    for result in &results {
        assert_eq!(result.outcome.status, Status::Ok, "{result:?}");
        assert_eq!(result.outcome.stdout, result.php_version);
    }
    server.containers.assert_none_left().await;
}

#[tokio::test]
async fn a_client_over_its_rate_gets_429_with_retry_after() {
    let server = TestServer::setup()
        .with(|c| c.quotas.runs_per_minute = 3)
        .start()
        .await;
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
