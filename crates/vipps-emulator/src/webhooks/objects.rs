//! Webhook registrations as the dashboard lists and shows them (see `core::objects`).

use super::state::{Registration, Registry};
use crate::core::objects::{
    newest_first, wire_word, Amounts, HistoryEntry, ObjectDetail, ObjectKind, ObjectPage, ObjectQuery, ObjectSummary,
};
use crate::core::store::Tables;

/// A page of registrations, newest first.
pub(super) fn page(tables: &Tables, query: &ObjectQuery) -> ObjectPage {
    let hooks = &tables.get::<Registry>().hooks;
    let newest = hooks.last().map_or(0, |r| r.seq);
    newest_first(query, newest, |seq| {
        // Deletions leave gaps in the numbering: find `seq` among the few registrations.
        let i = hooks.binary_search_by_key(&seq, |r| r.seq).ok()?;
        Some(summary(&hooks[i]))
    })
}

/// Registration `id` of `msn` in full.
pub(super) fn detail(tables: &Tables, msn: &str, id: &str) -> Option<ObjectDetail> {
    let r = tables
        .get::<Registry>()
        .hooks
        .iter()
        .find(|r| r.msn == msn && r.id == id)?;
    let mut history = vec![HistoryEntry {
        at: r.created,
        name: "REGISTERED".to_owned(),
        amount: None,
        success: true,
    }];
    if let Some(at) = r.failing_since {
        history.push(HistoryEntry {
            at,
            name: "FAILING".to_owned(),
            amount: None,
            success: false,
        });
    }
    let events: Vec<String> = r.events.iter().map(wire_word).collect();
    Some(ObjectDetail {
        summary: summary(r),
        amounts: Amounts::default(),
        history,
        links: Vec::new(),
        // Deliveries are logged under what they are about (a payment, an agreement).
        deliveries_reference: String::new(),
        facts: vec![("url", r.url.clone()), ("events", events.join(", "))],
        order: None,
    })
}

fn summary(r: &Registration) -> ObjectSummary {
    ObjectSummary {
        kind: ObjectKind::Webhook,
        id: r.id.clone(),
        msn: r.msn.clone(),
        state: if r.failing_since.is_some() { "FAILING" } else { "ACTIVE" }.to_owned(),
        amount: None,
        created: r.created,
        seq: r.seq,
    }
}
