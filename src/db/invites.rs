//! `invites`: single-use registration codes (`REGISTRATION=invite`).

use sea_orm::{ConnectionTrait, DbErr};

use super::raw;

pub async fn create(
    conn: &impl ConnectionTrait,
    code_hash: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), DbErr> {
    let backend = conn.get_database_backend();
    conn.execute_raw(raw(
        backend,
        "INSERT INTO invites (code_hash, created_at, expires_at, used_at) VALUES (?, ?, ?, NULL)",
        [code_hash.into(), now.into(), expires_at.into()],
    ))
    .await?;
    Ok(())
}

/// Uses the invite: `false` if it is unknown, used or expired. One
/// statement, so two registrations cannot both use it.
pub async fn spend(conn: &impl ConnectionTrait, code_hash: &str, now: i64) -> Result<bool, DbErr> {
    let backend = conn.get_database_backend();
    let spent = conn
        .execute_raw(raw(
            backend,
            "UPDATE invites SET used_at = ? WHERE code_hash = ? AND used_at IS NULL AND expires_at > ?",
            [now.into(), code_hash.into(), now.into()],
        ))
        .await?;
    Ok(spent.rows_affected() == 1)
}

/// Gives back an invite whose registration failed (a name taken, say).
pub async fn unspend(conn: &impl ConnectionTrait, code_hash: &str) -> Result<(), DbErr> {
    let backend = conn.get_database_backend();
    conn.execute_raw(raw(
        backend,
        "UPDATE invites SET used_at = NULL WHERE code_hash = ?",
        [code_hash.into()],
    ))
    .await?;
    Ok(())
}
