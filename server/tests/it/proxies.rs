//! Behind a reverse proxy: the per-client quotas count the client the trusted proxy names, never
//! the proxy, and a client cannot name itself.

use crate::common;

use common::balancer::Balancer;
use common::server_process::ServerProcess;
use common::TestServer;
use reqwest::StatusCode;
use serde_json::json;

/// One run of `client`'s own (cached after its first time), as the proxy forwards it.
async fn run_as(server: &TestServer, forwarded_for: &str) -> StatusCode {
    server
        .http
        .post(format!("{}/api/run", server.base))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({ "code": "<?php echo 1;", "images": ["php:8.4-cli"] }))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_budget() {
    let server = TestServer::setup()
        .with(|c| {
            c.quotas.runs_per_minute = 2;
            common::trust_proxies(c, "127.0.0.1/32");
        })
        .start()
        .await;
    for _ in 0..2 {
        assert_eq!(run_as(&server, "203.0.113.1").await, StatusCode::OK);
    }
    assert_eq!(
        run_as(&server, "203.0.113.1").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another client behind the same proxy.
    assert_eq!(run_as(&server, "203.0.113.2").await, StatusCode::OK);
    // What a client writes into the header itself stands left of what the proxy appends.
    assert_eq!(
        run_as(&server, "198.51.100.77, 203.0.113.1").await,
        StatusCode::TOO_MANY_REQUESTS,
        "a spoofed entry does not give a new budget"
    );
    server.containers.assert_none_left().await;
}

#[tokio::test]
async fn without_trusted_proxies_the_header_is_ignored() {
    let server = TestServer::setup()
        .with(|c| c.quotas.runs_per_minute = 2)
        .start()
        .await;
    assert_eq!(run_as(&server, "203.0.113.1").await, StatusCode::OK);
    assert_eq!(run_as(&server, "203.0.113.2").await, StatusCode::OK);
    assert_eq!(
        run_as(&server, "203.0.113.3").await,
        StatusCode::TOO_MANY_REQUESTS,
        "the peer is the client: the header cannot buy a new budget"
    );
    server.containers.assert_none_left().await;
}

/// Through the deployment's own HAProxy (deploy/haproxy.cfg, `option forwardfor`) and the default
/// `--forwarded-header x-forwarded-for`: HAProxy adds its `X-Forwarded-For` line after the
/// client's and passes a client's `Forwarded` on, so neither header of the client's buys a
/// budget. On the real binary, as deployed. (A client inside `--trusted-proxies` could: the
/// right-most hop not trusted would then be what it wrote.)
#[tokio::test]
async fn through_the_deployment_balancer_a_client_cannot_name_itself() {
    let server = ServerProcess::start(&[
        "--runs-per-minute",
        "2",
        "--trusted-proxies",
        "127.0.0.1/32",
        "--pool-size",
        "0",
        "--backfill-per-minute",
        "0",
    ])
    .await;
    // Both of the balancer's instances are this one: one budget, whichever it picks.
    let address = server.address().to_owned();
    let balancer = tokio::task::spawn_blocking(move || Balancer::start(&address, &address))
        .await
        .unwrap();
    // The client is not the balancer: from another loopback address, which HAProxy appends.
    let http = reqwest::Client::builder()
        .local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    let run = |headers: &'static [(&'static str, &'static str)]| {
        let mut request = http
            .post(format!("{}/api/run", balancer.base))
            .json(&json!({ "code": "<?php echo 1;", "images": ["php:8.4-cli"] }));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        async move { request.send().await.unwrap().status() }
    };
    for _ in 0..2 {
        assert_eq!(run(&[]).await, StatusCode::OK);
    }
    for forged in [
        &[("x-forwarded-for", "203.0.113.1")][..],
        &[("x-forwarded-for", "203.0.113.2, 203.0.113.3")],
        &[("forwarded", "for=203.0.113.4")],
        &[
            ("x-forwarded-for", "203.0.113.5"),
            ("forwarded", "for=203.0.113.6"),
        ],
    ] {
        assert_eq!(
            run(forged).await,
            StatusCode::TOO_MANY_REQUESTS,
            "{forged:?} gave the client a fresh budget"
        );
    }
    server.containers.assert_none_left().await;
}
