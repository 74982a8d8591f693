//! Command-line flags and environment variables. Every limit has a documented default.

use app::model::RequestLimits;
use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

// The flags' defaults are the runtime structs' own (`RunnerConfig`, `SandboxLimits`,
// `RequestLimits`), in the flags' units: one home for each default.
const KIB: usize = 1024;
const MIB: i64 = 1024 * 1024;
const NANOS: f64 = 1e9;

/// On a stop (SIGTERM, Ctrl+C, the end of an `images` command): how long runs in flight get to
/// be killed and their containers removed before the process goes on without them.
pub const CLEANUP_GRACE: Duration = Duration::from_millis(1200);

fn runner_defaults() -> runner::RunnerConfig {
    runner::RunnerConfig::default()
}

fn limits() -> runner::SandboxLimits {
    runner::SandboxLimits::default()
}

#[derive(Debug, Clone, Parser)]
#[command(
    name = "evalgrid",
    about = "Run PHP snippets on several PHP versions at once."
)]
pub struct Config {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub listen: Listen,
    #[command(flatten)]
    pub engine: EngineFlags,
    #[command(flatten)]
    pub images: ImageFlags,
    #[command(flatten)]
    pub sandbox: SandboxFlags,
    #[command(flatten)]
    pub capacity: CapacityFlags,
    #[command(flatten)]
    pub requests: RequestFlags,
    #[command(flatten)]
    pub quotas: QuotaFlags,
    #[command(flatten)]
    pub connections: ConnectionFlags,
    #[command(flatten)]
    pub storage: StorageFlags,
    #[command(flatten)]
    pub embedding: EmbedFlags,
    #[command(flatten)]
    pub observing: ObserveFlags,
}

/// Where it listens, what it is called on the engine, how it stops.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Listening and lifecycle")]
pub struct Listen {
    /// Address to listen on [default: LEPTOS_SITE_ADDR, else 127.0.0.1:3000].
    #[arg(long, env = "EVALGRID_ADDR")]
    pub addr: Option<SocketAddr>,
    /// This instance's name on the engine: every container it starts carries it, and at
    /// start-up it removes only the containers left with its own name, so several instances can
    /// share one engine [default: the host name and the listen address, stable across restarts].
    #[arg(long, env = "EVALGRID_INSTANCE_ID", value_parser = instance_id)]
    pub instance_id: Option<String>,
    /// On SIGTERM, how long the runs in flight may go on, in seconds, while health checks and new
    /// runs answer `503` (a load balancer takes the instance out meanwhile); 0 stops them at once.
    #[arg(long, env = "EVALGRID_DRAIN_SECS", default_value_t = 0.0, value_parser = seconds)]
    pub drain_secs: f64,
}

/// Which Docker engine, and how to reach it.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Engine")]
pub struct EngineFlags {
    /// The Docker engine: `unix:///path`, or `tcp://host:port` (then with
    /// `--docker-tls-verify`: a plain TCP engine is a root shell for anyone who reaches it)
    /// [default: the standard socket].
    #[arg(long, env = "DOCKER_HOST")]
    pub docker_host: Option<String>,
    /// Reach a `tcp://` engine over TLS with a client certificate, checking the engine's
    /// certificate against `ca.pem` (Docker's `DOCKER_TLS_VERIFY`).
    #[arg(long, env = "DOCKER_TLS_VERIFY")]
    pub docker_tls_verify: bool,
    /// The directory with the client's `ca.pem`, `cert.pem` and `key.pem` [default: ~/.docker].
    #[arg(long, env = "DOCKER_CERT_PATH")]
    pub docker_cert_path: Option<PathBuf>,
}

/// Which PHP images are offered.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Images")]
pub struct ImageFlags {
    /// Image repositories whose tags are offered, comma-separated.
    #[arg(
        long,
        env = "EVALGRID_REPOSITORIES",
        value_delimiter = ',',
        default_values_t = runner_defaults().repositories
    )]
    pub repositories: Vec<String>,
    /// Which tags of those repositories are offered: comma-separated globs, the last match
    /// wins, `!` excludes. The default offers the official image's every CLI shape (`8.4`,
    /// `8.4.5-cli`, `8.4-alpine`, `8.5.0RC3-cli`, …) but not its FPM and Apache variants.
    #[arg(
        long,
        env = "EVALGRID_TAGS",
        value_delimiter = ',',
        default_values_t = runner_defaults().tags
    )]
    pub tags: Vec<String>,
    /// Images to pull at start-up, in the background, comma-separated (`php:8.4,php:8.3-alpine`);
    /// each is offered as soon as it is there.
    #[arg(long, env = "EVALGRID_PULL", value_delimiter = ',')]
    pub pull: Vec<String>,
    /// Do not offer the fixed clock: every run sees the real time (`"clock"` in a run body is
    /// then accepted but has no effect, and results say the clock was not fixed).
    #[arg(long, env = "EVALGRID_NO_FIXED_CLOCK")]
    pub no_fixed_clock: bool,
    /// A directory where what each image's probe found (PHP version, extensions, ini settings)
    /// is kept by image id, so a restart offers the images it knows without a container each.
    #[arg(long, env = "EVALGRID_PROBE_CACHE")]
    pub probe_cache: Option<PathBuf>,
}

/// What each version of a run gets, and how runs are kept apart: [`runner::RunnerConfig`]'s limits.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Sandbox (per version)")]
pub struct SandboxFlags {
    /// Wall-clock limit per version, in seconds.
    #[arg(long, env = "EVALGRID_TIMEOUT_SECS", default_value_t = limits().timeout.as_secs_f64(), value_parser = positive_seconds)]
    pub timeout_secs: f64,
    /// Memory limit per container, in MiB (no swap).
    #[arg(long, env = "EVALGRID_MEMORY_MIB", default_value_t = limits().memory_bytes / MIB)]
    pub memory_mib: i64,
    /// Processes and threads per container.
    #[arg(long, env = "EVALGRID_PIDS_LIMIT", default_value_t = limits().pids_limit)]
    pub pids_limit: i64,
    /// CPUs per container.
    #[arg(long, env = "EVALGRID_CPUS", default_value_t = limits().nano_cpus as f64 / NANOS, value_parser = positive_cpus)]
    pub cpus: f64,
    /// Output kept per stream (stdout, stderr), in KiB; beyond it the process is killed.
    #[arg(long, env = "EVALGRID_OUTPUT_LIMIT_KIB", default_value_t = limits().output_limit / KIB)]
    pub output_limit_kib: usize,
    /// How runs are kept apart: `namespaces` runs each version of each run in fresh namespaces
    /// inside a long-lived worker container of its image (a run costs a process, not a
    /// container); `containers` in a single-use container each; `auto` checks at start-up
    /// whether this host and engine allow namespaces and uses them if so (logging why not).
    #[arg(long, env = "EVALGRID_ISOLATION", value_enum, default_value_t = IsolationChoice::Auto)]
    pub isolation: IsolationChoice,
    /// A worker is replaced after this many runs (and at once after a run that timed out or was
    /// killed for memory or processes).
    #[arg(long, env = "EVALGRID_WORKER_RUNS", default_value_t = runner_defaults().worker_runs, value_parser = clap::value_parser!(u32).range(1..))]
    pub worker_runs: u32,
    /// A worker is replaced once it is this old, in seconds.
    #[arg(long, env = "EVALGRID_WORKER_LIFETIME_SECS", default_value_t = runner_defaults().worker_lifetime.as_secs_f64())]
    pub worker_lifetime_secs: f64,
}

/// How many containers at once, how runs wait for room, the pools and the backfill.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Capacity")]
pub struct CapacityFlags {
    /// Containers alive at once over all requests, pooled ones included [default: 4 per CPU
    /// core, at least 4].
    #[arg(long, env = "EVALGRID_MAX_CONTAINERS", value_parser = at_least_one)]
    pub max_containers: Option<usize>,
    /// How long a run may wait in line for a free slot, in seconds; then it is turned away
    /// (`503` before the answer has begun, an error line in the stream after).
    #[arg(long, env = "EVALGRID_ADMISSION_WAIT_SECS", default_value_t = runner_defaults().admission_wait.as_secs_f64(), value_parser = seconds)]
    pub admission_wait_secs: f64,
    /// Most runs waiting in line for a free slot at once; more get `503` at once.
    #[arg(long, env = "EVALGRID_MAX_WAITING_RUNS", default_value_t = runner_defaults().max_waiting, value_parser = at_least_one)]
    pub max_waiting_runs: usize,
    /// Pre-started containers kept waiting per image, within --max-containers (an idle pool
    /// gives its containers up to runs): single-use ones, or the workers kept per image used
    /// with --isolation namespaces; 0 turns the pool off (workers are then kept while used).
    #[arg(long, env = "EVALGRID_POOL_SIZE", default_value_t = runner_defaults().pool_size)]
    pub pool_size: usize,
    /// Most pre-started containers per image while it is in demand: a run that finds its
    /// image's pool empty grows it by one; a minute without runs shrinks it by one, back to
    /// --pool-size.
    #[arg(long, env = "EVALGRID_POOL_MAX", default_value_t = runner_defaults().pool_max)]
    pub pool_max: usize,
    /// Saved snippets re-run per minute, at most, on PHP versions that appeared after they were
    /// saved: one at a time, in free room only, never while a run waits; 0 turns it off.
    #[arg(long, env = "EVALGRID_BACKFILL_PER_MINUTE", default_value_t = 10)]
    pub backfill_per_minute: u32,
}

/// The largest run accepted: [`app::model::RequestLimits`].
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Request limits")]
pub struct RequestFlags {
    /// Largest accepted snippet, in KiB.
    #[arg(long, env = "EVALGRID_MAX_CODE_KIB", default_value_t = RequestLimits::default().max_code_bytes / KIB)]
    pub max_code_kib: usize,
    /// Largest accepted stdin text, in KiB.
    #[arg(long, env = "EVALGRID_MAX_STDIN_KIB", default_value_t = RequestLimits::default().max_stdin_bytes / KIB)]
    pub max_stdin_kib: usize,
    /// Most versions in one run.
    #[arg(long, env = "EVALGRID_MAX_IMAGES", default_value_t = RequestLimits::default().max_images)]
    pub max_images: usize,
}

/// What one client address may do.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Quotas per client")]
pub struct QuotaFlags {
    /// Runs per minute from one client IP address; 0 turns the limit off.
    #[arg(long, env = "EVALGRID_RUNS_PER_MINUTE", default_value_t = 60)]
    pub runs_per_minute: u32,
    /// Versions one client address may have waiting or running at once, over all its runs
    /// (IPv6: per /64; each version under each ini variant counts, so that one wide run counts
    /// as what it holds); a run that would go over gets `429`, except a client's only one,
    /// however wide; 0 turns the cap off.
    #[arg(long, env = "EVALGRID_RUNS_IN_FLIGHT_PER_IP", default_value_t = 128)]
    pub runs_in_flight_per_ip: usize,
    /// New snippets one client IP address may save per hour (saving code that is already saved
    /// does not count); 0 turns the limit off.
    #[arg(long, env = "EVALGRID_SNIPPETS_PER_HOUR", default_value_t = 100)]
    pub snippets_per_hour: u32,
    /// Page views (`/`, `/s/{id}`, `/e/{id}`) per minute from one client IP address; more get
    /// `429` with `Retry-After`. Static files, the API and health checks do not count; 0 turns
    /// the limit off.
    #[arg(long, env = "EVALGRID_PAGE_VIEWS_PER_MINUTE", default_value_t = 120)]
    pub page_views_per_minute: u32,
}

/// How long a connection may take and how many there may be: [`crate::ConnectionLimits`].
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Connections")]
pub struct ConnectionFlags {
    /// Seconds a client has to send a complete request head, counted from when its connection
    /// opens or its previous response was sent: also how long an idle keep-alive connection
    /// stays open.
    #[arg(long, env = "EVALGRID_HEADER_TIMEOUT_SECS", default_value_t = 10.0, value_parser = positive_seconds)]
    pub header_timeout_secs: f64,
    /// Seconds a client has to send a request body, from the end of its head; then `408`.
    #[arg(long, env = "EVALGRID_BODY_TIMEOUT_SECS", default_value_t = 30.0, value_parser = positive_seconds)]
    pub body_timeout_secs: f64,
    /// Seconds a response may wait for a client that stopped reading; then the connection is
    /// dropped.
    #[arg(long, env = "EVALGRID_WRITE_TIMEOUT_SECS", default_value_t = 30.0, value_parser = positive_seconds)]
    pub write_timeout_secs: f64,
    /// Open connections over all clients; more are closed at once.
    #[arg(long, env = "EVALGRID_MAX_CONNECTIONS", default_value_t = 512)]
    pub max_connections: usize,
    /// Open connections per client IP address (IPv6: per /64); more are closed at once; 0 turns
    /// the limit off (behind a reverse proxy, every client is the proxy).
    #[arg(long, env = "EVALGRID_MAX_CONNECTIONS_PER_IP", default_value_t = 64)]
    pub max_connections_per_ip: usize,
    /// Reverse proxies in front of this server, comma-separated addresses or networks
    /// (`127.0.0.1`, `10.0.0.0/8`): for requests from them, the per-client quotas count the
    /// client they name in `--forwarded-header`, never the proxy. Nobody else's headers are
    /// believed.
    #[arg(long, env = "EVALGRID_TRUSTED_PROXIES", value_delimiter = ',', value_parser = network)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The header the trusted proxies write the client's address into, and the only one read:
    /// `x-forwarded-for` (HAProxy's `option forwardfor`, nginx) or `forwarded` (RFC 7239). A
    /// proxy passes the other one on as the client wrote it. The client is the right-most hop
    /// in it that is not a trusted proxy.
    #[arg(long, env = "EVALGRID_FORWARDED_HEADER", value_enum, default_value_t = crate::ForwardedHeader::default())]
    pub forwarded_header: crate::ForwardedHeader,
}

/// Where snippets and results live.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Storage")]
pub struct StorageFlags {
    /// Where saved snippets and cached results live: an SQLite file (created when missing), or a
    /// `postgres://user:password@host:port/database` URL shared by several instances (the
    /// database must exist; its tables are created at start-up).
    #[arg(long, env = "EVALGRID_DATABASE", default_value = "evalgrid.sqlite3")]
    pub database: app::store::Database,
    /// Refuse to start when the SQLite file does not exist, instead of creating an empty one
    /// (for deployments where a missing file means a lost volume).
    #[arg(long, env = "EVALGRID_REQUIRE_DATABASE")]
    pub require_database: bool,
    /// Bound of the result cache, in MiB: past it, the least recently used results are evicted.
    #[arg(long, env = "EVALGRID_CACHE_MAX_MIB", default_value_t = 1024)]
    pub cache_max_mib: u64,
}

/// Who may frame the embed.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Embedding")]
pub struct EmbedFlags {
    /// Who may show the embed (`/e/{id}`) in a frame: a CSP `frame-ancestors` source list,
    /// comma- or space-separated: `*` (any site), `'self'`, `'none'` (no site), schemes
    /// (`https:`) and hosts (`https://docs.example.com`, `*.example.com`). Every other page and
    /// answer refuses to be framed, whatever this says.
    #[arg(long, env = "EVALGRID_EMBED_ANCESTORS", default_value = "*")]
    pub embed_ancestors: crate::FrameAncestors,
}

/// What the log looks like, and where the metrics are.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Logs and metrics")]
pub struct ObserveFlags {
    /// `text` for people, `json` for a log collector: one object per line, with the request's
    /// id and each event's fields. Which events: `RUST_LOG` (default `info`).
    #[arg(long, env = "EVALGRID_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Serve Prometheus metrics at `/metrics` on this address of its own (say 127.0.0.1:9100),
    /// never on the public one; none by default.
    #[arg(long, env = "EVALGRID_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// `--isolation`: a mode, or the check that picks one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum IsolationChoice {
    Auto,
    Namespaces,
    Containers,
}

/// What to do instead of serving.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// The engine's PHP images.
    #[command(subcommand)]
    Images(ImagesCommand),
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum ImagesCommand {
    /// Prints the images evalgrid would offer (with this configuration's --repositories and
    /// --tags): PHP version, variant, tags, image id, number of extensions.
    List,
    /// Pulls images from their registries through the engine, with progress: `php:8.4`,
    /// `php:8.3-cli-alpine`, `registry.example:5000/php:8.4` (a reference without a tag pulls
    /// `:latest`).
    Pull {
        #[arg(required = true, value_name = "REF")]
        references: Vec<String>,
    },
}

/// A duration in seconds: a finite number from 0 to a day.
fn seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && (0.0..=86_400.0).contains(&seconds) => Ok(seconds),
        Ok(_) => Err("must be a number of seconds from 0 to 86400".into()),
        Err(error) => Err(error.to_string()),
    }
}

/// A duration in seconds that must be more than 0.
fn positive_seconds(text: &str) -> Result<f64, String> {
    match seconds(text)? {
        0.0 => Err("must be more than 0 seconds".into()),
        seconds => Ok(seconds),
    }
}

/// A number of CPUs: more than 0, at most 1024.
fn positive_cpus(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(cpus) if cpus.is_finite() && cpus > 0.0 && cpus <= 1024.0 => Ok(cpus),
        Ok(_) => Err("must be a number of CPUs above 0 (e.g. 0.5 or 2)".into()),
        Err(error) => Err(error.to_string()),
    }
}

/// An instance id: 1 to 128 letters, digits and `.` `_` `-` `:` (it becomes a label value and
/// a log field).
fn instance_id(text: &str) -> Result<String, String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "._-:".contains(c);
    if (1..=128).contains(&text.len()) && text.chars().all(allowed) {
        Ok(text.to_owned())
    } else {
        Err("must be 1 to 128 letters, digits, '.', '_', '-' or ':'".into())
    }
}

/// An address (`127.0.0.1`, a network of one) or a network (`10.0.0.0/8`).
fn network(text: &str) -> Result<ipnet::IpNet, String> {
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{text:?} is not an address or a network like 10.0.0.0/8"))
}

/// A count that must not be zero (a container limit of 0 would refuse every run).
fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(error) => Err(error.to_string()),
    }
}

impl Config {
    /// `--instance-id`, or the host name and the listen address.
    pub fn instance_id(&self) -> String {
        self.listen.instance_id.clone().unwrap_or_else(|| {
            let host = gethostname::gethostname().to_string_lossy().into_owned();
            match self.listen.addr {
                Some(addr) => format!("{host}-{addr}"),
                None => host,
            }
        })
    }

    pub fn runner_config(&self) -> runner::RunnerConfig {
        let (engine, sandbox, capacity) = (&self.engine, &self.sandbox, &self.capacity);
        let max_containers = capacity
            .max_containers
            .unwrap_or_else(runner::default_max_containers);
        runner::RunnerConfig {
            instance_id: self.instance_id(),
            docker_host: engine.docker_host.clone(),
            docker_tls: engine.docker_tls_verify.then(|| {
                let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
                let directory = engine
                    .docker_cert_path
                    .clone()
                    .unwrap_or_else(|| home.join(".docker"));
                runner::EngineTls::in_directory(&directory)
            }),
            repositories: self.images.repositories.clone(),
            tags: self.images.tags.clone(),
            limits: runner::SandboxLimits {
                timeout: Duration::from_secs_f64(sandbox.timeout_secs),
                memory_bytes: sandbox.memory_mib * MIB,
                pids_limit: sandbox.pids_limit,
                nano_cpus: (sandbox.cpus * NANOS) as i64,
                output_limit: sandbox.output_limit_kib * KIB,
                ..limits()
            },
            max_containers,
            admission_wait: Duration::from_secs_f64(capacity.admission_wait_secs),
            max_waiting: capacity.max_waiting_runs,
            // More per image than the whole limit could never be kept.
            pool_size: capacity.pool_size.min(max_containers),
            pool_max: capacity.pool_max.min(max_containers),
            fixed_clock: !self.images.no_fixed_clock,
            probe_cache: self.images.probe_cache.clone(),
            // `auto` is settled by `crate::isolation::runner`, which tries namespaces first.
            isolation: match sandbox.isolation {
                IsolationChoice::Containers => runner::Isolation::Containers,
                IsolationChoice::Namespaces | IsolationChoice::Auto => runner::Isolation::Namespaces,
            },
            worker_runs: sandbox.worker_runs,
            worker_lifetime: Duration::from_secs_f64(sandbox.worker_lifetime_secs),
        }
    }
}

impl ConnectionFlags {
    pub fn limits(&self) -> crate::ConnectionLimits {
        crate::ConnectionLimits {
            header_timeout: Duration::from_secs_f64(self.header_timeout_secs),
            body_timeout: Duration::from_secs_f64(self.body_timeout_secs),
            write_timeout: Duration::from_secs_f64(self.write_timeout_secs),
            max_connections: self.max_connections,
            max_connections_per_ip: (self.max_connections_per_ip != 0).then_some(self.max_connections_per_ip),
        }
    }
}

impl RequestFlags {
    pub fn limits(&self) -> RequestLimits {
        RequestLimits {
            max_code_bytes: self.max_code_kib * KIB,
            max_images: self.max_images,
            max_stdin_bytes: self.max_stdin_kib * KIB,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(flags: &[&str]) -> String {
        let args = std::iter::once("evalgrid").chain(flags.iter().copied());
        Config::try_parse_from(args).unwrap_err().to_string()
    }

    #[test]
    fn nonsense_limits_are_refused_with_a_message_not_a_panic() {
        assert!(refusal(&["--timeout-secs=-1"]).contains("from 0 to 86400"));
        assert!(refusal(&["--timeout-secs", "NaN"]).contains("from 0 to 86400"));
        assert!(refusal(&["--timeout-secs", "0"]).contains("more than 0"));
        assert!(refusal(&["--admission-wait-secs", "inf"]).contains("from 0 to 86400"));
        assert!(refusal(&["--cpus", "0"]).contains("above 0"));
        assert!(refusal(&["--max-containers", "0"]).contains("at least 1"));
        assert!(refusal(&["--instance-id", "a b"]).contains("letters, digits"));
        assert!(refusal(&["--instance-id", ""]).contains("letters, digits"));
        assert!(refusal(&["--embed-ancestors", "*; script-src *"]).contains("not a frame-ancestors source"));
        assert!(refusal(&["--embed-ancestors", "self"]).contains("needs its single quotes"));
        assert!(refusal(&["--embed-ancestors", ""]).contains("at least one source"));
    }

    #[test]
    fn the_instance_id_defaults_to_the_host_and_address_and_stays_the_same() {
        let at = |addr: &str| {
            Config::try_parse_from(["evalgrid", "--addr", addr])
                .unwrap()
                .instance_id()
        };
        let host = gethostname::gethostname().to_string_lossy().into_owned();
        assert_eq!(at("127.0.0.1:3000"), format!("{host}-127.0.0.1:3000"));
        assert_eq!(at("127.0.0.1:3000"), at("127.0.0.1:3000"));
        assert_ne!(at("127.0.0.1:3000"), at("127.0.0.1:3001"));
        let named = Config::try_parse_from(["evalgrid", "--instance-id", "web-1"]).unwrap();
        assert_eq!(named.runner_config().instance_id, "web-1");
    }

    #[test]
    fn the_embed_may_be_framed_by_any_site_unless_told_otherwise() {
        let parse = |flags: &[&str]| {
            let args = std::iter::once("evalgrid").chain(flags.iter().copied());
            Config::try_parse_from(args)
                .unwrap()
                .embedding
                .embed_ancestors
                .to_string()
        };
        assert_eq!(parse(&[]), "*");
        assert_eq!(
            parse(&["--embed-ancestors", "'self',https://docs.example.com"]),
            "'self' https://docs.example.com"
        );
    }

    /// docs/configuration.md's table: (variable, flag, default) of each row that names a flag,
    /// in order.
    fn readme_rows() -> Vec<(String, String, String)> {
        include_str!("../../docs/configuration.md")
            .lines()
            .filter_map(|line| {
                let cells: Vec<&str> = line
                    .split(" | ")
                    .map(|cell| cell.trim_matches(['|', ' ']))
                    .collect();
                let flag = cells.get(1)?.strip_prefix("`--")?.strip_suffix('`')?;
                Some((
                    cells[0].trim_matches('`').to_owned(),
                    flag.to_owned(),
                    cells[2].to_owned(),
                ))
            })
            .collect()
    }

    #[test]
    fn the_configuration_page_lists_every_flag_with_its_variable_and_default_in_the_help_s_order() {
        use clap::CommandFactory;
        let command = Config::command();
        let flags: Vec<(String, String, String)> = command
            .get_arguments()
            .filter_map(|arg| {
                let flag = arg.get_long()?;
                if matches!(flag, "help" | "version") {
                    return None;
                }
                let env = arg.get_env().expect("every flag has a variable");
                let defaults: Vec<String> = arg
                    .get_default_values()
                    .iter()
                    .map(|value| value.to_string_lossy().into_owned())
                    .collect();
                let default = match arg.get_action() {
                    clap::ArgAction::SetTrue => "off".to_owned(),
                    _ if defaults.is_empty() => String::new(),
                    _ => format!("`{}`", defaults.join(",")),
                };
                Some((env.to_string_lossy().into_owned(), flag.to_owned(), default))
            })
            .collect();
        let readme = readme_rows();
        let names =
            |rows: &[(String, String, String)]| rows.iter().map(|row| row.1.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&readme),
            names(&flags),
            "docs/configuration.md's rows, in --help's order"
        );
        for ((env, flag, default), (readme_env, _, readme_default)) in flags.iter().zip(&readme) {
            assert_eq!(readme_env, env, "--{flag}'s variable");
            if default.is_empty() {
                // Worked out at start-up (the host's cores, its name, `$HOME`): said in words.
                assert!(
                    !readme_default.is_empty(),
                    "--{flag} has no default in docs/configuration.md"
                );
            } else {
                assert_eq!(readme_default, default, "--{flag}'s default");
            }
        }
    }

    #[test]
    fn without_flags_every_setting_is_the_runtime_struct_s_own_default() {
        let config = Config::try_parse_from(["evalgrid"]).unwrap();
        let (ours, theirs) = (config.runner_config(), runner::RunnerConfig::default());
        assert_eq!(ours.limits, theirs.limits);
        assert_eq!(
            (&ours.repositories, &ours.tags),
            (&theirs.repositories, &theirs.tags)
        );
        assert_eq!(
            (
                ours.admission_wait,
                ours.max_waiting,
                ours.pool_size,
                ours.pool_max
            ),
            (
                theirs.admission_wait,
                theirs.max_waiting,
                theirs.pool_size,
                theirs.pool_max
            )
        );
        assert_eq!(
            (ours.worker_runs, ours.worker_lifetime, ours.fixed_clock),
            (theirs.worker_runs, theirs.worker_lifetime, theirs.fixed_clock)
        );
        assert_eq!(config.requests.limits(), RequestLimits::default());
    }

    #[test]
    fn the_pool_is_clamped_to_the_container_limit() {
        let config =
            Config::try_parse_from(["evalgrid", "--max-containers", "2", "--pool-size", "5"]).unwrap();
        assert_eq!(config.runner_config().pool_size, 2);
        assert!(Config::try_parse_from(["evalgrid", "--admission-wait-secs", "0"]).is_ok());
    }
}
