//! Saved snippets meet new versions, on the real engine with real images: a version tagged
//! after a snippet was saved gets a result for it without anyone pressing Run; the versions of
//! the first list a server ever sees are not re-run. Each test offers a repository of its own,
//! tagged from the local PHP images and untagged at the end, also when it fails.

use crate::common;

use common::tags::{offers, Tags};
use common::{fresh_database, TestServer};
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_snippet_saved_before_a_version_appeared_gets_its_result_without_a_run() {
    let tags = Tags::of("evalgrid-backfill-test/php");
    let php84 = tags.add("8.4-cli");
    let server = TestServer::setup()
        .repositories(tags.repository)
        .with(|c| c.capacity.backfill_per_minute = 60)
        .start()
        .await;
    offers(&server, &[&php84]).await;
    // A moment for the first list to be recorded as the baseline.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (id, saved) = server.save("<?php echo 'PHP ', PHP_VERSION;", &[&php84]).await;
    assert!(!saved[0].added_later);
    // A snippet with ini variants gets the new version under each of them.
    let variants = server
        .post_run(serde_json::json!({
            "code": "<?php echo 0.1 + 0.2;", "images": [&php84], "save": true,
            "ini": [{ "precision": 17 }, {}],
        }))
        .await;
    let with_variants = variants.id.unwrap();

    let php85 = tags.add("8.5-cli");
    offers(&server, &[&php84, &php85]).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let snippet = loop {
        let snippet = server.snippet(&id).await.unwrap();
        if snippet.results.len() == 2 {
            break snippet;
        }
        assert!(Instant::now() < deadline, "never re-run on {php85}: {snippet:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let (on84, on85) = (&snippet.results[0], &snippet.results[1]);
    assert_eq!((on84.image.as_str(), on84.added_later), (php84.as_str(), false));
    assert_eq!(on85.image, php85);
    assert!(on85.added_later, "{on85:?}");
    assert!(on85.outcome.stdout.starts_with("PHP 8.5."), "{on85:?}");
    let page = server.page(&id).await.1;
    assert!(page.contains("added later"), "the permalink marks it");

    let snippet = loop {
        let snippet = server.snippet(&with_variants).await.unwrap();
        if snippet.results.len() == 4 {
            break snippet;
        }
        assert!(Instant::now() < deadline, "never re-run on {php85}: {snippet:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let added: Vec<(&str, &str, bool)> = snippet.results[2..]
        .iter()
        .map(|r| (r.image.as_str(), r.outcome.stdout.as_str(), r.added_later))
        .collect();
    assert_eq!(
        added,
        [
            (php85.as_str(), "0.30000000000000004", true),
            (php85.as_str(), "0.3", true)
        ],
        "each variant, in its order"
    );
    server.containers.wait_until_settled().await;
    server.containers.assert_none_left().await;
}

#[tokio::test]
async fn the_versions_of_the_first_list_a_server_sees_are_not_run_on_older_snippets() {
    let tags = Tags::of("evalgrid-backfill-baseline/php");
    let (php84, php85) = (tags.add("8.4-cli"), tags.add("8.5-cli"));
    let database = fresh_database();
    let database = database.to_str().unwrap();
    let id = {
        // A server from before re-runs existed: it never records which images it offers.
        let before = TestServer::setup()
            .repositories(tags.repository)
            .database(database)
            .start()
            .await;
        before.save("<?php echo PHP_VERSION;", &[&php84]).await.0
    };
    let server = TestServer::setup()
        .repositories(tags.repository)
        .database(database)
        .with(|c| c.capacity.backfill_per_minute = 600)
        .start()
        .await;
    offers(&server, &[&php84, &php85]).await;
    // Many of its rounds.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let snippet = server.snippet(&id).await.unwrap();
    let images: Vec<&str> = snippet.results.iter().map(|r| r.image.as_str()).collect();
    assert_eq!(images, [php84.as_str()], "{php85} was there from the start");
    server.containers.assert_none_left().await;
}
