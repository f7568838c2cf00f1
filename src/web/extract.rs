//! Extractors: [`Format`] (HTML or JSON answer) and [`Input`] (a form or JSON body).

use axum::Json;
use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::extract::{Form, FromRequest, FromRequestParts, Request};
use axum::http::{HeaderMap, StatusCode, header, request::Parts};
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// How the client wants to be answered, from its `Accept` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Html,
    Json,
}

impl Format {
    /// JSON when `Accept` names `application/json`; browsers never do for pages.
    pub fn of(headers: &HeaderMap) -> Format {
        let json = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .any(|item| {
                let mut parts = item.split(';').map(str::trim);
                let is_json = parts
                    .next()
                    .is_some_and(|media| media.eq_ignore_ascii_case("application/json"));
                let refused = parts.any(|param| {
                    param
                        .strip_prefix("q=")
                        .and_then(|q| q.trim().parse::<f32>().ok())
                        == Some(0.0)
                });
                is_json && !refused
            });
        if json { Format::Json } else { Format::Html }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Format {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Format::of(&parts.headers))
    }
}

/// A request body that is either `application/x-www-form-urlencoded` (HTML
/// forms) or `application/json` (scripts), deserialised into `T`.
pub struct Input<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + 'static> FromRequest<S> for Input<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        if content_type.starts_with("application/json") {
            let Json(value) = Json::<T>::from_request(request, state)
                .await
                .map_err(json_rejection)?;
            Ok(Input(value))
        } else if content_type.starts_with("application/x-www-form-urlencoded") {
            let Form(value) = Form::<T>::from_request(request, state)
                .await
                .map_err(form_rejection)?;
            Ok(Input(value))
        } else {
            Err(AppError::UnsupportedMediaType(
                "Send the body as application/x-www-form-urlencoded or application/json.".into(),
            ))
        }
    }
}

/// What was wrong with a JSON body, in words of our own: the parser's
/// message names our types and internals, so it goes to the log only.
fn json_rejection(rejection: JsonRejection) -> AppError {
    tracing::debug!(%rejection, "a JSON body was refused");
    let message = match &rejection {
        _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return AppError::PayloadTooLarge;
        }
        JsonRejection::JsonSyntaxError(_) => "The body is not valid JSON.",
        JsonRejection::JsonDataError(_) => {
            "The JSON body does not have the fields this request takes, or one of them has the wrong type."
        }
        _ => "The JSON body could not be read.",
    };
    AppError::BadRequest(message.into())
}

fn form_rejection(rejection: FormRejection) -> AppError {
    match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
        _ => AppError::BadRequest("The form body is malformed.".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn accept(value: &'static str) -> Format {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static(value));
        Format::of(&headers)
    }

    #[test]
    fn json_only_when_asked_for() {
        assert_eq!(accept("application/json"), Format::Json);
        assert_eq!(accept("text/plain, Application/JSON;q=0.9"), Format::Json);
        assert_eq!(accept("application/json;q=0"), Format::Html);
        assert_eq!(
            accept("text/html,application/xhtml+xml,*/*;q=0.8"),
            Format::Html
        );
        assert_eq!(Format::of(&HeaderMap::new()), Format::Html);
    }
}
