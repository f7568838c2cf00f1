//! `GET /dashboard`: the signed-in user's files, newest first.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::state::AppState;
use crate::web::pages::DashboardPage;
use crate::web::{CurrentUser, Format, Visitor};

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    visitor: Visitor,
    format: Format,
) -> Response {
    match format {
        Format::Json => Json(json!({
            "user": super::auth::user_json(&user),
            "files": [],
        }))
        .into_response(),
        Format::Html => DashboardPage {
            layout: visitor.layout(&state, "Dashboard"),
        }
        .into_response(),
    }
}
