//! Fixture images built by the tests themselves from what is on this machine (never pulled).

use std::process::Command;
use std::sync::OnceLock;

/// A fixture image: its repository (for `--repositories`) and the name to run it by.
pub struct FixtureImage {
    pub repository: &'static str,
    pub name: &'static str,
}

/// `php:8.4-cli` with `/usr/local/bin/php` replaced by the static syscall probe
/// (`fixtures/syscall_probe.c`), which comes first on the image's PATH. Built once per test
/// process (gcc, then docker create/cp/commit: no registry, no BuildKit).
pub fn syscall_probe_image() -> FixtureImage {
    static BUILT: OnceLock<()> = OnceLock::new();
    let image = FixtureImage {
        repository: "evalgrid-fixture/syscall-probe",
        name: "evalgrid-fixture/syscall-probe:1.0-cli",
    };
    BUILT.get_or_init(|| {
        let directory = super::fresh_directory("syscall-probe");
        let binary = directory.join("php");
        let source = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/syscall_probe.c");
        run("gcc", &["-static", "-O2", "-o", binary.to_str().unwrap(), source]);
        let container = run("docker", &["create", "php:8.4-cli"]);
        run(
            "docker",
            &[
                "cp",
                binary.to_str().unwrap(),
                &format!("{container}:/usr/local/bin/php"),
            ],
        );
        let previous = Command::new("docker")
            .args(["image", "inspect", "--format", "{{.Id}}", image.name])
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned());
        run("docker", &["commit", &container, image.name]);
        run("docker", &["rm", &container]);
        // The build the tag moved away from would stay behind untagged, one per test run.
        if let Ok(previous) = previous.as_deref() {
            if !previous.is_empty() {
                let _ = Command::new("docker").args(["rmi", previous]).output();
            }
        }
        let _ = std::fs::remove_dir_all(directory);
    });
    image
}

/// Runs a command, panicking with its stderr when it fails; returns its trimmed stdout.
fn run(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("cannot run {program}: {error}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}
