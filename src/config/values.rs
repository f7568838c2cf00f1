//! Parsers for the individual configuration values; each returns the reason a
//! value is unusable, and the caller adds the variable's name.

use std::collections::BTreeSet;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use super::Mode;

/// `development` or `production` (Flask's spelling, so the original `.env` works).
pub(super) fn parse_mode(raw: &str) -> Result<Mode, String> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "development" | "dev" => Ok(Mode::Development),
        "production" | "prod" => Ok(Mode::Production),
        other => Err(format!(
            "expected `development` or `production`, got `{other}`"
        )),
    }
}

/// `true`/`false` and the usual spellings of both.
pub(super) fn parse_bool(raw: &str) -> Result<bool, String> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        other => Err(format!("expected true or false, got `{other}`")),
    }
}

/// A dotted object identifier such as `1.3.6.1.4.1.32473.1`. Every arc must
/// fit 32 bits (checked first: the parser would overflow on larger ones).
pub(super) fn parse_oid(raw: &str) -> Result<crate::proofs::tsa::ObjectIdentifier, String> {
    let raw = raw.trim();
    let arcs_fit = raw.split('.').all(|arc| arc.parse::<u32>().is_ok());
    if !arcs_fit || raw.split('.').count() < 2 {
        return Err(format!(
            "expected a dotted object identifier such as 1.3.6.1.4.1.32473.1, got `{raw}`"
        ));
    }
    raw.parse()
        .map_err(|e| format!("not an object identifier ({e}): `{raw}`"))
}

/// Requests per second: a whole number above 0.
pub(super) fn parse_rate(raw: &str) -> Result<u32, String> {
    raw.trim()
        .parse::<u32>()
        .ok()
        .filter(|rate| *rate > 0)
        .ok_or_else(|| "expected requests per second, a whole number above 0".to_owned())
}

/// A whole number above 0, at most 2^20.
pub(super) fn parse_positive(raw: &str) -> Result<usize, String> {
    raw.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=1 << 20).contains(n))
        .ok_or_else(|| "expected a whole number from 1 to 1048576".to_owned())
}

/// A byte count: plain digits, or digits with a unit (`KB`, `KiB`, `MB`, `MiB`, `GB`, `GiB`, `TB`, `TiB`).
pub(super) fn parse_size(raw: &str) -> Result<u64, String> {
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (digits, unit) = raw.split_at(split);
    let number: u64 = digits.parse().map_err(|_| {
        format!("expected a number of bytes such as 10737418240 or 10GiB, got `{raw}`")
    })?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1000,
        "k" | "kib" => 1 << 10,
        "mb" => 1000 * 1000,
        "m" | "mib" => 1 << 20,
        "gb" => 1000 * 1000 * 1000,
        "g" | "gib" => 1 << 30,
        "tb" => 1000 * 1000 * 1000 * 1000,
        "t" | "tib" => 1 << 40,
        other => {
            return Err(format!(
                "unknown unit `{other}`; use bytes, KiB, MiB, GiB or TiB"
            ));
        }
    };
    match number.checked_mul(multiplier) {
        Some(0) => Err("must be more than zero".into()),
        Some(bytes) => Ok(bytes),
        None => Err(format!("`{raw}` is too large")),
    }
}

/// A duration: seconds, or a number with `s`, `m`, `h` or `d`.
pub(super) fn parse_duration(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (digits, unit) = raw.split_at(split);
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("expected a duration such as 3600, 30m, 2h or 7d, got `{raw}`"))?;
    let seconds = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 60 * 60,
        "d" => 24 * 60 * 60,
        other => return Err(format!("unknown unit `{other}`; use s, m, h or d")),
    };
    match number.checked_mul(seconds) {
        Some(0) => Err("must be more than zero".into()),
        Some(total) => Ok(Duration::from_secs(total)),
        None => Err(format!("`{raw}` is too large")),
    }
}

/// A listen address; `localhost:PORT` is accepted and resolved.
pub(super) fn parse_bind(raw: &str) -> Result<SocketAddr, String> {
    let raw = raw.trim();
    if let Ok(address) = raw.parse() {
        return Ok(address);
    }
    raw.to_socket_addrs()
        .ok()
        .and_then(|mut addresses| addresses.next())
        .ok_or_else(|| format!("expected an address such as 127.0.0.1:5000, got `{raw}`"))
}

/// `http(s)://<name>.onion`, or just `<name>.onion`.
pub(super) fn parse_onion_url(raw: &str) -> Result<url::Url, String> {
    let raw = raw.trim();
    let with_scheme = if raw.contains("://") {
        raw.to_owned()
    } else {
        format!("http://{raw}")
    };
    let url = url::Url::parse(&with_scheme).map_err(|e| format!("not a URL ({e}): `{raw}`"))?;
    let onion = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some_and(|host| host.ends_with(".onion"))
        && url.path() == "/"
        && url.query().is_none()
        && url.username().is_empty();
    if !onion {
        return Err(format!(
            "expected an address such as http://example.onion, got `{raw}`"
        ));
    }
    Ok(url)
}

/// `PUBLIC_URL`: where users reach the site, `http(s)://host[:port]` with
/// no path (a trailing `/` is fine).
pub(super) fn parse_public_url(raw: &str) -> Result<url::Url, String> {
    let raw = raw.trim();
    let url = url::Url::parse(raw).map_err(|e| format!("not a URL ({e}): `{raw}`"))?;
    let origin = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some_and(|host| !host.is_empty())
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    if !origin {
        return Err(format!(
            "expected the site's address such as https://vault.example, with no path, got `{raw}`"
        ));
    }
    Ok(url)
}

/// `open`, `invite` or `closed`.
pub(super) fn parse_registration(raw: &str) -> Result<super::Registration, String> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "open" => Ok(super::Registration::Open),
        "invite" => Ok(super::Registration::Invite),
        "closed" => Ok(super::Registration::Closed),
        other => Err(format!("expected open, invite or closed, got `{other}`")),
    }
}

/// An OpenPGP user id such as `Name <email>`: printable text, one line.
pub(super) fn parse_user_id(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    if raw.chars().any(char::is_control) || raw.len() > 256 {
        return Err("must be one line of printable text, at most 256 bytes".into());
    }
    Ok(raw.to_owned())
}

/// A checkpoint origin and signed-note key name: C2SP asks for a schema-less
/// URL, and a key name may hold no spaces and no `+`.
pub(super) fn parse_log_origin(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    if raw.is_empty()
        || raw.len() > 256
        || raw.contains('+')
        || raw.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(
            "expected a name like `vault.example/log`: no scheme, spaces or '+', at most 256 bytes"
                .into(),
        );
    }
    if raw.contains("://") {
        return Err("leave out the scheme, as in `vault.example/log`".into());
    }
    Ok(raw.trim_end_matches('/').to_owned())
}

/// Which file-name extensions uploads may have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AllowedExtensions {
    Any,
    Only(BTreeSet<String>),
}

/// Common documents, images, archives and text formats.
const DEFAULT_EXTENSIONS: &[&str] = &[
    "7z", "bmp", "bz2", "csv", "doc", "docx", "gif", "gz", "heic", "jpeg", "jpg", "json", "md",
    "odp", "ods", "odt", "pdf", "png", "ppt", "pptx", "rtf", "svg", "tar", "tgz", "tif", "tiff",
    "txt", "webp", "xls", "xlsx", "xml", "xz", "zip", "zst",
];

impl Default for AllowedExtensions {
    fn default() -> Self {
        AllowedExtensions::Only(DEFAULT_EXTENSIONS.iter().map(|e| (*e).to_owned()).collect())
    }
}

impl AllowedExtensions {
    /// `*` for any, or a comma-separated list (`pdf, .PNG ,txt`).
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.trim() == "*" {
            return Ok(AllowedExtensions::Any);
        }
        let mut set = BTreeSet::new();
        for item in raw.split(',') {
            let extension = item.trim().trim_start_matches('.').to_ascii_lowercase();
            if extension.is_empty() {
                continue;
            }
            if extension.len() > 16 || !extension.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(format!("`{}` is not a file extension", item.trim()));
            }
            set.insert(extension);
        }
        if set.is_empty() {
            return Err("expected `*` or a comma-separated list such as pdf,png,txt".into());
        }
        Ok(AllowedExtensions::Only(set))
    }

    pub fn allows(&self, extension: &str) -> bool {
        match self {
            AllowedExtensions::Any => true,
            AllowedExtensions::Only(set) => set.contains(&extension.to_ascii_lowercase()),
        }
    }
}

/// Addresses and networks whose forwarding headers are believed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedProxies(Vec<ipnet::IpNet>);

impl Default for TrustedProxies {
    /// Loopback: a reverse proxy (or the Tor daemon) on the same machine.
    fn default() -> Self {
        TrustedProxies(vec![
            ipnet::Ipv4Net::new_assert(std::net::Ipv4Addr::new(127, 0, 0, 0), 8).into(),
            ipnet::Ipv6Net::new_assert(std::net::Ipv6Addr::LOCALHOST, 128).into(),
        ])
    }
}

impl TrustedProxies {
    /// Whether a connection from `peer` comes from a trusted proxy. An IPv4
    /// peer seen as an IPv4-mapped IPv6 address counts as itself.
    pub fn contains(&self, peer: std::net::IpAddr) -> bool {
        let peer = peer.to_canonical();
        self.0.iter().any(|net| net.contains(&peer))
    }
}

/// `none`, or addresses and CIDR networks separated by commas or spaces,
/// such as `10.0.0.0/8, 192.0.2.7, fd00::/8`.
pub(super) fn parse_trusted_proxies(raw: &str) -> Result<TrustedProxies, String> {
    if raw.trim().eq_ignore_ascii_case("none") {
        return Ok(TrustedProxies(Vec::new()));
    }
    raw.split([',', ' '])
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse::<ipnet::IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map(|net| net.trunc())
                .map_err(|_| {
                    format!("expected addresses or networks such as 10.0.0.0/8, 192.0.2.7 or `none`, got `{item}`")
                })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(TrustedProxies)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_origins_are_schema_less_names() {
        assert_eq!(
            parse_log_origin(" vault.example/log/ "),
            Ok("vault.example/log".into())
        );
        for bad in ["", "https://vault.example/log", "a b", "a+b", "tab\there"] {
            assert!(parse_log_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes_accept_plain_bytes_and_units() {
        assert_eq!(parse_size("16777216"), Ok(16 * 1024 * 1024));
        assert_eq!(parse_size("10GiB"), Ok(10 << 30));
        assert_eq!(parse_size("5 MB"), Ok(5_000_000));
        assert!(parse_size("0").is_err());
        assert!(parse_size("ten").is_err());
        assert!(parse_size("5 parsecs").is_err());
        assert!(parse_size("99999999999999999999TiB").is_err());
    }

    #[test]
    fn object_identifiers_are_checked_before_parsing() {
        assert_eq!(
            parse_oid("1.3.6.1.4.1.32473.1").unwrap().to_string(),
            "1.3.6.1.4.1.32473.1"
        );
        for bad in [
            "2.25.160519330469788263196587406453364938919",
            "1",
            "a.b",
            "1..2",
            "",
        ] {
            assert!(parse_oid(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_accept_seconds_and_units() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert!(parse_duration("2 weeks").is_err());
        assert!(parse_duration("0").is_err());
    }

    #[test]
    fn extensions_are_normalised_and_checked() {
        let parsed = AllowedExtensions::parse("pdf, .PNG ,txt").unwrap();
        assert!(parsed.allows("png") && parsed.allows("PDF") && !parsed.allows("exe"));
        assert_eq!(AllowedExtensions::parse("*"), Ok(AllowedExtensions::Any));
        assert!(AllowedExtensions::parse("pdf,../x").is_err());
        assert!(AllowedExtensions::parse(" , ").is_err());
        assert!(AllowedExtensions::default().allows("pdf"));
        assert!(!AllowedExtensions::default().allows("exe"));
    }

    #[test]
    fn onion_addresses_must_be_onion_hosts() {
        let url = parse_onion_url("abcdefghijklmnop.onion").unwrap();
        assert_eq!(url.as_str(), "http://abcdefghijklmnop.onion/");
        assert!(parse_onion_url("https://example.com").is_err());
        assert!(parse_onion_url("http://x.onion/path").is_err());
    }

    #[test]
    fn bind_addresses_resolve_localhost() {
        assert_eq!(parse_bind("0.0.0.0:8080").unwrap().port(), 8080);
        assert!(parse_bind("localhost:5000").unwrap().ip().is_loopback());
        assert!(parse_bind("nowhere").is_err());
    }

    #[test]
    fn trusted_proxies_are_addresses_or_networks() {
        let parsed = parse_trusted_proxies("10.0.0.0/8, 192.0.2.7 fd00::/8").unwrap();
        for (peer, trusted) in [
            ("10.1.2.3", true),
            ("192.0.2.7", true),
            ("192.0.2.8", false),
            ("fd00::1", true),
            ("::ffff:10.9.9.9", true),
            ("127.0.0.1", false),
        ] {
            assert_eq!(parsed.contains(peer.parse().unwrap()), trusted, "{peer}");
        }
        let default = TrustedProxies::default();
        assert!(default.contains("127.0.0.1".parse().unwrap()));
        assert!(default.contains("::1".parse().unwrap()));
        assert!(!default.contains("192.0.2.1".parse().unwrap()));
        assert!(
            !parse_trusted_proxies("none")
                .unwrap()
                .contains("127.0.0.1".parse().unwrap())
        );
        assert!(parse_trusted_proxies("10.0.0.0/33").is_err());
        assert!(parse_trusted_proxies("proxy.example").is_err());
    }
}
