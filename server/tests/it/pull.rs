//! Getting the versions one wants: `server images pull REF…` through the engine, from a real
//! registry on loopback; the image is offered without a restart; failed pulls say why and
//! leave nothing behind.

use crate::common;

use app::model::ImageInfo;
use common::registry::Registry;
use common::TestServer;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The small Alpine-shaped fixture (scripts/build-fixture-images.sh).
const FIXTURE: &str = "evalgrid-fixture/php:8.4.5-cli-alpine";

fn docker(args: &[&str]) -> Output {
    Command::new("docker").args(args).output().expect("docker CLI")
}

/// `server images pull` with these references, as a user types it.
async fn pull(flags: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_server"))
            .args(flags)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

/// Removes the pulled tag when the test ends, whatever happened.
struct Untag(String);

impl Drop for Untag {
    fn drop(&mut self) {
        let _ = docker(&["rmi", &self.0]);
    }
}

async fn offered(server: &TestServer) -> Vec<String> {
    let images: Vec<ImageInfo> = server.get("/api/images").await.json().await.unwrap();
    images.into_iter().map(|i| i.image).collect()
}

#[tokio::test]
async fn a_pulled_image_is_offered_without_a_restart_and_failed_pulls_say_why() {
    let mut registry = tokio::task::spawn_blocking(Registry::start).await.unwrap();
    let repository = format!("127.0.0.1:{}/php", registry.port);
    let reference = format!("{repository}:8.4.5-cli-alpine");
    let _untag = Untag(reference.clone());
    // Into the registry, and the local tag gone again: only a pull brings it back.
    assert!(docker(&["tag", FIXTURE, &reference]).status.success());
    let pushed = docker(&["push", &reference]);
    assert!(
        pushed.status.success(),
        "{}",
        String::from_utf8_lossy(&pushed.stderr)
    );
    assert!(docker(&["rmi", &reference]).status.success());

    let server = TestServer::setup().repositories(&repository).start().await;
    assert!(offered(&server).await.is_empty());
    let flags = |reference: &str| -> Vec<String> {
        ["--repositories", &repository, "images", "pull", reference]
            .map(str::to_owned)
            .to_vec()
    };

    let pulled = pull(flags(&reference)).await;
    let said = String::from_utf8_lossy(&pulled.stderr).into_owned();
    println!("{said}");
    assert!(pulled.status.success(), "{said}");
    assert!(
        said.contains("Pulling from") && said.contains("pulled"),
        "progress and the outcome: {said}"
    );
    // The running server offers it within its discovery's freshness, and runs it.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !offered(&server).await.contains(&reference) {
        assert!(Instant::now() < deadline, "the pulled image is not offered");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let results = server.run("<?php echo PHP_VERSION;", &[&reference]).await;
    assert_eq!(results[0].outcome.stdout, "8.4.5");

    // A tag the registry does not have.
    let missing = pull(flags(&format!("{repository}:7.0-nope"))).await;
    let said = String::from_utf8_lossy(&missing.stderr).into_owned();
    println!("{said}");
    assert!(!missing.status.success());
    assert!(
        said.contains("cannot pull") && said.contains("7.0-nope"),
        "{said}"
    );
    // The registry down.
    registry.stop();
    let down = pull(flags(&format!("{repository}:8.4-other"))).await;
    let said = String::from_utf8_lossy(&down.stderr).into_owned();
    println!("{said}");
    assert!(!down.status.success());
    assert!(said.contains("cannot pull"), "{said}");
    // Nothing half there: the engine has neither, and only the one image is offered.
    for failed in ["7.0-nope", "8.4-other"] {
        let inspect = docker(&["image", "inspect", &format!("{repository}:{failed}")]);
        assert!(!inspect.status.success(), "{failed} exists after a failed pull");
    }
    assert_eq!(offered(&server).await, std::slice::from_ref(&reference));
    server.containers.assert_none_left().await;
}

#[tokio::test]
async fn images_list_prints_what_would_be_offered_and_fails_without_an_engine() {
    let instance = common::fresh_instance_id();
    let listed = pull(
        [
            "--repositories",
            "evalgrid-fixture/php",
            "--instance-id",
            &instance,
            "images",
            "list",
        ]
        .map(str::to_owned)
        .to_vec(),
    )
    .await;
    let stdout = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with("VERSION") && lines[0].contains("EXTENSIONS"),
        "{stdout}"
    );
    assert_eq!(
        lines.len(),
        4,
        "a header, the two fixture images, the isolation: {stdout}"
    );
    assert!(
        ["isolation: namespaces", "isolation: containers"].contains(&lines[3]),
        "{stdout}"
    );
    let alpine = lines.iter().find(|l| l.contains(FIXTURE)).expect(FIXTURE);
    assert!(
        alpine.starts_with("8.4.5") && alpine.contains("alpine"),
        "{alpine}"
    );
    assert!(lines
        .iter()
        .any(|l| l.contains("evalgrid-fixture/php:8.4") && l.contains("debian")));
    common::Containers::of(&instance).assert_none_left().await;

    let nowhere = pull(
        [
            "--docker-host",
            "unix:///nonexistent/docker.sock",
            "images",
            "list",
        ]
        .map(str::to_owned)
        .to_vec(),
    )
    .await;
    assert!(!nowhere.status.success());
    let said = String::from_utf8_lossy(&nowhere.stderr);
    assert!(said.contains("error"), "{said}");
}
