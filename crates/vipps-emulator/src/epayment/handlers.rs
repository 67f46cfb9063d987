//! ePayment API v1 handlers (`/epayment/v1`).

use crate::core::error::{ApiError, Stored};
use crate::core::state::{AppState, ForeignCall, Modification};
use crate::core::store::{Fingerprint, IdempotencyRecord, IdempotencyScope, NewPayment, Once, Payment, Tables};
use crate::web::{body_required, idempotency_key, inbound, parse_json, respond, split, Credentials, KeyRule};
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use time::OffsetDateTime;
use vipps_types::epayment::{
    CancelModificationRequest, CreatePaymentRequest, ForceApproveRequest, ModificationRequest, UserFlow,
};
use vipps_types::{Reference, Validate};

fn path_reference(p: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    let Path(r) = p.map_err(|e| ApiError::validation("reference", &e.body_text(), None))?;
    Reference::check(&r).map_err(|e| ApiError::validation("reference", e.reason, None))?;
    Ok(r)
}

/// The reference of an existing payment: as `path_reference`, except that a reference too
/// short for ePayment is taken when it is one of the merchant's eCom orders, which are read
/// and modified through ePayment under their order id (`epayment--migration-from-ecom.md`)
/// and may be shorter than 8 characters (`ecom-v2.yaml`: `^[a-zA-Z0-9-]{1,50}$`).
fn existing_reference(state: &AppState, msn: &str, p: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    let Path(r) = p.map_err(|e| ApiError::validation("reference", &e.body_text(), None))?;
    if let Err(e) = Reference::check(&r) {
        let held = Reference::check_existing(&r).is_ok()
            && state.store().transact(|t| state.reference_holder(t, msn, &r)).is_some();
        if !held {
            return Err(ApiError::validation("reference", e.reason, None));
        }
    }
    Ok(r)
}

/// One idempotent mutation.
#[derive(Clone)]
struct Mutation<'a> {
    state: &'a AppState,
    msn: &'a str,
    method: &'static str,
    path: &'a str,
    key: Option<String>,
    fingerprint: Fingerprint,
    conflict_code: u32,
}

impl Mutation<'_> {
    /// Runs `op` under the store lock: replays a stored answer for an identical retry, answers
    /// 409 for a reused key with a different body, and otherwise runs `op` and remembers its
    /// answer (successes and domain errors alike).
    fn run(self, op: impl FnOnce(&mut Tables, OffsetDateTime) -> Result<Stored, ApiError>) -> Stored {
        let state = self.state;
        // Digested before the store's lock is taken: the lock only sees 32 bytes.
        let scope = self.key.as_deref().map(|key| {
            IdempotencyScope {
                api: "epayment",
                msn: self.msn,
                method: self.method,
                path: self.path,
                key,
            }
            .digest()
        });
        let once = Once {
            scope,
            fingerprint: self.fingerprint,
            tag: None,
        };
        let conflict = |_: &IdempotencyRecord| {
            ApiError::code(
                self.conflict_code,
                format!(
                    "Idempotency-Key '{}' was already used with a different request body",
                    self.key.as_deref().unwrap_or_default()
                ),
            )
            .with_status(StatusCode::CONFLICT)
            .render(self.path)
        };
        state.store().transact(|tables| {
            once.run(tables, conflict, |tables| {
                let now = state.clock().now();
                op(tables, now).unwrap_or_else(|e| e.render(self.path))
            })
        })
    }
}

impl Mutation<'_> {
    /// A capture, refund or cancel: of the payment another API keeps when `reference` is one
    /// of its (an eCom order), else `apply` on the ePayment payment. Idempotent like every
    /// mutation.
    fn modify(
        self,
        reference: &str,
        action: Modification<'_>,
        apply: impl FnOnce(&mut Payment, Option<String>, OffsetDateTime) -> Result<(), ApiError>,
    ) -> Stored {
        let (state, msn, key) = (self.state, self.msn, self.key.clone());
        let foreign = ForeignCall {
            msn,
            reference,
            key: key.as_deref(),
        };
        self.run(|tables, now| {
            if let Some(answer) = foreign_modify(state, tables, now, foreign, action) {
                return answer;
            }
            let p = tables.ledger.payment(msn, reference, now)?;
            apply(p, key.clone(), now)?;
            Ok(Stored::json(StatusCode::OK, &p.modification_response()))
        })
    }
}

/// `POST /epayment/v1/payments`.
pub(crate) async fn create(State(state): State<AppState>, req: Request) -> Response {
    let (uri, headers, body) = split(req);
    let path = uri.path().to_owned();
    respond(&path, create_inner(&state, &path, &headers, body).await)
}

async fn create_inner(state: &AppState, path: &str, headers: &HeaderMap, body: Body) -> Result<Stored, ApiError> {
    let call = inbound(state, headers, body, Credentials::Token, None).await?;
    let key = idempotency_key(headers, KeyRule::Required)?;
    let req: CreatePaymentRequest = parse_json(headers, &call.body)?.ok_or_else(body_required)?;
    req.validate()?;
    req.validate_expiry(state.clock().now())?;
    let m = &call.merchant;
    if req.amount.currency != m.currency {
        return Err(ApiError::code(
            5040,
            format!(
                "Invalid currency for merchant: this sales unit takes {} (was {})",
                m.currency, req.amount.currency
            ),
        )
        .field("amount.currency", format!("must be {}", m.currency)));
    }
    if req.blocked_sources.is_some() && m.currency == vipps_types::Currency::Nok {
        // "for `WALLET` payments on Danish and Finnish sales units only. Norwegian sales units
        // get error 5010" (epayment--features-2026.md); a sales unit's market is its currency.
        return Err(ApiError::code(
            5010,
            "blockedSources is for Danish and Finnish sales units only (this one is Norwegian)",
        )
        .field("blockedSources", "not applicable to a Norwegian sales unit"));
    }
    if m.direct_capture {
        // ePayment has reserve capture only (direct capture went in v1.1.3).
        return Err(ApiError::code(
            5070,
            format!(
                "The sales unit with MSN {} is not allowed to use reserve capture (it is set up for direct capture)",
                m.msn
            ),
        )
        .with_title("Reserve capture not allowed"));
    }
    let refused = |code: u32, what: &str| {
        Err(ApiError::code(
            code,
            format!("The sales unit with MSN {} is not approved for {what}", m.msn),
        ))
    };
    if req.shipping.is_some() && !m.approved.express {
        return refused(5020, "Express payments");
    }
    if req.expires_at.is_some() && !m.approved.long_living {
        return refused(5050, "long-living payments (expiresAt)");
    }
    if req.user_flow == UserFlow::PushMessage && !m.approved.push_message {
        return refused(5080, "PUSH_MESSAGE (skipping the landing page)");
    }
    if let (Some(min), Some(phone)) = (
        req.minimum_user_age,
        req.customer.as_ref().and_then(|c| c.phone_number.as_deref()),
    ) {
        // A named customer below the age limit: "Customer not found", as for an unknown number
        // (the 2026 guide: do not tell the customer their number is wrong).
        let today = state.clock().now().date();
        if crate::core::customer::Person::test(&req.amount.currency, Some(phone)).age_on(today) < min {
            return Err(ApiError::code(7010, "Customer not found").field("customer.phoneNumber", "no eligible user"));
        }
    }
    let public_url = state.public_url();
    let expiry_secs = state.config().payment_expiry_secs;
    state.ensure_background();
    let mutation = Mutation {
        state,
        msn: &m.msn,
        method: "POST",
        path,
        key: key.clone(),
        fingerprint: Fingerprint::of(&req),
        conflict_code: 4020,
    };
    Ok(mutation.run(|tables, now| {
        // A Checkout session's reference and an eCom order's id are ePayment references too
        // (ePayment reads eCom orders; a session's payment takes its reference).
        if let Some(holder) = state.reference_holder(tables, &m.msn, req.reference.as_str()) {
            return Err(ApiError::code(
                4150,
                format!("Reference '{}' is already used by {holder}", req.reference),
            ));
        }
        let expires_at = req
            .expires_at
            .unwrap_or_else(|| now.checked_add(time::Duration::seconds(expiry_secs)).unwrap_or(now));
        let created = tables.ledger.create_payment(NewPayment {
            msn: &m.msn,
            request: &req,
            idempotency_key: key,
            now,
            expires_at,
            public_url: &public_url,
        })?;
        Ok(Stored::json(StatusCode::CREATED, &created))
    }))
}

/// `GET /epayment/v1/payments/{reference}`.
pub(crate) async fn get_payment(
    State(state): State<AppState>,
    reference: Result<Path<String>, PathRejection>,
    req: Request,
) -> Response {
    let (uri, headers, body) = split(req);
    respond(uri.path(), read(&state, reference, &headers, body, false).await)
}

/// `GET /epayment/v1/payments/{reference}/events`.
pub(crate) async fn get_events(
    State(state): State<AppState>,
    reference: Result<Path<String>, PathRejection>,
    req: Request,
) -> Response {
    let (uri, headers, body) = split(req);
    respond(uri.path(), read(&state, reference, &headers, body, true).await)
}

async fn read(
    state: &AppState,
    reference: Result<Path<String>, PathRejection>,
    headers: &HeaderMap,
    body: Body,
    events: bool,
) -> Result<Stored, ApiError> {
    let call = inbound(state, headers, body, Credentials::Token, None).await?;
    let msn = call.merchant.msn.as_str();
    let reference = existing_reference(state, msn, reference)?;
    let now = state.clock().now();
    if events {
        let log = state.store().transact(|t| {
            let found = t.ledger.payment(msn, &reference, now).map(|p| p.event_log());
            or_ecom(found, || state.foreign_payment_events(t, msn, &reference))
        })?;
        return Ok(Stored::json(StatusCode::OK, &log));
    }
    // The answer is copied out under the store's lock and serialized after it is released, so
    // the one lock every request takes is held for as short a time as possible.
    let answer = state.store().transact(|t| {
        let found = t.ledger.payment(msn, &reference, now).map(|p| p.get_response());
        or_ecom(found, || state.foreign_payment(t, msn, &reference))
    })?;
    Ok(Stored::json(StatusCode::OK, &answer))
}

/// A capture, refund or cancel of a payment another API keeps (an eCom order), if
/// `reference` is no ePayment payment's and such a payment exists.
fn foreign_modify(
    state: &AppState,
    tables: &mut Tables,
    now: OffsetDateTime,
    call: ForeignCall<'_>,
    action: Modification<'_>,
) -> Option<Result<Stored, ApiError>> {
    if tables.ledger.has_payment(call.msn, call.reference) {
        return None;
    }
    state.modify_foreign_payment(tables, now, call, action)
}

/// For a reference no ePayment payment has: the eCom order of that id, read or operated on
/// through ePayment (the migration guide), else the "not found" error.
fn or_ecom<T>(found: Result<T, ApiError>, ecom: impl FnOnce() -> Option<T>) -> Result<T, ApiError> {
    match found {
        Err(e) if e.status == StatusCode::NOT_FOUND => ecom().ok_or(e),
        r => r,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Capture,
    Refund,
}

/// `POST /epayment/v1/payments/{reference}/capture`.
pub(crate) async fn capture(
    State(state): State<AppState>,
    reference: Result<Path<String>, PathRejection>,
    req: Request,
) -> Response {
    let (uri, headers, body) = split(req);
    let path = uri.path().to_owned();
    respond(
        &path,
        modify(&state, reference, &path, &headers, body, Op::Capture).await,
    )
}

/// `POST /epayment/v1/payments/{reference}/refund`.
pub(crate) async fn refund(
    State(state): State<AppState>,
    reference: Result<Path<String>, PathRejection>,
    req: Request,
) -> Response {
    let (uri, headers, body) = split(req);
    let path = uri.path().to_owned();
    respond(
        &path,
        modify(&state, reference, &path, &headers, body, Op::Refund).await,
    )
}

async fn modify(
    state: &AppState,
    reference: Result<Path<String>, PathRejection>,
    path: &str,
    headers: &HeaderMap,
    body: Body,
    op: Op,
) -> Result<Stored, ApiError> {
    let call = inbound(state, headers, body, Credentials::Token, None).await?;
    let reference = existing_reference(state, &call.merchant.msn, reference)?;
    let key = idempotency_key(headers, KeyRule::Required)?;
    let req: ModificationRequest = parse_json(headers, &call.body)?.ok_or_else(body_required)?;
    req.validate()?;
    let msn = call.merchant.msn.as_str();
    let mutation = Mutation {
        state,
        msn,
        method: "POST",
        path,
        key: key.clone(),
        fingerprint: Fingerprint::of(&req),
        conflict_code: if op == Op::Capture { 4010 } else { 4150 },
    };
    let action = match op {
        Op::Capture => Modification::Capture(&req.modification_amount),
        Op::Refund => Modification::Refund(&req.modification_amount),
    };
    Ok(mutation.modify(&reference, action, |p, key, now| match op {
        Op::Capture => p.capture(&req.modification_amount, key, now),
        Op::Refund => p.refund(&req.modification_amount, key, now),
    }))
}

/// `POST /epayment/v1/payments/{reference}/cancel` (optional body `{cancelTransactionOnly}`).
pub(crate) async fn cancel(
    State(state): State<AppState>,
    reference: Result<Path<String>, PathRejection>,
    req: Request,
) -> Response {
    let (uri, headers, body) = split(req);
    let path = uri.path().to_owned();
    respond(&path, cancel_inner(&state, reference, &path, &headers, body).await)
}

async fn cancel_inner(
    state: &AppState,
    reference: Result<Path<String>, PathRejection>,
    path: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Stored, ApiError> {
    let call = inbound(state, headers, body, Credentials::Token, None).await?;
    let reference = existing_reference(state, &call.merchant.msn, reference)?;
    // "Recommended", not required, for cancel (epayment--operations-2026.md): without a key the
    // cancel runs once and nothing is kept to replay.
    let key = idempotency_key(headers, KeyRule::Optional)?;
    let req: CancelModificationRequest = parse_json(headers, &call.body)?.unwrap_or_default();
    let msn = call.merchant.msn.as_str();
    let mutation = Mutation {
        state,
        msn,
        method: "POST",
        path,
        key: key.clone(),
        fingerprint: Fingerprint::of(&req),
        conflict_code: 4020,
    };
    let action = Modification::Cancel {
        transaction_only: req.cancel_transaction_only.unwrap_or(false),
    };
    Ok(mutation.modify(&reference, action, |p, key, now| {
        p.cancel(req.cancel_transaction_only.unwrap_or(false), key, now)
    }))
}

/// `POST /epayment/v1/test/payments/{reference}/approve` (and the alias without `/test`):
/// the test-only force approve. 200 with an empty body.
pub(crate) async fn force_approve(
    State(state): State<AppState>,
    reference: Result<Path<String>, PathRejection>,
    req: Request,
) -> Response {
    let (uri, headers, body) = split(req);
    respond(uri.path(), approve_inner(&state, reference, &headers, body).await)
}

async fn approve_inner(
    state: &AppState,
    reference: Result<Path<String>, PathRejection>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Stored, ApiError> {
    let call = inbound(state, headers, body, Credentials::Token, None).await?;
    let reference = path_reference(reference)?;
    let req: ForceApproveRequest = parse_json(headers, &call.body)?.unwrap_or_default();
    req.validate()?;
    let now = state.clock().now();
    state.store().transaction(|ledger| {
        // Another payment's token is a mix-up worth refusing. A token that is no payment's is
        // ignored: the official Postman collection sends an unfilled `{{payment_token}}`.
        let token = req.token.as_deref().filter(|t| ledger.knows_token(t));
        let p = ledger.payment(&call.merchant.msn, &reference, now)?;
        if token.is_some_and(|t| !p.token_is(t)) {
            return Err(ApiError::code(10020, "The token belongs to another payment")
                .field("token", "does not match the payment's redirectUrl token"));
        }
        // The approving customer: the payment's own, else the one the body names (kept only
        // if the approval goes through).
        let named = p.customer_phone.is_none();
        if named {
            p.customer_phone = req.customer.as_ref().and_then(|c| c.phone_number.clone());
        }
        if let Err(e) = p.check_age(now).and_then(|()| p.force_approve(now)) {
            if named {
                p.customer_phone = None;
            }
            return Err(e);
        }
        Ok(Stored::empty(StatusCode::OK))
    })
}
