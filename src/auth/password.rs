//! Argon2id password hashing with OWASP's parameters (19 MiB, t=2, p=1).
//!
//! Hashing runs on the blocking thread pool so it never stalls the async
//! runtime, and a sign-in for an unknown user verifies against a dummy hash so
//! it costs exactly what a wrong password costs. Hashes left by the original
//! application are checked by [`super::legacy_hash`] and reported for upgrade.

use std::sync::Arc;

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordVerifier, Version};

use super::legacy_hash;
use crate::domain::Password;

/// OWASP Password Storage Cheat Sheet, Argon2id option 2: m=19 MiB, t=2, p=1.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("constant parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The outcome of checking a password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Refused,
    Accepted,
    /// Right, but stored in an older scheme: store a fresh Argon2id hash.
    AcceptedNeedsRehash,
}

#[derive(Clone)]
pub struct PasswordHasher {
    /// A real hash of a random password, verified when the user does not exist.
    dummy: Arc<str>,
}

impl PasswordHasher {
    /// Prepares the dummy hash (one hashing, on the blocking pool).
    pub async fn new() -> Self {
        let dummy = tokio::task::spawn_blocking(|| {
            let random: [u8; 16] = rand::random();
            hash_blocking(&hex::encode(random))
        })
        .await
        .expect("hashing task does not panic");
        PasswordHasher {
            dummy: dummy.into(),
        }
    }

    /// The PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) to store.
    pub async fn hash(&self, password: &Password) -> Result<String, tokio::task::JoinError> {
        let password = password.clone();
        tokio::task::spawn_blocking(move || hash_blocking(password.expose())).await
    }

    /// Checks `password` against `stored`, or against the dummy hash when there
    /// is no such user, so both cases take the same time and are refused.
    pub async fn verify(
        &self,
        password: &Password,
        stored: Option<String>,
    ) -> Result<Verdict, tokio::task::JoinError> {
        let password = password.clone();
        let exists = stored.is_some();
        let stored: Arc<str> = stored.map_or_else(|| self.dummy.clone(), Arc::from);
        let verdict = tokio::task::spawn_blocking(move || {
            if legacy_hash::is_legacy(&stored) {
                return match legacy_hash::verify(password.expose(), &stored) {
                    true => Verdict::AcceptedNeedsRehash,
                    false => Verdict::Refused,
                };
            }
            match PasswordHash::new(&stored) {
                Ok(parsed)
                    if argon2()
                        .verify_password(password.expose().as_bytes(), &parsed)
                        .is_ok() =>
                {
                    Verdict::Accepted
                }
                // A wrong password, or a hash in a format we do not know.
                _ => Verdict::Refused,
            }
        })
        .await?;
        Ok(if exists { verdict } else { Verdict::Refused })
    }
}

fn hash_blocking(password: &str) -> String {
    use argon2::PasswordHasher as _;
    argon2()
        .hash_password(password.as_bytes())
        .expect("argon2 with valid parameters and a fresh salt cannot fail")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_use_owasp_parameters() {
        let hasher = PasswordHasher::new().await;
        let password = Password::parse_new("correct horse".into()).unwrap();
        let stored = hasher.hash(&password).await.unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        let verdict = hasher
            .verify(&password, Some(stored.clone()))
            .await
            .unwrap();
        assert_eq!(verdict, Verdict::Accepted);
        let wrong = Password::parse_new("battery staple".into()).unwrap();
        assert_eq!(
            hasher.verify(&wrong, Some(stored)).await.unwrap(),
            Verdict::Refused
        );
    }

    #[tokio::test]
    async fn unknown_users_and_foreign_hashes_never_match() {
        let hasher = PasswordHasher::new().await;
        let password = Password::parse_new("whatever it is".into()).unwrap();
        assert_eq!(
            hasher.verify(&password, None).await.unwrap(),
            Verdict::Refused
        );
        for foreign in ["pbkdf2:sha256:1$x$y", "md5:whatever", ""] {
            let verdict = hasher
                .verify(&password, Some(foreign.into()))
                .await
                .unwrap();
            assert_eq!(verdict, Verdict::Refused, "{foreign}");
        }
    }

    #[tokio::test]
    async fn right_passwords_under_werkzeug_hashes_ask_for_a_rehash() {
        let hasher = PasswordHasher::new().await;
        let password = Password::parse_attempt("correct horse".into()).unwrap();
        let stored = "pbkdf2:sha256:1000$saltsaltsalt1234$\
                      c3bfd9f93b4a7b6ef4eb3898aa7b46584a72c32701847460b4b20dfa19270c64";
        let verdict = hasher.verify(&password, Some(stored.into())).await.unwrap();
        assert_eq!(verdict, Verdict::AcceptedNeedsRehash);
        let wrong = Password::parse_attempt("wrong horse".into()).unwrap();
        assert_eq!(
            hasher.verify(&wrong, Some(stored.into())).await.unwrap(),
            Verdict::Refused
        );
    }
}
