//! A signing key's material: the RSA key pair, its self-signed certificate
//! (Auth0 publishes one per key: `cert`, `pkcs7`, `x5c`, `x5t`), and the
//! private half sealed with the server's secrets key.

use aws_lc_rs::digest::{SHA1_FOR_LEGACY_USE_ONLY, digest};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD};
use tern_core::model::{SigningKey, SigningKeyState, StoredPrivateKey};

use super::KeyError;
use crate::secrets::SecretKey;

/// How long a key's certificate says it is valid. Nothing checks it (JWT
/// verification uses the bare key); Auth0's certificates also run for years.
const CERT_VALIDITY_DAYS: i64 = 3650;

/// A new key in clear, before it is sealed and stored.
pub struct NewKey {
    /// Key id.
    pub kid: String,
    /// PKCS#8 PEM.
    pub private_pem: String,
    /// Self-signed certificate, PEM.
    pub cert_pem: String,
}

/// Generate a 2048-bit RSA key with a random `kid` and a certificate whose
/// subject is `common_name` (the tenant's public host). CPU-bound: call it
/// on the blocking pool.
pub fn generate(common_name: &str) -> Result<NewKey, KeyError> {
    let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|e| KeyError(e.to_string()))?;
    let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair)
        .map_err(|e| KeyError(e.to_string()))?;
    let private_pem = pem("PRIVATE KEY", der.as_ref(), "\n") + "\n";
    let kid_bytes: [u8; 16] = rand::random();
    Ok(NewKey {
        kid: URL_SAFE_NO_PAD.encode(kid_bytes),
        cert_pem: self_signed_cert(&private_pem, common_name)?,
        private_pem,
    })
}

/// A self-signed X.509 certificate for a PKCS#8 PEM RSA key.
pub fn self_signed_cert(private_pem: &str, common_name: &str) -> Result<String, KeyError> {
    let der = pem_body(private_pem, "PRIVATE KEY")
        .ok_or_else(|| KeyError("the private key is not a PKCS#8 PEM".into()))?;
    let pair = rcgen::KeyPair::try_from(der.as_slice()).map_err(|e| KeyError(e.to_string()))?;
    if pair.algorithm() != &rcgen::PKCS_RSA_SHA256 {
        return Err(KeyError("the private key is not an RSA key".into()));
    }
    let mut params = rcgen::CertificateParams::default();
    let mut name = rcgen::DistinguishedName::new();
    name.push(rcgen::DnType::CommonName, common_name);
    params.distinguished_name = name;
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::minutes(5);
    params.not_after = now + time::Duration::days(CERT_VALIDITY_DAYS);
    let mut serial: [u8; 16] = rand::random();
    serial[0] &= 0x7f; // a positive INTEGER
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
    let cert = params
        .self_signed(&pair)
        .map_err(|e| KeyError(e.to_string()))?;
    Ok(pem("CERTIFICATE", cert.der().as_ref(), "\r\n"))
}

/// PEM armour with the given line ending. Certificates use CRLF and no
/// final line break, as Auth0 answers them.
fn pem(label: &str, der: &[u8], eol: &str) -> String {
    let b64 = B64.encode(der);
    let mut out = format!("-----BEGIN {label}-----{eol}");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push_str(eol);
    }
    out.push_str(&format!("-----END {label}-----"));
    out
}

/// The DER inside a PEM block with this label.
pub fn pem_body(text: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let stop = start + text[start..].find(&end)?;
    let b64: String = text[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    B64.decode(b64).ok()
}

/// What Auth0 shows of a certificate: `fingerprint` (SHA-1, colon
/// separated), `thumbprint` (the same hex without colons), the JWKS `x5t`
/// (SHA-1, base64url) and `x5c` entry (base64 DER), and `pkcs7`.
pub struct CertInfo {
    /// `AA:BB:…`.
    pub fingerprint: String,
    /// `AABB…`.
    pub thumbprint: String,
    /// base64url SHA-1.
    pub x5t: String,
    /// base64 DER.
    pub x5c: String,
    /// The certificate in a PKCS#7 (certificates-only SignedData) PEM.
    pub pkcs7: String,
}

impl CertInfo {
    /// Read from a certificate PEM.
    pub fn of(cert_pem: &str) -> Option<Self> {
        let der = pem_body(cert_pem, "CERTIFICATE")?;
        let sha1 = digest(&SHA1_FOR_LEGACY_USE_ONLY, &der);
        let hex: Vec<String> = sha1.as_ref().iter().map(|b| format!("{b:02X}")).collect();
        Some(Self {
            fingerprint: hex.join(":"),
            thumbprint: hex.concat(),
            x5t: URL_SAFE_NO_PAD.encode(sha1.as_ref()),
            x5c: B64.encode(&der),
            pkcs7: pem("PKCS7", &pkcs7_certs_only(&der), "\r\n"),
        })
    }
}

/// DER TLV.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend_from_slice(&bytes);
    }
    out.extend_from_slice(content);
    out
}

/// RFC 2315 ContentInfo { signedData, SignedData { version 1, no digest
/// algorithms, data content absent, certificates [0] { cert }, no signers } }:
/// how a certificate travels as `.p7b`.
fn pkcs7_certs_only(cert_der: &[u8]) -> Vec<u8> {
    const SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
    const DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];
    let signed_data = [
        tlv(0x02, &[1]),             // version
        tlv(0x31, &[]),              // digestAlgorithms
        tlv(0x30, &tlv(0x06, DATA)), // contentInfo
        tlv(0xa0, cert_der),         // certificates [0] IMPLICIT
        tlv(0x31, &[]),              // signerInfos
    ]
    .concat();
    tlv(
        0x30,
        &[tlv(0x06, SIGNED_DATA), tlv(0xa0, &tlv(0x30, &signed_data))].concat(),
    )
}

/// What a sealed key is bound to: sealed for one tenant and kid, it opens
/// for no other (a row copied between tenants or keys is useless).
fn aad(tenant: &str, kid: &str) -> String {
    format!("tern-signing-key\0{tenant}\0{kid}")
}

/// A key ready to store: sealed, with its certificate.
pub fn sealed(
    secrets: &SecretKey,
    tenant: &str,
    key: &NewKey,
    state: SigningKeyState,
) -> Result<SigningKey, KeyError> {
    let now = tern_core::clock::now_iso();
    Ok(SigningKey {
        kid: key.kid.clone(),
        private_key: StoredPrivateKey::Sealed(
            secrets
                .seal(&aad(tenant, &key.kid), &key.private_pem)
                .map_err(|e| KeyError(e.to_string()))?,
        ),
        cert_pem: key.cert_pem.clone(),
        state,
        current_since: (state == SigningKeyState::Current).then(|| now.clone()),
        created_at: now,
        current_until: None,
        revoked_at: None,
    })
}

/// The PEM of a stored key, opened. `Ok(None)` for an erased (revoked) key.
pub fn open(
    secrets: &SecretKey,
    tenant: &str,
    key: &SigningKey,
) -> Result<Option<String>, KeyError> {
    match &key.private_key {
        StoredPrivateKey::Sealed(v) => secrets
            .open(&aad(tenant, &key.kid), v)
            .map(Some)
            .ok_or_else(|| {
                KeyError(format!(
                    "signing key {} cannot be decrypted with this server's secrets key; instances sharing a database must share secrets_key (TERN_SECRETS_KEY)",
                    key.kid
                ))
            }),
        StoredPrivateKey::LegacyClear(pem) => Ok(Some(pem.clone())),
        StoredPrivateKey::Erased => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sealed_keys_open_only_for_their_tenant_and_kid() {
        let secrets = SecretKey::from_bytes(&[9u8; 32]).unwrap();
        let new = generate("tern.example").unwrap();
        let key = sealed(&secrets, "t1", &new, SigningKeyState::Next).unwrap();
        let StoredPrivateKey::Sealed(value) = &key.private_key else {
            panic!("not sealed")
        };
        assert!(!value.contains("PRIVATE KEY"));
        assert_eq!(
            open(&secrets, "t1", &key).unwrap().unwrap(),
            new.private_pem
        );
        assert!(open(&secrets, "t2", &key).is_err());
        let mut moved = key.clone();
        moved.kid = "other".into();
        assert!(open(&secrets, "t1", &moved).is_err());
        let other = SecretKey::from_bytes(&[1u8; 32]).unwrap();
        let err = open(&other, "t1", &key).unwrap_err().0;
        assert!(err.contains("secrets_key"), "{err}");
    }

    #[test]
    fn der_lengths() {
        assert_eq!(tlv(0x04, &[7; 3]), vec![0x04, 3, 7, 7, 7]);
        let long = tlv(0x04, &[0; 300]);
        assert_eq!(&long[..4], &[0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(long.len(), 304);
    }
}
