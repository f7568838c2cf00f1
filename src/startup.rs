//! Building and running the server: from a [`Config`] to a bound listener,
//! then serving until a shutdown future completes (a signal, or a test's end).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::auth::{PasswordHasher, Secrets};
use crate::config::{Config, ConfigError};
use crate::log::TransparencyLog;
use crate::proofs::tlog::note::NoteVerifier;
use crate::stamping::Signers;
use crate::state::{AppState, Shared};
use crate::storage::{Bucket, Disk, Storage};
use crate::time::unix_now;

/// A configured, migrated server bound to its address, not yet serving.
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Connects to and migrates the database, then binds `BIND` (port 0 picks a free port).
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let db = crate::db::connect(&config.database_url).await?;
        crate::db::migrate(&db, &config.database_url).await?;
        let listener = TcpListener::bind(config.bind).await.map_err(|e| {
            ConfigError::new("BIND", format!("cannot listen on {}: {e}", config.bind))
        })?;
        let storage = open_storage(&config, &db).await?;
        let (tsa, openpgp, log) = load_keys(&config).await?;
        check_log_key(&db, &log, &config).await?;
        let state = AppState::new(Shared {
            log: TransparencyLog::new(db.clone(), log),
            circuit: Default::default(),
            storage,
            signers: Signers {
                tsa: Arc::new(tsa.authority),
                openpgp: Arc::new(openpgp.key),
            },
            openpgp_public: openpgp.public_armored.into(),
            tsa_chain: tsa.chain_pem.into(),
            public_limiter: Arc::new(crate::state::public_limiter(config.tsa_rate)),
            secrets: Arc::new(Secrets::new(&config.secret_key)),
            passwords: PasswordHasher::start(config.hashing)
                .await
                .context("starting the password workers")?,
            config: Arc::new(config),
            db,
        });
        Ok(Application { listener, state })
    }

    /// What every request may use: for harnesses that drive the router
    /// without a socket (the fuzz targets).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The route table with every layer, as served.
    pub fn router(&self) -> axum::Router {
        crate::router::router(self.state.clone())
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let sweeper = tokio::spawn(sweep(self.state.clone()));
        let orphans = tokio::spawn(collect_orphans(self.state.clone()));
        let keep_alive = tokio::spawn(keep_staged_uploads_alive(self.state.clone()));
        let checkpoints = tokio::spawn(checkpoint_in_background(self.state.clone()));
        let log_tasks = self.state.log.spawn();
        let limits = self.state.config.connections;
        let router = crate::router::router(self.state);
        crate::connections::serve(self.listener, router, limits, shutdown).await;
        sweeper.abort();
        orphans.abort();
        keep_alive.abort();
        checkpoints.abort();
        for task in log_tasks {
            task.abort();
        }
        Ok(())
    }
}

/// The local folder, or the bucket with the folder for its small uploads;
/// a bucket that cannot be used stops start-up, saying why.
pub(crate) async fn open_storage(
    config: &Config,
    db: &sea_orm::DatabaseConnection,
) -> anyhow::Result<Storage> {
    let disk = Disk::open(&config.upload_folder).await.map_err(|e| {
        ConfigError::new(
            "UPLOAD_FOLDER",
            format!("cannot prepare {}: {e}", config.upload_folder.display()),
        )
    })?;
    let Some(bucket) = &config.object_storage else {
        return Ok(Storage::Disk(disk));
    };
    let bucket = Bucket::new(bucket, disk, db.clone())
        .map_err(|message| ConfigError::new("STORAGE_URL", message))?;
    bucket
        .check()
        .await
        .map_err(|message| ConfigError::new("STORAGE_URL", message))?;
    Ok(Storage::Bucket(bucket))
}

/// What stamping files takes without serving them (the importer of the
/// original application's files): the migrated database, the storage and
/// the signers, checked as serving checks them.
pub struct Vault {
    pub db: sea_orm::DatabaseConnection,
    pub storage: Storage,
    pub signers: Signers,
}

pub async fn open_vault(config: &Config) -> anyhow::Result<Vault> {
    let db = crate::db::connect(&config.database_url).await?;
    crate::db::migrate(&db, &config.database_url).await?;
    let storage = open_storage(config, &db).await?;
    let (tsa, openpgp, log) = load_keys(config).await?;
    check_log_key(&db, &log, config).await?;
    Ok(Vault {
        db,
        storage,
        signers: Signers {
            tsa: Arc::new(tsa.authority),
            openpgp: Arc::new(openpgp.key),
        },
    })
}

/// The signing keys from `DATA_DIR/keys`, created on first start. Key
/// generation and parsing are CPU work, kept off the async threads.
pub(crate) async fn load_keys(
    config: &Config,
) -> anyhow::Result<(
    crate::keys::TsaKeys,
    crate::keys::OpenPgpKeys,
    crate::keys::LogKeys,
)> {
    let data_dir = config.data_dir.clone();
    let policy = config.tsa_policy;
    let user_id = config.gpg_user.clone();
    let origin = config.default_log_origin();
    let passphrase = config.key_passphrase.clone();
    let (tsa, openpgp, log) = tokio::task::spawn_blocking(move || {
        (
            crate::keys::tsa(&data_dir, policy, passphrase.as_ref()),
            crate::keys::openpgp(&data_dir, &user_id, passphrase.as_ref()),
            crate::keys::log(&data_dir, &origin, passphrase.as_ref()),
        )
    })
    .await
    .context("key loading panicked")?;
    let in_data_dir =
        |error: crate::keys::KeyError| ConfigError::new("DATA_DIR", error.to_string());
    let tsa = tsa.map_err(in_data_dir)?;
    let openpgp = openpgp.map_err(in_data_dir)?;
    let log = log.map_err(in_data_dir)?;
    if let Some(origin) = &config.log_origin
        && origin != log.signer.name()
    {
        return Err(ConfigError::new(
            "LOG_ORIGIN",
            format!(
                "the log key in {} was made for `{}`; a log keeps its name for good, so set LOG_ORIGIN to that (or unset it)",
                config.data_dir.join("keys/log").display(),
                log.signer.name()
            ),
        )
        .into());
    }
    if openpgp.key.user_id() != config.gpg_user {
        return Err(ConfigError::new(
            "GPG_USER",
            format!(
                "the OpenPGP key in {} was made for `{}`; set GPG_USER to that, or move the key away to make a new one",
                config.data_dir.join("keys/openpgp").display(),
                openpgp.key.user_id()
            ),
        )
        .into());
    }
    Ok((tsa, openpgp, log))
}

/// One log, one key: a server whose log key did not sign the database's
/// checkpoint would fork what monitors see, so it does not start.
async fn check_log_key(
    db: &sea_orm::DatabaseConnection,
    keys: &crate::keys::LogKeys,
    config: &Config,
) -> anyhow::Result<()> {
    let head = crate::db::log::head(db)
        .await
        .context("cannot read the transparency log's head")?;
    let Some(checkpoint) = head.checkpoint else {
        return Ok(());
    };
    let verifier = NoteVerifier::parse(&keys.verifier_key).context("the log's verifier key")?;
    if verifier.open(&checkpoint).is_err() {
        return Err(ConfigError::new(
            "DATA_DIR",
            format!(
                "the transparency log in this database is signed by another key than {} holds; every server of one database needs the same keys folder",
                config.data_dir.join("keys/log").display()
            ),
        )
        .into());
    }
    Ok(())
}

/// Deletes dead sessions, stale rate-limit counters, expired upload keys, abandoned staged uploads
/// and unused contents now and then, and logs files stored before the log. Every
/// process may do it: it is idempotent.
async fn sweep(state: AppState) {
    let mut interval = tokio::time::interval(Duration::from_secs(15 * 60));
    loop {
        interval.tick().await;
        let now = unix_now();
        let idle = state.config.session_idle_timeout;
        match crate::db::sessions::delete_dead(&state.db, now, idle).await {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "deleted expired sessions"),
            Err(error) => tracing::warn!(%error, "could not delete expired sessions"),
        }
        if let Err(error) =
            crate::db::rate_limits::delete_stale(&state.db, now - 24 * 60 * 60).await
        {
            tracing::warn!(%error, "could not delete stale rate-limit counters");
        }
        let keys_cutoff = now - crate::vault::UPLOAD_KEY_LIFETIME;
        if let Err(error) = crate::db::upload_keys::delete_before(&state.db, keys_cutoff).await {
            tracing::warn!(%error, "could not delete expired upload keys");
        }
        // An upload writes its staged file continuously: one untouched for an
        // hour belongs to a process that died mid-upload.
        match state
            .storage
            .sweep_staging(Duration::from_secs(60 * 60))
            .await
        {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "deleted staged files of interrupted uploads"),
            Err(error) => tracing::warn!(%error, "could not sweep the staging folder"),
        }
        // Rows that count no file: clean-ups cut short, and small contents
        // written ahead by uploads that did not finish (100 at a time).
        for _ in 0..100 {
            match crate::vault::collect_garbage(&state.db, &state.storage).await {
                Ok(0) => break,
                Ok(count) => tracing::info!(count, "freed contents no file uses"),
                Err(error) => {
                    tracing::warn!(%error, "could not free contents no file uses");
                    break;
                }
            }
        }
        match crate::log::log_earlier_files(&state.db).await {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "logged files stored before the transparency log"),
            Err(error) => tracing::warn!(%error, "could not log files stored before the log"),
        }
    }
}

/// Touches this process's staged uploads every ten minutes, well within
/// the hour after which the sweep takes one for a dead process's.
async fn keep_staged_uploads_alive(state: AppState) {
    let mut interval = tokio::time::interval(Duration::from_secs(10 * 60));
    interval.tick().await;
    loop {
        interval.tick().await;
        if let Err(error) = state.storage.keep_alive().await {
            tracing::warn!(%error, "could not mark staged uploads as alive");
        }
    }
}

/// Checkpoints SQLite's write-ahead log every tenth of a second, outside any
/// request ([`crate::db::checkpoint`]).
async fn checkpoint_in_background(state: AppState) {
    if state.db.get_database_backend() != sea_orm::DbBackend::Sqlite {
        return;
    }
    let mut interval = tokio::time::interval(Duration::from_millis(100));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        if let Err(error) = crate::db::checkpoint(&state.db).await {
            tracing::debug!(%error, "could not checkpoint the write-ahead log");
        }
    }
}

/// Looks for stored contents that no file accounts for (left by a crash)
/// every six hours; walking the whole store is too slow to do more often.
async fn collect_orphans(state: AppState) {
    let mut interval = tokio::time::interval(Duration::from_secs(6 * 60 * 60));
    loop {
        interval.tick().await;
        match crate::vault::collect_orphans(&state.db, &state.storage, Duration::from_secs(60 * 60))
            .await
        {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "removed contents left by interrupted uploads"),
            Err(error) => tracing::warn!(%error, "could not look for orphaned contents"),
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

/// Logs to stderr; `RUST_LOG` overrides the default level.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn")
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
