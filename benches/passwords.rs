//! Password hashes per second on one thread: the server's own hasher with a
//! single worker, hashing one password after another for the given time.
//!
//! `cargo bench --bench passwords [-- SECONDS]` (default 3 s). `bench/passwords.sh`
//! sets the sign-in flood's rate beside this one, times the cores.

use std::time::{Duration, Instant};

use securestamp::auth::{HashingLimits, PasswordHasher, Verdict};
use securestamp::domain::Password;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let seconds = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse::<f64>().ok())
        .unwrap_or(3.0);
    let run_for = Duration::from_secs_f64(seconds);
    let one = HashingLimits::new(Some(1), Some(1));
    let hasher = PasswordHasher::start(one).await.expect("the worker starts");
    let password = Password::parse_attempt("benchmark password".into()).expect("a password");
    let stored = hasher.hash(&password).await.expect("a hash");

    let started = Instant::now();
    let mut verified = 0u32;
    while started.elapsed() < run_for {
        let place = hasher.place().expect("the worker is free");
        let verdict = hasher
            .verify(place, &password, Some(stored.clone()))
            .await
            .expect("the worker answers");
        assert_eq!(verdict, Verdict::Accepted);
        verified += 1;
    }
    let rate = f64::from(verified) / started.elapsed().as_secs_f64();
    println!("verifications/s on one thread: {rate:.1}");
}
