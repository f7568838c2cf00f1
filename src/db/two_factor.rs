//! `totp_credentials` and `recovery_codes`: a user's authenticator and their
//! single-use recovery codes ([`crate::two_factor`] decides what they mean).

use sea_orm::{ConnectionTrait, DbErr, TransactionTrait};

use super::raw;

/// A user's authenticator.
#[derive(Clone, Debug)]
pub struct Credential {
    pub sealed_secret: String,
    /// When a code confirmed it; until then it is only being set up.
    pub confirmed_at: Option<i64>,
    /// The last time step whose code was accepted.
    pub last_step: i64,
}

pub async fn find(conn: &impl ConnectionTrait, user_id: i32) -> Result<Option<Credential>, DbErr> {
    let backend = conn.get_database_backend();
    let row = conn
        .query_one_raw(raw(
            backend,
            "SELECT sealed_secret, confirmed_at, last_step FROM totp_credentials WHERE user_id = ?",
            [user_id.into()],
        ))
        .await?;
    row.map(|row| {
        Ok(Credential {
            sealed_secret: row.try_get("", "sealed_secret")?,
            confirmed_at: row.try_get("", "confirmed_at")?,
            last_step: row.try_get("", "last_step")?,
        })
    })
    .transpose()
}

/// Starts setting up an authenticator, replacing one still being set up.
/// `false` when the user has a confirmed one (nothing changes).
pub async fn begin(
    conn: &sea_orm::DatabaseConnection,
    user_id: i32,
    sealed_secret: &str,
) -> Result<bool, DbErr> {
    let txn = conn.begin().await?;
    let backend = txn.get_database_backend();
    if find(&txn, user_id)
        .await?
        .is_some_and(|c| c.confirmed_at.is_some())
    {
        txn.rollback().await?;
        return Ok(false);
    }
    txn.execute_raw(raw(
        backend,
        "DELETE FROM totp_credentials WHERE user_id = ?",
        [user_id.into()],
    ))
    .await?;
    txn.execute_raw(raw(
        backend,
        "INSERT INTO totp_credentials (user_id, sealed_secret, confirmed_at, last_step) VALUES (?, ?, NULL, 0)",
        [user_id.into(), sealed_secret.into()],
    ))
    .await?;
    txn.commit().await?;
    Ok(true)
}

/// Confirms the authenticator being set up with the code of `step`, and
/// stores the recovery codes' hashes, replacing any earlier ones. `false`
/// if there was none being set up.
pub async fn confirm(
    conn: &sea_orm::DatabaseConnection,
    user_id: i32,
    step: i64,
    now: i64,
    recovery_hashes: &[String],
) -> Result<bool, DbErr> {
    let txn = conn.begin().await?;
    let backend = txn.get_database_backend();
    let confirmed = txn
        .execute_raw(raw(
            backend,
            "UPDATE totp_credentials SET confirmed_at = ?, last_step = ? WHERE user_id = ? AND confirmed_at IS NULL",
            [now.into(), step.into(), user_id.into()],
        ))
        .await?
        .rows_affected();
    if confirmed != 1 {
        txn.rollback().await?;
        return Ok(false);
    }
    txn.execute_raw(raw(
        backend,
        "DELETE FROM recovery_codes WHERE user_id = ?",
        [user_id.into()],
    ))
    .await?;
    for hash in recovery_hashes {
        txn.execute_raw(raw(
            backend,
            "INSERT INTO recovery_codes (user_id, code_hash, used_at) VALUES (?, ?, NULL)",
            [user_id.into(), hash.clone().into()],
        ))
        .await?;
    }
    txn.commit().await?;
    Ok(true)
}

/// Takes the code of `step` for a confirmed authenticator: `false` if a
/// code of this step or a later one was taken already. One statement, so
/// two requests with the same code cannot both pass.
pub async fn take_step(
    conn: &impl ConnectionTrait,
    user_id: i32,
    step: i64,
) -> Result<bool, DbErr> {
    let backend = conn.get_database_backend();
    let taken = conn
        .execute_raw(raw(
            backend,
            "UPDATE totp_credentials SET last_step = ? WHERE user_id = ? AND confirmed_at IS NOT NULL AND last_step < ?",
            [step.into(), user_id.into(), step.into()],
        ))
        .await?;
    Ok(taken.rows_affected() == 1)
}

/// Spends a recovery code: `false` if it is not one of the user's unused codes.
pub async fn spend_recovery_code(
    conn: &impl ConnectionTrait,
    user_id: i32,
    code_hash: &str,
    now: i64,
) -> Result<bool, DbErr> {
    let backend = conn.get_database_backend();
    let spent = conn
        .execute_raw(raw(
            backend,
            "UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL",
            [now.into(), user_id.into(), code_hash.into()],
        ))
        .await?;
    Ok(spent.rows_affected() == 1)
}

/// How many recovery codes the user has left.
pub async fn recovery_codes_left(conn: &impl ConnectionTrait, user_id: i32) -> Result<i64, DbErr> {
    let backend = conn.get_database_backend();
    let row = conn
        .query_one_raw(raw(
            backend,
            "SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = ? AND used_at IS NULL",
            [user_id.into()],
        ))
        .await?;
    match row {
        Some(row) => row.try_get("", "n"),
        None => Ok(0),
    }
}

/// Removes the authenticator and the recovery codes.
pub async fn remove(conn: &sea_orm::DatabaseConnection, user_id: i32) -> Result<(), DbErr> {
    let txn = conn.begin().await?;
    let backend = txn.get_database_backend();
    for sql in [
        "DELETE FROM recovery_codes WHERE user_id = ?",
        "DELETE FROM totp_credentials WHERE user_id = ?",
    ] {
        txn.execute_raw(raw(backend, sql, [user_id.into()])).await?;
    }
    txn.commit().await
}
