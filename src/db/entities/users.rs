//! The `users` table: the original spec's columns plus the case-folded keys.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub username: String,
    pub email: String,
    pub password_hash: String,
    /// UTC.
    pub created_at: DateTime,
    /// `username` case-folded; unique. Empty only on rows that predate it until backfilled.
    pub username_key: Option<String>,
    /// `email` case-folded; unique.
    pub email_key: Option<String>,
    /// When an operator disabled the account (Unix seconds); it cannot sign in.
    pub disabled_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::sessions::Entity")]
    Sessions,
}

impl Related<super::sessions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Sessions.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
