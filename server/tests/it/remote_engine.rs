//! evalgrid on a Docker engine elsewhere: a second engine on this machine, reachable only over
//! loopback TCP with TLS client certificates (`--docker-host tcp://…`, `--docker-tls-verify`,
//! `--docker-cert-path`), sharing no socket with the machine's engine.

use crate::common;

use common::tls_engine::TlsEngine;
use common::TestServer;
use reqwest::StatusCode;

/// The small Alpine-shaped fixture (scripts/build-fixture-images.sh): quick to copy over.
const IMAGE: &str = "evalgrid-fixture/php:8.4.5-cli-alpine";

#[tokio::test]
async fn a_remote_engine_over_tls_runs_the_snippets_and_refuses_a_client_without_a_certificate() {
    let engine = tokio::task::spawn_blocking(|| TlsEngine::start(&[IMAGE]))
        .await
        .unwrap();
    let server = TestServer::setup()
        .repositories("evalgrid-fixture/php")
        .with(|c| {
            c.engine.docker_host = Some(engine.host());
            c.engine.docker_tls_verify = true;
            c.engine.docker_cert_path = Some(engine.client_certificates().into());
        })
        .start()
        .await;
    let health: serde_json::Value = server.get("/api/health").await.json().await.unwrap();
    assert_eq!(health["engine"], "ok", "{health}");
    let results = server
        .run(
            "<?php echo PHP_VERSION, ' ', php_uname('n') !== '' ? 'ran' : '?';",
            &[IMAGE],
        )
        .await;
    assert_eq!(results[0].outcome.stdout, "8.4.5 ran", "{results:?}");
    // The containers were the remote engine's, and are gone from it; none on this machine's.
    let instance = server.containers.instance_id().to_owned();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !engine.containers_of(&instance).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "containers left on the remote engine"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    server.containers.assert_none_left().await;

    // Without the client certificate the engine does not answer, and the server says so.
    let uncertified = TestServer::setup()
        .repositories("evalgrid-fixture/php")
        .with(|c| c.engine.docker_host = Some(engine.host()))
        .start()
        .await;
    let health = uncertified.get("/api/health").await;
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE);
    drop(server);
    drop(uncertified);
    tokio::task::spawn_blocking(move || drop(engine)).await.unwrap();
}
