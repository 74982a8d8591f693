//! Test helpers: a real server (router, runner, Docker engine) on an ephemeral port, and small
//! request helpers so that each test reads like what a client does.
#![allow(dead_code)]

pub mod client;
pub mod engine_proxy;
pub mod fixtures;
pub mod server_process;

use clap::Parser;
use server::{leptos_options, serve, AppState, Config};
use tokio::sync::{Mutex, MutexGuard};

/// Held by each test for its whole length: "no container left" is checked per test, so tests that
/// use the engine take turns. An async mutex, since it is held across awaits.
static ENGINE: Mutex<()> = Mutex::const_new(());

pub use client::{run_body, Client};

/// A server on an ephemeral port, exclusive to one test at a time. It is also its own
/// [`Client`].
pub struct TestServer {
    pub base: String,
    client: Client,
    _exclusive: MutexGuard<'static, ()>,
}

impl std::ops::Deref for TestServer {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// This test's exclusive hold on the engine, for tests that start their own server process.
    pub async fn exclusive() -> MutexGuard<'static, ()> {
        ENGINE.lock().await
    }

    /// Starts with extra command-line flags, e.g. `["--max-images", "2"]`.
    pub async fn start_with(flags: &[&str]) -> Self {
        Self::start_serving_site(flags, None).await
    }

    /// Starts with extra flags, serving the static files in `site_root`.
    pub async fn start_serving(flags: &[&str], site_root: &std::path::Path) -> Self {
        Self::start_serving_site(flags, Some(site_root)).await
    }

    async fn start_serving_site(flags: &[&str], site_root: Option<&std::path::Path>) -> Self {
        let exclusive = Self::exclusive().await;
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        // No pool unless a test asks: idle pooled containers would count as "left behind".
        let pool_off: &[&str] = if flags.contains(&"--pool-size") {
            &[]
        } else {
            &["--pool-size", "0"]
        };
        // A database of its own, so that no test sees another's cached results.
        let database = fresh_database();
        let database_flag = ["--database", database.to_str().unwrap()];
        let database_flag: &[&str] = if flags.contains(&"--database") {
            &[]
        } else {
            &database_flag
        };
        let args = std::iter::once("evalgrid")
            .chain(pool_off.iter().copied())
            .chain(database_flag.iter().copied())
            .chain(flags.iter().copied());
        let config = Config::parse_from(args);
        let runner = runner::Runner::new(config.runner_config());
        // As the real server does at start-up: a test that ended before its containers' removal
        // finished (its runtime, which was removing them, is gone) must not leave them to this one.
        let _ = runner.remove_orphans().await;
        let store = app::store::Store::open(&config.database, true).await.unwrap();
        let mut leptos_options = leptos_options();
        if let Some(root) = site_root {
            leptos_options.site_root = root.to_str().unwrap().into();
        }
        let state = AppState::new(&config, leptos_options, runner, store);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { serve(listener, state, std::future::pending()).await.unwrap() });
        Self {
            client: Client::of(&base),
            base,
            _exclusive: exclusive,
        }
    }
}

/// A path for a database that does not exist yet, unique to this call.
pub fn fresh_database() -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let directory = std::env::temp_dir().join(format!("evalgrid-tests-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let path = directory.join(format!("{n}.sqlite3"));
    let _ = std::fs::remove_file(&path);
    path
}

/// How many containers carry evalgrid's label, running or not.
pub async fn managed_containers() -> usize {
    let output = tokio::process::Command::new("docker")
        .args([
            "ps",
            "-aq",
            "--filter",
            &format!("label={}", runner::MANAGED_LABEL),
        ])
        .output()
        .await
        .expect("docker CLI");
    String::from_utf8_lossy(&output.stdout).lines().count()
}

/// Polls until `count` managed containers exist (or fails after 10 s).
pub async fn wait_for_containers(count: usize) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while managed_containers().await != count {
        assert!(
            std::time::Instant::now() < deadline,
            "expected {count} containers"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Containers go in the background once their result is in; none may stay.
pub async fn assert_no_container_left() {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while managed_containers().await != 0 {
        assert!(std::time::Instant::now() < deadline, "containers left behind");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// This process's resident memory: the in-process server's, for "memory stays flat" checks.
pub fn resident_set_kib() -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}
