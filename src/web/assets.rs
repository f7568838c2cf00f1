//! The stylesheet, the scripts and the icon, embedded in the binary and
//! served under content-hashed URLs so that browsers may cache them for good.

use std::sync::LazyLock;

use axum::extract::Query;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

struct Asset {
    body: &'static str,
    content_type: &'static str,
    version: String,
    url: String,
}

impl Asset {
    fn new(path: &str, body: &'static str, content_type: &'static str) -> Asset {
        let version = hex::encode(&Sha256::digest(body)[..8]);
        Asset {
            body,
            content_type,
            url: format!("{path}?v={version}"),
            version,
        }
    }

    fn respond(&self, version: Option<&str>) -> Response {
        // Only the current version's URL may be cached forever.
        let cache = if version == Some(self.version.as_str()) {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        let mut response = self.body.into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        response
    }
}

static STYLESHEET: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "/static/style.css",
        include_str!("../../static/style.css"),
        "text/css; charset=utf-8",
    )
});
static UPLOAD_SCRIPT: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "/static/upload.js",
        include_str!("../../static/upload.js"),
        "text/javascript; charset=utf-8",
    )
});

static SITE_SCRIPT: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "/static/site.js",
        include_str!("../../static/site.js"),
        "text/javascript; charset=utf-8",
    )
});
static FAVICON: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "/static/favicon.svg",
        include_str!("../../static/favicon.svg"),
        "image/svg+xml",
    )
});

/// The URL pages link the stylesheet with.
pub fn stylesheet_url() -> &'static str {
    &STYLESHEET.url
}

/// The URL of the upload page's progress script.
pub fn upload_script_url() -> &'static str {
    &UPLOAD_SCRIPT.url
}

#[derive(serde::Deserialize)]
pub struct Version {
    v: Option<String>,
}

pub async fn stylesheet(Query(version): Query<Version>) -> Response {
    STYLESHEET.respond(version.v.as_deref())
}

pub async fn upload_script(Query(version): Query<Version>) -> Response {
    UPLOAD_SCRIPT.respond(version.v.as_deref())
}

/// The script every page loads (local times), if JavaScript is on.
pub async fn site_script(Query(version): Query<Version>) -> Response {
    SITE_SCRIPT.respond(version.v.as_deref())
}

/// The URL pages load the site script from.
pub fn site_script_url() -> &'static str {
    &SITE_SCRIPT.url
}

/// The site's icon; `/favicon.ico` (where browsers look unasked) answers it too.
pub async fn favicon(Query(version): Query<Version>) -> Response {
    FAVICON.respond(version.v.as_deref())
}

/// The URL pages link the icon with.
pub fn favicon_url() -> &'static str {
    &FAVICON.url
}
