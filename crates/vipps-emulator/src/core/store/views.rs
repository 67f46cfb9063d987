//! The ledger's payments as the dashboard lists and shows them (see `core::objects`).

use super::{Ledger, Payment};
use crate::core::objects::{
    newest_first, wire_word, Amounts, HistoryEntry, Money, ObjectDetail, ObjectKind, ObjectPage, ObjectQuery,
    ObjectSummary,
};
use time::format_description::well_known::Rfc3339;

impl Ledger {
    /// A page of payments, newest first.
    pub(crate) fn objects(&self, query: &ObjectQuery) -> ObjectPage {
        newest_first(query, self.created.len() as u64, |seq| {
            let p = self.by_seq(seq)?;
            Some(summary(p, seq))
        })
    }

    /// Payment `reference` of `msn` in full.
    pub(crate) fn object(&self, msn: &str, reference: &str) -> Option<ObjectDetail> {
        let p = self.payments.get(&(msn.to_owned(), reference.to_owned()))?;
        // Its place in creation order is kept only as its token's: finding it would walk the
        // table, and a detail needs no cursor.
        Some(detail(p, 0))
    }

    /// The payment created `seq`-th (from 1).
    fn by_seq(&self, seq: u64) -> Option<&Payment> {
        let token = self.created.get(usize::try_from(seq).ok()?.checked_sub(1)?)?;
        let id = self.tokens.get(token)?;
        self.payments.get(id).map(|p| &**p)
    }
}

fn summary(p: &Payment, seq: u64) -> ObjectSummary {
    ObjectSummary {
        kind: ObjectKind::Payment,
        id: p.reference.to_string(),
        msn: p.msn.clone(),
        state: wire_word(&p.state),
        amount: Some(Money::of(&p.amount)),
        created: p.events.first().map_or(p.expires_at, |e| e.timestamp),
        seq,
    }
}

fn detail(p: &Payment, seq: u64) -> ObjectDetail {
    let history = p
        .events
        .iter()
        .map(|e| HistoryEntry {
            at: e.timestamp,
            name: wire_word(&e.name),
            amount: Some(e.value),
            success: e.success,
        })
        .collect();
    let mut facts = vec![
        ("pspReference", p.psp_reference.clone()),
        ("userFlow", wire_word(&p.user_flow)),
        ("expiresAt", p.expires_at.format(&Rfc3339).unwrap_or_default()),
    ];
    if let Some(d) = &p.description {
        facts.push(("paymentDescription", d.clone()));
    }
    ObjectDetail {
        summary: summary(p, seq),
        amounts: Amounts {
            authorized: Some(p.authorized),
            captured: Some(p.captured),
            refunded: Some(p.refunded),
            cancelled: Some(p.cancelled),
        },
        history,
        links: Vec::new(),
        deliveries_reference: p.reference.to_string(),
        facts,
        order: None,
    }
}
