//! Fixed-window counters in `rate_limits`, so that every process behind a load
//! balancer counts against the same limit.
//!
//! The upsert differs per database in spelling only: `ON CONFLICT … excluded`
//! on SQLite and PostgreSQL, `ON DUPLICATE KEY UPDATE … VALUES()` on MySQL
//! (whose assignments run left to right, so `hits` is computed first).

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr};

use super::raw;

/// Counts one hit in `bucket` and returns the hits in the current window,
/// this one included. `window` is in seconds; windows start at multiples of it.
pub async fn hit(
    db: &impl ConnectionTrait,
    bucket: &str,
    now: i64,
    window: i64,
) -> Result<i64, DbErr> {
    let backend = db.get_database_backend();
    let start = window_start(now, window);
    let upsert = match backend {
        DbBackend::MySql => {
            "INSERT INTO rate_limits (bucket, window_start, hits) VALUES (?, ?, 1) \
             ON DUPLICATE KEY UPDATE hits = IF(window_start = VALUES(window_start), hits + 1, 1), \
             window_start = VALUES(window_start)"
        }
        _ => {
            "INSERT INTO rate_limits (bucket, window_start, hits) VALUES (?, ?, 1) \
             ON CONFLICT (bucket) DO UPDATE SET \
             hits = CASE WHEN rate_limits.window_start = excluded.window_start THEN rate_limits.hits + 1 ELSE 1 END, \
             window_start = excluded.window_start"
        }
    };
    db.execute_raw(raw(backend, upsert, [bucket.into(), start.into()]))
        .await?;
    hits(db, bucket, now, window).await
}

/// Takes back one hit counted in the current window (an attempt refused or
/// never made).
pub async fn unhit(
    db: &impl ConnectionTrait,
    bucket: &str,
    now: i64,
    window: i64,
) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let start = window_start(now, window);
    let update = "UPDATE rate_limits SET hits = hits - 1 \
                  WHERE bucket = ? AND window_start = ? AND hits > 0";
    db.execute_raw(raw(backend, update, [bucket.into(), start.into()]))
        .await?;
    Ok(())
}

/// The hits in the current window, without counting one.
pub async fn hits(
    db: &impl ConnectionTrait,
    bucket: &str,
    now: i64,
    window: i64,
) -> Result<i64, DbErr> {
    let backend = db.get_database_backend();
    let start = window_start(now, window);
    let select = "SELECT hits FROM rate_limits WHERE bucket = ? AND window_start = ?";
    let row = db
        .query_one_raw(raw(backend, select, [bucket.into(), start.into()]))
        .await?;
    row.map_or(Ok(0), |row| row.try_get::<i64>("", "hits"))
}

/// Forgets a bucket (a user signed in successfully).
pub async fn clear(db: &impl ConnectionTrait, bucket: &str) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    db.execute_raw(raw(
        backend,
        "DELETE FROM rate_limits WHERE bucket = ?",
        [bucket.into()],
    ))
    .await?;
    Ok(())
}

/// Removes rows whose window started before `cutoff`.
pub async fn delete_stale(db: &DatabaseConnection, cutoff: i64) -> Result<u64, DbErr> {
    let backend = db.get_database_backend();
    let deleted = db
        .execute_raw(raw(
            backend,
            "DELETE FROM rate_limits WHERE window_start < ?",
            [cutoff.into()],
        ))
        .await?;
    Ok(deleted.rows_affected())
}

/// Windows start at multiples of their length.
fn window_start(now: i64, window: i64) -> i64 {
    now - now.rem_euclid(window)
}
