//! `GET /files` (every file, paginated) and the dashboard's newest files.

use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::{file_json, view};
use crate::db;
use crate::domain::FileId;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::pages::{DashboardPage, FilesPage};
use crate::web::{CurrentUser, Format, Visitor};

const DEFAULT_PAGE: u64 = 50;
const MAX_PAGE: u64 = 200;
const DASHBOARD_FILES: u64 = 20;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PageQuery {
    /// Show files older than this id (the previous page's last).
    before: Option<String>,
    limit: Option<u64>,
}

pub async fn index(
    State(state): State<AppState>,
    user: CurrentUser,
    visitor: Visitor,
    format: Format,
    Query(query): Query<PageQuery>,
) -> Result<Response, AppError> {
    let before = match query.before.as_deref() {
        Some(raw) => Some(
            FileId::parse(raw)
                .ok_or_else(|| AppError::BadRequest("`before` must be a file id.".into()))?,
        ),
        None => None,
    };
    let limit = query.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    // One more than shown tells whether an older page exists.
    let mut files = db::files::page(&state.db, user.id, before, limit + 1).await?;
    let more = files.len() as u64 > limit;
    files.truncate(limit as usize);
    let next = files
        .last()
        .filter(|_| more)
        .map(|last| format!("/files?before={}&limit={limit}", last.id));
    Ok(match format {
        Format::Json => Json(json!({
            "files": files.iter().map(file_json).collect::<Vec<_>>(),
            "next": next,
        }))
        .into_response(),
        Format::Html => FilesPage {
            layout: visitor.layout(&state, "All files"),
            files: files.iter().map(view).collect(),
            next,
            first_page: before.is_none(),
        }
        .into_response(),
    })
}

/// `GET /dashboard`: the newest files.
pub async fn dashboard(
    State(state): State<AppState>,
    user: CurrentUser,
    visitor: Visitor,
    format: Format,
) -> Result<Response, AppError> {
    let mut files = db::files::page(&state.db, user.id, None, DASHBOARD_FILES + 1).await?;
    let more = files.len() as u64 > DASHBOARD_FILES;
    files.truncate(DASHBOARD_FILES as usize);
    Ok(match format {
        Format::Json => Json(json!({
            "user": crate::handlers::auth::user_json(&user),
            "files": files.iter().map(file_json).collect::<Vec<_>>(),
            "more": more,
        }))
        .into_response(),
        Format::Html => DashboardPage {
            layout: visitor.layout(&state, "Dashboard"),
            files: files.iter().map(view).collect(),
            more,
        }
        .into_response(),
    })
}
