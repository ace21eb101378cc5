//! The transport security of a node, from its settings: TLS on the SWF endpoint and on the admin
//! listener, mutual TLS between nodes, and the admin credential (the bearer token of a file, and with
//! auth on a SigV4 signature of an admin principal). Certificates are reloaded when their files
//! change (checked every second) and on SIGHUP; the admin token file is re-read when it changes.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use swf_auth::Auth;
use swf_gateway::{AdminAuth, AnyOf, BearerToken, SigV4Admin};
use swf_node::peer_tls::PeerTls;
use swf_node::tls::{Reload, Reloading};

use crate::config::Settings;

/// What a node runs its listeners with.
pub struct Transport {
    /// TLS of the SWF endpoint (`None`: plaintext).
    pub http: Option<Arc<Reloading<rustls::ServerConfig>>>,
    /// TLS of the admin listener (`None`: plaintext).
    pub admin: Option<Arc<Reloading<rustls::ServerConfig>>>,
    /// Mutual TLS between nodes (`None`: plaintext).
    pub peer: Option<Arc<PeerTls>>,
    /// Who may call the admin API.
    pub admin_auth: Arc<dyn AdminAuth>,
}

impl Transport {
    /// Loads certificates and the admin token (any error stops the start); `auth`, the auth
    /// configuration in force, adds SigV4 admin principals to the admin credentials, whose signatures'
    /// dates are judged by `clock` (the cluster's time).
    pub fn load(
        settings: &Settings,
        auth: Option<&Arc<Auth>>,
        clock: swf_gateway::Clock,
    ) -> anyhow::Result<Transport> {
        let http = match &settings.tls {
            Some((cert, key)) => {
                let r = server_tls("SWF endpoint TLS", cert, key)?;
                tracing::info!(cert = %cert.display(), "the SWF endpoint speaks TLS");
                Some(r)
            }
            None => {
                tracing::warn!("the SWF endpoint is plaintext (no --tls-cert / --tls-key)");
                None
            }
        };
        let admin = match &settings.admin_tls {
            Some((cert, key)) => {
                let r = server_tls("admin listener TLS", cert, key)?;
                tracing::info!(cert = %cert.display(), "the admin listener speaks TLS");
                Some(r)
            }
            None => None,
        };
        let peer = match &settings.peer_tls {
            Some(files) => {
                let names = files.allowed_names.join(",");
                let r = swf_node::peer_tls::load(files.clone())
                    .map_err(anyhow::Error::msg)
                    .context("loading the peer (mutual TLS) certificates")?;
                tracing::info!(allowed_names = %names, "the gRPC port uses mutual TLS");
                Some(r)
            }
            None => {
                tracing::warn!(
                    "the gRPC port is plaintext and accepts any client (no --peer-ca / --peer-cert / \
                     --peer-key / --peer-allowed-names): keep it on a trusted network"
                );
                None
            }
        };
        let token_path = settings.admin_token_path();
        if settings.admin_token_file.is_none() {
            ensure_token_file(&token_path)?;
        }
        let token = BearerToken::from_file(token_path.clone())
            .map_err(anyhow::Error::msg)
            .context("loading the admin token")?;
        tracing::info!(token_file = %token_path.display(), "the admin API takes a bearer token");
        let admin_auth: Arc<dyn AdminAuth> = match auth {
            Some(auth) => {
                tracing::info!("the admin API also takes SigV4 signatures of admin principals");
                Arc::new(AnyOf(vec![
                    Arc::new(token),
                    Arc::new(
                        SigV4Admin::new(auth.clone(), &settings.region, &settings.account_id)
                            .with_clock(clock),
                    ),
                ]))
            }
            None => Arc::new(token),
        };
        Ok(Transport {
            http,
            admin,
            peer,
            admin_auth,
        })
    }

    /// Reloads every certificate on SIGHUP, for the life of the process.
    pub fn reload_on_sighup(&self) {
        let mut reloadable: Vec<Arc<dyn Reload>> = Vec::new();
        if let Some(r) = &self.http {
            reloadable.push(r.clone());
        }
        if let Some(r) = &self.admin {
            reloadable.push(r.clone());
        }
        if let Some(r) = &self.peer {
            reloadable.push(r.clone());
        }
        tokio::spawn(async move {
            let Ok(mut hup) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            else {
                return;
            };
            while hup.recv().await.is_some() {
                tracing::info!("SIGHUP: reloading certificates");
                for r in &reloadable {
                    r.reload_now();
                }
            }
        });
    }
}

/// A server TLS configuration from PEM files, reloaded when they change.
fn server_tls(
    what: &'static str,
    cert: &Path,
    key: &Path,
) -> anyhow::Result<Arc<Reloading<rustls::ServerConfig>>> {
    let (c, k) = (cert.to_path_buf(), key.to_path_buf());
    Reloading::new(what, vec![c.clone(), k.clone()], move || {
        swf_node::tls::http_server_config(&c, &k)
    })
    .map_err(anyhow::Error::msg)
    .with_context(|| format!("loading the certificate of the {what}"))
}

/// Creates `path` with a random token (readable by its owner only) unless it exists.
fn ensure_token_file(path: &Path) -> anyhow::Result<()> {
    if path.exists() {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let token: String = {
        use rand::Rng;
        let mut rng = rand::rngs::OsRng;
        (0..32)
            .map(|_| format!("{:02x}", rng.gen::<u8>()))
            .collect()
    };
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating the admin token file {}", path.display()))?;
    writeln!(file, "{token}")?;
    tracing::info!(path = %path.display(), "created an admin token");
    Ok(())
}
