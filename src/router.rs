//! The route table: every URL the service answers, and the layers around them.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::error::AppError;
use utoipa::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::handlers::{auth, files, health, home, keys, log, not_found, settings, tsa, verify};
use crate::openapi;
use crate::state::AppState;
use crate::web::{self, assets, headers, negotiate, visitor};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn router(state: AppState) -> Router {
    let upload_limit = DefaultBodyLimit::max(
        usize::try_from(state.config.max_content_length).unwrap_or(usize::MAX),
    );
    // Pages, forms and the account API: who is asking, and the CSRF check.
    // Every route that answers JSON is registered with `routes!`, which takes
    // its operation for the OpenAPI document from the handler's `#[utoipa::path]`.
    let pages = OpenApiRouter::with_openapi(openapi::Frame::openapi())
        .route("/", get(home::show))
        .routes(routes!(auth::register::form, auth::register::submit))
        .routes(routes!(auth::login::form, auth::login::submit))
        .routes(routes!(auth::second_factor::submit))
        .routes(routes!(auth::logout::run))
        .routes(routes!(files::list::dashboard))
        .routes(routes!(files::upload::form, files::upload::submit).layer(upload_limit))
        .routes(routes!(files::list::index))
        .routes(routes!(files::show::show, files::delete::delete))
        .routes(routes!(files::download::download))
        .route("/files/{id}/delete", get(files::delete::confirm))
        .routes(routes!(files::delete::delete_from_form))
        .routes(routes!(files::proofs::receipt))
        .routes(routes!(files::proofs::timestamp))
        .routes(routes!(files::proofs::signature))
        .routes(routes!(settings::account::show))
        .routes(routes!(settings::account::change_password))
        .routes(routes!(settings::account::change_email))
        .route(
            "/settings/account/delete",
            get(settings::delete_account::confirm),
        )
        .routes(routes!(settings::delete_account::delete))
        .routes(routes!(settings::sessions::index))
        .routes(routes!(settings::sessions::end))
        .routes(routes!(settings::sessions::end_all))
        .routes(routes!(settings::activity::index))
        .routes(routes!(settings::two_factor::show))
        .routes(routes!(settings::two_factor::setup))
        .routes(routes!(settings::two_factor::confirm))
        .routes(routes!(settings::two_factor::disable))
        .routes(routes!(settings::tokens::index, settings::tokens::create))
        .routes(routes!(settings::tokens::revoke))
        .route(
            "/settings/tokens/{id}/revoke",
            get(settings::tokens::confirm_revoke),
        )
        .routes(routes!(settings::tokens::revoke_from_form))
        .route("/verify", get(verify::form))
        .routes(routes!(verify::check).layer(upload_limit))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(web::FORM_LIMIT))
        .layer(from_fn_with_state(state.clone(), visitor::layer));
    // For tools and caches: no cookie is read or set, so no session is looked up.
    let public = OpenApiRouter::new()
        .routes(routes!(tsa::stamp).layer(DefaultBodyLimit::max(tsa::BODY_LIMIT)))
        .routes(routes!(keys::tsa_chain))
        .routes(routes!(keys::openpgp))
        .routes(routes!(log::verifier_key))
        .routes(routes!(log::checkpoint))
        .route("/log/tile/{*path}", get(log::tile))
        .routes(routes!(log::inclusion))
        .routes(routes!(log::consistency))
        .route("/static/style.css", get(assets::stylesheet))
        .route("/static/upload.js", get(assets::upload_script))
        .route("/static/site.js", get(assets::site_script))
        .route("/static/favicon.svg", get(assets::favicon))
        .route("/favicon.ico", get(assets::favicon))
        .routes(routes!(health::live))
        .routes(routes!(health::ready))
        .layer(DefaultBodyLimit::max(web::FORM_LIMIT));
    let (routes, mut api) = pages.merge(public).split_for_parts();
    openapi::complete(&mut api);
    let document = openapi::Document::render(&api);
    let routes = routes.route(openapi::PATH, get(move || async move { document }));

    // Listed innermost first: a request passes them bottom-up.
    routes
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
