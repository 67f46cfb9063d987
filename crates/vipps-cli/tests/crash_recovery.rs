//! `vipps emulator --data-dir` killed with SIGKILL in the middle of a load (issue 18): after a
//! restart on the same dir every operation that got a 2xx is there exactly once, retrying the
//! interrupted ones with their idempotency keys has one effect, and webhook deliveries that were
//! still owed arrive.

mod common;

use common::{Server, TempDir, BIN};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use vipps::webhooks::WebhookVerifier;

const WORKERS: usize = 24;
const CAPTURE: i64 = 600;
const REFUND: i64 = 250;

/// A data dir under the system's temporary dir, removed when dropped.
/// `vipps emulator --port 0 --data-dir DIR --config FILE`; the child and its base URL.
fn start(dir: &Path, config: &Path) -> (Server, String) {
    let mut child = Command::new(BIN)
        .args(["emulator", "--port", "0", "--data-dir"])
        .arg(dir)
        .arg("--config")
        .arg(config)
        .env_remove("VIPPS_EMULATOR_CONTROL_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line was {line:?}"))
        .to_owned();
    (Server(child), url)
}

/// Webhook deliveries by (reference, event name): how many arrived, and whether each verified.
type Received = Arc<Mutex<HashMap<(String, String), usize>>>;

/// A merchant's receiver that verifies every delivery with the SDK (secret set once known).
async fn receiver() -> (String, Received, Arc<Mutex<String>>, Arc<AtomicBool>) {
    let received: Received = Arc::default();
    let secret = Arc::new(Mutex::new(String::new()));
    let forged = Arc::new(AtomicBool::new(false));
    let (r, s, f) = (received.clone(), secret.clone(), forged.clone());
    let app = axum::Router::new().fallback(
        move |method: axum::http::Method,
              uri: axum::http::Uri,
              headers: axum::http::HeaderMap,
              body: axum::body::Bytes| {
            let (r, s, f) = (r.clone(), s.clone(), f.clone());
            async move {
                let verifier = WebhookVerifier::new(s.lock().unwrap().clone()).unwrap();
                if verifier.verify_http(&method, &uri, &headers, &body).is_err() {
                    f.store(true, Ordering::SeqCst);
                    return axum::http::StatusCode::UNAUTHORIZED;
                }
                let v: Value = serde_json::from_slice(&body).unwrap_or_default();
                let key = (
                    v["reference"].as_str().unwrap_or("").to_owned(),
                    v["name"].as_str().unwrap_or("").to_owned(),
                );
                *r.lock().unwrap().entry(key).or_default() += 1;
                axum::http::StatusCode::OK
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hooks/vipps"), received, secret, forged)
}

/// The emulator's default merchant.
fn m() -> vipps_emulator::Merchant {
    vipps_emulator::Merchant::default_test()
}

/// The default merchant's API calls.
#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn token(http: &reqwest::Client, base: &str) -> String {
        let r = http
            .post(format!("{base}/accesstoken/get"))
            .header("client_id", &m().client_id)
            .header("client_secret", &m().client_secret)
            .header("Ocp-Apim-Subscription-Key", &m().subscription_key)
            .header("Merchant-Serial-Number", &m().msn)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// A request to `path` as the default merchant, with its token and headers.
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("Ocp-Apim-Subscription-Key", &m().subscription_key)
            .header("Merchant-Serial-Number", &m().msn)
    }

    /// A call; its status, or `None` when no answer came (the emulator died).
    async fn call(&self, method: reqwest::Method, path: &str, key: Option<&str>, body: Option<Value>) -> Option<u16> {
        let mut r = self.request(method, path).timeout(Duration::from_secs(10));
        if let Some(k) = key {
            r = r.header("Idempotency-Key", k);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        r.send().await.ok().map(|r| r.status().as_u16())
    }

    async fn create(&self, reference: &str) -> Option<u16> {
        let body = json!({"amount": {"currency": "NOK", "value": 1000}, "paymentMethod": {"type": "WALLET"},
            "reference": reference, "userFlow": "WEB_REDIRECT", "returnUrl": "https://example.com/return"});
        self.call(
            reqwest::Method::POST,
            "/epayment/v1/payments",
            Some(&format!("create-{reference}")),
            Some(body),
        )
        .await
    }

    async fn approve(&self, reference: &str) -> Option<u16> {
        let path = format!("/_emulator/payments/{reference}/approve");
        self.http
            .post(format!("{}{path}", self.base))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .ok()
            .map(|r| r.status().as_u16())
    }

    async fn modify(&self, reference: &str, op: &str, value: i64) -> Option<u16> {
        let path = format!("/epayment/v1/payments/{reference}/{op}");
        let body = json!({"modificationAmount": {"currency": "NOK", "value": value}});
        self.call(
            reqwest::Method::POST,
            &path,
            Some(&format!("{op}-{reference}")),
            Some(body),
        )
        .await
    }

    async fn get(&self, reference: &str) -> Option<Value> {
        let r = self
            .request(reqwest::Method::GET, &format!("/epayment/v1/payments/{reference}"))
            .send()
            .await
            .unwrap();
        (r.status() == 200).then_some(r.json().await.unwrap())
    }

    async fn events(&self, reference: &str) -> Vec<Value> {
        let r = self
            .request(
                reqwest::Method::GET,
                &format!("/epayment/v1/payments/{reference}/events"),
            )
            .send()
            .await
            .unwrap();
        r.json().await.unwrap()
    }
}

/// What the load got answered: per reference, the steps that got a 2xx, in order.
type Acked = Arc<Mutex<HashMap<String, Vec<&'static str>>>>;

/// One worker: payment after payment through create, approve, capture and refund, until a
/// call gets no answer (the emulator was killed).
async fn work(api: Api, worker: usize, acked: Acked, attempted: Arc<Mutex<HashSet<String>>>) {
    for n in 0.. {
        let reference = format!("crash-{worker}-{n}");
        attempted.lock().unwrap().insert(reference.clone());
        let ok = |step: &'static str, status: Option<u16>| {
            let good = status.is_some_and(|s| (200..300).contains(&s));
            if good {
                acked.lock().unwrap().entry(reference.clone()).or_default().push(step);
            }
            good
        };
        // A refusal or no answer ends this worker: after the kill nothing answers.
        if !ok("create", api.create(&reference).await)
            || !ok("approve", api.approve(&reference).await)
            || !ok("capture", api.modify(&reference, "capture", CAPTURE).await)
            || !ok("refund", api.modify(&reference, "refund", REFUND).await)
        {
            return;
        }
    }
}

/// Registers webhooks (to an address nobody listens on, for an event no payment here causes)
/// one after the other until the emulator stops answering; the ids answered 201.
async fn register_until_killed(api: Api, registered: Arc<Mutex<Vec<String>>>) {
    for n in 0..20 {
        let body =
            json!({"url": format!("https://example.com/hook-{n}"), "events": ["epayments.payment.terminated.v1"]});
        let Ok(r) = api
            .request(reqwest::Method::POST, "/webhooks/v1/webhooks")
            .json(&body)
            .send()
            .await
        else {
            return;
        };
        if r.status() != 201 {
            return;
        }
        let Ok(v) = r.json::<Value>().await else { return };
        registered
            .lock()
            .unwrap()
            .push(v["id"].as_str().unwrap_or_default().to_owned());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_sigkill_every_acknowledged_change_is_there_once_and_owed_webhooks_arrive() {
    let dir = TempDir::new("crash");
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        r#"{"token_ttl_secs": 86400, "webhook_retry": {"maxAttempts": 8, "initialBackoffMs": 100, "maxBackoffMs": 1000, "timeoutMs": 2000}}"#,
    )
    .unwrap();
    let data = dir.path().join("data");
    let (hook_url, received, secret, forged) = receiver().await;

    let (server, base) = start(&data, &config);
    let http = reqwest::Client::new();
    let token = Api::token(&http, &base).await;
    let api = Api {
        http: http.clone(),
        base,
        token: token.clone(),
    };
    let r = api
        .request(reqwest::Method::POST, "/webhooks/v1/webhooks")
        .json(&json!({"url": hook_url, "events": ["epayments.payment.captured.v1", "epayments.payment.refunded.v1"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    *secret.lock().unwrap() = r.json::<Value>().await.unwrap()["secret"].as_str().unwrap().to_owned();

    let acked: Acked = Arc::default();
    let attempted: Arc<Mutex<HashSet<String>>> = Arc::default();
    let mut workers: Vec<_> = (0..WORKERS)
        .map(|w| tokio::spawn(work(api.clone(), w, acked.clone(), attempted.clone())))
        .collect();
    // Webhook registrations come and go meanwhile: the ones answered 201 must survive.
    let registered: Arc<Mutex<Vec<String>>> = Arc::default();
    workers.push(tokio::spawn(register_until_killed(api.clone(), registered.clone())));
    // A moment that is not chosen by the test: somewhere in the first 1.5 s of load.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    tokio::time::sleep(Duration::from_millis(400 + u64::from(nanos % 1100))).await;
    let mut server = server;
    server.0.kill().unwrap(); // SIGKILL
    server.0.wait().unwrap();
    for w in workers {
        w.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let attempted = attempted.lock().unwrap().clone();
    assert!(acked.len() >= WORKERS, "the load got going: {} payments", acked.len());

    let (_server, base) = start(&data, &config);
    // The old token is still accepted: the signing key is part of the data.
    let api = Api { http, base, token };
    let webhooks: Value = {
        let r = api
            .request(reqwest::Method::GET, "/webhooks/v1/webhooks")
            .send()
            .await
            .unwrap();
        r.json().await.unwrap()
    };
    let ids: HashSet<&str> = webhooks["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    let registered = registered.lock().unwrap().clone();
    assert!(!registered.is_empty(), "registrations were made during the load");
    for id in &registered {
        assert!(
            ids.contains(id.as_str()),
            "webhook {id} was registered (201) but is gone"
        );
    }
    for (reference, steps) in &acked {
        let p = api
            .get(reference)
            .await
            .unwrap_or_else(|| panic!("{reference} was created (201) but is gone"));
        let agg = &p["aggregate"];
        if steps.contains(&"approve") {
            assert_ne!(p["state"], "CREATED", "{reference}: approved but {p}");
        }
        if steps.contains(&"capture") {
            assert_eq!(agg["capturedAmount"]["value"], CAPTURE, "{reference}: {p}");
        }
        if steps.contains(&"refund") {
            assert_eq!(agg["refundedAmount"]["value"], REFUND, "{reference}: {p}");
        }
    }
    // Retry everything that was attempted, with the same keys: one effect each.
    for reference in &attempted {
        let status = api.create(reference).await.unwrap();
        assert!(status == 201 || status == 200, "{reference}: create again {status}");
        let approved = api.approve(reference).await.unwrap();
        let p = api.get(reference).await.unwrap();
        assert!(
            approved == 200 || p["state"] != "CREATED",
            "{reference}: {approved} {p}"
        );
        assert_eq!(
            api.modify(reference, "capture", CAPTURE).await,
            Some(200),
            "{reference}"
        );
        assert_eq!(api.modify(reference, "refund", REFUND).await, Some(200), "{reference}");
        let p = api.get(reference).await.unwrap();
        assert_eq!(p["aggregate"]["capturedAmount"]["value"], CAPTURE, "{reference}: {p}");
        assert_eq!(p["aggregate"]["refundedAmount"]["value"], REFUND, "{reference}: {p}");
        let events = api.events(reference).await;
        for name in ["CREATED", "AUTHORIZED", "CAPTURED", "REFUNDED"] {
            let n = events.iter().filter(|e| e["name"] == name).count();
            assert_eq!(n, 1, "{reference}: {name} {n} times: {events:?}");
        }
    }
    // Every capture and refund was announced at least once, signed with the registration's
    // secret (which survived the restart).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let missing: Vec<_> = attempted
            .iter()
            .flat_map(|r| ["CAPTURED", "REFUNDED"].map(|n| (r.clone(), n.to_owned())))
            .filter(|k| !received.lock().unwrap().contains_key(k))
            .collect();
        if missing.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "never delivered: {missing:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!forged.load(Ordering::SeqCst), "a delivery did not verify");
}
