//! The fixed clock: a small library (`clock/clock.c`, built by `build.rs`) that PHP preloads
//! when a run asks for a fixed time. It reaches the containers through a named volume mounted
//! read-only: a host path would not exist on a remote engine, and the writable mounts are
//! `noexec`, so a library sent with the code could not be loaded. The volume is named after the
//! library's content, so a new build never meets an old copy, and instances sharing an engine
//! share it. It is filled once per process (see [`crate::volume`]).

use crate::volume::Tool;

/// The library, as built for this machine (empty where it could not be built).
pub(crate) const LIBRARY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/evalgrid-clock.so"));

/// The library in its volume: run containers see it read-only at [`LIBRARY_PATH`].
pub(crate) const TOOL: Tool = Tool {
    volume_prefix: "evalgrid-clock-",
    directory: "/opt/evalgrid-clock",
    file_name: "clock.so",
    bytes: LIBRARY,
};

/// The library's path in run containers.
pub(crate) const LIBRARY_PATH: &str = "/opt/evalgrid-clock/clock.so";

/// Whether runs are to have the fixed clock: it is on, and the library was built.
pub(crate) fn wanted(config: &crate::RunnerConfig) -> bool {
    config.fixed_clock && !LIBRARY.is_empty()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_library_was_built_and_depends_on_no_library() {
        let library = super::LIBRARY;
        assert!(library.starts_with(b"\x7fELF"), "clock library missing");
        // No DT_NEEDED entry names a libc: a needed library's name would be in the string table.
        for libc in [&b"libc.so"[..], b"ld-linux", b"libc.musl"] {
            assert!(!library.windows(libc.len()).any(|window| window == libc));
        }
    }

    #[test]
    fn the_library_path_is_in_the_volume() {
        assert_eq!(super::TOOL.path(), super::LIBRARY_PATH);
    }
}
