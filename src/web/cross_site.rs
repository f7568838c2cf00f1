//! The cross-site check that runs before any CSRF token is looked at.
//!
//! Browsers label requests with `Sec-Fetch-Site` (Fetch Metadata) and, for
//! POSTs, `Origin`. A state-changing request that a browser says came from
//! another site is refused whatever token it carries; requests without either
//! header (scripts, old browsers) still need the token.

use axum::http::{HeaderMap, Method, header};

/// Why a request is refused as cross-site, or `None` when it may proceed to
/// the token check. `host` is the request's own `Host` header.
pub fn cross_site_refusal(
    method: &Method,
    headers: &HeaderMap,
    host: Option<&str>,
) -> Option<&'static str> {
    if is_safe(method) {
        return None;
    }
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.as_bytes() {
            // `none`: the user themself started it (typed URL, bookmark).
            b"same-origin" | b"none" => None,
            _ => Some("Cross-site requests are not accepted."),
        };
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let same = origin
            .to_str()
            .ok()
            .and_then(|origin| url::Url::parse(origin).ok())
            .zip(host)
            .is_some_and(|(origin, host)| authority(&origin).eq_ignore_ascii_case(host));
        if !same {
            return Some("Cross-site requests are not accepted.");
        }
    }
    None
}

/// Methods that must not change state, and so need no CSRF check.
pub fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// `host[:port]` as a `Host` header would spell it (default ports omitted).
fn authority(url: &url::Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        (None, _) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    const HOST: Option<&str> = Some("localhost:5000");

    #[test]
    fn safe_methods_are_never_refused() {
        let h = headers(&[("sec-fetch-site", "cross-site")]);
        assert_eq!(cross_site_refusal(&Method::GET, &h, HOST), None);
    }

    #[test]
    fn fetch_metadata_decides_when_present() {
        for (site, refused) in [
            ("same-origin", false),
            ("none", false),
            ("same-site", true),
            ("cross-site", true),
        ] {
            let h = headers(&[
                ("sec-fetch-site", site),
                ("origin", "http://localhost:5000"),
            ]);
            assert_eq!(
                cross_site_refusal(&Method::POST, &h, HOST).is_some(),
                refused,
                "{site}"
            );
        }
    }

    #[test]
    fn origin_must_match_the_host() {
        let same = headers(&[("origin", "http://localhost:5000")]);
        assert_eq!(cross_site_refusal(&Method::POST, &same, HOST), None);
        for foreign in [
            "https://evil.example",
            "http://localhost:5001",
            "null",
            "garbage",
        ] {
            let mut h = HeaderMap::new();
            h.insert("origin", HeaderValue::from_str(foreign).unwrap());
            assert!(
                cross_site_refusal(&Method::DELETE, &h, HOST).is_some(),
                "{foreign}"
            );
        }
        let https_default_port = headers(&[("origin", "https://vault.example")]);
        assert_eq!(
            cross_site_refusal(&Method::POST, &https_default_port, Some("vault.example")),
            None
        );
    }

    #[test]
    fn requests_without_browser_headers_go_on_to_the_token_check() {
        assert_eq!(
            cross_site_refusal(&Method::POST, &HeaderMap::new(), HOST),
            None
        );
    }
}
