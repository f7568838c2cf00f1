//! Fail fast while the database is down: requests that need it are answered
//! 503 with `Retry-After` at once while [`crate::db::circuit`] is open, and a
//! response that found the database unreachable opens it.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{AppError, DatabaseUnreachable};
use crate::state::AppState;

/// Routes served from memory, which go on answering while the database is
/// down: liveness, the public keys, the API's description and the static
/// assets. `/readyz` answers from the circuit itself.
pub fn needs_database(path: &str) -> bool {
    !(path == "/healthz"
        || path == "/readyz"
        || path == crate::openapi::PATH
        || path.starts_with("/keys/")
        || path.starts_with("/static/"))
}

pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if state.circuit.is_open() && needs_database(path) {
        // A TSA client reads a time-stamp reply, whatever the status.
        if path == "/tsa" {
            return crate::handlers::tsa::refused(AppError::DatabaseDown);
        }
        return AppError::DatabaseDown.into_response();
    }
    let response = next.run(request).await;
    if response.extensions().get::<DatabaseUnreachable>().is_some() {
        state.circuit.trip(&state.db);
    }
    response
}
