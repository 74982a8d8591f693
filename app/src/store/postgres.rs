//! The shared backend: a PostgreSQL database, for several instances behind a load balancer. The
//! database must exist; its tables are created and migrated at start-up, by whichever instance
//! comes first (sqlx's migrator takes an advisory lock, so two starting at once do not race).

use super::{OpenError, StoreError};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::Connection;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Connections per instance: runs save a result each, so a few are busy at once under load.
const MAX_CONNECTIONS: u32 = 8;

/// A database that does not answer within this stops the start, or fails a request.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Connects to the database at `url` and brings its schema up to date. `shown` is the URL
/// without its password, for messages.
pub(super) async fn open(url: &str, shown: &str) -> Result<PgPool, OpenError> {
    let open_error = |source: sqlx::Error| OpenError::Open {
        database: shown.to_owned(),
        source,
    };
    let options: PgConnectOptions = url.parse().map_err(open_error)?;
    let options = options.application_name("evalgrid");
    // One connection first, for its own error: the pool retries a refused connection until its
    // timeout and then says only that it timed out.
    let first = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options))
        .await
        .map_err(|_| open_error(sqlx::Error::PoolTimedOut))?
        .map_err(open_error)?;
    first.close().await.map_err(open_error)?;
    let pool = PgPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(CONNECT_TIMEOUT)
        .connect_with(options)
        .await
        .map_err(open_error)?;
    MIGRATOR.run(&pool).await.map_err(|source| match source {
        sqlx::migrate::MigrateError::Execute(error) => open_error(error),
        source => OpenError::Schema {
            database: shown.to_owned(),
            source,
        },
    })?;
    Ok(pool)
}

/// The room evalgrid's own tables take, with their indexes (the database may hold others').
pub(super) async fn database_bytes(pool: &PgPool) -> Result<u64, StoreError> {
    let bytes: i64 = sqlx::query_scalar(
        "SELECT (pg_total_relation_size('snippets') + pg_total_relation_size('snippet_results')
                 + pg_total_relation_size('cached_results') + pg_total_relation_size('cache_size')
                 + pg_total_relation_size('images_seen'))::BIGINT",
    )
    .fetch_one(pool)
    .await?;
    Ok(bytes.max(0) as u64)
}

/// Takes the lock that orders snippet saves across every instance, until the transaction ends:
/// an id is the shortest free prefix of the code's hash, so two saves must not pick at once.
pub(super) async fn lock_saves(transaction: &mut PgConnection) -> Result<(), StoreError> {
    /// Any constant: the lock's name in `pg_locks` ("evalgrid" in ASCII).
    const SAVE_LOCK: i64 = 0x6576_616c_6772_6964;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(SAVE_LOCK)
        .execute(transaction)
        .await?;
    Ok(())
}
