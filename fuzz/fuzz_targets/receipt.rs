//! Any bytes given as a receipt (`POST /verify`, `securestamp verify`) are
//! refused or checked, never a panic; checking them against a file ends
//! with a report whatever the receipt holds. Run with
//! `cargo fuzz run receipt`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use securestamp_proofs::receipt::Receipt;
use securestamp_proofs::verification::{TrustedKeys, verify, verify_hash};

fuzz_target!(|bytes: &[u8]| {
    let Ok(receipt) = Receipt::parse(bytes) else {
        return;
    };
    let keys = TrustedKeys::default();
    let report = verify(&b"the file being checked"[..], &receipt, &keys);
    assert!(!report.checks.is_empty());
    let report = verify_hash(&[7; 32], &receipt, &keys);
    assert!(!report.checks.is_empty());
});
