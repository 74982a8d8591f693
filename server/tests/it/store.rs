//! Permalinks and the result cache, on the real engine and on both backends: a real SQLite file
//! and a real PostgreSQL server started for the test. Every behaviour runs on each (`sqlite::…`,
//! `postgres::…`): what a save returns survives restarts and a SIGKILL mid-write, saves from two
//! instances at once agree on one id, the cache keeps its bound; a damaged, missing or
//! unreachable database stops the start with a clear error.

use crate::common;

use app::model::{IniSettings, Outcome, RunResponse, Status, VersionResult};
use app::store::Store;
use common::postgres::Postgres;
use common::server_process::{fails_to_start, ServerProcess};
use common::{fresh_database, fresh_instance_id, Client, Containers, TestServer};
use reqwest::StatusCode;
use serde_json::json;
use std::path::Path;
use std::time::Duration;

#[derive(Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres,
}

/// Where one test's data lives: a fresh SQLite file, or a fresh database on a PostgreSQL server
/// started for this test (and stopped when the test ends, also when it fails).
struct TestDatabase {
    location: &'static str,
    /// The instance id of servers on this database: a restart on the same database is the same
    /// instance, as in a deployment.
    instance: &'static str,
    _postgres: Option<Postgres>,
    _sqlite: Option<common::TempDatabase>,
}

impl TestDatabase {
    async fn new(backend: Backend) -> Self {
        let (location, postgres, sqlite) = match backend {
            Backend::Sqlite => {
                let file = fresh_database();
                (file.to_str().unwrap().to_owned(), None, Some(file))
            }
            Backend::Postgres => {
                let server = tokio::task::spawn_blocking(Postgres::start).await.unwrap();
                (server.fresh_database(), Some(server), None)
            }
        };
        Self {
            location: leak(location),
            instance: leak(fresh_instance_id()),
            _postgres: postgres,
            _sqlite: sqlite,
        }
    }

    /// `--database` and this database.
    fn flag(&self) -> [&'static str; 2] {
        ["--database", self.location]
    }

    /// A test server on this database.
    fn server(&self) -> common::Setup {
        TestServer::setup().database(self.location)
    }

    /// `--database` with `more` flags.
    fn flags_with(&self, more: &[&'static str]) -> Vec<&'static str> {
        [&self.flag()[..], more].concat()
    }

    /// Flags for a server process on this database, as this database's instance.
    fn server_flags(&self) -> Vec<&'static str> {
        self.flags_with(&["--pool-size", "0", "--instance-id", self.instance])
    }

    /// A store of our own on this database, as another instance would open it.
    async fn store(&self) -> Store {
        Store::open(&self.location.parse().unwrap(), true).await.unwrap()
    }
}

fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

/// Each test, once on SQLite (`sqlite::name`) and once on PostgreSQL (`postgres::name`).
macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(super::TestDatabase::new(super::Backend::Sqlite).await).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(super::TestDatabase::new(super::Backend::Postgres).await).await
                }
            )*
        }
    };
}

on_both_backends!(
    a_saved_run_reads_the_same_after_restarts,
    the_same_code_gets_the_same_link_and_other_code_another,
    ids_that_collide_are_lengthened,
    saves_from_two_instances_at_once_agree_on_one_id_per_code,
    identical_code_on_the_same_image_is_served_from_the_cache,
    exits_are_cached_but_timeouts_and_kills_are_not,
    cached_results_come_first_in_the_stream,
    other_sandbox_limits_do_not_share_cached_results,
    the_cache_keeps_its_bound_and_the_recently_used_results,
    every_save_that_was_answered_survives_a_sigkill_mid_write,
    snippets_saved_before_an_image_appeared_await_it_but_not_those_of_the_first_list,
    a_snippet_keeps_a_result_per_version_and_ini_variant,
);

async fn a_saved_run_reads_the_same_after_restarts(database: TestDatabase) {
    let code = "<?php\necho 'PHP ', PHP_MAJOR_VERSION, \"\\n\";\nfwrite(STDERR, 'note');\n";
    let (id, results) = {
        let mut server = ServerProcess::start(&database.server_flags()).await;
        let saved = Client::of(&server.base)
            .save(code, &["php:8.4-cli", "php:7.4-cli"])
            .await;
        server.stop().await;
        saved
    };
    assert!(id.len() >= app::store::MIN_ID_LEN, "{id}");

    // A start that insists on the existing database.
    let mut flags = database.server_flags();
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
    assert_eq!(snippet.results[0].outcome.stdout, "PHP 7\n");
    assert_eq!(snippet.results[1].outcome.stderr, "note");

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

async fn the_same_code_gets_the_same_link_and_other_code_another(database: TestDatabase) {
    let server = database.server().start().await;
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

async fn ids_that_collide_are_lengthened(database: TestDatabase) {
    let store = database.store().await.with_min_id_len(1);
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

async fn identical_code_on_the_same_image_is_served_from_the_cache(database: TestDatabase) {
    let server = database.server().start().await;
    let client = Client::of(&server.base);
    let code = "<?php echo random_int(0, PHP_INT_MAX);";
    let first = client.run(code, &["php:8.4-cli"]).await.remove(0);
    assert!(!first.cached);
    // Same code and image: the stored result, marked; another image still runs.
    let again = client.run(code, &["php:8.4-cli", "php:8.2-cli"]).await;
    assert!(again[0].cached, "{:?}", again[0]);
    assert_eq!(
        again[0].outcome.stdout, first.outcome.stdout,
        "the very same output"
    );
    assert!(!again[1].cached);
    // Force: a real run, not a cached one.
    let forced = client.run_forced(code, &["php:8.4-cli"]).await.remove(0);
    assert!(!forced.cached);
    assert_ne!(forced.outcome.stdout, first.outcome.stdout, "a new random number");
    server.containers.assert_none_left().await;
}

async fn exits_are_cached_but_timeouts_and_kills_are_not(database: TestDatabase) {
    let server = database
        .server()
        .with(|c| c.sandbox.timeout_secs = 1.0)
        .start()
        .await;
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
        assert_eq!(first.outcome.status, status, "{first:?}");
        let second = client.run(code, &["php:8.2-cli"]).await.remove(0);
        assert_eq!(second.outcome.status, status);
        assert_eq!(second.cached, cached, "{status:?} cached: {cached}");
    }
    server.containers.assert_none_left().await;
}

async fn cached_results_come_first_in_the_stream(database: TestDatabase) {
    let server = database.server().start().await;
    let client = Client::of(&server.base);
    let code = "<?php usleep(300000); echo PHP_VERSION;";
    client.run(code, &["php:8.5-cli"]).await;
    let body = server
        .post_json(
            "/api/run/stream",
            // On the real clock, like the first run (a saved run's clock is otherwise fixed, and
            // a fixed clock is part of the cache key).
            json!({ "code": code, "images": ["php:7.4-cli", "php:8.5-cli"], "save": true, "clock": "real" }),
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

async fn other_sandbox_limits_do_not_share_cached_results(database: TestDatabase) {
    let code = "<?php echo 'limits';";
    {
        let mut server = ServerProcess::start(&database.server_flags()).await;
        Client::of(&server.base).run(code, &["php:8.4-cli"]).await;
        server.stop().await;
    }
    let mut same = database.server_flags();
    same.extend(["--memory-mib", "128"]);
    let mut server = ServerProcess::start(&same).await;
    assert!(Client::of(&server.base).run(code, &["php:8.4-cli"]).await[0].cached);
    server.stop().await;
    let mut other = database.server_flags();
    other.extend(["--memory-mib", "96"]);
    let mut server = ServerProcess::start(&other).await;
    assert!(!Client::of(&server.base).run(code, &["php:8.4-cli"]).await[0].cached);
    server.stop().await;
    server.containers.assert_none_left().await;
}

async fn every_save_that_was_answered_survives_a_sigkill_mid_write(database: TestDatabase) {
    let mut flags = database.server_flags();
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

    let mut flags = database.server_flags();
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

async fn saves_from_two_instances_at_once_agree_on_one_id_per_code(database: TestDatabase) {
    // Two stores on one database, as two instances behind a balancer have; ids from one
    // character on, so that different code collides often.
    let stores = [database.store().await, database.store().await].map(|s| s.with_min_id_len(1));
    let same = "<?php echo 'one snippet';";
    let saves = (0..20).map(|n| stores[n % 2].save_snippet(same));
    let ids: Vec<String> = futures::future::try_join_all(saves).await.unwrap();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    for store in &stores {
        assert_eq!(store.saved_id(same).await.unwrap().as_ref(), Some(&ids[0]));
    }

    // 40 different snippets at once: every save succeeds with an id of its own, the shortest
    // prefix of its code's hash that was free when it was saved.
    let codes: Vec<String> = (0..40).map(|n| format!("<?php echo {n};")).collect();
    let saves = codes
        .iter()
        .enumerate()
        .map(|(n, code)| stores[n % 2].save_snippet(code));
    let ids: Vec<String> = futures::future::try_join_all(saves).await.unwrap();
    let distinct: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), codes.len(), "{ids:?}");
    for (code, id) in codes.iter().zip(&ids) {
        assert!(app::store::full_id(code).starts_with(id.as_str()));
        assert_eq!(stores[1].snippet(id).await.unwrap().unwrap().code, *code);
    }
    assert!(
        ids.iter().any(|id| id.len() > 1),
        "40 one-character ids out of 32: some must have been lengthened: {ids:?}"
    );
}

async fn the_cache_keeps_its_bound_and_the_recently_used_results(database: TestDatabase) {
    const BOUND: u64 = 64 * 1024;
    let store = database.store().await.with_cache_limit(BOUND);
    // Output that does not deflate: each result takes about 8 KiB.
    let noise = |n: usize| -> String {
        (0..256)
            .map(|i| app::store::full_id(&format!("{n}.{i}"))[..32].to_owned())
            .collect()
    };
    let result = |n: usize| VersionResult {
        outcome: Outcome {
            exit_code: Some(0),
            stdout: noise(n),
            duration_ms: 1,
            ..Outcome::ended(Status::Ok)
        },
        ..VersionResult::new("php:8.4-cli", "8.4.0", Status::Ok)
    };
    for n in 0..40 {
        store.cache_result(&format!("key-{n}"), &result(n)).await.unwrap();
        // Uses are told apart by the millisecond.
        tokio::time::sleep(Duration::from_millis(2)).await;
        // The first result is read after every write, so it stays the most recently used.
        assert!(store.cached_result("key-0").await.unwrap().is_some(), "after {n}");
    }
    let size = store.size().await.unwrap();
    assert!(size.cache_bytes <= BOUND, "{size:?}");
    assert!(size.cache_bytes > BOUND / 2, "{size:?}");
    assert_eq!(store.cached_result("key-0").await.unwrap(), Some(result(0)));
    assert!(store.cached_result("key-39").await.unwrap().is_some());
    assert!(
        store.cached_result("key-1").await.unwrap().is_none(),
        "the oldest went"
    );
}

async fn snippets_saved_before_an_image_appeared_await_it_but_not_those_of_the_first_list(
    database: TestDatabase,
) {
    let store = database.store().await;
    let older = store.save_snippet("<?php echo 'older';").await.unwrap();
    let old = store.save_snippet("<?php echo 'old';").await.unwrap();
    let offered = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    let first = store
        .record_images_seen(&offered(&["php:8.4-cli"]))
        .await
        .unwrap();
    assert!(first.is_empty(), "the first list is the baseline: {first:?}");
    assert!(store
        .awaiting_image("php:8.4-cli", "sha256:84", 10)
        .await
        .unwrap()
        .is_empty());

    // Times are compared to the second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let new = store
        .record_images_seen(&offered(&["php:8.4-cli", "php:8.5-cli"]))
        .await
        .unwrap();
    assert_eq!(new, ["php:8.5-cli"]);
    assert_eq!(
        store
            .awaiting_image("php:8.5-cli", "sha256:85", 10)
            .await
            .unwrap(),
        [older.clone(), old.clone()],
        "oldest first"
    );
    let again = store
        .record_images_seen(&offered(&["php:8.5-cli"]))
        .await
        .unwrap();
    assert!(again.is_empty(), "seen once is seen: {again:?}");

    let result = VersionResult {
        outcome: Outcome {
            exit_code: Some(0),
            stdout: "older".into(),
            duration_ms: 1,
            ..Outcome::ended(Status::Ok)
        },
        added_later: true,
        ..VersionResult::new("php:8.5-cli", "8.5.0", Status::Ok)
    };
    store
        .save_result_of_image(&older, &result, Some("sha256:85"))
        .await
        .unwrap();
    assert_eq!(
        store
            .awaiting_image("php:8.5-cli", "sha256:85", 10)
            .await
            .unwrap(),
        std::slice::from_ref(&old)
    );
    let saved = store
        .saved_result(&older, "php:8.5-cli", &IniSettings::new())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (saved.result, saved.image_id.as_deref()),
        (result, Some("sha256:85"))
    );
    // One that could not run there is passed over, on that image; a new build tries it again.
    store
        .record_backfill_failure(&old, "php:8.5-cli", "sha256:85")
        .await
        .unwrap();
    assert!(store
        .awaiting_image("php:8.5-cli", "sha256:85", 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .awaiting_image("php:8.5-cli", "sha256:86", 10)
            .await
            .unwrap(),
        std::slice::from_ref(&old)
    );
    store
        .record_backfill_failure(&old, "php:8.5-cli", "sha256:86")
        .await
        .unwrap();
    assert!(store
        .awaiting_image("php:8.5-cli", "sha256:86", 10)
        .await
        .unwrap()
        .is_empty());

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let newer = store.save_snippet("<?php echo 'newer';").await.unwrap();
    assert!(
        !store
            .awaiting_image("php:8.5-cli", "sha256:85", 10)
            .await
            .unwrap()
            .contains(&newer),
        "saved after the image appeared"
    );
}

async fn a_snippet_keeps_a_result_per_version_and_ini_variant(database: TestDatabase) {
    let store = database.store().await;
    let jit: IniSettings = [("opcache.jit".to_owned(), "tracing".to_owned())].into();
    let variants = [jit.clone(), IniSettings::new()];
    let code = "<?php echo ini_get('opcache.jit');";
    let input = app::store::SnippetInput {
        ini: &variants,
        ..code.into()
    };
    let id = store.save(input).await.unwrap().id;
    assert_ne!(
        id,
        store.save_snippet(code).await.unwrap(),
        "the variants are part of the snippet"
    );
    assert_eq!(store.save(input).await.unwrap().id, id);
    let result = |version: &str, ini: &IniSettings| VersionResult {
        outcome: Outcome {
            exit_code: Some(0),
            stdout: ini.get("opcache.jit").cloned().unwrap_or_default(),
            duration_ms: 1,
            ..Outcome::ended(Status::Ok)
        },
        ini: ini.clone(),
        ..VersionResult::new(format!("php:{version}-cli"), format!("{version}.0"), Status::Ok)
    };
    for version in ["8.5", "8.4"] {
        for ini in [&IniSettings::new(), &jit] {
            store.save_result(&id, &result(version, ini)).await.unwrap();
        }
    }
    // Saved again: it replaces its own variant's result, not the other's.
    store.save_result(&id, &result("8.4", &jit)).await.unwrap();
    let snippet = store.snippet(&id).await.unwrap().unwrap();
    assert_eq!(snippet.ini, variants);
    assert_eq!(
        snippet.results,
        [
            result("8.4", &jit),
            result("8.4", &IniSettings::new()),
            result("8.5", &jit),
            result("8.5", &IniSettings::new()),
        ],
        "version by version, each in the order of the variants"
    );
    let saved = store
        .saved_result(&id, "php:8.5-cli", &jit)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(saved.result.outcome.stdout, "tracing");
    let defaults = store
        .saved_result(&id, "php:8.5-cli", &IniSettings::new())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(defaults.result.outcome.stdout, "");
}

/// Flags for a server on the SQLite file at `path`.
fn on_disk(path: &Path) -> Vec<&'static str> {
    vec![
        "--database",
        leak(path.to_str().unwrap().to_owned()),
        "--pool-size",
        "0",
    ]
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
async fn a_damaged_or_missing_sqlite_file_stops_the_start_with_a_clear_error() {
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
        let store = Store::open(&app::store::Database::File(damaged.to_path_buf()), true)
            .await
            .unwrap();
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

#[tokio::test]
async fn an_unreachable_unknown_or_newer_postgres_database_stops_the_start_with_a_clear_error() {
    let postgres = tokio::task::spawn_blocking(Postgres::start).await.unwrap();
    let nobody_listens = common::free_port();
    let down = format!("postgres://evalgrid:s3cret@127.0.0.1:{nobody_listens}/evalgrid");
    let said = fails_to_start(&["--database", &down]);
    assert!(said.contains("cannot open database"), "{said}");
    assert!(said.contains("refused"), "says why: {said}");
    assert!(
        said.contains(&format!("127.0.0.1:{nobody_listens}")) && !said.contains("s3cret"),
        "names the server, never the password: {said}"
    );

    let unknown = postgres.url("no_such_database");
    let said = fails_to_start(&["--database", &unknown]);
    assert!(
        said.contains("no_such_database") && said.contains("does not exist"),
        "{said}"
    );

    // A database that a newer evalgrid migrated.
    let newer = postgres.fresh_database();
    database_store(&newer).await.close().await;
    postgres.query(
        &newer,
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (20991231000000, 'from the future', true, decode('00', 'hex'), 0)",
    );
    let said = fails_to_start(&["--database", &newer]);
    assert!(said.contains("schema this evalgrid does not know"), "{said}");
}

async fn database_store(url: &str) -> Store {
    Store::open(&url.parse().unwrap(), true).await.unwrap()
}
