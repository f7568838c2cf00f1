//! Security headers on every response, and `Onion-Location` when the service
//! has an onion address.

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// No inline scripts or styles anywhere: everything is served from this origin.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const FIXED: [(&str, &str); 6] = [
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
    (
        "permissions-policy",
        "camera=(), microphone=(), geolocation=()",
    ),
];

pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    // Shares the request's bytes: only an onion address needs it.
    let uri = request.uri().clone();
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    // Room for all of them at once: the fixed ones and the four below.
    headers.reserve(FIXED.len() + 4);
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    for (name, value) in FIXED {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    // Pages show who is signed in: nothing is cached unless a handler says so.
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    headers.insert(header::VARY, HeaderValue::from_static("Accept, Cookie"));
    if let (Some(onion), Some(target)) = (&state.config.onion_url, uri.path_and_query()) {
        let location = format!("{}{}", onion.as_str().trim_end_matches('/'), target);
        if let Ok(value) = HeaderValue::from_str(&location) {
            headers.insert(HeaderName::from_static("onion-location"), value);
        }
    }
    response
}
