//! Password hashes written by the original Flask application (Werkzeug's
//! `generate_password_hash`): `pbkdf2:sha256:ITER$SALT$HEX` and
//! `scrypt:N:R:P$SALT$HEX`. They are only ever verified; a user who signs in
//! with one is moved to Argon2id on the spot.

use sha2::{Sha256, Sha512};
use subtle::ConstantTimeEq;

/// Bounds that keep a damaged row from tying up a thread for minutes.
const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
const MAX_SCRYPT_LOG_N: u8 = 20;
/// scrypt needs `128 × r × N` bytes; Werkzeug's default (N=2^15, r=8) is 32 MiB.
const MAX_SCRYPT_MEMORY: u64 = 64 << 20;

/// Whether `stored` looks like a Werkzeug hash at all.
pub fn is_legacy(stored: &str) -> bool {
    stored.starts_with("pbkdf2:") || stored.starts_with("scrypt:")
}

/// Checks `password` against a Werkzeug hash; unknown or malformed hashes never match.
pub fn verify(password: &str, stored: &str) -> bool {
    let mut parts = stored.splitn(3, '$');
    let (Some(method), Some(salt), Some(expected)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Ok(expected) = hex::decode(expected) else {
        return false;
    };
    let mut params = method.split(':');
    let computed = match (params.next(), params.next(), params.next(), params.next()) {
        (Some("pbkdf2"), Some(digest), Some(iterations), None) => {
            let Some(iterations) = iterations
                .parse::<u32>()
                .ok()
                .filter(|i| (1..=MAX_PBKDF2_ITERATIONS).contains(i))
            else {
                return false;
            };
            let mut out = vec![0u8; expected.len().clamp(1, 64)];
            match digest {
                "sha256" => pbkdf2::pbkdf2_hmac::<Sha256>(
                    password.as_bytes(),
                    salt.as_bytes(),
                    iterations,
                    &mut out,
                ),
                "sha512" => pbkdf2::pbkdf2_hmac::<Sha512>(
                    password.as_bytes(),
                    salt.as_bytes(),
                    iterations,
                    &mut out,
                ),
                _ => return false,
            }
            out
        }
        (Some("scrypt"), Some(n), Some(r), Some(p)) => {
            let (Ok(n), Ok(r), Ok(p)) = (n.parse::<u64>(), r.parse::<u32>(), p.parse::<u32>())
            else {
                return false;
            };
            let log_n = n.trailing_zeros();
            if !n.is_power_of_two()
                || log_n > u32::from(MAX_SCRYPT_LOG_N)
                || 128 * u64::from(r) * n > MAX_SCRYPT_MEMORY
            {
                return false;
            }
            let Ok(params) = scrypt::Params::new(log_n as u8, r, p, expected.len().clamp(10, 64))
            else {
                return false;
            };
            let mut out = vec![0u8; expected.len().clamp(10, 64)];
            if scrypt::scrypt(password.as_bytes(), salt.as_bytes(), &params, &mut out).is_err() {
                return false;
            }
            out
        }
        _ => return false,
    };
    computed.len() == expected.len() && bool::from(computed.ct_eq(&expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Computed with Python's hashlib in Werkzeug's format.
    const PBKDF2_SHA256: &str = "pbkdf2:sha256:1000$saltsaltsalt1234$c3bfd9f93b4a7b6ef4eb3898aa7b46584a72c32701847460b4b20dfa19270c64";
    const PBKDF2_SHA512: &str = "pbkdf2:sha512:1000$saltsaltsalt1234$17d9c0e8a7e154b83f41e1aaadfb2865fb15feb589cf235e57c56734ee1ab6614b77d12a528221c00e18b9ec43a9f446224f97ca0eaba30a79e268039aa53a38";
    const SCRYPT: &str = "scrypt:1024:8:1$saltsaltsalt1234$b01445609c49c91f609d0b8c422a36e10e994daba08aa793d6d493bf20804a83a49b75906d4ac1d2b98cecf0694631e8386fcd50f71c1b0fee2b4d8096c3d914";

    #[test]
    fn werkzeug_hashes_verify_with_the_right_password_only() {
        for stored in [PBKDF2_SHA256, PBKDF2_SHA512, SCRYPT] {
            assert!(is_legacy(stored));
            assert!(verify("correct horse", stored), "{stored}");
            assert!(!verify("correct horse!", stored), "{stored}");
        }
    }

    #[test]
    fn malformed_or_unknown_hashes_never_match() {
        for stored in [
            "pbkdf2:md5:1000$salt$00",
            "pbkdf2:sha256:0$salt$00",
            "pbkdf2:sha256:99999999999$salt$00",
            "scrypt:1000:8:1$salt$00",
            "scrypt:1048576:8:1$salt$00",
            "scrypt:16384:8:1$salt$not-hex",
            "pbkdf2:sha256:1000$only-salt",
            "$argon2id$v=19$m=19456,t=2,p=1$x$y",
        ] {
            assert!(!verify("correct horse", stored), "{stored}");
        }
    }
}
