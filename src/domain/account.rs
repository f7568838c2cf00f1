//! Account fields: [`Username`], [`Email`], [`Password`].

use std::fmt;

use super::FieldError;
use crate::secret::Secret;

/// A user name: 3–80 characters in Unicode's NFKC form, no whitespace,
/// control characters or `@` (so that "username or email" at login is never
/// ambiguous). Case is kept for display; [`Username::key`] is what uniqueness
/// and look-ups use.
///
/// A name must not pass for another: compatibility forms (fullwidth `ａ`,
/// ligatures) and composed or decomposed accents become one form (NFKC) before
/// anything else, so `ａlice` is `alice`; beyond ASCII, every character must
/// be one Unicode recommends for identifiers (UTS #39's General Security
/// Profile, which leaves out blank-looking fillers such as U+3164 and U+2800),
/// and the letters must come from one script (or a combination that writing
/// systems use, such as Han with Kana), so that a Cyrillic `а` cannot stand in
/// a Latin name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub const MAX_CHARS: usize = 80;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        use unicode_normalization::UnicodeNormalization;
        use unicode_security::{
            GeneralSecurityProfile, RestrictionLevel, RestrictionLevelDetection,
        };

        let value: String = raw.trim().nfkc().collect();
        let count = value.chars().count();
        let invalid = |message: &str| Err(FieldError::new("username", message));
        if count < 3 {
            return invalid("Username must be at least 3 characters.");
        }
        if count > Self::MAX_CHARS {
            return invalid("Username must be at most 80 characters.");
        }
        if value
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || is_format_char(c))
        {
            return invalid("Username cannot contain spaces or invisible characters.");
        }
        if value.contains('@') {
            return invalid("Username cannot contain @.");
        }
        if !value.is_ascii() {
            // ASCII punctuation stays allowed, as it always was; the rest is
            // judged without it, since it belongs to no script.
            if value
                .chars()
                .any(|c| !c.is_ascii() && !c.identifier_allowed())
            {
                return invalid(
                    "Username can only use letters, digits and ASCII punctuation: some characters in it look blank or like others.",
                );
            }
            let letters: String = value
                .chars()
                .filter(|c| !c.is_ascii_punctuation())
                .collect();
            if !letters.check_restriction_level(RestrictionLevel::HighlyRestrictive) {
                return invalid(
                    "Username cannot mix alphabets (such as Latin and Cyrillic letters that look alike).",
                );
            }
        }
        Ok(Username(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-folded form that makes `Alice` and `alice` the same account on every database.
    pub fn key(&self) -> String {
        Username::key_of(&self.0)
    }

    /// The key a sign-in's name is looked up by: NFKC with Unicode case
    /// folding (NFKC_Casefold), which for ASCII is lower case.
    pub fn key_of(name: &str) -> String {
        use unicode_normalization::UnicodeNormalization;
        let folded = caseless::default_case_fold_str(&name.trim().nfkc().collect::<String>());
        folded.nfkc().collect()
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Bidirectional overrides and other invisible formatting characters, which
/// would let one name masquerade as another.
fn is_format_char(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{FEFF}')
}

/// An email address, deliberately loosely checked (one `@`, a dotted domain,
/// no spaces): the only real check of an address is mail reaching it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub const MAX_CHARS: usize = 120;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let value = raw.trim();
        let invalid = |message: &str| Err(FieldError::new("email", message));
        if value.chars().count() > Self::MAX_CHARS {
            return invalid("Email must be at most 120 characters.");
        }
        let Some((local, domain)) = value.rsplit_once('@') else {
            return invalid("Enter an email address such as name@example.com.");
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || is_format_char(c));
        if !domain_ok || !local_ok {
            return invalid("Enter an email address such as name@example.com.");
        }
        Ok(Email(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-folded form used for uniqueness and look-ups.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// A new password: at least 8 characters (NIST SP 800-63B), at most 1024 so a
/// request cannot make hashing arbitrarily expensive.
#[derive(Clone, Debug)]
pub struct Password(Secret<String>);

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 1024;

    /// Checks a password being chosen (registration).
    pub fn parse_new(raw: String) -> Result<Self, FieldError> {
        let count = raw.chars().count();
        if count < Self::MIN_CHARS {
            return Err(FieldError::new(
                "password",
                "Password must be at least 8 characters.",
            ));
        }
        if count > Self::MAX_CHARS {
            return Err(FieldError::new(
                "password",
                "Password must be at most 1024 characters.",
            ));
        }
        Ok(Password(Secret::new(raw)))
    }

    /// A password being presented (login): only the upper bound applies, so
    /// a user whose password predates a rule can still sign in.
    pub fn parse_attempt(raw: String) -> Result<Self, FieldError> {
        if raw.is_empty() {
            return Err(FieldError::new("password", "Enter your password."));
        }
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(FieldError::new(
                "password",
                "Password must be at most 1024 characters.",
            ));
        }
        Ok(Password(Secret::new(raw)))
    }

    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_keep_case_and_punctuation_but_fold_for_keys() {
        let name = Username::parse("  O'Brien\";--  ").unwrap();
        assert_eq!(name.as_str(), "O'Brien\";--");
        assert_eq!(name.key(), "o'brien\";--");
        assert_eq!(Username::parse("Zoë").unwrap().key(), "zoë");
    }

    #[test]
    fn usernames_refuse_ambiguous_or_invisible_characters() {
        for bad in [
            "ab",
            "a b c",
            "a@b.c",
            "tab\there",
            "bidi\u{202E}name",
            &"x".repeat(81),
        ] {
            assert!(Username::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(Username::parse(&"é".repeat(80)).is_ok());
    }

    #[test]
    fn usernames_that_would_pass_for_others_are_one_name_or_refused() {
        let alice = Username::parse("alice").unwrap().key();
        // Compatibility forms and other cases are the same name.
        for same in ["ａｌｉｃｅ", "ALICE", "Alice"] {
            assert_eq!(Username::parse(same).unwrap().key(), alice, "{same:?}");
        }
        // Composed and decomposed accents, and case folding beyond ASCII.
        let composed = Username::parse("Zo\u{eb}").unwrap();
        let decomposed = Username::parse("Zoe\u{308}").unwrap();
        assert_eq!(composed, decomposed);
        assert_eq!(
            Username::parse("STRASSE").unwrap().key(),
            Username::parse("straße").unwrap().key()
        );
        // A Cyrillic а in a Latin name; blank-looking fillers.
        for bad in [
            "\u{430}lice",
            "ali\u{441}e",
            "\u{3164}\u{3164}\u{3164}",
            "\u{2800}\u{2800}\u{2800}",
            "ab\u{3164}",
            "x\u{115F}yz",
        ] {
            assert!(Username::parse(bad).is_err(), "{bad:?} should be refused");
        }
        // Names in one script, or in combinations writing systems use, stay welcome.
        for good in [
            "алиса",
            "Ζωή-2",
            "山田たろう",
            "김민준",
            "José_Ñúñez",
            "O'Brien\";--",
        ] {
            assert!(Username::parse(good).is_ok(), "{good:?} should be accepted");
        }
    }

    #[test]
    fn emails_are_loosely_checked() {
        assert!(Email::parse("o'brien+tag@example.co.uk").is_ok());
        assert_eq!(
            Email::parse("Ann@Example.COM").unwrap().key(),
            "ann@example.com"
        );
        for bad in [
            "plain",
            "@example.com",
            "a@b",
            "a@.com",
            "a b@example.com",
            "a@exa mple.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(120))).is_err());
    }

    #[test]
    fn passwords_have_bounds_but_login_accepts_old_short_ones() {
        assert!(Password::parse_new("short".into()).is_err());
        assert!(Password::parse_new("long enough".into()).is_ok());
        assert!(Password::parse_new("x".repeat(1025)).is_err());
        assert!(Password::parse_attempt("short".into()).is_ok());
        assert!(Password::parse_attempt(String::new()).is_err());
    }
}
