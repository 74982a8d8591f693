//! Builds the fixed clock (`clock/clock.c`) into a shared object that the runner embeds and
//! hands to the engine (see `src/clock.rs`). Linux only; elsewhere the clock is not offered.

use std::path::PathBuf;
use std::process::Command;

fn main() {
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
