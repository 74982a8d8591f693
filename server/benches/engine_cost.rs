//! What each part of the sandbox costs the engine: the same hello world through `docker run`
//! with the runner's sandbox flags, then with one part changed at a time, counting the Docker
//! daemons' CPU time per container (dockerd, containerd, shims, runc) and the containers' own.
//! `cargo bench -p server --bench engine_cost`. Prints a table; asserts nothing. Parts whose
//! removal would weaken the sandbox are measured only to know what they cost.

mod engine;

use engine::{docker_with_input, seccomp_profile_file, EngineCpu, DOCKER_RUN_SANDBOX};
use std::time::Instant;

const IMAGE: &str = "php:8.4-cli";
const RUNS: usize = 40;
const PARALLEL: usize = 2;
const SCRIPT: &str = "cat > /in/main.php && exec php -d ffi.enable=0 /in/main.php";

/// A variant: its name, flags to drop (each with its value when it has one), flags to add, and
/// the shell command.
struct Variant {
    name: &'static str,
    drop: &'static [&'static str],
    add: &'static [&'static str],
    script: &'static str,
    seccomp: bool,
}

const VARIANTS: &[Variant] = &[
    Variant {
        name: "the runner's sandbox (baseline)",
        drop: &[],
        add: &[],
        script: SCRIPT,
        seccomp: true,
    },
    Variant {
        name: "without --init (no docker-init process)",
        drop: &["--init"],
        add: &[],
        script: SCRIPT,
        seccomp: true,
    },
    Variant {
        name: "Docker's default seccomp profile",
        drop: &[],
        add: &[],
        script: SCRIPT,
        seccomp: false,
    },
    Variant {
        name: "one tmpfs (/tmp) instead of /in and /tmp",
        drop: &["/in:rw,noexec,nosuid,nodev,size=1m,mode=1777"],
        add: &[],
        script: "cat > /tmp/main.php && exec php -d ffi.enable=0 /tmp/main.php",
        seccomp: true,
    },
    Variant {
        name: "without the read-only /dev/pts tmpfs",
        drop: &["/dev/pts:ro,noexec,nosuid,nodev,size=4k,mode=555"],
        add: &[],
        script: SCRIPT,
        seccomp: true,
    },
    Variant {
        name: "without memory, pids and CPU limits",
        drop: &["--memory", "--memory-swap", "--pids-limit", "--cpus"],
        add: &[],
        script: SCRIPT,
        seccomp: true,
    },
    Variant {
        name: "without --ipc none (a private IPC namespace)",
        drop: &["--ipc"],
        add: &[],
        script: SCRIPT,
        seccomp: true,
    },
    Variant {
        name: "the host's cgroup namespace (--cgroupns host)",
        drop: &[],
        add: &["--cgroupns", "host"],
        script: SCRIPT,
        seccomp: true,
    },
];

/// Flags that take a value (dropped with it).
const WITH_VALUE: &[&str] = &["--memory", "--memory-swap", "--pids-limit", "--cpus", "--ipc"];

fn flags(variant: &Variant) -> Vec<&'static str> {
    let mut flags = Vec::new();
    let mut all = DOCKER_RUN_SANDBOX.iter().copied().peekable();
    while let Some(flag) = all.next() {
        if variant.drop.contains(&flag) {
            if WITH_VALUE.contains(&flag) {
                all.next();
            }
            // A dropped --tmpfs value: its --tmpfs flag went into the list already.
            if flag.starts_with('/') && flags.last() == Some(&"--tmpfs") {
                flags.pop();
            }
            continue;
        }
        flags.push(flag);
    }
    flags.extend(variant.add);
    if variant.seccomp {
        flags.extend(["--security-opt", seccomp_profile_file()]);
    }
    flags.extend([IMAGE, "sh", "-c", variant.script]);
    flags
}

async fn docker_run(args: &[&str]) -> bool {
    let output = docker_with_input(args, b"<?php echo 'hi';").await;
    output.status.success() && output.stdout == b"hi"
}

#[tokio::main]
async fn main() {
    let Some(engine) = EngineCpu::watch() else {
        println!("cannot account the engine's CPU here (needs root and cgroup v1 cpuacct)");
        return;
    };
    // One of each first: images and profiles warm, every variant works.
    for variant in VARIANTS {
        assert!(docker_run(&flags(variant)).await, "{} does not run", variant.name);
    }
    println!(
        "{RUNS} runs of each, {PARALLEL} at a time, hello world on {IMAGE} through `docker run --rm -i`"
    );
    println!(
        "{:<48} {:>10} {:>13} {:>8}",
        "", "engine ms", "container ms", "runs/s"
    );
    for variant in VARIANTS {
        let args = flags(variant);
        let before = engine.read();
        let start = Instant::now();
        let loops = (0..PARALLEL).map(|_| async {
            for _ in 0..RUNS / PARALLEL {
                docker_run(&args).await;
            }
        });
        futures::future::join_all(loops).await;
        let elapsed = start.elapsed().as_secs_f64();
        let used = engine.read().since(&before);
        println!(
            "{:<48} {:>10.1} {:>13.1} {:>8.1}",
            variant.name,
            used.engine_ms / RUNS as f64,
            used.containers_ms / RUNS as f64,
            RUNS as f64 / elapsed
        );
    }
}
