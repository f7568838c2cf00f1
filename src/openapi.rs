//! The JSON API's OpenAPI 3.1 document, served at `/api/openapi.json`.
//!
//! Nothing in it is written by hand twice: each operation comes from the
//! `#[utoipa::path]` of the handler the route table registers (the router
//! builds the document as it builds the routes, so a JSON route cannot be
//! added without its entry), and each schema from the type that the answer is
//! serialised from. What is here is only what belongs to the whole API: its
//! title, how a client authenticates, and the error shape every route shares.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::error::ErrorInfo;

/// Where the document is served.
pub const PATH: &str = "/api/openapi.json";

/// The names the handlers' `security(...)` give the [`SecurityScheme`]s.
const SESSION: &str = "session";
const CSRF: &str = "csrf";
const BEARER: &str = "bearer";

/// The document's frame; the router adds every operation to it.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "SecureStamp",
        description = "A self-hosted, verifiable file vault. Every route answers JSON when the \
request says `Accept: application/json`. Scripts authenticate with a personal API token \
(`Authorization: Bearer …`, made on the API tokens page) or with the session cookie, \
sending `X-CSRF-Token` on every write. Each stored file carries an RFC 3161 timestamp, \
an OpenPGP signature and an entry in a transparency log; `/verify` and `securestamp verify` \
check them.",
        license(name = "AGPL-3.0-or-later", identifier = "AGPL-3.0-or-later"),
    ),
    components(schemas(ErrorBody, ErrorInfo)),
    modifiers(&Credentials),
    tags(
        (name = "accounts", description = "Registering, signing in and out."),
        (name = "files", description = "Uploading, listing, downloading and deleting one's files, and their proofs."),
        (name = "tokens", description = "Personal API tokens, managed from a signed-in session."),
        (name = "verification", description = "Checking a file against its receipt; no account needed."),
        (name = "log", description = "The append-only transparency log every stamp enters (C2SP tlog-checkpoint and tlog-tiles)."),
        (name = "keys", description = "The server's public keys and its RFC 3161 time-stamping service."),
        (name = "service", description = "Liveness and readiness, for load balancers."),
    ),
)]
pub struct Frame;

/// The contract's error answer: `{"error": {"code", "message"}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorInfo,
}

/// The three ways a request is authenticated.
struct Credentials;

impl Modify for Credentials {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A personal API token. It needs no CSRF token, and cannot manage tokens.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            SESSION,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "session",
                "The session cookie `POST /auth/login` sets (`__Host-session` over https).",
            ))),
        );
        components.add_security_scheme(
            CSRF,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-CSRF-Token",
                "With the session cookie, every write sends the `csrf_token` that \
                 `GET /auth/login` or the sign-in answered.",
            ))),
        );
    }
}

/// What the handlers' operations leave to the whole: the answers they share,
/// which no handler lists (503 wherever the database is needed, as
/// [`crate::web::circuit`] says; 401 where credentials are; 403 where a CSRF
/// token is, as the operation's own `security` says), and an operation id of
/// its own for each method of a handler that answers several.
pub fn complete(openapi: &mut utoipa::openapi::OpenApi) {
    let components = openapi.components.get_or_insert_with(Default::default);
    for (name, description) in [
        (
            "Unauthenticated",
            "No credentials, or they are not valid: no session, or an unknown or revoked \
             API token.",
        ),
        (
            "CsrfRefused",
            "The CSRF token is missing or not this session's.",
        ),
        (
            "Unavailable",
            "The database or storage is out of reach for now; try again shortly.",
        ),
    ] {
        let response = utoipa::openapi::ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                Content::new(Some(Ref::from_schema_name("ErrorBody"))),
            )
            .build();
        components.responses.insert(name.into(), response.into());
    }
    for (path, item) in openapi.paths.paths.iter_mut() {
        let needs_database = crate::web::circuit::needs_database(path);
        let operations = [
            ("get", &mut item.get),
            ("put", &mut item.put),
            ("post", &mut item.post),
            ("delete", &mut item.delete),
            ("patch", &mut item.patch),
            ("head", &mut item.head),
        ];
        let mut ids = std::collections::BTreeSet::new();
        for (method, operation) in operations {
            let Some(operation) = operation else { continue };
            if let Some(id) = &mut operation.operation_id
                && !ids.insert(id.clone())
            {
                *id = format!("{id}_{method}");
            }
            let schemes = schemes_of(operation);
            let mut add = |status: &str, name: &str| {
                operation
                    .responses
                    .responses
                    .entry(status.into())
                    .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
            };
            let signed_in = !schemes.is_empty()
                && schemes.iter().all(|together| {
                    together
                        .iter()
                        .any(|scheme| scheme == BEARER || scheme == SESSION)
                });
            if signed_in {
                add("401", "Unauthenticated");
            }
            if schemes.iter().flatten().any(|scheme| scheme == CSRF) {
                add("403", "CsrfRefused");
            }
            if needs_database {
                add("503", "Unavailable");
            }
        }
    }
}

/// The alternatives an operation accepts, each the schemes it needs together
/// (an empty one: no credentials at all).
fn schemes_of(operation: &Operation) -> Vec<Vec<String>> {
    operation
        .security
        .iter()
        .flatten()
        .map(|requirement| match serde_json::to_value(requirement) {
            Ok(serde_json::Value::Object(schemes)) => schemes.keys().cloned().collect(),
            _ => Vec::new(),
        })
        .collect()
}

/// The document as served: rendered once, when the routes are built.
#[derive(Clone)]
pub struct Document(axum::body::Bytes);

impl Document {
    pub fn render(openapi: &utoipa::openapi::OpenApi) -> Document {
        // Serialising plain data into a vector cannot fail.
        Document(
            serde_json::to_vec_pretty(openapi)
                .unwrap_or_default()
                .into(),
        )
    }
}

impl IntoResponse for Document {
    fn into_response(self) -> Response {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            self.0,
        )
            .into_response()
    }
}
