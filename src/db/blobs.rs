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
    let claim = Claim {
        hash,
        size,
        content: None,
    };
    claim_all(conn, &[claim]).await
}

/// One content to claim: with its bytes when it is kept in the database.
pub struct Claim<'a> {
    pub hash: &'a ContentHash,
    pub size: u64,
    pub content: Option<&'a [u8]>,
}

/// The most content bytes bound to one statement: well within MySQL's
/// smallest default packet (16 MiB on MariaDB).
const STATEMENT_BYTES: usize = 4 << 20;

/// [`claim`] for many contents at once, in as few statements as the
/// parameter and packet limits allow; a content given with its bytes gets
/// them in its row, unless its row has them already. `claims` must be in
/// hash order without repeats: rows are locked in that order, so two
/// uploads never wait on each other in a cycle.
pub async fn claim_all(conn: &impl ConnectionTrait, claims: &[Claim<'_>]) -> Result<(), DbErr> {
    debug_assert!(claims.windows(2).all(|pair| pair[0].hash < pair[1].hash));
    let backend = conn.get_database_backend();
    let mut rest = claims;
    while !rest.is_empty() {
        let mut bytes = 0;
        let count = rest
            .iter()
            .take(CHUNK)
            .take_while(|claim| {
                bytes += claim.content.map_or(0, <[u8]>::len);
                bytes <= STATEMENT_BYTES
            })
            .count()
            .max(1);
        let (chunk, next) = rest.split_at(count);
        rest = next;
        let rows = vec!["(?, ?, 0, ?)"; chunk.len()].join(", ");
        // A row that exists keeps what it has; one without the bytes (a
        // content in storage, or whose clean-up was cut short) gains them.
        let insert = match backend {
            DbBackend::MySql => format!(
                "INSERT INTO blobs (sha256, size, refcount, content) VALUES {rows} \
                 ON DUPLICATE KEY UPDATE content = COALESCE(content, VALUES(content))"
            ),
            _ => format!(
                "INSERT INTO blobs (sha256, size, refcount, content) VALUES {rows} \
                 ON CONFLICT (sha256) DO UPDATE SET content = excluded.content \
                 WHERE blobs.content IS NULL AND excluded.content IS NOT NULL"
            ),
        };
        let values = chunk.iter().flat_map(|claim| {
            [
                claim.hash.as_str().into(),
                (claim.size as i64).into(),
                sea_orm::Value::Bytes(claim.content.map(<[u8]>::to_vec)),
            ]
        });
        conn.execute_raw(raw(backend, &insert, values)).await?;
        if backend != DbBackend::Sqlite {
            let wanted = vec!["?"; chunk.len()].join(", ");
            let lock = format!(
                "SELECT sha256 FROM blobs WHERE sha256 IN ({wanted}) ORDER BY sha256 FOR UPDATE"
            );
            let values = chunk.iter().map(|claim| claim.hash.as_str().into());
            conn.query_all_raw(raw(backend, &lock, values)).await?;
        }
    }
    Ok(())
}

/// The content's bytes when it is kept in the database; `None` when it is
/// in storage (or unknown).
pub async fn inline_content(
    conn: &impl ConnectionTrait,
    hash: &ContentHash,
) -> Result<Option<Vec<u8>>, DbErr> {
    let backend = conn.get_database_backend();
    let sql = "SELECT content FROM blobs WHERE sha256 = ?";
    let Some(row) = conn
        .query_one_raw(raw(backend, sql, [hash.as_str().into()]))
        .await?
    else {
        return Ok(None);
    };
    row.try_get("", "content")
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
