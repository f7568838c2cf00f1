//! `/settings/tokens`: create, list and revoke personal API tokens.
//!
//! Managing tokens needs a browser session: a token cannot mint or revoke tokens.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::ApiTokenSecret;
use crate::db;
use crate::db::api_tokens::ApiToken;
use crate::domain::FieldError;
use crate::error::AppError;
use crate::openapi::ErrorBody;
use crate::state::AppState;
use crate::time::{unix_now, unix_rfc3339};
use crate::web::cookies::{self, Name};
use crate::web::pages::{ConfirmPage, FlashKind, TokenView, TokensPage};
use crate::web::{CurrentUser, Format, Input, Visitor};

fn session_only(user: &CurrentUser) -> Result<(), AppError> {
    super::session_only(
        user,
        "API tokens are managed from a signed-in session, not with a token.",
    )
}

/// A personal API token, without its secret.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Token)]
pub struct TokenObject {
    id: i32,
    name: String,
    #[schema(format = DateTime)]
    created_at: String,
    /// When a request last used it, to the minute; `null` if none has.
    #[schema(format = DateTime)]
    last_used_at: Option<String>,
}

impl From<&ApiToken> for TokenObject {
    fn from(token: &ApiToken) -> TokenObject {
        TokenObject {
            id: token.id,
            name: token.name.clone(),
            created_at: unix_rfc3339(token.created_at),
            last_used_at: token.last_used_at.map(unix_rfc3339),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokensAnswer {
    tokens: Vec<TokenObject>,
}

/// A token just made: the only answer that holds its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    token: TokenObject,
    /// Send it as `Authorization: Bearer …`. Only its hash is kept: it cannot be shown again.
    #[serde(rename = "token")]
    secret: String,
}

#[utoipa::path(
    get,
    path = "/settings/tokens",
    operation_id = "list_tokens",
    tag = "tokens",
    summary = "The user's API tokens",
    responses(
        (status = OK, description = "The tokens, newest first.", body = TokensAnswer),
        (status = FORBIDDEN, description = "Asked with an API token: tokens are managed from a session.", body = ErrorBody),
    ),
    security(("session" = [])),
)]
pub async fn index(
    State(state): State<AppState>,
    user: CurrentUser,
    visitor: Visitor,
    format: Format,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    session_only(&user)?;
    let tokens = db::api_tokens::list(&state.db, user.id).await?;
    Ok(match format {
        Format::Json => Json(TokensAnswer {
            tokens: tokens.iter().map(TokenObject::from).collect(),
        })
        .into_response(),
        Format::Html => {
            // A token just created is shown this once, then its cookie goes.
            let jar = cookies::incoming(&headers);
            let created = cookies::read_new_token(&state.secrets, &jar, visitor.secure);
            let mut response = page(&state, &visitor, tokens, created, None).into_response();
            if cookies::value(&jar, Name::NewToken, visitor.secure).is_some() {
                cookies::set(
                    &mut response,
                    &cookies::removal(Name::NewToken, visitor.secure),
                );
            }
            response
        }
    })
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct NewToken {
    /// What the token is for: 1 to 100 characters.
    name: String,
}

#[utoipa::path(
    post,
    path = "/settings/tokens",
    operation_id = "create_token",
    tag = "tokens",
    summary = "Make an API token",
    request_body(content(
        (NewToken = "application/json"),
        (NewToken = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = CREATED, description = "The token, with its secret this once.", body = CreatedToken),
        (status = FORBIDDEN, description = "Asked with an API token: tokens are managed from a session.", body = ErrorBody),
        (status = UNPROCESSABLE_ENTITY, description = "The name is empty, too long or holds control characters.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = [])),
)]
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    visitor: Visitor,
    format: Format,
    Input(form): Input<NewToken>,
) -> Result<Response, AppError> {
    session_only(&user)?;
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        let error = FieldError::new("name", "Give the token a name of 1 to 100 characters.");
        return match format {
            Format::Json => Err(error.into()),
            Format::Html => {
                let tokens = db::api_tokens::list(&state.db, user.id).await?;
                let page = page(&state, &visitor, tokens, None, Some(error.message));
                Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
            }
        };
    }
    let secret = ApiTokenSecret::generate();
    let token = db::api_tokens::create(&state.db, user.id, name, secret.hash(), unix_now()).await?;
    crate::accounts::audit(
        &state,
        user.id,
        "token_created",
        Some(name),
        &visitor.client,
    )
    .await?;
    tracing::info!(user_id = user.id, token_id = token.id, "API token created");
    let body = match format {
        Format::Json => Json(CreatedToken {
            token: TokenObject::from(&token),
            secret: secret.expose().to_owned(),
        })
        .into_response(),
        // Post, redirect, show once: a reload of the page shows the list,
        // it does not make a second token.
        Format::Html => {
            let mut response = Redirect::to("/settings/tokens").into_response();
            cookies::set(
                &mut response,
                &cookies::new_token(&state.secrets, visitor.secure, secret.expose()),
            );
            return Ok(response);
        }
    };
    Ok((StatusCode::CREATED, body).into_response())
}

/// `GET /settings/tokens/{id}/revoke`: asks before revoking.
pub async fn confirm_revoke(
    State(state): State<AppState>,
    user: CurrentUser,
    visitor: Visitor,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    session_only(&user)?;
    let id = id.parse::<i32>().map_err(|_| AppError::NotFound)?;
    let token = db::api_tokens::list(&state.db, user.id)
        .await?
        .into_iter()
        .find(|token| token.id == id)
        .ok_or(AppError::NotFound)?;
    Ok(ConfirmPage {
        layout: visitor.layout(&state, "Revoke token"),
        question: format!("Revoke the token “{}”?", token.name),
        consequences: vec![
            "Scripts that use it are refused from the next request on, and this cannot be undone: a new token would have to be made and given to them.".into(),
        ],
        action: format!("/settings/tokens/{id}/revoke"),
        confirm: "Revoke token",
        back: "/settings/tokens".into(),
    }
    .into_response())
}

/// `POST /settings/tokens/{id}/revoke` and `DELETE /settings/tokens/{id}`.
#[utoipa::path(
    delete,
    path = "/settings/tokens/{id}",
    operation_id = "revoke_token",
    tag = "tokens",
    summary = "Revoke an API token",
    description = "Requests with it are refused from the next one on.",
    params(("id" = i32, Path, description = "The token's id.")),
    responses(
        (status = NO_CONTENT, description = "Revoked."),
        (status = FORBIDDEN, description = "Asked with an API token: tokens are managed from a session.", body = ErrorBody),
        (status = NOT_FOUND, description = "No such token, or not the user's.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = [])),
)]
pub async fn revoke(
    State(state): State<AppState>,
    user: CurrentUser,
    visitor: Visitor,
    format: Format,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    session_only(&user)?;
    let id = id.parse::<i32>().map_err(|_| AppError::NotFound)?;
    let name = db::api_tokens::list(&state.db, user.id)
        .await?
        .into_iter()
        .find(|token| token.id == id)
        .map(|token| token.name);
    if !db::api_tokens::delete(&state.db, user.id, id).await? {
        return Err(AppError::NotFound);
    }
    crate::accounts::audit(
        &state,
        user.id,
        "token_revoked",
        name.as_deref(),
        &visitor.client,
    )
    .await?;
    tracing::info!(user_id = user.id, token_id = id, "API token revoked");
    Ok(match format {
        Format::Json => StatusCode::NO_CONTENT.into_response(),
        Format::Html => crate::handlers::auth::redirect_with_flash(
            &state,
            visitor.secure,
            "/settings/tokens",
            FlashKind::Success,
            "The token was revoked.",
        ),
    })
}

fn page(
    state: &AppState,
    visitor: &Visitor,
    tokens: Vec<ApiToken>,
    created: Option<String>,
    error: Option<String>,
) -> TokensPage {
    TokensPage {
        layout: visitor.layout(state, "API tokens"),
        tokens: tokens
            .iter()
            .map(|token| TokenView {
                id: token.id,
                name: token.name.clone(),
                created_at: crate::time::display(token.created_at),
                last_used_at: token.last_used_at.map(crate::time::display),
            })
            .collect(),
        created,
        error,
    }
}

/// `POST /settings/tokens/{id}/revoke`: the confirmation page's form, which
/// works without JavaScript.
#[utoipa::path(
    post,
    path = "/settings/tokens/{id}/revoke",
    operation_id = "revoke_token_from_form",
    tag = "tokens",
    summary = "Revoke an API token, from a form",
    description = "The same as `DELETE /settings/tokens/{id}`, for HTML forms.",
    params(("id" = i32, Path, description = "The token's id.")),
    responses(
        (status = NO_CONTENT, description = "Revoked."),
        (status = SEE_OTHER, description = "Revoked; a browser goes back to the tokens page."),
        (status = FORBIDDEN, description = "Asked with an API token: tokens are managed from a session.", body = ErrorBody),
        (status = NOT_FOUND, description = "No such token, or not the user's.", body = ErrorBody),
    ),
    security(("session" = [], "csrf" = [])),
)]
pub async fn revoke_from_form(
    state: State<AppState>,
    user: CurrentUser,
    visitor: Visitor,
    format: Format,
    id: Path<String>,
) -> Result<Response, AppError> {
    revoke(state, user, visitor, format, id).await
}
