//! Queries on `api_tokens`.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait,
    NotSet, QueryFilter, QueryOrder,
};

use super::entities::api_tokens::{self, Entity as ApiTokens};
use super::entities::users;
use super::users::User;

pub use api_tokens::Model as ApiToken;

pub async fn create(
    db: &DatabaseConnection,
    user_id: i32,
    name: &str,
    token_hash: String,
    now: i64,
) -> Result<ApiToken, DbErr> {
    api_tokens::ActiveModel {
        id: NotSet,
        user_id: Set(user_id),
        name: Set(name.to_owned()),
        token_hash: Set(token_hash),
        created_at: Set(now),
        last_used_at: Set(None),
    }
    .insert(db)
    .await
}

/// The token with this hash and its owner.
pub async fn find_by_hash(
    db: &DatabaseConnection,
    token_hash: &str,
) -> Result<Option<(ApiToken, User)>, DbErr> {
    let found = ApiTokens::find()
        .filter(api_tokens::Column::TokenHash.eq(token_hash))
        .find_also_related(users::Entity)
        .one(db)
        .await?;
    Ok(found.and_then(|(token, user)| user.map(|user| (token, user))))
}

pub async fn list(db: &DatabaseConnection, user_id: i32) -> Result<Vec<ApiToken>, DbErr> {
    ApiTokens::find()
        .filter(api_tokens::Column::UserId.eq(user_id))
        .order_by_desc(api_tokens::Column::Id)
        .all(db)
        .await
}

pub async fn touch(db: &DatabaseConnection, id: i32, now: i64) -> Result<(), DbErr> {
    ApiTokens::update_many()
        .col_expr(api_tokens::Column::LastUsedAt, Expr::value(now))
        .filter(api_tokens::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Revokes (deletes) the user's token; `false` if they have no such token.
pub async fn delete(db: &DatabaseConnection, user_id: i32, id: i32) -> Result<bool, DbErr> {
    let deleted = ApiTokens::delete_many()
        .filter(api_tokens::Column::Id.eq(id))
        .filter(api_tokens::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected == 1)
}
