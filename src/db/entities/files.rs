//! The `files` table: one row per file a user owns.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "files")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// The stored name: the content's SHA-256, never the user's name.
    pub filename: String,
    /// The name it was uploaded under, for display only.
    pub original_filename: String,
    pub user_id: i32,
    /// UTC.
    pub uploaded_at: DateTime,
    /// Where the content lies in storage, relative to its root; a content
    /// of up to [`crate::storage::INLINE_MAX`] bytes is kept in its `blobs` row instead.
    pub file_path: String,
    /// Lower-case hex. NULL only on rows of the original application, which are never selected.
    pub sha256: String,
    pub size: i64,
    pub content_type: String,
    /// The RFC 3161 `TimeStampResp` (DER) whose token time-stamps `sha256`.
    pub timestamp_reply: Vec<u8>,
    /// The OpenPGP detached signature over the content, ASCII-armored.
    pub openpgp_signature: String,
    /// The transparency log's entry for the stamp (`log_entries.id`).
    pub log_entry_id: Option<i64>,
    /// Moved in from the original application: stamped when imported.
    pub imported: bool,
    /// When the original application says it was uploaded (UTC); no proof covers it.
    pub legacy_uploaded_at: Option<DateTime>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
