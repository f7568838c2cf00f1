//! Persistence: the connection pool, migrations, and one module of queries
//! per table. Handlers call these functions; SQL lives nowhere else.

pub mod api_tokens;
pub mod blobs;
pub mod entities;
pub mod files;
pub mod log;
pub mod migration;
pub mod rate_limits;
pub mod sessions;
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
    let mut options = ConnectOptions::new(url.expose().to_owned());
    options
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .max_connections(16)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|options| {
            options
                .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        });
    Database::connect(options).await.map_err(|error| {
        ConfigError::new(
            "DATABASE_URL",
            format!("cannot connect to {url}: {}", short(&error)),
        )
    })
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
