//! In-process TLS (`tls.cert` / `tls.key`, `--tls-cert` / `--tls-key`):
//! rustls on aws-lc-rs, the tree's one crypto provider, for small setups
//! whose SDKs insist on `https` and that have no proxy in front.
//!
//! [`TlsListener`] is an axum [`Listener`]: a task accepts TCP connections
//! and runs each handshake on a task of its own, under a deadline, so a slow
//! or silent client delays nobody; finished handshakes are handed to axum
//! through a channel. A failed handshake is logged (peer and reason, never
//! key material) and dropped. At most [`BACKLOG`] connections are between
//! the TCP accept and axum at once (handshaking or waiting for a slot of
//! `http.max_connections`); more wait in the kernel's backlog, so
//! descriptors stay bounded however many clients connect.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::Listener;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How long a client may take to finish its handshake.
const HANDSHAKE_DEADLINE: Duration = Duration::from_secs(10);
/// Connections accepted and not yet taken by axum: handshaking, or done
/// and waiting for a connection slot.
pub const BACKLOG: usize = 256;

/// A connection ready for axum, holding its place among the [`BACKLOG`].
type Ready = (TlsStream<TcpStream>, SocketAddr, OwnedSemaphorePermit);

/// Read a PEM certificate chain and private key (PKCS#8, PKCS#1 or SEC1)
/// into a server configuration offering HTTP/1.1 and HTTP/2 (ALPN).
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, String> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| format!("tls.cert {}: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!("tls.cert {}: no certificate", cert.display()));
    }
    let key =
        PrivateKeyDer::from_pem_file(key).map_err(|e| format!("tls.key {}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("tls: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("tls: the key does not fit the certificate: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A TCP listener whose connections arrive with their TLS handshake done.
pub struct TlsListener {
    ready: mpsc::Receiver<Ready>,
    local: SocketAddr,
    acceptor: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    /// Serve TLS with `config` on `listener`.
    pub fn new(listener: TcpListener, config: Arc<rustls::ServerConfig>) -> io::Result<Self> {
        let local = listener.local_addr()?;
        let (tx, ready) = mpsc::channel(BACKLOG);
        let tls = TlsAcceptor::from(config);
        let places = Arc::new(Semaphore::new(BACKLOG));
        let acceptor = tokio::spawn(async move {
            loop {
                let place = places
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("the semaphore is never closed");
                let (tcp, peer) = match listener.accept().await {
                    Ok(c) => c,
                    Err(e) => {
                        // Out of descriptors and the like: wait, as axum does.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let (tls, tx) = (tls.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_DEADLINE, tls.accept(tcp)).await {
                        Ok(Ok(stream)) => {
                            let _ = tx.send((stream, peer, place)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(Self {
            ready,
            local,
            acceptor,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        // Stop accepting once the server lets go of the listener.
        self.acceptor.abort();
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            // Taken: its place goes to the next connection.
            Some((stream, peer, _place)) => (stream, peer),
            // The accepting task holds a sender until it is aborted, which
            // happens only when this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}
