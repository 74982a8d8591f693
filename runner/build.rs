//! Builds what the runner embeds and hands to the engine: the fixed clock (`clock/clock.c`,
//! a shared object, see `src/clock.rs`) and the workers' supervisor (the `supervisor` crate,
//! see `src/worker.rs`). Linux only; elsewhere neither is offered.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    build_clock();
    build_supervisor();
}

/// The workers' supervisor (the `supervisor` crate), static for musl so that it runs in any
/// image. Built by a cargo of its own, in a target directory of its own (a build script cannot
/// share the one that builds it); empty where the musl target is missing, and then the runner
/// offers single-use containers only.
fn build_supervisor() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let crate_dir = manifest.join("../supervisor");
    println!("cargo:rerun-if-changed={}", crate_dir.join("src").display());
    println!(
        "cargo:rerun-if-changed={}",
        crate_dir.join("Cargo.toml").display()
    );
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    let out = out_dir.join("evalgrid-supervisor");
    let musl = match std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() {
        Ok("x86_64") => Some("x86_64-unknown-linux-musl"),
        Ok("aarch64") => Some("aarch64-unknown-linux-musl"),
        _ => None,
    };
    let linux = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux");
    let target_dir = out_dir.join("supervisor-target");
    let built = musl.filter(|_| linux).is_some_and(|musl| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "build",
                "--release",
                "--quiet",
                "--package",
                "evalgrid-supervisor",
            ])
            .args(["--features", "binary", "--target", musl, "--target-dir"])
            .arg(&target_dir)
            .current_dir(manifest.join(".."))
            // The outer build's flags and wrappers (clippy's driver, a host target) are not
            // this build's.
            .env_remove("RUSTC_WORKSPACE_WRAPPER")
            .env_remove("RUSTC_WRAPPER")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("CARGO_BUILD_TARGET")
            .env("CARGO_PROFILE_RELEASE_STRIP", "true")
            .env("CARGO_PROFILE_RELEASE_PANIC", "abort")
            .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "s")
            .status();
        let binary = target_dir.join(musl).join("release/evalgrid-supervisor");
        status.is_ok_and(|status| status.success()) && std::fs::copy(binary, &out).is_ok()
    });
    if !built {
        println!("cargo:warning=the workers' supervisor was not built (is the musl target installed?); runs use single-use containers");
        std::fs::write(&out, b"").expect("write an empty supervisor");
    }
}

fn build_clock() {
    println!("cargo:rerun-if-changed=clock/clock.c");
    println!("cargo:rerun-if-env-changed=CC");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR")).join("evalgrid-clock.so");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux");
    let host = std::env::var("HOST").unwrap_or_default();
    let target = std::env::var("TARGET").unwrap_or_default();
    // The system compiler builds for the host: only a native build gets the library.
    let built = linux
        && host == target
        && Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
            .args([
                "-shared",
                "-fPIC",
                "-nostdlib",
                "-fno-stack-protector",
                "-fvisibility=hidden",
                "-O2",
                "-Wall",
                "-Wextra",
                "-Werror",
                "-Wl,--hash-style=both",
                "-Wl,-z,now",
                "-o",
            ])
            .arg(&out)
            .arg("clock/clock.c")
            .status()
            .is_ok_and(|status| status.success());
    if !built {
        println!("cargo:warning=the fixed clock library was not built; runs will say the clock is not fixed");
        std::fs::write(&out, b"").expect("write an empty clock library");
    }
}
