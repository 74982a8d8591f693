//! The fixed clock: a small library (`clock/clock.c`, built by `build.rs`) that PHP preloads
//! when a run asks for a fixed time. It reaches the containers through a named volume mounted
//! read-only: a host path would not exist on a remote engine, and the writable mounts are
//! `noexec`, so a library sent with the code could not be loaded. The volume is named after the
//! library's content, so a new build never meets an old copy, and instances sharing an engine
//! share it. It is filled once per process, through the engine's archive upload into a
//! container that is created for that and never started: nothing runs as root in an image.

use crate::container::ContainerGuard;
use crate::{sandbox, Image, RunError, Runner};
use bollard::models::{ContainerCreateBody, HostConfig, Mount, MountType};

/// The library, as built for this machine (empty where it could not be built).
pub(crate) const LIBRARY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/evalgrid-clock.so"));

/// Where run containers see the volume, read-only.
pub(crate) const DIRECTORY: &str = "/opt/evalgrid-clock";

/// The library's path in run containers.
pub(crate) const LIBRARY_PATH: &str = "/opt/evalgrid-clock/clock.so";

const FILE_NAME: &str = "clock.so";

/// `evalgrid-clock-` and a hash of the library (FNV-1a 64, stable by definition).
pub(crate) fn volume_name() -> String {
    let hash = LIBRARY.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("evalgrid-clock-{hash:016x}")
}

/// The mount run containers get once the volume is filled.
pub(crate) fn mount() -> Mount {
    Mount {
        target: Some(DIRECTORY.to_owned()),
        source: Some(volume_name()),
        typ: Some(MountType::VOLUME),
        read_only: Some(true),
        ..Default::default()
    }
}

/// Whether runs are to have the fixed clock: it is on, and the library was built.
pub(crate) fn wanted(config: &crate::RunnerConfig) -> bool {
    config.fixed_clock && !LIBRARY.is_empty()
}

/// Whether run containers can have the clock: fills the volume the first time (from `image`,
/// whose files are never used). Errors are not remembered: the next container tries again.
pub(crate) async fn ready(runner: &Runner, image: &Image) -> bool {
    if !wanted(runner.config()) {
        return false;
    }
    let filled = runner
        .clock
        .get_or_try_init(|| async {
            let filled = fill(runner, image).await;
            if let Err(error) = &filled {
                tracing::warn!(%error, "cannot install the fixed clock yet; runs get the real time");
            }
            filled
        })
        .await;
    filled.is_ok()
}

/// Creates a container with the volume writable at [`DIRECTORY`], uploads the library into it
/// and removes the container (the volume is created with it and stays).
async fn fill(runner: &Runner, image: &Image) -> Result<(), RunError> {
    let body = ContainerCreateBody {
        image: Some(image.id.clone()),
        // Never started; `php` is on the PATH of every image offered.
        cmd: Some(vec!["php".into()]),
        network_disabled: Some(true),
        labels: Some(sandbox::labels(runner.config())),
        host_config: Some(HostConfig {
            network_mode: Some("none".into()),
            mounts: Some(vec![Mount {
                read_only: Some(false),
                ..mount()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    };
    let id = runner.backend.create(body).await?;
    let container = ContainerGuard::without_slot(runner, id);
    // Another instance (or this one's last process) may have filled the volume already, and
    // its containers may be loading the library right now: the engine replaces a file by
    // removing it first, so uploading it again would make their PHP start without it.
    let uploaded = match runner.backend.download(container.id(), LIBRARY_PATH).await {
        Ok(Some(present)) if holds_library(&present) => Ok(()),
        _ => runner.backend.upload(container.id(), DIRECTORY, archive()).await,
    };
    container.remove().await;
    uploaded
}

/// Whether a tar archive of the library's path holds this very library.
fn holds_library(archive: &[u8]) -> bool {
    use std::io::Read;
    let mut archive = tar::Archive::new(archive);
    let Ok(mut entries) = archive.entries() else {
        return false;
    };
    let Some(Ok(mut file)) = entries.next() else {
        return false;
    };
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).is_ok() && bytes == LIBRARY
}

/// A tar archive holding the library, readable and executable by every user id.
fn archive() -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(LIBRARY.len() as u64);
    header.set_mode(0o755);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_cksum();
    builder
        .append_data(&mut header, FILE_NAME, LIBRARY)
        .expect("writing to memory");
    builder.into_inner().expect("writing to memory")
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
    fn an_archive_of_the_library_is_told_from_another_file() {
        use super::{archive, holds_library};
        assert!(holds_library(&archive()));
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(4);
        header.set_mode(0o755);
        header.set_cksum();
        builder
            .append_data(&mut header, "clock.so", &b"\x7fELF"[..])
            .unwrap();
        assert!(!holds_library(&builder.into_inner().unwrap()));
        assert!(!holds_library(b"not a tar archive"));
    }

    #[test]
    fn the_archive_holds_the_library() {
        let bytes = super::archive();
        let mut archive = tar::Archive::new(&bytes[..]);
        let mut entries = archive.entries().unwrap();
        let mut entry = entries.next().unwrap().unwrap();
        assert_eq!(entry.path().unwrap().to_str(), Some("clock.so"));
        let mut content = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut content).unwrap();
        assert_eq!(content, super::LIBRARY);
    }
}
