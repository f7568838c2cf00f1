//! Checking an RFC 3161 reply offline: the token's signature (RFC 5652
//! §5.4, §5.6), its signed attributes, the ESSCertIDv2 binding to the signing
//! certificate (RFC 5816), and that certificate's chain to a trusted root.

use std::time::SystemTime;

use cmpv2::status::PkiStatus;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der::asn1::OctetString;
use der::{Decode, Encode};
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{DerSignature, VerifyingKey};
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::ext::pkix::ExtendedKeyUsage;
use x509_tsp::{TimeStampResp, TstInfo};

use super::{
    ECDSA_WITH_SHA256, HashAlgorithm, ID_AA_SIGNING_CERTIFICATE_V2, ID_CONTENT_TYPE,
    ID_CT_TST_INFO, ID_MESSAGE_DIGEST, SigningCertificateV2,
};

/// What a valid token states.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedToken {
    pub gen_time: SystemTime,
    /// The serial number, hex.
    pub serial: String,
    /// The TSA certificate's subject.
    pub tsa: String,
    pub policy: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("the reply is not a DER TimeStampResp")]
    Malformed,
    #[error("the reply is not a granted time-stamp")]
    NotGranted,
    #[error("the token time-stamps another hash (or uses another algorithm)")]
    WrongImprint,
    #[error("the token's signed attributes are missing or inconsistent ({0})")]
    Attributes(&'static str),
    #[error("the signing certificate is not in the token or the trusted chain")]
    NoCertificate,
    #[error("the token's signature does not verify")]
    BadSignature,
    #[error("the TSA certificate is not issued by a trusted root")]
    Untrusted,
    #[error("the TSA certificate is not for time-stamping only, or was not valid at genTime")]
    NotATsaCertificate,
}

/// The DER `TimeStampToken` inside a granted reply and the `genTime` it
/// states, read without checking the signature ([`verify_reply`] does that):
/// what the transparency log's entry for the token is made from.
pub fn token_of(reply: &[u8]) -> Result<(Vec<u8>, SystemTime), VerifyError> {
    let opened = open(reply)?;
    Ok((opened.token_der, opened.tst.gen_time.to_system_time()))
}

/// A granted reply taken apart: the token's DER, its signed data, the
/// `TSTInfo` and that `TSTInfo`'s DER (what the signature covers).
struct Opened {
    token_der: Vec<u8>,
    signed: SignedData,
    tst: TstInfo,
    tst_der: Vec<u8>,
}

fn open(reply: &[u8]) -> Result<Opened, VerifyError> {
    let reply = TimeStampResp::from_der(reply).map_err(|_| VerifyError::Malformed)?;
    if reply.status.status != PkiStatus::Accepted
        && reply.status.status != PkiStatus::GrantedWithMods
    {
        return Err(VerifyError::NotGranted);
    }
    let token = reply.time_stamp_token.ok_or(VerifyError::NotGranted)?;
    let token_der = token.to_der().map_err(|_| VerifyError::Malformed)?;
    let signed = SignedData::from_der(&token.content.to_der().map_err(|_| VerifyError::Malformed)?)
        .map_err(|_| VerifyError::Malformed)?;
    if signed.encap_content_info.econtent_type != ID_CT_TST_INFO {
        return Err(VerifyError::Malformed);
    }
    let tst_der = signed
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or(VerifyError::Malformed)?
        .value()
        .to_vec();
    let tst = TstInfo::from_der(&tst_der).map_err(|_| VerifyError::Malformed)?;
    Ok(Opened {
        token_der,
        signed,
        tst,
        tst_der,
    })
}

/// Verifies `reply` (a DER `TimeStampResp`) as a time-stamp of `sha256`,
/// trusting the certificates in `trusted` (PEM: a root, possibly with the TSA
/// certificate too).
pub fn verify_reply(
    reply: &[u8],
    sha256: &[u8; 32],
    trusted: &[Certificate],
) -> Result<VerifiedToken, VerifyError> {
    let Opened {
        signed,
        tst,
        tst_der,
        ..
    } = open(reply)?;
    if tst.message_imprint.hash_algorithm.oid != HashAlgorithm::Sha256.oid()
        || tst.message_imprint.hashed_message.as_bytes() != sha256
    {
        return Err(VerifyError::WrongImprint);
    }

    let signer = signed
        .signer_infos
        .0
        .iter()
        .next()
        .ok_or(VerifyError::Malformed)?;
    let certificate = signer_certificate(&signed, signer, trusted)?;
    check_signed_attributes(signer, &tst_der, certificate)?;
    check_signature(signer, certificate)?;
    check_tsa_certificate(certificate, tst.gen_time.to_system_time())?;
    let issued_by_trusted = trusted.iter().any(|root| {
        root.tbs_certificate.subject == certificate.tbs_certificate.issuer
            && signed_by(certificate, root)
    });
    if !issued_by_trusted {
        return Err(VerifyError::Untrusted);
    }
    Ok(VerifiedToken {
        gen_time: tst.gen_time.to_system_time(),
        serial: hex::encode(tst.serial_number.as_bytes()),
        tsa: certificate.tbs_certificate.subject.to_string(),
        policy: tst.policy.to_string(),
    })
}

/// The certificate the signer names: embedded in the token, or one of the trusted ones.
fn signer_certificate<'a>(
    signed: &'a SignedData,
    signer: &SignerInfo,
    trusted: &'a [Certificate],
) -> Result<&'a Certificate, VerifyError> {
    let SignerIdentifier::IssuerAndSerialNumber(sid) = &signer.sid else {
        return Err(VerifyError::NoCertificate);
    };
    let embedded = signed
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|choice| match choice {
            cms::cert::CertificateChoices::Certificate(certificate) => Some(certificate),
            _ => None,
        });
    embedded
        .chain(trusted.iter())
        .find(|c| {
            c.tbs_certificate.issuer == sid.issuer
                && c.tbs_certificate.serial_number == sid.serial_number
        })
        .ok_or(VerifyError::NoCertificate)
}

/// The signed attributes (RFC 5652 §11, RFC 5816): the content type is
/// TSTInfo, the message digest is the TSTInfo's, and `signingCertificateV2`
/// binds the signing certificate.
fn check_signed_attributes(
    signer: &SignerInfo,
    tst_der: &[u8],
    certificate: &Certificate,
) -> Result<(), VerifyError> {
    let attributes = signer
        .signed_attrs
        .as_ref()
        .ok_or(VerifyError::Attributes("none"))?;
    let value = |oid| {
        attributes
            .iter()
            .find(|a| a.oid == oid)
            .and_then(|a| a.values.iter().next())
            .and_then(|v| v.to_der().ok())
    };
    let content_type = value(ID_CONTENT_TYPE).ok_or(VerifyError::Attributes("contentType"))?;
    if der::oid::ObjectIdentifier::from_der(&content_type).ok() != Some(ID_CT_TST_INFO) {
        return Err(VerifyError::Attributes("contentType"));
    }
    let digest = value(ID_MESSAGE_DIGEST).ok_or(VerifyError::Attributes("messageDigest"))?;
    let digest =
        OctetString::from_der(&digest).map_err(|_| VerifyError::Attributes("messageDigest"))?;
    if digest.as_bytes() != Sha256::digest(tst_der).as_slice() {
        return Err(VerifyError::Attributes("messageDigest"));
    }
    let binding = value(ID_AA_SIGNING_CERTIFICATE_V2)
        .ok_or(VerifyError::Attributes("signingCertificateV2"))?;
    let binding = SigningCertificateV2::from_der(&binding)
        .map_err(|_| VerifyError::Attributes("signingCertificateV2"))?;
    let certificate_hash =
        Sha256::digest(certificate.to_der().map_err(|_| VerifyError::Malformed)?);
    if !binding
        .certs
        .iter()
        .any(|id| id.cert_hash.as_bytes() == certificate_hash.as_slice())
    {
        return Err(VerifyError::Attributes("signingCertificateV2"));
    }
    Ok(())
}

/// ECDSA P-256 with SHA-256 over the DER of the signed attributes.
fn check_signature(signer: &SignerInfo, certificate: &Certificate) -> Result<(), VerifyError> {
    if signer.signature_algorithm.oid != ECDSA_WITH_SHA256 {
        return Err(VerifyError::BadSignature);
    }
    let attributes = signer
        .signed_attrs
        .as_ref()
        .ok_or(VerifyError::Attributes("none"))?;
    let key = verifying_key(certificate).ok_or(VerifyError::BadSignature)?;
    let signature = DerSignature::from_bytes(signer.signature.as_bytes())
        .map_err(|_| VerifyError::BadSignature)?;
    let message = attributes.to_der().map_err(|_| VerifyError::Malformed)?;
    key.verify(&message, &signature)
        .map_err(|_| VerifyError::BadSignature)
}

/// RFC 3161 §2.3: the TSA certificate's only extended key usage is
/// id-kp-timeStamping, marked critical; and it was valid at `when`.
fn check_tsa_certificate(certificate: &Certificate, when: SystemTime) -> Result<(), VerifyError> {
    let eku = certificate
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == const_oid_eku())
        .ok_or(VerifyError::NotATsaCertificate)?;
    let usages = ExtendedKeyUsage::from_der(eku.extn_value.as_bytes())
        .map_err(|_| VerifyError::NotATsaCertificate)?;
    let time_stamping_only = usages.0.len() == 1
        && usages.0[0] == der::oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
    let validity = &certificate.tbs_certificate.validity;
    let valid_then =
        validity.not_before.to_system_time() <= when && when <= validity.not_after.to_system_time();
    if eku.critical && time_stamping_only && valid_then {
        Ok(())
    } else {
        Err(VerifyError::NotATsaCertificate)
    }
}

fn const_oid_eku() -> der::oid::ObjectIdentifier {
    der::oid::ObjectIdentifier::new_unwrap("2.5.29.37")
}

/// Whether `issuer`'s key made `certificate`'s signature (ECDSA P-256 / SHA-256).
fn signed_by(certificate: &Certificate, issuer: &Certificate) -> bool {
    let Some(key) = verifying_key(issuer) else {
        return false;
    };
    let Ok(tbs) = certificate.tbs_certificate.to_der() else {
        return false;
    };
    let Some(bytes) = certificate.signature.as_bytes() else {
        return false;
    };
    certificate.signature_algorithm.oid == ECDSA_WITH_SHA256
        && DerSignature::from_bytes(bytes)
            .is_ok_and(|signature| key.verify(&tbs, &signature).is_ok())
}

fn verifying_key(certificate: &Certificate) -> Option<VerifyingKey> {
    let spki = &certificate.tbs_certificate.subject_public_key_info;
    VerifyingKey::from_sec1_bytes(spki.subject_public_key.raw_bytes()).ok()
}
