//! Recurring API v3 through HTTP (recurring--agreements-2026.md, recurring--charges-2026.md,
//! recurring--api-guide.md).

mod common;

use common::H;
use vipps_emulator::EmulatorConfig;

/// An emulator whose access tokens outlive the clock advances of these tests.
async fn start() -> H {
    H::with(EmulatorConfig {
        token_ttl_secs: 20 * 366 * DAY,
        ..EmulatorConfig::default()
    })
    .await
}
use reqwest::{Method, Response};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

const A: &str = "/recurring/v3/agreements";
const DAY: i64 = 86_400;

fn draft_body(extra: Value) -> Value {
    let mut b = json!({
        "pricing": {"type": "LEGACY", "amount": 49900, "currency": "NOK"},
        "interval": {"unit": "MONTH", "count": 1},
        "merchantRedirectUrl": "https://example.com/redirect",
        "merchantAgreementUrl": "https://example.com/agreement",
        "productName": "Premier League subscription",
        "phoneNumber": "4791234567"
    });
    for (k, v) in extra.as_object().unwrap() {
        b[k] = v.clone();
    }
    b
}

async fn send(h: &H, method: Method, path: &str, key: Option<&str>, body: Option<&Value>) -> Response {
    let mut r = h.req(method, path);
    if let Some(k) = key {
        r = r.header("Idempotency-Key", k);
    }
    if let Some(b) = body {
        r = r.json(b);
    }
    r.send().await.unwrap()
}

fn key() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..30].to_owned()
}

async fn draft(h: &H, extra: Value) -> Value {
    let r = send(h, Method::POST, A, Some(&key()), Some(&draft_body(extra))).await;
    assert_eq!(r.status(), 201);
    r.json().await.unwrap()
}

async fn get(h: &H, path: &str) -> Value {
    let r = send(h, Method::GET, path, None, None).await;
    assert_eq!(r.status(), 200, "GET {path}");
    r.json().await.unwrap()
}

async fn accept(h: &H, id: &str) {
    let path = format!("{A}/{id}/accept");
    let r = send(
        h,
        Method::PATCH,
        &path,
        Some(&key()),
        Some(&json!({"phoneNumber": "4791234567"})),
    )
    .await;
    assert_eq!(r.status(), 204);
}

async fn active(h: &H, extra: Value) -> String {
    let id = draft(h, extra).await["agreementId"].as_str().unwrap().to_owned();
    accept(h, &id).await;
    id
}

fn due_in(h: &H, days: i64) -> String {
    let _ = h;
    let now = time::OffsetDateTime::now_utc() + time::Duration::seconds(OFFSET.with(|o| *o.borrow()));
    (now.date() + time::Duration::days(days)).to_string()
}

thread_local! {
    /// How far the tests moved the emulator clock (tests run on one thread each).
    static OFFSET: std::cell::RefCell<i64> = const { std::cell::RefCell::new(0) };
}

async fn advance(h: &H, secs: i64) {
    h.advance(secs).await;
    OFFSET.with(|o| *o.borrow_mut() += secs);
}

async fn charge(h: &H, id: &str, body: Value) -> Response {
    send(h, Method::POST, &format!("{A}/{id}/charges"), Some(&key()), Some(&body)).await
}

async fn charged(h: &H, id: &str, amount: i64, due: &str, retry_days: i64) -> String {
    let body = json!({"amount": amount, "description": "October", "due": due, "retryDays": retry_days, "transactionType": "DIRECT_CAPTURE"});
    let r = charge(h, id, body).await;
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["chargeId"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn problem(r: Response, status: u16, kind: &str) -> Value {
    assert_eq!(r.status(), status);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let p: Value = r.json().await.unwrap();
    let t = p["type"].as_str().unwrap();
    assert!(t.ends_with(&format!("recurring-api-problems#{kind}")), "{p}");
    assert!(p["contextId"].is_string());
    p
}

#[tokio::test]
async fn draft_accept_charge_and_refund() {
    let h = start().await;
    let initial =
        json!({"initialCharge": {"amount": 19900, "description": "First month", "transactionType": "DIRECT_CAPTURE"}});
    let created = draft(&h, initial).await;
    let id = created["agreementId"].as_str().unwrap().to_owned();
    assert!(id.starts_with("agr_") && id.len() == 11);
    assert!(created["uuid"].is_string() && created["chargeId"].is_string());
    let a = get(&h, &format!("{A}/{id}")).await;
    assert_eq!(a["status"], "PENDING");
    assert_eq!(
        a["interval"],
        json!({"unit": "MONTH", "count": 1, "text": "every month"})
    );
    assert_eq!(a["pricing"]["amount"], 49900);
    accept(&h, &id).await;
    let a = get(&h, &format!("{A}/{id}")).await;
    assert_eq!(a["status"], "ACTIVE");
    assert!(a["start"].is_string());
    let charges = get(&h, &format!("{A}/{id}/charges")).await;
    assert_eq!(charges[0]["type"], "INITIAL");
    assert_eq!(charges[0]["status"], "CHARGED");
    assert_eq!(charges[0]["summary"]["captured"], 19900);

    let due = due_in(&h, 3);
    let c = charged(&h, &id, 49900, &due, 2).await;
    let v = get(&h, &format!("{A}/{id}/charges/{c}")).await;
    assert_eq!(v["status"], "DUE");
    assert!(v["due"].as_str().unwrap().starts_with(&due), "{v}");
    advance(&h, 4 * DAY).await;
    let v = get(&h, &format!("{A}/{id}/charges/{c}")).await;
    assert_eq!(v["status"], "CHARGED");
    let events: Vec<&str> = v["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["CREATE", "RESERVE", "CAPTURE"]);
    let path = format!("{A}/{id}/charges/{c}/refund");
    let r = send(
        &h,
        Method::POST,
        &path,
        Some(&key()),
        Some(&json!({"amount": 10000, "description": "sorry"})),
    )
    .await;
    assert_eq!(r.status(), 204);
    let v = get(&h, &format!("/recurring/v3/charges/{c}")).await;
    assert_eq!(v["status"], "PARTIALLY_REFUNDED");
    assert_eq!(v["summary"]["refunded"], 10000);
    let r = send(
        &h,
        Method::POST,
        &path,
        Some(&key()),
        Some(&json!({"amount": 49900, "description": "all"})),
    )
    .await;
    problem(r, 400, "refund-charge-failed").await;
}

#[tokio::test]
async fn idempotency_replays_answers_and_refuses_another_request() {
    let h = start().await;
    let body = draft_body(json!({}));
    let r1: Value = send(&h, Method::POST, A, Some("same-key"), Some(&body))
        .await
        .json()
        .await
        .unwrap();
    let r2 = send(&h, Method::POST, A, Some("same-key"), Some(&body)).await;
    assert_eq!(r2.status(), 201);
    assert_eq!(r2.json::<Value>().await.unwrap()["agreementId"], r1["agreementId"]);
    let other = draft_body(json!({"productName": "Other"}));
    problem(
        send(&h, Method::POST, A, Some("same-key"), Some(&other)).await,
        409,
        "conflict",
    )
    .await;
    // a 4xx is stored: the same key keeps its answer after the agreement became active
    let id = r1["agreementId"].as_str().unwrap();
    let c = json!({"amount": 1000, "description": "x", "due": due_in(&h, 3), "retryDays": 0, "transactionType": "DIRECT_CAPTURE"});
    let path = format!("{A}/{id}/charges");
    problem(
        send(&h, Method::POST, &path, Some("k4"), Some(&c)).await,
        400,
        "charge-creation-failed",
    )
    .await;
    accept(&h, id).await;
    problem(
        send(&h, Method::POST, &path, Some("k4"), Some(&c)).await,
        400,
        "charge-creation-failed",
    )
    .await;
    assert_eq!(send(&h, Method::POST, &path, Some("k5"), Some(&c)).await.status(), 201);
    problem(
        send(&h, Method::POST, A, None, Some(&body)).await,
        400,
        "idempotency-key-header",
    )
    .await;
    problem(
        send(&h, Method::POST, A, Some("a/b"), Some(&body)).await,
        400,
        "idempotency-key-header",
    )
    .await;
}

#[tokio::test]
async fn fields_are_validated_by_the_documented_rules() {
    let h = start().await;
    let id = active(&h, json!({})).await;
    let base = |extra: Value| {
        let mut b = json!({"amount": 1000, "description": "x", "due": due_in(&h, 3), "retryDays": 0, "transactionType": "DIRECT_CAPTURE"});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    problem(
        charge(&h, &id, base(json!({"due": due_in(&h, 0)}))).await,
        400,
        "charge-due-too-soon",
    )
    .await;
    problem(
        charge(&h, &id, base(json!({"due": due_in(&h, 800)}))).await,
        400,
        "charge-due-in-too-long",
    )
    .await;
    problem(
        charge(&h, &id, base(json!({"retryDays": 15}))).await,
        400,
        "validation-error",
    )
    .await;
    let single = base(json!({"retryDays": 2, "processingMode": "SINGLE_ATTEMPT"}));
    problem(charge(&h, &id, single).await, 400, "validation-error").await;
    // LEGACY: at most 5 times 499.00 in one interval
    assert_eq!(charge(&h, &id, base(json!({"amount": 200000}))).await.status(), 201);
    let p = problem(
        charge(&h, &id, base(json!({"amount": 49600}))).await,
        400,
        "charge-amount-too-high",
    )
    .await;
    assert_eq!(p["extraDetails"][0]["field"], "amount");
    assert_eq!(charge(&h, &id, base(json!({"amount": 49500}))).await.status(), 201);
    assert_eq!(charge(&h, &id, base(json!({"orderId": "order-1"}))).await.status(), 400);
    let next = base(json!({"orderId": "order-1", "due": due_in(&h, 40)}));
    assert_eq!(charge(&h, &id, next.clone()).await.status(), 201);
    problem(charge(&h, &id, next).await, 409, "conflict").await;
    let v = get(&h, &format!("{A}/{id}/charges/order-1")).await;
    assert_eq!(v["status"], "PENDING", "due in 40 days: not yet DUE");
    let wrong = draft_body(json!({"pricing": {"type": "LEGACY", "amount": 100, "currency": "DKK"}}));
    problem(
        send(&h, Method::POST, A, Some(&key()), Some(&wrong)).await,
        400,
        "validation-error",
    )
    .await;
    let campaign = draft_body(
        json!({"pricing": {"type": "VARIABLE", "suggestedMaxAmount": 5000, "currency": "NOK"},
        "campaign": {"type": "PRICE_CAMPAIGN", "price": 100, "end": "2099-01-01T00:00:00Z"}}),
    );
    problem(
        send(&h, Method::POST, A, Some(&key()), Some(&campaign)).await,
        400,
        "validation-error",
    )
    .await;
    problem(
        send(&h, Method::GET, &format!("{A}/agr_0000000"), None, None).await,
        404,
        "resource-not-found",
    )
    .await;
    problem(
        send(&h, Method::GET, &format!("{A}/nope"), None, None).await,
        400,
        "invalid-agreement-id",
    )
    .await;
    let r = h.http.get(h.url(A)).send().await.unwrap();
    problem(r, 401, "not-authorized").await;
}

#[tokio::test]
async fn a_pending_agreement_expires_after_ten_minutes() {
    let h = start().await;
    let id = draft(&h, json!({})).await["agreementId"].as_str().unwrap().to_owned();
    advance(&h, 9 * 60).await;
    assert_eq!(get(&h, &format!("{A}/{id}")).await["status"], "PENDING");
    advance(&h, 61).await;
    assert_eq!(get(&h, &format!("{A}/{id}")).await["status"], "EXPIRED");
    let r = send(
        &h,
        Method::PATCH,
        &format!("{A}/{id}/accept"),
        Some(&key()),
        Some(&json!({"phoneNumber": "4791234567"})),
    )
    .await;
    problem(r, 400, "illegal-agreement-update").await;
    let list = get(&h, &format!("{A}?status=EXPIRED")).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn reject_stop_and_illegal_updates() {
    let h = start().await;
    let id = draft(&h, json!({})).await["agreementId"].as_str().unwrap().to_owned();
    let v = h.control(&format!("/_emulator/agreements/{id}/reject")).await;
    assert_eq!(v["status"], "STOPPED");
    let initial =
        json!({"initialCharge": {"amount": 5000, "description": "Phone", "transactionType": "RESERVE_CAPTURE"}});
    let id = active(&h, initial).await;
    let c = charged(&h, &id, 1000, &due_in(&h, 5), 0).await;
    let path = format!("{A}/{id}");
    let both = json!({"status": "STOPPED", "productName": "x"});
    problem(
        send(&h, Method::PATCH, &path, Some(&key()), Some(&both)).await,
        400,
        "validation-error",
    )
    .await;
    let rename = json!({"productName": "New name", "pricing": {"amount": 25000}});
    assert_eq!(
        send(&h, Method::PATCH, &path, Some(&key()), Some(&rename))
            .await
            .status(),
        204
    );
    assert_eq!(get(&h, &path).await["productName"], "New name");
    let stop = json!({"status": "STOPPED"});
    assert_eq!(
        send(&h, Method::PATCH, &path, Some(&key()), Some(&stop)).await.status(),
        204
    );
    let a = get(&h, &path).await;
    assert_eq!(a["status"], "STOPPED");
    assert!(a["stop"].is_string());
    let charges = get(&h, &format!("{path}/charges")).await;
    assert!(
        charges.as_array().unwrap().iter().all(|c| c["status"] == "CANCELLED"),
        "{charges}"
    );
    assert_eq!(
        get(&h, &format!("{path}/charges/{c}")).await["summary"]["cancelled"],
        1000
    );
    problem(
        send(&h, Method::PATCH, &path, Some(&key()), Some(&stop)).await,
        400,
        "illegal-agreement-update",
    )
    .await;
    let more = json!({"amount": 1000, "description": "x", "due": due_in(&h, 3), "retryDays": 0, "transactionType": "DIRECT_CAPTURE"});
    problem(charge(&h, &id, more).await, 400, "charge-creation-failed").await;
}

#[tokio::test]
async fn a_year_of_monthly_charges_is_processed_in_order() {
    let h = start().await;
    let id = active(&h, json!({})).await;
    let mut ids = Vec::new();
    for m in 0..12 {
        ids.push(charged(&h, &id, 49900, &due_in(&h, 2 + 30 * m), 2).await);
    }
    advance(&h, 366 * DAY).await;
    let charges = get(&h, &format!("{A}/{id}/charges?status=CHARGED")).await;
    let list = charges.as_array().unwrap();
    assert_eq!(list.len(), 12);
    let captured: Vec<&str> = list
        .iter()
        .map(|c| c["history"][2]["occurred"].as_str().unwrap())
        .collect();
    let mut sorted = captured.clone();
    sorted.sort();
    assert_eq!(captured, sorted, "charged in the order they were due");
}

#[tokio::test]
async fn a_failing_card_is_retried_daily_then_fails() {
    let h = start().await;
    let id = active(&h, json!({})).await;
    let v = h
        .control_with(&format!("/_emulator/agreements/{id}/card"), &json!({"fails": true}))
        .await;
    assert_eq!(v["cardFails"], true);
    let c = charged(&h, &id, 1000, &due_in(&h, 2), 2).await;
    advance(&h, 3 * DAY).await;
    let v = get(&h, &format!("{A}/{id}/charges/{c}")).await;
    assert_eq!(v["status"], "DUE", "retrying: {v}");
    advance(&h, 2 * DAY).await;
    let v = get(&h, &format!("{A}/{id}/charges/{c}")).await;
    assert_eq!(v["status"], "FAILED");
    assert_eq!(v["failureReason"], "user_action_required");
    // the customer fixes the card during the retry days: charged
    let c2 = charged(&h, &id, 1000, &due_in(&h, 2), 5).await;
    advance(&h, 3 * DAY).await;
    h.control_with(&format!("/_emulator/agreements/{id}/card"), &json!({"fails": false}))
        .await;
    advance(&h, DAY).await;
    assert_eq!(get(&h, &format!("{A}/{id}/charges/{c2}")).await["status"], "CHARGED");
    // per phone number
    h.control_with("/_emulator/customers/4791234567/card", &json!({"fails": true}))
        .await;
    let c3 = charged(&h, &id, 1000, &due_in(&h, 2), 0).await;
    advance(&h, 3 * DAY).await;
    assert_eq!(get(&h, &format!("{A}/{id}/charges/{c3}")).await["status"], "FAILED");
}

#[tokio::test]
async fn variable_charges_above_the_customers_max_fail_too_high() {
    let h = start().await;
    let body = json!({"pricing": {"type": "VARIABLE", "suggestedMaxAmount": 5000, "currency": "NOK"}});
    let id = draft(&h, body).await["agreementId"].as_str().unwrap().to_owned();
    let v = h
        .control_with(
            &format!("/_emulator/agreements/{id}/accept"),
            &json!({"maxAmount": 3000}),
        )
        .await;
    assert_eq!(v["status"], "ACTIVE");
    assert_eq!(get(&h, &format!("{A}/{id}")).await["pricing"]["maxAmount"], 3000);
    let c = charged(&h, &id, 4000, &due_in(&h, 2), 0).await;
    let over = json!({"amount": 6000, "description": "x", "due": due_in(&h, 2), "retryDays": 0, "transactionType": "DIRECT_CAPTURE"});
    problem(charge(&h, &id, over).await, 400, "charge-amount-too-high").await;
    advance(&h, 3 * DAY).await;
    let v = get(&h, &format!("{A}/{id}/charges/{c}")).await;
    assert_eq!(v["status"], "FAILED");
    assert_eq!(v["failureReason"], "charge_amount_too_high");
}

#[tokio::test]
async fn reserved_charges_are_captured_in_parts_and_cancelled() {
    let h = start().await;
    let initial = json!({"initialCharge": {"amount": 10000, "description": "Phone", "transactionType": "RESERVE_CAPTURE", "orderId": "phone-1"}});
    let id = active(&h, initial).await;
    let path = format!("{A}/{id}/charges/phone-1");
    assert_eq!(get(&h, &path).await["status"], "RESERVED");
    let cap = json!({"amount": 4000, "description": "shipped"});
    assert_eq!(
        send(&h, Method::POST, &format!("{path}/capture"), Some(&key()), Some(&cap))
            .await
            .status(),
        204
    );
    assert_eq!(get(&h, &path).await["status"], "PARTIALLY_CAPTURED");
    let too_much = json!({"amount": 7000, "description": "x"});
    problem(
        send(
            &h,
            Method::POST,
            &format!("{path}/capture"),
            Some(&key()),
            Some(&too_much),
        )
        .await,
        400,
        "charge-capture-failed",
    )
    .await;
    assert_eq!(send(&h, Method::DELETE, &path, Some(&key()), None).await.status(), 204);
    let v = get(&h, &path).await;
    assert_eq!(v["status"], "CHARGED");
    assert_eq!(
        v["summary"],
        json!({"captured": 4000, "refunded": 0, "cancelled": 6000})
    );
    problem(
        send(&h, Method::DELETE, &path, Some(&key()), None).await,
        400,
        "cancel-charge-failed",
    )
    .await;
}

#[tokio::test]
async fn profile_sharing_gives_sub_and_userinfo() {
    let h = start().await;
    let id = active(&h, json!({"scope": "name phoneNumber"})).await;
    let a = get(&h, &format!("{A}/{id}")).await;
    let sub = a["sub"].as_str().unwrap();
    assert_eq!(
        a["userinfoUrl"],
        format!("{}/vipps-userinfo-api/userinfo/{sub}", h.emu.base_url())
    );
    let u: Value = h
        .http
        .get(a["userinfoUrl"].as_str().unwrap())
        .bearer_auth(&h.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(u["sub"], sub);
    assert_eq!(u["phone_number"], "4791234567");
    assert!(u["given_name"].is_string());
}

#[tokio::test]
async fn batches_list_pages_and_the_confirmation_page() {
    let h = start().await;
    let a1 = active(&h, json!({})).await;
    let pending = draft(&h, json!({})).await;
    let a2 = pending["agreementId"].as_str().unwrap();
    let item = |agr: &str, order: &str| json!({"agreementId": agr, "amount": 1000, "description": "x", "due": due_in(&h, 3), "retryDays": 1, "transactionType": "DIRECT_CAPTURE", "orderId": order});
    let batch = json!([
        item(&a1, "batch-1"),
        item(a2, "batch-2"),
        item("agr_0000000", "batch-3"),
        {"agreementId": a1, "amount": 1, "description": "x", "due": due_in(&h, 3), "retryDays": 0, "transactionType": "DIRECT_CAPTURE", "orderId": "batch-4"},
        {"agreementId": a1, "amount": 1000, "description": "x", "due": due_in(&h, 3), "retryDays": 0, "transactionType": "DIRECT_CAPTURE"},
    ]);
    let r = send(
        &h,
        Method::POST,
        "/recurring/v3/agreements/charges",
        Some(&key()),
        Some(&batch),
    )
    .await;
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    assert_eq!(status, 202, "{v}");
    // The official Node SDK's AsyncChargeResponse: the ids created, the refused with why.
    assert_eq!(v["validCharges"], json!(["batch-1"]), "{v}");
    let refused = v["invalidCharges"].as_array().unwrap();
    let order = |i: usize| {
        refused[i]["chargeBatchItemDto"]["orderId"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };
    let why = |i: usize| refused[i]["errors"][0].as_str().unwrap().to_owned();
    assert_eq!(refused.len(), 4, "{v}");
    assert_eq!(order(0), "batch-2");
    assert!(why(0).contains("not active"), "{v}");
    assert_eq!(order(1), "batch-3");
    assert!(why(1).starts_with("agreementId"), "{v}");
    assert_eq!(order(2), "batch-4");
    assert!(why(2).contains("amount"), "{v}");
    assert!(why(3).contains("orderId"), "{v}");
    // lists: ACTIVE by default, paged
    active(&h, json!({})).await;
    assert_eq!(get(&h, A).await.as_array().unwrap().len(), 2);
    let page = get(&h, &format!("{A}?pageSize=1&pageNumber=2")).await;
    assert_eq!(page.as_array().unwrap().len(), 1);
    assert_eq!(get(&h, &format!("{A}?status=PENDING")).await[0]["id"], a2);
    // the confirmation page, as the customer
    let url = pending["vippsConfirmationUrl"].as_str().unwrap();
    let html = h.http.get(url).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Premier League subscription"));
    let t = url.split("t=").nth(1).unwrap();
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = no_redirect
        .post(h.url(&format!("/recurring/confirm/{a2}/accept")))
        .form(&[("t", t), ("phoneNumber", "4791234567")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "https://example.com/redirect");
    assert_eq!(get(&h, &format!("{A}/{a2}")).await["status"], "ACTIVE");
    let wrong = h
        .http
        .get(h.url(&format!("/recurring/confirm/{a2}?t=guess")))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 404);
}

type Seen = Arc<parking_lot::Mutex<Vec<(http::HeaderMap, Value)>>>;

async fn receiver() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let s = Arc::clone(&seen);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: http::HeaderMap, body: bytes::Bytes| {
            let s = Arc::clone(&s);
            async move {
                s.lock().push((headers, serde_json::from_slice(&body).unwrap()));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), seen)
}

#[tokio::test]
async fn every_event_type_reaches_a_webhook_signed_and_in_order() {
    let h = start().await;
    let (url, seen) = receiver().await;
    let events: Vec<String> = [
        "agreement-activated",
        "agreement-rejected",
        "agreement-stopped",
        "agreement-expired",
        "charge-reserved",
        "charge-captured",
        "charge-canceled",
        "charge-failed",
        "charge-refunded",
        "charge-creation-failed",
    ]
    .iter()
    .map(|e| format!("recurring.{e}.v1"))
    .collect();
    let r = send(
        &h,
        Method::POST,
        "/webhooks/v1/webhooks",
        Some(&key()),
        Some(&json!({"url": url, "events": events})),
    )
    .await;
    assert_eq!(r.status(), 201);
    // activated, reserved (initial), captured, refunded, canceled, stopped (actor MERCHANT)
    let initial = json!({"initialCharge": {"amount": 5000, "description": "Phone", "transactionType": "RESERVE_CAPTURE", "orderId": "hook-1"}});
    let id = active(&h, initial).await;
    let path = format!("{A}/{id}/charges/hook-1");
    send(
        &h,
        Method::POST,
        &format!("{path}/capture"),
        Some(&key()),
        Some(&json!({"amount": 5000, "description": "x"})),
    )
    .await;
    send(
        &h,
        Method::POST,
        &format!("{path}/refund"),
        Some(&key()),
        Some(&json!({"amount": 1000, "description": "x"})),
    )
    .await;
    let c = charged(&h, &id, 1000, &due_in(&h, 5), 0).await;
    send(
        &h,
        Method::PATCH,
        &format!("{A}/{id}"),
        Some(&key()),
        Some(&json!({"status": "STOPPED"})),
    )
    .await;
    // rejected; expired; failed; creation failed
    let r1 = draft(&h, json!({})).await["agreementId"].as_str().unwrap().to_owned();
    h.control(&format!("/_emulator/agreements/{r1}/reject")).await;
    let e1 = draft(&h, json!({})).await["agreementId"].as_str().unwrap().to_owned();
    let f1 = active(&h, json!({})).await;
    h.control_with(&format!("/_emulator/agreements/{f1}/card"), &json!({"fails": true}))
        .await;
    charged(&h, &f1, 1000, &due_in(&h, 1), 0).await;
    let batch = json!([{"agreementId": r1, "amount": 1000, "description": "x", "due": due_in(&h, 3), "retryDays": 0, "transactionType": "DIRECT_CAPTURE", "orderId": "batch-on-stopped"}]);
    let r = send(
        &h,
        Method::POST,
        "/recurring/v3/agreements/charges",
        Some(&key()),
        Some(&batch),
    )
    .await;
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    assert_eq!(status, 202, "{v}");
    assert_eq!(v["invalidCharges"].as_array().map(Vec::len), Some(1), "{v}");
    advance(&h, 2 * DAY).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let got = loop {
        let got: Vec<Value> = seen.lock().iter().map(|(_, b)| b.clone()).collect();
        let types: std::collections::BTreeSet<&str> = got.iter().map(|b| b["eventType"].as_str().unwrap()).collect();
        if types.len() == 10 || Instant::now() > deadline {
            assert_eq!(types.len(), 10, "{types:?}");
            break got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(seen
        .lock()
        .iter()
        .all(|(hd, _)| hd["authorization"].to_str().unwrap().starts_with("HMAC-SHA256")));
    let of = |agr: &str| -> Vec<String> {
        got.iter()
            .filter(|b| b["agreementId"] == agr)
            .map(|b| b["eventType"].as_str().unwrap().replace("recurring.", ""))
            .collect()
    };
    assert_eq!(
        of(&id),
        [
            "agreement-activated.v1",
            "charge-reserved.v1",
            "charge-captured.v1",
            "charge-refunded.v1",
            "agreement-stopped.v1",
            "charge-canceled.v1"
        ]
    );
    let stopped = got
        .iter()
        .find(|b| b["eventType"] == "recurring.agreement-stopped.v1")
        .unwrap();
    assert_eq!(stopped["actor"], "MERCHANT");
    assert_eq!(stopped["msn"], h.m().msn.as_str());
    let canceled = got
        .iter()
        .find(|b| b["eventType"] == "recurring.charge-canceled.v1")
        .unwrap();
    assert_eq!(canceled["chargeId"], c.as_str());
    assert_eq!(of(&e1), ["agreement-expired.v1"]);
    let failed = got
        .iter()
        .find(|b| b["eventType"] == "recurring.charge-failed.v1")
        .unwrap();
    assert_eq!(failed["failureReason"], "user_action_required");
}

#[tokio::test]
async fn a_pending_agreement_can_be_updated_before_the_customer_sees_it() {
    let h = start().await;
    let created = draft(&h, json!({})).await;
    let id = created["agreementId"].as_str().unwrap();
    let r = send(
        &h,
        Method::PATCH,
        &format!("{A}/{id}"),
        Some(&key()),
        Some(&json!({"productName": "Renamed before approval"})),
    )
    .await;
    assert_eq!(r.status(), 204);
    let a = get(&h, &format!("{A}/{id}")).await;
    assert_eq!(
        (a["status"].as_str(), a["productName"].as_str()),
        (Some("PENDING"), Some("Renamed before approval"))
    );
}

/// knowledge-base--errors.md: the word `Bearer` is case-sensitive. The official Recurring
/// Postman collection sends `bearer` in its drafts, and the API refuses them (conformance/postman.sh
/// corrects the word).
#[tokio::test]
async fn a_lowercase_bearer_is_refused_with_401() {
    let h = start().await;
    let r = h
        .http
        .post(h.url(A))
        .header("Authorization", format!("bearer {}", h.token))
        .header("Ocp-Apim-Subscription-Key", &h.m().subscription_key)
        .header("Merchant-Serial-Number", &h.m().msn)
        .header("Idempotency-Key", key())
        .json(&draft_body(json!({})))
        .send()
        .await
        .unwrap();
    problem(r, 401, "not-authorized").await;
}

#[tokio::test]
async fn injected_faults_reach_recurring_routes() {
    let h = start().await;
    h.control_with(
        "/_emulator/faults",
        &json!({"rules": [{"method": "POST", "path": "/recurring/v3/agreements", "fault": "apply_then_fail"}]}),
    )
    .await;
    let r = send(&h, Method::POST, A, Some("fault-1"), Some(&draft_body(json!({})))).await;
    assert_eq!(r.status(), 500);
    assert!(r.text().await.unwrap().contains("Injected fault"));
    h.control_with("/_emulator/faults", &json!({"rules": []})).await;
    // the operation ran once: the retry with the same key replays it
    let r = send(&h, Method::POST, A, Some("fault-1"), Some(&draft_body(json!({})))).await;
    assert_eq!(r.status(), 201);
    let pending = get(&h, &format!("{A}?status=PENDING")).await;
    assert_eq!(pending.as_array().unwrap().len(), 1);
}
