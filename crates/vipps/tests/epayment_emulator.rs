//! The SDK against the in-process emulator: every ePayment operation, every illegal
//! transition, authentication failures, idempotency replay and conflict, expiry.

mod common;
use common::client_for;
use std::time::Duration;
use vipps::types::epayment::{
    CancelModificationRequest, CreatePaymentRequest, Customer, ForceApproveRequest, PaymentEventName, PaymentState,
    ProfileRequest, UserFlow,
};
use vipps::types::{Amount, Reference};
use vipps::{Client, RetryPolicy};
use vipps_emulator::{Emulator, RunningEmulator};

fn web(reference: &Reference, value: i64) -> CreatePaymentRequest {
    CreatePaymentRequest {
        return_url: Some("https://example.com/return".into()),
        payment_description: Some("Socks".into()),
        ..CreatePaymentRequest::new(Amount::nok(value), reference.clone(), UserFlow::WebRedirect)
    }
}

async fn approve(emu: &RunningEmulator, reference: &Reference) {
    let r = reqwest::Client::new()
        .post(format!("{}/_emulator/payments/{reference}/approve", emu.base_url()))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "approve: {}", r.status());
}

async fn authorized(emu: &RunningEmulator, c: &Client, value: i64) -> Reference {
    let r = Reference::random();
    c.epayment().create_payment(web(&r, value)).await.unwrap();
    approve(emu, &r).await;
    r
}

#[tokio::test]
async fn full_lifecycle_with_partial_captures_and_refund() {
    let emu = Emulator::start().await.unwrap();
    let c = client_for(&emu);
    let ep = c.epayment();
    let r = Reference::random();
    let created = ep.create_payment(web(&r, 10000)).await.unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(created.reference, r);
    let url = created.redirect_url.clone().unwrap();
    assert!(url.starts_with(&emu.base_url()), "{url}");
    let create_key = created.idempotency_key().unwrap().to_owned();

    let p = ep.get_payment(&r).await.unwrap();
    assert_eq!(p.state, PaymentState::Created);
    assert_eq!(p.aggregate.authorized_amount.value, 0);

    approve(&emu, &r).await;
    let p = ep.get_payment(&r).await.unwrap();
    assert_eq!(p.state, PaymentState::Authorized);
    assert_eq!(p.aggregate.authorized_amount, Amount::nok(10000));

    let m = ep.capture(&r, Amount::nok(2500)).await.unwrap();
    assert_eq!(m.aggregate.captured_amount.value, 2500);
    let m = ep.capture(&r, Amount::nok(7500)).await.unwrap();
    assert_eq!(m.aggregate.captured_amount.value, 10000);
    assert_eq!(m.state, PaymentState::Authorized);
    let m = ep.refund(&r, Amount::nok(3000)).await.unwrap();
    assert_eq!(m.aggregate.refunded_amount.value, 3000);
    let refund_key = m.idempotency_key().unwrap().to_owned();

    let events = ep.get_event_log(&r).await.unwrap();
    let names: Vec<_> = events.iter().map(|e| e.name.clone()).collect();
    assert_eq!(
        names,
        vec![
            PaymentEventName::Created,
            PaymentEventName::Authorized,
            PaymentEventName::Captured,
            PaymentEventName::Captured,
            PaymentEventName::Refunded
        ]
    );
    let amounts: Vec<_> = events.iter().map(|e| e.amount.value).collect();
    assert_eq!(amounts, vec![10000, 10000, 2500, 7500, 3000]);
    assert!(events.iter().all(|e| e.success && e.reference == r));
    assert_eq!(events[0].idempotency_key.as_deref(), Some(create_key.as_str()));
    assert_eq!(events[4].idempotency_key.as_deref(), Some(refund_key.as_str()));
    assert!(events.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
}

#[tokio::test]
async fn cancel_before_and_after_approval() {
    let emu = Emulator::start().await.unwrap();
    let c = client_for(&emu);
    let ep = c.epayment();
    // before approval: TERMINATED
    let r = Reference::random();
    ep.create_payment(web(&r, 5000)).await.unwrap();
    let m = ep.cancel(&r).await.unwrap();
    assert_eq!(m.state, PaymentState::Terminated);
    // after a partial capture: the remainder is released, state stays AUTHORIZED
    let r = authorized(&emu, &c, 1000).await;
    ep.capture(&r, Amount::nok(250)).await.unwrap();
    let m = ep.cancel(&r).await.unwrap();
    assert_eq!(m.state, PaymentState::Authorized);
    assert_eq!(m.aggregate.cancelled_amount.value, 750);
    assert_eq!(m.aggregate.captured_amount.value, 250);
    // cancelTransactionOnly on an authorized payment: 6060
    let r = authorized(&emu, &c, 1000).await;
    let err = ep
        .cancel_with(
            &r,
            CancelModificationRequest {
                cancel_transaction_only: Some(true),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.error_code(), Some(6060), "{err}");
}

#[tokio::test]
async fn every_illegal_transition_is_rejected_with_its_code() {
    let emu = Emulator::start().await.unwrap();
    let c = client_for(&emu);
    let ep = c.epayment();

    // capture before reservation
    let r = Reference::random();
    ep.create_payment(web(&r, 1000)).await.unwrap();
    let e = ep.capture(&r, Amount::nok(100)).await.unwrap_err();
    assert_eq!((e.status(), e.error_code()), (Some(400), Some(6080)), "{e}");
    // refund before reservation
    let e = ep.refund(&r, Amount::nok(100)).await.unwrap_err();
    assert_eq!(e.error_code(), Some(6020), "{e}");

    // capture too much
    let r = authorized(&emu, &c, 1000).await;
    let e = ep.capture(&r, Amount::nok(1001)).await.unwrap_err();
    assert_eq!(e.error_code(), Some(6090), "{e}");
    // refund more than captured
    ep.capture(&r, Amount::nok(400)).await.unwrap();
    let e = ep.refund(&r, Amount::nok(401)).await.unwrap_err();
    assert_eq!(e.error_code(), Some(6150), "{e}");
    // capture after cancel
    ep.cancel(&r).await.unwrap();
    let e = ep.capture(&r, Amount::nok(1)).await.unwrap_err();
    assert_eq!(e.error_code(), Some(6070), "{e}");

    // cancel a fully captured payment
    let r = authorized(&emu, &c, 1000).await;
    ep.capture(&r, Amount::nok(1000)).await.unwrap();
    let e = ep.cancel(&r).await.unwrap_err();
    assert_eq!(e.error_code(), Some(6040), "{e}");

    // operations on final states
    let r = Reference::random();
    ep.create_payment(web(&r, 1000)).await.unwrap();
    ep.cancel(&r).await.unwrap(); // TERMINATED
    let e = ep.capture(&r, Amount::nok(100)).await.unwrap_err();
    assert_eq!(e.status(), Some(400));
    assert!(matches!(e.error_code(), Some(6200) | Some(6070) | Some(6080)), "{e}");
    let e = ep.force_approve(&r, ForceApproveRequest::default()).await.unwrap_err();
    assert_eq!(e.status(), Some(400), "{e}");

    // currency mismatch
    let r = authorized(&emu, &c, 1000).await;
    let e = ep.capture(&r, Amount::eur(100)).await.unwrap_err();
    assert_eq!(e.status(), Some(400), "{e}");

    // unknown reference
    let e = ep.get_payment("no-such-payment-1").await.unwrap_err();
    assert_eq!((e.status(), e.error_code()), (Some(404), Some(5090)), "{e}");
    let e = ep.capture("no-such-payment-1", Amount::nok(100)).await.unwrap_err();
    assert_eq!(e.status(), Some(404), "{e}");

    // reference already used (new idempotency key)
    let r = Reference::random();
    ep.create_payment(web(&r, 1000)).await.unwrap();
    let e = ep.create_payment(web(&r, 1000)).await.unwrap_err();
    assert_eq!(e.status(), Some(409), "{e}");
}

#[tokio::test]
async fn idempotency_replay_and_conflict() {
    let emu = Emulator::start().await.unwrap();
    let c = client_for(&emu);
    let ep = c.epayment();
    let r = authorized(&emu, &c, 1000).await;
    let a = ep.capture(&r, Amount::nok(300)).idempotency_key("cap-1").await.unwrap();
    let b = ep.capture(&r, Amount::nok(300)).idempotency_key("cap-1").await.unwrap();
    assert_eq!(*a, *b);
    assert_eq!(b.aggregate.captured_amount.value, 300);
    let e = ep
        .capture(&r, Amount::nok(301))
        .idempotency_key("cap-1")
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(409), "{e}");
    assert_eq!(e.idempotency_key(), Some("cap-1"));
    let events = ep.get_event_log(&r).await.unwrap();
    assert_eq!(
        events.iter().filter(|e| e.name == PaymentEventName::Captured).count(),
        1
    );

    // a 4xx is sticky: the same key returns the same error even after the state changed
    let r2 = Reference::random();
    ep.create_payment(web(&r2, 1000)).await.unwrap();
    let e1 = ep
        .capture(&r2, Amount::nok(100))
        .idempotency_key("early")
        .await
        .unwrap_err();
    approve(&emu, &r2).await;
    let e2 = ep
        .capture(&r2, Amount::nok(100))
        .idempotency_key("early")
        .await
        .unwrap_err();
    assert_eq!(e1.error_code(), e2.error_code());
    assert_eq!(ep.get_payment(&r2).await.unwrap().aggregate.captured_amount.value, 0);

    // a create retried with the same key returns the first answer
    let r3 = Reference::random();
    let first = ep
        .create_payment(web(&r3, 1000))
        .idempotency_key("create-3")
        .await
        .unwrap();
    let again = ep
        .create_payment(web(&r3, 1000))
        .idempotency_key("create-3")
        .await
        .unwrap();
    assert_eq!(first.redirect_url, again.redirect_url);
    assert_eq!(ep.get_event_log(&r3).await.unwrap().len(), 1);
}

#[tokio::test]
async fn concurrent_identical_captures_have_one_effect() {
    let emu = Emulator::start().await.unwrap();
    let c = client_for(&emu);
    let r = authorized(&emu, &c, 1000).await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let c = c.clone();
        let r = r.clone();
        tasks.push(tokio::spawn(async move {
            c.epayment()
                .capture(&r, Amount::nok(100))
                .idempotency_key("same-key")
                .await
        }));
    }
    for t in tasks {
        let _ = t.await.unwrap();
    }
    let p = c.epayment().get_payment(&r).await.unwrap();
    assert_eq!(p.aggregate.captured_amount.value, 100);
}

#[tokio::test]
async fn force_approve_and_profile_sub() {
    let emu = Emulator::start().await.unwrap();
    let c = client_for(&emu);
    let ep = c.epayment();
    let r = Reference::random();
    ep.create_payment(CreatePaymentRequest {
        customer: Some(Customer::phone("4791234567")),
        profile: Some(ProfileRequest {
            scope: Some("name phoneNumber".into()),
        }),
        ..CreatePaymentRequest::new(Amount::nok(2000), r.clone(), UserFlow::PushMessage)
    })
    .await
    .unwrap();
    let p = ep.get_payment(&r).await.unwrap();
    assert!(p.redirect_url.is_none());
    assert!(p.profile.sub.is_none());
    ep.force_approve(
        &r,
        ForceApproveRequest {
            customer: Some(Customer::phone("4791234567")),
            token: None,
        },
    )
    .await
    .unwrap();
    let p = ep.get_payment(&r).await.unwrap();
    assert_eq!(p.state, PaymentState::Authorized);
    let sub = p.profile.sub.clone().expect("a sub once authorized with a scope");

    // The Userinfo API answers with what the scope asked for. It refuses a subscription key
    // (401), so this passing also shows the SDK leaves it out.
    let u = c.userinfo().get(&sub).await.unwrap();
    assert_eq!(u.sub, sub);
    assert_eq!(u.given_name.as_deref(), Some("Ola"));
    assert_eq!(u.phone_number.as_deref(), Some("4791234567"));
    assert!(u.email.is_none() && u.address.is_none());

    let e = c
        .userinfo()
        .get("c06c4afe-d9e1-4c5d-939a-177d752a0944")
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(404), "{e}");
    let e = c.userinfo().get("../epayment").await.unwrap_err();
    assert!(
        matches!(e.kind(), vipps::ErrorKind::Validation(v) if v.field == "sub"),
        "{e}"
    );
}

#[tokio::test]
async fn expiry_through_the_clock() {
    let emu = Emulator::start().await.unwrap();
    let c = client_for(&emu);
    let ep = c.epayment();
    let r = Reference::random();
    ep.create_payment(web(&r, 1000)).await.unwrap();
    let resp = reqwest::Client::new()
        .post(format!("{}/_emulator/clock/advance", emu.base_url()))
        .json(&serde_json::json!({"seconds": 11 * 60}))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let p = ep.get_payment(&r).await.unwrap();
    assert_eq!(p.state, PaymentState::Expired);
    let events = ep.get_event_log(&r).await.unwrap();
    assert_eq!(events.last().unwrap().name, PaymentEventName::Expired);
    let e = ep.capture(&r, Amount::nok(100)).await.unwrap_err();
    assert_eq!(e.status(), Some(400));
    // the library clock works as well, and the access token survives a 50-minute jump
    emu.clock().advance(Duration::from_secs(50 * 60));
    ep.get_payment(&r).await.unwrap();
}

#[tokio::test]
async fn expired_tokens_are_refreshed_transparently() {
    let emu = Emulator::start().await.unwrap();
    let c = client_for(&emu);
    let r = Reference::random();
    c.epayment().create_payment(web(&r, 1000)).await.unwrap();
    assert_eq!(c.access_token_fetches(), 1);
    // the emulator's clock runs 2 hours ahead: our cached token is now expired on the server
    emu.clock().advance(Duration::from_secs(2 * 3600));
    c.epayment().get_payment(&r).await.unwrap();
    assert_eq!(c.access_token_fetches(), 2);
}

#[tokio::test]
async fn authentication_failures() {
    let emu = Emulator::start().await.unwrap();
    let m = emu.merchant().clone();
    let base = emu.base_url();
    let with = |id: &str, secret: &str, key: &str, msn: &str| {
        Client::builder()
            .client_id(id)
            .client_secret(secret)
            .subscription_key(key)
            .merchant_serial_number(msn)
            .base_url(&base)
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap()
    };
    let e = with(&m.client_id, "wrong", &m.subscription_key, &m.msn)
        .epayment()
        .get_payment("reference-1")
        .await;
    assert_eq!(e.unwrap_err().status(), Some(401));
    let e = with(&m.client_id, &m.client_secret, "wrong-key", &m.msn)
        .epayment()
        .get_payment("reference-1")
        .await;
    assert_eq!(e.unwrap_err().status(), Some(401));
    let e = with(&m.client_id, &m.client_secret, &m.subscription_key, "999999")
        .epayment()
        .get_payment("reference-1")
        .await;
    let e = e.unwrap_err();
    assert!(matches!(e.status(), Some(401) | Some(403)), "{e}");

    // raw HTTP: no token, a malformed token, "bearer" in lower case
    let http = reqwest::Client::new();
    for auth in [None, Some("Bearer not-a-jwt"), Some("bearer x.y.z")] {
        let mut req = http
            .get(format!("{base}/epayment/v1/payments/reference-1"))
            .header("Ocp-Apim-Subscription-Key", &m.subscription_key)
            .header("Merchant-Serial-Number", &m.msn);
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 401, "{auth:?}");
    }
}

#[tokio::test]
async fn validation_is_checked_by_both_sides() {
    let emu = Emulator::start().await.unwrap();
    let c = client_for(&emu);
    // the SDK refuses before sending
    let r = Reference::random();
    let mut req = web(&r, 1000);
    req.return_url = Some("http://example.com/not-https".into());
    let e = c.epayment().create_payment(req).await.unwrap_err();
    assert_eq!(e.validation_error().unwrap().field, "returnUrl");
    assert_eq!(c.access_token_fetches(), 0);

    // the emulator refuses the same thing sent raw, naming the field
    let token = c.access_token().await.unwrap();
    let m = emu.merchant();
    let resp = reqwest::Client::new()
        .post(format!("{}/epayment/v1/payments", emu.base_url()))
        .header("Authorization", format!("Bearer {}", token.expose()))
        .header("Ocp-Apim-Subscription-Key", &m.subscription_key)
        .header("Merchant-Serial-Number", &m.msn)
        .header("Idempotency-Key", "raw-1")
        .json(&serde_json::json!({
            "amount": {"currency": "NOK", "value": 1000},
            "paymentMethod": {"type": "WALLET"},
            "reference": r.as_str(),
            "userFlow": "WEB_REDIRECT",
            "returnUrl": "http://example.com/not-https"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(body.to_string().contains("returnUrl"), "{body}");
    assert!(body["traceId"].is_string(), "{body}");
}

#[tokio::test]
async fn capture_cancel_and_refund_deadlines_follow_the_clock() {
    let emu = Emulator::start().await.unwrap();
    let c = client_for(&emu);
    let ep = c.epayment();
    let a = authorized(&emu, &c, 1000).await;
    let b = authorized(&emu, &c, 1000).await;
    let p = ep.get_payment(&a).await.unwrap();
    let guaranteed = p
        .capture_guaranteed_until
        .expect("captureGuaranteedUntil once authorized");
    ep.capture(&a, Amount::nok(500)).await.unwrap();
    ep.capture(&b, Amount::nok(1000)).await.unwrap();
    // 181 days later: no capture or cancel (NOK: 180 days); refunds are still possible
    emu.clock().advance(Duration::from_secs(181 * 86400));
    assert!(emu.clock().now() > guaranteed);
    let e = ep.capture(&a, Amount::nok(100)).await.unwrap_err();
    assert_eq!(e.error_code(), Some(6100), "{e}");
    let e = ep.cancel(&a).await.unwrap_err();
    assert_eq!(e.error_code(), Some(6030), "{e}");
    ep.refund(&b, Amount::nok(100)).await.unwrap();
    // 366 days after the reservation: no refund either
    emu.clock().advance(Duration::from_secs(185 * 86400));
    let e = ep.refund(&b, Amount::nok(100)).await.unwrap_err();
    assert_eq!(e.error_code(), Some(6220), "{e}");
}

/// The merchant's Express shipping endpoint, written with the SDK's helpers.
async fn express_shipping(headers: axum::http::HeaderMap, body: axum::body::Bytes) -> axum::response::Response {
    use axum::response::IntoResponse;
    use vipps::types::epayment::{DynamicShippingResponse, ShippingBrand, ShippingGroup, ShippingOption, ShippingType};
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    if !vipps::epayment::verify_shipping_authorization(auth, "Bearer express-token-7") {
        return axum::http::StatusCode::UNAUTHORIZED.into_response();
    }
    let Ok(req) = vipps::epayment::parse_dynamic_shipping_request(&body) else {
        return axum::http::StatusCode::BAD_REQUEST.into_response();
    };
    // Home delivery costs more outside Oslo.
    let cost = if req.city == "Oslo" { 4900 } else { 9900 };
    let option = |id: &str, name: &str, value: i64| ShippingOption {
        id: id.into(),
        amount: Amount::nok(value),
        name: name.into(),
        meta: None,
        estimated_delivery: Some("1-2 days".into()),
        is_default: None,
        priority: None,
    };
    axum::Json(DynamicShippingResponse {
        groups: vec![ShippingGroup {
            brand: ShippingBrand::Posten,
            type_: ShippingType::HomeDelivery,
            is_default: Some(true),
            priority: Some(0),
            options: vec![
                option("home", "Home delivery", cost),
                option("home-evening", "Evening", cost + 2000),
            ],
        }],
    })
    .into_response()
}

#[tokio::test]
async fn express_with_dynamic_shipping_through_the_sdk() {
    use vipps::types::epayment::{DynamicShippingOptions, Shipping};
    let emu = Emulator::start().await.unwrap();
    let c = client_for(&emu);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/shipping", listener.local_addr().unwrap());
    let app = axum::Router::new().route("/shipping", axum::routing::post(express_shipping));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let r = Reference::random();
    let shipping = Shipping {
        dynamic_options: Some(DynamicShippingOptions {
            callback_url: url,
            callback_authorization_token: "Bearer express-token-7".into(),
        }),
        ..Shipping::default()
    };
    let req = CreatePaymentRequest::express(Amount::nok(30000), r.clone(), "https://example.com/return", shipping);
    c.epayment().create_payment(req).await.unwrap();
    let approved = reqwest::Client::new()
        .post(format!("{}/_emulator/payments/{r}/approve", emu.base_url()))
        .json(&serde_json::json!({"shippingOptionId": "home-evening"}))
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), 200);

    let p = c.epayment().get_payment(&r).await.unwrap().into_inner();
    assert_eq!(p.state, PaymentState::Authorized);
    assert_eq!(
        p.amount,
        Amount::nok(30000 + 6900),
        "the evening delivery in Oslo is added"
    );
    let s = p.shipping_details.expect("shippingDetails");
    assert_eq!(s.shipping_option_id.as_deref(), Some("home-evening"));
    assert_eq!(s.shipping_cost, Some(6900));
    assert_eq!(s.address.expect("address").city, "Oslo");
    let u = p.user_details.expect("userDetails");
    assert_eq!(u.first_name.as_deref(), Some("Ola"));
    assert!(u.email.is_some() && u.mobile_number.is_some() && u.addresses.is_some());
    c.epayment().capture(&r, Amount::nok(36900)).await.unwrap();

    // The SDK checks the Express rules before sending.
    let mut bad = CreatePaymentRequest::express(
        Amount::nok(30000),
        Reference::random(),
        "https://example.com/r",
        Shipping::default(),
    );
    let err = c.epayment().create_payment(bad.clone()).await.unwrap_err();
    assert!(err.to_string().contains("fixedOptions or dynamicOptions"), "{err}");
    bad.shipping = None;
    bad.profile = None;
    c.epayment().create_payment(bad).await.unwrap();
}

#[tokio::test]
async fn a_client_credentials_token_from_the_specialized_endpoint() {
    let emu = Emulator::start().await.unwrap();
    let c = client_for(&emu);
    let t = c.client_credentials_token(Some("donations:read")).await.unwrap();
    assert_eq!(t.token_type, "Bearer");
    assert_eq!(t.expires_in, Some(900));
    assert_eq!(t.scope.as_deref(), Some("donations:read"));
    assert!(t.access_token.len() > 100);
    assert!(
        !format!("{t:?}").contains(&t.access_token),
        "the token stays out of Debug"
    );
    assert_eq!(c.access_token_fetches(), 0, "it is not the client's own cached token");

    let secret = "wrong-secret-b7f3";
    let wrong = common::builder_for(&emu).client_secret(secret).build().unwrap();
    let err = wrong.client_credentials_token(None).await.unwrap_err();
    assert_eq!(err.status(), Some(401), "{err}");
    let basic = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{secret}", emu.merchant().client_id))
    };
    let shown = format!("{err:?}{err}{wrong:?}");
    assert!(!shown.contains(secret) && !shown.contains(&basic), "{shown}");
}
