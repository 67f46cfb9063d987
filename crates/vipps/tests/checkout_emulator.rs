//! The Checkout SDK against the in-process emulator: create/get/update/expire, the customer
//! completing through the control plane, polling, TTL expiry, and capture through ePayment.

mod common;
use common::client_for;
use std::time::Duration;
use vipps::checkout::PollCadence;
use vipps::types::checkout::{
    CarrierLogisticsOption, InitiateSessionRequest, Logistics, LogisticsOption, MerchantInfo, PaymentState,
    PaymentTransaction, PostenLogisticsType, SessionState, UpdateSessionRequest,
};
use vipps::types::epayment::{PaymentEventName, PaymentState as EpState};
use vipps::types::{Amount, Reference};
use vipps_emulator::{Emulator, RunningEmulator};

fn request(reference: &Reference, value: i64) -> InitiateSessionRequest {
    let mut req = InitiateSessionRequest::payment(
        MerchantInfo::new(
            "https://example.com/callback",
            "https://example.com/return",
            "cb-token-xyz",
        ),
        PaymentTransaction::new(Amount::nok(value), reference.clone(), "Woollen socks"),
    );
    req.logistics = Some(Logistics {
        fixed_options: Some(vec![LogisticsOption::Posten(CarrierLogisticsOption {
            type_: Some(PostenLogisticsType::PickupPoint),
            is_default: true,
            ..CarrierLogisticsOption::new("posten-pickup", Amount::nok(4900))
        })]),
        ..Default::default()
    });
    req
}

async fn control(emu: &RunningEmulator, reference: &Reference, action: &str) {
    let r = reqwest::Client::new()
        .post(format!("{}/_emulator/checkout/{reference}/{action}", emu.base_url()))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{action}: {}", r.status());
}

#[tokio::test]
async fn session_paid_polled_captured_and_in_the_event_log() {
    let emu = Emulator::start().await.unwrap();
    let c = client_for(&emu);
    let co = c
        .checkout()
        .with_poll_cadence(PollCadence::new(Duration::from_millis(20), Duration::from_millis(20)));
    let r = Reference::random();
    let created = co.create_session(request(&r, 49900)).await.unwrap();
    assert!(created.polling_url.ends_with(&format!("/checkout/v3/session/{r}")));
    assert!(created.checkout_frontend_url.starts_with(&emu.base_url()));

    let s = co.get_session(&r).await.unwrap();
    assert_eq!(s.session_state, SessionState::SessionCreated);

    // update before payment
    co.update_session(
        r.as_str(),
        UpdateSessionRequest {
            transaction: PaymentTransaction::new(Amount::nok(59900), r.clone(), "Three pairs of socks"),
        },
    )
    .await
    .unwrap();

    control(&emu, &r, "complete").await;
    let done = co.wait_for_final_state(&r, Duration::from_secs(5)).await.unwrap();
    assert_eq!(done.session_state, SessionState::PaymentSuccessful);
    assert!(done.is_authorized());
    let pd = done.payment_details.clone().unwrap();
    assert_eq!(pd.amount, Amount::nok(59900 + 4900));
    assert_eq!(pd.type_.as_deref(), Some("WALLET"));
    let ship = done.shipping_details.clone().unwrap();
    assert_eq!(ship.shipping_method_id.as_deref(), Some("posten-pickup"));
    assert_eq!(ship.country.as_deref(), Some("NO"));

    // the update is refused after payment
    let err = co
        .update_session(
            r.as_str(),
            UpdateSessionRequest {
                transaction: PaymentTransaction::new(Amount::nok(100), r.clone(), "Too late"),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(409));
    assert_eq!(
        err.problem().and_then(|p| p.error_code.as_deref()),
        Some("Session-00300")
    );

    // capture through ePayment, with the same reference
    let ep = c.epayment();
    let p = ep.get_payment(&r).await.unwrap();
    assert_eq!(p.state, EpState::Authorized);
    ep.capture(&r, Amount::nok(64800)).await.unwrap();
    let events = ep.get_event_log(&r).await.unwrap();
    let names: Vec<_> = events.iter().map(|e| e.name.clone()).collect();
    assert_eq!(
        names,
        vec![
            PaymentEventName::Created,
            PaymentEventName::Authorized,
            PaymentEventName::Captured
        ]
    );
    let s = co.get_session(&r).await.unwrap();
    let agg = s.payment_details.clone().unwrap().aggregate.unwrap();
    assert_eq!(agg.captured_amount, Some(Amount::nok(64800)));
    assert_eq!(agg.refunded_amount, None);
    emu.shutdown().await;
}

#[tokio::test]
async fn abort_expire_and_ttl() {
    let emu = Emulator::start().await.unwrap();
    let c = client_for(&emu);
    let co = c.checkout();

    // abort: PaymentTerminated, the ePayment payment ABORTED
    let a = Reference::random();
    co.create_session(request(&a, 1000)).await.unwrap();
    control(&emu, &a, "abort").await;
    let s = co.get_session(&a).await.unwrap();
    assert_eq!(s.session_state, SessionState::PaymentTerminated);
    assert_eq!(s.payment_state(), Some(&PaymentState::Terminated));
    assert_eq!(c.epayment().get_payment(&a).await.unwrap().state, EpState::Aborted);

    // expire
    let b = Reference::random();
    co.create_session(request(&b, 1000)).await.unwrap();
    co.expire_session(b.as_str()).await.unwrap();
    assert_eq!(
        co.get_session(&b).await.unwrap().session_state,
        SessionState::SessionExpired
    );
    co.expire_session(b.as_str()).await.unwrap(); // no-op

    // TTL on the emulator clock
    let t = Reference::random();
    co.create_session(request(&t, 1000)).await.unwrap();
    emu.clock().advance(Duration::from_secs(3601));
    let s = co.get_session(&t).await.unwrap();
    assert_eq!(s.session_state, SessionState::SessionExpired);
    assert!(s.is_final());

    // duplicate and unknown
    let err = co.create_session(request(&a, 1000)).await.unwrap_err();
    assert_eq!(err.status(), Some(409));
    let err = co.get_session(Reference::random()).await.unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert_eq!(
        err.problem().and_then(|p| p.error_code.as_deref()),
        Some("Session-00100")
    );

    // a magic decline amount terminates the payment
    let d = Reference::random();
    let mut req = request(&d, 151);
    req.logistics = None;
    co.create_session(req).await.unwrap();
    control(&emu, &d, "complete").await;
    assert_eq!(
        co.get_session(&d).await.unwrap().session_state,
        SessionState::PaymentTerminated
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn force_approve_through_epayment_moves_the_session() {
    let emu = Emulator::start().await.unwrap();
    let c = client_for(&emu);
    let co = c.checkout();
    let r = Reference::random();
    co.create_session(request(&r, 2000)).await.unwrap();
    control(&emu, &r, "initiate").await;
    assert_eq!(
        co.get_session(&r).await.unwrap().session_state,
        SessionState::PaymentInitiated
    );
    let resp = reqwest::Client::new()
        .post(format!("{}/_emulator/payments/{r}/approve", emu.base_url()))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    assert_eq!(
        co.get_session(&r).await.unwrap().session_state,
        SessionState::PaymentSuccessful
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn a_subscription_session_through_the_sdk() {
    use vipps::types::checkout::{Interval, IntervalUnit, Subscription, SubscriptionState};
    let emu = Emulator::start().await.unwrap();
    let c = client_for(&emu);
    let reference = Reference::random();
    let sub = Subscription {
        product_description: Some("A pair every other week".into()),
        ..Subscription::new(
            "Bi-weekly socks",
            Amount::nok(9900),
            Interval::new(IntervalUnit::Week, 2),
            "https://example.com/subscriptions/socks",
        )
    };
    let req = InitiateSessionRequest::subscription(
        reference.clone(),
        MerchantInfo::new("https://example.com/cb", "https://example.com/r", "cb-token"),
        sub,
    );
    c.checkout().create_session(req).await.unwrap();
    let s = c.checkout().get_session(&reference).await.unwrap().into_inner();
    let pending = s.subscription_details.clone().expect("subscriptionDetails");
    assert_eq!(pending.state, Some(SubscriptionState::Pending));
    let r = reqwest::Client::new()
        .post(format!("{}/_emulator/checkout/{reference}/complete", emu.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let s = c.checkout().get_session(&reference).await.unwrap().into_inner();
    assert_eq!(s.session_state, SessionState::PaymentSuccessful);
    let active = s.subscription_details.expect("subscriptionDetails");
    assert_eq!(active.state, Some(SubscriptionState::Active));
    assert!(pending.agreement_id.is_some());
    assert_eq!(active.agreement_id, pending.agreement_id, "the same agreement");
    assert!(s.payment_details.is_none(), "no initial payment was asked for");

    // The SDK refuses what the API refuses, before sending.
    let bad = InitiateSessionRequest::subscription(
        Reference::random(),
        MerchantInfo::new("https://example.com/cb", "https://example.com/r", "cb-token"),
        Subscription::new(
            "Socks",
            Amount::nok(9900),
            Interval::new(IntervalUnit::Week, 0),
            "https://example.com/s",
        ),
    );
    let err = c.checkout().create_session(bad).await.unwrap_err();
    assert!(err.to_string().contains("subscription.interval.count"), "{err}");
}
