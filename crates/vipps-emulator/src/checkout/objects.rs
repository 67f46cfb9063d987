//! Checkout sessions as the dashboard lists and shows them (see `core::objects`).

use super::state::{Session, Sessions};
use crate::core::objects::{
    newest_first, wire_word, Amounts, HistoryEntry, Money, ObjectDetail, ObjectKind, ObjectLink, ObjectPage,
    ObjectQuery, ObjectSummary,
};
use crate::core::store::Tables;
use time::format_description::well_known::Rfc3339;

/// A page of sessions, newest first.
pub(super) fn page(tables: &Tables, query: &ObjectQuery) -> ObjectPage {
    let cs = tables.get::<Sessions>();
    newest_first(query, cs.order.len() as u64, |seq| {
        let (s, seq) = cs.by_seq(seq)?;
        Some(summary(s, seq))
    })
}

/// Session `reference` of `msn` in full.
pub(super) fn detail(tables: &Tables, msn: &str, reference: &str) -> Option<ObjectDetail> {
    let s = tables
        .get::<Sessions>()
        .by_ref
        .get(&(msn.to_owned(), reference.to_owned()))?;
    let mut history = vec![entry(s.created_at, "SessionCreated")];
    if let Some(ended) = s.ended_at {
        history.push(entry(ended, &wire_word(&s.state)));
    }
    let mut links = Vec::new();
    if s.payment_created {
        links.push(ObjectLink {
            kind: ObjectKind::Payment,
            id: s.reference.clone(),
            rel: "payment",
        });
    }
    if let Some(a) = &s.agreement {
        links.push(ObjectLink {
            kind: ObjectKind::Agreement,
            id: a.id.clone(),
            rel: "agreement",
        });
    }
    let mut facts = vec![
        ("sessionId", s.session_id.clone()),
        ("expiresAt", s.expires_at.format(&Rfc3339).unwrap_or_default()),
        ("callbackSent", s.callback_sent.to_string()),
    ];
    if let Some(d) = s.request.transaction.as_ref().map(|t| t.payment_description.clone()) {
        facts.push(("paymentDescription", d));
    }
    Some(ObjectDetail {
        summary: summary(s, 0),
        // The session's money moves on its ePayment payment (linked).
        amounts: Amounts::default(),
        history,
        links,
        deliveries_reference: s.reference.clone(),
        facts,
        order: None,
    })
}

fn entry(at: time::OffsetDateTime, name: &str) -> HistoryEntry {
    HistoryEntry {
        at,
        name: name.to_owned(),
        amount: None,
        success: true,
    }
}

fn summary(s: &Session, seq: u64) -> ObjectSummary {
    ObjectSummary {
        kind: ObjectKind::Checkout,
        id: s.reference.clone(),
        msn: s.msn.clone(),
        state: wire_word(&s.state),
        amount: Some(Money::of(&s.transaction_amount())),
        created: s.created_at,
        seq,
    }
}
