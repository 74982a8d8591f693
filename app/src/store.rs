//! Saved snippets (permalinks) and the result cache, in one SQLite file. WAL with
//! synchronous=NORMAL: a write that returned survives the process being killed at any moment
//! (it is in the WAL, which the next open replays); a power cut may roll back the last few
//! writes but never leaves a damaged file. FULL would fsync on every commit: ~10 ms on each
//! result here, more than a pooled hello world takes to run.

use crate::model::{Snippet, VersionResult};
use sha2::{Digest, Sha256};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::Row;
use std::path::{Path, PathBuf};
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Shortest permalink id; longer only when a shorter one is taken by other code.
pub const MIN_ID_LEN: usize = 6;

/// The default bound of the result cache (`--cache-max-mib`).
pub const DEFAULT_CACHE_MAX_BYTES: u64 = 1 << 30;

/// Most bytes of one output stream that are stored; the rest is cut (the runner's own limit is
/// far below this unless it is raised).
const MAX_STORED_STREAM: usize = 256 * 1024;

/// The WAL is cut back to this size after each checkpoint, so that the files on disk stay near
/// the database's own size.
const WAL_SIZE_LIMIT: u64 = 4 << 20;

/// Crockford's base32, lower case: no i, l, o, u to misread.
const ID_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Why the database could not be opened. The server refuses to start with any of them.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The file does not exist and creating it was not allowed.
    #[error("database {0} does not exist (start without --require-database to create an empty one)")]
    Missing(PathBuf),
    /// The directory that should hold the file does not exist.
    #[error("cannot create database {0}: its directory does not exist")]
    NoDirectory(PathBuf),
    /// The file is not a SQLite database, or SQLite found it damaged.
    #[error(
        "database {path} is damaged or not a SQLite database ({detail}); move it away or restore a backup"
    )]
    Corrupt { path: PathBuf, detail: String },
    /// The database was written by a newer evalgrid (or holds a foreign schema).
    #[error("database {path} has a schema this evalgrid does not know: {source}")]
    Schema {
        path: PathBuf,
        source: sqlx::migrate::MigrateError,
    },
    /// SQLite could not open the file (permissions, locks, …).
    #[error("cannot open database {path}: {source}")]
    Open { path: PathBuf, source: sqlx::Error },
}

/// A read or write that failed after the database was open.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused or failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A stored result is not valid JSON of the current format.
    #[error("stored result cannot be read: {0}")]
    Decode(#[from] serde_json::Error),
    /// A stored output stream cannot be decoded.
    #[error("stored output cannot be read: {0}")]
    Stream(String),
}

/// The handle to the database. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
    min_id_len: usize,
    cache_max_bytes: u64,
}

/// How much room the data takes, for `/api/health`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct StoreSize {
    /// The database file's pages in use (the WAL comes on top, at most a few MiB).
    pub database_bytes: u64,
    /// What the result cache holds (bounded by `--cache-max-mib`).
    pub cache_bytes: u64,
}

impl Store {
    /// Opens the database at `path`, creating it when it does not exist and `create` is true,
    /// and brings its schema up to date. Checks the file's integrity first: a damaged file is an
    /// error, never silently replaced.
    pub async fn open(path: &Path, create: bool) -> Result<Self, OpenError> {
        if !path.exists() {
            if !create {
                return Err(OpenError::Missing(path.to_owned()));
            }
            let directory = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            if !directory.is_dir() {
                return Err(OpenError::NoDirectory(path.to_owned()));
            }
            tracing::warn!(path = %path.display(), "database does not exist; creating an empty one");
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .pragma("journal_size_limit", WAL_SIZE_LIMIT.to_string())
            .busy_timeout(Duration::from_secs(5));
        let open_error = |source: sqlx::Error| classify(path, source);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(open_error)?;
        let check: String = sqlx::query_scalar("PRAGMA quick_check")
            .fetch_one(&pool)
            .await
            .map_err(open_error)?;
        if check != "ok" {
            return Err(OpenError::Corrupt {
                path: path.to_owned(),
                detail: check,
            });
        }
        MIGRATOR.run(&pool).await.map_err(|source| match source {
            sqlx::migrate::MigrateError::Execute(error) => classify(path, error),
            source => OpenError::Schema {
                path: path.to_owned(),
                source,
            },
        })?;
        Ok(Self {
            pool,
            min_id_len: MIN_ID_LEN,
            cache_max_bytes: DEFAULT_CACHE_MAX_BYTES,
        })
    }

    /// Bounds the result cache to `bytes`: past it, the least recently used results go.
    pub fn with_cache_limit(mut self, bytes: u64) -> Self {
        self.cache_max_bytes = bytes;
        self
    }

    /// The database's size and the cache's share of it.
    pub async fn size(&self) -> Result<StoreSize, StoreError> {
        let pages: i64 = sqlx::query_scalar(
            "SELECT page_count - freelist_count FROM pragma_page_count(), pragma_freelist_count()",
        )
        .fetch_one(&self.pool)
        .await?;
        let page_size: i64 = sqlx::query_scalar("PRAGMA page_size")
            .fetch_one(&self.pool)
            .await?;
        let cache: i64 = sqlx::query_scalar("SELECT bytes FROM cache_size")
            .fetch_one(&self.pool)
            .await?;
        Ok(StoreSize {
            database_bytes: (pages * page_size).max(0) as u64,
            cache_bytes: cache.max(0) as u64,
        })
    }

    /// The id `code` (already [`normalize`](crate::model::normalize)d) was saved under, if it was.
    pub async fn saved_id(&self, code: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT id FROM snippets WHERE code_hash = ?")
            .bind(code_hash(code))
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Folds the WAL back into the main file and closes every connection.
    pub async fn close(&self) {
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await
        {
            tracing::warn!(%error, "cannot checkpoint the database");
        }
        self.pool.close().await;
    }

    /// Ids start at `len` characters instead of [`MIN_ID_LEN`] (tests use 1 to force collisions).
    pub fn with_min_id_len(mut self, len: usize) -> Self {
        // A full id has 51 characters (256 bits, 5 a character).
        self.min_id_len = len.clamp(1, 51);
        self
    }

    /// Saves `code` (already [`normalize`](crate::model::normalize)d) and returns its permalink id: the same code always
    /// gets the same id; other code whose hash starts alike gets a longer one.
    pub async fn save_snippet(&self, code: &str) -> Result<String, StoreError> {
        let hash = code_hash(code);
        let mut transaction = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        if let Some(id) = sqlx::query_scalar::<_, String>("SELECT id FROM snippets WHERE code_hash = ?")
            .bind(&hash)
            .fetch_optional(&mut *transaction)
            .await?
        {
            return Ok(id);
        }
        let full = full_id(code);
        let mut length = self.min_id_len;
        let id = loop {
            let candidate = &full[..length];
            let taken = sqlx::query_scalar::<_, i64>("SELECT count(*) FROM snippets WHERE id = ?")
                .bind(candidate)
                .fetch_one(&mut *transaction)
                .await?;
            if taken == 0 {
                break candidate.to_owned();
            }
            length += 1;
        };
        sqlx::query("INSERT INTO snippets (id, code_hash, code, created_at) VALUES (?, ?, ?, ?)")
            .bind(&id)
            .bind(&hash)
            .bind(code)
            .bind(now())
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(id)
    }

    /// Stores `result` as the snippet's latest result for its image.
    pub async fn save_result(&self, id: &str, result: &VersionResult) -> Result<(), StoreError> {
        let compact = Compact::of(result)?;
        sqlx::query(
            "INSERT INTO snippet_results (snippet_id, image, result, stdout, stderr, saved_at) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (snippet_id, image) DO UPDATE SET result = excluded.result, stdout = excluded.stdout,
             stderr = excluded.stderr, saved_at = excluded.saved_at",
        )
        .bind(id)
        .bind(&result.image)
        .bind(&compact.meta)
        .bind(&compact.stdout)
        .bind(&compact.stderr)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The saved snippet with its latest result per image, oldest PHP version first.
    pub async fn snippet(&self, id: &str) -> Result<Option<Snippet>, StoreError> {
        let Some(row) = sqlx::query("SELECT code, created_at FROM snippets WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let stored: Vec<StoredRow> =
            sqlx::query_as("SELECT result, stdout, stderr FROM snippet_results WHERE snippet_id = ?")
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
        let mut results = stored
            .into_iter()
            .map(|(meta, stdout, stderr)| Compact::read(&meta, stdout.as_deref(), stderr.as_deref()))
            .collect::<Result<Vec<_>, _>>()?;
        results.sort_by_cached_key(|r| runner::version_key(&r.php_version));
        Ok(Some(Snippet {
            id: id.to_owned(),
            code: row.get("code"),
            created_at: row.get("created_at"),
            results,
        }))
    }

    /// A cached result under `key` (see [`cache_key`]); marks it used.
    pub async fn cached_result(&self, key: &str) -> Result<Option<VersionResult>, StoreError> {
        let stored: Option<(String, Vec<u8>, Vec<u8>)> = sqlx::query_as(
            "UPDATE cached_results SET used_at = ? WHERE key = ? RETURNING result, stdout, stderr",
        )
        .bind(now_millis())
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        stored
            .map(|(meta, stdout, stderr)| Compact::read(&meta, Some(&stdout), Some(&stderr)))
            .transpose()
    }

    /// Caches `result` under `key`, replacing an older one, then evicts the least recently used
    /// results while the cache is over its bound.
    pub async fn cache_result(&self, key: &str, result: &VersionResult) -> Result<(), StoreError> {
        let compact = Compact::of(result)?;
        sqlx::query(
            "INSERT INTO cached_results (key, result, stdout, stderr, size, used_at) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (key) DO UPDATE SET result = excluded.result, stdout = excluded.stdout,
             stderr = excluded.stderr, size = excluded.size, used_at = excluded.used_at",
        )
        .bind(key)
        .bind(&compact.meta)
        .bind(&compact.stdout)
        .bind(&compact.stderr)
        .bind(compact.size() as i64)
        .bind(now_millis())
        .execute(&self.pool)
        .await?;
        self.evict_over_bound().await
    }

    async fn evict_over_bound(&self) -> Result<(), StoreError> {
        loop {
            let bytes: i64 = sqlx::query_scalar("SELECT bytes FROM cache_size")
                .fetch_one(&self.pool)
                .await?;
            if bytes as u64 <= self.cache_max_bytes {
                return Ok(());
            }
            let evicted = sqlx::query(
                "DELETE FROM cached_results WHERE key IN (SELECT key FROM cached_results ORDER BY used_at LIMIT 16)",
            )
            .execute(&self.pool)
            .await?;
            if evicted.rows_affected() == 0 {
                return Ok(());
            }
        }
    }
}

/// The longest id `code` can get; a saved id is its shortest free prefix.
pub fn full_id(code: &str) -> String {
    encode_id(&Sha256::digest(code.as_bytes()))
}

/// The cache key of a run of `code` on the image with id `image_id` under `settings` (the
/// sandbox's fingerprint): a different image build or other limits never share results. Which
/// results are cached at all is [`cacheable`].
pub fn cache_key(code: &str, image_id: &str, settings: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [code_hash(code).as_str(), image_id, settings] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hex(&hasher.finalize())
}

/// Whether a result may be served again for the same code, image and sandbox. Timeouts, kills at
/// the memory limit and errors depend on the moment (load, the engine), so they always run again.
pub fn cacheable(result: &VersionResult) -> bool {
    use crate::model::Status;
    matches!(result.status, Status::Ok | Status::Exit | Status::OutputLimit)
}

fn code_hash(code: &str) -> String {
    hex(&Sha256::digest(code.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The hash as base32 (5 bits a character), 51 characters for 256 bits.
fn encode_id(hash: &[u8]) -> String {
    let mut id = String::new();
    let (mut buffer, mut bits) = (0u32, 0);
    for &byte in hash {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            id.push(ID_ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    id
}

fn now_millis() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// A saved result's row: its metadata JSON and its output streams (NULL in rows from before the
/// compact form).
type StoredRow = (String, Option<Vec<u8>>, Option<Vec<u8>>);

/// A result as it is stored: its metadata as JSON without the output, and each output stream as
/// raw UTF-8, deflated when that saves room (first byte: 0 raw, 1 deflated).
struct Compact {
    meta: String,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Compact {
    /// Streams longer than this are deflated.
    const DEFLATE_FROM: usize = 256;

    fn of(result: &VersionResult) -> Result<Self, StoreError> {
        let mut meta = result.clone();
        let (stdout, cut_out) = Self::pack(&std::mem::take(&mut meta.stdout))?;
        let (stderr, cut_err) = Self::pack(&std::mem::take(&mut meta.stderr))?;
        meta.truncated |= cut_out || cut_err;
        Ok(Self {
            meta: serde_json::to_string(&meta)?,
            stdout,
            stderr,
        })
    }

    fn size(&self) -> usize {
        self.meta.len() + self.stdout.len() + self.stderr.len()
    }

    /// The stored form of one stream, cut at [`MAX_STORED_STREAM`]; true when it was cut.
    fn pack(text: &str) -> Result<(Vec<u8>, bool), StoreError> {
        use std::io::Write;
        let mut end = text.len().min(MAX_STORED_STREAM);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let bytes = &text.as_bytes()[..end];
        if bytes.len() < Self::DEFLATE_FROM {
            return Ok(([&[0], bytes].concat(), end < text.len()));
        }
        let mut encoder = flate2::write::DeflateEncoder::new(vec![1], flate2::Compression::fast());
        encoder
            .write_all(bytes)
            .map_err(|e| StoreError::Stream(e.to_string()))?;
        let deflated = encoder.finish().map_err(|e| StoreError::Stream(e.to_string()))?;
        Ok((deflated, end < text.len()))
    }

    fn unpack(stored: &[u8]) -> Result<String, StoreError> {
        use std::io::Read;
        let bytes = match stored.split_first() {
            None => Vec::new(),
            Some((0, raw)) => raw.to_vec(),
            Some((1, deflated)) => {
                let mut inflated = Vec::new();
                flate2::read::DeflateDecoder::new(deflated)
                    .take(MAX_STORED_STREAM as u64 + 1)
                    .read_to_end(&mut inflated)
                    .map_err(|e| StoreError::Stream(e.to_string()))?;
                inflated
            }
            Some((format, _)) => return Err(StoreError::Stream(format!("unknown stream format {format}"))),
        };
        String::from_utf8(bytes).map_err(|e| StoreError::Stream(e.to_string()))
    }

    /// A stored result; rows from before the compact form have no streams (NULL) and their
    /// output in the JSON.
    fn read(meta: &str, stdout: Option<&[u8]>, stderr: Option<&[u8]>) -> Result<VersionResult, StoreError> {
        let mut result: VersionResult = serde_json::from_str(meta)?;
        if let Some(stdout) = stdout {
            result.stdout = Self::unpack(stdout)?;
        }
        if let Some(stderr) = stderr {
            result.stderr = Self::unpack(stderr)?;
        }
        Ok(result)
    }
}

fn now() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .expect("now formats as RFC 3339")
}

/// Tells a damaged or foreign file apart from other failures to open.
fn classify(path: &Path, source: sqlx::Error) -> OpenError {
    let code = source
        .as_database_error()
        .and_then(|e| e.code())
        .unwrap_or_default();
    // SQLITE_CORRUPT (11), SQLITE_NOTADB (26), SQLITE_IOERR_SHORT_READ (522: a cut file).
    match code.parse::<i32>() {
        Ok(522) => OpenError::Corrupt {
            path: path.to_owned(),
            detail: source.to_string(),
        },
        Ok(code) if matches!(code & 0xff, 11 | 26) => OpenError::Corrupt {
            path: path.to_owned(),
            detail: source.to_string(),
        },
        _ => OpenError::Open {
            path: path.to_owned(),
            source,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_use_the_unambiguous_alphabet() {
        let id = encode_id(&Sha256::digest(b"<?php echo 1;"));
        assert_eq!(id.len(), 51);
        assert!(id.chars().all(|c| c.is_ascii_digit() || c.is_ascii_lowercase()));
        assert!(!id.contains(['i', 'l', 'o', 'u']), "{id}");
    }

    #[test]
    fn line_endings_are_the_only_normalization() {
        assert_eq!(
            crate::model::normalize("<?php\r\necho 1;\r?>  \n"),
            "<?php\necho 1;\r?>  \n"
        );
    }

    fn result_with(stdout: &str, stderr: &str) -> VersionResult {
        VersionResult {
            image: "php:8.4-cli".into(),
            php_version: "8.4.27".into(),
            status: crate::model::Status::Ok,
            exit_code: Some(0),
            stdout: stdout.into(),
            stderr: stderr.into(),
            truncated: false,
            duration_ms: 3,
            started_at: None,
            finished_at: None,
            cpu_time_us: Some(1),
            peak_memory_bytes: Some(2),
            cached: false,
            message: None,
        }
    }

    #[test]
    fn output_is_stored_raw_and_deflated_when_large_and_reads_back_the_same() {
        let nul = "\0".repeat(64 * 1024);
        for (stdout, stderr) in [("hi", ""), (nul.as_str(), "\u{FFFD}x"), ("", nul.as_str())] {
            let result = result_with(stdout, stderr);
            let compact = Compact::of(&result).unwrap();
            assert!(!compact.meta.contains("\\u0000"), "the output is not in the JSON");
            assert!(compact.size() < 2048, "{} bytes", compact.size());
            let read = Compact::read(&compact.meta, Some(&compact.stdout), Some(&compact.stderr)).unwrap();
            assert_eq!(read, result);
        }
    }

    #[test]
    fn a_stream_over_the_stored_limit_is_cut_at_a_character_and_marked() {
        let long = "é".repeat(MAX_STORED_STREAM);
        let compact = Compact::of(&result_with(&long, "")).unwrap();
        let read = Compact::read(&compact.meta, Some(&compact.stdout), Some(&compact.stderr)).unwrap();
        assert!(read.truncated);
        assert_eq!(read.stdout.len(), MAX_STORED_STREAM);
    }

    #[test]
    fn rows_from_before_the_compact_form_still_read() {
        let old = serde_json::to_string(&result_with("out", "err")).unwrap();
        assert_eq!(
            Compact::read(&old, None, None).unwrap(),
            result_with("out", "err")
        );
    }

    #[test]
    fn only_results_that_depend_on_the_code_alone_are_cached() {
        use crate::model::Status;
        for status in [Status::Ok, Status::Exit, Status::OutputLimit] {
            assert!(
                cacheable(&VersionResult {
                    status,
                    ..result_with("", "")
                }),
                "{status:?}"
            );
        }
        for status in [Status::Timeout, Status::Oom, Status::Error] {
            assert!(
                !cacheable(&VersionResult {
                    status,
                    ..result_with("", "")
                }),
                "{status:?}"
            );
        }
    }

    #[test]
    fn cache_keys_differ_by_code_image_and_settings() {
        let key = cache_key("a", "sha256:1", "s");
        assert_eq!(key, cache_key("a", "sha256:1", "s"));
        assert_ne!(key, cache_key("b", "sha256:1", "s"));
        assert_ne!(key, cache_key("a", "sha256:2", "s"));
        assert_ne!(key, cache_key("a", "sha256:1", "t"));
        // Separators keep the parts apart.
        assert_ne!(cache_key("a", "sha256:1", "s"), cache_key("a", "sha256:1s", ""));
    }
}
