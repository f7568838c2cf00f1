//! Any bytes posted to `/tsa` must get a well-formed `TimeStampResp`: granted
//! or rejected, never a panic. Run with `cargo fuzz run tsa_request`.
#![no_main]

use std::sync::LazyLock;
use std::time::{Duration, UNIX_EPOCH};

use der::Decode;
use libfuzzer_sys::fuzz_target;
use securestamp_proofs::tsa::{Authority, DEFAULT_POLICY, issue_chain};

static AUTHORITY: LazyLock<Authority> = LazyLock::new(|| {
    let chain = issue_chain("Fuzz").expect("a chain");
    Authority::new(chain.key, chain.certificate, DEFAULT_POLICY.parse().expect("an OID")).expect("an authority")
});

fuzz_target!(|request: &[u8]| {
    let reply = AUTHORITY.respond(request, UNIX_EPOCH + Duration::from_secs(1_790_000_000), [7; 16]);
    x509_tsp::TimeStampResp::from_der(&reply).expect("every reply is a DER TimeStampResp");
});
