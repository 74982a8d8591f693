//! The workers' supervisor as the runner knows it (the `supervisor` crate, built static by
//! `build.rs`): the binary and the volume it is delivered in ([`TOOL`]), the handshake a new
//! worker's supervisor answers, and its frames on the attach stream. How a run goes in a
//! worker is [`crate::worker`]'s.

use crate::volume::Tool;
use crate::RunError;
use bollard::container::{AttachContainerResults, LogOutput};
use evalgrid_supervisor::{Decoder, Frame, PROTOCOL};
use futures::StreamExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// The supervisor, as built for musl (empty where it could not be built).
pub(crate) const SUPERVISOR: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/evalgrid-supervisor"));

/// The supervisor in its volume.
pub(crate) const TOOL: Tool = Tool {
    volume_prefix: "evalgrid-supervisor-",
    directory: "/opt/evalgrid-supervisor",
    file_name: "evalgrid-supervisor",
    bytes: SUPERVISOR,
};

/// How long a new worker's supervisor may take to say it is ready.
const READY_WAIT: Duration = Duration::from_secs(20);

/// Whether this build can run workers at all.
pub(crate) fn available() -> bool {
    SUPERVISOR.starts_with(b"\x7fELF")
}

/// What the runner knows of a worker's supervisor between runs.
pub(crate) struct Served {
    pub(crate) decoder: Decoder,
    pub(crate) runs: u32,
    pub(crate) since: Instant,
    /// Counts it among its image's workers (see [`crate::pool::Pool::alive`]).
    pub(crate) alive: Option<Alive>,
}

/// Waits for a new worker's supervisor to say it is ready.
pub(crate) async fn handshake(attached: &mut AttachContainerResults) -> Result<Served, RunError> {
    let mut decoder = Decoder::default();
    let frame = tokio::time::timeout(READY_WAIT, next_frame(attached, &mut decoder))
        .await
        .map_err(|_| RunError::Worker(format!("no answer from the supervisor within {READY_WAIT:?}")))??;
    match frame {
        Frame::Ready(protocol) if protocol == PROTOCOL => Ok(Served {
            decoder,
            runs: 0,
            since: Instant::now(),
            alive: None,
        }),
        other => Err(RunError::Worker(format!(
            "the supervisor said {other:?}, not {PROTOCOL:?}"
        ))),
    }
}

/// The next frame from the supervisor; what it writes to its stderr is logged on the way.
pub(crate) async fn next_frame(
    attached: &mut AttachContainerResults,
    decoder: &mut Decoder,
) -> Result<Frame, RunError> {
    loop {
        if let Some(frame) = decoder.next_frame() {
            return frame.map_err(|error| RunError::Worker(error.to_string()));
        }
        match attached.output.next().await {
            Some(Ok(LogOutput::StdOut { message } | LogOutput::Console { message })) => {
                decoder.push(&message)
            }
            Some(Ok(LogOutput::StdErr { message })) => {
                tracing::warn!(supervisor = %String::from_utf8_lossy(&message).trim_end(), "worker complains");
            }
            Some(Ok(LogOutput::StdIn { .. })) => {}
            Some(Err(error)) => return Err(RunError::Output(error)),
            None => return Err(RunError::Worker("its container ended".into())),
        }
    }
}

/// Counts a worker among its image's alive ones until it is dropped.
pub(crate) struct Alive(pub(crate) Arc<AtomicUsize>);

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_supervisor_was_built_static() {
        assert!(available(), "supervisor missing: is the musl target installed?");
        // A static binary has no interpreter: no dynamic loader's path in it.
        for loader in [&b"ld-linux"[..], b"ld-musl"] {
            assert!(!SUPERVISOR.windows(loader.len()).any(|window| window == loader));
        }
    }
}
