//! `/settings/sessions`: where the user is signed in (device, address,
//! signed in, last seen), ending any one of those sessions, and signing out
//! everywhere. From a signed-in session only; the end takes effect at once,
//! since every request looks its session up.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::accounts;
use crate::db;
use crate::error::AppError;
use crate::handlers::auth::redirect_with_flash;
use crate::openapi::ErrorBody;
use crate::state::AppState;
use crate::time::{display, unix_now, unix_rfc3339};
use crate::web::client::describe_device;
use crate::web::cookies::{self, Name};
use crate::web::pages::{FlashKind, SessionView, SessionsPage};
use crate::web::{CurrentUser, Format, Visitor};

const PAGE: &str = "/settings/sessions";

/// The session making the request: these pages are a session's, not a token's.
fn this_session(user: &CurrentUser, visitor: &Visitor) -> Result<String, AppError> {
    super::session_only(
        user,
        "Sessions are managed from a signed-in session, not with a token.",
    )?;
    visitor.session_id.clone().ok_or(AppError::Unauthenticated)
}

/// One place the user is signed in.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionObject {
    /// Names the session in `/settings/sessions/{id}/end`.
    id: String,
    /// The browser or program it signed in with (its `User-Agent`).
    device: Option<String>,
    /// The address it signed in from.
    client_address: Option<String>,
    signed_in_at: String,
    last_seen_at: String,
    /// Whether this is the session asking.
    current: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionsAnswer {
    /// Most recently seen first.
    sessions: Vec<SessionObject>,
}

#[utoipa::path(
    get,
    path = "/settings/sessions",
    operation_id = "sessions",
    tag = "accounts",
    summary = "Where the account is signed in",
    responses(
        (status = OK, description = "The live sessions.", body = SessionsAnswer),
        (status = FORBIDDEN, description = "Asked with an API token.", body = ErrorBody),
    ),
    security(("session" = [])),
)]
pub async fn index(
    State(state): State<AppState>,
    user: CurrentUser,
    visitor: Visitor,
    format: Format,
) -> Result<Response, AppError> {
    let current = this_session(&user, &visitor)?;
    let sessions = db::sessions::list_live(
        &state.db,
        user.id,
        unix_now(),
        state.config.session_idle_timeout,
    )
    .await?;
    Ok(match format {
        Format::Json => Json(SessionsAnswer {
            sessions: sessions
                .into_iter()
                .map(|session| SessionObject {
                    current: session.id == current,
                    signed_in_at: unix_rfc3339(session.created_at),
                    last_seen_at: unix_rfc3339(session.last_seen_at),
                    id: session.id,
                    device: session.device,
                    client_address: session.client_address,
                })
                .collect(),
        })
        .into_response(),
        Format::Html => SessionsPage {
            layout: visitor.layout(&state, "Sessions"),
            sessions: sessions
                .into_iter()
                .map(|session| SessionView {
                    current: session.id == current,
                    signed_in_at: display(session.created_at),
                    last_seen_at: display(session.last_seen_at),
                    id: session.id,
                    device: session
                        .device
                        .as_deref()
                        .map_or_else(|| "Unknown device".into(), describe_device),
                    user_agent: session.device.unwrap_or_default(),
                    client_address: session.client_address.unwrap_or_else(|| "unknown".into()),
                })
                .collect(),
        }
        .into_response(),
    })
}

#[utoipa::path(
    post,
    path = "/settings/sessions/{id}/end",
    operation_id = "end_session",
    tag = "accounts",
    summary = "End one session",
    description = "Its next request is signed out. Ending the current session signs this client out.",
    params(("id" = String, Path, description = "The session's id, from the list.")),
    responses(
        (status = NO_CONTENT, description = "Ended."),
        (status = SEE_OTHER, description = "Ended; a browser goes back to the list (or to sign in)."),
        (status = FORBIDDEN, description = "Asked with an API token.", body = ErrorBody),
        (status = NOT_FOUND, description = "No such session of this account.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = [])),
)]
pub async fn end(
    State(state): State<AppState>,
    user: CurrentUser,
    visitor: Visitor,
    format: Format,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let current = this_session(&user, &visitor)?;
    let ended = db::sessions::list_live(
        &state.db,
        user.id,
        unix_now(),
        state.config.session_idle_timeout,
    )
    .await?
    .into_iter()
    .find(|session| session.id == id);
    let Some(ended) = ended else {
        return Err(AppError::NotFound);
    };
    if !db::sessions::delete_own(&state.db, user.id, &id).await? {
        return Err(AppError::NotFound);
    }
    let detail = ended.device.unwrap_or_else(|| "unknown device".into());
    accounts::audit(
        &state,
        user.id,
        "session_ended",
        Some(&detail),
        &visitor.client,
    )
    .await?;
    let signed_out = id == current;
    Ok(answer(
        &state,
        &visitor,
        format,
        signed_out,
        StatusCode::NO_CONTENT.into_response(),
        "The session was ended.",
    ))
}

/// How many sessions "sign out everywhere" ended.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionsEnded {
    sessions_ended: u64,
}

#[utoipa::path(
    post,
    path = "/settings/sessions/end-all",
    operation_id = "end_all_sessions",
    tag = "accounts",
    summary = "Sign out everywhere",
    description = "Every session of the account ends, this one included. API tokens are not affected.",
    responses(
        (status = OK, description = "Signed out everywhere.", body = SessionsEnded),
        (status = SEE_OTHER, description = "Signed out; a browser goes to sign in."),
        (status = FORBIDDEN, description = "Asked with an API token.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = [])),
)]
pub async fn end_all(
    State(state): State<AppState>,
    user: CurrentUser,
    visitor: Visitor,
    format: Format,
) -> Result<Response, AppError> {
    this_session(&user, &visitor)?;
    let ended = db::sessions::delete_all(&state.db, user.id).await?;
    let detail = format!("{ended} session(s) ended");
    accounts::audit(
        &state,
        user.id,
        "signed_out_everywhere",
        Some(&detail),
        &visitor.client,
    )
    .await?;
    let json = Json(SessionsEnded {
        sessions_ended: ended,
    })
    .into_response();
    Ok(answer(
        &state,
        &visitor,
        format,
        true,
        json,
        "You were signed out everywhere.",
    ))
}

/// The JSON answer, or a browser's way on: back to the list, or to sign in
/// when its own session ended (its cookie is cleared).
fn answer(
    state: &AppState,
    visitor: &Visitor,
    format: Format,
    signed_out: bool,
    json: Response,
    message: &str,
) -> Response {
    let mut response = match format {
        Format::Json => json,
        Format::Html => redirect_with_flash(
            state,
            visitor.secure,
            if signed_out { "/auth/login" } else { PAGE },
            FlashKind::Success,
            message,
        ),
    };
    if signed_out {
        cookies::set(
            &mut response,
            &cookies::removal(Name::Session, visitor.secure),
        );
    }
    response
}
