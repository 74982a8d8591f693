use std::path::{Path, PathBuf};
use std::time::Duration;

/// The client's certificate files for an engine reached over TCP with TLS, in Docker's
/// `DOCKER_CERT_PATH` layout.
#[derive(Debug, Clone)]
pub struct EngineTls {
    /// The certificate authority the engine's certificate must be signed by.
    pub ca: PathBuf,
    /// This client's certificate and key, which the engine checks.
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl EngineTls {
    /// `ca.pem`, `cert.pem` and `key.pem` in `directory`.
    pub fn in_directory(directory: &Path) -> Self {
        Self {
            ca: directory.join("ca.pem"),
            cert: directory.join("cert.pem"),
            key: directory.join("key.pem"),
        }
    }
}

/// Limits and discovery settings for every run. `Default` holds the documented defaults.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// This instance's name, carried by each of its containers ([`crate::INSTANCE_LABEL`]):
    /// several instances can share one engine (default `evalgrid`).
    pub instance_id: String,
    /// The engine: `unix:///path`, or `tcp://host:port` (with [`RunnerConfig::docker_tls`]);
    /// `None` means `DOCKER_HOST` or the default socket.
    pub docker_host: Option<String>,
    /// TLS with a client certificate, for a `tcp://` engine.
    pub docker_tls: Option<EngineTls>,
    /// Image repositories whose tags are offered (default: `php`).
    pub repositories: Vec<String>,
    /// Which tags of those repositories are offered: globs, the last match wins, `!` excludes
    /// (default: every tag but the FPM and Apache variants, which hold the same CLI).
    pub tags: Vec<String>,
    /// What each version of a run gets.
    pub limits: SandboxLimits,
    /// Containers alive in the engine at once across all requests, pooled ones and ones being
    /// removed included (default 4 per CPU core, at least 4; must be at least 1).
    pub max_containers: usize,
    /// How long a run may wait in line for room before it is turned away (default 30 s).
    pub admission_wait: Duration,
    /// Most runs waiting in line at once; more are turned away at once (default 256).
    pub max_waiting: usize,
    /// Pre-started containers kept waiting per image, in free room only (default 1; 0: none
    /// until a run asks). Each is used once; a run that needs room evicts idle ones.
    pub pool_size: usize,
    /// Most pre-started containers kept per image while it is in demand (a run found its pool
    /// empty); the pool shrinks back to `pool_size` when the image is not used (default 4).
    pub pool_max: usize,
    /// Offer the fixed clock (a preloaded library in a volume of its own; default on).
    pub fixed_clock: bool,
    /// A directory where each image's probe answer (PHP version, extensions, ini settings) is
    /// kept by image id, so that later processes offer the image without probing it again
    /// (default: none, each process asks).
    pub probe_cache: Option<PathBuf>,
    /// How runs are kept apart (default: single-use containers).
    pub isolation: Isolation,
    /// A worker is replaced after serving this many runs (default 500) ...
    pub worker_runs: u32,
    /// ... or once it is this old (default 10 minutes), whichever comes first.
    pub worker_lifetime: Duration,
}

/// What each version of a run gets. Every field shapes results, so all of them are part of the
/// cache's fingerprint (`sandbox::fingerprint` prints the whole struct): a limit added here
/// cannot be left out of it. `Default` holds the documented defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxLimits {
    /// Wall-clock limit per version: one deadline from sending the code until the run is over,
    /// finding out how it ended included (default 10 s).
    pub timeout: Duration,
    /// Memory limit per container; swap is the same, so there is no swap (default 128 MiB).
    pub memory_bytes: i64,
    /// Processes and threads per container (default 64).
    pub pids_limit: i64,
    /// CPU quota per container in billionths of a CPU (default one CPU).
    pub nano_cpus: i64,
    /// Bytes kept per output stream; more and the process is killed (default 64 KiB).
    pub output_limit: usize,
    /// Size of the writable, noexec `/tmp` (default 16 MiB).
    pub tmp_bytes: u64,
}

impl Default for SandboxLimits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            memory_bytes: 128 * 1024 * 1024,
            pids_limit: 64,
            nano_cpus: 1_000_000_000,
            output_limit: 64 * 1024,
            tmp_bytes: 16 * 1024 * 1024,
        }
    }
}

/// How runs are kept apart from each other and from the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Isolation {
    /// Each version of each run in a container of its own, created for it and removed after.
    #[default]
    Containers,
    /// Each version of each run in fresh namespaces (user, mount, pid, ipc, uts) inside a
    /// long-lived worker container of its image, which is sandboxed as a single-use one is
    /// (see `worker.rs`): a run costs a process, not a container.
    Namespaces,
}

impl Isolation {
    pub fn as_str(self) -> &'static str {
        match self {
            Isolation::Containers => "containers",
            Isolation::Namespaces => "namespaces",
        }
    }
}

/// Every tag but the FPM and Apache variants (`8.4-fpm`, `8.4-apache-bookworm`, …).
pub fn default_tags() -> Vec<String> {
    ["*", "!*fpm*", "!*apache*"].map(str::to_owned).to_vec()
}

/// 4 containers per core: runs mostly wait on I/O and start-up, rarely on CPU.
pub fn default_max_containers() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (4 * cores).max(4)
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            instance_id: "evalgrid".to_owned(),
            docker_host: None,
            docker_tls: None,
            repositories: vec!["php".to_owned()],
            tags: default_tags(),
            limits: SandboxLimits::default(),
            max_containers: default_max_containers(),
            admission_wait: Duration::from_secs(30),
            max_waiting: 256,
            pool_size: 1,
            pool_max: 4,
            fixed_clock: true,
            probe_cache: None,
            isolation: Isolation::Containers,
            worker_runs: 500,
            worker_lifetime: Duration::from_secs(600),
        }
    }
}
