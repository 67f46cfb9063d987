//! What a transaction hands on after it commits: deliveries to send (webhooks, callbacks) and
//! the payment events it recorded. Queued in commit order under the store's lock (a push, no
//! callback), then taken by one consumer (the delivery engine) after the lock is released, so
//! nothing a transaction causes runs while the store is held, and order per payment is kept.

use crate::core::config::RetrySchedule;
use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use time::OffsetDateTime;
use vipps_types::epayment::{PaymentEvent, UserDetails};

/// Computes per-attempt headers from the method, URL and body (webhook signatures carry the
/// send time, so they are made anew for each attempt).
pub(crate) type Signer = Arc<dyn Fn(&str, &url::Url, &[u8]) -> Vec<(String, String)> + Send + Sync>;

/// Told after every attempt whether it was delivered (a 2xx); answers whether to go on
/// retrying (false: stop, say because the webhook is gone).
pub(crate) type AttemptHook = Arc<dyn Fn(bool) -> bool + Send + Sync>;

/// A request to a merchant's endpoint, to be sent with retries.
#[derive(Clone)]
pub(crate) struct Outbound {
    /// `webhook`, `checkout-callback`, `ecom-callback`, …
    pub(crate) kind: &'static str,
    /// The merchant.
    pub(crate) msn: String,
    /// What it is about (a reference, an order id).
    pub(crate) reference: String,
    /// An event name, if any.
    pub(crate) event: Option<String>,
    /// Target URL.
    pub(crate) url: String,
    /// HTTP method (`POST`, `DELETE`).
    pub(crate) method: &'static str,
    /// Headers (besides the signature, which `sign` adds per attempt).
    pub(crate) headers: Vec<(String, String)>,
    /// Body (JSON).
    pub(crate) body: Bytes,
    /// Retry schedule.
    pub(crate) schedule: RetrySchedule,
    /// Computes extra headers for each attempt.
    pub(crate) sign: Option<Signer>,
    /// Deliveries with the same key are sent in order, one at a time.
    pub(crate) ordering_key: String,
    /// Called after each attempt (see [`AttemptHook`]).
    pub(crate) on_attempt: Option<AttemptHook>,
    /// Whether a delivery that ends undelivered blocks every later one of its ordering key for
    /// good (the Webhooks API's rule; callbacks go on with the next).
    pub(crate) blocks_later: bool,
    /// Held until the delivery is finished: the message that caused it keeps its row in the
    /// data dir while any of its deliveries is still going (see [`DoneGuard`]).
    pub(crate) guard: Option<DoneGuard>,
}

/// Kept alive by every delivery a saved message caused; when the last one is finished (or
/// the message caused none), the message's row is deleted. A delivery still going at a crash
/// leaves the row, and the message is acted on again after the restart: at least once.
#[derive(Clone)]
pub(crate) struct DoneGuard {
    _done: Arc<dyn Send + Sync>,
}

impl DoneGuard {
    /// A guard that runs `done` when its last clone is dropped.
    pub(crate) fn new(done: impl FnOnce() + Send + Sync + 'static) -> Self {
        struct OnDrop<F: FnOnce()>(Option<F>);
        impl<F: FnOnce()> Drop for OnDrop<F> {
            fn drop(&mut self) {
                if let Some(f) = self.0.take() {
                    f();
                }
            }
        }
        DoneGuard {
            _done: Arc::new(OnDrop(Some(done))),
        }
    }
}

thread_local! {
    /// The guard of the message the outbox's consumer is acting on, while it does (the
    /// deliveries queued meanwhile take a clone).
    static ACTING_ON: std::cell::RefCell<Option<DoneGuard>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` with `guard` as the guard of the message acted on.
pub(crate) fn acting_on<R>(guard: Option<DoneGuard>, f: impl FnOnce() -> R) -> R {
    let previous = ACTING_ON.with(|g| g.replace(guard));
    let r = f();
    ACTING_ON.with(|g| *g.borrow_mut() = previous);
    r
}

/// The guard of the message being acted on, if any.
pub(crate) fn current_guard() -> Option<DoneGuard> {
    ACTING_ON.with(|g| g.borrow().clone())
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbound")
            .field("kind", &self.kind)
            .field("url", &self.url)
            .field("event", &self.event)
            .finish_non_exhaustive()
    }
}

/// One thing a committed transaction hands on.
#[derive(Debug)]
pub(crate) enum Message {
    /// Send this.
    Deliver(Box<Outbound>),
    /// These payment events were recorded, oldest first (webhooks fan them out).
    PaymentEvents(Vec<PublishedEvent>),
    /// These events of the other APIs were recorded, oldest first (webhooks fan them out).
    ApiEvents(Vec<ApiEvent>),
}

/// A message as queued: with the number of its row in the data dir, if it has one (the row
/// goes once everything the message caused is done, see [`DoneGuard`]).
pub(crate) type Queued = (Option<u64>, Message);

/// The queue between committed transactions and the one consumer that acts on them.
#[derive(Default)]
pub(crate) struct Outbox {
    queue: Mutex<VecDeque<Queued>>,
    wake: tokio::sync::Notify,
    /// Whether a consumer is running; while none is (no Tokio runtime), nothing is queued.
    consumed: AtomicBool,
    /// Set when the store is gone: the consumer stops.
    closed: AtomicBool,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("queued", &self.queue.lock().len())
            .finish_non_exhaustive()
    }
}

impl Outbox {
    /// Queues `messages` in order (called under the store's lock: a push, nothing more).
    pub(crate) fn push(&self, messages: impl IntoIterator<Item = Message>) {
        if !self.consumed.load(Ordering::Acquire) {
            tracing::debug!(target: "vipps_emulator::outbox", "no consumer (outside a Tokio runtime): dropped");
            return;
        }
        self.queue.lock().extend(messages.into_iter().map(|m| (None, m)));
    }

    /// Queues messages that have rows in the data dir, in order.
    pub(crate) fn push_saved(&self, messages: impl IntoIterator<Item = Queued>) {
        if !self.consumed.load(Ordering::Acquire) {
            return;
        }
        self.queue.lock().extend(messages);
    }

    /// Wakes the consumer (after the store's lock is released).
    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }

    /// Marks a consumer as running (from now on messages are queued).
    pub(crate) fn start_consuming(&self) {
        self.consumed.store(true, Ordering::Release);
    }

    /// Waits until something is queued, then takes all of it, oldest first; `None` once the
    /// store is gone.
    pub(crate) async fn next_batch(&self) -> Option<Vec<Queued>> {
        loop {
            let batch: Vec<Queued> = self.queue.lock().drain(..).collect();
            if !batch.is_empty() {
                return Some(batch);
            }
            if self.closed.load(Ordering::Acquire) {
                return None;
            }
            self.wake.notified().await;
        }
    }

    /// The store is gone: wakes the consumer to stop.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    /// Takes everything queued now, without waiting.
    #[cfg(test)]
    pub(crate) fn drain_now(&self) -> Vec<Message> {
        self.queue.lock().drain(..).map(|(_, m)| m).collect()
    }

    /// Drops everything queued.
    pub(crate) fn clear(&self) {
        self.queue.lock().clear();
    }
}

/// An event of an API that keeps no ePayment payment log (the core knows it only as a webhook
/// event type, a subject and a rendered payload), handed on to webhooks after the transaction
/// that recorded it.
#[derive(Debug, Clone)]
pub(crate) struct ApiEvent {
    /// The merchant.
    pub(crate) msn: Arc<str>,
    /// The webhook event type (`recurring.charge-captured.v1`).
    pub(crate) event_type: &'static str,
    /// What the event is about: events of one subject are delivered to a webhook in the order
    /// they were recorded (an agreement id, say).
    pub(crate) subject: Arc<str>,
    /// The payload, as it is sent.
    pub(crate) body: Bytes,
}

/// A payment event handed on (to webhooks) after the transaction that recorded it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct PublishedEvent {
    /// The merchant.
    pub(crate) msn: String,
    /// The event, as in the payment's event log.
    pub(crate) event: PaymentEvent,
    /// For `AUTHORIZED`: what the 2026 webhook payload adds (shared data, `sub`, capture
    /// guarantee).
    pub(crate) authorized: Option<Box<AuthorizedDetails>>,
}

/// What an `AUTHORIZED` webhook carries besides the event.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct AuthorizedDetails {
    /// The customer data the scope asked for.
    pub(crate) user_details: Option<UserDetails>,
    /// The user id, when a scope was asked for.
    pub(crate) sub: Option<String>,
    /// Until when a capture is guaranteed.
    pub(crate) capture_guaranteed_until: Option<OffsetDateTime>,
}

/// A message as a data dir keeps it (see `store/unfinished.rs`).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub(crate) enum SavedMessage {
    /// A delivery the transaction queued (a callback).
    Deliver(Box<SavedOutbound>),
    /// Payment events to fan out.
    PaymentEvents { events: Vec<PublishedEvent> },
    /// Other APIs' events to fan out.
    ApiEvents { events: Vec<SavedApiEvent> },
}

/// An [`Outbound`] without its hooks (messages carrying hooks are not saved).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SavedOutbound {
    kind: String,
    msn: String,
    reference: String,
    event: Option<String>,
    url: String,
    method: String,
    headers: Vec<(String, String)>,
    /// Base64.
    body: String,
    schedule: RetrySchedule,
    ordering_key: String,
    blocks_later: bool,
}

/// An [`ApiEvent`] as saved.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SavedApiEvent {
    msn: String,
    event_type: String,
    subject: String,
    /// Base64.
    body: String,
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(s: &str) -> Result<Bytes, String> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map(Bytes::from)
        .map_err(|e| format!("body: {e}"))
}

impl Message {
    /// The message as a data dir keeps it; `None` for a delivery with hooks, which cannot be
    /// saved (none is queued by a transaction today).
    pub(crate) fn saved(&self) -> Option<SavedMessage> {
        Some(match self {
            Message::Deliver(o) => {
                if o.sign.is_some() || o.on_attempt.is_some() {
                    return None;
                }
                SavedMessage::Deliver(Box::new(SavedOutbound {
                    kind: o.kind.to_owned(),
                    msn: o.msn.clone(),
                    reference: o.reference.clone(),
                    event: o.event.clone(),
                    url: o.url.clone(),
                    method: o.method.to_owned(),
                    headers: o.headers.clone(),
                    body: b64(&o.body),
                    schedule: o.schedule.clone(),
                    ordering_key: o.ordering_key.clone(),
                    blocks_later: o.blocks_later,
                }))
            }
            Message::PaymentEvents(events) => SavedMessage::PaymentEvents { events: events.clone() },
            Message::ApiEvents(events) => SavedMessage::ApiEvents {
                events: events
                    .iter()
                    .map(|e| SavedApiEvent {
                        msn: e.msn.to_string(),
                        event_type: e.event_type.to_owned(),
                        subject: e.subject.to_string(),
                        body: b64(&e.body),
                    })
                    .collect(),
            },
        })
    }
}

impl SavedMessage {
    /// The message again.
    pub(crate) fn restore(self) -> Result<Message, String> {
        use crate::core::persist::intern;
        Ok(match self {
            SavedMessage::Deliver(o) => Message::Deliver(Box::new(Outbound {
                kind: intern(&o.kind),
                msn: o.msn,
                reference: o.reference,
                event: o.event,
                url: o.url,
                method: intern(&o.method),
                headers: o.headers,
                body: unb64(&o.body)?,
                schedule: o.schedule,
                sign: None,
                ordering_key: o.ordering_key,
                on_attempt: None,
                blocks_later: o.blocks_later,
                guard: None,
            })),
            SavedMessage::PaymentEvents { events } => Message::PaymentEvents(events),
            SavedMessage::ApiEvents { events } => Message::ApiEvents(
                events
                    .into_iter()
                    .map(|e| {
                        Ok(ApiEvent {
                            msn: e.msn.into(),
                            event_type: intern(&e.event_type),
                            subject: e.subject.into(),
                            body: unb64(&e.body)?,
                        })
                    })
                    .collect::<Result<_, String>>()?,
            ),
        })
    }
}
