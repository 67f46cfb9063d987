//! The subscription part of `vipps demo`: a Recurring agreement with an initial charge, the
//! customer's acceptance, three monthly charges processed by moving the emulator's clock, a
//! charge whose card fails and is retried after the customer fixes it, and the stop.

use vipps::types::recurring::{
    AgreementStatus, ChargeStatus, CreateCharge, DraftAgreement, InitialCharge, Interval, IntervalUnit, PricingRequest,
    TransactionType,
};
use vipps::types::{Amount, Currency};
use vipps::Client;
use vipps_emulator::RunningEmulator;

const DAY: i64 = 86_400;
/// The monthly price, øre.
const PRICE: i64 = 29_900;
/// The test customer who accepts.
const PHONE: &str = "4791234567";

fn nok(v: i64) -> Amount {
    Amount::new(v, Currency::Nok)
}

/// `POST` to the emulator's control plane with a JSON body.
async fn control(base: &str, path: &str, body: serde_json::Value) -> Result<(), String> {
    let r = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("{path}: {e}"))?;
    if !r.status().is_success() {
        return Err(format!("{path}: HTTP {}", r.status()));
    }
    Ok(())
}

/// Moves the emulator's clock by `days`; the charges due meanwhile are processed at once.
async fn advance(base: &str, days: i64) -> Result<(), String> {
    control(
        base,
        "/_emulator/clock/advance",
        serde_json::json!({ "seconds": days * DAY }),
    )
    .await
}

pub async fn run(client: &Client, emulator: &RunningEmulator, first_step: u32) -> Result<(), String> {
    let e = |e: vipps::Error| e.to_string();
    let base = emulator.base_url();
    let rec = client.recurring();
    let mut n = first_step;
    let mut step = |text: &str| {
        super::demo::step(n, text);
        n += 1;
    };

    step("Draft a monthly subscription of 299.00 NOK with an initial charge of 99.00 NOK");
    let draft = DraftAgreement {
        initial_charge: Some(InitialCharge::new(9_900, "Welcome box", TransactionType::DirectCapture)),
        phone_number: Some(PHONE.into()),
        product_description: Some("A new pair of socks every month".into()),
        ..DraftAgreement::new(
            PricingRequest::legacy(PRICE, Currency::Nok),
            Some(Interval::every(1, IntervalUnit::Month)),
            "Monthly Socks",
            "https://example.com/vipps/return",
            "https://example.com/account/subscriptions",
        )
    };
    let created = rec.create_agreement(draft).await.map_err(e)?.into_inner();
    let id = created.agreement_id.clone();
    let initial = created.charge_id.clone().unwrap_or_default();
    let a = rec.get_agreement(&id).await.map_err(e)?;
    println!("    agreement:       {id} ({})", a.status);
    println!(
        "    confirmation:    {}",
        created.vipps_confirmation_url.as_deref().unwrap_or("-")
    );
    println!("    initial charge:  {initial}");

    step("The customer accepts in the app (force accept, test only)");
    rec.force_accept_agreement(&id, PHONE).await.map_err(e)?;
    let a = rec.get_agreement(&id).await.map_err(e)?;
    let c = rec.get_charge(&id, &initial).await.map_err(e)?;
    println!("    agreement:       {}", a.status);
    println!("    initial charge:  {} {}", nok(c.amount), c.status);
    if a.status != AgreementStatus::Active || c.status != ChargeStatus::Charged {
        return Err("the accepted agreement is not ACTIVE with its initial charge CHARGED".into());
    }

    step("Three monthly charges, processed by moving the emulator's clock a month each");
    for month in 1..=3 {
        let due = emulator.clock().now().date() + time::Duration::days(1);
        let charge = CreateCharge::recurring(PRICE, format!("Month {month}"), due, 2, TransactionType::DirectCapture);
        let cid = rec.create_charge(&id, charge).await.map_err(e)?.into_inner().charge_id;
        let before = rec.get_charge(&id, &cid).await.map_err(e)?.into_inner().status;
        advance(&base, 30).await?;
        let after = rec.get_charge(&id, &cid).await.map_err(e)?.into_inner().status;
        println!(
            "    month {month}: {cid} {} due {due}: {before} -> 30 days later {after}",
            nok(PRICE)
        );
        if after != ChargeStatus::Charged {
            return Err(format!("month {month}'s charge is {after}, not CHARGED"));
        }
    }

    step("The customer's card fails: the charge is retried until they fix it");
    control(
        &base,
        &format!("/_emulator/agreements/{id}/card"),
        serde_json::json!({"fails": true}),
    )
    .await?;
    let due = emulator.clock().now().date() + time::Duration::days(1);
    let charge = CreateCharge::recurring(PRICE, "Month 4", due, 3, TransactionType::DirectCapture);
    let cid = rec.create_charge(&id, charge).await.map_err(e)?.into_inner().charge_id;
    advance(&base, 1).await?;
    let c = rec.get_charge(&id, &cid).await.map_err(e)?;
    let why = c.failure_reason.as_ref().map_or("-".to_owned(), ToString::to_string);
    println!(
        "    month 4: {cid} {} due {due} (3 retry days): attempt failed ({why}), still {}",
        nok(PRICE),
        c.status
    );
    if c.status != ChargeStatus::Due {
        return Err(format!("the failed charge is {}, not DUE while retried", c.status));
    }
    control(
        &base,
        &format!("/_emulator/agreements/{id}/card"),
        serde_json::json!({"fails": false}),
    )
    .await?;
    advance(&base, 1).await?;
    let c = rec.get_charge(&id, &cid).await.map_err(e)?;
    println!("    the customer fixes the card; the next day's retry: {}", c.status);
    if c.status != ChargeStatus::Charged {
        return Err(format!("the retried charge is {}, not CHARGED", c.status));
    }

    step("The merchant stops the agreement");
    rec.stop_agreement(&id).await.map_err(e)?;
    let a = rec.get_agreement(&id).await.map_err(e)?;
    println!("    agreement:       {}", a.status);
    if a.status != AgreementStatus::Stopped {
        return Err("the stopped agreement is not STOPPED".into());
    }
    println!(
        "\nSubscription done: {id} charged {} in all (initial, 4 months), then stopped.",
        nok(9_900 + 4 * PRICE)
    );
    Ok(())
}
