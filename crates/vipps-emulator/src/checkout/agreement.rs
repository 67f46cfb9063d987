//! A `SUBSCRIPTION` session's agreement. It is a Recurring agreement, kept by whichever part
//! keeps agreements and reached only through the core's hooks (`AppState::draft_foreign_agreement`
//! and the like), inside the session's transactions: drafted with the session, `PENDING` while
//! it runs, told how the session ended (`ACTIVE`, `STOPPED`, `EXPIRED`). The session mirrors its
//! state for its answers and reads it again on every access, so a stop through the Recurring
//! API shows in `subscriptionDetails`. Without a part that keeps agreements the session keeps
//! the agreement on its own (an id, a state that follows the session).

use super::errors::CkError;
use super::state::{Session, SessionAgreement, Sessions};
use crate::core::state::{AgreementOutcome, AppState};
use crate::core::store::Tables;
use time::OffsetDateTime;
use vipps_types::checkout::{InitiateSessionRequest, SessionState, SubscriptionState};
use vipps_types::recurring::{self as rec, DraftAgreement, PricingRequest};

/// A session's key in [`Sessions`]: (MSN, reference).
type Key = (String, String);

/// The Recurring draft a `SUBSCRIPTION` session stands for: `LEGACY` pricing of the
/// subscription's amount, its interval, product texts and agreement page; the session's
/// `returnUrl` as `merchantRedirectUrl`; the prefilled phone number; the campaign when it has
/// a shape Recurring knows.
pub(super) fn draft_request(req: &InitiateSessionRequest) -> Option<DraftAgreement> {
    let sub = req.subscription.as_ref()?;
    let unit: Option<rec::IntervalUnit> = serde_json::to_value(&sub.interval.unit)
        .ok()
        .and_then(|v| serde_json::from_value(v).ok());
    let mut d = DraftAgreement::new(
        PricingRequest::legacy(sub.amount.value, sub.amount.currency.clone()),
        unit.map(|u| rec::Interval::every(sub.interval.count, u)),
        sub.product_name.clone(),
        req.merchant_info.return_url.clone(),
        sub.merchant_agreement_url.clone(),
    );
    d.product_description = sub.product_description.clone();
    d.phone_number = req
        .prefill_customer
        .as_ref()
        .and_then(|p| p.phone_number.as_deref())
        .map(crate::core::customer::msisdn);
    d.campaign = sub
        .campaign
        .as_ref()
        .and_then(|c| serde_json::to_value(c).ok())
        .and_then(|v| serde_json::from_value(v).ok());
    Some(d)
}

/// Drafts the agreement of a new `SUBSCRIPTION` session for `msn`, inside the transaction
/// that creates the session.
pub(super) fn draft(
    state: &AppState,
    t: &mut Tables,
    now: OffsetDateTime,
    msn: &str,
    req: &InitiateSessionRequest,
) -> Result<Option<SessionAgreement>, CkError> {
    let Some(d) = draft_request(req) else {
        return Ok(None);
    };
    let id = match state.draft_foreign_agreement(t, now, msn, &d) {
        Some(r) => r.map_err(|e| CkError::validation("subscription", e))?,
        None => agreement_id(),
    };
    Ok(Some(SessionAgreement {
        id,
        state: SubscriptionState::Pending,
        told: false,
    }))
}

/// A Recurring-style agreement id (`agr_` and 7 letters or digits), for a session's agreement
/// when no part keeps agreements.
fn agreement_id() -> String {
    use rand::distributions::{Alphanumeric, DistString};
    format!("agr_{}", Alphanumeric.sample_string(&mut rand::thread_rng(), 7))
}

fn from_wire(s: rec::AgreementStatus) -> Option<SubscriptionState> {
    Some(match s {
        rec::AgreementStatus::Pending => SubscriptionState::Pending,
        rec::AgreementStatus::Active => SubscriptionState::Active,
        rec::AgreementStatus::Stopped => SubscriptionState::Stopped,
        rec::AgreementStatus::Expired => SubscriptionState::Expired,
        _ => return None,
    })
}

/// Reads the state of the agreement of session `key` into the session.
pub(super) fn refresh(state: &AppState, t: &mut Tables, key: &Key) {
    let Some(id) = t
        .get::<Sessions>()
        .by_ref
        .get(key)
        .and_then(|s| s.agreement.as_ref())
        .map(|a| a.id.clone())
    else {
        return;
    };
    let Some(now_state) = state.foreign_agreement_status(t, &key.0, &id).and_then(from_wire) else {
        return;
    };
    if let Some(a) = t
        .get_mut::<Sessions>()
        .by_ref
        .get_mut(key)
        .and_then(|s| s.agreement.as_mut())
    {
        a.state = now_state;
    }
}

/// When the session has ended: the state its `PENDING` agreement takes (shown at once, in the
/// callback too; the keeper is told by [`tell`] in the same transaction).
pub(super) fn on_end(s: &mut Session) {
    let next = match s.state {
        SessionState::PaymentSuccessful => SubscriptionState::Active,
        SessionState::PaymentTerminated => SubscriptionState::Stopped,
        SessionState::SessionExpired => SubscriptionState::Expired,
        _ => return,
    };
    if let Some(a) = s.agreement.as_mut().filter(|a| !a.told) {
        if a.state == SubscriptionState::Pending {
            a.state = next;
        }
    }
}

/// Tells the keeper of the agreement of session `key` how the session ended (once), and reads
/// the agreement's state back.
pub(super) fn tell(state: &AppState, t: &mut Tables, key: &Key) {
    let now = state.clock().now();
    let Some(s) = t.get_mut::<Sessions>().by_ref.get_mut(key) else {
        return;
    };
    on_end(s);
    let phone = s
        .billing
        .as_ref()
        .map(|b| b.phone_number.clone())
        .filter(|p| !p.is_empty())
        .map(|p| crate::core::customer::msisdn(&p));
    let (id, outcome) = match (&s.state, s.agreement.as_mut()) {
        (st, Some(a)) if st.is_final() && !a.told => {
            a.told = true;
            let outcome = match st {
                SessionState::PaymentSuccessful => AgreementOutcome::Accepted(None),
                SessionState::PaymentTerminated => AgreementOutcome::Rejected,
                _ => AgreementOutcome::Expired,
            };
            (a.id.clone(), outcome)
        }
        _ => return,
    };
    let outcome = match outcome {
        AgreementOutcome::Accepted(_) => AgreementOutcome::Accepted(phone.as_deref()),
        o => o,
    };
    let Some(after) = state
        .conclude_foreign_agreement(t, now, &key.0, &id, outcome)
        .and_then(from_wire)
    else {
        return;
    };
    if let Some(a) = t
        .get_mut::<Sessions>()
        .by_ref
        .get_mut(key)
        .and_then(|s| s.agreement.as_mut())
    {
        a.state = after;
    }
}

/// The keys of the open sessions that carry an agreement (the sweep reads and tells them).
pub(super) fn open_with_agreement(t: &Tables) -> Vec<Key> {
    t.get::<Sessions>()
        .by_ref
        .iter()
        .filter(|(_, s)| s.agreement.is_some() && !s.state.is_final())
        .map(|(k, _)| k.clone())
        .collect()
}
