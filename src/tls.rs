//! TLS configuration for both sides (rustls with the `ring` provider), certificate digests and
//! the client-certificate rules of manual 2.4.4. No I/O beyond reading the configured files.
//!
//! - Server: its key and certificate from PEM files; it asks every TLS client for a certificate
//!   and, when any `client_certificate_*` rule is set, admits only a client whose certificate
//!   matches one of them (by SHA1 digest, like the manual). With no rule, any client is admitted.
//! - Client: its own key and certificate (file or string), and, unlike the manual, it verifies
//!   the server: against `server_certificate_file` (the server's own certificate, or a CA whose
//!   chain must also match the host name) or a `server_certificate_digest` pin (SHA1 or
//!   SHA-256). With neither, it refuses unless `verify_server_certificate = 0`.

use crate::hex::hex;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use sha1::Digest as _;

/// Why TLS could not be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A file could not be read or holds no usable PEM item.
    #[error("{what} {path}: {reason}")]
    File {
        /// What the file should hold.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A PEM string (`client_*_string`) is not usable.
    #[error("{what}: {reason}")]
    Pem {
        /// Which option.
        what: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// The configuration asks for something inconsistent.
    #[error("{0}")]
    Config(String),
    /// rustls refused the key or certificates.
    #[error("TLS setup failed: {0}")]
    Rustls(String),
}

/// The crypto provider everything here uses.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The SHA1 digest of a DER certificate, lower-case hex (the manual's digest form).
pub fn sha1_hex(der: &[u8]) -> String {
    hex(&sha1::Sha1::digest(der))
}

/// The SHA-256 digest of a DER certificate, lower-case hex.
pub fn sha256_hex(der: &[u8]) -> String {
    hex(&sha2::Sha256::digest(der))
}

/// Normalises a digest as written by people: hex digits, `:` or spaces between them, any case.
pub fn normalize_digest(d: &str) -> Option<String> {
    let hex: String = d
        .chars()
        .filter(|c| !matches!(c, ':' | ' ' | '-'))
        .collect::<String>()
        .to_ascii_lowercase();
    ((hex.len() == 40 || hex.len() == 64) && hex.chars().all(|c| c.is_ascii_hexdigit()))
        .then_some(hex)
}

/// Every certificate in a PEM file.
///
/// # Errors
/// [`TlsError::File`] when the file cannot be read or holds no certificate.
pub fn load_certs(
    path: &Path,
    what: &'static str,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = std::fs::read(path).map_err(|e| TlsError::File {
        what,
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    certs_from_pem(&bytes).map_err(|reason| TlsError::File {
        what,
        path: path.to_owned(),
        reason,
    })
}

fn certs_from_pem(bytes: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not PEM: {e}"))?;
    if certs.is_empty() {
        return Err("no PEM certificate in it".into());
    }
    Ok(certs)
}

/// The private key in a PEM file.
///
/// # Errors
/// [`TlsError::File`] when the file cannot be read or holds no key.
pub fn load_key(path: &Path, what: &'static str) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = std::fs::read(path).map_err(|e| TlsError::File {
        what,
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| TlsError::File {
        what,
        path: path.to_owned(),
        reason: format!("no usable PEM private key: {e}"),
    })
}

/// The client-certificate rules of one listener (manual 2.4.4).
#[derive(Debug, Clone, Default)]
pub struct ClientCertRules {
    /// SHA1 digests of admitted certificates; empty with `any`.
    digests: BTreeSet<String>,
    /// No rule is configured: any client is admitted.
    any: bool,
}

impl ClientCertRules {
    /// Reads every rule: `client_certificate_file` (concatenated PEM), `client_certificate_dir`
    /// (its `.cert` files), `client_certificate_digest` (already parsed) and
    /// `client_certificate_digest_file` (one digest per line; `#` comments allowed).
    ///
    /// # Errors
    /// A file or folder that cannot be read, or a bad digest line.
    pub fn load(
        file: Option<&Path>,
        dir: Option<&Path>,
        digests: &[String],
        digest_file: Option<&Path>,
    ) -> Result<Self, TlsError> {
        let mut all: BTreeSet<String> = digests.iter().cloned().collect();
        if let Some(f) = file {
            for c in load_certs(f, "client_certificate_file")? {
                all.insert(sha1_hex(&c));
            }
        }
        if let Some(d) = dir {
            let entries = std::fs::read_dir(d).map_err(|e| TlsError::File {
                what: "client_certificate_dir",
                path: d.to_owned(),
                reason: e.to_string(),
            })?;
            for e in entries.flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "cert") {
                    for c in load_certs(&p, "client certificate")? {
                        all.insert(sha1_hex(&c));
                    }
                }
            }
        }
        if let Some(f) = digest_file {
            let text = std::fs::read_to_string(f).map_err(|e| TlsError::File {
                what: "client_certificate_digest_file",
                path: f.to_owned(),
                reason: e.to_string(),
            })?;
            for (i, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                    continue;
                }
                let d = normalize_digest(line)
                    .filter(|d| d.len() == 40)
                    .ok_or_else(|| TlsError::File {
                        what: "client_certificate_digest_file",
                        path: f.to_owned(),
                        reason: format!("line {}: {line:?} is not a SHA1 digest", i + 1),
                    })?;
                all.insert(d);
            }
        }
        let any = file.is_none() && dir.is_none() && digests.is_empty() && digest_file.is_none();
        Ok(Self { digests: all, any })
    }

    /// True when no rule is configured.
    pub fn admits_any(&self) -> bool {
        self.any
    }

    /// The digests of every admitted certificate.
    pub fn digests(&self) -> impl Iterator<Item = &str> {
        self.digests.iter().map(String::as_str)
    }

    /// Checks the client's certificate: `Ok(Some(digest))` for an admitted certificate,
    /// `Ok(None)` without one when any client is admitted.
    ///
    /// # Errors
    /// The client is not admitted (with the reason).
    pub fn check(&self, cert: Option<&CertificateDer<'_>>) -> Result<Option<String>, String> {
        match cert {
            Some(c) => {
                let d = sha1_hex(c);
                if self.any || self.digests.contains(&d) {
                    Ok(Some(d))
                } else {
                    Err(format!(
                        "client certificate {d} matches no client certificate rule"
                    ))
                }
            }
            None if self.any => Ok(None),
            None => Err("the server requires a client certificate".into()),
        }
    }
}

/// Handshake signature checks with the provider's algorithms, shared by both verifiers.
#[derive(Debug)]
struct SignatureChecks(Arc<CryptoProvider>);

impl SignatureChecks {
    fn tls12(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn tls13(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Asks for client certificates and accepts any whose handshake signature checks out; the
/// listener applies [`ClientCertRules`] after the handshake, so a refused client gets a clear
/// error frame instead of a bare TLS alert.
#[derive(Debug)]
struct AnyClientCert {
    signatures: SignatureChecks,
}

impl ClientCertVerifier for AnyClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.signatures.tls12(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.signatures.tls13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.signatures.schemes()
    }
}

/// The rustls server configuration of a listener.
///
/// # Errors
/// Missing or unusable key or certificate files.
pub fn server_config(
    key_file: &Path,
    cert_file: &Path,
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let certs = load_certs(cert_file, "server_certificate_file")?;
    let key = load_key(key_file, "server_private_key_file")?;
    let provider = provider();
    let config = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Rustls(e.to_string()))?
        .with_client_cert_verifier(Arc::new(AnyClientCert {
            signatures: SignatureChecks(provider),
        }))
        .with_single_cert(certs, key)
        .map_err(|e| {
            TlsError::Rustls(format!(
                "server_private_key_file does not fit server_certificate_file, or is unusable: {e}"
            ))
        })?;
    Ok(Arc::new(config))
}

/// How the client decides to trust the server.
#[derive(Debug, Clone, Default)]
pub struct ServerTrust {
    /// Certificates from `server_certificate_file`: the server's own, or CAs.
    pub certificates: Vec<CertificateDer<'static>>,
    /// `server_certificate_digest` pins (SHA1 or SHA-256 hex).
    pub digests: Vec<String>,
    /// `verify_server_certificate = 0`: accept any server (an explicit opt-out).
    pub accept_any: bool,
}

#[derive(Debug)]
struct ServerVerifier {
    trust: ServerTrust,
    /// Chain verification against `trust.certificates` as roots, when they can serve as such.
    webpki: Option<Arc<rustls::client::WebPkiServerVerifier>>,
    signatures: SignatureChecks,
}

impl ServerCertVerifier for ServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.trust.accept_any {
            return Ok(ServerCertVerified::assertion());
        }
        let (sha1, sha256) = (sha1_hex(end_entity), sha256_hex(end_entity));
        if self
            .trust
            .digests
            .iter()
            .any(|d| *d == sha1 || *d == sha256)
        {
            return Ok(ServerCertVerified::assertion());
        }
        if self
            .trust
            .certificates
            .iter()
            .any(|c| c.as_ref() == end_entity.as_ref())
        {
            return Ok(ServerCertVerified::assertion());
        }
        if let Some(v) = &self.webpki {
            return v.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            );
        }
        Err(rustls::Error::General(format!(
            "the server's certificate (SHA1 {sha1}) is not trusted: it matches neither server_certificate_file nor server_certificate_digest"
        )))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.signatures.tls12(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.signatures.tls13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.signatures.schemes()
    }
}

/// The client's own certificate and key, from PEM files or strings.
#[derive(Debug, Clone, Default)]
pub struct ClientIdentity {
    /// Certificate chain.
    pub certs: Vec<CertificateDer<'static>>,
    /// Private key (None: no client certificate is presented).
    pub key: Option<Arc<PrivateKeyDer<'static>>>,
}

impl ClientIdentity {
    /// From `client_certificate_*` and `client_private_key_*` (files take precedence).
    ///
    /// # Errors
    /// Unreadable or unusable PEM, or a certificate without a key (or the reverse).
    pub fn load(
        cert_file: Option<&Path>,
        key_file: Option<&Path>,
        cert_string: Option<&str>,
        key_string: Option<&str>,
    ) -> Result<Self, TlsError> {
        let certs = match (cert_file, cert_string) {
            (Some(f), _) => Some(load_certs(f, "client_certificate_file")?),
            (None, Some(s)) => {
                Some(
                    certs_from_pem(s.as_bytes()).map_err(|reason| TlsError::Pem {
                        what: "client_certificate_string",
                        reason,
                    })?,
                )
            }
            (None, None) => None,
        };
        let key = match (key_file, key_string) {
            (Some(f), _) => Some(load_key(f, "client_private_key_file")?),
            (None, Some(s)) => {
                Some(
                    PrivateKeyDer::from_pem_slice(s.as_bytes()).map_err(|e| TlsError::Pem {
                        what: "client_private_key_string",
                        reason: e.to_string(),
                    })?,
                )
            }
            (None, None) => None,
        };
        match (certs, key) {
            (Some(certs), Some(key)) => Ok(Self {
                certs,
                key: Some(Arc::new(key)),
            }),
            (None, None) => Ok(Self::default()),
            (Some(_), None) => Err(TlsError::Config(
                "a client certificate is set but no client private key".into(),
            )),
            (None, Some(_)) => Err(TlsError::Config(
                "a client private key is set but no client certificate".into(),
            )),
        }
    }
}

/// The rustls client configuration for one server.
///
/// # Errors
/// No way to verify the server (and no explicit opt-out), or an unusable identity.
pub fn client_config(
    trust: &ServerTrust,
    identity: &ClientIdentity,
) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    if trust.certificates.is_empty() && trust.digests.is_empty() && !trust.accept_any {
        return Err(TlsError::Config(
            "using_ssl is set but the client has no way to verify the server: set server_certificate_file or server_certificate_digest (or verify_server_certificate = 0 to accept any server, which lets anyone in the middle read everything)".into(),
        ));
    }
    let provider = provider();
    let webpki = {
        let mut roots = rustls::RootCertStore::empty();
        let (added, _) = roots.add_parsable_certificates(trust.certificates.iter().cloned());
        if added > 0 {
            rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots),
                provider.clone(),
            )
            .build()
            .ok()
        } else {
            None
        }
    };
    let verifier = Arc::new(ServerVerifier {
        trust: trust.clone(),
        webpki,
        signatures: SignatureChecks(provider.clone()),
    });
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Rustls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let config = match &identity.key {
        Some(key) => builder
            .with_client_auth_cert(identity.certs.clone(), key.as_ref().clone_key())
            .map_err(|e| {
                TlsError::Rustls(format!(
                    "client key does not fit the client certificate: {e}"
                ))
            })?,
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_normalised() {
        let d = "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd";
        assert_eq!(
            normalize_digest(d).as_deref(),
            Some("aabbccddeeff00112233445566778899aabbccdd")
        );
        assert_eq!(normalize_digest("abc"), None);
        assert_eq!(sha1_hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }

    #[test]
    fn rules_with_nothing_configured_admit_anyone() {
        let r = ClientCertRules::load(None, None, &[], None).unwrap();
        assert!(r.admits_any());
        assert_eq!(r.check(None), Ok(None));
        let r = ClientCertRules::load(
            None,
            None,
            &["a9993e364706816aba3e25717850c26c9cd0d89d".into()],
            None,
        )
        .unwrap();
        assert!(r.check(None).is_err());
        let cert = CertificateDer::from(b"abc".to_vec());
        assert!(r.check(Some(&cert)).is_ok());
        let other = CertificateDer::from(b"abd".to_vec());
        assert!(r.check(Some(&other)).is_err());
    }
}
