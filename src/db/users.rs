//! Queries on `users`.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait,
    DatabaseConnection, DbErr, EntityTrait, NotSet, QueryFilter,
};

use super::entities::users::{self, Entity as Users};
use crate::domain::{Email, Username};

pub use users::Model as User;

/// Why an account could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error("username taken")]
    UsernameTaken,
    #[error("email taken")]
    EmailTaken,
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Inserts a new user. Taken names are found before the insert so the user
/// learns which field clashes; the unique indexes still decide a race.
pub async fn create(
    db: &DatabaseConnection,
    username: &Username,
    email: &Email,
    password_hash: String,
) -> Result<User, CreateUserError> {
    if let Some(clash) = find_clash(db, username, email).await? {
        return Err(clash);
    }
    let row = users::ActiveModel {
        id: NotSet,
        username: Set(username.as_str().to_owned()),
        email: Set(email.as_str().to_owned()),
        password_hash: Set(password_hash),
        created_at: Set(Utc::now().naive_utc()),
        username_key: Set(Some(username.key())),
        email_key: Set(Some(email.key())),
        disabled_at: Set(None),
    };
    match row.insert(db).await {
        Ok(user) => Ok(user),
        Err(error) if super::is_unique_violation(&error) => Err(find_clash(db, username, email)
            .await?
            .unwrap_or(CreateUserError::UsernameTaken)),
        Err(error) => Err(error.into()),
    }
}

async fn find_clash(
    db: &DatabaseConnection,
    username: &Username,
    email: &Email,
) -> Result<Option<CreateUserError>, DbErr> {
    let existing = Users::find()
        .filter(
            Condition::any()
                .add(users::Column::UsernameKey.eq(username.key()))
                .add(users::Column::EmailKey.eq(email.key())),
        )
        .all(db)
        .await?;
    let key = username.key();
    Ok(
        if existing
            .iter()
            .any(|user| user.username_key.as_deref() == Some(key.as_str()))
        {
            Some(CreateUserError::UsernameTaken)
        } else if existing.is_empty() {
            None
        } else {
            Some(CreateUserError::EmailTaken)
        },
    )
}

/// The account a sign-in names: by email when the name contains `@`
/// (usernames cannot), by username otherwise; case does not matter, nor
/// does the Unicode form of a username.
pub async fn find_by_login(db: &DatabaseConnection, login: &str) -> Result<Option<User>, DbErr> {
    let lower = login.trim().to_lowercase();
    if lower.contains('@') {
        return Users::find()
            .filter(users::Column::EmailKey.eq(lower))
            .one(db)
            .await;
    }
    let key = Username::key_of(login);
    let found = Users::find()
        .filter(users::Column::UsernameKey.eq(key.as_str()))
        .one(db)
        .await?;
    // Names kept before keys were normalised have their plain lower case
    // as key; beyond ASCII that may differ.
    match found {
        None if key != lower => {
            Users::find()
                .filter(users::Column::UsernameKey.eq(lower))
                .one(db)
                .await
        }
        found => Ok(found),
    }
}

pub async fn find(db: &DatabaseConnection, id: i32) -> Result<Option<User>, DbErr> {
    Users::find_by_id(id).one(db).await
}

/// Gives the user a new email address: [`CreateUserError::EmailTaken`] if
/// another account has it (the unique index decides a race).
pub async fn set_email(
    db: &DatabaseConnection,
    id: i32,
    email: &Email,
) -> Result<(), CreateUserError> {
    let taken = Users::find()
        .filter(users::Column::EmailKey.eq(email.key()))
        .filter(users::Column::Id.ne(id))
        .one(db)
        .await?;
    if taken.is_some() {
        return Err(CreateUserError::EmailTaken);
    }
    let updated = Users::update_many()
        .col_expr(
            users::Column::Email,
            sea_orm::sea_query::Expr::value(email.as_str()),
        )
        .col_expr(
            users::Column::EmailKey,
            sea_orm::sea_query::Expr::value(email.key()),
        )
        .filter(users::Column::Id.eq(id))
        .exec(db)
        .await;
    match updated {
        Ok(_) => Ok(()),
        Err(error) if super::is_unique_violation(&error) => Err(CreateUserError::EmailTaken),
        Err(error) => Err(error.into()),
    }
}

/// Replaces a user's password hash (after an upgrade of its scheme, or a change).
pub async fn set_password_hash(
    db: &DatabaseConnection,
    id: i32,
    password_hash: String,
) -> Result<(), DbErr> {
    Users::update_many()
        .col_expr(
            users::Column::PasswordHash,
            sea_orm::sea_query::Expr::value(password_hash),
        )
        .filter(users::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Locks the user's row until the transaction ends, with a write that
/// changes nothing: a row lock on MySQL and PostgreSQL, and on SQLite the
/// database's write lock, taken before the transaction reads (a deferred
/// SQLite transaction that reads first and writes later fails when another
/// writer got in between). Per-user checks then run one request at a time.
pub async fn lock(conn: &impl ConnectionTrait, id: i32) -> Result<(), DbErr> {
    let backend = conn.get_database_backend();
    conn.execute_raw(super::raw(
        backend,
        "UPDATE users SET id = id WHERE id = ?",
        [id.into()],
    ))
    .await?;
    Ok(())
}

/// Deletes the account and whatever names it: its sessions, tokens, audit
/// trail and second factor go with it (their foreign keys cascade), and so
/// do rows of the original application's files that were never imported
/// (they have no content here). Its stored files must be gone already.
pub async fn delete(conn: &impl ConnectionTrait, id: i32) -> Result<bool, DbErr> {
    let backend = conn.get_database_backend();
    conn.execute_raw(super::raw(
        backend,
        "DELETE FROM files WHERE user_id = ?",
        [id.into()],
    ))
    .await?;
    let deleted = conn
        .execute_raw(super::raw(
            backend,
            "DELETE FROM users WHERE id = ?",
            [id.into()],
        ))
        .await?;
    Ok(deleted.rows_affected() == 1)
}

/// Disables or enables the account; `false` if there is no such account.
pub async fn set_disabled(
    conn: &impl ConnectionTrait,
    id: i32,
    disabled_at: Option<i64>,
) -> Result<bool, DbErr> {
    let backend = conn.get_database_backend();
    let changed = conn
        .execute_raw(super::raw(
            backend,
            "UPDATE users SET disabled_at = ? WHERE id = ?",
            [disabled_at.into(), id.into()],
        ))
        .await?;
    Ok(changed.rows_affected() == 1)
}

/// Every account, in id order (for the operator's `user list`).
pub async fn all(db: &DatabaseConnection) -> Result<Vec<User>, DbErr> {
    use sea_orm::QueryOrder;
    Users::find().order_by_asc(users::Column::Id).all(db).await
}
