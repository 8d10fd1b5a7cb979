//! TLS to backends (`data_sources.NAME.tls` and `tls_ca`): the rustls client
//! configuration of a data source and how it checks the server's certificate.
//!
//! Without `tls_ca` the certificate is not checked, like MySQL's
//! `--ssl-mode=PREFERRED`/`REQUIRED`: the link is encrypted against eavesdroppers
//! but not against an active impostor. With `tls_ca` the chain must lead to
//! that CA, and a backend addressed by a DNS name must hold a certificate for
//! that name (MySQL's VERIFY_IDENTITY); one addressed by an IP literal gets the
//! chain check only (VERIFY_CA), since database certificates seldom name
//! addresses.

use std::path::Path;
use std::sync::Arc;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name};
use tokio_rustls::rustls::crypto::{self, WebPkiSupportedAlgorithms};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::server::ParsedCertificate;
use tokio_rustls::rustls::{self, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_rustls::TlsConnector;

/// How a connection to a backend uses TLS (`data_sources.NAME.tls`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain TCP, even when the server offers TLS.
    Disabled,
    /// TLS when the server offers it, else plain TCP (with `tls_ca` too:
    /// only `Required` refuses a server that offers no TLS).
    #[default]
    Preferred,
    /// TLS or no connection.
    Required,
}

/// The TLS settings of one data source's connections, built once.
#[derive(Clone)]
pub struct BackendTls {
    pub mode: TlsMode,
    /// Absent when `mode` is disabled.
    connector: Option<TlsConnector>,
}

impl Default for BackendTls {
    fn default() -> Self {
        BackendTls::disabled()
    }
}

impl BackendTls {
    /// Plain TCP.
    pub fn disabled() -> BackendTls {
        BackendTls {
            mode: TlsMode::Disabled,
            connector: None,
        }
    }

    /// The settings for `mode`, verifying with the CA in the PEM file `ca`
    /// when given. The message names the file and what is wrong with it.
    pub fn new(mode: TlsMode, ca: Option<&Path>) -> Result<BackendTls, String> {
        if mode == TlsMode::Disabled {
            return Ok(BackendTls::disabled());
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = ca.map(read_roots).transpose()?;
        let verifier = Arc::new(BackendVerifier {
            roots,
            algorithms: provider.signature_verification_algorithms,
        });
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(BackendTls {
            mode,
            connector: Some(TlsConnector::from(Arc::new(config))),
        })
    }

    /// What starts TLS, unless TLS is disabled.
    pub fn connector(&self) -> Option<&TlsConnector> {
        self.connector.as_ref()
    }
}

/// The name the certificate is checked against: the host of the URL, a DNS
/// name or an IP literal.
pub fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    ServerName::try_from(host.to_string())
        .map_err(|_| format!("'{host}' is neither a DNS name nor an IP address"))
}

/// The certificates of the PEM file `path`, as trust anchors.
fn read_roots(path: &Path) -> Result<RootCertStore, String> {
    let pem = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let certs = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{} holds no PEM certificate", path.display()));
    }
    let mut roots = RootCertStore::empty();
    for cert in certs {
        roots
            .add(cert)
            .map_err(|e| format!("{}: not a usable CA certificate: {e}", path.display()))?;
    }
    Ok(roots)
}

/// Checks a backend's certificate as the module comment says; the
/// handshake signatures are always checked, with the provider's algorithms.
#[derive(Debug)]
struct BackendVerifier {
    /// The CA of `tls_ca`; none: the certificate is not checked.
    roots: Option<RootCertStore>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for BackendVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(roots) = &self.roots else {
            return Ok(ServerCertVerified::assertion());
        };
        let cert = ParsedCertificate::try_from(end_entity)?;
        verify_server_cert_signed_by_trust_anchor(
            &cert,
            roots,
            intermediates,
            now,
            self.algorithms.all,
        )?;
        if matches!(server_name, ServerName::DnsName(_)) {
            verify_server_name(&cert, server_name)?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};

    /// A CA and a certificate it signed for `names`: (CA, leaf), DER.
    fn ca_and_leaf(names: &[&str]) -> (CertificateDer<'static>, CertificateDer<'static>) {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let leaf = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &ca_cert, &ca_key)
            .unwrap();
        (ca_cert.der().clone(), leaf.der().clone())
    }

    fn verifier(ca: Option<CertificateDer<'static>>) -> BackendVerifier {
        let roots = ca.map(|ca| {
            let mut roots = RootCertStore::empty();
            roots.add(ca).unwrap();
            roots
        });
        BackendVerifier {
            roots,
            algorithms: rustls::crypto::ring::default_provider().signature_verification_algorithms,
        }
    }

    fn check(v: &BackendVerifier, leaf: &CertificateDer<'_>, host: &str) -> bool {
        v.verify_server_cert(leaf, &[], &server_name(host).unwrap(), &[], UnixTime::now())
            .is_ok()
    }

    #[test]
    fn names_are_checked_for_dns_hosts_and_not_for_addresses() {
        let (ca, leaf) = ca_and_leaf(&["db0.internal"]);
        let v = verifier(Some(ca));
        assert!(check(&v, &leaf, "db0.internal"));
        assert!(!check(&v, &leaf, "db1.internal"));
        assert!(check(&v, &leaf, "10.0.0.10"));
        assert!(check(&v, &leaf, "::1"));
    }

    #[test]
    fn another_ca_is_refused_and_no_ca_checks_nothing() {
        let (_, leaf) = ca_and_leaf(&["db0.internal"]);
        let (other_ca, _) = ca_and_leaf(&["x"]);
        assert!(!check(
            &verifier(Some(other_ca.clone())),
            &leaf,
            "db0.internal"
        ));
        assert!(!check(&verifier(Some(other_ca)), &leaf, "10.0.0.10"));
        assert!(check(&verifier(None), &leaf, "anything.else"));
    }

    #[test]
    fn ca_files_are_read_with_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let e = BackendTls::new(TlsMode::Required, Some(&missing))
            .err()
            .unwrap();
        assert!(
            e.starts_with("cannot read ") && e.contains("missing.pem"),
            "{e}"
        );
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = BackendTls::new(TlsMode::Preferred, Some(&empty))
            .err()
            .unwrap();
        assert!(e.ends_with("holds no PEM certificate"), "{e}");
        assert!(BackendTls::new(TlsMode::Disabled, Some(&missing))
            .unwrap()
            .connector()
            .is_none());
        assert!(BackendTls::new(TlsMode::Preferred, None)
            .unwrap()
            .connector()
            .is_some());
    }
}
