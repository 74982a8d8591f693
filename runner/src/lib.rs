//! evalgrid's execution engine: runs a PHP snippet on several PHP images at once, each in its own
//! single-use, sandboxed Docker container, and streams the results back in completion order.
//!
//! The API is narrow on purpose:
//! - [`Runner::new`] sets up the client for the local Docker engine (bollard, never the docker
//!   CLI); the engine may come and go, every call finds out whether it answers;
//! - [`Runner::images`] discovers the engine's PHP images and their exact PHP versions (cached
//!   briefly, refreshed in the background);
//! - [`Runner::resolve`] turns client-supplied image names into discovered [`Image`]s (nothing
//!   else is ever handed to Docker);
//! - [`Runner::admit`] reserves a container for each version of a run under the global
//!   container limit — a pooled one, already started, or room for a fresh one — or says "busy";
//! - [`Runner::run_all`] runs each version in a task of its own and yields [`Execution`]s as
//!   each finishes;
//! - [`Runner::shut_down`] stops runs in flight and removes every container, pooled ones too.
//!
//! The invariant behind the limit: every container this runner has in the engine holds a slot
//! from before it is created until after it is removed, so there are never more than
//! `max_containers` of them; and an idle pool never keeps a run out (it gives its slots up).
//! The engine is reached through a [`backend::Backend`]: Docker in production, an engine in
//! memory in the lifecycle unit tests (`fakes.rs`, `lifecycle_tests.rs`).
//!
//! Every container is removed on every path (success, error, timeout, dropped request) by a
//! guard, and carries the [`MANAGED_LABEL`] so orphans left by a crashed process can be found
//! with [`Runner::remove_orphans`].

mod backend;
mod classify;
mod config;
mod container;
mod engine;
mod error;
mod execution;
mod images;
mod pool;
mod sandbox;
mod seccomp;
mod slots;
mod usage;

#[cfg(feature = "testing")]
pub mod testing;

#[cfg(test)]
mod fakes;
#[cfg(test)]
mod lifecycle_tests;

pub use config::{default_max_containers, RunnerConfig};
pub use error::{AdmitError, ConnectError, DiscoverError, ResolveError, RunError};
pub use execution::{Execution, Status};
pub use images::{version_key, Image, VersionKey};
pub use sandbox::{PHP_INI, SCRIPT_PATH};
pub use seccomp::profile as seccomp_profile;
pub use usage::Usage;

pub use time;

use container::Reserved;
use futures::stream::Stream;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The label every container started by evalgrid carries.
pub const MANAGED_LABEL: &str = "dev.evalgrid.managed";

/// The label that says which evalgrid instance a container belongs to (its value is
/// [`RunnerConfig::instance_id`]): instances sharing an engine never touch each other's.
pub const INSTANCE_LABEL: &str = "dev.evalgrid.instance";

/// A handle to the Docker engine plus what evalgrid knows about its PHP images. Cheap to clone.
#[derive(Clone)]
pub struct Runner {
    backend: Arc<dyn backend::Backend>,
    config: Arc<RunnerConfig>,
    catalog: Arc<images::Catalog>,
    slots: Arc<slots::Slots>,
    pool: Arc<pool::Pool>,
    /// Runs take their turn to reserve room one at a time, first come first served, so two runs
    /// can never each hold part of what both need.
    admitting: Arc<tokio::sync::Mutex<()>>,
    /// Runs, background removals and the pool's keeper: [`Runner::shut_down`] waits for them.
    cleanups: TaskTracker,
    /// Cancelled by [`Runner::shut_down`]: runs in flight stop, new ones are refused.
    stopping: CancellationToken,
}

/// A container reserved for each version of a run: taken from the pool, or room for a fresh
/// one. Dropping it unused gives everything back.
pub struct Admission {
    versions: Vec<(Image, Reserved)>,
}

impl Admission {
    /// How many versions were admitted.
    pub fn len(&self) -> usize {
        self.versions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.versions.is_empty()
    }
}

impl Runner {
    /// Sets up the engine client; nothing touches the engine until the first call, so this works
    /// while the engine is down.
    pub fn new(config: RunnerConfig) -> Self {
        let docker = backend::DockerBackend::new(config.docker_host.clone());
        Self::with_backend(config, Arc::new(docker))
    }

    /// A runner on any engine (the unit tests' fake).
    pub(crate) fn with_backend(config: RunnerConfig, backend: Arc<dyn backend::Backend>) -> Self {
        let wake_pool = Arc::new(Notify::new());
        Self {
            backend,
            slots: Arc::new(slots::Slots::new(config.max_containers, wake_pool.clone())),
            pool: Arc::new(pool::Pool::new(config.pool_size, wake_pool)),
            config: Arc::new(config),
            catalog: Arc::new(images::Catalog::default()),
            admitting: Arc::default(),
            cleanups: TaskTracker::new(),
            stopping: CancellationToken::new(),
        }
    }

    /// Whether the engine answers.
    pub async fn engine(&self) -> Result<(), ConnectError> {
        self.backend.ping().await
    }

    pub fn config(&self) -> &RunnerConfig {
        &self.config
    }

    /// Identifies the sandbox (command, ini settings, limits) a result was produced under, so a
    /// cache of results can tell when they no longer apply.
    pub fn sandbox_fingerprint(&self) -> String {
        sandbox::fingerprint(&self.config)
    }

    /// The PHP images the engine has, sorted by PHP version (oldest first). Cached for a moment
    /// and refreshed in the background, so a flood of requests does not reach the engine.
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

    /// Reserves a container for each of `images` (the same image may appear twice): an idle
    /// pooled one when there is one, else room for a fresh one, evicting idle pooled containers
    /// when that makes room. Waits at most the configured admission wait, then says "busy".
    pub async fn admit(&self, images: Vec<Image>) -> Result<Admission, AdmitError> {
        self.admit_from(images, true).await
    }

    /// [`Runner::admit`], with `pooled: false` always for fresh containers (version probes,
    /// which should not churn the pool).
    async fn admit_from(&self, images: Vec<Image>, pooled: bool) -> Result<Admission, AdmitError> {
        let capacity = self.slots.capacity();
        if self.stopping.is_cancelled() {
            return Err(AdmitError::ShuttingDown);
        }
        if images.len() > capacity {
            return Err(AdmitError::TooLarge {
                wanted: images.len(),
                capacity,
            });
        }
        let deadline = Instant::now() + self.config.admission_wait;
        let busy = || AdmitError::Busy {
            running: self.slots.in_use(),
            capacity,
        };
        let _turn = tokio::time::timeout_at(deadline, self.admitting.lock())
            .await
            .map_err(|_| busy())?;
        if pooled {
            self.pool.start_keeper(self);
        }
        let taken: Vec<Option<container::Prepared>> = images
            .iter()
            .map(|image| if pooled { self.pool.take(image) } else { None })
            .collect();
        let fresh = taken.iter().filter(|taken| taken.is_none()).count();
        let mut slots = match self.room_for(fresh, deadline).await {
            Some(slots) => slots,
            None => {
                taken
                    .into_iter()
                    .flatten()
                    .for_each(|prepared| self.pool.park(prepared));
                return Err(busy());
            }
        };
        let versions = images
            .into_iter()
            .zip(taken)
            .map(|(image, taken)| {
                let reserved = match taken {
                    Some(prepared) => Reserved::Pooled(Box::new(prepared)),
                    None => Reserved::Fresh(slots.pop().expect("a slot for every fresh container")),
                };
                (image, reserved)
            })
            .collect();
        Ok(Admission { versions })
    }

    /// `count` free slots, evicting idle pooled containers when the free ones are too few, and
    /// waiting until `deadline` for running ones to finish.
    async fn room_for(&self, count: usize, deadline: Instant) -> Option<Vec<slots::Slot>> {
        if count == 0 {
            return Some(Vec::new());
        }
        if let Some(slots) = self.slots.take(count, Instant::now()).await {
            return Some(slots);
        }
        // From here on no refill starts and none is kept; the ones being started now are
        // removed when they are ready, which frees their slots for this run.
        let _yielding = self.pool.yield_to_run();
        let shortfall = count.saturating_sub(self.slots.available());
        // An evicted container's slot is free once the engine has removed it.
        let evicted = self.pool.evict(shortfall);
        futures::future::join_all(evicted.into_iter().map(|prepared| prepared.remove())).await;
        self.slots.take(count, deadline).await
    }

    /// Runs `code` on every admitted version at once, each in a task of its own that owns its
    /// container, deadline and slot: a consumer that stops reading delays nothing. The stream
    /// yields each result as it finishes; dropping the stream stops and removes the containers
    /// still running.
    pub fn run_all(
        &self,
        code: &str,
        admission: Admission,
    ) -> impl Stream<Item = Execution> + Send + 'static {
        let code: Arc<[u8]> = Arc::from(code.as_bytes());
        let cancelled = self.stopping.child_token();
        let (results, received) = tokio::sync::mpsc::channel(admission.len().max(1));
        for (image, reserved) in admission.versions {
            let (runner, code, results, cancelled) =
                (self.clone(), code.clone(), results.clone(), cancelled.clone());
            self.cleanups.spawn(async move {
                let execution = runner.run_one(&code, &image, reserved, &cancelled).await;
                // The consumer may be gone: the result has nowhere to go.
                let _ = results.send(execution).await;
            });
        }
        // Dropping the stream cancels the versions still running.
        let on_drop = cancelled.drop_guard();
        futures::stream::unfold((received, on_drop), |(mut received, on_drop)| async move {
            let next = received.recv().await?;
            Some((next, (received, on_drop)))
        })
    }

    /// One version. Never fails: a version that could not run comes back with
    /// [`Status::Error`] and a message.
    async fn run_one(
        &self,
        code: &[u8],
        image: &Image,
        reserved: Reserved,
        cancelled: &CancellationToken,
    ) -> Execution {
        let clock = Instant::now();
        let outcome = tokio::select! {
            outcome = container::run(self, code, image, reserved) => outcome,
            // Dropping the run's future drops its container's guard, which removes it.
            () = cancelled.cancelled() => Err(match self.stopping.is_cancelled() {
                true => RunError::ShuttingDown,
                false => RunError::Abandoned,
            }),
        };
        outcome.unwrap_or_else(|error| {
            tracing::warn!(image = %image.name, %error, "version could not run");
            Execution::failed(image, error.to_string(), clock.elapsed().as_millis() as u64)
        })
    }

    /// Runs `code` on `image` in a fresh container, through admission like every run: the
    /// runner's own questions (version probes).
    pub(crate) async fn run_fresh(&self, code: &str, image: &Image) -> Result<Execution, AdmitError> {
        use futures::StreamExt;
        let admission = self.admit_from(vec![image.clone()], false).await?;
        let mut results = std::pin::pin!(self.run_all(code, admission));
        Ok(results.next().await.expect("one result for one version"))
    }

    /// Removes every container of this instance (its [`INSTANCE_LABEL`]), running or not; other
    /// instances' are left alone. Meant for start-up, after a crash left some behind. Returns
    /// how many were removed.
    pub async fn remove_orphans(&self) -> Result<usize, DiscoverError> {
        container::remove_labelled(self).await
    }

    /// Stops every run in flight (each returns [`Status::Error`], its container removed), refuses
    /// new ones, removes the pooled containers, and waits up to `grace` for the removals to
    /// finish. Returns whether they did.
    pub async fn shut_down(&self, grace: Duration) -> bool {
        self.stopping.cancel();
        // Dropping them hands their removal to the cleanup tracker.
        drop(self.pool.drain());
        self.cleanups.close();
        tokio::time::timeout(grace, self.cleanups.wait()).await.is_ok()
    }

    /// The name this runner's containers carry ([`INSTANCE_LABEL`]).
    pub fn instance_id(&self) -> &str {
        &self.config.instance_id
    }

    /// How many pre-started containers wait in the pool.
    pub fn pooled(&self) -> usize {
        self.pool.idle_count()
    }

    /// How many containers this runner has in the engine (running, pooled, being removed).
    pub fn containers(&self) -> usize {
        self.slots.in_use()
    }

    /// The ids of this instance's containers as the engine lists them, running or not: what
    /// [`Runner::remove_orphans`] would remove.
    pub async fn listed_containers(&self) -> Result<Vec<String>, DiscoverError> {
        self.backend.containers_of(&self.config.instance_id).await
    }

    /// Starts the pool's containers for every discovered image (a no-op with a pool size of 0).
    pub async fn fill_pool(&self) -> Result<(), DiscoverError> {
        let images = self.images().await?;
        self.pool.keep_for_all(self, images);
        Ok(())
    }
}
