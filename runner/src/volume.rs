//! evalgrid's own files in containers (the fixed clock's library, the workers' supervisor):
//! each in a named volume mounted read-only. A host path would not exist on a remote engine,
//! and the writable mounts are `noexec`, so a file sent with the code could not be loaded or
//! run. A volume is named after its file's content, so a new build never meets an old copy,
//! and instances sharing an engine share it. It is filled once per process, through the
//! engine's archive upload into a container that is created for that and never started:
//! nothing runs as root in an image.

use crate::backend::bounded;
use crate::guard::{labels, ContainerGuard};
use crate::{Image, RunError, Runner};
use bollard::models::{ContainerCreateBody, HostConfig, Mount, MountType};
use std::time::Duration;
use tokio::sync::OnceCell;

/// Longest a fill may take: every run of the process waits for the first fill, so an engine
/// that stops answering half-way must not hold them all (the client's own timeout is minutes).
const FILL_TIMEOUT: Duration = Duration::from_secs(30);

/// FNV-1a 64 of `bytes`: stable by definition (across builds and machines), unlike std's hashers.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// One file of evalgrid's, delivered in a volume of its own.
pub(crate) struct Tool {
    /// The volume's name is this and a hash of the file.
    pub(crate) volume_prefix: &'static str,
    /// Where containers see the volume.
    pub(crate) directory: &'static str,
    pub(crate) file_name: &'static str,
    /// The file (empty where it could not be built: then it is never offered).
    pub(crate) bytes: &'static [u8],
}

impl Tool {
    /// The prefix and a hash of the file.
    pub(crate) fn volume_name(&self) -> String {
        format!("{}{:016x}", self.volume_prefix, fnv1a(self.bytes))
    }

    /// The file's path in containers that mount the volume.
    pub(crate) fn path(&self) -> String {
        format!("{}/{}", self.directory, self.file_name)
    }

    /// The read-only mount containers get once the volume is filled.
    pub(crate) fn mount(&self) -> Mount {
        Mount {
            target: Some(self.directory.to_owned()),
            source: Some(self.volume_name()),
            typ: Some(MountType::VOLUME),
            read_only: Some(true),
            ..Default::default()
        }
    }

    /// A tar archive holding the file, readable and executable by every user id.
    fn archive(&self) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(self.bytes.len() as u64);
        header.set_mode(0o755);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_cksum();
        builder
            .append_data(&mut header, self.file_name, self.bytes)
            .expect("writing to memory");
        builder.into_inner().expect("writing to memory")
    }

    /// Whether a tar archive of the file's path holds this very file.
    fn held_by(&self, archive: &[u8]) -> bool {
        use std::io::Read;
        let mut archive = tar::Archive::new(archive);
        let Ok(mut entries) = archive.entries() else {
            return false;
        };
        let Some(Ok(mut file)) = entries.next() else {
            return false;
        };
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).is_ok() && bytes == self.bytes
    }
}

/// Whether `tool`'s volume is filled: fills it the first time (from `image`, whose files are
/// never used), remembered in `filled`, within [`FILL_TIMEOUT`]. Errors are not remembered: the
/// next container tries again (a fill cut short drops its guard, which removes its container).
pub(crate) async fn ready(
    runner: &Runner,
    image: &Image,
    tool: &Tool,
    filled: &OnceCell<()>,
) -> Result<(), RunError> {
    filled
        .get_or_try_init(|| async {
            tokio::time::timeout(FILL_TIMEOUT, fill(runner, image, tool))
                .await
                .map_err(|_| RunError::InstallToolTimedOut(FILL_TIMEOUT))?
        })
        .await
        .copied()
}

/// Creates a container with the volume writable at the tool's directory, uploads the file into
/// it and removes the container (the volume is created with it and stays).
async fn fill(runner: &Runner, image: &Image, tool: &Tool) -> Result<(), RunError> {
    let body = ContainerCreateBody {
        image: Some(image.id.clone()),
        // Never started; `php` is on the PATH of every image offered.
        cmd: Some(vec!["php".into()]),
        network_disabled: Some(true),
        labels: Some(labels(runner.config())),
        host_config: Some(HostConfig {
            network_mode: Some("none".into()),
            mounts: Some(vec![Mount {
                read_only: Some(false),
                ..tool.mount()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    };
    let backend = &runner.backend;
    let id = bounded("create", backend.create(body)).await?;
    let container = ContainerGuard::without_slot(runner, id);
    // Another instance (or this one's last process) may have filled the volume already, and
    // its containers may be using the file right now: the engine replaces a file by removing
    // it first, so uploading it again would make them start without it.
    let uploaded = match backend.download(container.id(), &tool.path()).await {
        Ok(Some(present)) if tool.held_by(&present) => Ok(()),
        _ => {
            backend
                .upload(container.id(), tool.directory, tool.archive())
                .await
        }
    };
    container.remove().await;
    uploaded
}

#[cfg(test)]
mod tests {
    use super::Tool;

    const TOOL: Tool = Tool {
        volume_prefix: "evalgrid-test-",
        directory: "/opt/evalgrid-test",
        file_name: "tool",
        bytes: b"\x7fELF and more",
    };

    #[test]
    fn an_archive_of_the_file_is_told_from_another_file() {
        assert!(TOOL.held_by(&TOOL.archive()));
        let other = Tool {
            bytes: b"\x7fELF",
            ..TOOL
        };
        assert!(!TOOL.held_by(&other.archive()));
        assert!(!TOOL.held_by(b"not a tar archive"));
    }

    #[test]
    fn the_archive_holds_the_file_under_its_name() {
        let bytes = TOOL.archive();
        let mut archive = tar::Archive::new(&bytes[..]);
        let mut entries = archive.entries().unwrap();
        let mut entry = entries.next().unwrap().unwrap();
        assert_eq!(entry.path().unwrap().to_str(), Some("tool"));
        let mut content = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut content).unwrap();
        assert_eq!(content, TOOL.bytes);
    }

    #[test]
    fn a_new_file_gets_a_new_volume() {
        let other = Tool {
            bytes: b"another build",
            ..TOOL
        };
        assert_ne!(TOOL.volume_name(), other.volume_name());
        assert!(TOOL.volume_name().starts_with("evalgrid-test-"));
    }
}
