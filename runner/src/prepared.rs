//! A container made ready for a run, everything but the code: created (in a task of its own,
//! so that a dropped run cannot lose the container), attached and started, as a single-use
//! container blocked in `cat` or as a worker whose supervisor said it is ready; and where a
//! run's container comes from ([`Reserved`]). The pool keeps these; [`crate::container`] and
//! [`crate::worker`] run in them.

use crate::backend::bounded;
use crate::guard::ContainerGuard;
use crate::slots::Slot;
use crate::{clock, sandbox, supervisor, volume, Image, Isolation, RunError, Runner};
use bollard::container::AttachContainerResults;
use tokio::time::Instant;

/// A started container: a single-use one blocked in `cat` until its script arrives on stdin,
/// or a worker whose supervisor said it is ready.
pub(crate) struct Prepared {
    pub(crate) container: ContainerGuard,
    pub(crate) attached: AttachContainerResults,
    /// The image id it was started from.
    pub(crate) image_id: String,
    /// Whether it has the fixed clock's library.
    pub(crate) clock: bool,
    /// A worker's supervisor; `None` for a single-use container.
    pub(crate) worker: Option<supervisor::Served>,
    /// When it last went idle in the pool.
    pub(crate) idle_since: Instant,
}

impl Prepared {
    /// Counts the container under `state` in the metrics from now on.
    pub(crate) fn count_as(&mut self, state: crate::metrics::ContainerState) {
        self.container.count_as(state);
    }

    /// Removes the container (it was never used) and hands its slot back.
    pub(crate) async fn remove(self) -> Option<Slot> {
        drop(self.attached);
        self.container.remove().await
    }
}

/// Creates, attaches to and starts a container for `image` in `slot`, as the runner's
/// isolation has it (a worker, or a single-use container): everything but the code.
pub(crate) async fn prepare(runner: &Runner, image: &Image, slot: Slot) -> Result<Prepared, RunError> {
    prepare_as(runner, image, slot, runner.config().isolation).await
}

pub(crate) async fn prepare_as(
    runner: &Runner,
    image: &Image,
    slot: Slot,
    isolation: Isolation,
) -> Result<Prepared, RunError> {
    let as_worker = isolation == Isolation::Namespaces;
    let (container, clock) = create(runner, image, slot, as_worker).await?;
    let mut attached = bounded("attach", runner.backend.attach(container.id())).await?;
    bounded("start", runner.backend.start(container.id())).await?;
    let worker = match as_worker {
        true => {
            let mut served = supervisor::handshake(&mut attached).await?;
            served.alive = Some(runner.pool.alive_token(&image.id));
            Some(served)
        }
        false => None,
    };
    Ok(Prepared {
        container,
        attached,
        image_id: image.id.clone(),
        clock,
        worker,
        idle_since: Instant::now(),
    })
}

/// A fresh container (a worker or not, as the runner's isolation has it) in the slot of a
/// pooled one that was gone before its run started (it died, or was removed behind
/// evalgrid's back, while it waited); `error` is how that showed, and the run's error when the
/// engine keeps the slot.
pub(crate) async fn replace_gone(
    runner: &Runner,
    image: &Image,
    gone: Prepared,
    error: RunError,
) -> Result<Prepared, RunError> {
    tracing::warn!(image = %image.name, %error, "pooled container was gone; starting one");
    let slot = gone.remove().await.ok_or(error)?;
    let mut fresh = prepare(runner, image, slot).await?;
    fresh.count_as(crate::metrics::ContainerState::Running);
    Ok(fresh)
}

/// After a run's input was written to `prepared` (`sent`, how that went): the container to run
/// in and whether it is a fresh one, to send again to. A pooled container whose input could
/// not be written was gone before its run started, and is replaced in its slot
/// ([`replace_gone`]); any other failed write fails the run.
pub(crate) async fn input_sent(
    runner: &Runner,
    image: &Image,
    prepared: Prepared,
    pooled: bool,
    sent: std::io::Result<()>,
) -> Result<(Prepared, bool), RunError> {
    match sent {
        Ok(()) => Ok((prepared, false)),
        Err(error) if pooled => Ok((
            replace_gone(runner, image, prepared, RunError::SendCode(error)).await?,
            true,
        )),
        Err(error) => Err(RunError::SendCode(error)),
    }
}

/// Creates the container in a task of its own that always runs to its end: a run dropped while
/// the engine creates its container (client gone, shutdown) would otherwise never learn the id
/// of the container the engine then makes. If nobody waits any more, the guard is dropped there,
/// which removes the container.
/// Also says whether the container has the fixed clock (installed first, if need be).
async fn create(
    runner: &Runner,
    image: &Image,
    slot: Slot,
    as_worker: bool,
) -> Result<(ContainerGuard, bool), RunError> {
    let (runner, image) = (runner.clone(), image.clone());
    let (created, receiver) = tokio::sync::oneshot::channel();
    runner.cleanups.clone().spawn(async move {
        let clock = clock::wanted(runner.config())
            && match volume::ready(&runner, &image, &clock::TOOL, &runner.clock).await {
                Ok(()) => true,
                Err(error) => {
                    tracing::warn!(%error, "cannot install the fixed clock yet; runs get the real time");
                    false
                }
            };
        let body = match as_worker {
            true => sandbox::worker_body(runner.config(), &image.id, slot.uid(), clock),
            false => sandbox::container_body(runner.config(), &image.id, slot.uid(), clock),
        };
        if as_worker {
            if let Err(error) = volume::ready(&runner, &image, &supervisor::TOOL, &runner.supervisor).await {
                let _ = created.send(Err(error));
                return;
            }
        }
        let container = bounded("create", runner.backend.create(body))
            .await
            .map(|id| (ContainerGuard::new(&runner, id, slot, &image.name), clock));
        let _ = created.send(container);
    });
    receiver.await.unwrap_or(Err(RunError::ShuttingDown))
}

/// Where a run's container comes from: the pool's, already started, or a fresh one in the slot
/// its admission reserved (a worker or not, as the runner's isolation has it; always a
/// single-use container for the runner's own questions, whose output limit is not the runs').
pub(crate) enum Reserved {
    Pooled(Box<Prepared>),
    Fresh(Slot),
    SingleUse(Slot),
}
