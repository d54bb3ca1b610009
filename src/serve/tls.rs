//! TLS for the echo and chat servers (`wirelab serve echo --tls`): the same
//! servers behind rustls, so students can watch `wss://` and `https://` and
//! then decrypt them. The certificate is self-signed (made with rcgen at the
//! first start, for `localhost` and `127.0.0.1`) and kept in the data folder
//! with its key; every TLS session's secrets are appended to a key log in
//! the NSS format beside it, which the window and `--tls-keylog` read.
//!
//! One rustls crypto provider: *ring*. It builds with a C compiler alone
//! (aws-lc-rs needs cmake and minutes more of every cold build), and yawc's
//! client side offers it too. rustls marks *ring* deprecated because it has
//! no post-quantum key exchange; for a teaching server that is a feature:
//! the handshake students read uses the classic X25519 share that every
//! course and tshark 4.0 describe, not a 1.2 KB hybrid one. The servers ask
//! for the provider by name ([`provider`]), so a second provider pulled in
//! by some other crate could never make rustls refuse to choose.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The data folder's `tls` folder: the demo certificate, its key and the key log.
pub fn default_dir() -> PathBuf {
    crate::data_dir().join("tls")
}

/// The key log the demo servers append to, in `dir`.
pub fn key_log_path(dir: &Path) -> PathBuf {
    dir.join("keylog.txt")
}

/// The one crypto provider the servers and clients use.
#[allow(deprecated)] // see the module's docs: no post-quantum key share, on purpose
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The demo certificate and its key, made on first use.
pub struct Identity {
    pub cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
    pub cert_path: PathBuf,
}

impl Identity {
    /// Reads `cert.pem` and `key.pem` from `dir`, or makes them (the key
    /// readable by this user alone).
    pub fn load_or_create(dir: &Path) -> anyhow::Result<Identity> {
        let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
        if !cert_path.exists() || !key_path.exists() {
            create_private_dir(dir)?;
            let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
                .context("cannot describe the demo certificate")?;
            params.distinguished_name.push(rcgen::DnType::CommonName, "wirelab demo server (self-signed)");
            let key = rcgen::KeyPair::generate().context("cannot make the demo certificate's key")?;
            let cert = params.self_signed(&key).context("cannot sign the demo certificate")?;
            write_private(&key_path, key.serialize_pem().as_bytes())?;
            std::fs::write(&cert_path, cert.pem())
                .with_context(|| format!("cannot write the demo certificate {}", cert_path.display()))?;
        }
        let cert = CertificateDer::from_pem_file(&cert_path).with_context(|| {
            format!("cannot read the demo certificate {} (delete it to make a new one)", cert_path.display())
        })?;
        let key = PrivateKeyDer::from_pem_file(&key_path).with_context(|| {
            format!("cannot read the demo key {} (delete it to make a new one)", key_path.display())
        })?;
        Ok(Identity { cert, key, cert_path })
    }
}

/// A rustls key log that appends each secret to a file, as NSS key log
/// lines, and keeps them (a scenario puts them in its recording).
#[derive(Debug)]
pub struct KeyLogFile {
    pub path: PathBuf,
    file: Mutex<Option<std::fs::File>>,
    lines: Mutex<String>,
}

impl KeyLogFile {
    pub fn open(path: PathBuf) -> anyhow::Result<KeyLogFile> {
        if let Some(dir) = path.parent() {
            create_private_dir(dir)?;
        }
        use std::os::unix::fs::OpenOptionsExt as _;
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("cannot open the TLS key log {}", path.display()))?;
        Ok(KeyLogFile { path, file: Mutex::new(Some(file)), lines: Mutex::default() })
    }

    /// The key log lines written since it was opened.
    pub fn text(&self) -> String {
        self.lines.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl rustls::KeyLog for KeyLogFile {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        use crate::model::hex;
        let line = format!("{label} {} {}\n", hex(client_random), hex(secret));
        if let Ok(mut f) = self.file.lock()
            && let Some(file) = f.as_mut()
            && let Err(e) = file.write_all(line.as_bytes())
        {
            // A full disk must not stop the server: say it once, keep serving.
            eprintln!("wirelab serve: cannot write the TLS key log {}: {e}", self.path.display());
            *f = None;
        }
        if let Ok(mut l) = self.lines.lock() {
            l.push_str(&line);
        }
    }

    fn will_log(&self, _label: &str) -> bool {
        true
    }
}

/// TLS as the demo servers speak it: their acceptor, and where it keeps its files.
pub struct Tls {
    pub acceptor: tokio_rustls::TlsAcceptor,
    pub identity: Identity,
    pub key_log: Arc<KeyLogFile>,
}

impl Tls {
    /// Loads (or makes) the certificate in `dir` and opens the key log there.
    /// The servers speak HTTP/1.1 only, and say so in ALPN.
    pub fn new(dir: &Path) -> anyhow::Result<Tls> {
        let identity = Identity::load_or_create(dir)?;
        let key_log = Arc::new(KeyLogFile::open(key_log_path(dir))?);
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .context("the TLS provider offers no TLS version")?
            .with_no_client_auth()
            .with_single_cert(vec![identity.cert.clone()], identity.key.clone_key())
            .context("the demo certificate and key do not match (delete both to make new ones)")?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        config.key_log = key_log.clone();
        Ok(Tls { acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)), identity, key_log })
    }

    /// A client that trusts the demo certificate (and only it): the
    /// scenarios' clients. (The server logs each session's secrets already.)
    pub fn connector(&self) -> anyhow::Result<tokio_rustls::TlsConnector> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.identity.cert.clone()).context("the demo certificate cannot be a trust anchor")?;
        let mut config = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .context("the TLS provider offers no TLS version")?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
    }
}

fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot make the folder {}", dir.display()))
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(bytes))
        .with_context(|| format!("cannot write {}", path.display()))
}
