//! `/settings/two-factor`: setting up an authenticator app, confirming it
//! with a code (which shows the recovery codes, once), and turning
//! two-factor sign-in off with the password and a code. From a signed-in
//! session only, as HTML forms (no JavaScript needed) and JSON.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts;
use crate::domain::Password;
use crate::error::AppError;
use crate::handlers::auth::redirect_with_flash;
use crate::openapi::ErrorBody;
use crate::state::AppState;
use crate::two_factor::{self, Enrolment, Status};
use crate::web::pages::{FlashKind, TwoFactorPage};
use crate::web::{CurrentUser, Format, Input, Visitor};

const PAGE: &str = "/settings/two-factor";

fn session_only(user: &CurrentUser) -> Result<(), AppError> {
    super::session_only(
        user,
        "Two-factor sign-in is changed from a signed-in session, not with a token.",
    )
}

/// An authenticator to set up, as JSON.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnrolmentAnswer {
    /// The secret in base32, for typing in by hand.
    secret: String,
    /// The `otpauth://totp/…` URL the QR code holds.
    otpauth_url: String,
    /// The QR code, an SVG image.
    qr_svg: String,
}

impl From<Enrolment> for EnrolmentAnswer {
    fn from(enrolment: Enrolment) -> Self {
        EnrolmentAnswer {
            secret: enrolment.secret,
            otpauth_url: enrolment.otpauth_url,
            qr_svg: enrolment.qr_svg,
        }
    }
}

/// Where the account's two-factor sign-in stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct TwoFactorAnswer {
    /// `off`, `setting_up` (waiting for a code to confirm it) or `on`.
    status: &'static str,
    /// With `on`: unused recovery codes.
    recovery_codes_left: Option<i64>,
    /// With `setting_up`: the authenticator to set up.
    enrolment: Option<EnrolmentAnswer>,
}

async fn current(
    state: &AppState,
    user: &CurrentUser,
) -> Result<(Status, Option<Enrolment>), AppError> {
    let status = two_factor::status(state, user.id).await?;
    let enrolment = match status {
        Status::SettingUp => two_factor::pending(state, user.id, &user.username).await?,
        _ => None,
    };
    Ok((status, enrolment))
}

/// The page for `status`, with what was just made or refused.
async fn page(
    state: &AppState,
    visitor: &Visitor,
    user: &CurrentUser,
    recovery_codes: Vec<String>,
    error: Option<String>,
) -> Result<TwoFactorPage, AppError> {
    let (status, enrolment) = current(state, user).await?;
    let (on, codes_left) = match status {
        Status::On {
            recovery_codes_left,
        } => (true, recovery_codes_left),
        _ => (false, 0),
    };
    Ok(TwoFactorPage {
        layout: visitor.layout(state, "Two-factor sign-in"),
        username: user.username.clone(),
        on,
        recovery_codes_left: codes_left,
        secret: enrolment.as_ref().map(|e| e.secret.clone()),
        qr_svg: enrolment.map(|e| e.qr_svg),
        recovery_codes,
        error,
    })
}

#[utoipa::path(
    get,
    path = "/settings/two-factor",
    operation_id = "two_factor",
    tag = "accounts",
    summary = "Two-factor sign-in: where it stands",
    responses(
        (status = OK, description = "Off, being set up (with the authenticator to set up) or on.", body = TwoFactorAnswer),
        (status = FORBIDDEN, description = "Asked with an API token.", body = ErrorBody),
    ),
    security(("session" = [])),
)]
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    visitor: Visitor,
    format: Format,
) -> Result<Response, AppError> {
    session_only(&user)?;
    match format {
        Format::Json => {
            let (status, enrolment) = current(&state, &user).await?;
            Ok(Json(answer(status, enrolment)).into_response())
        }
        Format::Html => Ok(page(&state, &visitor, &user, Vec::new(), None)
            .await?
            .into_response()),
    }
}

fn answer(status: Status, enrolment: Option<Enrolment>) -> TwoFactorAnswer {
    let (status, recovery_codes_left) = match status {
        Status::Off => ("off", None),
        Status::SettingUp => ("setting_up", None),
        Status::On {
            recovery_codes_left,
        } => ("on", Some(recovery_codes_left)),
    };
    TwoFactorAnswer {
        status,
        recovery_codes_left,
        enrolment: enrolment.map(EnrolmentAnswer::from),
    }
}

#[utoipa::path(
    post,
    path = "/settings/two-factor/setup",
    operation_id = "two_factor_setup",
    tag = "accounts",
    summary = "Set up an authenticator app",
    description = "Makes a new secret, replacing one still being set up. It counts once a code from it is sent to `/settings/two-factor/confirm`.",
    responses(
        (status = CREATED, description = "The authenticator to set up.", body = EnrolmentAnswer),
        (status = SEE_OTHER, description = "A browser goes to the page that shows the QR code."),
        (status = FORBIDDEN, description = "Asked with an API token.", body = ErrorBody),
        (status = CONFLICT, description = "Two-factor sign-in is on already (`two_factor_on`).", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = [])),
)]
pub async fn setup(
    State(state): State<AppState>,
    user: CurrentUser,
    format: Format,
) -> Result<Response, AppError> {
    session_only(&user)?;
    let enrolment = two_factor::begin(&state, user.id, &user.username).await?;
    Ok(match format {
        Format::Json => {
            (StatusCode::CREATED, Json(EnrolmentAnswer::from(enrolment))).into_response()
        }
        Format::Html => axum::response::Redirect::to(PAGE).into_response(),
    })
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct CodeForm {
    /// The six digits the authenticator app shows.
    code: String,
}

/// The recovery codes, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Each signs in once in place of a code; keep them somewhere safe.
    recovery_codes: Vec<String>,
}

#[utoipa::path(
    post,
    path = "/settings/two-factor/confirm",
    operation_id = "two_factor_confirm",
    tag = "accounts",
    summary = "Turn two-factor sign-in on",
    description = "With a code from the authenticator being set up. The answer holds the ten recovery codes: they are shown this once.",
    request_body(content(
        (CodeForm = "application/json"),
        (CodeForm = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = OK, description = "On; the recovery codes.", body = RecoveryCodes),
        (status = FORBIDDEN, description = "Asked with an API token.", body = ErrorBody),
        (status = CONFLICT, description = "No authenticator is being set up (`two_factor_not_setting_up`).", body = ErrorBody),
        (status = UNPROCESSABLE_ENTITY, description = "The code does not match.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = [])),
)]
pub async fn confirm(
    State(state): State<AppState>,
    user: CurrentUser,
    visitor: Visitor,
    format: Format,
    Input(form): Input<CodeForm>,
) -> Result<Response, AppError> {
    session_only(&user)?;
    let confirmed = async {
        let codes = two_factor::confirm(&state, user.id, &user.username, &form.code).await?;
        accounts::audit(&state, user.id, "two_factor_on", None, &visitor.client).await?;
        Ok::<_, AppError>(codes)
    }
    .await;
    match (confirmed, format) {
        (Ok(recovery_codes), Format::Json) => {
            Ok(Json(RecoveryCodes { recovery_codes }).into_response())
        }
        (Ok(recovery_codes), Format::Html) => {
            Ok(page(&state, &visitor, &user, recovery_codes, None)
                .await?
                .into_response())
        }
        (Err(error), Format::Html) if super::shown_on_the_page(&error) => {
            let page = page(&state, &visitor, &user, Vec::new(), Some(error.to_string())).await?;
            Ok((error.status(), page).into_response())
        }
        (Err(error), _) => Err(error),
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct TurnOffForm {
    /// The account's password.
    password: String,
    /// A code from the authenticator app, or a recovery code.
    code: String,
}

#[utoipa::path(
    post,
    path = "/settings/two-factor/disable",
    operation_id = "two_factor_disable",
    tag = "accounts",
    summary = "Turn two-factor sign-in off",
    description = "Needs the password and a code; the authenticator and the recovery codes are forgotten.",
    request_body(content(
        (TurnOffForm = "application/json"),
        (TurnOffForm = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = OK, description = "Off.", body = TwoFactorAnswer),
        (status = SEE_OTHER, description = "Off; a browser goes back to the page."),
        (status = UNAUTHORIZED, description = "The password (`invalid_credentials`) or the code (`invalid_code`) is wrong.", body = ErrorBody),
        (status = FORBIDDEN, description = "Asked with an API token.", body = ErrorBody),
        (status = TOO_MANY_REQUESTS, description = "Too many wrong passwords for this account.", body = ErrorBody, headers(("retry-after" = u64))),
    ),
    security(("session" = [], "csrf" = [])),
)]
pub async fn disable(
    State(state): State<AppState>,
    user: CurrentUser,
    visitor: Visitor,
    format: Format,
    Input(form): Input<TurnOffForm>,
) -> Result<Response, AppError> {
    session_only(&user)?;
    let outcome = async {
        let password = Password::parse_attempt(form.password)?;
        accounts::confirm_identity(&state, user.id, &password, &form.code, &visitor.client).await?;
        two_factor::turn_off(&state, user.id).await?;
        accounts::audit(&state, user.id, "two_factor_off", None, &visitor.client).await
    }
    .await;
    match (outcome, format) {
        (Ok(()), Format::Json) => Ok(Json(answer(Status::Off, None)).into_response()),
        (Ok(()), Format::Html) => Ok(redirect_with_flash(
            &state,
            visitor.secure,
            PAGE,
            FlashKind::Success,
            "Two-factor sign-in is off: your password alone signs you in now.",
        )),
        (Err(error), Format::Html) if super::shown_on_the_page(&error) => {
            let page = page(&state, &visitor, &user, Vec::new(), Some(error.to_string())).await?;
            Ok((error.status(), page).into_response())
        }
        (Err(error), _) => Err(error),
    }
}
