//! Persistence: the connection pool, migrations, and one module of queries
//! per table. Handlers call these functions; SQL lives nowhere else.

pub mod api_tokens;
pub mod audit;
pub mod blobs;
pub mod circuit;
pub mod entities;
pub mod files;
pub mod invites;
pub mod log;
pub mod migration;
pub mod object_uploads;
pub mod rate_limits;
pub mod sessions;
pub mod two_factor;
pub mod upload_keys;
pub mod users;

use std::time::Duration;

use anyhow::Context;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, Statement,
};
use sea_orm_migration::MigratorTrait;

use crate::config::{ConfigError, DatabaseUrl};
use migration::Migrator;

/// Opens the pool. Failure is reported against `DATABASE_URL`, with the
/// password masked.
pub async fn connect(url: &DatabaseUrl) -> Result<DatabaseConnection, ConfigError> {
    if let Some(file) = url.sqlite_file() {
        crate::owner_only::sqlite_database(&file).map_err(|error| {
            ConfigError::new(
                "DATABASE_URL",
                format!("cannot make {} owner-only: {error}", file.display()),
            )
        })?;
    }
    Database::connect(options(url.expose()))
        .await
        .map_err(|error| {
            ConfigError::new(
                "DATABASE_URL",
                format!("cannot connect to {url}: {}", short(&error)),
            )
        })
}

/// The pool's settings for `url`.
fn options(url: &str) -> ConnectOptions {
    let mut options = ConnectOptions::new(url.to_owned());
    // SQLite runs one writer at a time and each connection keeps a page cache
    // of its own: a few connections serve as fast and keep memory bounded.
    let sqlite = url.starts_with("sqlite:");
    options
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .max_connections(if sqlite { SQLITE_CONNECTIONS } else { 16 })
        // Connections idle for a minute close, and give their memory back.
        .idle_timeout(Duration::from_secs(60))
        .sqlx_logging(false)
        // A SQLite connection is a file: there is nothing to ping.
        .test_before_acquire(!sqlite)
        // A connection that comes back still inside a transaction (its
        // rollback failed, say on a full disk) would hold SQLite's write lock
        // and turn the next caller's transaction into a savepoint of that one,
        // never committed: close it instead, which rolls it back.
        .map_sqlx_sqlite_before_acquire(fresh)
        .map_sqlx_postgres_before_acquire(fresh)
        .map_sqlx_mysql_before_acquire(fresh)
        .map_sqlx_sqlite_opts(|options| {
            options
                .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                // Every commit's write-ahead log frames reach the disk before
                // it returns: with NORMAL, the last commits (an acknowledged
                // upload's rows) can vanish on power loss.
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                // At most this much cached per connection (KiB, negative in
                // SQLite's spelling): SQLITE_CONNECTIONS × 1 MiB in all.
                .pragma("cache_size", "-1024")
                // Checkpoints run in the background ([`checkpoint`]); a commit
                // checkpoints itself only past this backstop.
                .pragma("wal_autocheckpoint", WAL_BACKSTOP_PAGES.to_string())
                // A connection's thread hands rows over through a queue; at
                // sqlx's 50 it stopped twenty times in the sequencer's read
                // of a thousand waiting entries. Memory is not at stake:
                // every query here collects all of its rows anyway.
                .row_buffer_size(1024)
        });
    options
}

/// Pages of SQLite's write-ahead log (4 KiB each) past which a committing
/// request checkpoints the log itself, should the background fall behind.
const WAL_BACKSTOP_PAGES: u32 = 8192;

/// Copies SQLite's write-ahead log into the database, without waiting for
/// or blocking anyone (a passive checkpoint), so that commits need not: the
/// commit of a large upload would otherwise copy its megabytes a second
/// time before it returned. Once the log is all copied, the next commit
/// starts it afresh. SQLite only: the other databases manage their own logs.
pub async fn checkpoint(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.execute_unprepared("PRAGMA wal_checkpoint(PASSIVE)")
        .await
        .map(|_| ())
}

/// The SQLite pool's size.
const SQLITE_CONNECTIONS: u32 = 8;

/// Whether a pooled connection is outside any transaction, fit to hand out.
fn fresh<C: sea_orm::sqlx::Connection>(
    connection: &mut C,
    _: sea_orm::sqlx::pool::PoolConnectionMetadata,
) -> futures_util::future::BoxFuture<'_, Result<bool, sea_orm::sqlx::Error>> {
    let fresh = !connection.is_in_transaction();
    if !fresh {
        tracing::warn!("closing a database connection left inside a transaction");
    }
    Box::pin(std::future::ready(Ok(fresh)))
}

/// Applies pending migrations and returns how many ran. Concurrent starters
/// of a shared MySQL or PostgreSQL database take turns through an advisory lock.
pub async fn migrate(db: &DatabaseConnection, url: &DatabaseUrl) -> anyhow::Result<usize> {
    let lock = MigrationLock::acquire(db, url)
        .await
        .context("cannot take the migration lock")?;
    let outcome = async {
        let pending = Migrator::get_pending_migrations(db).await?.len();
        Migrator::up(db, None).await?;
        Ok::<_, DbErr>(pending)
    }
    .await;
    lock.release(db).await;
    outcome.context("cannot apply database migrations")
}

/// Rows per multi-row statement: well under every database's parameter limit.
pub(crate) const CHUNK: usize = 500;

/// A raw statement written with `?` placeholders, renumbered to `$1, $2, …`
/// for PostgreSQL. For the few statements whose SQL differs per database.
pub(crate) fn raw(
    backend: DbBackend,
    sql: &str,
    values: impl IntoIterator<Item = sea_orm::Value>,
) -> Statement {
    let sql = if backend == DbBackend::Postgres {
        let mut numbered = String::with_capacity(sql.len() + 8);
        let mut n = 0;
        for c in sql.chars() {
            if c == '?' {
                n += 1;
                numbered.push_str(&format!("${n}"));
            } else {
                numbered.push(c);
            }
        }
        numbered
    } else {
        sql.to_owned()
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// True when the database answers.
pub async fn ping(db: &DatabaseConnection) -> bool {
    db.ping().await.is_ok()
}

/// True when the error means the database could not be reached (as opposed to
/// a query it refused): the request should get 503, not 500.
pub fn is_unavailable(error: &DbErr) -> bool {
    matches!(error, DbErr::Conn(_) | DbErr::ConnectionAcquire(_))
        || matches!(
            error,
            DbErr::Exec(sea_orm::RuntimeErr::SqlxError(e)) | DbErr::Query(sea_orm::RuntimeErr::SqlxError(e))
                if matches!(**e, sea_orm::sqlx::Error::Io(_) | sea_orm::sqlx::Error::PoolTimedOut | sea_orm::sqlx::Error::PoolClosed)
        )
}

/// True when the database could not write because its disk (or a size limit
/// it was given) is full: SQLite's `SQLITE_FULL`, PostgreSQL's `disk_full`
/// class (`53100`), MariaDB/MySQL's "disk full" and "table is full"
/// (1021, 1114) and their failed writes with errno 28 (`ENOSPC`, error 3).
pub fn is_full(error: &DbErr) -> bool {
    let sqlx = match error {
        DbErr::Conn(sea_orm::RuntimeErr::SqlxError(e))
        | DbErr::Exec(sea_orm::RuntimeErr::SqlxError(e))
        | DbErr::Query(sea_orm::RuntimeErr::SqlxError(e)) => e,
        _ => return false,
    };
    let sea_orm::sqlx::Error::Database(database) = &**sqlx else {
        return false;
    };
    if let Some(mysql) = database.try_downcast_ref::<sea_orm::sqlx::mysql::MySqlDatabaseError>() {
        return match mysql.number() {
            1021 | 1114 => true,
            3 => mysql.message().contains("errno: 28"),
            _ => false,
        };
    }
    let Some(code) = database.code() else {
        return false;
    };
    if database
        .try_downcast_ref::<sea_orm::sqlx::postgres::PgDatabaseError>()
        .is_some()
    {
        return code == "53100";
    }
    // SQLite reports extended codes; the primary one is the low byte.
    code.parse::<i32>()
        .is_ok_and(|code| code & 0xff == SQLITE_FULL)
}

/// SQLite's primary result code for "database or disk is full".
const SQLITE_FULL: i32 = 13;

/// True when the error is a unique-constraint violation.
pub fn is_unique_violation(error: &DbErr) -> bool {
    matches!(
        error.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

/// A database error as one line without the driver's nesting.
fn short(error: &DbErr) -> String {
    let text = error.to_string();
    text.lines().next().unwrap_or_default().to_owned()
}

/// A server-wide lock held on its own connection for the length of a migration.
struct MigrationLock(Option<DatabaseConnection>);

const LOCK_NAME: &str = "securestamp.migrate";
/// `pg_advisory_lock` takes a number; this one is arbitrary but fixed.
const PG_LOCK_KEY: i64 = 0x5ecu64 as i64 * 1_000_003;

impl MigrationLock {
    async fn acquire(db: &DatabaseConnection, url: &DatabaseUrl) -> Result<Self, DbErr> {
        let backend = db.get_database_backend();
        let sql = match backend {
            DbBackend::MySql => format!("SELECT GET_LOCK('{LOCK_NAME}', 300)"),
            DbBackend::Postgres => format!("SELECT pg_advisory_lock({PG_LOCK_KEY})"),
            // SQLite serialises writers itself and is never shared across hosts.
            _ => return Ok(MigrationLock(None)),
        };
        // The pool's connections are shared; a session-level lock needs one of its own.
        let mut options = ConnectOptions::new(url.expose().to_owned());
        options.max_connections(1).sqlx_logging(false);
        let holder = Database::connect(options).await?;
        holder
            .execute_raw(Statement::from_string(backend, sql))
            .await?;
        Ok(MigrationLock(Some(holder)))
    }

    async fn release(self, db: &DatabaseConnection) {
        if let Some(holder) = self.0 {
            let sql = match db.get_database_backend() {
                DbBackend::MySql => format!("SELECT RELEASE_LOCK('{LOCK_NAME}')"),
                _ => format!("SELECT pg_advisory_unlock({PG_LOCK_KEY})"),
            };
            let backend = holder.get_database_backend();
            let _ = holder
                .execute_raw(Statement::from_string(backend, sql))
                .await;
            let _ = holder.close().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::TransactionTrait;

    /// A transaction that SQLite rolled back by itself, as it does when its
    /// log cannot grow on a full disk, leaves nothing behind on its
    /// connection: later transactions there commit for real. (Left in the
    /// pool, the connection's driver would count the transaction as open,
    /// run the next ones as savepoints, and a rolled-back savepoint would
    /// leave a transaction open that holds every later "commit" and the
    /// write lock, until a crash discards them all.)
    #[tokio::test]
    async fn a_transaction_after_one_sqlite_rolled_back_commits() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("db.sqlite3").display()
        );
        let mut one = options(&url);
        one.max_connections(1);
        let db = Database::connect(one).await.unwrap();
        db.execute_unprepared("CREATE TABLE t (b BLOB)")
            .await
            .unwrap();
        let txn = db.begin().await.unwrap();
        txn.execute_unprepared("INSERT INTO t VALUES (x'00')")
            .await
            .unwrap();
        txn.execute_unprepared("ROLLBACK").await.unwrap();
        drop(txn);
        let txn = db.begin().await.unwrap();
        txn.execute_unprepared("INSERT INTO t VALUES (x'00')")
            .await
            .unwrap();
        drop(txn);
        let txn = db.begin().await.unwrap();
        txn.execute_unprepared("INSERT INTO t VALUES (x'01')")
            .await
            .unwrap();
        txn.commit().await.unwrap();
        // Another connection sees it: it was committed.
        let other = Database::connect(options(&url)).await.unwrap();
        let row = other
            .query_one_raw(Statement::from_string(
                DbBackend::Sqlite,
                "SELECT COUNT(*) FROM t",
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.try_get_by_index::<i64>(0).unwrap(), 1);
    }

    /// A commit leaves its pages in the write-ahead log (below the
    /// backstop); a checkpoint copies all of them into the database.
    #[tokio::test]
    async fn a_checkpoint_copies_the_whole_write_ahead_log() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("db.sqlite3").display()
        );
        let db = Database::connect(options(&url)).await.unwrap();
        db.execute_unprepared("CREATE TABLE t (b BLOB)")
            .await
            .unwrap();
        db.execute_unprepared("INSERT INTO t VALUES (zeroblob(1000000))")
            .await
            .unwrap();
        let size = |name: &str| std::fs::metadata(dir.path().join(name)).unwrap().len();
        assert!(size("db.sqlite3-wal") > 1_000_000);
        assert!(size("db.sqlite3") < 100_000, "still only in the log");
        checkpoint(&db).await.unwrap();
        assert!(size("db.sqlite3") > 1_000_000, "copied into the database");
    }

    /// SQLite's own size limit fails a write exactly as a full disk does.
    #[tokio::test]
    async fn a_full_database_is_told_apart_from_other_errors() {
        let mut options = ConnectOptions::new("sqlite::memory:");
        options.max_connections(1).sqlx_logging(false);
        let db = Database::connect(options).await.unwrap();
        let db = &db;
        let run = |sql: String| async move { db.execute_unprepared(&sql).await };
        run("CREATE TABLE t (b BLOB)".into()).await.unwrap();
        let pages: i64 = db
            .query_one_raw(Statement::from_string(
                DbBackend::Sqlite,
                "PRAGMA page_count",
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get_by_index(0)
            .unwrap();
        run(format!("PRAGMA max_page_count = {}", pages + 2))
            .await
            .unwrap();
        let full = run("INSERT INTO t VALUES (zeroblob(1000000))".into())
            .await
            .unwrap_err();
        assert!(is_full(&full), "{full}");
        assert!(!is_unavailable(&full));
        let other = run("INSERT INTO missing VALUES (1)".into())
            .await
            .unwrap_err();
        assert!(!is_full(&other), "{other}");
        // Once there is room again, the same connection writes.
        run("PRAGMA max_page_count = 100000".into()).await.unwrap();
        run("INSERT INTO t VALUES (zeroblob(1000000))".into())
            .await
            .unwrap();
    }
}
