//! `vipps demo`: a whole ePayment flow, then a Checkout flow (session, customer, polling,
//! capture, callback), then a subscription (`demo_subscription.rs`), through the SDK against an
//! embedded emulator.

use crate::order_management::describe_receipt;
use crate::payment::{describe_events, describe_modification, describe_payment};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use vipps::checkout::{parse_callback, verify_callback_authorization, PollCadence, SessionState};
use vipps::types::checkout::{
    CarrierLogisticsOption, InitiateSessionRequest, Logistics, LogisticsOption, MerchantInfo, PaymentTransaction,
    PostenLogisticsType,
};
use vipps::types::epayment::{CreatePaymentRequest, PaymentState, UserFlow};
use vipps::types::order_management::{OrderLine, PaymentType, Receipt, UnitInfo};
use vipps::types::{Amount, Currency, Reference};
use vipps::Client;

pub(crate) fn step(n: u32, text: &str) {
    println!("\n[{n}] {text}");
}

pub async fn run() -> Result<(), String> {
    let emulator = vipps_emulator::Emulator::start()
        .await
        .map_err(|e| format!("could not start the emulator: {e}"))?;
    let base = emulator.base_url();
    println!("Vipps MobilePay demo: an embedded emulator is listening on {base}");
    let m = emulator.merchant().clone();
    let client = Client::builder()
        .client_id(m.client_id.clone())
        .client_secret(m.client_secret.clone())
        .subscription_key(m.subscription_key.clone())
        .merchant_serial_number(m.msn.clone())
        .base_url(&base)
        .system("vipps-demo", env!("CARGO_PKG_VERSION"))
        .build()
        .map_err(|e| e.to_string())?;
    let ep = client.epayment();
    let e = |e: vipps::Error| e.to_string();

    let reference = Reference::new(format!("demo-{}", uuid::Uuid::new_v4().simple())).map_err(|e| e.to_string())?;
    step(
        1,
        "Create a payment of 499.00 NOK (WEB_REDIRECT) with a receipt for the app",
    );
    let socks = OrderLine {
        unit_info: Some(UnitInfo {
            unit_price: Some(22_500),
            quantity: "2".into(),
            quantity_unit: None,
        }),
        ..OrderLine::new("socks-1", "Woollen socks", 45_000, 2500)
    };
    let shipping = OrderLine {
        is_shipping: Some(true),
        ..OrderLine::new("shipping", "Home delivery", 4_900, 2500)
    };
    let created = ep
        .create_payment(CreatePaymentRequest {
            return_url: Some("https://example.com/thank-you".into()),
            payment_description: Some("Two pairs of woollen socks".into()),
            receipt: Some(Receipt::new(vec![socks, shipping], Currency::Nok)),
            ..CreatePaymentRequest::new(Amount::nok(49900), reference.clone(), UserFlow::WebRedirect)
        })
        .await
        .map_err(e)?;
    println!("    reference:       {}", created.reference);
    println!(
        "    landing page:    {}",
        created.redirect_url.as_deref().unwrap_or("-")
    );
    println!("    idempotency key: {}", created.idempotency_key().unwrap_or("-"));
    println!("    access tokens fetched so far: {}", client.access_token_fetches());

    step(
        2,
        "The customer approves the payment (emulator control plane, as the app would)",
    );
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{base}/_emulator/payments/{reference}/approve"))
        .send()
        .await
        .map_err(|e| format!("approve: {e}"))?;
    if !resp.status().is_success() {
        return Err(format!(
            "approve failed: HTTP {}: {}",
            resp.status(),
            resp.text().await.unwrap_or_default()
        ));
    }
    let p = ep.get_payment(&reference).await.map_err(e)?;
    println!("{}", indent(&describe_payment(&p)));
    if p.state != PaymentState::Authorized {
        return Err(format!("expected AUTHORIZED, got {}", p.state));
    }
    let order = client
        .order_management()
        .get_order(PaymentType::Ecom, reference.as_str())
        .await
        .map_err(e)?;
    let receipt = order.receipt.as_ref().ok_or("the payment's receipt is missing")?;
    println!("    what the app shows with it (Order Management):");
    println!("{}", indent(&describe_receipt(receipt)));

    step(3, "Capture 200.00 NOK (the first parcel ships)");
    let m1 = ep.capture(&reference, Amount::nok(20000)).await.map_err(e)?;
    println!("    {}", describe_modification(&m1));

    step(4, "Capture the remaining 299.00 NOK (the second parcel ships)");
    let m2 = ep.capture(&reference, Amount::nok(29900)).await.map_err(e)?;
    println!("    {}", describe_modification(&m2));

    step(5, "Refund 99.00 NOK (one pair came back)");
    let m3 = ep.refund(&reference, Amount::nok(9900)).await.map_err(e)?;
    println!("    {}", describe_modification(&m3));

    step(6, "Retry the refund with the same idempotency key: no second effect");
    let key = m3.idempotency_key().unwrap_or_default().to_owned();
    let again = ep
        .refund(&reference, Amount::nok(9900))
        .idempotency_key(&key)
        .await
        .map_err(e)?;
    println!("    {}", describe_modification(&again));
    if again.aggregate.refunded_amount.value != 9900 {
        return Err("the retried refund was applied twice".into());
    }

    step(7, "The event log");
    let events = ep.get_event_log(&reference).await.map_err(e)?;
    println!("{}", indent(&describe_events(&events)));

    let final_state = ep.get_payment(&reference).await.map_err(e)?;
    let a = &final_state.aggregate;
    let ok = a.captured_amount.value == 49900 && a.refunded_amount.value == 9900 && events.len() == 5;
    println!(
        "\nDone: captured {}, refunded {}; {} events; {} access token(s) fetched.",
        a.captured_amount,
        a.refunded_amount,
        events.len(),
        client.access_token_fetches()
    );
    if !ok {
        emulator.shutdown().await;
        return Err("the final aggregate or event log is not what the flow intended".into());
    }
    let rest = match checkout_part(&client, &base).await {
        Ok(()) => crate::demo_subscription::run(&client, &emulator, 13).await,
        Err(e) => Err(e),
    };
    emulator.shutdown().await;
    rest
}

/// (Authorization, body) of each callback received.
type Received = Arc<Mutex<Vec<(Option<String>, Vec<u8>)>>>;

/// The Checkout part: a session with fixed shipping options, paid by the customer through the
/// emulator's control plane, polled, captured through ePayment; the callback is received by a
/// small server on 127.0.0.1.
async fn checkout_part(client: &Client, base: &str) -> Result<(), String> {
    let e = |e: vipps::Error| e.to_string();
    let received: Received = Default::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("callback receiver: {e}"))?;
    let receiver = format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?);
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/vipps/checkout-callback",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let sink = sink.clone();
            async move {
                let auth = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                sink.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((auth, body.to_vec()));
                axum::http::StatusCode::OK
            }
        }),
    );
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let reference = Reference::new(format!("demo-co-{}", &uuid::Uuid::new_v4().simple().to_string()[..16]))
        .map_err(|e| e.to_string())?;
    let callback_token = format!("demo-callback-{}", uuid::Uuid::new_v4().simple());
    step(
        8,
        "Checkout: create a session of 299.00 NOK with two fixed shipping options",
    );
    let mut req = InitiateSessionRequest::payment(
        MerchantInfo::new(
            format!("{receiver}/vipps/checkout-callback"),
            "https://example.com/thank-you",
            callback_token.clone(),
        ),
        PaymentTransaction::new(Amount::nok(29900), reference.clone(), "A woollen hat"),
    );
    req.logistics = Some(Logistics {
        fixed_options: Some(vec![
            LogisticsOption::Posten(CarrierLogisticsOption {
                type_: Some(PostenLogisticsType::PickupPoint),
                is_default: true,
                ..CarrierLogisticsOption::new("posten-pickup", Amount::nok(4900))
            }),
            LogisticsOption::Posten(CarrierLogisticsOption {
                type_: Some(PostenLogisticsType::HomeDelivery),
                priority: 1,
                ..CarrierLogisticsOption::new("posten-home", Amount::nok(9900))
            }),
        ]),
        ..Default::default()
    });
    let session = client.checkout().create_session(req).await.map_err(e)?;
    println!("    reference:       {reference}");
    println!(
        "    checkout page:   {}?token={}",
        session.checkout_frontend_url, session.token
    );
    println!("    polling URL:     {}", session.polling_url);

    step(
        9,
        "The customer fills in the page and pays (emulator control plane: default address, default option)",
    );
    let resp = reqwest::Client::new()
        .post(format!("{base}/_emulator/checkout/{reference}/complete"))
        .send()
        .await
        .map_err(|e| format!("complete: {e}"))?;
    if !resp.status().is_success() {
        return Err(format!(
            "complete failed: HTTP {}: {}",
            resp.status(),
            resp.text().await.unwrap_or_default()
        ));
    }

    step(10, "Poll the session until it is final");
    let done = client
        .checkout()
        .with_poll_cadence(PollCadence::new(Duration::from_millis(100), Duration::from_millis(200)))
        .wait_for_final_state(&reference, Duration::from_secs(30))
        .await
        .map_err(e)?;
    let amount = done
        .payment_details
        .as_ref()
        .map(|p| p.amount.clone())
        .ok_or("the session has no payment details")?;
    println!("    session state:   {}", done.session_state);
    println!(
        "    payment:         {} {}",
        done.payment_details
            .as_ref()
            .and_then(|p| p.state.as_ref())
            .map(|s| s.to_string())
            .unwrap_or_default(),
        amount
    );
    if let Some(s) = &done.shipping_details {
        println!(
            "    shipping:        {} ({}) to {}, {} {}",
            s.shipping_method_id.as_deref().unwrap_or("-"),
            s.amount.as_ref().map(|a| a.to_string()).unwrap_or_default(),
            s.street_address.as_deref().unwrap_or("-"),
            s.postal_code.as_deref().unwrap_or(""),
            s.city.as_deref().unwrap_or("")
        );
    }
    if done.session_state != SessionState::PaymentSuccessful {
        return Err(format!("expected PaymentSuccessful, got {}", done.session_state));
    }

    step(11, "Capture the whole amount through ePayment (same reference)");
    let m = client.epayment().capture(&reference, amount.clone()).await.map_err(e)?;
    println!("    {}", describe_modification(&m));

    step(12, "The callback the emulator delivered to the receiver");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let (auth, body) = loop {
        if let Some(first) = received.lock().unwrap_or_else(|p| p.into_inner()).first().cloned() {
            break first;
        }
        if std::time::Instant::now() > deadline {
            server.abort();
            return Err("no Checkout callback arrived within 10 s".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    server.abort();
    let verified = verify_callback_authorization(auth.as_deref(), &callback_token);
    let cb = parse_callback(&body).map_err(|e| format!("callback body: {e}"))?;
    println!("    POST {receiver}/vipps/checkout-callback");
    println!(
        "    Authorization matches callbackAuthorizationToken: {}",
        if verified { "yes" } else { "NO" }
    );
    println!(
        "    body: sessionState {}, payment {}",
        cb.session_state,
        cb.payment_state().map(|s| s.to_string()).unwrap_or_default()
    );
    println!(
        "\nCheckout done: {} paid {} and captured {}.",
        reference, amount, m.aggregate.captured_amount
    );
    if !verified || cb.session_state != SessionState::PaymentSuccessful {
        return Err("the Checkout callback was not what the flow intended".into());
    }
    Ok(())
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
}
