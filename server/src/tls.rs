//! HTTPS: a certificate given (`--cert`, `--key`), or a local certificate authority made at
//! start, mkcert-style (`--tls`), with rustls (no OpenSSL).
//!
//! Microsoft's JavaScript Graph client attaches the token (and `client-request-id`) only to
//! `https://` URLs and follows only `https://` next links; Kiota-based SDKs refuse a token over
//! `http://` outside localhost. A local CA lets them all trust the server by naming one file
//! (`NODE_EXTRA_CA_CERTS`, `SSL_CERT_FILE`, `restore-delta conform --ca-cert`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The names the local certificate is made for.
pub const LOCAL_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// The files of a local CA and its leaf, in one directory.
#[derive(Debug, Clone)]
pub struct LocalCa {
    /// The CA's certificate (what clients are told to trust).
    pub ca: PathBuf,
    /// The leaf certificate the server presents (its chain: leaf, then CA).
    pub cert: PathBuf,
    /// The leaf's private key.
    pub key: PathBuf,
    /// Whether they were made now (else reused).
    pub made: bool,
}

/// A server configuration from a PEM certificate chain and a PEM private key.
pub fn config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, String> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("--cert {}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("--cert {}: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!("--cert {}: no certificate in it", cert.display()));
    }
    let key =
        PrivateKeyDer::from_pem_file(key).map_err(|e| format!("--key {}: {e}", key.display()))?;
    // ring, not aws-lc-rs: a pure-Rust-and-asm build with no CMake step. rustls 0.23.48 marks
    // ring's provider deprecated for lacking post-quantum key exchange, which a local test
    // server does not need.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("the certificate and key do not make a TLS configuration: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The local CA in `dir`: reused when its files are there, else made (a CA, and a leaf for
/// `localhost`, `127.0.0.1` and `::1` signed by it; keys readable by the owner only).
pub fn local_ca(dir: &Path) -> Result<LocalCa, String> {
    let files = LocalCa {
        ca: dir.join("ca.pem"),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
        made: false,
    };
    if files.ca.exists() && files.cert.exists() && files.key.exists() {
        return Ok(files);
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("--tls-dir {}: {e}", dir.display()))?;
    let fail = |e: rcgen::Error| format!("making the local CA: {e}");
    let ca_key = KeyPair::generate().map_err(fail)?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(fail)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.distinguished_name
        .push(DnType::CommonName, "restore-delta-server local CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key).map_err(fail)?;
    let issuer = Issuer::new(ca, &ca_key);
    let names: Vec<String> = LOCAL_NAMES.iter().map(|n| (*n).to_owned()).collect();
    let mut leaf = CertificateParams::new(names).map_err(fail)?;
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    let leaf_key = KeyPair::generate().map_err(fail)?;
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).map_err(fail)?;
    let write = |path: &Path, text: &str, private: bool| -> Result<(), String> {
        write_file(path, text.as_bytes(), private).map_err(|e| format!("{}: {e}", path.display()))
    };
    write(&files.ca, &ca_cert.pem(), false)?;
    write(&dir.join("ca.key"), &ca_key.serialize_pem(), true)?;
    write(&files.key, &leaf_key.serialize_pem(), true)?;
    // The chain the server presents: the leaf, then the CA.
    write(
        &files.cert,
        &format!("{}{}", leaf_cert.pem(), ca_cert.pem()),
        false,
    )?;
    Ok(LocalCa {
        made: true,
        ..files
    })
}

fn write_file(path: &Path, bytes: &[u8], private: bool) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_ca_is_made_once_and_reused() {
        let dir = std::env::temp_dir().join(format!("rd-tls-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let made = local_ca(&dir).unwrap();
        assert!(made.made);
        let first = std::fs::read(&made.cert).unwrap();
        assert!(config(&made.cert, &made.key).is_ok());
        let again = local_ca(&dir).unwrap();
        assert!(!again.made);
        assert_eq!(std::fs::read(&again.cert).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&made.key).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "the key is the owner's alone");
        }
        assert!(config(&made.ca, &dir.join("nope.pem")).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
