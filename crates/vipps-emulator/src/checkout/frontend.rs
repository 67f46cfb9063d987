//! The Checkout page (`checkoutFrontendUrl?token=…`), its JSON calls, and the frontend SDK
//! script (`/vippsCheckoutSDK.js`). Plain HTML and inline JS, no external resources.
//!
//! The page talks to the embedding window with `window.parent.postMessage({source:
//! "vipps-checkout", type, data}, "*")`; the SDK turns those messages into the documented
//! `on` events (`session_status_changed`, `total_amount_changed`, `shipping_option_selected`,
//! `shipping_address_changed`, `customer_information_changed`) and follows `redirect`.

use super::{customer_act, shipping_options, sorted, with_session, AddressData, CkError, CustomerInput, Outcome};
use crate::core::error::Stored;
use crate::core::state::AppState;
use crate::web::escape;
use crate::web::read_body;
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
    /// The frontend SDK's `language` (`no` or `en`).
    lang: Option<String>,
}

/// The page's language: the frontend SDK documents `no` (Norwegian) and `en` (the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    En,
    No,
}

impl Lang {
    fn of(q: &TokenQuery) -> Lang {
        let l = q.lang.as_deref().unwrap_or("").to_ascii_lowercase();
        match l.split(['-', '_']).next().unwrap_or("") {
            "no" | "nb" | "nn" => Lang::No,
            _ => Lang::En,
        }
    }

    fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::No => "no",
        }
    }

    /// The text in this language.
    fn t(self, en: &'static str, no: &'static str) -> &'static str {
        match self {
            Lang::En => en,
            Lang::No => no,
        }
    }
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
fn option_view(o: &LogisticsOption, lang: Lang) -> Value {
    let v = serde_json::to_value(o).unwrap_or(Value::Null);
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
    let brand = o.brand();
    let product = s("title").or_else(|| s("customType")).or_else(|| {
        s("type").map(|t| match t.as_str() {
            "MAILBOX" => lang.t("Mailbox", "Postkasse").to_owned(),
            "PICKUP_POINT" => lang.t("Pickup point", "Hentested").to_owned(),
            "HOME_DELIVERY" => lang.t("Home delivery", "Hjemlevering").to_owned(),
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

fn options_view(o: Vec<LogisticsOption>, lang: Lang) -> Vec<Value> {
    sorted(o).iter().map(|o| option_view(o, lang)).collect()
}

/// Everything the page needs to render.
fn view(state: &AppState, msn: &str, reference: &str, lang: Lang) -> Result<Value, CkError> {
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
            "fixedOptions": options_view(s.fixed_options(), lang),
            "dynamicShipping": s.dynamic_callback().is_some(),
            "returnUrl": s.request.merchant_info.return_url,
            "termsAndConditionsUrl": s.request.merchant_info.terms_and_conditions_url,
            "shipping": r.shipping_details,
            "subscription": s.request.subscription.as_ref().map(|sub| json!({
                "productName": sub.product_name,
                "productDescription": sub.product_description,
                "amount": sub.amount,
                "text": subscription_text(sub, lang),
                "agreement": r.subscription_details,
            })),
        }))
    })
}

/// "99.00 NOK every 2 weeks", with the campaign price first when there is one.
fn subscription_text(sub: &Subscription, lang: Lang) -> String {
    // Singular, plural and (Norwegian) definite form of each unit, and whether Norwegian says
    // "hvert" (neuter) or "hver".
    let unit = |i: &Interval| match (lang, i.unit.as_str()) {
        (Lang::En, "YEAR") => ("year", "years", "year", false),
        (Lang::En, "MONTH") => ("month", "months", "month", false),
        (Lang::En, "WEEK") => ("week", "weeks", "week", false),
        (Lang::En, _) => ("day", "days", "day", false),
        (Lang::No, "YEAR") => ("år", "år", "året", true),
        (Lang::No, "MONTH") => ("måned", "måneder", "måneden", false),
        (Lang::No, "WEEK") => ("uke", "uker", "uken", false),
        (Lang::No, _) => ("dag", "dager", "dagen", false),
    };
    let every = |i: &Interval| {
        let (one, many, _, neuter) = unit(i);
        let each = if neuter { "hvert" } else { "hver" };
        match (lang, i.count) {
            (Lang::En, 1) => format!("every {one}"),
            (Lang::En, n) => format!("every {n} {many}"),
            (Lang::No, 1) => format!("{each} {one}"),
            (Lang::No, n) => format!("{each} {n}. {one}"),
        }
    };
    let regular = format!("{} {}", sub.amount, every(&sub.interval));
    let Some(c) = &sub.campaign else {
        return regular;
    };
    let price = Amount::new(c.price, sub.amount.currency.clone());
    let until = if let Some(p) = &c.period {
        let (one, many, the_one, neuter) = unit(p);
        match (lang, p.count) {
            (Lang::En, 1) => format!("for the first {one}"),
            (Lang::En, n) => format!("for the first {n} {many}"),
            (Lang::No, 1) => format!("{} første {the_one}", if neuter { "det" } else { "den" }),
            (Lang::No, n) => format!("i {n} {many}"),
        }
    } else {
        let to = lang.t("until", "til");
        match &c.end {
            Some(end) => format!("{to} {end}"),
            None => format!(
                "{to} {}",
                c.event_text.as_deref().unwrap_or(lang.t("the event", "arrangementet"))
            ),
        }
    };
    format!("{price} {until}, {} {regular}", lang.t("then", "deretter"))
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
    let lang = Lang::of(&q);
    let summary = match session_of(&state, &q).and_then(|(msn, r)| view(&state, &msn, &r, lang)) {
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
                        "<p id=\"subscription\">{}: <strong>{}</strong>{}</p>",
                        lang.t("Subscription", "Abonnement"),
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
            let pay_now = if sub.is_object() {
                lang.t("To pay now", "Å betale nå")
            } else {
                lang.t("Total", "Totalt")
            };
            format!(
                "<p class=\"merchant\">{}</p><h1 id=\"description\">{}</h1>{subscription}<p>{pay_now}: <strong id=\"total\">{}</strong></p><p class=\"small\">{} {}</p>",
                escape(v["merchantName"].as_str().unwrap_or("")),
                escape(title),
                escape(&amount),
                lang.t("Reference", "Referanse"),
                escape(v["reference"].as_str().unwrap_or("")),
            )
        }
        Err(_) => format!(
            "<h1>{}</h1><p>{}</p>",
            lang.t("Checkout session not found", "Fant ikke kjøpet"),
            lang.t(
                "The link is invalid or the session has ended.",
                "Lenken er ugyldig, eller kjøpet er avsluttet."
            )
        ),
    };
    let html = PAGE
        .replace("<!--LANG-->", lang.code())
        .replace(
            "<!--BANNER-->",
            lang.t(
                "Emulated Checkout: no real money moves",
                "Emulert Checkout: ingen ekte penger flyttes",
            ),
        )
        .replace("<!--PAY-->", lang.t("Pay", "Betal"))
        .replace("<!--CANCEL-->", lang.t("Cancel", "Avbryt"))
        .replace("<!--SUMMARY-->", &summary);
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
    let lang = Lang::of(&q);
    let r = session_of(&state, &q).and_then(|(msn, r)| view(&state, &msn, &r, lang).and_then(|v| json_ok(&v)));
    no_store(super::respond(uri.path(), r))
}

async fn body_json<T: serde::de::DeserializeOwned + Default>(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<T, CkError> {
    let b = read_body(body, headers, state.config().body_limits()).await?;
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
        json_ok(&json!({"options": options_view(opts, Lang::of(&q)), "dynamic": dynamic}))
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

#[cfg(test)]
mod tests {
    use super::*;
    use vipps_types::checkout::{IntervalUnit, SubscriptionCampaign};

    fn sub(unit: IntervalUnit, count: i32, campaign: Option<(IntervalUnit, i32)>) -> Subscription {
        Subscription {
            campaign: campaign.map(|(u, n)| SubscriptionCampaign {
                type_: None,
                price: 100,
                event_date: None,
                event_text: None,
                period: Some(Interval::new(u, n)),
                end: None,
            }),
            ..Subscription::new(
                "Socks",
                Amount::nok(9900),
                Interval::new(unit, count),
                "https://example.com/s",
            )
        }
    }

    #[test]
    fn subscription_wording_in_both_languages() {
        let s = sub(IntervalUnit::Year, 2, Some((IntervalUnit::Year, 1)));
        assert_eq!(
            subscription_text(&s, Lang::En),
            "1.00 NOK for the first year, then 99.00 NOK every 2 years"
        );
        assert_eq!(
            subscription_text(&s, Lang::No),
            "1.00 NOK det første året, deretter 99.00 NOK hvert 2. år"
        );
        let s = sub(IntervalUnit::Month, 1, Some((IntervalUnit::Week, 1)));
        assert_eq!(
            subscription_text(&s, Lang::No),
            "1.00 NOK den første uken, deretter 99.00 NOK hver måned"
        );
        assert_eq!(
            subscription_text(&sub(IntervalUnit::Day, 3, None), Lang::En),
            "99.00 NOK every 3 days"
        );
    }

    #[test]
    fn the_language_follows_the_sdk_parameter() {
        let q = |l: &str| TokenQuery {
            token: None,
            lang: Some(l.into()),
        };
        assert_eq!(Lang::of(&q("no")), Lang::No);
        assert_eq!(Lang::of(&q("nb-NO")), Lang::No);
        assert_eq!(Lang::of(&q("en")), Lang::En);
        assert_eq!(Lang::of(&q("sv")), Lang::En);
        assert_eq!(Lang::of(&TokenQuery::default()), Lang::En);
    }
}
