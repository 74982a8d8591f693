//! Test helpers: a real server (router, runner, Docker engine) on an ephemeral port, and small
//! request helpers so that each test reads like what a client does.
#![allow(dead_code)]

pub mod balancer;
pub mod client;
pub mod engine_proxy;
pub mod fixtures;
pub mod postgres;
pub mod registry;
pub mod server_process;
pub mod tags;
pub mod tls_engine;

use clap::Parser;
use server::{leptos_options, Config, Server};

pub use client::{run_body, Client};
pub use runner::testing::{fresh_instance_id, Containers};

/// A server on an ephemeral port, with an instance id of its own: the containers it starts are
/// this test's alone, so tests run in parallel on one engine. It is also its own [`Client`].
pub struct TestServer {
    pub base: String,
    /// This server's containers in the engine.
    pub containers: Containers,
    client: Client,
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

    /// Starts with extra command-line flags, e.g. `["--max-images", "2"]`.
    pub async fn start_with(flags: &[&str]) -> Self {
        Self::start_serving_site(flags, None).await
    }

    /// Starts with extra flags, serving the static files in `site_root`.
    pub async fn start_serving(flags: &[&str], site_root: &std::path::Path) -> Self {
        Self::start_serving_site(flags, Some(site_root)).await
    }

    async fn start_serving_site(flags: &[&str], site_root: Option<&std::path::Path>) -> Self {
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
        // No re-runs on new versions unless a test asks: images other tests tag would start
        // runs of this test's snippets.
        let backfill_off: &[&str] = if flags.contains(&"--backfill-per-minute") {
            &[]
        } else {
            &["--backfill-per-minute", "0"]
        };
        let isolation = isolation_flags(flags);
        // A database of its own, so that no test sees another's cached results.
        let database = fresh_database();
        let database_flag = ["--database", database.to_str().unwrap()];
        let database_flag: &[&str] = if flags.contains(&"--database") {
            &[]
        } else {
            &database_flag
        };
        // The local PHP images and no other tag of `php` the engine may hold, unless a test
        // picks its own repositories or tags.
        let local_tags = runner::testing::local_tags().join(",");
        let local_tags = ["--tags", local_tags.as_str()];
        let tags: &[&str] = if flags.contains(&"--tags") || flags.contains(&"--repositories") {
            &[]
        } else {
            &local_tags
        };
        let instance = fresh_instance_id();
        let args = ["evalgrid", "--instance-id", &instance]
            .into_iter()
            .chain(tags.iter().copied())
            .chain(pool_off.iter().copied())
            .chain(backfill_off.iter().copied())
            .chain(isolation.iter().copied())
            .chain(database_flag.iter().copied())
            .chain(flags.iter().copied());
        let config = Config::parse_from(args);
        let mut leptos_options = leptos_options();
        if let Some(root) = site_root {
            leptos_options.site_root = root.to_str().unwrap().into();
        }
        // main's own start-up: the sweep, the isolation check, --pull, the pool and the backfill.
        let server = Server::start(&config, leptos_options).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(server.serve(listener, tokio_util::sync::CancellationToken::new()));
        Self {
            client: Client::of(&base),
            base,
            containers: Containers::of(&instance),
        }
    }
}

/// `--isolation containers` unless the test's `flags`, or the environment (the test command's
/// `EVALGRID_ISOLATION=namespaces` pass), choose: the suites run in both isolations, and
/// single-use containers are the default of the tests.
pub fn isolation_flags(flags: &[&str]) -> &'static [&'static str] {
    match flags.contains(&"--isolation") || std::env::var_os("EVALGRID_ISOLATION").is_some() {
        true => &[],
        false => &["--isolation", "containers"],
    }
}

/// A port on 127.0.0.1 that nothing listens on now (the system's pick), for a server a test
/// starts.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An empty directory for `name` (a server's data, sockets and log) in the temporary directory,
/// unique to this call; whoever asked removes it.
pub fn fresh_directory(name: &str) -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let directory = std::env::temp_dir().join(format!("evalgrid-{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    directory
}

/// Stops `child` with `signal` (the server's own way to shut down cleanly), waiting up to
/// `grace` before it is killed.
pub fn stop_child(child: &mut std::process::Child, signal: libc::c_int, grace: std::time::Duration) {
    // SAFETY: plain kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    let deadline = std::time::Instant::now() + grace;
    while child.try_wait().ok().flatten().is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
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
