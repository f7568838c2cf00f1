//! The one application error type.
//!
//! Handlers and extractors return [`AppError`]; [`AppError::status`] and
//! [`AppError::code`] are the single mapping to an HTTP status and a stable
//! snake_case code. The response carries the JSON body
//! `{"error": {"code", "message"}}` and an [`ErrorInfo`] extension, which the
//! negotiation layer turns into an HTML page for browsers. Only 5xx errors are
//! logged, with their cause; the cause is never shown.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sea_orm::DbErr;

use crate::domain::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("Sign in to continue.")]
    Unauthenticated,
    #[error("Incorrect username or password.")]
    InvalidCredentials,
    /// The second factor of a sign-in (or of turning it off) was wrong,
    /// used already, or its sign-in took too long.
    #[error("{0}")]
    InvalidCode(&'static str),
    #[error("The API token is not valid; it may have been revoked.")]
    InvalidToken,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    Csrf(&'static str),
    #[error("Not found.")]
    NotFound,
    #[error("This method is not allowed here.")]
    MethodNotAllowed,
    #[error("{message}")]
    Conflict {
        code: &'static str,
        message: &'static str,
    },
    #[error("The request is larger than this server accepts.")]
    PayloadTooLarge,
    #[error("One upload holds at most {max} files: send the others in another.")]
    TooManyFiles { max: usize },
    #[error("The request stopped arriving before its end. Send it again.")]
    RequestTimeout,
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error(transparent)]
    Invalid(#[from] FieldError),
    #[error("Your storage quota is used up: delete files or ask for more room.")]
    QuotaExceeded,
    #[error("The server has no room left for this upload.")]
    StorageFull,
    #[error("Too many attempts. Try again in {} minute(s).", retry_after.div_ceil(60))]
    RateLimited { retry_after: u64 },
    #[error("The service is temporarily unavailable. Try again shortly.")]
    Unavailable(#[source] anyhow::Error),
    /// Refused without trying: the database was found unreachable and has not
    /// answered since.
    #[error("The service is temporarily unavailable. Try again shortly.")]
    DatabaseDown,
    #[error("The server is busy. Try again in {retry_after} second(s).")]
    Busy { retry_after: u64 },
    #[error("This is still being prepared. Try again in {retry_after} second(s).")]
    NotReady { retry_after: u64 },
    #[error("Something went wrong on our side.")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthenticated
            | AppError::InvalidCredentials
            | AppError::InvalidCode(_)
            | AppError::InvalidToken => StatusCode::UNAUTHORIZED,
            AppError::Csrf(_) | AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::PayloadTooLarge | AppError::TooManyFiles { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            AppError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::QuotaExceeded | AppError::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
            AppError::Unavailable(_)
            | AppError::DatabaseDown
            | AppError::Busy { .. }
            | AppError::NotReady { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code in the JSON body.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "bad_request",
            AppError::Unauthenticated => "unauthenticated",
            AppError::InvalidCredentials => "invalid_credentials",
            AppError::InvalidCode(_) => "invalid_code",
            AppError::InvalidToken => "invalid_token",
            AppError::Forbidden(_) => "forbidden",
            AppError::Csrf(_) => "csrf_failed",
            AppError::NotFound => "not_found",
            AppError::MethodNotAllowed => "method_not_allowed",
            AppError::Conflict { code, .. } => code,
            AppError::PayloadTooLarge => "payload_too_large",
            AppError::TooManyFiles { .. } => "too_many_files",
            AppError::RequestTimeout => "request_timeout",
            AppError::UnsupportedMediaType(_) => "unsupported_media_type",
            AppError::Invalid(_) => "invalid_field",
            AppError::RateLimited { .. } => "rate_limited",
            AppError::QuotaExceeded => "quota_exceeded",
            AppError::StorageFull => "storage_full",
            AppError::Unavailable(_) | AppError::DatabaseDown | AppError::Busy { .. } => {
                "service_unavailable"
            }
            AppError::NotReady { .. } => "not_ready",
            AppError::Internal(_) => "internal_error",
        }
    }

    /// A fault of ours that no lower error describes; `message` is logged, never shown.
    pub fn internal(message: impl Into<String>) -> AppError {
        AppError::Internal(anyhow::Error::msg(message.into()))
    }

    /// A generic error for a status produced outside the application
    /// (the router's 404 and 405, a body-limit 413).
    pub fn from_status(status: StatusCode) -> Option<AppError> {
        Some(match status {
            StatusCode::BAD_REQUEST => {
                AppError::BadRequest("The request could not be understood.".into())
            }
            StatusCode::NOT_FOUND => AppError::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => AppError::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                AppError::UnsupportedMediaType("This content type is not accepted here.".into())
            }
            StatusCode::UNPROCESSABLE_ENTITY => {
                AppError::BadRequest("The request body does not have the expected fields.".into())
            }
            s if s.is_server_error() => {
                AppError::internal(format!("status {s} from a lower layer"))
            }
            _ => return None,
        })
    }

    pub fn info(&self) -> ErrorInfo {
        ErrorInfo {
            status: self.status(),
            code: self.code(),
            message: self.to_string(),
            field: match self {
                AppError::Invalid(error) => Some(error.field),
                _ => None,
            },
        }
    }
}

/// Marks a response whose request found the database unreachable, so that
/// [`crate::web::circuit`] can open the circuit.
#[derive(Clone, Copy, Debug)]
pub struct DatabaseUnreachable;

/// What a client is told about an error; attached to error responses so that
/// the negotiation layer can render it as HTML instead.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorInfo {
    #[serde(skip)]
    pub status: StatusCode,
    /// A stable snake_case code, such as `not_found` or `rate_limited`.
    #[schema(example = "not_found")]
    pub code: &'static str,
    /// A sentence to show a person.
    pub message: String,
    /// The form field at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'static str>,
}

impl ErrorInfo {
    /// The contract's JSON error response.
    pub fn json_response(&self) -> Response {
        let body = crate::openapi::ErrorBody {
            error: self.clone(),
        };
        let mut response = (self.status, Json(body)).into_response();
        response.extensions_mut().insert(self.clone());
        response
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let unreachable = match &self {
            AppError::Unavailable(cause) => cause
                .downcast_ref::<DbErr>()
                .is_some_and(crate::db::is_unavailable),
            _ => false,
        };
        match &self {
            AppError::Unavailable(cause) => {
                tracing::error!(error = format!("{cause:#}"), "dependency unavailable")
            }
            AppError::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "internal error")
            }
            _ => {}
        }
        let mut response = self.info().json_response();
        if unreachable {
            response.extensions_mut().insert(DatabaseUnreachable);
        }
        let headers = response.headers_mut();
        match self {
            AppError::Unavailable(_) | AppError::DatabaseDown => {
                headers.insert(axum::http::header::RETRY_AFTER, 1.into());
            }
            AppError::RateLimited { retry_after }
            | AppError::Busy { retry_after }
            | AppError::NotReady { retry_after } => {
                headers.insert(axum::http::header::RETRY_AFTER, retry_after.into());
            }
            AppError::InvalidToken => {
                let challenge =
                    axum::http::HeaderValue::from_static("Bearer error=\"invalid_token\"");
                headers.insert(axum::http::header::WWW_AUTHENTICATE, challenge);
            }
            _ => {}
        }
        response
    }
}

impl From<DbErr> for AppError {
    fn from(error: DbErr) -> Self {
        if crate::db::is_unavailable(&error) {
            AppError::Unavailable(error.into())
        } else if crate::db::is_full(&error) {
            tracing::error!(%error, "the database's storage is full");
            AppError::StorageFull
        } else {
            AppError::Internal(error.into())
        }
    }
}

impl From<std::io::Error> for AppError {
    fn from(error: std::io::Error) -> Self {
        if crate::storage::is_full(&error) {
            tracing::error!(%error, "storage is full");
            AppError::StorageFull
        } else if crate::storage::is_unavailable(&error) {
            AppError::Unavailable(error.into())
        } else {
            AppError::Internal(error.into())
        }
    }
}

impl From<crate::vault::VaultError> for AppError {
    fn from(error: crate::vault::VaultError) -> Self {
        match error {
            crate::vault::VaultError::Db(error) => error.into(),
            crate::vault::VaultError::Io(error) => error.into(),
            crate::vault::VaultError::QuotaExceeded => AppError::QuotaExceeded,
            crate::vault::VaultError::KeyUsed => AppError::Conflict {
                code: "idempotency_key_in_use",
                message: "An upload with this Idempotency-Key was stored already, and its files have been deleted since.",
            },
        }
    }
}

/// A multipart body that ended early or broke its syntax, or crossed the
/// route's body limit.
impl From<axum::extract::multipart::MultipartError> for AppError {
    fn from(error: axum::extract::multipart::MultipartError) -> Self {
        // The body stopped arriving for longer than `BODY_TIMEOUT` ([`crate::connections`]).
        if caused_by::<tower_http::timeout::TimeoutError>(&error) {
            return AppError::RequestTimeout;
        }
        if caused_by::<crate::web::multipart::PartHeadersTooLarge>(&error) {
            return AppError::PayloadTooLarge;
        }
        match error.status() {
            StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
            _ => AppError::BadRequest(format!(
                "The upload was cut short or malformed: {}",
                error.body_text()
            )),
        }
    }
}

/// Whether a `T` is somewhere down the error's causes.
fn caused_by<T: std::error::Error + 'static>(error: &(dyn std::error::Error + 'static)) -> bool {
    std::iter::successors(Some(error), |error| error.source()).any(|cause| cause.is::<T>())
}

impl From<tokio::task::JoinError> for AppError {
    fn from(error: tokio::task::JoinError) -> Self {
        AppError::Internal(error.into())
    }
}

/// Every password worker is taken and the queue is full: the visitor tries
/// again in a moment, and no memory is held for them meanwhile.
impl From<crate::auth::HashError> for AppError {
    fn from(error: crate::auth::HashError) -> Self {
        match error {
            crate::auth::HashError::Busy => AppError::Busy { retry_after: 1 },
            crate::auth::HashError::Stopped => AppError::Internal(error.into()),
        }
    }
}

/// The signers failed: a fault of ours, not of the upload.
impl From<crate::stamping::StampError> for AppError {
    fn from(error: crate::stamping::StampError) -> Self {
        AppError::Internal(error.into())
    }
}

impl From<crate::stamping::receipt::ReceiptError> for AppError {
    fn from(error: crate::stamping::receipt::ReceiptError) -> Self {
        use crate::stamping::receipt::ReceiptError;
        match error {
            ReceiptError::NotReady => AppError::NotReady { retry_after: 1 },
            ReceiptError::Db(error) => error.into(),
            ReceiptError::Broken(message) => AppError::internal(message),
        }
    }
}

/// A stamp whose log entry could not be stored is not issued: try again later.
impl From<crate::log::LogError> for AppError {
    fn from(error: crate::log::LogError) -> Self {
        match error {
            crate::log::LogError::Db(error) => match AppError::from(error) {
                AppError::Internal(cause) => AppError::Unavailable(cause),
                other => other,
            },
            crate::log::LogError::Stopped => AppError::Unavailable(error.into()),
        }
    }
}
