//! Time as the service keeps and states it: Unix seconds in the database's
//! session, token and counter columns; RFC 3339 in UTC on the wire.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, secs)
}

/// A duration in whole seconds, saturating.
pub fn secs(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

/// An instant as file objects and receipts write it (see
/// [`crate::proofs::receipt::rfc3339`]).
pub fn rfc3339(time: DateTime<Utc>) -> String {
    crate::proofs::receipt::rfc3339(time.into())
}

/// A Unix time as pages show it: `2026-12-07 20:26 UTC`.
pub fn display(unix: i64) -> String {
    DateTime::from_timestamp(unix, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// A Unix time as [`rfc3339`] writes it.
pub fn unix_rfc3339(unix: i64) -> String {
    DateTime::from_timestamp(unix, 0)
        .map(rfc3339)
        .unwrap_or_default()
}
