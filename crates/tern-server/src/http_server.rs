//! The HTTP server loop, with the limits an internet-facing listener needs
//! (`http.*` in the configuration). `axum::serve` has none of them: a
//! socket that sends half a header, or nothing, would stay open forever,
//! and every accepted connection would be served however many there are.
//!
//! - **Header-read timeout**: a connection must deliver a request's headers
//!   within `header_read_timeout_ms` of being opened (before the first
//!   request this loop enforces it, as the protocol is not known yet; after
//!   it hyper does, also while an HTTP/1.1 connection idles between
//!   requests). A slow or silent client is disconnected.
//! - **Body-read timeout**: the body must arrive within
//!   `body_read_timeout_ms` of its headers; reading it fails after that.
//! - **Connection cap**: at most `max_connections` are served at once; the
//!   loop stops accepting until one closes (the rest wait in the kernel's
//!   backlog), so descriptors and memory stay bounded.
//! - **Connections per address**: one client address (an IPv6 client's
//!   /64) holds at most `max_connections_per_address` of them; a further
//!   one is closed at once, so one address cannot take every slot. Trusted
//!   proxies are not counted: each carries many clients.
//! - **Keep-alive limits**: keep-alive can be turned off, and an HTTP/1.1
//!   connection closes after `max_requests_per_connection` requests. An
//!   HTTP/2 connection is told to go away (GOAWAY, its streams in flight
//!   finish) after as many requests, or once it has had no request in
//!   flight for `header_read_timeout_ms`: hyper's HTTP/2 keep-alive only
//!   pings, which any client answers, so idle connections would otherwise
//!   hold every slot.
//!
//! Each request carries the peer's [`ConnectInfo`], as axum's own loop
//! gives it, for `client_ip`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, Version, header};
use axum::serve::Listener;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

use crate::client_ip::TrustedProxies;
use crate::config::HttpConfig;

/// The limits, from `http.*`.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    header_read_timeout: Duration,
    body_read_timeout: Duration,
    max_connections: usize,
    keep_alive: bool,
    max_requests_per_connection: u64,
}

impl Limits {
    /// The limits `config` sets (zero values are raised to the least that works).
    pub fn from_config(config: &HttpConfig) -> Self {
        Self {
            header_read_timeout: Duration::from_millis(config.header_read_timeout_ms.max(1)),
            body_read_timeout: Duration::from_millis(config.body_read_timeout_ms.max(1)),
            max_connections: config.max_connections.max(1),
            keep_alive: config.keep_alive,
            max_requests_per_connection: config.max_requests_per_connection.max(1),
        }
    }
}

/// The connections open per client address, against
/// `http.max_connections_per_address` (0: no limit).
pub struct PerAddress {
    max: usize,
    exempt: TrustedProxies,
    open: std::sync::Mutex<HashMap<String, usize>>,
}

/// One counted connection; dropping it gives the address's place back.
struct AddressHold {
    owner: Arc<PerAddress>,
    key: String,
}

impl PerAddress {
    /// The limit `config` sets; `exempt`: the trusted proxies.
    pub fn new(config: &HttpConfig, exempt: TrustedProxies) -> Arc<Self> {
        Arc::new(Self {
            max: config.max_connections_per_address,
            exempt,
            open: std::sync::Mutex::new(HashMap::new()),
        })
    }

    /// Count a connection from `peer`: `Err` when its address already holds
    /// the most it may, `Ok(None)` when it is not counted.
    fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<Option<AddressHold>, ()> {
        if self.max == 0 || self.exempt.trusts(peer) {
            return Ok(None);
        }
        let key = tern_core::ip_throttling::bucket(&peer.to_string()).into_owned();
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(key.clone()).or_insert(0);
        if *n >= self.max {
            return Err(());
        }
        *n += 1;
        Ok(Some(AddressHold {
            owner: self.clone(),
            key,
        }))
    }
}

impl Drop for AddressHold {
    fn drop(&mut self) {
        let mut open = self.owner.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// Serve `app` on `listener` until `stop` resolves, then let the
/// connections finish their requests in flight (graceful shutdown).
pub async fn serve<L>(
    mut listener: L,
    app: Router,
    limits: Limits,
    per_address: Arc<PerAddress>,
    stop: impl Future<Output = ()>,
) -> std::io::Result<()>
where
    L: Listener<Addr = SocketAddr>,
{
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    // A value sent asks every connection to finish; each holds a receiver
    // until it has, so the sender's `closed()` tells when all have.
    let (stopping, _) = watch::channel(());
    let mut stop = std::pin::pin!(stop);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut stop => break,
        };
        let (io, peer) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut stop => break,
        };
        let Ok(held) = per_address.admit(peer.ip()) else {
            // Closed unserved; the slot goes back with it.
            tracing::debug!(%peer, "connection refused: its address holds the most it may");
            continue;
        };
        let connection = Connection {
            app: app.clone(),
            limits,
            peer,
            started: Arc::new(AtomicBool::new(false)),
            served: Arc::new(AtomicU64::new(0)),
            activity: Arc::new(Activity::new()),
        };
        let told = stopping.subscribe();
        tokio::spawn(async move {
            connection.run(io, told).await;
            drop(held);
            drop(slot);
        });
    }
    drop(listener);
    // `send_replace`, not `send`: with no connection open there is no
    // receiver, and that is not an error.
    stopping.send_replace(());
    // Resolves once every connection has finished and dropped its receiver.
    stopping.closed().await;
    Ok(())
}

/// One accepted connection (cloned into hyper's service; the clones share
/// the counters).
#[derive(Clone)]
struct Connection {
    app: Router,
    limits: Limits,
    peer: SocketAddr,
    /// A request's headers have arrived (the protocol is known).
    started: Arc<AtomicBool>,
    /// Requests served so far.
    served: Arc<AtomicU64>,
    activity: Arc<Activity>,
}

/// What an HTTP/2 connection is doing, for its idle deadline.
struct Activity {
    /// An HTTP/2 request has arrived (the deadline applies).
    http2: AtomicBool,
    /// Requests whose answer has not been handed to hyper yet.
    in_flight: AtomicUsize,
    opened: Instant,
    /// When the last request in flight was answered, in ms since `opened`.
    last_answered_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            http2: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            opened: Instant::now(),
            last_answered_ms: AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether the connection has had nothing in flight for `idle`.
    fn idle_for(&self, idle: Duration) -> bool {
        let since = self
            .now_ms()
            .saturating_sub(self.last_answered_ms.load(Ordering::Acquire));
        self.in_flight.load(Ordering::Acquire) == 0 && u128::from(since) >= idle.as_millis()
    }
}

/// Counts a request in flight until dropped (answered, or abandoned).
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: &Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        Self(activity.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0
            .last_answered_ms
            .store(self.0.now_ms(), Ordering::Release);
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Connection {
    async fn run<I>(self, io: I, mut stopping: watch::Receiver<()>)
    where
        I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let limits = self.limits;
        let started = self.started.clone();
        let activity = self.activity.clone();
        let served = self.served.clone();
        let service = TowerToHyperService::new(tower::service_fn(move |req| self.call(req)));
        let mut builder = Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .keep_alive(limits.keep_alive);
        builder
            .http2()
            .timer(TokioTimer::new())
            .keep_alive_interval(limits.header_read_timeout)
            .max_concurrent_streams(100)
            .enable_connect_protocol();
        let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
        let mut conn = std::pin::pin!(conn);
        // Before the first request hyper has no timer running (the protocol
        // is still being detected): this deadline closes a silent socket.
        let first_deadline = tokio::time::sleep(limits.header_read_timeout);
        let mut first_deadline = std::pin::pin!(first_deadline);
        let mut watching_first = true;
        let mut shutting_down = false;
        // HTTP/2's limits, checked a few times per idle period.
        let mut http2_check = tokio::time::interval(limits.header_read_timeout / 4);
        http2_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::trace!(error = %e, "connection ended with an error");
                    }
                    return;
                }
                () = &mut first_deadline, if watching_first => {
                    if !started.load(Ordering::Acquire) {
                        tracing::debug!("closed a connection that sent no request in time");
                        return;
                    }
                    watching_first = false;
                }
                _ = stopping.changed(), if !shutting_down => {
                    shutting_down = true;
                    conn.as_mut().graceful_shutdown();
                }
                _ = http2_check.tick(), if !shutting_down && activity.http2.load(Ordering::Acquire) => {
                    let spent = served.load(Ordering::Acquire) >= limits.max_requests_per_connection;
                    if spent || activity.idle_for(limits.header_read_timeout) {
                        tracing::debug!(spent, "an HTTP/2 connection is told to go away");
                        shutting_down = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
        }
    }

    /// Serve one request: the peer's address attached, the body under its
    /// deadline, `Connection: close` on the last answer the connection gives.
    fn call(
        &self,
        req: Request<Incoming>,
    ) -> impl Future<Output = Result<axum::response::Response, Infallible>> + Send + use<> {
        self.started.store(true, Ordering::Release);
        let nth = self.served.fetch_add(1, Ordering::Relaxed) + 1;
        let last = nth >= self.limits.max_requests_per_connection;
        let http1 = req.version() <= Version::HTTP_11;
        if !http1 {
            self.activity.http2.store(true, Ordering::Release);
        }
        let in_flight = InFlight::start(&self.activity);
        let deadline = self.limits.body_read_timeout;
        let mut req = req.map(|body| axum::body::Body::new(TimedBody::new(body, deadline)));
        req.extensions_mut().insert(ConnectInfo(self.peer));
        let app = self.app.clone();
        async move {
            let _in_flight = in_flight;
            let mut res = app.oneshot(req).await?;
            if last && http1 {
                res.headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            Ok(res)
        }
    }
}

/// A request body that fails once its deadline has passed.
struct TimedBody {
    inner: Incoming,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl TimedBody {
    fn new(inner: Incoming, limit: Duration) -> Self {
        Self {
            inner,
            deadline: Box::pin(tokio::time::sleep(limit)),
        }
    }
}

/// The body did not arrive in time.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
struct BodyTimedOut;

impl http_body::Body for TimedBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(BodyTimedOut.into()))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
