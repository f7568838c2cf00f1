//! What the log records for a stamp: the canonical entry whose RFC 6962 leaf
//! hash goes into the tree.
//!
//! ```text
//! securestamp/stamp/v1
//! time 2026-11-30T14:09:21Z
//! token-sha256 <64 lower-case hex digits>
//! ```
//!
//! Three lines, each ending in a newline: a version line; the token's
//! `genTime` in RFC 3339 UTC with whole seconds; the SHA-256 of the DER
//! `TimeStampToken` (the CMS `ContentInfo` inside the reply). The token signs
//! the content's hash and the time, so the entry binds both without
//! publishing what anyone stored; the time in clear lets a monitor see a
//! stamp that enters the log long after the time it claims.

use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

/// The first line of every stamp entry.
pub const VERSION_LINE: &str = "securestamp/stamp/v1";

/// The entry of a token issued at `gen_time`.
pub fn stamp_entry(gen_time: SystemTime, token_der: &[u8]) -> Vec<u8> {
    let seconds = gen_time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let time = chrono::DateTime::from_timestamp(seconds, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ");
    format!(
        "{VERSION_LINE}\ntime {time}\ntoken-sha256 {}\n",
        hex::encode(Sha256::digest(token_der))
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn an_entry_states_the_time_and_the_token_hash() {
        let time = UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        let entry = String::from_utf8(stamp_entry(time, b"token")).unwrap();
        assert_eq!(
            entry,
            "securestamp/stamp/v1\ntime 2026-11-18T11:06:40Z\n\
             token-sha256 3c469e9d6c5875d37a43f353d4f88e61fcf812c66eee3457465a40b0da4153e0\n"
        );
        // Fractions of a second are not part of a token's time.
        assert_eq!(
            stamp_entry(time + Duration::from_millis(999), b"token"),
            entry.as_bytes()
        );
    }
}
