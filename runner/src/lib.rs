//! evalgrid's execution engine: runs a PHP snippet on several PHP images at once, each in its own
//! single-use, sandboxed Docker container, and streams the results back in completion order.
//!
//! The API is narrow on purpose:
//! - [`Runner::connect`] talks to the local Docker engine (bollard, never the docker CLI);
//! - [`Runner::images`] discovers the engine's PHP images and their exact PHP versions;
//! - [`Runner::resolve`] turns client-supplied image names into discovered [`Image`]s (nothing
//!   else is ever handed to Docker);
//! - [`Runner::run_all`] fans out one container per image and yields [`Execution`]s as each
//!   finishes.
//!
//! Every container is removed on every path (success, error, timeout, dropped request) by a
//! [`container::ContainerGuard`], and carries the [`MANAGED_LABEL`] so orphans left by a crashed
//! process can be found with [`Runner::remove_orphans`].

mod config;
mod container;
mod error;
mod execution;
mod images;
mod sandbox;

pub use config::{default_max_containers, RunnerConfig};
pub use error::{AdmitError, ConnectError, DiscoverError, ResolveError, RunError};
pub use execution::{Execution, Status};
pub use images::Image;
pub use sandbox::{PHP_INI, SCRIPT_PATH};

pub use time;

use bollard::Docker;
use futures::stream::{FuturesUnordered, Stream, StreamExt};
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The label every container started by evalgrid carries.
pub const MANAGED_LABEL: &str = "dev.evalgrid.managed";

/// A handle to the Docker engine plus what evalgrid knows about its PHP images. Cheap to clone.
#[derive(Clone)]
pub struct Runner {
    docker: Docker,
    config: Arc<RunnerConfig>,
    catalog: Arc<images::Catalog>,
    slots: Arc<Semaphore>,
}

/// Room for a run's containers, held until the run's stream is finished or dropped.
pub struct Admission {
    _slots: OwnedSemaphorePermit,
}

impl Runner {
    /// Connects to the local engine (`DOCKER_HOST` or the default socket) and agrees on an API
    /// version with it, so old engines (Debian's 20.10) and new ones both work.
    pub async fn connect(config: RunnerConfig) -> Result<Self, ConnectError> {
        let config_slots = config.max_containers;
        let docker = Docker::connect_with_local_defaults().map_err(ConnectError::Client)?;
        let docker = docker
            .negotiate_version()
            .await
            .map_err(ConnectError::Unreachable)?;
        Ok(Self {
            docker,
            config: Arc::new(config),
            catalog: Arc::new(images::Catalog::default()),
            slots: Arc::new(Semaphore::new(config_slots)),
        })
    }

    pub fn config(&self) -> &RunnerConfig {
        &self.config
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
        container::run(&self.docker, &self.config, code, image).await
    }

    /// Removes every container carrying [`MANAGED_LABEL`], running or not. Meant for start-up,
    /// after a crash left some behind. Returns how many were removed.
    pub async fn remove_orphans(&self) -> Result<usize, bollard::errors::Error> {
        container::remove_labelled(&self.docker).await
    }

    pub(crate) fn docker(&self) -> &Docker {
        &self.docker
    }
}
