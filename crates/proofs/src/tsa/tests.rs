//! The responder's refusals, failure bits and token contents.

use super::*;
use cmpv2::status::PkiStatus;
use cms::content_info::ContentInfo;
use cms::signed_data::SignedData;
use std::time::{Duration, UNIX_EPOCH};
use x509_tsp::TimeStampResp;

fn authority() -> Authority {
    let chain = issue_chain("Test").unwrap();
    Authority::new(
        chain.key,
        chain.certificate,
        DEFAULT_POLICY.parse().unwrap(),
    )
    .unwrap()
}

fn request(oid: &str, digest: &[u8], policy: Option<&str>) -> Vec<u8> {
    TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: AlgorithmIdentifierOwned {
                oid: oid.parse().unwrap(),
                parameters: None,
            },
            hashed_message: OctetString::new(digest.to_vec()).unwrap(),
        },
        req_policy: policy.map(|p| p.parse().unwrap()),
        nonce: Some(Int::new(&[0x01, 0x02, 0x03]).unwrap()),
        cert_req: true,
        extensions: None,
    }
    .to_der()
    .unwrap()
}

const SHA256: &str = "2.16.840.1.101.3.4.2.1";

#[test]
fn requests_that_cannot_be_served_are_refused_with_the_right_bit() {
    let tsa = authority();
    let refused = |der: &[u8]| tsa.parse_request(der).unwrap_err().failure;
    assert_eq!(refused(b"\x30\x00"), Failure::BadDataFormat);
    assert_eq!(
        refused(&request("1.3.14.3.2.26", &[0; 20], None)),
        Failure::BadAlg,
        "SHA-1"
    );
    assert_eq!(
        refused(&request(SHA256, &[0; 20], None)),
        Failure::BadDataFormat,
        "short imprint"
    );
    assert_eq!(
        refused(&request(SHA256, &[0; 32], Some("1.2.3.4"))),
        Failure::UnacceptedPolicy
    );
    assert!(
        tsa.parse_request(&request(SHA256, &[0; 32], Some(DEFAULT_POLICY)))
            .is_ok()
    );
}

#[test]
fn failure_bits_are_named_bits_in_der() {
    let der = |failure| failure_bits(failure).to_der().unwrap();
    assert_eq!(der(Failure::BadAlg), [0x03, 0x02, 0x07, 0x80]);
    assert_eq!(der(Failure::BadDataFormat), [0x03, 0x02, 0x02, 0x04]);
    assert_eq!(
        der(Failure::SystemFailure),
        [0x03, 0x05, 0x06, 0, 0, 0, 0x40]
    );
}

#[test]
fn tokens_state_what_was_asked_at_the_time_given() {
    let tsa = authority();
    let now = UNIX_EPOCH + Duration::from_millis(1_790_000_000_750);
    let serial = [0xff; 16];
    let reply = tsa.respond(&request(SHA256, &[7; 32], None), now, serial);
    let reply = TimeStampResp::from_der(&reply).unwrap();
    assert_eq!(reply.status.status, PkiStatus::Accepted);
    let signed =
        SignedData::from_der(&reply.time_stamp_token.unwrap().content.to_der().unwrap()).unwrap();
    assert_eq!(
        signed.certificates.map(|c| c.0.len()),
        Some(1),
        "certReq was honoured"
    );
    let info = TstInfo::from_der(signed.encap_content_info.econtent.unwrap().value()).unwrap();
    assert_eq!(info.message_imprint.hashed_message.as_bytes(), [7; 32]);
    assert_eq!(info.nonce.unwrap().as_bytes(), [1, 2, 3]);
    assert_eq!(info.policy.to_string(), DEFAULT_POLICY);
    assert_eq!(
        info.serial_number.as_bytes()[0],
        0,
        "a serial with its top bit set stays positive"
    );
    assert_eq!(
        info.gen_time.to_system_time(),
        UNIX_EPOCH + Duration::from_secs(1_790_000_000)
    );
}

#[test]
fn serials_with_leading_zero_bytes_are_encoded_minimally() {
    let tsa = authority();
    for serial in [
        [0; 16],
        [0x00, 0x14, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9],
        {
            let mut s = [0; 16];
            s[1] = 0x80;
            s
        },
    ] {
        let reply = tsa.respond(&request(SHA256, &[7; 32], None), UNIX_EPOCH, serial);
        let (token, _) = super::token_of(&reply).expect("the token is DER");
        let signed = SignedData::from_der(
            &cms::content_info::ContentInfo::from_der(&token)
                .unwrap()
                .content
                .to_der()
                .unwrap(),
        )
        .unwrap();
        let info = TstInfo::from_der(signed.encap_content_info.econtent.unwrap().value()).unwrap();
        let expected: Vec<u8> = match serial.iter().position(|b| *b != 0) {
            None => vec![0],
            Some(at) if serial[at] & 0x80 != 0 => [&[0][..], &serial[at..]].concat(),
            Some(at) => serial[at..].to_vec(),
        };
        assert_eq!(info.serial_number.as_bytes(), expected);
    }
}

#[test]
fn a_granted_reply_is_the_der_timestampresp_around_its_token() {
    let tsa = authority();
    let stamp = tsa
        .issue(&request(SHA256, &[7; 32], None), UNIX_EPOCH, [0x80; 16])
        .unwrap();
    let reply = TimeStampResp::from_der(&stamp.response).unwrap();
    assert_eq!(reply.status.status, PkiStatus::Accepted);
    assert_eq!(
        reply.time_stamp_token.unwrap().to_der().unwrap(),
        stamp.token
    );
    // Decoding and encoding again gives the same bytes: the reply is DER.
    let again = TimeStampResp::from_der(&stamp.response)
        .unwrap()
        .to_der()
        .unwrap();
    assert_eq!(again, stamp.response);
}

#[test]
fn tokens_put_together_from_parts_are_what_cms_encodes() {
    let tsa = authority();
    for with_certificate in [true, false] {
        let mut ask = TimeStampReq::from_der(&request(SHA256, &[9; 32], None)).unwrap();
        ask.cert_req = with_certificate;
        let stamp = tsa
            .issue(&ask.to_der().unwrap(), UNIX_EPOCH, [0x11; 16])
            .unwrap();
        let token = ContentInfo::from_der(&stamp.token).unwrap();
        assert_eq!(token.content_type, ID_SIGNED_DATA);
        let signed = SignedData::from_der(&token.content.to_der().unwrap()).unwrap();
        assert_eq!(signed.certificates.is_some(), with_certificate);
        let signer = signed.signer_infos.0.get(0).unwrap();
        let attributes: Vec<_> = signer
            .signed_attrs
            .as_ref()
            .unwrap()
            .iter()
            .map(|attribute| attribute.oid)
            .collect();
        assert_eq!(attributes.len(), 4);
        for oid in [
            ID_CONTENT_TYPE,
            ID_MESSAGE_DIGEST,
            ID_SIGNING_TIME,
            ID_AA_SIGNING_CERTIFICATE_V2,
        ] {
            assert!(attributes.contains(&oid), "{oid} is missing");
        }
        // Encoded again by cms's types, every part comes out the same: the
        // parts are in their places, each length is right, and the sets
        // are in DER's order.
        assert_eq!(token.to_der().unwrap(), stamp.token);
        assert_eq!(signed.to_der().unwrap(), token.content.to_der().unwrap());
    }
}
