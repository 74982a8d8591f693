//! Room under the global container limit. Every container alive in the engine holds one
//! [`Slot`], from before it is created until after the engine has removed it, so the number of
//! containers this runner has in the engine never exceeds the limit, whatever path a run takes.
//!
//! Each slot also carries a user id of its own: containers alive at the same time never share
//! one, so kernel limits counted per user (inotify instances and watches, RLIMIT_NPROC, …) are
//! per run, not shared by every run on the host.

use crate::metrics::{ContainerState, Counted};
use std::sync::{Arc, Mutex};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// The first of the user ids given to containers: far above any real account (Debian's
/// subordinate-id ranges start at 100000 and grow by 65536 per user).
const FIRST_UID: u32 = 1_500_000_000;

/// Each instance takes a block of this many ids (its container limit fits in it) ...
const UIDS_PER_INSTANCE: u32 = 65_536;

/// ... one of this many blocks, chosen by its instance id, so that instances sharing an engine
/// (behind a balancer) give their containers different ids, except for 1 pair in 4096. The last
/// id stays below 2^31, which some tools read as signed.
const INSTANCE_BLOCKS: u32 = 4096;

/// The first user id of `instance_id`'s block: the same across restarts (FNV-1a, stable by
/// definition, unlike std's hasher).
pub(crate) fn first_uid_of(instance_id: &str) -> u32 {
    let hash = instance_id.bytes().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    });
    FIRST_UID + (hash % INSTANCE_BLOCKS) * UIDS_PER_INSTANCE
}

/// The container limit and the user ids that go with it.
pub(crate) struct Slots {
    semaphore: Arc<Semaphore>,
    capacity: usize,
    free_uids: Arc<Mutex<Vec<u32>>>,
    /// Notified whenever a slot comes free (the pool's keeper listens).
    freed: Arc<Notify>,
}

/// Room for one container, with its user id. Dropping it frees both.
pub(crate) struct Slot {
    permit: Option<OwnedSemaphorePermit>,
    uid: u32,
    free_uids: Arc<Mutex<Vec<u32>>>,
    freed: Arc<Notify>,
    /// The container in the slot, counted in the metrics until it is gone (so until the slot
    /// is dropped, or handed on for another container).
    counted: Option<Counted>,
}

impl Slots {
    /// Room for `capacity` containers (at most a block of ids), with ids from `first_uid` on.
    pub(crate) fn new(capacity: usize, first_uid: u32, freed: Arc<Notify>) -> Self {
        let capacity = capacity.min(UIDS_PER_INSTANCE as usize);
        let ids = capacity as u32;
        Self {
            semaphore: Arc::new(Semaphore::new(capacity)),
            capacity,
            free_uids: Arc::new(Mutex::new((first_uid..first_uid + ids).rev().collect())),
            freed,
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    pub(crate) fn in_use(&self) -> usize {
        self.capacity - self.semaphore.available_permits()
    }

    pub(crate) fn available(&self) -> usize {
        self.semaphore.available_permits()
    }

    /// One slot if one is free now.
    pub(crate) fn try_take(&self) -> Option<Slot> {
        let permit = self.semaphore.clone().try_acquire_owned().ok()?;
        Some(self.slot(permit))
    }

    /// `count` slots free this moment, all or none (the ones taken before a refusal are
    /// dropped, which frees them).
    pub(crate) fn try_take_many(&self, count: usize) -> Option<Vec<Slot>> {
        (0..count).map(|_| self.try_take()).collect()
    }

    /// `count` slots at once, waiting in line (first come, first served) until `deadline`.
    pub(crate) async fn take(&self, count: usize, deadline: Instant) -> Option<Vec<Slot>> {
        if count == 0 {
            return Some(Vec::new());
        }
        let wanted = u32::try_from(count).ok()?;
        let waiting = self.semaphore.clone().acquire_many_owned(wanted);
        let mut permits = tokio::time::timeout_at(deadline, waiting).await.ok()?.ok()?;
        let mut slots = Vec::with_capacity(count);
        while permits.num_permits() > 1 {
            let one = permits.split(1).expect("more than one permit left");
            slots.push(self.slot(one));
        }
        slots.push(self.slot(permits));
        Some(slots)
    }

    fn slot(&self, permit: OwnedSemaphorePermit) -> Slot {
        let uid = self
            .free_uids
            .lock()
            .unwrap()
            .pop()
            .expect("a user id for every permit");
        Slot {
            permit: Some(permit),
            uid,
            free_uids: self.free_uids.clone(),
            freed: self.freed.clone(),
            counted: None,
        }
    }
}

impl Slot {
    /// The user and group id the container runs as.
    pub(crate) fn uid(&self) -> u32 {
        self.uid
    }

    /// Counts a container of `image` in the slot, just created.
    pub(crate) fn count_container(&mut self, image: &str) {
        self.counted = Some(Counted::new(image, ContainerState::Starting));
    }

    /// Counts the slot's container under `state` from now on.
    pub(crate) fn count_as(&mut self, state: ContainerState) {
        if let Some(counted) = &mut self.counted {
            counted.set(state);
        }
    }

    /// The slot's container is gone: the slot is free for another.
    pub(crate) fn container_gone(&mut self) {
        self.counted = None;
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        // The id first: whoever gets the permit next takes an id.
        self.free_uids.lock().unwrap().push(self.uid);
        drop(self.permit.take());
        self.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn slots(capacity: usize) -> Slots {
        Slots::new(capacity, FIRST_UID, Arc::default())
    }

    #[test]
    fn each_instance_has_a_block_of_user_ids_of_its_own_the_same_after_a_restart() {
        let first = first_uid_of("web-1-10.0.0.11:3000");
        assert_eq!(first, first_uid_of("web-1-10.0.0.11:3000"), "stable");
        let blocks: std::collections::HashSet<u32> = (0..16)
            .map(|n| first_uid_of(&format!("web-{n}-10.0.0.{n}:3000")))
            .collect();
        assert_eq!(blocks.len(), 16, "16 instances, 16 blocks: {blocks:?}");
        for block in blocks {
            assert!(block >= FIRST_UID && (block - FIRST_UID).is_multiple_of(UIDS_PER_INSTANCE));
            assert!(u64::from(block) + u64::from(UIDS_PER_INSTANCE) <= 1 << 31);
        }
    }

    #[tokio::test]
    async fn slots_alive_together_have_distinct_user_ids() {
        let slots = slots(3);
        let taken = slots
            .take(3, Instant::now() + Duration::from_millis(10))
            .await
            .unwrap();
        let mut uids: Vec<u32> = taken.iter().map(Slot::uid).collect();
        uids.sort_unstable();
        uids.dedup();
        assert_eq!(uids.len(), 3);
        assert!(uids.iter().all(|uid| *uid >= FIRST_UID));
        assert_eq!(slots.in_use(), 3);
        assert!(slots.try_take().is_none());
        drop(taken);
        assert_eq!(slots.in_use(), 0);
    }

    #[tokio::test]
    async fn a_freed_slot_hands_its_user_id_on() {
        let slots = slots(1);
        let first = slots.try_take().unwrap();
        let uid = first.uid();
        drop(first);
        assert_eq!(slots.try_take().unwrap().uid(), uid);
    }

    #[tokio::test(start_paused = true)]
    async fn taking_more_than_is_free_waits_until_the_deadline() {
        let slots = slots(2);
        let held = slots.try_take().unwrap();
        assert!(slots
            .take(2, Instant::now() + Duration::from_millis(50))
            .await
            .is_none());
        drop(held);
        assert_eq!(slots.take(2, Instant::now()).await.map(|s| s.len()), Some(2));
    }
}
