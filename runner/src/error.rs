use thiserror::Error;

/// Why the runner has no engine to talk to.
#[derive(Debug, Error)]
pub enum ConnectError {
    /// No Docker engine answered on the socket (or there is no socket).
    #[error("the Docker engine is unavailable: {0}")]
    Unreachable(String),
}

/// Why [`crate::Runner::images`] failed.
#[derive(Debug, Error)]
pub enum DiscoverError {
    /// No engine answers.
    #[error(transparent)]
    Engine(#[from] ConnectError),
    /// Listing the engine's images failed (engine down or refusing).
    #[error("cannot list the Docker engine's images: {0}")]
    ListImages(#[source] bollard::errors::Error),
    /// Listing the engine's containers failed.
    #[error("cannot list the Docker engine's containers: {0}")]
    ListContainers(#[source] bollard::errors::Error),
}

/// Why [`crate::Runner::pull`] failed.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    /// No engine answers.
    #[error(transparent)]
    Engine(#[from] ConnectError),
    /// The engine could not pull it: no such image or tag, the registry down or refusing.
    #[error("cannot pull {reference}: {message}")]
    Refused { reference: String, message: String },
}

/// Why [`crate::Runner::resolve`] failed.
#[derive(Debug, Error)]
pub enum ResolveError {
    /// Discovery itself failed.
    #[error(transparent)]
    Discover(#[from] DiscoverError),
    /// The name is not one of the discovered PHP images.
    #[error("unknown image {0:?}: not one of the PHP images this server offers")]
    UnknownImage(String),
}

/// Why one version could not run. It never escapes the runner: it becomes an
/// [`crate::Execution`] with [`crate::Status::Error`] and this message.
#[derive(Debug, Error)]
pub enum RunError {
    /// No engine answers.
    #[error(transparent)]
    Engine(#[from] ConnectError),
    /// The server is stopping; the run was cut short.
    #[error("the server is shutting down")]
    ShuttingDown,
    /// Whoever asked for the run went away (the client hung up); the run was stopped.
    #[error("the run was abandoned by its client")]
    Abandoned,
    /// The engine refused to create the container (image removed, engine down, …).
    #[error("cannot create the container: {0}")]
    Create(#[source] bollard::errors::Error),
    /// Attaching to the container's stdio failed.
    #[error("cannot attach to the container: {0}")]
    Attach(#[source] bollard::errors::Error),
    /// The engine refused to start the container.
    #[error("cannot start the container: {0}")]
    Start(#[source] bollard::errors::Error),
    /// Writing the code to the container's stdin failed.
    #[error("cannot send the code to the container: {0}")]
    SendCode(#[source] std::io::Error),
    /// Reading the container's output failed.
    #[error("lost the container's output: {0}")]
    Output(#[source] bollard::errors::Error),
    /// Copying one of evalgrid's files (the fixed clock, the supervisor) into its volume failed.
    #[error("cannot install evalgrid's files in their volume: {0}")]
    InstallTool(#[source] bollard::errors::Error),
    /// The engine took too long to fill that volume.
    #[error("cannot install evalgrid's files in their volume: the engine did not finish within {0:?}")]
    InstallToolTimedOut(std::time::Duration),
    /// A worker's supervisor failed, went away or broke the protocol (see `worker.rs`).
    #[error("the worker failed: {0}")]
    Worker(String),
    /// Inspecting the finished container failed.
    #[error("cannot inspect the finished container: {0}")]
    Inspect(#[source] bollard::errors::Error),
    /// The engine did not answer one of a run's calls in time (it hangs, or is overwhelmed).
    #[error("the Docker engine did not answer ({operation}) within {after:?}")]
    EngineTimedOut {
        operation: &'static str,
        after: std::time::Duration,
    },
}

/// Why [`crate::Runner::admit`] turned a run away.
#[derive(Debug, Error)]
pub enum AdmitError {
    /// The server is stopping and takes no new runs.
    #[error("the server is shutting down")]
    ShuttingDown,
    /// No room came free within the admission wait.
    #[error("the server is busy: {running} of {capacity} containers are in use; try again shortly")]
    Busy { running: usize, capacity: usize },
    /// So many runs already wait for room that this one is not even let into the line.
    #[error("the server is busy: {waiting} runs are already waiting for a free slot; try again shortly")]
    LineFull { waiting: usize },
    /// The run needs more containers than the server ever runs at once.
    #[error("a run of {wanted} versions can never fit: at most {capacity} containers run at once")]
    TooLarge { wanted: usize, capacity: usize },
}

/// Why runs in namespaces ([`crate::Isolation::Namespaces`]) are not in use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IsolationError {
    /// The check could not be made (no engine, no image): it is not known whether they work.
    #[error("cannot check: {0}")]
    Unknown(String),
    /// This build or host does not allow them (no supervisor, user namespaces refused, a
    /// `/proc` of the run's own refused, …).
    #[error("{0}")]
    Refused(String),
}
