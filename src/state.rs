//! [`AppState`]: what every handler can reach, built once at start.

use std::net::IpAddr;
use std::sync::Arc;

use governor::{DefaultKeyedRateLimiter, RateLimiter};

use sea_orm::DatabaseConnection;

use crate::auth::{PasswordHasher, Secrets};
use crate::config::Config;
use crate::log::TransparencyLog;
use crate::stamping::Signers;
use crate::storage::Storage;

/// What every request may use, behind one reference count: layers and
/// extractors clone it several times per request.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub config: Arc<Config>,
    pub db: DatabaseConnection,
    pub secrets: Arc<Secrets>,
    pub passwords: PasswordHasher,
    pub storage: Storage,
    /// The RFC 3161 time-stamp authority and the OpenPGP key.
    pub signers: Signers,
    /// The OpenPGP public key, ASCII-armored.
    pub openpgp_public: Arc<str>,
    /// Its certificate chain in PEM, TSA first.
    pub tsa_chain: Arc<str>,
    /// The transparency log every stamp goes into.
    pub log: TransparencyLog,
    /// Open while the database is known to be unreachable.
    pub circuit: crate::db::circuit::Circuit,
    /// Per-address budget for the public `POST /tsa` and `POST /verify`, in this process.
    pub public_limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl Shared {
    /// One request from `client` against the public routes' budget; 429
    /// (retry in a second) once it is spent.
    pub fn spend_public_budget(&self, client: IpAddr) -> Result<(), crate::error::AppError> {
        self.public_limiter
            .check_key(&client)
            .map_err(|_| crate::error::AppError::RateLimited { retry_after: 1 })
    }
}

/// A GCRA budget of `per_second` requests, with bursts of twice that.
pub fn public_limiter(per_second: u32) -> DefaultKeyedRateLimiter<IpAddr> {
    let rate = std::num::NonZeroU32::new(per_second).unwrap_or(std::num::NonZeroU32::MIN);
    let burst = rate.saturating_mul(std::num::NonZeroU32::new(2).expect("2 is not zero"));
    RateLimiter::keyed(governor::Quota::per_second(rate).allow_burst(burst))
}
