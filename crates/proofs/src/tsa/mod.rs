//! An RFC 3161 time-stamp authority: `TimeStampReq` in, `TimeStampResp` out.
//!
//! The token is a CMS `SignedData` (RFC 5652 §5) whose content is a `TSTInfo`
//! (RFC 3161 §2.4.2), signed with ECDSA P-256 / SHA-256. Its signed
//! attributes carry the content type, the message digest, the signing time and
//! `signingCertificateV2` (RFC 5816 §2.2.1): OpenSSL refuses tokens without an
//! ESS signing-certificate attribute. Requests that cannot be served get a
//! `rejection` status with the failure bit RFC 3161 §2.4.2 names, never an
//! error of the caller's own.

mod certificates;
mod reply;
mod token;
mod verify;

pub use certificates::{IssuedChain, authority_from_pem, issue_chain};
pub use der::oid::ObjectIdentifier;
pub use reply::{rejection, rejection_saying};
pub use verify::{VerifiedToken, VerifyError, token_of, verify_reply};

#[cfg(test)]
use reply::failure_bits;
use reply::granted;
use token::Template;

use std::time::SystemTime;

use der::asn1::{GeneralizedTime, Int, OctetString};
use der::{Any, Decode, Encode, Sequence};
use p256::ecdsa::SigningKey;
use p256::pkcs8::EncodePrivateKey;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_tsp::{Accuracy, MessageImprint, TimeStampReq, TspVersion, TstInfo};

/// id-ct-TSTInfo (RFC 3161 §2.4.2).
const ID_CT_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
/// id-signedData (RFC 5652 §5.1).
const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
/// id-contentType, id-messageDigest, id-signingTime (RFC 5652 §11).
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const ID_SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
/// id-aa-signingCertificateV2 (RFC 5035 §3).
const ID_AA_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
/// ecdsa-with-SHA256 (RFC 5758 §3.2).
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

/// The default `TSTInfo.policy`, under the enterprise number IANA reserves for
/// documentation (RFC 5612). Operators should set their own.
pub const DEFAULT_POLICY: &str = "1.3.6.1.4.1.32473.3161.1";

/// The digests a request may time-stamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlgorithm {
    /// NIST's OIDs (RFC 5758 §2).
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            HashAlgorithm::Sha256 => ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1"),
            HashAlgorithm::Sha384 => ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2"),
            HashAlgorithm::Sha512 => ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3"),
        }
    }

    pub fn digest_len(self) -> usize {
        match self {
            HashAlgorithm::Sha256 => 32,
            HashAlgorithm::Sha384 => 48,
            HashAlgorithm::Sha512 => 64,
        }
    }

    fn from_oid(oid: ObjectIdentifier) -> Option<Self> {
        [
            HashAlgorithm::Sha256,
            HashAlgorithm::Sha384,
            HashAlgorithm::Sha512,
        ]
        .into_iter()
        .find(|a| a.oid() == oid)
    }

    fn identifier(self) -> AlgorithmIdentifierOwned {
        // Hash identifiers in RFC 3161 imprints conventionally carry a NULL parameter.
        AlgorithmIdentifierOwned {
            oid: self.oid(),
            parameters: Some(Any::null()),
        }
    }
}

/// What is to be time-stamped.
#[derive(Clone, Debug)]
pub struct StampRequest {
    pub algorithm: HashAlgorithm,
    pub digest: Vec<u8>,
    /// Echoed in the token, as RFC 3161 §2.4.2 requires.
    pub nonce: Option<Vec<u8>>,
    /// Whether the TSA certificate goes into the token.
    pub include_certificate: bool,
}

/// An issued token and the facts it states.
#[derive(Clone, Debug)]
pub struct Stamp {
    /// DER `TimeStampToken` (a CMS `ContentInfo`), as `openssl ts -verify -in … -token_in` reads it.
    pub token: Vec<u8>,
    /// DER `TimeStampResp` with status `granted`, as a `.tsr` file holds it.
    pub response: Vec<u8>,
    /// `genTime`, whole seconds.
    pub gen_time: SystemTime,
    pub serial: [u8; 16],
}

#[derive(Debug, thiserror::Error)]
pub enum TsaError {
    #[error("DER encoding failed: {0}")]
    Der(#[from] der::Error),
    #[error("{0}")]
    Certificate(String),
}

/// Why a request is refused, as a PKIFailureInfo bit and a sentence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub failure: Failure,
    pub text: &'static str,
}

/// The `PKIFailureInfo` named bits a TSA uses (RFC 3161 §2.4.2), by position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    BadAlg = 0,
    BadRequest = 2,
    BadDataFormat = 5,
    UnacceptedPolicy = 15,
    UnacceptedExtension = 16,
    SystemFailure = 25,
}

/// The signing key, its certificate and the policy tokens are issued under.
pub struct Authority {
    /// The same key as ring's key pair, whose assembly signs many times faster.
    signer: EcdsaKeyPair,
    random: SystemRandom,
    /// The parts of a token that are the same in every stamp.
    template: Template,
    policy: ObjectIdentifier,
}

impl Authority {
    /// `certificate` must be the certificate of `key`'s public half.
    pub fn new(
        key: SigningKey,
        certificate: Certificate,
        policy: ObjectIdentifier,
    ) -> Result<Self, TsaError> {
        let spki = certificate
            .tbs_certificate
            .subject_public_key_info
            .subject_public_key
            .raw_bytes()
            .to_vec();
        if spki != key.verifying_key().to_encoded_point(false).as_bytes() {
            return Err(TsaError::Certificate(
                "the TSA certificate is not for the TSA key".into(),
            ));
        }
        let pkcs8 = key
            .to_pkcs8_der()
            .map_err(|e| TsaError::Certificate(format!("key: {e}")))?;
        let random = SystemRandom::new();
        let signer =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_bytes(), &random)
                .map_err(|e| TsaError::Certificate(format!("key: {e}")))?;
        Ok(Authority {
            signer,
            random,
            template: Template::new(&certificate)?,
            policy,
        })
    }

    pub fn policy(&self) -> ObjectIdentifier {
        self.policy
    }

    /// Answers a DER `TimeStampReq` with a DER `TimeStampResp`: granted, or a
    /// rejection with the reason. `serial` must be unique (128 random bits).
    pub fn respond(&self, request: &[u8], now: SystemTime, serial: [u8; 16]) -> Vec<u8> {
        match self.issue(request, now, serial) {
            Ok(stamp) => stamp.response,
            Err(rejection) => rejection,
        }
    }

    /// Like [`Authority::respond`], but keeps a granted token's facts: the
    /// stamp, or the DER rejection reply.
    pub fn issue(
        &self,
        request: &[u8],
        now: SystemTime,
        serial: [u8; 16],
    ) -> Result<Stamp, Vec<u8>> {
        self.parse_request(request)
            .and_then(|request| {
                self.stamp(&request, now, serial).map_err(|_| Refusal {
                    failure: Failure::SystemFailure,
                    text: "the time-stamp could not be produced",
                })
            })
            .map_err(rejection)
    }

    /// Reads a `TimeStampReq` (RFC 3161 §2.4.1) into what [`Authority::stamp`] needs.
    pub fn parse_request(&self, der: &[u8]) -> Result<StampRequest, Refusal> {
        let request = TimeStampReq::from_der(der).map_err(|_| Refusal {
            failure: Failure::BadDataFormat,
            text: "the request is not a DER TimeStampReq",
        })?;
        let algorithm =
            HashAlgorithm::from_oid(request.message_imprint.hash_algorithm.oid).ok_or(Refusal {
                failure: Failure::BadAlg,
                text: "only SHA-256, SHA-384 and SHA-512 imprints are accepted",
            })?;
        let digest = request.message_imprint.hashed_message.as_bytes().to_vec();
        if digest.len() != algorithm.digest_len() {
            return Err(Refusal {
                failure: Failure::BadDataFormat,
                text: "the imprint's length does not match its hash algorithm",
            });
        }
        if request
            .req_policy
            .is_some_and(|policy| policy != self.policy)
        {
            return Err(Refusal {
                failure: Failure::UnacceptedPolicy,
                text: "this TSA issues tokens under one policy only",
            });
        }
        if request.extensions.is_some() {
            return Err(Refusal {
                failure: Failure::UnacceptedExtension,
                text: "request extensions are not supported",
            });
        }
        Ok(StampRequest {
            algorithm,
            digest,
            nonce: request.nonce.map(|nonce| nonce.as_bytes().to_vec()),
            include_certificate: request.cert_req,
        })
    }

    /// Issues a token for `request` at `now` (truncated to whole seconds).
    pub fn stamp(
        &self,
        request: &StampRequest,
        now: SystemTime,
        serial: [u8; 16],
    ) -> Result<Stamp, TsaError> {
        let gen_time = GeneralizedTime::from_system_time(now)?;
        let tst_info = tst_info(request, self.policy, gen_time, &serial)?;
        let signed_attributes = self.template.signed_attributes([
            token::attribute(
                ID_SIGNING_TIME,
                Any::encode_from(&x509_cert::time::Time::GeneralTime(gen_time))?,
            )?,
            token::attribute(
                ID_MESSAGE_DIGEST,
                Any::encode_from(&OctetString::new(Sha256::digest(&tst_info).as_slice())?)?,
            )?,
        ])?;
        let signature = self
            .signer
            .sign(&self.random, &signed_attributes)
            .map_err(|_| TsaError::Certificate("ECDSA signing failed".into()))?;
        let token = self.template.token(
            &tst_info,
            signed_attributes,
            signature.as_ref(),
            request.include_certificate,
        )?;
        Ok(Stamp {
            response: granted(&token)?,
            token,
            gen_time: gen_time.to_system_time(),
            serial,
        })
    }
}

/// `SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, … }` (RFC 5035 §3).
#[derive(Clone, Debug, Sequence)]
pub(crate) struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

/// `ESSCertIDv2`, with `hashAlgorithm` left at its DEFAULT (SHA-256) and no `issuerSerial`.
#[derive(Clone, Debug, Sequence)]
struct EssCertIdV2 {
    cert_hash: OctetString,
}

/// The DER `TSTInfo` (RFC 3161 §2.4.2) for `request` at `gen_time`.
fn tst_info(
    request: &StampRequest,
    policy: ObjectIdentifier,
    gen_time: GeneralizedTime,
    serial: &[u8; 16],
) -> Result<Vec<u8>, TsaError> {
    Ok(TstInfo {
        version: TspVersion::V1,
        policy,
        message_imprint: MessageImprint {
            hash_algorithm: request.algorithm.identifier(),
            hashed_message: OctetString::new(request.digest.clone())?,
        },
        serial_number: positive_int(serial)?,
        gen_time,
        accuracy: Some(Accuracy {
            seconds: Some(1),
            millis: None,
            micros: None,
        }),
        ordering: false,
        nonce: request.nonce.as_deref().map(Int::new).transpose()?,
        tsa: None,
        extensions: None,
    }
    .to_der()?)
}

/// A DER INTEGER of the unsigned big-endian `bytes`: minimal, so leading
/// zero bytes go, and one comes back in front of a set high bit.
fn positive_int(bytes: &[u8]) -> Result<Int, der::Error> {
    let start = bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bytes.len().saturating_sub(1));
    let bytes = &bytes[start..];
    let mut padded = Vec::with_capacity(bytes.len() + 1);
    if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        padded.push(0);
    }
    padded.extend_from_slice(bytes);
    Int::new(&padded)
}

#[cfg(test)]
mod tests;
