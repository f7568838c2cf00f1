//! Queries on `files`. Every query is scoped to one owner: another user's
//! file is indistinguishable from one that does not exist.

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, DbErr,
    EntityTrait, NotSet, QueryFilter, QueryOrder, QuerySelect, Select,
};

use sea_orm::sea_query::Expr;

use super::entities::files::{self, Entity as Files};
use crate::domain::{ContentHash, FileId, FileName};

pub use files::Model as File;

/// What a new row records.
pub struct NewFile<'a> {
    pub user_id: i32,
    pub name: &'a FileName,
    pub hash: &'a ContentHash,
    pub size: i64,
    pub content_type: &'a str,
    pub file_path: String,
    pub uploaded_at: chrono::NaiveDateTime,
    pub timestamp_reply: Vec<u8>,
    pub openpgp_signature: String,
    pub log_entry_id: i64,
}

/// A row the original application wrote: no hash, no proofs.
#[derive(Clone, Debug, sea_orm::FromQueryResult)]
pub struct LegacyFile {
    pub id: i32,
    pub user_id: i32,
    /// The name it stored the file under.
    pub filename: String,
    pub original_filename: String,
    /// Where it stored the file (as it saw the path).
    pub file_path: String,
    pub uploaded_at: Option<chrono::NaiveDateTime>,
}

/// The first row of the original application's after `after`, by id.
pub async fn next_legacy(
    conn: &impl ConnectionTrait,
    after: i32,
) -> Result<Option<LegacyFile>, DbErr> {
    Files::find()
        .select_only()
        .columns([
            files::Column::Id,
            files::Column::UserId,
            files::Column::Filename,
            files::Column::OriginalFilename,
            files::Column::FilePath,
            files::Column::UploadedAt,
        ])
        .filter(files::Column::Sha256.is_null())
        .filter(files::Column::Id.gt(after))
        .order_by_asc(files::Column::Id)
        .into_model::<LegacyFile>()
        .one(conn)
        .await
}

/// Turns the original application's row `legacy` into an imported file with
/// `new`'s content and proofs, keeping its id, owner and name. `false` when
/// another run imported it first.
pub async fn adopt(
    conn: &impl ConnectionTrait,
    legacy: &LegacyFile,
    new: NewFile<'_>,
) -> Result<bool, DbErr> {
    let updated = Files::update_many()
        .col_expr(files::Column::Filename, Expr::value(new.hash.as_str()))
        .col_expr(files::Column::FilePath, Expr::value(new.file_path))
        .col_expr(files::Column::Sha256, Expr::value(new.hash.as_str()))
        .col_expr(files::Column::Size, Expr::value(new.size))
        .col_expr(files::Column::ContentType, Expr::value(new.content_type))
        .col_expr(files::Column::UploadedAt, Expr::value(new.uploaded_at))
        .col_expr(
            files::Column::TimestampReply,
            Expr::value(new.timestamp_reply),
        )
        .col_expr(
            files::Column::OpenpgpSignature,
            Expr::value(new.openpgp_signature),
        )
        .col_expr(files::Column::LogEntryId, Expr::value(new.log_entry_id))
        .col_expr(files::Column::Imported, Expr::value(true))
        .col_expr(
            files::Column::LegacyUploadedAt,
            Expr::value(legacy.uploaded_at),
        )
        .filter(files::Column::Id.eq(legacy.id))
        .filter(files::Column::Sha256.is_null())
        .exec(conn)
        .await?;
    Ok(updated.rows_affected == 1)
}

pub async fn insert(conn: &impl ConnectionTrait, new: NewFile<'_>) -> Result<File, DbErr> {
    active_model(new).insert(conn).await
}

/// Inserts every row and returns them, in the same order: in as few
/// statements as the parameter limits allow where the database can return
/// what it inserted, one (and a read back) each on MySQL.
pub async fn insert_all(
    conn: &impl ConnectionTrait,
    new: Vec<NewFile<'_>>,
) -> Result<Vec<File>, DbErr> {
    if !conn.support_returning() {
        let mut rows = Vec::with_capacity(new.len());
        for new in new {
            rows.push(insert(conn, new).await?);
        }
        return Ok(rows);
    }
    // Each new row has its own log entry, which matches it to its place.
    let order: Vec<i64> = new.iter().map(|new| new.log_entry_id).collect();
    let mut rows = Vec::with_capacity(new.len());
    let mut new = new.into_iter().peekable();
    while new.peek().is_some() {
        // Each row binds 13 values; this stays within every database's limit.
        let chunk: Vec<files::ActiveModel> =
            new.by_ref().take(super::CHUNK).map(active_model).collect();
        rows.extend(Files::insert_many(chunk).exec_with_returning(conn).await?);
    }
    let mut by_entry: std::collections::HashMap<Option<i64>, File> = rows
        .into_iter()
        .map(|row| (row.log_entry_id, row))
        .collect();
    order
        .into_iter()
        .map(|entry| {
            by_entry
                .remove(&Some(entry))
                .ok_or_else(|| DbErr::Custom("an inserted file was not returned".into()))
        })
        .collect()
}

fn active_model(new: NewFile<'_>) -> files::ActiveModel {
    files::ActiveModel {
        id: NotSet,
        filename: Set(new.hash.as_str().to_owned()),
        original_filename: Set(new.name.as_str().to_owned()),
        user_id: Set(new.user_id),
        uploaded_at: Set(new.uploaded_at),
        file_path: Set(new.file_path),
        sha256: Set(new.hash.as_str().to_owned()),
        size: Set(new.size),
        content_type: Set(new.content_type.to_owned()),
        timestamp_reply: Set(new.timestamp_reply),
        openpgp_signature: Set(new.openpgp_signature),
        log_entry_id: Set(Some(new.log_entry_id)),
        imported: Set(false),
        legacy_uploaded_at: Set(None),
    }
}

/// The owner's files. Rows without a hash or proofs (the original
/// application's) are never selected: a file is only ever listed with its proofs.
fn owned_by(user_id: i32) -> Select<Files> {
    Files::find()
        .filter(files::Column::UserId.eq(user_id))
        .filter(files::Column::Sha256.is_not_null())
        .filter(files::Column::TimestampReply.is_not_null())
        .filter(files::Column::OpenpgpSignature.is_not_null())
}

/// One page, newest first: the files with ids below `before` (keyset
/// pagination, so a deep page costs what the first costs).
pub async fn page(
    conn: &impl ConnectionTrait,
    user_id: i32,
    before: Option<FileId>,
    limit: u64,
) -> Result<Vec<File>, DbErr> {
    let mut query = owned_by(user_id);
    if let Some(before) = before {
        query = query.filter(files::Column::Id.lt(before.0));
    }
    query
        .order_by_desc(files::Column::Id)
        .limit(limit)
        .all(conn)
        .await
}

pub async fn find(
    conn: &impl ConnectionTrait,
    user_id: i32,
    id: FileId,
) -> Result<Option<File>, DbErr> {
    owned_by(user_id)
        .filter(files::Column::Id.eq(id.0))
        .one(conn)
        .await
}

/// Those of `ids` the user owns, in the order they were stored.
pub async fn find_all(
    conn: &impl ConnectionTrait,
    user_id: i32,
    ids: Vec<i32>,
) -> Result<Vec<File>, DbErr> {
    owned_by(user_id)
        .filter(files::Column::Id.is_in(ids))
        .order_by_asc(files::Column::Id)
        .all(conn)
        .await
}

/// Deletes the row and returns it, if the user owns it.
pub async fn delete(
    conn: &impl ConnectionTrait,
    user_id: i32,
    id: FileId,
) -> Result<Option<File>, DbErr> {
    let Some(file) = find(conn, user_id, id).await? else {
        return Ok(None);
    };
    let deleted = Files::delete_many()
        .filter(files::Column::Id.eq(id.0))
        .filter(files::Column::UserId.eq(user_id))
        .exec(conn)
        .await?;
    Ok((deleted.rows_affected == 1).then_some(file))
}

/// What the user's files take, counting shared content once per file.
pub async fn usage(conn: &impl ConnectionTrait, user_id: i32) -> Result<Usage, DbErr> {
    let backend = conn.get_database_backend();
    // SUM of a BIGINT is a DECIMAL/NUMERIC on MySQL and PostgreSQL.
    let integer = if backend == DbBackend::MySql {
        "SIGNED"
    } else {
        "BIGINT"
    };
    let sql = format!(
        "SELECT CAST(COALESCE(SUM(size), 0) AS {integer}) AS total, \
         CAST(COUNT(*) AS {integer}) AS files \
         FROM files WHERE user_id = ? AND sha256 IS NOT NULL"
    );
    let row = conn
        .query_one_raw(super::raw(backend, &sql, [user_id.into()]))
        .await?;
    let Some(row) = row else {
        return Ok(Usage::default());
    };
    let count = |column: &str| {
        row.try_get::<i64>("", column)
            .map(|n| u64::try_from(n).unwrap_or(0))
    };
    Ok(Usage {
        bytes: count("total")?,
        files: count("files")?,
    })
}

/// What a user's stored files take: their contents' bytes, and how many
/// there are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub bytes: u64,
    pub files: u64,
}

/// What one file counts against a quota besides its content: its row, with
/// the time-stamp token, signature and log entry it holds, takes about this
/// much, so that a flood of empty files is not free.
pub const FILE_ROW_COST: u64 = 4096;

impl Usage {
    /// What these files count against a quota.
    pub fn charged(&self) -> u64 {
        self.bytes
            .saturating_add(self.files.saturating_mul(FILE_ROW_COST))
    }
}

/// Files with proofs but no log entry (stored before the log existed): their
/// ids and RFC 3161 replies, up to `limit` with ids above `after`.
pub async fn unlogged(
    conn: &impl ConnectionTrait,
    after: i32,
    limit: u32,
) -> Result<Vec<(i32, Vec<u8>)>, DbErr> {
    let backend = conn.get_database_backend();
    let sql = format!(
        "SELECT id, timestamp_reply FROM files WHERE id > ? \
         AND log_entry_id IS NULL AND timestamp_reply IS NOT NULL ORDER BY id LIMIT {limit}"
    );
    conn.query_all_raw(super::raw(backend, &sql, [after.into()]))
        .await?
        .iter()
        .map(|row| Ok((row.try_get("", "id")?, row.try_get("", "timestamp_reply")?)))
        .collect()
}

/// Links a file to its log entry; `false` if another process linked it first.
pub async fn link_log_entry(
    conn: &impl ConnectionTrait,
    id: i32,
    entry_id: i64,
) -> Result<bool, DbErr> {
    let backend = conn.get_database_backend();
    let sql = "UPDATE files SET log_entry_id = ? WHERE id = ? AND log_entry_id IS NULL";
    let done = conn
        .execute_raw(super::raw(backend, sql, [entry_id.into(), id.into()]))
        .await?;
    Ok(done.rows_affected() == 1)
}
