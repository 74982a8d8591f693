//! Lifecycle scenarios written once and run on both engines, as the Rust Playground's
//! orchestrator runs its tests on Docker when asked: the unit tests (`lifecycle_tests.rs`) run
//! each on the engine in memory, `tests/engine.rs` on the real engine with the real images. A
//! scenario gets a runner and the images to use, and watches the engine through the runner's
//! own listing of its containers, so that it reads the same on both; the code it runs behaves
//! alike on both ([`HANGS`], [`QUICK`]).

use crate::{Execution, Image, Runner, Status};
use futures::StreamExt;
use std::future::Future;
use std::time::Duration;

/// Code that runs until it is killed: PHP sleeps, the fake engine hangs on "hang".
pub const HANGS: &str = "<?php /* hang */ sleep(60);";
/// Code that prints `ran` at once, on both engines.
pub const QUICK: &str = "<?php echo 'ran';";

/// Dropping a run's stream stops its versions: their containers go and their slots come free
/// (idle workers of the pool, with namespaces, may stay for the next run).
pub async fn dropping_a_run_removes_its_containers_and_frees_their_slots(
    runner: &Runner,
    images: Vec<Image>,
) {
    // Within the wait below, only dropping the run removes its containers, not its time limit.
    assert!(runner.config().limits.timeout >= REMOVED_WITHIN * 2);
    let count = images.len();
    let admission = runner
        .admit(images)
        .await
        .expect("a run on an idle runner is admitted");
    let run = runner.run_all(HANGS, admission);
    eventually("every version's container runs", STARTED_WITHIN, || async {
        listed(runner).await >= count
    })
    .await;
    drop(run);
    eventually("the run's containers are removed", REMOVED_WITHIN, || async {
        listed(runner).await <= runner.pooled()
    })
    .await;
    eventually("their slots are free", REMOVED_WITHIN, || async {
        runner.containers() <= runner.pooled()
    })
    .await;
}

/// A full pool gives way: on an idle runner whose pool holds `pooled` containers, runs of
/// every size up to the container limit are admitted at once, again and again (more versions
/// than images: some image twice), and the engine never holds more containers than the limit.
pub async fn an_idle_pool_never_keeps_a_run_out(runner: &Runner, images: &[Image], pooled: usize) {
    let limit = runner.config().max_containers;
    eventually("the pool fills", STARTED_WITHIN, || async {
        runner.pooled() == pooled
    })
    .await;
    let census = Census::start(runner);
    for round in 0..2 {
        for size in 1..=limit {
            let run: Vec<Image> = images
                .iter()
                .cycle()
                .skip(round + size)
                .take(size)
                .cloned()
                .collect();
            let admission = runner
                .admit(run)
                .await
                .unwrap_or_else(|error| panic!("a run of {size} on an idle runner was refused: {error}"));
            let results: Vec<Execution> = runner.run_all(QUICK, admission).collect().await;
            assert_eq!(results.len(), size);
            assert!(
                results
                    .iter()
                    .all(|r| r.outcome.status == Status::Ok && r.outcome.stdout == "ran"),
                "{results:?}"
            );
        }
    }
    let most = census.most().await;
    assert!(
        most <= limit,
        "limit {limit}, {pooled} pooled: the engine held {most} containers at once"
    );
}

/// The containers of the runner's instance the engine lists now.
async fn listed(runner: &Runner) -> usize {
    runner
        .listed_containers()
        .await
        .expect("the engine lists containers")
        .len()
}

/// How long the real engine may take to start a run's containers, loaded; and to remove them
/// (well under a second, even loaded).
const STARTED_WITHIN: Duration = Duration::from_secs(20);
const REMOVED_WITHIN: Duration = Duration::from_secs(5);

/// Polls `condition` every 20 ms for up to `within`.
async fn eventually<F: Future<Output = bool>>(
    what: &str,
    within: Duration,
    mut condition: impl FnMut() -> F,
) {
    let deadline = tokio::time::Instant::now() + within;
    while !condition().await {
        assert!(tokio::time::Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Counts one instance's containers on the engine every few milliseconds until stopped, and
/// returns the most it ever saw: the engine's own list, not the runner's counters.
pub struct Census {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<usize>,
}

impl Census {
    /// Counts the containers of `runner`'s instance, on its engine.
    pub fn start(runner: &Runner) -> Self {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (stopping, runner) = (stop.clone(), runner.clone());
        let task = tokio::spawn(async move {
            let mut most = 0;
            while !stopping.load(std::sync::atomic::Ordering::Relaxed) {
                most = most.max(listed(&runner).await);
                tokio::task::yield_now().await;
            }
            most
        });
        Self { stop, task }
    }

    /// Counts the containers of the instance `instance_id` on the Docker engine (another
    /// process's, such as a server's under test).
    pub fn of_instance(instance_id: &str) -> Self {
        Self::start(&Runner::new(crate::RunnerConfig {
            instance_id: instance_id.to_owned(),
            ..Default::default()
        }))
    }

    /// Stops counting; the most containers seen at once.
    pub async fn most(self) -> usize {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.task.await.expect("the census ran")
    }
}
