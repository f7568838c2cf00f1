//! The `TimeStampResp` envelopes (RFC 3161 §2.4.2): `granted` around a
//! token, or `rejection` with the reason and its `PKIFailureInfo` bit.

use cmpv2::status::{PkiStatus, PkiStatusInfo};
use der::asn1::{BitString, Utf8StringRef};
use der::{Encode, Sequence, Tag};

use super::{Failure, Refusal};

/// The `TimeStampResp` with status `granted` around a DER `token`, which is
/// copied in as it is rather than decoded and encoded again.
pub(super) fn granted(token: &[u8]) -> Result<Vec<u8>, der::Error> {
    let status = PkiStatusInfo {
        status: PkiStatus::Accepted,
        status_string: None,
        fail_info: None,
    }
    .to_der()?;
    let length = der::Length::try_from(status.len() + token.len())?;
    let mut response = Vec::with_capacity(status.len() + token.len() + 8);
    der::Header::new(Tag::Sequence, length)?.encode_to_vec(&mut response)?;
    response.extend_from_slice(&status);
    response.extend_from_slice(token);
    Ok(response)
}

/// A `TimeStampResp` with status `rejection` (RFC 3161 §2.4.2).
pub fn rejection(refusal: Refusal) -> Vec<u8> {
    rejection_saying(refusal.failure, refusal.text)
}

/// A `rejection` with `failure`'s bit and `text` as its status string (left
/// out should it not encode).
pub fn rejection_saying(failure: Failure, text: &str) -> Vec<u8> {
    let reply = |text: Option<Vec<Utf8StringRef<'_>>>| {
        Rejection {
            status: RejectionStatus {
                status: PkiStatus::Rejection,
                status_string: text,
                fail_info: failure_bits(failure),
            },
        }
        .to_der()
    };
    let text = Utf8StringRef::new(text).ok().map(|text| vec![text]);
    // Without the text, the structure cannot fail to encode.
    reply(text).or_else(|_| reply(None)).unwrap_or_default()
}

/// `TimeStampResp` without a token. Written out here because cmpv2's
/// `PKIFailureInfo` flags use bit positions as masks, which sets the wrong bits.
#[derive(Sequence)]
struct Rejection<'a> {
    status: RejectionStatus<'a>,
}

/// `PKIStatusInfo` (RFC 3161 §2.4.2, from RFC 4210).
#[derive(Sequence)]
struct RejectionStatus<'a> {
    status: PkiStatus,
    status_string: Option<Vec<Utf8StringRef<'a>>>,
    fail_info: BitString,
}

/// The DER `BIT STRING` with only named bit `failure` set, trailing zero bits
/// removed (X.690 §11.2.2).
pub(super) fn failure_bits(failure: Failure) -> BitString {
    let bit = failure as usize;
    let mut bytes = vec![0u8; bit / 8 + 1];
    bytes[bit / 8] = 0x80 >> (bit % 8);
    BitString::new((7 - bit % 8) as u8, bytes).expect("fewer than 8 unused bits")
}
