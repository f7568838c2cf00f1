//! Two-factor sign-in with an authenticator app: time-based one-time codes
//! (RFC 6238: HMAC-SHA1, six digits, 30-second steps, one step of clock
//! skew either way) and ten single-use recovery codes.
//!
//! - The authenticator's secret is kept sealed under a key from `SECRET_KEY`
//!   ([`crate::auth::Secrets::seal`]): a copy of the database alone cannot
//!   make codes. Changing `SECRET_KEY` therefore unseals none; its users then
//!   sign in with a recovery code.
//! - A code is taken once: accepting it records its time step, and a later
//!   code must come from a later step (RFC 6238 section 5.2).
//! - Recovery codes are 60 random bits each, kept as SHA-256 hashes.
//! - Between the password and the code, the sign-in is carried by a ticket
//!   sealed for that purpose, valid for [`TICKET_LIFETIME`] seconds.

use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, Totp};

use crate::db;
use crate::error::AppError;
use crate::state::AppState;
use crate::time::unix_now;

/// Recovery codes made when an authenticator is confirmed.
pub const RECOVERY_CODES: usize = 10;
/// How long a sign-in waits for its second factor, in seconds.
pub const TICKET_LIFETIME: i64 = 5 * 60;
/// The issuer an authenticator app shows beside the account.
const ISSUER: &str = "SecureStamp";
const SECRET_PURPOSE: &str = "totp-secret";
const TICKET_PURPOSE: &str = "sign-in-ticket";

/// What a user's authenticator app needs to be set up.
pub struct Enrolment {
    /// The secret in base32, to type in by hand.
    pub secret: String,
    /// The `otpauth://` URL the QR code holds.
    pub otpauth_url: String,
    /// The QR code as an SVG image, drawn here.
    pub qr_svg: String,
}

/// Where a user's two-factor sign-in stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Off,
    /// An authenticator was set up and waits for a code to confirm it.
    SettingUp,
    On {
        recovery_codes_left: i64,
    },
}

/// The generator for `secret`, as every authenticator app computes it.
fn generator(secret: Vec<u8>, account: &str) -> Result<Totp, AppError> {
    totp_rs::Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_skew(1)
        .with_secret(secret)
        .with_account_name(account)
        .with_issuer(Some(ISSUER))
        .build()
        .map_err(|error| AppError::internal(format!("authenticator: {error}")))
}

fn enrolment(totp: &Totp) -> Result<Enrolment, AppError> {
    let otpauth_url = totp
        .to_url()
        .map_err(|error| AppError::internal(format!("authenticator URL: {error}")))?;
    let qr = qrcode::QrCode::new(otpauth_url.as_bytes())
        .map_err(|error| AppError::internal(format!("QR code: {error}")))?;
    let qr_svg = qr
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build();
    Ok(Enrolment {
        secret: totp.secret().to_base32(),
        otpauth_url,
        qr_svg,
    })
}

pub async fn status(state: &AppState, user_id: i32) -> Result<Status, AppError> {
    Ok(match db::two_factor::find(&state.db, user_id).await? {
        None => Status::Off,
        Some(credential) if credential.confirmed_at.is_none() => Status::SettingUp,
        Some(_) => Status::On {
            recovery_codes_left: db::two_factor::recovery_codes_left(&state.db, user_id).await?,
        },
    })
}

/// Makes a new secret for `account` (replacing one still being set up);
/// it counts once a code from it confirms it ([`confirm`]).
pub async fn begin(state: &AppState, user_id: i32, account: &str) -> Result<Enrolment, AppError> {
    let secret: [u8; 20] = rand::random();
    let sealed = state.secrets.seal(SECRET_PURPOSE, &secret);
    if !db::two_factor::begin(&state.db, user_id, &sealed).await? {
        return Err(AppError::Conflict {
            code: "two_factor_on",
            message: "Two-factor sign-in is on already: turn it off before setting up another authenticator.",
        });
    }
    tracing::info!(user_id, "two-factor set-up begun");
    enrolment(&generator(secret.to_vec(), account)?)
}

/// The authenticator being set up, to show again.
pub async fn pending(
    state: &AppState,
    user_id: i32,
    account: &str,
) -> Result<Option<Enrolment>, AppError> {
    let Some(credential) = db::two_factor::find(&state.db, user_id).await? else {
        return Ok(None);
    };
    if credential.confirmed_at.is_some() {
        return Ok(None);
    }
    let secret = unseal(state, &credential.sealed_secret)?;
    enrolment(&generator(secret, account)?).map(Some)
}

fn unseal(state: &AppState, sealed: &str) -> Result<Vec<u8>, AppError> {
    state.secrets.open(SECRET_PURPOSE, sealed).ok_or_else(|| {
        AppError::internal("an authenticator secret does not open under this SECRET_KEY")
    })
}

/// Turns two-factor sign-in on with a code from the authenticator being
/// set up; answers the recovery codes, shown this once.
pub async fn confirm(
    state: &AppState,
    user_id: i32,
    account: &str,
    code: &str,
) -> Result<Vec<String>, AppError> {
    let credential = db::two_factor::find(&state.db, user_id)
        .await?
        .filter(|credential| credential.confirmed_at.is_none())
        .ok_or_else(not_setting_up)?;
    let totp = generator(unseal(state, &credential.sealed_secret)?, account)?;
    let step = match totp.check(&digits(code), unix_now() as u64) {
        Some(step) => step as i64,
        None => {
            return Err(crate::domain::FieldError::new(
                "code",
                "That code does not match: type the six digits your app shows now.",
            )
            .into());
        }
    };
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| recovery_code()).collect();
    let hashes: Vec<String> = codes.iter().map(|code| hash_recovery_code(code)).collect();
    if !db::two_factor::confirm(&state.db, user_id, step, unix_now(), &hashes).await? {
        return Err(not_setting_up());
    }
    tracing::info!(user_id, "two-factor sign-in turned on");
    Ok(codes)
}

fn not_setting_up() -> AppError {
    AppError::Conflict {
        code: "two_factor_not_setting_up",
        message: "No authenticator is being set up: set one up first.",
    }
}

/// Whether the user signs in with a second factor.
pub async fn is_on(state: &AppState, user_id: i32) -> Result<bool, AppError> {
    Ok(db::two_factor::find(&state.db, user_id)
        .await?
        .is_some_and(|credential| credential.confirmed_at.is_some()))
}

/// Which second factor a sign-in was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Factor {
    Authenticator,
    RecoveryCode,
}

impl Factor {
    pub fn describe(self) -> &'static str {
        match self {
            Factor::Authenticator => "with an authenticator code",
            Factor::RecoveryCode => "with a recovery code",
        }
    }
}

/// Takes `code`, the authenticator's or a recovery code, once: `None` for
/// a wrong code, a code of a step already taken, or a spent recovery code.
pub async fn check(
    state: &AppState,
    user_id: i32,
    account: &str,
    code: &str,
) -> Result<Option<Factor>, AppError> {
    let Some(credential) = db::two_factor::find(&state.db, user_id)
        .await?
        .filter(|credential| credential.confirmed_at.is_some())
    else {
        return Ok(None);
    };
    let typed = digits(code);
    if typed.len() == 6 && typed.bytes().all(|b| b.is_ascii_digit()) {
        // A secret that no longer opens leaves the recovery codes.
        let Some(secret) = state
            .secrets
            .open(SECRET_PURPOSE, &credential.sealed_secret)
        else {
            tracing::error!(
                user_id,
                "an authenticator secret does not open under this SECRET_KEY"
            );
            return Ok(None);
        };
        let totp = generator(secret, account)?;
        let taken = match totp.check(&typed, unix_now() as u64) {
            Some(step) => db::two_factor::take_step(&state.db, user_id, step as i64).await?,
            None => false,
        };
        return Ok(taken.then_some(Factor::Authenticator));
    }
    let hash = hash_recovery_code(code);
    let spent = db::two_factor::spend_recovery_code(&state.db, user_id, &hash, unix_now()).await?;
    Ok(spent.then_some(Factor::RecoveryCode))
}

/// Turns two-factor sign-in off: the authenticator and the recovery codes go.
pub async fn turn_off(state: &AppState, user_id: i32) -> Result<(), AppError> {
    db::two_factor::remove(&state.db, user_id).await?;
    tracing::info!(user_id, "two-factor sign-in turned off");
    Ok(())
}

/// What was typed, without the spaces and dashes apps and people add.
fn digits(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect()
}

/// 60 random bits as three groups of four base32 characters: `abcd-efgh-jkmn`.
fn recovery_code() -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghjkmnpqrstuvwxyz023456789";
    let bits: u64 = rand::random();
    let chars: Vec<u8> = (0..12)
        .map(|i| ALPHABET[((bits >> (i * 5)) & 31) as usize])
        .collect();
    format!(
        "{}-{}-{}",
        std::str::from_utf8(&chars[0..4]).expect("ASCII"),
        std::str::from_utf8(&chars[4..8]).expect("ASCII"),
        std::str::from_utf8(&chars[8..12]).expect("ASCII"),
    )
}

/// The stored form of a recovery code: SHA-256 of it in lower case without
/// spaces or dashes, so that however it is typed it matches.
fn hash_recovery_code(code: &str) -> String {
    hex::encode(Sha256::digest(digits(code).to_lowercase().as_bytes()))
}

/// A sign-in that passed its password and waits for its second factor.
pub fn ticket(state: &AppState, user_id: i32) -> String {
    let expires = unix_now() + TICKET_LIFETIME;
    state
        .secrets
        .seal(TICKET_PURPOSE, format!("{user_id}:{expires}").as_bytes())
}

/// The user whose sign-in `ticket` carries, while it is valid.
pub fn read_ticket(state: &AppState, ticket: &str) -> Option<i32> {
    let opened = state.secrets.open(TICKET_PURPOSE, ticket.trim())?;
    let (user_id, expires) = std::str::from_utf8(&opened).ok()?.split_once(':')?;
    let expires: i64 = expires.parse().ok()?;
    (unix_now() <= expires).then_some(())?;
    user_id.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_rfc_6238() {
        // RFC 6238 appendix B, SHA-1, with its 20-byte secret: 94287082 at
        // T = 59 s and 07081804 at 1111111109 s; six digits keep the last six.
        let totp = generator(b"12345678901234567890".to_vec(), "alice").unwrap();
        assert_eq!(totp.generate(59).to_string(), "287082");
        assert_eq!(totp.generate(1111111109).to_string(), "081804");
        // One step of skew either way, no more.
        assert_eq!(totp.check("287082", 59 + 30), Some(1));
        assert_eq!(totp.check("287082", 59 + 60), None);
    }

    #[test]
    fn recovery_codes_are_random_and_match_however_typed() {
        let code = recovery_code();
        assert_eq!(code.len(), 14);
        assert_ne!(code, recovery_code());
        let typed = format!(" {} ", code.to_uppercase().replace('-', " "));
        assert_eq!(hash_recovery_code(&typed), hash_recovery_code(&code));
        assert_ne!(
            hash_recovery_code(&recovery_code()),
            hash_recovery_code(&code)
        );
    }
}
