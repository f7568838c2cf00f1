//! Argon2id password hashing with OWASP's parameters (19 MiB, t=2, p=1), on
//! a bounded set of workers.
//!
//! Each worker is a thread of its own that keeps one Argon2 working memory
//! and reuses it for every hash, so a flood of sign-ins costs at most
//! `workers × 19 MiB` however many arrive; a worker left idle for [`IDLE`]
//! gives its memory back. Requests wait in a bounded queue, and when that is
//! full the caller is told [`HashError::Busy`] at once (a 503 with
//! `Retry-After`) instead of holding memory or a connection for minutes.
//!
//! A sign-in for an unknown user verifies against a dummy hash, so it costs
//! exactly what a wrong password costs. Hashes left by the original
//! application are checked by [`super::legacy_hash`], on the same workers,
//! and reported for upgrade.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;
use tokio::sync::oneshot;

use super::legacy_hash;
use crate::domain::Password;

/// A worker with nothing to do for this long frees its memory.
const IDLE: Duration = Duration::from_secs(5);

/// Stored hashes asking for more than this (a damaged or foreign row) are
/// refused rather than computed: a worker's memory stays bounded.
const MAX_MEMORY_KIB: u32 = 64 * 1024;
const MAX_PASSES: u32 = 10;
const MAX_LANES: u32 = 4;

/// OWASP Password Storage Cheat Sheet, Argon2id option 2: m=19 MiB, t=2, p=1.
fn params() -> Params {
    Params::new(19 * 1024, 2, 1, Some(32)).expect("constant parameters are valid")
}

/// The outcome of checking a password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Refused,
    Accepted,
    /// Right, but stored in an older scheme or with other parameters: store a
    /// fresh hash.
    AcceptedNeedsRehash,
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("every password worker is busy and the queue is full")]
    Busy,
    #[error("the password workers have stopped")]
    Stopped,
}

/// How many hashes run at once and how many may wait for a worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashingLimits {
    pub workers: usize,
    pub queue: usize,
}

impl HashingLimits {
    /// Waiting hashes allowed per worker unless the queue is set.
    pub const QUEUE_PER_WORKER: usize = 32;

    /// The given limits, or one worker per core and [`Self::QUEUE_PER_WORKER`]
    /// waiting for each.
    pub fn new(workers: Option<usize>, queue: Option<usize>) -> HashingLimits {
        let workers = workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
            .max(1);
        HashingLimits {
            workers,
            queue: queue.unwrap_or(Self::QUEUE_PER_WORKER * workers).max(1),
        }
    }
}

type Job = Box<dyn FnOnce(&mut Memory) + Send>;

#[derive(Clone)]
pub struct PasswordHasher {
    jobs: flume::Sender<Job>,
    /// One per worker and per place in the queue: a job is queued only with
    /// one, so the queue never overflows and a refusal costs nothing.
    places: Arc<tokio::sync::Semaphore>,
    /// A real hash of a random password, verified when the user does not exist.
    dummy: Arc<str>,
}

impl PasswordHasher {
    /// Starts the workers and prepares the dummy hash (on the blocking pool,
    /// not in the queue). The workers end when the last clone of the hasher
    /// is dropped.
    pub async fn start(limits: HashingLimits) -> Result<PasswordHasher, HashError> {
        let dummy = tokio::task::spawn_blocking(|| {
            let random: [u8; 16] = rand::random();
            hash_argon2(&mut Memory::default(), hex::encode(random).as_bytes())
        })
        .await
        .map_err(|_| HashError::Stopped)?;
        let (jobs, queue) = flume::bounded::<Job>(limits.queue);
        for number in 0..limits.workers {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("password-{number}"))
                .spawn(move || work(&queue))
                .map_err(|_| HashError::Stopped)?;
        }
        Ok(PasswordHasher {
            jobs,
            places: Arc::new(tokio::sync::Semaphore::new(limits.workers + limits.queue)),
            dummy: dummy.into(),
        })
    }

    /// A place at the workers for one hash, or [`HashError::Busy`] at once
    /// when every worker and every place in the queue is taken. A sign-in
    /// takes its place before it spends anything else (such as a write to the
    /// throttle) on an attempt.
    pub fn place(&self) -> Result<Place, HashError> {
        self.places
            .clone()
            .try_acquire_owned()
            .map(|permit| Place { _permit: permit })
            .map_err(|_| HashError::Busy)
    }

    /// The PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) to store.
    pub async fn hash(&self, password: &Password) -> Result<String, HashError> {
        let password = password.clone();
        let place = self.place()?;
        self.run(place, move |memory| {
            hash_argon2(memory, password.expose().as_bytes())
        })
        .await
    }

    /// Checks `password` against `stored`, or against the dummy hash when there
    /// is no such user, so both cases take the same time and are refused.
    /// `place` is the one taken for it with [`PasswordHasher::place`].
    pub async fn verify(
        &self,
        place: Place,
        password: &Password,
        stored: Option<String>,
    ) -> Result<Verdict, HashError> {
        let password = password.clone();
        let exists = stored.is_some();
        let stored: Arc<str> = stored.map_or_else(|| self.dummy.clone(), Arc::from);
        let verdict = self
            .run(place, move |memory| {
                let password = password.expose();
                if legacy_hash::is_legacy(&stored) {
                    return match legacy_hash::verify(password, &stored) {
                        true => Verdict::AcceptedNeedsRehash,
                        false => Verdict::Refused,
                    };
                }
                verify_argon2(memory, password.as_bytes(), &stored)
            })
            .await?;
        Ok(if exists { verdict } else { Verdict::Refused })
    }

    /// Queues `work` for a worker in the place taken for it, which is given
    /// back when the work is done (or skipped).
    async fn run<T: Send + 'static>(
        &self,
        place: Place,
        work: impl FnOnce(&mut Memory) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |memory| {
            let _place = place;
            // The visitor may have gone while this waited: skip the work.
            if !reply.is_closed() {
                let _ = reply.send(work(memory));
            }
        });
        self.jobs.try_send(job).map_err(|error| match error {
            flume::TrySendError::Full(_) => HashError::Busy,
            flume::TrySendError::Disconnected(_) => HashError::Stopped,
        })?;
        answer.await.map_err(|_| HashError::Stopped)
    }
}

/// A place at the password workers ([`PasswordHasher::place`]), given back
/// when dropped.
pub struct Place {
    _permit: tokio::sync::OwnedSemaphorePermit,
}

/// A worker's loop: jobs until every sender is gone, with the memory freed
/// whenever the queue has been empty for [`IDLE`].
fn work(queue: &flume::Receiver<Job>) {
    let mut memory = Memory::default();
    loop {
        let job = match queue.recv_timeout(IDLE) {
            Ok(job) => job,
            Err(flume::RecvTimeoutError::Timeout) => {
                memory.release();
                match queue.recv() {
                    Ok(job) => job,
                    Err(flume::RecvError::Disconnected) => return,
                }
            }
            Err(flume::RecvTimeoutError::Disconnected) => return,
        };
        // A job that panics loses its answer (its caller sees `Stopped`), not the worker.
        if std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut memory))).is_err() {
            tracing::error!("a password hashing job panicked");
            memory.release();
        }
    }
}

/// One worker's Argon2 working memory, allocated on first use.
#[derive(Default)]
struct Memory {
    blocks: Vec<Block>,
}

impl Memory {
    /// glibc gives an allocation above its mmap threshold a mapping of its
    /// own, unmapped when freed. The threshold rises to the size of what is
    /// freed, so a freed 19 MiB would make the next 19 MiB come from a heap
    /// that keeps it, but it never rises above 32 MiB: reserving more than
    /// that keeps the memory a mapping, and returns it when the worker idles.
    /// Only the pages Argon2 writes become resident.
    const RESERVE: usize = (32 << 20) / Block::SIZE + 1;

    fn blocks(&mut self, count: usize) -> &mut [Block] {
        if self.blocks.len() < count {
            let mut blocks = Vec::with_capacity(count.max(Self::RESERVE));
            blocks.resize(count, Block::default());
            self.blocks = blocks;
        }
        &mut self.blocks[..count]
    }

    fn release(&mut self) {
        self.blocks = Vec::new();
    }
}

fn hash_argon2(memory: &mut Memory, password: &[u8]) -> String {
    let params = params();
    let salt: [u8; 16] = rand::random();
    let mut out = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(
            password,
            &salt,
            &mut out,
            memory.blocks(params.block_count()),
        )
        .expect("constant parameters, a 16-byte salt and a bounded password are valid");
    PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).expect("constant parameters encode"),
        salt: Some(Salt::new(&salt).expect("16 bytes are a valid salt")),
        hash: Some(Output::new(&out).expect("32 bytes are a valid output")),
    }
    .to_string()
}

/// Checks a PHC-format Argon2 hash with whatever parameters it names, within bounds.
fn verify_argon2(memory: &mut Memory, password: &[u8], stored: &str) -> Verdict {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return Verdict::Refused;
    };
    let (Ok(algorithm), Ok(version), Ok(named), Some(salt), Some(expected)) = (
        Algorithm::try_from(parsed.algorithm.as_str()),
        parsed.version.map_or(Ok(Version::V0x13), Version::try_from),
        Params::try_from(&parsed),
        parsed.salt,
        parsed.hash,
    ) else {
        return Verdict::Refused;
    };
    if named.m_cost() > MAX_MEMORY_KIB || named.t_cost() > MAX_PASSES || named.p_cost() > MAX_LANES
    {
        return Verdict::Refused;
    }
    let mut computed = vec![0u8; expected.len()];
    let blocks = memory.blocks(named.block_count());
    if Argon2::new(algorithm, version, named.clone())
        .hash_password_into_with_memory(password, salt.as_ref(), &mut computed, blocks)
        .is_err()
        || !bool::from(computed.ct_eq(expected.as_bytes()))
    {
        return Verdict::Refused;
    }
    let current = params();
    let same = algorithm == Algorithm::Argon2id
        && version == Version::V0x13
        && named.m_cost() == current.m_cost()
        && named.t_cost() == current.t_cost()
        && named.p_cost() == current.p_cost()
        && expected.len() == 32;
    if same {
        Verdict::Accepted
    } else {
        Verdict::AcceptedNeedsRehash
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl PasswordHasher {
        /// [`PasswordHasher::verify`] in a place of its own.
        async fn check(
            &self,
            password: &Password,
            stored: Option<String>,
        ) -> Result<Verdict, HashError> {
            self.verify(self.place()?, password, stored).await
        }
    }

    async fn hasher() -> PasswordHasher {
        PasswordHasher::start(HashingLimits {
            workers: 2,
            queue: 8,
        })
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn hashes_verify_and_use_owasp_parameters() {
        let hasher = hasher().await;
        let password = Password::parse_new("correct horse".into()).unwrap();
        let stored = hasher.hash(&password).await.unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        let verdict = hasher.check(&password, Some(stored.clone())).await.unwrap();
        assert_eq!(verdict, Verdict::Accepted);
        let wrong = Password::parse_new("battery staple".into()).unwrap();
        assert_eq!(
            hasher.check(&wrong, Some(stored)).await.unwrap(),
            Verdict::Refused
        );
    }

    #[tokio::test]
    async fn hashes_agree_with_the_argon2_crates_own_hasher_and_verifier() {
        use argon2::{PasswordHasher as _, PasswordVerifier as _};
        let hasher = hasher().await;
        let password = Password::parse_new("correct horse".into()).unwrap();
        let ours = hasher.hash(&password).await.unwrap();
        let library = Argon2::new(Algorithm::Argon2id, Version::V0x13, params());
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(library.verify_password(b"correct horse", &parsed).is_ok());
        let theirs = library.hash_password(b"correct horse").unwrap().to_string();
        assert_eq!(
            hasher.check(&password, Some(theirs)).await.unwrap(),
            Verdict::Accepted
        );
    }

    #[tokio::test]
    async fn other_argon2_parameters_verify_and_ask_for_a_rehash() {
        use argon2::PasswordHasher as _;
        let hasher = hasher().await;
        let password = Password::parse_new("correct horse".into()).unwrap();
        let weaker = Params::new(4096, 3, 1, None).unwrap();
        let stored = Argon2::new(Algorithm::Argon2id, Version::V0x13, weaker)
            .hash_password(b"correct horse")
            .unwrap()
            .to_string();
        assert_eq!(
            hasher.check(&password, Some(stored)).await.unwrap(),
            Verdict::AcceptedNeedsRehash
        );
        let huge = "$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHRzYWx0$\
                    AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        assert_eq!(
            hasher.check(&password, Some(huge.into())).await.unwrap(),
            Verdict::Refused,
            "a row asking for 4 GiB is refused, not computed"
        );
    }

    #[tokio::test]
    async fn unknown_users_and_foreign_hashes_never_match() {
        let hasher = hasher().await;
        let password = Password::parse_new("whatever it is".into()).unwrap();
        assert_eq!(
            hasher.check(&password, None).await.unwrap(),
            Verdict::Refused
        );
        for foreign in ["pbkdf2:sha256:1$x$y", "md5:whatever", ""] {
            let verdict = hasher.check(&password, Some(foreign.into())).await.unwrap();
            assert_eq!(verdict, Verdict::Refused, "{foreign}");
        }
    }

    #[tokio::test]
    async fn right_passwords_under_werkzeug_hashes_ask_for_a_rehash() {
        let hasher = hasher().await;
        let password = Password::parse_attempt("correct horse".into()).unwrap();
        let stored = "pbkdf2:sha256:1000$saltsaltsalt1234$\
                      c3bfd9f93b4a7b6ef4eb3898aa7b46584a72c32701847460b4b20dfa19270c64";
        let verdict = hasher.check(&password, Some(stored.into())).await.unwrap();
        assert_eq!(verdict, Verdict::AcceptedNeedsRehash);
        let wrong = Password::parse_attempt("wrong horse".into()).unwrap();
        assert_eq!(
            hasher.check(&wrong, Some(stored.into())).await.unwrap(),
            Verdict::Refused
        );
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_and_the_workers_carry_on() {
        let hasher = PasswordHasher::start(HashingLimits {
            workers: 1,
            queue: 1,
        })
        .await
        .unwrap();
        let password = Password::parse_new("correct horse".into()).unwrap();
        let stored = hasher.hash(&password).await.unwrap();
        let attempts = (0..6).map(|_| hasher.check(&password, Some(stored.clone())));
        let outcomes = futures_util::future::join_all(attempts).await;
        let busy = outcomes
            .iter()
            .filter(|o| matches!(o, Err(HashError::Busy)))
            .count();
        let accepted = outcomes
            .iter()
            .filter(|o| matches!(o, Ok(Verdict::Accepted)))
            .count();
        // One runs and at most one waits (none if the worker has not yet
        // taken the first); the others are refused on the spot.
        assert_eq!(accepted + busy, 6, "{outcomes:?}");
        assert!((1..=2).contains(&accepted), "{outcomes:?}");
        assert_eq!(
            hasher.check(&password, Some(stored)).await.unwrap(),
            Verdict::Accepted
        );
    }
}
