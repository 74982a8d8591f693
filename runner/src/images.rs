//! Image discovery: which of the engine's local images are PHP CLI images, and which exact PHP
//! version each one has (asked once per image id, by running it).

use crate::{DiscoverError, Runner, Status};
use futures::future::join_all;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// A discovered PHP image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// The name it is offered under, e.g. `php:8.2-cli` (the `X.Y` tag when there is one).
    pub name: String,
    /// Other tags of the same image (e.g. `php:8.2.29-cli`), accepted as well.
    pub aliases: Vec<String>,
    /// The engine's image id; containers are created from this, never from a client string.
    pub id: String,
    /// `PHP_VERSION` as the image reports it, e.g. `8.2.29`.
    pub php_version: String,
}

impl Image {
    pub fn answers_to(&self, name: &str) -> bool {
        self.name == name || self.aliases.iter().any(|alias| alias == name)
    }

    fn version_key(&self) -> VersionKey {
        version_key(&self.php_version)
    }
}

/// The order of PHP versions; see [`version_key`].
pub type VersionKey = (Vec<u64>, u8, u64);

/// Orders PHP version strings: numerically part by part ("8.10.0" after "8.9.1"), and a
/// pre-release before its release (8.5.0-dev < 8.5.0alpha1 < 8.5.0beta2 < 8.5.0RC3 < 8.5.0).
/// The one ordering of versions everywhere (discovery, saved results, the page's groups).
pub fn version_key(version: &str) -> VersionKey {
    let numeric_end = version
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(version.len());
    let (numbers, suffix) = version.split_at(numeric_end);
    let parts = numbers.split('.').filter_map(|part| part.parse().ok()).collect();
    let suffix = suffix.trim_start_matches(['-', '_', '.']).to_ascii_lowercase();
    let stage = [("dev", 0), ("alpha", 1), ("beta", 2), ("rc", 3)]
        .into_iter()
        .find(|(name, _)| suffix.starts_with(name))
        .map_or(if suffix.is_empty() { 4 } else { 0 }, |(_, stage)| stage);
    let digits: String = suffix.chars().filter(char::is_ascii_digit).collect();
    (parts, stage, digits.parse().unwrap_or(0))
}

/// The code that asks an image for its version.
const VERSION_PROBE: &str = "<?php echo PHP_VERSION;";

/// How long an image that failed its version probe is left out before it is tried again.
const PROBE_RETRY: Duration = Duration::from_secs(30);

/// How long a discovery is used as it is; after that it is refreshed in the background.
const FRESH_FOR: Duration = Duration::from_secs(2);

/// How old a discovery may be and still be served while the refresh runs; older ones are not
/// trusted (the engine may be gone) and the caller waits for a new one.
const STALE_FOR: Duration = Duration::from_secs(30);

/// What is known of an image id.
enum Probed {
    Version(String),
    /// The probe failed at this time (not PHP, or the engine hiccuped).
    Failed(Instant),
}

/// Remembers each image id's PHP version and the last discovery.
#[derive(Default)]
pub(crate) struct Catalog {
    versions: std::sync::Mutex<HashMap<String, Probed>>,
    /// The last discovery, and when it was made.
    listed: std::sync::Mutex<Option<(Instant, Vec<Image>)>>,
    /// One discovery at a time.
    discovering: Mutex<()>,
    refreshing: AtomicBool,
}

impl Catalog {
    pub(crate) async fn images(&self, runner: &Runner) -> Result<Vec<Image>, DiscoverError> {
        if let Some((age, images)) = self.last() {
            if age < FRESH_FOR {
                return Ok(images);
            }
            if age < STALE_FOR {
                if !self.refreshing.swap(true, Ordering::SeqCst) {
                    let runner = runner.clone();
                    tokio::spawn(async move {
                        let catalog = &runner.catalog;
                        if let Err(error) = catalog.discover_once(&runner).await {
                            tracing::warn!(%error, "cannot refresh the image list");
                        }
                        catalog.refreshing.store(false, Ordering::SeqCst);
                    });
                }
                return Ok(images);
            }
        }
        self.discover_once(runner).await
    }

    fn last(&self) -> Option<(Duration, Vec<Image>)> {
        let listed = self.listed.lock().unwrap();
        listed.as_ref().map(|(at, images)| (at.elapsed(), images.clone()))
    }

    /// Discovers, unless another caller just did while this one waited for its turn.
    async fn discover_once(&self, runner: &Runner) -> Result<Vec<Image>, DiscoverError> {
        let _turn = self.discovering.lock().await;
        match self.last() {
            Some((age, images)) if age < FRESH_FOR => Ok(images),
            _ => {
                let discovered = self.discover(runner).await;
                *self.listed.lock().unwrap() = discovered
                    .as_ref()
                    .ok()
                    .map(|images| (Instant::now(), images.clone()));
                discovered
            }
        }
    }

    async fn discover(&self, runner: &Runner) -> Result<Vec<Image>, DiscoverError> {
        let summaries = runner.backend.images().await?;

        // Tags of the configured repositories ending in -cli, grouped by image id.
        let mut tags_by_id: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for summary in summaries {
            let tags: Vec<String> = summary
                .tags
                .into_iter()
                .filter(|tag| is_cli_tag(tag, &runner.config().repositories))
                .collect();
            if !tags.is_empty() {
                tags_by_id.entry(summary.id).or_default().extend(tags);
            }
        }
        let candidates: Vec<Image> = tags_by_id
            .into_iter()
            .map(|(id, tags)| name_image(id, tags))
            .collect();

        let unknown: Vec<&Image> = {
            let versions = self.versions.lock().unwrap();
            candidates
                .iter()
                .filter(|image| match versions.get(&image.id) {
                    None => true,
                    Some(Probed::Version(_)) => false,
                    Some(Probed::Failed(at)) => at.elapsed() > PROBE_RETRY,
                })
                .collect()
        };
        // Each probe is a run like any other, under the container limit.
        let probes = join_all(unknown.iter().map(|image| runner.run_fresh(VERSION_PROBE, image))).await;
        let mut versions = self.versions.lock().unwrap();
        for (image, probe) in unknown.into_iter().zip(probes) {
            match probe.map(|probe| (plausible_version(&probe), probe)) {
                Ok((Some(version), _)) => {
                    versions.insert(image.id.clone(), Probed::Version(version));
                }
                // No room for the probe: nothing is known of the image; it is asked again.
                Err(refused) => {
                    tracing::warn!(image = %image.name, %refused, "cannot ask the image its version yet");
                }
                outcome => {
                    tracing::warn!(image = %image.name, ?outcome, "image does not run PHP (yet); not offered");
                    versions.insert(image.id.clone(), Probed::Failed(Instant::now()));
                }
            }
        }

        let mut images: Vec<Image> = candidates
            .into_iter()
            .filter_map(|mut image| {
                match versions.get(&image.id)? {
                    Probed::Version(version) => image.php_version = version.clone(),
                    Probed::Failed(_) => return None,
                }
                Some(image)
            })
            .collect();
        images.sort_by(|a, b| {
            a.version_key()
                .cmp(&b.version_key())
                .then_with(|| a.name.cmp(&b.name))
        });
        Ok(images)
    }
}

/// The version a probe printed, if it looks like one.
fn plausible_version(probe: &crate::Execution) -> Option<String> {
    let version = probe.stdout.trim();
    let plausible = probe.status == Status::Ok
        && !version.is_empty()
        && version.len() < 40
        && version.starts_with(|c: char| c.is_ascii_digit());
    plausible.then(|| version.to_owned())
}

fn is_cli_tag(tag: &str, repositories: &[String]) -> bool {
    match tag.rsplit_once(':') {
        Some((repository, version)) => {
            version.ends_with("-cli") && repositories.iter().any(|r| r == repository)
        }
        None => false,
    }
}

/// Picks the name to offer: the `X.Y-cli` tag when there is one, else the shortest.
fn name_image(id: String, mut tags: Vec<String>) -> Image {
    tags.sort_by_key(|tag| (!is_minor_tag(tag), tag.len(), tag.clone()));
    tags.dedup();
    let name = tags.remove(0);
    Image {
        name,
        aliases: tags,
        id,
        php_version: String::new(),
    }
}

fn is_minor_tag(tag: &str) -> bool {
    let version = tag
        .rsplit_once(':')
        .map(|(_, v)| v.trim_end_matches("-cli"))
        .unwrap_or_default();
    version.split('.').count() == 2 && version.split('.').all(|p| p.parse::<u32>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repos() -> Vec<String> {
        vec!["php".into()]
    }

    #[test]
    fn only_cli_tags_of_configured_repositories_count() {
        assert!(is_cli_tag("php:8.2-cli", &repos()));
        assert!(!is_cli_tag("php:8.2-fpm", &repos()));
        assert!(!is_cli_tag("alpine:3-cli", &repos()));
        assert!(!is_cli_tag("evil/php:8.2-cli", &repos()));
        assert!(is_cli_tag(
            "localhost:5000/php:8.2-cli",
            &["localhost:5000/php".into()]
        ));
    }

    #[test]
    fn the_minor_version_tag_names_the_image() {
        let image = name_image(
            "sha256:x".into(),
            vec!["php:8.2.29-cli".into(), "php:8-cli".into(), "php:8.2-cli".into()],
        );
        assert_eq!(image.name, "php:8.2-cli");
        assert_eq!(image.aliases, vec!["php:8-cli", "php:8.2.29-cli"]);
        assert!(image.answers_to("php:8.2.29-cli"));
        assert!(!image.answers_to("php:8.3-cli"));
    }

    #[test]
    fn pre_releases_come_before_their_release() {
        let mut versions = vec![
            "8.5.0",
            "8.5.0RC3",
            "8.5.1",
            "8.5.0alpha1",
            "8.5.0RC10",
            "8.5.0beta2",
            "8.5.0-dev",
            "8.4.27",
        ];
        versions.sort_by_key(|v| version_key(v));
        assert_eq!(
            versions,
            [
                "8.4.27",
                "8.5.0-dev",
                "8.5.0alpha1",
                "8.5.0beta2",
                "8.5.0RC3",
                "8.5.0RC10",
                "8.5.0",
                "8.5.1"
            ]
        );
    }

    #[test]
    fn versions_sort_numerically() {
        let image = |v: &str| Image {
            name: v.into(),
            aliases: vec![],
            id: v.into(),
            php_version: v.into(),
        };
        let mut images = [image("8.10.0"), image("7.4.33"), image("8.2.29")];
        images.sort_by_key(Image::version_key);
        let order: Vec<_> = images.iter().map(|i| i.php_version.as_str()).collect();
        assert_eq!(order, ["7.4.33", "8.2.29", "8.10.0"]);
    }
}
