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

use std::collections::{BTreeSet, HashMap};
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
    /// The places as `(round, ticket)`: the order they are served in, round by round, by
    /// ticket. A newcomer's round is never below the lowest in line and its ticket is the
    /// highest, so the head stays the head until it leaves: only one run at a time reserves
    /// room.
    order: BTreeSet<(u64, u64)>,
    /// Each client's places in line, and the round of its last.
    clients: HashMap<ClientKey, (usize, u64)>,
}

/// A run's place in the line; dropping it leaves the line.
pub(crate) struct Place {
    line: Arc<Line>,
    ticket: u64,
    round: u64,
    client: ClientKey,
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
        if waiting.order.len() >= self.capacity {
            return Err(Full);
        }
        let served = waiting.order.first().map_or(0, |(round, _)| *round);
        let round = match waiting.clients.get(&client) {
            Some((_, last)) => last + 1,
            None => served,
        };
        let ticket = waiting.next_ticket;
        waiting.next_ticket += 1;
        waiting.order.insert((round, ticket));
        let (count, last) = waiting.clients.entry(client.clone()).or_insert((0, round));
        *count += 1;
        *last = round;
        // A newcomer goes before the places of later rounds: they move back.
        let overtakes = waiting.order.last().is_some_and(|(last, _)| *last > round);
        drop(waiting);
        if overtakes {
            self.moved.send_modify(|moves| *moves += 1);
        }
        Ok(Place {
            line: self.clone(),
            ticket,
            round,
            client,
        })
    }

    /// How many runs are in line, the one at the head included.
    pub(crate) fn len(&self) -> usize {
        self.waiting.lock().unwrap().order.len()
    }
}

impl Place {
    /// How many runs are ahead of this one.
    pub(crate) fn ahead(&self) -> usize {
        let waiting = self.line.waiting.lock().unwrap();
        waiting.order.range(..(self.round, self.ticket)).count()
    }

    /// A watch that changes whenever the line moves (see [`Place::ahead`]).
    pub(crate) fn watch(&self) -> watch::Receiver<u64> {
        self.line.moved.subscribe()
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut waiting = self.line.waiting.lock().unwrap();
        waiting.order.remove(&(self.round, self.ticket));
        if let Some((count, _)) = waiting.clients.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                waiting.clients.remove(&self.client);
            }
        }
        drop(waiting);
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
