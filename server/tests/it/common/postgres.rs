//! A real PostgreSQL server for the tests (Debian's `postgresql` package), on 127.0.0.1 with a
//! data directory of its own in a temporary directory. Stopped and removed when dropped, also
//! when a test fails. Each test asks it for fresh databases.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The role the tests connect as (trusted: the server listens on loopback only).
const ROLE: &str = "evalgrid";

pub struct Postgres {
    directory: PathBuf,
    process: Child,
    pub port: u16,
    next_database: AtomicUsize,
}

impl Postgres {
    /// Creates a cluster and starts its server; blocks until it accepts connections.
    pub fn start() -> Self {
        let directory = super::fresh_directory("postgres");
        let owner = ServerUser::find();
        owner.chown(&directory);
        let data = directory.join("data");
        let log = directory.join("postgres.log");
        let initdb = owner
            .command(&binary("initdb"))
            .args(["-D", data.to_str().unwrap(), "-U", ROLE])
            .args(["--auth=trust", "--no-locale", "--encoding=UTF8", "--no-sync"])
            .output()
            .expect("initdb (scripts/setup.sh installs postgresql)");
        assert!(
            initdb.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&initdb.stderr)
        );
        let port = super::free_port();
        let log_file = std::fs::File::create(&log).unwrap();
        owner.chown(&log);
        let process = owner
            .command(&binary("postgres"))
            .args(["-D", data.to_str().unwrap(), "-p", &port.to_string()])
            // Loopback only, and the socket in our own directory, not /var/run/postgresql.
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", &format!("unix_socket_directories={}", directory.display())])
            .args(["-c", "max_connections=200"])
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("postgres");
        let server = Self {
            directory,
            process,
            port,
            next_database: AtomicUsize::new(0),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !server.psql("postgres", "SELECT 1").status.success() {
            assert!(
                Instant::now() < deadline,
                "PostgreSQL did not come up: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    /// The URL of `database` on this server.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://{ROLE}@127.0.0.1:{}/{database}", self.port)
    }

    /// A new, empty database; its URL.
    pub fn fresh_database(&self) -> String {
        let name = format!("evalgrid_{}", self.next_database.fetch_add(1, Ordering::Relaxed));
        let created = self.psql("postgres", &format!("CREATE DATABASE {name}"));
        assert!(
            created.status.success(),
            "{}",
            String::from_utf8_lossy(&created.stderr)
        );
        self.url(&name)
    }

    /// Runs `sql` in `database` with psql; its output.
    pub fn psql(&self, database: &str, sql: &str) -> std::process::Output {
        Command::new("psql")
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", ROLE])
            .args(["-d", database, "-c", sql])
            .output()
            .expect("psql")
    }

    /// The first line `sql` prints in the database at `url`.
    pub fn query(&self, url: &str, sql: &str) -> String {
        let database = url.rsplit('/').next().unwrap();
        let output = self.psql(database, sql);
        assert!(
            output.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // SIGINT is PostgreSQL's fast shutdown: it disconnects clients instead of waiting.
        super::stop_child(&mut self.process, libc::SIGINT, Duration::from_secs(15));
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}

/// The newest installed server's program `name` (Debian keeps them per major version).
fn binary(name: &str) -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("postgresql is installed (scripts/setup.sh)")
        .filter_map(|entry| Some(entry.ok()?.path().join("bin").join(name)))
        .filter(|path| path.exists())
        .collect();
    versions.sort_by_key(|path| {
        let major = path.iter().nth(4).and_then(|v| v.to_str()?.parse::<u32>().ok());
        major.unwrap_or(0)
    });
    versions.pop().expect("a PostgreSQL server binary")
}

/// Who runs the server: PostgreSQL refuses to run as root, so as root it runs as the package's
/// `postgres` user; otherwise as ourselves.
enum ServerUser {
    Myself,
    Postgres { uid: u32, gid: u32 },
}

impl ServerUser {
    fn find() -> Self {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Self::Myself;
        }
        let id = |flag: &str| {
            let output = Command::new("id").args([flag, "postgres"]).output().unwrap();
            assert!(
                output.status.success(),
                "the postgres user (from the postgresql package)"
            );
            String::from_utf8_lossy(&output.stdout).trim().parse().unwrap()
        };
        Self::Postgres {
            uid: id("-u"),
            gid: id("-g"),
        }
    }

    fn command(&self, program: &Path) -> Command {
        let mut command = Command::new(program);
        if let Self::Postgres { uid, gid } = self {
            command.uid(*uid).gid(*gid);
            // Its home, not root's: initdb and postgres look at the working directory.
            command.current_dir("/");
        }
        command
    }

    fn chown(&self, path: &Path) {
        if let Self::Postgres { uid, gid } = self {
            std::os::unix::fs::chown(path, Some(*uid), Some(*gid)).unwrap();
        }
    }
}
