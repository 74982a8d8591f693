//! Responses are compressed for clients that accept it — pages, static files such as the WASM,
//! JSON — but never the run stream, whose lines must reach the page as soon as they are written.

use crate::common;

use common::{run_body, TestServer};
use reqwest::StatusCode;

#[tokio::test]
async fn static_files_and_pages_are_compressed_for_clients_that_accept_it() {
    let site = std::env::temp_dir().join(format!("evalgrid-compression-{}", std::process::id()));
    std::fs::create_dir_all(site.join("pkg")).unwrap();
    let wasm = b"\0asm\x01\0\0\0".repeat(25_000);
    std::fs::write(site.join("pkg/app.wasm"), &wasm).unwrap();
    let server = TestServer::setup().serving(&site).start().await;
    let fetch = |path: &str, accepted: Option<&str>| {
        let mut request = server.http.get(format!("{}{path}", server.base));
        if let Some(accepted) = accepted {
            request = request.header("accept-encoding", accepted);
        }
        request.send()
    };

    for (accepted, chosen) in [("br", "br"), ("gzip", "gzip"), ("gzip, br", "br")] {
        let response = fetch("/pkg/app.wasm", Some(accepted)).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-encoding"], chosen, "{accepted}");
        let sent = response.bytes().await.unwrap().len();
        assert!(
            sent < wasm.len() / 10,
            "{accepted}: {sent} of {} bytes sent",
            wasm.len()
        );
    }
    // A client that accepts nothing gets the file as it is.
    let plain = fetch("/pkg/app.wasm", None).await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    assert_eq!(plain.bytes().await.unwrap(), wasm);
    // The page itself, too.
    let page = fetch("/", Some("gzip")).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["content-encoding"], "gzip");
    let _ = std::fs::remove_dir_all(&site);
}

#[tokio::test]
async fn the_run_stream_is_never_compressed() {
    let server = TestServer::start().await;
    let response = server
        .http
        .post(format!("{}/api/run/stream", server.base))
        .header("accept-encoding", "br, gzip")
        .json(&run_body("<?php echo 1;", &["php:8.4-cli"]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get("content-encoding").is_none());
    assert!(response.text().await.unwrap().contains(r#""stdout":"1""#));
    server.containers.assert_none_left().await;
}
