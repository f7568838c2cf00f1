//! `GET /`: what SecureStamp is, and the way in.

use axum::extract::State;
use axum::response::{IntoResponse, Response};

use crate::state::AppState;
use crate::web::Visitor;
use crate::web::pages::IndexPage;

pub async fn show(State(state): State<AppState>, visitor: Visitor) -> Response {
    IndexPage {
        layout: visitor.layout(&state, "Verifiable file vault"),
    }
    .into_response()
}
