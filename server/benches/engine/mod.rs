//! The engine side of the benches: `docker run` with the runner's sandbox, and the engine's CPU
//! time (the Docker daemons moved into a cgroup, v1 `cpuacct`, of their own for the bench).
// Each bench uses part of it.
#![allow(dead_code)]

/// The sandbox flags the runner applies, as `docker run` flags (see runner/src/sandbox.rs).
pub const DOCKER_RUN_SANDBOX: &[&str] = &[
    "run",
    "--rm",
    "-i",
    "--network",
    "none",
    "--read-only",
    "--tmpfs",
    "/in:rw,noexec,nosuid,nodev,size=1m,mode=1777",
    "--tmpfs",
    "/tmp:rw,noexec,nosuid,nodev,size=16m,mode=1777",
    "--ipc",
    "none",
    "--memory",
    "128m",
    "--memory-swap",
    "128m",
    "--pids-limit",
    "64",
    "--cpus",
    "1",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
    "--tmpfs",
    "/dev/pts:ro,noexec,nosuid,nodev,size=4k,mode=555",
    "--ulimit",
    "nofile=256:256",
    "--user",
    "1500000000:1500000000",
    "--init",
    "--log-driver",
    "none",
];

/// Runs `docker` with `args`, `input` on its stdin, and waits for its end; its stdout is
/// collected, its stderr dropped.
pub async fn docker_with_input(args: &[&str], input: &[u8]) -> std::process::Output {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new("docker")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("docker");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input).await.unwrap();
    drop(stdin);
    child.wait_with_output().await.unwrap()
}

/// The runner's seccomp profile, in a file for `docker run --security-opt seccomp=…`.
pub fn seccomp_profile_file() -> &'static str {
    static PATH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let path = std::env::temp_dir().join(format!("evalgrid-bench-seccomp-{}.json", std::process::id()));
        std::fs::write(&path, runner::seccomp_profile()).expect("write the seccomp profile");
        format!("seccomp={}", path.display())
    })
}

/// The CPU time of the Docker engine's daemons, counted by a cgroup (v1 `cpuacct`) they are
/// moved into for the bench; the processes they start (shims, runc) inherit it. Containers
/// have cgroups of their own under `docker/`, counted apart.
pub struct EngineCpu {
    group: std::path::PathBuf,
}

/// CPU milliseconds used so far, by component.
#[derive(Clone, Copy)]
pub struct CpuReading {
    pub engine_ms: f64,
    pub containers_ms: f64,
    pub machine_ms: f64,
}

impl CpuReading {
    pub fn since(&self, before: &CpuReading) -> CpuReading {
        CpuReading {
            engine_ms: self.engine_ms - before.engine_ms,
            containers_ms: self.containers_ms - before.containers_ms,
            machine_ms: self.machine_ms - before.machine_ms,
        }
    }
}

const CPUACCT: &str = "/sys/fs/cgroup/cpuacct";

impl EngineCpu {
    /// Moves dockerd, containerd and the running shims into a cgroup of their own; `None` when
    /// that is not possible here.
    pub fn watch() -> Option<Self> {
        let group = std::path::Path::new(CPUACCT).join("evalgrid-bench-engine");
        std::fs::create_dir_all(&group).ok()?;
        let daemons = std::process::Command::new("pgrep")
            .args(["-x", "dockerd|containerd|containerd-shim"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let mut moved = 0;
        for pid in daemons.split_whitespace() {
            moved += usize::from(std::fs::write(group.join("cgroup.procs"), pid).is_ok());
        }
        (moved >= 2).then_some(Self { group })
    }

    pub fn read(&self) -> CpuReading {
        let usage_ms = |path: &std::path::Path| -> f64 {
            let text = std::fs::read_to_string(path.join("cpuacct.usage")).unwrap_or_default();
            text.trim().parse::<f64>().unwrap_or(f64::NAN) / 1e6
        };
        CpuReading {
            engine_ms: usage_ms(&self.group),
            containers_ms: usage_ms(&std::path::Path::new(CPUACCT).join("docker")),
            machine_ms: usage_ms(std::path::Path::new(CPUACCT)),
        }
    }
}

impl Drop for EngineCpu {
    /// Puts the daemons back where they were (the root group) and removes the group.
    fn drop(&mut self) {
        let procs = std::fs::read_to_string(self.group.join("cgroup.procs")).unwrap_or_default();
        for pid in procs.split_whitespace() {
            let _ = std::fs::write(std::path::Path::new(CPUACCT).join("cgroup.procs"), pid);
        }
        let _ = std::fs::remove_dir(&self.group);
    }
}
