//! Who is on the other end: the client's address and the device it names,
//! for the sessions page, the audit trail and per-client budgets.
//!
//! The address is the connection's peer, unless the peer is a proxy in
//! `TRUSTED_PROXIES`: then it is the address that proxy says it served, the
//! rightmost `X-Forwarded-For` entry that is not itself a trusted proxy
//! (entries further left were written by whoever sent the request, and
//! prove nothing).

use std::net::{IpAddr, SocketAddr};

use axum::http::{HeaderMap, header};

use crate::config::TrustedProxies;

/// The longest device description kept (the `User-Agent`, cut).
const DEVICE_LEN: usize = 200;

/// The client of one request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientInfo {
    pub address: Option<IpAddr>,
    /// The `User-Agent`, printable ASCII only and at most 200 characters.
    pub device: Option<String>,
    /// The known-device cookie it sent ([`crate::throttle`]).
    pub known_device: Option<String>,
}

impl ClientInfo {
    pub fn of(trusted: &TrustedProxies, headers: &HeaderMap, peer: Option<IpAddr>) -> ClientInfo {
        ClientInfo {
            address: address(trusted, headers, peer),
            device: headers
                .get(header::USER_AGENT)
                .and_then(|value| value.to_str().ok())
                .map(|agent| {
                    agent
                        .chars()
                        .filter(|c| c.is_ascii_graphic() || *c == ' ')
                        .take(DEVICE_LEN)
                        .collect::<String>()
                })
                .filter(|agent| !agent.trim().is_empty()),
            known_device: None,
        }
    }

    /// The address as stored and shown.
    pub fn address_text(&self) -> Option<String> {
        self.address
            .map(|address| address.to_canonical().to_string())
    }
}

/// A `User-Agent` as people name it: "Firefox on Linux", "curl".
pub fn describe_device(agent: &str) -> String {
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("HeadlessChrome/", "Headless Chrome"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
        ("Wget/", "Wget"),
        ("python-requests/", "Python requests"),
    ]
    .iter()
    .find(|(mark, _)| agent.contains(mark))
    .map(|(_, name)| *name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(mark, _)| agent.contains(mark))
    .map(|(_, name)| *name);
    match (browser, system) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        (Some(browser), None) => browser.to_owned(),
        _ => agent
            .split_whitespace()
            .next()
            .unwrap_or("Unknown device")
            .to_owned(),
    }
}

/// The client's address; see the module's documentation.
pub fn address(
    trusted: &TrustedProxies,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
) -> Option<IpAddr> {
    let peer = peer?.to_canonical();
    if !trusted.contains(peer) {
        return Some(peer);
    }
    let mut entries = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let Ok(value) = value.to_str() else {
            return Some(peer);
        };
        entries.extend(value.split(',').map(str::trim));
    }
    let mut client = peer;
    for entry in entries.iter().rev() {
        let Some(address) = parse_entry(entry) else {
            // A proxy writes addresses; anything else ends what can be believed.
            return Some(client);
        };
        client = address;
        if !trusted.contains(address) {
            break;
        }
    }
    Some(client)
}

/// One `X-Forwarded-For` entry: an address, perhaps with a port
/// (`192.0.2.1:4711`, `[2001:db8::1]:4711`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|socket| socket.ip()))
        .ok()
        .map(|address| address.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted(list: &str) -> TrustedProxies {
        crate::config::Config::from_vars(|name| match name {
            "TRUSTED_PROXIES" => Some(list.to_owned()),
            "SECRET_KEY" => Some("a test secret key that is long enough".to_owned()),
            "DATA_DIR" => Some(std::env::temp_dir().display().to_string()),
            _ => None,
        })
        .expect("configuration")
        .trusted_proxies
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        headers
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn a_direct_clients_word_is_not_taken() {
        let proxies = trusted("10.0.0.0/8");
        let headers = forwarded(&["198.51.100.7"]);
        assert_eq!(
            address(&proxies, &headers, ip("203.0.113.9")),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_first_untrusted_hop_from_the_right_is_the_client() {
        let proxies = trusted("10.0.0.0/8, 127.0.0.1");
        // The client forged the leftmost entry; the proxy appended the real one.
        let headers = forwarded(&["1.2.3.4, 203.0.113.9", "10.0.0.2"]);
        assert_eq!(
            address(&proxies, &headers, ip("10.0.0.1")),
            ip("203.0.113.9")
        );
        let headers = forwarded(&["[2001:db8::5]:4711"]);
        assert_eq!(
            address(&proxies, &headers, ip("127.0.0.1")),
            ip("2001:db8::5")
        );
        // No header: the proxy itself; garbage: the last hop that parsed.
        assert_eq!(
            address(&proxies, &HeaderMap::new(), ip("10.0.0.1")),
            ip("10.0.0.1")
        );
        let headers = forwarded(&["203.0.113.9, unknown"]);
        assert_eq!(address(&proxies, &headers, ip("10.0.0.1")), ip("10.0.0.1"));
    }

    #[test]
    fn devices_are_named_as_people_name_them() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(describe_device(firefox), "Firefox on Linux");
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!(describe_device(safari), "Safari on iOS");
        assert_eq!(describe_device("curl/8.5.0"), "curl");
        assert_eq!(describe_device("backup-script/2"), "backup-script/2");
    }

    #[test]
    fn the_device_is_the_user_agent_cut_short_and_printable() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::USER_AGENT,
            format!("Firefox\t{}", "x".repeat(300)).parse().unwrap(),
        );
        let device = ClientInfo::of(&trusted("none"), &headers, None)
            .device
            .unwrap();
        assert!(device.starts_with("Firefoxxx"));
        assert_eq!(device.len(), DEVICE_LEN);
    }
}
