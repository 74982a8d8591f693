//! The embedded backend: one SQLite file. WAL with synchronous=NORMAL: a write that returned
//! survives the process being killed at any moment (it is in the WAL, which the next open
//! replays); a power cut may roll back the last few writes but never leaves a damaged file. FULL
//! would fsync on every commit: ~10 ms on each result here, more than a pooled hello world takes
//! to run.

use super::{OpenError, StoreError};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::path::Path;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The WAL is cut back to this size after each checkpoint, so that the files on disk stay near
/// the database's own size.
const WAL_SIZE_LIMIT: u64 = 4 << 20;

/// Opens the file at `path`, creating it when it does not exist and `create` is true, and brings
/// its schema up to date. Checks the file's integrity first: a damaged file is an error, never
/// silently replaced.
pub(super) async fn open(path: &Path, create: bool) -> Result<SqlitePool, OpenError> {
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
            database: path.display().to_string(),
            source,
        },
    })?;
    Ok(pool)
}

/// The file's pages in use (the WAL comes on top, at most a few MiB).
pub(super) async fn database_bytes(pool: &SqlitePool) -> Result<u64, StoreError> {
    let pages: i64 = sqlx::query_scalar(
        "SELECT page_count - freelist_count FROM pragma_page_count(), pragma_freelist_count()",
    )
    .fetch_one(pool)
    .await?;
    let page_size: i64 = sqlx::query_scalar("PRAGMA page_size").fetch_one(pool).await?;
    Ok((pages * page_size).max(0) as u64)
}

/// Folds the WAL back into the main file and closes every connection.
pub(super) async fn close(pool: &SqlitePool) {
    if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(pool).await {
        tracing::warn!(%error, "cannot checkpoint the database");
    }
    pool.close().await;
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
            database: path.display().to_string(),
            source,
        },
    }
}
