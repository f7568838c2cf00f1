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

/// The time a stamp entry states; `None` for anything not exactly in the
/// format [`stamp_entry`] writes.
pub fn stated_time(entry: &[u8]) -> Option<SystemTime> {
    let text = std::str::from_utf8(entry).ok()?;
    let mut lines = text.strip_suffix('\n')?.split('\n');
    let (version, time, token) = (lines.next()?, lines.next()?, lines.next()?);
    let token = token.strip_prefix("token-sha256 ")?;
    let well_formed = version == VERSION_LINE
        && lines.next().is_none()
        && token.len() == 64
        && token
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !well_formed {
        return None;
    }
    let time =
        chrono::NaiveDateTime::parse_from_str(time.strip_prefix("time ")?, "%Y-%m-%dT%H:%M:%SZ")
            .ok()?;
    let seconds = u64::try_from(time.and_utc().timestamp()).ok()?;
    Some(UNIX_EPOCH + std::time::Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_stated_time_is_read_back_from_well_formed_entries_only() {
        let time = UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        let entry = stamp_entry(time, b"token");
        assert_eq!(stated_time(&entry), Some(time));
        let text = String::from_utf8(entry).unwrap();
        for other in [
            text.replace("v1", "v2"),
            text.replace("T11:06:40Z", "T11:06:40.5Z"),
            text.replace("3c46", "3C46"),
            text.trim_end().to_owned(),
            format!("{text}extra\n"),
            "securestamp/stamp/v1\ntime 2026-11-18T11:06:40Z\n".to_owned(),
        ] {
            assert_eq!(stated_time(other.as_bytes()), None, "{other:?}");
        }
    }

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
