//! Admission: how a run gets room. Each version of a run needs a container — an idle pooled
//! one, or a slot for a fresh one — under the global container limit. Runs that cannot have
//! room at once wait in [`crate::line`], fair between clients; only the run at the head
//! reserves room, so two runs never each hold part of what both need, and none is overtaken.

use crate::prepared::{self, Reserved};
use crate::{line, slots, AdmitError, ClientKey, Image, Runner};
use futures::stream::Stream;
use std::time::Duration;
use tokio::time::Instant;

/// How often a run waiting for workers looks for a free slot.
const ROOM_RECHECK: Duration = Duration::from_millis(25);

/// How long a run waits for a worker of its image to come back before idle workers of other
/// images are evicted to start one (a worker's start costs the machine more than a run).
const EVICT_AFTER: Duration = Duration::from_millis(300);

/// How long a version probe may wait in line, at least.
const PROBE_WAIT: Duration = Duration::from_secs(60);

/// Where a run stands on its way in.
pub enum Turn {
    /// Waiting for room: `ahead` runs came first and still wait (0: this one is next, and waits
    /// for running ones to finish).
    Waiting {
        ahead: usize,
    },
    Admitted(Admission),
}

/// A run in the line of runs waiting for room ([`Runner::line_up`]).
pub type InLine = std::pin::Pin<Box<dyn Stream<Item = Result<Turn, AdmitError>> + Send>>;

/// The admission at the end of a line's stream, whatever the waiting on the way.
pub(crate) async fn admitted(mut in_line: InLine) -> Result<Admission, AdmitError> {
    use futures::StreamExt;
    while let Some(turn) = in_line.next().await {
        if let Turn::Admitted(admission) = turn? {
            return Ok(admission);
        }
    }
    Err(AdmitError::ShuttingDown)
}

/// A run waiting in line, between the turns its stream reports.
struct Waiting {
    runner: Runner,
    place: line::Place,
    moved: tokio::sync::watch::Receiver<u64>,
    images: Vec<Image>,
    pooled: bool,
    deadline: Instant,
    /// The last place reported, so that each is reported once.
    told: Option<usize>,
}

impl Waiting {
    async fn next_turn(&mut self) -> Result<Turn, AdmitError> {
        let busy = |runner: &Runner| AdmitError::Busy {
            running: runner.slots.in_use(),
            capacity: runner.slots.capacity(),
        };
        loop {
            let ahead = self.place.ahead();
            if ahead == 0 {
                let (runner, images, pooled) = (&self.runner, &self.images, self.pooled);
                if let Some(admission) = runner.take_room(images, pooled, Instant::now()).await {
                    return Ok(Turn::Admitted(admission));
                }
                if self.told != Some(0) {
                    self.told = Some(0);
                    return Ok(Turn::Waiting { ahead: 0 });
                }
                let stopping = runner.stopping.clone();
                return tokio::select! {
                    admission = runner.take_room(images, pooled, self.deadline) => {
                        admission.map(Turn::Admitted).ok_or_else(|| busy(runner))
                    }
                    () = stopping.cancelled() => Err(AdmitError::ShuttingDown),
                };
            }
            if self.told != Some(ahead) {
                self.told = Some(ahead);
                return Ok(Turn::Waiting { ahead });
            }
            tokio::select! {
                _ = self.moved.changed() => {}
                () = tokio::time::sleep_until(self.deadline) => return Err(busy(&self.runner)),
                () = self.runner.stopping.cancelled() => return Err(AdmitError::ShuttingDown),
            }
        }
    }
}

/// A container reserved for each version of a run: taken from the pool, or room for a fresh
/// one. Dropping it unused gives everything back.
pub struct Admission {
    pub(crate) versions: Vec<(Image, Reserved)>,
}

impl Admission {
    /// How many versions were admitted.
    pub fn len(&self) -> usize {
        self.versions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.versions.is_empty()
    }

    /// The versions from `at` on, as an admission of their own (in the order they were asked
    /// for), so that each part can run its own script; this one keeps the first `at`.
    pub fn split_off(&mut self, at: usize) -> Admission {
        Admission {
            versions: self.versions.split_off(at.min(self.versions.len())),
        }
    }
}

impl Runner {
    /// Reserves a container for each of `images` (the same image may appear twice): an idle
    /// pooled one when there is one, else room for a fresh one, evicting idle pooled containers
    /// when that makes room. Waits in line (see [`Runner::line_up`]) at most the configured
    /// admission wait, then says "busy".
    /// All runs admitted this way are one client's (the runner's own, tests, benchmarks); the
    /// server lines up each client's runs as theirs ([`Runner::line_up`]).
    pub async fn admit(&self, images: Vec<Image>) -> Result<Admission, AdmitError> {
        admitted(self.line_up(images, &ClientKey::default())?).await
    }

    /// Room for `images` now, for work nobody waits for (re-running saved snippets on new
    /// versions): fresh slots that are free this moment, or nothing at once — when any run waits
    /// in line, when there is too little free room, or when the runner stops. It never joins
    /// the line, never waits and never evicts pooled containers, so it cannot delay a user's run
    /// by more than the one run it admits.
    pub fn admit_if_idle(&self, images: Vec<Image>) -> Option<Admission> {
        if self.stopping.is_cancelled() || self.line.len() > 0 {
            return None;
        }
        let slots = self.slots.try_take_many(images.len())?;
        let versions = images
            .into_iter()
            .zip(slots)
            .map(|(image, slot)| (image, Reserved::Fresh(slot)))
            .collect();
        Some(Admission { versions })
    }

    /// Joins the line of runs waiting for room for `images`, fair between clients (see
    /// [`line`]: `client`'s runs take turns with other clients', not with each other). The
    /// stream tells where the run stands whenever that changes ([`Turn::Waiting`], only while
    /// it must wait) and ends with its [`Turn::Admitted`], or with [`AdmitError::Busy`] once the
    /// admission wait has passed. Dropping it leaves the line at once, and the runs behind move
    /// up. Fails at once when the run can never fit, the line is full, or the runner stops.
    pub fn line_up(&self, images: Vec<Image>, client: &ClientKey) -> Result<InLine, AdmitError> {
        self.line_up_from(images, client, true)
    }

    /// [`Runner::line_up`], with `pooled: false` for the runner's own questions (version
    /// probes): always fresh containers, which do not churn the pool, and a longer wait, since
    /// a user's run waits for their answer in turn.
    pub(crate) fn line_up_from(
        &self,
        images: Vec<Image>,
        client: &ClientKey,
        pooled: bool,
    ) -> Result<InLine, AdmitError> {
        let capacity = self.slots.capacity();
        if self.stopping.is_cancelled() {
            return Err(AdmitError::ShuttingDown);
        }
        if images.len() > capacity {
            return Err(AdmitError::TooLarge {
                wanted: images.len(),
                capacity,
            });
        }
        let place = self
            .line
            .join(client.clone())
            .map_err(|line::Full| AdmitError::LineFull {
                waiting: self.line.len(),
            })?;
        let wait = match pooled {
            true => self.config.admission_wait,
            false => self.config.admission_wait.max(PROBE_WAIT),
        };
        let waiting = Waiting {
            runner: self.clone(),
            moved: place.watch(),
            place,
            images,
            pooled,
            deadline: Instant::now() + wait,
            told: None,
        };
        Ok(Box::pin(futures::stream::unfold(
            Some(waiting),
            |waiting| async move {
                let mut waiting = waiting?;
                let turn = waiting.next_turn().await;
                let done = !matches!(turn, Ok(Turn::Waiting { .. }));
                Some((turn, (!done).then_some(waiting)))
            },
        )))
    }

    /// Reserves room for `images` now, or by `deadline` if given: pooled containers first, then
    /// fresh slots. Only the run at the head of the line calls this.
    async fn take_room(&self, images: &[Image], pooled: bool, deadline: Instant) -> Option<Admission> {
        if pooled {
            self.pool.start_keeper(self);
        }
        // Workers come back after each run: a run waits for one as for a free slot. Starting a
        // worker costs a container; waiting for one costs a run: idle workers of other images
        // are evicted for it only when its image has none alive, or once it has waited a while.
        let for_workers = pooled && self.pool.reusable();
        let since = Instant::now();
        loop {
            let taken: Vec<Option<prepared::Prepared>> = images
                .iter()
                .map(|image| if pooled { self.pool.take(image) } else { None })
                .collect();
            let fresh = taken.iter().filter(|taken| taken.is_none()).count();
            let returned = self.pool.returned.notified();
            let may_evict = !for_workers
                || since.elapsed() >= EVICT_AFTER
                || images
                    .iter()
                    .zip(&taken)
                    .any(|(image, taken)| taken.is_none() && self.pool.alive(&image.id) == 0);
            let room = match (for_workers, may_evict) {
                (false, _) => self.room_for(fresh, deadline).await,
                (true, true) => self.room_for(fresh, Instant::now()).await,
                // Free slots only.
                (true, false) => self.slots.try_take_many(fresh),
            };
            if let Some(mut slots) = room {
                let versions = images
                    .iter()
                    .cloned()
                    .zip(taken)
                    .map(|(image, taken)| {
                        let reserved = match (taken, pooled) {
                            (Some(prepared), _) => Reserved::Pooled(Box::new(prepared)),
                            (None, true) => {
                                Reserved::Fresh(slots.pop().expect("a slot for every fresh container"))
                            }
                            (None, false) => {
                                Reserved::SingleUse(slots.pop().expect("a slot for every fresh container"))
                            }
                        };
                        (image, reserved)
                    })
                    .collect();
                return Some(Admission { versions });
            }
            taken
                .into_iter()
                .flatten()
                .for_each(|prepared| self.pool.park(prepared));
            if !for_workers || Instant::now() >= deadline {
                return None;
            }
            // A slot that comes free wakes only the keeper: look again every moment.
            tokio::select! {
                () = returned => {}
                () = tokio::time::sleep(ROOM_RECHECK) => {}
                () = tokio::time::sleep_until(deadline) => {}
            }
        }
    }

    /// `count` free slots, evicting idle pooled containers when the free ones are too few, and
    /// waiting until `deadline` for running ones to finish.
    async fn room_for(&self, count: usize, deadline: Instant) -> Option<Vec<slots::Slot>> {
        if count == 0 {
            return Some(Vec::new());
        }
        if let Some(slots) = self.slots.take(count, Instant::now()).await {
            return Some(slots);
        }
        // From here on no refill starts and none is kept; the ones being started now are
        // removed when they are ready, which frees their slots for this run.
        let _yielding = self.pool.yield_to_run();
        let shortfall = count.saturating_sub(self.slots.available());
        // An evicted container's slot is free once the engine has removed it.
        let evicted = self.pool.evict(shortfall);
        futures::future::join_all(evicted.into_iter().map(|prepared| prepared.remove())).await;
        self.slots.take(count, deadline).await
    }
}
