//! The line of runs waiting for room, first come first served. Only the run at the head of the
//! line takes room, so a large run is never overtaken by smaller ones that keep arriving; each
//! run can see how many are ahead of it, and one that leaves (its client went away) lets the
//! others move up at once.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// Runs waiting, by ticket: lower tickets came first.
pub(crate) struct Line {
    waiting: Mutex<Waiting>,
    /// Bumped whenever a run leaves the line, so the others can look at their place again.
    moved: watch::Sender<u64>,
    /// Most runs in line at once; more are turned away.
    capacity: usize,
}

#[derive(Default)]
struct Waiting {
    next_ticket: u64,
    tickets: BTreeSet<u64>,
}

/// A run's place in the line; dropping it leaves the line.
pub(crate) struct Place {
    line: Arc<Line>,
    ticket: u64,
}

/// The line is full.
#[derive(Debug)]
pub(crate) struct Full;

impl Line {
    pub(crate) fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            waiting: Mutex::default(),
            moved: watch::Sender::new(0),
            capacity,
        })
    }

    /// A place at the end of the line, unless it is full.
    pub(crate) fn join(self: &Arc<Self>) -> Result<Place, Full> {
        let mut waiting = self.waiting.lock().unwrap();
        if waiting.tickets.len() >= self.capacity {
            return Err(Full);
        }
        let ticket = waiting.next_ticket;
        waiting.next_ticket += 1;
        waiting.tickets.insert(ticket);
        Ok(Place {
            line: self.clone(),
            ticket,
        })
    }

    /// How many runs are in line, the one at the head included.
    pub(crate) fn len(&self) -> usize {
        self.waiting.lock().unwrap().tickets.len()
    }
}

impl Place {
    /// How many runs are ahead of this one.
    pub(crate) fn ahead(&self) -> usize {
        let waiting = self.line.waiting.lock().unwrap();
        waiting.tickets.range(..self.ticket).count()
    }

    /// A watch that changes whenever the line moves (see [`Place::ahead`]).
    pub(crate) fn watch(&self) -> watch::Receiver<u64> {
        self.line.moved.subscribe()
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        self.line.waiting.lock().unwrap().tickets.remove(&self.ticket);
        self.line.moved.send_modify(|moves| *moves += 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_served_in_order_and_a_full_line_turns_runs_away() {
        let line = Line::new(3);
        let first = line.join().unwrap();
        let second = line.join().unwrap();
        let third = line.join().unwrap();
        assert!(line.join().is_err(), "a fourth does not fit");
        assert_eq!((first.ahead(), second.ahead(), third.ahead()), (0, 1, 2));
        drop(first);
        assert_eq!((second.ahead(), third.ahead()), (0, 1));
        assert!(line.join().is_ok(), "room again");
    }

    #[tokio::test]
    async fn one_that_leaves_lets_the_others_move_up_at_once() {
        let line = Line::new(8);
        let head = line.join().unwrap();
        let leaving = line.join().unwrap();
        let last = line.join().unwrap();
        let mut moved = last.watch();
        assert_eq!(last.ahead(), 2);
        drop(leaving);
        moved.changed().await.unwrap();
        assert_eq!(last.ahead(), 1);
        drop(head);
        moved.changed().await.unwrap();
        assert_eq!(last.ahead(), 0);
        drop(last);
        assert_eq!(line.len(), 0, "a dropped place leaves the line");
    }
}
