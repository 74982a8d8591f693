//! evalgrid's execution engine: runs a PHP snippet on several PHP images at once, each in its own
//! single-use, sandboxed Docker container, and streams the results back in completion order.
//!
//! The API is narrow on purpose:
//! - [`Runner::new`] sets up the client for the local Docker engine (bollard, never the docker
//!   CLI); the engine may come and go, every call finds out whether it answers;
//! - [`Runner::images`] discovers the engine's PHP images and their exact PHP versions;
//! - [`Runner::resolve`] turns client-supplied image names into discovered [`Image`]s (nothing
//!   else is ever handed to Docker);
//! - [`Runner::admit`] reserves room under the global container limit, or says "busy";
//! - [`Runner::run_all`] fans out one container per image (taken from the pool of pre-started
//!   containers when it has one) and yields [`Execution`]s as each finishes;
//! - [`Runner::shut_down`] stops runs in flight and removes every container, pooled ones too.
//!
//! Every container is removed on every path (success, error, timeout, dropped request) by a
//! [`container::ContainerGuard`], and carries the [`MANAGED_LABEL`] so orphans left by a crashed
//! process can be found with [`Runner::remove_orphans`].

mod config;
mod container;
mod engine;
mod error;
mod execution;
mod images;
mod pool;
mod sandbox;
mod usage;

pub use config::{default_max_containers, RunnerConfig};
pub use error::{AdmitError, ConnectError, DiscoverError, ResolveError, RunError};
pub use execution::{Execution, Status};
pub use images::Image;
pub use sandbox::{PHP_INI, SCRIPT_PATH};
pub use usage::Usage;

pub use time;

use bollard::Docker;
use futures::stream::{FuturesUnordered, Stream, StreamExt};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The label every container started by evalgrid carries.
pub const MANAGED_LABEL: &str = "dev.evalgrid.managed";

/// A handle to the Docker engine plus what evalgrid knows about its PHP images. Cheap to clone.
#[derive(Clone)]
pub struct Runner {
    engine: Arc<engine::Engine>,
    config: Arc<RunnerConfig>,
    catalog: Arc<images::Catalog>,
    slots: Arc<Semaphore>,
    pool: Arc<pool::Pool>,
    /// Background removals (dropped runs, retries while the engine is away).
    cleanups: TaskTracker,
    /// Cancelled by [`Runner::shut_down`]: runs in flight stop, new ones are refused.
    stopping: CancellationToken,
}

/// Room for a run's containers, held until the run's stream is finished or dropped.
pub struct Admission {
    _slots: OwnedSemaphorePermit,
}

impl Runner {
    /// Sets up the engine client; nothing touches the engine until the first call, so this works
    /// while the engine is down.
    pub fn new(config: RunnerConfig) -> Self {
        Self {
            engine: Arc::new(engine::Engine::new(config.docker_host.clone())),
            slots: Arc::new(Semaphore::new(config.max_containers)),
            config: Arc::new(config),
            catalog: Arc::new(images::Catalog::default()),
            pool: Arc::default(),
            cleanups: TaskTracker::new(),
            stopping: CancellationToken::new(),
        }
    }

    /// Whether the engine answers (and, once it has, the negotiated client).
    pub async fn engine(&self) -> Result<(), ConnectError> {
        self.docker().await.map(drop)
    }

    pub fn config(&self) -> &RunnerConfig {
        &self.config
    }

    /// Identifies the sandbox (command, ini settings, limits) a result was produced under, so a
    /// cache of results can tell when they no longer apply.
    pub fn sandbox_fingerprint(&self) -> String {
        sandbox::fingerprint(&self.config)
    }

    /// The PHP images the engine has, sorted by PHP version (oldest first).
    pub async fn images(&self) -> Result<Vec<Image>, DiscoverError> {
        self.catalog.images(self).await
    }

    /// Maps client-supplied names to discovered images, in the given order.
    pub async fn resolve(&self, names: &[String]) -> Result<Vec<Image>, ResolveError> {
        let known = self.images().await?;
        names
            .iter()
            .map(|name| {
                known
                    .iter()
                    .find(|image| image.answers_to(name))
                    .cloned()
                    .ok_or_else(|| ResolveError::UnknownImage(name.clone()))
            })
            .collect()
    }

    /// Reserves room for `versions` containers under the global limit, waiting at most the
    /// configured admission wait: a full server answers "busy" quickly instead of queueing.
    pub async fn admit(&self, versions: usize) -> Result<Admission, AdmitError> {
        let capacity = self.config.max_containers;
        if self.stopping.is_cancelled() {
            return Err(AdmitError::ShuttingDown);
        }
        if versions > capacity {
            return Err(AdmitError::TooLarge { wanted: versions, capacity });
        }
        let wanted = u32::try_from(versions).expect("versions fit in u32");
        let waiting = self.slots.clone().acquire_many_owned(wanted);
        match tokio::time::timeout(self.config.admission_wait, waiting).await {
            Ok(Ok(slots)) => Ok(Admission { _slots: slots }),
            _ => Err(AdmitError::Busy {
                running: capacity - self.slots.available_permits(),
                capacity,
            }),
        }
    }

    /// Runs `code` on every image at once. The stream yields each result as its container
    /// finishes; dropping the stream stops and removes the containers still running, and
    /// releases the admission.
    pub fn run_all(
        &self,
        code: &str,
        images: Vec<Image>,
        admission: Admission,
    ) -> impl Stream<Item = Execution> + Send + 'static {
        let code: Arc<[u8]> = Arc::from(code.as_bytes());
        let runs = images
            .into_iter()
            .map(|image| {
                let runner = self.clone();
                let code = code.clone();
                async move { runner.run(&code, &image).await }
            })
            .collect::<FuturesUnordered<_>>();
        // The admission lives as long as the stream does.
        futures::stream::unfold((runs, admission), |(mut runs, admission)| async move {
            let next = runs.next().await?;
            Some((next, (runs, admission)))
        })
    }

    /// Runs `code` on one image in a fresh container. Never fails: a version that could not run
    /// comes back with [`Status::Error`] and a message.
    pub async fn run(&self, code: &[u8], image: &Image) -> Execution {
        container::run(self, code, image, container::Source::Pool).await
    }

    /// Like [`Runner::run`], always in a fresh container: for the runner's own questions
    /// (version probes), which should not churn the pool.
    pub(crate) async fn run_fresh(&self, code: &[u8], image: &Image) -> Execution {
        container::run(self, code, image, container::Source::Fresh).await
    }

    /// Removes every container carrying [`MANAGED_LABEL`], running or not. Meant for start-up,
    /// after a crash left some behind. Returns how many were removed.
    pub async fn remove_orphans(&self) -> Result<usize, DiscoverError> {
        container::remove_labelled(self).await
    }

    /// Stops every run in flight (each returns [`Status::Error`], its container removed), refuses
    /// new ones, removes the pooled containers, and waits up to `grace` for the removals to finish. Returns whether they did.
    pub async fn shut_down(&self, grace: Duration) -> bool {
        self.stopping.cancel();
        // Dropping them hands their removal to the cleanup tracker.
        drop(self.pool.drain());
        self.cleanups.close();
        tokio::time::timeout(grace, self.cleanups.wait()).await.is_ok()
    }

    pub(crate) async fn docker(&self) -> Result<Docker, ConnectError> {
        self.engine.docker().await
    }
}

impl Runner {
    /// How many pre-started containers wait in the pool.
    pub fn pooled(&self) -> usize {
        self.pool.idle_count()
    }

    /// Starts the pool's containers for every discovered image (a no-op with a pool size of 0).
    pub async fn fill_pool(&self) -> Result<(), DiscoverError> {
        for image in self.images().await? {
            self.pool.refill(self, &image);
        }
        Ok(())
    }
}
