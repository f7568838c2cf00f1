//! Any text given as a signed checkpoint, a verifier key or a tile path (what
//! `securestamp log monitor` reads from a log it does not trust, and what
//! `GET /log/tile/…` parses) is refused or read, never a panic. A checkpoint
//! that parses reads back the same after it is written out again, and a note
//! opens only under the key that signed it.
//! Run with `cargo fuzz run checkpoint`.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use securestamp_proofs::tlog::checkpoint::Checkpoint;
use securestamp_proofs::tlog::note::{NoteSigner, NoteVerifier};
use securestamp_proofs::tlog::tiles::Tile;

static SIGNER: LazyLock<NoteSigner> =
    LazyLock::new(|| NoteSigner::generate("fuzz.example/log").expect("a signer"));
static VERIFIER: LazyLock<NoteVerifier> =
    LazyLock::new(|| NoteVerifier::parse(&SIGNER.verifier_key()).expect("its verifier"));

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let _ = NoteVerifier::parse(text);
    let _ = Tile::parse(text);
    if let Ok(body) = VERIFIER.open(text) {
        let _ = Checkpoint::parse(body);
    }
    if let Ok(checkpoint) = Checkpoint::parse(text) {
        assert_eq!(Checkpoint::parse(&checkpoint.body()), Ok(checkpoint));
    }
    // Whatever text is signed, its note opens under its key to that text.
    if let Ok(note) = SIGNER.sign(text) {
        assert_eq!(VERIFIER.open(&note).expect("a note opens under its own key"), text);
    }
});
