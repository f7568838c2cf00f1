//! `GET /files` (every file, paginated) and the dashboard's newest files.

use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{FileObject, file_objects, view};
use crate::db;
use crate::domain::FileId;
use crate::error::AppError;
use crate::openapi::ErrorBody;
use crate::state::AppState;
use crate::web::pages::{DashboardPage, FilesPage};
use crate::web::{CurrentUser, Format, Visitor};

const DEFAULT_PAGE: u64 = 50;
const MAX_PAGE: u64 = 200;
const DASHBOARD_FILES: u64 = 20;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Show files older than this id (the previous page's last).
    #[param(value_type = Option<i32>)]
    before: Option<String>,
    /// Files per page: 1 to 200, 50 if not given.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u64>,
}

/// One page of files, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct FilesAnswer {
    files: Vec<FileObject>,
    /// The next (older) page, or `null` on the last.
    #[schema(example = "/files?before=42&limit=50")]
    next: Option<String>,
}

/// The signed-in user and their newest files.
#[derive(Debug, Serialize, ToSchema)]
pub struct DashboardAnswer {
    user: crate::handlers::auth::UserObject,
    /// The newest 20.
    files: Vec<FileObject>,
    /// Whether there are older ones (`GET /files` lists them all).
    more: bool,
}

#[utoipa::path(
    get,
    path = "/files",
    operation_id = "list_files",
    tag = "files",
    summary = "The user's files, newest first, a page at a time",
    params(PageQuery),
    responses(
        (status = OK, description = "A page of files.", body = FilesAnswer),
        (status = BAD_REQUEST, description = "`before` is not a file id.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])),
)]
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
        Format::Json => Json(FilesAnswer {
            files: file_objects(&files),
            next,
        })
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
#[utoipa::path(
    get,
    path = "/dashboard",
    operation_id = "dashboard",
    tag = "files",
    summary = "Who is signed in, and their newest files",
    responses((status = OK, description = "The user and their newest files.", body = DashboardAnswer)),
    security(("bearer" = []), ("session" = [])),
)]
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
        Format::Json => Json(DashboardAnswer {
            user: (&user).into(),
            files: file_objects(&files),
            more,
        })
        .into_response(),
        Format::Html => DashboardPage {
            layout: visitor.layout(&state, "Dashboard"),
            files: files.iter().map(view).collect(),
            more,
        }
        .into_response(),
    })
}
