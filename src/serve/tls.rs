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
    /// The certificate alone, to give a browser or a client to trust.
    pub cert_path: PathBuf,
}

impl Identity {
    /// Reads `identity.pem` (the key and its certificate, in one file so
    /// they always match) from `dir`, or makes it, readable by this user
    /// alone; `cert.pem` beside it is the certificate alone.
    pub fn load_or_create(dir: &Path) -> anyhow::Result<Identity> {
        let (path, cert_path) = (dir.join("identity.pem"), dir.join("cert.pem"));
        if !path.exists() {
            create_private_dir(dir)?;
            let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
                .context("cannot describe the demo certificate")?;
            params.distinguished_name.push(rcgen::DnType::CommonName, "wirelab demo server (self-signed)");
            let key = rcgen::KeyPair::generate().context("cannot make the demo certificate's key")?;
            let cert = params.self_signed(&key).context("cannot sign the demo certificate")?;
            // Written whole and renamed into place: two first starts at once
            // each write a matching pair, and the last one wins whole.
            crate::file::write_whole(&path, format!("{}{}", key.serialize_pem(), cert.pem()).as_bytes())
                .with_context(|| format!("cannot write the demo certificate {}", path.display()))?;
        }
        let bad = || format!("cannot read the demo certificate {} (delete it to make a new one)", path.display());
        let text = std::fs::read_to_string(&path).with_context(bad)?;
        let cert = CertificateDer::from_pem_slice(text.as_bytes()).with_context(bad)?;
        let key = PrivateKeyDer::from_pem_slice(text.as_bytes()).with_context(bad)?;
        // The certificate's own PEM section, as a file of its own.
        let begin = text.find("-----BEGIN CERTIFICATE-----").with_context(bad)?;
        let end = "-----END CERTIFICATE-----";
        let cert_text = text[begin..].find(end).map(|e| format!("{}\n", &text[begin..begin + e + end.len()]));
        let cert_text = cert_text.with_context(bad)?;
        if std::fs::read_to_string(&cert_path).ok().as_deref() != Some(cert_text.as_str()) {
            crate::file::write_whole(&cert_path, cert_text.as_bytes())
                .with_context(|| format!("cannot write {}", cert_path.display()))?;
        }
        Ok(Identity { cert, key, cert_path })
    }
}

/// A rustls key log that appends each secret to a file, as NSS key log
/// lines. The file may be shared (several servers, earlier runs): what was
/// added since it was opened is [`KeyLogFile::read_since_open`].
#[derive(Debug)]
pub struct KeyLogFile {
    pub path: PathBuf,
    file: Mutex<Option<std::fs::File>>,
    /// The file's length when opened.
    start: u64,
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
        let start = file.metadata().map_or(0, |m| m.len());
        Ok(KeyLogFile { path, file: Mutex::new(Some(file)), start })
    }

    /// The secrets appended since the file was opened.
    pub fn read_since_open(&self) -> anyhow::Result<crate::dissect::app::tls::keylog::KeyLog> {
        use std::io::{Read as _, Seek as _};
        let mut f = std::fs::File::open(&self.path)
            .with_context(|| format!("cannot read the TLS key log {}", self.path.display()))?;
        f.seek(std::io::SeekFrom::Start(self.start))?;
        let mut text = String::new();
        f.take(crate::dissect::app::tls::keylog::MAX_BYTES).read_to_string(&mut text)?;
        Ok(crate::dissect::app::tls::keylog::KeyLog::parse(&text))
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
