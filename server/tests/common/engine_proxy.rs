//! A stand-in socket for the Docker engine that forwards to the real one and can be switched
//! off and on: the engine "goes away" for the server under test (connections refused, open
//! ones cut) while the real engine, and the containers on it, stay where they are.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinSet;

const REAL_ENGINE: &str = "/var/run/docker.sock";

pub struct EngineProxy {
    path: PathBuf,
    tasks: Arc<Mutex<JoinSet<()>>>,
}

impl EngineProxy {
    /// A proxy socket path, switched off.
    pub fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("evalgrid-{name}-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        Self {
            path,
            tasks: Arc::default(),
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
        self.tasks.lock().unwrap().spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                tasks.lock().unwrap().spawn(async move {
                    if let Ok(mut engine) = UnixStream::connect(REAL_ENGINE).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut engine).await;
                    }
                });
            }
        });
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
