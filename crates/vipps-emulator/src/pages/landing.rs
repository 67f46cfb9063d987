//! The landing page a `redirectUrl` opens, where a person approves or rejects the payment,
//! and a stand-in QR image.

use crate::core::error::ApiError;
use crate::core::state::AppState;
use crate::core::store::{CustomerOutcome, Payment};
use crate::epayment::express::CustomerChoice;
use crate::web::{escape, read_body, safe_link};
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::response::{Html, IntoResponse, Response};
use http::{header, HeaderMap, StatusCode};
use vipps_types::epayment::{PaymentMethodType, PaymentState, ShippingGroup};
use vipps_types::Amount;

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{t} - Vipps MobilePay emulator</title>\
<style>body{{font-family:system-ui,sans-serif;max-width:32em;margin:2em auto;padding:0 1em;color:#222}}\
.card{{border:1px solid #ddd;border-radius:8px;padding:1em 1.5em}}dt{{font-weight:bold}}dd{{margin:0 0 .6em 0}}\
button{{font-size:1.1em;padding:.5em 1.4em;margin:.3em;border-radius:6px;border:0;cursor:pointer}}\
.approve{{background:#ff5b24;color:#fff}}.reject{{background:#eee}}.note{{color:#666;font-size:.9em}}\
.card{{margin:0 0 1em 0}}table{{width:100%;border-collapse:collapse}}th,td{{text-align:left;padding:.2em .3em;vertical-align:top}}\
.num{{text-align:right;white-space:nowrap}}tfoot th,tfoot td{{border-top:1px solid #ddd}}#category img{{vertical-align:middle}}</style>\
</head><body><h1>{t}</h1>{body}<p class=\"note\">Vipps MobilePay emulator: no real money is moved.</p></body></html>",
        t = escape(title),
    );
    let mut r = (status, Html(html)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    r
}

pub(super) fn not_found() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Payment not found",
        "<p>This link is not valid: the payment does not exist (or the emulator was reset).</p>",
    )
}

pub(super) fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn details(p: &Payment, merchant_name: &str) -> String {
    let mut s = String::from("<div class=\"card\"><dl>");
    s += &format!("<dt>Merchant</dt><dd>{}</dd>", escape(merchant_name));
    s += &format!("<dt>Amount</dt><dd>{}</dd>", escape(&p.amount.to_string()));
    if let Some(d) = &p.description {
        s += &format!("<dt>Description</dt><dd>{}</dd>", escape(d));
    }
    s += &format!("<dt>Reference</dt><dd>{}</dd>", escape(p.reference.as_str()));
    if p.is_express() {
        s += "<dt>Type</dt><dd>Express: the customer picks the delivery</dd>";
    }
    if let Some(d) = p.extras.as_ref().and_then(|x| x.shipping_details.as_ref()) {
        s += &format!(
            "<dt>Shipping</dt><dd id=\"shipping\">{} ({})</dd>",
            escape(d.shipping_option_name.as_deref().unwrap_or("")),
            escape(&Amount::new(d.shipping_cost.unwrap_or(0), p.amount.currency.clone()).to_string()),
        );
    }
    if let Some(bin) = p.extras.as_ref().and_then(|x| x.card_bin.as_ref()) {
        s += &format!("<dt>Card</dt><dd id=\"card\">{}…</dd>", escape(bin));
    }
    s += &format!("<dt>State</dt><dd id=\"state\">{}</dd>", escape(p.state.as_str()));
    s += "</dl></div>";
    s
}

/// The approve and reject forms; an Express payment's approve form lists the shipping options,
/// a card payment's asks for the card.
fn choice_forms(token: &str, p: &Payment, offered: Result<Vec<ShippingGroup>, String>) -> String {
    let mut fields = String::new();
    match offered {
        Ok(groups) if p.is_express() => {
            let default = crate::epayment::express::choose(&groups, None)
                .ok()
                .map(|o| o.id.clone());
            fields += "<fieldset><legend>Delivery</legend>";
            for g in &groups {
                for o in &g.options {
                    let checked = if default.as_deref() == Some(o.id.as_str()) {
                        " checked"
                    } else {
                        ""
                    };
                    fields += &format!(
                        "<label><input type=\"radio\" name=\"shippingOptionId\" value=\"{id}\"{checked}> {brand} {kind}: {name} ({price}){meta}</label><br>",
                        id = escape(&o.id),
                        brand = escape(g.brand.as_str()),
                        kind = escape(g.type_.as_str()),
                        name = escape(&o.name),
                        price = escape(&o.amount.to_string()),
                        meta = o.meta.as_deref().map(|m| format!(", {}", escape(m))).unwrap_or_default(),
                    );
                }
            }
            fields += "</fieldset>";
        }
        Ok(_) => {}
        Err(why) => fields += &format!("<p id=\"shipping-error\">{}</p>", escape(&why)),
    }
    if p.payment_method == PaymentMethodType::Card {
        fields += &format!(
            "<label>Card number <input name=\"cardNumber\" inputmode=\"numeric\" autocomplete=\"off\" value=\"{}\"></label><br>",
            crate::core::store::TEST_CARD_NUMBER
        );
    }
    decision_forms(token, &fields)
}

/// The approve and reject forms for a landing-page token; `fields` go into the approve form.
fn decision_forms(token: &str, fields: &str) -> String {
    let t = escape(token);
    format!(
        "<p>Approve this payment as the test customer?</p>\
<form method=\"post\" action=\"/landing/approve\" style=\"display:inline\"><input type=\"hidden\" name=\"token\" value=\"{t}\">{fields}\
<button class=\"approve\" type=\"submit\">Approve</button></form>\
<form method=\"post\" action=\"/landing/reject\" style=\"display:inline\"><input type=\"hidden\" name=\"token\" value=\"{t}\">\
<button class=\"reject\" type=\"submit\">Reject</button></form>"
    )
}

fn return_link(p: &Payment) -> String {
    match &p.return_url {
        Some(u) if safe_link(u) => format!(
            "<p><a id=\"return\" href=\"{}\">Return to the merchant</a></p>",
            escape(u)
        ),
        _ => String::new(),
    }
}

/// `GET /landing?token=…`.
pub(crate) async fn landing(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let Some(token) = query_param(query.as_deref(), "token") else {
        return not_found();
    };
    let now = state.clock().now();
    let found = state.store().transaction(|ledger| {
        ledger.payment_by_token(&token, now).map(|p| {
            let name = state
                .merchant_by_msn(&p.msn)
                .map(|m| m.name.clone())
                .unwrap_or_default();
            (p.clone(), name)
        })
    });
    let Some((p, name)) = found else {
        return match crate::ecom::view_by_token(&state, &token) {
            Some(v) => ecom_landing(&state, &token, &v),
            None => not_found(),
        };
    };
    let mut body = details(&p, &name);
    body += &super::receipt::section(&state, &p);
    if p.state == PaymentState::Created {
        let offered = offered_for(&state, &p).await;
        body += &choice_forms(&token, &p, offered);
    } else {
        body += "<p>This payment is no longer waiting for the customer.</p>";
        body += &return_link(&p);
    }
    page(StatusCode::OK, "Pay with Vipps MobilePay", &body)
}

/// `POST /landing/approve` (form field `token`).
pub(crate) async fn approve(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    act(&state, &headers, body, true).await
}

/// `POST /landing/reject` (form field `token`).
pub(crate) async fn reject(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    act(&state, &headers, body, false).await
}

async fn act(state: &AppState, headers: &HeaderMap, body: Body, approve: bool) -> Response {
    let body = match read_body(body, headers, state.config().body_limits()).await {
        Ok(b) => b,
        Err(e) => {
            let e = ApiError::from(e);
            return page(e.status, "Request refused", &format!("<p>{}</p>", escape(&e.detail)));
        }
    };
    let token = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned());
    let Some(token) = token else {
        return not_found();
    };
    let field = |name: &str| {
        url::form_urlencoded::parse(&body)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let choice = CustomerChoice {
        shipping_option_id: field("shippingOptionId"),
        card_number: field("cardNumber"),
    };
    let now = state.clock().now();
    let found = state.store().transaction(|ledger| {
        let p = ledger.payment_by_token(&token, now)?;
        Some((p.msn.clone(), p.reference.as_str().to_owned()))
    });
    let Some((msn, reference)) = found else {
        return ecom_act(state, token, approve).await;
    };
    let result = if approve {
        crate::epayment::express::approve(state, &msn, &reference, &choice).await
    } else {
        state.store().transaction(|ledger| {
            let p = ledger.payment(&msn, &reference, now)?;
            Ok((p.customer_reject(now)?, p.clone()))
        })
    };
    let (outcome, p) = match result {
        Ok((o, p)) => (Ok(o), p),
        Err(e) => {
            let current = state
                .store()
                .transaction(|ledger| ledger.payment(&msn, &reference, now).map(|p| p.clone()));
            match current {
                Ok(p) => (Err(e), p),
                Err(_) => return not_found(),
            }
        }
    };
    let name = state
        .merchant_by_msn(&p.msn)
        .map(|m| m.name.clone())
        .unwrap_or_default();
    let (status, title, message) = match outcome {
        Ok(CustomerOutcome::Approved) => (
            StatusCode::OK,
            "Payment approved",
            "The payment is approved.".to_owned(),
        ),
        Ok(CustomerOutcome::Rejected) => (
            StatusCode::OK,
            "Payment rejected",
            "The payment was rejected.".to_owned(),
        ),
        Ok(CustomerOutcome::Declined(why)) => (StatusCode::OK, "Payment failed", format!("The payment failed: {why}.")),
        Ok(CustomerOutcome::Unknown) => (
            StatusCode::OK,
            "Result unknown",
            "The result of the payment is unknown for an hour (test amount); then it expires.".to_owned(),
        ),
        // A choice that cannot be taken (an unknown option, a bad card number, nothing to
        // ship with): the payment still waits, so the customer gets the form again.
        Err(e) if e.status == StatusCode::BAD_REQUEST && p.state == PaymentState::Created => {
            let offered = offered_for(state, &p).await;
            let body = format!(
                "<p id=\"result\">{}</p>{}{}{}",
                escape(&e.detail),
                details(&p, &name),
                super::receipt::section(state, &p),
                choice_forms(&token, &p, offered)
            );
            return page(StatusCode::BAD_REQUEST, "Payment not possible", &body);
        }
        Err(e) => (StatusCode::CONFLICT, "Payment not possible", e.detail),
    };
    let body = format!(
        "<p id=\"result\">{}</p>{}{}{}",
        escape(&message),
        details(&p, &name),
        super::receipt::section(state, &p),
        return_link(&p)
    );
    page(status, title, &body)
}

/// The Express options to show (none for other payments), or why there are none.
async fn offered_for(state: &AppState, p: &Payment) -> Result<Vec<ShippingGroup>, String> {
    match p.shipping() {
        Some(shipping) => crate::epayment::express::offered(state, p.reference.as_str(), &p.amount.currency, shipping)
            .await
            .map_err(|e| e.detail),
        None => Ok(Vec::new()),
    }
}

/// The amount in øre as `NOK 123.45`.
fn nok(ore: i64) -> String {
    format!("NOK {}.{:02}", ore / 100, (ore % 100).abs())
}

fn ecom_details(v: &crate::ecom::View) -> String {
    let mut s = String::from("<div class=\"card\"><dl>");
    s += &format!("<dt>Merchant</dt><dd>{}</dd>", escape(&v.merchant_name));
    s += &format!("<dt>Amount</dt><dd>{}</dd>", escape(&nok(v.amount)));
    s += &format!("<dt>Description</dt><dd>{}</dd>", escape(&v.text));
    s += &format!("<dt>Order id</dt><dd>{}</dd>", escape(&v.order_id));
    if v.express {
        s += "<dt>Type</dt><dd>Express (Vipps Hurtigkasse)</dd>";
    }
    s += &format!("<dt>State</dt><dd id=\"state\">{}</dd>", escape(v.state));
    s += "</dl></div>";
    s
}

fn ecom_return_link(v: &crate::ecom::View) -> String {
    if safe_link(&v.fall_back) {
        format!(
            "<p><a id=\"return\" href=\"{}\">Return to the merchant</a></p>",
            escape(&v.fall_back)
        )
    } else {
        String::new()
    }
}

/// The landing page of an eCom order.
fn ecom_landing(state: &AppState, token: &str, v: &crate::ecom::View) -> Response {
    let mut body = ecom_details(v);
    body += &super::receipt::section_of(state, &v.msn, &v.order_id);
    if v.link_expired {
        body += "<p id=\"expired\">This payment link has expired: it is valid for 5 minutes.</p>";
        body += &ecom_return_link(v);
    } else if v.waiting {
        body += &decision_forms(token, "");
    } else {
        body += "<p>This payment is no longer waiting for the customer.</p>";
        body += &ecom_return_link(v);
    }
    let status = if v.link_expired {
        StatusCode::GONE
    } else {
        StatusCode::OK
    };
    page(status, "Pay with Vipps", &body)
}

/// Approve/reject of an eCom order from its landing page.
async fn ecom_act(state: &AppState, token: String, approve: bool) -> Response {
    let Some(result) = crate::ecom::customer_action(state, crate::ecom::Target::Token(token.clone()), approve).await
    else {
        return not_found();
    };
    let (status, title, message) = match &result {
        Ok(o) if o.approved => (
            StatusCode::OK,
            "Payment approved",
            "The payment is approved.".to_owned(),
        ),
        Ok(o) if !approve => (
            StatusCode::OK,
            "Payment rejected",
            o.reason
                .clone()
                .unwrap_or_else(|| "The payment was rejected.".to_owned()),
        ),
        Ok(o) => (
            StatusCode::OK,
            "Payment failed",
            format!("The payment failed: {}.", o.reason.clone().unwrap_or_default()),
        ),
        Err(e) if e.status == StatusCode::GONE => (StatusCode::GONE, "Payment link expired", e.message.clone()),
        Err(e) => (StatusCode::CONFLICT, "Payment not possible", e.message.clone()),
    };
    let view = match result {
        Ok(o) => Some(o.view),
        Err(_) => crate::ecom::view_by_token(state, &token),
    };
    let mut body = format!("<p id=\"result\">{}</p>", escape(&message));
    if let Some(v) = view {
        body += &ecom_details(&v);
        body += &super::receipt::section_of(state, &v.msn, &v.order_id);
        body += &ecom_return_link(&v);
    }
    page(status, title, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_links() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert!(!safe_link("javascript://%0aalert(1)"));
        assert!(!safe_link("JavaScript:alert(1)"));
        assert!(safe_link("https://example.com"));
        assert!(safe_link("myapp://done"));
    }
}
