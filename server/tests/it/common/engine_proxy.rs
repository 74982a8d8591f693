//! A stand-in socket for the Docker engine that forwards to the real one and can be switched
//! off and on: the engine "goes away" for the server under test (connections refused, open
//! ones cut) while the real engine, and the containers on it, stay where they are.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinSet;

const REAL_ENGINE: &str = "/var/run/docker.sock";

pub struct EngineProxy {
    path: PathBuf,
    tasks: Arc<Mutex<JoinSet<()>>>,
    /// Every request line sent to the engine (`GET /v1.41/images/json HTTP/1.1`), in order.
    requests: Arc<Mutex<Vec<String>>>,
}

impl EngineProxy {
    /// A proxy socket path, switched off.
    pub fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("evalgrid-{name}-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        Self {
            path,
            tasks: Arc::default(),
            requests: Arc::default(),
        }
    }

    /// What to pass as `--docker-host`.
    pub fn docker_host(&self) -> String {
        format!("unix://{}", self.path.display())
    }

    /// The engine is reachable through the proxy.
    pub fn switch_on(&self) {
        let listener = UnixListener::bind(&self.path).expect("bind the proxy socket");
        let tasks = self.tasks.clone();
        let requests = self.requests.clone();
        self.tasks.lock().unwrap().spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let requests = requests.clone();
                tasks.lock().unwrap().spawn(async move {
                    if let Ok(engine) = UnixStream::connect(REAL_ENGINE).await {
                        forward(client, engine, requests).await;
                    }
                });
            }
        });
    }

    /// How many requests so far had `path` in their request line.
    pub fn requests_to(&self, path: &str) -> usize {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|line| line.contains(path))
            .count()
    }

    /// The engine is gone: new connections are refused and open ones are cut.
    pub fn switch_off(&self) {
        self.tasks.lock().unwrap().abort_all();
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Drop for EngineProxy {
    fn drop(&mut self) {
        self.switch_off();
    }
}

/// Copies both ways, noting the request lines the client sends (the engine's API is HTTP/1.1;
/// each request's head arrives in one write from the client, so its line is within a read).
async fn forward(client: UnixStream, engine: UnixStream, requests: Arc<Mutex<Vec<String>>>) {
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_engine, mut to_engine) = engine.into_split();
    let upstream = async move {
        let mut buffer = vec![0; 64 * 1024];
        loop {
            let read = from_client.read(&mut buffer).await.unwrap_or(0);
            if read == 0 {
                let _ = to_engine.shutdown().await;
                return;
            }
            let text = String::from_utf8_lossy(&buffer[..read]);
            for line in text.lines().filter(|line| line.ends_with(" HTTP/1.1")) {
                requests.lock().unwrap().push(line.to_owned());
            }
            if to_engine.write_all(&buffer[..read]).await.is_err() {
                return;
            }
        }
    };
    let downstream = async move {
        let _ = tokio::io::copy(&mut from_engine, &mut to_client).await;
        let _ = to_client.shutdown().await;
    };
    tokio::join!(upstream, downstream);
}
