//! What the runner counts, through the `metrics` facade: the server installs the Prometheus
//! recorder (`--metrics-addr`); without one, recording costs next to nothing. The labels are
//! bounded: image names (those the engine has), states and operations, never a run's input.

use metrics::Gauge;

/// A metric's name, kind and help, for the exporter's description and the dashboard's check.
#[derive(Debug, Clone, Copy)]
pub struct Described {
    pub name: &'static str,
    pub kind: Kind,
    pub help: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

pub const CONTAINERS: &str = "evalgrid_containers";
pub const ENGINE_ERRORS: &str = "evalgrid_engine_errors_total";

/// Every metric the runner records.
pub const RUNNER_METRICS: &[Described] = &[
    Described {
        name: CONTAINERS,
        kind: Kind::Gauge,
        help: "This instance's containers in the engine, by image and state (starting, pooled, running, removing).",
    },
    Described {
        name: ENGINE_ERRORS,
        kind: Kind::Counter,
        help: "Calls to the container engine's API that failed, by operation.",
    },
];

/// Where a container stands, as [`CONTAINERS`] counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContainerState {
    /// Created, not yet running a run or waiting in the pool.
    Starting,
    Pooled,
    Running,
    /// The engine is removing it (or will, once it answers again).
    Removing,
}

impl ContainerState {
    fn as_str(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Pooled => "pooled",
            Self::Running => "running",
            Self::Removing => "removing",
        }
    }
}

/// One container counted in [`CONTAINERS`] under its image and its current state, until dropped.
pub(crate) struct Counted {
    image: String,
    state: ContainerState,
    gauge: Gauge,
}

impl Counted {
    pub(crate) fn new(image: &str, state: ContainerState) -> Self {
        let gauge = containers(image, state);
        gauge.increment(1.0);
        Self {
            image: image.to_owned(),
            state,
            gauge,
        }
    }

    /// Counts the container under `state` from now on.
    pub(crate) fn set(&mut self, state: ContainerState) {
        if state != self.state {
            *self = Self::new(&self.image, state);
        }
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.gauge.decrement(1.0);
    }
}

fn containers(image: &str, state: ContainerState) -> Gauge {
    metrics::gauge!(CONTAINERS, "image" => image.to_owned(), "state" => state.as_str())
}

/// Counts a failed call to the engine's API.
fn engine_error(operation: &'static str) {
    metrics::counter!(ENGINE_ERRORS, "operation" => operation).increment(1);
}

/// The engine's answer to `call`, counted in [`ENGINE_ERRORS`] under `operation` when it is an
/// error.
pub(crate) async fn counted<T, E>(
    operation: &'static str,
    call: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, E> {
    counted_now(operation, call.await)
}

/// `answer`, counted in [`ENGINE_ERRORS`] under `operation` when it is an error.
pub(crate) fn counted_now<T, E>(operation: &'static str, answer: Result<T, E>) -> Result<T, E> {
    if answer.is_err() {
        engine_error(operation);
    }
    answer
}
