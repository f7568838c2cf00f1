//! The server's public keys at stable URLs: `GET /keys/tsa-chain.pem` (the
//! TSA certificate and its root, for `openssl ts -verify -CAfile`) and
//! `GET /keys/openpgp.asc` (for `gpg --import`).

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

#[utoipa::path(
    get,
    path = "/keys/tsa-chain.pem",
    operation_id = "tsa_certificate_chain",
    tag = "keys",
    summary = "The TSA certificate and its root, PEM",
    description = "For `openssl ts -verify -CAfile`.",
    responses((status = OK, description = "The TSA certificate, then its root.", body = String, content_type = "application/pem-certificate-chain")),
)]
pub async fn tsa_chain(State(state): State<AppState>) -> Response {
    // RFC 8555 §9.1's media type for a PEM certificate chain.
    public_key(
        state.tsa_chain.to_string(),
        "application/pem-certificate-chain",
    )
}

#[utoipa::path(
    get,
    path = "/keys/openpgp.asc",
    operation_id = "openpgp_key",
    tag = "keys",
    summary = "The server's OpenPGP public key, ASCII-armoured",
    description = "For `gpg --import`; its user id is `GPG_USER`.",
    responses((status = OK, description = "The public key.", body = String, content_type = "application/pgp-keys")),
)]
pub async fn openpgp(State(state): State<AppState>) -> Response {
    public_key(state.openpgp_public.to_string(), "application/pgp-keys")
}

/// Keys change only when an operator replaces them: an hour of caching is safe.
fn public_key(body: String, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}
