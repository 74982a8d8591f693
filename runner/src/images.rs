//! Image discovery: which of the engine's local images are PHP CLI images, and which exact PHP
//! version each one has (asked once per image id, by running it).

use crate::probe_cache::ProbeCache;
use crate::{DiscoverError, Runner, Status};
use futures::future::join_all;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant; // Tokio's, so that the lifecycle tests can let time pass.

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
    /// What the image is built on, as it reports it: its OS and release (`debian 13`,
    /// `alpine 3.21`; the kernel's name when it has no `/etc/os-release`), and `zts` for a
    /// thread-safe build. Tells apart two images of the same PHP version.
    pub variant: String,
    /// The PHP extensions it loads, as `get_loaded_extensions()` names them.
    pub extensions: Vec<String>,
    /// Whether its PHP honours the fixed clock (a dynamically linked PHP does; a static one
    /// ignores the preloaded library and sees the real time).
    pub fixed_clock: bool,
    /// Whether its PHP has OPcache, which shows opcodes.
    pub opcache: Opcache,
    /// The ini settings its PHP knows, with their values under evalgrid's baseline
    /// (`ini_get_all()` in the version probe; a value that is not set is empty): a run's own
    /// settings must be among them (OPcache's too, where it is only shared). Shared: images
    /// are cloned into every run.
    pub ini: Arc<BTreeMap<String, String>>,
    /// The libraries its PHP is built with and their versions (`PCRE` → `10.42 2022-12-11`,
    /// `ICU`, `libxml2`, `OpenSSL`, `timezonedb`, …), as its extensions report them: what sets
    /// apart two builds besides PHP's own code.
    pub libraries: Arc<BTreeMap<String, String>>,
}

/// OPcache in an image.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Opcache {
    /// Loaded by the image's configuration (Debian's packages; always, from PHP 8.5).
    Loaded,
    /// Built as a shared extension that is not loaded (Docker Hub's official images): each run
    /// that needs it loads it (`-d zend_extension=opcache`).
    Shared,
    /// Not there (a static build without it).
    #[default]
    Missing,
}

impl Image {
    /// An image of that name with nothing known about it yet (for tests).
    #[cfg(test)]
    pub(crate) fn named(name: &str) -> Self {
        name_image(format!("sha256:{name}"), vec![name.to_owned()])
    }

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

/// The code that asks an image what it is: its PHP version, OS, extensions and thread safety,
/// as JSON (just the version where PHP lacks `json_encode`).
const VERSION_PROBE: &str = r#"<?php
$os = @parse_ini_file('/etc/os-release') ?: [];
$about = [
    'version' => PHP_VERSION,
    'os' => trim(($os['ID'] ?? strtolower(PHP_OS)) . ' ' . ($os['VERSION_ID'] ?? '')),
    'extensions' => get_loaded_extensions(),
    'zts' => (bool) PHP_ZTS,
    'clock' => time(),
    'opcache' => extension_loaded('Zend OPcache') ? 'loaded'
        : (is_file(ini_get('extension_dir') . '/opcache.so') ? 'shared' : 'missing'),
    'ini' => ini_get_all(null, false),
    'libraries' => [],
];
// The libraries it is built with, as the extensions report them (what `php -i` shows).
foreach ([
    'PCRE' => 'PCRE_VERSION', 'ICU' => 'INTL_ICU_VERSION', 'ICU data' => 'INTL_ICU_DATA_VERSION',
    'libxml2' => 'LIBXML_DOTTED_VERSION', 'libxslt' => 'LIBXSLT_DOTTED_VERSION',
    'OpenSSL' => 'OPENSSL_VERSION_TEXT', 'oniguruma' => 'MB_ONIGURUMA_VERSION',
    'zlib' => 'ZLIB_VERSION', 'libsodium' => 'SODIUM_LIBRARY_VERSION', 'GMP' => 'GMP_VERSION',
    'libzip' => 'ZipArchive::LIBZIP_VERSION', 'libpq' => 'PGSQL_LIBPQ_VERSION',
    'iconv' => 'ICONV_VERSION',
] as $library => $constant) {
    if (defined($constant)) $about['libraries'][$library] = (string) constant($constant);
}
if (isset($about['libraries']['OpenSSL'])) {
    $about['libraries']['OpenSSL'] = preg_replace('/^OpenSSL /', '', $about['libraries']['OpenSSL']);
}
if (function_exists('timezone_version_get')) {
    // "0.system": the OS's tzdata (Debian's builds), whose release its source file names.
    $tz = timezone_version_get();
    $zi = @fopen('/usr/share/zoneinfo/tzdata.zi', 'r');
    if ($tz === '0.system' && $zi && preg_match('/^# version (\S+)/', (string) fgets($zi), $m)) {
        $tz = "$m[1] (system tzdata)";
    }
    $about['libraries']['timezonedb'] = $tz;
}
if (function_exists('curl_version')) $about['libraries']['libcurl'] = curl_version()['version'];
if (class_exists('SQLite3')) $about['libraries']['SQLite'] = SQLite3::version()['versionString'];
if (function_exists('gd_info')) $about['libraries']['GD'] = gd_info()['GD Version'];
echo function_exists('json_encode')
    ? json_encode($about, defined('JSON_INVALID_UTF8_SUBSTITUTE') ? JSON_INVALID_UTF8_SUBSTITUTE : 0)
    : PHP_VERSION;
"#;

/// What a probe found out about an image.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
struct About {
    version: String,
    #[serde(default)]
    os: String,
    #[serde(default)]
    extensions: Vec<String>,
    #[serde(default)]
    zts: bool,
    /// `time()` under a clock fixed at [`PROBE_CLOCK`].
    #[serde(default)]
    clock: i64,
    #[serde(default)]
    opcache: Opcache,
    /// Each setting's value (`null` when not set), shared by the images discovery makes of it.
    #[serde(default, deserialize_with = "ini_values")]
    ini: Arc<BTreeMap<String, String>>,
    #[serde(default)]
    libraries: Arc<BTreeMap<String, String>>,
}

/// The probe's `ini`: values are strings, or null for a setting without one.
fn ini_values<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Arc<BTreeMap<String, String>>, D::Error> {
    use serde::Deserialize;
    let values = BTreeMap::<String, Option<String>>::deserialize(deserializer)?;
    Ok(Arc::new(
        values
            .into_iter()
            .map(|(name, value)| (name, value.unwrap_or_default()))
            .collect(),
    ))
}

/// The time the probe's clock is fixed at (2000-01-01): a PHP that reports a time near it
/// honours the fixed clock.
const PROBE_CLOCK: i64 = 946_684_800;

/// The probe, with its clock fixed.
fn probe_script() -> crate::Script {
    crate::Script {
        clock: time::OffsetDateTime::from_unix_timestamp(PROBE_CLOCK).ok(),
        ..crate::Script::from(VERSION_PROBE)
    }
}

/// How long an image that failed its version probe is left out before it is tried again.
const PROBE_RETRY: Duration = Duration::from_secs(30);

/// How long a discovery is used as it is; after that it is refreshed in the background.
const FRESH_FOR: Duration = Duration::from_secs(2);

/// How old a discovery may be and still be served while the refresh runs; older ones are not
/// trusted (the engine may be gone) and the caller waits for a new one.
const STALE_FOR: Duration = Duration::from_secs(30);

/// What is known of an image id.
enum Probed {
    Version(About),
    /// Probed in a container that did not get the fixed clock's library (it could not be
    /// installed at that moment), so whether the image honours the clock is not known: offered
    /// on the real clock, and asked again after [`PROBE_RETRY`].
    WithoutClock(About, Instant),
    /// The probe failed at this time (not PHP, or the engine hiccuped).
    Failed(Instant),
}

/// Remembers each image id's PHP version and the last discovery.
#[derive(Default)]
pub(crate) struct Catalog {
    versions: std::sync::Mutex<HashMap<String, Probed>>,
    /// The answers of earlier processes, and where this one's are kept.
    answers: Option<ProbeCache>,
    /// The last discovery, and when it was made.
    listed: std::sync::Mutex<Option<(Instant, Vec<Image>)>>,
    /// One discovery at a time.
    discovering: Mutex<()>,
    refreshing: AtomicBool,
}

impl Catalog {
    pub(crate) fn new(config: &crate::RunnerConfig) -> Self {
        Self {
            answers: (config.probe_cache.as_deref())
                .map(|directory| ProbeCache::new(directory, config, VERSION_PROBE)),
            ..Self::default()
        }
    }

    pub(crate) async fn images(&self, runner: &Runner) -> Result<Vec<Image>, DiscoverError> {
        if let Some((age, images)) = self.last() {
            if age < FRESH_FOR {
                return Ok(images);
            }
            if age < STALE_FOR {
                if !self.refreshing.swap(true, Ordering::SeqCst) {
                    let runner = runner.clone();
                    runner.cleanups.clone().spawn(async move {
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
        let candidates = candidates(runner).await?;
        self.probe_unknown(runner, &candidates).await;
        let versions = self.versions.lock().unwrap();
        let mut images: Vec<Image> = candidates
            .into_iter()
            .filter_map(|image| {
                let probed = versions.get(&image.id)?;
                described(image, probed)
            })
            .collect();
        images.sort_by(|a, b| {
            a.version_key()
                .cmp(&b.version_key())
                .then_with(|| a.name.cmp(&b.name))
        });
        Ok(images)
    }

    /// Asks each candidate not known yet (or whose last answer is due again) what it runs, and
    /// records the answers.
    async fn probe_unknown(&self, runner: &Runner, candidates: &[Image]) {
        let unknown: Vec<&Image> = {
            let mut versions = self.versions.lock().unwrap();
            self.recall(&mut versions, candidates);
            candidates
                .iter()
                .filter(|image| match versions.get(&image.id) {
                    None => true,
                    Some(Probed::Version(_)) => false,
                    Some(Probed::Failed(at) | Probed::WithoutClock(_, at)) => at.elapsed() > PROBE_RETRY,
                })
                .collect()
        };
        // Each probe is a run like any other, under the container limit.
        let probes = join_all(unknown.iter().map(|image| {
            // Marked as honouring the clock, so that the probe's result says whether
            // its container got the library.
            let image = Image {
                fixed_clock: true,
                ..(*image).clone()
            };
            async move { runner.run_fresh(probe_script(), &image).await }
        }))
        .await;
        let mut versions = self.versions.lock().unwrap();
        for (image, probe) in unknown.into_iter().zip(probes) {
            match probe.map(|probe| (about(&probe), probe)) {
                Ok((Some(about), probe)) => {
                    let without_clock =
                        crate::clock::wanted(runner.config()) && probe.fixed_clock == Some(false);
                    let probed = match without_clock {
                        true => Probed::WithoutClock(about, Instant::now()),
                        false => {
                            if let Some(answers) = &self.answers {
                                answers.write(&image.id, probe.outcome.stdout.trim());
                            }
                            Probed::Version(about)
                        }
                    };
                    versions.insert(image.id.clone(), probed);
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
    }
}

impl Catalog {
    /// Takes the kept answer of each candidate this process has not asked yet (one that no
    /// longer reads as an answer is asked again, and replaced).
    fn recall(&self, versions: &mut HashMap<String, Probed>, candidates: &[Image]) {
        let Some(answers) = &self.answers else {
            return;
        };
        for image in candidates {
            if versions.contains_key(&image.id) {
                continue;
            }
            if let Some(about) = answers.read(&image.id).as_deref().and_then(answer) {
                versions.insert(image.id.clone(), Probed::Version(about));
            }
        }
    }
}

/// The engine's images with an offered tag of the configured repositories, one per image id,
/// named, but not yet asked what they run.
async fn candidates(runner: &Runner) -> Result<Vec<Image>, DiscoverError> {
    let summaries = runner.backend.images().await?;
    let config = runner.config();
    let mut tags_by_id: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for summary in summaries {
        let tags: Vec<String> = summary
            .tags
            .into_iter()
            .filter(|tag| is_offered_tag(tag, &config.repositories, &config.tags))
            .collect();
        if !tags.is_empty() {
            tags_by_id.entry(summary.id).or_default().extend(tags);
        }
    }
    Ok(tags_by_id
        .into_iter()
        .map(|(id, tags)| name_image(id, tags))
        .collect())
}

/// `image` with what its probe found (version, variant, extensions, clock, OPcache, ini,
/// libraries); `None`
/// when it does not run PHP.
fn described(mut image: Image, probed: &Probed) -> Option<Image> {
    match probed {
        Probed::Version(about) | Probed::WithoutClock(about, _) => {
            image.php_version = about.version.clone();
            image.variant = match about.zts {
                true => format!("{} zts", about.os),
                false => about.os.clone(),
            };
            image.extensions = about.extensions.clone();
            // The probe's own run may have had the clock: an hour's slack. A probe without the
            // library proves nothing: the real clock until asked again.
            image.fixed_clock = matches!(probed, Probed::Version(_))
                && (PROBE_CLOCK..PROBE_CLOCK + 3600).contains(&about.clock);
            image.opcache = about.opcache;
            image.ini = about.ini.clone();
            image.libraries = about.libraries.clone();
            Some(image)
        }
        Probed::Failed(_) => None,
    }
}

/// What a probe printed, if it is a plausible answer: the JSON, or a bare version.
fn about(probe: &crate::Execution) -> Option<About> {
    match probe.outcome.status {
        Status::Ok => answer(probe.outcome.stdout.trim()),
        _ => None,
    }
}

/// What `printed` says, if it is a plausible answer to the probe.
fn answer(printed: &str) -> Option<About> {
    let about = serde_json::from_str(printed).unwrap_or_else(|_| About {
        version: printed.to_owned(),
        os: String::new(),
        extensions: Vec::new(),
        zts: false,
        clock: 0,
        opcache: Opcache::Missing,
        ini: Arc::default(),
        libraries: Arc::default(),
    });
    let plausible = !about.version.is_empty()
        && about.version.len() < 40
        && about.version.starts_with(|c: char| c.is_ascii_digit());
    plausible.then_some(about)
}

/// Whether `tag` (`repository:tag`) is offered: its repository is configured, and the last of
/// the `patterns` its tag matches is not a `!`-exclusion (none matching: not offered).
fn is_offered_tag(tag: &str, repositories: &[String], patterns: &[String]) -> bool {
    let Some((repository, tag)) = tag.rsplit_once(':') else {
        return false;
    };
    if !repositories.iter().any(|r| r == repository) {
        return false;
    }
    patterns
        .iter()
        .rev()
        .find_map(|pattern| {
            let (excluded, glob) = match pattern.strip_prefix('!') {
                Some(glob) => (true, glob),
                None => (false, pattern.as_str()),
            };
            let matches = glob::Pattern::new(glob).is_ok_and(|glob| glob.matches(tag));
            matches.then_some(!excluded)
        })
        .unwrap_or(false)
}

/// Picks the name to offer: the `X.Y-cli` tag when there is one, then `X.Y`, then the
/// shortest.
fn name_image(id: String, mut tags: Vec<String>) -> Image {
    tags.sort_by_key(|tag| (minor_tag_rank(tag), tag.len(), tag.clone()));
    tags.dedup();
    let name = tags.remove(0);
    Image {
        name,
        aliases: tags,
        id,
        php_version: String::new(),
        variant: String::new(),
        extensions: Vec::new(),
        fixed_clock: false,
        opcache: Opcache::Missing,
        ini: Arc::default(),
        libraries: Arc::default(),
    }
}

/// 0 for `X.Y-cli`, 1 for `X.Y`, 2 for anything else.
fn minor_tag_rank(tag: &str) -> u8 {
    let tag = tag.rsplit_once(':').map(|(_, tag)| tag).unwrap_or_default();
    let is_minor = |version: &str| {
        version.split('.').count() == 2 && version.split('.').all(|p| p.parse::<u32>().is_ok())
    };
    match tag.strip_suffix("-cli") {
        Some(version) if is_minor(version) => 0,
        _ if is_minor(tag) => 1,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repos() -> Vec<String> {
        vec!["php".into()]
    }

    #[test]
    fn the_official_tag_shapes_are_offered_but_not_fpm_or_apache() {
        let offered = |tag: &str| is_offered_tag(tag, &repos(), &crate::default_tags());
        for tag in [
            "php:8.2-cli",
            "php:8.2",
            "php:8.2.29",
            "php:8.2.29-cli",
            "php:8.4-cli-bookworm",
            "php:8.4-alpine",
            "php:8.4.5-cli-alpine3.21",
            "php:8.4-zts-bookworm",
            "php:cli",
            "php:latest",
            "php:8",
            "php:8.5.0RC3-cli",
        ] {
            assert!(offered(tag), "{tag}");
        }
        for tag in [
            "php:8.2-fpm",
            "php:8.4-fpm-alpine",
            "php:8.4-apache-bookworm",
            "alpine:3",
            "evil/php:8.2-cli",
        ] {
            assert!(!offered(tag), "{tag}");
        }
        assert!(is_offered_tag(
            "localhost:5000/php:8.2-cli",
            &["localhost:5000/php".into()],
            &crate::default_tags()
        ));
    }

    #[test]
    fn the_tag_globs_are_configurable_and_the_last_match_wins() {
        let only_cli: Vec<String> = vec!["*-cli".into()];
        assert!(is_offered_tag("php:8.2-cli", &repos(), &only_cli));
        assert!(!is_offered_tag("php:8.2", &repos(), &only_cli));
        let fpm_too: Vec<String> = ["*", "!*fpm*", "8.4-fpm"].map(String::from).to_vec();
        assert!(is_offered_tag("php:8.4-fpm", &repos(), &fpm_too));
        assert!(!is_offered_tag("php:8.3-fpm", &repos(), &fpm_too));
        assert!(!is_offered_tag("php:8.4", &repos(), &[]), "no pattern, no tag");
    }

    #[test]
    fn a_probe_answers_json_or_a_bare_version() {
        let probe = |stdout: &str| crate::Execution {
            image: "php:8.4-cli".into(),
            php_version: String::new(),
            outcome: crate::Outcome {
                status: Status::Ok,
                exit_code: Some(0),
                stdout: stdout.into(),
                stderr: String::new(),
                truncated: false,
                duration_ms: 1,
            },
            started_at: None,
            finished_at: None,
            usage: Default::default(),
            message: None,
            fixed_clock: None,
        };
        let json = r#"{"version":"8.4.5","os":"alpine 3.21","extensions":["Core","mbstring"],"zts":false}"#;
        let found = about(&probe(json)).unwrap();
        assert_eq!(
            (found.version.as_str(), found.os.as_str()),
            ("8.4.5", "alpine 3.21")
        );
        assert_eq!(found.extensions, ["Core", "mbstring"]);
        assert_eq!(about(&probe("7.4.33\n")).unwrap().version, "7.4.33");
        assert!(about(&probe("not php")).is_none());
        assert!(about(&probe("")).is_none());
    }

    #[test]
    fn the_official_default_tag_names_an_image_without_a_cli_tag() {
        let image = name_image(
            "sha256:y".into(),
            vec![
                "php:8.4.5-cli-alpine".into(),
                "php:8.4".into(),
                "php:8.4.5".into(),
            ],
        );
        assert_eq!(image.name, "php:8.4");
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
            variant: String::new(),
            extensions: Vec::new(),
            fixed_clock: true,
            opcache: Opcache::Loaded,
            ini: Arc::default(),
            libraries: Arc::default(),
        };
        let mut images = [image("8.10.0"), image("7.4.33"), image("8.2.29")];
        images.sort_by_key(Image::version_key);
        let order: Vec<_> = images.iter().map(|i| i.php_version.as_str()).collect();
        assert_eq!(order, ["7.4.33", "8.2.29", "8.10.0"]);
    }
}
