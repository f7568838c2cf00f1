//! Error responses in the client's format.
//!
//! Errors leave handlers as JSON with an [`ErrorInfo`] attached. This layer
//! gives browsers a readable page with the same status instead, sends a
//! signed-out browser to the sign-in page, and gives the router's own bare
//! 404/405/413 responses the contract's shape.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::extract::Format;
use super::pages::ErrorPage;
use super::visitor::Visitor;
use crate::domain::NextPath;
use crate::error::{AppError, ErrorInfo};
use crate::state::AppState;

pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let format = Format::of(request.headers());
    let method = request.method().clone();
    // Shares the request's bytes: most responses never look at it.
    let uri = request.uri().clone();
    let response = next.run(request).await;

    let info = match response.extensions().get::<ErrorInfo>() {
        Some(info) => info.clone(),
        None if is_bare_error(&response) => match AppError::from_status(response.status()) {
            Some(error) => {
                if response.status().is_server_error() {
                    tracing::error!(status = %response.status(), "a lower layer failed without an application error");
                }
                error.info()
            }
            None => return response,
        },
        None => return response,
    };
    let (mut parts, _) = response.into_parts();
    let visitor = parts.extensions.get::<Visitor>().cloned();
    let mut replacement = match format {
        Format::Json => info.json_response(),
        Format::Html
            if info.code == "unauthenticated" && matches!(method, Method::GET | Method::HEAD) =>
        {
            let target = uri.path_and_query().map_or("", |pq| pq.as_str());
            let login = match NextPath::parse(target) {
                Some(next) => format!("/auth/login?next={}", encode(next.as_str())),
                None => "/auth/login".to_owned(),
            };
            Redirect::to(&login).into_response()
        }
        Format::Html => error_page(&state, visitor.as_ref(), &info),
    };
    // Keep what the inner layers set (cookies, `Allow`), replace the body and its description.
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    let status = replacement.status();
    for (name, value) in replacement.headers().iter() {
        parts.headers.insert(name.clone(), value.clone());
    }
    parts.status = status;
    let body = std::mem::take(replacement.body_mut());
    Response::from_parts(parts, body)
}

/// An error response that no part of the application has described: the
/// router's empty 404 and 405, or an extractor's plain-text rejection.
fn is_bare_error(response: &Response) -> bool {
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok());
    (status.is_client_error() || status.is_server_error())
        && content_type.is_none_or(|value| value.starts_with("text/plain"))
}

fn error_page(state: &AppState, visitor: Option<&Visitor>, info: &ErrorInfo) -> Response {
    let title = info.status.canonical_reason().unwrap_or("Error");
    let layout = match visitor {
        Some(visitor) => visitor.layout(state, title),
        None => super::pages::Layout {
            title: title.to_owned(),
            stylesheet: super::assets::stylesheet_url(),
            favicon: super::assets::favicon_url(),
            site_script: super::assets::site_script_url(),
            onion_url: state.config.onion_url.as_ref().map(url::Url::to_string),
            ..Default::default()
        },
    };
    let page = ErrorPage {
        layout,
        status: info.status.as_u16(),
        message: info.message.clone(),
    };
    let mut response = page.into_response();
    *response.status_mut() = info.status;
    if info.status == StatusCode::METHOD_NOT_ALLOWED {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

fn encode(path: &str) -> String {
    percent_encoding::utf8_percent_encode(path, percent_encoding::NON_ALPHANUMERIC).to_string()
}
