//! The sign-in throttle, which an attacker cannot turn against a victim.
//!
//! Each attempt (a password, or a second-factor code) takes a place in
//! several allowances at once, before it is checked:
//! - its client address's ([`ADDRESS_FAILURES`], and a daily one), whatever
//!   account it names;
//! - the account's ([`SIGN_IN_FAILURES`], then [`SIGN_IN_FAILURES_DAILY`]:
//!   the wait grows from the end of fifteen minutes to the end of the day),
//!   unless the browser has signed in to this account before: then its own
//!   [`KNOWN_DEVICE_FAILURES`] instead. A stranger's failures therefore lock
//!   the account for unknown browsers only; its owner's browser (a sealed,
//!   long-lived cookie set at each sign-in) still signs in.
//!
//! A refused attempt is told when to come back (429 with `Retry-After`). A
//! right answer gives back its address's place (it was no failure) and
//! clears the account's or the device's count. The counters live in the
//! database, so every process enforces the same allowances. Each step (the
//! taking, the settling) changes all of an attempt's counters in one
//! transaction: a sign-in costs two commits, not one per counter.
//!
//! This follows OWASP's "Slow down online guessing attacks with device cookies".

use sea_orm::{DatabaseConnection, TransactionTrait};

use crate::auth::Secrets;
use crate::error::AppError;
use crate::rate_limit::{
    ADDRESS_FAILURES, ADDRESS_FAILURES_DAILY, KNOWN_DEVICE_FAILURES, Limit, SIGN_IN_FAILURES,
    SIGN_IN_FAILURES_DAILY,
};
use crate::web::client::ClientInfo;

const DEVICE_PURPOSE: &str = "known-device";

/// How long a browser stays known without signing in again.
pub const KNOWN_DEVICE_LIFETIME: std::time::Duration =
    std::time::Duration::from_secs(365 * 24 * 60 * 60);

/// Who an attempt is about: an account, or a name no account has.
pub enum Target<'a> {
    Account(i32),
    Unknown(&'a str),
}

/// The places one attempt took; settle it with [`Attempt::passed`],
/// [`Attempt::failed`] or [`Attempt::not_tried`].
pub struct Attempt {
    places: Vec<(Limit, String, bool)>,
    now: i64,
}

/// Takes this attempt's places, or says when to come back.
pub async fn attempt(
    db: &DatabaseConnection,
    secrets: &Secrets,
    target: Target<'_>,
    client: &ClientInfo,
    now: i64,
) -> Result<Attempt, AppError> {
    // (limit, key, cleared on success: the address's count is only given back)
    let mut places: Vec<(Limit, String, bool)> = Vec::new();
    if let Some(address) = client.address_text() {
        let key = format!("address:{address}");
        places.push((ADDRESS_FAILURES, key.clone(), false));
        places.push((ADDRESS_FAILURES_DAILY, key, false));
    }
    match target {
        Target::Account(id) => match known_device(secrets, client, id) {
            Some(device) => places.push((KNOWN_DEVICE_FAILURES, format!("device:{device}"), true)),
            None => {
                let key = format!("account:{id}");
                places.push((SIGN_IN_FAILURES, key.clone(), true));
                places.push((SIGN_IN_FAILURES_DAILY, key, true));
            }
        },
        Target::Unknown(name) => {
            let key = format!("name:{}", name.trim().to_lowercase());
            places.push((SIGN_IN_FAILURES, key.clone(), true));
            places.push((SIGN_IN_FAILURES_DAILY, key, true));
        }
    }
    // A refusal rolls back the places taken before it.
    let txn = db.begin().await?;
    for (limit, key, _) in &places {
        if !limit.reserve(&txn, key, now).await? {
            txn.rollback().await?;
            tracing::warn!(limit = limit.name, "sign-in refused: too many failures");
            return Err(AppError::RateLimited {
                retry_after: limit.retry_after(now),
            });
        }
    }
    txn.commit().await?;
    Ok(Attempt { places, now })
}

impl Attempt {
    /// The answer was right: the address's places are given back, the
    /// account's or device's count starts again.
    pub async fn passed(self, db: &DatabaseConnection) -> Result<(), AppError> {
        let txn = db.begin().await?;
        for (limit, key, clear) in &self.places {
            match clear {
                true => limit.reset(&txn, key).await?,
                false => limit.release(&txn, key, self.now).await?,
            }
        }
        txn.commit().await?;
        Ok(())
    }

    /// The answer was wrong: every place stays taken.
    pub fn failed(self) {}

    /// The answer could not be checked: every place is given back.
    pub async fn not_tried(self, db: &DatabaseConnection) -> Result<(), AppError> {
        let txn = db.begin().await?;
        for (limit, key, _) in &self.places {
            limit.release(&txn, key, self.now).await?;
        }
        txn.commit().await?;
        Ok(())
    }
}

/// The device id in the request's known-device cookie, if it was sealed by
/// this server for `user_id`.
fn known_device(secrets: &Secrets, client: &ClientInfo, user_id: i32) -> Option<String> {
    let opened = secrets.open(DEVICE_PURPOSE, client.known_device.as_deref()?)?;
    let (owner, device) = std::str::from_utf8(&opened).ok()?.split_once(':')?;
    (owner.parse::<i32>().ok()? == user_id).then(|| device.to_owned())
}

/// The known-device cookie's value for a browser that just signed in to
/// `user_id`: the one it has if it is this account's, else a new one.
pub fn device_cookie_value(secrets: &Secrets, client: &ClientInfo, user_id: i32) -> String {
    if known_device(secrets, client, user_id).is_some()
        && let Some(current) = &client.known_device
    {
        return current.clone();
    }
    let device = hex::encode(rand::random::<[u8; 16]>());
    secrets.seal(DEVICE_PURPOSE, format!("{user_id}:{device}").as_bytes())
}
