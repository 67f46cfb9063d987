//! The dashboard's JSON, over HTTP without a browser: `GET /_emulator/objects` (newest first,
//! filters, cursor pages), `GET /_emulator/objects/{kind}/{id}` (amounts, history, links; 404
//! for an unknown id) and `GET /_emulator/changes`, for every kind of object.

mod common;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};

async fn objects(h: &H, query: &str) -> Value {
    h.control_get(&format!("/_emulator/objects?{query}")).await
}

async fn object(h: &H, kind: &str, id: &str) -> Value {
    h.control_get(&format!("/_emulator/objects/{kind}/{id}")).await
}

fn ids(page: &Value) -> Vec<&str> {
    page["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect()
}

fn names(detail: &Value) -> Vec<&str> {
    detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect()
}

async fn changes(h: &H) -> u64 {
    h.control_get("/_emulator/changes").await["changes"].as_u64().unwrap()
}

#[tokio::test]
async fn payments_list_newest_first_with_filters_pages_and_details() {
    let h = H::start().await;
    let before = changes(&h).await;
    for i in 1..=5 {
        h.created(&format!("dash-api-{i}"), 1000 + i).await;
    }
    assert!(changes(&h).await > before, "creating payments moves the change count");
    for i in [2, 4] {
        assert_eq!(h.approve(&format!("dash-api-{i}")).await.status(), 200);
    }
    assert_eq!(h.modify("dash-api-4", "capture", 300, "cap-4").await.status(), 200);
    assert_eq!(h.modify("dash-api-4", "refund", 100, "ref-4").await.status(), 200);

    let all = objects(&h, "kind=payment").await;
    assert_eq!(
        ids(&all),
        ["dash-api-5", "dash-api-4", "dash-api-3", "dash-api-2", "dash-api-1"]
    );
    assert_eq!(all.get("next"), None, "one page holds them all");
    let newest = &all["objects"][0];
    assert_eq!(newest["kind"], "payment");
    assert_eq!(newest["msn"], h.m().msn.as_str());
    assert_eq!(newest["state"], "CREATED");
    assert_eq!(newest["amount"], json!({"value": 1005, "currency": "NOK"}));
    assert!(newest["created"].as_str().unwrap().ends_with('Z'), "{newest}");
    assert_eq!(objects(&h, "").await, all, "payments are the default kind");

    // Filters: state (any case), part of the reference, and both.
    assert_eq!(
        ids(&objects(&h, "state=authorized").await),
        ["dash-api-4", "dash-api-2"]
    );
    assert_eq!(ids(&objects(&h, "reference=api-3").await), ["dash-api-3"]);
    assert!(ids(&objects(&h, "reference=api-3&state=AUTHORIZED").await).is_empty());

    // Cursor pages.
    let first = objects(&h, "limit=2").await;
    assert_eq!(ids(&first), ["dash-api-5", "dash-api-4"]);
    let next = first["next"].as_u64().unwrap();
    let second = objects(&h, &format!("limit=2&before={next}")).await;
    assert_eq!(ids(&second), ["dash-api-3", "dash-api-2"]);
    let last = objects(&h, &format!("limit=2&before={}", second["next"].as_u64().unwrap())).await;
    assert_eq!(ids(&last), ["dash-api-1"]);
    assert_eq!(last.get("next"), None);

    // A payment created meanwhile is on top, and does not shift the pages behind the cursor.
    h.created("dash-api-6", 600).await;
    assert_eq!(ids(&objects(&h, "limit=1").await), ["dash-api-6"]);
    assert_eq!(
        ids(&objects(&h, &format!("limit=2&before={next}")).await),
        ["dash-api-3", "dash-api-2"]
    );

    let d = object(&h, "payment", "dash-api-4").await;
    assert_eq!(d["state"], "AUTHORIZED");
    assert_eq!(
        d["amounts"],
        json!({"authorized": 1004, "captured": 300, "refunded": 100, "cancelled": 0})
    );
    assert_eq!(names(&d), ["CREATED", "AUTHORIZED", "CAPTURED", "REFUNDED"]);
    assert_eq!(d["history"][2]["amount"], 300);
    assert_eq!(d["deliveriesReference"], "dash-api-4");
    let msn = &h.m().msn;
    let same: Value = h
        .http
        .get(h.url(&format!("/_emulator/objects/payment/dash-api-4?msn={msn}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(same["amounts"], d["amounts"]);
}

#[tokio::test]
async fn unknown_objects_are_404_and_bad_queries_400() {
    let h = H::start().await;
    h.created("dash-known-1", 1000).await;
    for path in [
        "/_emulator/objects/payment/dash-unknown-1",
        "/_emulator/objects/checkout/dash-known-1",
        "/_emulator/objects/ecom/dash-known-1",
        "/_emulator/objects/agreement/agr_0000000",
        "/_emulator/objects/charge/chr-0000000",
        "/_emulator/objects/webhook/no-such-hook",
        "/_emulator/objects/payment/dash-known-1?msn=999999",
    ] {
        let r = h.http.get(h.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
        let p: Value = r.json().await.unwrap();
        assert_eq!(p["status"], 404, "{path}: {p}");
    }
    for q in ["kind=invoice", "limit=0", "limit=501", "before=-1"] {
        let r = h
            .http
            .get(h.url(&format!("/_emulator/objects?{q}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{q}");
    }
    let r = h.http.get(h.url("/_emulator/objects/invoice/x")).send().await.unwrap();
    assert_eq!(r.status(), 400);
}

fn session_body(reference: &str, value: i64) -> Value {
    json!({
        "merchantInfo": {
            "callbackUrl": "http://127.0.0.1:9/callback",
            "returnUrl": "https://example.com/return",
            "callbackAuthorizationToken": "dash-token"
        },
        "transaction": {"amount": {"value": value, "currency": "NOK"}, "reference": reference, "paymentDescription": "Socks"}
    })
}

#[tokio::test]
async fn checkout_sessions_link_their_payment() {
    let h = H::start().await;
    for (reference, value) in [("dash-ck-1", 1500), ("dash-ck-2", 2500)] {
        let r = h
            .checkout(Method::POST, "/checkout/v3/session")
            .json(&session_body(reference, value))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let done = h.control("/_emulator/checkout/dash-ck-2/complete").await;
    assert_eq!(done["sessionState"], "PaymentSuccessful", "{done}");

    let page = objects(&h, "kind=checkout").await;
    assert_eq!(ids(&page), ["dash-ck-2", "dash-ck-1"]);
    assert_eq!(page["objects"][1]["state"], "SessionCreated");
    assert_eq!(page["objects"][1]["amount"]["value"], 1500);
    assert_eq!(
        ids(&objects(&h, "kind=checkout&state=PaymentSuccessful").await),
        ["dash-ck-2"]
    );

    let d = object(&h, "checkout", "dash-ck-2").await;
    assert_eq!(names(&d), ["SessionCreated", "PaymentSuccessful"]);
    assert_eq!(
        d["links"],
        json!([{"kind": "payment", "id": "dash-ck-2", "rel": "payment"}])
    );
    let p = object(&h, "payment", "dash-ck-2").await;
    assert_eq!(p["state"], "AUTHORIZED");
    assert_eq!(p["amounts"]["authorized"], 2500);
    assert_eq!(
        ids(&objects(&h, "kind=payment").await),
        ["dash-ck-2"],
        "only the paid session has a payment"
    );
}

#[tokio::test]
async fn ecom_orders_show_their_transaction_log() {
    let h = H::start().await;
    for (order_id, amount) in [("dash-ecom-1", 1000), ("dash-ecom-2", 2000)] {
        let r = ecom(&h, Method::POST, "/ecomm/v2/payments")
            .json(&ecom_initiate_body(&h, order_id, amount))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    // The control plane's payment approval acts on eCom orders too (what the dashboard's
    // Approve button sends).
    let approved = h.control("/_emulator/payments/dash-ecom-2/approve").await;
    assert_eq!(approved["approved"], true, "{approved}");
    let r = ecom(&h, Method::POST, "/ecomm/v2/payments/dash-ecom-2/capture")
        .header("X-Request-Id", "cap-1")
        .json(&json!({"merchantInfo": {"merchantSerialNumber": h.m().msn}, "transaction": {"amount": 500, "transactionText": "part"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

    let page = objects(&h, "kind=ecom").await;
    assert_eq!(ids(&page), ["dash-ecom-2", "dash-ecom-1"]);
    assert_eq!(page["objects"][0]["state"], "CAPTURE");
    assert_eq!(page["objects"][1]["state"], "INITIATE");
    assert_eq!(ids(&objects(&h, "kind=ecom&state=initiate").await), ["dash-ecom-1"]);

    let d = object(&h, "ecom", "dash-ecom-2").await;
    assert_eq!(
        d["amounts"],
        json!({"authorized": 2000, "captured": 500, "refunded": 0, "cancelled": 0})
    );
    assert_eq!(names(&d), ["INITIATE", "RESERVE", "CAPTURE"]);
    assert_eq!(d["deliveriesReference"], "dash-ecom-2");
}

#[tokio::test]
async fn agreements_and_charges_link_each_other() {
    let h = H::start().await;
    let mut agreements = Vec::new();
    for product in ["Gold", "Silver"] {
        let r = h
            .req(Method::POST, "/recurring/v3/agreements")
            .header("Idempotency-Key", format!("dash-{product}"))
            .json(&json!({
                "pricing": {"type": "LEGACY", "amount": 49900, "currency": "NOK"},
                "interval": {"unit": "MONTH", "count": 1},
                "merchantRedirectUrl": "https://example.com/redirect",
                "merchantAgreementUrl": "https://example.com/agreement",
                "productName": product,
                "phoneNumber": "4791234567"
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        agreements.push(
            r.json::<Value>().await.unwrap()["agreementId"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let silver = agreements[1].clone();
    let accepted = h.control(&format!("/_emulator/agreements/{silver}/accept")).await;
    assert_eq!(accepted["status"], "ACTIVE", "{accepted}");
    let due = (time::OffsetDateTime::now_utc().date() + time::Duration::days(40)).to_string();
    let r = h
        .req(Method::POST, &format!("/recurring/v3/agreements/{silver}/charges"))
        .header("Idempotency-Key", "dash-charge-1")
        .json(&json!({"amount": 49900, "description": "October", "due": due, "retryDays": 2, "transactionType": "DIRECT_CAPTURE"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let charge = r.json::<Value>().await.unwrap()["chargeId"]
        .as_str()
        .unwrap()
        .to_owned();

    let page = objects(&h, "kind=agreement").await;
    assert_eq!(ids(&page), [silver.as_str(), agreements[0].as_str()]);
    assert_eq!(page["objects"][0]["state"], "ACTIVE");
    assert_eq!(page["objects"][1]["state"], "PENDING");
    assert_eq!(page["objects"][0]["amount"], json!({"value": 49900, "currency": "NOK"}));
    assert_eq!(
        ids(&objects(&h, "kind=agreement&state=pending").await),
        [agreements[0].as_str()]
    );

    let charges = objects(&h, "kind=charge").await;
    assert_eq!(ids(&charges), [charge.as_str()]);
    assert_eq!(charges["objects"][0]["state"], "PENDING", "due in 40 days");

    let a = object(&h, "agreement", &silver).await;
    assert_eq!(names(&a), ["CREATED", "ACTIVATED"]);
    assert_eq!(a["links"], json!([{"kind": "charge", "id": charge, "rel": "charge"}]));
    assert_eq!(a["amounts"], json!({"captured": 0, "refunded": 0, "cancelled": 0}));
    let c = object(&h, "charge", &charge).await;
    assert_eq!(
        c["links"],
        json!([{"kind": "agreement", "id": silver, "rel": "agreement"}])
    );
    assert_eq!(
        c["deliveriesReference"],
        silver.as_str(),
        "charge events are the agreement's"
    );
    assert_eq!(names(&c), ["CREATE"]);

    // Past the due date the charge is processed: CHARGED, with its capture in the history.
    h.advance(41 * 86_400).await;
    let c = object(&h, "charge", &charge).await;
    assert_eq!(c["state"], "CHARGED");
    assert_eq!(c["amounts"]["captured"], 49900);
    assert_eq!(ids(&objects(&h, "kind=charge&state=CHARGED").await), [charge.as_str()]);
}

#[tokio::test]
async fn webhooks_list_newest_first() {
    let h = H::start().await;
    let mut hooks = Vec::new();
    for path in ["/one", "/two"] {
        let r = h
            .req(Method::POST, "/webhooks/v1/webhooks")
            .json(&json!({"url": format!("https://example.com{path}"), "events": ["epayments.payment.created.v1"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        hooks.push(r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
    }
    let page = objects(&h, "kind=webhook").await;
    assert_eq!(ids(&page), [hooks[1].as_str(), hooks[0].as_str()]);
    assert_eq!(page["objects"][0]["state"], "ACTIVE");
    let d = object(&h, "webhook", &hooks[0]).await;
    assert_eq!(d["facts"][0], json!(["url", "https://example.com/one"]));
    assert_eq!(names(&d), ["REGISTERED"]);
    let paged = objects(
        &h,
        &format!("kind=webhook&limit=1&before={}", page["objects"][0]["seq"]),
    )
    .await;
    assert_eq!(ids(&paged), [hooks[0].as_str()]);
}
