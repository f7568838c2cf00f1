//! `POST /auth/login/second-factor`: the code from the authenticator app (or
//! a recovery code) that finishes a two-factor sign-in.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::login::{SignedInAnswer, signed_in_response};
use crate::accounts;
use crate::domain::NextPath;
use crate::error::AppError;
use crate::openapi::ErrorBody;
use crate::state::AppState;
use crate::web::pages::SecondFactorPage;
use crate::web::{Format, Input, Visitor};

/// The password was right; the sign-in waits for its second factor.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecondFactorRequired {
    /// Always `true`.
    second_factor_required: bool,
    /// Sent back with the code; valid for five minutes.
    ticket: String,
    message: &'static str,
}

/// Asks for the code of the sign-in `ticket` carries; `error` says why the
/// last one was refused.
pub(super) fn ask(
    state: &AppState,
    visitor: &Visitor,
    format: Format,
    ticket: String,
    next: Option<NextPath>,
    error: Option<AppError>,
) -> Response {
    match format {
        Format::Json => (
            StatusCode::ACCEPTED,
            Json(SecondFactorRequired {
                second_factor_required: true,
                ticket,
                message: "Send the code from your authenticator app, or a recovery code.",
            }),
        )
            .into_response(),
        Format::Html => {
            let status = error.as_ref().map_or(StatusCode::OK, AppError::status);
            let page = SecondFactorPage {
                layout: visitor.layout(state, "Two-factor sign-in"),
                ticket,
                next: next.map(|n| n.as_str().to_owned()),
                error: error.map(|e| e.to_string()),
            };
            (status, page).into_response()
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct SecondFactorForm {
    /// The ticket the password step answered.
    ticket: String,
    /// Six digits from the authenticator app, or a recovery code.
    code: String,
    /// Where a browser goes next: a path on this site.
    next: Option<String>,
}

#[utoipa::path(
    post,
    path = "/auth/login/second-factor",
    operation_id = "login_second_factor",
    tag = "accounts",
    summary = "Finish a two-factor sign-in",
    description = "Each code is taken once: a code of a time step already used, or a spent recovery code, is refused.",
    request_body(content(
        (SecondFactorForm = "application/json"),
        (SecondFactorForm = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = OK, description = "Signed in.", body = SignedInAnswer, headers(("set-cookie" = String, description = "The session cookie."))),
        (status = UNAUTHORIZED, description = "The code is wrong or used (`invalid_code`), or the ticket expired.", body = ErrorBody),
        (status = TOO_MANY_REQUESTS, description = "Too many wrong codes or passwords for this account.", body = ErrorBody, headers(("retry-after" = u64))),
    ),
    security(("csrf" = [])),
)]
pub async fn submit(
    State(state): State<AppState>,
    visitor: Visitor,
    format: Format,
    Input(form): Input<SecondFactorForm>,
) -> Result<Response, AppError> {
    let next = form.next.as_deref().and_then(NextPath::parse);
    let finished = accounts::finish_sign_in(
        &state,
        &form.ticket,
        &form.code,
        visitor.session_id.as_deref(),
        &visitor.client,
    )
    .await;
    match (finished, format) {
        (Ok(signed_in), _) => Ok(signed_in_response(
            &state, &visitor, format, signed_in, next,
        )),
        (Err(error @ (AppError::InvalidCode(_) | AppError::RateLimited { .. })), Format::Html) => {
            Ok(ask(
                &state,
                &visitor,
                format,
                form.ticket,
                next,
                Some(error),
            ))
        }
        (Err(error), _) => Err(error),
    }
}
