//! Runs per second through the load balancer (deploy/haproxy.cfg) with one and with two
//! instances sharing one PostgreSQL, on this machine's engine: `cargo bench -p server --bench
//! instances` (docs/deployment.md, "Running more than one instance"). Prints numbers, asserts nothing.
//! On one machine the instances share its cores and its engine, so this measures what the
//! balancer and the shared database cost, not what more machines gain.

#[path = "../tests/it/common/mod.rs"]
mod common;

use common::balancer::Balancer;
use common::postgres::Postgres;
use common::server_process::ServerProcess;
use serde_json::json;
use std::time::{Duration, Instant};

const CLIENTS: usize = 16;
const TIME: Duration = Duration::from_secs(15);
const IMAGE: &str = "php:8.4-cli";

#[tokio::main]
async fn main() {
    let postgres = tokio::task::spawn_blocking(Postgres::start).await.unwrap();
    let database = postgres.fresh_database();
    let instance = |name: &'static str| {
        let database = database.clone();
        async move {
            let id = format!("bench-{name}-{}", std::process::id());
            let flags = [
                "--database",
                &database,
                "--instance-id",
                &id,
                "--trusted-proxies",
                "127.0.0.1/32",
                "--runs-per-minute",
                "0",
            ];
            ServerProcess::start_exactly(&flags).await
        }
    };
    let (mut a, mut b) = (instance("a").await, instance("b").await);
    let (a_address, b_address) = (a.address().to_owned(), b.address().to_owned());
    let balancer = tokio::task::spawn_blocking(move || Balancer::start(&a_address, &b_address))
        .await
        .unwrap();
    println!("{CLIENTS} clients, {TIME:?} each, forced hello-world runs on {IMAGE}");
    println!(
        "{:<40} {:>8} {:>8} {:>8} {:>7}",
        "", "runs/s", "p50 ms", "p90 ms", "errors"
    );
    let row = |name: &str, (runs, p50, p90, errors): (f64, f64, f64, usize)| {
        println!("{name:<40} {runs:>8.1} {p50:>8.0} {p90:>8.0} {errors:>7}");
    };
    row("one instance, direct", load(&a.base).await);
    balancer.admin("disable server instances/b");
    row("one instance, through the balancer", load(&balancer.base).await);
    balancer.admin("enable server instances/b");
    balancer.wait_until(Duration::from_secs(10), |i| i["b"].status == "UP");
    row("two instances, through the balancer", load(&balancer.base).await);
    a.stop().await;
    b.stop().await;
}

/// `CLIENTS` clients running back to back for `TIME`: runs/s, p50, p90, failed requests.
async fn load(base: &str) -> (f64, f64, f64, usize) {
    let start = Instant::now();
    let deadline = start + TIME;
    let clients = (0..CLIENTS).map(|client| async move {
        let http = reqwest::Client::new();
        let (mut latencies, mut errors) = (Vec::new(), 0);
        for n in 0.. {
            if Instant::now() >= deadline {
                break;
            }
            let body = json!({
                "code": format!("<?php echo 'hi {client}.{n}';"),
                "images": [IMAGE],
                "force": true,
            });
            let sent = Instant::now();
            match http.post(format!("{base}/api/run")).json(&body).send().await {
                Ok(response) if response.status().is_success() => {
                    let _ = response.bytes().await;
                    latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
                }
                _ => errors += 1,
            }
        }
        (latencies, errors)
    });
    let (mut latencies, mut errors) = (Vec::new(), 0);
    for (client_latencies, client_errors) in futures::future::join_all(clients).await {
        latencies.extend(client_latencies);
        errors += client_errors;
    }
    let elapsed = start.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let at = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize];
    (latencies.len() as f64 / elapsed, at(0.5), at(0.9), errors)
}
