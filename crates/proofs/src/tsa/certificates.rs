//! The TSA's certificate chain: a self-signed root and the TSA certificate it
//! issues, whose only extended key usage is id-kp-timeStamping, marked
//! critical (RFC 3161 §2.3). The root's private key signs exactly that one
//! certificate and is then discarded, so it can never vouch for another key.

use std::str::FromStr;
use std::time::Duration;

use der::EncodePem;
use der::oid::ObjectIdentifier;
use der::pem::LineEnding;
use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use x509_cert::Certificate;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::ext::pkix::ExtendedKeyUsage;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::Validity;

use super::TsaError;

/// id-kp-timeStamping (RFC 5280 §4.2.1.12).
const ID_KP_TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");

const ROOT_LIFETIME: Duration = Duration::from_secs(30 * 365 * 24 * 60 * 60);
const TSA_LIFETIME: Duration = Duration::from_secs(20 * 365 * 24 * 60 * 60);

/// A new TSA key with its certificate and the root that issued it.
pub struct IssuedChain {
    pub key: SigningKey,
    pub certificate: Certificate,
    pub root: Certificate,
}

/// Generates a root and a TSA key and certificate for the service `name`
/// (used in both subjects' common names).
pub fn issue_chain(name: &str) -> Result<IssuedChain, TsaError> {
    let fail = |what: &str, error: &dyn std::fmt::Display| {
        TsaError::Certificate(format!("{what}: {error}"))
    };
    let root_key = SigningKey::random(&mut rand_core::OsRng);
    let key = SigningKey::random(&mut rand_core::OsRng);
    let root_name = distinguished_name(&format!("{name} TSA Root"))?;
    let tsa_name = distinguished_name(&format!("{name} Time-Stamping Authority"))?;

    let root_spki = public_key_info(&root_key)?;
    let root = CertificateBuilder::new(
        Profile::Root,
        random_serial()?,
        Validity::from_now(ROOT_LIFETIME)?,
        root_name.clone(),
        root_spki,
        &root_key,
    )
    .map_err(|e| fail("root certificate", &e))?
    .build::<DerSignature>()
    .map_err(|e| fail("root certificate", &e))?;

    let mut builder = CertificateBuilder::new(
        Profile::Leaf {
            issuer: root_name,
            enable_key_agreement: false,
            enable_key_encipherment: false,
        },
        random_serial()?,
        Validity::from_now(TSA_LIFETIME)?,
        tsa_name,
        public_key_info(&key)?,
        &root_key,
    )
    .map_err(|e| fail("TSA certificate", &e))?;
    // Critical, because it is the only purpose (x509-cert marks it so unless anyExtendedKeyUsage is present).
    builder
        .add_extension(&ExtendedKeyUsage(vec![ID_KP_TIME_STAMPING]))
        .map_err(|e| fail("TSA certificate", &e))?;
    let certificate = builder
        .build::<DerSignature>()
        .map_err(|e| fail("TSA certificate", &e))?;
    Ok(IssuedChain {
        key,
        certificate,
        root,
    })
}

impl IssuedChain {
    /// The key as PKCS #8 PEM, and the chain (TSA certificate, then root) as PEM.
    pub fn to_pem(&self) -> Result<(String, String), TsaError> {
        let key = self
            .key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| TsaError::Certificate(format!("key: {e}")))?;
        let chain = [&self.certificate, &self.root]
            .iter()
            .map(|certificate| certificate.to_pem(LineEnding::LF))
            .collect::<Result<String, _>>()?;
        Ok((key.to_string(), chain))
    }
}

/// An authority from the PEM that [`IssuedChain::to_pem`] writes: a PKCS #8
/// key and a chain whose first certificate is the key's.
pub fn authority_from_pem(
    key_pem: &str,
    chain_pem: &str,
    policy: ObjectIdentifier,
) -> Result<super::Authority, TsaError> {
    let key = SigningKey::from_pkcs8_pem(key_pem)
        .map_err(|e| TsaError::Certificate(format!("key: {e}")))?;
    let certificate = Certificate::load_pem_chain(chain_pem.as_bytes())?
        .into_iter()
        .next()
        .ok_or_else(|| TsaError::Certificate("the chain holds no certificate".into()))?;
    super::Authority::new(key, certificate, policy)
}

fn distinguished_name(common_name: &str) -> Result<Name, TsaError> {
    // RFC 4514 string form: escape the characters it reserves.
    let escaped: String = common_name
        .chars()
        .flat_map(|c| {
            let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=');
            special
                .then_some('\\')
                .into_iter()
                .chain(std::iter::once(c))
        })
        .collect();
    Name::from_str(&format!("CN={escaped},O=SecureStamp")).map_err(TsaError::from)
}

fn public_key_info(key: &SigningKey) -> Result<SubjectPublicKeyInfoOwned, TsaError> {
    let der = key
        .verifying_key()
        .to_public_key_der()
        .map_err(|e| TsaError::Certificate(format!("public key: {e}")))?;
    SubjectPublicKeyInfoOwned::try_from(der.as_bytes())
        .map_err(|e| TsaError::Certificate(format!("public key: {e}")))
}

/// A positive 127-bit serial number.
fn random_serial() -> Result<SerialNumber, TsaError> {
    let mut bytes: [u8; 16] = rand::random();
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;
    SerialNumber::new(&bytes).map_err(TsaError::from)
}
