//! `GET /healthz` (the process answers) and `GET /readyz` (and so does its database).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::state::AppState;

pub async fn live() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    // While the circuit is open its probe is the one asking the database.
    let reachable = !state.circuit.is_open() && crate::db::ping(&state.db).await;
    if reachable {
        return (
            StatusCode::OK,
            Json(json!({ "status": "ok", "database": "ok" })),
        );
    }
    state.circuit.trip(&state.db);
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "status": "unavailable", "database": "unreachable" })),
    )
}
