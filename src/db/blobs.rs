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
    for chunk in statement_chunks(claims) {
        insert_claims(conn, chunk).await?;
        if backend != DbBackend::Sqlite {
            let (wanted, values) = in_list(chunk.iter().map(|claim| claim.hash));
            let lock = format!(
                "SELECT sha256 FROM blobs WHERE sha256 IN ({wanted}) ORDER BY sha256 FOR UPDATE"
            );
            conn.query_all_raw(raw(backend, &lock, values)).await?;
        }
    }
    Ok(())
}

/// Gives small contents their rows, with their bytes, counting no files,
/// as [`claim_all`] does but without holding the rows: each statement
/// commits by itself. Same order as [`claim_all`].
pub async fn write_contents(
    conn: &impl ConnectionTrait,
    claims: &[Claim<'_>],
) -> Result<(), DbErr> {
    debug_assert!(claims.windows(2).all(|pair| pair[0].hash < pair[1].hash));
    for chunk in statement_chunks(claims) {
        insert_claims(conn, chunk).await?;
    }
    Ok(())
}

/// `claims` cut into runs that fit one statement: at most [`CHUNK`] rows
/// and [`STATEMENT_BYTES`] of contents (or one larger content alone).
fn statement_chunks<'c, 'a>(claims: &'c [Claim<'a>]) -> impl Iterator<Item = &'c [Claim<'a>]> {
    let mut rest = claims;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
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
        Some(chunk)
    })
}

async fn insert_claims(conn: &impl ConnectionTrait, chunk: &[Claim<'_>]) -> Result<(), DbErr> {
    let backend = conn.get_database_backend();
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
    Ok(())
}

/// Those of `hashes` whose rows hold no bytes (contents in storage, or rows
/// made anew since their bytes were written).
pub async fn without_contents(
    conn: &impl ConnectionTrait,
    hashes: &[&ContentHash],
) -> Result<Vec<ContentHash>, DbErr> {
    let backend = conn.get_database_backend();
    let mut found = Vec::new();
    for chunk in hashes.chunks(CHUNK) {
        let (wanted, values) = in_list(chunk.iter().copied());
        let sql =
            format!("SELECT sha256 FROM blobs WHERE sha256 IN ({wanted}) AND content IS NULL");
        let rows = conn.query_all_raw(raw(backend, &sql, values)).await?;
        found.extend(parse_hashes(&rows));
    }
    Ok(found)
}

/// Deletes the rows of small contents among `hashes` that no file uses.
/// (Should such a content also be in storage, the object is left for
/// [`crate::vault::collect_orphans`].)
pub async fn delete_unused_contents(
    conn: &impl ConnectionTrait,
    hashes: &[&ContentHash],
) -> Result<(), DbErr> {
    let backend = conn.get_database_backend();
    for chunk in hashes.chunks(CHUNK) {
        let (wanted, values) = in_list(chunk.iter().copied());
        let sql = format!(
            "DELETE FROM blobs WHERE sha256 IN ({wanted}) AND refcount <= 0 AND content IS NOT NULL"
        );
        conn.execute_raw(raw(backend, &sql, values)).await?;
    }
    Ok(())
}

/// `?, ?, …` for an `IN` list of `hashes`, and their values.
fn in_list<'h>(hashes: impl Iterator<Item = &'h ContentHash>) -> (String, Vec<sea_orm::Value>) {
    let values: Vec<sea_orm::Value> = hashes.map(|hash| hash.as_str().into()).collect();
    (vec!["?"; values.len()].join(", "), values)
}

fn parse_hashes(rows: &[sea_orm::QueryResult]) -> impl Iterator<Item = ContentHash> + '_ {
    rows.iter()
        .filter_map(|row| row.try_get::<String>("", "sha256").ok())
        .filter_map(|hash| ContentHash::parse(hash.trim()))
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
    Ok(parse_hashes(&rows).collect())
}
