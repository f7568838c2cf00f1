//! `POST /tsa`: RFC 3161's HTTP transport (§3.4). A DER `TimeStampReq` with
//! `Content-Type: application/timestamp-query` in, a DER `TimeStampResp`
//! with `application/timestamp-reply` out. Requests the TSA refuses still get
//! a 200 with a `rejection` reply, as the RFC asks; only what is not a TSP
//! request at all (wrong type, too large, too many) gets an HTTP error.
//! A granted token is answered once its entry in the transparency log is stored.
//!
//! The route reads no cookie and sets none, and needs no CSRF token: it
//! changes nothing anyone owns, and its content type cannot be sent
//! cross-site without a CORS preflight, which this service never grants.

use std::net::SocketAddr;
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::error::AppError;
use crate::proofs::tlog::entry::stamp_entry;
use crate::state::AppState;
use crate::web::visitor;

/// A `TimeStampReq` is a few hundred bytes; anything near this is not one.
pub const BODY_LIMIT: usize = 16 * 1024;

/// Whether the request's media type is `application/timestamp-query`. The
/// type is compared without its parameters (RFC 9110 §8.3.1: `; charset=binary`
/// changes nothing) and without regard to case.
fn is_timestamp_query(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media_type| {
            media_type
                .trim()
                .eq_ignore_ascii_case("application/timestamp-query")
        })
}

pub async fn stamp(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    if !state.config.tsa_public && visitor::signed_in(&state, &uri, &headers).await?.is_none() {
        return Err(AppError::Unauthenticated);
    }
    if !is_timestamp_query(&headers) {
        return Err(AppError::UnsupportedMediaType(
            "Send a DER TimeStampReq as application/timestamp-query.".into(),
        ));
    }
    state.spend_public_budget(peer.ip())?;
    // One ECDSA signature (about 20 µs with ring) is cheaper than a hop to the blocking pool.
    let reply = match state
        .signers
        .tsa
        .issue(&body, SystemTime::now(), rand::random())
    {
        Ok(stamp) => {
            // No token leaves without its entry in the log.
            state
                .log
                .append(stamp_entry(stamp.gen_time, &stamp.token))
                .await?;
            stamp.response
        }
        Err(rejection) => rejection,
    };
    let mut response = reply.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/timestamp-reply"),
    );
    Ok(response)
}
