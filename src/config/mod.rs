//! Typed configuration, read once at start from the environment and `.env`.
//!
//! Every variable is parsed here; a bad one stops start-up with one line that
//! names it ([`ConfigError`]). Nothing else in the program reads the environment.

mod database_url;
mod secret_key;
mod values;

use std::net::SocketAddr;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use database_url::{Backend, DatabaseUrl};
pub use secret_key::SecretKey;
pub use values::AllowedExtensions;

/// A configuration variable that could not be used, and why.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

impl ConfigError {
    pub fn new(variable: &'static str, message: impl Into<String>) -> Self {
        ConfigError {
            variable,
            message: message.into(),
        }
    }
}

/// Development relaxes what production must have configured explicitly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Development,
    Production,
}

/// Everything the service is configured with.
#[derive(Clone, Debug)]
pub struct Config {
    pub mode: Mode,
    pub database_url: DatabaseUrl,
    pub secret_key: SecretKey,
    pub upload_folder: PathBuf,
    /// Object storage is parsed so a typo is caught, but only local storage exists yet.
    pub storage_url: Option<url::Url>,
    pub gpg_user: String,
    /// The transparency log's name (checkpoint origin and key name), when
    /// configured; otherwise the one its key was made with.
    pub log_origin: Option<String>,
    pub onion_url: Option<url::Url>,
    pub data_dir: PathBuf,
    pub bind: SocketAddr,
    pub max_content_length: u64,
    pub allowed_extensions: AllowedExtensions,
    /// `TSTInfo.policy` of every token this TSA issues.
    pub tsa_policy: crate::proofs::tsa::ObjectIdentifier,
    /// Whether `POST /tsa` serves anyone, or only signed-in users and token holders.
    pub tsa_public: bool,
    /// Requests per second one client address may make to `POST /tsa`.
    pub tsa_rate: u32,
    /// The most bytes one user's files may take; unlimited when unset.
    pub user_quota_bytes: Option<u64>,
    /// A session ends after this long without a request…
    pub session_idle_timeout: Duration,
    /// …and after this long in any case.
    pub session_lifetime: Duration,
}

impl Config {
    /// The log's name for a new log key: `LOG_ORIGIN`, else the onion
    /// address's host with `/log`, else `securestamp.localhost/log`.
    pub fn default_log_origin(&self) -> String {
        if let Some(origin) = &self.log_origin {
            return origin.clone();
        }
        match self.onion_url.as_ref().and_then(|url| url.host_str()) {
            Some(host) => format!("{host}/log"),
            None => "securestamp.localhost/log".to_owned(),
        }
    }
}

/// The default OpenPGP user id of the server's signing key.
pub const DEFAULT_GPG_USER: &str = "SecureStamp <securestamp@localhost>";

impl Config {
    /// Reads `.env` (without overriding the environment), then the environment.
    pub fn load() -> Result<Config, ConfigError> {
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(error) if error.not_found() => {}
            Err(error) => return Err(ConfigError::new(".env", error.to_string())),
        }
        let config = Config::from_vars(|name| std::env::var(name).ok())?;
        config.prepare_directories()?;
        Ok(config)
    }

    /// Parses the configuration from a variable lookup; creates the data
    /// directory and the development secret key when needed.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        // Empty values count as unset, as in most `.env` tooling.
        let get = |name: &str| var(name).filter(|value| !value.trim().is_empty());
        let mode = match get("SECURESTAMP_ENV")
            .map(|v| ("SECURESTAMP_ENV", v))
            .or_else(|| get("FLASK_ENV").map(|v| ("FLASK_ENV", v)))
        {
            None => Mode::Production,
            Some((variable, value)) => {
                values::parse_mode(&value).map_err(|m| ConfigError::new(variable, m))?
            }
        };
        let data_dir = PathBuf::from(get("DATA_DIR").unwrap_or_else(|| "data".into()));
        let database_url = match get("DATABASE_URL") {
            Some(raw) => {
                DatabaseUrl::parse(&raw).map_err(|m| ConfigError::new("DATABASE_URL", m))?
            }
            None => DatabaseUrl::sqlite_in(&data_dir),
        };
        let secret_key = match get("SECRET_KEY") {
            Some(raw) => SecretKey::from_configured(&raw),
            None if mode == Mode::Development => {
                ensure_directory("DATA_DIR", &data_dir)?;
                SecretKey::load_or_generate(&data_dir)
                    .map_err(|m| ConfigError::new("DATA_DIR", m))?
            }
            None => {
                return Err(ConfigError::new(
                    "SECRET_KEY",
                    "required in production; set it to a long random string (or set SECURESTAMP_ENV=development)",
                ));
            }
        };
        let storage_url = get("STORAGE_URL")
            .map(|raw| values::parse_storage_url(&raw))
            .transpose()
            .map_err(|m| ConfigError::new("STORAGE_URL", m))?;
        let onion_url = get("ONION_URL")
            .map(|raw| values::parse_onion_url(&raw))
            .transpose()
            .map_err(|m| ConfigError::new("ONION_URL", m))?;
        let gpg_user = match get("GPG_USER") {
            Some(raw) => {
                values::parse_user_id(&raw).map_err(|m| ConfigError::new("GPG_USER", m))?
            }
            None => DEFAULT_GPG_USER.to_owned(),
        };
        let log_origin = get("LOG_ORIGIN")
            .map(|raw| values::parse_log_origin(&raw))
            .transpose()
            .map_err(|m| ConfigError::new("LOG_ORIGIN", m))?;
        let bind = match get("BIND") {
            Some(raw) => values::parse_bind(&raw).map_err(|m| ConfigError::new("BIND", m))?,
            None => SocketAddr::from(([127, 0, 0, 1], 5000)),
        };
        let max_content_length = match get("MAX_CONTENT_LENGTH") {
            Some(raw) => {
                values::parse_size(&raw).map_err(|m| ConfigError::new("MAX_CONTENT_LENGTH", m))?
            }
            None => 10 * 1024 * 1024 * 1024,
        };
        let allowed_extensions = match get("ALLOWED_EXTENSIONS") {
            Some(raw) => AllowedExtensions::parse(&raw)
                .map_err(|m| ConfigError::new("ALLOWED_EXTENSIONS", m))?,
            None => AllowedExtensions::default(),
        };
        let tsa_policy = values::parse_oid(
            &get("TSA_POLICY_OID").unwrap_or_else(|| crate::proofs::tsa::DEFAULT_POLICY.into()),
        )
        .map_err(|m| ConfigError::new("TSA_POLICY_OID", m))?;
        let tsa_public = match get("TSA_PUBLIC") {
            Some(raw) => values::parse_bool(&raw).map_err(|m| ConfigError::new("TSA_PUBLIC", m))?,
            None => true,
        };
        let tsa_rate = match get("TSA_RATE") {
            Some(raw) => raw
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|rate| *rate > 0)
                .ok_or_else(|| {
                    ConfigError::new(
                        "TSA_RATE",
                        "expected requests per second, a whole number above 0",
                    )
                })?,
            None => 50,
        };
        let user_quota_bytes = get("USER_QUOTA_BYTES")
            .map(|raw| values::parse_size(&raw))
            .transpose()
            .map_err(|m| ConfigError::new("USER_QUOTA_BYTES", m))?;
        let session_idle_timeout = match get("SESSION_IDLE_TIMEOUT") {
            Some(raw) => values::parse_duration(&raw)
                .map_err(|m| ConfigError::new("SESSION_IDLE_TIMEOUT", m))?,
            None => Duration::from_secs(2 * 60 * 60),
        };
        let session_lifetime = match get("SESSION_LIFETIME") {
            Some(raw) => {
                values::parse_duration(&raw).map_err(|m| ConfigError::new("SESSION_LIFETIME", m))?
            }
            None => Duration::from_secs(7 * 24 * 60 * 60),
        };
        Ok(Config {
            mode,
            database_url,
            secret_key,
            upload_folder: PathBuf::from(get("UPLOAD_FOLDER").unwrap_or_else(|| "uploads".into())),
            storage_url,
            gpg_user,
            log_origin,
            onion_url,
            data_dir,
            bind,
            max_content_length,
            allowed_extensions,
            tsa_policy,
            tsa_public,
            tsa_rate,
            user_quota_bytes,
            session_idle_timeout,
            session_lifetime,
        })
    }

    /// Creates the data and upload directories and proves they are writable.
    pub fn prepare_directories(&self) -> Result<(), ConfigError> {
        ensure_directory("DATA_DIR", &self.data_dir)?;
        ensure_directory("UPLOAD_FOLDER", &self.upload_folder)
    }
}

/// Creates `dir` if needed (owner-only when we create it) and checks that a
/// file can be written in it.
fn ensure_directory(variable: &'static str, dir: &Path) -> Result<(), ConfigError> {
    let fail = |what: &str, error: std::io::Error| {
        ConfigError::new(
            variable,
            format!("cannot {what} {}: {error}", dir.display()),
        )
    };
    if !dir.is_dir() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| fail("create", e))?;
    }
    let probe = dir.join(format!(".write-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| fail("write to", e))?;
    std::fs::remove_file(&probe).map_err(|e| fail("write to", e))?;
    Ok(())
}
