//! The runner's lifecycle logic on an engine in memory ([`crate::fakes`]): admission and the
//! pool under the container limit, the guard, removal retries, cancellation. Fast, and each
//! able to fail; `runner/tests/engine.rs` proves the same on the real engine.

use crate::fakes::{FakeEngine, Script};
use crate::scenarios;
use crate::{Execution, Image, Runner, RunnerConfig, SandboxLimits, Status};
use futures::StreamExt;
use std::time::Duration;

fn images(count: usize) -> Vec<Image> {
    (0..count)
        .map(|n| Image {
            name: format!("php:8.{n}-cli"),
            aliases: vec![],
            id: format!("sha256:{n}"),
            php_version: format!("8.{n}.0"),
            variant: String::new(),
            extensions: Vec::new(),
            fixed_clock: true,
            opcache: crate::images::Opcache::Loaded,
            ini: Default::default(),
            libraries: Default::default(),
        })
        .collect()
}

fn config(max_containers: usize, pool_size: usize) -> RunnerConfig {
    RunnerConfig {
        max_containers,
        pool_size,
        admission_wait: Duration::from_secs(2),
        limits: SandboxLimits {
            timeout: Duration::from_secs(5),
            ..Default::default()
        },
        // The clock's filler container would count among the containers these tests count;
        // the engine tests cover it.
        fixed_clock: false,
        ..Default::default()
    }
}

async fn run(runner: &Runner, images: Vec<Image>) -> Vec<Execution> {
    let admission = runner.admit(images).await.expect("admitted");
    runner.run_all("<?php echo 'ran';", admission).collect().await
}

/// Polls `condition` every few milliseconds for up to 5 s.
async fn eventually(what: &str, condition: impl Fn() -> bool) {
    for _ in 0..500 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never happened: {what}");
}

async fn shut_down(runner: &Runner, engine: &FakeEngine) {
    assert!(runner.shut_down(Duration::from_secs(5)).await);
    assert_eq!(engine.alive(), 0, "containers left after shutdown");
}

#[tokio::test]
async fn an_idle_pool_never_keeps_a_run_out_and_the_engine_never_holds_more_than_the_limit() {
    for (max_containers, pool_size, image_count) in [(4, 1, 4), (5, 2, 4), (2, 1, 4), (1, 3, 2), (3, 1, 1)] {
        let all = images(image_count);
        let engine = FakeEngine::quick(all.clone());
        let runner = Runner::with_backend(config(max_containers, pool_size), engine.clone());
        runner.pool.keep_for_all(&runner, all.clone());
        let full = (pool_size * image_count).min(max_containers);
        scenarios::an_idle_pool_never_keeps_a_run_out(&runner, &all, full).await;
        // The engine in memory counts every container it ever held at once, not only those a
        // poll saw.
        let most = engine.most_alive();
        assert!(
            most <= max_containers,
            "limit {max_containers}, pool {pool_size}: {most} alive at once"
        );
        shut_down(&runner, &engine).await;
    }
}

#[tokio::test]
async fn a_pooled_container_is_the_run_s_own_and_is_replaced_after() {
    let all = images(1);
    let engine = FakeEngine::quick(all.clone());
    let runner = Runner::with_backend(config(4, 1), engine.clone());
    runner.pool.keep_for_all(&runner, all.clone());
    eventually("the pool fills", || runner.pooled() == 1).await;
    assert_eq!(engine.created(), 1);
    let results = run(&runner, all.clone()).await;
    assert_eq!(results[0].outcome.stdout, "ran");
    assert_eq!(engine.created(), 1, "the run took the pooled container");
    eventually("the pool refills", || runner.pooled() == 1).await;
    assert_eq!(engine.created(), 2);
    shut_down(&runner, &engine).await;
}

#[tokio::test]
async fn a_pooled_container_that_died_is_replaced_in_its_slot() {
    let all = images(1);
    let engine = FakeEngine::quick(all.clone());
    let runner = Runner::with_backend(config(1, 1), engine.clone());
    runner.pool.keep_for_all(&runner, all.clone());
    eventually("the pool fills", || runner.pooled() == 1).await;
    engine.kill_waiting();
    let results = run(&runner, all).await;
    assert_eq!(
        (results[0].outcome.status, results[0].outcome.stdout.as_str()),
        (Status::Ok, "ran")
    );
    assert!(engine.most_alive() <= 1);
    shut_down(&runner, &engine).await;
}

#[tokio::test]
async fn dropping_a_run_removes_its_containers_and_frees_their_slots() {
    let all = images(2);
    let engine = FakeEngine::hanging_when_asked(all.clone());
    // A time limit the scenario's wait cannot reach: only the drop removes the containers.
    let limits = SandboxLimits {
        timeout: Duration::from_secs(60),
        ..Default::default()
    };
    let config = RunnerConfig {
        limits,
        ..config(2, 0)
    };
    let runner = Runner::with_backend(config, engine.clone());
    scenarios::dropping_a_run_removes_its_containers_and_frees_their_slots(&runner, all).await;
    assert_eq!(engine.alive(), 0);
    shut_down(&runner, &engine).await;
}

#[tokio::test]
async fn a_consumer_that_stops_reading_does_not_stop_the_deadlines() {
    let all = images(2);
    let engine = FakeEngine::new(all.clone(), |_| Script::Hangs);
    let runner = Runner::with_backend(
        RunnerConfig {
            limits: SandboxLimits {
                timeout: Duration::from_millis(200),
                ..Default::default()
            },
            ..config(2, 0)
        },
        engine.clone(),
    );
    let admission = runner.admit(all).await.unwrap();
    let mut stream = Box::pin(runner.run_all("<?php", admission));
    // Nobody reads: the versions still end at their deadline and their containers go.
    eventually("the hung containers are killed at the deadline", || {
        engine.created() == 2 && engine.alive() == 0
    })
    .await;
    for _ in 0..2 {
        assert_eq!(stream.next().await.unwrap().outcome.status, Status::Timeout);
    }
    shut_down(&runner, &engine).await;
}

#[tokio::test]
async fn a_container_the_engine_cannot_remove_keeps_its_slot_until_a_retry_succeeds() {
    let all = images(1);
    let engine = FakeEngine::quick(all.clone());
    let runner = Runner::with_backend(config(1, 0), engine.clone());
    engine.fail_removals(2);
    let results = run(&runner, all.clone()).await;
    assert_eq!(results[0].outcome.status, Status::Ok);
    eventually("the engine refuses a removal", || engine.refused_removals() == 1).await;
    assert_eq!(
        runner.containers(),
        1,
        "the slot is held while the container may still exist"
    );
    eventually("the engine refuses again", || engine.refused_removals() == 2).await;
    assert_eq!(
        runner.containers(),
        1,
        "the slot is held while the container may still exist"
    );
    eventually("a retry removes it", || engine.alive() == 0).await;
    eventually("and frees the slot", || runner.containers() == 0).await;
    assert_eq!(run(&runner, all).await[0].outcome.status, Status::Ok);
    shut_down(&runner, &engine).await;
}

#[tokio::test]
async fn a_version_whose_container_cannot_be_created_fails_alone_and_frees_its_slot() {
    let all = images(2);
    let engine = FakeEngine::quick(all.clone());
    let runner = Runner::with_backend(config(2, 0), engine.clone());
    engine.fail_creates(1);
    let results = run(&runner, all).await;
    let failed: Vec<&Execution> = results
        .iter()
        .filter(|r| r.outcome.status == Status::Error)
        .collect();
    assert_eq!(failed.len(), 1, "{results:?}");
    assert!(failed[0]
        .message
        .as_deref()
        .unwrap()
        .contains("cannot create the container"));
    assert_eq!(
        results.iter().filter(|r| r.outcome.status == Status::Ok).count(),
        1
    );
    eventually("every slot is free", || runner.containers() == 0).await;
    shut_down(&runner, &engine).await;
}

#[tokio::test]
async fn a_full_server_says_busy_after_the_wait_and_admits_once_there_is_room() {
    let all = images(2);
    let engine = FakeEngine::hanging_when_asked(all.clone());
    let runner = Runner::with_backend(
        RunnerConfig {
            admission_wait: Duration::from_millis(500),
            ..config(1, 0)
        },
        engine.clone(),
    );
    let admission = runner.admit(all[..1].to_vec()).await.unwrap();
    let hanging = runner.run_all("hang", admission);
    let refused = runner.admit(all[1..].to_vec()).await.err().expect("busy");
    assert!(
        refused.to_string().contains("1 of 1 containers are in use"),
        "{refused}"
    );
    drop(hanging);
    let admission = runner
        .admit(all[1..].to_vec())
        .await
        .expect("room once the hung run is gone");
    let results: Vec<Execution> = runner.run_all("<?php", admission).collect().await;
    assert_eq!(results[0].outcome.status, Status::Ok);
    assert!(engine.most_alive() <= 1);
    shut_down(&runner, &engine).await;
}

#[tokio::test]
async fn shutting_down_stops_runs_and_removes_every_container_pooled_ones_too() {
    let all = images(2);
    let engine = FakeEngine::new(all.clone(), |_| Script::Hangs);
    let runner = Runner::with_backend(config(4, 1), engine.clone());
    runner.pool.keep_for_all(&runner, all.clone());
    eventually("the pool fills", || runner.pooled() == 2).await;
    let admission = runner.admit(all[..1].to_vec()).await.unwrap();
    let mut running = Box::pin(runner.run_all("<?php", admission));
    eventually("the run's container and a refill", || engine.alive() >= 2).await;
    let stopping = runner.clone();
    let shut = tokio::spawn(async move { stopping.shut_down(Duration::from_secs(5)).await });
    let result = running.next().await.unwrap();
    assert_eq!(result.outcome.status, Status::Error);
    assert!(result.message.unwrap().contains("shutting down"));
    assert!(shut.await.unwrap());
    assert_eq!(engine.alive(), 0);
    assert!(runner.admit(all).await.is_err(), "no new runs once stopping");
}

#[tokio::test]
async fn the_orphan_sweep_removes_this_instances_containers_and_no_other() {
    let all = images(2);
    let engine = FakeEngine::quick(all.clone());
    let instance = |id: &str| RunnerConfig {
        instance_id: id.to_owned(),
        ..config(4, 1)
    };
    let ours = Runner::with_backend(instance("ours"), engine.clone());
    let theirs = Runner::with_backend(instance("theirs"), engine.clone());
    ours.pool.keep_for_all(&ours, all.clone());
    theirs.pool.keep_for_all(&theirs, all.clone());
    eventually("both pools fill", || ours.pooled() == 2 && theirs.pooled() == 2).await;
    assert_eq!(ours.listed_containers().await.unwrap().len(), 2);

    // A restart of "ours" (a new runner, same id) finds the containers the old one left.
    let restarted = Runner::with_backend(instance("ours"), engine.clone());
    assert_eq!(restarted.remove_orphans().await.unwrap(), 2);
    assert_eq!(engine.alive(), 2, "the other instance's containers must stay");
    assert!(restarted.listed_containers().await.unwrap().is_empty());
    assert_eq!(theirs.listed_containers().await.unwrap().len(), 2);
    shut_down(&theirs, &engine).await;
}

/// Runs `in_line` until it is admitted, recording each place it is told on the way.
async fn wait_in_line(
    mut in_line: crate::InLine,
) -> (Vec<usize>, Result<crate::Admission, crate::AdmitError>) {
    let mut told = Vec::new();
    while let Some(turn) = in_line.next().await {
        match turn {
            Ok(crate::Turn::Waiting { ahead }) => told.push(ahead),
            Ok(crate::Turn::Admitted(admission)) => return (told, Ok(admission)),
            Err(error) => return (told, Err(error)),
        }
    }
    panic!("the line ended without an answer");
}

#[tokio::test]
async fn runs_that_must_wait_are_admitted_first_come_first_served_and_told_their_place() {
    let all = images(1);
    let engine = FakeEngine::hanging_when_asked(all.clone());
    let runner = Runner::with_backend(config(1, 0), engine.clone());
    // One run holds the only slot until it is dropped.
    let holder = runner.admit(all.clone()).await.unwrap();
    let holding = runner.run_all("<?php hang();", holder);
    let mut lined_up = Vec::new();
    for _ in 0..3 {
        let in_line = runner.line_up(all.clone(), &crate::ClientKey::default()).unwrap();
        lined_up.push(tokio::spawn(wait_in_line(in_line)));
        tokio::task::yield_now().await;
    }
    eventually("three runs wait", || runner.line.len() == 3).await;
    // Long enough for each to have been told its place.
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(holding);
    let mut told = Vec::new();
    for waiting in lined_up {
        let (places, admission) = waiting.await.unwrap();
        // Each runs at once and frees the slot for the next.
        let results: Vec<Execution> = runner
            .run_all("<?php echo 'ran';", admission.unwrap())
            .collect()
            .await;
        assert_eq!(results[0].outcome.stdout, "ran");
        told.push(places);
    }
    assert_eq!(
        told,
        [vec![0], vec![1, 0], vec![2, 1, 0]],
        "first come, first served"
    );
    shut_down(&runner, &engine).await;
}

#[tokio::test]
async fn a_run_that_leaves_the_line_lets_the_next_move_up_and_a_full_line_turns_runs_away() {
    let all = images(1);
    let engine = FakeEngine::new(all.clone(), |_| Script::Hangs);
    let config = RunnerConfig {
        max_waiting: 2,
        ..config(1, 0)
    };
    let runner = Runner::with_backend(config, engine.clone());
    let holder = runner.admit(all.clone()).await.unwrap();
    let _holding = runner.run_all("<?php hang();", holder);
    let mut first = runner.line_up(all.clone(), &crate::ClientKey::default()).unwrap();
    let mut second = runner.line_up(all.clone(), &crate::ClientKey::default()).unwrap();
    assert!(matches!(
        first.next().await,
        Some(Ok(crate::Turn::Waiting { ahead: 0 }))
    ));
    assert!(matches!(
        second.next().await,
        Some(Ok(crate::Turn::Waiting { ahead: 1 }))
    ));
    assert!(matches!(
        runner.line_up(all.clone(), &crate::ClientKey::default()),
        Err(crate::AdmitError::LineFull { waiting: 2 })
    ));
    drop(first);
    assert!(matches!(
        second.next().await,
        Some(Ok(crate::Turn::Waiting { ahead: 0 }))
    ));
    assert!(
        runner.line_up(all.clone(), &crate::ClientKey::default()).is_ok(),
        "room in line again"
    );
    shut_down(&runner, &engine).await;
}

#[tokio::test(start_paused = true)]
async fn a_run_still_waiting_when_the_admission_wait_ends_is_turned_away() {
    let all = images(1);
    let engine = FakeEngine::new(all.clone(), |_| Script::Hangs);
    let runner = Runner::with_backend(config(1, 0), engine.clone());
    let holder = runner.admit(all.clone()).await.unwrap();
    let _holding = runner.run_all("<?php hang();", holder);
    let head = tokio::spawn(wait_in_line(
        runner.line_up(all.clone(), &crate::ClientKey::default()).unwrap(),
    ));
    let behind = tokio::spawn(wait_in_line(
        runner.line_up(all.clone(), &crate::ClientKey::default()).unwrap(),
    ));
    for waiting in [head, behind] {
        let (_, outcome) = waiting.await.unwrap();
        assert!(
            matches!(outcome, Err(crate::AdmitError::Busy { .. })),
            "busy after the wait"
        );
    }
    assert_eq!(runner.line.len(), 0);
    shut_down(&runner, &engine).await;
}

#[tokio::test]
async fn a_run_wider_than_the_limit_runs_in_waves_within_the_limit() {
    let all = images(6);
    let engine = FakeEngine::new(all.clone(), |_| Script::Prints {
        stdout: "ran",
        after: Duration::from_millis(50),
    });
    let runner = Runner::with_backend(config(2, 0), engine.clone());
    let results: Vec<Execution> = runner
        .run_in_waves("<?php echo 'ran';", all.clone(), &crate::ClientKey::default())
        .collect()
        .await;
    assert_eq!(results.len(), 6);
    assert!(
        results
            .iter()
            .all(|r| r.outcome.status == Status::Ok && r.outcome.stdout == "ran"),
        "{results:?}"
    );
    let mut names: Vec<&str> = results.iter().map(|r| r.image.as_str()).collect();
    names.sort();
    let mut wanted: Vec<&str> = all.iter().map(|i| i.name.as_str()).collect();
    wanted.sort();
    assert_eq!(names, wanted, "every version once");
    assert_eq!(engine.most_alive(), 2, "two at once, never more: the limit is 2");
    shut_down(&runner, &engine).await;
}

#[tokio::test]
async fn the_parts_of_a_split_admission_run_their_own_scripts_in_one_admission() {
    let all = images(2);
    let engine = FakeEngine::new(all.clone(), |code| Script::Prints {
        stdout: if code.contains("first") { "first" } else { "second" },
        after: Duration::ZERO,
    });
    let runner = Runner::with_backend(config(4, 0), engine.clone());
    // The same two images twice: one admission of four containers, split in two.
    let mut first = runner.admit([all.clone(), all.clone()].concat()).await.unwrap();
    let second = first.split_off(2);
    assert_eq!((first.len(), second.len()), (2, 2));
    let mut results: Vec<(String, String)> = futures::stream::select(
        runner.run_all("<?php echo 'first';", first),
        runner.run_all("<?php echo 'second';", second),
    )
    .map(|execution| (execution.outcome.stdout, execution.image))
    .collect()
    .await;
    results.sort();
    let wanted: Vec<(String, String)> = ["first", "second"]
        .iter()
        .flat_map(|script| all.iter().map(|image| (script.to_string(), image.name.clone())))
        .collect();
    assert_eq!(results, wanted);
    assert_eq!(engine.created(), 4);
    shut_down(&runner, &engine).await;
}

/// A runner that offers the fixed clock, on an engine of one image whose PHP says in the version
/// probe that it honours the clock when it has the library.
fn offering_the_fixed_clock() -> (Runner, std::sync::Arc<FakeEngine>) {
    let engine = FakeEngine::new(images(1), |code| Script::Prints {
        stdout: match code.contains("'clock' => time()") {
            true => r#"{"version":"8.0.1","clock":946684800}"#,
            false => "ran",
        },
        after: Duration::ZERO,
    });
    let config = RunnerConfig {
        fixed_clock: true,
        ..config(2, 0)
    };
    (Runner::with_backend(config, engine.clone()), engine)
}

/// An image probed while the fixed clock's library could not be installed is offered on the
/// real clock, and asked again later, when it gets the library and says it honours it.
#[tokio::test(start_paused = true)]
async fn an_image_probed_without_the_clock_library_is_asked_again() {
    let (runner, engine) = offering_the_fixed_clock();
    engine.fail_uploads(1);
    let first = runner.images().await.unwrap();
    assert_eq!(
        (first[0].php_version.as_str(), first[0].fixed_clock),
        ("8.0.1", false)
    );
    // Past the retry: discovery asks again, now with the library.
    tokio::time::advance(Duration::from_secs(40)).await;
    let again = runner.images().await.unwrap();
    assert!(again[0].fixed_clock, "{again:?}");
    shut_down(&runner, &engine).await;
}

#[tokio::test(start_paused = true)]
async fn a_volume_fill_the_engine_never_answers_is_given_up_and_its_container_removed() {
    let (runner, engine) = offering_the_fixed_clock();
    engine.hang_uploads(1);
    // The probe waits for the fill at most its timeout, then goes on without the library.
    let first = tokio::time::timeout(Duration::from_secs(60), runner.images())
        .await
        .expect("the fill is given up")
        .unwrap();
    assert!(!first[0].fixed_clock, "{first:?}");
    eventually("the fill's container is removed", || engine.alive() == 0).await;
    tokio::time::advance(Duration::from_secs(40)).await;
    let again = runner.images().await.unwrap();
    assert!(again[0].fixed_clock, "{again:?}");
    shut_down(&runner, &engine).await;
}

/// An engine that stops answering half-way through a run (a container created, its start never
/// answered) fails that version with a clear error once the call's bound is over, frees its slot
/// and removes the container; the run's other version is not held up.
#[tokio::test(start_paused = true)]
async fn a_start_the_engine_never_answers_fails_that_version_and_frees_its_slot() {
    let all = images(2);
    let engine = FakeEngine::quick(all.clone());
    let runner = Runner::with_backend(config(2, 0), engine.clone());
    engine.hang_starts(1);
    let results = tokio::time::timeout(Duration::from_secs(120), run(&runner, all.clone()))
        .await
        .expect("the run ends");
    let statuses: Vec<Status> = results.iter().map(|execution| execution.outcome.status).collect();
    assert_eq!(
        statuses.iter().filter(|status| **status == Status::Error).count(),
        1,
        "{results:?}"
    );
    let failed = results
        .iter()
        .find(|execution| execution.outcome.status == Status::Error)
        .unwrap();
    assert!(
        failed
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("did not answer (start)"),
        "{failed:?}"
    );
    assert!(
        results.iter().any(|execution| execution.outcome.stdout == "ran"),
        "{results:?}"
    );
    eventually("the hung container is removed", || engine.alive() == 0).await;
    // Both slots are free again: a run as wide as the limit is admitted and runs.
    let again = run(&runner, all).await;
    assert!(
        again.iter().all(|execution| execution.outcome.stdout == "ran"),
        "{again:?}"
    );
    shut_down(&runner, &engine).await;
}

#[tokio::test(start_paused = true)]
async fn a_pool_grows_while_runs_find_it_empty_and_shrinks_back_when_its_image_is_idle() {
    let all = images(2);
    let engine = FakeEngine::quick(all.clone());
    let runner = Runner::with_backend(
        RunnerConfig {
            pool_max: 3,
            ..config(8, 1)
        },
        engine.clone(),
    );
    runner.pool.keep_for_all(&runner, all.clone());
    eventually("the pools fill", || runner.pooled() == 2).await;
    let busy = &all[..1];
    let wanted = |image: &Image| runner.pool.wanted_by_image().get(&image.id).copied().unwrap_or(1);
    // Back-to-back runs of one image: the first takes the pooled container, the next find the
    // pool empty and grow it, up to its most.
    for _ in 0..6 {
        run(&runner, busy.to_vec()).await;
    }
    assert_eq!(wanted(&all[0]), 3);
    assert_eq!(wanted(&all[1]), 1, "the other image's pool stays as it was");
    eventually("the busy image's pool grows", || runner.pooled() == 3 + 1).await;
    assert!(engine.most_alive() <= 8);

    // Idle: one fewer a minute, down to the configured size, surplus containers removed.
    tokio::time::sleep(Duration::from_secs(61)).await;
    eventually("one fewer", || runner.pooled() == 2 + 1).await;
    assert_eq!(wanted(&all[0]), 2);
    tokio::time::sleep(Duration::from_secs(61)).await;
    eventually("back to the size", || runner.pooled() == 1 + 1).await;
    tokio::time::sleep(Duration::from_secs(300)).await;
    assert_eq!((wanted(&all[0]), runner.pooled()), (1, 2), "never below the size");
    assert_eq!(
        engine.alive(),
        2,
        "the surplus containers are gone from the engine"
    );
    shut_down(&runner, &engine).await;
}

#[tokio::test]
async fn idle_room_is_never_taken_while_a_run_waits_in_line_nor_beyond_the_free_slots() {
    let all = images(2);
    let engine = FakeEngine::hanging_when_asked(all.clone());
    let runner = Runner::with_backend(config(2, 0), engine.clone());
    let holder = runner.admit(all[..1].to_vec()).await.unwrap();
    let holding = runner.run_all("<?php hang();", holder);
    // A run that needs both slots waits for the held one: the free one is its, not idle.
    let waiting = tokio::spawn(wait_in_line(
        runner.line_up(all.clone(), &crate::ClientKey::default()).unwrap(),
    ));
    eventually("a run waits in line", || runner.line.len() == 1).await;
    assert!(
        runner.admit_if_idle(all[1..].to_vec()).is_none(),
        "a free slot while a run waits"
    );
    assert!(runner.admit_if_idle(all.clone()).is_none(), "more than is free");
    drop(holding);
    let (_, admission) = waiting.await.unwrap();
    let results: Vec<Execution> = runner.run_all("<?php", admission.unwrap()).collect().await;
    assert_eq!(results.len(), 2);
    eventually("every slot is free", || runner.containers() == 0).await;
    let idle = runner
        .admit_if_idle(all[1..].to_vec())
        .expect("room once nobody waits");
    assert_eq!(runner.containers(), 1, "the admitted slot is held");
    let results: Vec<Execution> = runner.run_all("<?php", idle).collect().await;
    assert_eq!(results[0].outcome.status, Status::Ok);
    shut_down(&runner, &engine).await;
}

/// The containers gauge as the exporter's page shows it now: (image, state) → count, zeros
/// left out.
fn containers_gauge(
    page: &metrics_exporter_prometheus::PrometheusHandle,
) -> std::collections::BTreeMap<(String, String), f64> {
    let mut counts = std::collections::BTreeMap::new();
    for line in page.render().lines() {
        let Some(labels) = line
            .strip_prefix(crate::metrics::CONTAINERS)
            .and_then(|l| l.strip_prefix('{'))
        else {
            continue;
        };
        let (labels, value) = labels.rsplit_once("} ").unwrap();
        let label = |name: &str| {
            let start = labels.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
            labels[start..].split('"').next().unwrap().to_owned()
        };
        let value: f64 = value.parse().unwrap();
        if value != 0.0 {
            counts.insert((label("image"), label("state")), value);
        }
    }
    counts
}

#[test]
fn every_container_is_counted_under_its_image_and_state_and_none_stays_counted_once_removed() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let snapshotter = recorder.handle();
    let counted = |pairs: &[(&str, &str, f64)]| {
        pairs
            .iter()
            .map(|(image, state, n)| (((*image).to_owned(), (*state).to_owned()), *n))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    // The recorder is this thread's: the runtime (and every task it spawns) runs here too.
    metrics::with_local_recorder(&recorder, || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let all = images(2);
            let engine = FakeEngine::hanging_when_asked(all.clone());
            let runner = Runner::with_backend(config(4, 1), engine.clone());
            runner.pool.keep_for_all(&runner, all.clone());
            eventually("the pool fills", || runner.pooled() == 2).await;
            eventually("both are counted as pooled", || {
                containers_gauge(&snapshotter)
                    == counted(&[("php:8.0-cli", "pooled", 1.0), ("php:8.1-cli", "pooled", 1.0)])
            })
            .await;

            let admission = runner.admit(vec![all[0].clone()]).await.unwrap();
            let mut hanging = Box::pin(runner.run_all("<?php // hang", admission));
            // Polled until the run has its container, then held.
            let _ = tokio::time::timeout(Duration::from_millis(200), hanging.next()).await;
            let now = containers_gauge(&snapshotter);
            assert_eq!(
                now.get(&("php:8.0-cli".into(), "running".into())),
                Some(&1.0),
                "{now:?}"
            );

            drop(hanging);
            let results = run(&runner, all.clone()).await;
            assert!(results.iter().all(|r| r.outcome.stdout == "ran"), "{results:?}");
            // Only pooled containers are left, each counted once (the pool may have grown for
            // the image in demand).
            let only_pooled = || {
                let now = containers_gauge(&snapshotter);
                let pooled: f64 = now.values().sum();
                now.keys().all(|(_, state)| state == "pooled")
                    && pooled == runner.pooled() as f64
                    && engine.alive() == runner.pooled()
            };
            for _ in 0..300 {
                if only_pooled() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            assert!(
                only_pooled(),
                "{:?} with {} pooled, {} alive",
                containers_gauge(&snapshotter),
                runner.pooled(),
                engine.alive()
            );

            shut_down(&runner, &engine).await;
            assert_eq!(
                containers_gauge(&snapshotter),
                counted(&[]),
                "counted after shutdown"
            );
        });
    });
}
