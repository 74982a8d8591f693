//! Runs in workers (fresh namespaces per run inside a long-lived container per image) against
//! the real engine. The engine suite (`engine.rs`) runs in workers too and shows that the
//! results are the same as in single-use containers; this one shows what reuse must never
//! give away: nothing a run leaves behind reaches the next run on the same worker, a run cannot
//! reach the supervisor, and a worker a run broke is replaced. Every test runs its scripts on
//! one worker (one image, a pool of one, one run at a time) and checks, by the container's host
//! name, that they did share it.

use futures::StreamExt;
use runner::testing::{fresh_instance_id, Containers};
use runner::{Execution, Isolation, Runner, RunnerConfig, SandboxLimits, Script, Status};
use std::time::Duration;

/// The image every test runs on: Debian's PHP, with pcntl, posix, shmop, sysvshm, perl and
/// util-linux, the tools an attacker would use.
const IMAGE: &str = "php:8.4-cli";

/// Prints the worker's host name (its container's), then runs the rest of the script.
const HOST: &str = "<?php echo gethostname(), \"\\n\"; ";

struct Worker {
    runner: Runner,
    containers: Containers,
}

impl Worker {
    fn new() -> Self {
        Self::with(RunnerConfig::default())
    }

    fn with(config: RunnerConfig) -> Self {
        let config = RunnerConfig {
            instance_id: fresh_instance_id(),
            isolation: Isolation::Namespaces,
            pool_size: 1,
            max_containers: 2,
            ..config
        };
        let containers = Containers::of(&config.instance_id);
        Self {
            runner: Runner::new(config),
            containers,
        }
    }

    /// Runs `script` (after [`HOST`]); returns the host name it ran on and the result with the
    /// host name taken off its output.
    async fn run(&self, script: impl Into<Script>) -> (String, Execution) {
        let mut script = script.into();
        script.code = format!("{HOST}{}", script.code.trim_start_matches("<?php"));
        let images = self.runner.resolve(&[IMAGE.to_owned()]).await.unwrap();
        let admission = self.runner.admit(images).await.unwrap();
        let mut results = std::pin::pin!(self.runner.run_all(script, admission));
        let mut result = results.next().await.unwrap();
        let (host, rest) = result.outcome.stdout.split_once('\n').unwrap_or_default();
        let host = host.to_owned();
        result.outcome.stdout = rest.to_owned();
        (host, result)
    }

    /// Runs `first`, then `second` on the same worker; returns both results.
    async fn one_after_another(&self, first: &str, second: &str) -> (Execution, Execution) {
        let (host, first) = self.run(first).await;
        assert_eq!(first.outcome.status, Status::Ok, "{first:?}");
        let (again, second) = self.run(second).await;
        assert_eq!(host, again, "the two runs had different workers");
        (first, second)
    }

    async fn stop(self) {
        assert!(self.runner.shut_down(Duration::from_secs(30)).await);
        self.containers.assert_none_left().await;
    }
}

#[tokio::test]
async fn a_worker_serves_runs_one_after_another_and_every_version_gets_its_own() {
    let worker = Worker::with(RunnerConfig {
        max_containers: 4,
        ..RunnerConfig::default()
    });
    let images = worker
        .runner
        .resolve(&["php:8.4-cli".into(), "php:7.4-cli".into()])
        .await
        .unwrap();
    let mut hosts = Vec::new();
    for round in 0..3 {
        let admission = worker.runner.admit(images.clone()).await.unwrap();
        let code = format!("<?php echo gethostname(), ' {round} ', PHP_VERSION;");
        let results: Vec<Execution> = worker.runner.run_all(code, admission).collect().await;
        for result in &results {
            assert_eq!(result.outcome.status, Status::Ok, "{result:?}");
            assert!(
                result
                    .outcome
                    .stdout
                    .contains(&format!(" {round} {}", result.php_version)),
                "{result:?}"
            );
            hosts.push(result.outcome.stdout.split(' ').next().unwrap().to_owned());
        }
    }
    hosts.sort();
    hosts.dedup();
    assert_eq!(hosts.len(), 2, "one worker per version, reused: {hosts:?}");
    assert_eq!(worker.containers.count().await, 2);
    worker.stop().await;
}

#[tokio::test]
async fn files_written_anywhere_never_reach_the_next_run() {
    let worker = Worker::new();
    // Every place a run might write: its own, the home and working directories, the usual
    // shared ones.
    let places = "$places = ['/in/left', '/tmp/left', '/dev/shm/left', '/var/tmp/left', '/run/lock/left', \
                  '/dev/mqueue/left', getcwd() . '/left', (getenv('HOME') ?: '/') . '/left.home'];";
    let (first, second) = worker
        .one_after_another(
            &format!("<?php {places} foreach ($places as $p) {{ if (@file_put_contents($p, 'x') === 1) echo $p, ' '; }}"),
            &format!("<?php {places} foreach ($places as $p) {{ if (file_exists($p)) echo 'FOUND ', $p, ' '; }} echo 'done';"),
        )
        .await;
    // The run could write where a run may, so there was something to find.
    assert!(
        first.outcome.stdout.contains("/in/left") && first.outcome.stdout.contains("/tmp/left"),
        "{first:?}"
    );
    assert_eq!(second.outcome.stdout, "done", "{second:?}");
    worker.stop().await;
}

#[tokio::test]
async fn a_background_process_dies_with_its_run() {
    let worker = Worker::new();
    let (_, second) = worker
        .one_after_another(
            // Detached from the run's shell, in a session of its own, its output elsewhere.
            "<?php exec('setsid sh -c \"sleep 2; echo late > /tmp/late\" > /dev/null 2>&1 &'); \
             exec('setsid sleep 300 > /dev/null 2>&1 &'); echo 'started';",
            "<?php sleep(3); $procs = []; foreach (glob('/proc/[0-9]*') as $p) { $procs[] = trim(str_replace(\"\\0\", ' ', (string) @file_get_contents(\"$p/cmdline\"))); } \
             echo file_exists('/tmp/late') ? 'LATE' : 'no late file', '; ', count(array_filter($procs, fn ($c) => str_contains($c, 'sleep'))), ' sleeping';",
        )
        .await;
    assert_eq!(second.outcome.stdout, "no late file; 0 sleeping", "{second:?}");
    worker.stop().await;
}

#[tokio::test]
async fn shared_memory_semaphores_and_message_queues_never_reach_the_next_run() {
    let worker = Worker::new();
    let (first, second) = worker
        .one_after_another(
            "<?php $m = shmop_open(0x4556414c, 'c', 0644, 64); shmop_write($m, 'secret', 0); \
             $s = sem_get(0x4556414d); msg_send(msg_get_queue(0x4556414e), 1, 'secret'); \
             echo $m && $s ? 'made' : 'refused'; \
             exec('setsid sh -c \"ipcmk -M 4096; sleep 300\" > /dev/null 2>&1 &');",
            "<?php echo @shmop_open(0x4556414c, 'a', 0, 0) ? 'SHM ' : '', \
             msg_stat_queue(msg_get_queue(0x4556414e))['msg_qnum'] > 0 ? 'QUEUE ' : '', \
             trim(shell_exec('ipcs -m | grep -c 0x') ?? ''), ' segments';",
        )
        .await;
    assert_eq!(first.outcome.stdout, "made", "{first:?}");
    assert_eq!(second.outcome.stdout, "0 segments", "{second:?}");
    worker.stop().await;
}

#[tokio::test]
async fn environment_working_directory_and_file_locks_start_fresh() {
    let worker = Worker::new();
    let (_, before) = worker
        .run("<?php echo getcwd(), ' ', getenv('EVIL') === false ? 'clean' : 'EVIL';")
        .await;
    let (_, second) = worker
        .one_after_another(
            // A lock on a file every run can open (the image's own, read-only), held on by a
            // process that outlives the run if anything does.
            "<?php putenv('EVIL=1'); chdir('/tmp'); $f = fopen('/etc/hostname', 'r'); flock($f, LOCK_EX); \
             exec('setsid flock /etc/passwd sleep 300 > /dev/null 2>&1 &'); usleep(200000); echo 'locked';",
            "<?php $f = fopen('/etc/passwd', 'r'); $g = fopen('/etc/hostname', 'r'); \
             echo getcwd(), ' ', getenv('EVIL') === false ? 'clean' : 'EVIL', ' ', \
             flock($f, LOCK_EX | LOCK_NB) && flock($g, LOCK_EX | LOCK_NB) ? 'unlocked' : 'LOCKED';",
        )
        .await;
    assert_eq!(
        second.outcome.stdout,
        format!("{} unlocked", before.outcome.stdout),
        "{second:?}"
    );
    worker.stop().await;
}

#[tokio::test]
async fn a_run_sees_only_its_own_processes_and_cannot_reach_the_supervisor() {
    let worker = Worker::new();
    let (host, probe) = worker
        .run(
            r#"<?php $pids = array_map('basename', glob('/proc/[0-9]*')); sort($pids, SORT_NUMERIC);
            echo $pids[0], ' ', count($pids) < 6 ? 'few' : 'MANY:' . implode(',', $pids), ' ';
            foreach (['/proc/1/mem', '/proc/1/environ', '/proc/1/maps', '/proc/1/fd/0', '/proc/1/root/etc'] as $p) {
                echo @file_get_contents($p, false, null, 0, 1) === false && !@is_dir($p) ? '' : "READ $p ";
            }
            echo trim(shell_exec("perl -e 'print syscall(101, 0, 1, 0, 0) == -1 ? q(no ptrace) : q(PTRACE)'")), ' ';
            flush();
            // Every process it can name, its own shell and init included: the run ends here.
            for ($pid = 1; $pid < 4096; $pid++) { if ($pid !== getmypid()) @posix_kill($pid, SIGKILL); }
            posix_kill(getmypid(), SIGKILL);"#,
        )
        .await;
    assert_eq!(probe.outcome.stdout, "1 few no ptrace ", "{probe:?}");
    // The supervisor lived through every signal the run could send: the next run is its.
    let (again, next) = worker.run("<?php echo 'still here';").await;
    assert_eq!((again, next.outcome.stdout.as_str()), (host, "still here"));
    worker.stop().await;
}

#[tokio::test]
async fn namespace_and_mount_calls_fail_for_php_in_a_worker() {
    let worker = Worker::new();
    // x86_64 numbers: unshare 272, mount 165, setns 308, pivot_root 155, umount2 166, clone 56
    // (with CLONE_NEWUSER); each through perl's syscall, which reaches any call.
    let (_, result) = worker
        .run(
            r#"<?php $perl = <<<'PERL'
            my %c = (unshare => [272, 0x10000000], mount => [165, "none", "/tmp", "tmpfs", 0, 0],
                     setns => [308, 0, 0], pivot_root => [155, "/tmp", "/tmp"], umount2 => [166, "/tmp", 0],
                     clone => [56, 0x10000000 | 17, 0, 0, 0, 0]);
            for my $name (sort keys %c) { my ($n, @a) = @{$c{$name}}; my $r = syscall($n, @a); print "$name=", ($r == -1 ? $! + 0 : "ALLOWED"), " "; }
            PERL;
            echo shell_exec('perl -e ' . escapeshellarg($perl)), trim(shell_exec('unshare -r id 2>/dev/null; echo $?'));"#,
        )
        .await;
    // EPERM (1) for each call; the unshare tool fails too.
    assert!(
        result
            .outcome
            .stdout
            .starts_with("clone=1 mount=1 pivot_root=1 setns=1 umount2=1 unshare=1 "),
        "{result:?}"
    );
    assert!(!result.outcome.stdout.ends_with(" 0"), "{result:?}");
    worker.stop().await;
}

#[tokio::test]
async fn a_run_that_exhausts_memory_or_processes_leaves_a_clean_worker_for_the_next() {
    let worker = Worker::with(RunnerConfig {
        limits: SandboxLimits {
            memory_bytes: 96 * 1024 * 1024,
            pids_limit: 32,
            ..SandboxLimits::default()
        },
        ..RunnerConfig::default()
    });
    let (first_host, _) = worker.run("<?php echo 'warm';").await;
    let hog = Script {
        ini: vec![("memory_limit".into(), "-1".into())],
        ..Script::from("<?php $a = []; while (true) { $a[] = str_repeat('x', 1 << 20); }")
    };
    let (_, hogged) = worker.run(hog).await;
    assert_eq!(hogged.outcome.status, Status::Oom, "{hogged:?}");
    let (after_oom, clean) = worker.run("<?php echo 'clean ', count(glob('/tmp/*'));").await;
    assert_eq!(clean.outcome.stdout, "clean 0", "{clean:?}");
    assert_ne!(
        after_oom, first_host,
        "a worker whose run was OOM-killed is replaced"
    );
    let (_, forked) = worker
        .run("<?php $n = 0; while ($n < 200 && pcntl_fork() >= 0) { $n++; } echo 'forks stopped at ', $n < 200 ? 'the limit' : 'NONE';")
        .await;
    assert!(
        forked.outcome.stdout.contains("forks stopped at the limit"),
        "{forked:?}"
    );
    let (after_forks, clean) = worker
        .run("<?php echo count(glob('/proc/[0-9]*')) < 6 ? 'clean' : 'CROWDED';")
        .await;
    assert_eq!(clean.outcome.stdout, "clean", "{clean:?}");
    assert_ne!(
        after_forks, after_oom,
        "a worker whose run hit the process limit is replaced"
    );
    worker.stop().await;
}

#[tokio::test]
async fn a_timed_out_run_is_killed_with_everything_it_started_and_its_worker_replaced() {
    let worker = Worker::with(RunnerConfig {
        limits: SandboxLimits {
            timeout: Duration::from_secs(2),
            ..SandboxLimits::default()
        },
        ..RunnerConfig::default()
    });
    let (first_host, looped) = worker
        .run("<?php exec('setsid sleep 300 > /dev/null 2>&1 &'); while (true) {}")
        .await;
    assert_eq!(looped.outcome.status, Status::Timeout, "{looped:?}");
    let (next_host, next) = worker.run("<?php echo 'next';").await;
    assert_eq!(next.outcome.stdout, "next");
    assert_ne!(next_host, first_host);
    worker.stop().await;
}

#[tokio::test]
async fn a_worker_is_replaced_after_its_most_runs() {
    let worker = Worker::with(RunnerConfig {
        worker_runs: 2,
        ..RunnerConfig::default()
    });
    let mut hosts = Vec::new();
    for _ in 0..4 {
        hosts.push(worker.run("<?php echo 1;").await.0);
    }
    assert_eq!(hosts[0], hosts[1]);
    assert_ne!(hosts[1], hosts[2]);
    assert_eq!(hosts[2], hosts[3]);
    worker.stop().await;
}

#[tokio::test]
async fn the_isolation_check_passes_here_and_a_single_use_runner_needs_none() {
    let worker = Worker::new();
    assert_eq!(worker.runner.check_isolation().await, Ok(()));
    worker.stop().await;
    let single_use = Runner::new(RunnerConfig::default());
    assert_eq!(single_use.isolation(), Isolation::Containers);
    assert_eq!(single_use.check_isolation().await, Ok(()));
}

fn docker(args: &[&str]) -> String {
    let output = std::process::Command::new("docker")
        .args(args)
        .output()
        .expect("docker CLI");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Starts a run that sleeps, waits until it is under way, and does `fault` to the worker it
/// runs in (by container id: the one whose processes include the run's `sleep`); returns the
/// run's result.
async fn fault_mid_run(worker: &Worker, fault: impl FnOnce(&str)) -> Execution {
    let (_, warm) = worker.run("<?php echo 'warm';").await;
    assert_eq!(warm.outcome.stdout, "warm");
    let run = worker.run("<?php echo 'started'; flush(); exec('sleep 21'); echo 'NEVER';");
    let faulted = async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let ids = worker.containers.ids().await;
        let serving = ids.iter().find(|id| docker(&["top", id]).contains("sleep 21"));
        fault(serving.expect("the worker serving the run"));
    };
    let ((_, result), ()) = tokio::join!(run, faulted);
    result
}

#[tokio::test]
async fn a_supervisor_killed_mid_run_fails_that_run_clearly_and_the_next_gets_a_new_worker() {
    let worker = Worker::new();
    let result = fault_mid_run(&worker, |id| {
        // As the worker's own user (root there has no capabilities): the supervisor is the
        // child of the container's init, its runs' inits are its children.
        let user = docker(&["inspect", "--format", "{{.Config.User}}", id]);
        let find = "for p in /proc/[0-9]*; do set -- $(cat $p/stat); \
                    [ \"$4\" = 1 ] && grep -q evalgrid-supervisor $p/cmdline && echo ${p#/proc/}; done";
        let pid = docker(&["exec", "--user", &user, id, "sh", "-c", find]);
        assert!(!pid.is_empty(), "no supervisor found in {id}");
        docker(&["exec", "--user", &user, id, "sh", "-c", &format!("kill -9 {pid}")]);
    })
    .await;
    assert_eq!(result.outcome.status, Status::Error, "{result:?}");
    assert!(
        result
            .message
            .as_deref()
            .unwrap_or("")
            .contains("the worker failed"),
        "{result:?}"
    );
    let (_, next) = worker.run("<?php echo 'next';").await;
    assert_eq!(next.outcome.stdout, "next", "{next:?}");
    worker.stop().await;
}

#[tokio::test]
async fn a_worker_killed_or_removed_behind_evalgrid_s_back_is_replaced() {
    let worker = Worker::new();
    let result = fault_mid_run(&worker, |id| {
        docker(&["kill", id]);
    })
    .await;
    assert_eq!(result.outcome.status, Status::Error, "{result:?}");
    let (host, next) = worker.run("<?php echo 'next';").await;
    assert_eq!(next.outcome.stdout, "next", "{next:?}");
    // Removed while it waited in the pool: the next run gets another, and says nothing of it.
    // The killed worker's removal may still be under way when the next run is done.
    let mut idle = worker.containers.ids().await;
    for _ in 0..40 {
        if idle.len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        idle = worker.containers.ids().await;
    }
    assert_eq!(idle.len(), 1, "the killed worker was never removed: {idle:?}");
    docker(&["rm", "-f", &idle[0]]);
    let (other, after) = worker.run("<?php echo 'after';").await;
    assert_eq!(after.outcome.stdout, "after", "{after:?}");
    assert_ne!(other, host);
    worker.stop().await;
}
