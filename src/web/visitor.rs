//! The request context: who is asking ([`Visitor`], [`CurrentUser`]) and the
//! CSRF check, both run by [`layer`] before any handler.
//!
//! Every state-changing request to a page, a form or the account API passes
//! through here: it is refused (403) when a browser says it came from another
//! site, or when it carries no CSRF token matching the session (header
//! `X-CSRF-Token`, or form field `csrf_token`). The routes for tools
//! (`router.rs`) skip this layer: they change nothing anyone owns.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::{HeaderMap, Uri, header, request::Parts};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::cookies::{self, Name};
use super::cross_site::{cross_site_refusal, is_safe};
use super::csrf::{CSRF_EXEMPT, DeferredCsrf, defers_its_token, presented_token, token_matches};
use super::pages::{Flash, Layout};
use crate::auth::tokens::CsrfBinding;
use crate::auth::{ApiTokenSecret, SessionToken};
use crate::db;
use crate::error::AppError;
use crate::state::AppState;
use crate::time::unix_now;

/// A session's (or token's) last-seen time is written at most this often
/// (seconds), and more often when the idle timeout is short: see
/// [`touch_interval`].
const TOUCH_INTERVAL: i64 = 60;

/// How stale a session's last-seen time may get before a request writes it
/// again: a minute, or a quarter of the idle timeout when that is shorter, so
/// that a session in use never looks idle for lack of a write.
fn touch_interval(idle_timeout: std::time::Duration) -> i64 {
    let quarter = i64::try_from(idle_timeout.as_secs() / 4).unwrap_or(i64::MAX);
    quarter.min(TOUCH_INTERVAL)
}

/// Whether the request carries a personal API token (`Authorization:
/// Bearer …`). Another scheme (a proxy's `Basic`, say) is not ours: the
/// request is then judged by its cookies like any other.
fn carries_bearer_token(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim_start().split_once(' '))
        .is_some_and(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
}

/// The signed-in account.
#[derive(Clone, Debug)]
pub struct CurrentUser {
    pub id: i32,
    pub username: String,
    pub email: String,
    /// The personal API token the request authenticated with, if not a session.
    pub api_token: Option<i32>,
}

/// Who is making the request, and what their pages need.
#[derive(Clone, Debug)]
pub struct Visitor {
    pub user: Option<CurrentUser>,
    /// `sessions.id` of the signed-in session.
    pub session_id: Option<String>,
    /// The token this visitor's forms and scripts must send back.
    pub csrf_token: String,
    /// Whether the request came over https (cookie names and attributes follow).
    pub secure: bool,
    pub flashes: Vec<Flash>,
    pub path: String,
    /// The client's address and device.
    pub client: super::client::ClientInfo,
}

impl Visitor {
    pub fn layout(&self, state: &AppState, title: impl Into<String>) -> Layout {
        Layout {
            title: title.into(),
            user: self.user.as_ref().map(|user| user.username.clone()),
            csrf_token: self.csrf_token.clone(),
            flashes: self.flashes.clone(),
            onion_url: state.config.onion_url.as_ref().map(url::Url::to_string),
            stylesheet: super::assets::stylesheet_url(),
            favicon: super::assets::favicon_url(),
            site_script: super::assets::site_script_url(),
            path: self.path.clone(),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Visitor {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Visitor>()
            .cloned()
            .ok_or_else(|| AppError::internal("the visitor layer is not installed"))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Visitor::from_request_parts(parts, state)
            .await?
            .user
            .ok_or(AppError::Unauthenticated)
    }
}

/// Cookie changes decided while reading the request, applied to the response.
#[derive(Default)]
struct Pending {
    new_pre_session: Option<SessionToken>,
    clear_session: bool,
    had_flash: bool,
}

/// Middleware: builds the [`Visitor`], enforces CSRF, and maintains cookies.
pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let secure = is_https(&state, request.uri(), request.headers(), peer_of(&request));
    let mut pending = Pending::default();
    let (mut response, visitor) = match prepare(&state, request, secure, &mut pending).await {
        Ok((request, visitor)) => (next.run(request).await, Some(visitor)),
        Err((error, visitor)) => (error.into_response(), visitor),
    };
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value.starts_with("text/html") || value.starts_with("application/json")
        });
    if let Some(token) = pending.new_pre_session.filter(|_| is_page) {
        cookies::set(
            &mut response,
            &cookies::build(Name::PreSession, token.expose().to_owned(), secure, None),
        );
    }
    if pending.clear_session {
        cookies::set(&mut response, &cookies::removal(Name::Session, secure));
    }
    if pending.had_flash && is_page && response.status().is_success() {
        cookies::set(&mut response, &cookies::removal(Name::Flash, secure));
    }
    if let Some(visitor) = visitor {
        response.extensions_mut().insert(visitor);
    }
    response
}

type Refusal = (AppError, Option<Visitor>);

/// Who is asking, then whether their request may proceed.
async fn prepare(
    state: &AppState,
    request: Request,
    secure: bool,
    pending: &mut Pending,
) -> Result<(Request, Visitor), Refusal> {
    let mut client = super::client::ClientInfo::of(
        &state.config.trusted_proxies,
        request.headers(),
        peer_of(&request),
    );
    client.known_device = cookies::value(
        &cookies::incoming(request.headers()),
        Name::KnownDevice,
        secure,
    )
    .map(str::to_owned);
    if carries_bearer_token(request.headers()) {
        return bearer(state, request, secure, client)
            .await
            .map_err(|error| (error, None));
    }
    let mut visitor = identify(state, request.headers(), request.uri(), secure, pending)
        .await
        .map_err(|error| (error, None))?;
    visitor.client = client;
    let mut request = match check_csrf(request, &visitor).await {
        Ok(request) => request,
        Err(error) => return Err((error, Some(visitor))),
    };
    request.extensions_mut().insert(visitor.clone());
    Ok((request, visitor))
}

/// The visitor of a cookie-carrying (or cookie-less) request: the session's
/// user if it is live, else the pre-session that anonymous forms bind to.
async fn identify(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    secure: bool,
    pending: &mut Pending,
) -> Result<Visitor, AppError> {
    let jar = cookies::incoming(headers);
    let presented = cookies::value(&jar, Name::Session, secure);
    let session = match presented.and_then(SessionToken::parse) {
        Some(token) => session_user(state, &token)
            .await?
            .map(|(id, user)| (token, id, user)),
        None => None,
    };
    // A session cookie that names no live session is cleared.
    pending.clear_session = presented.is_some() && session.is_none();
    let (user, session_id, csrf_token) = match session {
        Some((token, id, user)) => {
            let csrf = state.secrets.csrf_token(CsrfBinding::Session(&token));
            (Some(user), Some(id), csrf)
        }
        None => {
            let pre_session = cookies::value(&jar, Name::PreSession, secure)
                .and_then(SessionToken::parse)
                .unwrap_or_else(|| {
                    let token = SessionToken::generate();
                    pending.new_pre_session = Some(token.clone());
                    token
                });
            let csrf = state
                .secrets
                .csrf_token(CsrfBinding::Anonymous(&pre_session));
            (None, None, csrf)
        }
    };
    pending.had_flash = cookies::value(&jar, Name::Flash, secure).is_some();
    Ok(Visitor {
        user,
        session_id,
        csrf_token,
        secure,
        flashes: cookies::read_flash(&state.secrets, &jar, secure),
        path: uri.path().to_owned(),
        client: Default::default(),
    })
}

/// Refuses an unsafe request that came from another site or lacks the
/// visitor's CSRF token; a multipart upload is marked to check its own field.
async fn check_csrf(mut request: Request, visitor: &Visitor) -> Result<Request, AppError> {
    if is_safe(request.method()) || CSRF_EXEMPT.contains(&request.uri().path()) {
        return Ok(request);
    }
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|value| value.to_str().ok());
    if let Some(reason) = cross_site_refusal(request.method(), request.headers(), host) {
        return Err(AppError::Csrf(reason));
    }
    if defers_its_token(&request) {
        request
            .extensions_mut()
            .insert(DeferredCsrf::new(visitor.csrf_token.clone()));
        return Ok(request);
    }
    let (request, presented) = presented_token(request).await?;
    match presented {
        None => Err(AppError::Csrf(
            "The request is missing its security token. Reload the page and try again.",
        )),
        Some(token) if !token_matches(&visitor.csrf_token, &token) => Err(AppError::Csrf(
            "The security token is invalid or expired. Reload the page and try again.",
        )),
        Some(_) => Ok(request),
    }
}

/// The signed-in account of a route served without this layer (`POST /tsa`
/// when it is not public): by personal API token, else by session cookie.
/// Such a route must not need the CSRF check.
pub async fn signed_in(
    state: &AppState,
    uri: &Uri,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
) -> Result<Option<CurrentUser>, AppError> {
    if carries_bearer_token(headers) {
        return bearer_user(state, headers).await.map(Some);
    }
    let secure = is_https(state, uri, headers, peer);
    let jar = cookies::incoming(headers);
    match cookies::value(&jar, Name::Session, secure).and_then(SessionToken::parse) {
        Some(token) => Ok(session_user(state, &token).await?.map(|(_, user)| user)),
        None => Ok(None),
    }
}

/// The account of a live session, with the session's id; marks it seen.
async fn session_user(
    state: &AppState,
    token: &SessionToken,
) -> Result<Option<(String, CurrentUser)>, AppError> {
    let now = unix_now();
    let idle = state.config.session_idle_timeout;
    let id = state.secrets.session_id(token);
    let Some((row, account)) = db::sessions::find_live(&state.db, &id, now, idle)
        .await?
        .filter(|(_, account)| account.disabled_at.is_none())
    else {
        return Ok(None);
    };
    if now - row.last_seen_at >= touch_interval(idle) {
        db::sessions::touch(&state.db, &id, now).await?;
    }
    let user = CurrentUser {
        id: account.id,
        username: account.username,
        email: account.email,
        api_token: None,
    };
    Ok(Some((id, user)))
}

/// A request that authenticates with `Authorization: Bearer <personal API
/// token>`. Browsers never attach such a header on their own, so these
/// requests need no CSRF token; cookies are ignored for them.
async fn bearer(
    state: &AppState,
    mut request: Request,
    secure: bool,
    client: super::client::ClientInfo,
) -> Result<(Request, Visitor), AppError> {
    let user = bearer_user(state, request.headers()).await?;
    let visitor = Visitor {
        user: Some(user),
        session_id: None,
        csrf_token: String::new(),
        secure,
        flashes: Vec::new(),
        path: request.uri().path().to_owned(),
        client,
    };
    request.extensions_mut().insert(visitor.clone());
    Ok((request, visitor))
}

/// The account whose personal API token the `Authorization` header carries.
async fn bearer_user(state: &AppState, headers: &HeaderMap) -> Result<CurrentUser, AppError> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim_start().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .and_then(|(_, token)| ApiTokenSecret::hash_presented(token.trim()));
    let Some(hash) = presented else {
        return Err(AppError::InvalidToken);
    };
    let (token, account) = db::api_tokens::find_by_hash(&state.db, &hash)
        .await?
        .filter(|(_, account)| account.disabled_at.is_none())
        .ok_or(AppError::InvalidToken)?;
    let now = unix_now();
    if token
        .last_used_at
        .is_none_or(|last| now - last >= TOUCH_INTERVAL)
    {
        db::api_tokens::touch(&state.db, token.id, now).await?;
    }
    Ok(CurrentUser {
        id: account.id,
        username: account.username,
        email: account.email,
        api_token: Some(token.id),
    })
}

/// The address the connection came from, when the connection loop recorded it.
fn peer_of(request: &Request) -> Option<IpAddr> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip())
}

/// Whether the client reached us over https: directly, or through a proxy in
/// `TRUSTED_PROXIES` that says so (`X-Forwarded-Proto`, `Forwarded`). Anyone
/// else's word on it would switch the cookies' names and `Secure` flags.
fn is_https(state: &AppState, uri: &Uri, headers: &HeaderMap, peer: Option<IpAddr>) -> bool {
    if uri.scheme_str() == Some("https") {
        return true;
    }
    if !peer.is_some_and(|peer| state.config.trusted_proxies.contains(peer)) {
        return false;
    }
    let forwarded_proto = headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(',').next())
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"));
    let forwarded = headers
        .get(header::FORWARDED)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .to_ascii_lowercase()
                .replace(' ', "")
                .contains("proto=https")
        });
    forwarded_proto || forwarded
}
