//! `vipps webhooks listen`: a local receiver that verifies each delivery and prints it.
//!
//! With `--forward-to URL` it registers itself (for as long as it runs), and forwards every
//! verified event to URL, signed with a new forwarding secret for URL's host and path, so
//! the merchant's handler verifies it as one from Vipps MobilePay. Vipps gets its 2xx as
//! soon as the event is queued for forwarding, not after the forward: a merchant slow to
//! succeed would otherwise make Vipps time out and deliver (and so forward) it again.

use super::event::summary;
use super::forward::{authority_and_path, Forwarder, Schedule, Target};
use crate::payment::client_from_env;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use vipps::types::webhooks::{RegisterWebhookRequest, WebhookEventType};
use vipps::webhooks::WebhookVerifier;
use vipps::{Client, Environment, Secret};

/// Events waiting to be forwarded; past this the receiver answers 503 and Vipps retries.
const QUEUE: usize = 1024;
/// The path of the registered URL when there is no `--public-url`.
const LOCAL_PATH: &str = "/webhooks/vipps";

/// The Recurring event types (`--all` adds them to the ePayment ones).
const RECURRING: [WebhookEventType; 10] = [
    WebhookEventType::RecurringAgreementActivated,
    WebhookEventType::RecurringAgreementRejected,
    WebhookEventType::RecurringAgreementStopped,
    WebhookEventType::RecurringAgreementExpired,
    WebhookEventType::RecurringChargeReserved,
    WebhookEventType::RecurringChargeCaptured,
    WebhookEventType::RecurringChargeCanceled,
    WebhookEventType::RecurringChargeFailed,
    WebhookEventType::RecurringChargeRefunded,
    WebhookEventType::RecurringChargeCreationFailed,
];

#[derive(clap::Args)]
pub struct ListenArgs {
    #[arg(long, default_value_t = 8090)]
    port: u16,
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// The webhook secret from registration (without --forward-to, which registers its own).
    // hide_env_values: `--help` would otherwise print the variable's value.
    #[arg(
        long,
        env = "VIPPS_WEBHOOK_SECRET",
        hide_env_values = true,
        required_unless_present = "forward_to"
    )]
    secret: Option<String>,
    /// Register this receiver on the target (emulator or Vipps MobilePay) while it runs and
    /// forward every verified event to URL, signed with a new forwarding secret.
    #[arg(long, value_name = "URL")]
    forward_to: Option<String>,
    /// The URL Vipps MobilePay reaches this receiver at (a tunnel's https:// URL), if not
    /// http://HOST:PORT/webhooks/vipps.
    #[arg(long, requires = "forward_to")]
    public_url: Option<String>,
    /// Event types to register (default: every ePayment event).
    #[arg(long = "event", requires = "forward_to")]
    events: Vec<String>,
    /// Register every ePayment and Recurring event type.
    #[arg(long, requires = "forward_to", conflicts_with = "events")]
    all: bool,
    /// Attempts per forwarded event before giving up on it.
    #[arg(long, default_value_t = 5)]
    forward_attempts: u32,
    /// Wait after the first failed attempt, doubling after each next one (at most 30 s).
    #[arg(long, default_value_t = 500)]
    forward_backoff_ms: u64,
}

pub async fn run(args: ListenArgs, json: bool) -> Result<(), String> {
    match args.forward_to.clone() {
        None => verify_only(args, json).await,
        Some(url) => forward(args, &url, json).await,
    }
}

/// Receives with a secret registered elsewhere; nothing is registered or forwarded.
async fn verify_only(args: ListenArgs, json: bool) -> Result<(), String> {
    // The SDK refuses an empty secret: with it, any forged delivery would verify.
    let verifier = WebhookVerifier::new(args.secret.unwrap_or_default())
        .map_err(|e| format!("--secret / VIPPS_WEBHOOK_SECRET: {e}"))?;
    let stop = stop_signal()?;
    let listener = bind(&args.host, args.port).await?;
    println!("listening on http://{}", local_addr(&listener)?);
    serve(
        listener,
        Receiver {
            verifier,
            json,
            queue: None,
        },
        stop,
    )
    .await
}

/// Registers, receives and forwards until SIGINT or SIGTERM, then deletes the registration.
async fn forward(args: ListenArgs, forward_to: &str, json: bool) -> Result<(), String> {
    let client = client_from_env()?;
    if args.public_url.is_none() && !matches!(client.config().environment(), Environment::Custom(_)) {
        return Err(format!(
            "Vipps MobilePay ({}) cannot reach a receiver on this machine: give --public-url, \
             the https:// URL of a tunnel to port {}",
            client.config().environment().base_url(),
            args.port
        ));
    }
    let stop = stop_signal()?;
    let forwarding_secret = new_secret();
    let pending = Arc::new(AtomicUsize::new(0));
    let schedule = Schedule {
        attempts: args.forward_attempts,
        backoff: Duration::from_millis(args.forward_backoff_ms),
    };
    let forwarder = Forwarder::new(
        Target::parse(forward_to)?,
        Secret::from(forwarding_secret.clone()),
        schedule,
        Arc::clone(&pending),
    )?;
    let listener = bind(&args.host, args.port).await?;
    let addr = local_addr(&listener)?;
    let url = match &args.public_url {
        Some(u) => u.clone(),
        None => format!("http://{}{LOCAL_PATH}", reachable(addr)),
    };
    let registered = client
        .webhooks()
        .register(RegisterWebhookRequest::new(url.clone(), registered_events(&args)))
        .await
        .map_err(|e| format!("registering {url}: {e}"))?
        .into_inner();
    let served = async {
        let verifier = verifier_for(registered.secret.clone(), args.public_url.as_deref())?;
        announce(json, addr, &registered.id, &url, forward_to, &forwarding_secret);
        let (tx, rx) = mpsc::channel(QUEUE);
        let task = tokio::spawn(forwarder.run(rx));
        let queue = Some(Queue {
            tx,
            pending: Arc::clone(&pending),
        });
        let served = serve(listener, Receiver { verifier, json, queue }, stop).await;
        task.abort();
        served
    }
    .await;
    let left = pending.load(Ordering::SeqCst);
    if left > 0 {
        eprintln!("{left} event(s) received but not forwarded");
    }
    deregister(&client, &registered.id).await?;
    served
}

/// The verifier of the registration's deliveries; behind a tunnel, for the public URL's host
/// and path, which the tunnel may rewrite.
fn verifier_for(secret: String, public_url: Option<&str>) -> Result<WebhookVerifier, String> {
    let verifier = WebhookVerifier::new(secret).map_err(|e| format!("the registration's secret: {e}"))?;
    let Some(public) = public_url else {
        return Ok(verifier);
    };
    let parsed = reqwest::Url::parse(public).map_err(|e| format!("--public-url {public}: {e}"))?;
    let (host, path) = authority_and_path(&parsed)?;
    Ok(verifier.with_public_url(host, path))
}

fn registered_events(args: &ListenArgs) -> Vec<WebhookEventType> {
    if args.all {
        WebhookEventType::EPAYMENT.iter().cloned().chain(RECURRING).collect()
    } else {
        super::event_types(&args.events)
    }
}

/// 32 random bytes, base64url: the secret the merchant's handler verifies forwards with.
fn new_secret() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Prints where it listens, what it registered and, this once, the forwarding secret.
fn announce(json: bool, addr: SocketAddr, id: &str, url: &str, forward_to: &str, secret: &str) {
    if json {
        let v = serde_json::json!({
            "listening": format!("http://{addr}"),
            "webhookId": id,
            "url": url,
            "forwardTo": forward_to,
            "forwardingSecret": secret,
        });
        println!("{v}");
    } else {
        println!("listening on http://{addr}");
        println!("registered webhook {id}: {url}");
        println!("forwarding to {forward_to}");
        println!("forwarding secret (shown only now): {secret}");
    }
}

async fn deregister(client: &Client, id: &str) -> Result<(), String> {
    client
        .webhooks()
        .delete(id)
        .await
        .map_err(|e| format!("deleting webhook {id}: {e} (delete it with `vipps webhooks delete {id}`)"))?;
    eprintln!("deleted webhook {id}");
    Ok(())
}

async fn bind(host: &str, port: u16) -> Result<tokio::net::TcpListener, String> {
    tokio::net::TcpListener::bind((host, port))
        .await
        .map_err(|e| format!("could not listen on {host}:{port}: {e}"))
}

fn local_addr(listener: &tokio::net::TcpListener) -> Result<SocketAddr, String> {
    listener.local_addr().map_err(|e| e.to_string())
}

/// The address to register: a wildcard bind is reached through loopback.
fn reachable(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}

/// Events verified and waiting for the forwarder.
#[derive(Clone)]
struct Queue {
    tx: mpsc::Sender<Bytes>,
    pending: Arc<AtomicUsize>,
}

impl Queue {
    /// Whether the event was queued (not when the queue is full).
    fn push(&self, body: Bytes) -> bool {
        self.pending.fetch_add(1, Ordering::SeqCst);
        let queued = self.tx.try_send(body).is_ok();
        if !queued {
            self.pending.fetch_sub(1, Ordering::SeqCst);
        }
        queued
    }
}

struct Receiver {
    verifier: WebhookVerifier,
    json: bool,
    queue: Option<Queue>,
}

async fn serve(
    listener: tokio::net::TcpListener,
    receiver: Receiver,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let app = axum::Router::new().fallback(receive).with_state(Arc::new(receiver));
    axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await
        .map_err(|e| e.to_string())
}

async fn receive(
    State(r): State<Arc<Receiver>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    if let Err(err) = r.verifier.verify_http(&method, &uri, &headers, &body) {
        eprintln!("rejected {method} {}: {err}", uri.path());
        return StatusCode::UNAUTHORIZED;
    }
    if let Some(q) = &r.queue {
        if !q.push(body.clone()) {
            eprintln!("forward queue full: answered 503, to be delivered again");
            return StatusCode::SERVICE_UNAVAILABLE;
        }
    }
    if r.json {
        println!("{}", String::from_utf8_lossy(&body));
    } else {
        println!("verified {}", summary(&body));
    }
    StatusCode::OK
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM. The handlers are installed at once, not when the
/// future is first polled: a signal while registering must not end the process with the
/// registration left behind.
fn stop_signal() -> Result<impl Future<Output = ()> + Send + 'static, String> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let handler = |kind| signal(kind).map_err(|e| format!("installing a signal handler: {e}"));
        let mut interrupt = handler(SignalKind::interrupt())?;
        let mut terminate = handler(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            eprintln!("stopping");
        })
    }
    #[cfg(not(unix))]
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        eprintln!("stopping");
    })
}
