//! The eCom data behind its lock, the timeouts and the callbacks they cause.

use super::order::Order;
use crate::core::customer::Person;
use crate::core::persist::{Saved, TrackedMap};
use crate::core::state::AppState;
use crate::core::store::Tables;
use crate::outbound::{Outbound, RetrySchedule};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use time::OffsetDateTime;
use vipps_types::ecom::{CallbackStatus, TransactionUpdateCallback};
use vipps_types::Currency;

/// The eCom data.
#[derive(Debug, Default)]
pub(crate) struct Data {
    /// Changing an order records it (`TrackedMap`), for the data dir.
    pub(super) orders: TrackedMap<(String, String), Order>,
    pub(super) tokens: HashMap<String, (String, String)>,
    /// Every order initiated, by its timeout, earliest first (see [`sweep`]).
    pub(super) deadlines: BinaryHeap<Reverse<(OffsetDateTime, (String, String))>>,
    /// Every order in creation order (orders are never forgotten but by a reset): order `n`
    /// (from 1) is `order[n - 1]`, the dashboard's cursor.
    pub(super) order: Vec<(String, String)>,
    /// What the data dir holds (see `persist.rs`).
    pub(super) saved: Saved<(String, String)>,
    /// Retention: the first place in `order` not yet looked at.
    pub(super) evict_cursor: usize,
}

impl Data {
    /// Adds a new order.
    pub(super) fn insert(&mut self, key: (String, String), mut order: Order) {
        self.order.push(key.clone());
        order.seq = self.order.len() as u32;
        self.orders.insert(key, order);
    }

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

/// The eCom API as a part of the emulator: its data is the store's [`Data`] table; this only
/// settles the orders' timeouts and answers ePayment's questions about them.
#[derive(Debug, Default)]
pub(crate) struct EcomState;

/// Runs `f` on the eCom data in one store transaction; the callbacks it produced are sent after
/// the transaction commits, and the consents they carry are recorded in it.
pub(super) fn with_data<R>(
    state: &AppState,
    f: impl FnOnce(&mut Data, OffsetDateTime, &mut Vec<TransactionUpdateCallback>) -> R,
) -> R {
    let now = state.clock().now();
    state.store().transact(|t| in_data(t, now, f))
}

/// [`with_data`] inside a transaction that is already running.
pub(super) fn in_data<R>(
    t: &mut Tables,
    now: OffsetDateTime,
    f: impl FnOnce(&mut Data, OffsetDateTime, &mut Vec<TransactionUpdateCallback>) -> R,
) -> R {
    let mut out = Vec::new();
    let (ledger, d) = t.ledger_and::<Data>();
    let r = f(d, now, &mut out);
    // In the same transaction, so no one sees a `sub` in `/details` before the Userinfo API
    // knows it.
    for (sub, msn, person, scope, at) in consents_given(d, &out) {
        ledger.record_consent(&sub, &msn, person, &scope, at);
    }
    let deliveries: Vec<Outbound> = out.iter().filter_map(|cb| callback_delivery(d, cb)).collect();
    for o in deliveries {
        t.deliver(o);
    }
    r
}

/// Times out the orders nobody acted on in time and sends their `REJECTED` callbacks, without
/// waiting for a read of the order to do it (run every second by [`AppState::ensure_background`]).
pub(crate) fn sweep(state: &AppState) {
    const CHUNK: usize = 2_000;
    // In chunks: requests get the store between two of them.
    while with_data(state, |d, now, out| d.expire_due(now, CHUNK, out)) == CHUNK {}
}

/// The delivery of a transaction update callback to the order it is about.
fn callback_delivery(d: &Data, cb: &TransactionUpdateCallback) -> Option<Outbound> {
    let o = d
        .orders
        .get(&(cb.merchant_serial_number.clone(), cb.order_id.clone()))?;
    let prefix = &o.request.merchant_info.callback_prefix;
    let url = format!("{}/v2/payments/{}", prefix.trim_end_matches('/'), cb.order_id);
    let mut headers = Vec::new();
    if let Some(a) = &o.request.merchant_info.auth_token {
        headers.push(("Authorization".to_owned(), a.clone()));
    }
    let body = serde_json::to_vec(cb).unwrap_or_default();
    Some(Outbound {
        kind: "ecom-callback",
        msn: cb.merchant_serial_number.clone(),
        reference: cb.order_id.clone(),
        event: Some(cb.transaction_info.status.as_str().to_owned()),
        url,
        method: "POST",
        headers,
        body: body.into(),
        schedule: RetrySchedule::once(3000),
        sign: None,
        ordering_key: format!("ecom:{}:{}", cb.merchant_serial_number, cb.order_id),
        on_attempt: None,
        blocks_later: false,
        guard: None,
    })
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
