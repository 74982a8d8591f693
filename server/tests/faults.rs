//! Faults around the server: the engine missing or vanishing, clients hanging up, the server
//! being stopped or killed. On the real engine; the engine's absence is simulated by an
//! [`EngineProxy`] in front of it, so its containers stay observable.

mod common;

use app::model::{Status, VersionResult};
use common::engine_proxy::EngineProxy;
use common::server_process::ServerProcess;
use common::{assert_no_container_left, managed_containers, run_body, wait_for_containers, TestServer};
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};

const SLEEPER: &str = "<?php sleep(30);";

/// Polls until `count` managed containers are running a script (idle pooled containers, still
/// waiting in `cat`, do not count).
async fn wait_for_running_sleepers(count: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let ids = docker(&[
            "ps",
            "-q",
            "--filter",
            &format!("label={}", runner::MANAGED_LABEL),
        ]);
        let sleeping = ids
            .lines()
            .filter(|id| {
                // Columns: UID PID PPID C STIME TTY TIME CMD; a running script's CMD is `php …`
                // (an idle pooled container has only the shell and `cat`). A container may go
                // away between `ps` and `top` (a version probe): not a sleeper.
                let top = Command::new("docker")
                    .args(["top", id])
                    .output()
                    .expect("docker CLI");
                String::from_utf8_lossy(&top.stdout)
                    .lines()
                    .any(|line| line.split_whitespace().nth(7) == Some("php"))
            })
            .count();
        if sleeping == count {
            return;
        }
        assert!(Instant::now() < deadline, "expected {count} running scripts");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls until no managed container is left; returns how long that took.
async fn wait_until_no_container(within: Duration) -> Duration {
    let start = Instant::now();
    while managed_containers().await > 0 {
        assert!(
            start.elapsed() < within,
            "containers still there after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    start.elapsed()
}

#[tokio::test]
async fn without_an_engine_the_server_starts_and_recovers_when_it_comes_back() {
    let engine = EngineProxy::new("down-at-start");
    let server = TestServer::start_with(&["--docker-host", &engine.docker_host()]).await;

    let health = server.get("/api/health").await;
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(health.json::<Value>().await.unwrap()["engine"], "unavailable");
    let page = server.get("/").await.text().await.unwrap();
    assert!(page.contains("Docker engine is unavailable"), "the page says so");
    server
        .assert_refused(
            run_body("<?php echo 1;", &["php:8.2-cli"]),
            StatusCode::SERVICE_UNAVAILABLE,
            "Docker engine is unavailable",
        )
        .await;

    engine.switch_on();
    assert_eq!(server.get("/api/health").await.status(), StatusCode::OK);
    server.assert_still_answers().await;
    assert_no_container_left().await;
}

#[tokio::test]
async fn when_the_engine_vanishes_mid_run_every_version_fails_promptly() {
    let engine = EngineProxy::new("vanishes");
    engine.switch_on();
    let server = TestServer::start_with(&["--docker-host", &engine.docker_host()]).await;
    let response = server
        .post_json(
            "/api/run/stream",
            run_body(SLEEPER, &["php:8.2-cli", "php:8.4-cli"]),
        )
        .await;
    // Mid-run: both scripts running (not merely created).
    wait_for_running_sleepers(2).await;

    engine.switch_off();
    let body = tokio::time::timeout(Duration::from_secs(3), response.text())
        .await
        .expect("every version answered promptly")
        .unwrap();
    let results: Vec<VersionResult> = body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(results.len(), 2);
    assert!(
        results
            .iter()
            .all(|r| r.status == Status::Error && r.message.is_some()),
        "{results:?}"
    );

    // The containers outlived the engine's absence; they go once it is back.
    engine.switch_on();
    wait_until_no_container(Duration::from_secs(10)).await;
    server.assert_still_answers().await;
    assert_no_container_left().await;
}

#[tokio::test]
async fn a_client_that_hangs_up_mid_run_leaves_no_container() {
    let server = TestServer::start().await;
    let response = server
        .post_json(
            "/api/run/stream",
            run_body(SLEEPER, &["php:8.2-cli", "php:8.4-cli"]),
        )
        .await;
    let mut body = response.bytes_stream();
    wait_for_containers(2).await;
    // Nothing has arrived yet; hang up.
    assert!(tokio::time::timeout(Duration::from_millis(100), body.next())
        .await
        .is_err());
    drop(body);
    let took = wait_until_no_container(Duration::from_secs(1)).await;
    println!("containers gone {took:?} after the client hung up");
}

#[tokio::test]
async fn sigterm_kills_the_runs_in_flight_and_exits_within_two_seconds() {
    let _engine = TestServer::exclusive().await;
    // With the default pool: the pooled containers must go as well.
    let mut server = ServerProcess::start(&[]).await;
    let run = server.start_run(SLEEPER, &["php:8.2-cli", "php:8.4-cli"]);
    wait_for_running_sleepers(2).await;

    server.signal(libc::SIGTERM);
    let took = server.wait_for_exit(Duration::from_secs(2)).await;
    println!("exited {took:?} after SIGTERM");
    assert_no_container_left().await;
    run.abort();
}

#[tokio::test]
async fn after_a_crash_the_next_start_removes_its_orphans_and_only_those() {
    let _engine = TestServer::exclusive().await;
    let mut crashed = ServerProcess::start(&["--pool-size", "0"]).await;
    let run = crashed.start_run(SLEEPER, &["php:8.2-cli", "php:8.4-cli"]);
    wait_for_containers(2).await;
    crashed.signal(libc::SIGKILL);
    crashed.wait_for_exit(Duration::from_secs(2)).await;
    run.abort();
    assert_eq!(
        managed_containers().await,
        2,
        "SIGKILL leaves the containers behind"
    );

    let bystander = docker(&["create", "--label", "someone.else=true", "php:8.4-cli"]);
    let restarted = ServerProcess::start(&["--pool-size", "0"]).await;
    assert_no_container_left().await;
    assert_eq!(
        docker(&["ps", "-aq", "--no-trunc", "--filter", "label=someone.else"]),
        bystander,
        "other containers stay"
    );
    docker(&["rm", "-f", &bystander]);
    drop(restarted);
}

fn docker(args: &[&str]) -> String {
    let output = Command::new("docker").args(args).output().expect("docker CLI");
    assert!(
        output.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}
