//! `upload_keys`: which files an upload with an `Idempotency-Key` stored, per
//! user. The row is written in the transaction that stores the files, so
//! that the files and the record of them exist together or not at all.

use sea_orm::{ConnectionTrait, DbErr};

use super::raw;

/// The ids of the files stored by `user_id`'s upload with this key, if it was
/// stored at or after `since` (an older one is forgotten).
pub async fn find(
    conn: &impl ConnectionTrait,
    user_id: i32,
    key_hash: &str,
    since: i64,
) -> Result<Option<Vec<i32>>, DbErr> {
    let backend = conn.get_database_backend();
    let row = conn
        .query_one_raw(raw(
            backend,
            "SELECT file_ids FROM upload_keys WHERE user_id = ? AND key_hash = ? AND created_at >= ?",
            [user_id.into(), key_hash.into(), since.into()],
        ))
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let ids: String = row.try_get("", "file_ids")?;
    ids.split(',')
        .map(|id| {
            id.parse()
                .map_err(|_| DbErr::Custom(format!("upload_keys holds a bad file id `{id}`")))
        })
        .collect::<Result<_, _>>()
        .map(Some)
}

/// Records that the upload with this key stored `file_ids`, replacing a
/// record of the key older than `since`. Fails with a unique-constraint
/// violation when another request with the key got there first.
pub async fn insert(
    conn: &impl ConnectionTrait,
    user_id: i32,
    key_hash: &str,
    file_ids: &[i32],
    now: i64,
    since: i64,
) -> Result<(), DbErr> {
    let backend = conn.get_database_backend();
    conn.execute_raw(raw(
        backend,
        "DELETE FROM upload_keys WHERE user_id = ? AND key_hash = ? AND created_at < ?",
        [user_id.into(), key_hash.into(), since.into()],
    ))
    .await?;
    let ids = file_ids
        .iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    conn.execute_raw(raw(
        backend,
        "INSERT INTO upload_keys (user_id, key_hash, file_ids, created_at) VALUES (?, ?, ?, ?)",
        [user_id.into(), key_hash.into(), ids.into(), now.into()],
    ))
    .await?;
    Ok(())
}

/// Forgets keys stored before `cutoff`; returns how many.
pub async fn delete_before(conn: &impl ConnectionTrait, cutoff: i64) -> Result<u64, DbErr> {
    let backend = conn.get_database_backend();
    let deleted = conn
        .execute_raw(raw(
            backend,
            "DELETE FROM upload_keys WHERE created_at < ?",
            [cutoff.into()],
        ))
        .await?;
    Ok(deleted.rows_affected())
}
