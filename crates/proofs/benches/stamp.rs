//! The time-stamp authority without HTTP or the log: `TimeStampReq` in,
//! signed `TimeStampResp` out, on one thread, next to bare ECDSA P-256
//! signatures through the same library on the same thread.
//!
//! `cargo bench -p securestamp-proofs --bench stamp [-- SECONDS]` (default 3 s each). Prints two
//! rates and their ratio: the share of a stamp's time that is the signature.

use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime};

use der::Encode;
use der::asn1::{Int, OctetString};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
use securestamp_proofs::tsa::{Authority, DEFAULT_POLICY, HashAlgorithm, issue_chain};
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_tsp::{MessageImprint, TimeStampReq, TspVersion};

fn main() {
    let seconds = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse::<f64>().ok())
        .unwrap_or(3.0);
    let run_for = Duration::from_secs_f64(seconds);

    let chain = issue_chain("Benchmark").expect("a chain");
    let tsa = Authority::new(
        chain.key,
        chain.certificate,
        DEFAULT_POLICY.parse().unwrap(),
    )
    .expect("an authority");
    // As `openssl ts -query -sha256 -cert` sends it: a nonce, and the certificate asked for.
    let request = TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: AlgorithmIdentifierOwned {
                oid: HashAlgorithm::Sha256.oid(),
                parameters: None,
            },
            hashed_message: OctetString::new([0x5a; 32].to_vec()).unwrap(),
        },
        req_policy: None,
        nonce: Some(Int::new(&[0x1f; 8]).unwrap()),
        cert_req: true,
        extensions: None,
    }
    .to_der()
    .unwrap();
    let stamps = rate(run_for, || {
        let stamp = tsa.issue(&request, SystemTime::now(), rand::random());
        black_box(stamp.expect("granted").response.len());
    });

    let random = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &random).unwrap();
    let key =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &random).unwrap();
    // A stamp signs its DER signed attributes, about 200 bytes.
    let message = [0x31u8; 200];
    let signatures = rate(run_for, || {
        black_box(key.sign(&random, black_box(&message)).unwrap());
    });

    println!("stamps/s on one thread (parse, sign, encode): {stamps:.0}");
    println!("ECDSA P-256 signatures/s on one thread (ring): {signatures:.0}");
    println!("stamp rate / signature rate: {:.2}", stamps / signatures);
}

/// Calls per second of `work`, repeated for `run_for` after a short warm-up.
fn rate(run_for: Duration, mut work: impl FnMut()) -> f64 {
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_millis(200) {
        work();
    }
    let (start, mut done) = (Instant::now(), 0u64);
    while start.elapsed() < run_for {
        for _ in 0..64 {
            work();
        }
        done += 64;
    }
    done as f64 / start.elapsed().as_secs_f64()
}
