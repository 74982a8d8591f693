//! A real image registry for the tests (Debian's `docker-registry`, the CNCF distribution
//! registry) on 127.0.0.1, storing into a temporary directory of its own. Stopped and removed
//! when dropped, also when a test fails.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Registry {
    directory: PathBuf,
    process: Child,
    pub port: u16,
}

impl Registry {
    pub fn start() -> Self {
        let directory = super::fresh_directory("registry");
        std::fs::create_dir_all(directory.join("storage")).unwrap();
        let port = super::free_port();
        let config = directory.join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
                directory.join("storage").display()
            ),
        )
        .unwrap();
        let process = Command::new("docker-registry")
            .args(["serve", config.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry (scripts/setup.sh installs it)");
        let registry = Self {
            directory,
            process,
            port,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the registry did not come up");
            std::thread::sleep(Duration::from_millis(100));
        }
        registry
    }

    /// Stops it now (the registry is "down"); the directory goes when it is dropped.
    pub fn stop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}
