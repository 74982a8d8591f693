//! The real server binary as a child process, for tests of starting, stopping and crashing.

use super::run_body;
use reqwest::StatusCode;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The real server binary, on its own port, with an instance id of its own unless its flags
/// name one.
pub struct ServerProcess {
    pub child: Child,
    pub base: String,
    /// This server's containers in the engine.
    pub containers: super::Containers,
    /// The fresh database it was given (none when the flags named one).
    database: Option<super::TempDatabase>,
}

impl ServerProcess {
    /// Starts the binary with `flags` and a fresh database (unless `flags` name one).
    pub async fn start(flags: &[&str]) -> Self {
        Self::start_with_log(flags, Stdio::null()).await
    }

    /// The same, its log (stdout) going to the file `log`.
    pub async fn start_logging(flags: &[&str], log: &std::path::Path) -> Self {
        let log = std::fs::File::create(log).expect("the log file");
        Self::start_with_log(flags, log.into()).await
    }

    async fn start_with_log(flags: &[&str], log: Stdio) -> Self {
        if flags.contains(&"--database") {
            return Self::start_writing_log(super::free_port(), flags, log).await;
        }
        let database = super::fresh_database();
        let path = database.to_str().unwrap().to_owned();
        let mut server =
            Self::start_writing_log(super::free_port(), &[flags, &["--database", &path]].concat(), log).await;
        server.database = Some(database);
        server
    }

    /// Starts the binary with exactly these flags (and its own port, and instance id unless
    /// `--instance-id` is among them).
    pub async fn start_exactly(flags: &[&str]) -> Self {
        Self::start_on(super::free_port(), flags).await
    }

    /// Starts the binary on 127.0.0.1:`port` (a restart behind a balancer keeps its address)
    /// with exactly these flags, and its own instance id unless `--instance-id` is among them.
    pub async fn start_on(port: u16, flags: &[&str]) -> Self {
        Self::start_writing_log(port, flags, Stdio::null()).await
    }

    async fn start_writing_log(port: u16, flags: &[&str], log: Stdio) -> Self {
        let named = flags.iter().position(|flag| *flag == "--instance-id");
        let instance_id = named.map_or_else(super::fresh_instance_id, |at| flags[at + 1].to_owned());
        let own_id = ["--instance-id", instance_id.as_str()];
        let own_id: &[&str] = if named.is_some() { &[] } else { &own_id };
        let child = Command::new(env!("CARGO_BIN_EXE_server"))
            .args(["--addr", &format!("127.0.0.1:{port}")])
            .args(own_id)
            .args(super::isolation_flags(flags))
            .args(flags)
            .stdout(log)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(response) = reqwest::get(format!("{base}/api/health")).await {
                if response.status() == StatusCode::OK {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "the server did not come up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self {
            child,
            base,
            containers: super::Containers::of(&instance_id),
            database: None,
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn address(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.address().rsplit(':').next().unwrap().parse().unwrap()
    }

    /// A client of this server.
    pub fn client(&self) -> super::Client {
        super::Client::of(&self.base)
    }

    /// This process's peak resident memory (VmHWM), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        self.memory_kib("VmHWM:")
    }

    /// This process's resident memory now (VmRSS), in KiB.
    pub fn rss_kib(&self) -> u64 {
        self.memory_kib("VmRSS:")
    }

    fn memory_kib(&self, field: &str) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default()
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// SIGTERM, then waits for the exit: the server removes its containers first (SIGKILL, the
    /// drop, cannot: removals still in its background are lost with it).
    pub async fn stop(&mut self) {
        self.signal(libc::SIGTERM);
        self.wait_for_exit(Duration::from_secs(5)).await;
    }

    /// Starts a streaming run of `code` and returns without waiting for it.
    pub fn start_run(&self, code: &str, images: &[&str]) -> tokio::task::JoinHandle<()> {
        let request = reqwest::Client::new()
            .post(format!("{}/api/run/stream", self.base))
            .json(&run_body(code, images));
        tokio::spawn(async move {
            if let Ok(response) = request.send().await {
                let _ = response.text().await;
            }
        })
    }

    pub fn signal(&self, signal: libc::c_int) {
        // SAFETY: plain kill(2) on our own child's pid.
        assert_eq!(unsafe { libc::kill(self.child.id() as libc::pid_t, signal) }, 0);
    }

    /// Waits for the process to exit; returns how long it took.
    pub async fn wait_for_exit(&mut self, within: Duration) -> Duration {
        let start = Instant::now();
        while self.child.try_wait().unwrap().is_none() {
            assert!(start.elapsed() < within, "the server still runs after {within:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        start.elapsed()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the binary with these flags, expecting it to refuse to start (within 10 s); returns
/// what it said.
pub fn fails_to_start(flags: &[&str]) -> String {
    use std::io::Read;
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["--addr", "127.0.0.1:0"])
        .args(flags)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server started with {flags:?}; it should have refused");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        !status.success(),
        "the server should refuse to start with {flags:?}"
    );
    let mut said = String::new();
    child.stdout.take().unwrap().read_to_string(&mut said).unwrap();
    child.stderr.take().unwrap().read_to_string(&mut said).unwrap();
    said
}
