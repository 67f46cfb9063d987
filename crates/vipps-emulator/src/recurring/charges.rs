//! The charge endpoints: create (one, or up to 2 000 at once), list, get (also by id alone),
//! cancel, capture, refund.

use super::agreements::{amount_u32, path_agreement};
use super::call::*;
use super::errors::*;
use super::events::Ev;
use super::model::*;
use super::process::*;
use super::render::charge_view;
use crate::core::error::Stored;
use crate::core::state::AppState;
use crate::core::store::Fingerprint;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::Uri;
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use time::Date;
use vipps_types::recurring as wire;
use vipps_types::Validate;

/// Creates charge `req` on agreement `ai` (the rules the server checks: the agreement is
/// `ACTIVE`, `due` is 1 day to 2 years ahead, the amount ceilings, `orderId` unique).
pub(super) fn create_in(
    r: &mut Recurring,
    ai: u32,
    req: &wire::CreateCharge,
    key: &str,
    now: i64,
) -> Result<u32, RecError> {
    let a = &r.agreements[ai as usize];
    if a.status != AgreementStatus::Active {
        return Err(RecError::creation(format!(
            "Cannot create a charge for an agreement which is not active (it is {})",
            status_name(a.status)
        ))
        .field("agreement.status", "must be ACTIVE"));
    }
    let amount = amount_u32("amount", req.amount)?;
    let today = at(now).date();
    let kind = match req.charge_type() {
        wire::ChargeType::Unscheduled => ChargeKind::Unscheduled,
        _ => ChargeKind::Recurring,
    };
    let due = match kind {
        ChargeKind::Recurring => {
            let due = req
                .due
                .ok_or_else(|| RecError::validation("due", "is required for a RECURRING charge"))?;
            check_due(due, today)?;
            Some(due)
        }
        _ => None,
    };
    let too_high = |detail: String| {
        RecError::new(
            StatusCode::BAD_REQUEST,
            "charge-amount-too-high",
            "Charge amount too high",
            detail,
        )
        .field("amount", "is too high")
    };
    if wire::max_amount(&a.currency).is_some_and(|max| req.amount > max) {
        return Err(too_high(format!(
            "A charge can be at most {} {}",
            wire::max_amount(&a.currency).unwrap_or(0),
            a.currency
        )));
    }
    match a.pricing {
        PricingKind::Legacy => {
            let ceiling = 5 * u64::from(a.amount.unwrap_or(0));
            let day = due.unwrap_or(today);
            let total = interval_total(r, ai, day) + u64::from(amount);
            if total > ceiling {
                return Err(too_high(format!(
                    "The charges of one interval may total at most 5 times the agreement price ({ceiling}); with this one they would total {total}"
                )));
            }
        }
        PricingKind::Variable => {
            let ceiling = a.suggested_max.unwrap_or(0).max(a.max_amount.unwrap_or(0));
            if amount > ceiling {
                return Err(too_high(format!(
                    "A charge can be at most the higher of suggestedMaxAmount and the customer's maxAmount ({ceiling})"
                )));
            }
        }
        PricingKind::Flexible => {}
    }
    let msn = a.msn;
    let key_of = match &req.order_id {
        Some(o) => {
            let k = ChargeKey::parse(o);
            if r.charge_ids.contains_key(&(msn, k.clone())) {
                return Err(RecError::new(
                    StatusCode::CONFLICT,
                    "conflict",
                    "Conflict",
                    format!("orderId '{o}' is already used by a charge of this merchant"),
                )
                .field("orderId", "must be unique for the merchant"));
            }
            k
        }
        None => r.new_charge_key(msn),
    };
    let ci = r.add_charge(Charge {
        key: key_of,
        agreement: ai,
        amount,
        captured: 0,
        refunded: 0,
        cancelled: 0,
        due,
        retry_days: req.retry_days.clamp(0, 14) as u8,
        status: ChargeStatus::Scheduled,
        kind,
        reserve: req.transaction_type == wire::TransactionType::ReserveCapture,
        failure: None,
        description: req.description.as_str().into(),
        external_id: req.external_id.as_deref().map(Into::into),
        history: vec![History {
            at: now,
            amount,
            event: HistoryEvent::Create,
            success: true,
            key: Some(key.into()),
        }],
    });
    // A RECURRING charge is attempted at the start (UTC) of its due date; an UNSCHEDULED one
    // right away.
    let when = due.map_or(now, midnight);
    r.schedule(when, Work::Attempt(ci));
    Ok(ci)
}

/// `due` must be at least 1 day and at most 2 years after `today`.
fn check_due(due: Date, today: Date) -> Result<(), RecError> {
    if due < today.next_day().unwrap_or(today) {
        return Err(RecError::new(
            StatusCode::BAD_REQUEST,
            "charge-due-too-soon",
            "Charge due too soon",
            format!("due must be at least 1 day after today ({today})"),
        )
        .field("due", "is too soon"));
    }
    let latest = today
        .replace_year(today.year() + 2)
        .unwrap_or_else(|_| today + time::Duration::days(730));
    if due > latest {
        return Err(RecError::new(
            StatusCode::BAD_REQUEST,
            "charge-due-in-too-long",
            "Charge due in too long",
            format!("due must be at most 2 years after today ({latest} at the latest)"),
        )
        .field("due", "is too far ahead"));
    }
    Ok(())
}

/// The ids of a charge path.
fn path_charge(p: Result<Path<(String, String)>, PathRejection>) -> Result<(String, String), RecError> {
    let Path((a, c)) = p.map_err(|e| RecError::validation("chargeId", &e.body_text()))?;
    check_agreement_id(&a)?;
    Ok((a, c))
}

/// `POST /recurring/v3/agreements/{agreementId}/charges` → 201 `{chargeId}`.
pub(crate) async fn create(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let path = uri.path();
    let r = async {
        let call = begin(&state, &headers, body, true).await?;
        let id = path_agreement(id)?;
        let req: wire::CreateCharge = super::call::body(&headers, &call)?;
        req.validate()?;
        Ok(once(&state, &call, "POST", path, Fingerprint::of(&req), |t, now| {
            let r = t.get_mut::<Recurring>();
            let ai = agreement_in(r, &call.msn, &id)?;
            let ci = create_in(r, ai, &req, &call.key, now)?;
            let created = wire::ChargeCreated::new(r.charges[ci as usize].key.render());
            Ok(Stored::json(StatusCode::CREATED, &created))
        }))
    }
    .await;
    respond(path, r)
}

/// `POST /recurring/v3/agreements/charges` → 202 `{validCharges: [chargeId…], invalidCharges:
/// [{chargeBatchItemDto, errors}]}` (the official Node SDK's shapes), in request order. A charge
/// refused for its agreement's state or ceilings is also announced by
/// `recurring.charge-creation-failed.v1`.
pub(crate) async fn create_batch(State(state): State<AppState>, uri: Uri, headers: HeaderMap, body: Body) -> Response {
    let path = uri.path();
    let r = async {
        let call = begin(&state, &headers, body, true).await?;
        // A bare JSON array (the shared parser takes objects only).
        let req: wire::CreateCharges = serde_json::from_slice(&call.body)
            .map_err(|e| RecError::validation("body", &format!("must be a JSON array of charges ({e})")))?;
        let n = req.0.len();
        if n == 0 || n > wire::MAX_BATCH_CHARGES {
            return Err(RecError::validation(
                "charges",
                &format!("must hold 1 to {} charges (had {n})", wire::MAX_BATCH_CHARGES),
            ));
        }
        Ok(once(&state, &call, "POST", path, Fingerprint::of(&req), |t, now| {
            let mut ev = Vec::new();
            let r = t.get_mut::<Recurring>();
            let mut valid = Vec::with_capacity(n);
            let mut invalid = Vec::new();
            for (i, item) in req.0.iter().enumerate() {
                let mut refuse = |why: String| invalid.push(wire::InvalidCharge::new(item.clone(), vec![why]));
                if let Err(e) = item.validate() {
                    refuse(format!("{}: {}", e.field, e.message));
                    continue;
                }
                let Ok(ai) = agreement_in(r, &call.msn, &item.agreement_id) else {
                    refuse("agreementId: no agreement with this id exists for this merchant".into());
                    continue;
                };
                // Each charge of the batch has its own history key: the batch key and its index.
                match create_in(r, ai, &item.charge, &format!("{}-{i}", call.key), now) {
                    Ok(ci) => valid.push(r.charges[ci as usize].key.render()),
                    Err(e) => {
                        ev.push(Ev::CreationFailed {
                            agreement: ai,
                            amount: u32::try_from(item.charge.amount).unwrap_or(0),
                            order_id: item.charge.order_id.as_deref().map(Into::into),
                            why: e.detail.as_str().into(),
                        });
                        let why = match e.extra.first() {
                            Some((field, _)) => format!("{field}: {}", e.detail),
                            None => e.detail.clone(),
                        };
                        refuse(why);
                    }
                }
            }
            flush(t, &ev, now);
            let answer = wire::CreateChargesResponse::new(valid, invalid);
            Ok(Stored::json(StatusCode::ACCEPTED, &answer))
        }))
    }
    .await;
    respond(path, r)
}

/// `GET /recurring/v3/agreements/{agreementId}/charges?status=` → 200, oldest first.
pub(crate) async fn list(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let r = async {
        let call = begin(&state, &headers, body, false).await?;
        let id = path_agreement(id)?;
        let status = url::form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes())
            .find(|(k, _)| k == "status")
            .map(|(_, v)| wire::ChargeStatus::from(&*v));
        if let Some(s) = status.as_ref().filter(|s| !s.is_known()) {
            return Err(RecError::validation("status", &format!("'{s}' is not a charge status")));
        }
        let today = state.clock().now().date();
        state.store().transact(|t| {
            let r = t.get::<Recurring>();
            let ai = agreement_in(r, &call.msn, &id)?;
            let views: Vec<wire::Charge> = r.agreements[ai as usize]
                .charges
                .iter()
                .map(|&ci| charge_view(r, ci, today))
                .filter(|c| status.as_ref().is_none_or(|s| c.status == *s))
                .collect();
            Ok(Stored::json(StatusCode::OK, &views))
        })
    }
    .await;
    respond(uri.path(), r)
}

/// `GET /recurring/v3/agreements/{agreementId}/charges/{chargeId}` → 200.
pub(crate) async fn get(
    State(state): State<AppState>,
    ids: Result<Path<(String, String)>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let r = async {
        let call = begin(&state, &headers, body, false).await?;
        let (a, c) = path_charge(ids)?;
        let today = state.clock().now().date();
        state.store().transact(|t| {
            let r = t.get::<Recurring>();
            let ai = agreement_in(r, &call.msn, &a)?;
            let ci = charge_in(r, &call.msn, ai, &c)?;
            Ok(Stored::json(StatusCode::OK, &charge_view(r, ci, today)))
        })
    }
    .await;
    respond(uri.path(), r)
}

/// `GET /recurring/v3/charges/{chargeId}` → 200 (the charge of any of the merchant's
/// agreements).
pub(crate) async fn get_by_id(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let r = async {
        let call = begin(&state, &headers, body, false).await?;
        let Path(c) = id.map_err(|e| RecError::validation("chargeId", &e.body_text()))?;
        let today = state.clock().now().date();
        state.store().transact(|t| {
            let r = t.get::<Recurring>();
            let ci = r
                .known_msn(&call.msn)
                .and_then(|m| r.charge_of(m, &c))
                .ok_or_else(|| RecError::charge_not_found(&c))?;
            Ok(Stored::json(StatusCode::OK, &charge_view(r, ci, today)))
        })
    }
    .await;
    respond(uri.path(), r)
}

/// Which change of a charge.
#[derive(Clone, Copy)]
enum Op {
    Cancel,
    Capture,
    Refund,
}

async fn modify(
    state: AppState,
    ids: Result<Path<(String, String)>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
    op: Op,
) -> Response {
    let path = uri.path();
    let r = async {
        let call = begin(&state, &headers, body, true).await?;
        let (a, c) = path_charge(ids)?;
        let (amount, fingerprint, method) = match op {
            Op::Cancel => (0, Fingerprint::of(&()), "DELETE"),
            Op::Capture => {
                let req: wire::CaptureRequest = super::call::body(&headers, &call)?;
                req.validate()?;
                (amount_u32("amount", req.amount)?, Fingerprint::of(&req), "POST")
            }
            Op::Refund => {
                let req: wire::RefundRequest = super::call::body(&headers, &call)?;
                req.validate()?;
                (amount_u32("amount", req.amount)?, Fingerprint::of(&req), "POST")
            }
        };
        Ok(once(&state, &call, method, path, fingerprint, |t, now| {
            let mut ev = Vec::new();
            let r = t.get_mut::<Recurring>();
            let ai = agreement_in(r, &call.msn, &a)?;
            let ci = charge_in(r, &call.msn, ai, &c)?;
            let result = match op {
                Op::Cancel => cancel(r, ci, &call.key, now, &mut ev),
                Op::Capture => capture(r, ci, amount, &call.key, now, &mut ev),
                Op::Refund => refund(r, ci, amount, &call.key, now, &mut ev),
            };
            flush(t, &ev, now);
            result.map(|()| Stored::empty(StatusCode::NO_CONTENT))
        }))
    }
    .await;
    respond(path, r)
}

/// `DELETE /recurring/v3/agreements/{agreementId}/charges/{chargeId}` → 204.
pub(crate) async fn cancel_charge(
    State(state): State<AppState>,
    ids: Result<Path<(String, String)>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    modify(state, ids, uri, headers, body, Op::Cancel).await
}

/// `POST …/charges/{chargeId}/capture` `{amount, description}` → 204.
pub(crate) async fn capture_charge(
    State(state): State<AppState>,
    ids: Result<Path<(String, String)>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    modify(state, ids, uri, headers, body, Op::Capture).await
}

/// `POST …/charges/{chargeId}/refund` `{amount, description}` → 204.
pub(crate) async fn refund_charge(
    State(state): State<AppState>,
    ids: Result<Path<(String, String)>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    modify(state, ids, uri, headers, body, Op::Refund).await
}
