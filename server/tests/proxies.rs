//! Behind a reverse proxy: the per-client quotas count the client the trusted proxy names, never
//! the proxy, and a client cannot name itself.

mod common;

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
    let server =
        TestServer::start_with(&["--runs-per-minute", "2", "--trusted-proxies", "127.0.0.1/32"]).await;
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
    let server = TestServer::start_with(&["--runs-per-minute", "2"]).await;
    assert_eq!(run_as(&server, "203.0.113.1").await, StatusCode::OK);
    assert_eq!(run_as(&server, "203.0.113.2").await, StatusCode::OK);
    assert_eq!(
        run_as(&server, "203.0.113.3").await,
        StatusCode::TOO_MANY_REQUESTS,
        "the peer is the client: the header cannot buy a new budget"
    );
    server.containers.assert_none_left().await;
}
