//! The seam between the runner's lifecycle logic (admission, pool, guard, retries,
//! cancellation) and a container engine, as the Rust Playground's orchestrator has it: the
//! runner talks to a [`Backend`]; [`DockerBackend`] is Docker through its Engine API (bollard),
//! and the unit tests use an engine in memory (`fakes.rs`). The real-engine tests stay the proof
//! that the sandbox and the Docker side work.

use crate::engine::Engine;
use crate::metrics::counted;
use crate::{ConnectError, DiscoverError, PullError, PullProgress, RunError, INSTANCE_LABEL, MANAGED_LABEL};
use bollard::container::AttachContainerResults;
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{
    AttachContainerOptionsBuilder, CreateImageOptionsBuilder, DownloadFromContainerOptionsBuilder,
    ListContainersOptionsBuilder, ListImagesOptionsBuilder, RemoveContainerOptionsBuilder,
    UploadToContainerOptionsBuilder, WaitContainerOptionsBuilder,
};
use futures::StreamExt;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub(crate) type BoxStream<'a, T> = Pin<Box<dyn futures::Stream<Item = T> + Send + 'a>>;

/// How a container stands, as the engine sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ContainerState {
    pub(crate) running: bool,
    pub(crate) exit_code: Option<i64>,
    pub(crate) oom_killed: bool,
    pub(crate) finished_at: Option<OffsetDateTime>,
}

/// An image of the engine: its id and its tags (`repository:tag`).
#[derive(Debug, Clone)]
pub(crate) struct ImageSummary {
    pub(crate) id: String,
    pub(crate) tags: Vec<String>,
}

/// What the runner asks of a container engine.
#[async_trait::async_trait]
pub(crate) trait Backend: Send + Sync + 'static {
    /// Whether the engine answers.
    async fn ping(&self) -> Result<(), ConnectError>;
    /// Creates a container; returns its id.
    async fn create(&self, body: ContainerCreateBody) -> Result<String, RunError>;
    /// Attaches to a created container's stdin, stdout and stderr.
    async fn attach(&self, id: &str) -> Result<AttachContainerResults, RunError>;
    async fn start(&self, id: &str) -> Result<(), RunError>;
    /// Extracts the tar `archive` into `path` of a (created) container.
    async fn upload(&self, id: &str, path: &str, archive: Vec<u8>) -> Result<(), RunError>;
    /// The file or directory at `path` of a (created) container as a tar archive; `None`
    /// when there is nothing there.
    async fn download(&self, id: &str, path: &str) -> Result<Option<Vec<u8>>, RunError>;
    /// Resolves once the engine sees the container stopped (at once when it cannot tell).
    async fn wait_stopped(&self, id: &str);
    async fn inspect(&self, id: &str) -> Result<ContainerState, RunError>;
    /// Kills and removes a container; one that does not exist counts as removed.
    async fn remove(&self, id: &str) -> Result<(), String>;
    /// The ids of the containers carrying [`MANAGED_LABEL`] and `instance` as their
    /// [`INSTANCE_LABEL`], running or not.
    async fn containers_of(&self, instance: &str) -> Result<Vec<String>, DiscoverError>;
    async fn images(&self) -> Result<Vec<ImageSummary>, DiscoverError>;
    /// Pulls `reference` (with its tag) from its registry, reporting progress as it goes.
    fn pull<'a>(&'a self, reference: &'a str) -> BoxStream<'a, Result<PullProgress, PullError>>;
}

/// How long one of a run's Engine API calls (create, attach, start, inspect) may take: far above
/// what they take on a loaded engine (seconds), far below the client's own request timeout, so
/// an engine that hangs fails the runs (and frees their slots) instead of holding them.
pub(crate) const ENGINE_CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// `call`, given up after [`ENGINE_CALL_TIMEOUT`] (counted as an engine error of `operation`).
pub(crate) async fn bounded<T>(
    operation: &'static str,
    call: impl Future<Output = Result<T, RunError>>,
) -> Result<T, RunError> {
    match tokio::time::timeout(ENGINE_CALL_TIMEOUT, call).await {
        Ok(answer) => answer,
        Err(_) => crate::metrics::counted_now(
            operation,
            Err(RunError::EngineTimedOut {
                operation,
                after: ENGINE_CALL_TIMEOUT,
            }),
        ),
    }
}

/// The engine's own words for an error, without bollard's wrapping.
fn engine_message(error: bollard::errors::Error) -> String {
    match error {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message,
        bollard::errors::Error::DockerStreamError { error } => error,
        other => other.to_string(),
    }
}

/// Docker, through its Engine API.
pub(crate) struct DockerBackend {
    engine: Engine,
}

impl DockerBackend {
    pub(crate) fn new(host: Option<String>, tls: Option<crate::EngineTls>) -> Self {
        Self {
            engine: Engine::new(host, tls),
        }
    }
}

#[async_trait::async_trait]
impl Backend for DockerBackend {
    async fn ping(&self) -> Result<(), ConnectError> {
        counted("ping", async move { self.engine.docker().await.map(drop) }).await
    }

    async fn create(&self, body: ContainerCreateBody) -> Result<String, RunError> {
        counted("create", async move {
            let docker = self.engine.docker().await?;
            let created = docker
                .create_container(None, body)
                .await
                .map_err(RunError::Create)?;
            Ok(created.id)
        })
        .await
    }

    async fn attach(&self, id: &str) -> Result<AttachContainerResults, RunError> {
        counted("attach", async move {
            let options = AttachContainerOptionsBuilder::new()
                .stdin(true)
                .stdout(true)
                .stderr(true)
                .stream(true)
                .build();
            let docker = self.engine.docker().await?;
            docker
                .attach_container(id, Some(options))
                .await
                .map_err(RunError::Attach)
        })
        .await
    }

    async fn start(&self, id: &str) -> Result<(), RunError> {
        counted("start", async move {
            let docker = self.engine.docker().await?;
            docker.start_container(id, None).await.map_err(RunError::Start)
        })
        .await
    }

    async fn upload(&self, id: &str, path: &str, archive: Vec<u8>) -> Result<(), RunError> {
        counted("upload", async move {
            let docker = self.engine.docker().await?;
            let options = UploadToContainerOptionsBuilder::new().path(path).build();
            docker
                .upload_to_container(id, Some(options), bollard::body_full(archive.into()))
                .await
                .map_err(RunError::InstallTool)
        })
        .await
    }

    async fn download(&self, id: &str, path: &str) -> Result<Option<Vec<u8>>, RunError> {
        counted("download", async move {
            let docker = self.engine.docker().await?;
            let options = DownloadFromContainerOptionsBuilder::new().path(path).build();
            let mut archive = Vec::new();
            let mut chunks = docker.download_from_container(id, Some(options));
            while let Some(chunk) = chunks.next().await {
                match chunk {
                    Ok(bytes) => archive.extend_from_slice(&bytes),
                    Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => {
                        return Ok(None)
                    }
                    Err(error) => return Err(RunError::InstallTool(error)),
                }
            }
            Ok(Some(archive))
        })
        .await
    }

    async fn wait_stopped(&self, id: &str) {
        let Ok(docker) = self.engine.docker().await else {
            return;
        };
        let options = WaitContainerOptionsBuilder::new()
            .condition("not-running")
            .build();
        // A non-zero exit arrives as an Err (DockerContainerWaitError); inspect has the facts.
        let _ = docker.wait_container(id, Some(options)).next().await;
    }

    async fn inspect(&self, id: &str) -> Result<ContainerState, RunError> {
        counted("inspect", async move {
            let docker = self.engine.docker().await?;
            let inspected = docker
                .inspect_container(id, None)
                .await
                .map_err(RunError::Inspect)?;
            let state = inspected.state.unwrap_or_default();
            Ok(ContainerState {
                running: state.running == Some(true),
                exit_code: state.exit_code,
                oom_killed: state.oom_killed == Some(true),
                finished_at: state
                    .finished_at
                    .as_deref()
                    .and_then(|at| OffsetDateTime::parse(at, &Rfc3339).ok()),
            })
        })
        .await
    }

    async fn remove(&self, id: &str) -> Result<(), String> {
        counted("remove", async move {
            let docker = self.engine.docker().await.map_err(|error| error.to_string())?;
            let options = RemoveContainerOptionsBuilder::new().force(true).v(true).build();
            match docker.remove_container(id, Some(options)).await {
                Ok(()) | Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => {
                    Ok(())
                }
                Err(error) => Err(error.to_string()),
            }
        })
        .await
    }

    async fn containers_of(&self, instance: &str) -> Result<Vec<String>, DiscoverError> {
        counted("list_containers", async move {
            let docker = self.engine.docker().await?;
            // Several label filters must all match.
            let instance_label = format!("{INSTANCE_LABEL}={instance}");
            let filters = HashMap::from([("label", vec![MANAGED_LABEL, instance_label.as_str()])]);
            let options = ListContainersOptionsBuilder::new()
                .all(true)
                .filters(&filters)
                .build();
            let containers = docker
                .list_containers(Some(options))
                .await
                .map_err(DiscoverError::ListContainers)?;
            Ok(containers
                .into_iter()
                .filter_map(|container| container.id)
                .collect())
        })
        .await
    }

    async fn images(&self) -> Result<Vec<ImageSummary>, DiscoverError> {
        counted("list_images", async move {
            let docker = self.engine.docker().await?;
            let summaries = docker
                .list_images(Some(ListImagesOptionsBuilder::new().build()))
                .await
                .map_err(DiscoverError::ListImages)?;
            Ok(summaries
                .into_iter()
                .map(|summary| ImageSummary {
                    id: summary.id,
                    tags: summary.repo_tags,
                })
                .collect())
        })
        .await
    }

    fn pull<'a>(&'a self, reference: &'a str) -> BoxStream<'a, Result<PullProgress, PullError>> {
        let refused = move |message: String| PullError::Refused {
            reference: reference.to_owned(),
            message,
        };
        let connected = futures::stream::once(async move { self.engine.docker().await });
        Box::pin(
            connected.flat_map(move |docker| -> BoxStream<'a, Result<PullProgress, PullError>> {
                let docker = match docker {
                    Ok(docker) => docker,
                    Err(error) => return Box::pin(futures::stream::iter([Err(error.into())])),
                };
                let options = CreateImageOptionsBuilder::new().from_image(reference).build();
                Box::pin(docker.create_image(Some(options), None, None).map(move |info| {
                    let info = info.map_err(|error| refused(engine_message(error)));
                    let info = crate::metrics::counted_now("pull", info)?;
                    if let Some(detail) = info.error_detail {
                        return Err(refused(
                            detail.message.unwrap_or_else(|| "the engine failed".into()),
                        ));
                    }
                    let detail = info.progress_detail.unwrap_or_default();
                    Ok(PullProgress {
                        layer: info.id,
                        status: info.status.unwrap_or_default(),
                        current: detail.current.and_then(|n| u64::try_from(n).ok()),
                        total: detail.total.and_then(|n| u64::try_from(n).ok()),
                    })
                }))
            }),
        )
    }
}
