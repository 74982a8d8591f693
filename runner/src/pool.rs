//! Pre-started, single-use containers: a few per image, each sandboxed like any other and
//! already blocked reading its script from stdin, so a run skips the engine's slow container
//! start. Each is used once and removed; a fresh one is started in the background.

use crate::container::{prepare, Prepared};
use crate::{Image, Runner};
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
pub(crate) struct Pool {
    /// Idle containers by image id.
    idle: Mutex<HashMap<String, Vec<Prepared>>>,
    /// Containers being started for the pool, by image id.
    starting: Mutex<HashMap<String, usize>>,
}

impl Pool {
    pub(crate) fn take(&self, image_id: &str) -> Option<Prepared> {
        self.idle.lock().unwrap().get_mut(image_id)?.pop()
    }

    /// Starts containers in the background until `image` has its configured number waiting.
    /// Each holds a slot under the global container limit, taken only if one is free now: a
    /// busy server runs requests, not refills.
    pub(crate) fn refill(&self, runner: &Runner, image: &Image) {
        let size = runner.config().pool_size;
        loop {
            if runner.stopping.is_cancelled() {
                return;
            }
            let waiting = self.idle.lock().unwrap().get(&image.id).map_or(0, Vec::len);
            let mut starting = self.starting.lock().unwrap();
            let pending = starting.entry(image.id.clone()).or_default();
            if waiting + *pending >= size {
                return;
            }
            let Ok(slot) = runner.slots.clone().try_acquire_owned() else {
                return;
            };
            *pending += 1;
            drop(starting);
            let runner = runner.clone();
            let image = image.clone();
            runner.cleanups.clone().spawn(async move {
                let prepared = prepare(&runner, &image).await;
                let pool = &runner.pool;
                *pool.starting.lock().unwrap().entry(image.id.clone()).or_default() -= 1;
                match prepared {
                    // Shutting down: dropping it removes the container.
                    Ok(_) if runner.stopping.is_cancelled() => {}
                    Ok(mut prepared) => {
                        prepared.idle_slot = Some(slot);
                        pool.idle.lock().unwrap().entry(image.id.clone()).or_default().push(prepared);
                    }
                    Err(error) => tracing::warn!(image = %image.name, %error, "cannot start a pooled container"),
                }
            });
        }
    }

    pub(crate) fn idle_count(&self) -> usize {
        self.idle.lock().unwrap().values().map(Vec::len).sum()
    }

    /// Every idle container, for removal at shutdown.
    pub(crate) fn drain(&self) -> Vec<Prepared> {
        self.idle.lock().unwrap().drain().flat_map(|(_, idle)| idle).collect()
    }
}
