//! `/api/openapi.json`: an OpenAPI 3.1 document that names every route
//! answering JSON, and whose schemas are what the routes answer.
//!
//! The routes are found without the document's help: every link and form of
//! every page a signed-in user can reach, and the service routes tools use.
//! Each is asked for JSON; each that answers JSON must be in the document,
//! and each answer must match the schema the document gives it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{Backend, Client, Database, TestApp, csrf_in, in_ci, location};

/// A route as the document names it: `GET /files/{id}`.
type Route = (String, String);

fn route(method: &str, path: &str) -> Route {
    (method.to_ascii_lowercase(), path.to_owned())
}

/// `/files/12/download?x=1` → `/files/{id}/download`; a session's id is 64
/// hex digits.
fn pattern_of(path: &str) -> String {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    path.split('/')
        .map(|segment| {
            let number = !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit());
            let session = segment.len() == 64 && segment.bytes().all(|b| b.is_ascii_hexdigit());
            if number || session { "{id}" } else { segment }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Every documented operation.
fn operations(document: &Value) -> BTreeSet<Route> {
    let mut found = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in ["get", "head", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                found.insert(route(method, path));
            }
        }
    }
    found
}

fn operation<'a>(document: &'a Value, (method, path): &Route) -> &'a Value {
    &document["paths"][path][method]
}

/// A `$ref` within the document, resolved.
fn resolve<'a>(document: &'a Value, reference: &str) -> &'a Value {
    let pointer = reference
        .strip_prefix('#')
        .unwrap_or_else(|| panic!("{reference} is not within the document"));
    document
        .pointer(pointer)
        .unwrap_or_else(|| panic!("{reference} points at nothing"))
}

/// Where `value` breaks `schema` (the subset of JSON Schema the document
/// uses): types, required and undocumented properties, items, one-of.
fn mismatches(document: &Value, schema: &Value, value: &Value, at: &str, found: &mut Vec<String>) {
    if let Some(reference) = schema["$ref"].as_str() {
        return mismatches(document, resolve(document, reference), value, at, found);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(choices) = schema[key].as_array() {
            let fits = choices.iter().any(|choice| {
                let mut wrong = Vec::new();
                mismatches(document, choice, value, at, &mut wrong);
                wrong.is_empty()
            });
            if !fits {
                found.push(format!("{at}: {value} fits none of its {key}"));
            }
            return;
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(one) => vec![one],
        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() {
        let fits = types.iter().any(|kind| match *kind {
            "null" => value.is_null(),
            "boolean" => value.is_boolean(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "string" => value.is_string(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            other => panic!("{at}: a schema type {other} this check does not know"),
        });
        if !fits {
            found.push(format!("{at}: {value} is not {types:?}"));
            return;
        }
    }
    if let (Some(object), Some(properties)) = (value.as_object(), schema["properties"].as_object())
    {
        for required in schema["required"].as_array().into_iter().flatten() {
            let name = required.as_str().unwrap();
            if !object.contains_key(name) {
                found.push(format!("{at}: {name} is missing"));
            }
        }
        for (name, field) in object {
            match properties.get(name) {
                Some(property) => {
                    mismatches(document, property, field, &format!("{at}.{name}"), found)
                }
                None => found.push(format!("{at}: {name} is not in the schema")),
            }
        }
    }
    if let (Some(items), Some(schema)) = (value.as_array(), schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            mismatches(document, schema, item, &format!("{at}[{i}]"), found);
        }
    }
}

/// Asserts that a JSON answer to `route` is one the document gives it, with
/// its status and the schema of its body.
async fn assert_documented_answer(
    document: &Value,
    route: &Route,
    response: reqwest::Response,
) -> Value {
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(
        content_type.as_deref(),
        Some("application/json"),
        "{route:?} answers JSON"
    );
    let body: Value = response.json().await.unwrap();
    let responses = &operation(document, route)["responses"];
    let mut answer = &responses[status.as_str()];
    if let Some(reference) = answer["$ref"].as_str() {
        answer = resolve(document, reference);
    }
    assert!(
        answer.is_object(),
        "{route:?} answered {status}, which the document does not list: {body}"
    );
    let schema = &answer["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "{route:?}: {status} has no JSON schema in the document"
    );
    let mut wrong = Vec::new();
    mismatches(document, schema, &body, "answer", &mut wrong);
    assert!(
        wrong.is_empty(),
        "{route:?} {status} does not match its schema: {wrong:#?}\n{body}"
    );
    body
}

/// Links and forms in a page: `(method, path)`.
fn targets(html: &str) -> Vec<(String, String)> {
    let href = regex_lite::Regex::new(r#"href="(/[^"]*)""#).unwrap();
    let form = regex_lite::Regex::new(r"(?s)<form\b([^>]*)>").unwrap();
    let attribute = |tag: &str, name: &str| {
        regex_lite::Regex::new(&format!(r#"\b{name}="([^"]*)""#))
            .unwrap()
            .captures(tag)
            .map(|c| c[1].to_owned())
    };
    let mut found: Vec<_> = href
        .captures_iter(html)
        .map(|c| ("get".to_owned(), c[1].replace("&amp;", "&")))
        .collect();
    for tag in form.captures_iter(html) {
        let method = attribute(&tag[1], "method").unwrap_or_else(|| "get".into());
        let action = attribute(&tag[1], "action").expect("every form names its action");
        found.push((method.to_ascii_lowercase(), action));
    }
    found
}

/// A user with a file and an API token, seen as a browser (HTML) and as a
/// script (JSON) signed in as the same user in a session of its own.
async fn a_user_with_a_file(app: &TestApp) -> (Client, Client, String) {
    let browser = app.browser();
    browser
        .register("ada", "ada@example.com", "long enough")
        .await;
    assert_eq!(
        browser.sign_in("ada", "long enough").await.status(),
        StatusCode::SEE_OTHER
    );
    let script = app.script();
    let csrf = script.json_sign_in("ada", "long enough").await;
    assert_eq!(
        script
            .upload(&csrf, &[("notes.txt", b"minutes of the meeting")])
            .await
            .status(),
        StatusCode::CREATED
    );
    let page = browser.get("/settings/tokens").await.text().await.unwrap();
    let made = browser
        .post_form(
            "/settings/tokens",
            &[("name", "backups"), ("csrf_token", &csrf_in(&page))],
        )
        .await;
    assert_eq!(location(&made), "/settings/tokens");
    (browser, script, csrf)
}

#[tokio::test]
async fn every_route_that_answers_json_is_in_the_openapi_document() {
    let Some(db) = Database::create(Backend::Sqlite).await else {
        return;
    };
    let app = db.spawn().await;
    let served = crate::helpers::http_client()
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.headers()["content-type"], "application/json");
    let document: Value = served.json().await.unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["info"]["title"], "SecureStamp");
    let documented = operations(&document);
    let (browser, script, _) = a_user_with_a_file(&app).await;

    // Every page a signed-in user reaches, and every link and form on it,
    // each with a path that reaches it.
    let mut seen = BTreeSet::new();
    let mut queue: VecDeque<String> = ["/", "/dashboard", "/auth/login", "/auth/register"]
        .map(String::from)
        .into();
    let mut routes = BTreeMap::new();
    while let Some(path) = queue.pop_front() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let response = browser.get(&path).await;
        let is_page = response
            .headers()
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap().starts_with("text/html"));
        if !is_page || !response.status().is_success() {
            continue;
        }
        for (method, target) in targets(&response.text().await.unwrap()) {
            let target = target.split('#').next().unwrap().to_owned();
            let pattern = pattern_of(&target);
            routes
                .entry(route(&method, &pattern))
                .or_insert_with(|| target.clone());
            // Following the sign-out link would end the session being crawled.
            if method == "get" && pattern != "/auth/logout" {
                queue.push_back(target);
            }
        }
    }
    assert!(seen.len() >= 12, "the crawl reached the pages: {seen:?}");
    // The routes tools use without a page linking them.
    let file_id = {
        let files: Value = script.get("/files").await.json().await.unwrap();
        files["files"][0]["id"].as_i64().unwrap().to_string()
    };
    for (method, path) in [
        ("get", "/healthz"),
        ("get", "/readyz"),
        ("head", "/files/{id}/download"),
        ("delete", "/files/{id}"),
        ("delete", "/settings/tokens/{id}"),
        ("get", "/log/proof/inclusion?index=0"),
        ("get", "/log/proof/consistency?from=0"),
        ("post", "/tsa"),
    ] {
        routes.insert(
            route(method, &pattern_of(path)),
            path.replace("{id}", &file_id),
        );
    }
    for expected in [
        ("get", "/files/{id}"),
        ("post", "/upload"),
        ("post", "/verify"),
        ("post", "/auth/logout"),
        ("get", "/files/{id}/receipt"),
        ("get", "/log/checkpoint"),
        ("post", "/settings/tokens/{id}/revoke"),
    ] {
        assert!(
            routes.contains_key(&route(expected.0, expected.1)),
            "the crawl found {expected:?}: {routes:?}"
        );
    }

    // Ask each for JSON; whatever answers JSON must be documented.
    let mut json_routes = BTreeSet::new();
    for (route, path) in &routes {
        let (method, pattern) = route;
        let documented_here = documented.contains(route);
        // A write is not sent blind, nor the sign-out link followed: each of
        // these is a JSON route, and must be documented.
        if (method != "get" && method != "head") || pattern == "/auth/logout" {
            json_routes.insert(route.clone());
            continue;
        }
        let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
        let response = script
            .http
            .request(method, script.url(path))
            .send()
            .await
            .unwrap();
        let json = response
            .headers()
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap().starts_with("application/json"));
        if json {
            json_routes.insert(route.clone());
        }
        if json && documented_here && route.0 == "get" && pattern != "/files/{id}/receipt" {
            assert_documented_answer(&document, route, response).await;
        }
    }
    // The document does not describe itself.
    assert!(
        json_routes.remove(&route("get", "/api/openapi.json")),
        "the tokens page links the document"
    );
    let missing: Vec<_> = json_routes.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "JSON routes missing from the document: {missing:?}"
    );
    // And the document names nothing the server does not route. Asked with
    // no credentials, a routed read answers 401 or its answer, never the
    // route table's 404 (writes are refused for their CSRF token first).
    for (method, path) in documented
        .iter()
        .filter(|(method, _)| method == "get" || method == "head")
    {
        let path = path.replace("{id}", &file_id);
        let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
        let response = crate::helpers::http_client()
            .request(method.clone(), app.url(&path))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_ne!(
            response.status(),
            StatusCode::NOT_FOUND,
            "{method} {path} is documented but not routed"
        );
        assert_ne!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn the_documents_answers_are_the_ones_the_api_gives() {
    let Some(db) = Database::create(Backend::Sqlite).await else {
        return;
    };
    let app = db.spawn().await;
    let document: Value = crate::helpers::http_client()
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    // Every reference resolves, every operation has its own id, and every
    // security requirement names a scheme the document defines.
    let text = document.to_string();
    let references = regex_lite::Regex::new(r#""\$ref":"([^"]+)""#).unwrap();
    for reference in references.captures_iter(&text) {
        resolve(&document, &reference[1]);
    }
    let schemes = document["components"]["securitySchemes"]
        .as_object()
        .expect("security schemes");
    let mut ids = BTreeSet::new();
    for route in operations(&document) {
        let operation = operation(&document, &route);
        let id = operation["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{route:?} has an operationId"));
        assert!(ids.insert(id.to_owned()), "operationId {id} is used twice");
        for requirement in operation["security"].as_array().into_iter().flatten() {
            for name in requirement.as_object().unwrap().keys() {
                assert!(
                    schemes.contains_key(name),
                    "{route:?} needs an undefined scheme {name}"
                );
            }
        }
    }

    // What needs the database may be refused while it is out of reach; what
    // is served from memory may not.
    for (route, may_be_unavailable) in [
        (route("get", "/files"), true),
        (route("post", "/upload"), true),
        (route("get", "/healthz"), false),
        (route("get", "/keys/openpgp.asc"), false),
    ] {
        assert_eq!(
            operation(&document, &route)["responses"]["503"].is_object(),
            may_be_unavailable,
            "{route:?}"
        );
    }

    // The account and file answers, each checked against its schema.
    let script = app.script();
    let register_form = script.get("/auth/register").await;
    let csrf = assert_documented_answer(&document, &route("get", "/auth/register"), register_form)
        .await["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = serde_json::json!({"username": "grace", "email": "grace@example.com", "password": "long enough"});
    let registered = script
        .post_json("/auth/register", &csrf, body.clone())
        .await;
    assert_documented_answer(&document, &route("post", "/auth/register"), registered).await;
    let taken = script.post_json("/auth/register", &csrf, body).await;
    assert_eq!(taken.status(), StatusCode::CONFLICT);
    assert_documented_answer(&document, &route("post", "/auth/register"), taken).await;
    let wrong = script
        .post_json(
            "/auth/login",
            &csrf,
            serde_json::json!({"username": "grace", "password": "not it at all"}),
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_documented_answer(&document, &route("post", "/auth/login"), wrong).await;
    let signed_in = script
        .post_json(
            "/auth/login",
            &csrf,
            serde_json::json!({"username": "grace", "password": "long enough"}),
        )
        .await;
    let csrf = assert_documented_answer(&document, &route("post", "/auth/login"), signed_in).await
        ["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let uploaded = script
        .upload(&csrf, &[("a.txt", b"first"), ("b.txt", b"second")])
        .await;
    let uploaded = assert_documented_answer(&document, &route("post", "/upload"), uploaded).await;
    let id = uploaded["files"][0]["id"].as_i64().unwrap();
    let refused = script.upload(&csrf, &[("tool.exe", b"MZ")]).await;
    assert_eq!(refused.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_documented_answer(&document, &route("post", "/upload"), refused).await;
    let missing = script.get("/files/999999").await;
    assert_documented_answer(&document, &route("get", "/files/{id}"), missing).await;
    let anonymous = app.script().get("/files").await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_documented_answer(&document, &route("get", "/files"), anonymous).await;
    let forged = script
        .http
        .delete(script.url(&format!("/files/{id}")))
        .header("x-csrf-token", "forged")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_documented_answer(&document, &route("delete", "/files/{id}"), forged).await;

    let receipt = script
        .get(&format!("/files/{id}/receipt"))
        .await
        .bytes()
        .await
        .unwrap();
    let verified = script.verify(&receipt, "a.txt", b"first").await;
    let verified = assert_documented_answer(&document, &route("post", "/verify"), verified).await;
    assert_eq!(verified["all_hold"], true);

    let created = script
        .post_json("/settings/tokens", &csrf, serde_json::json!({"name": "ci"}))
        .await;
    let created =
        assert_documented_answer(&document, &route("post", "/settings/tokens"), created).await;
    assert!(created["token"].as_str().unwrap().starts_with("sst_"));
    let listed = script.get("/settings/tokens").await;
    assert_documented_answer(&document, &route("get", "/settings/tokens"), listed).await;
    let with_token = app
        .script()
        .http
        .get(app.url("/settings/tokens"))
        .header(
            "authorization",
            format!("Bearer {}", created["token"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(with_token.status(), StatusCode::FORBIDDEN);
    assert_documented_answer(&document, &route("get", "/settings/tokens"), with_token).await;

    let signed_out = script
        .http
        .post(script.url("/auth/logout"))
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_documented_answer(&document, &route("post", "/auth/logout"), signed_out).await;
}

/// `openapi-spec-validator` (from PyPI; `.ci/run` installs it) checks the
/// document against the OpenAPI 3.1 specification and its JSON Schema dialect.
const VALIDATOR: &str = "SECURESTAMP_OPENAPI_VALIDATOR";

#[tokio::test]
async fn the_document_is_valid_openapi_3_1() {
    let validator = match std::env::var_os(VALIDATOR) {
        Some(validator) => validator,
        None if in_ci() => {
            panic!("{VALIDATOR} is not set (CI checks the OpenAPI document with it)")
        }
        None => return eprintln!("skipped: {VALIDATOR} names no openapi-spec-validator"),
    };
    let Some(db) = Database::create(Backend::Sqlite).await else {
        return;
    };
    let app = db.spawn().await;
    let document = crate::helpers::http_client()
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, &document).unwrap();
    let checked = tokio::process::Command::new(&validator)
        .arg(&file)
        .output()
        .await
        .expect("the validator runs");
    let said = String::from_utf8_lossy(&checked.stdout).into_owned()
        + &String::from_utf8_lossy(&checked.stderr);
    assert!(
        checked.status.success(),
        "the OpenAPI document is not valid: {said}"
    );
    assert!(said.contains("OK"), "{said}");
}
