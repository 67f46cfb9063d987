//! `vipps demo`: a whole ePayment flow through the SDK against an embedded emulator.

use crate::payment::{describe_events, describe_modification, describe_payment};
use vipps::types::epayment::{CreatePaymentRequest, PaymentState, UserFlow};
use vipps::types::{Amount, Reference};
use vipps::Client;

fn step(n: u32, text: &str) {
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
    step(1, "Create a payment of 499.00 NOK (WEB_REDIRECT)");
    let created = ep
        .create_payment(CreatePaymentRequest {
            return_url: Some("https://example.com/thank-you".into()),
            payment_description: Some("Two pairs of woollen socks".into()),
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
    emulator.shutdown().await;
    if ok {
        Ok(())
    } else {
        Err("the final aggregate or event log is not what the flow intended".into())
    }
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
}
