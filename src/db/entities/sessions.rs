//! The `sessions` table: one row per signed-in browser or script.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    /// HMAC of the cookie's token: a copy of this table cannot be replayed as cookies.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub user_id: i32,
    /// Unix seconds, UTC.
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    /// The `User-Agent` it signed in with, cut short.
    pub device: Option<String>,
    /// The address it signed in from.
    pub client_address: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::UserId",
        to = "super::users::Column::Id",
        on_delete = "Cascade"
    )]
    User,
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
