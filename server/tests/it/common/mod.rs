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
    /// Its database's directory, removed with the server.
    _data: tempfile::TempDir,
}

impl std::ops::Deref for TestServer {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl TestServer {
    /// A server with the tests' defaults ([`TestServer::setup`]).
    pub async fn start() -> Self {
        Self::setup().start().await
    }

    /// The configuration a test server starts from, to change before [`Setup::start`]: the
    /// server's own defaults, read as `main` reads them (flags none, the environment's variables
    /// as they are), and the tests' own: a fresh instance id and database, the local PHP images
    /// and no other `php` tag the engine may hold, no pool (idle pooled containers would count
    /// as left behind), no backfill (images other tests tag would start runs of this test's
    /// snippets), and single-use containers unless `EVALGRID_ISOLATION` chooses.
    pub fn setup() -> Setup {
        let data = tempfile::Builder::new()
            .prefix("evalgrid-test-")
            .tempdir()
            .unwrap();
        // Single-use containers unless the environment chooses: the rule the server processes
        // the tests start follow too.
        let mut config =
            Config::parse_from(std::iter::once("evalgrid").chain(isolation_flags(&[]).iter().copied()));
        config.listen.instance_id = Some(fresh_instance_id());
        config.storage.database = app::store::Database::File(data.path().join("evalgrid.sqlite3"));
        config.images.tags = runner::testing::local_tags();
        config.capacity.pool_size = 0;
        config.capacity.backfill_per_minute = 0;
        Setup {
            config,
            site_root: None,
            data,
        }
    }
}

/// Trusts these proxies (networks, comma-separated, as `--trusted-proxies` takes them).
pub fn trust_proxies(config: &mut Config, networks: &str) {
    config.connections.trusted_proxies = networks
        .split(',')
        .map(|network| network.parse().unwrap())
        .collect();
}

/// A test server's configuration before it starts ([`TestServer::setup`]), changed through
/// the typed [`Config`]: `TestServer::setup().with(|c| c.sandbox.timeout_secs = 2.0).start()`.
pub struct Setup {
    config: Config,
    site_root: Option<std::path::PathBuf>,
    data: tempfile::TempDir,
}

impl Setup {
    pub fn with(mut self, change: impl FnOnce(&mut Config)) -> Self {
        change(&mut self.config);
        self
    }

    /// Offers the images of these repositories (comma-separated, as `--repositories` takes
    /// them), every tag but the server's default exclusions.
    pub fn repositories(self, repositories: &str) -> Self {
        self.with(|config| {
            config.images.repositories = repositories.split(',').map(str::to_owned).collect();
            config.images.tags = runner::default_tags();
        })
    }

    /// Keeps its results in `database` (an SQLite file or a PostgreSQL URL), as `--database`.
    pub fn database(self, database: &str) -> Self {
        self.with(|config| config.storage.database = database.parse().unwrap())
    }

    /// Serves the static files in `site_root`.
    pub fn serving(mut self, site_root: &std::path::Path) -> Self {
        self.site_root = Some(site_root.to_owned());
        self
    }

    /// Starts it as `main` does: the sweep, the isolation check, `--pull`, the pool and the
    /// backfill, then serving on 127.0.0.1.
    pub async fn start(self) -> TestServer {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let mut leptos_options = leptos_options();
        if let Some(root) = &self.site_root {
            leptos_options.site_root = root.to_str().unwrap().into();
        }
        let instance = self.config.listen.instance_id.clone().unwrap();
        let server = Server::start(&self.config, leptos_options).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(server.serve(listener, tokio_util::sync::CancellationToken::new()));
        TestServer {
            client: Client::of(&base),
            base,
            containers: Containers::of(&instance),
            _data: self.data,
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
/// unique to this call (tempfile's name); whoever asked removes it, after what runs in it.
pub fn fresh_directory(name: &str) -> std::path::PathBuf {
    tempfile::Builder::new()
        .prefix(&format!("evalgrid-{name}-"))
        .tempdir()
        .unwrap()
        .keep()
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

/// A path for an SQLite database that does not exist yet, in a temporary directory of its own
/// that goes (with the file, its journal and whatever else a test put beside it) when this is
/// dropped. It derefs to the path.
pub struct TempDatabase {
    path: std::path::PathBuf,
    _directory: tempfile::TempDir,
}

impl std::ops::Deref for TempDatabase {
    type Target = std::path::Path;

    fn deref(&self) -> &std::path::Path {
        &self.path
    }
}

impl AsRef<std::path::Path> for TempDatabase {
    fn as_ref(&self) -> &std::path::Path {
        &self.path
    }
}

pub fn fresh_database() -> TempDatabase {
    let directory = tempfile::Builder::new()
        .prefix("evalgrid-test-")
        .tempdir()
        .unwrap();
    TempDatabase {
        path: directory.path().join("evalgrid.sqlite3"),
        _directory: directory,
    }
}
