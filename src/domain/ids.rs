//! Identifiers that must not be mixed up: [`FileId`], [`ContentHash`].

use std::fmt;

/// A row of `files`, as it appears in URLs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub i32);

impl FileId {
    /// Anything that is not a positive number names no file.
    pub fn parse(raw: &str) -> Option<FileId> {
        raw.parse::<i32>().ok().filter(|id| *id > 0).map(FileId)
    }
}

impl fmt::Display for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The SHA-256 of a file's content, as 64 lower-case hex digits.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContentHash(String);

impl ContentHash {
    pub fn from_digest(digest: &[u8; 32]) -> ContentHash {
        ContentHash(hex::encode(digest))
    }

    pub fn parse(raw: &str) -> Option<ContentHash> {
        let ok = raw.len() == 64
            && raw
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        ok.then(|| ContentHash(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_ids_are_positive_numbers() {
        assert_eq!(FileId::parse("42"), Some(FileId(42)));
        for bad in ["0", "-1", "x", "1.5", "99999999999", ""] {
            assert_eq!(FileId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn content_hashes_are_lower_case_hex() {
        let hash = ContentHash::from_digest(&[0xab; 32]);
        assert_eq!(ContentHash::parse(hash.as_str()), Some(hash));
        assert_eq!(ContentHash::parse(&"AB".repeat(32)), None);
        assert_eq!(ContentHash::parse("../etc"), None);
    }
}
