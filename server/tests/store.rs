//! Permalinks and the result cache, on the real engine and a real SQLite file: what a save
//! returns survives restarts and a SIGKILL mid-write; a damaged or missing file stops the start.

mod common;

use app::model::{RunResponse, Status, VersionResult};
use app::store::Store;
use common::server_process::{fails_to_start, ServerProcess};
use common::{fresh_database, Client, Containers, TestServer};
use reqwest::StatusCode;
use serde_json::json;
use std::path::Path;
use std::time::Duration;

/// Flags for a server on the database at `path`, with an instance id of that database's own:
/// a restart on the same file is the same instance, as in a deployment.
fn on_disk(path: &Path) -> Vec<&'static str> {
    let path: &'static str = Box::leak(path.to_str().unwrap().to_owned().into_boxed_str());
    vec![
        "--database",
        path,
        "--pool-size",
        "0",
        "--instance-id",
        instance_of(path),
    ]
}

/// The database's path as an instance id (a unique file per test, so a unique id).
fn instance_of(database: &str) -> &'static str {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
    let id: String = database
        .chars()
        .map(|c| if allowed(c) { c } else { '-' })
        .collect();
    let id = id.trim_start_matches('-');
    Box::leak(id[id.len().saturating_sub(128)..].to_owned().into_boxed_str())
}

#[tokio::test]
async fn a_saved_run_reads_the_same_after_restarts() {
    let database = fresh_database();
    let code = "<?php\necho 'PHP ', PHP_MAJOR_VERSION, \"\\n\";\nfwrite(STDERR, 'note');\n";
    let (id, results) = {
        let mut server = ServerProcess::start(&on_disk(&database)).await;
        let saved = Client::of(&server.base)
            .save(code, &["php:8.4-cli", "php:7.4-cli"])
            .await;
        server.stop().await;
        saved
    };
    assert!(id.len() >= app::store::MIN_ID_LEN, "{id}");

    // A start that insists on the existing file.
    let mut flags = on_disk(&database);
    flags.push("--require-database");
    let mut server = ServerProcess::start(&flags).await;
    let client = Client::of(&server.base);
    let snippet = client.snippet(&id).await.expect("the snippet survived");
    assert_eq!(snippet.code, code);
    let versions: Vec<&str> = snippet.results.iter().map(|r| r.image.as_str()).collect();
    assert_eq!(versions, ["php:7.4-cli", "php:8.4-cli"], "oldest version first");
    for saved in &snippet.results {
        let ran = results.iter().find(|r| r.image == saved.image).unwrap();
        assert_eq!(saved, ran, "stored exactly as returned");
    }
    assert_eq!(snippet.results[0].stdout, "PHP 7\n");
    assert_eq!(snippet.results[1].stderr, "note");

    // Readable without JavaScript: the code and every output are in the server's HTML.
    let (status, html) = client.page(&id).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("fwrite(STDERR"), "the code is on the page");
    assert!(
        html.contains("PHP 7\n") && html.contains("PHP 8\n"),
        "both outputs are on the page"
    );
    assert!(client.snippet("nosuch").await.is_none());
    assert_eq!(client.page("nosuch").await.0, StatusCode::NOT_FOUND);
    server.stop().await;
    server.containers.assert_none_left().await;
}

#[tokio::test]
async fn the_same_code_gets_the_same_link_and_other_code_another() {
    let server = TestServer::start().await;
    let client = Client::of(&server.base);
    let (first, _) = client.save("<?php echo 1;\n", &["php:8.2-cli"]).await;
    let (again, _) = client.save("<?php echo 1;\n", &["php:8.4-cli"]).await;
    let (windows, _) = client.save("<?php echo 1;\r\n", &["php:8.4-cli"]).await;
    let (other, _) = client.save("<?php echo 2;\n", &["php:8.4-cli"]).await;
    assert_eq!(first, again);
    assert_eq!(first, windows, "CRLF and LF are the same code");
    assert_ne!(first, other);
    // Both saves' versions are on the permalink.
    let snippet = client.snippet(&first).await.unwrap();
    assert_eq!(snippet.results.len(), 2);
    assert_eq!(snippet.code, "<?php echo 1;\n");
    assert!(
        client
            .post_run(json!({ "code": "<?php echo 3;", "images": ["php:8.4-cli"] }))
            .await
            .id
            .is_none(),
        "not saved unless asked"
    );
    server.containers.assert_none_left().await;
}

#[tokio::test]
async fn ids_that_collide_are_lengthened() {
    let store = Store::open(&fresh_database(), true)
        .await
        .unwrap()
        .with_min_id_len(1);
    let first = store.save_snippet("<?php echo 0;").await.unwrap();
    // Some other code whose id starts with the same character (1 in 32 do).
    let colliding = (1..)
        .map(|n| format!("<?php echo {n};"))
        .find(|code| app::store::full_id(code).starts_with(&first))
        .unwrap();
    let second = store.save_snippet(&colliding).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(second.len(), 2, "{first} {second}");
    assert!(second.starts_with(&first));
    assert_eq!(
        store.save_snippet(&colliding).await.unwrap(),
        second,
        "stable once given"
    );
    assert_eq!(store.snippet(&second).await.unwrap().unwrap().code, colliding);
}

#[tokio::test]
async fn identical_code_on_the_same_image_is_served_from_the_cache() {
    let server = TestServer::start().await;
    let client = Client::of(&server.base);
    let code = "<?php echo random_int(0, PHP_INT_MAX);";
    let first = client.run(code, &["php:8.4-cli"]).await.remove(0);
    assert!(!first.cached);
    // Same code and image: the stored result, marked; another image still runs.
    let again = client.run(code, &["php:8.4-cli", "php:8.2-cli"]).await;
    assert!(again[0].cached, "{:?}", again[0]);
    assert_eq!(again[0].stdout, first.stdout, "the very same output");
    assert!(!again[1].cached);
    // Force: a real run, not a cached one.
    let forced = client.run_forced(code, &["php:8.4-cli"]).await.remove(0);
    assert!(!forced.cached);
    assert_ne!(forced.stdout, first.stdout, "a new random number");
    server.containers.assert_none_left().await;
}

#[tokio::test]
async fn exits_are_cached_but_timeouts_and_kills_are_not() {
    let server = TestServer::start_with(&["--timeout-secs", "1"]).await;
    let client = Client::of(&server.base);
    let exit = "<?php echo 'bye'; exit(3);";
    let timeout = "<?php sleep(5);";
    let oom =
        r#"<?php ini_set("memory_limit", "-1"); $a = []; while (true) { $a[] = str_repeat("x", 1 << 20); }"#;
    for (code, status, cached) in [
        (exit, Status::Exit, true),
        (timeout, Status::Timeout, false),
        (oom, Status::Oom, false),
    ] {
        let first = client.run(code, &["php:8.2-cli"]).await.remove(0);
        assert_eq!(first.status, status, "{first:?}");
        let second = client.run(code, &["php:8.2-cli"]).await.remove(0);
        assert_eq!(second.status, status);
        assert_eq!(second.cached, cached, "{status:?} cached: {cached}");
    }
    server.containers.assert_none_left().await;
}

#[tokio::test]
async fn cached_results_come_first_in_the_stream() {
    let server = TestServer::start().await;
    let client = Client::of(&server.base);
    let code = "<?php usleep(300000); echo PHP_VERSION;";
    client.run(code, &["php:8.5-cli"]).await;
    let body = server
        .post_json(
            "/api/run/stream",
            json!({ "code": code, "images": ["php:7.4-cli", "php:8.5-cli"], "save": true }),
        )
        .await;
    let id = body.headers()[server::SNIPPET_ID_HEADER]
        .to_str()
        .unwrap()
        .to_owned();
    let lines: Vec<VersionResult> = body
        .text()
        .await
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!((lines[0].image.as_str(), lines[0].cached), ("php:8.5-cli", true));
    assert_eq!((lines[1].image.as_str(), lines[1].cached), ("php:7.4-cli", false));
    assert_eq!(
        client.snippet(&id).await.unwrap().results.len(),
        2,
        "cached results are saved too"
    );
    server.containers.assert_none_left().await;
}

#[tokio::test]
async fn other_sandbox_limits_do_not_share_cached_results() {
    let database = fresh_database();
    let code = "<?php echo 'limits';";
    {
        let mut server = ServerProcess::start(&on_disk(&database)).await;
        Client::of(&server.base).run(code, &["php:8.4-cli"]).await;
        server.stop().await;
    }
    let mut same = on_disk(&database);
    same.extend(["--memory-mib", "128"]);
    let mut server = ServerProcess::start(&same).await;
    assert!(Client::of(&server.base).run(code, &["php:8.4-cli"]).await[0].cached);
    server.stop().await;
    let mut other = on_disk(&database);
    other.extend(["--memory-mib", "96"]);
    let mut server = ServerProcess::start(&other).await;
    assert!(!Client::of(&server.base).run(code, &["php:8.4-cli"]).await[0].cached);
    server.stop().await;
    server.containers.assert_none_left().await;
}

#[tokio::test]
async fn every_save_that_was_answered_survives_a_sigkill_mid_write() {
    let database = fresh_database();
    let mut flags = on_disk(&database);
    flags.extend(["--runs-per-minute", "0"]);
    let server = ServerProcess::start(&flags).await;
    let base = server.base.clone();
    // Clients that save new code as fast as they can, until the server dies under them.
    let clients: Vec<_> = (0..6)
        .map(|client| {
            let client_api = Client::of(&base);
            tokio::spawn(async move {
                let mut saved = Vec::new();
                for n in 0.. {
                    let code = format!("<?php echo {client} * 1000 + {n};");
                    let body = json!({ "code": code, "images": ["php:8.4-cli"], "save": true });
                    let Ok(response) = client_api
                        .http
                        .post(format!("{}/api/run", client_api.base))
                        .json(&body)
                        .send()
                        .await
                    else {
                        return saved;
                    };
                    if let Ok(run) = response.json::<RunResponse>().await {
                        saved.push((run.id.unwrap(), code, run.results));
                    }
                }
                saved
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(3)).await;
    // SIGKILL, with saves in flight.
    let containers = Containers::of(server.containers.instance_id());
    drop(server);
    // The engine finishes creates it had already accepted: the restart's sweep must see them.
    containers.wait_until_settled().await;
    let mut answered = Vec::new();
    for client in clients {
        answered.extend(client.await.unwrap());
    }
    assert!(
        answered.len() >= 6,
        "saves completed before the kill: {}",
        answered.len()
    );

    let mut flags = on_disk(&database);
    flags.push("--require-database");
    let mut restarted = ServerProcess::start(&flags).await;
    let client = Client::of(&restarted.base);
    for (id, code, results) in &answered {
        let snippet = client
            .snippet(id)
            .await
            .unwrap_or_else(|| panic!("{id} was lost"));
        assert_eq!(&snippet.code, code);
        assert_eq!(&snippet.results, results);
    }
    println!("{} answered saves all survived", answered.len());
    restarted.stop().await;
    restarted.containers.assert_none_left().await;
}

fn overwrite_the_middle(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let length = bytes.len();
    bytes[length / 4..length * 3 / 4].fill(0x55);
    std::fs::write(path, bytes).unwrap();
}

fn cut_in_half(path: &Path) {
    let length = std::fs::metadata(path).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(length / 2)
        .unwrap();
}

#[tokio::test]
async fn a_damaged_or_missing_database_stops_the_start_with_a_clear_error() {
    let garbage = fresh_database();
    std::fs::write(&garbage, "this is not a database\n".repeat(500)).unwrap();
    let said = fails_to_start(&on_disk(&garbage));
    assert!(said.contains("damaged or not a SQLite database"), "{said}");
    assert!(said.contains(garbage.to_str().unwrap()), "names the file: {said}");
    assert_eq!(
        std::fs::read(&garbage).unwrap(),
        "this is not a database\n".repeat(500).as_bytes(),
        "left untouched"
    );

    // A real database with its middle overwritten, and one cut in half.
    for damage in [overwrite_the_middle as fn(&Path), cut_in_half] {
        let damaged = fresh_database();
        let store = Store::open(&damaged, true).await.unwrap();
        for n in 0..200 {
            store
                .save_snippet(&format!("<?php echo {n}; // {}", "x".repeat(500)))
                .await
                .unwrap();
        }
        store.close().await;
        assert_eq!(
            std::fs::metadata(damaged.with_extension("sqlite3-wal")).map_or(0, |m| m.len()),
            0,
            "all in the main file"
        );
        damage(&damaged);
        let said = fails_to_start(&on_disk(&damaged));
        assert!(said.contains("damaged"), "{said}");
    }

    let missing = fresh_database();
    let mut flags = on_disk(&missing);
    flags.push("--require-database");
    let said = fails_to_start(&flags);
    assert!(said.contains("does not exist"), "{said}");
    assert!(!missing.exists(), "not created");

    let nowhere = missing
        .parent()
        .unwrap()
        .join("no-such-directory/evalgrid.sqlite3");
    let said = fails_to_start(&on_disk(&nowhere));
    assert!(said.contains("directory does not exist"), "{said}");
}
