//! `vipps-bench persist`: what a data dir costs (issue 18).
//!
//! The same emulator binary with and without `--data-dir`, in alternating rounds: POST create,
//! POST capture and GET payment at concurrency 32. Then a data dir holding `--payments N`
//! (1,000,000 by default) payments: its start-up time and its size per payment.

use crate::{create_body, load, median, raw_get, raw_post, sdk, seed, start_emulator_with, Stats};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Requests in flight.
const CONCURRENCY: usize = 32;
/// Requests per measurement.
const REQUESTS: usize = 20_000;
/// Alternating rounds of each mode (`--rounds`).
const ROUNDS: usize = 3;

/// A data dir under the system's temporary dir, removed when dropped.
struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn fresh_dir(name: &str) -> Dir {
    Dir(std::env::temp_dir().join(format!(
        "vipps-bench-{name}-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    )))
}

/// POST create, POST capture (of payments approved beforehand) and GET on a fresh emulator,
/// in memory or on a fresh data dir.
async fn round(bin: &str, persisted: bool, n: usize) -> (Stats, Stats, Stats) {
    let dir = fresh_dir("round");
    let dir_arg = dir.0.to_string_lossy().into_owned();
    let args: Vec<&str> = if persisted {
        vec!["--data-dir", &dir_arg]
    } else {
        vec![]
    };
    let emu = start_emulator_with(bin, &args);
    let http = reqwest::Client::new();
    let token = Arc::new(
        sdk(&emu.base)
            .access_token()
            .await
            .expect("a token")
            .expose()
            .to_owned(),
    );
    let url = format!("{}/epayment/v1/payments", emu.base);
    let create = load(CONCURRENCY, n, |i| {
        raw_post(
            http.clone(),
            token.clone(),
            url.clone(),
            create_body(format!("bench-create-{i:08}")),
        )
    })
    .await;
    seed(
        &http,
        &emu.base,
        serde_json::json!({"payments": n, "prefix": "capture", "authorized": true}),
    )
    .await;
    let capture_body = r#"{"modificationAmount":{"currency":"NOK","value":100}}"#.to_owned();
    let capture = load(CONCURRENCY, n, |i| {
        let url = format!("{}/epayment/v1/payments/capture-{i:08}/capture", emu.base);
        raw_post(http.clone(), token.clone(), url, capture_body.clone())
    })
    .await;
    let get = load(CONCURRENCY, n, |i| {
        raw_get(http.clone(), token.clone(), format!("{url}/capture-{:08}", i % n))
    })
    .await;
    (create, capture, get)
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// `payments` 0 skips the big data dir (the write path alone, for iterating on it); `rounds`
/// and `requests` 0 take the defaults.
pub(crate) async fn run(bin: &str, payments: usize, requests: usize, rounds: usize) {
    let requests = if requests == 0 { REQUESTS } else { requests };
    let rounds = if rounds == 0 { ROUNDS } else { rounds };
    let (mut memory, mut disk) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        memory.push(round(bin, false, requests).await);
        disk.push(round(bin, true, requests).await);
    }
    let pick = |v: &[(Stats, Stats, Stats)], f: fn(&(Stats, Stats, Stats)) -> Stats| median(v.iter().map(f).collect());
    println!("## Persistence: `--data-dir` against memory (same binary, {rounds} alternating rounds, medians)\n");
    println!("| measure, concurrency {CONCURRENCY}, {requests} requests | in memory req/s (p50, p99 µs) | `--data-dir` req/s (p50, p99 µs) | persisted ÷ memory |");
    println!("|---|---|---|---|");
    for (name, f) in [
        (
            "POST create",
            (|r: &(Stats, Stats, Stats)| r.0) as fn(&(Stats, Stats, Stats)) -> Stats,
        ),
        ("POST capture", |r| r.1),
        ("GET payment", |r| r.2),
    ] {
        let (m, d) = (pick(&memory, f), pick(&disk, f));
        println!(
            "| {name} | {:.0} ({:.0}, {:.0}) | {:.0} ({:.0}, {:.0}) | {:.2} |",
            m.rps,
            m.p50_us,
            m.p99_us,
            d.rps,
            d.p50_us,
            d.p99_us,
            d.rps / m.rps
        );
    }
    // Each round's ratio too: the machine's speed drifts between rounds, so the ratio of a
    // memory round and the persisted round right after it is steadier than the medians'.
    println!("\n| round | create ÷ | capture ÷ | GET ÷ |\n|---|---|---|---|");
    for (i, (m, d)) in memory.iter().zip(&disk).enumerate() {
        println!(
            "| {} | {:.2} | {:.2} | {:.2} |",
            i + 1,
            d.0.rps / m.0.rps,
            d.1.rps / m.1.rps,
            d.2.rps / m.2.rps
        );
    }
    if payments == 0 {
        return;
    }

    // A big data dir: filled through the seed route, then the emulator started on it again.
    let dir = fresh_dir("big");
    let dir_arg = dir.0.to_string_lossy().into_owned();
    let emu = start_emulator_with(bin, &["--data-dir", &dir_arg]);
    let http = reqwest::Client::new();
    let t0 = std::time::Instant::now();
    let mut left = payments;
    let mut chunk = 0;
    while left > 0 {
        let n = left.min(200_000);
        seed(
            &http,
            &emu.base,
            serde_json::json!({"payments": n, "prefix": format!("big{chunk:02}")}),
        )
        .await;
        left -= n;
        chunk += 1;
    }
    let filled = t0.elapsed();
    drop(emu);
    let bytes = dir_bytes(&dir.0);
    let mut startups = Vec::new();
    for _ in 0..3 {
        let emu = start_emulator_with(bin, &["--data-dir", &dir_arg]);
        startups.push(emu.startup);
    }
    startups.sort();
    println!();
    println!("| a data dir holding {payments} payments | value |\n|---|---|");
    println!(
        "| filled through `POST /_emulator/seed` (200,000 a call) | {:.1} s |",
        filled.as_secs_f64()
    );
    println!(
        "| files in the data dir per payment | {:.0} bytes |",
        bytes as f64 / payments as f64
    );
    println!(
        "| start-up on it (spawn → `listening on`), median of 3 | {:.2} s (runs {}) |",
        startups[1].as_secs_f64(),
        startups
            .iter()
            .map(|d| format!("{:.2}", d.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", ")
    );
}
