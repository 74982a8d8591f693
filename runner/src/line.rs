//! The line of runs waiting for room, fair between clients. Only the run at the head of the
//! line takes room, so a large run is never overtaken by smaller ones that keep arriving; each
//! run can see how many are ahead of it, and one that leaves (its client went away) lets the
//! others move up at once.
//!
//! Fair between clients: each place gets a round when it joins — its client's last round in
//! line plus one, or the round being served (the lowest in line) when the client has nothing
//! in line — and the line is served round by round, first come first served within a round
//! (start-time fair queuing).
//! A client with many runs (or one wide run in waves, each wave a place) takes one turn per
//! round like everyone else, instead of holding every place in front of a newcomer.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// Who a run is for, as the line tells clients apart (the server's key: the client's address);
/// the runner's own questions have the default key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ClientKey(Arc<str>);

impl ClientKey {
    pub fn new(key: impl Into<Arc<str>>) -> Self {
        Self(key.into())
    }
}

/// Runs waiting, by ticket: lower tickets came first.
pub(crate) struct Line {
    waiting: Mutex<Waiting>,
    /// Bumped whenever a run joins or leaves the line, so the others can look at their place
    /// again.
    moved: watch::Sender<u64>,
    /// Most runs in line at once; more are turned away.
    capacity: usize,
}

#[derive(Default)]
struct Waiting {
    next_ticket: u64,
    places: BTreeMap<u64, Entry>,
}

struct Entry {
    client: ClientKey,
    round: u64,
}

impl Waiting {
    /// The order places are served in: round by round, by ticket. A newcomer's round is never
    /// below the lowest in line and its ticket is the highest, so the head stays the head
    /// until it leaves: only one run at a time reserves room.
    fn order(&self, ticket: u64) -> (u64, u64) {
        (self.places[&ticket].round, ticket)
    }
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

    /// A place for `client`, after its own places and in the current round otherwise, unless
    /// the line is full.
    pub(crate) fn join(self: &Arc<Self>, client: ClientKey) -> Result<Place, Full> {
        let mut waiting = self.waiting.lock().unwrap();
        if waiting.places.len() >= self.capacity {
            return Err(Full);
        }
        let own_last = waiting
            .places
            .values()
            .filter(|entry| entry.client == client)
            .map(|entry| entry.round + 1)
            .max();
        let served = waiting.places.values().map(|entry| entry.round).min();
        let round = own_last.or(served).unwrap_or(0);
        let ticket = waiting.next_ticket;
        waiting.next_ticket += 1;
        waiting.places.insert(ticket, Entry { client, round });
        drop(waiting);
        // A newcomer may go before places of clients with more in line.
        self.moved.send_modify(|moves| *moves += 1);
        Ok(Place {
            line: self.clone(),
            ticket,
        })
    }

    /// How many runs are in line, the one at the head included.
    pub(crate) fn len(&self) -> usize {
        self.waiting.lock().unwrap().places.len()
    }
}

impl Place {
    /// How many runs are ahead of this one.
    pub(crate) fn ahead(&self) -> usize {
        let waiting = self.line.waiting.lock().unwrap();
        let mine = waiting.order(self.ticket);
        waiting
            .places
            .keys()
            .filter(|ticket| waiting.order(**ticket) < mine)
            .count()
    }

    /// A watch that changes whenever the line moves (see [`Place::ahead`]).
    pub(crate) fn watch(&self) -> watch::Receiver<u64> {
        self.line.moved.subscribe()
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        self.line.waiting.lock().unwrap().places.remove(&self.ticket);
        self.line.moved.send_modify(|moves| *moves += 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(name: &str) -> ClientKey {
        ClientKey::new(name)
    }

    #[test]
    fn places_are_served_in_order_and_a_full_line_turns_runs_away() {
        let line = Line::new(3);
        let first = line.join(client("a")).unwrap();
        let second = line.join(client("b")).unwrap();
        let third = line.join(client("c")).unwrap();
        assert!(line.join(client("d")).is_err(), "a fourth does not fit");
        assert_eq!((first.ahead(), second.ahead(), third.ahead()), (0, 1, 2));
        drop(first);
        assert_eq!((second.ahead(), third.ahead()), (0, 1));
        assert!(line.join(client("a")).is_ok(), "room again");
    }

    #[tokio::test]
    async fn one_that_leaves_lets_the_others_move_up_at_once() {
        let line = Line::new(8);
        let head = line.join(client("a")).unwrap();
        let leaving = line.join(client("b")).unwrap();
        let last = line.join(client("c")).unwrap();
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

    #[test]
    fn a_client_with_many_places_takes_one_turn_per_round() {
        let line = Line::new(16);
        let wide: Vec<Place> = (0..4).map(|_| line.join(client("wide")).unwrap()).collect();
        let other = line.join(client("other")).unwrap();
        assert_eq!(
            other.ahead(),
            1,
            "after the wide client's first, before its others"
        );
        assert_eq!(wide[1].ahead(), 2);
        let mut wide = wide.into_iter();
        drop(wide.next());
        assert_eq!(other.ahead(), 0, "next once the wide client had its turn");
        // Round 0 is over: a newcomer joins round 1, the one being served.
        drop(other);
        let second = wide.next().unwrap();
        let late = line.join(client("late")).unwrap();
        assert_eq!((second.ahead(), late.ahead()), (0, 1), "one round, by ticket");
        let third = wide.next().unwrap();
        assert_eq!(
            third.ahead(),
            2,
            "the wide client's third waits for the next round"
        );
    }

    #[test]
    fn a_newcomer_joins_the_round_being_served() {
        let line = Line::new(8);
        let first = line.join(client("wide")).unwrap();
        let wide: Vec<Place> = (0..3).map(|_| line.join(client("wide")).unwrap()).collect();
        let early = line.join(client("early")).unwrap();
        assert_eq!(early.ahead(), 1, "round 0, after the wide client's first");
        drop(first);
        drop(early);
        // Rounds 1 to 3 wait: round 1 is being served.
        let late = line.join(client("late")).unwrap();
        assert_eq!((wide[0].ahead(), late.ahead(), wide[1].ahead()), (0, 1, 2));
    }

    #[test]
    fn nobody_who_joins_goes_before_the_head() {
        let line = Line::new(8);
        let first = line.join(client("wide")).unwrap();
        let second = line.join(client("wide")).unwrap();
        drop(first);
        // Alone in line, in round 1.
        let other = line.join(client("other")).unwrap();
        let own = line.join(client("wide")).unwrap();
        assert_eq!((second.ahead(), other.ahead(), own.ahead()), (0, 1, 2));
    }
}
