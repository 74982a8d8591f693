//! Hostile code through the public API, on the real engine. Every attack runs on PHP 7.4 and 8.4
//! in one request together with PHP 8.5, which runs nothing harmful: 8.5 must still come back
//! `ok`, the server must answer the next request normally, and no container may be left.
//! SECURITY.md lists each attack with its observed outcome.

use crate::common;

// The findings of each hostile-user pass, a module each (SECURITY.md's findings table).
mod native_code;
mod odd_paths_and_proxies;
mod page_load;
mod saved_results_and_the_line;

use app::model::{Status, VersionResult};
use common::server_process::ServerProcess;
use common::TestServer;

const ATTACKED: [&str; 2] = ["php:7.4-cli", "php:8.4-cli"];

/// Runs `attack` on the attacked versions (8.5 only says hello), checks the harmless version,
/// the server and the engine afterwards, and returns the attacked versions' results.
async fn attack(server: &TestServer, attack: &str) -> Vec<VersionResult> {
    let code = format!(
        "<?php\nif (PHP_MAJOR_VERSION == 8 && PHP_MINOR_VERSION == 5) {{ echo 'harmless'; exit(0); }}\n{attack}"
    );
    let mut results = server
        .run(&code, &[ATTACKED[0], ATTACKED[1], "php:8.5-cli"])
        .await;
    let harmless = results.pop().unwrap();
    assert_eq!(harmless.outcome.status, Status::Ok, "{harmless:?}");
    assert_eq!(harmless.outcome.stdout, "harmless");
    server.assert_still_answers().await;
    server.containers.assert_none_left().await;
    results
}

fn assert_each(results: &[VersionResult], check: impl Fn(&VersionResult) -> bool, what: &str) {
    for result in results {
        assert!(
            check(result),
            "{}: expected {what}, got {result:#?}",
            result.image
        );
    }
}

#[tokio::test]
async fn a_pcntl_fork_bomb_hits_the_process_limit() {
    // The children sleep: spinning ones would starve the parent of its one CPU, so that, on a
    // busy host, it might not finish forking before the time limit (busy loops have tests of
    // their own).
    let server = TestServer::start().await;
    let results = attack(
        &server,
        r#"$children = 0;
        while (true) {
            $pid = pcntl_fork();
            if ($pid === -1) { echo "fork refused after $children children\n"; exit(0); }
            if ($pid === 0) { sleep(600); exit; }
            $children++;
        }"#,
    )
    .await;
    assert_each(
        &results,
        |r| r.outcome.stdout.contains("fork refused after"),
        "the fork to be refused",
    );
}

#[tokio::test]
async fn a_shell_fork_bomb_through_exec_and_proc_open_hits_the_process_limit() {
    // The bomb's shells share the script's one CPU: on a host busy with other tests, PHP may
    // get a small slice of it. A longer limit, so that the outcome is the process limit's.
    let server = TestServer::setup()
        .with(|c| c.sandbox.timeout_secs = 30.0)
        .start()
        .await;
    // The bomb runs in the background with its output in a file, so `exec` returns; PHP (which
    // needs no fork to read a file) then waits for the shell's complaint and carries on. The
    // bomb is a subshell whose own output is redirected: a function's redirection keeps a copy
    // of `exec`'s pipe, which the bomb's shells would hold open for as long as they last.
    let results = attack(
        &server,
        r#"exec('(bomb() { bomb | bomb & }; bomb) >/dev/null 2>/tmp/bomb.err &');
        $process = proc_open('(bomb() { bomb | bomb & }; bomb) >/dev/null 2>>/tmp/bomb.err &', [], $pipes);
        $deadline = microtime(true) + 5;
        while (microtime(true) < $deadline && strpos((string) @file_get_contents('/tmp/bomb.err'), 'fork') === false) {
            usleep(50000);
        }
        echo 'shell: ', strtok((string) @file_get_contents('/tmp/bomb.err'), "\n"), "\n";
        echo "still here\n";"#,
    )
    .await;
    assert_each(
        &results,
        |r| {
            r.outcome.status == Status::Ok
                && r.outcome.stdout.contains("Cannot fork")
                && r.outcome.stdout.ends_with("still here\n")
        },
        "the shell to be refused forks, the script to carry on",
    );
}

#[tokio::test]
async fn a_memory_hog_is_stopped() {
    let server = TestServer::start().await;
    let results = attack(
        &server,
        r#"ini_set('memory_limit', '-1'); $hog = []; while (true) { $hog[] = str_repeat('x', 1 << 20); }"#,
    )
    .await;
    assert_each(&results, |r| r.outcome.status == Status::Oom, "oom");
}

#[tokio::test]
async fn endless_loops_and_long_sleeps_are_killed_at_the_time_limit() {
    let server = TestServer::setup()
        .with(|c| c.sandbox.timeout_secs = 2.0)
        .start()
        .await;
    for code in ["while (true) {}", "sleep(600);"] {
        let results = attack(&server, code).await;
        assert_each(&results, |r| r.outcome.status == Status::Timeout, "timeout");
        // duration_ms runs from the container's start until it was removed.
        assert_each(
            &results,
            |r| r.outcome.duration_ms < 3000,
            "removal within 1 s of the limit",
        );
    }
}

/// On a server process of its own, so that its memory is its alone.
#[tokio::test]
async fn a_100_mb_flood_is_cut_at_the_output_limit() {
    let server = ServerProcess::start(&["--pool-size", "0"]).await;
    let client = server.client();
    client.assert_still_answers().await;
    let rss_before = server.rss_kib();
    let results = client
        .run(
            "<?php for ($i = 0; $i < 100; $i++) { echo str_repeat('x', 1 << 20); }",
            &ATTACKED,
        )
        .await;
    assert_each(
        &results,
        |r| r.outcome.truncated && r.outcome.stdout.len() == 64 * 1024,
        "64 KiB, truncated",
    );
    let growth_mib = server.rss_kib().saturating_sub(rss_before) / 1024;
    assert!(growth_mib < 50, "the server grew by {growth_mib} MiB");
    server.containers.assert_none_left().await;
}

#[tokio::test]
async fn the_file_system_is_read_only_except_small_scratch_space() {
    let server = TestServer::start().await;
    let results = attack(
        &server,
        // `/var/tmp` is mode 1777 on every image: only a read-only root keeps it unwritable
        // (every other path here is root's, which the run's user id is not).
        r#"foreach (['/evil', '/etc/evil', '/usr/evil', '/usr/local/bin/php', '/dev/shm/evil', '/var/tmp/evil'] as $path) {
            echo $path, ' ', @file_put_contents($path, 'x') === false ? 'denied' : 'WRITTEN', "\n";
        }"#,
    )
    .await;
    assert_each(
        &results,
        |r| !r.outcome.stdout.contains("WRITTEN") && r.outcome.stdout.matches("denied").count() == 6,
        "every write denied",
    );
}

#[tokio::test]
async fn filling_tmp_stops_at_its_size() {
    let server = TestServer::start().await;
    let results = attack(
        &server,
        r#"$file = fopen('/tmp/fill', 'w'); $written = 0;
        while (($n = @fwrite($file, str_repeat('x', 1 << 20))) > 0) { $written += $n; }
        echo 'wrote ', intdiv($written, 1 << 20), " MiB\n";"#,
    )
    .await;
    assert_each(
        &results,
        |r| r.outcome.stdout == "wrote 16 MiB\n",
        "/tmp full at 16 MiB",
    );
}

#[tokio::test]
async fn there_is_no_network_not_even_to_the_host() {
    let server = TestServer::start().await;
    // Listeners on the host's loopback and on every interface (reachable at the docker bridge
    // gateway by a normal container): the sandbox must reach neither.
    let loopback = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let anywhere = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let gateway = bridge_gateway().await;
    assert!(!gateway.is_empty());
    let code = format!(
        r#"foreach ([['127.0.0.1', {}], ['{gateway}', {}]] as [$host, $port]) {{
            $socket = @fsockopen($host, $port, $errno, $error, 2);
            echo $host, ' ', $socket === false ? "refused: $error" : 'CONNECTED', "\n";
        }}
        echo 'dns ', gethostbyname('example.com'), ' ', var_export(@dns_get_record('example.com'), true), "\n";"#,
        loopback.local_addr().unwrap().port(),
        anywhere.local_addr().unwrap().port(),
    );
    let results = attack(&server, &code).await;
    assert_each(
        &results,
        |r| !r.outcome.stdout.contains("CONNECTED") && r.outcome.stdout.matches(" refused: ").count() == 2,
        "no connection",
    );
    assert_each(
        &results,
        |r| r.outcome.stdout.contains("dns example.com false"),
        "no DNS",
    );
    for listener in [loopback, anywhere] {
        let accepted = tokio::time::timeout(std::time::Duration::from_millis(100), listener.accept()).await;
        assert!(accepted.is_err(), "a sandbox reached a host listener");
    }
}

#[tokio::test]
async fn secrets_and_privileges_are_out_of_reach() {
    // SAFETY: set before the server starts; nothing else reads the environment concurrently.
    std::env::set_var("EVALGRID_TEST_SECRET", "hunter2");
    let server = TestServer::start().await;
    let results = attack(
        &server,
        r#"echo 'shadow ', var_export(@file_get_contents('/etc/shadow'), true), "\n";
        echo 'environ ', str_replace("\0", ' ', (string) @file_get_contents('/proc/1/environ')), "\n";
        echo 'socket ', var_export(file_exists('/var/run/docker.sock') || file_exists('/run/docker.sock'), true), "\n";
        echo 'setuid ', var_export(@posix_setuid(0), true), ' uid ', posix_getuid(), "\n";
        foreach (file('/proc/self/status') as $line) {
            if (preg_match('/^(NoNewPrivs|Seccomp|CapBnd|CapEff|CapPrm):/', $line)) echo $line;
        }"#,
    )
    .await;
    // What PHP itself runs with, from the kernel: no way to gain privileges on exec, no
    // capability at all (none to use, none that an exec could bring back), and a seccomp filter.
    let wanted = [
        "NoNewPrivs:\t1",
        "Seccomp:\t2",
        "CapBnd:\t0000000000000000",
        "CapEff:\t0000000000000000",
        "CapPrm:\t0000000000000000",
    ];
    for result in &results {
        let missing: Vec<&str> = wanted
            .iter()
            .copied()
            .filter(|field| !result.outcome.stdout.contains(&format!("{field}\n")))
            .collect();
        assert!(
            missing.is_empty(),
            "{}: not {missing:?} in\n{}",
            result.image,
            result.outcome.stdout
        );
    }
    assert_each(
        &results,
        |r| r.outcome.stdout.contains("shadow false"),
        "/etc/shadow unreadable",
    );
    assert_each(
        &results,
        |r| !r.outcome.stdout.contains("hunter2"),
        "no server environment inside",
    );
    assert_each(
        &results,
        |r| r.outcome.stdout.contains("socket false"),
        "no docker socket",
    );
    assert_each(
        &results,
        |r| r.outcome.stdout.contains("setuid false uid ") && !r.outcome.stdout.contains(" uid 0\n"),
        "no way to root",
    );
}

#[tokio::test]
async fn awkward_output_arrives_intact_or_cut() {
    let server = TestServer::start().await;
    // A 1 MiB line without a newline.
    let results = attack(&server, "echo str_repeat('y', 1 << 20);").await;
    assert_each(
        &results,
        |r| r.outcome.truncated && r.outcome.stdout.len() == 64 * 1024,
        "a truncated line",
    );
    // NUL bytes and invalid UTF-8 become U+0000 and U+FFFD in valid JSON.
    let results = attack(&server, r#"echo "a\0b\xff"; fwrite(STDERR, "\x80c");"#).await;
    assert_each(
        &results,
        |r| r.outcome.stdout == "a\0b\u{FFFD}" && r.outcome.stderr == "\u{FFFD}c",
        "lossy UTF-8",
    );
    // Very many small writes.
    let results = attack(&server, "for ($i = 0; $i < 200000; $i++) { echo 'z'; flush(); }").await;
    assert_each(
        &results,
        |r| {
            r.outcome.truncated
                && r.outcome.stdout.len() == 64 * 1024
                && r.outcome.stdout.bytes().all(|b| b == b'z')
        },
        "64 KiB of z",
    );
}

/// The docker bridge's gateway address, where a normal container reaches the host. Older
/// engines list only the subnet; the gateway is then its first address.
async fn bridge_gateway() -> String {
    let output = tokio::process::Command::new("docker")
        .args([
            "network",
            "inspect",
            "bridge",
            "--format",
            "{{json .IPAM.Config}}",
        ])
        .output()
        .await
        .expect("docker CLI");
    let config: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let first = &config[0];
    if let Some(gateway) = first["Gateway"].as_str() {
        return gateway.to_owned();
    }
    let subnet = first["Subnet"].as_str().expect("the bridge has a subnet");
    let network: std::net::Ipv4Addr = subnet.split('/').next().unwrap().parse().unwrap();
    std::net::Ipv4Addr::from(u32::from(network) + 1).to_string()
}

// ---- Findings of the hostile-user review (issue 9). Each failed on the code before its fix. ----

/// The official images lack FFI, Debian's enable it for the CLI (`ffi.enable=preload`): it would
/// reach every libc function and so any system call.
#[tokio::test]
async fn ffi_is_off_on_every_version() {
    let server = TestServer::start().await;
    let code = r#"<?php
        try {
            $libc = FFI::cdef('int getpid(void);');
            echo 'FFI CALLED getpid ', $libc->getpid(), "\n";
        } catch (Throwable $refused) {
            echo 'FFI refused: ', get_class($refused), "\n";
        }"#;
    let results = server.run(code, &ALL).await;
    assert_each(
        &results,
        |r| r.outcome.stdout.starts_with("FFI refused: ") && !r.outcome.stdout.contains("CALLED"),
        "FFI refused",
    );
    server.containers.assert_none_left().await;
}

/// System calls PHP cannot make without FFI, tried by a static probe that stands in for `php`
/// in a fixture image (see `fixtures/syscall_probe.c`), under the very sandbox of every run.
#[tokio::test]
async fn io_uring_and_other_unneeded_kernel_interfaces_are_denied() {
    let probe = common::fixtures::syscall_probe_image();
    let server = TestServer::setup().repositories(probe.repository).start().await;
    let results = server
        .run(
            "io_uring_setup\nuserfaultfd\nunshare\nptmx\npersonality_linux32\nsocket_af_alg\n",
            &[probe.name],
        )
        .await;
    let stdout = &results[0].outcome.stdout;
    assert_eq!(results[0].outcome.status, Status::Ok, "{results:?}");
    // The last two are allowed by Docker's default profile and denied by evalgrid's: this test
    // fails on any engine where evalgrid's profile is not the one in force.
    for call in [
        "io_uring_setup",
        "userfaultfd",
        "unshare",
        "personality_linux32",
        "socket_af_alg",
    ] {
        assert!(
            stdout.contains(&format!("{call}: EPERM")),
            "{call} must be denied:\n{stdout}"
        );
    }
    assert!(!stdout.contains("allowed"), "{stdout}");
    server.containers.assert_none_left().await;
}

/// Every run gets a user id of its own, so per-user kernel limits (inotify instances, user
/// watches, RLIMIT_NPROC) are not shared between runs; and no pseudo-terminals, whose number is
/// limited host-wide.
#[tokio::test]
async fn runs_have_their_own_user_ids_and_no_pseudo_terminals() {
    let server = TestServer::start().await;
    let results = attack(
        &server,
        r#"echo 'uid ', posix_getuid(), "\n";
        echo 'ptmx ', @fopen('/dev/ptmx', 'r+') === false ? 'denied' : 'OPENED', "\n";
        $process = @proc_open('true', [0 => ['pty'], 1 => ['pty'], 2 => ['pty']], $pipes);
        echo 'pty ', $process === false ? 'denied' : 'OPENED', "\n";"#,
    )
    .await;
    assert_each(
        &results,
        |r| r.outcome.stdout.contains("ptmx denied\npty denied"),
        "no pseudo-terminal",
    );
    let uids: Vec<&str> = results
        .iter()
        .map(|r| r.outcome.stdout.lines().next().unwrap())
        .collect();
    assert_ne!(uids[0], uids[1], "two versions of one run share a user id");
    assert!(uids.iter().all(|uid| *uid != "uid 0"), "{uids:?}");
}

/// Two instances on one engine (behind a balancer) gave their first containers the same user id:
/// per-user kernel limits were shared between their runs. Each instance has a block of its own.
#[tokio::test]
async fn instances_sharing_an_engine_give_their_runs_different_user_ids() {
    let (one, other) = (TestServer::start().await, TestServer::start().await);
    let code = "<?php echo posix_getuid();";
    let first = one
        .run_forced(code, &["php:8.4-cli"])
        .await
        .remove(0)
        .outcome
        .stdout;
    let second = other
        .run_forced(code, &["php:8.4-cli"])
        .await
        .remove(0)
        .outcome
        .stdout;
    assert_ne!(first, second, "both instances ran as user {first}");
    one.containers.assert_none_left().await;
    other.containers.assert_none_left().await;
}

/// A script that prints the shell's closing lines itself, claiming it was killed, then keeps
/// running: one deadline covers the whole run, so it is a timeout, never `ok`.
#[tokio::test]
async fn a_forged_kill_report_does_not_extend_the_time_limit() {
    let server = TestServer::setup()
        .with(|c| c.sandbox.timeout_secs = 2.0)
        .start()
        .await;
    let results = attack(
        &server,
        r#"echo "\x1eevalgrid-end\n"; fwrite(STDERR, "\x1eevalgrid-usage 137   \n"); while (true) {}"#,
    )
    .await;
    assert_each(&results, |r| r.outcome.status == Status::Timeout, "timeout");
    assert_each(&results, |r| r.outcome.duration_ms < 3500, "killed at the limit");
}

/// A client that stops reading the stream after a large first line: the other versions' time
/// limits keep running (each version runs in a task of its own), their containers go at the
/// limit, and the results are there when the client reads again.
#[tokio::test]
async fn a_client_that_stops_reading_cannot_stretch_the_time_limit() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // 1 MiB of NUL on each stream: ~12 MB once JSON-escaped, more than the kernel's socket
    // buffers on both ends can hold.
    let server = TestServer::setup()
        .with(|c| {
            c.sandbox.timeout_secs = 2.0;
            c.sandbox.output_limit_kib = 1024;
        })
        .start()
        .await;
    server.assert_still_answers().await;
    let code = r#"<?php
        if (PHP_MINOR_VERSION == 5) { echo str_repeat("\0", 1 << 20); fwrite(STDERR, str_repeat("\0", 1 << 20)); exit; }
        while (true) {}"#;
    let body = common::run_body(code, &["php:8.5-cli", "php:7.4-cli", "php:8.4-cli"]).to_string();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let address = server.base.trim_start_matches("http://").parse().unwrap();
    let mut stalled = socket.connect(address).await.unwrap();
    let request = format!(
        "POST /api/run/stream HTTP/1.1\r\nhost: evalgrid\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stalled.write_all(request.as_bytes()).await.unwrap();
    // Not reading: the first line fills every buffer on the way.
    let started = std::time::Instant::now();
    server.containers.wait_for(2).await;
    while server.containers.count().await > 0 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(6),
            "the busy loops outlived their 2 s limit while the client was not reading"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let mut response = Vec::new();
    stalled.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response);
    assert_eq!(
        response.matches("\"status\":\"timeout\"").count(),
        2,
        "{}",
        &response[..200.min(response.len())]
    );
    server.assert_still_answers().await;
}

/// The same image under two of its names is one version, not two runs.
#[tokio::test]
async fn one_image_under_two_names_runs_once() {
    let server = TestServer::start().await;
    let images: Vec<app::model::ImageInfo> = server.get("/api/images").await.json().await.unwrap();
    let php84 = images.iter().find(|i| i.image == "php:8.4-cli").unwrap();
    let alias = format!("php:{}-cli", php84.php_version);
    server
        .assert_refused(
            common::run_body("<?php echo 1;", &["php:8.4-cli", &alias]),
            reqwest::StatusCode::BAD_REQUEST,
            "the same image",
        )
        .await;
}

/// Only Windows line endings are unified; a lone carriage return is the script's own.
#[tokio::test]
async fn a_carriage_return_inside_a_string_is_kept() {
    let server = TestServer::start().await;
    let results = server
        .run("<?php\r\necho bin2hex(\"a\rb\");", &["php:8.4-cli"])
        .await;
    assert_eq!(results[0].outcome.stdout, "610d62");
}

/// A flood of page views and image lists does not reach the engine once per request: the image
/// list is cached and refreshed in the background.
#[tokio::test]
async fn a_flood_of_page_views_does_not_hammer_the_engine() {
    let proxy = common::engine_proxy::EngineProxy::new("image-flood");
    proxy.switch_on();
    // 100 requests at once from one address: over the per-address connection cap otherwise.
    let server = TestServer::setup()
        .with(|c| {
            c.engine.docker_host = Some(proxy.docker_host());
            c.connections.max_connections_per_ip = 0;
        })
        .start()
        .await;
    assert_eq!(server.get("/api/images").await.status(), reqwest::StatusCode::OK);
    let before = proxy.requests_to("/images/json");
    let views = (0..100).map(|n| match n % 3 {
        0 => server.get("/api/images"),
        1 => server.get("/api/health"),
        _ => server.get("/"),
    });
    for response in futures::future::join_all(views).await {
        assert_eq!(response.status(), reqwest::StatusCode::OK);
    }
    let listed = proxy.requests_to("/images/json") - before;
    assert!(
        listed <= 3,
        "100 page views listed the engine's images {listed} times"
    );
}

/// Output stored JSON-escaped grew the database by ~9.5 MB per request and nothing bounded it:
/// now output is stored compactly, the cache is bounded (least recently used results go), and
/// a client may save only so many new snippets an hour.
#[tokio::test]
async fn storage_stays_within_its_bound_under_a_flood_of_large_results() {
    let database = common::fresh_database();
    let server = TestServer::setup()
        .database(database.to_str().unwrap())
        .with(|c| {
            c.storage.cache_max_mib = 2;
            c.quotas.snippets_per_hour = 5;
            c.quotas.runs_per_minute = 0;
            // 16 containers wanted at once, 8 allowed: room comes as runs end, however slowly.
            c.capacity.admission_wait_secs = 60.0;
        })
        .start()
        .await;
    // 48 runs of 4 versions, 64 KiB on each stream: NUL bytes (saved), or incompressible text
    // (cached only), each run with code of its own so that nothing comes from the cache. The
    // cached ones alone are some 18 MiB, nine times the bound.
    let mut refused_saves = 0;
    for round in 0..12 {
        let requests = (0..4).map(|n| {
            let save = n == 0;
            let payload = match save {
                true => r#"echo str_repeat("\0", 65536); fwrite(STDERR, str_repeat("\0", 65536));"#,
                false => "echo base64_encode(random_bytes(49000)); fwrite(STDERR, base64_encode(random_bytes(49000)));",
            };
            let body = serde_json::json!({
                "code": format!("<?php // {round}.{n}\n{payload}"),
                "images": ALL,
                "save": save,
            });
            server.post_json("/api/run", body)
        });
        for response in futures::future::join_all(requests).await {
            match response.status() {
                reqwest::StatusCode::OK => {}
                reqwest::StatusCode::TOO_MANY_REQUESTS => refused_saves += 1,
                other => panic!("{other}: {}", response.text().await.unwrap()),
            }
        }
    }
    assert_eq!(refused_saves, 7, "5 new snippets an hour, 12 asked");
    let health: serde_json::Value = server.get("/api/health").await.json().await.unwrap();
    let cache = health["storage"]["cache_bytes"].as_u64().unwrap();
    let database_bytes = health["storage"]["database_bytes"].as_u64().unwrap();
    assert!(
        cache <= 2 << 20,
        "the cache holds {cache} bytes; its bound is 2 MiB"
    );
    let on_disk: u64 = ["", "-wal"]
        .iter()
        .filter_map(|suffix| std::fs::metadata(format!("{}{suffix}", database.display())).ok())
        .map(|file| file.len())
        .sum();
    println!("cache {cache} B, database {database_bytes} B, on disk with the WAL {on_disk} B");
    assert!(
        database_bytes < 4 << 20,
        "the database holds {database_bytes} bytes"
    );
    assert!(on_disk < 12 << 20, "the files take {on_disk} bytes");
    server.containers.assert_none_left().await;
}

const ALL: [&str; 4] = ["php:7.4-cli", "php:8.2-cli", "php:8.4-cli", "php:8.5-cli"];

/// The fixed clock's library is shared by every container (a volume): a script that could
/// replace it would run its own code in every later run that asks for a fixed clock.
#[tokio::test]
async fn the_clock_library_shared_by_all_containers_cannot_be_changed() {
    let server = TestServer::start().await;
    let results = attack(
        &server,
        r#"$dir = '/opt/evalgrid-clock';
$library = "$dir/clock.so";
$before = md5_file($library);
echo $before ? 'present' : 'missing', ' ';
echo @file_put_contents($library, 'x') === false ? 'unwritable' : 'WRITTEN', ' ';
echo @file_put_contents("$dir/other.so", 'x') === false ? 'no-new-file' : 'CREATED', ' ';
echo @unlink($library) ? 'REMOVED' : 'kept', ' ';
echo @rename($library, "$dir/moved.so") ? 'MOVED' : 'unmoved', ' ';
@rename($library, '/tmp/moved.so'); // across file systems: a copy, then an unlink that fails
echo @chmod($library, 0777) ? 'CHMODDED' : 'mode-kept', ' ';
clearstatcache();
echo md5_file($library) === $before ? 'unchanged' : 'CHANGED';"#,
    )
    .await;
    assert_each(
        &results,
        |r| r.outcome.stdout == "present unwritable no-new-file kept unmoved mode-kept unchanged",
        "the library present and untouchable",
    );
}

/// ini variants put user text into PHP's command line: a value that tries to end itself (a
/// quote, a comment, a shell substitution) stays one value of one setting, and FFI stays off;
/// settings that would load code or undo the sandbox are refused before anything runs.
#[tokio::test]
async fn ini_values_cannot_set_other_settings_or_reach_the_shell() {
    let server = TestServer::start().await;
    let values = [
        r#"x" ffi.enable="1"#,
        "1 ; ffi.enable=1 -d ffi.enable=1",
        "$(touch /in/pwned) `touch /in/pwned` '; touch /in/pwned; '",
    ];
    let code = r#"<?php
        try {
            FFI::cdef('int getpid(void);');
            echo 'FFI CALLED';
        } catch (Throwable $refused) {
            echo 'FFI refused';
        }
        echo '|ffi=', var_export(ini_get('ffi.enable'), true), '|', ini_get('error_prepend_string'), '|',
            file_exists('/in/pwned') ? 'PWNED' : 'clean';"#;
    let variants: Vec<serde_json::Value> = values
        .iter()
        .map(|value| serde_json::json!({ "error_prepend_string": value }))
        .collect();
    let response = server
        .post_run(serde_json::json!({ "code": code, "images": ALL, "ini": variants }))
        .await;
    assert_eq!(response.results.len(), ALL.len() * values.len());
    for result in &response.results {
        // PHP reads a `-d` value as php.ini would (`"x" "y"` is one string, `;` starts a
        // comment): never as a second setting, and never through a shell.
        let (ffi, rest) = result
            .outcome
            .stdout
            .strip_prefix("FFI refused|ffi=")
            .and_then(|rest| rest.split_once('|'))
            .unwrap_or_else(|| panic!("{}: {result:#?}", result.image));
        assert!(
            ffi == "'0'" || ffi == "false",
            "{}: ffi.enable is {ffi}",
            result.image
        );
        assert!(rest.ends_with("|clean"), "{}: {result:#?}", result.image);
    }
    let shell = &response.results[2 * ALL.len()];
    assert!(
        shell.outcome.stdout.ends_with(&format!("|{}|clean", values[2])),
        "{shell:#?}"
    );
    for denied in [
        serde_json::json!({ "ffi.enable": "1" }),
        serde_json::json!({ "FFI.enable": "1" }),
        serde_json::json!({ "extension": "ffi.so" }),
        serde_json::json!({ "zend_extension": "/in/main.php" }),
        serde_json::json!({ "disable_functions": "" }),
        serde_json::json!({ "open_basedir": "/" }),
        serde_json::json!({ "opcache.preload": "/in/main.php" }),
        serde_json::json!({ "precision": "14\nffi.enable=1" }),
    ] {
        let body = serde_json::json!({ "code": code, "images": ALL, "ini": [{}, denied] });
        server
            .assert_refused(body, reqwest::StatusCode::BAD_REQUEST, "ini variant 2")
            .await;
    }
    server.containers.assert_none_left().await;
}

/// A value PHP's ini parser cannot read (an unmatched quote, an open `${`, a second `=`) spoils
/// at most the run's own settings after it: evalgrid's own, here those that make the opcodes
/// dump, still hold, and PHP says what it could not parse.
#[tokio::test]
async fn an_ini_value_that_does_not_parse_cannot_undo_evalgrid_s_own_settings() {
    let server = TestServer::start().await;
    let values = [r#""unterminated"#, "${open", "x=y"];
    let variants: Vec<serde_json::Value> = values
        .iter()
        .map(|value| serde_json::json!({ "error_prepend_string": value }))
        .collect();
    let response = server
        .post_run(serde_json::json!({
            "code": "<?php echo 1 + 2;", "images": ALL, "show": "opcodes", "ini": variants,
        }))
        .await;
    assert_eq!(response.results.len(), ALL.len() * values.len());
    for result in &response.results {
        assert!(
            result.outcome.stdout.contains("(after optimizer)")
                && result.outcome.stdout.contains("ECHO int(3)"),
            "{} {:?}: the dump is gone: {result:#?}",
            result.image,
            result.ini
        );
        assert!(result.outcome.stdout.contains("syntax error"), "{result:#?}");
    }
    server.containers.assert_none_left().await;
}
