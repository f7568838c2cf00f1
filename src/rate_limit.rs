//! What is rate-limited and how much. The counters live in the database
//! ([`crate::db::rate_limits`]) so that every process enforces one limit.

use sea_orm::{DatabaseConnection, DbErr};
use sha2::{Digest, Sha256};

/// At most `max` events per `window` seconds for one key.
#[derive(Clone, Copy, Debug)]
pub struct Limit {
    pub name: &'static str,
    pub max: i64,
    pub window: i64,
}

/// Failed sign-ins per account name: ten in fifteen minutes, then the account
/// name is refused (429) until the window ends. Counted whether or not the
/// account exists, so the limit reveals nothing about which names are taken.
pub const SIGN_IN_FAILURES: Limit = Limit {
    name: "sign-in-failures",
    max: 10,
    window: 15 * 60,
};

impl Limit {
    /// The row key: a hash, so that the table holds no names or addresses.
    fn bucket(&self, key: &str) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.name.as_bytes());
        hasher.update([0]);
        hasher.update(key.as_bytes());
        hex::encode(hasher.finalize())
    }

    /// Seconds until the current window ends.
    pub fn retry_after(&self, now: i64) -> u64 {
        u64::try_from(self.window - now.rem_euclid(self.window)).unwrap_or(1)
    }

    /// Whether `key` has used up this window's allowance.
    pub async fn exceeded(
        &self,
        db: &DatabaseConnection,
        key: &str,
        now: i64,
    ) -> Result<bool, DbErr> {
        Ok(
            crate::db::rate_limits::hits(db, &self.bucket(key), now, self.window).await?
                >= self.max,
        )
    }

    pub async fn record(&self, db: &DatabaseConnection, key: &str, now: i64) -> Result<(), DbErr> {
        crate::db::rate_limits::hit(db, &self.bucket(key), now, self.window)
            .await
            .map(drop)
    }

    pub async fn reset(&self, db: &DatabaseConnection, key: &str) -> Result<(), DbErr> {
        crate::db::rate_limits::clear(db, &self.bucket(key)).await
    }
}
