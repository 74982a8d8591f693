//! Side-by-side benchmark: evalgrid's API against the ways a user would otherwise run PHP, in
//! one run on one machine. `cargo bench -p server --bench evalgrid` (docs/benchmarks.md). Prints ratios and
//! writes BENCHMARKS.md at the workspace root. No assertions: numbers, not pass/fail.

#[path = "../tests/it/common/mod.rs"]
mod common;
mod engine;

use common::server_process::ServerProcess;
use engine::{docker_with_input, seccomp_profile_file, EngineCpu, DOCKER_RUN_SANDBOX};
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::process::Command;
use std::time::{Duration, Instant};

const HELLO: &str = r#"<?php echo "hi";"#;
const SLEEP: &str = "<?php usleep(1000000);";
const IMAGES: [&str; 4] = ["php:7.4-cli", "php:8.2-cli", "php:8.4-cli", "php:8.5-cli"];
/// A PHP that starts as fast as the official images' (see `scripts/build-fixture-images.sh`).
const STATIC_PHP: &str = "evalgrid-fixture/php:8.4.5-cli-alpine";
const LATENCY_REPEATS: usize = 30;
/// Between one-user samples: time for the server to refill its pool, as between a user's clicks.
const USER_PAUSE: Duration = Duration::from_millis(500);
const FAN_OUT_REPEATS: usize = 5;
const THROUGHPUT_CLIENTS: usize = 16;
const THROUGHPUT_TIME: Duration = Duration::from_secs(10);
/// A workshop room pressing Run at once, one 2-version run each.
const BURST_CLIENTS: usize = 50;

/// What the engine alone does, measured once and set beside each isolation's numbers.
struct Baselines {
    latency: Samples,
    /// Wall time of N one-second sleeps, one `docker run` after another and all at once, by N.
    fan_out: Vec<(usize, Samples, Samples)>,
    throughput_runs: usize,
    cpu: Option<engine::CpuReading>,
    /// PHP's own cost of hello world, by image ([`IMAGES`], then [`STATIC_PHP`]): no evalgrid,
    /// no engine, no new container.
    php_alone: Vec<(&'static str, Option<PhpAlone>)>,
}

/// One `php` run's machine CPU and wall time, in a loop inside one sandboxed container: the floor
/// under any way of running it, and what the isolations' numbers are set against.
#[derive(Debug, Clone, Copy)]
struct PhpAlone {
    cpu_ms: f64,
    wall_ms: f64,
}

/// Runs in the loop of [`php_alone_in`].
const PHP_ALONE_RUNS: u32 = 40;

#[tokio::main]
async fn main() {
    let mut report = Report::default();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let engine = command_output("docker", &["version", "--format", "{{.Server.Version}}"]);
    report.line(&format!(
        "Machine: {cores} cores, Docker engine {engine}, {}. Each isolation has a server of its \
         own (`--isolation namespaces`, then `--isolation containers`), measured one after the \
         other beside the same `docker run` baselines.",
        chrono_free_date()
    ));
    let baselines = baselines().await;
    for isolation in ["namespaces", "containers"] {
        let mut server = Server::start(isolation).await;
        measure(&server, isolation, &baselines, &mut report).await;
        // SIGTERM, so the server removes its containers before it exits.
        server.process.stop().await;
    }
    report.heading("`docker run` alone (the same sandbox, a new container per run)");
    report.table_header();
    report.row("`docker run --rm -i`, 0.5 s apart", &baselines.latency);
    for (n, sequential, parallel) in &baselines.fan_out {
        report.row(
            &format!("sequential `docker run`, N={n} one-second sleeps"),
            sequential,
        );
        report.row(
            &format!("parallel `docker run`, N={n} one-second sleeps"),
            parallel,
        );
    }
    report.line("");
    report.line(&format!(
        "- throughput: {THROUGHPUT_CLIENTS} parallel `docker run --rm -i` loops: {} runs in {} s",
        baselines.throughput_runs,
        THROUGHPUT_TIME.as_secs()
    ));
    if let Some(cpu) = &baselines.cpu {
        let per = |ms: f64| ms / baselines.throughput_runs.max(1) as f64;
        report.line(&format!(
            "- CPU per run: engine {:.1} ms, containers {:.1} ms, whole machine {:.1} ms",
            per(cpu.engine_ms),
            per(cpu.containers_ms),
            per(cpu.machine_ms)
        ));
        report.ratio("docker run: machine cpu ms per run", per(cpu.machine_ms));
    }
    report.heading("PHP alone (hello world in a loop inside one sandboxed container)");
    report.line(
        "The floor under every way of running it: `php` started again and again by a shell, \
         with the image's own extensions and evalgrid's command-line settings, measured by the \
         container's cgroup.",
    );
    report.line("");
    for (image, alone) in &baselines.php_alone {
        match alone {
            Some(alone) => report.line(&format!(
                "- {image}: {:.1} ms of CPU, {:.1} ms of wall time per run ({PHP_ALONE_RUNS} runs)",
                alone.cpu_ms, alone.wall_ms
            )),
            None => report.line(&format!("- {image}: not measured (no cgroup CPU counter)")),
        }
    }
    report.write();
}

async fn baselines() -> Baselines {
    let latency = sample_apart(LATENCY_REPEATS, USER_PAUSE, || docker_run(IMAGES[2], HELLO)).await;
    let mut fan_out = Vec::new();
    for n in [1, 2, 4] {
        let images = &IMAGES[..n];
        let sequential = sample(FAN_OUT_REPEATS, || async {
            let mut all = true;
            for image in images {
                all &= docker_run(image, SLEEP).await;
            }
            all
        })
        .await;
        let parallel = sample(FAN_OUT_REPEATS, || async {
            let runs = futures::future::join_all(images.iter().map(|image| docker_run(image, SLEEP))).await;
            runs.into_iter().all(|ok| ok)
        })
        .await;
        fan_out.push((n, sequential, parallel));
    }
    let engine_cpu = EngineCpu::watch();
    let before = engine_cpu.as_ref().map(EngineCpu::read);
    let throughput_runs = docker_run_throughput().await;
    let cpu = engine_cpu
        .as_ref()
        .zip(before)
        .map(|(cpu, before)| cpu.read().since(&before));
    let mut php_alone = Vec::new();
    for image in IMAGES.into_iter().chain([STATIC_PHP]) {
        php_alone.push((image, php_alone_in(image).await));
    }
    Baselines {
        latency,
        fan_out,
        throughput_runs,
        cpu,
        php_alone,
    }
}

impl Baselines {
    /// PHP's own cost on the image the latency and throughput rows use.
    fn php_alone_on_bench_image(&self) -> Option<PhpAlone> {
        self.php_alone
            .iter()
            .find(|(image, _)| *image == IMAGES[2])
            .and_then(|(_, alone)| *alone)
    }
}

/// [`PhpAlone`] on `image`: the cgroup's CPU counter (v1 `cpuacct.usage`, v2 `cpu.stat`) and
/// the uptime in centiseconds (busybox's `date` has no nanoseconds) read around
/// [`PHP_ALONE_RUNS`] runs, after one warm-up.
async fn php_alone_in(image: &str) -> Option<PhpAlone> {
    let mut args: Vec<&str> = DOCKER_RUN_SANDBOX.to_vec();
    args.extend(["--security-opt", seccomp_profile_file()]);
    let script = format!(
        "cat > /in/main.php || exit 1; g=/sys/fs/cgroup; \
         cpu() {{ if [ -r $g/cpuacct/cpuacct.usage ]; then cat $g/cpuacct/cpuacct.usage; \
           else while read -r k v; do [ \"$k\" = usage_usec ] && echo ${{v}}000; done < $g/cpu.stat; fi; }}; \
         cs() {{ read -r u _ < /proc/uptime; echo ${{u%.*}}${{u#*.}}; }}; \
         php -d ffi.enable=0 /in/main.php >/dev/null; \
         c=$(cpu); w=$(cs); i=0; \
         while [ $i -lt {PHP_ALONE_RUNS} ]; do php -d ffi.enable=0 /in/main.php >/dev/null; i=$((i+1)); done; \
         echo $(( $(cpu) - c )) $(( ($(cs) - w) * 10000000 ))"
    );
    args.extend([image, "sh", "-c", &script]);
    let output = docker_with_input(&args, HELLO.as_bytes()).await;
    let text = String::from_utf8_lossy(&output.stdout);
    let mut numbers = text.split_whitespace().map(|n| n.parse::<f64>().ok());
    let (Some(Some(cpu_ns)), Some(Some(wall_ns))) = (numbers.next(), numbers.next()) else {
        return None;
    };
    let per_run_ms = |ns: f64| ns / 1e6 / f64::from(PHP_ALONE_RUNS);
    Some(PhpAlone {
        cpu_ms: per_run_ms(cpu_ns),
        wall_ms: per_run_ms(wall_ns),
    })
}

/// Everything measured of one server: latency, fan-out, throughput and CPU per run, bursts.
async fn measure(server: &Server, isolation: &str, baselines: &Baselines, report: &mut Report) {
    report.heading(&format!("--isolation {isolation}"));
    // 1. Latency of hello world on one image.
    let api = sample_apart(LATENCY_REPEATS, USER_PAUSE, || server.run(HELLO, &IMAGES[2..3])).await;
    let back_to_back = sample(LATENCY_REPEATS, || server.run(HELLO, &IMAGES[2..3])).await;
    report.line("Latency of `<?php echo \"hi\";` on php:8.4-cli:");
    report.line("");
    report.table_header();
    report.row("API `POST /api/run`, runs 0.5 s apart", &api);
    report.row("API `POST /api/run`, back to back", &back_to_back);
    report.ratio(&format!("{isolation}: back-to-back p50 ms"), back_to_back.p50());
    let php_alone = baselines.php_alone_on_bench_image();
    if let Some(alone) = php_alone {
        report.ratio(
            &format!("{isolation}: back-to-back p50 ms beyond php alone"),
            back_to_back.p50() - alone.wall_ms,
        );
    }
    report.ratio(
        &format!("{isolation}: api/docker_run p50"),
        api.p50() / baselines.latency.p50(),
    );

    // 2. Fan-out: a one-second sleep on N versions.
    report.line("");
    report.line("Fan-out, `usleep(1_000_000)` on N versions (wall time):");
    report.line("");
    report.table_header();
    let mut walls = Vec::new();
    for n in [1, 2, 4] {
        let api = sample_apart(FAN_OUT_REPEATS, USER_PAUSE, || server.run(SLEEP, &IMAGES[..n])).await;
        report.row(&format!("API, N={n}"), &api);
        walls.push(api.p50());
    }
    report.ratio(&format!("{isolation}: wall(4)/wall(1) p50"), walls[2] / walls[0]);
    report.ratio(&format!("{isolation}: wall(2)/wall(1) p50"), walls[1] / walls[0]);

    // 3. Throughput: 16 clients for a fixed time, and where the CPU goes.
    report.line("");
    let load = Load::measure(server, &IMAGES).await;
    load.report(report, "hello world");
    report.ratio(&format!("{isolation}: throughput runs/s"), load.runs_per_second());
    report.ratio(
        &format!("{isolation}: throughput / docker run loop"),
        load.runs() as f64 / baselines.throughput_runs.max(1) as f64,
    );
    if let Some(machine_ms) = load.machine_ms_per_run() {
        report.ratio(&format!("{isolation}: machine cpu ms per run"), machine_ms);
        // The clients take the four images in turn.
        let alone: Vec<f64> = baselines.php_alone[..IMAGES.len()]
            .iter()
            .filter_map(|(_, alone)| alone.map(|alone| alone.cpu_ms))
            .collect();
        if alone.len() == IMAGES.len() {
            report.ratio(
                &format!("{isolation}: machine cpu ms per run beyond php alone"),
                machine_ms - alone.iter().sum::<f64>() / alone.len() as f64,
            );
        }
    }

    // 3b. The same on a PHP built like the official images (extensions compiled in, so it
    // starts in a fraction of the time Debian's builds take): what evalgrid costs where PHP is
    // cheap.
    let back_to_back = sample(LATENCY_REPEATS, || server.run(HELLO, &[STATIC_PHP])).await;
    report.line("");
    report.line(&format!(
        "On `{STATIC_PHP}` (PHP 8.4.5 built statically, most extensions compiled in, as the \
         official images build them):"
    ));
    report.line("");
    report.table_header();
    report.row("API `POST /api/run`, back to back", &back_to_back);
    report.line("");
    report.ratio(
        &format!("{isolation}: static php: back-to-back p50 ms"),
        back_to_back.p50(),
    );
    let load = Load::measure(server, &[STATIC_PHP]).await;
    load.report(report, "hello world on it");
    report.ratio(
        &format!("{isolation}: static php: throughput runs/s"),
        load.runs_per_second(),
    );
    if let Some(machine_ms) = load.machine_ms_per_run() {
        report.ratio(
            &format!("{isolation}: static php: machine cpu ms per run"),
            machine_ms,
        );
    }

    // 4. Bursts: everyone at once; the line serves them in turn.
    for versions in [2, 4] {
        let (served, refused) = burst(server, versions).await;
        report.line(&format!(
            "- burst, {BURST_CLIENTS} clients at once × {versions} versions of hello world: served {} \
             of {BURST_CLIENTS}, turned away {refused}; until the answer p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms",
            served.len(),
            served.p50(),
            served.percentile(0.95),
            served.percentile(1.0)
        ));
        report.ratio(
            &format!("{isolation}: burst {BURST_CLIENTS}x{versions} served"),
            served.len() as f64,
        );
        report.ratio(
            &format!("{isolation}: burst {BURST_CLIENTS}x{versions} p95 s"),
            served.percentile(0.95) / 1000.0,
        );
    }
}

/// [`THROUGHPUT_CLIENTS`] clients running hello world for [`THROUGHPUT_TIME`], and the CPU the
/// machine's parts spent meanwhile.
struct Load {
    latencies: Samples,
    errors: usize,
    cpu: Option<engine::CpuReading>,
    server_ms: f64,
    server_rss_kib: u64,
}

impl Load {
    async fn measure(server: &Server, images: &[&str]) -> Self {
        let engine_cpu = EngineCpu::watch();
        let server_cpu_before = process_cpu_ms(server.process.child.id());
        let before = engine_cpu.as_ref().map(EngineCpu::read);
        let (latencies, errors) = throughput(server, images).await;
        let cpu = engine_cpu
            .as_ref()
            .zip(before)
            .map(|(cpu, before)| cpu.read().since(&before));
        Self {
            latencies,
            errors,
            cpu,
            server_ms: process_cpu_ms(server.process.child.id()) - server_cpu_before,
            server_rss_kib: server.peak_rss_kib(),
        }
    }

    fn runs(&self) -> usize {
        self.latencies.len()
    }

    fn runs_per_second(&self) -> f64 {
        self.runs() as f64 / THROUGHPUT_TIME.as_secs_f64()
    }

    fn machine_ms_per_run(&self) -> Option<f64> {
        let runs = self.runs();
        self.cpu
            .as_ref()
            .filter(|_| runs > 0)
            .map(|cpu| cpu.machine_ms / runs as f64)
    }

    /// Its two lines: the throughput, and where the CPU went.
    fn report(&self, report: &mut Report, what: &str) {
        let runs = self.runs();
        report.line(&format!(
            "- throughput, {THROUGHPUT_CLIENTS} clients, {what}, {} s: {runs} runs, \
             {:.1} runs/s, {} errors, p50 {:.0} ms, p99 {:.0} ms; server peak RSS {} MiB",
            THROUGHPUT_TIME.as_secs(),
            self.runs_per_second(),
            self.errors,
            self.latencies.p50(),
            self.latencies.p99(),
            self.server_rss_kib / 1024
        ));
        match &self.cpu {
            Some(cpu) if runs > 0 => {
                let per = |ms: f64| ms / runs as f64;
                report.line(&format!(
                    "- CPU per run: engine {:.1} ms, containers (workers or single-use) {:.1} ms, \
                     evalgrid server {:.1} ms, whole machine {:.1} ms",
                    per(cpu.engine_ms),
                    per(cpu.containers_ms),
                    per(self.server_ms),
                    per(cpu.machine_ms)
                ));
            }
            _ => report
                .line("- CPU not measured: needs root and cgroup v1 `cpuacct` to group the engine's daemons"),
        }
    }
}

/// Times `repeats` calls of `f` after one warm-up, back to back; a call that fails (`f`
/// gives false) is counted, not timed.
async fn sample<F, Fut>(repeats: usize, f: F) -> Samples
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    sample_apart(repeats, Duration::ZERO, f).await
}

/// Times `repeats` calls of `f` after one warm-up, `pause` apart (a user reading the result
/// before the next click; the server's background work, such as refilling its pool, is done).
async fn sample_apart<F, Fut>(repeats: usize, pause: Duration, mut f: F) -> Samples
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    f().await;
    let mut samples = Samples::default();
    for _ in 0..repeats {
        tokio::time::sleep(pause).await;
        let start = Instant::now();
        let succeeded = f().await;
        samples.record(succeeded, start.elapsed().as_secs_f64() * 1000.0);
    }
    samples
}

/// The times of the calls that succeeded, and how many failed: a refused run (a 503, a
/// `docker run` the engine turned down) returns fast, and timed it would flatter the figures.
#[derive(Default)]
struct Samples {
    ms: Vec<f64>,
    failed: usize,
}

impl Samples {
    fn record(&mut self, succeeded: bool, ms: f64) {
        match succeeded {
            true => self.ms.push(ms),
            false => self.failed += 1,
        }
    }
    fn percentile(&self, p: f64) -> f64 {
        let mut sorted = self.ms.clone();
        sorted.sort_by(f64::total_cmp);
        let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted.get(index).copied().unwrap_or(f64::NAN)
    }
    fn p50(&self) -> f64 {
        self.percentile(0.5)
    }
    fn p90(&self) -> f64 {
        self.percentile(0.9)
    }
    fn p99(&self) -> f64 {
        self.percentile(0.99)
    }
    fn len(&self) -> usize {
        self.ms.len()
    }
}

/// The release server under measurement (the tests' [`ServerProcess`]), with a lenient run: a
/// refused run counts as one, it does not stop the bench.
struct Server {
    process: ServerProcess,
    client: common::Client,
}

impl Server {
    async fn start(isolation: &str) -> Self {
        // A throw-away database: every run below is a real run (`force`), never a cached one.
        // No per-client caps: the bench's clients share one address.
        let process = ServerProcess::start(&[
            "--runs-per-minute",
            "0",
            "--runs-in-flight-per-ip",
            "0",
            "--isolation",
            isolation,
            "--repositories",
            "php,evalgrid-fixture/php",
        ])
        .await;
        Self {
            client: process.client(),
            process,
        }
    }

    /// One API run; true when every version came back `ok`.
    async fn run(&self, code: &str, images: &[&str]) -> bool {
        let response = self
            .client
            .http
            .post(format!("{}/api/run", self.client.base))
            .json(&json!({ "code": code, "images": images, "force": true }))
            .send()
            .await;
        match response {
            Ok(response) if response.status().is_success() => {
                let body: Value = response.json().await.unwrap_or_default();
                body["results"]
                    .as_array()
                    .is_some_and(|results| results.iter().all(|r| r["status"] == "ok"))
            }
            _ => false,
        }
    }

    fn peak_rss_kib(&self) -> u64 {
        self.process.peak_rss_kib()
    }
}

/// How many hello-world `docker run`s [`THROUGHPUT_CLIENTS`] parallel loops finish (and the
/// engine does not refuse) in [`THROUGHPUT_TIME`].
async fn docker_run_throughput() -> usize {
    let deadline = Instant::now() + THROUGHPUT_TIME;
    let loops = (0..THROUGHPUT_CLIENTS).map(|_| async move {
        let mut runs = 0;
        while Instant::now() < deadline {
            runs += usize::from(docker_run(IMAGES[2], HELLO).await);
        }
        runs
    });
    futures::future::join_all(loops).await.into_iter().sum()
}

/// One sandboxed `docker run` of `code`; true when PHP ran it and exited 0.
async fn docker_run(image: &str, code: &str) -> bool {
    let mut args: Vec<&str> = DOCKER_RUN_SANDBOX.to_vec();
    args.extend(["--security-opt", seccomp_profile_file()]);
    args.extend([
        image,
        "sh",
        "-c",
        "cat > /in/main.php && exec php -d ffi.enable=0 /in/main.php",
    ]);
    docker_with_input(&args, code.as_bytes()).await.status.success()
}

async fn throughput(server: &Server, images: &[&str]) -> (Samples, usize) {
    let deadline = Instant::now() + THROUGHPUT_TIME;
    let clients = (0..THROUGHPUT_CLIENTS).map(|client| async move {
        let (mut latencies, mut errors) = (Vec::new(), 0);
        let mut turn = client;
        while Instant::now() < deadline {
            let start = Instant::now();
            if server.run(HELLO, &images[turn % images.len()..][..1]).await {
                latencies.push(start.elapsed().as_secs_f64() * 1000.0);
            } else {
                errors += 1;
            }
            turn += 1;
        }
        (latencies, errors)
    });
    let mut all = Samples::default();
    let mut errors = 0;
    for (latencies, failed) in futures::future::join_all(clients).await {
        all.ms.extend(latencies);
        errors += failed;
    }
    (all, errors)
}

/// The CPU time (user + system, its own and its reaped children's) of process `pid`, in ms.
fn process_cpu_ms(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks: f64 = (11..=14).filter_map(|i| fields.get(i)?.parse::<f64>().ok()).sum();
    let ticks_per_second = 100.0; // USER_HZ on Linux
    ticks * 1000.0 / ticks_per_second
}

/// [`BURST_CLIENTS`] runs of `versions` versions sent at the same moment: the latencies of those served, and how many
/// were turned away.
async fn burst(server: &Server, versions: usize) -> (Samples, usize) {
    let runs = (0..BURST_CLIENTS).map(|client| async move {
        let images = &IMAGES[client % (IMAGES.len() + 1 - versions)..][..versions];
        let start = Instant::now();
        let ok = server.run(HELLO, images).await;
        (ok, start.elapsed().as_secs_f64() * 1000.0)
    });
    let mut served = Samples::default();
    let mut refused = 0;
    for (ok, ms) in futures::future::join_all(runs).await {
        match ok {
            true => served.ms.push(ms),
            false => refused += 1,
        }
    }
    (served, refused)
}

/// The summary table's rows: what, which ratio (after the isolation's name), decimals, and the
/// unit after the figure.
const SUMMARY: &[(&str, &str, usize, &str)] = &[
    (
        "throughput, 16 clients, hello world on the four images",
        "throughput runs/s",
        1,
        " runs/s",
    ),
    (
        "the same / the `docker run` loop",
        "throughput / docker run loop",
        1,
        "×",
    ),
    (
        "machine CPU per run under that load",
        "machine cpu ms per run",
        0,
        " ms",
    ),
    (
        "the same on the static PHP",
        "static php: machine cpu ms per run",
        0,
        " ms",
    ),
    (
        "hello world back to back, p50, php:8.4-cli",
        "back-to-back p50 ms",
        0,
        " ms",
    ),
    (
        "the same on the static PHP",
        "static php: back-to-back p50 ms",
        0,
        " ms",
    ),
    (
        "4 versions of a 1 s sleep / 1 version",
        "wall(4)/wall(1) p50",
        2,
        "",
    ),
    (
        "50 clients × 2 versions at once, p95",
        "burst 50x2 p95 s",
        1,
        " s",
    ),
    (
        "50 clients × 4 versions at once: served",
        "burst 50x4 served",
        0,
        " of 50",
    ),
    (
        "50 clients × 4 versions at once, p95 of those served",
        "burst 50x4 p95 s",
        1,
        " s",
    ),
];

#[derive(Default)]
struct Report {
    text: String,
    ratios: String,
    /// Every ratio by name, for the summary table.
    values: std::collections::HashMap<String, f64>,
}

impl Report {
    fn line(&mut self, line: &str) {
        println!("{line}");
        let _ = writeln!(self.text, "{line}");
    }
    fn heading(&mut self, title: &str) {
        self.line("");
        self.line(&format!("## {title}"));
        self.line("");
    }
    fn table_header(&mut self) {
        self.line("| what | p50 ms | p90 ms | runs | failed |");
        self.line("| --- | ---: | ---: | ---: | ---: |");
    }
    fn row(&mut self, what: &str, samples: &Samples) {
        self.line(&format!(
            "| {what} | {:.0} | {:.0} | {} | {} |",
            samples.p50(),
            samples.p90(),
            samples.len(),
            samples.failed
        ));
    }
    fn ratio(&mut self, name: &str, value: f64) {
        let line = format!("{name} = {value:.2}");
        println!("RATIO {line}");
        let _ = writeln!(self.ratios, "- `{line}`");
        self.values.insert(name.to_owned(), value);
    }
    /// The two isolations side by side, from this run's ratios: what docs/benchmarks.md and the
    /// README point to, so that no figure is copied by hand.
    fn summary(&self) -> String {
        let mut table =
            String::from("| | namespaces (workers) | single-use containers |\n| --- | ---: | ---: |\n");
        for &(what, ratio, decimals, unit) in SUMMARY {
            let cell = |isolation: &str| match self.values.get(&format!("{isolation}: {ratio}")) {
                Some(value) => format!("{value:.decimals$}{unit}"),
                None => "–".to_owned(),
            };
            let _ = writeln!(
                table,
                "| {what} | {} | {} |",
                cell("namespaces"),
                cell("containers")
            );
        }
        table
    }
    fn write(self) {
        let body = format!(
            "# Benchmarks\n\nWritten by `cargo bench -p server --bench evalgrid` (see docs/benchmarks.md). \
             Milliseconds, wall time seen by the client.\n\n## Summary\n\n{}\n## Ratios\n\n{}\n{}",
            self.summary(),
            self.ratios,
            self.text
        );
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../BENCHMARKS.md");
        std::fs::write(path, body).expect("write BENCHMARKS.md");
        println!("\nwrote BENCHMARKS.md");
    }
}

fn command_output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|_| "unknown".into())
}

fn chrono_free_date() -> String {
    command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"])
}
