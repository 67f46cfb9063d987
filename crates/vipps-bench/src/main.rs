//! `vipps-bench`: measures what BENCHMARKS.md reports. Run it through `bench/run.sh`.
//!
//! It starts the emulator as a separate process (`--emulator-bin`, the release `vipps`
//! binary), so the load generator and the server do not share a runtime, and measures:
//! SDK vs raw hyper-util and raw reqwest (get payment, capture; concurrency 1 and 32), token requests for
//! 1,000 concurrent cold calls, emulator GET/POST throughput, memory per stored payment,
//! start-up time, and latency as the store and an event log grow.
//!
//! `vipps-bench target --base-url URL …` measures GET payment and POST create against any
//! server that speaks the ePayment API (the emulator, or Prism serving the official spec),
//! with the same load generator; `bench/run.sh` uses it for the Prism comparison.

mod persist;
mod recurring;

use futures::stream::{self, StreamExt};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use vipps::types::epayment::{CreatePaymentRequest, UserFlow};
use vipps::types::{Amount, Reference};
use vipps::Client;

const CLIENT_ID: &str = "fb492b5e-7907-4d83-bc20-c7fb60ca35de";
const CLIENT_SECRET: &str = "Y8Kteew6GE3ZmeycEt6egg==";
const SUB_KEY: &str = "0f14ebcab0eb4b29ae0cb90d91b4a84a";
const MSN: &str = "123456";
/// Rounds of the SDK-vs-raw comparison (see [`interleaved`]).
const ROUNDS: usize = 11;

struct Emu {
    child: Child,
    base: String,
    startup: Duration,
}

impl Drop for Emu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_emulator(bin: &str) -> Emu {
    start_emulator_with(bin, &[])
}

/// The emulator with more arguments to `vipps emulator` (a `--config` file, say).
fn start_emulator_with(bin: &str, extra: &[&str]) -> Emu {
    let t0 = Instant::now();
    let mut child = Command::new(bin)
        .args(["emulator", "--port", "0"])
        .args(extra)
        .env("VIPPS_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the emulator binary");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let startup = t0.elapsed();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .expect("listening line")
        .to_owned();
    Emu { child, base, startup }
}

/// The CPU list process `pid` may run on now (`taskset -p -c`), to restore after pinning.
fn affinity(pid: u32) -> Option<String> {
    let out = Command::new("taskset")
        .args(["-p", "-c", &pid.to_string()])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    // "pid 123's current affinity list: 0,1"
    let list = text.rsplit_once(':')?.1.trim().to_owned();
    (out.status.success() && !list.is_empty()).then_some(list)
}

/// Pins process `pid` (all its threads) to `cpus` with `taskset` (util-linux); false when
/// taskset is missing or refuses.
fn pin(pid: u32, cpus: &str) -> bool {
    Command::new("taskset")
        .args(["-a", "-p", "-c", cpus, &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn rss_kib(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// RSS of `pid` and all its descendants (e.g. `npx` → `sh` → `node prism`), in KiB:
/// (sum over the tree, largest single process).
fn tree_rss_kib(pid: u32) -> (u64, u64) {
    let mut parent_of: Vec<(u32, u32)> = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
            // The field after the `(comm)` is the state, then the parent pid.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok());
            if let Some(ppid) = ppid {
                parent_of.push((p, ppid));
            }
        }
    }
    let mut tree = vec![pid];
    let mut i = 0;
    while i < tree.len() {
        let p = tree[i];
        tree.extend(parent_of.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    let rss: Vec<u64> = tree.iter().map(|&p| rss_kib(p)).collect();
    (rss.iter().sum(), rss.iter().copied().max().unwrap_or(0))
}

#[derive(Debug, Clone, Copy)]
struct Stats {
    rps: f64,
    p50_us: f64,
    p99_us: f64,
    /// CPU time this process (the load generator and the client under test) spent per request.
    cpu_us: f64,
    /// Requests whose future returned `false` (non-2xx or transport error).
    failed: usize,
}

/// CPU time of this process so far, summed over its live threads
/// (`/proc/self/task/*/schedstat`, nanosecond resolution), in µs; 0 where procfs is missing.
/// A thread that exits between two readings takes its time with it; the threads here (tokio's
/// workers and the main thread) live for the whole run, and loopback connections need no
/// resolver threads.
fn process_cpu_us() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    dir.flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()))
        .sum::<u64>() as f64
        / 1e3
}

/// The load generator: `n` requests, `concurrency` in flight. Asserts that none failed.
async fn load<F, Fut>(concurrency: usize, n: usize, f: F) -> Stats
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let s = load_counting(concurrency, n, f).await;
    assert_eq!(s.failed, 0, "a benchmark request failed");
    s
}

/// Same load generator, counting failed requests instead of asserting (for servers we do
/// not control, such as Prism). Failed requests are included in the latencies.
async fn load_counting<F, Fut>(concurrency: usize, n: usize, f: F) -> Stats
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let cpu0 = process_cpu_us();
    let t0 = Instant::now();
    let results: Vec<(Duration, bool)> = stream::iter(0..n)
        .map(|i| {
            let fut = f(i);
            async move {
                let s = Instant::now();
                let ok = fut.await;
                (s.elapsed(), ok)
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let wall = t0.elapsed();
    let cpu_us = (process_cpu_us() - cpu0) / n.max(1) as f64;
    let failed = results.iter().filter(|(_, ok)| !ok).count();
    let mut lat: Vec<Duration> = results.into_iter().map(|(d, _)| d).collect();
    lat.sort();
    let pct = |p: f64| {
        if lat.is_empty() {
            return 0.0; // n = 0 (say --warmup 0): nothing was measured
        }
        lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)].as_secs_f64() * 1e6
    };
    Stats {
        rps: if n == 0 { 0.0 } else { n as f64 / wall.as_secs_f64() },
        p50_us: pct(0.50),
        p99_us: pct(0.99),
        cpu_us,
        failed,
    }
}

/// What [`interleaved`] measured: the median round of each side, and the ratios of each
/// round of `b` to the round of `a` next to it.
struct Compared {
    a: Stats,
    b: Stats,
    /// `b` ÷ `a` requests/s, one per pair of rounds, sorted.
    throughput_ratios: Vec<f64>,
    /// `a` ÷ `b` p50, one per pair of rounds, sorted.
    p50_ratios: Vec<f64>,
}

/// Runs `a` and `b` alternately for `rounds` rounds of `n / rounds` requests each (ABBA order,
/// so drift in the machine's speed hits both alike). A single back-to-back pair of runs on a
/// shared 2-core machine differs by up to 20 % from run to run, which is more than the
/// difference being measured; the ratio of two rounds run next to each other, a fraction of
/// a second apart, moves much less, and the median over many such pairs still less.
async fn interleaved<FA, FutA, FB, FutB>(concurrency: usize, n: usize, rounds: usize, a: FA, b: FB) -> Compared
where
    FA: Fn(usize) -> FutA,
    FutA: std::future::Future<Output = bool>,
    FB: Fn(usize) -> FutB,
    FutB: std::future::Future<Output = bool>,
{
    let per = (n / rounds).max(1);
    let (mut sa, mut sb) = (Vec::new(), Vec::new());
    for r in 0..rounds {
        if r % 2 == 0 {
            sa.push(load(concurrency, per, &a).await);
            sb.push(load(concurrency, per, &b).await);
        } else {
            sb.push(load(concurrency, per, &b).await);
            sa.push(load(concurrency, per, &a).await);
        }
    }
    let sorted = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v
    };
    let throughput_ratios = sorted(sa.iter().zip(&sb).map(|(a, b)| b.rps / a.rps).collect());
    let p50_ratios = sorted(sa.iter().zip(&sb).map(|(a, b)| a.p50_us / b.p50_us).collect());
    Compared {
        a: median(sa),
        b: median(sb),
        throughput_ratios,
        p50_ratios,
    }
}

/// The median of each figure over the rounds (each figure on its own).
fn median(mut v: Vec<Stats>) -> Stats {
    let mid = v.len() / 2;
    let pick = |v: &mut Vec<Stats>, key: fn(&Stats) -> f64| {
        v.sort_by(|x, y| key(x).total_cmp(&key(y)));
        key(&v[mid])
    };
    Stats {
        rps: pick(&mut v, |s| s.rps),
        p50_us: pick(&mut v, |s| s.p50_us),
        p99_us: pick(&mut v, |s| s.p99_us),
        cpu_us: pick(&mut v, |s| s.cpu_us),
        failed: v.iter().map(|s| s.failed).sum(),
    }
}

/// A valid `CreatePaymentRequest` body (1,000 øre, wallet, web redirect) for `reference`.
fn create_body(reference: String) -> String {
    serde_json::json!({"amount": {"currency": "NOK", "value": 1000}, "paymentMethod": {"type": "WALLET"},
        "reference": reference, "userFlow": "WEB_REDIRECT", "returnUrl": "https://example.com/r"})
    .to_string()
}

/// A raw `GET` with the ePayment headers: true on a 2xx whose body was read.
async fn raw_get(http: reqwest::Client, token: Arc<String>, url: String) -> bool {
    let r = http
        .get(url)
        .bearer_auth(token.as_str())
        .header("Ocp-Apim-Subscription-Key", SUB_KEY)
        .header("Merchant-Serial-Number", MSN)
        .send()
        .await;
    match r {
        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
        Err(_) => false,
    }
}

/// A raw JSON `POST` with the ePayment headers and a fresh `Idempotency-Key`: true on a 2xx
/// whose body was read.
async fn raw_post(http: reqwest::Client, token: Arc<String>, url: String, body: String) -> bool {
    let r = http
        .post(url)
        .bearer_auth(token.as_str())
        .header("Ocp-Apim-Subscription-Key", SUB_KEY)
        .header("Merchant-Serial-Number", MSN)
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await;
    match r {
        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
        Err(_) => false,
    }
}

/// The raw hyper-util client: hyper's own pooled client, without reqwest's layers.
type HyperClient = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    http_body_util::Full<bytes::Bytes>,
>;

/// A raw request through hyper-util with the ePayment headers (and a fresh `Idempotency-Key`
/// and a JSON body for a POST): true on a 2xx whose body was read.
async fn hyper_call(http: HyperClient, token: Arc<String>, url: String, body: Option<String>) -> bool {
    use http_body_util::BodyExt;
    let mut b = http::Request::builder()
        .uri(url)
        .header("authorization", format!("Bearer {token}"))
        .header("ocp-apim-subscription-key", SUB_KEY)
        .header("merchant-serial-number", MSN);
    let body = match body {
        Some(body) => {
            b = b
                .method(http::Method::POST)
                .header("idempotency-key", uuid::Uuid::new_v4().to_string())
                .header("content-type", "application/json");
            bytes::Bytes::from(body)
        }
        None => bytes::Bytes::new(),
    };
    let Ok(req) = b.body(http_body_util::Full::new(body)) else {
        return false;
    };
    match http.request(req).await {
        Ok(r) => r.status().is_success() && r.into_body().collect().await.is_ok(),
        Err(_) => false,
    }
}

/// Which client of the SDK-vs-raw comparison makes a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Sdk,
    Raw,
    Hyper,
}

impl Side {
    /// The client's name in the tables.
    fn label(self) -> &'static str {
        match self {
            Side::Sdk => "SDK",
            Side::Raw => "raw reqwest",
            Side::Hyper => "raw hyper-util",
        }
    }
}

/// The operations of the SDK-vs-raw comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BenchOp {
    Get,
    Capture,
}

/// The body of every capture in the comparison: 1 øre.
const CAPTURE_BODY: &str = r#"{"modificationAmount":{"currency":"NOK","value":1}}"#;

/// Both clients of the SDK-vs-raw comparison, against one emulator.
#[derive(Clone)]
struct Clients {
    sdk: Client,
    raw: reqwest::Client,
    hyper: HyperClient,
    /// The SDK's token, which the raw client sends as it is.
    token: Arc<String>,
    base: Arc<str>,
}

impl Clients {
    /// A fresh SDK client and raw client for `base`, the raw one with the SDK's token.
    async fn new(base: &str) -> Clients {
        let sdk = sdk(base);
        let token = Arc::new(sdk.access_token().await.unwrap().expose().to_owned());
        Clients {
            sdk,
            raw: reqwest::Client::new(),
            hyper: hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http(),
            token,
            base: base.into(),
        }
    }

    /// One call of `op` on payment `reference` by `side`: the same request either way. True
    /// when it succeeded.
    fn call(&self, side: Side, op: BenchOp, reference: String) -> impl std::future::Future<Output = bool> + 'static {
        let c = self.clone();
        async move {
            // Only the raw clients need the URL: the SDK builds its own.
            let url = || format!("{}/epayment/v1/payments/{reference}", c.base);
            match (side, op) {
                (Side::Sdk, BenchOp::Get) => c.sdk.epayment().get_payment(&reference).await.is_ok(),
                (Side::Sdk, BenchOp::Capture) => c.sdk.epayment().capture(&reference, Amount::nok(1)).await.is_ok(),
                (Side::Raw, BenchOp::Get) => raw_get(c.raw, c.token, url()).await,
                (Side::Raw, BenchOp::Capture) => {
                    raw_post(c.raw, c.token, format!("{}/capture", url()), CAPTURE_BODY.to_owned()).await
                }
                (Side::Hyper, BenchOp::Get) => hyper_call(c.hyper, c.token, url(), None).await,
                (Side::Hyper, BenchOp::Capture) => {
                    let url = format!("{}/capture", url());
                    hyper_call(c.hyper, c.token, url, Some(CAPTURE_BODY.to_owned())).await
                }
            }
        }
    }
}

fn sdk(base: &str) -> Client {
    Client::builder()
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .subscription_key(SUB_KEY)
        .merchant_serial_number(MSN)
        .base_url(base)
        .build()
        .unwrap()
}

async fn seed(http: &reqwest::Client, base: &str, body: serde_json::Value) {
    let r = http
        .post(format!("{base}/_emulator/seed"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "seed failed: {}", r.status());
}

fn row(name: &str, s: Stats) {
    println!("| {name} | {:.0} | {:.0} | {:.0} |", s.rps, s.p50_us, s.p99_us);
}

/// A row of the SDK-vs-raw table, with the client's CPU time per call.
fn row_cpu(name: &str, s: Stats) {
    println!(
        "| {name} | {:.0} | {:.0} | {:.0} | {:.1} |",
        s.rps, s.p50_us, s.p99_us, s.cpu_us
    );
}

/// The ratio line under each SDK/raw pair: the median over the pairs of rounds, with the
/// lowest and highest pair.
fn ratio_row(c: &Compared) {
    let (sdk, raw) = (c.a, c.b);
    let cpu = if sdk.cpu_us > 0.0 && raw.cpu_us > 0.0 {
        format!("{:.2}×", sdk.cpu_us / raw.cpu_us)
    } else {
        "n/a".to_owned()
    };
    let spread = |v: &[f64]| format!("{:.2}× ({:.2}–{:.2})", v[v.len() / 2], v[0], v[v.len() - 1]);
    println!(
        "| → raw/SDK throughput {}, SDK/raw p50 {}, SDK/raw client CPU {cpu} | | | | |",
        spread(&c.throughput_ratios),
        spread(&c.p50_ratios),
    );
}

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn flag_num(args: &[String], name: &str, default: usize) -> usize {
    flag(args, name).map_or(default, |v| {
        v.parse()
            .unwrap_or_else(|_| usage_error(&format!("{name}: not a number: {v}")))
    })
}

const USAGE: &str = "usage:
  vipps-bench [--emulator-bin PATH] [--quick] [--sdk-only]
      every Rust-side benchmark of BENCHMARKS.md (bench/run.sh runs this and the rest);
      --sdk-only stops after the SDK-vs-raw comparison
  vipps-bench target --base-url URL [--label NAME] [--get-ref REF] [--concurrency 32]
      [--requests N] [--post-requests N] [--warmup N] [--token T | --fetch-token]
      [--seed JSON] [--pid PID] [--result-file PATH]
      GET payment and POST create against any server speaking the ePayment API
  vipps-bench client --base-url URL --side sdk|raw|hyper [--op get|capture] [--concurrency 32]
      [--requests N] [--runtime default|current-thread]
      one side of the SDK-vs-raw comparison alone against a running emulator, so a profiler
      (perf, strace -c, valgrind) sees one client and nothing else; bench/node/interleave.sh
      runs it against the Node SDKs. The default runtime has a worker per core the process may
      use (start it under `taskset -c 1` for one); current-thread runs everything on one thread
  vipps-bench recurring --emulator-bin PATH [--agreements 100000] [--first-due-in-days 1]
      active monthly agreements with a charge each, then the clock moved a month: time until
      every due charge is processed, memory per agreement, GET throughput meanwhile
      (--first-due-in-days 40: no charge is due within the month, for comparison)
  vipps-bench persist --emulator-bin PATH [--payments 1000000] [--requests 20000] [--rounds 3]
      the emulator with and without --data-dir (alternating rounds): POST create, POST capture
      and GET at concurrency 32; then start-up time and size of a data dir holding N payments
      (--payments 0 skips it)
  vipps-bench trivial-server
      a do-nothing axum server answering every request with a fixed payment JSON (the
      machine's ceiling for the comparison tables); prints `listening on URL`";

fn usage_error(msg: &str) -> ! {
    eprintln!("vipps-bench: {msg}\n{USAGE}");
    std::process::exit(2)
}

/// `vipps-bench target --base-url URL [--label NAME] [--get-ref REF] [--concurrency 32]
/// [--requests N] [--post-requests N] [--warmup N] [--token T | --fetch-token]
/// [--seed JSON] [--pid PID] [--result-file PATH]`
///
/// GET `/epayment/v1/payments/{REF}` and POST `/epayment/v1/payments` against any base URL,
/// with the headers the official spec requires (Prism validates them) and a valid
/// `CreatePaymentRequest`. Non-2xx answers are counted as failures. `--fetch-token` gets a
/// real token from the server (the emulator); otherwise any bearer token is sent. `--seed`
/// posts the JSON to `{base}/_emulator/seed` first. `--pid` reports the RSS of that process
/// and its descendants after the load. `--result-file` writes `KEY=VALUE` lines for scripts
/// (the figures, and `TOKEN`, the bearer token used, for a second load generator).
async fn target(args: &[String]) {
    let base = flag(args, "--base-url").unwrap_or_else(|| usage_error("target: --base-url URL is required"));
    let base = base.trim_end_matches('/').to_owned();
    let label = flag(args, "--label").unwrap_or_else(|| base.clone());
    let get_ref = flag(args, "--get-ref").unwrap_or_else(|| "prismcmp-00000000".into());
    let c = flag_num(args, "--concurrency", 32);
    let n_get = flag_num(args, "--requests", 20_000);
    let n_post = flag_num(args, "--post-requests", n_get / 2);
    let warmup = flag_num(args, "--warmup", 500);
    let http = reqwest::Client::new();
    if let Some(body) = flag(args, "--seed") {
        let body: serde_json::Value =
            serde_json::from_str(&body).unwrap_or_else(|e| usage_error(&format!("--seed: not JSON: {e}")));
        seed(&http, &base, body).await;
    }
    let token = if let Some(t) = flag(args, "--token") {
        t
    } else if args.iter().any(|a| a == "--fetch-token") {
        sdk(&base)
            .access_token()
            .await
            .expect("fetch a token")
            .expose()
            .to_owned()
    } else {
        "vipps-bench-any-token".to_owned()
    };
    let token = Arc::new(token);
    let get_url = Arc::new(format!("{base}/epayment/v1/payments/{get_ref}"));
    let post_url = Arc::new(format!("{base}/epayment/v1/payments"));
    let get = |_: usize| {
        let http = http.clone();
        let token = token.clone();
        let url = get_url.clone();
        raw_get(http, token, url.as_str().to_owned())
    };
    let post = |_: usize| {
        let http = http.clone();
        let token = token.clone();
        let url = post_url.clone();
        // The spec's Reference pattern: ^[a-zA-Z0-9-]{8,50}$.
        let body = create_body(format!("benchpost-{}", uuid::Uuid::new_v4().simple()));
        raw_post(http, token, url.as_str().to_owned(), body)
    };
    let _ = load_counting(c, warmup, get).await;
    let g = load_counting(c, n_get, get).await;
    let _ = load_counting(c, warmup.min(n_post), post).await;
    let p = load_counting(c, n_post, post).await;
    println!("## {label}: throughput at {c} concurrent connections\n");
    println!("| request | requests | requests/s | p50 µs | p99 µs | non-2xx or failed |\n|---|---|---|---|---|---|");
    for (name, n, s) in [
        (format!("GET /epayment/v1/payments/{get_ref}"), n_get, g),
        ("POST /epayment/v1/payments".to_owned(), n_post, p),
    ] {
        println!(
            "| {name} | {n} | {:.0} | {:.0} | {:.0} | {} |",
            s.rps, s.p50_us, s.p99_us, s.failed
        );
    }
    let rss = flag(args, "--pid")
        .and_then(|p| p.parse::<u32>().ok())
        .map(tree_rss_kib);
    if let Some((sum, max)) = rss {
        println!("\nRSS after the load: {sum} KiB for the process tree, {max} KiB for its largest process");
    }
    println!();
    if let Some(path) = flag(args, "--result-file") {
        let (rss_sum, rss_max) = rss.unwrap_or((0, 0));
        let out = format!(
            "GET_RPS={:.0}\nGET_P50_US={:.0}\nGET_P99_US={:.0}\nGET_FAILED={}\nPOST_RPS={:.0}\nPOST_P50_US={:.0}\nPOST_P99_US={:.0}\nPOST_FAILED={}\nRSS_TREE_KIB={rss_sum}\nRSS_MAX_KIB={rss_max}\nTOKEN={}\n",
            g.rps, g.p50_us, g.p99_us, g.failed, p.rps, p.p50_us, p.p99_us, p.failed, token
        );
        std::fs::write(&path, out).expect("write --result-file");
    }
}

/// `vipps-bench client --base-url URL --side sdk|raw|hyper [--op get|capture] [--concurrency 32]
/// [--requests N]`: one side of the SDK-vs-raw comparison, with the same requests, alone, so
/// a profiler attached to this process measures that client only. Seeds its own 16 payments
/// (`cl<8 random hex digits>-0000000k`) through the emulator's control plane.
async fn client_only(args: &[String]) {
    let base = flag(args, "--base-url").unwrap_or_else(|| usage_error("client: --base-url URL is required"));
    let base = base.trim_end_matches('/').to_owned();
    let side = match flag(args, "--side").as_deref() {
        Some("sdk") => Side::Sdk,
        Some("raw") => Side::Raw,
        Some("hyper") => Side::Hyper,
        _ => usage_error("client: --side sdk|raw|hyper is required"),
    };
    let op = match flag(args, "--op").as_deref() {
        None | Some("get") => BenchOp::Get,
        Some("capture") => BenchOp::Capture,
        Some(other) => usage_error(&format!("client: --op is get or capture, not {other}")),
    };
    let c = flag_num(args, "--concurrency", 32);
    let n = flag_num(args, "--requests", 50_000);
    let tag = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    seed(
        &reqwest::Client::new(),
        &base,
        serde_json::json!({"payments": 16, "prefix": format!("cl{tag}"), "authorized": true, "amount": 65_000_000}),
    )
    .await;
    let clients = Clients::new(&base).await;
    let run = |k: usize| clients.call(side, op, format!("cl{tag}-{:08}", k % 16));
    let _ = load(c, 500.min(n), &run).await;
    let s = load(c, n, &run).await;
    println!("| operation | requests/s | p50 µs | p99 µs | client CPU µs/call |\n|---|---|---|---|---|");
    row_cpu(&format!("{op:?}, {side:?}, concurrency {c}"), s);
}

/// `vipps-bench trivial-server`: the ceiling of this machine for an axum server, for the
/// comparison tables. Every request, whatever its method and path, gets the same fixed JSON
/// body of a payment (about the size of the emulator's GET payment answer); no routing,
/// authentication, validation or state. Prints `listening on URL` and serves until killed.
async fn trivial_server() {
    let body: &'static str = r#"{"aggregate":{"authorizedAmount":{"currency":"NOK","value":65000000},"cancelledAmount":{"currency":"NOK","value":0},"capturedAmount":{"currency":"NOK","value":0},"refundedAmount":{"currency":"NOK","value":0}},"amount":{"currency":"NOK","value":65000000},"state":"AUTHORIZED","paymentMethod":{"type":"WALLET"},"profile":{},"pspReference":"3bd6d7f2-58a1-4d34-8b38-6a2c7c5f0d7e","redirectUrl":"http://127.0.0.1:40000/landing/payment?token=0123456789abcdefghijklmnopqrstuvwxyzABCD","reference":"prismcmp-00000000"}"#;
    let app = axum::Router::new().fallback(move || async move { ([("content-type", "application/json")], body) });
    let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
        Ok(l) => l,
        Err(e) => usage_error(&format!("trivial-server: cannot bind 127.0.0.1:0: {e}")),
    };
    match listener.local_addr() {
        Ok(a) => println!("listening on http://{a}"),
        Err(e) => usage_error(&format!("trivial-server: {e}")),
    }
    if let Err(e) = axum::serve(listener, app).await {
        eprintln!("trivial-server: {e}");
    }
}

/// The SDK-vs-raw tables: get payment on `benchget-00000000` and capture on the
/// `benchcap-…` payments seeded by the caller, in [`ROUNDS`] interleaved rounds each. The SDK
/// against raw hyper-util (the floor: the SDK's own HTTP stack with nothing on top) at
/// concurrency 1 and 32, then against raw reqwest (what a hand-rolled client usually is) at
/// 32. Run on its own runtime after pinning (see [`on_fresh_runtime`]).
async fn sdk_against_raw(base: String, quick: bool) {
    let scale = |n: usize| if quick { (n / 10).max(100) } else { n };
    let clients = Clients::new(&base).await;
    let get_ref = "benchget-00000000";
    let workers = tokio::runtime::Handle::current().metrics().num_workers();
    println!("(all clients on a tokio runtime of their own, built after any pinning: {workers} worker thread(s); the calls run as its tasks)\n");
    println!("| operation | requests/s | p50 µs | p99 µs | client CPU µs/call |\n|---|---|---|---|---|");
    // warm-up
    let _ = load(32, 500, |_| clients.call(Side::Sdk, BenchOp::Get, get_ref.to_owned())).await;
    let runs = [
        (Side::Hyper, 1usize, scale(10_000), scale(5_000)),
        (Side::Hyper, 32, scale(100_000), scale(50_000)),
        (Side::Raw, 32, scale(100_000), scale(50_000)),
    ];
    for (phase, &(raw, conc, n_get, n_cap)) in runs.iter().enumerate() {
        let name = raw.label();
        let c = interleaved(
            conc,
            n_get,
            ROUNDS,
            |_| clients.call(Side::Sdk, BenchOp::Get, get_ref.to_owned()),
            |_| clients.call(raw, BenchOp::Get, get_ref.to_owned()),
        )
        .await;
        row_cpu(&format!("get payment, SDK, concurrency {conc}"), c.a);
        row_cpu(&format!("get payment, {name}, concurrency {conc}"), c.b);
        ratio_row(&c);
        // 16 payments per side and phase, so no payment's event log grows past a few thousand.
        let sdk_ref = |k: usize| format!("benchcap-{:08}", phase * 32 + k % 16);
        let raw_ref = |k: usize| format!("benchcap-{:08}", phase * 32 + 16 + k % 16);
        let c = interleaved(
            conc,
            n_cap,
            ROUNDS,
            |k| clients.call(Side::Sdk, BenchOp::Capture, sdk_ref(k)),
            |k| clients.call(raw, BenchOp::Capture, raw_ref(k)),
        )
        .await;
        row_cpu(&format!("capture, SDK, concurrency {conc}"), c.a);
        row_cpu(&format!("capture, {name}, concurrency {conc}"), c.b);
        ratio_row(&c);
    }
}

/// A tokio runtime built now, as `#[tokio::main]` builds one: one worker per core this
/// thread may run on (the process's CPU affinity at this moment), or a single-threaded one when
/// `current_thread`.
fn runtime(current_thread: bool) -> tokio::runtime::Runtime {
    let mut b = if current_thread {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    b.enable_all()
        .build()
        .unwrap_or_else(|e| usage_error(&format!("cannot start a tokio runtime: {e}")))
}

/// Runs `f` on a runtime of its own, built after the caller pinned this process: tokio sizes
/// a runtime by the cores the process may use when it is built, so the main runtime, built
/// before the pinning, has a worker per core of the machine, and two workers time-sharing one
/// core cost a client about a quarter of its throughput. See [`spawned`] for where `f` runs.
async fn on_fresh_runtime<F, Fut>(f: F) -> Fut::Output
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    tokio::task::spawn_blocking(move || runtime(false).block_on(spawned(f())))
        .await
        .expect("the benchmark's runtime thread panicked")
}

/// Runs `fut` as a task of the current runtime, as a server's request handlers run, instead of
/// on the thread that called `block_on`: on one core with one worker, the calls and the
/// connections they use then share that worker, with no hand-off between two threads on every
/// wake-up.
async fn spawned<Fut>(fut: Fut) -> Fut::Output
where
    Fut: std::future::Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    tokio::spawn(fut).await.expect("a benchmark task panicked")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return;
    }
    let current_thread = args.get(1).map(String::as_str) == Some("client")
        && match flag(&args[2..], "--runtime").as_deref() {
            None | Some("default") => false,
            Some("current-thread") => true,
            Some(other) => usage_error(&format!("client: --runtime is default or current-thread, not {other}")),
        };
    runtime(current_thread).block_on(spawned(run(args)));
}

async fn run(args: Vec<String>) {
    if args.get(1).map(String::as_str) == Some("target") {
        target(&args[2..]).await;
        return;
    }
    if args.get(1).map(String::as_str) == Some("client") {
        client_only(&args[2..]).await;
        return;
    }
    if args.get(1).map(String::as_str) == Some("recurring") {
        let bin =
            flag(&args[2..], "--emulator-bin").unwrap_or_else(|| usage_error("recurring: --emulator-bin is required"));
        let due = flag_num(&args[2..], "--first-due-in-days", 1) as i64;
        recurring::run(&bin, flag_num(&args[2..], "--agreements", 100_000), due).await;
        return;
    }
    if args.get(1).map(String::as_str) == Some("persist") {
        let bin =
            flag(&args[2..], "--emulator-bin").unwrap_or_else(|| usage_error("persist: --emulator-bin is required"));
        persist::run(
            &bin,
            flag_num(&args[2..], "--payments", 1_000_000),
            flag_num(&args[2..], "--requests", 0),
            flag_num(&args[2..], "--rounds", 0),
        )
        .await;
        return;
    }
    if args.get(1).map(String::as_str) == Some("trivial-server") {
        trivial_server().await;
        return;
    }
    let bin = args
        .iter()
        .position(|a| a == "--emulator-bin")
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| {
            let exe = std::env::current_exe().unwrap();
            exe.parent().unwrap().join("vipps").to_string_lossy().into_owned()
        });
    let quick = args.iter().any(|a| a == "--quick");
    let scale = |n: usize| if quick { (n / 10).max(100) } else { n };

    // Start-up time: median of 5.
    let mut starts: Vec<Duration> = (0..5).map(|_| start_emulator(&bin).startup).collect();
    starts.sort();
    println!(
        "## Emulator start-up\n\nmedian of 5 starts (spawn → `listening on` line): {:.1} ms\n",
        starts[2].as_secs_f64() * 1e3
    );

    let emu = start_emulator(&bin);
    let base = emu.base.clone();
    let http = reqwest::Client::new();

    // Token coalescing.
    let cold = sdk(&base);
    let futs: Vec<_> = (0..1000)
        .map(|_| {
            let c = cold.clone();
            tokio::spawn(async move { c.access_token().await.is_ok() })
        })
        .collect();
    for f in futs {
        assert!(f.await.unwrap());
    }
    println!(
        "## Token requests for 1,000 concurrent calls on a cold client\n\nvipps (Rust SDK): {}\n",
        cold.access_token_fetches()
    );

    // SDK vs raw client.
    seed(
        &http,
        &base,
        serde_json::json!({"payments": 2, "prefix": "benchget", "authorized": true}),
    )
    .await;
    seed(
        &http,
        &base,
        serde_json::json!({"payments": 96, "prefix": "benchcap", "authorized": true, "amount": 65_000_000}),
    )
    .await;
    let clients = Clients::new(&base).await;
    let (token, raw) = (clients.token.clone(), clients.raw.clone());
    let get_ref = "benchget-00000000";
    println!("## SDK overhead against raw clients, hyper-util (the floor) and reqwest (same requests, loopback; {ROUNDS} interleaved rounds: the rows are each side's median round; the throughput and p50 ratios are the median over the pairs of neighbouring rounds, lowest–highest in brackets; the CPU ratio is that of the two median rows)\n");
    // Unpinned, which core each thread wakes on changes from run to run and moves the
    // concurrency-1 figures by ±30 %; pinned (emulator on CPU 0, this process on CPU 1) the
    // SDK and the raw client run under the same, repeatable conditions.
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let before = (affinity(emu.child.id()), affinity(std::process::id()));
    let unpin = || {
        if let (Some(emu_cpus), Some(own_cpus)) = &before {
            pin(emu.child.id(), emu_cpus);
            pin(std::process::id(), own_cpus);
        }
    };
    let pinned = cpus >= 2
        && before.0.is_some()
        && before.1.is_some()
        && pin(emu.child.id(), "0")
        && (pin(std::process::id(), "1") || {
            unpin();
            false
        });
    if pinned {
        println!(
            "(pinned with taskset: the emulator on CPU 0; the SDK, the raw client and the load generator on CPU 1)\n"
        );
    } else {
        println!("(not pinned: taskset missing or fewer than 2 CPUs; expect more noise)\n");
    }
    let sdk_base = base.clone();
    on_fresh_runtime(move || sdk_against_raw(sdk_base, quick)).await;
    if pinned {
        unpin();
    }
    if args.iter().any(|a| a == "--sdk-only") {
        return;
    }

    // Emulator throughput at 32 connections (raw client as the load generator).
    println!("\n## Emulator throughput, 32 concurrent connections\n");
    println!("| request | requests/s | p50 µs | p99 µs |\n|---|---|---|---|");
    let g = load(32, scale(50_000), |_| {
        let raw = raw.clone();
        let token = token.clone();
        let url = format!("{base}/epayment/v1/payments/{get_ref}");
        raw_get(raw, token, url)
    })
    .await;
    row("GET /epayment/v1/payments/{ref}", g);
    let p = load(32, scale(20_000), |i| {
        let raw = raw.clone();
        let token = token.clone();
        let url = format!("{base}/epayment/v1/payments");
        let body = create_body(format!("benchpost-{i:08}-{}", uuid::Uuid::new_v4().simple()));
        raw_post(raw, token, url, body)
    })
    .await;
    row("POST /epayment/v1/payments", p);
    drop(emu);

    // Memory per stored payment and cost growth, on a fresh emulator.
    let emu = start_emulator(&bin);
    let base = emu.base.clone();
    let pid = emu.child.id();
    let client = sdk(&base);
    let token = Arc::new(client.access_token().await.unwrap().expose().to_owned());
    seed(&http, &base, serde_json::json!({"payments": 1000, "prefix": "grow"})).await;
    let before = rss_kib(pid);
    seed(&http, &base, serde_json::json!({"payments": 100_000, "prefix": "mem"})).await;
    let after = rss_kib(pid);
    println!(
        "\n## Memory\n\nRSS growth for 100,000 stored payments: {} KiB → {:.0} bytes per payment",
        after.saturating_sub(before),
        (after.saturating_sub(before) as f64 * 1024.0) / 100_000.0
    );
    // The same for payments created through the API, which also leave an idempotency record,
    // a landing token and a redirectUrl: on another fresh emulator, so nothing else is stored.
    {
        let emu = start_emulator(&bin);
        let base = emu.base.clone();
        let pid = emu.child.id();
        let token = Arc::new(sdk(&base).access_token().await.unwrap().expose().to_owned());
        let n = scale(100_000);
        let create = |i: usize, tag: &'static str| {
            let raw = raw.clone();
            let token = token.clone();
            let url = format!("{base}/epayment/v1/payments");
            let body = create_body(format!("{tag}-{i:08}-{}", uuid::Uuid::new_v4().simple()));
            raw_post(raw, token, url, body)
        };
        let _ = load(32, 1_000, |i| create(i, "memwarm")).await;
        let before = rss_kib(pid);
        let _ = load(32, n, |i| create(i, "memapi")).await;
        let after = rss_kib(pid);
        println!(
            "RSS growth for {n} payments created with POST (each with its idempotency record): {} KiB → {:.0} bytes per payment",
            after.saturating_sub(before),
            (after.saturating_sub(before) as f64 * 1024.0) / n as f64
        );
        // Ten minutes later nobody approved them: each has its EXPIRED event too.
        let advanced = http
            .post(format!("{base}/_emulator/clock/advance"))
            .json(&serde_json::json!({"seconds": 601}))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        let expired = rss_kib(pid);
        if advanced {
            println!(
                "the same after they expired (clock advanced 601 s): {} KiB → {:.0} bytes per payment\n",
                expired.saturating_sub(before),
                (expired.saturating_sub(before) as f64 * 1024.0) / n as f64
            );
        } else {
            println!("(the clock could not be advanced: no figure after expiry)\n");
        }
    }

    println!("## Cost growth: GET payment latency as the store grows (32 connections)\n");
    println!("| payments stored | requests/s | p50 µs | p99 µs |\n|---|---|---|---|");
    let measure = |stored: usize| {
        let raw = raw.clone();
        let token = token.clone();
        let base = base.clone();
        async move {
            let s = load(32, scale(20_000), |i| {
                let raw = raw.clone();
                let token = token.clone();
                let url = format!("{base}/epayment/v1/payments/grow-{:08}", (i * 7919) % 1000);
                raw_get(raw, token, url)
            })
            .await;
            row(&format!("{stored}"), s);
        }
    };
    measure(101_000).await;
    if !quick {
        seed(&http, &base, serde_json::json!({"payments": 900_000, "prefix": "big"})).await;
        measure(1_001_000).await;
    }

    println!("\n## Event-log reads as a payment's log grows (concurrency 1)\n");
    println!("| events in the log | requests/s | p50 µs | p99 µs |\n|---|---|---|---|");
    let r = Reference::new(format!("evlog-{}", uuid::Uuid::new_v4().simple())).unwrap();
    client
        .epayment()
        .create_payment(CreatePaymentRequest {
            return_url: Some("https://example.com/r".into()),
            ..CreatePaymentRequest::new(Amount::nok(65_000_000), r.clone(), UserFlow::WebRedirect)
        })
        .await
        .unwrap();
    http.post(format!("{base}/_emulator/payments/{r}/approve"))
        .send()
        .await
        .unwrap();
    let mut events = 2;
    for target in [10usize, 100, 1000] {
        while events < target {
            client.epayment().capture(&r, Amount::nok(1)).await.unwrap();
            events += 1;
        }
        let s = load(1, scale(2_000), |_| {
            let cl = client.clone();
            let r = r.clone();
            async move { cl.epayment().get_event_log(&r).await.is_ok() }
        })
        .await;
        row(&format!("{target}"), s);
    }
}
