//! Agreements another API's flow carries (a Checkout `SUBSCRIPTION` session's), through the
//! core's `Part` hooks: drafted when the flow starts, `PENDING` while it runs (no 10-minute
//! expiry, and the customer's accept and reject belong to the flow), then `ACTIVE`, `STOPPED`
//! or `EXPIRED` when it ends. From then on they are ordinary agreements: readable, chargeable
//! and stoppable through `/recurring/v3`, with their webhooks.
//! Also the currency of a charge, which Order Management asks for (`Part::order_currency`).

use super::agreements::pending_agreement;
use super::customer::accepting_phone;
use super::model::*;
use super::process::{accept, expire, flush, reject};
use crate::core::state::AgreementOutcome;
use crate::core::store::Tables;
use time::OffsetDateTime;
use vipps_types::recurring as wire;

/// Drafts a carried agreement for merchant `msn`; answers its id.
pub(super) fn draft(
    t: &mut Tables,
    now: OffsetDateTime,
    msn: &str,
    d: &wire::DraftAgreement,
) -> Result<String, String> {
    let amount = |v: Option<i64>, field: &str| {
        v.map(|v| u32::try_from(v).map_err(|_| format!("{field} is out of range")))
            .transpose()
    };
    let price = amount(d.pricing.amount, "pricing.amount")?;
    let suggested = amount(d.pricing.suggested_max_amount, "pricing.suggestedMaxAmount")?;
    let now = secs(now);
    let r = t.get_mut::<Recurring>();
    let msn = r.msn_index(msn);
    let code = r.new_agreement_code();
    let ai = r.agreements.len() as u32;
    r.agreements
        .push(pending_agreement(code, msn, d, price, suggested, now));
    r.by_code.insert(code, ai);
    r.set_carried(ai, true);
    Ok(agreement_id(code))
}

/// The agreement `id` of merchant `msn`.
fn find(r: &Recurring, msn: &str, id: &str) -> Option<u32> {
    r.agreement_of(r.known_msn(msn)?, id)
}

fn wire_status(s: AgreementStatus) -> wire::AgreementStatus {
    match s {
        AgreementStatus::Pending => wire::AgreementStatus::Pending,
        AgreementStatus::Active => wire::AgreementStatus::Active,
        AgreementStatus::Stopped => wire::AgreementStatus::Stopped,
        AgreementStatus::Expired => wire::AgreementStatus::Expired,
    }
}

/// The status of agreement `id` of `msn`.
pub(super) fn status(t: &mut Tables, msn: &str, id: &str) -> Option<wire::AgreementStatus> {
    let r = t.get::<Recurring>();
    let ai = find(r, msn, id)?;
    Some(wire_status(r.agreements[ai as usize].status))
}

/// The flow that carried agreement `id` ended with `outcome`; answers its status afterwards.
/// An agreement that is no longer `PENDING` (the merchant stopped it meanwhile) stays as it is.
pub(super) fn conclude(
    t: &mut Tables,
    now: OffsetDateTime,
    msn: &str,
    id: &str,
    outcome: AgreementOutcome<'_>,
) -> Option<wire::AgreementStatus> {
    let now = secs(now);
    let mut ev = Vec::new();
    let (ledger, r) = t.ledger_and::<Recurring>();
    let ai = find(r, msn, id)?;
    r.set_carried(ai, false);
    if r.agreements[ai as usize].status == AgreementStatus::Pending {
        // Only a non-PENDING agreement is refused, and it was checked just now.
        let _ = match outcome {
            AgreementOutcome::Accepted(phone) => {
                let phone = accepting_phone(&r.agreements[ai as usize], phone.map(str::to_owned));
                let phone = crate::core::customer::msisdn(&phone);
                accept(ledger, r, ai, &phone, None, now, &mut ev)
            }
            AgreementOutcome::Rejected => reject(r, ai, now, &mut ev),
            AgreementOutcome::Expired => {
                expire(r, ai, now, &mut ev);
                Ok(())
            }
        };
    }
    let status = wire_status(t.get::<Recurring>().agreements[ai as usize].status);
    flush(t, &ev, now);
    Some(status)
}

/// The currency of charge `id` of merchant `msn` (its agreement's), for Order Management.
pub(super) fn charge_currency(t: &Tables, msn: &str, id: &str) -> Option<vipps_types::Currency> {
    let r = t.get::<Recurring>();
    let ci = r.known_msn(msn).and_then(|m| r.charge_of(m, id))?;
    let ai = r.charges.get(ci as usize)?.agreement;
    Some(r.agreements.get(ai as usize)?.currency.clone())
}
