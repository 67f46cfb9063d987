//! What the customer does with an order: approve or reject it on the landing page or the control plane.

use super::errors::EcomErr;
use super::order::{self, Order, Phase};
use super::state::*;
use crate::core::state::AppState;
use crate::outbound::call_merchant;
use crate::outbound::DeliveriesExt;
use std::time::Duration;
use time::OffsetDateTime;
use vipps_types::ecom::{PaymentShippingDetails, ShippingCostRequest, ShippingCostResponse, TransactionUpdateCallback};

/// Which order a customer action is for.
#[derive(Debug, Clone)]
pub(crate) enum Target {
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
pub(crate) struct View {
    /// Merchant serial number.
    pub(crate) msn: String,
    /// Merchant name.
    pub(crate) merchant_name: String,
    /// Order id.
    pub(crate) order_id: String,
    /// Amount in øre (reserved amount once reserved).
    pub(crate) amount: i64,
    /// Transaction text.
    pub(crate) text: String,
    /// State name (`INITIATE`, `RESERVE`, `CANCEL`, …).
    pub(crate) state: &'static str,
    /// Whether the customer can still act.
    pub(crate) waiting: bool,
    /// Whether the order still waits but its landing-page link has timed out.
    pub(crate) link_expired: bool,
    /// Express payment.
    pub(crate) express: bool,
    /// Where the customer returns (`fallBack`).
    pub(crate) fall_back: String,
}

/// How a customer action ended.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    /// The order afterwards.
    pub(crate) view: View,
    /// Whether it is reserved now.
    pub(crate) approved: bool,
    /// Why not, when it is not.
    pub(crate) reason: Option<String>,
}

pub(super) fn view(state: &AppState, o: &Order) -> View {
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
        link_expired: o.phase == Phase::Initiated && state.clock().now() >= o.link_expires_at,
        express: o.express(),
        fall_back: o.request.merchant_info.fall_back.clone(),
    }
}

pub(super) fn resolve(d: &Data, target: &Target) -> Option<(String, String)> {
    match target {
        Target::Order { msn, order_id } => {
            let id = (msn.clone(), order_id.clone());
            d.orders.contains_key(&id).then_some(id)
        }
        Target::Token(t) => d.by_token(t),
    }
}

/// The order behind a landing-page token (timeout applied), if any.
pub(crate) fn view_by_token(state: &AppState, token: &str) -> Option<View> {
    with_data(state, |d, now, out| {
        let (msn, id) = d.by_token(token)?;
        let o = d.order(&msn, &id, now, out)?;
        Some(view(state, o))
    })
}

/// The customer approves (`approve`) or rejects in the app / on the landing page.
/// `None` when there is no such order. Express approvals may call the merchant's
/// shipping-details endpoint; no lock is held meanwhile.
pub(crate) async fn customer_action(
    state: &AppState,
    target: Target,
    approve: bool,
) -> Option<Result<Outcome, EcomErr>> {
    let (msn, id, next) = with_data(state, |d, now, out| {
        let (msn, id) = resolve(d, &target)?;
        let o = d.order(&msn, &id, now, out)?;
        // The link works for 5 minutes; the control plane acts as the customer in the app,
        // who may still confirm until the order times out.
        if matches!(target, Target::Token(_)) && o.phase == Phase::Initiated && now >= o.link_expires_at {
            return Some((msn, id, Next::Done(Err(link_expired()))));
        }
        let next = decide(state, o, approve, now, out);
        Some((msn, id, next))
    })?;
    let (url, auth) = match next {
        Next::Done(r) => return Some(r),
        Next::FetchShipping(url, auth) => (url, auth),
    };
    // No lock is held while the merchant answers.
    let fetched = fetch_shipping(state, &url, auth.as_deref(), &id).await;
    Some(with_data(state, |d, now, out| {
        let o = d
            .orders
            .get_mut(&(msn.clone(), id.clone()))
            .ok_or_else(|| EcomErr::not_found(&id))?;
        reserve_with_fetched(state, o, fetched, now, out)
    }))
}

/// The landing page after its 5 minutes (410: the link is gone; knowledge-base--isapp.md: "The
/// deeplink URL is only valid for five minutes. Attempts at using it after that will result in
/// a timeout and an error.").
fn link_expired() -> EcomErr {
    EcomErr::vipps(
        91,
        "The payment link has expired: it is valid for 5 minutes after the payment was initiated",
    )
    .with_status(http::StatusCode::GONE)
}

/// Where a customer action stands after the first look at the order.
enum Next {
    /// Finished (approved, declined, rejected or refused).
    Done(Result<Outcome, EcomErr>),
    /// An Express order without static options: ask the merchant for shipping (URL, auth).
    FetchShipping(String, Option<String>),
}

/// The customer's answer to an initiated order: rejected, declined (magic amounts), reserved,
/// or (Express with dynamic shipping) waiting for the merchant's shipping options.
fn decide(
    state: &AppState,
    o: &mut Order,
    approve: bool,
    now: OffsetDateTime,
    out: &mut Vec<TransactionUpdateCallback>,
) -> Next {
    if let Err(e) = o.require_initiated() {
        return Next::Done(Err(e));
    }
    let ended = |o: &Order, approved: bool, reason: Option<String>| {
        Next::Done(Ok(Outcome {
            view: view(state, o),
            approved,
            reason,
        }))
    };
    if !approve {
        out.push(o.customer_reject(now));
        return ended(o, false, Some("rejected by the customer".to_owned()));
    }
    if let Some((_, code, why)) = order::MAGIC_DECLINES.iter().find(|(a, _, _)| *a == o.amount()) {
        out.push(o.fail(*code, why, now));
        return ended(o, false, Some(format!("{why} (magic test amount)")));
    }
    if !o.express() {
        out.push(o.reserve(None, None, "", now));
        return ended(o, true, None);
    }
    match o.request.merchant_info.static_shipping_details.clone() {
        Some(options) => match order::pick_shipping(&options).map(shipping_of) {
            None => Next::Done(Err(EcomErr::vipps(
                91,
                "No shipping methods found (staticShippingDetails is empty)",
            ))),
            Some(chosen) => {
                out.push(o.reserve(None, Some(chosen), "", now));
                ended(o, true, None)
            }
        },
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
            Next::FetchShipping(url, o.request.merchant_info.auth_token.clone())
        }
    }
}

/// Reserves an Express order with the shipping the merchant answered, if it is still waiting
/// for it.
fn reserve_with_fetched(
    state: &AppState,
    o: &mut Order,
    fetched: Result<PaymentShippingDetails, String>,
    now: OffsetDateTime,
    out: &mut Vec<TransactionUpdateCallback>,
) -> Result<Outcome, EcomErr> {
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
}

pub(super) fn shipping_of(s: &vipps_types::ecom::ShippingDetails) -> PaymentShippingDetails {
    let mut d = PaymentShippingDetails::new(s.shipping_cost, s.shipping_method.clone(), s.shipping_method_id.clone());
    d.address = Some(order::test_address());
    d
}

/// Asks the merchant for shipping options for the test customer's address (10 s timeout).
pub(super) async fn fetch_shipping(
    state: &AppState,
    url: &str,
    auth: Option<&str>,
    order_id: &str,
) -> Result<PaymentShippingDetails, String> {
    let a = order::test_address();
    let mut body = ShippingCostRequest::new(100, a.city.clone(), "NO", a.post_code.clone());
    body.address_line1 = a.address_line1.clone().unwrap_or_default();
    body.address_line2 = a.address_line2.clone();
    body.address_type = Some("H".into());
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
