//! Helpers for tests on the real engine, this crate's and the server's (feature `testing`):
//! each test gets an instance id of its own, so tests run in parallel on one engine and each
//! checks its own containers.

pub use crate::scenarios::Census;
use crate::{Runner, RunnerConfig, INSTANCE_LABEL};
use std::process::Command;
use std::time::{Duration, Instant};

/// The images the tests run on: those `scripts/build-php-images.sh` builds.
pub const LOCAL_IMAGES: [&str; 4] = ["php:7.4-cli", "php:8.2-cli", "php:8.4-cli", "php:8.5-cli"];

/// Every tag of `php` that names one of [`LOCAL_IMAGES`] (`7.4-cli`, `7.4.33-cli`, …), for
/// `--tags`: a test that means "the local PHP images" offers these, so other `php` tags on the
/// engine (a Docker Hub user's `php:8.2`, `php:8.4.5-cli-alpine`) change nothing for it.
pub fn local_tags() -> Vec<String> {
    static TAGS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    TAGS.get_or_init(|| {
        let inspected = Command::new("docker")
            .args(["image", "inspect", "--format", "{{join .RepoTags \",\"}}"])
            .args(LOCAL_IMAGES)
            .output()
            .expect("the docker CLI runs");
        assert!(
            inspected.status.success(),
            "the local PHP images exist (scripts/setup.sh builds them): {}",
            String::from_utf8_lossy(&inspected.stderr)
        );
        String::from_utf8_lossy(&inspected.stdout)
            .split([',', '\n'])
            .filter_map(|name| name.trim().strip_prefix("php:"))
            .map(str::to_owned)
            .collect()
    })
    .clone()
}

/// The probe cache the test command shares between all its processes (`EVALGRID_PROBE_CACHE`,
/// which the server reads too), so an image is probed once per test command, not once per
/// test; none: each test's runner probes.
pub fn probe_cache() -> Option<std::path::PathBuf> {
    std::env::var_os("EVALGRID_PROBE_CACHE").map(Into::into)
}

/// An instance id no other test uses, in this process or another.
pub fn fresh_instance_id() -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("test-{}-{n}", std::process::id())
}

/// One instance's containers, as the engine lists them (running or not). Dropping it removes
/// what is left of them: a test's runtime ends with the test, and with it any removal still
/// running in its background (tests that check for leftovers do so before).
pub struct Containers {
    /// A runner with the instance's id, used only to ask the engine.
    lister: Runner,
}

impl Containers {
    pub fn of(instance_id: &str) -> Self {
        let config = RunnerConfig {
            instance_id: instance_id.to_owned(),
            ..Default::default()
        };
        Self {
            lister: Runner::new(config),
        }
    }

    pub fn instance_id(&self) -> &str {
        self.lister.instance_id()
    }

    /// Their ids, sorted.
    pub async fn ids(&self) -> Vec<String> {
        let mut ids = self
            .lister
            .listed_containers()
            .await
            .expect("the engine lists containers");
        ids.sort();
        ids
    }

    pub async fn count(&self) -> usize {
        self.ids().await.len()
    }

    /// Polls until exactly `count` exist (or fails after 10 s); returns their ids.
    pub async fn wait_for(&self, count: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let ids = self.ids().await;
            if ids.len() == count {
                return ids;
            }
            assert!(
                Instant::now() < deadline,
                "expected {count} containers, found {ids:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Polls until none is left; returns how long that took (fails after `within`).
    pub async fn wait_until_none(&self, within: Duration) -> Duration {
        let start = Instant::now();
        while self.count().await > 0 {
            assert!(
                start.elapsed() < within,
                "containers still there after {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        start.elapsed()
    }

    /// Containers go in the background once their result is in; none may stay.
    pub async fn assert_none_left(&self) {
        self.wait_until_none(Duration::from_secs(5)).await;
    }

    /// Polls until the list has not changed for a second (or fails after 10 s): requests the
    /// engine had already accepted from a process that is gone have been carried out.
    pub async fn wait_until_settled(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut listed = self.ids().await;
        let mut unchanged_since = Instant::now();
        while unchanged_since.elapsed() < Duration::from_secs(1) {
            assert!(Instant::now() < deadline, "the engine never settled");
            tokio::time::sleep(Duration::from_millis(100)).await;
            let now = self.ids().await;
            if now != listed {
                (listed, unchanged_since) = (now, Instant::now());
            }
        }
    }
}

impl Drop for Containers {
    fn drop(&mut self) {
        // With the CLI: the test's runtime is going away. Until none has been listed for a
        // while, since a create the engine had already accepted (a version probe's) may still
        // complete.
        let filter = format!("label={INSTANCE_LABEL}={}", self.instance_id());
        let list = || {
            let listed = Command::new("docker")
                .args(["ps", "-aq", "--filter", &filter])
                .output();
            listed
                .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
                .unwrap_or_default()
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut none_since = Instant::now();
        while none_since.elapsed() < Duration::from_millis(300) && Instant::now() < deadline {
            let ids = list();
            if !ids.trim().is_empty() {
                let _ = Command::new("docker")
                    .args(["rm", "-f"])
                    .args(ids.split_whitespace())
                    .output();
                none_since = Instant::now();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
