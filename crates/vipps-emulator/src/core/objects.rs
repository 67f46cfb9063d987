//! What the dashboard lists and shows of every API's objects, in plain terms every API can
//! fill in (kind, id, state, amount, time, history, links) without the control plane knowing
//! its internals. Each API answers through [`crate::core::state::Part::objects`] and
//! [`crate::core::state::Part::object`]; the ePayment ledger answers from the store.
//!
//! Every table keeps its objects in creation order under a sequence number (1, 2, …): a page
//! walks back from a cursor, so serving it costs the page, not the table.

use serde::Serialize;
use time::OffsetDateTime;

/// The most objects one page looks at. A filter that matches rarely returns a short page
/// with a `next` cursor rather than walking a whole table under the store's lock.
pub(crate) const SCAN_BUDGET: usize = 20_000;

/// What kind of object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ObjectKind {
    /// An ePayment payment (the ledger's).
    Payment,
    /// A Checkout session.
    Checkout,
    /// An eCom order.
    Ecom,
    /// A Recurring agreement.
    Agreement,
    /// A Recurring charge.
    Charge,
    /// A webhook registration.
    Webhook,
}

impl ObjectKind {
    /// The kind named `s` (as in `/_emulator/objects?kind=`).
    pub(crate) fn parse(s: &str) -> Option<ObjectKind> {
        Some(match s {
            "payment" => ObjectKind::Payment,
            "checkout" => ObjectKind::Checkout,
            "ecom" => ObjectKind::Ecom,
            "agreement" => ObjectKind::Agreement,
            "charge" => ObjectKind::Charge,
            "webhook" => ObjectKind::Webhook,
            _ => return None,
        })
    }

    /// Its name, as [`ObjectKind::parse`] reads it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Payment => "payment",
            ObjectKind::Checkout => "checkout",
            ObjectKind::Ecom => "ecom",
            ObjectKind::Agreement => "agreement",
            ObjectKind::Charge => "charge",
            ObjectKind::Webhook => "webhook",
        }
    }
}

/// Which objects a page holds.
#[derive(Debug, Clone)]
pub(crate) struct ObjectQuery {
    pub(crate) kind: ObjectKind,
    /// Only objects whose id (reference, order id, agreement id…) contains this.
    pub(crate) reference: Option<String>,
    /// Only objects in this state (case-insensitive).
    pub(crate) state: Option<String>,
    /// Only objects created before the one with this sequence number (the cursor).
    pub(crate) before: Option<u64>,
    /// At most this many.
    pub(crate) limit: usize,
    /// The clock's now (some states depend on the date, a Recurring charge's `DUE`).
    pub(crate) now: OffsetDateTime,
}

impl ObjectQuery {
    /// Whether `o` passes the filters.
    pub(crate) fn matches(&self, o: &ObjectSummary) -> bool {
        self.reference.as_deref().is_none_or(|r| o.id.contains(r))
            && self.state.as_deref().is_none_or(|s| o.state.eq_ignore_ascii_case(s))
    }
}

/// An amount in minor units.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Money {
    pub(crate) value: i64,
    pub(crate) currency: String,
}

impl Money {
    /// `amount` in plain terms.
    pub(crate) fn of(amount: &vipps_types::Amount) -> Money {
        Money {
            value: amount.value,
            currency: wire_word(&amount.currency),
        }
    }
}

/// One object in a list.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ObjectSummary {
    pub(crate) kind: ObjectKind,
    /// Reference, order id, agreement or charge id, webhook id.
    pub(crate) id: String,
    /// The merchant.
    pub(crate) msn: String,
    /// The state as the API shows it (`AUTHORIZED`, `SessionCreated`, `ACTIVE`…).
    pub(crate) state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) amount: Option<Money>,
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) created: OffsetDateTime,
    /// Its place in its table's creation order (the cursor of `?before=`); 0, and not shown,
    /// in a detail, which needs no cursor.
    #[serde(skip_serializing_if = "is_zero")]
    pub(crate) seq: u64,
}

/// A page of objects, newest first.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct ObjectPage {
    pub(crate) objects: Vec<ObjectSummary>,
    /// The `?before=` of the next page, when older objects remain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) next: Option<u64>,
}

/// One entry of an object's event log or history.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct HistoryEntry {
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) at: OffsetDateTime,
    /// What happened (`AUTHORIZED`, `CAPTURE`, `ACTIVATED`…).
    pub(crate) name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) amount: Option<i64>,
    pub(crate) success: bool,
}

/// The money an object moved, in minor units (absent where the kind has no such amount).
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Amounts {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) authorized: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) captured: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) refunded: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) cancelled: Option<i64>,
}

/// Another object this one is tied to (a session's payment, a charge's agreement).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ObjectLink {
    pub(crate) kind: ObjectKind,
    pub(crate) id: String,
    /// How it is tied ("payment", "agreement", "charge").
    pub(crate) rel: &'static str,
}

/// One object in full.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ObjectDetail {
    #[serde(flatten)]
    pub(crate) summary: ObjectSummary,
    pub(crate) amounts: Amounts,
    /// Oldest first.
    pub(crate) history: Vec<HistoryEntry>,
    pub(crate) links: Vec<ObjectLink>,
    /// The `reference` its deliveries are logged under (`/_emulator/deliveries?reference=`).
    pub(crate) deliveries_reference: String,
    /// Other facts worth showing, as (name, value).
    pub(crate) facts: Vec<(&'static str, String)>,
    /// What Order Management keeps for it (receipt, category), if anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) order: Option<OrderView>,
}

/// What Order Management keeps for an order, as the app (the landing page, the dashboard)
/// shows it: the receipt, the latest category and where its image is served.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderView {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) receipt: Option<vipps_types::order_management::Receipt>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) category: Option<vipps_types::order_management::OrderCategory>,
    /// The path (from the emulator's root) that serves the category's image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) image_url: Option<String>,
}

/// A page of the table whose newest object has sequence number `newest`, walking back from
/// the query's cursor; `at(seq)` is the summary of object `seq` (`None` when it is gone).
/// Looks at most at [`SCAN_BUDGET`] objects.
pub(crate) fn newest_first(
    query: &ObjectQuery,
    newest: u64,
    mut at: impl FnMut(u64) -> Option<ObjectSummary>,
) -> ObjectPage {
    let mut seq = query.before.map_or(newest, |b| b.saturating_sub(1).min(newest));
    let mut objects = Vec::new();
    let mut scanned = 0;
    while seq > 0 && objects.len() < query.limit && scanned < SCAN_BUDGET {
        scanned += 1;
        if let Some(o) = at(seq).filter(|o| query.matches(o)) {
            objects.push(o);
        }
        seq -= 1;
    }
    ObjectPage {
        objects,
        next: (seq > 0).then_some(seq + 1),
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The word a wire enum serializes to (`AUTHORIZED`), for states and event names.
pub(crate) fn wire_word<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(before: Option<u64>, limit: usize, state: Option<&str>) -> ObjectQuery {
        ObjectQuery {
            kind: ObjectKind::Payment,
            reference: None,
            state: state.map(str::to_owned),
            before,
            limit,
            now: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn object(seq: u64) -> Option<ObjectSummary> {
        Some(ObjectSummary {
            kind: ObjectKind::Payment,
            id: format!("ref-{seq}"),
            msn: "1".into(),
            state: if seq.is_multiple_of(2) { "EVEN" } else { "ODD" }.into(),
            amount: None,
            created: OffsetDateTime::UNIX_EPOCH,
            seq,
        })
    }

    #[test]
    fn pages_walk_back_from_the_cursor() {
        let seqs = |p: &ObjectPage| p.objects.iter().map(|o| o.seq).collect::<Vec<_>>();
        let first = newest_first(&query(None, 3, None), 7, object);
        assert_eq!((seqs(&first), first.next), (vec![7, 6, 5], Some(5)));
        let second = newest_first(&query(first.next, 3, Some("even")), 7, object);
        assert_eq!((seqs(&second), second.next), (vec![4, 2], None));
    }

    #[test]
    fn a_rare_filter_stops_at_the_budget() {
        let newest = SCAN_BUDGET as u64 + 10;
        let p = newest_first(&query(None, 5, Some("none")), newest, object);
        assert!(p.objects.is_empty());
        assert_eq!(p.next, Some(11));
    }
}
