//! Agreements and charges as the dashboard lists and shows them (see `core::objects`).
//! Both tables are vectors in creation order already: object `n` (from 1) is index `n - 1`.

use super::model::*;
use super::process::shown_status;
use super::render::charge_view;
use crate::core::objects::{
    newest_first, wire_word, Amounts, HistoryEntry, Money, ObjectDetail, ObjectKind, ObjectLink, ObjectPage,
    ObjectQuery, ObjectSummary,
};
use crate::core::store::Tables;
use time::{Date, OffsetDateTime};

/// The most charges an agreement's detail links to (its newest).
const LINKED_CHARGES: usize = 100;

/// A page of agreements or charges, newest first.
pub(super) fn page(tables: &Tables, query: &ObjectQuery, now: OffsetDateTime) -> Option<ObjectPage> {
    let r = tables.get::<Recurring>();
    let index = |seq: u64| u32::try_from(seq.checked_sub(1)?).ok();
    match query.kind {
        ObjectKind::Agreement => Some(newest_first(query, r.agreements.len() as u64, |seq| {
            Some(agreement_summary(r, index(seq)?, seq))
        })),
        ObjectKind::Charge => Some(newest_first(query, r.charges.len() as u64, |seq| {
            Some(charge_summary(r, index(seq)?, seq, now.date()))
        })),
        _ => None,
    }
}

/// Agreement or charge `id` of `msn` in full.
pub(super) fn detail(
    tables: &Tables,
    kind: ObjectKind,
    msn: &str,
    id: &str,
    now: OffsetDateTime,
) -> Option<ObjectDetail> {
    let r = tables.get::<Recurring>();
    let m = r.known_msn(msn)?;
    match kind {
        ObjectKind::Agreement => Some(agreement_detail(r, r.agreement_of(m, id)?)),
        ObjectKind::Charge => Some(charge_detail(r, r.charge_of(m, id)?, now.date())),
        _ => None,
    }
}

fn status_word(s: AgreementStatus) -> &'static str {
    match s {
        AgreementStatus::Pending => "PENDING",
        AgreementStatus::Active => "ACTIVE",
        AgreementStatus::Stopped => "STOPPED",
        AgreementStatus::Expired => "EXPIRED",
    }
}

fn agreement_summary(r: &Recurring, ai: u32, seq: u64) -> ObjectSummary {
    let a = &r.agreements[ai as usize];
    // The price a LEGACY agreement charges, or the most a VARIABLE one may.
    let amount = a.amount.or(a.max_amount).or(a.suggested_max);
    ObjectSummary {
        kind: ObjectKind::Agreement,
        id: agreement_id(a.code),
        msn: r.msns[a.msn as usize].to_string(),
        state: status_word(a.status).to_owned(),
        amount: amount.map(|v| Money {
            value: i64::from(v),
            currency: wire_word(&a.currency),
        }),
        created: at(a.created),
        seq,
    }
}

fn charge_summary(r: &Recurring, ci: u32, seq: u64, today: Date) -> ObjectSummary {
    let c = &r.charges[ci as usize];
    let a = &r.agreements[c.agreement as usize];
    ObjectSummary {
        kind: ObjectKind::Charge,
        id: c.key.render(),
        msn: r.msns[a.msn as usize].to_string(),
        state: shown_status(c, a, today).to_owned(),
        amount: Some(Money {
            value: i64::from(c.amount),
            currency: wire_word(&a.currency),
        }),
        created: at(c.history.first().map_or(a.created, |h| h.at)),
        seq,
    }
}

fn agreement_detail(r: &Recurring, ai: u32) -> ObjectDetail {
    let a = &r.agreements[ai as usize];
    let mut history = vec![entry(a.created, "CREATED", true)];
    if let Some(start) = a.start {
        history.push(entry(start, "ACTIVATED", true));
    }
    if let Some(stop) = a.stop {
        history.push(entry(stop, status_word(a.status), true));
    }
    let mut amounts = Amounts {
        authorized: None,
        captured: Some(0),
        refunded: Some(0),
        cancelled: Some(0),
    };
    for &ci in &a.charges {
        let c = &r.charges[ci as usize];
        let add = |slot: &mut Option<i64>, v: u32| *slot = Some(slot.unwrap_or(0) + i64::from(v));
        add(&mut amounts.captured, c.captured);
        add(&mut amounts.refunded, c.refunded);
        add(&mut amounts.cancelled, c.cancelled);
    }
    let links = a
        .charges
        .iter()
        .rev()
        .take(LINKED_CHARGES)
        .map(|&ci| ObjectLink {
            kind: ObjectKind::Charge,
            id: r.charges[ci as usize].key.render(),
            rel: "charge",
        })
        .collect();
    let id = agreement_id(a.code);
    let mut facts = vec![("productName", a.texts.product_name.to_string())];
    if let Some(phone) = &a.customer {
        facts.push(("customer", phone.to_string()));
    }
    if r.carried.contains(&ai) {
        facts.push(("carriedBy", "a Checkout session".to_owned()));
    }
    ObjectDetail {
        summary: agreement_summary(r, ai, u64::from(ai) + 1),
        amounts,
        history,
        links,
        // Its webhook events (and its charges') are about the agreement.
        deliveries_reference: id,
        facts,
        order: None,
    }
}

fn charge_detail(r: &Recurring, ci: u32, today: Date) -> ObjectDetail {
    let c = &r.charges[ci as usize];
    let a = &r.agreements[c.agreement as usize];
    let view = charge_view(r, ci, today);
    let history = view
        .history
        .iter()
        .map(|h| HistoryEntry {
            at: h.occurred,
            name: wire_word(&h.event),
            amount: Some(h.amount),
            success: h.success,
        })
        .collect();
    let mut facts = vec![("description", c.description.to_string())];
    if let Some(due) = c.due {
        facts.push(("due", due.to_string()));
    }
    if let Some(reason) = &view.failure_reason {
        facts.push(("failureReason", wire_word(reason)));
    }
    ObjectDetail {
        summary: charge_summary(r, ci, u64::from(ci) + 1, today),
        amounts: Amounts {
            authorized: c.reserve.then_some(i64::from(c.amount)),
            captured: Some(i64::from(c.captured)),
            refunded: Some(i64::from(c.refunded)),
            cancelled: Some(i64::from(c.cancelled)),
        },
        history,
        links: vec![ObjectLink {
            kind: ObjectKind::Agreement,
            id: agreement_id(a.code),
            rel: "agreement",
        }],
        deliveries_reference: agreement_id(a.code),
        facts,
        order: None,
    }
}

fn entry(secs: i64, name: &str, success: bool) -> HistoryEntry {
    HistoryEntry {
        at: at(secs),
        name: name.to_owned(),
        amount: None,
        success,
    }
}
