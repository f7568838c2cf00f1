//! Typed configuration, read once at start from the environment and `.env`.
//!
//! Every variable is parsed here; a bad one stops start-up with one line that
//! names it ([`ConfigError`]). Nothing else in the program reads the environment.

mod database_url;
mod object_storage;
mod secret_key;
mod values;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use database_url::{Backend, DatabaseUrl};
pub use object_storage::ObjectStorage;
pub use secret_key::SecretKey;
pub use values::{AllowedExtensions, TrustedProxies};

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

/// Who may create an account (`REGISTRATION`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Registration {
    /// Anyone who reaches the site.
    #[default]
    Open,
    /// Only with an invite code (`securestamp user invite`).
    Invite,
    /// No one: new accounts are refused, invited or not.
    Closed,
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
    /// Local storage's folder; with object storage, where small uploads
    /// wait until they are sent.
    pub upload_folder: PathBuf,
    /// An S3-compatible bucket for the contents (`STORAGE_URL`).
    pub object_storage: Option<ObjectStorage>,
    pub gpg_user: String,
    /// The transparency log's name (checkpoint origin and key name), when
    /// configured; otherwise the one its key was made with.
    pub log_origin: Option<String>,
    pub onion_url: Option<url::Url>,
    /// Where users reach the site (`PUBLIC_URL`): receipts name their keys
    /// under it rather than under whatever `Host` a request claims.
    pub public_url: Option<url::Url>,
    /// The proxies whose word on the client's scheme (`X-Forwarded-Proto`,
    /// `Forwarded`) is believed: loopback unless `TRUSTED_PROXIES` says otherwise.
    pub trusted_proxies: TrustedProxies,
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
    /// The most files one `POST /upload` may hold.
    pub max_files_per_upload: usize,
    /// Who may register.
    pub registration: Registration,
    /// A session ends after this long without a request…
    pub session_idle_timeout: Duration,
    /// …and after this long in any case.
    pub session_lifetime: Duration,
    /// Password hashes computed at once, and how many may wait for a worker.
    pub hashing: crate::auth::HashingLimits,
    /// Open connections, request timeouts and the shutdown's grace period.
    pub connections: crate::connections::ConnectionLimits,
    /// Keeps the signing keys encrypted at rest (`KEY_PASSPHRASE_FILE`).
    pub key_passphrase: Option<crate::keys::Passphrase>,
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
        read_dotenv()?;
        let config = Config::from_vars(|name| std::env::var(name).ok())?;
        config.prepare_directories()?;
        Ok(config)
    }

    /// [`Config::load`] for commands that neither serve nor sign with
    /// `SECRET_KEY` (`keys`, `user`): without it a random stand-in is used,
    /// even in production, and only the data directory is prepared.
    pub fn load_without_secret() -> Result<Config, ConfigError> {
        read_dotenv()?;
        let stand_in = hex::encode(rand::random::<[u8; 32]>());
        let config = Config::from_vars(|name| match (name, std::env::var(name).ok()) {
            ("SECRET_KEY", value) if value.as_deref().is_none_or(|v| v.trim().is_empty()) => {
                Some(stand_in.clone())
            }
            (_, value) => value,
        })?;
        ensure_directory("DATA_DIR", &config.data_dir)?;
        Ok(config)
    }

    /// Parses the configuration from a variable lookup; creates the data
    /// directory and the development secret key when needed.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let vars = Vars(var);
        let mode = vars.mode()?;
        let data_dir = PathBuf::from(vars.get("DATA_DIR").unwrap_or_else(|| "data".into()));
        Ok(Config {
            mode,
            database_url: vars
                .parse("DATABASE_URL", DatabaseUrl::parse)?
                .unwrap_or_else(|| DatabaseUrl::sqlite_in(&data_dir)),
            secret_key: vars.secret_key(mode, &data_dir)?,
            upload_folder: PathBuf::from(
                vars.get("UPLOAD_FOLDER")
                    .unwrap_or_else(|| "uploads".into()),
            ),
            object_storage: ObjectStorage::from_vars(|name| vars.get(name))?,
            gpg_user: vars
                .parse("GPG_USER", values::parse_user_id)?
                .unwrap_or_else(|| DEFAULT_GPG_USER.to_owned()),
            log_origin: vars.parse("LOG_ORIGIN", values::parse_log_origin)?,
            onion_url: vars.parse("ONION_URL", values::parse_onion_url)?,
            public_url: vars.parse("PUBLIC_URL", values::parse_public_url)?,
            trusted_proxies: vars
                .parse("TRUSTED_PROXIES", values::parse_trusted_proxies)?
                .unwrap_or_default(),
            bind: vars
                .parse("BIND", values::parse_bind)?
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 5000))),
            max_content_length: vars
                .parse("MAX_CONTENT_LENGTH", values::parse_size)?
                .unwrap_or(10 * 1024 * 1024 * 1024),
            allowed_extensions: vars
                .parse("ALLOWED_EXTENSIONS", AllowedExtensions::parse)?
                .unwrap_or_default(),
            tsa_policy: vars
                .parse("TSA_POLICY_OID", values::parse_oid)?
                .unwrap_or_else(|| {
                    values::parse_oid(crate::proofs::tsa::DEFAULT_POLICY)
                        .expect("the default policy is an OID")
                }),
            tsa_public: vars
                .parse("TSA_PUBLIC", values::parse_bool)?
                .unwrap_or(true),
            tsa_rate: vars.parse("TSA_RATE", values::parse_rate)?.unwrap_or(50),
            user_quota_bytes: vars.parse("USER_QUOTA_BYTES", values::parse_size)?,
            max_files_per_upload: vars
                .parse("MAX_FILES_PER_UPLOAD", values::parse_positive)?
                .unwrap_or(1000),
            registration: vars
                .parse("REGISTRATION", values::parse_registration)?
                .unwrap_or_default(),
            session_idle_timeout: vars
                .parse("SESSION_IDLE_TIMEOUT", values::parse_duration)?
                .unwrap_or(Duration::from_secs(2 * 60 * 60)),
            session_lifetime: vars
                .parse("SESSION_LIFETIME", values::parse_duration)?
                .unwrap_or(Duration::from_secs(7 * 24 * 60 * 60)),
            hashing: vars.hashing()?,
            connections: vars.connections()?,
            key_passphrase: vars.parse("KEY_PASSPHRASE_FILE", |path| {
                crate::keys::Passphrase::read(std::path::Path::new(path.trim()))
            })?,
            data_dir,
        })
    }

    /// Creates the data and upload directories and proves they are writable.
    pub fn prepare_directories(&self) -> Result<(), ConfigError> {
        ensure_directory("DATA_DIR", &self.data_dir)?;
        ensure_directory("UPLOAD_FOLDER", &self.upload_folder)
    }
}

/// Reads `.env` into the environment, without overriding what is set there.
fn read_dotenv() -> Result<(), ConfigError> {
    match dotenvy::dotenv() {
        Ok(_) => Ok(()),
        Err(error) if error.not_found() => Ok(()),
        Err(error) => Err(ConfigError::new(".env", error.to_string())),
    }
}

/// The variables as a lookup; empty values count as unset, as in most `.env` tooling.
struct Vars<F>(F);

impl<F: Fn(&str) -> Option<String>> Vars<F> {
    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|value| !value.trim().is_empty())
    }

    /// The variable's value through `parse`, or `None` when unset; a value
    /// that does not parse names the variable.
    fn parse<T>(
        &self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ConfigError> {
        self.get(name)
            .map(|raw| parse(&raw).map_err(|message| ConfigError::new(name, message)))
            .transpose()
    }

    fn connections(&self) -> Result<crate::connections::ConnectionLimits, ConfigError> {
        let default = crate::connections::ConnectionLimits::default();
        Ok(crate::connections::ConnectionLimits {
            max_connections: self
                .parse("MAX_CONNECTIONS", values::parse_positive)?
                .unwrap_or(default.max_connections),
            max_per_client: self
                .parse("MAX_CONNECTIONS_PER_CLIENT", values::parse_positive)?
                .unwrap_or(default.max_per_client),
            header_timeout: self
                .parse("HEADER_TIMEOUT", values::parse_duration)?
                .unwrap_or(default.header_timeout),
            body_timeout: self
                .parse("BODY_TIMEOUT", values::parse_duration)?
                .unwrap_or(default.body_timeout),
            shutdown_grace: self
                .parse("SHUTDOWN_GRACE", values::parse_duration)?
                .unwrap_or(default.shutdown_grace),
        })
    }

    fn hashing(&self) -> Result<crate::auth::HashingLimits, ConfigError> {
        Ok(crate::auth::HashingLimits::new(
            self.parse("PASSWORD_WORKERS", values::parse_positive)?,
            self.parse("PASSWORD_QUEUE", values::parse_positive)?,
        ))
    }

    /// `SECURESTAMP_ENV`, else Flask's `FLASK_ENV`; production by default.
    fn mode(&self) -> Result<Mode, ConfigError> {
        match self.parse("SECURESTAMP_ENV", values::parse_mode)? {
            Some(mode) => Ok(mode),
            None => Ok(self
                .parse("FLASK_ENV", values::parse_mode)?
                .unwrap_or(Mode::Production)),
        }
    }

    /// `SECRET_KEY`; development makes one once and keeps it in the data directory.
    fn secret_key(&self, mode: Mode, data_dir: &Path) -> Result<SecretKey, ConfigError> {
        match self.get("SECRET_KEY") {
            Some(raw) => Ok(SecretKey::from_configured(&raw)),
            None if mode == Mode::Development => {
                ensure_directory("DATA_DIR", data_dir)?;
                SecretKey::load_or_generate(data_dir).map_err(|m| ConfigError::new("DATA_DIR", m))
            }
            None => Err(ConfigError::new(
                "SECRET_KEY",
                "required in production; set it to a long random string (or set SECURESTAMP_ENV=development)",
            )),
        }
    }
}

/// Creates `dir` if needed, owner-only (tightening it if it was open to
/// others), and checks that a file can be written in it.
fn ensure_directory(variable: &'static str, dir: &Path) -> Result<(), ConfigError> {
    let fail = |what: &str, error: std::io::Error| {
        ConfigError::new(
            variable,
            format!("cannot {what} {}: {error}", dir.display()),
        )
    };
    crate::owner_only::create_folder(dir).map_err(|e| fail("create or tighten", e))?;
    let probe = dir.join(format!(".write-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| fail("write to", e))?;
    std::fs::remove_file(&probe).map_err(|e| fail("write to", e))?;
    Ok(())
}
