//! The eCom data behind its lock, the timeouts and the callbacks they cause.

use super::order::Order;
#[allow(unused_imports)]
use super::{consent::*, customer::*, handlers::*, request::*};
use crate::core::customer::Person;
use crate::core::error::Stored;
use crate::core::state::AppState;
use crate::core::store::Fingerprint;
use crate::outbound::{DeliveriesExt, Outbound, RetrySchedule};
use parking_lot::Mutex;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use time::OffsetDateTime;
use vipps_types::ecom::{CallbackStatus, TransactionUpdateCallback};
use vipps_types::Currency;

/// A remembered answer for an `X-Request-Id`.
#[derive(Debug, Clone)]
pub(super) struct Replay {
    pub(super) body: Fingerprint,
    pub(super) amount: Option<i64>,
    pub(super) response: Stored,
}

/// The eCom data.
#[derive(Debug, Default)]
pub(super) struct Data {
    pub(super) orders: HashMap<(String, String), Order>,
    pub(super) tokens: HashMap<String, (String, String)>,
    pub(super) replays: HashMap<(String, String, &'static str, String), Replay>,
    /// Every order initiated, by its timeout, earliest first (see [`sweep`]).
    pub(super) deadlines: BinaryHeap<Reverse<(OffsetDateTime, (String, String))>>,
}

impl Data {
    /// Times out INITIATE orders whose time ran out at `now`, looking at most at `limit`
    /// deadlines (returns how many it looked at); their callbacks go to `out`.
    pub(super) fn expire_due(
        &mut self,
        now: OffsetDateTime,
        limit: usize,
        out: &mut Vec<TransactionUpdateCallback>,
    ) -> usize {
        let mut seen = 0;
        while seen < limit && self.deadlines.peek().is_some_and(|Reverse((at, _))| *at <= now) {
            seen += 1;
            let Some(Reverse((_, id))) = self.deadlines.pop() else {
                break;
            };
            if let Some(o) = self.orders.get_mut(&id) {
                out.extend(o.settle(now));
            }
        }
        seen
    }

    /// The order with its timeout applied; a timeout's callback goes to `out`.
    pub(super) fn order(
        &mut self,
        msn: &str,
        order_id: &str,
        now: OffsetDateTime,
        out: &mut Vec<TransactionUpdateCallback>,
    ) -> Option<&mut Order> {
        let o = self.orders.get_mut(&(msn.to_owned(), order_id.to_owned()))?;
        out.extend(o.settle(now));
        Some(o)
    }

    pub(super) fn by_token(&self, token: &str) -> Option<(String, String)> {
        self.tokens.get(token).cloned()
    }
}

/// State of the eCom emulation, kept in [`AppState`]. Lock order: this first, then the store
/// (consents and the ePayment bridge take the store while holding this; nothing takes them the
/// other way round).
#[derive(Debug, Default)]
pub struct EcomState {
    pub(super) data: Mutex<Data>,
    /// Every (MSN, order id) initiated: a leaf lock (nothing is locked while it is held), so
    /// ePayment can ask whether a reference is an eCom order under the store's lock.
    pub(super) order_ids: parking_lot::RwLock<std::collections::HashSet<(String, String)>>,
}

impl EcomState {
    /// Forgets every order, token and request id.
    pub fn reset(&self) {
        self.order_ids.write().clear();
        let mut d = self.data.lock();
        d.orders.clear();
        d.tokens.clear();
        d.replays.clear();
        d.deadlines.clear();
    }
}

impl EcomState {
    /// Whether `msn` initiated an order `order_id` (reads only the leaf index).
    pub(super) fn holds(&self, msn: &str, order_id: &str) -> bool {
        let ids = self.order_ids.read();
        !ids.is_empty() && ids.contains(&(msn.to_owned(), order_id.to_owned()))
    }
}

/// The eCom state of an emulator.
pub(crate) trait EcomExt {
    /// The eCom orders.
    fn ecom(&self) -> &EcomState;
}

impl EcomExt for AppState {
    fn ecom(&self) -> &EcomState {
        self.part::<EcomState>()
            .expect("the composition root registers the eCom state")
    }
}

/// Runs `f` under the eCom lock, then queues the callbacks it produced.
pub(super) fn with_data<R>(
    state: &AppState,
    f: impl FnOnce(&mut Data, OffsetDateTime, &mut Vec<TransactionUpdateCallback>) -> R,
) -> R {
    let mut out = Vec::new();
    let now = state.clock().now();
    let r = {
        let mut d = state.ecom().data.lock();
        let r = f(&mut d, now, &mut out);
        // Recorded before the eCom lock is released, so no one sees a `sub` in `/details`
        // before the Userinfo API knows it. Lock order: the eCom data, then the store (nothing
        // takes them the other way round).
        let consents = consents_given(&d, &out);
        if !consents.is_empty() {
            state.store().transaction(|l| {
                for (sub, msn, person, scope, at) in consents {
                    l.record_consent(&sub, &msn, person, &scope, at);
                }
            });
        }
        r
    };
    for cb in out {
        send_callback(state, cb);
    }
    r
}

/// Times out the orders nobody acted on in time and sends their `REJECTED` callbacks, without
/// waiting for a read of the order to do it (run every second by [`AppState::ensure_sweeper`]).
pub fn sweep(state: &AppState) {
    pub(super) const CHUNK: usize = 2_000;
    // In chunks: requests get the eCom data between two of them.
    while with_data(state, |d, now, out| d.expire_due(now, CHUNK, out)) == CHUNK {}
}

/// Queues a transaction update callback for the order it is about.
pub(super) fn send_callback(state: &AppState, cb: TransactionUpdateCallback) {
    let target = {
        let d = state.ecom().data.lock();
        d.orders
            .get(&(cb.merchant_serial_number.clone(), cb.order_id.clone()))
            .map(|o| {
                (
                    o.request.merchant_info.callback_prefix.clone(),
                    o.request.merchant_info.auth_token.clone(),
                )
            })
    };
    let Some((prefix, auth)) = target else { return };
    let url = format!("{}/v2/payments/{}", prefix.trim_end_matches('/'), cb.order_id);
    let mut headers = Vec::new();
    if let Some(a) = auth {
        headers.push(("Authorization".to_owned(), a));
    }
    let body = serde_json::to_vec(&cb).unwrap_or_default();
    state.deliveries().send(Outbound {
        kind: "ecom-callback",
        msn: cb.merchant_serial_number.clone(),
        reference: cb.order_id.clone(),
        event: Some(cb.transaction_info.status.as_str().to_owned()),
        url,
        method: http::Method::POST,
        headers,
        body: body.into(),
        schedule: RetrySchedule::once(3000),
        sign: None,
        ordering_key: format!("ecom:{}:{}", cb.merchant_serial_number, cb.order_id),
        on_attempt: None,
    });
}

/// The profile consents given by the reservations among `out`: (sub, MSN, profile, scope, when).
pub(super) fn consents_given(
    d: &Data,
    out: &[TransactionUpdateCallback],
) -> Vec<(String, String, Person, String, OffsetDateTime)> {
    let reserved = |s: &CallbackStatus| {
        matches!(
            s,
            CallbackStatus::Reserved | CallbackStatus::Reserve | CallbackStatus::Sale
        )
    };
    out.iter()
        .filter(|cb| reserved(&cb.transaction_info.status))
        .filter_map(|cb| {
            let o = d
                .orders
                .get(&(cb.merchant_serial_number.clone(), cb.order_id.clone()))?;
            let (sub, scope, at, user) = (
                o.sub.clone()?,
                o.request.transaction.scope.clone()?,
                o.reserved_at?,
                o.user.as_ref()?,
            );
            let person = Person::test(
                &Currency::Nok,
                Some(&crate::core::customer::msisdn(&user.mobile_number)),
            );
            Some((sub, o.msn.clone(), person, scope, at))
        })
        .collect()
}
