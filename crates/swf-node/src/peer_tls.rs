//! Mutual TLS between nodes on the gRPC port (Raft, forwarding, cluster control). Each node has a
//! certificate from the cluster CA; both ends of every connection present theirs, and each end accepts
//! the other only if its certificate chains to the CA *and* is valid for one of the allowed names
//! (TiKV's `cert-allowed-cn`, for SAN names). A client without a certificate, with one from another
//! CA, an expired one, or one for a name not on the list fails the handshake: its bytes never reach
//! gRPC. Without peer TLS configured the port is plaintext (the single-node quickstart).
//!
//! Peer certificates serve both as server and as client certificates: they must carry the allowed
//! name as a DNS subject alternative name, and either no extended key usage or both `serverAuth` and
//! `clientAuth`. The files are reloaded on change and on SIGHUP ([`crate::tls::Reloading`]): a new
//! connection uses the configuration in force, open ones keep theirs.

use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use crate::tls::{load_certs, load_key, load_roots, provider, Reloading};

/// How long a peer has to complete the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a node's peer TLS material is, and which peer names it accepts.
#[derive(Debug, Clone)]
pub struct PeerTlsFiles {
    /// PEM file of the cluster CA certificate(s).
    pub ca: PathBuf,
    /// PEM chain of this node's certificate.
    pub cert: PathBuf,
    /// PEM private key of this node's certificate.
    pub key: PathBuf,
    /// Names (DNS SANs, wildcards in the certificate allowed) a peer certificate must be valid for,
    /// one of them at least.
    pub allowed_names: Vec<String>,
}

/// The server and client configurations built from [`PeerTlsFiles`].
pub struct PeerConfigs {
    pub server: Arc<rustls::ServerConfig>,
    pub client: Arc<rustls::ClientConfig>,
}

/// A node's peer TLS, reloaded when its files change.
pub type PeerTls = Reloading<PeerConfigs>;

/// Loads `files` (an error is a startup error) and keeps them current.
pub fn load(files: PeerTlsFiles) -> Result<Arc<PeerTls>, String> {
    if files.allowed_names.is_empty() {
        return Err("peer TLS needs at least one allowed peer name".into());
    }
    let watched = vec![files.ca.clone(), files.cert.clone(), files.key.clone()];
    Reloading::new("peer TLS", watched, move || build(&files))
}

fn build(files: &PeerTlsFiles) -> Result<PeerConfigs, String> {
    let roots = load_roots(&files.ca)?;
    let subjects = roots.subjects();
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(|e| format!("peer CA {}: {e}", files.ca.display()))?;
    let allowed = files
        .allowed_names
        .iter()
        .map(|n| {
            ServerName::try_from(n.clone()).map_err(|e| format!("allowed peer name {n:?}: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let verifier = Arc::new(AllowedPeers {
        inner,
        allowed,
        subjects,
    });
    let certs = load_certs(&files.cert)?;
    let key = load_key(&files.key)?;
    let mut server = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_client_cert_verifier(verifier.clone())
        .with_single_cert(certs.clone(), key.clone_key())
        .map_err(|e| format!("peer certificate {}: {e}", files.cert.display()))?;
    server.alpn_protocols = vec![b"h2".to_vec()];
    let mut client = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_auth_cert(certs, key)
        .map_err(|e| format!("peer certificate {}: {e}", files.cert.display()))?;
    client.alpn_protocols = vec![b"h2".to_vec()];
    Ok(PeerConfigs {
        server: Arc::new(server),
        client: Arc::new(client),
    })
}

/// Accepts a certificate from the cluster CA that is valid for one of the allowed names, whichever
/// end presents it (the dialled address is not what is checked: peers are named by certificate).
#[derive(Debug)]
struct AllowedPeers {
    inner: Arc<WebPkiServerVerifier>,
    allowed: Vec<ServerName<'static>>,
    subjects: Vec<DistinguishedName>,
}

impl AllowedPeers {
    fn check(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<(), rustls::Error> {
        let mut refusal = None;
        for name in &self.allowed {
            match self
                .inner
                .verify_server_cert(end_entity, intermediates, name, &[], now)
            {
                Ok(_) => return Ok(()),
                // A wrong name says less than a bad chain or an expired certificate: keep the latter.
                Err(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::NotValidForName,
                )) => {
                    refusal.get_or_insert(rustls::Error::InvalidCertificate(
                        rustls::CertificateError::NotValidForName,
                    ));
                }
                Err(e) => refusal = Some(e),
            }
        }
        Err(refusal.unwrap_or(rustls::Error::InvalidCertificate(
            rustls::CertificateError::NotValidForName,
        )))
    }
}

impl ServerCertVerifier for AllowedPeers {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.check(end_entity, intermediates, now)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

impl ClientCertVerifier for AllowedPeers {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.subjects
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.check(end_entity, intermediates, now)?;
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A connection between nodes: plain TCP, or TLS over it.
pub enum PeerStream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::TlsStream<TcpStream>>),
}

impl AsyncRead for PeerStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            PeerStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            PeerStream::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for PeerStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            PeerStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            PeerStream::Tls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            PeerStream::Plain(s) => Pin::new(s).poll_flush(cx),
            PeerStream::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            PeerStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            PeerStream::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            PeerStream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            PeerStream::Tls(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            PeerStream::Plain(s) => s.is_write_vectored(),
            PeerStream::Tls(s) => s.is_write_vectored(),
        }
    }
}

impl tonic::transport::server::Connected for PeerStream {
    type ConnectInfo = ();

    fn connect_info(&self) {}
}

/// The gRPC server's incoming connections on `listener`: each accepted socket (without Nagle) is
/// handed over as is, or, with `tls`, once its TLS handshake (certificate checks included) succeeded
/// within [`HANDSHAKE_TIMEOUT`]. A refused handshake is logged and the socket dropped.
pub fn incoming(
    listener: TcpListener,
    tls: Option<Arc<PeerTls>>,
) -> tokio_stream::wrappers::ReceiverStream<io::Result<PeerStream>> {
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(async move {
        loop {
            let (stream, remote) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(conn) => conn,
                    Err(e) => {
                        tracing::warn!(error = %e, "gRPC accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                _ = tx.closed() => return,
            };
            let _ = stream.set_nodelay(true);
            let Some(tls) = &tls else {
                if tx.send(Ok(PeerStream::Plain(stream))).await.is_err() {
                    return;
                }
                continue;
            };
            let acceptor = tokio_rustls::TlsAcceptor::from(tls.current().server.clone());
            let tx = tx.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                    Ok(Ok(s)) => {
                        let s = tokio_rustls::TlsStream::Server(s);
                        let _ = tx.send(Ok(PeerStream::Tls(Box::new(s)))).await;
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(%remote, error = %e, "refused a gRPC peer: TLS handshake failed");
                    }
                    Err(_) => {
                        tracing::warn!(%remote, "refused a gRPC peer: no TLS handshake in time");
                    }
                }
            });
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}

/// Connects to peers for tonic's channels: TCP without Nagle, then TLS when configured.
#[derive(Clone, Default)]
pub struct PeerConnector {
    pub tls: Option<Arc<PeerTls>>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl tower_service::Service<tonic::codegen::http::Uri> for PeerConnector {
    type Response = hyper_util::rt::TokioIo<PeerStream>;
    type Error = BoxError;
    type Future =
        Pin<Box<dyn std::future::Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: tonic::codegen::http::Uri) -> Self::Future {
        let tls = self.tls.clone();
        Box::pin(async move {
            let host = uri
                .host()
                .ok_or("peer address without a host")?
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string();
            let port = uri.port_u16().ok_or("peer address without a port")?;
            let tcp = TcpStream::connect((host.as_str(), port)).await?;
            let _ = tcp.set_nodelay(true);
            let stream = match tls {
                None => PeerStream::Plain(tcp),
                Some(tls) => {
                    let connector = tokio_rustls::TlsConnector::from(tls.current().client.clone());
                    // The name only goes into SNI: the peer is checked against the allowed names.
                    let name = ServerName::try_from(host)?;
                    let s = connector.connect(name, tcp).await?;
                    PeerStream::Tls(Box::new(tokio_rustls::TlsStream::Client(s)))
                }
            };
            Ok(hyper_util::rt::TokioIo::new(stream))
        })
    }
}
