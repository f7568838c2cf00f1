//! `object_uploads`: what uploads have begun in object storage and not yet
//! finished with ([`crate::storage`]'s bucket). A live upload touches its row
//! now and then; a row left untouched belongs to a process that died, and the
//! sweeper aborts or deletes what it names.

use sea_orm::{ConnectionTrait, DbErr};

use super::raw;

/// One begun upload: a multipart upload while `upload_id` is set, else a
/// complete staged object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Begun {
    pub object_key: String,
    pub upload_id: Option<String>,
}

pub async fn insert(conn: &impl ConnectionTrait, begun: &Begun, now: i64) -> Result<(), DbErr> {
    let backend = conn.get_database_backend();
    conn.execute_raw(raw(
        backend,
        "INSERT INTO object_uploads (object_key, upload_id, touched_at) VALUES (?, ?, ?)",
        [
            begun.object_key.clone().into(),
            begun.upload_id.clone().into(),
            now.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Says the upload is alive; `completed` once its multipart upload became an object.
pub async fn touch(
    conn: &impl ConnectionTrait,
    object_key: &str,
    completed: bool,
    now: i64,
) -> Result<(), DbErr> {
    let backend = conn.get_database_backend();
    let sql = match completed {
        true => "UPDATE object_uploads SET upload_id = NULL, touched_at = ? WHERE object_key = ?",
        false => "UPDATE object_uploads SET touched_at = ? WHERE object_key = ?",
    };
    conn.execute_raw(raw(backend, sql, [now.into(), object_key.into()]))
        .await?;
    Ok(())
}

/// Says the upload or staged object is alive, whatever its state.
pub async fn touch_only(
    conn: &impl ConnectionTrait,
    object_key: &str,
    now: i64,
) -> Result<(), DbErr> {
    let backend = conn.get_database_backend();
    conn.execute_raw(raw(
        backend,
        "UPDATE object_uploads SET touched_at = ? WHERE object_key = ?",
        [now.into(), object_key.into()],
    ))
    .await?;
    Ok(())
}

/// Forgets an upload whose traces are gone.
pub async fn forget(conn: &impl ConnectionTrait, object_key: &str) -> Result<(), DbErr> {
    let backend = conn.get_database_backend();
    conn.execute_raw(raw(
        backend,
        "DELETE FROM object_uploads WHERE object_key = ?",
        [object_key.into()],
    ))
    .await?;
    Ok(())
}

/// Up to `limit` uploads untouched since `cutoff`, oldest first.
pub async fn untouched_since(
    conn: &impl ConnectionTrait,
    cutoff: i64,
    limit: u32,
) -> Result<Vec<Begun>, DbErr> {
    let backend = conn.get_database_backend();
    let rows = conn
        .query_all_raw(raw(
            backend,
            &format!(
                "SELECT object_key, upload_id FROM object_uploads WHERE touched_at < ? \
                 ORDER BY touched_at LIMIT {limit}"
            ),
            [cutoff.into()],
        ))
        .await?;
    rows.iter()
        .map(|row| {
            Ok(Begun {
                object_key: row.try_get("", "object_key")?,
                upload_id: row.try_get("", "upload_id")?,
            })
        })
        .collect()
}
