//! The eCom API's handlers: initiate, capture, refund, cancel, details, status, test approval.

use super::errors::EcomErr;
use super::order::Order;
use super::{request::*, state::*};
use crate::core::error::Stored;
use crate::core::state::AppState;
use crate::core::store::{Fingerprint, IdempotencyRecord, IdempotencyScope, Once};
use crate::web::parse_json;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use std::cmp::Reverse;
use time::OffsetDateTime;
use vipps_types::ecom::TransactionUpdateCallback;
use vipps_types::ecom::{
    CancelPaymentRequest, ForceApproveRequest, InitiatePaymentRequest, InitiatePaymentResponse, PaymentActionsRequest,
};
use vipps_types::Validate;

/// `POST /ecomm/v2/payments`.
pub(super) async fn initiate(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    answer(initiate_inner(&state, &headers, body).await)
}

pub(super) async fn initiate_inner(state: &AppState, headers: &HeaderMap, body: Body) -> Result<Stored, EcomErr> {
    let (msn, body) = begin(state, headers, body).await?;
    let mut req: InitiatePaymentRequest = body_of(headers, &body)?;
    req.validate()?;
    // Vipps corrects a badly formatted number; one it cannot correct is User 81
    // (ecom-v2.yaml, `CustomerInfo.mobileNumber`).
    if let Some(n) = req.customer_info.mobile_number.take() {
        let corrected = vipps_types::ecom::correct_mobile_number(&n).ok_or_else(|| {
            EcomErr::user(
                81,
                "User not registered with Vipps: the phone number is either incorrectly formatted, \
                 is not a Vipps user, or the user cannot pay businesses",
            )
        })?;
        req.customer_info.mobile_number = Some(corrected);
    }
    check_msn(&req.merchant_info.merchant_serial_number, &msn)?;
    let direct_capture = state.merchant_by_msn(&msn).is_some_and(|m| m.direct_capture);
    if req.transaction.skip_landing_page == Some(true) && req.customer_info.mobile_number.is_none() {
        return Err(EcomErr::merchant(
            38,
            "skipLandingPage needs customerInfo.mobileNumber (the push message goes to that number)",
        ));
    }
    let rid = request_id(headers, false)?.unwrap_or_default();
    let public_url = state.public_url();
    let expiry = state.config().payment_expiry_secs;
    state.ensure_background();
    with_data(state, |d, now, _| {
        let id = (msn.clone(), req.transaction.order_id.clone());
        if d.orders.contains_key(&id) {
            return Err(EcomErr::merchant(
                34,
                format!("Duplicate order id '{}': it is already used by this merchant", id.1),
            ));
        }
        let mut token = random_token();
        while d.tokens.contains_key(&token) {
            token = random_token();
        }
        // Shaped like the real `…/vippsgateway?v=2&token=…`, which clients (the official Postman
        // collection among them) take apart to find the token. With `isApp: true` it is the
        // app-switch deeplink instead, shaped like the API guide's `vipps://?token=…` in the
        // test environment's scheme `vippsMT://` (knowledge base, "isApp"); its token also
        // opens `/landing?v=2&token=…`.
        let url = if req.merchant_info.is_app == Some(true) {
            format!("vippsMT://?token={token}")
        } else {
            format!("{public_url}/landing?v=2&token={token}")
        };
        let expires_at = now.checked_add(time::Duration::seconds(expiry)).unwrap_or(now);
        let mut order = Order::new(&msn, req.clone(), token.clone(), url.clone(), &rid, now, expires_at);
        order.direct_capture = direct_capture;
        d.tokens.insert(token, id.clone());
        d.deadlines.push(Reverse((expires_at, id.clone())));
        d.insert(id.clone(), order);
        Ok(Stored::json(StatusCode::OK, &InitiatePaymentResponse::new(id.1, url)))
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    Capture,
    Refund,
    Cancel,
}

impl Action {
    pub(super) fn endpoint(self) -> &'static str {
        match self {
            Action::Capture => "capture",
            Action::Refund => "refund",
            Action::Cancel => "cancel",
        }
    }
}

/// `POST …/{orderId}/capture`.
pub(super) async fn capture(
    State(state): State<AppState>,
    order_id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    answer(modify(&state, order_id, &headers, body, Action::Capture).await)
}

/// `POST …/{orderId}/refund`.
pub(super) async fn refund(
    State(state): State<AppState>,
    order_id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    answer(modify(&state, order_id, &headers, body, Action::Refund).await)
}

/// `PUT …/{orderId}/cancel`.
pub(super) async fn cancel(
    State(state): State<AppState>,
    order_id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    answer(modify(&state, order_id, &headers, body, Action::Cancel).await)
}

pub(super) async fn modify(
    state: &AppState,
    order_id: Result<Path<String>, PathRejection>,
    headers: &HeaderMap,
    body: Body,
    action: Action,
) -> Result<Stored, EcomErr> {
    let (msn, body) = begin(state, headers, body).await?;
    let order_id = path_order(order_id)?;
    let (fingerprint, amount, release, text) = match action {
        Action::Capture | Action::Refund => {
            let req: PaymentActionsRequest = body_of(headers, &body)?;
            req.validate()?;
            check_msn(&req.merchant_info.merchant_serial_number, &msn)?;
            let amount = req.transaction.amount;
            let text = req.transaction.transaction_text.clone();
            (Fingerprint::of(&req), amount, false, text)
        }
        Action::Cancel => {
            let req: CancelPaymentRequest = body_of(headers, &body)?;
            req.validate()?;
            check_msn(&req.merchant_info.merchant_serial_number, &msn)?;
            let release = req.should_release_remaining_funds.unwrap_or(false);
            let text = req.transaction.transaction_text.clone();
            (Fingerprint::of(&req), None, release, text)
        }
    };
    // X-Request-Id is "Required for making partial captures" / "Required if the amount is
    // partial" (ecom-v2.yaml); the guide says the merchant "may" send it. A full capture or
    // refund (amount absent, null or 0) goes without; cancel never needs it.
    let partial = action != Action::Cancel && amount.is_some_and(|a| a > 0);
    let rid = request_id(headers, partial)?;
    let amount_tag = amount.map(|a| a.to_string().into_boxed_str());
    let once = once(
        &msn,
        action.endpoint(),
        &order_id,
        rid.as_deref(),
        fingerprint,
        amount_tag.clone(),
    );
    let conflict = |rec: &IdempotencyRecord| {
        let e = if rec.tag != amount_tag {
            EcomErr::payment(93, "Captured amount must be the same in an idempotent retry")
        } else {
            EcomErr::vipps(
                93,
                "The request differs from the earlier one with the same X-Request-Id",
            )
        };
        e.render()
    };
    let now = state.clock().now();
    Ok(state.store().transact(|t| {
        once.run(t, conflict, |t| {
            in_data(t, now, |d, now, out| {
                modify_order(
                    d,
                    now,
                    out,
                    (&msn, &order_id),
                    rid.as_deref(),
                    action,
                    (amount, release, &text),
                )
            })
        })
    }))
}

/// Runs a capture, refund or cancel on an order; the answer, success or error.
fn modify_order(
    d: &mut Data,
    now: OffsetDateTime,
    out: &mut Vec<TransactionUpdateCallback>,
    (msn, order_id): (&str, &str),
    rid: Option<&str>,
    action: Action,
    (amount, release, text): (Option<i64>, bool, &str),
) -> Stored {
    let (msn, order_id) = (msn.to_owned(), order_id.to_owned());
    let rid_str = rid.unwrap_or_default().to_owned();
    let result = match d.order(&msn, &order_id, now, out) {
        None => Err(EcomErr::not_found(&order_id)),
        Some(o) => match action {
            Action::Capture => o.capture(amount, text, &rid_str, now),
            Action::Refund => o.refund(amount, text, &rid_str, now),
            Action::Cancel => o.cancel(release, text, &rid_str, now),
        },
    };
    match result {
        Ok(v) => Stored::json(StatusCode::OK, &v),
        Err(e) => e.render(),
    }
}

/// eCom's use of the idempotency engine: `X-Request-Id` per (merchant, endpoint, order).
fn once(
    msn: &str,
    endpoint: &'static str,
    order_id: &str,
    rid: Option<&str>,
    fingerprint: Fingerprint,
    tag: Option<Box<str>>,
) -> Once {
    Once {
        scope: rid.map(|key| {
            IdempotencyScope {
                api: "ecom",
                msn,
                method: endpoint,
                path: order_id,
                key,
            }
            .digest()
        }),
        fingerprint,
        tag,
    }
}

/// `GET …/{orderId}/details`.
pub(super) async fn details(
    State(state): State<AppState>,
    order_id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    answer(read(&state, order_id, &headers, body, true).await)
}

/// `GET …/{orderId}/status` (deprecated).
pub(super) async fn status(
    State(state): State<AppState>,
    order_id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    answer(read(&state, order_id, &headers, body, false).await)
}

pub(super) async fn read(
    state: &AppState,
    order_id: Result<Path<String>, PathRejection>,
    headers: &HeaderMap,
    body: Body,
    details: bool,
) -> Result<Stored, EcomErr> {
    let (msn, _) = begin(state, headers, body).await?;
    let order_id = path_order(order_id)?;
    with_data(state, |d, now, out| {
        let o = d
            .order(&msn, &order_id, now, out)
            .ok_or_else(|| EcomErr::not_found(&order_id))?;
        Ok(if details {
            Stored::json(StatusCode::OK, &o.details(now))
        } else {
            Stored::json(StatusCode::OK, &o.status())
        })
    })
}

/// `POST /ecomm/v2/integration-test/payments/{orderId}/approve`: 200 with an empty body.
pub(super) async fn force_approve(
    State(state): State<AppState>,
    order_id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    answer(force_approve_inner(&state, order_id, &headers, body).await)
}

pub(super) async fn force_approve_inner(
    state: &AppState,
    order_id: Result<Path<String>, PathRejection>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Stored, EcomErr> {
    let (msn, body) = begin(state, headers, body).await?;
    let order_id = path_order(order_id)?;
    let rid = request_id(headers, false)?;
    let req: ForceApproveRequest = parse_json(headers, &body)?.unwrap_or_default();
    if let Some(n) = &req.customer_phone_number {
        if n.len() != 8 || !n.bytes().all(|b| b.is_ascii_digit()) {
            return Err(EcomErr::invalid(
                "customerPhoneNumber",
                "must be 8 digits, without country code",
            ));
        }
    }
    let once = once(&msn, "approve", &order_id, rid.as_deref(), Fingerprint::of(&req), None);
    let conflict = |_: &IdempotencyRecord| {
        EcomErr::vipps(
            93,
            "The request differs from the earlier one with the same X-Request-Id",
        )
        .render()
    };
    let now = state.clock().now();
    Ok(state.store().transact(|t| {
        once.run(t, conflict, |t| {
            in_data(t, now, |d, now, out| {
                let rid_str = rid.clone().unwrap_or_default();
                let result = (|| {
                    // As in ePayment: another order's token is refused, one that is no order's ignored.
                    let known = req.token.as_deref().filter(|t| d.tokens.contains_key(*t));
                    let o = d
                        .order(&msn, &order_id, now, out)
                        .ok_or_else(|| EcomErr::not_found(&order_id))?;
                    if known.is_some_and(|t| !crate::web::secure_eq(t, &o.token)) {
                        return Err(EcomErr::invalid("token", "belongs to another order"));
                    }
                    if o.express() {
                        return Err(EcomErr::vipps(
                            91,
                            "Force approve does not support express payments (Vipps Hurtigkasse)",
                        ));
                    }
                    if o.request.transaction.skip_landing_page == Some(true) {
                        return Err(EcomErr::vipps(
                            91,
                            "Force approve does not support skipLandingPage payments",
                        ));
                    }
                    o.require_initiated()?;
                    out.push(o.reserve(req.customer_phone_number.as_deref(), None, &rid_str, now));
                    Ok(Stored::empty(StatusCode::OK))
                })();
                result.unwrap_or_else(|e| e.render())
            })
        })
    }))
}
