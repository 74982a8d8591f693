//! Command-line flags and environment variables. Every limit has a documented default.

use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Parser)]
#[command(name = "evalgrid", about = "Run PHP snippets on several PHP versions at once.")]
pub struct Config {
    /// Address to listen on [default: LEPTOS_SITE_ADDR, else 127.0.0.1:3000].
    #[arg(long, env = "EVALGRID_ADDR")]
    pub addr: Option<SocketAddr>,
    /// The Docker engine's socket, `unix:///path` [default: the standard socket].
    #[arg(long, env = "DOCKER_HOST")]
    pub docker_host: Option<String>,
    /// Image repositories whose `*-cli` tags are offered, comma-separated.
    #[arg(long, env = "EVALGRID_REPOSITORIES", value_delimiter = ',', default_value = "php")]
    pub repositories: Vec<String>,
    /// Wall-clock limit per version, in seconds.
    #[arg(long, env = "EVALGRID_TIMEOUT_SECS", default_value_t = 10.0)]
    pub timeout_secs: f64,
    /// Memory limit per container, in MiB (no swap).
    #[arg(long, env = "EVALGRID_MEMORY_MIB", default_value_t = 128)]
    pub memory_mib: i64,
    /// Processes and threads per container.
    #[arg(long, env = "EVALGRID_PIDS_LIMIT", default_value_t = 64)]
    pub pids_limit: i64,
    /// CPUs per container.
    #[arg(long, env = "EVALGRID_CPUS", default_value_t = 1.0)]
    pub cpus: f64,
    /// Output kept per stream (stdout, stderr), in KiB; beyond it the process is killed.
    #[arg(long, env = "EVALGRID_OUTPUT_LIMIT_KIB", default_value_t = 64)]
    pub output_limit_kib: usize,
    /// Largest accepted snippet, in KiB.
    #[arg(long, env = "EVALGRID_MAX_CODE_KIB", default_value_t = 64)]
    pub max_code_kib: usize,
    /// Most versions in one run.
    #[arg(long, env = "EVALGRID_MAX_IMAGES", default_value_t = 8)]
    pub max_images: usize,
    /// Containers running at once over all requests [default: 4 per CPU core, at least 4].
    #[arg(long, env = "EVALGRID_MAX_CONTAINERS")]
    pub max_containers: Option<usize>,
    /// How long a run waits for room before it gets a 503, in seconds.
    #[arg(long, env = "EVALGRID_ADMISSION_WAIT_SECS", default_value_t = 2.0)]
    pub admission_wait_secs: f64,
    /// Pre-started single-use containers kept waiting per image; 0 turns the pool off.
    #[arg(long, env = "EVALGRID_POOL_SIZE", default_value_t = 1)]
    pub pool_size: usize,
    /// The SQLite file that holds saved snippets and cached results; created when missing.
    #[arg(long, env = "EVALGRID_DATABASE", default_value = "evalgrid.sqlite3")]
    pub database: PathBuf,
    /// Refuse to start when the database file does not exist, instead of creating an empty one
    /// (for deployments where a missing file means a lost volume).
    #[arg(long, env = "EVALGRID_REQUIRE_DATABASE")]
    pub require_database: bool,
    /// Runs per minute from one client IP address; 0 turns the limit off.
    #[arg(long, env = "EVALGRID_RUNS_PER_MINUTE", default_value_t = 60)]
    pub runs_per_minute: u32,
    /// Seconds a client has to send a complete request head, counted from when its connection
    /// opens or its previous response was sent: also how long an idle keep-alive connection
    /// stays open.
    #[arg(long, env = "EVALGRID_HEADER_TIMEOUT_SECS", default_value_t = 10.0)]
    pub header_timeout_secs: f64,
    /// Seconds a client has to send a request body, from the end of its head; then `408`.
    #[arg(long, env = "EVALGRID_BODY_TIMEOUT_SECS", default_value_t = 30.0)]
    pub body_timeout_secs: f64,
    /// Seconds a response may wait for a client that stopped reading; then the connection is
    /// dropped.
    #[arg(long, env = "EVALGRID_WRITE_TIMEOUT_SECS", default_value_t = 30.0)]
    pub write_timeout_secs: f64,
    /// Open connections over all clients; more are closed at once.
    #[arg(long, env = "EVALGRID_MAX_CONNECTIONS", default_value_t = 512)]
    pub max_connections: usize,
    /// Open connections per client IP address (IPv6: per /64); more are closed at once; 0 turns
    /// the limit off (behind a reverse proxy, every client is the proxy).
    #[arg(long, env = "EVALGRID_MAX_CONNECTIONS_PER_IP", default_value_t = 64)]
    pub max_connections_per_ip: usize,
}

impl Config {
    pub fn runner_config(&self) -> runner::RunnerConfig {
        runner::RunnerConfig {
            docker_host: self.docker_host.clone(),
            repositories: self.repositories.clone(),
            timeout: Duration::from_secs_f64(self.timeout_secs),
            memory_bytes: self.memory_mib * 1024 * 1024,
            pids_limit: self.pids_limit,
            nano_cpus: (self.cpus * 1e9) as i64,
            output_limit: self.output_limit_kib * 1024,
            max_containers: self
                .max_containers
                .unwrap_or_else(runner::default_max_containers),
            admission_wait: Duration::from_secs_f64(self.admission_wait_secs),
            pool_size: self.pool_size,
            ..Default::default()
        }
    }

    pub fn connection_limits(&self) -> crate::ConnectionLimits {
        crate::ConnectionLimits {
            header_timeout: Duration::from_secs_f64(self.header_timeout_secs),
            body_timeout: Duration::from_secs_f64(self.body_timeout_secs),
            write_timeout: Duration::from_secs_f64(self.write_timeout_secs),
            max_connections: self.max_connections,
            max_connections_per_ip: (self.max_connections_per_ip != 0)
                .then_some(self.max_connections_per_ip),
        }
    }

    pub fn request_limits(&self) -> app::model::RequestLimits {
        app::model::RequestLimits {
            max_code_bytes: self.max_code_kib * 1024,
            max_images: self.max_images,
        }
    }
}
