//! A second Docker engine for the tests, listening only on loopback TCP with TLS client
//! certificates the test generates (openssl), in a temporary directory of its own, sharing no
//! socket with the machine's engine. Stopped and removed when dropped, also when a test fails.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct TlsEngine {
    directory: PathBuf,
    dockerd: Child,
    pub port: u16,
}

impl TlsEngine {
    /// Starts the engine and loads `images` into it from the machine's engine.
    pub fn start(images: &[&str]) -> Self {
        let directory = super::fresh_directory("tls-engine");
        std::fs::create_dir_all(directory.join("client")).unwrap();
        make_certificates(&directory);
        let port = super::free_port();
        let log = std::fs::File::create(directory.join("dockerd.log")).unwrap();
        let path = |name: &str| directory.join(name).to_str().unwrap().to_owned();
        let dockerd = Command::new("dockerd")
            .args(["--data-root", &path("data"), "--exec-root", &path("exec")])
            .args(["--pidfile", &path("dockerd.pid")])
            .args(["-H", &format!("tcp://127.0.0.1:{port}")])
            .args(["--tlsverify", "--tlscacert", &path("ca.pem")])
            .args([
                "--tlscert",
                &path("server-cert.pem"),
                "--tlskey",
                &path("server-key.pem"),
            ])
            // No networking of its own: runs have none, and the host's stays untouched.
            .args([
                "--bridge",
                "none",
                "--iptables=false",
                "--ip6tables=false",
                "--ip-masq=false",
            ])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("dockerd");
        let engine = Self {
            directory,
            dockerd,
            port,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !engine.cli(&["info"]).status.success() {
            assert!(Instant::now() < deadline, "the TLS engine did not come up");
            std::thread::sleep(Duration::from_millis(200));
        }
        for image in images {
            let mut saved = Command::new("docker")
                .args(["save", image])
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let loaded = engine
                .command(&["load", "-q"])
                .stdin(saved.stdout.take().unwrap())
                .output()
                .unwrap();
            assert!(saved.wait().unwrap().success(), "docker save {image}");
            assert!(
                loaded.status.success(),
                "{}",
                String::from_utf8_lossy(&loaded.stderr)
            );
        }
        engine
    }

    /// `tcp://127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }

    /// The directory with the client's `ca.pem`, `cert.pem` and `key.pem` (`DOCKER_CERT_PATH`).
    pub fn client_certificates(&self) -> String {
        self.directory.join("client").to_str().unwrap().to_owned()
    }

    /// The docker CLI, pointed at this engine with the client certificate.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("docker");
        command
            .env("DOCKER_HOST", self.host())
            .env("DOCKER_TLS_VERIFY", "1")
            .env("DOCKER_CERT_PATH", self.client_certificates())
            .args(args);
        command
    }

    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        self.command(args).output().unwrap()
    }

    /// The ids of the containers of `instance` on this engine.
    pub fn containers_of(&self, instance: &str) -> Vec<String> {
        let filter = format!("label={}={instance}", runner::INSTANCE_LABEL);
        let listed = self.cli(&["ps", "-aq", "--filter", &filter]);
        String::from_utf8_lossy(&listed.stdout)
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for TlsEngine {
    fn drop(&mut self) {
        // SIGTERM lets dockerd stop its containers and unmount its layers before the directory
        // goes.
        super::stop_child(&mut self.dockerd, libc::SIGTERM, Duration::from_secs(15));
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA.
fn make_certificates(directory: &Path) {
    let openssl = |args: &[&str]| {
        let output = Command::new("openssl")
            .current_dir(directory)
            .args(args)
            .output()
            .expect("openssl");
        assert!(
            output.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca-key.pem",
        "-out",
        "ca.pem",
        "-days",
        "1",
        "-subj",
        "/CN=evalgrid test CA",
    ]);
    for (name, subject, usage) in [
        (
            "server",
            "/CN=127.0.0.1",
            "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
        ),
        ("client", "/CN=evalgrid", "extendedKeyUsage=clientAuth\n"),
    ] {
        std::fs::write(directory.join(format!("{name}.ext")), usage).unwrap();
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &format!("{name}-key.pem"),
            "-out",
            &format!("{name}.csr"),
            "-subj",
            subject,
        ]);
        openssl(&[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-CAcreateserial",
            "-out",
            &format!("{name}-cert.pem"),
            "-days",
            "1",
            "-extfile",
            &format!("{name}.ext"),
        ]);
    }
    let client = directory.join("client");
    std::fs::copy(directory.join("ca.pem"), client.join("ca.pem")).unwrap();
    std::fs::copy(directory.join("client-cert.pem"), client.join("cert.pem")).unwrap();
    std::fs::copy(directory.join("client-key.pem"), client.join("key.pem")).unwrap();
}
