//! evalgrid's execution engine: runs a PHP snippet on several PHP images at once and streams
//! the results back in completion order. Each version runs in a sandboxed Docker container of
//! its own, single-use ([`Isolation::Containers`]), or in fresh namespaces inside a long-lived
//! worker container of its image ([`Isolation::Namespaces`], see [`worker`]).
//!
//! The API is narrow on purpose:
//! - [`Runner::new`] sets up the client for its Docker engine, local or remote over TLS
//!   (bollard, never the docker CLI); the engine may come and go, every call finds out whether
//!   it answers;
//! - [`Runner::images`] discovers the engine's PHP images and their exact PHP versions (cached
//!   briefly, refreshed in the background);
//! - [`Runner::resolve`] turns client-supplied image names into discovered [`Image`]s (nothing
//!   else is ever handed to Docker);
//! - [`Runner::admit`] reserves a container for each version of a run under the global
//!   container limit — a pooled one (an idle worker, or a single-use container already
//!   started), or room for a fresh one — or says "busy" ([`admission`]);
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
//! guard ([`guard`]), and carries the [`MANAGED_LABEL`] so orphans left by a crashed process
//! can be found with [`Runner::remove_orphans`].
//!
//! Tasks: every task the runner spawns is on its tracker (`cleanups`), which
//! [`Runner::shut_down`] closes and waits for:
//!
//! ```text
//! Runner
//! ├── one task per version of a run (run_all): owns its container or worker, deadline, slot
//! │   └── one creation task per new container (container::create): runs to its end, so a
//! │       container the engine makes for a run that is gone is still removed
//! ├── background removals (a dropped guard; retry_removal while the engine is away)
//! ├── the pool's keeper (pool::keep): refills, shrinks, evicts idle workers
//! ├── a pull's relay (Runner::pull)
//! └── the catalog's refresh (images::Catalog)
//! ```

mod admission;
mod backend;
mod classify;
mod clock;
mod config;
mod container;
mod engine;
mod error;
mod execution;
mod guard;
mod images;
mod line;
pub mod metrics;
mod pool;
mod prepared;
mod probe_cache;
mod sandbox;
mod script;
mod seccomp;
mod slots;
mod supervisor;
mod usage;
mod volume;
mod worker;

#[cfg(any(test, feature = "testing"))]
pub mod scenarios;
#[cfg(feature = "testing")]
pub mod testing;

#[cfg(test)]
mod fakes;
#[cfg(test)]
mod pull_tests {
    #[test]
    fn a_reference_without_a_tag_pulls_latest_not_every_tag() {
        assert_eq!(super::with_tag("php"), "php:latest");
        assert_eq!(super::with_tag("127.0.0.1:5000/php"), "127.0.0.1:5000/php:latest");
        assert_eq!(
            super::with_tag("127.0.0.1:5000/php:8.4"),
            "127.0.0.1:5000/php:8.4"
        );
        assert_eq!(super::with_tag("php@sha256:abc"), "php@sha256:abc");
    }
}
#[cfg(test)]
mod lifecycle_tests;

pub use admission::{Admission, InLine, Turn};
pub use config::{default_max_containers, default_tags, EngineTls, Isolation, RunnerConfig, SandboxLimits};
pub use error::{AdmitError, ConnectError, DiscoverError, IsolationError, PullError, ResolveError, RunError};
pub use execution::Execution;
pub use images::{version_key, Image, Opcache, VersionKey};
pub use line::ClientKey;
pub use sandbox::{BEHAVIOUR_INI, PHP_INI, SCRIPT_PATH};
pub use script::{check_ini_setting, Script, MAX_INI_VALUE};
pub use seccomp::profile as seccomp_profile;
pub use spec::{Outcome, Show, Status};
pub use usage::Usage;

pub use time;

use admission::admitted;
use futures::stream::Stream;
use prepared::Reserved;
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
    /// Runs waiting for room, fair between clients and first come first served within a round:
    /// only the one at the head reserves room, so two runs can never each hold part of what
    /// both need, and none is overtaken.
    line: Arc<line::Line>,
    /// Runs, background removals and the pool's keeper: [`Runner::shut_down`] waits for them.
    cleanups: TaskTracker,
    /// Cancelled by [`Runner::shut_down`]: runs in flight stop, new ones are refused.
    stopping: CancellationToken,
    /// Set once the fixed clock's volume is filled (see [`volume`]).
    clock: Arc<tokio::sync::OnceCell<()>>,
    /// Set once the workers' supervisor's volume is filled.
    supervisor: Arc<tokio::sync::OnceCell<()>>,
}

/// One step of a pull, as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullProgress {
    /// The layer (or the tag, for the first and last lines) the line is about.
    pub layer: Option<String>,
    /// "Pulling fs layer", "Downloading", "Pull complete", "Status: Downloaded newer image …".
    pub status: String,
    /// Bytes done and in all, while downloading or extracting a layer.
    pub current: Option<u64>,
    pub total: Option<u64>,
}

/// `reference` with a tag: `:latest` when it has neither tag nor digest (the engine would pull
/// every tag of the repository otherwise).
fn with_tag(reference: &str) -> String {
    let name = reference.rsplit('/').next().unwrap_or(reference);
    match name.contains(':') || name.contains('@') {
        true => reference.to_owned(),
        false => format!("{reference}:latest"),
    }
}

/// Output kept for the runner's own questions (version probes), whatever the runs' limit.
const RUNNER_OUTPUT_LIMIT: usize = 256 * 1024;

impl Runner {
    /// Sets up the engine client; nothing touches the engine until the first call, so this works
    /// while the engine is down.
    pub fn new(config: RunnerConfig) -> Self {
        let docker = backend::DockerBackend::new(config.docker_host.clone(), config.docker_tls.clone());
        Self::with_backend(config, Arc::new(docker))
    }

    /// A runner on any engine (the unit tests' fake).
    pub(crate) fn with_backend(config: RunnerConfig, backend: Arc<dyn backend::Backend>) -> Self {
        let wake_pool = Arc::new(Notify::new());
        let catalog = Arc::new(images::Catalog::new(&config));
        Self {
            backend,
            slots: Arc::new(slots::Slots::new(
                config.max_containers,
                slots::first_uid_of(&config.instance_id),
                wake_pool.clone(),
            )),
            pool: Arc::new(pool::Pool::new(
                config.pool_size,
                config.pool_max,
                wake_pool,
                config.isolation == Isolation::Namespaces,
            )),
            line: line::Line::new(config.max_waiting),
            config: Arc::new(config),
            catalog,
            cleanups: TaskTracker::new(),
            stopping: CancellationToken::new(),
            clock: Arc::default(),
            supervisor: Arc::default(),
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

    /// Pulls `reference` from its registry (`:latest` when it names no tag, never every tag),
    /// reporting progress; the image is offered once discovery sees it (within seconds,
    /// without a restart).
    pub fn pull(
        &self,
        reference: &str,
    ) -> impl Stream<Item = Result<PullProgress, PullError>> + Send + 'static {
        use futures::StreamExt;
        let reference = with_tag(reference);
        let backend = self.backend.clone();
        let (sender, receiver) = tokio::sync::mpsc::channel(16);
        // A task of its own owns the backend and the reference the engine's stream borrows.
        self.cleanups.spawn(async move {
            let mut progress = backend.pull(&reference);
            while let Some(step) = progress.next().await {
                if sender.send(step).await.is_err() {
                    return;
                }
            }
        });
        futures::stream::unfold(receiver, |mut receiver| async move {
            let step = receiver.recv().await?;
            Some((step, receiver))
        })
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

    /// Runs `script` on every admitted version at once, each in a task of its own that owns its
    /// container, deadline and slot: a consumer that stops reading delays nothing. The stream
    /// yields each result as it finishes; dropping the stream stops and removes the containers
    /// still running.
    pub fn run_all(
        &self,
        script: impl Into<Script>,
        admission: Admission,
    ) -> impl Stream<Item = Execution> + Send + 'static {
        let script: Arc<Script> = Arc::new(script.into());
        let cancelled = self.stopping.child_token();
        let (results, received) = tokio::sync::mpsc::channel(admission.len().max(1));
        for (image, reserved) in admission.versions {
            let (runner, script, results, cancelled) =
                (self.clone(), script.clone(), results.clone(), cancelled.clone());
            self.cleanups.spawn(async move {
                let execution = runner.run_one(&script, &image, reserved, &cancelled).await;
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

    /// Runs `script` on `images` with one admission per version, as many at once as the
    /// container limit allows and the next as soon as one finishes, each waiting its turn in line
    /// like any run of `client`'s: for runs with more versions than the limit. Yields each
    /// result as it finishes; a version that gets no room within the admission wait comes back
    /// as an error.
    pub fn run_in_waves(
        &self,
        script: impl Into<Script>,
        images: Vec<Image>,
        client: &ClientKey,
    ) -> impl Stream<Item = Execution> + Send + 'static {
        use futures::{StreamExt, TryFutureExt};
        let runner = self.clone();
        let script: Arc<Script> = Arc::new(script.into());
        let at_once = self.slots.capacity();
        let client = client.clone();
        futures::stream::iter(images)
            .map(move |image| {
                let (runner, script, client) = (runner.clone(), script.clone(), client.clone());
                async move {
                    let clock = Instant::now();
                    let failed = |message: String| {
                        Execution::failed(&image, message, clock.elapsed().as_millis() as u64)
                    };
                    let in_line = runner.line_up(vec![image.clone()], &client);
                    match futures::future::ready(in_line).and_then(admitted).await {
                        Ok(admission) => {
                            let mut results = std::pin::pin!(runner.run_all((*script).clone(), admission));
                            results
                                .next()
                                .await
                                .unwrap_or_else(|| failed("the run stopped".into()))
                        }
                        Err(error) => failed(error.to_string()),
                    }
                }
            })
            .buffer_unordered(at_once)
    }

    /// How many containers may be alive at once (`--max-containers`).
    pub fn capacity(&self) -> usize {
        self.slots.capacity()
    }

    /// One version. Never fails: a version that could not run comes back with
    /// [`Status::Error`] and a message.
    async fn run_one(
        &self,
        script: &Script,
        image: &Image,
        reserved: Reserved,
        cancelled: &CancellationToken,
    ) -> Execution {
        let clock = Instant::now();
        if let Err(message) = script.check_ini(image) {
            return Execution::failed(image, message, 0);
        }
        if script.show.needs_opcache() && image.opcache == Opcache::Missing {
            // The reserved container goes back unused (dropped: removed, or its slot freed).
            return Execution::failed(
                image,
                "this image's PHP has no OPcache, so it cannot show opcodes".into(),
                0,
            );
        }
        let outcome = tokio::select! {
            outcome = container::run(self, script, image, reserved) => outcome,
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

    /// Runs `script` on `image` in a fresh container, through admission like every run: the
    /// runner's own questions (version probes).
    /// Its output may be longer than the runs' limit (a probe lists every ini setting), up to
    /// [`RUNNER_OUTPUT_LIMIT`].
    pub(crate) async fn run_fresh(&self, script: Script, image: &Image) -> Result<Execution, AdmitError> {
        use futures::StreamExt;
        let admission =
            admitted(self.line_up_from(vec![image.clone()], &ClientKey::default(), false)?).await?;
        // The same runner (slots, pool, engine), with room for the answer.
        let asking = Runner {
            config: Arc::new(RunnerConfig {
                limits: SandboxLimits {
                    output_limit: self.config.limits.output_limit.max(RUNNER_OUTPUT_LIMIT),
                    ..self.config.limits.clone()
                },
                ..(*self.config).clone()
            }),
            ..self.clone()
        };
        let mut results = std::pin::pin!(asking.run_all(script, admission));
        Ok(results.next().await.expect("one result for one version"))
    }

    /// Removes every container of this instance (its [`INSTANCE_LABEL`]), running or not; other
    /// instances' are left alone. Meant for start-up, after a crash left some behind. Returns
    /// how many were removed.
    pub async fn remove_orphans(&self) -> Result<usize, DiscoverError> {
        guard::remove_labelled(self).await
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

    /// How many runs wait in line for room now.
    pub fn waiting(&self) -> usize {
        self.line.len()
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

    /// How runs are kept apart ([`RunnerConfig::isolation`]).
    pub fn isolation(&self) -> Isolation {
        self.config.isolation
    }

    /// Whether runs in namespaces work on this host and engine: starts a worker of the oldest
    /// image and runs a check in it (the worker stays in the pool). `Ok` at once for
    /// single-use containers.
    pub async fn check_isolation(&self) -> Result<(), IsolationError> {
        // What the check's PHP can print: its own pid namespace or not, its own /proc or not.
        const CHECK_VERDICTS: [&str; 4] = [
            "evalgrid pid alone",
            "evalgrid pid crowded",
            "evalgrid init alone",
            "evalgrid init crowded",
        ];
        use futures::StreamExt;
        if self.config.isolation == Isolation::Containers {
            return Ok(());
        }
        if !supervisor::available() {
            return Err(IsolationError::Refused(
                "this build has no supervisor (the musl target was missing when it was built)".into(),
            ));
        }
        let unknown = |error: String| IsolationError::Unknown(error);
        let images = self.images().await.map_err(|error| unknown(error.to_string()))?;
        let image = images
            .first()
            .ok_or_else(|| unknown("no PHP image to try a worker with".into()))?
            .clone();
        let name = image.name.clone();
        let admission = self
            .admit(vec![image])
            .await
            .map_err(|error| unknown(error.to_string()))?;
        // A pid of its own namespace, and a /proc that shows only the run's processes.
        let check = "<?php echo 'evalgrid ', getmypid() > 1 ? 'pid' : 'init', ' ', \
                     count(glob('/proc/[0-9]*')) < 5 ? 'alone' : 'crowded';";
        let mut results = std::pin::pin!(self.run_all(check, admission));
        let result = results
            .next()
            .await
            .ok_or_else(|| unknown("the check did not run".into()))?;
        match (result.outcome.status, result.outcome.stdout.as_str()) {
            (Status::Ok, "evalgrid pid alone") => Ok(()),
            // An image that did not run the check as PHP at all (a test's probe, a wrapper)
            // printed no verdict and proves nothing either way: not checked, as without an
            // engine. A verdict anywhere in the output (after start-up warnings, say) is one,
            // and only the exact output above passes.
            (Status::Ok, printed) if !CHECK_VERDICTS.iter().any(|verdict| printed.contains(verdict)) => {
                Err(unknown(format!(
                    "{name} did not run the check as PHP; it printed {printed:?}"
                )))
            }
            _ => Err(IsolationError::Refused(result.message.unwrap_or_else(|| {
                format!(
                    "the check printed {:?} {:?}",
                    result.outcome.stdout, result.outcome.stderr
                )
            }))),
        }
    }

    /// Starts the pool's containers for every discovered image (a no-op with a pool size of 0).
    pub async fn fill_pool(&self) -> Result<(), DiscoverError> {
        let images = self.images().await?;
        self.pool.keep_for_all(self, images);
        Ok(())
    }
}
