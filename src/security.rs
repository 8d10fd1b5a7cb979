//! What the front end needs to keep passwords safe on the wire: the TLS
//! acceptor (`server.tls_cert`, `tls_key`, re-read on every reload so renewed
//! files are picked up) and the RSA key pair of caching_sha2_password's full
//! authentication over plain TCP (`server.rsa_private_key`, or one generated
//! at start-up and kept across reloads).

use crate::config::ServerConfig;
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
use rsa::{Oaep, RsaPrivateKey, RsaPublicKey};
use std::path::Path;
use std::sync::Arc;
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;

/// Bits of a generated RSA key, as MySQL generates.
const GENERATED_RSA_BITS: usize = 2048;

/// The TLS and RSA material of one generation.
pub struct Security {
    /// Offered to clients when set.
    pub tls: Option<TlsAcceptor>,
    pub rsa: Arc<RsaKey>,
}

/// The RSA key pair of caching_sha2_password.
pub struct RsaKey {
    private: RsaPrivateKey,
    /// The public key as PEM (SubjectPublicKeyInfo), sent to clients that ask.
    pub public_pem: String,
    /// Whether it was generated (kept across reloads) rather than read from a file.
    generated: bool,
}

impl RsaKey {
    fn new(private: RsaPrivateKey, generated: bool) -> Result<RsaKey, String> {
        let public_pem = RsaPublicKey::from(&private)
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| format!("cannot encode the RSA public key: {e}"))?;
        Ok(RsaKey {
            private,
            public_pem,
            generated,
        })
    }

    /// Size of a ciphertext in bytes.
    pub fn size(&self) -> usize {
        rsa::traits::PublicKeyParts::size(&self.private)
    }

    /// Decrypts what a client encrypted with the public key (RSA-OAEP with
    /// SHA-1, as MySQL clients pad).
    pub fn decrypt(&self, ciphertext: &[u8]) -> Option<Vec<u8>> {
        self.private
            .decrypt(Oaep::new::<sha1::Sha1>(), ciphertext)
            .ok()
    }

    /// Encrypts as a client would (tests).
    pub fn encrypt_as_client(&self, plaintext: &[u8]) -> Option<Vec<u8>> {
        let public = RsaPublicKey::from(&self.private);
        public
            .encrypt(&mut rand08(), Oaep::new::<sha1::Sha1>(), plaintext)
            .ok()
    }
}

/// The RNG type the rsa crate takes.
fn rand08() -> rsa::rand_core::OsRng {
    rsa::rand_core::OsRng
}

impl Security {
    /// Reads the TLS files and the RSA key the server section names. A
    /// generated RSA key of `previous` is kept; otherwise one is generated.
    pub fn load(server: &ServerConfig, previous: Option<&Security>) -> Result<Security, String> {
        let tls = match (&server.tls_cert, &server.tls_key) {
            (Some(cert), Some(key)) => Some(tls_acceptor(cert, key)?),
            _ => None,
        };
        if server.require_secure_transport && tls.is_none() {
            return Err(
                "server.require_secure_transport: needs server.tls_cert and server.tls_key"
                    .to_string(),
            );
        }
        let rsa = match (&server.rsa_private_key, previous) {
            (Some(path), _) => Arc::new(read_rsa_key(path)?),
            (None, Some(previous)) if previous.rsa.generated => previous.rsa.clone(),
            (None, _) => {
                let private = RsaPrivateKey::new(&mut rand08(), GENERATED_RSA_BITS)
                    .map_err(|e| format!("cannot generate an RSA key: {e}"))?;
                Arc::new(RsaKey::new(private, true)?)
            }
        };
        Ok(Security { tls, rsa })
    }
}

fn read_rsa_key(path: &Path) -> Result<RsaKey, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "server.rsa_private_key: cannot read {}: {e}",
            path.display()
        )
    })?;
    let private = RsaPrivateKey::from_pkcs8_pem(&text)
        .or_else(|_| rsa::pkcs1::DecodeRsaPrivateKey::from_pkcs1_pem(&text))
        .map_err(|e| {
            format!(
                "server.rsa_private_key: {} is not a PEM RSA private key (PKCS#8 or PKCS#1): {e}",
                path.display()
            )
        })?;
    RsaKey::new(private, false)
}

fn tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, String> {
    let read = |key_path: &str, path: &Path| {
        std::fs::read(path)
            .map_err(|e| format!("server.{key_path}: cannot read {}: {e}", path.display()))
    };
    let cert_pem = read("tls_cert", cert)?;
    let certs = rustls_pemfile::certs(&mut cert_pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("server.tls_cert: {}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "server.tls_cert: {} holds no PEM certificate",
            cert.display()
        ));
    }
    let key_pem = read("tls_key", key)?;
    let private = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .map_err(|e| format!("server.tls_key: {}: {e}", key.display()))?
        .ok_or_else(|| format!("server.tls_key: {} holds no PEM private key", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("server.tls_cert: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, private)
        .map_err(|e| format!("server.tls_key: does not fit server.tls_cert: {e}"))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
