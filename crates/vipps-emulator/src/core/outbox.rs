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

/// The queue between committed transactions and the one consumer that acts on them.
#[derive(Default)]
pub(crate) struct Outbox {
    queue: Mutex<VecDeque<Message>>,
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
    pub(crate) async fn next_batch(&self) -> Option<Vec<Message>> {
        loop {
            let batch: Vec<Message> = self.queue.lock().drain(..).collect();
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
        self.queue.lock().drain(..).collect()
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
#[derive(Debug, Clone)]
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
#[derive(Debug, Clone, Default)]
pub(crate) struct AuthorizedDetails {
    /// The customer data the scope asked for.
    pub(crate) user_details: Option<UserDetails>,
    /// The user id, when a scope was asked for.
    pub(crate) sub: Option<String>,
    /// Until when a capture is guaranteed.
    pub(crate) capture_guaranteed_until: Option<OffsetDateTime>,
}
