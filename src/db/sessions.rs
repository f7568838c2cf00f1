//! Queries on `sessions`. Times are Unix seconds.

use std::time::Duration;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, DatabaseConnection, DbErr,
    EntityTrait, QueryFilter,
};

use super::entities::sessions::{self, Entity as Sessions};
use super::entities::users;
use super::users::User;
use crate::time::secs;

/// Stores a new session.
pub async fn create(
    db: &DatabaseConnection,
    id: String,
    user_id: i32,
    now: i64,
    expires_at: i64,
    client: &crate::web::client::ClientInfo,
) -> Result<(), DbErr> {
    sessions::ActiveModel {
        id: Set(id),
        user_id: Set(user_id),
        created_at: Set(now),
        last_seen_at: Set(now),
        expires_at: Set(expires_at),
        device: Set(client.device.clone()),
        client_address: Set(client.address_text()),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// When a session last seen at or before this instant has been idle too long.
fn idle_cutoff(now: i64, idle_timeout: Duration) -> i64 {
    now.saturating_sub(secs(idle_timeout))
}

/// The session and its user, if the session exists and has neither expired
/// nor been idle for `idle_timeout`.
pub async fn find_live(
    db: &DatabaseConnection,
    id: &str,
    now: i64,
    idle_timeout: Duration,
) -> Result<Option<(sessions::Model, User)>, DbErr> {
    let idle_cutoff = idle_cutoff(now, idle_timeout);
    let found = Sessions::find_by_id(id.to_owned())
        .filter(sessions::Column::ExpiresAt.gt(now))
        .filter(sessions::Column::LastSeenAt.gt(idle_cutoff))
        .find_also_related(users::Entity)
        .one(db)
        .await?;
    Ok(found.and_then(|(session, user)| user.map(|user| (session, user))))
}

/// Records activity, which keeps an idle session alive.
pub async fn touch(db: &DatabaseConnection, id: &str, now: i64) -> Result<(), DbErr> {
    Sessions::update_many()
        .col_expr(sessions::Column::LastSeenAt, Expr::value(now))
        .filter(sessions::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// The user's live sessions, most recently seen first.
pub async fn list_live(
    db: &DatabaseConnection,
    user_id: i32,
    now: i64,
    idle_timeout: Duration,
) -> Result<Vec<sessions::Model>, DbErr> {
    use sea_orm::QueryOrder;
    Sessions::find()
        .filter(sessions::Column::UserId.eq(user_id))
        .filter(sessions::Column::ExpiresAt.gt(now))
        .filter(sessions::Column::LastSeenAt.gt(idle_cutoff(now, idle_timeout)))
        .order_by_desc(sessions::Column::LastSeenAt)
        .all(db)
        .await
}

/// Ends one of the user's sessions; `false` if they have no such session.
pub async fn delete_own(db: &DatabaseConnection, user_id: i32, id: &str) -> Result<bool, DbErr> {
    let deleted = Sessions::delete_many()
        .filter(sessions::Column::UserId.eq(user_id))
        .filter(sessions::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected == 1)
}

/// Ends every session of the user's; returns how many.
pub async fn delete_all(db: &DatabaseConnection, user_id: i32) -> Result<u64, DbErr> {
    let deleted = Sessions::delete_many()
        .filter(sessions::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected)
}

pub async fn delete(db: &DatabaseConnection, id: &str) -> Result<(), DbErr> {
    Sessions::delete_by_id(id.to_owned()).exec(db).await?;
    Ok(())
}

/// Ends every session of the user's but `keep`; returns how many.
pub async fn delete_others(
    db: &DatabaseConnection,
    user_id: i32,
    keep: &str,
) -> Result<u64, DbErr> {
    let deleted = Sessions::delete_many()
        .filter(sessions::Column::UserId.eq(user_id))
        .filter(sessions::Column::Id.ne(keep))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected)
}

/// Removes every session that can no longer be used; returns how many.
pub async fn delete_dead(
    db: &DatabaseConnection,
    now: i64,
    idle_timeout: Duration,
) -> Result<u64, DbErr> {
    let idle_cutoff = idle_cutoff(now, idle_timeout);
    let result = Sessions::delete_many()
        .filter(
            Condition::any()
                .add(sessions::Column::ExpiresAt.lte(now))
                .add(sessions::Column::LastSeenAt.lte(idle_cutoff)),
        )
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}
