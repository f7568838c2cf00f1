//! `POST /tsa`: RFC 3161's HTTP transport (§3.4). A DER `TimeStampReq` with
//! `Content-Type: application/timestamp-query` in, a DER `TimeStampResp`
//! with `application/timestamp-reply` out. Requests the TSA refuses still get
//! a 200 with a `rejection` reply, as the RFC asks. What is not a TSP request
//! at all (wrong type, too large), or cannot be served now (not signed in, too
//! many, unavailable), gets its HTTP error status, and still a `rejection`
//! reply as its body, with the reason as its status string: a TSA client
//! reads every answer, and no answer is a page.
//! A granted token is answered once its entry in the transparency log is stored.
//!
//! The route reads no cookie and sets none, and needs no CSRF token: it
//! changes nothing anyone owns, and its content type cannot be sent
//! cross-site without a CORS preflight, which this service never grants.

use std::net::SocketAddr;
use std::time::SystemTime;

use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::error::{AppError, ErrorInfo};
use crate::proofs::tlog::entry::stamp_entry;
use crate::proofs::tsa::{Failure, rejection_saying};
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

#[utoipa::path(
    post,
    path = "/tsa",
    operation_id = "timestamp",
    tag = "keys",
    summary = "RFC 3161 time-stamping",
    description = "RFC 3161's HTTP transport: a DER `TimeStampReq` in, a DER `TimeStampResp` \
out, whatever the status; a refused request gets a `rejection` reply saying why. A granted \
token is answered once its entry in the transparency log is stored. With `TSA_PUBLIC=false`, \
only signed-in users and API tokens are served.",
    request_body(content = [u8], content_type = "application/timestamp-query"),
    responses(
        (status = OK, description = "A granted token, or the TSA's rejection.", body = [u8], content_type = "application/timestamp-reply"),
        (status = UNAUTHORIZED, description = "`TSA_PUBLIC=false`, and neither a session nor an API token.", body = [u8], content_type = "application/timestamp-reply"),
        (status = PAYLOAD_TOO_LARGE, description = "Too large to be a request.", body = [u8], content_type = "application/timestamp-reply"),
        (status = UNSUPPORTED_MEDIA_TYPE, description = "Not `application/timestamp-query`.", body = [u8], content_type = "application/timestamp-reply"),
        (status = TOO_MANY_REQUESTS, description = "This address has used its budget for now.", body = [u8], content_type = "application/timestamp-reply"),
        (status = SERVICE_UNAVAILABLE, description = "The database is out of reach.", body = [u8], content_type = "application/timestamp-reply"),
    ),
    security((), ("bearer" = []), ("session" = [])),
)]
pub async fn stamp(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
        _ => AppError::BadRequest("The request body could not be read.".into()),
    });
    let answer = match body {
        Ok(body) => respond(&state, peer, &uri, &headers, &body).await,
        Err(error) => Err(error),
    };
    match answer {
        Ok(mut response) => {
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/timestamp-reply"),
            );
            response
        }
        Err(error) => refused(error),
    }
}

/// The granted or rejected reply to one request.
async fn respond(
    state: &AppState,
    peer: SocketAddr,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, AppError> {
    if !state.config.tsa_public
        && visitor::signed_in(state, uri, headers, Some(peer.ip()))
            .await?
            .is_none()
    {
        return Err(AppError::Unauthenticated);
    }
    if !is_timestamp_query(headers) {
        return Err(AppError::UnsupportedMediaType(
            "Send a DER TimeStampReq as application/timestamp-query.".into(),
        ));
    }
    // Behind a trusted proxy, each client has its own budget.
    let client =
        crate::web::client::address(&state.config.trusted_proxies, headers, Some(peer.ip()))
            .unwrap_or(peer.ip());
    state.spend_public_budget(client)?;
    // One ECDSA signature (about 20 µs with ring) is cheaper than a hop to the blocking pool.
    let reply = match state
        .signers
        .tsa
        .issue(body, SystemTime::now(), rand::random())
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
    Ok(reply.into_response())
}

/// An error as a TSA client reads it: its HTTP status and headers (such as
/// `Retry-After`), with a `rejection` reply saying why as the body, in place
/// of the JSON that would otherwise become a page for a client that accepts
/// any type. Also for the layers in front (the database circuit).
pub fn refused(error: AppError) -> Response {
    let failure = match error.status() {
        status if status.is_server_error() => Failure::SystemFailure,
        StatusCode::PAYLOAD_TOO_LARGE | StatusCode::BAD_REQUEST => Failure::BadDataFormat,
        _ => Failure::BadRequest,
    };
    let reply = rejection_saying(failure, &error.to_string());
    let mut response = error.into_response();
    response.extensions_mut().remove::<ErrorInfo>();
    response.headers_mut().remove(header::CONTENT_LENGTH);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/timestamp-reply"),
    );
    *response.body_mut() = Body::from(reply);
    response
}
