//! `audit_events`: what happened to an account, for its owner to read.

use sea_orm::{ConnectionTrait, DbErr};

use super::raw;
use crate::web::client::ClientInfo;

/// One recorded event, as read back.
#[derive(Clone, Debug)]
pub struct Event {
    pub id: i64,
    pub event: String,
    pub detail: Option<String>,
    pub client_address: Option<String>,
    pub device: Option<String>,
    pub created_at: i64,
}

pub async fn record(
    conn: &impl ConnectionTrait,
    user_id: i32,
    event: &str,
    detail: Option<&str>,
    client: &ClientInfo,
    now: i64,
) -> Result<(), DbErr> {
    let backend = conn.get_database_backend();
    conn.execute_raw(raw(
        backend,
        "INSERT INTO audit_events (user_id, event, detail, client_address, device, created_at) \
         VALUES (?, ?, ?, ?, ?, ?)",
        [
            user_id.into(),
            event.into(),
            detail
                .map(|d| d.chars().take(255).collect::<String>())
                .into(),
            client.address_text().into(),
            client.device.clone().into(),
            now.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// The user's events newest first: up to `limit` of them with ids below `before`.
pub async fn list(
    conn: &impl ConnectionTrait,
    user_id: i32,
    before: Option<i64>,
    limit: u32,
) -> Result<Vec<Event>, DbErr> {
    let backend = conn.get_database_backend();
    let rows = conn
        .query_all_raw(raw(
            backend,
            &format!(
                "SELECT id, event, detail, client_address, device, created_at FROM audit_events \
                 WHERE user_id = ? AND id < ? ORDER BY id DESC LIMIT {limit}"
            ),
            [user_id.into(), before.unwrap_or(i64::MAX).into()],
        ))
        .await?;
    rows.iter()
        .map(|row| {
            Ok(Event {
                id: row.try_get("", "id")?,
                event: row.try_get("", "event")?,
                detail: row.try_get("", "detail")?,
                client_address: row.try_get("", "client_address")?,
                device: row.try_get("", "device")?,
                created_at: row.try_get("", "created_at")?,
            })
        })
        .collect()
}
