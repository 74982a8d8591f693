//! Connection-level limits (SECURITY.md, "Idle and half-sent connections"): clients that send
//! nothing, part of a request or stop reading are cut off within the configured times, the
//! connection caps hold, and a long streaming run is not mistaken for an idle connection. Raw
//! TCP clients, so the test controls every byte and every pause.

use crate::common;

use common::{run_body, TestServer};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Room for scheduling on a busy machine on top of a configured timeout.
const SLACK: Duration = Duration::from_millis(1500);

fn server_addr(server: &TestServer) -> SocketAddr {
    server.base.trim_start_matches("http://").parse().unwrap()
}

/// A connection from `from` (any 127.x.y.z address reaches the server on 127.0.0.1).
async fn connect_from(from: Ipv4Addr, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(IpAddr::V4(from), 0)).unwrap();
    socket.connect(to).await.unwrap()
}

async fn connect(to: SocketAddr) -> TcpStream {
    connect_from(Ipv4Addr::LOCALHOST, to).await
}

/// Reads until the server closes the connection (end of stream or reset); returns what arrived
/// and when the connection ended, or panics when it is still open after `within`.
async fn read_until_closed(stream: &mut TcpStream, within: Duration, what: &str) -> (Vec<u8>, Instant) {
    let deadline = Instant::now() + within;
    let mut received = Vec::new();
    let mut buffer = [0u8; 64 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (received, Instant::now()),
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
            Err(_) => panic!(
                "{what}: the connection is still open after {within:?} (received {} bytes: {:?}…)",
                received.len(),
                String::from_utf8_lossy(&received[..received.len().min(200)])
            ),
        }
    }
}

/// Reads one complete response with a `content-length` and leaves the connection open.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buffer = [0u8; 16 * 1024];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer))
            .await
            .expect("a response within 10 s")
            .unwrap();
        assert_ne!(
            n,
            0,
            "closed before the response was complete: {:?}",
            String::from_utf8_lossy(&received)
        );
        received.extend_from_slice(&buffer[..n]);
        let text = String::from_utf8_lossy(&received);
        if let Some(head_end) = text.find("\r\n\r\n") {
            let length: usize = text[..head_end]
                .lines()
                .find_map(|line| {
                    line.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .expect("a content-length");
            if received.len() >= head_end + 4 + length {
                return text.into_owned();
            }
        }
    }
}

const HEALTH: &[u8] = b"GET /api/health HTTP/1.1\r\nHost: evalgrid\r\n\r\n";

/// A second for the request head and for the body.
fn short_timeouts(config: &mut server::Config) {
    config.connections.header_timeout_secs = 1.0;
    config.connections.body_timeout_secs = 1.0;
}

#[tokio::test]
async fn silent_slow_and_idle_clients_are_cut_off_within_the_timeouts() {
    let server = TestServer::setup().with(short_timeouts).start().await;
    let addr = server_addr(&server);
    let timeout = Duration::from_secs(1);

    let nothing = tokio::spawn(async move {
        let started = Instant::now();
        let mut stream = connect(addr).await;
        let (_, closed) =
            read_until_closed(&mut stream, timeout + SLACK, "a client that sends nothing").await;
        closed - started
    });
    let partial_head = tokio::spawn(async move {
        let started = Instant::now();
        let mut stream = connect(addr).await;
        stream
            .write_all(b"GET /api/health HTTP/1.1\r\nHost: evalgrid\r\n")
            .await
            .unwrap();
        let (_, closed) =
            read_until_closed(&mut stream, timeout + SLACK, "a client that stops mid-head").await;
        closed - started
    });
    // A byte every 200 ms keeps the connection busy but never finishes the head: the timeout
    // counts the whole head, not the pauses between reads.
    let dripping_head = tokio::spawn(async move {
        let started = Instant::now();
        let mut stream = connect(addr).await;
        let head = b"GET /api/health HTTP/1.1\r\nHost: evalgrid\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        for byte in head {
            if stream.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            assert!(
                started.elapsed() < timeout + SLACK,
                "a dripping head is still being read"
            );
        }
        let (_, closed) =
            read_until_closed(&mut stream, timeout + SLACK, "a client that drips its head").await;
        closed - started
    });
    let partial_body = tokio::spawn(async move {
        let started = Instant::now();
        let mut stream = connect(addr).await;
        stream
            .write_all(b"POST /api/run HTTP/1.1\r\nHost: evalgrid\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"code\":")
            .await
            .unwrap();
        let (received, closed) =
            read_until_closed(&mut stream, timeout + SLACK, "a client that stops mid-body").await;
        let answer = String::from_utf8_lossy(&received).into_owned();
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        closed - started
    });
    let idle_keep_alive = tokio::spawn(async move {
        let mut stream = connect(addr).await;
        stream.write_all(HEALTH).await.unwrap();
        let answer = read_response(&mut stream).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        let answered = Instant::now();
        let (_, closed) =
            read_until_closed(&mut stream, timeout + SLACK, "an idle keep-alive connection").await;
        closed - answered
    });

    for (what, task) in [
        ("nothing", nothing),
        ("partial head", partial_head),
        ("dripping head", dripping_head),
        ("partial body", partial_body),
        ("idle keep-alive", idle_keep_alive),
    ] {
        let open_for = task.await.unwrap();
        println!("{what}: closed after {open_for:?}");
        // Closed by the timeout, not at once for some other reason.
        assert!(
            open_for >= timeout - Duration::from_millis(100),
            "{what}: closed after only {open_for:?}"
        );
    }
    server.assert_still_answers().await;
}

#[tokio::test]
async fn connections_over_the_caps_are_closed_while_others_are_served() {
    let server = TestServer::setup()
        .with(|c| {
            c.connections.max_connections_per_ip = 4;
            c.connections.max_connections = 6;
            c.connections.header_timeout_secs = 30.0;
        })
        .start()
        .await;
    let addr = server_addr(&server);
    let first = Ipv4Addr::new(127, 0, 0, 1);
    let second = Ipv4Addr::new(127, 0, 0, 2);
    let third = Ipv4Addr::new(127, 0, 0, 3);

    // Four idle connections from one address fill its share; a fifth is closed at once.
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(connect_from(first, addr).await);
    }
    let mut over_ip_cap = connect_from(first, addr).await;
    read_until_closed(
        &mut over_ip_cap,
        Duration::from_secs(2),
        "a fifth connection from one address",
    )
    .await;

    // Another address is served, on a connection it keeps (five of six in use).
    let mut other = connect_from(second, addr).await;
    other.write_all(HEALTH).await.unwrap();
    assert!(read_response(&mut other).await.starts_with("HTTP/1.1 200"));

    // The sixth connection over all is served; the seventh, from a fresh address, is closed.
    let mut sixth = connect_from(third, addr).await;
    sixth.write_all(HEALTH).await.unwrap();
    assert!(read_response(&mut sixth).await.starts_with("HTTP/1.1 200"));
    let mut over_cap = connect_from(Ipv4Addr::new(127, 0, 0, 4), addr).await;
    read_until_closed(
        &mut over_cap,
        Duration::from_secs(2),
        "a connection over the global cap",
    )
    .await;

    // Closed connections give their places back: the first address is served again.
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut again = connect_from(first, addr).await;
        let _ = again.write_all(HEALTH).await;
        let mut answer = [0u8; 12];
        match tokio::time::timeout(Duration::from_secs(2), again.read_exact(&mut answer)).await {
            Ok(Ok(_)) => {
                assert_eq!(&answer, b"HTTP/1.1 200");
                break;
            }
            _ => assert!(
                Instant::now() < deadline,
                "closed connections did not give their places back"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_streaming_run_outlasts_the_read_timeouts() {
    let server = TestServer::setup().with(short_timeouts).start().await;
    let started = Instant::now();
    let response = server
        .post_json(
            "/api/run/stream",
            run_body("<?php sleep(3); echo 1;", &["php:8.4-cli"]),
        )
        .await;
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let text = response.text().await.expect("the whole stream");
    assert!(started.elapsed() >= Duration::from_secs(3));
    let result: app::model::VersionResult = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(result.outcome.status, app::model::Status::Ok, "{result:?}");
    assert_eq!(result.outcome.stdout, "1");
}

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped() {
    // A file far larger than the socket buffers, served as a static file.
    let site = TempDir(std::env::temp_dir().join(format!("evalgrid-site-{}", std::process::id())));
    let site = &site.0;
    std::fs::create_dir_all(site).unwrap();
    let size = 48 * 1024 * 1024;
    std::fs::write(site.join("large.bin"), vec![b'x'; size]).unwrap();
    let server = TestServer::setup()
        .with(|c| c.connections.write_timeout_secs = 1.0)
        .serving(site)
        .start()
        .await;
    let addr = server_addr(&server);

    // A small receive window, then no reading at all: the server's writes stall.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(addr).await.unwrap();
    stream
        .write_all(b"GET /large.bin HTTP/1.1\r\nHost: evalgrid\r\n\r\n")
        .await
        .unwrap();
    // The stall itself: this client reads nothing for longer than the write timeout.
    tokio::time::sleep(Duration::from_secs(1) + SLACK).await;
    let (received, _) = read_until_closed(
        &mut stream,
        Duration::from_secs(10),
        "a client that stopped reading",
    )
    .await;
    println!("received {} of {size} bytes", received.len());
    assert!(received.starts_with(b"HTTP/1.1 200"));
    assert!(
        received.len() < size,
        "the whole file arrived: the stalled connection was kept"
    );
}

/// A directory removed when the test ends, passed or failed.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
