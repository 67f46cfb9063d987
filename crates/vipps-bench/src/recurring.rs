//! `vipps-bench recurring`: a month of billing for many subscriptions.
//!
//! Starts the emulator (a child process, so its memory is its own), creates `--agreements N`
//! (100,000 by default) active monthly agreements through the SDK, each with one charge due
//! within the next 30 days, then moves the clock one month. It reports the time until every
//! due charge is processed (the clock-advance call returns when they are), the emulator's
//! memory per agreement with its charge, and GET throughput before and while the charges are
//! processed.

use crate::{load, rss_kib, sdk, start_emulator_with, Stats};
use futures::stream::{self, StreamExt};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use vipps::types::recurring::{
    ChargeStatus, CreateCharge, DraftAgreement, Interval, IntervalUnit, PricingRequest, TransactionType,
};
use vipps::types::Currency;
use vipps::Client;

const MONTH_SECS: i64 = 31 * 24 * 3600;
const CONCURRENCY: usize = 32;

/// One active agreement with one charge due `due_in_days` from `today`; its id.
async fn subscribe(client: &Client, today: time::Date, due_in_days: i64) -> String {
    let rec = client.recurring();
    let mut draft = DraftAgreement::new(
        PricingRequest::legacy(49900, Currency::Nok),
        Some(Interval::every(1, IntervalUnit::Month)),
        "Benchmark subscription",
        "https://example.com/return",
        "https://example.com/subscription",
    );
    draft.phone_number = Some("4791234567".into());
    let created = rec.create_agreement(draft).await.expect("draft an agreement");
    let id = created.agreement_id.clone();
    rec.force_accept_agreement(&id, "4791234567")
        .await
        .expect("force accept");
    let due = today + time::Duration::days(due_in_days);
    rec.create_charge(
        &id,
        CreateCharge::recurring(49900, "This month", due, 2, TransactionType::DirectCapture),
    )
    .await
    .expect("create a charge");
    id
}

/// GETs of one agreement, `CONCURRENCY` in flight, counted in `done`, until `stop` is set.
async fn get_until(client: Client, id: String, done: Arc<AtomicUsize>, stop: Arc<AtomicBool>) {
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (client, id, stop, done) = (client.clone(), id.clone(), stop.clone(), done.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    client.recurring().get_agreement(&id).await.expect("get agreement");
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
}

/// The rate of `done` in each `every` until `stop` is set.
async fn sample_every(every: Duration, done: Arc<AtomicUsize>, stop: Arc<AtomicBool>) -> Vec<f64> {
    let mut rates = Vec::new();
    let mut last = (done.load(Ordering::Relaxed), Instant::now());
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(every).await;
        let now = (done.load(Ordering::Relaxed), Instant::now());
        rates.push((now.0 - last.0) as f64 / (now.1 - last.1).as_secs_f64());
        last = now;
    }
    rates
}

pub(crate) async fn run(bin: &str, agreements: usize, first_due_in_days: i64) {
    // Tokens that outlive the month the clock moves, so the GETs measured across the advance
    // do not fetch new ones.
    let config = std::env::temp_dir().join(format!("vipps-bench-recurring-{}.json", std::process::id()));
    std::fs::write(&config, r#"{"token_ttl_secs": 8000000}"#).unwrap();
    let emu = start_emulator_with(bin, &["--config", config.to_str().unwrap()]);
    let pid = emu.child.id();
    let client = sdk(&emu.base);
    let http = reqwest::Client::new();
    let today = {
        let v: serde_json::Value = http
            .get(format!("{}/_emulator/clock", emu.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let now = time::OffsetDateTime::parse(
            v["now"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        now.date()
    };
    // Warm the allocator and the token before the baseline.
    let first = subscribe(&client, today, 1).await;
    let rss0 = rss_kib(pid);

    let t0 = Instant::now();
    let ids: Vec<String> = stream::iter(0..agreements)
        .map(|i| {
            let client = client.clone();
            async move { subscribe(&client, today, first_due_in_days + (i % 30) as i64).await }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let created_in = t0.elapsed();
    let rss1 = rss_kib(pid);
    let per_agreement = (rss1.saturating_sub(rss0)) as f64 * 1024.0 / agreements as f64;

    let get = |i: usize| {
        let client = client.clone();
        let id = ids[i % ids.len()].clone();
        async move { client.recurring().get_agreement(&id).await.is_ok() }
    };
    let spread: Stats = load(CONCURRENCY, 50_000.min(agreements * 2).max(2_000), get).await;

    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    let readers = tokio::spawn(get_until(client.clone(), first.clone(), done.clone(), stop.clone()));
    // The same readers with nothing else going on, then while the clock's month is processed.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let timeline_t0 = Instant::now();
    let timeline = tokio::spawn(sample_every(Duration::from_millis(250), done.clone(), stop.clone()));
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let (quiet_start, quiet_t0) = (done.load(Ordering::Relaxed), Instant::now());
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let quiet_rps = (done.load(Ordering::Relaxed) - quiet_start) as f64 / quiet_t0.elapsed().as_secs_f64();
    let done_before = done.load(Ordering::Relaxed);
    let t1 = Instant::now();
    let r = http
        .post(format!("{}/_emulator/clock/advance", emu.base))
        .json(&serde_json::json!({ "seconds": MONTH_SECS }))
        .send()
        .await
        .unwrap();
    let processed_in = t1.elapsed();
    let during_rps = (done.load(Ordering::Relaxed) - done_before) as f64 / processed_in.as_secs_f64();
    assert!(r.status().is_success(), "advance: {}", r.status());
    let (after_start, after_t0) = (done.load(Ordering::Relaxed), Instant::now());
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let after_rps = (done.load(Ordering::Relaxed) - after_start) as f64 / after_t0.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(2000)).await;
    stop.store(true, Ordering::Relaxed);
    readers.await.unwrap();
    let timeline = timeline.await.unwrap();
    let advance_at = (t1 - timeline_t0).as_secs_f64();

    // Every charge went through: check a spread of them (all of them would take as long as
    // creating them).
    let sample: Vec<&String> = ids.iter().step_by((agreements / 1000).max(1)).collect();
    for id in &sample {
        let charges = client
            .recurring()
            .list_charges(id.as_str(), Default::default())
            .await
            .expect("list charges");
        // All due within the month moved, or (for comparison) none.
        let due_this_month = first_due_in_days + 29 <= 31;
        assert!(
            charges
                .iter()
                .all(|c| (c.status == ChargeStatus::Charged) == due_this_month),
            "{id}: {:?}",
            charges.iter().map(|c| &c.status).collect::<Vec<_>>()
        );
    }
    let _ = std::fs::remove_file(&config);

    println!("## Recurring: {agreements} active monthly agreements, the clock moved one month\n");
    println!("| measure | value |\n|---|---|");
    println!(
        "| create (draft + force accept + one charge each, SDK, concurrency {CONCURRENCY}) | {:.1} s ({:.0} agreements/s) |",
        created_in.as_secs_f64(),
        agreements as f64 / created_in.as_secs_f64()
    );
    println!(
        "| `POST /_emulator/clock/advance` 31 days: every due charge processed | {:.2} s |",
        processed_in.as_secs_f64()
    );
    println!(
        "| emulator memory per agreement with its charge (RSS growth ÷ agreements; includes 3 idempotency records) | {:.0} bytes |",
        per_agreement
    );
    println!(
        "| GET agreement (any of them), concurrency {CONCURRENCY} | {:.0} req/s (p50 {:.0} µs, p99 {:.0} µs) |",
        spread.rps, spread.p50_us, spread.p99_us
    );
    println!(
        "| GET one agreement, concurrency {CONCURRENCY}: 1 s before the advance / while the month is processed / 1 s after | {:.0} / {:.0} / {:.0} req/s (during ÷ before {:.2}) |",
        quiet_rps,
        during_rps,
        after_rps,
        during_rps / quiet_rps
    );
    println!(
        "| GET one agreement, the same readers every 250 ms from 3 s before the advance (at {:.2} s) to 3 s after it returned | {} req/s |",
        advance_at,
        timeline.iter().map(|r| format!("{r:.0}")).collect::<Vec<_>>().join(" ")
    );
    println!(
        "| charges checked CHARGED afterwards | {} of {} agreements (every {}th) |\n",
        sample.len(),
        agreements,
        (agreements / 1000).max(1)
    );
}
