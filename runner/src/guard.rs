//! What makes a container evalgrid's: its labels, and a guard that removes it on every path
//! (success, error, timeout, a dropped request), retrying while the engine is away, and frees
//! its slot only once it is gone; plus the start-up sweep of containers a crash left behind.

use crate::backend::Backend;
use crate::metrics::ContainerState;
use crate::slots::Slot;
use crate::{DiscoverError, Runner, RunnerConfig, INSTANCE_LABEL, MANAGED_LABEL};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Longest pause between attempts to remove a container while the engine is away.
const MAX_RETRY_PAUSE: Duration = Duration::from_secs(30);

/// The labels every container of this instance carries: how its own are found again (the
/// start-up sweep, the tests' census) and other instances' left alone.
pub(crate) fn labels(config: &RunnerConfig) -> HashMap<String, String> {
    HashMap::from([
        (MANAGED_LABEL.to_owned(), "true".to_owned()),
        (INSTANCE_LABEL.to_owned(), config.instance_id.clone()),
    ])
}

/// Owns a container and its [`Slot`]: removes the container when dropped, whatever path the run
/// took (error, timeout, shutdown, a client that went away), and frees the slot only once the
/// engine has removed the container. The normal path awaits [`ContainerGuard::remove`].
pub(crate) struct ContainerGuard {
    runner: Runner,
    id: Option<String>,
    slot: Option<Slot>,
}

impl ContainerGuard {
    /// Owns container `id` of `image` (its name), created in `slot`.
    pub(crate) fn new(runner: &Runner, id: String, mut slot: Slot, image: &str) -> Self {
        slot.count_container(image);
        Self {
            runner: runner.clone(),
            id: Some(id),
            slot: Some(slot),
        }
    }
}

impl ContainerGuard {
    /// Owns a container that holds no slot of its own (the clock's filler, created inside the
    /// slot of the run container that waits for it).
    pub(crate) fn without_slot(runner: &Runner, id: String) -> Self {
        Self {
            runner: runner.clone(),
            id: Some(id),
            slot: None,
        }
    }

    pub(crate) fn id(&self) -> &str {
        self.id.as_deref().unwrap_or_default()
    }

    pub(crate) fn backend(&self) -> &Arc<dyn Backend> {
        &self.runner.backend
    }

    /// Counts the container under `state` in the metrics from now on.
    pub(crate) fn count_as(&mut self, state: ContainerState) {
        if let Some(slot) = &mut self.slot {
            slot.count_as(state);
        }
    }

    /// Removes the container now and hands its slot back for another container; if the engine
    /// refuses, keeps trying in the background (holding the slot) and returns `None`.
    pub(crate) async fn remove(mut self) -> Option<Slot> {
        self.count_as(ContainerState::Removing);
        let id = self.id.take()?;
        let slot = self.slot.take();
        match self.backend().remove(&id).await {
            Ok(()) => slot.map(|mut slot| {
                slot.container_gone();
                slot
            }),
            Err(error) => {
                retry_removal(&self.runner, id, slot, error);
                None
            }
        }
    }
}

impl Drop for ContainerGuard {
    fn drop(&mut self) {
        self.count_as(ContainerState::Removing);
        let Some(id) = self.id.take() else { return };
        let slot = self.slot.take();
        let runner = self.runner.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                self.runner.cleanups.spawn_on(
                    async move {
                        if let Err(error) = runner.backend.remove(&id).await {
                            retry_removal(&runner, id, slot, error);
                        }
                    },
                    &handle,
                );
            }
            // No runtime left (process exiting): start-up's orphan sweep will catch it.
            Err(_) => tracing::warn!(container = %id, "container left behind: no runtime"),
        }
    }
}

/// Keeps trying to remove a container the engine could not remove (it is down or restarting),
/// backing off up to [`MAX_RETRY_PAUSE`], until it is gone; its slot is held until then.
fn retry_removal(runner: &Runner, id: String, slot: Option<Slot>, error: String) {
    tracing::warn!(container = %id, %error, "cannot remove container; will retry");
    let backend = runner.backend.clone();
    runner.cleanups.spawn(async move {
        let mut pause = Duration::from_millis(250);
        loop {
            tokio::time::sleep(pause).await;
            match backend.remove(&id).await {
                Ok(()) => {
                    drop(slot);
                    return tracing::info!(container = %id, "removed after retrying");
                }
                Err(_) => pause = (pause * 2).min(MAX_RETRY_PAUSE),
            }
        }
    });
}

pub(crate) async fn remove_labelled(runner: &Runner) -> Result<usize, DiscoverError> {
    let orphans = runner.listed_containers().await?;
    for id in &orphans {
        if let Err(error) = runner.backend.remove(id).await {
            tracing::warn!(container = %id, %error, "cannot remove orphaned container");
        }
    }
    Ok(orphans.len())
}
