//! The route table: every URL the service answers, and the layers around them.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::middleware::from_fn_with_state;
use axum::routing::{delete, get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::error::AppError;
use crate::handlers::{auth, files, health, home, keys, log, not_found, settings, tsa, verify};
use crate::state::AppState;
use crate::web::{self, assets, headers, negotiate, visitor};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn router(state: AppState) -> Router {
    // Pages, forms and the account API: who is asking, and the CSRF check.
    let pages = Router::new()
        .route("/", get(home::show))
        .route(
            "/auth/register",
            get(auth::register::form).post(auth::register::submit),
        )
        .route(
            "/auth/login",
            get(auth::login::form).post(auth::login::submit),
        )
        .route(
            "/auth/logout",
            get(auth::logout::run).post(auth::logout::run),
        )
        .route("/dashboard", get(files::list::dashboard))
        .route(
            "/upload",
            get(files::upload::form)
                .post(files::upload::submit)
                .layer(DefaultBodyLimit::max(
                    usize::try_from(state.config.max_content_length).unwrap_or(usize::MAX),
                )),
        )
        .route("/files", get(files::list::index))
        .route(
            "/files/{id}",
            get(files::show::show).delete(files::delete::delete),
        )
        .route("/files/{id}/download", get(files::download::download))
        .route(
            "/files/{id}/delete",
            get(files::delete::confirm).post(files::delete::delete),
        )
        .route("/files/{id}/receipt", get(files::proofs::receipt))
        .route("/files/{id}/timestamp.tsr", get(files::proofs::timestamp))
        .route("/files/{id}/signature.asc", get(files::proofs::signature))
        .route(
            "/settings/tokens",
            get(settings::tokens::index).post(settings::tokens::create),
        )
        .route("/settings/tokens/{id}", delete(settings::tokens::revoke))
        .route(
            "/settings/tokens/{id}/revoke",
            get(settings::tokens::confirm_revoke).post(settings::tokens::revoke),
        )
        .route(
            "/verify",
            get(verify::form)
                .post(verify::check)
                .layer(DefaultBodyLimit::max(
                    usize::try_from(state.config.max_content_length).unwrap_or(usize::MAX),
                )),
        )
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(web::FORM_LIMIT))
        .layer(from_fn_with_state(state.clone(), visitor::layer));
    // For tools and caches: no cookie is read or set, so no session is looked up.
    let public = Router::new()
        .route(
            "/tsa",
            post(tsa::stamp).layer(DefaultBodyLimit::max(tsa::BODY_LIMIT)),
        )
        .route("/keys/tsa-chain.pem", get(keys::tsa_chain))
        .route("/keys/openpgp.asc", get(keys::openpgp))
        .route("/keys/log.vkey", get(log::verifier_key))
        .route("/log/checkpoint", get(log::checkpoint))
        .route("/log/tile/{*path}", get(log::tile))
        .route("/log/proof/inclusion", get(log::inclusion))
        .route("/log/proof/consistency", get(log::consistency))
        .route("/static/style.css", get(assets::stylesheet))
        .route("/static/upload.js", get(assets::upload_script))
        .route("/static/site.js", get(assets::site_script))
        .route("/static/favicon.svg", get(assets::favicon))
        .route("/favicon.ico", get(assets::favicon))
        .route("/healthz", get(health::live))
        .route("/readyz", get(health::ready))
        .layer(DefaultBodyLimit::max(web::FORM_LIMIT));

    // Listed innermost first: a request passes them bottom-up.
    pages
        .merge(public)
        // Inside negotiation, so that a panic still gets a page and the security headers.
        .layer(CatchPanicLayer::custom(|_| {
            AppError::internal("a handler panicked").info().json_response()
        }))
        .layer(from_fn_with_state(state.clone(), web::circuit::layer))
        .layer(from_fn_with_state(state.clone(), negotiate::layer))
        .layer(from_fn_with_state(state.clone(), headers::layer))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<_>| {
                    // The path only: query strings and headers can carry secrets.
                    let id = request.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("request", id, method = %request.method(), path = request.uri().path())
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(axum::middleware::map_request(keep_only_a_sane_request_id))
        .with_state(state)
}

/// The longest `X-Request-Id` a client may choose; a UUID is 36 characters.
const REQUEST_ID_MAX: usize = 64;

/// A client's `X-Request-Id` is kept (and echoed, and logged) only when it is
/// short and plain: letters, digits and `-_.:`. Any other is dropped, and the
/// request gets an id of ours instead.
async fn keep_only_a_sane_request_id(
    mut request: axum::extract::Request,
) -> axum::extract::Request {
    let sane = |value: &axum::http::HeaderValue| {
        let bytes = value.as_bytes();
        !bytes.is_empty()
            && bytes.len() <= REQUEST_ID_MAX
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
    };
    let headers = request.headers_mut();
    let values = headers.get_all(&REQUEST_ID);
    let keep = {
        let mut values = values.iter();
        matches!((values.next(), values.next()), (Some(one), None) if sane(one))
    };
    if !keep {
        headers.remove(&REQUEST_ID);
    }
    request
}
