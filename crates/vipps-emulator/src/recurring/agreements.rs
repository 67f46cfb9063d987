//! The agreement endpoints: draft, list, get, update or stop, and the test-only force accept.

use super::call::*;
use super::customer::{act_in, Action};
use super::errors::*;
use super::model::*;
use super::process::*;
use super::render::agreement_view;
use crate::core::error::Stored;
use crate::core::state::AppState;
use crate::core::store::Fingerprint;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::Uri;
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use vipps_types::recurring as wire;
use vipps_types::Validate;

/// The `(unit, count)` of a validated interval; `None` for a `FLEXIBLE` one.
pub(super) fn interval_of(i: &wire::Interval) -> Option<(Unit, u8)> {
    let p = i.period()?;
    let unit = match p.unit {
        wire::IntervalUnit::Day => Unit::Day,
        wire::IntervalUnit::Week => Unit::Week,
        wire::IntervalUnit::Month => Unit::Month,
        _ => Unit::Year,
    };
    Some((unit, p.count.clamp(1, 31) as u8))
}

/// An amount in minor units, within `u32`.
pub(super) fn amount_u32(field: &str, v: i64) -> Result<u32, RecError> {
    u32::try_from(v).map_err(|_| RecError::validation(field, "is out of range"))
}

/// `POST /recurring/v3/agreements` → 201 `{agreementId, uuid, vippsConfirmationUrl, chargeId?}`.
pub(crate) async fn draft(State(state): State<AppState>, uri: Uri, headers: HeaderMap, body: Body) -> Response {
    let path = uri.path();
    let r = async {
        let call = begin(&state, &headers, body, true).await?;
        let req: wire::DraftAgreement = super::call::body(&headers, &call)?;
        req.validate()?;
        let m = state
            .merchant_by_msn(&call.msn)
            .ok_or_else(|| RecError::agreement_not_found(""))?;
        if req.pricing.currency != m.currency {
            return Err(RecError::validation(
                "pricing.currency",
                &format!("must be {} for this sales unit", m.currency),
            ));
        }
        if req.skip_landing_page == Some(true) && !m.approved.push_message {
            return Err(RecError::new(
                StatusCode::BAD_REQUEST,
                "unsupported-feature",
                "Unsupported feature",
                "skipLandingPage is not allowed for this sales unit",
            ));
        }
        let now = state.clock().now();
        if let Some(c) = &req.campaign {
            for (field, t) in [("campaign.end", c.end), ("campaign.eventDate", c.event_date)] {
                if t.is_some_and(|t| t <= now) {
                    return Err(RecError::validation(field, "must be in the future"));
                }
            }
        }
        let amount = req
            .pricing
            .amount
            .map(|v| amount_u32("pricing.amount", v))
            .transpose()?;
        let suggested = req
            .pricing
            .suggested_max_amount
            .map(|v| amount_u32("pricing.suggestedMaxAmount", v))
            .transpose()?;
        let initial = req
            .initial_charge
            .as_ref()
            .map(|c| amount_u32("initialCharge.amount", c.amount).map(|a| (a, c)))
            .transpose()?;
        let public = state.public_url();
        let stored = once(&state, &call, "POST", path, Fingerprint::of(&req), |t, now| {
            let (_, r) = t.ledger_and::<Recurring>();
            let msn = r.msn_index(&call.msn);
            let initial_key = initial.and_then(|(_, c)| c.order_id.as_deref()).map(ChargeKey::parse);
            if let Some(k) = &initial_key {
                if r.charge_ids.contains_key(&(msn, k.clone())) {
                    return Err(RecError::new(
                        StatusCode::CONFLICT,
                        "conflict",
                        "Conflict",
                        "initialCharge.orderId is already used by another charge of this merchant",
                    )
                    .field("initialCharge.orderId", "must be unique for the merchant"));
                }
            }
            let code = r.new_agreement_code();
            let ai = r.agreements.len() as u32;
            r.agreements
                .push(pending_agreement(code, msn, &req, amount, suggested, now));
            r.by_code.insert(code, ai);
            r.schedule_expiry(now + PENDING_FOR.whole_seconds(), ai);
            let mut created = wire::AgreementCreated::new(
                agreement_id(code),
                uuid::Uuid::from_u128(r.agreements[ai as usize].uuid),
            );
            created.vipps_confirmation_url =
                Some(super::frontend::confirmation_url(&public, &r.agreements[ai as usize]));
            if let Some((amount, c)) = initial {
                let key = initial_key.unwrap_or_else(|| r.new_charge_key(msn));
                let ci = r.add_charge(Charge {
                    key,
                    agreement: ai,
                    amount,
                    captured: 0,
                    refunded: 0,
                    cancelled: 0,
                    due: Some(at(now).date()),
                    retry_days: 0,
                    status: ChargeStatus::Scheduled,
                    kind: ChargeKind::Initial,
                    reserve: c.transaction_type == wire::TransactionType::ReserveCapture,
                    failure: None,
                    description: c.description.as_str().into(),
                    external_id: c.external_id.as_deref().map(Into::into),
                    history: vec![History {
                        at: now,
                        amount,
                        event: HistoryEvent::Create,
                        success: true,
                        key: Some(call.key.as_str().into()),
                    }],
                });
                r.agreements[ai as usize].initial = Some(ci);
                created.charge_id = Some(r.charges[ci as usize].key.render());
            }
            Ok(Stored::json(StatusCode::CREATED, &created))
        });
        state.ensure_background();
        Ok(stored)
    }
    .await;
    respond(path, r)
}

/// The query of the agreement list.
struct ListQuery {
    status: AgreementStatus,
    created_after: Option<i64>,
    page: Option<(usize, usize)>,
}

fn list_query(raw: Option<&str>) -> Result<ListQuery, RecError> {
    let mut q = ListQuery {
        status: AgreementStatus::Active,
        created_after: None,
        page: None,
    };
    let (mut number, mut size) = (None, None);
    for (k, v) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        let int = |field: &str| {
            v.parse::<i64>()
                .map_err(|_| RecError::validation(field, "must be an integer"))
        };
        match &*k {
            "status" => {
                q.status = match &*v {
                    "PENDING" => AgreementStatus::Pending,
                    "ACTIVE" => AgreementStatus::Active,
                    "STOPPED" => AgreementStatus::Stopped,
                    "EXPIRED" => AgreementStatus::Expired,
                    _ => {
                        return Err(RecError::validation(
                            "status",
                            "must be PENDING, ACTIVE, STOPPED or EXPIRED",
                        ))
                    }
                }
            }
            "createdAfter" => q.created_after = Some(int("createdAfter")?),
            "pageNumber" => number = Some(int("pageNumber")?),
            "pageSize" => size = Some(int("pageSize")?),
            _ => {}
        }
    }
    if number.is_some() || size.is_some() {
        let number = number.unwrap_or(1);
        let size = size.unwrap_or(100);
        if number < 1 {
            return Err(RecError::validation("pageNumber", "must be at least 1"));
        }
        if !(1..=1000).contains(&size) {
            return Err(RecError::validation("pageSize", "must be between 1 and 1000"));
        }
        q.page = Some((number as usize, size as usize));
    }
    Ok(q)
}

/// `GET /recurring/v3/agreements?status=&createdAfter=&pageNumber=&pageSize=` → 200, oldest
/// first.
pub(crate) async fn list(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let r = async {
        let call = begin(&state, &headers, body, false).await?;
        let q = list_query(query.as_deref())?;
        let public = state.public_url();
        let now = state.clock().now().unix_timestamp();
        let views = state.store().transact(|t| {
            let mut ev = Vec::new();
            let r = t.get_mut::<Recurring>();
            let Some(msn) = r.known_msn(&call.msn) else {
                return Vec::new();
            };
            for ai in 0..r.agreements.len() as u32 {
                if r.agreements[ai as usize].msn == msn {
                    expire_if_due(r, ai, now, &mut ev);
                }
            }
            let r = &*r;
            let matching = (0..r.agreements.len() as u32).filter(|&ai| {
                let a = &r.agreements[ai as usize];
                a.msn == msn && a.status == q.status && q.created_after.is_none_or(|ms| a.created * 1000 > ms)
            });
            let views = match q.page {
                Some((n, size)) => matching
                    .skip((n - 1) * size)
                    .take(size)
                    .map(|ai| agreement_view(r, ai, &public))
                    .collect(),
                None => matching.map(|ai| agreement_view(r, ai, &public)).collect::<Vec<_>>(),
            };
            flush(t, &ev, now);
            views
        });
        Ok(Stored::json(StatusCode::OK, &views))
    }
    .await;
    respond(uri.path(), r)
}

/// The agreement id of a path.
pub(super) fn path_agreement(p: Result<Path<String>, PathRejection>) -> Result<String, RecError> {
    let Path(id) = p.map_err(|e| RecError::validation("agreementId", &e.body_text()))?;
    check_agreement_id(&id)?;
    Ok(id)
}

/// `GET /recurring/v3/agreements/{agreementId}` → 200.
pub(crate) async fn get(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let r = async {
        let call = begin(&state, &headers, body, false).await?;
        let id = path_agreement(id)?;
        let public = state.public_url();
        let now = state.clock().now().unix_timestamp();
        state.store().transact(|t| {
            let r = t.get_mut::<Recurring>();
            let ai = agreement_in(r, &call.msn, &id)?;
            let mut ev = Vec::new();
            expire_if_due(r, ai, now, &mut ev);
            let view = agreement_view(r, ai, &public);
            flush(t, &ev, now);
            Ok(Stored::json(StatusCode::OK, &view))
        })
    }
    .await;
    respond(uri.path(), r)
}

/// `PATCH /recurring/v3/agreements/{agreementId}` → 204: new texts, price or interval of an
/// `ACTIVE` agreement, or `{"status": "STOPPED"}` alone.
pub(crate) async fn update(
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
        let req: wire::AgreementUpdate = super::call::body(&headers, &call)?;
        req.validate()?;
        Ok(once(&state, &call, "PATCH", path, Fingerprint::of(&req), |t, now| {
            let mut ev = Vec::new();
            let r = t.get_mut::<Recurring>();
            let ai = agreement_in(r, &call.msn, &id)?;
            expire_if_due(r, ai, now, &mut ev);
            let result = if req.status.is_some() {
                stop(r, ai, Actor::Merchant, now, &mut ev)
            } else {
                apply_update(&mut r.agreements[ai as usize], &req)
            };
            flush(t, &ev, now);
            result.map(|()| Stored::empty(StatusCode::NO_CONTENT))
        }))
    }
    .await;
    respond(path, r)
}

fn apply_update(a: &mut Agreement, req: &wire::AgreementUpdate) -> Result<(), RecError> {
    if !matches!(a.status, AgreementStatus::Active | AgreementStatus::Pending) {
        return Err(RecError::illegal_update(a));
    }
    let mut amount = a.amount;
    let mut suggested = a.suggested_max;
    if let Some(p) = &req.pricing {
        if let Some(v) = p.amount {
            if a.pricing != PricingKind::Legacy {
                return Err(RecError::validation(
                    "pricing.amount",
                    "can only be updated on a LEGACY agreement",
                ));
            }
            amount = Some(amount_u32("pricing.amount", v)?);
        }
        if let Some(v) = p.suggested_max_amount {
            if a.pricing != PricingKind::Variable {
                return Err(RecError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid-suggested-max-amount",
                    "Invalid suggested max amount",
                    "pricing.suggestedMaxAmount can only be updated on a VARIABLE agreement",
                ));
            }
            if wire::max_amount(&a.currency).is_some_and(|max| v > max) {
                return Err(RecError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid-suggested-max-amount",
                    "Invalid suggested max amount",
                    format!("pricing.suggestedMaxAmount is above the limit for {}", a.currency),
                ));
            }
            suggested = Some(amount_u32("pricing.suggestedMaxAmount", v)?);
        }
    }
    a.amount = amount;
    a.suggested_max = suggested;
    if let Some(i) = &req.interval {
        a.interval = interval_of(i);
    }
    let texts = &mut a.texts;
    if let Some(n) = &req.product_name {
        texts.product_name = n.as_str().into();
    }
    if let Some(d) = &req.product_description {
        texts.product_description = Some(d.as_str().into());
    }
    if let Some(u) = &req.merchant_agreement_url {
        texts.merchant_agreement_url = u.as_str().into();
    }
    if let Some(x) = &req.external_id {
        texts.external_id = Some(x.as_str().into());
    }
    Ok(())
}

/// `PATCH /recurring/v3/agreements/{agreementId}/accept` `{phoneNumber}` → 204: the test
/// environment's force accept, as the customer with that number.
pub(crate) async fn force_accept(
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
        let req: wire::ForceAcceptAgreement = super::call::body(&headers, &call)?;
        req.validate()?;
        Ok(once(&state, &call, "PATCH", path, Fingerprint::of(&req), |t, now| {
            let ai = agreement_in(t.get::<Recurring>(), &call.msn, &id)?;
            let action = Action::Accept {
                phone: Some(req.phone_number.clone()),
                max_amount: None,
            };
            act_in(t, ai, action, now)?;
            Ok(Stored::empty(StatusCode::NO_CONTENT))
        }))
    }
    .await;
    respond(path, r)
}

/// A new `PENDING` agreement drafted from `req` (the API's draft, or a Checkout session's).
pub(super) fn pending_agreement(
    code: u64,
    msn: u16,
    req: &wire::DraftAgreement,
    amount: Option<u32>,
    suggested: Option<u32>,
    now: i64,
) -> Agreement {
    Agreement {
        code,
        msn,
        status: AgreementStatus::Pending,
        stopped_by: None,
        pricing: match req.pricing.pricing_type() {
            wire::PricingType::Legacy => PricingKind::Legacy,
            wire::PricingType::Variable => PricingKind::Variable,
            _ => PricingKind::Flexible,
        },
        currency: req.pricing.currency.clone(),
        amount,
        suggested_max: suggested,
        max_amount: None,
        interval: req.interval.as_ref().and_then(interval_of),
        created: now,
        start: None,
        stop: None,
        uuid: uuid::Uuid::new_v4().as_u128(),
        customer: None,
        card_fails: false,
        texts: Box::new(Texts {
            product_name: req.product_name.as_str().into(),
            product_description: req.product_description.as_deref().map(Into::into),
            merchant_redirect_url: req.merchant_redirect_url.as_str().into(),
            merchant_agreement_url: req.merchant_agreement_url.as_str().into(),
            phone: req.phone_number.as_deref().map(Into::into),
            scope: req.scope.as_deref().map(|s| s.trim().into()),
            external_id: req.external_id.as_deref().map(Into::into),
            campaign: req
                .campaign
                .as_ref()
                .and_then(|c| serde_json::to_string(c).ok())
                .map(Into::into),
        }),
        charges: Vec::new(),
        initial: None,
    }
}
