//! Hostile code through the public API, on the real engine. Every attack runs on PHP 7.4 and 8.4
//! in one request together with PHP 8.5, which runs nothing harmful: 8.5 must still come back
//! `ok`, the server must answer the next request normally, and no container may be left.
//! SECURITY.md lists each attack with its observed outcome.

mod common;

use app::model::{Status, VersionResult};
use common::{assert_no_container_left, resident_set_kib, TestServer};

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
    assert_eq!(harmless.status, Status::Ok, "{harmless:?}");
    assert_eq!(harmless.stdout, "harmless");
    server.assert_still_answers().await;
    assert_no_container_left().await;
    results
}

fn assert_each(results: &[VersionResult], check: impl Fn(&VersionResult) -> bool, what: &str) {
    for result in results {
        assert!(check(result), "{}: expected {what}, got {result:#?}", result.image);
    }
}

#[tokio::test]
async fn a_pcntl_fork_bomb_hits_the_process_limit() {
    let server = TestServer::start().await;
    let results = attack(
        &server,
        r#"$children = 0;
        while (true) {
            $pid = pcntl_fork();
            if ($pid === -1) { echo "fork refused after $children children\n"; exit(0); }
            if ($pid === 0) { while (true) {} }
            $children++;
        }"#,
    )
    .await;
    assert_each(&results, |r| r.stdout.contains("fork refused after"), "the fork to be refused");
}

#[tokio::test]
async fn a_shell_fork_bomb_through_exec_and_proc_open_hits_the_process_limit() {
    let server = TestServer::start().await;
    let results = attack(
        &server,
        r#"exec('bomb() { bomb | bomb & }; bomb; sleep 1');
        $process = proc_open('bomb() { bomb | bomb & }; bomb; sleep 1', [], $pipes);
        echo "still here\n";"#,
    )
    .await;
    assert_each(
        &results,
        |r| r.status == Status::Timeout || r.stdout.contains("still here"),
        "the bomb to be contained",
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
    assert_each(&results, |r| r.status == Status::Oom, "oom");
}

#[tokio::test]
async fn endless_loops_and_long_sleeps_are_killed_at_the_time_limit() {
    let server = TestServer::start_with(&["--timeout-secs", "2"]).await;
    for code in ["while (true) {}", "sleep(600);"] {
        let results = attack(&server, code).await;
        assert_each(&results, |r| r.status == Status::Timeout, "timeout");
        // duration_ms runs from the container's start until it was removed.
        assert_each(&results, |r| r.duration_ms < 3000, "removal within 1 s of the limit");
    }
}

#[tokio::test]
async fn a_100_mb_flood_is_cut_at_the_output_limit() {
    let server = TestServer::start().await;
    let rss_before = resident_set_kib();
    let results = attack(
        &server,
        "for ($i = 0; $i < 100; $i++) { echo str_repeat('x', 1 << 20); }",
    )
    .await;
    assert_each(&results, |r| r.truncated && r.stdout.len() == 64 * 1024, "64 KiB, truncated");
    let growth_mib = (resident_set_kib() - rss_before) / 1024;
    assert!(growth_mib < 50, "the server grew by {growth_mib} MiB");
}

#[tokio::test]
async fn the_file_system_is_read_only_except_small_scratch_space() {
    let server = TestServer::start().await;
    let results = attack(
        &server,
        r#"foreach (['/evil', '/etc/evil', '/usr/evil', '/usr/local/bin/php', '/dev/shm/evil'] as $path) {
            echo $path, ' ', @file_put_contents($path, 'x') === false ? 'denied' : 'WRITTEN', "\n";
        }"#,
    )
    .await;
    assert_each(&results, |r| !r.stdout.contains("WRITTEN") && r.stdout.matches("denied").count() == 5, "every write denied");
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
    assert_each(&results, |r| r.stdout == "wrote 16 MiB\n", "/tmp full at 16 MiB");
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
        |r| !r.stdout.contains("CONNECTED") && r.stdout.matches(" refused: ").count() == 2,
        "no connection",
    );
    assert_each(&results, |r| r.stdout.contains("dns example.com false"), "no DNS");
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
        echo 'setuid ', var_export(@posix_setuid(0), true), ' uid ', posix_getuid(), "\n";"#,
    )
    .await;
    assert_each(&results, |r| r.stdout.contains("shadow false"), "/etc/shadow unreadable");
    assert_each(&results, |r| !r.stdout.contains("hunter2"), "no server environment inside");
    assert_each(&results, |r| r.stdout.contains("socket false"), "no docker socket");
    assert_each(&results, |r| r.stdout.contains("setuid false uid 65534"), "no way to root");
}

#[tokio::test]
async fn awkward_output_arrives_intact_or_cut() {
    let server = TestServer::start().await;
    // A 1 MiB line without a newline.
    let results = attack(&server, "echo str_repeat('y', 1 << 20);").await;
    assert_each(&results, |r| r.truncated && r.stdout.len() == 64 * 1024, "a truncated line");
    // NUL bytes and invalid UTF-8 become U+0000 and U+FFFD in valid JSON.
    let results = attack(&server, r#"echo "a\0b\xff"; fwrite(STDERR, "\x80c");"#).await;
    assert_each(&results, |r| r.stdout == "a\0b\u{FFFD}" && r.stderr == "\u{FFFD}c", "lossy UTF-8");
    // Very many small writes.
    let results = attack(&server, "for ($i = 0; $i < 200000; $i++) { echo 'z'; flush(); }").await;
    assert_each(
        &results,
        |r| r.truncated && r.stdout.len() == 64 * 1024 && r.stdout.bytes().all(|b| b == b'z'),
        "64 KiB of z",
    );
}

/// The docker bridge's gateway address, where a normal container reaches the host. Older
/// engines list only the subnet; the gateway is then its first address.
async fn bridge_gateway() -> String {
    let output = tokio::process::Command::new("docker")
        .args(["network", "inspect", "bridge", "--format", "{{json .IPAM.Config}}"])
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
