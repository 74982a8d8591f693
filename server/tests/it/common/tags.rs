//! Image tags a test makes under a repository of its own (from the local PHP images), removed
//! at the end also when the test fails; and waiting until a server offers them.

use super::TestServer;
use std::process::Command;
use std::time::{Duration, Instant};

/// Tags under a test's own repository, removed when dropped.
pub struct Tags {
    pub repository: &'static str,
}

impl Tags {
    pub fn of(repository: &'static str) -> Self {
        let tags = Self { repository };
        tags.remove_all();
        tags
    }

    /// `php:{tag}` as `{repository}:{tag}`.
    pub fn add(&self, tag: &str) -> String {
        let name = format!("{}:{tag}", self.repository);
        docker(&["tag", &format!("php:{tag}"), &name]);
        name
    }

    fn remove_all(&self) {
        let listed = docker(&["images", "--format", "{{.Repository}}:{{.Tag}}", self.repository]);
        for tag in listed.lines().filter(|line| !line.is_empty()) {
            docker(&["rmi", tag]);
        }
    }
}

impl Drop for Tags {
    fn drop(&mut self) {
        self.remove_all();
    }
}

pub fn docker(args: &[&str]) -> String {
    let output = Command::new("docker").args(args).output().unwrap();
    assert!(
        output.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Waits until the server offers exactly `names`.
pub async fn offers(server: &TestServer, names: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let images: Vec<app::model::ImageInfo> = server.get("/api/images").await.json().await.unwrap();
        if images.iter().map(|i| i.image.as_str()).eq(names.iter().copied()) {
            return;
        }
        assert!(Instant::now() < deadline, "never offered {names:?}: {images:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
