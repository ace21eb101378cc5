//! TLS material read from PEM files and kept current without a restart: a [`Reloading`] value is
//! built from its files, rebuilt when one of them changes (modification time or size, checked every
//! [`WATCH_EVERY`]) or when asked ([`Reloading::reload`], which swfd calls on SIGHUP), and swapped in
//! atomically; connections already open keep the configuration they started with. A rebuild that
//! fails (a half-written file, a key that does not match) is logged and the previous value stays.
//!
//! Every configuration uses rustls's ring provider, passed explicitly ([`provider`]), never the
//! process default.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// How often the files of a [`Reloading`] value are checked for changes.
pub const WATCH_EVERY: Duration = Duration::from_secs(1);

/// The crypto provider of every TLS configuration: ring.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificates of a PEM file (a chain: the leaf first).
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("reading certificates from {}: {e}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("parsing certificates in {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{} holds no certificate", path.display()));
    }
    Ok(certs)
}

/// The private key of a PEM file (PKCS#8, PKCS#1 or SEC1).
pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_file(path)
        .map_err(|e| format!("reading a private key from {}: {e}", path.display()))
}

/// The trust anchors of a PEM file of CA certificates.
pub fn load_roots(path: &Path) -> Result<rustls::RootCertStore, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in load_certs(path)? {
        roots
            .add(cert)
            .map_err(|e| format!("CA certificate in {}: {e}", path.display()))?;
    }
    Ok(roots)
}

/// The server configuration of the client (SWF) endpoint: `cert` (a PEM chain) and `key`, HTTP/1.1.
pub fn http_server_config(cert: &Path, key: &Path) -> Result<rustls::ServerConfig, String> {
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(load_certs(cert)?, load_key(key)?)
        .map_err(|e| format!("{} and {}: {e}", cert.display(), key.display()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

type Build<T> = Box<dyn Fn() -> Result<T, String> + Send + Sync>;

/// A value built from files and rebuilt when they change.
pub struct Reloading<T> {
    what: &'static str,
    files: Vec<PathBuf>,
    build: Build<T>,
    current: ArcSwap<T>,
    /// The files' (modification time, size) when last built.
    stamps: Mutex<Vec<Option<(SystemTime, u64)>>>,
}

fn stamps(files: &[PathBuf]) -> Vec<Option<(SystemTime, u64)>> {
    files
        .iter()
        .map(|f| {
            std::fs::metadata(f)
                .ok()
                .and_then(|m| Some((m.modified().ok()?, m.len())))
        })
        .collect()
}

impl<T: Send + Sync + 'static> Reloading<T> {
    /// Builds the value once (an error here is a startup error) and watches `files` for changes.
    /// `what` names it in the log.
    pub fn new(
        what: &'static str,
        files: Vec<PathBuf>,
        build: impl Fn() -> Result<T, String> + Send + Sync + 'static,
    ) -> Result<Arc<Reloading<T>>, String> {
        let before = stamps(&files);
        let value = build()?;
        let reloading = Arc::new(Reloading {
            what,
            stamps: Mutex::new(before),
            files,
            build: Box::new(build),
            current: ArcSwap::from_pointee(value),
        });
        if tokio::runtime::Handle::try_current().is_ok() {
            tokio::spawn(watch(Arc::downgrade(&reloading)));
        }
        Ok(reloading)
    }

    /// The value in force.
    pub fn current(&self) -> Arc<T> {
        self.current.load_full()
    }

    /// Rebuilds the value from its files now; on failure the previous one stays.
    pub fn reload(&self) -> Result<(), String> {
        let before = stamps(&self.files);
        match (self.build)() {
            Ok(value) => {
                self.current.store(Arc::new(value));
                *self.stamps.lock().expect("stamps lock") = before;
                tracing::info!(what = self.what, "TLS material reloaded");
                Ok(())
            }
            Err(e) => {
                // Remember the stamps anyway: the same broken files are not retried every second.
                *self.stamps.lock().expect("stamps lock") = before;
                tracing::error!(what = self.what, error = %e, "TLS reload failed; keeping the previous certificates");
                Err(e)
            }
        }
    }

    /// Rebuilds the value if a file changed since the last build.
    pub fn reload_if_changed(&self) {
        let now = stamps(&self.files);
        let changed = *self.stamps.lock().expect("stamps lock") != now;
        if changed {
            let _ = self.reload();
        }
    }
}

/// Checks the files every [`WATCH_EVERY`] for as long as the value is in use.
async fn watch<T: Send + Sync + 'static>(reloading: Weak<Reloading<T>>) {
    loop {
        tokio::time::sleep(WATCH_EVERY).await;
        let Some(r) = reloading.upgrade() else {
            return;
        };
        r.reload_if_changed();
    }
}

/// Something [`Reloading`] that swfd asks to reload on SIGHUP.
pub trait Reload: Send + Sync {
    /// Rebuilds from the files now (errors are logged, the previous value stays).
    fn reload_now(&self);
}

impl<T: Send + Sync + 'static> Reload for Reloading<T> {
    fn reload_now(&self) {
        let _ = self.reload();
    }
}

impl<T> std::fmt::Debug for Reloading<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reloading")
            .field("what", &self.what)
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}
