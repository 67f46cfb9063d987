//! The agreement's confirmation page (`vippsConfirmationUrl`): what the customer sees in the
//! app, with Accept and Reject. `GET /recurring/confirm/{agreementId}?t={secret}` shows it;
//! the forms post to `…/accept` and `…/reject`, then the customer is sent to the merchant's
//! `merchantRedirectUrl`. The secret is the agreement's `uuid`, so the link cannot be guessed
//! from the agreement id alone.

use super::customer::{act_in, Action};
use super::errors::status_name;
use super::model::*;
use crate::core::state::AppState;
use crate::web::{escape, read_body};
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use http::{header, HeaderMap, StatusCode};

/// The page's routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/recurring/confirm/{agreement_id}", get(show))
        .route("/recurring/confirm/{agreement_id}/accept", post(accept))
        .route("/recurring/confirm/{agreement_id}/reject", post(reject))
}

/// The confirmation URL of an agreement.
pub(super) fn confirmation_url(public: &str, a: &Agreement) -> String {
    format!(
        "{public}/recurring/confirm/{}?t={}",
        agreement_id(a.code),
        uuid::Uuid::from_u128(a.uuid).simple()
    )
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{t} - Vipps MobilePay emulator</title>\
<style>body{{font-family:system-ui,sans-serif;max-width:32em;margin:2em auto;padding:0 1em;color:#222}}\
dt{{font-weight:bold}}dd{{margin:0 0 .6em 0}}button{{font-size:1.1em;padding:.5em 1.4em;margin:.3em}}</style>\
</head><body><h1>{t}</h1>{body}<p>Vipps MobilePay emulator: no real money is moved.</p></body></html>",
        t = escape(title),
    );
    let mut r = (status, Html(html)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    r
}

fn not_found() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Agreement not found",
        "<p>This link is not valid: the agreement does not exist (or the emulator was reset).</p>",
    )
}

/// The agreement behind a link, if the secret matches.
fn lookup(r: &Recurring, id: &str, secret: Option<&str>) -> Option<u32> {
    let ai = super::customer::find(r, id).ok()?;
    let want = uuid::Uuid::from_u128(r.agreements[ai as usize].uuid)
        .simple()
        .to_string();
    (secret == Some(want.as_str())).then_some(ai)
}

fn param(raw: &[u8], name: &str) -> Option<String> {
    url::form_urlencoded::parse(raw)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn price(a: &Agreement) -> String {
    let money = |v: u32| format!("{}.{:02} {}", v / 100, v % 100, a.currency);
    match a.pricing {
        PricingKind::Legacy => a.amount.map(money).unwrap_or_default(),
        PricingKind::Variable => format!(
            "variable, suggested at most {}",
            a.suggested_max.map(money).unwrap_or_default()
        ),
        PricingKind::Flexible => "flexible".to_owned(),
    }
}

async fn show(State(state): State<AppState>, Path(id): Path<String>, RawQuery(query): RawQuery) -> Response {
    let secret = query.as_deref().and_then(|q| param(q.as_bytes(), "t"));
    let now = secs(state.clock().now());
    let view = state.store().transact(|t| {
        let ai = lookup(t.get::<Recurring>(), &id, secret.as_deref())?;
        let mut ev = Vec::new();
        super::process::expire_if_due(t.get_mut::<Recurring>(), ai, now, &mut ev);
        super::process::flush(t, &ev, now);
        let r = t.get::<Recurring>();
        let a = &r.agreements[ai as usize];
        let initial = a.initial.map(|ci| {
            let c = &r.charges[ci as usize];
            format!(
                "{}.{:02} {} ({})",
                c.amount / 100,
                c.amount % 100,
                a.currency,
                c.description
            )
        });
        Some((a.status, a.texts.clone(), price(a), initial, a.pricing))
    });
    let Some((status, texts, price, initial, pricing)) = view else {
        return not_found();
    };
    let mut body = String::from("<dl>");
    body += &format!("<dt>Product</dt><dd>{}</dd>", escape(&texts.product_name));
    if let Some(d) = &texts.product_description {
        body += &format!("<dt>Description</dt><dd>{}</dd>", escape(d));
    }
    body += &format!("<dt>Price</dt><dd>{}</dd>", escape(&price));
    if let Some(i) = initial {
        body += &format!("<dt>Paid now</dt><dd>{}</dd>", escape(&i));
    }
    if let Some(s) = &texts.scope {
        body += &format!("<dt>Shared with the merchant</dt><dd>{}</dd>", escape(s));
    }
    body += &format!("<dt>Status</dt><dd>{}</dd></dl>", status_name(status));
    if status == AgreementStatus::Pending {
        let t = escape(&secret.unwrap_or_default());
        let id = escape(&id);
        let phone = escape(texts.phone.as_deref().unwrap_or(""));
        let max = if pricing == PricingKind::Variable {
            "<label>Max amount (øre) <input name=\"maxAmount\" inputmode=\"numeric\"></label><br>"
        } else {
            ""
        };
        body += &format!(
            "<form method=\"post\" action=\"/recurring/confirm/{id}/accept\"><input type=\"hidden\" name=\"t\" value=\"{t}\">\
<label>Phone number <input name=\"phoneNumber\" value=\"{phone}\"></label><br>{max}\
<button type=\"submit\">Accept</button></form>\
<form method=\"post\" action=\"/recurring/confirm/{id}/reject\"><input type=\"hidden\" name=\"t\" value=\"{t}\">\
<button type=\"submit\">Reject</button></form>"
        );
    }
    page(StatusCode::OK, "Recurring agreement", &body)
}

async fn accept(state: State<AppState>, id: Path<String>, headers: HeaderMap, body: Body) -> Response {
    decide(state, id, headers, body, true).await
}

async fn reject(state: State<AppState>, id: Path<String>, headers: HeaderMap, body: Body) -> Response {
    decide(state, id, headers, body, false).await
}

async fn decide(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
    accept: bool,
) -> Response {
    let Ok(raw) = read_body(body, &headers, state.config().body_limits()).await else {
        return page(
            StatusCode::BAD_REQUEST,
            "Request refused",
            "<p>The form could not be read.</p>",
        );
    };
    let secret = param(&raw, "t");
    let phone = param(&raw, "phoneNumber").filter(|p| !p.trim().is_empty());
    let max_amount = match param(&raw, "maxAmount").filter(|m| !m.trim().is_empty()) {
        None => None,
        Some(m) => match m.trim().parse::<u32>() {
            Ok(v) => Some(v),
            Err(_) => {
                return page(
                    StatusCode::BAD_REQUEST,
                    "Request refused",
                    "<p>Max amount must be a whole number of øre.</p>",
                )
            }
        },
    };
    let now = secs(state.clock().now());
    let done = state.store().transact(|t| -> Result<String, Option<String>> {
        let ai = lookup(t.get::<Recurring>(), &id, secret.as_deref()).ok_or(None)?;
        let action = if accept {
            Action::Accept { phone, max_amount }
        } else {
            Action::Reject
        };
        act_in(t, ai, action, now).map_err(|e| Some(e.detail))?;
        Ok(t.get::<Recurring>().agreements[ai as usize]
            .texts
            .merchant_redirect_url
            .to_string())
    });
    match done {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(None) => not_found(),
        Err(Some(why)) => page(
            StatusCode::BAD_REQUEST,
            "Not possible",
            &format!("<p>{}</p>", escape(&why)),
        ),
    }
}
