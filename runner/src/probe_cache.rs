//! What each image's version probe printed, kept on disk by image id
//! ([`crate::RunnerConfig::probe_cache`]). An image id names the image's content, so the answer
//! never changes: a restart, or another instance on the same host, offers the images it already
//! knows without starting a container for each. Only whole answers are kept (not a failed
//! probe, nor one whose container missed the fixed clock's library), under a key of everything
//! else that shapes the answer (the probe, the sandbox's command, the clock's library, the
//! isolation), so another build of evalgrid never reads this one's answers.

use crate::RunnerConfig;
use std::path::{Path, PathBuf};

pub(crate) struct ProbeCache {
    directory: PathBuf,
    /// What besides the image shapes the answer.
    key: u64,
}

impl ProbeCache {
    pub(crate) fn new(directory: &Path, config: &RunnerConfig, probe: &str) -> Self {
        let clock = match crate::clock::wanted(config) {
            true => crate::clock::TOOL.volume_name(),
            false => "real time".to_owned(),
        };
        let shaped_by = format!(
            "{probe}\n{:?}\n{clock}\n{}",
            crate::sandbox::command(),
            config.isolation.as_str()
        );
        Self {
            directory: directory.to_owned(),
            key: crate::volume::fnv1a(shaped_by.as_bytes()),
        }
    }

    /// The file of `image_id`'s answer; none for an id that is not a digest (the engine's ids
    /// are `sha256:` and hex).
    fn path(&self, image_id: &str) -> Option<PathBuf> {
        let digest = image_id.strip_prefix("sha256:").unwrap_or(image_id);
        let plain = !digest.is_empty() && digest.bytes().all(|byte| byte.is_ascii_hexdigit());
        plain.then(|| self.directory.join(format!("{digest}-{:016x}.json", self.key)))
    }

    /// What `image_id`'s probe printed, if this build asked it before.
    pub(crate) fn read(&self, image_id: &str) -> Option<String> {
        std::fs::read_to_string(self.path(image_id)?).ok()
    }

    /// Keeps `printed` as `image_id`'s answer. Written whole, then renamed into place, so a
    /// reader never sees half of one; a cache that cannot be written only costs a probe later.
    pub(crate) fn write(&self, image_id: &str, printed: &str) {
        let Some(path) = self.path(image_id) else {
            return;
        };
        let partial = path.with_extension(format!("{}.partial", std::process::id()));
        let written = std::fs::create_dir_all(&self.directory)
            .and_then(|()| std::fs::write(&partial, printed))
            .and_then(|()| std::fs::rename(&partial, &path));
        if let Err(error) = written {
            tracing::warn!(%error, directory = %self.directory.display(), "cannot keep an image's probe answer");
            let _ = std::fs::remove_file(&partial);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Isolation;

    fn cache(directory: &Path, config: &RunnerConfig) -> ProbeCache {
        ProbeCache::new(directory, config, "<?php echo PHP_VERSION;")
    }

    #[test]
    fn an_answer_is_read_back_by_the_same_build_and_configuration_only() {
        let directory = tempfile::tempdir().unwrap();
        let config = RunnerConfig::default();
        let id = "sha256:0123abcd";
        assert_eq!(cache(directory.path(), &config).read(id), None);
        cache(directory.path(), &config).write(id, "8.4.1");
        assert_eq!(
            cache(directory.path(), &config).read(id).as_deref(),
            Some("8.4.1")
        );
        assert_eq!(cache(directory.path(), &config).read("sha256:0123abce"), None);

        let other_probe = ProbeCache::new(directory.path(), &config, "<?php echo PHP_OS;");
        assert_eq!(other_probe.read(id), None);
        let in_workers = RunnerConfig {
            isolation: Isolation::Namespaces,
            ..RunnerConfig::default()
        };
        assert_eq!(cache(directory.path(), &in_workers).read(id), None);
        let real_time = RunnerConfig {
            fixed_clock: false,
            ..RunnerConfig::default()
        };
        assert_eq!(cache(directory.path(), &real_time).read(id), None);
    }

    #[test]
    fn an_id_that_is_not_a_digest_is_never_a_path() {
        let directory = tempfile::tempdir().unwrap();
        let cache = cache(directory.path(), &RunnerConfig::default());
        for id in ["", "sha256:", "../../etc/passwd", "sha256:ab/cd", "sha256:ab cd"] {
            cache.write(id, "8.4.1");
            assert_eq!(cache.read(id), None, "{id:?}");
        }
        assert_eq!(std::fs::read_dir(directory.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_directory_that_cannot_be_written_costs_only_the_answer() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let cache = cache(&file.path().join("probes"), &RunnerConfig::default());
        cache.write("sha256:ab", "8.4.1");
        assert_eq!(cache.read("sha256:ab"), None);
    }
}
