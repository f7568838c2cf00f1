//! The server's public keys at stable URLs: `GET /keys/tsa-chain.pem` (the
//! TSA certificate and its root, for `openssl ts -verify -CAfile`) and
//! `GET /keys/openpgp.asc` (for `gpg --import`).

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

pub async fn tsa_chain(State(state): State<AppState>) -> Response {
    let mut response = state.tsa_chain.to_string().into_response();
    let headers = response.headers_mut();
    // RFC 8555 §9.1's media type for a PEM certificate chain.
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pem-certificate-chain"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}

pub async fn openpgp(State(state): State<AppState>) -> Response {
    let mut response = state.openpgp_public.to_string().into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pgp-keys"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}
