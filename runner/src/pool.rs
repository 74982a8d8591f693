//! Pre-started, single-use containers: a few per image, each sandboxed like any other and
//! already blocked reading its script from stdin, so a run skips the engine's slow container
//! start. Each is used once and removed. All pool logic lives here:
//!
//! - a pooled container holds a [`Slot`] like any other container; a run that takes it takes
//!   its slot with it (admission counts it as paid for);
//! - one keeper task tops the pool up, one container at a time, a moment after it is woken (a
//!   container was taken or a slot came free), and only with slots that are free;
//! - the pool follows demand: an image whose run found no container waiting gets one more kept
//!   for it, up to the most (`pool_max`); an image unused for a minute gets one fewer, down to
//!   the configured size, and its surplus idle containers are removed;
//! - the pool never blocks a run: while a run waits for room the pool yields — idle containers
//!   are evicted to make room, and no refill starts or is kept.
//!
//! Workers ([`crate::Isolation::Namespaces`]) live here too, but come back after each run
//! ([`Pool::give_back`]), so the pool is `reusable`: the keeper keeps at least `min` idle
//! workers per image used; more come from runs that found none idle (each starts one in its
//! own slot and gives it back), so the workers of an image follow its demand, within the
//! container limit; an image unused for a minute loses one idle worker, down to `min`; and a
//! run waiting for room takes a worker as it comes back.

use crate::prepared::{prepare, Prepared};
use crate::slots::Slot;
use crate::supervisor::Alive;
use crate::{Image, Runner};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// How long the keeper waits after being woken before it starts a container: starting one keeps
/// both cores of a small machine busy for ~100 ms, which would delay PHP's own start in the
/// container just taken.
const REFILL_DELAY: Duration = Duration::from_millis(250);

/// An image's pool shrinks by one container after this long without a run of it.
const SHRINK_AFTER: Duration = Duration::from_secs(60);

/// How often the keeper looks for pools to shrink when nothing wakes it.
const SHRINK_CHECK: Duration = Duration::from_secs(10);

/// Without a pool (`min` 0), how long a worker back from a run stays for runs that were
/// waiting, and how often the keeper looks for such workers.
const IDLE_GRACE: Duration = Duration::from_secs(1);

/// How many containers an image's pool wants now, and when a run of it last came.
struct Demand {
    wanted: usize,
    last_run: Instant,
}

pub(crate) struct Pool {
    /// Containers kept per image when idle (`pool_size`); 0 turns the pool off.
    min: usize,
    /// Most containers kept per image under demand (`pool_max`, at least `min`).
    max: usize,
    /// What each image's pool wants, by image id (images not in it want `min`).
    demand: Mutex<HashMap<String, Demand>>,
    /// Idle containers by image id.
    idle: Mutex<HashMap<String, Vec<Prepared>>>,
    /// The images the pool keeps containers for, in the order they are topped up.
    images: Mutex<Vec<Image>>,
    /// Runs waiting for room right now; while any does, the pool yields.
    waiting_runs: AtomicUsize,
    /// Wakes the keeper; shared with the slots, which notify it when one comes free.
    pub(crate) wake: Arc<Notify>,
    keeper_started: AtomicBool,
    /// Whether containers come back after a run (workers).
    reusable: bool,
    /// Notified when a worker comes back.
    pub(crate) returned: Notify,
    /// Workers alive (running a run or idle), by image id.
    alive: Mutex<HashMap<String, Arc<AtomicUsize>>>,
}

/// Held by a run while it waits for room: the pool yields until it is dropped.
pub(crate) struct Yielding<'a>(&'a Pool);

impl Drop for Yielding<'_> {
    fn drop(&mut self) {
        self.0.waiting_runs.fetch_sub(1, Ordering::SeqCst);
        self.0.wake.notify_one();
    }
}

impl Pool {
    pub(crate) fn new(min: usize, max: usize, wake: Arc<Notify>, reusable: bool) -> Self {
        Self {
            min,
            max: match (min, reusable) {
                (0, false) => 0,
                _ => max.max(min).max(1),
            },
            reusable,
            returned: Notify::new(),
            alive: Mutex::default(),
            demand: Mutex::default(),
            idle: Mutex::default(),
            images: Mutex::default(),
            waiting_runs: AtomicUsize::new(0),
            wake,
            keeper_started: AtomicBool::new(false),
        }
    }

    /// A started container for `image`, if one waits; the keeper will replace it. When none
    /// waits, the image's pool grows by one (up to the most).
    pub(crate) fn take(&self, image: &Image) -> Option<Prepared> {
        if self.max == 0 {
            return None;
        }
        let taken = self.idle.lock().unwrap().get_mut(&image.id).and_then(Vec::pop);
        let mut demand = self.demand.lock().unwrap();
        let demand = demand.entry(image.id.clone()).or_insert(Demand {
            wanted: self.min,
            last_run: Instant::now(),
        });
        demand.last_run = Instant::now();
        if taken.is_none() && !self.reusable {
            demand.wanted = (demand.wanted + 1).min(self.max);
        }
        self.keep_for(image);
        taken
    }

    /// How many containers `image_id`'s pool wants now.
    fn wanted(&self, image_id: &str) -> usize {
        self.demand
            .lock()
            .unwrap()
            .get(image_id)
            .map_or(self.min, |demand| demand.wanted)
    }

    /// Shrinks by one the pools of images unused for [`SHRINK_AFTER`], and takes out the idle
    /// containers over what each pool wants, for removal.
    fn shrink(&self) -> Vec<Prepared> {
        let now = Instant::now();
        let mut demand = self.demand.lock().unwrap();
        let mut idle = self.idle.lock().unwrap();
        let mut surplus = Vec::new();
        for (image_id, demand) in demand.iter_mut() {
            if self.reusable && self.min == 0 {
                if let Some(waiting) = idle.get_mut(image_id) {
                    let (stale, fresh) = waiting
                        .drain(..)
                        .partition(|worker| worker.idle_since.elapsed() >= IDLE_GRACE);
                    *waiting = fresh;
                    surplus.extend::<Vec<Prepared>>(stale);
                }
                continue;
            }
            if self.reusable {
                let waiting = idle.get_mut(image_id).filter(|waiting| waiting.len() > self.min);
                if let Some(waiting) = waiting.filter(|_| now - demand.last_run >= SHRINK_AFTER) {
                    surplus.extend(waiting.pop());
                    demand.last_run = now;
                }
                continue;
            }
            if demand.wanted > self.min && now - demand.last_run >= SHRINK_AFTER {
                demand.wanted -= 1;
                // The next step down is another quiet period away.
                demand.last_run = now;
            }
            if let Some(waiting) = idle.get_mut(image_id) {
                while waiting.len() > demand.wanted {
                    surplus.extend(waiting.pop());
                }
            }
        }
        surplus
    }

    /// How many containers the pool wants for each image, by image id (for tests and health).
    #[cfg(test)]
    pub(crate) fn wanted_by_image(&self) -> HashMap<String, usize> {
        self.demand
            .lock()
            .unwrap()
            .iter()
            .map(|(image_id, demand)| (image_id.clone(), demand.wanted))
            .collect()
    }

    /// From now on until the returned guard is dropped, the pool gives way to a waiting run.
    pub(crate) fn yield_to_run(&self) -> Yielding<'_> {
        self.waiting_runs.fetch_add(1, Ordering::SeqCst);
        Yielding(self)
    }

    /// Takes up to `count` idle containers out of the pool, from the images with the most
    /// waiting, for removal: their slots go to a run.
    pub(crate) fn evict(&self, count: usize) -> Vec<Prepared> {
        let mut idle = self.idle.lock().unwrap();
        let mut evicted = Vec::new();
        while evicted.len() < count {
            let fullest = idle
                .values_mut()
                .filter(|waiting| !waiting.is_empty())
                .max_by_key(|waiting| waiting.len());
            match fullest.and_then(Vec::pop) {
                Some(prepared) => evicted.push(prepared),
                None => break,
            }
        }
        evicted
    }

    pub(crate) fn idle_count(&self) -> usize {
        self.idle.lock().unwrap().values().map(Vec::len).sum()
    }

    /// Every idle container, for removal at shutdown.
    pub(crate) fn drain(&self) -> Vec<Prepared> {
        self.idle
            .lock()
            .unwrap()
            .drain()
            .flat_map(|(_, idle)| idle)
            .collect()
    }

    /// Keeps containers for `image` from now on.
    fn keep_for(&self, image: &Image) {
        let mut images = self.images.lock().unwrap();
        if !images.iter().any(|known| known.id == image.id) {
            images.push(image.clone());
        }
        drop(images);
        self.wake.notify_one();
    }

    /// Keeps containers for exactly these images (discovery's list), and starts the keeper.
    pub(crate) fn keep_for_all(&self, runner: &Runner, images: Vec<Image>) {
        if self.max == 0 {
            return;
        }
        *self.images.lock().unwrap() = images;
        self.start_keeper(runner);
        self.wake.notify_one();
    }

    /// Starts the keeper task once (the first time the pool is used).
    pub(crate) fn start_keeper(&self, runner: &Runner) {
        if self.max == 0 || self.keeper_started.swap(true, Ordering::SeqCst) {
            return;
        }
        let runner = runner.clone();
        runner.cleanups.clone().spawn(async move {
            tokio::select! {
                () = keep(&runner) => {}
                () = runner.stopping.cancelled() => {}
            }
        });
    }

    /// The next image that lacks a container, with a free slot for it; none while a run waits.
    fn next_refill(&self, runner: &Runner) -> Option<(Image, Slot)> {
        if self.waiting_runs.load(Ordering::SeqCst) > 0 || runner.stopping.is_cancelled() {
            return None;
        }
        let images = self.images.lock().unwrap().clone();
        let wanted: Vec<usize> = match self.reusable {
            // Runs bring workers of their own; the keeper keeps the least.
            true => images.iter().map(|_| self.min).collect(),
            false => images.iter().map(|image| self.wanted(&image.id)).collect(),
        };
        // Workers come back: the ones running count as the image's too.
        let have: Vec<usize> = match self.reusable {
            true => images.iter().map(|image| self.alive(&image.id)).collect(),
            false => vec![0; images.len()],
        };
        let idle = self.idle.lock().unwrap();
        let lacking = images
            .into_iter()
            .zip(wanted)
            .zip(have)
            .map(|((image, wanted), have)| (have.max(idle.get(&image.id).map_or(0, Vec::len)), wanted, image))
            .filter(|(waiting, wanted, _)| waiting < wanted)
            .min_by_key(|(waiting, _, _)| *waiting)?
            .2;
        drop(idle);
        Some((lacking, runner.slots.try_take()?))
    }

    /// Adds a started container to the pool (a refill, or one a refused run had taken), unless
    /// a run needs its slot now (then it is removed, in the background, which frees the slot).
    pub(crate) fn park(&self, mut prepared: Prepared) {
        prepared.idle_since = Instant::now();
        prepared.count_as(crate::metrics::ContainerState::Pooled);
        // A worker is worth keeping for the run that waits: it takes it as it comes back.
        if !self.reusable && self.waiting_runs.load(Ordering::SeqCst) > 0 {
            return;
        }
        let image_id = prepared.image_id.clone();
        self.idle
            .lock()
            .unwrap()
            .entry(image_id)
            .or_default()
            .push(prepared);
    }

    /// A worker back from a run, ready for the next; a run waiting for room may take it. With
    /// no pool (`min` 0) it is kept only when runs are waiting (`wanted`); otherwise dropped,
    /// which removes it.
    pub(crate) fn give_back(&self, worker: Prepared, wanted: bool) {
        if self.min == 0 && !wanted {
            return;
        }
        self.park(worker);
        self.returned.notify_waiters();
    }

    /// Counts a new worker of `image_id` as alive while the token lives.
    pub(crate) fn alive_token(&self, image_id: &str) -> Alive {
        let count = self
            .alive
            .lock()
            .unwrap()
            .entry(image_id.to_owned())
            .or_default()
            .clone();
        count.fetch_add(1, Ordering::SeqCst);
        Alive(count)
    }

    /// How many workers of `image_id` are alive, running a run or idle.
    pub(crate) fn alive(&self, image_id: &str) -> usize {
        self.alive
            .lock()
            .unwrap()
            .get(image_id)
            .map_or(0, |count| count.load(Ordering::SeqCst))
    }

    /// Whether containers come back after a run (workers).
    pub(crate) fn reusable(&self) -> bool {
        self.reusable
    }

    fn forget(&self, image: &Image) {
        self.images.lock().unwrap().retain(|known| known.id != image.id);
    }
}

/// The keeper: tops the pool up whenever woken, one container at a time, and shrinks pools
/// that are no longer used.
async fn keep(runner: &Runner) {
    let pool = &runner.pool;
    loop {
        let check = match pool.reusable && pool.min == 0 {
            true => IDLE_GRACE,
            false => SHRINK_CHECK,
        };
        let woken = tokio::time::timeout(check, pool.wake.notified()).await.is_ok();
        let surplus = pool.shrink();
        futures::future::join_all(surplus.into_iter().map(Prepared::remove)).await;
        if !woken {
            continue;
        }
        tokio::time::sleep(REFILL_DELAY).await;
        while let Some((image, slot)) = pool.next_refill(runner) {
            match prepare(runner, &image, slot).await {
                Ok(prepared) => pool.park(prepared),
                Err(error) => {
                    // Until a run uses the image again (it may be gone for good).
                    tracing::warn!(image = %image.name, %error, "cannot start a pooled container");
                    pool.forget(&image);
                }
            }
        }
    }
}
