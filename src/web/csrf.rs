//! The request side of CSRF protection: where a request presents its token,
//! which routes check it themselves (large multipart uploads) and which need
//! none. The token's mechanics are in [`crate::auth::tokens`]; the check is
//! run by [`super::visitor::layer`].

use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, header};

use super::FORM_LIMIT;
use crate::error::AppError;

/// Routes that change nothing anyone owns, so a forged request gains nothing:
/// `POST /verify` checks a file and stores nothing.
pub(super) const CSRF_EXEMPT: &[&str] = &["/verify"];

/// Routes whose multipart forms carry their token as the first form field.
const MULTIPART_ROUTES: &[&str] = &["/upload"];

/// A multipart form to a route that checks its own token field: the body may
/// be gigabytes, so it is not read here. The handler must call
/// [`DeferredCsrf::accepts`] before it acts on anything after that field.
pub(super) fn defers_its_token(request: &Request) -> bool {
    has_content_type(request, "multipart/form-data")
        && !request.headers().contains_key("x-csrf-token")
        && MULTIPART_ROUTES.contains(&request.uri().path())
}

/// Whether the body's media type is `media_type` (parameters and case aside).
fn has_content_type(request: &Request, media_type: &str) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.to_ascii_lowercase().starts_with(media_type))
}

/// The token a deferred multipart form must carry in its `csrf_token` field.
#[derive(Clone, Debug)]
pub struct DeferredCsrf {
    expected: String,
}

impl DeferredCsrf {
    pub(super) fn new(expected: String) -> DeferredCsrf {
        DeferredCsrf { expected }
    }

    /// Whether the presented field is the expected token.
    pub fn accepts(&self, presented: &str) -> bool {
        token_matches(&self.expected, presented)
    }
}

/// Constant-time comparison of a presented token with the expected one.
pub(super) fn token_matches(expected: &str, presented: &str) -> bool {
    let (a, b) = (expected.as_bytes(), presented.trim().as_bytes());
    a.len() == b.len() && bool::from(subtle::ConstantTimeEq::ct_eq(a, b))
}

/// The CSRF token a request carries: the `X-CSRF-Token` header, or the
/// `csrf_token` field of a url-encoded form (the body is read and put back).
pub(super) async fn presented_token(
    request: Request,
) -> Result<(Request, Option<String>), AppError> {
    if let Some(value) = request.headers().get("x-csrf-token") {
        let token = value.to_str().map(str::to_owned).ok();
        return Ok((request, token));
    }
    if !has_content_type(&request, "application/x-www-form-urlencoded")
        || request.method() == Method::GET
    {
        return Ok((request, None));
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > FORM_LIMIT as u64) {
        return Err(AppError::PayloadTooLarge);
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, FORM_LIMIT)
        .await
        .map_err(|error| {
            let too_large = std::error::Error::source(&error)
                .is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
            if too_large {
                AppError::PayloadTooLarge
            } else {
                AppError::BadRequest("The request body could not be read.".into())
            }
        })?;
    let token = url::form_urlencoded::parse(&bytes)
        .find(|(name, _)| name == "csrf_token")
        .map(|(_, value)| value.into_owned());
    Ok((Request::from_parts(parts, Body::from(bytes)), token))
}
