//! Issue 23: who the client is behind a proxy that writes `Forwarded`, and paths a browser would
//! never send (a trailing slash, dot segments, encoded dots, NUL, very long ones). Each test
//! failed on the code before its fix (SECURITY.md's findings table says how).

use crate::common::{free_port, fresh_database, fresh_instance_id, Client, Containers, TestServer};
use reqwest::StatusCode;
use std::process::{Child, Command};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

// ---- Finding 5: the header the trusted proxy writes, and only that one. ----

/// One run as the proxy (this test, on 127.0.0.1) forwards it: `forwarded` is the `Forwarded`
/// header the proxy wrote, `forged` an `X-Forwarded-For` the client wrote itself (a proxy that
/// writes only `Forwarded` passes it on untouched).
async fn run_through_proxy(server: &TestServer, forwarded: &[&str], forged: Option<&str>) -> StatusCode {
    let mut request = server
        .http
        .post(format!("{}/api/run", server.base))
        .json(&serde_json::json!({ "code": "<?php echo 1;", "images": ["php:8.4-cli"] }));
    if let Some(forged) = forged {
        request = request.header("x-forwarded-for", forged);
    }
    for line in forwarded {
        request = request.header("forwarded", *line);
    }
    request.send().await.unwrap().status()
}

#[tokio::test]
async fn behind_a_proxy_that_writes_forwarded_a_forged_x_forwarded_for_buys_no_quota() {
    // The outer proxy is this test (127.0.0.1); an inner one at 10.0.0.3 forwards to it.
    let server = TestServer::setup()
        .with(|c| {
            c.quotas.runs_per_minute = 2;
            crate::common::trust_proxies(c, "127.0.0.1/32,10.0.0.0/8");
            c.connections.forwarded_header = server::ForwardedHeader::Forwarded;
        })
        .start()
        .await;
    let client = ["for=203.0.113.1"];
    for _ in 0..2 {
        assert_eq!(run_through_proxy(&server, &client, None).await, StatusCode::OK);
    }
    assert_eq!(
        run_through_proxy(&server, &client, None).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the client's own budget is used up"
    );
    for forged in ["198.51.100.9", "198.51.100.9, 10.0.0.3"] {
        assert_eq!(
            run_through_proxy(&server, &client, Some(forged)).await,
            StatusCode::TOO_MANY_REQUESTS,
            "a forged X-Forwarded-For: {forged} gave the client a fresh budget"
        );
    }
    // The right-most hop that is not a trusted proxy is the client: what the client wrote
    // into `Forwarded` itself stands left of it, trusted proxies right of it.
    for chain in [
        &["for=198.51.100.9, for=203.0.113.1"][..],
        &["for=198.51.100.9;proto=https, for=203.0.113.1, for=\"10.0.0.3:8080\""],
        // Two header lines count in order, as one list.
        &["for=198.51.100.9", "for=203.0.113.1;by=10.0.0.3", "for=10.0.0.3"],
    ] {
        assert_eq!(
            run_through_proxy(&server, chain, None).await,
            StatusCode::TOO_MANY_REQUESTS,
            "{chain:?} is 203.0.113.1, whose budget is used up"
        );
    }
    // Another client behind the same proxies has a budget of its own.
    assert_eq!(
        run_through_proxy(&server, &["for=203.0.113.1, for=203.0.113.2, for=10.0.0.3"], None).await,
        StatusCode::OK,
        "203.0.113.2 is a client of its own"
    );
    server.containers.assert_none_left().await;
}

// ---- Finding 6 and the `/e/%2e%2e` extra: odd paths get a page, never a panic or a frame. ----

/// The real server binary with its log (stdout and stderr) in a file, to read afterwards.
struct LoggedServer {
    child: Child,
    address: String,
    log: std::path::PathBuf,
    containers: Containers,
    /// The database, the log and the site all live in its directory.
    _database: crate::common::TempDatabase,
}

impl LoggedServer {
    async fn start() -> Self {
        let port = free_port();
        let address = format!("127.0.0.1:{port}");
        let instance = fresh_instance_id();
        let database = fresh_database();
        let log = database.with_extension("log");
        let file = std::fs::File::create(&log).unwrap();
        // Static files, so that a directory (`/pkg`) is there to be answered with a redirect.
        let site = database.with_extension("site");
        std::fs::create_dir_all(site.join("pkg")).unwrap();
        std::fs::write(site.join("pkg/evalgrid.css"), "body {}").unwrap();
        std::fs::write(site.join("favicon.svg"), "<svg/>").unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_server"))
            .args(["--addr", &address, "--instance-id", &instance])
            .args(["--database", database.to_str().unwrap()])
            .args(["--pool-size", "0", "--backfill-per-minute", "0"])
            .args(crate::common::isolation_flags(&[]))
            .env("LEPTOS_SITE_ROOT", &site)
            .env("RUST_BACKTRACE", "1")
            .env("NO_COLOR", "1")
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap();
        let server = Self {
            child,
            address,
            log,
            containers: Containers::of(&instance),
            _database: database,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !reqwest::get(format!("http://{}/api/health", server.address))
            .await
            .is_ok_and(|response| response.status() == StatusCode::OK)
        {
            assert!(Instant::now() < deadline, "the server did not come up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        server
    }

    fn client(&self) -> Client {
        Client::of(&format!("http://{}", self.address))
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for LoggedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An answer as it came over the wire.
struct RawResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl RawResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Whether a browser would show it in a frame of another site.
    fn frameable(&self) -> bool {
        let policy = self.header("content-security-policy").unwrap_or_default();
        !policy.contains("frame-ancestors 'none'") && self.header("x-frame-options").is_none()
    }
}

/// `GET target` exactly as written (a client library would tidy the path first); `None` when
/// the server closed the connection without an answer.
async fn raw_get(address: &str, target: &str) -> Option<RawResponse> {
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!("GET {target} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut bytes))
        .await
        .expect("an answer within 30 s")
        .ok()?;
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect();
    let mut response = RawResponse {
        status,
        headers,
        body: bytes[end + 4..].to_vec(),
    };
    if response.header("transfer-encoding") == Some("chunked") {
        response.body = dechunk(&response.body);
    }
    Some(response)
}

fn dechunk(mut bytes: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(end) = bytes.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&bytes[..end]).unwrap_or("0");
        let size = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).unwrap_or(0);
        if size == 0 || bytes.len() < end + 2 + size {
            break;
        }
        body.extend_from_slice(&bytes[end + 2..end + 2 + size]);
        bytes = &bytes[(end + 4 + size).min(bytes.len())..];
    }
    body
}

/// What is wrong with the answer to `target` (empty when nothing is): a proper status, a page
/// (or a redirect to a path of this site that is no redirect again), and framing for the embed
/// route alone (`embed`).
async fn check_odd_path(address: &str, target: &str, embed: bool) -> Vec<String> {
    let shown: String = target.chars().take(60).collect();
    let Some(response) = raw_get(address, target).await else {
        return vec![format!("{shown}: the connection closed without an answer")];
    };
    println!(
        "{shown}: {} {}",
        response.status,
        response
            .header("location")
            .unwrap_or_default()
            .chars()
            .take(60)
            .collect::<String>()
    );
    let mut problems = Vec::new();
    if response.frameable() != embed {
        problems.push(format!(
            "{shown}: {} may be framed: {}, X-Frame-Options {:?}",
            response.status,
            response.header("content-security-policy").unwrap_or("no CSP"),
            response.header("x-frame-options"),
        ));
    }
    match response.status {
        200 | 404 => {
            // A page, whole; or a static file (`/favicon.svg/` is the file to ServeDir).
            let body = String::from_utf8_lossy(&response.body);
            let html = response
                .header("content-type")
                .unwrap_or_default()
                .starts_with("text/html");
            let page = body.contains("<!DOCTYPE html>") && body.contains("</html>");
            if body.is_empty() || (html && !page) {
                problems.push(format!(
                    "{shown}: {} without a page: {body:.200}",
                    response.status
                ));
            }
        }
        301 | 302 | 307 | 308 => {
            let location = response.header("location").unwrap_or_default().to_owned();
            // A path on this site: `//host` or `/\host` would be another site to a browser.
            if !location.starts_with('/') || location.starts_with("//") || location.contains('\\') {
                problems.push(format!("{shown}: redirected off the site, to {location:?}"));
            } else {
                match raw_get(address, &location).await {
                    Some(next) if matches!(next.status, 200 | 404) => {
                        let embed_route = app::embed_id(location.split('?').next().unwrap()).is_some();
                        if next.frameable() != embed_route {
                            problems.push(format!("{shown} → {location}: framing {}", next.frameable()));
                        }
                    }
                    Some(next) => problems.push(format!("{shown} → {location}: {} again", next.status)),
                    None => problems.push(format!("{shown} → {location}: no answer")),
                }
            }
        }
        other => problems.push(format!("{shown}: status {other}")),
    }
    problems
}

#[tokio::test]
async fn odd_paths_get_a_page_or_a_redirect_never_a_panic_or_a_frame() {
    let server = LoggedServer::start().await;
    let (id, _) = server.client().save("<?php echo 'odd';", &["php:8.4-cli"]).await;
    let long = "a".repeat(8000);
    let segments = "x/".repeat(2000);
    // (target, whether it is the embed route, which alone may be framed)
    let paths: Vec<(String, bool)> = vec![
        ("/".into(), false),
        (format!("/s/{id}"), false),
        (format!("/e/{id}"), true),
        (format!("/e/{id}?theme=dark"), true),
        ("/e/x".into(), true),
        (format!("/s/{id}/"), false),
        (format!("/e/{id}/"), false),
        (format!("/s/{id}//"), false),
        (format!("/e/{id}/?theme=dark"), false),
        ("/e/x/".into(), false),
        ("/s/x/".into(), false),
        ("/e/%2e%2e".into(), false),
        ("/e/%2E%2e/".into(), false),
        ("/e/..".into(), false),
        ("/e/.".into(), false),
        ("/e/x/..".into(), false),
        (format!("/e/{id}/.."), false),
        (format!("/e/{id}/%2e%2e"), false),
        (format!("/x/%2e%2e/e/{id}"), false),
        (format!("/e/x/%2e%2e/{id}"), false),
        ("/e/%2e%2e%2fs".into(), true),
        ("/e/".into(), false),
        ("/e".into(), false),
        ("/s/".into(), false),
        ("/s".into(), false),
        ("//".into(), false),
        ("///".into(), false),
        (format!("//e/{id}"), false),
        ("//evil.example/".into(), false),
        ("/\\evil.example/".into(), false),
        ("/api/".into(), false),
        ("/api".into(), false),
        ("/api/snippets/".into(), false),
        ("/pkg/".into(), false),
        ("/pkg".into(), false),
        ("/pkg/x/..".into(), false),
        ("/pkg/evalgrid.css/".into(), false),
        ("/s/%00".into(), false),
        ("/e/%00".into(), true),
        ("/s/%ff%fe".into(), false),
        ("/e/%2F".into(), true),
        (format!("/s/{long}"), false),
        (format!("/e/{long}"), true),
        (format!("/{segments}"), false),
        (format!("/s/{id}?{long}"), false),
        ("/nothing/here".into(), false),
        ("/favicon.svg/".into(), false),
    ];
    let mut problems = Vec::new();
    for (target, embed) in &paths {
        problems.extend(check_odd_path(&server.address, target, *embed).await);
    }
    let log = server.log();
    let panics = log.matches("panicked at").count();
    if panics > 0 {
        let first = log.find("panicked at").unwrap();
        problems.push(format!(
            "{panics} panics in the log ({} lines), the first: {:.300}",
            log.lines().count(),
            &log[first..]
        ));
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    server.client().assert_still_answers().await;
    server.containers.assert_none_left().await;
}
