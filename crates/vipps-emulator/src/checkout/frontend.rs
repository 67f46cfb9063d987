//! The Checkout page (`checkoutFrontendUrl?token=…`), its JSON calls, and the frontend SDK
//! script (`/vippsCheckoutSDK.js`). Plain HTML and inline JS, no external resources.
//!
//! The page talks to the embedding window with `window.parent.postMessage({source:
//! "vipps-checkout", type, data}, "*")`; the SDK turns those messages into the documented
//! `on` events (`session_status_changed`, `total_amount_changed`, `shipping_option_selected`,
//! `shipping_address_changed`, `customer_information_changed`) and follows `redirect`.

use super::{customer_act, shipping_options, sorted, with_session, AddressData, CkError, CustomerInput, Outcome};
use crate::error::Stored;
use crate::http::read_body;
use crate::landing::escape;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use http::{header, HeaderMap, HeaderValue, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};
use vipps_types::checkout::{Interval, LogisticsOption, SessionState, Subscription};
use vipps_types::Amount;

const PAGE: &str = include_str!("assets/page.html");
const SDK: &str = include_str!("assets/vippsCheckoutSDK.js");

#[derive(Debug, Default, Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

fn session_of(state: &AppState, q: &TokenQuery) -> Result<(String, String), CkError> {
    let token = q.token.as_deref().unwrap_or("");
    super::by_token(state, token).ok_or_else(|| {
        CkError::new(
            StatusCode::NOT_FOUND,
            "Session-00100",
            "Session not found",
            "Unknown or missing checkout token",
        )
    })
}

fn brand_name(code: &str) -> &str {
    match code {
        "POSTEN" => "Posten",
        "POSTNORD" => "PostNord",
        "PORTERBUDDY" => "Porterbuddy",
        "HELTHJEM" => "Helthjem",
        "POSTI" => "Posti",
        "GLS" => "GLS",
        "DAO" => "DAO",
        "OTHER" => "Other",
        other => other,
    }
}

/// An option as the page and the SDK's `ShippingOption` show it.
fn option_view(o: &LogisticsOption) -> Value {
    let v = serde_json::to_value(o).unwrap_or(Value::Null);
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
    let brand = o.brand();
    let product = s("title").or_else(|| s("customType")).or_else(|| {
        s("type").map(|t| match t.as_str() {
            "MAILBOX" => "Mailbox".to_owned(),
            "PICKUP_POINT" => "Pickup point".to_owned(),
            "HOME_DELIVERY" => "Home delivery".to_owned(),
            other => other.to_owned(),
        })
    });
    json!({
        "id": o.id(),
        "brand": brand_name(brand.as_str()),
        "brandCode": brand.as_str(),
        "description": s("description"),
        "product": product.unwrap_or_else(|| brand_name(brand.as_str()).to_owned()),
        "price": o.amount(),
        "isDefault": v.get("isDefault").and_then(|b| b.as_bool()).unwrap_or(false),
    })
}

fn options_view(o: Vec<LogisticsOption>) -> Vec<Value> {
    sorted(o).iter().map(option_view).collect()
}

/// Everything the page needs to render.
fn view(state: &AppState, msn: &str, reference: &str) -> Result<Value, CkError> {
    with_session(state, msn, reference, |s, ledger, now, _| {
        let r = super::session_response(s, ledger, now);
        let cfg = s.request.configuration.clone().unwrap_or_default();
        let tx = s.request.transaction.clone();
        let show_summary = cfg.show_order_summary.unwrap_or(false);
        Ok(json!({
            "reference": s.reference,
            "merchantName": s.merchant_name,
            "sessionState": s.state,
            "paymentState": r.payment_details.as_ref().and_then(|p| p.state.clone()),
            "amount": r.payment_details.as_ref().map(|p| p.amount.clone()),
            "transactionAmount": s.transaction_amount(),
            "description": tx.as_ref().map(|t| t.payment_description.clone()),
            "orderSummary": if show_summary { tx.as_ref().and_then(|t| t.order_summary.clone()) } else { None },
            "elements": s.elements(),
            "prefill": s.request.prefill_customer,
            "customConsent": cfg.custom_consent,
            "countries": cfg.countries.map(|c| c.supported),
            "fixedOptions": options_view(s.fixed_options()),
            "dynamicShipping": s.dynamic_callback().is_some(),
            "returnUrl": s.request.merchant_info.return_url,
            "termsAndConditionsUrl": s.request.merchant_info.terms_and_conditions_url,
            "shipping": r.shipping_details,
            "subscription": s.request.subscription.as_ref().map(|sub| json!({
                "productName": sub.product_name,
                "productDescription": sub.product_description,
                "amount": sub.amount,
                "text": subscription_text(sub),
                "agreement": r.subscription_details,
            })),
        }))
    })
}

/// "99.00 NOK every 2 weeks", with the campaign price first when there is one.
fn subscription_text(sub: &Subscription) -> String {
    let every = |i: &Interval| {
        let unit = match i.unit.as_str() {
            "YEAR" => "year",
            "MONTH" => "month",
            "WEEK" => "week",
            _ => "day",
        };
        if i.count == 1 {
            format!("every {unit}")
        } else {
            format!("every {} {unit}s", i.count)
        }
    };
    let regular = format!("{} {}", sub.amount, every(&sub.interval));
    let Some(c) = &sub.campaign else {
        return regular;
    };
    let price = Amount::new(c.price, sub.amount.currency.clone());
    let until = if let Some(p) = &c.period {
        format!("for the first {}", every(p).trim_start_matches("every "))
    } else if let Some(end) = &c.end {
        format!("until {end}")
    } else {
        format!("until {}", c.event_text.as_deref().unwrap_or("the event"))
    };
    format!("{price} {until}, then {regular}")
}

fn json_ok(v: &impl serde::Serialize) -> Result<Stored, CkError> {
    Ok(Stored::json(StatusCode::OK, v))
}

fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn page(State(state): State<AppState>, Query(q): Query<TokenQuery>) -> Response {
    let summary = match session_of(&state, &q).and_then(|(msn, r)| view(&state, &msn, &r)) {
        Ok(v) => {
            let amount = serde_json::from_value::<Amount>(v["amount"].clone())
                .or_else(|_| serde_json::from_value::<Amount>(v["transactionAmount"].clone()))
                .map(|a| a.to_string())
                .unwrap_or_default();
            let sub = &v["subscription"];
            let (title, subscription) = if sub.is_object() {
                (
                    sub["productName"].as_str().unwrap_or(""),
                    format!(
                        "<p id=\"subscription\">Subscription: <strong>{}</strong>{}</p>",
                        escape(sub["text"].as_str().unwrap_or("")),
                        sub["productDescription"]
                            .as_str()
                            .map(|d| format!("<br><span class=\"small\">{}</span>", escape(d)))
                            .unwrap_or_default(),
                    ),
                )
            } else {
                (v["description"].as_str().unwrap_or(""), String::new())
            };
            let pay_now = if sub.is_object() { "To pay now" } else { "Total" };
            format!(
                "<p class=\"merchant\">{}</p><h1 id=\"description\">{}</h1>{subscription}<p>{pay_now}: <strong id=\"total\">{}</strong></p><p class=\"small\">Reference {}</p>",
                escape(v["merchantName"].as_str().unwrap_or("")),
                escape(title),
                escape(&amount),
                escape(v["reference"].as_str().unwrap_or("")),
            )
        }
        Err(_) => "<h1>Checkout session not found</h1><p>The link is invalid or the session has ended.</p>".to_owned(),
    };
    let html = PAGE.replace("<!--SUMMARY-->", &summary);
    no_store(
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response(),
    )
}

async fn sdk() -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        SDK,
    )
        .into_response()
}

async fn api_session(State(state): State<AppState>, Query(q): Query<TokenQuery>, uri: Uri) -> Response {
    let r = session_of(&state, &q).and_then(|(msn, r)| view(&state, &msn, &r).and_then(|v| json_ok(&v)));
    no_store(super::respond(uri.path(), r))
}

async fn body_json<T: serde::de::DeserializeOwned + Default>(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<T, CkError> {
    let b = read_body(body, headers, state.config().max_body_bytes).await?;
    if b.iter().all(|c| c.is_ascii_whitespace()) {
        return Ok(T::default());
    }
    serde_json::from_slice(&b).map_err(|e| CkError::validation("body", format!("not valid JSON: {e}")))
}

async fn api_shipping(
    State(state): State<AppState>,
    Query(q): Query<TokenQuery>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let r = async {
        let (msn, reference) = session_of(&state, &q)?;
        let addr: AddressData = body_json(&state, &headers, body).await?;
        let (opts, dynamic) = shipping_options(&state, &msn, &reference, Some(addr)).await?;
        json_ok(&json!({"options": options_view(opts), "dynamic": dynamic}))
    }
    .await;
    no_store(super::respond(uri.path(), r))
}

async fn act(state: AppState, q: TokenQuery, uri: Uri, headers: HeaderMap, body: Body, o: Outcome) -> Response {
    let r = async {
        let (msn, reference) = session_of(&state, &q)?;
        let mut input: CustomerInput = body_json(&state, &headers, body).await?;
        input.msn = None;
        let s = customer_act(&state, &msn, &reference, input, o).await?;
        let return_url = with_session(&state, &msn, &reference, |s, _, _, _| {
            Ok(s.request.merchant_info.return_url.clone())
        })?;
        let event = match s.session_state {
            SessionState::PaymentSuccessful => "PaymentSuccessful",
            SessionState::PaymentTerminated if o == Outcome::Reject => "SessionTerminated",
            SessionState::PaymentTerminated => "PaymentFailed",
            SessionState::SessionExpired => "SessionExpired",
            SessionState::PaymentInitiated => "PaymentInitiated",
            _ => "SessionStarted",
        };
        json_ok(&json!({"session": s, "event": event, "returnUrl": return_url}))
    }
    .await;
    no_store(super::respond(uri.path(), r))
}

async fn api_pay(
    State(state): State<AppState>,
    Query(q): Query<TokenQuery>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    act(state, q, uri, headers, body, Outcome::Approve).await
}

async fn api_cancel(
    State(state): State<AppState>,
    Query(q): Query<TokenQuery>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    act(state, q, uri, headers, body, Outcome::Reject).await
}

/// The page, its calls and the SDK script.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/checkout/v3/frontend", get(page))
        .route("/checkout/v3/frontend/", get(page))
        .route("/checkout/v3/frontend/api/session", get(api_session))
        .route("/checkout/v3/frontend/api/shipping", post(api_shipping))
        .route("/checkout/v3/frontend/api/pay", post(api_pay))
        .route("/checkout/v3/frontend/api/cancel", post(api_cancel))
        .route("/vippsCheckoutSDK.js", get(sdk))
        .route("/checkout/v3/vippsCheckoutSDK.js", get(sdk))
}
