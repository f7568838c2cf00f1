//! What is rate-limited and how much. The counters live in the database
//! ([`crate::db::rate_limits`]) so that every process enforces one limit.

use sea_orm::{ConnectionTrait, DbErr};
use sha2::{Digest, Sha256};

/// At most `max` events per `window` seconds for one key.
#[derive(Clone, Copy, Debug)]
pub struct Limit {
    pub name: &'static str,
    pub max: i64,
    pub window: i64,
}

/// Failed sign-ins per account (by username and email alike; per name where
/// no account has it): ten in fifteen minutes, then it is refused (429)
/// until the window ends. Counted whether or not the account exists, so the
/// limit reveals nothing about which names are taken.
pub const SIGN_IN_FAILURES: Limit = Limit {
    name: "sign-in-failures",
    max: 10,
    window: 15 * 60,
};

/// Failed sign-ins per account over a day: past these the wait grows from
/// the end of fifteen minutes to the end of the day.
pub const SIGN_IN_FAILURES_DAILY: Limit = Limit {
    name: "sign-in-failures-daily",
    max: 30,
    window: 24 * 60 * 60,
};

/// Failed sign-ins from one client address, whatever the accounts: one
/// address cannot try many accounts' passwords quickly.
pub const ADDRESS_FAILURES: Limit = Limit {
    name: "address-failures",
    max: 50,
    window: 15 * 60,
};

pub const ADDRESS_FAILURES_DAILY: Limit = Limit {
    name: "address-failures-daily",
    max: 200,
    window: 24 * 60 * 60,
};

/// Failed sign-ins from a browser that signed in to the account before:
/// its own allowance, so that strangers' failures do not lock it out, and a
/// stolen device cookie gives no more guesses than a stranger has.
pub const KNOWN_DEVICE_FAILURES: Limit = Limit {
    name: "known-device-failures",
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

    /// Takes one of this window's places for `key`: `false` when they were
    /// all taken already (then nothing is taken). The count and the check are
    /// one step, so attempts that race are counted one by one.
    pub async fn reserve(
        &self,
        db: &impl ConnectionTrait,
        key: &str,
        now: i64,
    ) -> Result<bool, DbErr> {
        let bucket = self.bucket(key);
        let hits = crate::db::rate_limits::hit(db, &bucket, now, self.window).await?;
        if hits > self.max {
            crate::db::rate_limits::unhit(db, &bucket, now, self.window).await?;
            return Ok(false);
        }
        Ok(true)
    }

    /// Gives back a place taken by [`Limit::reserve`] for an attempt that
    /// was never made.
    pub async fn release(
        &self,
        db: &impl ConnectionTrait,
        key: &str,
        now: i64,
    ) -> Result<(), DbErr> {
        crate::db::rate_limits::unhit(db, &self.bucket(key), now, self.window).await
    }

    pub async fn reset(&self, db: &impl ConnectionTrait, key: &str) -> Result<(), DbErr> {
        crate::db::rate_limits::clear(db, &self.bucket(key)).await
    }
}
