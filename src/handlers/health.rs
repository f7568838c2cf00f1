//! `GET /healthz` (the process answers) and `GET /readyz` (and so does its database).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Live {
    #[schema(example = "ok")]
    status: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Ready {
    /// `ok` or `unavailable`.
    status: &'static str,
    /// `ok` or `unreachable`.
    database: &'static str,
}

#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "live",
    tag = "service",
    summary = "The process answers",
    responses((status = OK, description = "The process answers.", body = Live)),
)]
pub async fn live() -> Json<Live> {
    Json(Live { status: "ok" })
}

#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "ready",
    tag = "service",
    summary = "The process and its database answer",
    responses(
        (status = OK, description = "Ready to serve.", body = Ready),
        (status = SERVICE_UNAVAILABLE, description = "The database does not answer.", body = Ready),
    ),
)]
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Ready>) {
    // While the circuit is open its probe is the one asking the database.
    let reachable = !state.circuit.is_open() && crate::db::ping(&state.db).await;
    if reachable {
        return (
            StatusCode::OK,
            Json(Ready {
                status: "ok",
                database: "ok",
            }),
        );
    }
    state.circuit.trip(&state.db);
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(Ready {
            status: "unavailable",
            database: "unreachable",
        }),
    )
}
