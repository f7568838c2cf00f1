//! Session and CSRF tokens, all keyed from `SECRET_KEY`.
//!
//! A session token is 256 random bits, sent only in the cookie. The database
//! stores HMAC(session key, token), so a copy of the `sessions` table cannot be
//! turned back into cookies. CSRF tokens are HMAC(csrf key, binding), where the
//! binding is the session token when signed in and a random pre-session value
//! (its own cookie) otherwise: the signed double-submit pattern of OWASP's
//! CSRF Prevention Cheat Sheet.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::config::SecretKey;
use crate::secret::Secret;

type HmacSha256 = Hmac<Sha256>;

/// The secrets derived once from `SECRET_KEY`: the session-id, CSRF,
/// sealing and cookie-signing keys.
#[derive(Clone)]
pub struct Secrets {
    session: [u8; 32],
    csrf: [u8; 32],
    /// Seals what is kept or handed out and must stay unreadable and
    /// unforgeable: authenticator secrets, sign-in tickets ([`Secrets::seal`]).
    sealing: [u8; 32],
    /// Signs cookies whose content we must trust when it comes back (flash messages).
    pub cookie: cookie::Key,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets([redacted])")
    }
}

/// A random 256-bit value in URL-safe base64: session tokens and CSRF bindings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionToken(Secret<String>);

impl SessionToken {
    pub fn generate() -> Self {
        let bytes: [u8; 32] = rand::random();
        SessionToken(Secret::new(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// Accepts only values this server could have generated.
    pub fn parse(raw: &str) -> Option<Self> {
        let decoded = URL_SAFE_NO_PAD.decode(raw).ok()?;
        (decoded.len() == 32).then(|| SessionToken(Secret::new(raw.to_owned())))
    }

    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

/// A personal API token: `sst_` and 256 random bits. Only its SHA-256 is
/// stored; a plain hash suffices for a value this random, and it keeps the
/// tokens valid when `SECRET_KEY` is rotated.
pub struct ApiTokenSecret(Secret<String>);

const API_TOKEN_PREFIX: &str = "sst_";

impl ApiTokenSecret {
    pub fn generate() -> Self {
        let bytes: [u8; 32] = rand::random();
        ApiTokenSecret(Secret::new(format!(
            "{API_TOKEN_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(bytes)
        )))
    }

    /// Shown to its owner exactly once.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    pub fn hash(&self) -> String {
        hex::encode(sha2::Sha256::digest(self.0.expose().as_bytes()))
    }

    /// The stored hash of a presented token, if it is shaped like one of ours.
    pub fn hash_presented(raw: &str) -> Option<String> {
        let body = raw.strip_prefix(API_TOKEN_PREFIX)?;
        let decoded = URL_SAFE_NO_PAD.decode(body).ok()?;
        (decoded.len() == 32).then(|| hex::encode(sha2::Sha256::digest(raw.as_bytes())))
    }
}

/// What a CSRF token is bound to.
#[derive(Clone, Copy, Debug)]
pub enum CsrfBinding<'a> {
    /// A signed-in session.
    Session(&'a SessionToken),
    /// A visitor without a session, through the pre-session cookie.
    Anonymous(&'a SessionToken),
}

impl Secrets {
    pub fn new(secret: &SecretKey) -> Self {
        Secrets {
            session: secret.derive("session-id"),
            csrf: secret.derive("csrf"),
            sealing: secret.derive("sealing"),
            cookie: cookie::Key::from(&secret.derive_wide("cookie-signing")),
        }
    }

    /// The `sessions.id` under which a token is stored: hex HMAC-SHA256.
    pub fn session_id(&self, token: &SessionToken) -> String {
        hex::encode(mac(&self.session, &[token.expose().as_bytes()]))
    }

    pub fn csrf_token(&self, binding: CsrfBinding<'_>) -> String {
        URL_SAFE_NO_PAD.encode(self.csrf_mac(binding))
    }

    fn csrf_mac(&self, binding: CsrfBinding<'_>) -> [u8; 32] {
        // The label keeps a pre-session value from ever being a session's token.
        match binding {
            CsrfBinding::Session(token) => {
                mac(&self.csrf, &[b"session:", token.expose().as_bytes()])
            }
            CsrfBinding::Anonymous(token) => {
                mac(&self.csrf, &[b"anonymous:", token.expose().as_bytes()])
            }
        }
    }
}

impl Secrets {
    /// Encrypts and authenticates `plaintext` for `purpose` (AES-256-GCM,
    /// a random nonce, the purpose as associated data, so that a value
    /// sealed for one purpose never opens for another): URL-safe base64.
    pub fn seal(&self, purpose: &str, plaintext: &[u8]) -> String {
        use aes_gcm::aead::{Aead, KeyInit, Payload};
        let cipher = aes_gcm::Aes256Gcm::new((&self.sealing).into());
        let nonce: [u8; 12] = rand::random();
        let payload = Payload {
            msg: plaintext,
            aad: purpose.as_bytes(),
        };
        let sealed = cipher
            .encrypt((&nonce).into(), payload)
            .expect("AES-GCM seals any message this small");
        URL_SAFE_NO_PAD.encode([&nonce[..], &sealed].concat())
    }

    /// The plaintext of a value [`Secrets::seal`] made for `purpose`; `None`
    /// for anything else (tampered, another purpose, another `SECRET_KEY`).
    pub fn open(&self, purpose: &str, sealed: &str) -> Option<Vec<u8>> {
        use aes_gcm::aead::{Aead, KeyInit, Payload};
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        let (nonce, sealed) = bytes.split_at_checked(12)?;
        let cipher = aes_gcm::Aes256Gcm::new((&self.sealing).into());
        let payload = Payload {
            msg: sealed,
            aad: purpose.as_bytes(),
        };
        cipher.decrypt(nonce.into(), payload).ok()
    }
}

fn mac(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: &str) -> Secrets {
        Secrets::new(&SecretKey::from_configured(secret))
    }

    #[test]
    fn sealed_values_open_only_for_their_purpose_and_key() {
        let secrets = keys("one key long enough for the tests");
        let sealed = secrets.seal("totp", b"twenty bytes of key!");
        assert_ne!(
            sealed,
            secrets.seal("totp", b"twenty bytes of key!"),
            "a fresh nonce each time"
        );
        assert_eq!(
            secrets.open("totp", &sealed).as_deref(),
            Some(&b"twenty bytes of key!"[..])
        );
        assert_eq!(secrets.open("ticket", &sealed), None);
        assert_eq!(
            keys("another key, just as long as it").open("totp", &sealed),
            None
        );
        let mut tampered = sealed.into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            secrets.open("totp", &String::from_utf8(tampered).unwrap()),
            None
        );
        assert_eq!(secrets.open("totp", "short"), None);
    }

    #[test]
    fn tokens_are_random_and_round_trip() {
        let a = SessionToken::generate();
        assert_ne!(a, SessionToken::generate());
        assert_eq!(SessionToken::parse(a.expose()), Some(a));
        assert_eq!(SessionToken::parse("short"), None);
        assert_eq!(SessionToken::parse(&"!".repeat(43)), None);
    }

    #[test]
    fn api_tokens_are_recognised_by_their_hash_only() {
        let token = ApiTokenSecret::generate();
        assert!(token.expose().starts_with("sst_"));
        assert_eq!(
            ApiTokenSecret::hash_presented(token.expose()),
            Some(token.hash())
        );
        assert_eq!(ApiTokenSecret::hash_presented("sst_short"), None);
        assert_eq!(ApiTokenSecret::hash_presented(&token.expose()[4..]), None);
        assert_ne!(ApiTokenSecret::generate().hash(), token.hash());
    }

    #[test]
    fn session_ids_hide_the_token() {
        let keys = keys("a secret that is long enough to be realistic");
        let token = SessionToken::generate();
        let id = keys.session_id(&token);
        assert_eq!(id.len(), 64);
        assert!(!id.contains(token.expose()));
        assert_eq!(id, keys.session_id(&token));
    }

    #[test]
    fn csrf_tokens_are_fixed_by_their_binding_and_key() {
        let keys_a = keys("a secret that is long enough to be realistic");
        let keys_b = keys("another secret, just as long and as realistic");
        let session = SessionToken::generate();
        let other = SessionToken::generate();
        let token = keys_a.csrf_token(CsrfBinding::Session(&session));
        assert_eq!(token.len(), 43);
        assert_eq!(token, keys_a.csrf_token(CsrfBinding::Session(&session)));
        assert_ne!(token, keys_a.csrf_token(CsrfBinding::Session(&other)));
        assert_ne!(token, keys_a.csrf_token(CsrfBinding::Anonymous(&session)));
        assert_ne!(token, keys_b.csrf_token(CsrfBinding::Session(&session)));
    }
}
