//! The delivery log behind `GET /_emulator/deliveries`: every attempt, oldest first, bounded
//! by count and size, read a page at a time.
//!
//! An attempt keeps the body it sent as the shared `Bytes` of its delivery (retries share
//! one buffer) and is turned into JSON only when a page is served; listing copies only the
//! page, under the lock, not the whole log.
//!
//! Next to it, bounded the same way, the deliveries themselves (`Kept`), for
//! `POST /_emulator/deliveries/{id}/resend`.

use crate::core::outbox::Outbound;
use bytes::Bytes;
use serde::{Serialize, Serializer};
use std::collections::{BTreeMap, VecDeque};

/// The most attempts the log keeps; the oldest go first.
const MAX_ATTEMPTS: usize = 100_000;
/// The most bytes the log keeps (bodies and texts; a body shared by retries is counted once
/// per attempt, so this overestimates).
const MAX_BYTES: usize = 64 << 20;

/// One attempt, as listed by `GET /_emulator/deliveries`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Attempt {
    /// The delivery's id (the one `POST /_emulator/deliveries/{id}/resend` takes); the same
    /// as `deliveryId`, which stays for older tools.
    pub(crate) id: u64,
    /// The attempt's place in the log (increasing, never reused until a reset): the cursor of
    /// `?after=`.
    pub(crate) seq: u64,
    /// Sequence number of the delivery (all its attempts share it).
    pub(crate) delivery_id: u64,
    /// The delivery this one resends, if it is a resend.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) resend_of: Option<u64>,
    /// Kind.
    pub(crate) kind: &'static str,
    /// Merchant.
    pub(crate) msn: String,
    /// Reference or order id.
    pub(crate) reference: String,
    /// Event name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) event: Option<String>,
    /// Target URL, without user information.
    pub(crate) url: String,
    /// 1-based attempt number; 0 for a webhook event not sent because an earlier event of its
    /// payment was never delivered.
    pub(crate) attempt: u32,
    /// HTTP status, when the receiver answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) status: Option<u16>,
    /// Transport error or timeout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    /// Whether this attempt succeeded (2xx).
    pub(crate) success: bool,
    /// Whether the delivery is finished (succeeded, or no attempts left).
    pub(crate) finished: bool,
    /// When (real time, RFC 3339).
    pub(crate) at: String,
    /// The body sent, shown as JSON (null if it is not JSON).
    #[serde(serialize_with = "as_json")]
    pub(crate) body: Bytes,
}

fn as_json<S: Serializer>(body: &Bytes, s: S) -> Result<S::Ok, S::Error> {
    serde_json::from_slice::<serde_json::Value>(body)
        .unwrap_or(serde_json::Value::Null)
        .serialize(s)
}

impl Attempt {
    fn size(&self) -> usize {
        // The fixed part is a rough allowance for the struct and its small strings.
        128 + self.body.len()
            + self.msn.len()
            + self.reference.len()
            + self.url.len()
            + self.event.as_ref().map_or(0, String::len)
            + self.error.as_ref().map_or(0, String::len)
    }
}

/// Which attempts a page holds: filters, a cursor and a size.
#[derive(Debug, Clone, Default)]
pub(crate) struct Page {
    /// Only this kind (`webhook`, `checkout-callback`, …).
    pub(crate) kind: Option<String>,
    /// Only this reference (or order id).
    pub(crate) reference: Option<String>,
    /// Only attempts whose `seq` is greater.
    pub(crate) after: Option<u64>,
    /// At most this many.
    pub(crate) limit: usize,
}

/// The log itself.
#[derive(Debug, Default)]
pub(crate) struct DeliveryLog {
    attempts: VecDeque<Attempt>,
    bytes: usize,
    next_seq: u64,
}

impl DeliveryLog {
    /// Appends an attempt (its `seq` is assigned here), dropping the oldest beyond the bounds.
    pub(crate) fn push(&mut self, mut a: Attempt) {
        self.next_seq += 1;
        a.seq = self.next_seq;
        self.bytes += a.size();
        self.attempts.push_back(a);
        while self.attempts.len() > MAX_ATTEMPTS || (self.bytes > MAX_BYTES && self.attempts.len() > 1) {
            if let Some(old) = self.attempts.pop_front() {
                self.bytes -= old.size();
            }
        }
    }

    /// The attempts of `page` (clones of those only) and whether more match after them.
    pub(crate) fn page(&self, page: &Page) -> (Vec<Attempt>, bool) {
        // seq increases along the deque: start at the first one after the cursor.
        let start = page
            .after
            .map_or(0, |after| self.attempts.partition_point(|a| a.seq <= after));
        let mut matching = self
            .attempts
            .range(start..)
            .filter(|a| page.kind.as_deref().is_none_or(|k| a.kind == k))
            .filter(|a| page.reference.as_deref().is_none_or(|r| a.reference == r));
        let items: Vec<Attempt> = matching.by_ref().take(page.limit).cloned().collect();
        let more = matching.next().is_some();
        (items, more)
    }

    /// Forgets every attempt.
    pub(crate) fn clear(&mut self) {
        self.attempts.clear();
        self.bytes = 0;
    }
}

/// The most deliveries kept for resending; the oldest go first.
const MAX_KEPT: usize = 100_000;
/// The most bytes the kept deliveries may hold (bodies, URLs, headers; a body shared with
/// the log is counted here too).
const MAX_KEPT_BYTES: usize = 64 << 20;

/// The deliveries that may be resent, by id, bounded by count and size like the log.
#[derive(Default)]
pub(crate) struct Kept {
    deliveries: BTreeMap<u64, Outbound>,
    bytes: usize,
}

fn kept_size(o: &Outbound) -> usize {
    // The fixed part is a rough allowance for the struct, its closures and small strings.
    256 + o.body.len()
        + o.url.len()
        + o.msn.len()
        + o.reference.len()
        + o.ordering_key.len()
        + o.headers.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
}

impl Kept {
    /// Keeps delivery `id` (ids increase), dropping the oldest beyond the bounds.
    pub(crate) fn push(&mut self, id: u64, o: Outbound) {
        self.bytes += kept_size(&o);
        if let Some(old) = self.deliveries.insert(id, o) {
            self.bytes -= kept_size(&old);
        }
        while self.deliveries.len() > MAX_KEPT || (self.bytes > MAX_KEPT_BYTES && self.deliveries.len() > 1) {
            if let Some((_, old)) = self.deliveries.pop_first() {
                self.bytes -= kept_size(&old);
            }
        }
    }

    /// Delivery `id`, unless it was never made or has been dropped.
    pub(crate) fn get(&self, id: u64) -> Option<Outbound> {
        self.deliveries.get(&id).cloned()
    }

    /// Forgets every delivery.
    pub(crate) fn clear(&mut self) {
        self.deliveries.clear();
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(reference: &str, body: &'static [u8]) -> Attempt {
        Attempt {
            id: 1,
            seq: 0,
            delivery_id: 1,
            resend_of: None,
            kind: "webhook",
            msn: "123456".into(),
            reference: reference.into(),
            event: None,
            url: "http://127.0.0.1:1/h".into(),
            attempt: 1,
            status: None,
            error: None,
            success: false,
            finished: true,
            at: String::new(),
            body: Bytes::from_static(body),
        }
    }

    #[test]
    fn pages_follow_the_cursor_and_filters() {
        let mut log = DeliveryLog::default();
        for i in 0..10 {
            log.push(attempt(if i % 2 == 0 { "even" } else { "odd" }, b"{}"));
        }
        let page = |after, limit, reference: Option<&str>| Page {
            kind: None,
            reference: reference.map(str::to_owned),
            after,
            limit,
        };
        let (first, more) = log.page(&page(None, 3, Some("odd")));
        assert_eq!(first.iter().map(|a| a.seq).collect::<Vec<_>>(), [2, 4, 6]);
        assert!(more);
        let (rest, more) = log.page(&page(Some(6), 3, Some("odd")));
        assert_eq!(rest.iter().map(|a| a.seq).collect::<Vec<_>>(), [8, 10]);
        assert!(!more);
    }

    #[test]
    fn the_log_is_bounded_by_size() {
        static BIG: [u8; 1 << 20] = [b' '; 1 << 20];
        let mut log = DeliveryLog::default();
        for _ in 0..100 {
            log.push(attempt("r", &BIG));
        }
        assert!(log.bytes <= MAX_BYTES, "{}", log.bytes);
        assert!(log.attempts.len() < 100);
        assert_eq!(log.attempts.back().map(|a| a.seq), Some(100), "the newest stay");
    }

    #[test]
    fn kept_deliveries_are_bounded_by_size() {
        static BIG: [u8; 1 << 20] = [b' '; 1 << 20];
        let mut kept = Kept::default();
        for id in 1..=100 {
            kept.push(
                id,
                Outbound {
                    kind: "webhook",
                    msn: "123456".into(),
                    reference: "r".into(),
                    event: None,
                    url: "http://127.0.0.1:1/h".into(),
                    method: "POST",
                    headers: Vec::new(),
                    body: Bytes::from_static(&BIG),
                    schedule: Default::default(),
                    sign: None,
                    ordering_key: "k".into(),
                    on_attempt: None,
                    blocks_later: false,
                    guard: None,
                },
            );
        }
        assert!(kept.bytes <= MAX_KEPT_BYTES, "{}", kept.bytes);
        assert!(kept.get(1).is_none(), "the oldest went");
        assert!(kept.get(100).is_some(), "the newest stay");
    }
}
