//! The runner against the real Docker engine and the real PHP images (php:7.4/8.2/8.4/8.5-cli,
//! built by scripts/build-php-images.sh or pulled from Docker Hub).
//!
//! Each test's runner has an instance id of its own, so tests run in parallel and each checks
//! that it left no container of its own behind.

use futures::StreamExt;
use runner::scenarios;
use runner::testing::{fresh_instance_id, local_tags, Census, Containers};
use runner::{Execution, Image, Isolation, ResolveError, Runner, RunnerConfig, SandboxLimits, Status};
use std::collections::BTreeSet;
use std::time::Duration;

/// The isolation the suite runs under: `EVALGRID_ISOLATION=namespaces` runs it in workers (the
/// test command runs it both ways).
fn isolation() -> Isolation {
    match std::env::var("EVALGRID_ISOLATION").as_deref() {
        Ok("namespaces") => Isolation::Namespaces,
        _ => Isolation::Containers,
    }
}

/// One test's runner, with limits the test chose and an instance id of its own.
struct Engine {
    runner: Runner,
    /// This test's containers in the engine.
    containers: Containers,
}

async fn engine() -> Engine {
    engine_with(unpooled()).await
}

/// The runner's defaults without the pool kept at all times: these tests count the containers
/// once the results are in (those that test the pool say how big).
fn unpooled() -> RunnerConfig {
    RunnerConfig {
        pool_size: 0,
        ..RunnerConfig::default()
    }
}

async fn engine_with(config: RunnerConfig) -> Engine {
    // The local PHP images, whatever other `php` tags the engine holds (unless the test chose
    // its repositories or tags).
    let tags = match config.tags == runner::default_tags() && config.repositories == ["php"] {
        true => local_tags(),
        false => config.tags,
    };
    let config = RunnerConfig {
        instance_id: fresh_instance_id(),
        isolation: isolation(),
        tags,
        probe_cache: config.probe_cache.or_else(runner::testing::probe_cache),
        ..config
    };
    let containers = Containers::of(&config.instance_id);
    let runner = Runner::new(config);
    runner.engine().await.expect("a Docker engine must be running");
    Engine { runner, containers }
}

impl Engine {
    /// No container of this test's is left: in single-use containers, once the results are
    /// in; workers stay between runs, so the runner shuts down first, which removes them.
    async fn assert_none_left(&self) {
        if self.runner.isolation() == Isolation::Namespaces {
            assert!(self.runner.shut_down(Duration::from_secs(10)).await);
        }
        self.containers.assert_none_left().await;
    }

    /// Mid-test: every container of this test's is gone, but for workers waiting idle in the
    /// pool for the next run.
    async fn assert_only_idle_left(&self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while self.containers.count().await > self.runner.pooled() {
            assert!(
                std::time::Instant::now() < deadline,
                "containers left besides idle workers"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Whether the suite runs in workers: tests of the single-use pool have nothing to check.
    fn in_workers(&self) -> bool {
        self.runner.isolation() == Isolation::Namespaces
    }

    async fn images(&self, names: &[&str]) -> Vec<Image> {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        self.runner.resolve(&names).await.expect("the test images exist")
    }

    async fn run(&self, image: &str, code: &str) -> Execution {
        self.run_all(&[image], code).await.remove(0)
    }

    async fn run_all(&self, images: &[&str], code: &str) -> Vec<Execution> {
        let images = self.images(images).await;
        let admission = self.runner.admit(images).await.unwrap();
        self.runner.run_all(code, admission).collect().await
    }
}

fn result_for<'a>(results: &'a [Execution], image: &str) -> &'a Execution {
    results
        .iter()
        .find(|r| r.image == image)
        .expect("a result per image")
}

#[tokio::test]
async fn images_are_discovered_with_their_exact_versions_in_version_order() {
    let engine = engine().await;
    let images = engine.runner.images().await.unwrap();
    let names: Vec<&str> = images.iter().map(|i| i.name.as_str()).collect();
    for wanted in ["php:7.4-cli", "php:8.2-cli", "php:8.4-cli", "php:8.5-cli"] {
        assert!(names.contains(&wanted), "{wanted} missing from {names:?}");
    }
    for image in &images {
        let minor = image.name.trim_start_matches("php:").trim_end_matches("-cli");
        assert!(
            image.php_version.starts_with(&format!("{minor}.")),
            "{} reports {}",
            image.name,
            image.php_version
        );
    }
    let position = |name: &str| names.iter().position(|n| *n == name).unwrap();
    assert!(position("php:7.4-cli") < position("php:8.2-cli"));
    assert!(position("php:8.4-cli") < position("php:8.5-cli"));
    engine.assert_none_left().await;
}

/// A runner offers what an earlier one's probes found, kept on disk, without asking the images
/// again: an answer changed in the cache is what it offers. An answer that no longer reads as
/// one is asked again, and replaced.
#[tokio::test]
async fn probe_answers_kept_on_disk_are_offered_by_the_next_runner_without_probing() {
    let directory = tempfile::tempdir().unwrap();
    let kept = || RunnerConfig {
        probe_cache: Some(directory.path().to_owned()),
        ..unpooled()
    };
    let answers = || -> Vec<std::path::PathBuf> {
        let mut files: Vec<_> = std::fs::read_dir(directory.path())
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        files.sort();
        files
    };
    let first = engine_with(kept()).await;
    let probed = first.runner.images().await.unwrap();
    let ids: BTreeSet<&str> = probed.iter().map(|image| image.id.as_str()).collect();
    assert_eq!(answers().len(), ids.len(), "one answer kept per image id");
    first.assert_none_left().await;

    for file in answers() {
        let answer = std::fs::read_to_string(&file).unwrap();
        assert!(answer.starts_with(r#"{"version":""#), "{answer}");
        std::fs::write(&file, answer.replacen(r#"{"version":""#, r#"{"version":"99."#, 1)).unwrap();
    }
    let second = engine_with(kept()).await;
    let recalled = second.runner.images().await.unwrap();
    assert_eq!(recalled.len(), probed.len());
    for (recalled, probed) in recalled.iter().zip(&probed) {
        assert_eq!(recalled.php_version, format!("99.{}", probed.php_version));
        assert_eq!(
            (&recalled.ini, &recalled.extensions),
            (&probed.ini, &probed.extensions)
        );
    }
    second.assert_none_left().await;

    let spoiled = &answers()[0];
    std::fs::write(spoiled, "not an answer").unwrap();
    let third = engine_with(kept()).await;
    let versions: BTreeSet<String> = third
        .runner
        .images()
        .await
        .unwrap()
        .into_iter()
        .map(|image| image.php_version)
        .collect();
    let asked_again: Vec<&String> = versions.iter().filter(|v| !v.starts_with("99.")).collect();
    assert_eq!(asked_again.len(), 1, "{versions:?}");
    assert!(std::fs::read_to_string(spoiled)
        .unwrap()
        .contains(asked_again[0].as_str()));
    third.assert_none_left().await;
}

#[tokio::test]
async fn only_discovered_images_resolve() {
    let engine = engine().await;
    for name in [
        "alpine",
        "php:8.2-cli --privileged",
        "../php:8.2-cli",
        "php:8.2-fpm",
    ] {
        let error = engine.runner.resolve(&[name.to_string()]).await.unwrap_err();
        assert!(matches!(error, ResolveError::UnknownImage(n) if n == name));
    }
    let full = engine.images(&["php:8.2-cli"]).await[0].php_version.clone();
    let alias = engine.images(&[&format!("php:{full}-cli")]).await;
    assert_eq!(alias[0].name, "php:8.2-cli", "the full-version tag is an alias");
}

#[tokio::test]
async fn loose_comparison_differs_between_php_7_and_8() {
    let engine = engine().await;
    let results = engine
        .run_all(
            &["php:7.4-cli", "php:8.2-cli", "php:8.4-cli", "php:8.5-cli"],
            r#"<?php var_dump(0 == "a");"#,
        )
        .await;
    assert_eq!(results.len(), 4);
    assert_eq!(result_for(&results, "php:7.4-cli").outcome.stdout, "bool(true)\n");
    for image in ["php:8.2-cli", "php:8.4-cli", "php:8.5-cli"] {
        let result = result_for(&results, image);
        assert_eq!(result.outcome.status, Status::Ok, "{result:?}");
        assert_eq!(result.outcome.stdout, "bool(false)\n", "{image}");
    }
    engine.assert_none_left().await;
}

#[tokio::test]
async fn exit_code_and_stderr_are_reported_apart_from_stdout() {
    let engine = engine().await;
    let result = engine
        .run(
            "php:8.4-cli",
            r#"<?php echo "out"; fwrite(STDERR, "err"); exit(3);"#,
        )
        .await;
    assert_eq!(result.outcome.status, Status::Exit);
    assert_eq!(result.outcome.exit_code, Some(3));
    assert_eq!(result.outcome.stdout, "out");
    assert_eq!(result.outcome.stderr, "err");
    engine.assert_none_left().await;
}

#[tokio::test]
async fn a_fatal_error_exits_255_with_the_message_inline_and_a_stable_path() {
    let engine = engine().await;
    let result = engine.run("php:8.2-cli", "<?php\nundefined_function();\n").await;
    assert_eq!(result.outcome.status, Status::Exit);
    assert_eq!(result.outcome.exit_code, Some(255));
    assert!(
        result
            .outcome
            .stdout
            .contains("Call to undefined function undefined_function()")
            && result.outcome.stdout.contains("/in/main.php:2"),
        "{}",
        result.outcome.stdout
    );
    engine.assert_none_left().await;
}

#[tokio::test]
async fn an_endless_loop_is_killed_at_the_time_limit() {
    let engine = engine_with(RunnerConfig {
        limits: SandboxLimits {
            timeout: Duration::from_secs(2),
            ..SandboxLimits::default()
        },
        ..unpooled()
    })
    .await;
    let result = engine.run("php:8.4-cli", "<?php while (true) {}").await;
    assert_eq!(result.outcome.status, Status::Timeout, "{result:?}");
    assert!(
        result.outcome.duration_ms >= 2000,
        "{}",
        result.outcome.duration_ms
    );
    engine.assert_none_left().await;
}

#[tokio::test]
async fn output_beyond_the_limit_is_cut_and_the_process_killed() {
    let engine = engine_with(RunnerConfig {
        limits: SandboxLimits {
            output_limit: 1000,
            ..SandboxLimits::default()
        },
        ..unpooled()
    })
    .await;
    let result = engine
        .run(
            "php:8.4-cli",
            r#"<?php while (true) { echo str_repeat("x", 4096); }"#,
        )
        .await;
    assert!(result.outcome.truncated);
    assert_eq!(result.outcome.stdout.len(), 1000);
    assert_eq!(
        result.outcome.status,
        Status::OutputLimit,
        "killed for its output, not its time"
    );
    assert_eq!(result.outcome.exit_code, None);
    engine.assert_none_left().await;
}

#[tokio::test]
async fn cpu_time_and_peak_memory_are_measured_by_the_kernel() {
    let engine = engine().await;
    let images = ["php:7.4-cli", "php:8.5-cli"];
    let idle = engine.run_all(&images, "<?php echo 1;").await;
    let busy = engine
        .run_all(
            &images,
            // 0.3 s of CPU by PHP's own count (not wall time, which a loaded machine stretches).
            r#"<?php $s = str_repeat("x", 40 << 20);
               $cpu = function () { $u = getrusage(); return $u["ru_utime.tv_sec"] + $u["ru_stime.tv_sec"]
                   + ($u["ru_utime.tv_usec"] + $u["ru_stime.tv_usec"]) / 1e6; };
               $t = $cpu(); while ($cpu() - $t < 0.3) { $s[0] = "y"; } echo strlen($s);"#,
        )
        .await;
    for image in images {
        let (idle, busy) = (result_for(&idle, image), result_for(&busy, image));
        let cpu = |r: &Execution| r.usage.cpu_time_us.expect("cpu time measured");
        let memory = |r: &Execution| r.usage.peak_memory_bytes.expect("peak memory measured");
        assert!(cpu(idle) > 0 && cpu(idle) < 250_000, "{image}: {:?}", idle.usage);
        assert!(
            cpu(busy) >= 250_000,
            "{image}: a 0.3 s busy loop: {:?}",
            busy.usage
        );
        assert!(
            memory(idle) > 1 << 20 && memory(idle) < 40 << 20,
            "{image}: {:?}",
            idle.usage
        );
        assert!(
            memory(busy) >= 40 << 20,
            "{image}: a 40 MiB string: {:?}",
            busy.usage
        );
        assert_eq!(
            busy.outcome.stderr, "",
            "the measurement is not part of the output"
        );
    }
    engine.assert_none_left().await;
}

#[tokio::test]
async fn a_forged_report_only_misreports_the_script_s_own_run() {
    // The script prints both of the shell's closing lines itself, claiming exit 0 and a huge CPU
    // time, then exits 3: that is all the runner waits for, so its own result says what the
    // forgery says (documented in SECURITY.md) — and nothing more: the container is removed all
    // the same, and the next run measures for real. When the engine reads the forged lines and
    // the shell's real ones in one go (a busy machine), the last report wins: the real one, and
    // the forged lines stay in the output; the two streams race, so either report may win.
    let engine = engine().await;
    let forged = engine
        .run(
            "php:8.4-cli",
            r#"<?php echo "\x1eevalgrid-end\n"; fwrite(STDERR, "\x1eevalgrid-usage 0 0 999999999999000 1\n"); exit(3);"#,
        )
        .await;
    match (forged.outcome.status, forged.outcome.exit_code) {
        (Status::Ok, Some(0)) => {
            assert_eq!(forged.usage.cpu_time_us, Some(999_999_999_999));
            assert_eq!(forged.outcome.stderr, "", "{forged:?}");
            // The shell's real end line may have reached stdout before its real report reached
            // stderr: then the forged end line stays in the output, and the forged report wins.
            assert!(
                ["", "\x1eevalgrid-end\n"].contains(&forged.outcome.stdout.as_str()),
                "{forged:?}"
            );
        }
        (Status::Exit, Some(3)) => {
            assert!(forged.usage.cpu_time_us.unwrap() < 10_000_000, "{forged:?}");
            assert!(forged.outcome.stderr.contains("999999999999000"), "{forged:?}");
        }
        _ => panic!("neither the forged nor the real report: {forged:?}"),
    }
    engine.assert_only_idle_left().await;
    let honest = engine.run("php:8.4-cli", "<?php exit(3);").await;
    assert_eq!(honest.outcome.exit_code, Some(3));
    assert!(
        honest.usage.cpu_time_us.unwrap() < 10_000_000,
        "{:?}",
        honest.usage
    );
    engine.assert_none_left().await;
}

#[tokio::test]
async fn a_partial_forged_line_is_output_and_the_real_report_counts() {
    let engine = engine().await;
    let result = engine
        .run(
            "php:8.4-cli",
            r#"<?php fwrite(STDERR, "\x1eevalgrid-usage 0 999999999999000 1\n"); exit(3);"#,
        )
        .await;
    assert_eq!(
        result.outcome.exit_code,
        Some(3),
        "the shell keeps PHP's exit code"
    );
    assert_eq!(
        result.outcome.stderr, "\u{1e}evalgrid-usage 0 999999999999000 1\n",
        "its own line is output"
    );
    assert!(
        result.usage.cpu_time_us.unwrap() < 10_000_000,
        "{:?}",
        result.usage
    );
    assert!(result.usage.peak_memory_bytes.unwrap() > 1, "{:?}", result.usage);
    engine.assert_none_left().await;
}

#[tokio::test]
async fn output_right_at_the_limit_is_kept_whole_and_not_cut() {
    let engine = engine_with(RunnerConfig {
        limits: SandboxLimits {
            output_limit: 1000,
            ..SandboxLimits::default()
        },
        ..unpooled()
    })
    .await;
    let result = engine
        .run(
            "php:8.4-cli",
            r#"<?php echo str_repeat("x", 1000); fwrite(STDERR, str_repeat("e", 1000));"#,
        )
        .await;
    assert_eq!(
        (result.outcome.status, result.outcome.truncated),
        (Status::Ok, false),
        "{result:?}"
    );
    assert_eq!(
        (result.outcome.stdout.len(), result.outcome.stderr.len()),
        (1000, 1000)
    );
    assert!(
        result.usage.cpu_time_us.is_some(),
        "the shell's report arrived too"
    );
    engine.assert_none_left().await;
}

#[tokio::test]
async fn a_memory_hog_is_stopped_by_php_or_the_kernel() {
    let engine = engine().await;
    // Within PHP's memory_limit: PHP's own fatal error.
    let result = engine
        .run("php:8.4-cli", r#"<?php $a = str_repeat("x", 200 * 1024 * 1024);"#)
        .await;
    assert_eq!(result.outcome.exit_code, Some(255));
    assert!(
        result.outcome.stdout.contains("Allowed memory size"),
        "{}",
        result.outcome.stdout
    );
    // Without PHP's limit: the container's cgroup limit.
    let result = engine
        .run(
            "php:8.4-cli",
            r#"<?php ini_set("memory_limit", "-1"); $a = []; while (true) { $a[] = str_repeat("x", 1 << 20); }"#,
        )
        .await;
    assert_eq!(result.outcome.status, Status::Oom, "{result:?}");
    engine.assert_none_left().await;
}

#[tokio::test]
async fn versions_run_concurrently() {
    let engine = engine().await;
    let results = engine
        .run_all(
            &["php:7.4-cli", "php:8.2-cli", "php:8.4-cli", "php:8.5-cli"],
            "<?php usleep(1500000);",
        )
        .await;
    let starts: Vec<_> = results
        .iter()
        .map(|r| r.started_at.expect("start time"))
        .collect();
    let ends: Vec<_> = results.iter().map(|r| r.finished_at.expect("end time")).collect();
    let last_start = starts.iter().max().unwrap();
    let first_end = ends.iter().min().unwrap();
    assert!(
        last_start < first_end,
        "every container started before any finished: starts {starts:?}, ends {ends:?}"
    );
    engine.assert_none_left().await;
}

#[tokio::test]
async fn dropping_a_run_removes_its_containers() {
    let engine = engine().await;
    let images = engine.images(&["php:8.2-cli", "php:8.4-cli"]).await;
    scenarios::dropping_a_run_removes_its_containers_and_frees_their_slots(&engine.runner, images).await;
    engine.assert_none_left().await;
}

#[tokio::test]
async fn an_image_removed_after_discovery_fails_alone() {
    // A distinct image (its own id) that is discovered, then removed before the run. In a
    // repository of its own, so that no test running alongside discovers it.
    let repository = format!("evalgrid-test/removed-{}", std::process::id());
    let name = format!("{repository}:0.1-cli");
    let engine = engine_with(RunnerConfig {
        repositories: vec![repository, "php".to_owned()],
        ..unpooled()
    })
    .await;
    let docker = |args: &[&str]| {
        let output = std::process::Command::new("docker").args(args).output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    };
    /// Takes the image away even when the test fails, so that no other test discovers it.
    struct RemovedAtEnd<'a>(&'a str);
    impl Drop for RemovedAtEnd<'_> {
        fn drop(&mut self) {
            let _ = std::process::Command::new("docker")
                .args(["rmi", "-f", self.0])
                .output();
        }
    }
    let _removed_at_end = RemovedAtEnd(&name);
    let scratch = docker(&["create", "php:8.4-cli"]);
    docker(&["commit", &scratch, &name]);
    docker(&["rm", &scratch]);
    let images = engine.images(&[&name, "php:8.2-cli"]).await;
    // The version probe's container goes in the background; the image is in use until then.
    engine.assert_only_idle_left().await;
    docker(&["rmi", &name]);

    let admission = engine.runner.admit(images).await.unwrap();
    let results: Vec<Execution> = engine.runner.run_all("<?php echo 1;", admission).collect().await;
    let removed = result_for(&results, &name);
    assert_eq!(removed.outcome.status, Status::Error);
    assert!(
        removed
            .message
            .as_deref()
            .unwrap()
            .contains("cannot create the container"),
        "{removed:?}"
    );
    assert_eq!(result_for(&results, "php:8.2-cli").outcome.status, Status::Ok);
    engine.assert_none_left().await;
}

/// Polls until the pool holds `count` started, idle containers.
async fn wait_for_pool(runner: &Runner, count: usize) {
    for _ in 0..100 {
        if runner.pooled() == count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the pool never reached {count}, it has {}", runner.pooled());
}

/// A pool of a fixed size (it does not grow with demand: the counts below stay exact).
fn pooled(pool_size: usize, max_containers: usize) -> RunnerConfig {
    RunnerConfig {
        pool_size,
        pool_max: pool_size,
        max_containers,
        ..unpooled()
    }
}

#[tokio::test]
async fn a_pooled_container_is_used_once_and_replaced() {
    let engine = engine_with(pooled(1, 16)).await;
    if engine.in_workers() {
        // Single-use pool behaviour; a worker's reuse is tested in workers.rs.
        return;
    }
    let images = engine.runner.images().await.unwrap().len();
    engine.runner.fill_pool().await.unwrap();
    wait_for_pool(&engine.runner, images).await;
    let before: BTreeSet<String> = engine.containers.wait_for(images).await.into_iter().collect();

    let result = engine
        .run("php:8.4-cli", "<?php echo getmypid() > 0 ? 'ran' : '?';")
        .await;
    assert_eq!(result.outcome.status, Status::Ok);
    assert_eq!(result.outcome.stdout, "ran");
    wait_for_pool(&engine.runner, images).await;
    let after: BTreeSet<String> = engine.containers.wait_for(images).await.into_iter().collect();
    let used: Vec<_> = before.difference(&after).collect();
    let fresh: Vec<_> = after.difference(&before).collect();
    assert_eq!(
        (used.len(), fresh.len()),
        (1, 1),
        "one pooled container used and removed, one started"
    );

    // The fresh one serves the next run, again once.
    let result = engine.run("php:8.4-cli", "<?php echo 'again';").await;
    assert_eq!(result.outcome.stdout, "again");
    wait_for_pool(&engine.runner, images).await;
    let later = engine.containers.wait_for(images).await;
    assert!(!later.contains(fresh[0]), "a pooled container never runs twice");

    assert!(engine.runner.shut_down(Duration::from_secs(5)).await);
    engine.assert_none_left().await;
}

#[tokio::test]
async fn an_empty_pool_falls_back_to_a_fresh_container_and_refills() {
    let engine = engine_with(pooled(1, 16)).await;
    if engine.in_workers() {
        // Single-use pool behaviour; a worker's reuse is tested in workers.rs.
        return;
    }
    let result = engine.run("php:8.2-cli", "<?php echo 'cold';").await;
    assert_eq!(result.outcome.stdout, "cold");
    wait_for_pool(&engine.runner, 1).await;
    engine.containers.wait_for(1).await;
    assert!(engine.runner.shut_down(Duration::from_secs(5)).await);
    engine.assert_none_left().await;
}

#[tokio::test]
async fn back_to_back_runs_grow_their_image_s_pool_up_to_its_most() {
    let engine = engine_with(RunnerConfig {
        pool_size: 1,
        pool_max: 3,
        max_containers: 16,
        ..unpooled()
    })
    .await;
    if engine.in_workers() {
        // Single-use pool behaviour; workers that follow demand are tested in workers.rs.
        return;
    }
    // Each run comes before the pool could refill: each finds it empty and grows it.
    for n in 0..4 {
        let result = engine.run("php:8.4-cli", &format!("<?php echo {n};")).await;
        assert_eq!(result.outcome.stdout, n.to_string());
    }
    wait_for_pool(&engine.runner, 3).await;
    engine.containers.wait_for(3).await;
    assert!(engine.runner.shut_down(Duration::from_secs(5)).await);
    engine.assert_none_left().await;
}

#[tokio::test]
async fn the_pool_stays_within_the_container_limit() {
    let engine = engine_with(pooled(2, 3)).await;
    engine.runner.fill_pool().await.unwrap();
    wait_for_pool(&engine.runner, 3).await;
    engine.containers.wait_for(3).await;
    // The keeper would go on if it could: watch the engine for a while to see that it does not.
    let census = Census::start(&engine.runner);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(census.most().await, 3, "4 images × 2 wanted, 3 allowed");
    assert!(engine.runner.shut_down(Duration::from_secs(5)).await);
    engine.assert_none_left().await;
}

/// An idle server with a full pool admits a run of every size up to the container limit,
/// again and again, and the engine never holds more containers than the limit.
async fn an_idle_pool_never_blocks_a_run(max_containers: usize, pool_size: usize) {
    let engine = engine_with(pooled(pool_size, max_containers)).await;
    let all = ["php:7.4-cli", "php:8.2-cli", "php:8.4-cli", "php:8.5-cli"];
    let images = engine.images(&all).await;
    engine.runner.fill_pool().await.unwrap();
    let full = (pool_size * all.len()).min(max_containers);
    scenarios::an_idle_pool_never_keeps_a_run_out(&engine.runner, &images, full).await;
    assert!(engine.runner.shut_down(Duration::from_secs(5)).await);
    engine.assert_none_left().await;
}

#[tokio::test]
async fn a_full_pool_of_one_per_image_gives_way_to_runs_within_four_containers() {
    an_idle_pool_never_blocks_a_run(4, 1).await;
}

#[tokio::test]
async fn a_pool_of_two_per_image_gives_way_to_runs_within_five_containers() {
    an_idle_pool_never_blocks_a_run(5, 2).await;
}

#[tokio::test]
async fn four_images_pooled_within_two_containers_still_admit_runs() {
    an_idle_pool_never_blocks_a_run(2, 1).await;
}

/// Images shaped like Docker Hub's official ones (built by scripts/build-fixture-images.sh):
/// the Debian layout under its default tag (`8.4`, no `-cli`), with the official entrypoint and
/// PHP only in /usr/local/bin, and the Alpine layout (busybox sh, static musl PHP).
#[tokio::test]
async fn official_and_alpine_layouts_are_discovered_told_apart_and_run_with_measurements() {
    let engine = engine_with(RunnerConfig {
        repositories: vec!["evalgrid-fixture/php".into()],
        ..unpooled()
    })
    .await;
    let images = engine.runner.images().await.unwrap();
    let found: Vec<(&str, &str, &str)> = images
        .iter()
        .map(|i| (i.name.as_str(), i.php_version.as_str(), i.variant.as_str()))
        .collect();
    assert_eq!(images.len(), 2, "{found:?}");
    let alpine = &images[0];
    let debian = &images[1];
    assert_eq!(
        (
            alpine.name.as_str(),
            alpine.php_version.as_str(),
            alpine.variant.as_str()
        ),
        ("evalgrid-fixture/php:8.4.5-cli-alpine", "8.4.5", "busybox 1.35"),
        "{found:?}"
    );
    assert_eq!(
        debian.name, "evalgrid-fixture/php:8.4",
        "the default tag names it"
    );
    assert!(debian.answers_to("evalgrid-fixture/php:8.4-cli-trixie"));
    assert!(debian.php_version.starts_with("8.4."), "{found:?}");
    assert_eq!(debian.variant, "debian 13");
    for image in &images {
        assert!(image.extensions.iter().any(|e| e == "mbstring"), "{image:?}");
    }
    assert!(
        !alpine.extensions.iter().any(|e| e == "posix"),
        "the static build has no posix"
    );

    let results = engine
        .run_all(
            &[&alpine.name, &debian.name],
            "<?php echo PHP_BINARY, ' ', str_repeat('x', 3), PHP_EOL; fwrite(STDERR, 'err'); exit(3);",
        )
        .await;
    for result in &results {
        assert_eq!(result.outcome.status, Status::Exit, "{result:?}");
        assert_eq!(result.outcome.exit_code, Some(3));
        assert_eq!(result.outcome.stdout, "/usr/local/bin/php xxx\n");
        assert_eq!(result.outcome.stderr, "err");
        assert!(result.usage.cpu_time_us.is_some_and(|us| us > 0), "{result:?}");
        assert!(
            result.usage.peak_memory_bytes.is_some_and(|b| b > 0),
            "{result:?}"
        );
    }
    engine.assert_none_left().await;
}

const EVERY_VERSION: [&str; 4] = ["php:7.4-cli", "php:8.2-cli", "php:8.4-cli", "php:8.5-cli"];

impl Engine {
    async fn run_script(&self, images: &[&str], script: runner::Script) -> Vec<Execution> {
        let images = self.images(images).await;
        let admission = self.runner.admit(images).await.unwrap();
        self.runner.run_all(script, admission).collect().await
    }
}

#[tokio::test]
async fn stdin_reaches_the_script_on_every_version_byte_for_byte() {
    let engine = engine().await;
    let code = r#"<?php
$first = fgets(STDIN);
$rest = stream_get_contents(STDIN);
echo json_encode([$first, $rest, feof(STDIN)], JSON_UNESCAPED_UNICODE);"#;
    let stdin = "first line\n  spaced \\ back\\slash\r\n\n€ and a last line without newline";
    let results = engine
        .run_script(
            &EVERY_VERSION,
            runner::Script {
                stdin: stdin.into(),
                ..runner::Script::from(code)
            },
        )
        .await;
    let (first, rest) = stdin.split_at(stdin.find('\n').unwrap() + 1);
    let expected = serde_json::json!([first, rest, true]).to_string();
    for result in &results {
        assert_eq!(result.outcome.status, Status::Ok, "{result:?}");
        assert_eq!(result.outcome.stdout, expected, "{result:?}");
    }
    // Without stdin the script reads an empty STDIN at once (it never waits for input).
    let empty = engine
        .run_script(
            &["php:8.4-cli"],
            runner::Script::from("<?php var_dump(fgets(STDIN));"),
        )
        .await;
    assert_eq!(empty[0].outcome.stdout, "bool(false)\n", "{:?}", empty[0]);
    engine.assert_none_left().await;
}

#[tokio::test]
async fn a_fixed_clock_gives_every_dynamically_linked_php_the_same_time_and_a_static_one_says_it_could_not() {
    let engine = engine_with(RunnerConfig {
        repositories: vec!["php".into(), "evalgrid-fixture/php".into()],
        ..unpooled()
    })
    .await;
    let fixed = time::OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
    let script = runner::Script {
        clock: Some(fixed),
        ..runner::Script::from("<?php echo date(DATE_ATOM), ' ', time(), ' ', (new DateTime())->format('Y'), ' ', (int) microtime(true);")
    };
    let static_php = "evalgrid-fixture/php:8.4.5-cli-alpine";
    let mut names = EVERY_VERSION.to_vec();
    names.extend(["evalgrid-fixture/php:8.4", static_php]);
    let images = engine.images(&names).await;
    for image in &images {
        assert_eq!(image.fixed_clock, image.name != static_php, "{image:?}");
    }
    let results = engine.run_script(&names, script.clone()).await;
    for result in &results {
        assert_eq!(result.outcome.status, Status::Ok, "{result:?}");
        if result.image == static_php {
            assert_eq!(result.fixed_clock, Some(false), "{result:?}");
            assert!(!result.outcome.stdout.starts_with("2023-11-14"), "{result:?}");
        } else {
            assert_eq!(result.fixed_clock, Some(true), "{result:?}");
            assert_eq!(
                result.outcome.stdout, "2023-11-14T22:13:20+00:00 1700000000 2023 1700000000",
                "{result:?}"
            );
            assert_eq!(result.outcome.stderr, "", "{result:?}");
        }
    }
    // The clock advances from there, and only the wall clock moves.
    let advancing = engine
        .run_script(
            &["php:8.4-cli"],
            runner::Script {
                code: "<?php $t = microtime(true); $h = hrtime(true); usleep(300000); \
                       printf('%.1f %d', microtime(true) - $t, (hrtime(true) - $h) > 250e6);"
                    .into(),
                ..script.clone()
            },
        )
        .await;
    assert_eq!(advancing[0].outcome.stdout, "0.3 1", "{:?}", advancing[0]);
    // Without a fixed clock, the real time (and no word about the clock).
    let real = engine
        .run("php:8.4-cli", "<?php echo date('Y') >= 2026 ? 'now' : 'fixed';")
        .await;
    assert_eq!(
        (real.outcome.stdout.as_str(), real.fixed_clock),
        ("now", None),
        "{real:?}"
    );
    engine.assert_none_left().await;
}

/// Every runner installs the fixed clock's library once for itself; one that starts while
/// others run (another instance, a restart) must not replace it under them, since the engine
/// replaces a file by removing it first and a PHP starting then would get the real time.
#[tokio::test]
async fn a_runner_that_starts_later_leaves_the_clock_library_in_place() {
    let stat = runner::Script {
        clock: time::OffsetDateTime::from_unix_timestamp(1_700_000_000).ok(),
        ..runner::Script::from(
            "<?php $f = '/opt/evalgrid-clock/clock.so'; echo filectime($f), ' ', fileinode($f), ' ', time();",
        )
    };
    let first = engine().await;
    let before = first.run_script(&["php:8.4-cli"], stat.clone()).await.remove(0);
    assert!(before.outcome.stdout.ends_with(" 1700000000"), "{before:?}");
    // A change would show in the file's change time (whole seconds).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let later = engine().await;
    let after = later.run_script(&["php:8.4-cli"], stat).await.remove(0);
    assert_eq!(after.outcome.stdout, before.outcome.stdout, "{after:?}");
    first.assert_none_left().await;
    later.assert_none_left().await;
}

#[tokio::test]
async fn opcodes_are_shown_for_every_version_without_running_the_script_and_a_php_without_opcache_says_so() {
    let engine = engine_with(RunnerConfig {
        repositories: vec!["php".into(), "evalgrid-fixture/php".into()],
        ..unpooled()
    })
    .await;
    let code =
        "<?php\nfunction add($a) { return $a + 1; }\necho add(2);\nfile_put_contents('/tmp/ran', 'x');\n";
    let static_php = "evalgrid-fixture/php:8.4.5-cli-alpine";
    let mut names = EVERY_VERSION.to_vec();
    names.push(static_php);
    for (show, stage) in [
        (runner::Show::Opcodes, "(after optimizer)"),
        (runner::Show::OpcodesUnoptimized, "(before optimizer)"),
    ] {
        let results = engine
            .run_script(
                &names,
                runner::Script {
                    show,
                    ..runner::Script::from(code)
                },
            )
            .await;
        for result in &results {
            if result.image == static_php {
                assert_eq!(result.outcome.status, Status::Error, "{result:?}");
                assert!(
                    result.message.as_deref().unwrap().contains("no OPcache"),
                    "{result:?}"
                );
                continue;
            }
            assert_eq!(result.outcome.status, Status::Ok, "{result:?}");
            assert!(
                result.outcome.stdout.contains(stage),
                "{}: {}",
                result.image,
                result.outcome.stdout
            );
            assert!(
                result.outcome.stdout.contains("$_main:"),
                "{}",
                result.outcome.stdout
            );
            assert!(
                result.outcome.stdout.contains("\nadd:"),
                "{}",
                result.outcome.stdout
            );
            // Compiled, not run: the script's own output never appears.
            assert!(
                !result.outcome.stdout.contains("\n3"),
                "{}",
                result.outcome.stdout
            );
            assert_eq!(result.outcome.stderr, "");
        }
        let dump = |image: &str| &result_for(&results, image).outcome.stdout;
        assert_ne!(
            dump("php:7.4-cli"),
            dump("php:8.5-cli"),
            "the versions compile differently"
        );
    }
    // A parse error is reported like a run's.
    let broken = engine
        .run_script(
            &["php:8.4-cli"],
            runner::Script {
                show: runner::Show::Opcodes,
                ..runner::Script::from("<?php echo (;")
            },
        )
        .await;
    assert!(
        broken[0].outcome.stdout.contains("Parse error"),
        "{:?}",
        broken[0]
    );
    engine.assert_none_left().await;
}

#[tokio::test]
async fn a_syntax_check_runs_nothing_and_reports_each_version_s_parser() {
    let engine = engine().await;
    let lint = |code: &str| runner::Script {
        show: runner::Show::Lint,
        ..runner::Script::from(code)
    };
    // Valid everywhere: nothing runs, so neither the echo nor the file appears.
    let fine = "<?php\necho 'ran';\nfile_put_contents('/tmp/ran', 'x');\n";
    for result in engine.run_script(&EVERY_VERSION, lint(fine)).await {
        assert_eq!(
            (result.outcome.status, result.outcome.exit_code),
            (Status::Ok, Some(0)),
            "{result:?}"
        );
        assert!(
            result.outcome.stdout.contains("No syntax errors detected"),
            "{result:?}"
        );
        assert!(!result.outcome.stdout.contains("ran"), "{result:?}");
    }
    // Property hooks parse from PHP 8.4 on: the older parsers say where they fail.
    let hooks = "<?php\nclass A {\n    public int $x { get => 1; }\n}\n";
    let results = engine.run_script(&EVERY_VERSION, lint(hooks)).await;
    for result in &results {
        let parses = result.php_version.as_str() >= "8.4";
        let shown = format!("{}{}", result.outcome.stdout, result.outcome.stderr);
        match parses {
            true => assert_eq!(result.outcome.status, Status::Ok, "{result:?}"),
            false => {
                assert_eq!(
                    (result.outcome.status, result.outcome.exit_code),
                    (Status::Exit, Some(255)),
                    "{result:?}"
                );
                assert!(
                    shown.contains("Parse error") && shown.contains("on line 3"),
                    "{result:?}"
                );
            }
        }
    }
    engine.assert_none_left().await;
}

#[tokio::test]
async fn a_run_s_own_ini_settings_apply_after_evalgrid_s_and_unknown_ones_are_refused_per_version() {
    let engine = engine().await;
    let code = r#"<?php
echo ini_get('precision'), ' ', ini_get('error_reporting') == (E_ALL & ~E_DEPRECATED) ? 'custom' : 'all', ' ',
    ini_get('ffi.enable'), ' ', var_export(function_exists('opcache_get_status') && (opcache_get_status()['jit']['on'] ?? false), true);"#;
    let ini = |settings: &[(&str, &str)]| runner::Script {
        ini: settings
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        ..runner::Script::from(code)
    };
    let plain = engine.run_script(&["php:8.4-cli"], ini(&[])).await;
    assert_eq!(plain[0].outcome.stdout, "14 all 0 false", "{:?}", plain[0]);
    let settings = [
        ("precision", "17"),
        ("error_reporting", "E_ALL & ~E_DEPRECATED"),
        ("opcache.enable_cli", "1"),
        ("opcache.jit", "tracing"),
        ("opcache.jit_buffer_size", "16M"),
    ];
    let results = engine.run_script(&EVERY_VERSION, ini(&settings)).await;
    for result in &results {
        if result.image == "php:7.4-cli" {
            // No JIT before PHP 8: the version says so instead of running without it.
            assert_eq!(result.outcome.status, Status::Error, "{result:?}");
            assert!(
                result
                    .message
                    .as_deref()
                    .unwrap()
                    .contains("no ini setting \"opcache.jit\""),
                "{result:?}"
            );
        } else {
            assert_eq!(result.outcome.stdout, "17 custom 0 true", "{result:?}");
        }
    }
    engine.assert_none_left().await;
}

/// Issue 29: one baseline on every image shape, whatever its own `php.ini` — Debian's
/// (production settings), the official layout's (the same binary, moved), none (the static
/// Alpine-like build): every behaviour setting reads the same, and so does a script that
/// depends on them, but for what PHP's own defaults change between versions (8.0 made
/// `assert.exception` 1 and added `zend.exception_string_param_max_len`).
#[tokio::test]
async fn every_image_shape_runs_under_one_ini_baseline() {
    let engine = engine_with(RunnerConfig {
        repositories: vec!["php".into(), "evalgrid-fixture/php".into()],
        ..unpooled()
    })
    .await;
    let mut names = EVERY_VERSION.to_vec();
    names.extend([
        "evalgrid-fixture/php:8.4",
        "evalgrid-fixture/php:8.4.5-cli-alpine",
    ]);
    let images = engine.images(&names).await;
    // As the version probe recorded them. Three shapes of 8.4 (Debian's php.ini, the official
    // layout, no php.ini at all) agree on every setting.
    let behaviour = |image: &Image| -> Vec<(&str, Option<String>)> {
        runner::BEHAVIOUR_INI
            .iter()
            .map(|&setting| (setting, image.ini.get(setting).cloned()))
            .collect()
    };
    let of_84: Vec<&Image> = images
        .iter()
        .filter(|image| image.php_version.starts_with("8.4."))
        .collect();
    assert_eq!(of_84.len(), 3);
    for image in &of_84[1..] {
        assert_eq!(
            behaviour(image),
            behaviour(of_84[0]),
            "{} and {}",
            image.name,
            of_84[0].name
        );
    }
    // Across versions, only what PHP's own defaults change.
    let reference = images.iter().find(|image| image.name == "php:8.4-cli").unwrap();
    for image in &images {
        let version = runner::version_key(&image.php_version);
        let before = |release: &str| version < runner::version_key(release);
        for &setting in runner::BEHAVIOUR_INI {
            let (value, wanted) = (image.ini.get(setting), reference.ini.get(setting));
            let value = value.map(String::as_str);
            match setting {
                // New in 8.0.
                "zend.exception_string_param_max_len" if before("8.0.0") => assert_eq!(value, None),
                // A failed assert() throws from 8.0 on.
                "assert.exception" if before("8.0.0") => assert_eq!(value, Some("0")),
                // E_ALL everywhere: 32767 with E_STRICT (before 8.4), 30719 without it.
                "error_reporting" if before("8.4.0") => assert_eq!(value, Some("32767")),
                // Off by default from 8.5 ($argv is still set on the command line).
                "register_argc_argv" if !before("8.5.0") => assert_eq!(value, Some("0")),
                _ => assert_eq!(
                    value,
                    wanted.map(String::as_str),
                    "{setting} on {} and {}",
                    image.name,
                    reference.name
                ),
            }
        }
    }
    // FFI stays off wherever it is built (not in the static build).
    for image in &images {
        let ffi = image.ini.get("ffi.enable").map(String::as_str);
        assert_eq!(
            ffi.is_some(),
            image.extensions.iter().any(|e| e == "FFI"),
            "{}",
            image.name
        );
        assert!(
            matches!(ffi, None | Some("0")),
            "{}: ffi.enable={ffi:?}",
            image.name
        );
    }
    let setting = |name: &str| reference.ini.get(name).map(String::as_str);
    assert_eq!(
        [
            "zend.assertions",
            "zend.exception_ignore_args",
            "short_open_tag",
            "ffi.enable"
        ]
        .map(setting),
        [Some("1"), Some("0"), Some("1"), Some("0")]
    );
    // Issue 29's snippet: assertions, trace arguments, short tags.
    let code = include_str!("fixtures/depends_on_php_ini.php");
    let results = engine.run_all(&names, code).await;
    for result in &results {
        let assert = match result.php_version.starts_with("7.") {
            true => "off",
            false => "on",
        };
        assert_eq!(
            (
                result.outcome.status,
                result.outcome.stdout.as_str(),
                result.outcome.stderr.as_str()
            ),
            (
                Status::Ok,
                format!("1 0 1\nassert {assert}\n#0 /in/main.php(5): f('secret')\n#1 {{main}}\n").as_str(),
                ""
            ),
            "{}",
            result.image
        );
    }
    engine.assert_none_left().await;
}
