//! The service's cookies: names, attributes, and the signed flash cookie.
//!
//! Every cookie is `HttpOnly`, `SameSite=Lax` and `Path=/`. When the request
//! arrived over https they are also `Secure` and carry the `__Host-` prefix,
//! which browsers only accept from a secure origin without a `Domain`, so a
//! sibling subdomain cannot plant or overwrite them.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use cookie::{Cookie, CookieJar, SameSite};

use super::pages::Flash;
use crate::auth::Secrets;

#[derive(Clone, Copy, Debug)]
pub enum Name {
    /// The signed-in session's token.
    Session,
    /// The pre-session value that anonymous visitors' CSRF tokens are bound to.
    PreSession,
    /// One-shot messages for the next page, signed.
    Flash,
    /// A just-created API token on its way to the page that shows it once,
    /// encrypted.
    NewToken,
    /// A browser that has signed in to an account before, sealed: its
    /// sign-ins are not held up by strangers' failures ([`crate::throttle`]).
    KnownDevice,
}

impl Name {
    pub fn for_scheme(self, secure: bool) -> &'static str {
        match (self, secure) {
            (Name::Session, true) => "__Host-session",
            (Name::Session, false) => "session",
            (Name::PreSession, true) => "__Host-presession",
            (Name::PreSession, false) => "presession",
            (Name::Flash, true) => "__Host-flash",
            (Name::Flash, false) => "flash",
            (Name::NewToken, true) => "__Host-newtoken",
            (Name::NewToken, false) => "newtoken",
            (Name::KnownDevice, true) => "__Host-device",
            (Name::KnownDevice, false) => "device",
        }
    }
}

/// A cookie with the service's attributes; `max_age: None` lasts for the browser session.
pub fn build(
    name: Name,
    value: String,
    secure: bool,
    max_age: Option<Duration>,
) -> Cookie<'static> {
    let mut cookie = Cookie::build((name.for_scheme(secure), value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(secure)
        .build();
    if let Some(max_age) = max_age {
        cookie.set_max_age(cookie::time::Duration::seconds(
            i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX),
        ));
    }
    cookie
}

/// A `Set-Cookie` that deletes the cookie.
pub fn removal(name: Name, secure: bool) -> Cookie<'static> {
    let mut cookie = build(name, String::new(), secure, None);
    cookie.make_removal();
    cookie
}

/// Adds a `Set-Cookie` header to the response.
pub fn set(response: &mut Response, cookie: &Cookie<'_>) {
    if let Ok(value) = HeaderValue::from_str(&cookie.encoded().to_string()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// The request's cookies.
pub fn incoming(headers: &HeaderMap) -> CookieJar {
    let mut jar = CookieJar::new();
    for value in headers.get_all(header::COOKIE) {
        let Ok(value) = value.to_str() else { continue };
        for cookie in Cookie::split_parse_encoded(value.to_owned()).flatten() {
            jar.add_original(cookie);
        }
    }
    jar
}

pub fn value(jar: &CookieJar, name: Name, secure: bool) -> Option<&str> {
    jar.get(name.for_scheme(secure)).map(Cookie::value)
}

/// A signed cookie carrying flash messages to the next page.
pub fn flash(secrets: &Secrets, secure: bool, flashes: &[Flash]) -> Cookie<'static> {
    let json = serde_json::to_string(flashes).unwrap_or_else(|_| "[]".into());
    let mut jar = CookieJar::new();
    jar.signed_mut(&secrets.cookie)
        .add(build(Name::Flash, json, secure, None));
    jar.get(Name::Flash.for_scheme(secure))
        .cloned()
        .unwrap_or_else(|| removal(Name::Flash, secure))
}

/// How long a created token waits for its page.
const NEW_TOKEN_LIFETIME: Duration = Duration::from_secs(120);

/// An encrypted (AES-GCM), short-lived cookie carrying a just-created API
/// token across the redirect to the page that shows it once: the token
/// never sits in a URL or a page that a reload would post again.
pub fn new_token(secrets: &Secrets, secure: bool, token: &str) -> Cookie<'static> {
    let mut jar = CookieJar::new();
    jar.private_mut(&secrets.cookie).add(build(
        Name::NewToken,
        token.to_owned(),
        secure,
        Some(NEW_TOKEN_LIFETIME),
    ));
    jar.get(Name::NewToken.for_scheme(secure))
        .cloned()
        .unwrap_or_else(|| removal(Name::NewToken, secure))
}

/// The just-created token the request carries, if it decrypts.
pub fn read_new_token(secrets: &Secrets, jar: &CookieJar, secure: bool) -> Option<String> {
    jar.private(&secrets.cookie)
        .get(Name::NewToken.for_scheme(secure))
        .map(|cookie| cookie.value().to_owned())
}

/// The flash messages of the request, if their signature holds.
pub fn read_flash(secrets: &Secrets, jar: &CookieJar, secure: bool) -> Vec<Flash> {
    jar.signed(&secrets.cookie)
        .get(Name::Flash.for_scheme(secure))
        .and_then(|cookie| serde_json::from_str(cookie.value()).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SecretKey;
    use crate::web::pages::FlashKind;

    #[test]
    fn secure_cookies_use_the_host_prefix_and_all_are_http_only() {
        let secure = build(
            Name::Session,
            "v".into(),
            true,
            Some(Duration::from_secs(60)),
        )
        .to_string();
        assert!(secure.starts_with("__Host-session=v"), "{secure}");
        for attribute in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/", "Max-Age=60"] {
            assert!(secure.contains(attribute), "{secure} lacks {attribute}");
        }
        let plain = build(Name::Session, "v".into(), false, None).to_string();
        assert!(
            plain.starts_with("session=v")
                && !plain.contains("Secure")
                && plain.contains("HttpOnly")
        );
    }

    #[test]
    fn flashes_round_trip_only_with_a_valid_signature() {
        let keys = Secrets::new(&SecretKey::from_configured(
            "a secret that is long enough to be realistic",
        ));
        let flashes = vec![Flash {
            kind: FlashKind::Success,
            message: "Signed out; \"bye\"".into(),
        }];
        let cookie = flash(&keys, false, &flashes);
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&cookie.encoded().stripped().to_string()).unwrap(),
        );
        assert_eq!(read_flash(&keys, &incoming(&headers), false), flashes);

        let other = Secrets::new(&SecretKey::from_configured(
            "a different secret that is just as long",
        ));
        assert!(read_flash(&other, &incoming(&headers), false).is_empty());
    }
}
