//! Past one machine, proven on one: two instances behind HAProxy with the deployment's own
//! configuration (deploy/haproxy.cfg), sharing one PostgreSQL, one on this machine's engine and
//! one on a remote engine over TLS. All of it on loopback, started by the test and stopped at
//! its end, also when it fails.

use crate::common;

use common::balancer::Balancer;
use common::postgres::Postgres;
use common::server_process::ServerProcess;
use common::tls_engine::TlsEngine;
use common::{fresh_instance_id, Client, Containers};
use reqwest::StatusCode;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The small Alpine-shaped fixture (scripts/build-fixture-images.sh): quick to copy to the
/// remote engine, where it keeps its image id, so the two instances share cached results.
const IMAGE: &str = "evalgrid-fixture/php:8.4.5-cli-alpine";

/// An instance's flags: the shared database, its own id, the fixture image only, the balancer
/// as its trusted proxy, and a drain on stop (as deploy/README.md says).
fn instance_flags(database: &str, instance: &str, more: &[&str]) -> Vec<String> {
    let mut flags: Vec<String> = [
        "--database",
        database,
        "--instance-id",
        instance,
        "--repositories",
        "evalgrid-fixture/php",
        "--tags",
        "8.4.5-cli-alpine",
        "--trusted-proxies",
        "127.0.0.1/32",
        "--runs-per-minute",
        "0",
        "--snippets-per-hour",
        "0",
        "--drain-secs",
        "10",
    ]
    .iter()
    .chain(more)
    .map(|flag| flag.to_string())
    .collect();
    if !more.contains(&"--pool-size") {
        flags.extend(["--pool-size".into(), "0".into()]);
    }
    flags
}

fn as_strs(flags: &[String]) -> Vec<&str> {
    flags.iter().map(String::as_str).collect()
}

#[tokio::test]
async fn two_instances_behind_a_balancer_share_links_and_cache_and_outlive_one_being_killed() {
    let postgres = tokio::task::spawn_blocking(Postgres::start);
    let engine = tokio::task::spawn_blocking(|| TlsEngine::start(&[IMAGE]));
    let (postgres, engine) = (postgres.await.unwrap(), engine.await.unwrap());
    let database = postgres.fresh_database();
    let (a_id, b_id) = (fresh_instance_id(), fresh_instance_id());
    let a_flags = instance_flags(&database, &a_id, &[]);
    let mut a = ServerProcess::start_exactly(&as_strs(&a_flags)).await;
    let b_flags = instance_flags(
        &database,
        &b_id,
        &[
            "--docker-host",
            &engine.host(),
            "--docker-tls-verify",
            "--docker-cert-path",
            &engine.client_certificates(),
            "--pool-size",
            "1",
        ],
    );
    let mut b = ServerProcess::start_exactly(&as_strs(&b_flags)).await;
    let (a_address, b_address) = (a.address().to_owned(), b.address().to_owned());
    let balancer = tokio::task::spawn_blocking(move || Balancer::start(&a_address, &b_address))
        .await
        .unwrap();
    let through = Client::of(&balancer.base);

    // Runs through the balancer succeed, and both instances serve some.
    let codes: Vec<String> = (0..8).map(|n| format!("<?php echo {n} * 2;")).collect();
    let runs = codes.iter().map(|code| through.run_forced(code, &[IMAGE]));
    for (n, results) in futures::future::join_all(runs).await.into_iter().enumerate() {
        assert_eq!(results[0].outcome.stdout, (n * 2).to_string(), "{results:?}");
    }
    let served = balancer.instances();
    assert!(
        served["a"].sessions > 0 && served["b"].sessions > 0,
        "both instances serve: {served:?}"
    );

    // A snippet saved through A reads through B, and its page renders there.
    let (on_a, on_b) = (Client::of(&a.base), Client::of(&b.base));
    let code = "<?php echo 'saved on A, read on B';";
    let (id, _) = on_a.save(code, &[IMAGE]).await;
    let snippet = on_b.snippet(&id).await.expect("B reads what A saved");
    assert_eq!(snippet.code, code);
    assert_eq!(snippet.results[0].outcome.stdout, "saved on A, read on B");
    let (status, html) = on_b.page(&id).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("saved on A, read on B"), "B renders A's permalink");

    // A result cached by A is a cache hit on B (same image id on both engines).
    let code = "<?php echo random_int(0, PHP_INT_MAX);";
    let first = on_a.run(code, &[IMAGE]).await.remove(0);
    let again = on_b.run(code, &[IMAGE]).await.remove(0);
    assert!(!first.cached && again.cached, "{first:?} {again:?}");
    assert_eq!(again.outcome.stdout, first.outcome.stdout);

    // 20 saves of the same new code at once, from both sides: one id.
    let code = "<?php echo 'twenty saves, one link';";
    let saves = (0..20).map(|n| {
        let client = if n % 2 == 0 { &on_a } else { &on_b };
        client.save(code, &[IMAGE])
    });
    let ids: Vec<String> = futures::future::join_all(saves)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");

    // Restarting A leaves B's containers (its pool, on its engine) alone.
    let b_containers = settled(|| engine.containers_of(&b_id)).await;
    assert!(!b_containers.is_empty(), "B keeps a pooled container");
    let a_port = a.port();
    a.stop().await;
    let mut a = ServerProcess::start_on(a_port, &as_strs(&a_flags)).await;
    assert_eq!(
        engine.containers_of(&b_id),
        b_containers,
        "A's restart touched B's"
    );
    balancer.wait_until(Duration::from_secs(10), |i| i["a"].status == "UP");

    // SIGKILL A under load: every request still gets a result or a clean 503, and the balancer
    // stops sending to A.
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..8)
        .map(|client| {
            let (base, stop) = (balancer.base.clone(), stop.clone());
            tokio::spawn(async move { keep_running(&base, client, &stop).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    a.signal(libc::SIGKILL);
    a.wait_for_exit(Duration::from_secs(5)).await;
    balancer.wait_until(Duration::from_secs(10), |i| i["a"].status == "DOWN");
    let sent_to_a = balancer.instances()["a"].sessions;
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    let mut answers = Vec::new();
    for client in clients {
        answers.extend(client.await.unwrap());
    }
    assert_eq!(
        balancer.instances()["a"].sessions,
        sent_to_a,
        "nothing sent to A once it was down"
    );
    let ok = answers.iter().filter(|s| **s == StatusCode::OK).count();
    let busy = answers
        .iter()
        .filter(|s| **s == StatusCode::SERVICE_UNAVAILABLE)
        .count();
    println!("{ok} results and {busy} 503s while A was killed");
    assert_eq!(
        ok + busy,
        answers.len(),
        "only results and clean 503s: {answers:?}"
    );
    assert!(ok > 0);

    // A comes back: its sweep removes what the kill left in its engine; B holds only its pool.
    Containers::of(&a_id).wait_until_settled().await;
    let mut a = ServerProcess::start_on(a_port, &as_strs(&a_flags)).await;
    a.containers.assert_none_left().await;
    balancer.wait_until(Duration::from_secs(10), |i| i["a"].status == "UP");
    let b_left = settled(|| engine.containers_of(&b_id)).await;
    let b_health: serde_json::Value = on_b.get("/api/health").await.json().await.unwrap();
    assert_eq!(
        Some(b_left.len() as u64),
        b_health["pooled"].as_u64(),
        "B holds its pool only: {b_left:?} {b_health}"
    );
    a.stop().await;
    b.stop().await;
    assert_eq!(engine.containers_of(&b_id), Vec::<String>::new());
}

/// Runs through the balancer until `stop`, each answer checked; the statuses.
async fn keep_running(base: &str, client: usize, stop: &AtomicBool) -> Vec<StatusCode> {
    let http = reqwest::Client::new();
    let mut statuses = Vec::new();
    for n in 0.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let code = format!("<?php usleep(200000); echo '{client}.{n}';");
        let body = json!({ "code": code, "images": [IMAGE], "force": true });
        let response = http
            .post(format!("{base}/api/run"))
            .json(&body)
            .send()
            .await
            .expect("the balancer answers");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if status == StatusCode::OK {
            assert!(text.contains(&format!("{client}.{n}")), "{text}");
        }
        statuses.push(status);
    }
    statuses
}

/// `list()` once it has stopped changing for a second.
async fn settled(list: impl Fn() -> Vec<String>) -> Vec<String> {
    let mut last = list();
    let mut stable_since = std::time::Instant::now();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while stable_since.elapsed() < Duration::from_secs(1) {
        assert!(std::time::Instant::now() < deadline, "still changing: {last:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = list();
        if now != last {
            (last, stable_since) = (now, std::time::Instant::now());
        }
    }
    last
}
