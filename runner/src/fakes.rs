//! A container engine in memory, for unit tests of the runner's lifecycle logic (admission, the
//! pool, the guard, removal retries, cancellation) without Docker. Its containers take the code
//! on stdin like the real ones and answer what the test's script says, ending both streams with
//! the shell's closing lines. It counts what a test wants to know: containers alive now and at
//! most, created, removed. The real-engine tests stay the proof of the Docker side.

use crate::backend::{Backend, ContainerState, ImageSummary};
use crate::{usage, ConnectError, DiscoverError, Image, RunError};
use bollard::container::{AttachContainerResults, LogOutput};
use bollard::models::ContainerCreateBody;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::sync::{mpsc, watch};

/// What a fake container does with the code it is given.
#[derive(Debug, Clone)]
pub(crate) enum Script {
    /// Prints this after a pause and exits with 0.
    Prints { stdout: &'static str, after: Duration },
    /// Never ends.
    Hangs,
}

type ScriptFor = dyn Fn(&str) -> Script + Send + Sync;

pub(crate) struct FakeEngine {
    script: Arc<ScriptFor>,
    images: Vec<Image>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    next_id: usize,
    containers: HashMap<String, Container>,
    most_alive: usize,
    created: usize,
    removed: usize,
    /// So many of the next removals fail (the engine is away).
    failing_removals: usize,
    /// Removals that failed so far.
    refused_removals: usize,
    /// So many of the next creates fail.
    failing_creates: usize,
    /// So many of the next uploads fail.
    failing_uploads: usize,
    /// So many of the next uploads never answer.
    hanging_uploads: usize,
    /// So many of the next starts never answer.
    hanging_starts: usize,
}

#[derive(Default)]
struct Container {
    /// Its [`crate::INSTANCE_LABEL`].
    instance: String,
    /// The container's side of stdin and its output, until it starts.
    stdin: Option<tokio::io::DuplexStream>,
    output: Option<mpsc::UnboundedSender<Result<LogOutput, bollard::errors::Error>>>,
    /// `Some(exit code)` once it ended.
    exited: Option<watch::Sender<Option<i64>>>,
    process: Option<tokio::task::JoinHandle<()>>,
}

impl FakeEngine {
    /// An engine whose containers answer every code with `script(code)`, and that has `images`.
    pub(crate) fn new(
        images: Vec<Image>,
        script: impl Fn(&str) -> Script + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(Self {
            script: Arc::new(script),
            images,
            state: Mutex::default(),
        })
    }

    /// Containers that print "ran" at once.
    pub(crate) fn quick(images: Vec<Image>) -> Arc<Self> {
        Self::new(images, |_| Script::Prints {
            stdout: "ran",
            after: Duration::ZERO,
        })
    }

    /// Containers that hang when the code says "hang", and print "ran" at once otherwise.
    pub(crate) fn hanging_when_asked(images: Vec<Image>) -> Arc<Self> {
        Self::new(images, |code| match code.contains("hang") {
            true => Script::Hangs,
            false => Script::Prints {
                stdout: "ran",
                after: Duration::ZERO,
            },
        })
    }

    pub(crate) fn alive(&self) -> usize {
        self.state.lock().unwrap().containers.len()
    }

    pub(crate) fn most_alive(&self) -> usize {
        self.state.lock().unwrap().most_alive
    }

    pub(crate) fn created(&self) -> usize {
        self.state.lock().unwrap().created
    }

    pub(crate) fn refused_removals(&self) -> usize {
        self.state.lock().unwrap().refused_removals
    }

    pub(crate) fn fail_removals(&self, count: usize) {
        self.state.lock().unwrap().failing_removals = count;
    }

    pub(crate) fn fail_creates(&self, count: usize) {
        self.state.lock().unwrap().failing_creates = count;
    }

    pub(crate) fn fail_uploads(&self, count: usize) {
        self.state.lock().unwrap().failing_uploads = count;
    }

    /// The next `count` uploads never answer (the engine stopped answering half-way).
    pub(crate) fn hang_uploads(&self, count: usize) {
        self.state.lock().unwrap().hanging_uploads = count;
    }

    /// The next `count` starts never answer (the engine hangs with the container created).
    pub(crate) fn hang_starts(&self, count: usize) {
        self.state.lock().unwrap().hanging_starts = count;
    }

    /// Every started container that waits for its code dies (its stdin goes away).
    pub(crate) fn kill_waiting(&self) {
        for container in self.state.lock().unwrap().containers.values_mut() {
            if let Some(process) = &container.process {
                process.abort();
            }
        }
    }

    fn refused(message: &str) -> bollard::errors::Error {
        bollard::errors::Error::DockerResponseServerError {
            status_code: 500,
            message: message.into(),
        }
    }
}

#[async_trait::async_trait]
impl Backend for FakeEngine {
    async fn ping(&self) -> Result<(), ConnectError> {
        Ok(())
    }

    async fn create(&self, body: ContainerCreateBody) -> Result<String, RunError> {
        tokio::task::yield_now().await;
        let mut state = self.state.lock().unwrap();
        if state.failing_creates > 0 {
            state.failing_creates -= 1;
            return Err(RunError::Create(Self::refused("no such image")));
        }
        state.next_id += 1;
        state.created += 1;
        let id = format!("fake-{}", state.next_id);
        let instance = body
            .labels
            .and_then(|mut labels| labels.remove(crate::INSTANCE_LABEL))
            .unwrap_or_default();
        let container = Container {
            instance,
            ..Container::default()
        };
        state.containers.insert(id.clone(), container);
        state.most_alive = state.most_alive.max(state.containers.len());
        Ok(id)
    }

    async fn attach(&self, id: &str) -> Result<AttachContainerResults, RunError> {
        let mut state = self.state.lock().unwrap();
        let container = state
            .containers
            .get_mut(id)
            .ok_or_else(|| RunError::Attach(Self::refused("no such container")))?;
        let (ours, theirs) = tokio::io::duplex(64 * 1024);
        let (sender, receiver) = mpsc::unbounded_channel();
        container.stdin = Some(theirs);
        container.output = Some(sender);
        let output = futures::stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|chunk| (chunk, receiver))
        });
        Ok(AttachContainerResults {
            output: Box::pin(output),
            input: Box::pin(ours),
        })
    }

    async fn upload(&self, _id: &str, _path: &str, _archive: Vec<u8>) -> Result<(), RunError> {
        let hangs = {
            let mut state = self.state.lock().unwrap();
            if state.failing_uploads > 0 {
                state.failing_uploads -= 1;
                return Err(RunError::InstallTool(Self::refused("upload refused")));
            }
            let hangs = state.hanging_uploads > 0;
            state.hanging_uploads = state.hanging_uploads.saturating_sub(1);
            hangs
        };
        if hangs {
            std::future::pending::<()>().await;
        }
        Ok(())
    }

    async fn download(&self, _id: &str, _path: &str) -> Result<Option<Vec<u8>>, RunError> {
        Ok(None)
    }

    async fn start(&self, id: &str) -> Result<(), RunError> {
        let hangs = {
            let mut state = self.state.lock().unwrap();
            let hangs = state.hanging_starts > 0;
            state.hanging_starts = state.hanging_starts.saturating_sub(1);
            hangs
        };
        if hangs {
            std::future::pending::<()>().await;
        }
        let mut state = self.state.lock().unwrap();
        let container = state
            .containers
            .get_mut(id)
            .ok_or_else(|| RunError::Start(Self::refused("no such container")))?;
        let (Some(mut stdin), Some(output)) = (container.stdin.take(), container.output.take()) else {
            return Err(RunError::Start(Self::refused("not attached")));
        };
        let (exited, _) = watch::channel(None);
        container.exited = Some(exited.clone());
        let script = self.script.clone();
        container.process = Some(tokio::spawn(async move {
            let mut code = String::new();
            if stdin.read_to_string(&mut code).await.is_err() {
                return;
            }
            match script(&code) {
                Script::Hangs => std::future::pending::<()>().await,
                Script::Prints { stdout, after } => {
                    tokio::time::sleep(after).await;
                    let (end, report) = usage::closing_lines(0, 1000, 1 << 20);
                    let mut printed = stdout.as_bytes().to_vec();
                    printed.extend(end);
                    let _ = output.send(Ok(LogOutput::StdOut {
                        message: printed.into(),
                    }));
                    let _ = output.send(Ok(LogOutput::StdErr {
                        message: report.into(),
                    }));
                    let _ = exited.send(Some(0));
                }
            }
        }));
        Ok(())
    }

    async fn wait_stopped(&self, id: &str) {
        let exited = self
            .state
            .lock()
            .unwrap()
            .containers
            .get(id)
            .and_then(|c| c.exited.clone());
        if let Some(exited) = exited {
            let mut watching = exited.subscribe();
            let _ = watching.wait_for(Option::is_some).await;
        }
    }

    async fn inspect(&self, id: &str) -> Result<ContainerState, RunError> {
        let state = self.state.lock().unwrap();
        let container = state
            .containers
            .get(id)
            .ok_or_else(|| RunError::Inspect(Self::refused("no such container")))?;
        let exit_code = container.exited.as_ref().and_then(|exited| *exited.borrow());
        Ok(ContainerState {
            running: exit_code.is_none(),
            exit_code,
            ..Default::default()
        })
    }

    async fn remove(&self, id: &str) -> Result<(), String> {
        tokio::task::yield_now().await;
        let mut state = self.state.lock().unwrap();
        if state.failing_removals > 0 {
            state.failing_removals -= 1;
            state.refused_removals += 1;
            return Err("the engine is away".into());
        }
        if let Some(container) = state.containers.remove(id) {
            if let Some(process) = container.process {
                process.abort();
            }
            state.removed += 1;
        }
        Ok(())
    }

    async fn containers_of(&self, instance: &str) -> Result<Vec<String>, DiscoverError> {
        let state = self.state.lock().unwrap();
        let ours = state
            .containers
            .iter()
            .filter(|(_, container)| container.instance == instance);
        Ok(ours.map(|(id, _)| id.clone()).collect())
    }

    fn pull<'a>(
        &'a self,
        reference: &'a str,
    ) -> crate::backend::BoxStream<'a, Result<crate::PullProgress, crate::PullError>> {
        let refused = crate::PullError::Refused {
            reference: reference.to_owned(),
            message: "the engine in memory has no registry".into(),
        };
        Box::pin(futures::stream::iter([Err(refused)]))
    }

    async fn images(&self) -> Result<Vec<ImageSummary>, DiscoverError> {
        Ok(self
            .images
            .iter()
            .map(|image| ImageSummary {
                id: image.id.clone(),
                tags: vec![image.name.clone()],
            })
            .collect())
    }
}
