//! Queries on `blobs`: one row per stored content, counting the files that use it.
//!
//! The row is also the content's lock. Whoever places or deletes the object on
//! disk does it inside a transaction holding that row (`FOR UPDATE` on MySQL
//! and PostgreSQL; SQLite has one writer at a time), so an upload can never
//! reuse an object that a concurrent clean-up is deleting.

use sea_orm::{ConnectionTrait, DbBackend, DbErr};

use super::{CHUNK, raw};
use crate::domain::ContentHash;

/// Makes sure the content has a row and locks it for the transaction.
pub async fn claim(
    conn: &impl ConnectionTrait,
    hash: &ContentHash,
    size: u64,
) -> Result<(), DbErr> {
    claim_all(conn, &[(hash, size)]).await
}

/// [`claim`] for many contents at once, in as few statements as the
/// parameter limits allow. `contents` must be in hash order without
/// repeats: rows are locked in that order, so two uploads never wait on each
/// other in a cycle.
pub async fn claim_all(
    conn: &impl ConnectionTrait,
    contents: &[(&ContentHash, u64)],
) -> Result<(), DbErr> {
    debug_assert!(contents.windows(2).all(|pair| pair[0].0 < pair[1].0));
    let backend = conn.get_database_backend();
    for chunk in contents.chunks(CHUNK) {
        let rows = vec!["(?, ?, 0)"; chunk.len()].join(", ");
        let insert = match backend {
            DbBackend::MySql => {
                format!("INSERT IGNORE INTO blobs (sha256, size, refcount) VALUES {rows}")
            }
            _ => format!(
                "INSERT INTO blobs (sha256, size, refcount) VALUES {rows} ON CONFLICT (sha256) DO NOTHING"
            ),
        };
        let values = chunk
            .iter()
            .flat_map(|(hash, size)| [hash.as_str().into(), (*size as i64).into()]);
        conn.execute_raw(raw(backend, &insert, values)).await?;
        if backend != DbBackend::Sqlite {
            let wanted = vec!["?"; chunk.len()].join(", ");
            let lock = format!(
                "SELECT sha256 FROM blobs WHERE sha256 IN ({wanted}) ORDER BY sha256 FOR UPDATE"
            );
            let values = chunk.iter().map(|(hash, _)| hash.as_str().into());
            conn.query_all_raw(raw(backend, &lock, values)).await?;
        }
    }
    Ok(())
}

/// `uses` more files use each content.
pub async fn add_references(
    conn: &impl ConnectionTrait,
    uses: &[(&ContentHash, u32)],
) -> Result<(), DbErr> {
    let backend = conn.get_database_backend();
    for chunk in uses.chunks(CHUNK) {
        let cases = " WHEN ? THEN ?".repeat(chunk.len());
        let wanted = vec!["?"; chunk.len()].join(", ");
        let sql = format!(
            "UPDATE blobs SET refcount = refcount + CASE sha256{cases} END WHERE sha256 IN ({wanted})"
        );
        let values: Vec<sea_orm::Value> = chunk
            .iter()
            .flat_map(|(hash, count)| [hash.as_str().into(), i64::from(*count).into()])
            .chain(chunk.iter().map(|(hash, _)| hash.as_str().into()))
            .collect();
        conn.execute_raw(raw(backend, &sql, values)).await?;
    }
    Ok(())
}

/// One file fewer uses the content.
pub async fn release(conn: &impl ConnectionTrait, hash: &ContentHash) -> Result<(), DbErr> {
    let backend = conn.get_database_backend();
    let sql = "UPDATE blobs SET refcount = refcount - 1 WHERE sha256 = ?";
    conn.execute_raw(raw(backend, sql, [hash.as_str().into()]))
        .await?;
    Ok(())
}

/// Deletes the row if no file uses the content; `true` when it did, and the
/// transaction then holds the row until it commits.
pub async fn delete_if_unused(
    conn: &impl ConnectionTrait,
    hash: &ContentHash,
) -> Result<bool, DbErr> {
    let backend = conn.get_database_backend();
    let sql = "DELETE FROM blobs WHERE sha256 = ? AND refcount <= 0";
    Ok(conn
        .execute_raw(raw(backend, sql, [hash.as_str().into()]))
        .await?
        .rows_affected()
        == 1)
}

/// Contents no file uses any more (left by an interrupted clean-up).
pub async fn unused(conn: &impl ConnectionTrait, limit: u32) -> Result<Vec<ContentHash>, DbErr> {
    let backend = conn.get_database_backend();
    let sql = format!("SELECT sha256 FROM blobs WHERE refcount <= 0 LIMIT {limit}");
    let rows = conn.query_all_raw(raw(backend, &sql, [])).await?;
    Ok(rows
        .iter()
        .filter_map(|row| row.try_get::<String>("", "sha256").ok())
        .filter_map(|hash| ContentHash::parse(hash.trim()))
        .collect())
}
