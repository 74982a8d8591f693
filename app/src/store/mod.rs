//! Saved snippets (permalinks) and the result cache, behind one small interface on two
//! backends: an embedded SQLite file (the default, [`sqlite`]) or a PostgreSQL database shared by
//! several instances ([`postgres`]). The same SQL serves both where their dialects agree (`$N`
//! parameters, `ON CONFLICT`, `RETURNING`); what differs lives in the backend's module.

mod compact;
mod postgres;
mod sqlite;

use crate::model::{
    format_rfc3339_seconds, ini_text, parse_rfc3339_seconds, Clock, IniSettings, RunSpec, Show, Snippet,
    VersionResult,
};
use compact::{Compact, StoredRow};
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::path::PathBuf;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Shortest permalink id; longer only when a shorter one is taken by other code.
pub const MIN_ID_LEN: usize = 6;

/// The default bound of the result cache (`--cache-max-mib`).
pub const DEFAULT_CACHE_MAX_BYTES: u64 = 1 << 30;

/// Crockford's base32, lower case: no i, l, o, u to misread.
const ID_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// How long each store operation took, by operation; and the ones that failed.
pub const STORE_DURATION: &str = "evalgrid_store_operation_duration_seconds";
pub const STORE_ERRORS: &str = "evalgrid_store_errors_total";

/// Every metric the store records.
pub const STORE_METRICS: &[runner::metrics::Described] = &[
    runner::metrics::Described {
        name: STORE_DURATION,
        kind: runner::metrics::Kind::Histogram,
        help: "How long the store's operations took, by operation, failed ones included.",
    },
    runner::metrics::Described {
        name: STORE_ERRORS,
        kind: runner::metrics::Kind::Counter,
        help: "The store's operations that failed, by operation.",
    },
];

/// `work`, timed in [`STORE_DURATION`] and, when it fails, counted in [`STORE_ERRORS`].
async fn timed<T>(
    operation: &'static str,
    work: impl std::future::Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    let started = std::time::Instant::now();
    let done = work.await;
    metrics::histogram!(STORE_DURATION, "operation" => operation).record(started.elapsed());
    if done.is_err() {
        metrics::counter!(STORE_ERRORS, "operation" => operation).increment(1);
    }
    done
}

/// Where the data lives: `--database` is a SQLite file's path or a `postgres://` URL.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// An SQLite file, created when missing (unless required to exist).
    File(PathBuf),
    /// A PostgreSQL database (which must exist), as a connection URL.
    Postgres(String),
}

impl std::str::FromStr for Database {
    type Err = std::convert::Infallible;

    fn from_str(location: &str) -> Result<Self, Self::Err> {
        Ok(
            if location.starts_with("postgres://") || location.starts_with("postgresql://") {
                Self::Postgres(location.to_owned())
            } else {
                Self::File(PathBuf::from(location))
            },
        )
    }
}

/// The location without a password, for logs and messages.
impl std::fmt::Display for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File(path) => write!(f, "{}", path.display()),
            Self::Postgres(url) => match url::Url::parse(url) {
                Ok(mut url) => {
                    if url.password().is_some() {
                        let _ = url.set_password(Some("***"));
                    }
                    write!(f, "{url}")
                }
                Err(_) => f.write_str("postgres://(an URL that does not parse)"),
            },
        }
    }
}

/// Debug shows what Display shows: a URL's password never reaches a log.
impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Database({self})")
    }
}

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
    #[error("database {database} has a schema this evalgrid does not know: {source}")]
    Schema {
        database: String,
        source: sqlx::migrate::MigrateError,
    },
    /// The database could not be opened or reached (permissions, locks, a server that does not
    /// answer, a refused login, …).
    #[error("cannot open database {database}: {source}")]
    Open { database: String, source: sqlx::Error },
}

/// A read or write that failed after the database was open.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed.
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
    pool: Pool,
    min_id_len: usize,
    cache_max_bytes: u64,
}

#[derive(Clone)]
enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// Runs `$body` with `$pool` bound to the backend's own pool: the body is written once and
/// compiled for each backend.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pool {
            Pool::Sqlite($pool) => $body,
            Pool::Postgres($pool) => $body,
        }
    };
}

/// How much room the data takes, for `/api/health`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct StoreSize {
    /// The room the database takes: an SQLite file's pages in use (its WAL comes on top, at most
    /// a few MiB), or evalgrid's tables in PostgreSQL.
    pub database_bytes: u64,
    /// What the result cache holds (bounded by `--cache-max-mib`).
    pub cache_bytes: u64,
}

impl Store {
    /// Opens `database` and brings its schema up to date. An SQLite file is created when it does
    /// not exist and `create` is true, and checked for damage first (a damaged file is an error,
    /// never silently replaced); a PostgreSQL database must exist.
    pub async fn open(database: &Database, create: bool) -> Result<Self, OpenError> {
        let pool = match database {
            Database::File(path) => Pool::Sqlite(sqlite::open(path, create).await?),
            Database::Postgres(url) => Pool::Postgres(postgres::open(url, &database.to_string()).await?),
        };
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

    /// Ids start at `len` characters instead of [`MIN_ID_LEN`] (tests use 1 to force collisions).
    pub fn with_min_id_len(mut self, len: usize) -> Self {
        // A full id has 51 characters (256 bits, 5 a character).
        self.min_id_len = len.clamp(1, 51);
        self
    }

    /// The database's size and the cache's share of it.
    pub async fn size(&self) -> Result<StoreSize, StoreError> {
        timed("size", async {
            let database_bytes = match &self.pool {
                Pool::Sqlite(pool) => sqlite::database_bytes(pool).await?,
                Pool::Postgres(pool) => postgres::database_bytes(pool).await?,
            };
            let cache: i64 = on_pool!(self, pool => sqlx::query_scalar("SELECT bytes FROM cache_size")
            .fetch_one(pool)
            .await?);
            Ok(StoreSize {
                database_bytes,
                cache_bytes: cache.max(0) as u64,
            })
        })
        .await
    }

    /// Closes every connection (and folds SQLite's WAL back into its file).
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(pool) => sqlite::close(pool).await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }

    /// The id `input` was saved under, if it was, and where its clock starts.
    pub async fn saved<'a>(&self, input: impl Into<SnippetInput<'a>>) -> Result<Option<Saved>, StoreError> {
        timed("saved", async {
            let hash = input.into().hash();
            let row: Option<(String, Option<i64>)> = on_pool!(self, pool =>
            sqlx::query_as("SELECT id, clock_at FROM snippets WHERE code_hash = $1")
            .bind(&hash)
            .fetch_optional(pool)
            .await?);
            Ok(row.map(|(id, clock_at)| Saved { id, clock_at }))
        })
        .await
    }

    /// The id `code` (already [`normalize`](crate::model::normalize)d) was saved under, if it
    /// was (with no stdin, on the fixed clock).
    pub async fn saved_id(&self, code: &str) -> Result<Option<String>, StoreError> {
        Ok(self.saved(code).await?.map(|saved| saved.id))
    }

    /// Saves `code` (already [`normalize`](crate::model::normalize)d) and returns its permalink
    /// id: the same code always gets the same id; other code whose hash starts alike gets a
    /// longer one. Saves are ordered across every process that shares the database (SQLite's
    /// write lock, taken at the start; PostgreSQL's advisory lock), so two saving the same code
    /// at once agree on one id.
    pub async fn save_snippet(&self, code: &str) -> Result<String, StoreError> {
        Ok(self.save(code).await?.id)
    }

    /// Saves `input` (its code already [`normalize`](crate::model::normalize)d) like
    /// [`Store::save_snippet`]; the id and the clock are those of the first save.
    pub async fn save<'a>(&self, input: impl Into<SnippetInput<'a>>) -> Result<Saved, StoreError> {
        timed("save", async {
        let input = input.into();
        let hash = input.hash();
        let full = input.full_id();
        let code = input.code;
        let variants = serde_json::to_string(input.ini)?;
        let min_id_len = self.min_id_len;
        // The body is the same on both backends; only how the transaction is ordered differs.
        macro_rules! save_in {
            ($transaction:ident) => {{
                if let Some((id, clock_at)) = sqlx::query_as::<_, (String, Option<i64>)>(
                    "SELECT id, clock_at FROM snippets WHERE code_hash = $1",
                )
                .bind(&hash)
                .fetch_optional(&mut *$transaction)
                .await?
                {
                    return Ok(Saved { id, clock_at });
                }
                let mut length = min_id_len;
                let id = loop {
                    let candidate = &full[..length];
                    let taken: i64 = sqlx::query_scalar("SELECT count(*) FROM snippets WHERE id = $1")
                        .bind(candidate)
                        .fetch_one(&mut *$transaction)
                        .await?;
                    if taken == 0 {
                        break candidate.to_owned();
                    }
                    length += 1;
                };
                sqlx::query(
                    "INSERT INTO snippets (id, code_hash, code, created_at, stdin, clock, clock_at, show, ini) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(&id)
                .bind(&hash)
                .bind(code)
                .bind(now())
                .bind(input.stdin)
                .bind(input.clock.to_string())
                .bind(input.clock_at)
                .bind(input.show.name())
                .bind(&variants)
                .execute(&mut *$transaction)
                .await?;
                $transaction.commit().await?;
                Ok(Saved {
                    id,
                    clock_at: input.clock_at,
                })
            }};
        }
        match &self.pool {
            Pool::Sqlite(pool) => {
                let mut transaction = pool.begin_with("BEGIN IMMEDIATE").await?;
                save_in!(transaction)
            }
            Pool::Postgres(pool) => {
                let mut transaction = pool.begin().await?;
                postgres::lock_saves(&mut transaction).await?;
                save_in!(transaction)
            }
        }
            })
        .await
    }

    /// Stores `result` as the snippet's latest result for its image (and its ini variant).
    pub async fn save_result(&self, id: &str, result: &VersionResult) -> Result<(), StoreError> {
        self.save_result_of_image(id, result, None).await
    }

    /// [`Store::save_result`], remembering the id of the image it ran on (`None`: unknown);
    /// unless it [`replaces`] nothing the snippet has saved for that image and variant: a
    /// result that proves nothing never takes the place of one that does.
    pub async fn save_result_of_image(
        &self,
        id: &str,
        result: &VersionResult,
        image_id: Option<&str>,
    ) -> Result<(), StoreError> {
        timed("save_result_of_image", async {
        let saved = self.saved_result(id, &result.image, &result.ini).await?;
        if !replaces(saved.as_ref(), result, image_id) {
            return Ok(());
        }
        let compact = Compact::of(result)?;
        on_pool!(self, pool => {
            sqlx::query(
            "INSERT INTO snippet_results (snippet_id, image, ini, result, stdout, stderr, saved_at, image_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (snippet_id, image, ini) DO UPDATE SET result = excluded.result, stdout = excluded.stdout,
             stderr = excluded.stderr, saved_at = excluded.saved_at, image_id = excluded.image_id",
        )
        .bind(id)
        .bind(&result.image)
        .bind(ini_text(&result.ini))
        .bind(&compact.meta)
        .bind(&compact.stdout)
        .bind(&compact.stderr)
        .bind(now())
        .bind(image_id)
        .execute(pool)
        .await?;
        });
        Ok(())
            })
        .await
    }

    /// The snippet's saved result for `image` (a name) under the ini variant `ini`, with the id
    /// of the image it ran on when known.
    pub async fn saved_result(
        &self,
        id: &str,
        image: &str,
        ini: &IniSettings,
    ) -> Result<Option<SavedResult>, StoreError> {
        timed("saved_result", async {
            // A stored result's row, then the image id.
            type Row = (String, Option<Vec<u8>>, Option<Vec<u8>>, Option<String>);
            let row: Option<Row> = on_pool!(self, pool =>
            sqlx::query_as(
                "SELECT result, stdout, stderr, image_id FROM snippet_results
                 WHERE snippet_id = $1 AND image = $2 AND ini = $3",
            )
            .bind(id)
            .bind(image)
            .bind(ini_text(ini))
            .fetch_optional(pool)
            .await?);
            row.map(|(meta, stdout, stderr, image_id)| {
                Ok(SavedResult {
                    result: Compact::read(&meta, stdout.as_deref(), stderr.as_deref())?,
                    image_id,
                })
            })
            .transpose()
        })
        .await
    }

    /// Records that `images` (names) are offered now: each name not seen before is new from
    /// now on. The first list ever recorded is the baseline, seen at the epoch, so that turning
    /// this on re-runs nothing. Returns the names that are new now.
    pub async fn record_images_seen(&self, images: &[String]) -> Result<Vec<String>, StoreError> {
        timed("record_images_seen", async {
            let known: i64 = on_pool!(self, pool => sqlx::query_scalar("SELECT count(*) FROM images_seen")
            .fetch_one(pool)
            .await?);
            let seen_at = match known {
                0 => format_rfc3339_seconds(0),
                _ => now(),
            };
            let mut new = Vec::new();
            for image in images {
                let added = on_pool!(self, pool => sqlx::query(
                "INSERT INTO images_seen (image, first_seen) VALUES ($1, $2) ON CONFLICT (image) DO NOTHING",
            )
            .bind(image)
            .bind(&seen_at)
            .execute(pool)
            .await?
            .rows_affected());
                if added > 0 && known > 0 {
                    new.push(image.clone());
                }
            }
            Ok(new)
        })
        .await
    }

    /// Up to `limit` snippets saved before `image` (a name) was first seen that have no result
    /// for it, oldest first: what re-running saved snippets on new versions has left to do.
    /// Compared to the second (both times are RFC 3339 UTC): one saved in the very second the
    /// image appeared counts as before it. A snippet that failed to run on this very image
    /// (`image_id`) is left out for [`BACKFILL_RETRY`] after each failure, and for good after
    /// [`BACKFILL_ATTEMPTS`] of them (see [`Store::record_backfill_failure`]).
    pub async fn awaiting_image(
        &self,
        image: &str,
        image_id: &str,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        timed("awaiting_image", async {
            let retry_after = OffsetDateTime::now_utc() - BACKFILL_RETRY;
            let retry_after = retry_after.format(&Rfc3339).expect("a time formats as RFC 3339");
            let ids: Vec<String> = on_pool!(self, pool => sqlx::query_scalar(
            "SELECT s.id FROM snippets s JOIN images_seen i ON i.image = $1
             WHERE substr(s.created_at, 1, 19) <= substr(i.first_seen, 1, 19)
               AND NOT EXISTS (SELECT 1 FROM snippet_results r WHERE r.snippet_id = s.id AND r.image = $1)
               AND NOT EXISTS (SELECT 1 FROM backfill_failures f
                               WHERE f.snippet_id = s.id AND f.image = $1 AND f.image_id = $2
                                 AND (f.attempts >= $3 OR substr(f.failed_at, 1, 19) > substr($4, 1, 19)))
             ORDER BY s.created_at, s.id LIMIT $5",
        )
        .bind(image)
        .bind(image_id)
        .bind(i64::from(BACKFILL_ATTEMPTS))
        .bind(&retry_after)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?);
            Ok(ids)
        })
        .await
    }

    /// Records that the snippet `id` could not run on `image` (a name) with the id `image_id`,
    /// so that [`Store::awaiting_image`] moves past it; a new image under the name starts the
    /// count again.
    pub async fn record_backfill_failure(
        &self,
        id: &str,
        image: &str,
        image_id: &str,
    ) -> Result<(), StoreError> {
        timed("record_backfill_failure", async {
            on_pool!(self, pool => {
                sqlx::query(
                    "INSERT INTO backfill_failures (snippet_id, image, image_id, attempts, failed_at)
                 VALUES ($1, $2, $3, 1, $4)
                 ON CONFLICT (snippet_id, image) DO UPDATE SET
                   attempts = CASE WHEN backfill_failures.image_id = excluded.image_id
                                   THEN backfill_failures.attempts + 1 ELSE 1 END,
                   image_id = excluded.image_id, failed_at = excluded.failed_at",
                )
                .bind(id)
                .bind(image)
                .bind(image_id)
                .bind(now())
                .execute(pool)
                .await?;
            });
            Ok(())
        })
        .await
    }

    /// The saved snippet with its latest result per image, oldest PHP version first.
    pub async fn snippet(&self, id: &str) -> Result<Option<Snippet>, StoreError> {
        timed("snippet", async {
        let found: Option<(SnippetRow, Vec<StoredRow>)> = on_pool!(self, pool => {
            match sqlx::query("SELECT code, created_at, stdin, clock, clock_at, show, ini FROM snippets WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
            {
                None => None,
                Some(row) => Some((
                    SnippetRow {
                        code: row.get("code"),
                        created_at: row.get("created_at"),
                        stdin: row.get("stdin"),
                        clock: row.get("clock"),
                        clock_at: row.get("clock_at"),
                        show: row.get("show"),
                        ini: row.get("ini"),
                    },
                    sqlx::query_as("SELECT result, stdout, stderr FROM snippet_results WHERE snippet_id = $1")
                        .bind(id)
                        .fetch_all(pool)
                        .await?,
                )),
            }
        });
        let Some((row, stored)) = found else {
            return Ok(None);
        };
        let mut results = stored
            .into_iter()
            .map(|(meta, stdout, stderr)| Compact::read(&meta, stdout.as_deref(), stderr.as_deref()))
            .collect::<Result<Vec<_>, _>>()?;
        let ini: Vec<IniSettings> = serde_json::from_str(&row.ini)?;
        // Version by version, each in the order of its variants.
        results.sort_by_cached_key(|r| {
            let variant = ini.iter().position(|settings| *settings == r.ini);
            (runner::version_key(&r.php_version), variant)
        });
        Ok(Some(Snippet {
            id: id.to_owned(),
            code: row.code,
            created_at: row.created_at,
            stdin: row.stdin,
            // A stored clock always reads; the default guards against a hand-edited row.
            clock: Clock::parse(&row.clock).unwrap_or(Clock::Saved),
            clock_at: row.clock_at.map(format_rfc3339_seconds),
            // Every name a version of evalgrid stored reads back.
            show: Show::from_name(&row.show).unwrap_or_default(),
            ini,
            results,
        }))
            })
        .await
    }

    /// A cached result under `key` (see [`cache_key`]); marks it used.
    pub async fn cached_result(&self, key: &str) -> Result<Option<VersionResult>, StoreError> {
        timed("cached_result", async {
            let stored: Option<(String, Vec<u8>, Vec<u8>)> = on_pool!(self, pool => sqlx::query_as(
            "UPDATE cached_results SET used_at = $1 WHERE key = $2 RETURNING result, stdout, stderr",
        )
        .bind(now_millis())
        .bind(key)
        .fetch_optional(pool)
        .await?);
            stored
                .map(|(meta, stdout, stderr)| Compact::read(&meta, Some(&stdout), Some(&stderr)))
                .transpose()
        })
        .await
    }

    /// Caches `result` under `key`, replacing an older one, then evicts the least recently used
    /// results while the cache is over its bound.
    pub async fn cache_result(&self, key: &str, result: &VersionResult) -> Result<(), StoreError> {
        timed("cache_result", async {
        let compact = Compact::of(result)?;
        on_pool!(self, pool => {
            sqlx::query(
            "INSERT INTO cached_results (key, result, stdout, stderr, size, used_at) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (key) DO UPDATE SET result = excluded.result, stdout = excluded.stdout,
             stderr = excluded.stderr, size = excluded.size, used_at = excluded.used_at",
        )
        .bind(key)
        .bind(&compact.meta)
        .bind(&compact.stdout)
        .bind(&compact.stderr)
        .bind(compact.size() as i64)
        .bind(now_millis())
        .execute(pool)
        .await?;
        });
        self.evict_over_bound().await
            })
        .await
    }

    /// Evicts the least recently used results, one at a time (an index lookup each): a write
    /// usually pushes out one or two, and a small bound keeps what was used last.
    async fn evict_over_bound(&self) -> Result<(), StoreError> {
        loop {
            let bytes: i64 = on_pool!(self, pool => sqlx::query_scalar("SELECT bytes FROM cache_size")
                .fetch_one(pool)
                .await?);
            if bytes as u64 <= self.cache_max_bytes {
                return Ok(());
            }
            let evicted = on_pool!(self, pool => sqlx::query(
                "DELETE FROM cached_results WHERE key IN (SELECT key FROM cached_results ORDER BY used_at LIMIT 1)",
            )
            .execute(pool)
            .await?
            .rows_affected());
            if evicted == 0 {
                return Ok(());
            }
        }
    }
}

/// The longest id `code` (with no stdin, on the fixed clock) can get; a saved id is its
/// shortest free prefix.
pub fn full_id(code: &str) -> String {
    SnippetInput::from(code).full_id()
}

/// What a snippet is saved as: its code, its stdin, its clock, what it shows and its ini
/// variants. Two saves of the same input get one id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnippetInput<'a> {
    pub code: &'a str,
    pub stdin: &'a str,
    /// How the clock was asked for (part of what the snippet is)...
    pub clock: Clock,
    /// ...and where it starts (seconds since the epoch; `None` on the real clock): for
    /// [`Clock::Saved`], the time of the first save.
    pub clock_at: Option<i64>,
    pub show: Show,
    /// The ini variants each version runs under; empty: once, with the image's defaults. For
    /// a cache key: the one variant the result ran under.
    pub ini: &'a [IniSettings],
}

impl<'a> From<&'a str> for SnippetInput<'a> {
    /// The code alone: no stdin, the clock fixed at the time of the save.
    fn from(code: &'a str) -> Self {
        Self {
            code,
            stdin: "",
            clock: Clock::Saved,
            clock_at: Some(OffsetDateTime::now_utc().unix_timestamp()),
            show: Show::Output,
            ini: &[],
        }
    }
}

impl<'a> From<&'a Snippet> for SnippetInput<'a> {
    /// What a saved snippet was saved as (its stored forms read back).
    fn from(snippet: &'a Snippet) -> Self {
        Self {
            code: &snippet.code,
            stdin: &snippet.stdin,
            clock: snippet.clock,
            clock_at: snippet.clock_at.as_deref().and_then(parse_rfc3339_seconds),
            show: snippet.show,
            ini: &snippet.ini,
        }
    }
}

impl<'a> SnippetInput<'a> {
    /// What a run of `spec` is saved and keyed as, its clock starting at `clock_at`.
    pub fn of(spec: &'a RunSpec, clock_at: Option<i64>) -> Self {
        Self {
            code: &spec.code,
            stdin: &spec.stdin,
            clock: spec.clock,
            clock_at,
            show: spec.show,
            ini: &spec.ini,
        }
    }
}

impl SnippetInput<'_> {
    /// The code's SHA-256 for code alone (every snippet saved before stdin, clocks, opcodes and
    /// ini variants existed is code alone, on the clock of its first save, showing output);
    /// otherwise that of code, stdin, clock, what it shows and its ini variants.
    fn digest(&self) -> Vec<u8> {
        let code = Sha256::digest(self.code.as_bytes());
        if self.stdin.is_empty() && self.clock == Clock::Saved && self.show == Show::Output && !self.has_ini()
        {
            return code.to_vec();
        }
        let clock = self.clock.to_string();
        let mut parts = vec![&code[..], self.stdin.as_bytes(), clock.as_bytes()];
        // Output alone hashes as it did before opcodes existed.
        if self.show != Show::Output {
            parts.push(self.show.name().as_bytes());
        }
        // So do snippets without ini variants; with them, each variant is a part of its own.
        let variants = self.ini_texts();
        if let Some(variants) = &variants {
            parts.push(b"ini");
            parts.extend(variants.iter().map(String::as_bytes));
        }
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
        hasher.finalize().to_vec()
    }

    fn hash(&self) -> String {
        hex(&self.digest())
    }

    /// Whether any variant sets anything: `[{}]` is the defaults, as no variants are.
    fn has_ini(&self) -> bool {
        self.ini.iter().any(|settings| !settings.is_empty())
    }

    /// Each variant in its text form, when any sets anything (see [`SnippetInput::has_ini`]).
    fn ini_texts(&self) -> Option<Vec<String>> {
        self.has_ini().then(|| self.ini.iter().map(ini_text).collect())
    }

    fn full_id(&self) -> String {
        encode_id(&self.digest())
    }
}

/// A snippet's saved result for one image, and the id of the image it ran on (`None` for
/// results saved before image ids were kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedResult {
    pub result: VersionResult,
    pub image_id: Option<String>,
}

/// A saved snippet's id, and where its clock starts (seconds since the epoch; `None`: real).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    pub id: String,
    pub clock_at: Option<i64>,
}

/// The cache key of a run of `input` on the image with id `image_id` under `settings` (the
/// sandbox's fingerprint): a different image build or other limits never share results. The
/// clock counts by where it starts, not by how it was asked for; `input.ini` is the variant the
/// result runs under (none: the defaults). Which results are cached at all is [`cacheable`].
pub fn cache_key(input: SnippetInput<'_>, image_id: &str, settings: &str) -> String {
    let clock = input.clock_at.map_or("real".to_owned(), |at| at.to_string());
    // Results under the defaults keep the keys they had before ini variants.
    let ini = input.ini_texts().map(|variants| variants.join("\0"));
    let mut hasher = Sha256::new();
    let code = code_hash(input.code);
    let parts = [
        code.as_str(),
        input.stdin,
        &clock,
        input.show.name(),
        image_id,
        settings,
    ];
    for part in parts.into_iter().chain(ini.as_deref()) {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hex(&hasher.finalize())
}

/// Whether a result may be served again for the same code, image and sandbox. Timeouts, kills at
/// the memory limit and errors depend on the moment (load, the engine), so they always run again.
/// How long a snippet that failed to run on a new image waits before it is tried again ...
pub const BACKFILL_RETRY: std::time::Duration = std::time::Duration::from_secs(3600);

/// ... and after how many failures on the same image it is not tried again.
pub const BACKFILL_ATTEMPTS: u32 = 3;

pub fn cacheable(result: &VersionResult) -> bool {
    use crate::model::Status;
    matches!(
        result.outcome.status,
        Status::Ok | Status::Exit | Status::OutputLimit
    )
}

/// Whether `fresh`, run on the image `image_id`, may take the place of the snippet's `saved`
/// result for its image and variant. A failure to run (busy, the engine, cancelled) says
/// nothing about the code: it never replaces a result, only another failure. A timeout or a
/// kill at the memory limit depends on the moment too: it replaces a result of the code only
/// when that came from another image (the tag now names a new build). Any other result
/// replaces whatever was saved.
pub fn replaces(saved: Option<&SavedResult>, fresh: &VersionResult, image_id: Option<&str>) -> bool {
    use crate::model::Status;
    let Some(saved) = saved else {
        return true;
    };
    match fresh.outcome.status {
        Status::Error => saved.result.outcome.status == Status::Error,
        _ if cacheable(fresh) => true,
        _ if !cacheable(&saved.result) => true,
        _ => matches!((saved.image_id.as_deref(), image_id), (Some(old), Some(new)) if old != new),
    }
}

/// A `snippets` row.
struct SnippetRow {
    code: String,
    created_at: String,
    stdin: String,
    clock: String,
    clock_at: Option<i64>,
    show: String,
    /// The ini variants as JSON.
    ini: String,
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

fn now() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .expect("now formats as RFC 3339")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Outcome;

    #[test]
    fn a_database_is_a_file_unless_it_is_a_postgres_url_whose_password_is_never_shown() {
        let file: Database = "data/evalgrid.sqlite3".parse().unwrap();
        assert_eq!(file, Database::File("data/evalgrid.sqlite3".into()));
        let url = "postgres://evalgrid:s3cret@db.internal:5432/evalgrid";
        let postgres: Database = url.parse().unwrap();
        assert_eq!(postgres, Database::Postgres(url.into()));
        assert_eq!(
            postgres.to_string(),
            "postgres://evalgrid:***@db.internal:5432/evalgrid"
        );
        assert!(!format!("{postgres:?}").contains("s3cret"));
        assert!(matches!(
            "postgresql://localhost/x".parse().unwrap(),
            Database::Postgres(_)
        ));
    }

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

    pub(super) fn result_with(stdout: &str, stderr: &str) -> VersionResult {
        VersionResult {
            outcome: Outcome {
                exit_code: Some(0),
                stdout: stdout.into(),
                stderr: stderr.into(),
                duration_ms: 3,
                ..Outcome::ended(crate::model::Status::Ok)
            },
            cpu_time_us: Some(1),
            peak_memory_bytes: Some(2),
            ..VersionResult::new("php:8.4-cli", "8.4.27", crate::model::Status::Ok)
        }
    }

    #[test]
    fn a_result_that_proves_nothing_never_takes_the_place_of_one_that_does() {
        use crate::model::Status;
        let with = |status| {
            let mut result = result_with("", "");
            result.outcome.status = status;
            result
        };
        let saved = |status, image_id: &str| SavedResult {
            result: with(status),
            image_id: Some(image_id.to_owned()),
        };
        let ok = saved(Status::Ok, "sha256:a");
        assert!(!replaces(Some(&ok), &with(Status::Error), Some("sha256:a")));
        assert!(!replaces(Some(&ok), &with(Status::Error), Some("sha256:b")));
        assert!(!replaces(Some(&ok), &with(Status::Timeout), Some("sha256:a")));
        assert!(
            replaces(Some(&ok), &with(Status::Timeout), Some("sha256:b")),
            "a new build"
        );
        assert!(replaces(Some(&ok), &with(Status::Exit), Some("sha256:a")));
        let unknown_image = SavedResult {
            image_id: None,
            ..ok.clone()
        };
        assert!(!replaces(
            Some(&unknown_image),
            &with(Status::Oom),
            Some("sha256:b")
        ));
        let failed = saved(Status::Error, "sha256:a");
        assert!(replaces(Some(&failed), &with(Status::Error), Some("sha256:a")));
        assert!(replaces(
            Some(&saved(Status::Timeout, "sha256:a")),
            &with(Status::Oom),
            None
        ));
        assert!(!replaces(
            Some(&saved(Status::Timeout, "sha256:a")),
            &with(Status::Error),
            None
        ));
        assert!(replaces(None, &with(Status::Error), None), "nothing saved yet");
    }

    #[test]
    fn only_results_that_depend_on_the_code_alone_are_cached() {
        use crate::model::Status;
        for status in [Status::Ok, Status::Exit, Status::OutputLimit] {
            assert!(
                cacheable(&VersionResult {
                    outcome: Outcome::ended(status),
                    ..result_with("", "")
                }),
                "{status:?}"
            );
        }
        for status in [Status::Timeout, Status::Oom, Status::Error] {
            assert!(
                !cacheable(&VersionResult {
                    outcome: Outcome::ended(status),
                    ..result_with("", "")
                }),
                "{status:?}"
            );
        }
    }

    fn input(code: &str) -> SnippetInput<'_> {
        SnippetInput {
            code,
            stdin: "",
            clock: Clock::Real,
            clock_at: None,
            show: Show::Output,
            ini: &[],
        }
    }

    #[test]
    fn cache_keys_differ_by_code_stdin_clock_image_and_settings() {
        let key = cache_key(input("a"), "sha256:1", "s");
        assert_eq!(key, cache_key(input("a"), "sha256:1", "s"));
        assert_ne!(key, cache_key(input("b"), "sha256:1", "s"));
        assert_ne!(key, cache_key(input("a"), "sha256:2", "s"));
        assert_ne!(key, cache_key(input("a"), "sha256:1", "t"));
        let stdin = SnippetInput {
            stdin: "x",
            ..input("a")
        };
        assert_ne!(key, cache_key(stdin, "sha256:1", "s"));
        let fixed = |at| SnippetInput {
            clock_at: Some(at),
            ..input("a")
        };
        assert_ne!(key, cache_key(fixed(0), "sha256:1", "s"));
        assert_ne!(
            cache_key(fixed(0), "sha256:1", "s"),
            cache_key(fixed(1), "sha256:1", "s")
        );
        let opcodes = SnippetInput {
            show: Show::Opcodes,
            ..input("a")
        };
        assert_ne!(key, cache_key(opcodes, "sha256:1", "s"));
        let jit: [IniSettings; 1] = [[("opcache.jit".to_owned(), "tracing".to_owned())].into()];
        let under = |ini| SnippetInput { ini, ..input("a") };
        assert_ne!(key, cache_key(under(&jit), "sha256:1", "s"));
        // The defaults as a variant are no variant at all.
        assert_eq!(key, cache_key(under(&[IniSettings::new()]), "sha256:1", "s"));
        // Lengths keep the parts apart.
        assert_ne!(
            cache_key(input("a"), "sha256:1", "s"),
            cache_key(input("a"), "sha256:1s", "")
        );
    }

    /// Ids and cache keys as they were saved before the run's types moved between crates,
    /// worked out apart from this code (SHA-256 over the length-prefixed parts, the id
    /// alphabet): a change to how a clock, a mode or a variant is hashed breaks saved links.
    #[test]
    fn permalinks_and_cache_keys_saved_before_stay_what_they_were() {
        let code = "<?php echo 1;";
        let jit: [IniSettings; 1] = [[("opcache.jit".to_owned(), "tracing".to_owned())].into()];
        let pinned = [
            (
                SnippetInput::from(code),
                "3e8ftdsgvd0x033gqb3s0x5b6dn3njr1ydkqcaes18b6jcv2eh6",
            ),
            (
                SnippetInput {
                    stdin: "x",
                    ..SnippetInput::from(code)
                },
                "q4j2vqetx7c00bb0fqvfm73mw1j77km4cdx10rvwva9355zg932",
            ),
            (
                SnippetInput {
                    clock: Clock::At(1_700_000_000),
                    ..SnippetInput::from(code)
                },
                "7rvfrj08heknx9z9c6prv6p2ztttttf61g9wbcqd3zpj1514bby",
            ),
            (
                SnippetInput {
                    clock: Clock::Real,
                    ..SnippetInput::from(code)
                },
                "2rqm31pgvgkbjb90nnst45p776x3cap1f9v60377j0b5htndvtm",
            ),
            (
                SnippetInput {
                    show: Show::Opcodes,
                    ..SnippetInput::from(code)
                },
                "mcpf0vr3db7fknz60qxr1hnatsrj6pdtfajb7j8hnqd3pmh5cyy",
            ),
            (
                SnippetInput {
                    ini: &jit,
                    ..SnippetInput::from(code)
                },
                "ae6r3jhv78m9ckk9fdqsscx3dkhwjbwgkx2k19nc17qcyw8apn8",
            ),
        ];
        for (input, id) in pinned {
            assert_eq!(input.full_id(), id, "{input:?}");
        }
        let on_a_fixed_clock = SnippetInput {
            clock_at: Some(1_700_000_000),
            ..input(code)
        };
        assert_eq!(
            cache_key(on_a_fixed_clock, "sha256:1", "s"),
            "ed36444ffed499a8396e078e5ad88a08374ae0572c83e08e76b1f09fc8ea2c60"
        );
    }

    #[test]
    fn a_snippet_of_code_alone_keeps_the_id_it_had_before_stdin_and_clocks() {
        let jit: IniSettings = [("opcache.jit".to_owned(), "tracing".to_owned())].into();
        let (jit_and_defaults, defaults_and_jit) = (
            [jit.clone(), IniSettings::new()],
            [IniSettings::new(), jit.clone()],
        );
        let jit = [jit];
        assert_eq!(
            full_id("<?php echo 1;"),
            encode_id(&Sha256::digest(b"<?php echo 1;"))
        );
        let with = |stdin, clock| SnippetInput {
            stdin,
            clock,
            ..SnippetInput::from("<?php echo 1;")
        };
        let ids = [
            with("", Clock::Saved).full_id(),
            with("x", Clock::Saved).full_id(),
            with("", Clock::Real).full_id(),
            with("", Clock::At(0)).full_id(),
            with("", Clock::At(1)).full_id(),
            SnippetInput {
                show: Show::Opcodes,
                ..SnippetInput::from("<?php echo 1;")
            }
            .full_id(),
            SnippetInput {
                ini: &jit,
                ..SnippetInput::from("<?php echo 1;")
            }
            .full_id(),
            SnippetInput {
                ini: &jit_and_defaults,
                ..SnippetInput::from("<?php echo 1;")
            }
            .full_id(),
            SnippetInput {
                ini: &defaults_and_jit,
                ..SnippetInput::from("<?php echo 1;")
            }
            .full_id(),
        ];
        // The defaults as the only variant are the code alone.
        assert_eq!(
            SnippetInput {
                ini: &[IniSettings::new()],
                ..SnippetInput::from("<?php echo 1;")
            }
            .full_id(),
            ids[0]
        );
        for (n, id) in ids.iter().enumerate() {
            assert!(!ids[..n].contains(id), "{ids:?}");
        }
    }
}
