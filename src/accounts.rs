//! Accounts as a service: registering and signing in, with the throttle,
//! the password check and the new session; the handlers in
//! `handlers/auth/` add only the HTTP around it.

use crate::auth::{SessionToken, Verdict};
use crate::config::Registration;
use crate::db;
use crate::db::users::{CreateUserError, User};
use crate::domain::{Email, Password, Username};
use crate::error::AppError;
use crate::state::AppState;
use crate::throttle::{self, Target};
use crate::time::{secs, unix_now};
use crate::two_factor;
use crate::web::client::ClientInfo;

/// A successful sign-in: the account and the new session's token, for its cookie.
pub struct SignedIn {
    pub user: User,
    pub session: SessionToken,
}

/// Where a sign-in stands after its password.
pub enum SignInStep {
    Done(SignedIn),
    /// The account signs in with a second factor too: the code goes with
    /// this ticket to [`finish_sign_in`].
    SecondFactor {
        ticket: String,
    },
}

/// Signs `login` (a username or an email) in with `password`, ending
/// `previous_session` if the visitor had one: a token planted before the
/// sign-in can never be promoted. An account with two-factor sign-in gets
/// a ticket for its second step instead of a session.
pub async fn sign_in(
    state: &AppState,
    login: &str,
    password: &Password,
    previous_session: Option<&str>,
    client: &ClientInfo,
) -> Result<SignInStep, AppError> {
    let user = check_password(state, login, password, client).await?;
    if two_factor::is_on(state, user.id).await? {
        return Ok(SignInStep::SecondFactor {
            ticket: two_factor::ticket(state, user.id),
        });
    }
    start_session(state, user, previous_session, client, None)
        .await
        .map(SignInStep::Done)
}

/// The second step of a sign-in: the code from the authenticator (or a
/// recovery code) for the account its ticket names, under the same
/// throttle as passwords.
pub async fn finish_sign_in(
    state: &AppState,
    ticket: &str,
    code: &str,
    previous_session: Option<&str>,
    client: &ClientInfo,
) -> Result<SignedIn, AppError> {
    let user = match two_factor::read_ticket(state, ticket) {
        Some(user_id) => db::users::find(&state.db, user_id).await?,
        None => None,
    };
    let Some(user) = user else {
        return Err(AppError::InvalidCode(
            "This sign-in took too long: start again with your password.",
        ));
    };
    let attempt = throttle::attempt(
        &state.db,
        &state.secrets,
        Target::Account(user.id),
        client,
        unix_now(),
    )
    .await?;
    let Some(factor) = two_factor::check(state, user.id, &user.username, code).await? else {
        attempt.failed();
        tracing::info!(user_id = user.id, "second factor refused");
        audit(
            state,
            user.id,
            "sign_in_refused",
            Some("wrong or used second-factor code"),
            client,
        )
        .await?;
        return Err(wrong_code());
    };
    attempt.passed(&state.db).await?;
    start_session(
        state,
        user,
        previous_session,
        client,
        Some(factor.describe()),
    )
    .await
}

/// Records `event` in the user's audit trail, with the client's address and device.
pub async fn audit(
    state: &AppState,
    user_id: i32,
    event: &str,
    detail: Option<&str>,
    client: &ClientInfo,
) -> Result<(), AppError> {
    db::audit::record(&state.db, user_id, event, detail, client, unix_now()).await?;
    Ok(())
}

fn wrong_code() -> AppError {
    AppError::InvalidCode("That code is not right, or it was used already.")
}

/// Checks the user's password and, if they sign in with one, their second
/// factor: what turning two-factor sign-in off (or deleting the account) asks.
pub async fn confirm_identity(
    state: &AppState,
    user_id: i32,
    password: &Password,
    code: &str,
    client: &ClientInfo,
) -> Result<(), AppError> {
    let user = own_account(state, user_id).await?;
    check_password(state, &user.username, password, client).await?;
    if two_factor::is_on(state, user.id).await?
        && two_factor::check(state, user.id, &user.username, code)
            .await?
            .is_none()
    {
        return Err(wrong_code());
    }
    Ok(())
}

/// Deletes the account, once its password and (if it has one) its second
/// factor are checked: its files leave storage (a content another account
/// also stored stays for it), then the account and everything that names
/// it. The files' stamps stay in the append-only log. Returns how many
/// files were deleted. An interrupted deletion is finished by running it again.
pub async fn delete_account(
    state: &AppState,
    user_id: i32,
    password: &Password,
    code: &str,
    client: &ClientInfo,
) -> Result<u64, AppError> {
    confirm_identity(state, user_id, password, code, client).await?;
    let files = crate::vault::delete_all(&state.db, &state.storage, user_id).await?;
    db::users::delete(&state.db, user_id).await?;
    tracing::info!(user_id, files, "account deleted");
    Ok(files)
}

/// Opens a session for `user`, ending `previous_session`.
async fn start_session(
    state: &AppState,
    user: User,
    previous_session: Option<&str>,
    client: &ClientInfo,
    second_factor: Option<&str>,
) -> Result<SignedIn, AppError> {
    if let Some(old) = previous_session {
        db::sessions::delete(&state.db, old).await?;
    }
    let session = SessionToken::generate();
    let now = unix_now();
    db::sessions::create(
        &state.db,
        state.secrets.session_id(&session),
        user.id,
        now,
        now.saturating_add(secs(state.config.session_lifetime)),
        client,
    )
    .await?;
    audit(state, user.id, "signed_in", second_factor, client).await?;
    tracing::info!(user_id = user.id, "signed in");
    Ok(SignedIn { user, session })
}

/// The account whose password this is, under the failure throttle; a
/// legacy hash that verified is replaced by Argon2id.
///
/// Each attempt takes its place in the throttle before its password is
/// checked, so that attempts sent all at once are counted as they arrive:
/// never more than the limit of them is checked, however many race. The
/// place is handed back when the password was right, or when it could not
/// be checked. A crowd too large for the password workers is refused before
/// it is counted.
async fn check_password(
    state: &AppState,
    login: &str,
    password: &Password,
    client: &ClientInfo,
) -> Result<User, AppError> {
    let now = unix_now();
    let account = db::users::find_by_login(&state.db, login).await?;
    // One allowance per account, whether it is named by username or email.
    let target = match &account {
        Some(account) => Target::Account(account.id),
        None => Target::Unknown(login),
    };
    // A place at the password workers first: refusing a crowd costs nothing.
    let place = state.passwords.place()?;
    let attempt = throttle::attempt(&state.db, &state.secrets, target, client, now).await?;
    let stored = account.as_ref().map(|user| user.password_hash.clone());
    // Same work and the same answer whether the account is unknown or the password wrong.
    let verdict = match state.passwords.verify(place, password, stored).await {
        Ok(verdict) => verdict,
        Err(error) => {
            attempt.not_tried(&state.db).await?;
            return Err(error.into());
        }
    };
    let account = match (verdict, account) {
        (Verdict::Accepted | Verdict::AcceptedNeedsRehash, Some(account)) => account,
        (_, account) => {
            attempt.failed();
            tracing::info!("sign-in refused");
            if let Some(account) = account {
                audit(
                    state,
                    account.id,
                    "sign_in_refused",
                    Some("wrong password"),
                    client,
                )
                .await?;
            }
            return Err(AppError::InvalidCredentials);
        }
    };
    attempt.passed(&state.db).await?;
    if account.disabled_at.is_some() {
        tracing::info!(
            user_id = account.id,
            "sign-in refused: the account is disabled"
        );
        return Err(AppError::Forbidden(
            "This account is disabled: ask the site's operator.",
        ));
    }
    if verdict == Verdict::AcceptedNeedsRehash {
        let hash = state.passwords.hash(password).await?;
        db::users::set_password_hash(&state.db, account.id, hash).await?;
        tracing::info!(
            user_id = account.id,
            "moved a legacy password hash to Argon2id"
        );
    }
    Ok(account)
}

/// Changes the user's password, once `current` is checked (under the
/// sign-in throttle: a stolen session cannot guess it either), and ends every
/// other session of theirs: whoever signed in with the old password is out.
pub async fn change_password(
    state: &AppState,
    user_id: i32,
    current: &Password,
    new: &Password,
    this_session: &str,
    client: &ClientInfo,
) -> Result<u64, AppError> {
    let user = own_account(state, user_id).await?;
    check_password(state, &user.username, current, client).await?;
    let hash = state.passwords.hash(new).await?;
    db::users::set_password_hash(&state.db, user.id, hash).await?;
    let ended = db::sessions::delete_others(&state.db, user.id, this_session).await?;
    let detail = format!("{ended} other session(s) ended");
    audit(state, user_id, "password_changed", Some(&detail), client).await?;
    tracing::info!(user_id, ended, "password changed");
    Ok(ended)
}

/// Changes the user's email address, once their password is checked.
pub async fn change_email(
    state: &AppState,
    user_id: i32,
    password: &Password,
    email: &Email,
    client: &ClientInfo,
) -> Result<(), AppError> {
    let user = own_account(state, user_id).await?;
    check_password(state, &user.username, password, client).await?;
    match db::users::set_email(&state.db, user.id, email).await {
        Ok(()) => {
            let detail = format!("from {} to {}", user.email, email.as_str());
            audit(state, user_id, "email_changed", Some(&detail), client).await?;
            tracing::info!(user_id, "email changed");
            Ok(())
        }
        Err(CreateUserError::EmailTaken | CreateUserError::UsernameTaken) => Err(email_taken()),
        Err(CreateUserError::Db(error)) => Err(error.into()),
    }
}

async fn own_account(state: &AppState, user_id: i32) -> Result<User, AppError> {
    db::users::find(&state.db, user_id)
        .await?
        .ok_or(AppError::Unauthenticated)
}

fn email_taken() -> AppError {
    AppError::Conflict {
        code: "email_taken",
        message: "An account with that email already exists.",
    }
}

/// Creates an account; the user signs in afterwards. `REGISTRATION`
/// decides who may: anyone, only the holder of an unused `invite`, or no one.
pub async fn register(
    state: &AppState,
    username: &Username,
    email: &Email,
    password: &Password,
    invite: Option<&str>,
) -> Result<User, AppError> {
    let spent_invite = match state.config.registration {
        Registration::Open => None,
        Registration::Closed => {
            return Err(AppError::Forbidden(
                "This server is not taking new accounts.",
            ));
        }
        Registration::Invite => {
            let hash = invite.map(invite_hash).unwrap_or_default();
            if !db::invites::spend(&state.db, &hash, unix_now()).await? {
                return Err(AppError::Forbidden(
                    "This server takes new accounts by invitation: the invite code is missing, used or expired.",
                ));
            }
            Some(hash)
        }
    };
    let created = create_account(state, username, email, password).await;
    if created.is_err()
        && let Some(hash) = &spent_invite
    {
        // The name was taken, say: the invite may be used again.
        db::invites::unspend(&state.db, hash).await?;
    }
    created
}

async fn create_account(
    state: &AppState,
    username: &Username,
    email: &Email,
    password: &Password,
) -> Result<User, AppError> {
    let hash = state.passwords.hash(password).await?;
    match db::users::create(&state.db, username, email, hash).await {
        Ok(user) => {
            tracing::info!(user_id = user.id, "account created");
            Ok(user)
        }
        Err(CreateUserError::UsernameTaken) => Err(AppError::Conflict {
            code: "username_taken",
            message: "That username is already taken.",
        }),
        Err(CreateUserError::EmailTaken) => Err(email_taken()),
        Err(CreateUserError::Db(error)) => Err(error.into()),
    }
}

/// A new invite code, valid for `days`; only its hash is kept.
pub async fn invite(db: &sea_orm::DatabaseConnection, days: u32) -> Result<String, sea_orm::DbErr> {
    use base64::Engine;
    let bytes: [u8; 18] = rand::random();
    let code = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let now = unix_now();
    db::invites::create(
        db,
        &invite_hash(&code),
        now,
        now + i64::from(days) * 24 * 60 * 60,
    )
    .await?;
    Ok(code)
}

fn invite_hash(code: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(code.trim().as_bytes()))
}
