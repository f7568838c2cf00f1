//! Account fields: [`Username`], [`Email`], [`Password`].

use std::fmt;

use super::FieldError;
use crate::secret::Secret;

/// A user name: 3–80 characters, no whitespace, control characters or `@`
/// (so that "username or email" at login is never ambiguous). Case is kept
/// for display; [`Username::key`] is what uniqueness and look-ups use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub const MAX_CHARS: usize = 80;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let value = raw.trim();
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
        Ok(Username(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-folded form that makes `Alice` and `alice` the same account on every database.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
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
