//! The stylesheet, embedded in the binary and served under a content-hashed
//! URL so browsers may cache it forever.

use std::sync::LazyLock;

use axum::extract::Query;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

const STYLESHEET: &str = include_str!("../../static/style.css");

static STYLESHEET_VERSION: LazyLock<String> =
    LazyLock::new(|| hex::encode(&Sha256::digest(STYLESHEET)[..8]));
static STYLESHEET_URL: LazyLock<String> =
    LazyLock::new(|| format!("/static/style.css?v={}", *STYLESHEET_VERSION));

/// The URL pages link the stylesheet with.
pub fn stylesheet_url() -> &'static str {
    &STYLESHEET_URL
}

#[derive(serde::Deserialize)]
pub struct Version {
    v: Option<String>,
}

pub async fn stylesheet(Query(version): Query<Version>) -> Response {
    let cache = if version.v.as_deref() == Some(STYLESHEET_VERSION.as_str()) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut response = STYLESHEET.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}
