//! Faults around the server: the engine missing or vanishing, clients hanging up, the server
//! being stopped or killed. On the real engine; the engine's absence is simulated by an
//! [`EngineProxy`] in front of it, so its containers stay observable.

use crate::common;

use app::model::{Status, VersionResult};
use common::engine_proxy::EngineProxy;
use common::server_process::ServerProcess;
use common::{run_body, Containers, TestServer};
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};

const SLEEPER: &str = "<?php sleep(30);";

/// Polls until `count` of these containers are running a script (idle pooled containers, still
/// waiting in `cat`, do not count). `docker top` is awaited, not blocked on: this thread also
/// runs the server under test and the engine proxy, and the engine holds a container's lock
/// while it streams to them (a volume fill's archive), so a blocking `top` of that container
/// deadlocks the test.
async fn wait_for_running_sleepers(containers: &Containers, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut sleeping = 0;
        for id in containers.ids().await {
            // Columns: UID PID PPID C STIME TTY TIME CMD; a running script's CMD is `php …` (an
            // idle pooled container has only the shell and `cat`). A container may go away
            // before `top` (a version probe): not a sleeper.
            let top = tokio::process::Command::new("docker")
                .args(["top", &id])
                .output()
                .await
                .expect("docker CLI");
            let running_php = String::from_utf8_lossy(&top.stdout)
                .lines()
                .any(|line| line.split_whitespace().nth(7) == Some("php"));
            sleeping += usize::from(running_php);
        }
        if sleeping == count {
            return;
        }
        assert!(Instant::now() < deadline, "expected {count} running scripts");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn without_an_engine_the_server_starts_and_recovers_when_it_comes_back() {
    let engine = EngineProxy::new("down-at-start");
    let server = TestServer::setup()
        .with(|c| c.engine.docker_host = Some(engine.docker_host()))
        .start()
        .await;

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
    server.containers.assert_none_left().await;
}

#[tokio::test]
async fn when_the_engine_vanishes_mid_run_every_version_fails_promptly() {
    let engine = EngineProxy::new("vanishes");
    engine.switch_on();
    let server = TestServer::setup()
        .with(|c| c.engine.docker_host = Some(engine.docker_host()))
        .start()
        .await;
    let response = server
        .post_json(
            "/api/run/stream",
            run_body(SLEEPER, &["php:8.2-cli", "php:8.4-cli"]),
        )
        .await;
    // Mid-run: both scripts running (not merely created).
    wait_for_running_sleepers(&server.containers, 2).await;

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
            .all(|r| r.outcome.status == Status::Error && r.message.is_some()),
        "{results:?}"
    );

    // The containers outlived the engine's absence; they go once it is back.
    engine.switch_on();
    server.containers.wait_until_none(Duration::from_secs(10)).await;
    server.assert_still_answers().await;
    server.containers.assert_none_left().await;
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
    server.containers.wait_for(2).await;
    // Nothing has arrived yet; hang up.
    assert!(tokio::time::timeout(Duration::from_millis(100), body.next())
        .await
        .is_err());
    drop(body);
    let took = server.containers.wait_until_none(Duration::from_secs(1)).await;
    println!("containers gone {took:?} after the client hung up");
}

#[tokio::test]
async fn sigterm_kills_the_runs_in_flight_and_exits_within_two_seconds() {
    // With the default pool: the pooled containers must go as well.
    let mut server = ServerProcess::start(&[]).await;
    let run = server.start_run(SLEEPER, &["php:8.2-cli", "php:8.4-cli"]);
    wait_for_running_sleepers(&server.containers, 2).await;

    server.signal(libc::SIGTERM);
    let took = server.wait_for_exit(Duration::from_secs(2)).await;
    println!("exited {took:?} after SIGTERM");
    server.containers.assert_none_left().await;
    run.abort();
}

/// Behind a load balancer (deploy/haproxy.cfg), a stopping instance first drains: health
/// checks and new runs get 503 (the balancer sends them elsewhere) while its runs finish.
#[tokio::test]
async fn with_drain_secs_sigterm_lets_the_runs_in_flight_finish_and_refuses_new_ones() {
    let mut server = ServerProcess::start(&["--drain-secs", "20"]).await;
    let client = server.client();
    let code = "<?php sleep(3); echo 'finished';";
    let running = {
        let client = client.clone();
        tokio::spawn(async move { client.run_forced(code, &["php:8.4-cli"]).await })
    };
    wait_for_running_sleepers(&server.containers, 1).await;
    server.signal(libc::SIGTERM);
    // Until its run ends: out of the balancer, no new runs.
    let deadline = Instant::now() + Duration::from_secs(2);
    let health = loop {
        let health = client.get("/api/health").await;
        if health.status() == StatusCode::SERVICE_UNAVAILABLE || Instant::now() > deadline {
            break health;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE);
    let health: Value = health.json().await.unwrap();
    assert_eq!(
        (health["draining"].as_bool(), health["runs"].as_u64()),
        (Some(true), Some(1))
    );
    let refused = client
        .post_json("/api/run", run_body("<?php echo 1;", &["php:8.4-cli"]))
        .await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.headers().contains_key("retry-after"));
    // The run in flight finishes as if nothing happened, then the server exits.
    let result = running.await.unwrap().remove(0);
    assert_eq!(
        (result.outcome.status, result.outcome.stdout.as_str()),
        (Status::Ok, "finished")
    );
    server.wait_for_exit(Duration::from_secs(3)).await;
    server.containers.assert_none_left().await;
}

#[tokio::test]
async fn after_a_crash_the_next_start_removes_its_orphans_and_only_those() {
    let mut crashed = ServerProcess::start(&["--pool-size", "0"]).await;
    let instance = crashed.containers.instance_id().to_owned();
    let run = crashed.start_run(SLEEPER, &["php:8.2-cli", "php:8.4-cli"]);
    wait_for_running_sleepers(&crashed.containers, 2).await;
    crashed.signal(libc::SIGKILL);
    crashed.wait_for_exit(Duration::from_secs(2)).await;
    run.abort();
    // Creates the engine had already accepted (a version probe's) complete after the kill.
    crashed.containers.wait_until_settled().await;
    let left = crashed.containers.count().await;
    assert!(left >= 2, "SIGKILL leaves the containers behind: {left}");

    // Someone else's container, and a container of another evalgrid instance on this engine.
    let bystander = docker(&["create", "--label", "someone.else=true", "php:8.4-cli"]);
    let other_instance = Containers::of(&common::fresh_instance_id());
    let neighbour = docker(&[
        "create",
        "--label",
        &format!("{}=true", runner::MANAGED_LABEL),
        "--label",
        &format!("{}={}", runner::INSTANCE_LABEL, other_instance.instance_id()),
        "php:8.4-cli",
    ]);
    let restarted = ServerProcess::start(&["--pool-size", "0", "--instance-id", &instance]).await;
    restarted.containers.assert_none_left().await;
    assert_eq!(
        docker(&["ps", "-aq", "--no-trunc", "--filter", "label=someone.else"]),
        bystander,
        "other containers stay"
    );
    assert_eq!(
        other_instance.ids().await,
        std::slice::from_ref(&neighbour),
        "another instance's stay"
    );
    docker(&["rm", "-f", &bystander, &neighbour]);
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
