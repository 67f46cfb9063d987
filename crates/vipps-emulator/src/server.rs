//! Running the emulator on a socket.

use crate::core::clock::Clock;
use crate::core::config::{EmulatorConfig, Merchant};
use crate::core::state::AppState;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

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
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        EmulatorBuilder {
            host: "127.0.0.1".to_owned(),
            port: 0,
            config: EmulatorConfig::default(),
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

    /// Binds and serves in a background task. Requests are logged through `tracing` (target
    /// `vipps_emulator::http`, level `info`) only if that level is enabled now: install your
    /// subscriber before starting.
    pub async fn start(self) -> std::io::Result<RunningEmulator> {
        let listener = TcpListener::bind((self.host.as_str(), self.port)).await?;
        let addr = listener.local_addr()?;
        let url_ip = match addr.ip() {
            ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            ip => ip,
        };
        let base_url = format!("http://{}", SocketAddr::new(url_ip, addr.port()));
        let has_public_url = self.config.public_url.is_some();
        let state = AppState::new(self.config);
        state.set_listen_addr(addr);
        if !has_public_url {
            state.set_public_url(base_url.clone());
        }
        let app = crate::router(state.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!(target: "vipps_emulator", error = %e, "the emulator server stopped");
            }
        });
        tracing::info!(target: "vipps_emulator", %base_url, "emulator listening");
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
    }
}
