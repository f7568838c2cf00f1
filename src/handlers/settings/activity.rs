//! `/settings/activity`: the account's audit trail, newest first: sign-ins
//! and refused attempts, second-factor, token, password, email and session
//! changes, each with its time, address and device.

use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db;
use crate::error::AppError;
use crate::openapi::ErrorBody;
use crate::state::AppState;
use crate::time::{display, unix_rfc3339};
use crate::web::pages::{ActivityPage, EventView};
use crate::web::{CurrentUser, Format, Visitor};

/// Events a page holds.
const PAGE_SIZE: u32 = 50;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct ActivityQuery {
    /// Events older than this one (the `next` link of the previous page).
    before: Option<i64>,
}

/// One thing that happened to the account.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventObject {
    id: i64,
    /// `signed_in`, `sign_in_refused`, `two_factor_on`, `two_factor_off`,
    /// `token_created`, `token_revoked`, `password_changed`, `email_changed`,
    /// `session_ended`, `signed_out_everywhere` or `file_deleted`.
    event: String,
    detail: Option<String>,
    client_address: Option<String>,
    device: Option<String>,
    at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityAnswer {
    events: Vec<EventObject>,
    /// The next page, if there may be one.
    next: Option<String>,
}

/// What each event is called on the page.
fn describe(event: &str) -> &'static str {
    match event {
        "signed_in" => "Signed in",
        "sign_in_refused" => "Sign-in refused",
        "two_factor_on" => "Two-factor sign-in turned on",
        "two_factor_off" => "Two-factor sign-in turned off",
        "token_created" => "API token created",
        "token_revoked" => "API token revoked",
        "password_changed" => "Password changed",
        "email_changed" => "Email changed",
        "session_ended" => "Session ended",
        "signed_out_everywhere" => "Signed out everywhere",
        "file_deleted" => "File deleted",
        _ => "Account changed",
    }
}

#[utoipa::path(
    get,
    path = "/settings/activity",
    operation_id = "activity",
    tag = "accounts",
    summary = "The account's audit trail",
    params(ActivityQuery),
    responses(
        (status = OK, description = "Events, newest first, 50 a page.", body = ActivityAnswer),
        (status = FORBIDDEN, description = "Asked with an API token.", body = ErrorBody),
    ),
    security(("session" = [])),
)]
pub async fn index(
    State(state): State<AppState>,
    user: CurrentUser,
    visitor: Visitor,
    format: Format,
    Query(query): Query<ActivityQuery>,
) -> Result<Response, AppError> {
    super::session_only(
        &user,
        "The activity is read from a signed-in session, not with a token.",
    )?;
    let events = db::audit::list(&state.db, user.id, query.before, PAGE_SIZE).await?;
    let next = (events.len() == PAGE_SIZE as usize)
        .then(|| {
            events
                .last()
                .map(|e| format!("/settings/activity?before={}", e.id))
        })
        .flatten();
    Ok(match format {
        Format::Json => Json(ActivityAnswer {
            events: events
                .into_iter()
                .map(|e| EventObject {
                    id: e.id,
                    event: e.event,
                    detail: e.detail,
                    client_address: e.client_address,
                    device: e.device,
                    at: unix_rfc3339(e.created_at),
                })
                .collect(),
            next,
        })
        .into_response(),
        Format::Html => ActivityPage {
            layout: visitor.layout(&state, "Activity"),
            events: events
                .into_iter()
                .map(|e| EventView {
                    what: describe(&e.event),
                    detail: e.detail.unwrap_or_default(),
                    client_address: e.client_address.unwrap_or_else(|| "unknown".into()),
                    device: e
                        .device
                        .as_deref()
                        .map(crate::web::client::describe_device)
                        .unwrap_or_default(),
                    user_agent: e.device.unwrap_or_default(),
                    at: display(e.created_at),
                })
                .collect(),
            next,
        }
        .into_response(),
    })
}
