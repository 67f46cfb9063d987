//! eCom orders as the dashboard lists and shows them (see `core::objects`).

use super::order::{Order, Phase};
use super::state::Data;
use crate::core::objects::{
    newest_first, wire_word, Amounts, HistoryEntry, Money, ObjectDetail, ObjectKind, ObjectPage, ObjectQuery,
    ObjectSummary,
};
use crate::core::store::Tables;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// A page of orders, newest first.
pub(super) fn page(tables: &Tables, query: &ObjectQuery) -> ObjectPage {
    let d = tables.get::<Data>();
    newest_first(query, d.order.len() as u64, |seq| {
        let key = d.order.get(usize::try_from(seq).ok()?.checked_sub(1)?)?;
        Some(summary(d.orders.get(key)?, seq))
    })
}

/// Order `order_id` of `msn` in full.
pub(super) fn detail(tables: &Tables, msn: &str, order_id: &str) -> Option<ObjectDetail> {
    let o = tables
        .get::<Data>()
        .orders
        .get(&(msn.to_owned(), order_id.to_owned()))?;
    let history = o
        .log
        .iter()
        .map(|e| HistoryEntry {
            at: parse(&e.time_stamp).unwrap_or(o.expires_at),
            name: wire_word(&e.operation),
            amount: Some(e.amount),
            success: e.operation_success,
        })
        .collect();
    // What was reserved and neither captured nor kept: released after a partial capture, or
    // voided.
    let released = o.released || o.phase == Phase::Voided;
    Some(ObjectDetail {
        summary: summary(o, 0),
        amounts: Amounts {
            authorized: Some(o.reserved),
            captured: Some(o.captured),
            refunded: Some(o.refunded),
            cancelled: Some(if released { (o.reserved - o.captured).max(0) } else { 0 }),
        },
        history,
        links: Vec::new(),
        deliveries_reference: o.order_id.clone(),
        facts: vec![
            ("transactionId", o.transaction_id.clone()),
            ("transactionText", o.request.transaction.transaction_text.clone()),
            ("expiresAt", o.expires_at.format(&Rfc3339).unwrap_or_default()),
        ],
        order: None,
    })
}

fn parse(stamp: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(stamp, &Rfc3339).ok()
}

fn summary(o: &Order, seq: u64) -> ObjectSummary {
    ObjectSummary {
        kind: ObjectKind::Ecom,
        id: o.order_id.clone(),
        msn: o.msn.clone(),
        state: o.state_name().to_owned(),
        amount: Some(Money {
            value: if o.reserved > 0 { o.reserved } else { o.amount() },
            currency: "NOK".to_owned(),
        }),
        // The first log entry is the initiate.
        created: o.log.first().and_then(|e| parse(&e.time_stamp)).unwrap_or(o.expires_at),
        seq,
    }
}
