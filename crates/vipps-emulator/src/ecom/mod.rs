//! eCom API v2 (legacy) emulation (`/ecomm/v2`).
//!
//! Routes: `POST /ecomm/v2/payments`, `POST …/{orderId}/capture`, `PUT …/{orderId}/cancel`,
//! `POST …/{orderId}/refund`, `GET …/{orderId}/details`, `GET …/{orderId}/status` (deprecated),
//! `POST /ecomm/v2/integration-test/payments/{orderId}/approve` (force approve).
//! The landing page (`/landing?v=2&token=…`) and the control plane
//! (`POST /_emulator/payments/{orderId}/approve|reject`) act on eCom orders too.
//!
//! Emulator choices (BEHAVIOUR §6, §10.7):
//! - Authentication as ePayment (bearer token + subscription key); the `Merchant-Serial-Number`
//!   header is optional, but `merchantInfo.merchantSerialNumber` must be the token's merchant
//!   (else 403, `InvalidRequest`/`merchantSerialNumber`).
//! - Errors are eCom's array `[{errorGroup, errorCode, errorMessage, contextId}]`; statuses in
//!   [`errors`].
//! - `X-Request-Id` (≤ 40 characters) is required on capture and refund, optional on cancel and
//!   force approve. Scope: (MSN, orderId, endpoint, requestId). The same body replays the first
//!   answer (errors included) without a second effect; another amount gives Payment 93, another
//!   body with the same amount VippsError 93 (both 400).
//! - Timeout: an INITIATE order nobody acts on for `payment_expiry_secs` (emulator clock;
//!   ended by the next read or by the background sweep, within a second, whichever comes
//!   first) gets a `CANCEL` log entry at the deadline, `/status` `REJECTED`, and a `REJECTED`
//!   callback. A merchant cancel sends no callback.
//! - Express: on approval the shipping option is `staticShippingDetails` or fetched from
//!   `{shippingDetailsPrefix}/v2/payments/{orderId}/shippingDetails` (10 s timeout,
//!   `Authorization: <authToken>`); the `isDefault: "Y"` option (else the lowest priority, else
//!   the first) is chosen and **its cost is added to the reserved amount** (the customer pays
//!   goods plus shipping; capture "everything" includes it). If the merchant does not answer
//!   with at least one option, the approval fails and the order stays in INITIATE.
//! - Magic amounts (151, 182–187, 197) make a customer approval fail: a RESERVE entry with
//!   `operationSuccess: false`, `/status` FAILED, and a `RESERVE_FAILED` callback with
//!   `errorInfo`. Force approve ignores them.
//! - Force approve refuses express and `skipLandingPage` orders (VippsError 91);
//!   `skipLandingPage` needs `customerInfo.mobileNumber` (else Merchant 38).
//! - Callbacks: `POST {callbackPrefix}/v2/payments/{orderId}`, one attempt, 3 s timeout,
//!   `Authorization: <authToken>` when given, logged at `GET /_emulator/deliveries`
//!   (kind `ecom-callback`).

mod bridge;
pub mod errors;
pub mod order;

use crate::core::customer::Person;
use crate::core::error::Stored;
use crate::core::state::AppState;
use crate::core::store::Fingerprint;
use crate::outbound::call_merchant;
use crate::outbound::{DeliveriesExt, Outbound, RetrySchedule};
use crate::web::{check_system_headers, header_str, parse_json, read_body};
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use errors::EcomErr;
use http::{HeaderMap, HeaderValue, StatusCode};
use order::{Order, Phase};
use parking_lot::Mutex;
use rand::RngCore;
use serde::de::DeserializeOwned;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::Duration;
use time::OffsetDateTime;
use vipps_types::ecom::{
    check_order_id, CallbackStatus, CancelPaymentRequest, ForceApproveRequest, InitiatePaymentRequest,
    InitiatePaymentResponse, PaymentActionsRequest, PaymentShippingDetails, ShippingCostRequest, ShippingCostResponse,
    TransactionUpdateCallback,
};
use vipps_types::{Currency, Validate};

/// A remembered answer for an `X-Request-Id`.
#[derive(Debug, Clone)]
struct Replay {
    body: Fingerprint,
    amount: Option<i64>,
    response: Stored,
}

/// The eCom data.
#[derive(Debug, Default)]
struct Data {
    orders: HashMap<(String, String), Order>,
    tokens: HashMap<String, (String, String)>,
    replays: HashMap<(String, String, &'static str, String), Replay>,
    /// Every order initiated, by its timeout, earliest first (see [`sweep`]).
    deadlines: BinaryHeap<Reverse<(OffsetDateTime, (String, String))>>,
}

impl Data {
    /// Times out INITIATE orders whose time ran out at `now`, looking at most at `limit`
    /// deadlines (returns how many it looked at); their callbacks go to `out`.
    fn expire_due(&mut self, now: OffsetDateTime, limit: usize, out: &mut Vec<TransactionUpdateCallback>) -> usize {
        let mut seen = 0;
        while seen < limit && self.deadlines.peek().is_some_and(|Reverse((at, _))| *at <= now) {
            seen += 1;
            let Some(Reverse((_, id))) = self.deadlines.pop() else {
                break;
            };
            if let Some(o) = self.orders.get_mut(&id) {
                out.extend(o.settle(now));
            }
        }
        seen
    }

    /// The order with its timeout applied; a timeout's callback goes to `out`.
    fn order(
        &mut self,
        msn: &str,
        order_id: &str,
        now: OffsetDateTime,
        out: &mut Vec<TransactionUpdateCallback>,
    ) -> Option<&mut Order> {
        let o = self.orders.get_mut(&(msn.to_owned(), order_id.to_owned()))?;
        out.extend(o.settle(now));
        Some(o)
    }

    fn by_token(&self, token: &str) -> Option<(String, String)> {
        self.tokens.get(token).cloned()
    }
}

/// State of the eCom emulation, kept in [`AppState`]. Lock order: this first, then the store
/// (consents and the ePayment bridge take the store while holding this; nothing takes them the
/// other way round).
#[derive(Debug, Default)]
pub struct EcomState {
    data: Mutex<Data>,
    /// Every (MSN, order id) initiated: a leaf lock (nothing is locked while it is held), so
    /// ePayment can ask whether a reference is an eCom order under the store's lock.
    order_ids: parking_lot::RwLock<std::collections::HashSet<(String, String)>>,
}

impl EcomState {
    /// Forgets every order, token and request id.
    pub fn reset(&self) {
        self.order_ids.write().clear();
        let mut d = self.data.lock();
        d.orders.clear();
        d.tokens.clear();
        d.replays.clear();
        d.deadlines.clear();
    }
}

impl EcomState {
    /// Whether `msn` initiated an order `order_id` (reads only the leaf index).
    fn holds(&self, msn: &str, order_id: &str) -> bool {
        let ids = self.order_ids.read();
        !ids.is_empty() && ids.contains(&(msn.to_owned(), order_id.to_owned()))
    }
}

/// The eCom state of an emulator.
pub(crate) trait EcomExt {
    /// The eCom orders.
    fn ecom(&self) -> &EcomState;
}

impl EcomExt for AppState {
    fn ecom(&self) -> &EcomState {
        self.part::<EcomState>()
            .expect("the composition root registers the eCom state")
    }
}

/// Runs `f` under the eCom lock, then queues the callbacks it produced.
fn with_data<R>(
    state: &AppState,
    f: impl FnOnce(&mut Data, OffsetDateTime, &mut Vec<TransactionUpdateCallback>) -> R,
) -> R {
    let mut out = Vec::new();
    let now = state.clock().now();
    let r = {
        let mut d = state.ecom().data.lock();
        let r = f(&mut d, now, &mut out);
        // Recorded before the eCom lock is released, so no one sees a `sub` in `/details`
        // before the Userinfo API knows it. Lock order: the eCom data, then the store (nothing
        // takes them the other way round).
        let consents = consents_given(&d, &out);
        if !consents.is_empty() {
            state.store().transaction(|l| {
                for (sub, msn, person, scope, at) in consents {
                    l.record_consent(&sub, &msn, person, &scope, at);
                }
            });
        }
        r
    };
    for cb in out {
        send_callback(state, cb);
    }
    r
}

/// Times out the orders nobody acted on in time and sends their `REJECTED` callbacks, without
/// waiting for a read of the order to do it (run every second by [`AppState::ensure_sweeper`]).
pub fn sweep(state: &AppState) {
    const CHUNK: usize = 2_000;
    // In chunks: requests get the eCom data between two of them.
    while with_data(state, |d, now, out| d.expire_due(now, CHUNK, out)) == CHUNK {}
}

/// Queues a transaction update callback for the order it is about.
fn send_callback(state: &AppState, cb: TransactionUpdateCallback) {
    let target = {
        let d = state.ecom().data.lock();
        d.orders
            .get(&(cb.merchant_serial_number.clone(), cb.order_id.clone()))
            .map(|o| {
                (
                    o.request.merchant_info.callback_prefix.clone(),
                    o.request.merchant_info.auth_token.clone(),
                )
            })
    };
    let Some((prefix, auth)) = target else { return };
    let url = format!("{}/v2/payments/{}", prefix.trim_end_matches('/'), cb.order_id);
    let mut headers = Vec::new();
    if let Some(a) = auth {
        headers.push(("Authorization".to_owned(), a));
    }
    let body = serde_json::to_vec(&cb).unwrap_or_default();
    state.deliveries().send(Outbound {
        kind: "ecom-callback",
        msn: cb.merchant_serial_number.clone(),
        reference: cb.order_id.clone(),
        event: Some(cb.transaction_info.status.as_str().to_owned()),
        url,
        method: http::Method::POST,
        headers,
        body: body.into(),
        schedule: RetrySchedule::once(3000),
        sign: None,
        ordering_key: format!("ecom:{}:{}", cb.merchant_serial_number, cb.order_id),
        on_attempt: None,
    });
}

/// `POST /_emulator/ecom/{orderId}/remove-consent[?msn=…]`: the customer withdraws the consent
/// to share their data with the merchant, and Vipps tells the merchant with
/// `DELETE {consentRemovalPrefix}/v2/consents/{userId}` (`Authorization: <authToken>` when
/// given; one attempt, 3 s timeout; logged at `GET /_emulator/deliveries`, kind
/// `ecom-consent-removal`). Answers 202 with where it was sent; 404 for an unknown order; 400
/// when the order has no `consentRemovalPrefix` or no user data was shared.
pub async fn remove_consent(
    State(state): State<AppState>,
    order_id: Result<Path<String>, PathRejection>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
    uri: http::Uri,
) -> Response {
    let r = remove_consent_inner(&state, order_id, query.as_deref());
    crate::web::respond(uri.path(), r)
}

fn remove_consent_inner(
    state: &AppState,
    order_id: Result<Path<String>, PathRejection>,
    query: Option<&str>,
) -> Result<Stored, crate::core::error::ApiError> {
    use crate::core::error::ApiError;
    let Path(order_id) = order_id.map_err(|e| ApiError::validation("orderId", &e.body_text(), None))?;
    let msn = crate::web::target_msn(state, query, None)?;
    let (prefix, auth, user_id) = {
        let d = state.ecom().data.lock();
        let o = d
            .orders
            .get(&(msn.clone(), order_id.clone()))
            .ok_or_else(|| ApiError::no_route(format!("No eCom order {order_id} for MSN {msn}")))?;
        let prefix =
            o.request.merchant_info.consent_removal_prefix.clone().ok_or_else(|| {
                ApiError::validation("consentRemovalPrefix", "the order was initiated without one", None)
            })?;
        let user = o.user.as_ref().ok_or_else(|| {
            ApiError::validation(
                "userId",
                "no user data was shared with the merchant for this order",
                None,
            )
        })?;
        (prefix, o.request.merchant_info.auth_token.clone(), user.user_id.clone())
    };
    let url = format!("{}/v2/consents/{user_id}", prefix.trim_end_matches('/'));
    let headers = auth.map(|a| vec![("Authorization".to_owned(), a)]).unwrap_or_default();
    state.deliveries().send(Outbound {
        kind: "ecom-consent-removal",
        msn: msn.clone(),
        reference: order_id.clone(),
        event: None,
        url: url.clone(),
        method: http::Method::DELETE,
        headers,
        body: bytes::Bytes::new(),
        schedule: RetrySchedule::once(3000),
        sign: None,
        ordering_key: format!("ecom-consent:{msn}:{user_id}"),
        on_attempt: None,
    });
    Ok(Stored::json(
        StatusCode::ACCEPTED,
        &serde_json::json!({"orderId": order_id, "msn": msn, "userId": user_id, "url": url}),
    ))
}

/// The profile consents given by the reservations among `out`: (sub, MSN, profile, scope, when).
fn consents_given(
    d: &Data,
    out: &[TransactionUpdateCallback],
) -> Vec<(String, String, Person, String, OffsetDateTime)> {
    let reserved = |s: &CallbackStatus| {
        matches!(
            s,
            CallbackStatus::Reserved | CallbackStatus::Reserve | CallbackStatus::Sale
        )
    };
    out.iter()
        .filter(|cb| reserved(&cb.transaction_info.status))
        .filter_map(|cb| {
            let o = d
                .orders
                .get(&(cb.merchant_serial_number.clone(), cb.order_id.clone()))?;
            let (sub, scope, at, user) = (
                o.sub.clone()?,
                o.request.transaction.scope.clone()?,
                o.reserved_at?,
                o.user.as_ref()?,
            );
            let person = Person::test(
                &Currency::Nok,
                Some(&crate::core::customer::msisdn(&user.mobile_number)),
            );
            Some((sub, o.msn.clone(), person, scope, at))
        })
        .collect()
}

/// The routes of this API.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ecomm/v2/payments", post(initiate))
        // The official Postman collection initiates with a trailing slash.
        .route("/ecomm/v2/payments/", post(initiate))
        .route("/ecomm/v2/payments/{order_id}/capture", post(capture))
        .route("/ecomm/v2/payments/{order_id}/cancel", put(cancel))
        .route("/ecomm/v2/payments/{order_id}/refund", post(refund))
        .route("/ecomm/v2/payments/{order_id}/details", get(details))
        .route("/ecomm/v2/payments/{order_id}/status", get(status))
        .route(
            "/ecomm/v2/integration-test/payments/{order_id}/approve",
            post(force_approve),
        )
}

fn answer(r: Result<Stored, EcomErr>) -> Response {
    match r {
        Ok(s) => s.into_response(),
        Err(e) => e.render().into_response(),
    }
}

/// Body limit, system headers and authentication; returns the merchant's MSN and the body.
async fn begin(state: &AppState, headers: &HeaderMap, body: Body) -> Result<(String, bytes::Bytes), EcomErr> {
    let body = read_body(body, headers, state.config().max_body_bytes).await?;
    check_system_headers(headers)?;
    // `Merchant-Serial-Number` is optional in eCom: fill it in from a valid token so the shared
    // check (token, subscription key, MSN) applies unchanged.
    let mut headers = headers.clone();
    if header_str(&headers, "merchant-serial-number").is_none() {
        let token = header_str(&headers, "authorization").and_then(|a| a.strip_prefix("Bearer "));
        if let Some(Ok(claims)) = token.map(|t| state.signer().verify(t.trim(), state.clock().now())) {
            if let Ok(v) = HeaderValue::from_str(&claims.msn) {
                headers.insert("merchant-serial-number", v);
            }
        }
    }
    let merchant = crate::web::authenticate(state, &headers)?;
    Ok((merchant.msn.clone(), body))
}

fn path_order(p: Result<Path<String>, PathRejection>) -> Result<String, EcomErr> {
    let Path(o) = p.map_err(|e| EcomErr::invalid("orderId", e.body_text()))?;
    check_order_id("orderId", &o)?;
    Ok(o)
}

fn body_of<T: DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<T, EcomErr> {
    parse_json(headers, body)?.ok_or_else(|| EcomErr::invalid("body", "a JSON request body is required"))
}

fn check_msn(body_msn: &str, msn: &str) -> Result<(), EcomErr> {
    if body_msn != msn {
        return Err(EcomErr::invalid(
            "merchantSerialNumber",
            format!("The access token is not valid for merchantSerialNumber {body_msn}"),
        )
        .with_status(StatusCode::FORBIDDEN));
    }
    Ok(())
}

/// `X-Request-Id`: at most 40 characters; empty counts as absent.
fn request_id(headers: &HeaderMap, required: bool) -> Result<Option<String>, EcomErr> {
    let v = match headers.get("x-request-id") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .map_err(|_| EcomErr::invalid("X-Request-Id", "must be visible ASCII characters"))?
                .trim()
                .to_owned(),
        ),
    };
    match v {
        Some(k) if k.chars().count() > 40 => Err(EcomErr::invalid("X-Request-Id", "must be at most 40 characters")),
        Some(k) if !k.is_empty() => Ok(Some(k)),
        _ if required => Err(EcomErr::invalid("X-Request-Id", "the header is required")),
        _ => Ok(None),
    }
}

fn random_token() -> String {
    let mut b = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// `POST /ecomm/v2/payments`.
async fn initiate(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    answer(initiate_inner(&state, &headers, body).await)
}

async fn initiate_inner(state: &AppState, headers: &HeaderMap, body: Body) -> Result<Stored, EcomErr> {
    let (msn, body) = begin(state, headers, body).await?;
    let req: InitiatePaymentRequest = body_of(headers, &body)?;
    req.validate()?;
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
    state.ensure_sweeper();
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
        state.ecom().order_ids.write().insert(id.clone());
        d.orders.insert(id.clone(), order);
        Ok(Stored::json(
            StatusCode::OK,
            &InitiatePaymentResponse { order_id: id.1, url },
        ))
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Action {
    Capture,
    Refund,
    Cancel,
}

impl Action {
    fn endpoint(self) -> &'static str {
        match self {
            Action::Capture => "capture",
            Action::Refund => "refund",
            Action::Cancel => "cancel",
        }
    }
}

/// `POST …/{orderId}/capture`.
async fn capture(
    State(state): State<AppState>,
    order_id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    answer(modify(&state, order_id, &headers, body, Action::Capture).await)
}

/// `POST …/{orderId}/refund`.
async fn refund(
    State(state): State<AppState>,
    order_id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    answer(modify(&state, order_id, &headers, body, Action::Refund).await)
}

/// `PUT …/{orderId}/cancel`.
async fn cancel(
    State(state): State<AppState>,
    order_id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    answer(modify(&state, order_id, &headers, body, Action::Cancel).await)
}

async fn modify(
    state: &AppState,
    order_id: Result<Path<String>, PathRejection>,
    headers: &HeaderMap,
    body: Body,
    action: Action,
) -> Result<Stored, EcomErr> {
    let (msn, body) = begin(state, headers, body).await?;
    let order_id = path_order(order_id)?;
    let rid = request_id(headers, action != Action::Cancel)?;
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
    Ok(with_data(state, |d, now, out| {
        let scope = rid
            .as_ref()
            .map(|r| (msn.clone(), order_id.clone(), action.endpoint(), r.clone()));
        if let Some(rec) = scope.as_ref().and_then(|s| d.replays.get(s)) {
            if rec.body == fingerprint {
                return rec.response.clone();
            }
            let e = if rec.amount != amount {
                EcomErr::payment(93, "Captured amount must be the same in an idempotent retry")
            } else {
                EcomErr::vipps(
                    93,
                    "The request differs from the earlier one with the same X-Request-Id",
                )
            };
            return e.render();
        }
        let rid_str = rid.clone().unwrap_or_default();
        let result = match d.order(&msn, &order_id, now, out) {
            None => Err(EcomErr::not_found(&order_id)),
            Some(o) => match action {
                Action::Capture => o.capture(amount, &text, &rid_str, now),
                Action::Refund => o.refund(amount, &text, &rid_str, now),
                Action::Cancel => o.cancel(release, &text, &rid_str, now),
            },
        };
        let response = match result {
            Ok(v) => Stored::json(StatusCode::OK, &v),
            Err(e) => e.render(),
        };
        if let Some(scope) = scope {
            if response.status < 500 && response.status != 423 {
                d.replays.insert(
                    scope,
                    Replay {
                        body: fingerprint,
                        amount,
                        response: response.clone(),
                    },
                );
            }
        }
        response
    }))
}

/// `GET …/{orderId}/details`.
async fn details(
    State(state): State<AppState>,
    order_id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    answer(read(&state, order_id, &headers, body, true).await)
}

/// `GET …/{orderId}/status` (deprecated).
async fn status(
    State(state): State<AppState>,
    order_id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    answer(read(&state, order_id, &headers, body, false).await)
}

async fn read(
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
async fn force_approve(
    State(state): State<AppState>,
    order_id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    answer(force_approve_inner(&state, order_id, &headers, body).await)
}

async fn force_approve_inner(
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
    let fingerprint = Fingerprint::of(&req);
    Ok(with_data(state, |d, now, out| {
        let scope = rid
            .as_ref()
            .map(|r| (msn.clone(), order_id.clone(), "approve", r.clone()));
        if let Some(rec) = scope.as_ref().and_then(|s| d.replays.get(s)) {
            if rec.body == fingerprint {
                return rec.response.clone();
            }
            return EcomErr::vipps(
                93,
                "The request differs from the earlier one with the same X-Request-Id",
            )
            .render();
        }
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
        let response = result.unwrap_or_else(|e| e.render());
        if let Some(scope) = scope {
            if response.status < 500 && response.status != 423 {
                d.replays.insert(
                    scope,
                    Replay {
                        body: fingerprint,
                        amount: None,
                        response: response.clone(),
                    },
                );
            }
        }
        response
    }))
}

/// Which order a customer action is for.
#[derive(Debug, Clone)]
pub enum Target {
    /// By merchant and order id (the control plane).
    Order {
        /// Merchant serial number.
        msn: String,
        /// Order id.
        order_id: String,
    },
    /// By landing-page token.
    Token(String),
}

/// What the landing page and the control plane show about an order.
#[derive(Debug, Clone)]
pub struct View {
    /// Merchant serial number.
    pub msn: String,
    /// Merchant name.
    pub merchant_name: String,
    /// Order id.
    pub order_id: String,
    /// Amount in øre (reserved amount once reserved).
    pub amount: i64,
    /// Transaction text.
    pub text: String,
    /// State name (`INITIATE`, `RESERVE`, `CANCEL`, …).
    pub state: &'static str,
    /// Whether the customer can still act.
    pub waiting: bool,
    /// Express payment.
    pub express: bool,
    /// Where the customer returns (`fallBack`).
    pub fall_back: String,
}

/// How a customer action ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The order afterwards.
    pub view: View,
    /// Whether it is reserved now.
    pub approved: bool,
    /// Why not, when it is not.
    pub reason: Option<String>,
}

fn view(state: &AppState, o: &Order) -> View {
    View {
        msn: o.msn.clone(),
        merchant_name: state
            .merchant_by_msn(&o.msn)
            .map(|m| m.name.clone())
            .unwrap_or_default(),
        order_id: o.order_id.clone(),
        amount: if o.reserved > 0 { o.reserved } else { o.amount() },
        text: o.request.transaction.transaction_text.clone(),
        state: o.state_name(),
        waiting: o.phase == Phase::Initiated,
        express: o.express(),
        fall_back: o.request.merchant_info.fall_back.clone(),
    }
}

fn resolve(d: &Data, target: &Target) -> Option<(String, String)> {
    match target {
        Target::Order { msn, order_id } => {
            let id = (msn.clone(), order_id.clone());
            d.orders.contains_key(&id).then_some(id)
        }
        Target::Token(t) => d.by_token(t),
    }
}

/// The order behind a landing-page token (timeout applied), if any.
pub fn view_by_token(state: &AppState, token: &str) -> Option<View> {
    with_data(state, |d, now, out| {
        let (msn, id) = d.by_token(token)?;
        let o = d.order(&msn, &id, now, out)?;
        Some(view(state, o))
    })
}

/// The customer approves (`approve`) or rejects in the app / on the landing page.
/// `None` when there is no such order. Express approvals may call the merchant's
/// shipping-details endpoint; no lock is held meanwhile.
pub async fn customer_action(state: &AppState, target: Target, approve: bool) -> Option<Result<Outcome, EcomErr>> {
    enum Next {
        Done(Result<Outcome, EcomErr>),
        FetchShipping(String, Option<String>),
    }
    let first = with_data(state, |d, now, out| {
        let (msn, id) = resolve(d, &target)?;
        let o = d.order(&msn, &id, now, out)?;
        if let Err(e) = o.require_initiated() {
            return Some((msn, id, Next::Done(Err(e))));
        }
        if !approve {
            out.push(o.customer_reject(now));
            let v = view(state, o);
            let reason = Some("rejected by the customer".to_owned());
            return Some((
                msn,
                id,
                Next::Done(Ok(Outcome {
                    view: v,
                    approved: false,
                    reason,
                })),
            ));
        }
        if let Some((_, code, why)) = order::MAGIC_DECLINES.iter().find(|(a, _, _)| *a == o.amount()) {
            out.push(o.fail(*code, why, now));
            let v = view(state, o);
            let reason = Some(format!("{why} (magic test amount)"));
            return Some((
                msn,
                id,
                Next::Done(Ok(Outcome {
                    view: v,
                    approved: false,
                    reason,
                })),
            ));
        }
        if o.express() {
            let statics = o.request.merchant_info.static_shipping_details.clone();
            match statics {
                Some(options) => {
                    let chosen = order::pick_shipping(&options).map(shipping_of);
                    if chosen.is_none() {
                        let e = EcomErr::vipps(91, "No shipping methods found (staticShippingDetails is empty)");
                        return Some((msn, id, Next::Done(Err(e))));
                    }
                    out.push(o.reserve(None, chosen, "", now));
                }
                None => {
                    let prefix = o
                        .request
                        .merchant_info
                        .shipping_details_prefix
                        .clone()
                        .unwrap_or_default();
                    let url = format!(
                        "{}/v2/payments/{}/shippingDetails",
                        prefix.trim_end_matches('/'),
                        o.order_id
                    );
                    o.phase = Phase::Approving;
                    let auth = o.request.merchant_info.auth_token.clone();
                    return Some((msn, id, Next::FetchShipping(url, auth)));
                }
            }
        } else {
            out.push(o.reserve(None, None, "", now));
        }
        let v = view(state, o);
        Some((
            msn,
            id,
            Next::Done(Ok(Outcome {
                view: v,
                approved: true,
                reason: None,
            })),
        ))
    })?;
    let (msn, id, next) = first;
    let (url, auth) = match next {
        Next::Done(r) => return Some(r),
        Next::FetchShipping(url, auth) => (url, auth),
    };
    let fetched = fetch_shipping(state, &url, auth.as_deref(), &id).await;
    Some(with_data(state, |d, now, out| {
        let o = d
            .orders
            .get_mut(&(msn.clone(), id.clone()))
            .ok_or_else(|| EcomErr::not_found(&id))?;
        if o.phase != Phase::Approving {
            return Err(EcomErr::vipps(92, "The order changed while fetching shipping details"));
        }
        match fetched {
            Ok(s) => {
                out.push(o.reserve(None, Some(s), "", now));
                Ok(Outcome {
                    view: view(state, o),
                    approved: true,
                    reason: None,
                })
            }
            Err(why) => {
                o.phase = Phase::Initiated;
                Err(EcomErr::vipps(91, format!("No shipping methods found: {why}")))
            }
        }
    }))
}

fn shipping_of(s: &vipps_types::ecom::ShippingDetails) -> PaymentShippingDetails {
    PaymentShippingDetails {
        address: Some(order::test_address()),
        shipping_cost: s.shipping_cost,
        shipping_method: s.shipping_method.clone(),
        shipping_method_id: s.shipping_method_id.clone(),
    }
}

/// Asks the merchant for shipping options for the test customer's address (10 s timeout).
async fn fetch_shipping(
    state: &AppState,
    url: &str,
    auth: Option<&str>,
    order_id: &str,
) -> Result<PaymentShippingDetails, String> {
    let a = order::test_address();
    let body = ShippingCostRequest {
        address_id: 100,
        address_line1: a.address_line1.clone().unwrap_or_default(),
        address_line2: a.address_line2.clone(),
        city: a.city.clone(),
        country: "NO".into(),
        post_code: a.post_code.clone(),
        address_type: Some("H".into()),
    };
    let (status, answer) = call_merchant(state.merchant_http(), url, auth, &body, Duration::from_secs(10))
        .await
        .map_err(|why| format!("the shipping details call failed: {why}"))?;
    if !status.is_success() {
        return Err(format!("the merchant answered HTTP {}", status.as_u16()));
    }
    let parsed: ShippingCostResponse = serde_json::from_slice(&answer)
        .map_err(|e| format!("the merchant's answer is not a ShippingCostResponse: {e}"))?;
    tracing::debug!(target: "vipps_emulator::ecom", order_id, options = parsed.shipping_details.len(), "shipping details");
    order::pick_shipping(&parsed.shipping_details)
        .map(shipping_of)
        .ok_or_else(|| "the merchant returned no shipping options".to_owned())
}
