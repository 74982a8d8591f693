//! Draining before a stop, for instances behind a load balancer: from SIGTERM on, health checks
//! and new runs answer `503` (the balancer takes the instance out and sends the runs elsewhere)
//! while the runs already in flight finish, up to `--drain-secs`; then the usual stop.

use crate::AppError;
use axum::http::StatusCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

#[derive(Clone, Default)]
pub struct Drain {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    draining: AtomicBool,
    runs: AtomicUsize,
    run_ended: Notify,
}

/// One run in flight; counted until it is dropped (with the run's answer).
pub struct RunInFlight {
    inner: Arc<Inner>,
}

impl Drain {
    /// Counts a new run, or refuses it with `503` once draining has begun.
    pub fn enter(&self) -> Result<RunInFlight, AppError> {
        self.inner.runs.fetch_add(1, Ordering::SeqCst);
        let run = RunInFlight {
            inner: self.inner.clone(),
        };
        if self.is_draining() {
            crate::metrics::refused(crate::metrics::Cap::Draining);
            return Err(AppError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "this instance is stopping; try again",
            )
            .retry_after(1));
        }
        Ok(run)
    }

    pub fn is_draining(&self) -> bool {
        self.inner.draining.load(Ordering::SeqCst)
    }

    /// Starts draining, and waits until no run is in flight or `within` has passed; true when
    /// every run finished.
    pub async fn drain(&self, within: Duration) -> bool {
        self.inner.draining.store(true, Ordering::SeqCst);
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let ended = self.inner.run_ended.notified();
            if self.inner.runs.load(Ordering::SeqCst) == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, ended).await.is_err() {
                return false;
            }
        }
    }

    /// Runs in flight now.
    pub fn runs(&self) -> usize {
        self.inner.runs.load(Ordering::SeqCst)
    }
}

impl Drop for RunInFlight {
    fn drop(&mut self) {
        self.inner.runs.fetch_sub(1, Ordering::SeqCst);
        self.inner.run_ended.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_drain_refuses_new_runs_and_waits_for_those_in_flight() {
        let drain = Drain::default();
        let running = drain.enter().unwrap();
        let draining = tokio::spawn({
            let drain = drain.clone();
            async move { drain.drain(Duration::from_secs(10)).await }
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(drain.is_draining());
        assert_eq!(
            drain.enter().err().map(|e| e.status),
            Some(StatusCode::SERVICE_UNAVAILABLE)
        );
        assert!(!draining.is_finished(), "the run in flight is waited for");
        drop(running);
        assert!(draining.await.unwrap(), "done once it ended");
        assert_eq!(drain.runs(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_drain_gives_up_at_its_deadline() {
        let drain = Drain::default();
        let _stuck = drain.enter().unwrap();
        assert!(!drain.drain(Duration::from_secs(3)).await);
    }
}
