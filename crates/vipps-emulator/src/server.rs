//! Running the emulator on a socket.

use crate::core::clock::Clock;
use crate::core::config::{ControlToken, EmulatorConfig, Merchant};
use crate::core::config::{MAX_CONNECTIONS, MAX_SERVER_TIMEOUT_MS};
use crate::core::state::AppState;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch, Notify, Semaphore};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

/// Entry point: `Emulator::start()` or `Emulator::builder()…start()`.
#[derive(Debug)]
pub struct Emulator;

impl Emulator {
    /// A builder with defaults (127.0.0.1, a free port, the default configuration).
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    /// Starts on 127.0.0.1 with a free port and the default configuration (install a `tracing`
    /// subscriber first if you want its request log).
    pub async fn start() -> std::io::Result<RunningEmulator> {
        Self::builder().start().await
    }
}

/// Configures and starts an emulator.
#[derive(Debug, Clone)]
pub struct EmulatorBuilder {
    host: String,
    port: u16,
    config: EmulatorConfig,
    control_token: Option<String>,
    data_dir: Option<std::path::PathBuf>,
    snapshot: Option<std::path::PathBuf>,
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        EmulatorBuilder {
            host: "127.0.0.1".to_owned(),
            port: 0,
            config: EmulatorConfig::default(),
            control_token: None,
            data_dir: None,
            snapshot: None,
        }
    }
}

impl EmulatorBuilder {
    /// The address to listen on (default `127.0.0.1`).
    pub fn host(mut self, h: impl Into<String>) -> Self {
        self.host = h.into();
        self
    }

    /// The port (default 0: a free port).
    pub fn port(mut self, p: u16) -> Self {
        self.port = p;
        self
    }

    /// The configuration.
    pub fn config(mut self, c: EmulatorConfig) -> Self {
        self.config = c;
        self
    }

    /// The token every `/_emulator` request must then carry (header `X-Emulator-Token`, or the
    /// cookie set by `POST /_emulator/login`), on any address. Without it the control plane is
    /// open on loopback, and off loopback a random token is generated at start-up
    /// ([`RunningEmulator::control_token`]). Overrides the configuration's `control_token`.
    /// `start` fails for an empty token or one with characters a header or cookie cannot carry.
    pub fn control_token(mut self, token: impl Into<String>) -> Self {
        self.control_token = Some(token.into());
        self
    }

    /// Keeps the whole state in an embedded database in `dir` (created if missing) and
    /// continues from what it holds: see [`AppState::open`]. Without it the state lives in
    /// memory only. `start` fails while another emulator uses `dir`, or for a database that
    /// is not the emulator's, is damaged, or is newer than this emulator.
    pub fn data_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// Starts from the snapshot in `file` (the body of `GET /_emulator/snapshot`), replacing
    /// what a data dir holds. `start` fails for a file that is not a snapshot.
    pub fn snapshot(mut self, file: impl Into<std::path::PathBuf>) -> Self {
        self.snapshot = Some(file.into());
        self
    }

    /// Binds and serves in a background task. Requests are logged through `tracing` (target
    /// `vipps_emulator::http`, level `info`) only if that level is enabled now: install your
    /// subscriber before starting.
    pub async fn start(mut self) -> std::io::Result<RunningEmulator> {
        let limits = Limits::from_config(&self.config)?;
        let given = match self.control_token.take() {
            Some(t) => Some(ControlToken::new(t).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "the control token must be non-empty visible ASCII without quote, comma, semicolon \
                     or backslash",
                )
            })?),
            None => self.config.control_token.take(),
        };
        let listener = TcpListener::bind((self.host.as_str(), self.port)).await?;
        let addr = listener.local_addr()?;
        // Off loopback anybody on the network reaches the control plane (and can approve
        // payments, move the clock, read webhook bodies): it then needs a token.
        self.config.control_token = given.or_else(|| (!addr.ip().is_loopback()).then(ControlToken::generate));
        let url_ip = match addr.ip() {
            ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            ip => ip,
        };
        let base_url = format!("http://{}", SocketAddr::new(url_ip, addr.port()));
        let has_public_url = self.config.public_url.is_some();
        let state = match &self.data_dir {
            Some(dir) => AppState::open(self.config, Clock::new(), dir).map_err(io::Error::other)?,
            None => AppState::new(self.config),
        };
        if let Some(file) = &self.snapshot {
            let doc = std::fs::read(file).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", file.display())))?;
            state
                .restore(&doc)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{}: {e}", file.display())))?;
        }
        state.set_listen_addr(addr);
        crate::outbound::DeliveriesExt::set_exposed(&state, !addr.ip().is_loopback());
        if !has_public_url {
            state.set_public_url(base_url.clone());
        }
        let app = crate::router(state.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            serve(listener, app, limits, rx).await;
        });
        tracing::info!(target: "vipps_emulator", %base_url, dashboard = %format_args!("{base_url}/_emulator/"), "emulator listening");
        Ok(RunningEmulator {
            addr,
            base_url,
            state,
            shutdown: Some(tx),
            task: Some(task),
        })
    }
}

/// A running emulator. Dropping it stops the server.
#[derive(Debug)]
pub struct RunningEmulator {
    addr: SocketAddr,
    base_url: String,
    state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl RunningEmulator {
    /// `http://HOST:PORT`, no trailing slash.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The token the control plane requires (given or generated), `None` when it is open.
    pub fn control_token(&self) -> Option<&str> {
        self.state.config().control_token.as_ref().map(ControlToken::expose)
    }

    /// The default (first) merchant.
    pub fn merchant(&self) -> &Merchant {
        self.state.default_merchant()
    }

    /// The emulator's clock (advance it to expire payments and tokens).
    pub fn clock(&self) -> &Clock {
        self.state.clock()
    }

    /// Moves the emulator's clock forward by `d` and ends at once what ran out (webhooks and
    /// callbacks included), as `POST /_emulator/clock/advance` does. Moving the [`Clock`]
    /// alone leaves that to the background sweep, within a second.
    pub fn advance(&self, d: std::time::Duration) {
        self.clock().advance(d);
        self.state().settle_due();
    }

    /// The shared state.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops gracefully (waiting at most 5 seconds for open connections).
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(std::time::Duration::from_secs(5), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
        self.state.store().close_data_dir();
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
        // What was acknowledged is on disk already; this writes the rest and frees the dir
        // for the next emulator.
        self.state.store().close_data_dir();
    }
}

/// The connection limits the server enforces (from [`EmulatorConfig`]).
#[derive(Debug, Clone, Copy)]
struct Limits {
    header_read_timeout: Duration,
    keep_alive_timeout: Duration,
    max_connections: usize,
}

impl Limits {
    fn from_config(c: &EmulatorConfig) -> io::Result<Limits> {
        let ok_ms = |ms: u64| (1..=MAX_SERVER_TIMEOUT_MS).contains(&ms);
        if !ok_ms(c.header_read_timeout_ms)
            || !ok_ms(c.keep_alive_timeout_ms)
            || !(1..=MAX_CONNECTIONS).contains(&c.max_connections)
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "header_read_timeout_ms and keep_alive_timeout_ms must be between 1 and \
                     {MAX_SERVER_TIMEOUT_MS}, max_connections between 1 and {MAX_CONNECTIONS}"
                ),
            ));
        }
        Ok(Limits {
            header_read_timeout: Duration::from_millis(c.header_read_timeout_ms),
            keep_alive_timeout: Duration::from_millis(c.keep_alive_timeout_ms),
            max_connections: c.max_connections,
        })
    }
}

/// The accept loop: at most `max_connections` connections at once (the rest wait in the listen
/// backlog), each served by hyper's HTTP/1 with the header-read and keep-alive timeouts. When
/// `stop` fires (or its sender is dropped) it stops accepting, asks every connection to close
/// after its current request, and returns when they have.
async fn serve(listener: TcpListener, app: Router, limits: Limits, mut stop: oneshot::Receiver<()>) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (closing_tx, closing_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let permit = tokio::select! {
            biased;
            _ = &mut stop => break,
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let stream = tokio::select! {
            biased;
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(e) => {
                    if !is_connection_error(&e) {
                        // Out of file descriptors and the like: wait instead of spinning.
                        tracing::error!(target: "vipps_emulator", error = %e, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let closing = closing_rx.clone();
        connections.spawn(async move {
            serve_connection(stream, app, limits, closing).await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = closing_tx.send(true);
    while connections.join_next().await.is_some() {}
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

/// Serves one connection until the client closes it, it times out (see [`Activity`]) or the
/// server shuts down (then after the request in progress).
async fn serve_connection(stream: TcpStream, app: Router, limits: Limits, mut closing: watch::Receiver<bool>) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Tracked {
        inner: stream,
        activity: activity.clone(),
    });
    let in_service = activity.clone();
    let service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
        let guard = InFlight::begin(in_service.clone());
        let app = app.clone();
        async move {
            let answer = tower::ServiceExt::oneshot(app, req).await;
            drop(guard);
            answer
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    // The header-read timeout is enforced below (with the keep-alive one), not by hyper, whose
    // timer would also run while the connection is idle between requests.
    builder.keep_alive(true).header_read_timeout(None);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let mut shutting_down = false;
    loop {
        tokio::select! {
            served = conn.as_mut() => {
                if let Err(e) = served {
                    tracing::debug!(target: "vipps_emulator", error = %e, "connection ended with an error");
                }
                return;
            }
            _ = closing.changed(), if !shutting_down => {
                shutting_down = true;
                conn.as_mut().graceful_shutdown();
            }
            why = activity.expired(limits) => {
                tracing::debug!(target: "vipps_emulator", reason = why, "closing a connection");
                // No request is in progress: dropping the connection closes the socket.
                return;
            }
        }
    }
}

/// What a connection is doing, for its timeouts: a request being handled (no timeout), headers
/// being awaited since an instant (the header-read timeout), or idle since an instant (the
/// keep-alive timeout).
struct Activity {
    state: Mutex<ActivityState>,
    changed: Notify,
}

struct ActivityState {
    in_flight: usize,
    /// Since when the next request's headers are awaited: the connection's start, or the first
    /// byte read after the previous response.
    head_since: Option<Instant>,
    /// When the last response was handed over.
    idle_since: Instant,
}

impl Activity {
    fn new() -> Activity {
        let now = Instant::now();
        Activity {
            state: Mutex::new(ActivityState {
                in_flight: 0,
                head_since: Some(now),
                idle_since: now,
            }),
            changed: Notify::new(),
        }
    }

    /// Bytes arrived: if no request is in progress they start the next one's headers.
    fn on_read(&self) {
        let mut s = self.state.lock();
        if s.in_flight == 0 && s.head_since.is_none() {
            s.head_since = Some(Instant::now());
            drop(s);
            self.changed.notify_one();
        }
    }

    /// Resolves when a timeout has run out (never while a request is in progress).
    async fn expired(&self, limits: Limits) -> &'static str {
        loop {
            let deadline = {
                let s = self.state.lock();
                if s.in_flight > 0 {
                    None
                } else if let Some(since) = s.head_since {
                    Some((since + limits.header_read_timeout, "header read timeout"))
                } else {
                    Some((s.idle_since + limits.keep_alive_timeout, "keep-alive timeout"))
                }
            };
            match deadline {
                None => self.changed.notified().await,
                Some((at, why)) => {
                    if Instant::now() >= at {
                        return why;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep_until(at) => {}
                        _ = self.changed.notified() => {}
                    }
                }
            }
        }
    }
}

/// A request in progress on a connection; dropping it (answered or abandoned) ends it.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn begin(activity: Arc<Activity>) -> InFlight {
        {
            let mut s = activity.state.lock();
            s.in_flight += 1;
            s.head_since = None;
        }
        InFlight(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut s = self.0.state.lock();
        s.in_flight -= 1;
        if s.in_flight == 0 {
            s.idle_since = Instant::now();
            s.head_since = None;
            drop(s);
            self.0.changed.notify_one();
        }
    }
}

/// The socket, reporting reads to the connection's [`Activity`].
struct Tracked {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Tracked {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.on_read();
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
