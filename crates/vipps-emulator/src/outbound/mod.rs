//! Outbound HTTP from the emulator to merchants (webhooks, Checkout and eCom callbacks),
//! with retries, per-key ordering, and a log served at `GET /_emulator/deliveries`.
//!
//! Deliveries run on background tasks: they never slow down or block an API call.
//! Each attempt holds a permit of its receiver (host and port) and one of the engine while it
//! is in flight, not while it waits to retry: at most `max_deliveries_per_host` and
//! `max_deliveries_in_flight` sockets are open at once. The semaphores are fair, so waiting
//! attempts go out in the order they asked.
//! Deliveries that share an ordering key (a webhook and a payment, say) are sent one after
//! the other, each finished (delivered or given up) before the next starts. A webhook event
//! that is never delivered blocks the later events of its payment to that webhook for good
//! (`Outbound::blocks_later`): webhooks--api-guide.md, "a new notification about the same
//! payment being captured will not be sent unless you reply with a successful HTTP status code
//! to one of the retry attempts", and "after all retries are exhausted, the notification is
//! never sent again". Each blocked event is logged once, as not sent (attempt 0).

use crate::core::outbox::{Message, Outbox};
use crate::core::state::{AppState, WeakAppState};
use bytes::{Bytes, BytesMut};
use http::{header, StatusCode};
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

pub(crate) use crate::core::config::RetrySchedule;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

/// The most a merchant's answer to a call the customer waits on may hold (1 MiB).
pub(crate) const MERCHANT_ANSWER_LIMIT: usize = 1 << 20;

/// POSTs JSON to a merchant's endpoint while the customer waits (dynamic shipping): the
/// `Authorization` header when given, at most `timeout`. Failures come back as a short reason
/// (`timed out`, `connection failed`, …), never with the token in it.
pub(crate) async fn call_merchant(
    client: &reqwest::Client,
    url: &str,
    auth: Option<&str>,
    body: &impl serde::Serialize,
    timeout: std::time::Duration,
) -> Result<(StatusCode, Bytes), String> {
    let mut req = client.post(url).timeout(timeout).json(body);
    if let Some(a) = auth {
        req = req.header(header::AUTHORIZATION, a);
    }
    let call = async {
        let mut r = req.send().await.map_err(Some)?;
        let status = r.status();
        let mut body = BytesMut::new();
        while let Some(chunk) = r.chunk().await.map_err(Some)? {
            if body.len() + chunk.len() > MERCHANT_ANSWER_LIMIT {
                return Err(None::<reqwest::Error>);
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, body.freeze()))
    };
    match tokio::time::timeout(timeout, call).await {
        Err(_) => Err("timed out".into()),
        Ok(Err(None)) => Err(format!("answered with more than {MERCHANT_ANSWER_LIMIT} bytes")),
        Ok(Err(Some(e))) if e.is_timeout() => Err("timed out".into()),
        Ok(Err(Some(e))) if e.is_connect() => Err(connect_failure(&e)),
        Ok(Err(Some(_))) => Err("request failed".into()),
        Ok(Ok(x)) => Ok(x),
    }
}

/// Why a connection was not made: the guard's reason when it refused the receiver's
/// addresses, else just that it failed (the error's text may carry the URL and its token).
fn connect_failure(e: &reqwest::Error) -> String {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(c) = cause {
        if let Some(refused) = c.downcast_ref::<resolve::NotPublic>() {
            return refused.to_string();
        }
        cause = c.source();
    }
    "connection failed".into()
}

pub(crate) use crate::core::outbox::{AttemptHook, Outbound};
pub(crate) use log::{Attempt, Page};

mod log;
mod resolve;

use resolve::GuardedResolver;

/// A delivery waiting in its ordering key's queue: its id, the delivery it resends (if any).
type Queued = (u64, Option<u64>, Outbound);

/// The delivery engine.
pub(crate) struct Deliveries {
    client: reqwest::Client,
    log: Mutex<log::DeliveryLog>,
    /// The deliveries, for resending. A leaf lock, never held with `log`.
    kept: Mutex<log::Kept>,
    queues: Mutex<HashMap<String, mpsc::UnboundedSender<Queued>>>,
    /// Ordering keys whose earlier delivery ran out of attempts undelivered (`blocks_later`).
    blocked: Mutex<HashSet<String>>,
    next_id: std::sync::atomic::AtomicU64,
    /// Attempts in flight over all receivers.
    in_flight: Arc<Semaphore>,
    /// Attempts in flight per receiver (`host:port`), each at most `per_host`.
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
    per_host: usize,
}

impl Deliveries {
    /// A new engine with at most `in_flight` attempts at once, `per_host` to one receiver,
    /// resolving names with `resolver`.
    fn new(in_flight: usize, per_host: usize, resolver: &GuardedResolver) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(resolver.clone()))
            .connect_timeout(Duration::from_secs(5))
            // Idle keep-alive sockets are bounded too: at most `per_host` per receiver.
            .pool_max_idle_per_host(per_host.max(1))
            .build()
            .unwrap_or_default();
        Deliveries {
            client,
            log: Mutex::new(log::DeliveryLog::default()),
            kept: Mutex::new(log::Kept::default()),
            queues: Mutex::new(HashMap::new()),
            blocked: Mutex::new(HashSet::new()),
            next_id: std::sync::atomic::AtomicU64::new(1),
            in_flight: Arc::new(Semaphore::new(in_flight.max(1))),
            hosts: Mutex::new(HashMap::new()),
            per_host: per_host.max(1),
        }
    }

    /// Waits for a turn to send to `url`: the receiver's permit first, so an attempt waiting
    /// for a busy receiver holds no global permit that others could use.
    async fn turn(&self, url: &url::Url) -> Option<(OwnedSemaphorePermit, OwnedSemaphorePermit)> {
        let key = format!(
            "{}:{}",
            url.host_str().unwrap_or(""),
            url.port_or_known_default().unwrap_or(0)
        );
        let host = {
            let mut hosts = self.hosts.lock();
            // Receivers nobody is sending to are forgotten, so the map stays small.
            if hosts.len() > 1024 {
                hosts.retain(|_, s| Arc::strong_count(s) > 1);
            }
            Arc::clone(
                hosts
                    .entry(key)
                    .or_insert_with(|| Arc::new(Semaphore::new(self.per_host))),
            )
        };
        let host = host.acquire_owned().await.ok()?;
        let all = Arc::clone(&self.in_flight).acquire_owned().await.ok()?;
        Some((host, all))
    }

    /// Queues a delivery; returns its id. Must be called from within a Tokio runtime.
    pub(crate) fn send(self: &Arc<Self>, o: Outbound) -> u64 {
        self.enqueue(o, None)
    }

    /// Delivery `id` as it was queued, while it is kept (see `log::Kept`).
    pub(crate) fn original(&self, id: u64) -> Option<Outbound> {
        self.kept.lock().get(id)
    }

    /// Queues `o`, delivery `of` (from [`Self::original`]), once more as a new delivery with
    /// its own id, returned. The headers are made anew per attempt as for the original (a
    /// webhook's signature and date). It is a manual action: not held back by an undelivered
    /// earlier event (`blocks_later`), and blocking nothing itself; resends of one delivery
    /// go out in order, apart from the payment's other deliveries.
    pub(crate) fn resend(self: &Arc<Self>, of: u64, mut o: Outbound) -> u64 {
        o.blocks_later = false;
        o.ordering_key = format!("resend:{of}");
        self.enqueue(o, Some(of))
    }

    fn enqueue(self: &Arc<Self>, mut o: Outbound, resend_of: Option<u64>) -> u64 {
        let id = self.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // What is kept for a resend must not hold the message's row (see `DoneGuard`).
        self.kept.lock().push(id, o.clone());
        if o.guard.is_none() {
            o.guard = crate::core::outbox::current_guard();
        }
        let mut queues = self.queues.lock();
        let key = o.ordering_key.clone();
        if let Some(tx) = queues.get(&key) {
            if tx.send((id, resend_of, o.clone())).is_ok() {
                return id;
            }
        }
        let (tx, mut rx) = mpsc::unbounded_channel::<Queued>();
        let _ = tx.send((id, resend_of, o));
        queues.insert(key.clone(), tx);
        drop(queues);
        let this = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                let next = tokio::time::timeout(Duration::from_secs(30), rx.recv()).await;
                match next {
                    Ok(Some((id, of, o))) => this.deliver(id, of, o).await,
                    _ => {
                        // Idle or closed: retire the queue unless something arrived meanwhile.
                        let mut q = this.queues.lock();
                        if let Ok((id, of, o)) = rx.try_recv() {
                            drop(q);
                            this.deliver(id, of, o).await;
                            continue;
                        }
                        q.remove(&key);
                        break;
                    }
                }
            }
        });
        id
    }

    async fn deliver(&self, id: u64, resend_of: Option<u64>, o: Outbound) {
        let record = |n, status, error, finished| self.record(&o, (id, resend_of), n, status, error, finished);
        let Ok(url) = url::Url::parse(&o.url) else {
            record(1, None, Some("invalid URL".into()), true);
            return;
        };
        if o.blocks_later && self.blocked.lock().contains(&o.ordering_key) {
            let why = "not sent: an earlier event of this payment to this webhook was never delivered";
            record(0, None, Some(why.into()), true);
            return;
        }
        let attempts = o.schedule.max_attempts.max(1);
        for n in 1..=attempts {
            let method = http::Method::from_bytes(o.method.as_bytes()).unwrap_or(http::Method::POST);
            let mut req = self
                .client
                .request(method, url.clone())
                .timeout(Duration::from_millis(o.schedule.timeout_ms.max(1)))
                .header("content-type", "application/json")
                .body(o.body.clone());
            for (k, v) in &o.headers {
                req = req.header(k.as_str(), v.as_str());
            }
            if let Some(sign) = &o.sign {
                for (k, v) in sign(o.method, &url, &o.body) {
                    req = req.header(k.as_str(), v.as_str());
                }
            }
            // The semaphores are never closed; without a permit nothing is sent.
            let Some(permits) = self.turn(&url).await else { return };
            let sent = req.send().await;
            drop(permits);
            let (status, error) = match sent {
                Ok(r) => (Some(r.status().as_u16()), None),
                Err(e) if e.is_timeout() => (None, Some("timed out".to_owned())),
                Err(e) if e.is_connect() => (None, Some(connect_failure(&e))),
                Err(_) => (None, Some("request failed".to_owned())),
            };
            let success = status.is_some_and(|s| (200..300).contains(&s));
            let go_on = o.on_attempt.as_ref().is_none_or(|hook| hook(success));
            let finished = success || n == attempts || !go_on;
            record(n, status, error, finished);
            if finished {
                if !success && o.blocks_later {
                    self.blocked.lock().insert(o.ordering_key.clone());
                }
                return;
            }
            tokio::time::sleep(o.schedule.backoff(n)).await;
        }
    }

    /// Logs one attempt of delivery `ids.0` (a resend of `ids.1`).
    fn record(
        &self,
        o: &Outbound,
        ids: (u64, Option<u64>),
        attempt: u32,
        status: Option<u16>,
        error: Option<String>,
        finished: bool,
    ) {
        let (id, resend_of) = ids;
        let success = status.is_some_and(|s| (200..300).contains(&s));
        let at = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let attempt = Attempt {
            id,
            seq: 0,
            delivery_id: id,
            resend_of,
            kind: o.kind,
            msn: o.msn.clone(),
            reference: o.reference.clone(),
            event: o.event.clone(),
            url: crate::core::redact::url_for_log(&o.url),
            attempt,
            status,
            error,
            success,
            finished,
            at,
            body: o.body.clone(),
        };
        self.log.lock().push(attempt);
    }

    /// One page of the log, oldest first: the attempts after `page.after` that pass the
    /// filters, at most `page.limit`; and whether more follow.
    pub(crate) fn attempts(&self, page: &Page) -> (Vec<Attempt>, bool) {
        self.log.lock().page(page)
    }

    /// Forgets the log, the kept deliveries and the blocked orderings.
    pub(crate) fn clear(&self) {
        self.log.lock().clear();
        self.kept.lock().clear();
        self.blocked.lock().clear();
    }
}

/// The delivery engine as a part of the emulator's state, with the client for calls the
/// customer waits on (dynamic shipping): no redirects followed.
pub(crate) struct Engine {
    deliveries: Arc<Deliveries>,
    merchant_http: reqwest::Client,
    /// How both clients resolve names.
    resolver: GuardedResolver,
    /// The outbox's consumer, once started.
    consumer: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Engine {
    /// A new engine: at most `in_flight` deliveries at once, `per_host` to one receiver.
    pub(crate) fn new(in_flight: usize, per_host: usize) -> Self {
        let resolver = GuardedResolver::default();
        Engine {
            deliveries: Arc::new(Deliveries::new(in_flight, per_host, &resolver)),
            merchant_http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .dns_resolver(Arc::new(resolver.clone()))
                .build()
                .unwrap_or_default(),
            resolver,
            consumer: Mutex::new(None),
        }
    }
}

/// Takes what committed transactions hand on, in order: deliveries go to the engine, payment
/// events to the parts that act on them (webhooks). Ends when the store is gone.
async fn consume(outbox: Arc<Outbox>, state: WeakAppState) {
    while let Some(batch) = outbox.next_batch().await {
        let Some(state) = state.upgrade() else { return };
        for (row, message) in batch {
            // The deliveries it causes keep a saved message's row until they are finished.
            let guard = row.and_then(|r| state.store().message_guard(r));
            crate::core::outbox::acting_on(guard, || match message {
                Message::Deliver(o) => {
                    state.deliveries().send(*o);
                }
                Message::PaymentEvents(events) => state.publish(&events),
                Message::ApiEvents(events) => state.publish_api(&events),
            });
        }
    }
}

impl crate::core::state::Part for Engine {
    fn start(&self, state: &AppState) {
        let mut task = self.consumer.lock();
        if task.as_ref().is_some_and(|t| !t.is_finished()) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let outbox = Arc::clone(state.store().outbox());
        outbox.start_consuming();
        *task = Some(runtime.spawn(consume(outbox, state.downgrade())));
    }

    fn reset(&self) {
        self.deliveries.clear();
    }
}

/// The outbound side of an emulator.
pub(crate) trait DeliveriesExt {
    /// The delivery engine (webhooks, callbacks).
    fn deliveries(&self) -> &Arc<Deliveries>;
    /// The client for calls the customer waits on (dynamic shipping): no redirects followed.
    fn merchant_http(&self) -> &reqwest::Client;
    /// Whether the emulator listens off loopback, where strangers may register URLs: names in
    /// them must then resolve to public addresses (`outbound/resolve.rs`).
    fn set_exposed(&self, exposed: bool);
}

impl DeliveriesExt for AppState {
    fn deliveries(&self) -> &Arc<Deliveries> {
        &self.engine().deliveries
    }

    fn merchant_http(&self) -> &reqwest::Client {
        &self.engine().merchant_http
    }

    fn set_exposed(&self, exposed: bool) {
        self.engine().resolver.set_exposed(exposed);
    }
}

trait EngineOf {
    fn engine(&self) -> &Engine;
}

impl EngineOf for AppState {
    fn engine(&self) -> &Engine {
        self.part::<Engine>()
            .expect("the composition root registers the delivery engine")
    }
}
