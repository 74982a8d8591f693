//! HAProxy (Debian's package) in front of test instances, on 127.0.0.1, with the deployment's
//! own configuration (deploy/haproxy.cfg) and a temporary directory of its own for the admin
//! socket. Stopped and removed when dropped, also when a test fails.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Balancer {
    directory: PathBuf,
    process: Child,
    pub base: String,
}

/// One instance as the balancer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceStats {
    /// `UP`, `DOWN`, `MAINT`, …
    pub status: String,
    /// Requests it was sent, in all.
    pub sessions: u64,
}

impl Balancer {
    /// Starts HAProxy in front of instances `a` and `b` (`127.0.0.1:PORT` each) and waits
    /// until both are up.
    pub fn start(a: &str, b: &str) -> Self {
        let directory = super::fresh_directory("balancer");
        let port = super::free_port();
        let config = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/haproxy.cfg");
        let log = std::fs::File::create(directory.join("haproxy.log")).unwrap();
        let process = Command::new("haproxy")
            // -db: in the foreground, so that it is our child and stops with us.
            .args(["-db", "-f", config])
            .env("EVALGRID_LB_BIND", format!("127.0.0.1:{port}"))
            .env("EVALGRID_INSTANCE_A", a)
            .env("EVALGRID_INSTANCE_B", b)
            .env("EVALGRID_LB_STATS", directory.join("admin.sock"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("haproxy (scripts/setup.sh installs it)");
        let balancer = Self {
            directory,
            process,
            base: format!("http://127.0.0.1:{port}"),
        };
        balancer.wait_until(Duration::from_secs(20), |stats| {
            stats.values().all(|s| s.status == "UP") && stats.len() == 2
        });
        balancer
    }

    /// Sends `command` to the admin socket; its answer.
    pub fn admin(&self, command: &str) -> String {
        let mut socket = UnixStream::connect(self.directory.join("admin.sock")).unwrap();
        socket.write_all(format!("{command}\n").as_bytes()).unwrap();
        let mut answer = String::new();
        socket.read_to_string(&mut answer).unwrap();
        answer
    }

    /// The instances by name (`a`, `b`), as the balancer sees them now.
    pub fn instances(&self) -> std::collections::HashMap<String, InstanceStats> {
        let csv = self.admin("show stat");
        let mut lines = csv.lines();
        let header: Vec<&str> = lines
            .next()
            .unwrap_or_default()
            .trim_start_matches("# ")
            .split(',')
            .collect();
        let column = |name: &str| header.iter().position(|c| *c == name).unwrap();
        let (proxy, server, status, sessions) = (
            column("pxname"),
            column("svname"),
            column("status"),
            column("stot"),
        );
        lines
            .map(|line| line.split(',').collect::<Vec<_>>())
            .filter(|fields| fields.len() > sessions && fields[proxy] == "instances")
            .filter(|fields| !matches!(fields[server], "BACKEND" | "FRONTEND"))
            .map(|fields| {
                (
                    fields[server].to_owned(),
                    InstanceStats {
                        // "UP 1/2" while it is being checked: the word is enough.
                        status: fields[status].split(' ').next().unwrap().to_owned(),
                        sessions: fields[sessions].parse().unwrap_or(0),
                    },
                )
            })
            .collect()
    }

    /// Waits until `condition` holds for the instances, or panics after `timeout`.
    pub fn wait_until(
        &self,
        timeout: Duration,
        condition: impl Fn(&std::collections::HashMap<String, InstanceStats>) -> bool,
    ) {
        let deadline = Instant::now() + timeout;
        loop {
            if self.directory.join("admin.sock").exists() && condition(&self.instances()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the balancer's instances: {:?}; its log: {}",
                self.directory
                    .join("admin.sock")
                    .exists()
                    .then(|| self.instances()),
                std::fs::read_to_string(self.directory.join("haproxy.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}
