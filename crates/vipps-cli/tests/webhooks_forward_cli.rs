//! `vipps webhooks listen --forward-to` and `vipps webhooks trigger` against a `vipps emulator`
//! child process, with the merchant's handler in-process: it verifies every delivery with the
//! SDK's `WebhookVerifier`, as a merchant's own code would.

mod common;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use common::{start_emulator, vipps, Server, BIN};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};
use vipps::webhooks::WebhookVerifier;

const WAIT: Duration = Duration::from_secs(15);

/// One request the merchant's handler got.
#[derive(Debug, Clone)]
struct Delivery {
    verified: bool,
    answered: u16,
    /// `name` of an ePayment event, `eventType` of a Recurring one.
    name: String,
    /// `reference` of an ePayment event, `agreementId` of a Recurring one.
    subject: String,
}

#[derive(Default)]
struct Handler {
    verifier: Mutex<Option<WebhookVerifier>>,
    /// Requests answered 500 before any is accepted.
    fail_first: AtomicUsize,
    seen: Mutex<Vec<Delivery>>,
}

/// The merchant's webhook handler on its own runtime, at `url`.
struct Merchant {
    url: String,
    handler: Arc<Handler>,
    rt: tokio::runtime::Runtime,
}

impl Merchant {
    fn start(fail_first: usize) -> Merchant {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let handler = Arc::new(Handler {
            fail_first: AtomicUsize::new(fail_first),
            ..Handler::default()
        });
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let port = listener.local_addr().unwrap().port();
        let app = axum::Router::new().fallback(handle).with_state(Arc::clone(&handler));
        rt.spawn(async move { axum::serve(listener, app).await });
        Merchant {
            // A path and query of its own: forwards must be signed for them.
            url: format!("http://127.0.0.1:{port}/shop/hooks?tenant=7"),
            handler,
            rt,
        }
    }

    fn verify_with(&self, secret: &str) {
        *self.handler.verifier.lock().unwrap() = Some(WebhookVerifier::new(secret.to_owned()).unwrap());
    }

    fn seen(&self) -> Vec<Delivery> {
        self.handler.seen.lock().unwrap().clone()
    }

    /// Waits until `n` deliveries for `subject` were accepted; gives them all (accepted or not).
    fn wait_for(&self, subject: &str, n: usize) -> Vec<Delivery> {
        let of = |d: &&Delivery| d.subject == subject;
        let ok = wait_until(|| self.seen().iter().filter(of).filter(|d| d.answered == 200).count() >= n);
        let seen: Vec<_> = self.seen().iter().filter(of).cloned().collect();
        assert!(ok, "{n} accepted deliveries for {subject}: {seen:?}");
        seen
    }
}

async fn handle(
    State(h): State<Arc<Handler>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let verifier = h.verifier.lock().unwrap().clone();
    let verified = verifier.is_some_and(|v| v.verify_http(&method, &uri, &headers, &body).is_ok());
    let status = if !verified {
        StatusCode::UNAUTHORIZED
    } else if h
        .fail_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let text = |a: &str, b: &str| v[a].as_str().or(v[b].as_str()).unwrap_or_default().to_owned();
    h.seen.lock().unwrap().push(Delivery {
        verified,
        answered: status.as_u16(),
        name: text("name", "eventType"),
        subject: text("reference", "agreementId"),
    });
    status
}

fn wait_until(mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < WAIT {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}

/// A running `vipps webhooks listen --forward-to`, with what it printed at start.
struct Listen {
    proc: Server,
    out: mpsc::Receiver<String>,
    err: Arc<Mutex<Vec<String>>>,
    id: String,
    listening: String,
    secret: String,
}

impl Listen {
    fn start(base: &str, forward_to: &str, extra: &[&str]) -> Listen {
        let mut child = Command::new(BIN)
            .args(["webhooks", "listen", "--port", "0", "--forward-to", forward_to])
            .args(extra)
            .env_remove("VIPPS_CLIENT_ID")
            .env_remove("VIPPS_WEBHOOK_SECRET")
            .env("VIPPS_BASE_URL", base)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, out) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let err = Arc::new(Mutex::new(Vec::new()));
        let (stderr, lines) = (child.stderr.take().unwrap(), Arc::clone(&err));
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
        let proc = Server(child);
        let next = |prefix: &str| {
            let line = out
                .recv_timeout(WAIT)
                .unwrap_or_else(|_| panic!("no `{prefix}` line; stderr: {:?}", err.lock().unwrap()));
            line.strip_prefix(prefix)
                .unwrap_or_else(|| panic!("{line:?} does not start with {prefix:?}"))
                .to_owned()
        };
        let listening = next("listening on ");
        let id = next("registered webhook ").split(':').next().unwrap().to_owned();
        assert_eq!(next("forwarding to "), forward_to);
        let secret = next("forwarding secret (shown only now): ");
        Listen {
            proc,
            out,
            err,
            id,
            listening,
            secret,
        }
    }

    fn stderr_has(&self, text: &str) -> bool {
        wait_until(|| self.err.lock().unwrap().iter().any(|l| l.contains(text)))
    }
}

fn ok(base: &str, args: &[&str]) -> String {
    let (success, out, err) = vipps(base, args);
    assert!(success, "{args:?}: {out}{err}");
    out
}

fn names(d: &[Delivery]) -> Vec<&str> {
    d.iter().map(|d| d.name.as_str()).collect()
}

#[test]
fn listen_forwards_every_event_of_a_payment_signed_for_the_merchant() {
    let (_emu, base) = start_emulator();
    let merchant = Merchant::start(0);
    let listen = Listen::start(&base, &merchant.url, &[]);
    merchant.verify_with(&listen.secret);
    assert!(ok(&base, &["webhooks", "list"]).contains(&listen.id));

    ok(
        &base,
        &["payment", "create", "--amount", "5000", "--reference", "fwd-flow-1"],
    );
    ok(&base, &["payment", "approve", "fwd-flow-1"]);
    ok(&base, &["payment", "capture", "fwd-flow-1", "--amount", "5000"]);
    let got = merchant.wait_for("fwd-flow-1", 3);
    assert_eq!(names(&got), ["CREATED", "AUTHORIZED", "CAPTURED"], "{got:?}");
    assert!(got.iter().all(|d| d.verified && d.answered == 200), "{got:?}");
    let printed: Vec<String> = (0..3).map(|_| listen.out.recv_timeout(WAIT).unwrap()).collect();
    assert!(
        printed[0].starts_with("verified CREATED fwd-flow-1 50.00 NOK"),
        "{printed:?}"
    );
    assert!(printed[2].starts_with("verified CAPTURED fwd-flow-1"), "{printed:?}");

    // A request the registration's secret did not sign is refused, said so, and not forwarded.
    let forged = merchant.rt.block_on(async {
        reqwest::Client::new()
            .post(format!("{}/webhooks/vipps", listen.listening))
            .header("x-ms-date", "Thu, 30 Mar 2023 08:38:32 GMT")
            .header("x-ms-content-sha256", "x")
            .header(
                "authorization",
                "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=x",
            )
            .body(r#"{"reference":"forged-1","name":"CAPTURED"}"#)
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(forged, 401);
    assert!(listen.stderr_has("rejected POST /webhooks/vipps"));
    std::thread::sleep(Duration::from_millis(100));
    assert!(merchant.seen().iter().all(|d| d.subject != "forged-1"));
    // The registration's secret is not the forwarding secret, and neither is in the log.
    let log = listen.err.lock().unwrap().join("\n");
    assert!(!log.contains(&listen.secret), "{log}");
}

#[test]
fn a_failing_merchant_gets_the_event_again_until_it_accepts() {
    let (_emu, base) = start_emulator();
    let merchant = Merchant::start(2);
    let listen = Listen::start(
        &base,
        &merchant.url,
        &["--forward-attempts", "4", "--forward-backoff-ms", "20"],
    );
    merchant.verify_with(&listen.secret);

    ok(
        &base,
        &["payment", "create", "--amount", "1000", "--reference", "fwd-retry-1"],
    );
    ok(&base, &["payment", "approve", "fwd-retry-1"]);
    let got = merchant.wait_for("fwd-retry-1", 2);
    let answered: Vec<_> = got.iter().map(|d| (d.name.as_str(), d.answered)).collect();
    assert_eq!(
        answered,
        [
            ("CREATED", 500),
            ("CREATED", 500),
            ("CREATED", 200),
            ("AUTHORIZED", 200)
        ],
        "the later event waits for the earlier one; none is lost"
    );
    assert!(got.iter().all(|d| d.verified), "{got:?}");
    assert!(listen.stderr_has("attempt 1 of 4: HTTP 500; next in 20 ms"));
    assert!(listen.stderr_has("attempt 2 of 4: HTTP 500; next in 40 ms"));
    assert!(listen.stderr_has("forwarded CREATED fwd-retry-1 10.00 NOK"));
}

#[test]
fn sigint_and_sigterm_delete_the_registration() {
    let (_emu, base) = start_emulator();
    let merchant = Merchant::start(0);
    for signal in ["-INT", "-TERM"] {
        let mut listen = Listen::start(&base, &merchant.url, &[]);
        assert!(ok(&base, &["webhooks", "list"]).contains(&listen.id));
        let pid = listen.proc.0.id().to_string();
        assert!(Command::new("kill").args([signal, &pid]).status().unwrap().success());
        let mut status = None;
        assert!(wait_until(|| {
            status = listen.proc.0.try_wait().unwrap();
            status.is_some()
        }));
        assert!(status.unwrap().success(), "{signal}: {status:?}");
        assert!(listen.stderr_has(&format!("deleted webhook {}", listen.id)));
        let list = ok(&base, &["webhooks", "list"]);
        assert!(list.starts_with("0 webhook(s)"), "{signal}: {list}");
    }
}

#[test]
fn trigger_captured_delivers_it_and_its_predecessors() {
    let (_emu, base) = start_emulator();
    let merchant = Merchant::start(0);
    let reg: serde_json::Value =
        serde_json::from_str(&ok(&base, &["--json", "webhooks", "register", "--url", &merchant.url])).unwrap();
    merchant.verify_with(reg["secret"].as_str().unwrap());

    let out = Command::new(BIN)
        .args([
            "webhooks",
            "trigger",
            "epayments.payment.captured.v1",
            "--reference",
            "trig-cap-1",
        ])
        .env_remove("VIPPS_CLIENT_ID")
        .env("VIPPS_BASE_URL", &base)
        // The emulator ignores the header today; it is sent, and never printed.
        .env("VIPPS_EMULATOR_CONTROL_TOKEN", "tok-s3cret")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("payment trig-cap-1") && stdout.contains("captured"),
        "{stdout}"
    );
    assert!(!stdout.contains("tok-s3cret") && !stderr.contains("tok-s3cret"));
    let got = merchant.wait_for("trig-cap-1", 3);
    std::thread::sleep(Duration::from_millis(300));
    let got_after = merchant.wait_for("trig-cap-1", 3);
    assert_eq!(names(&got_after), ["CREATED", "AUTHORIZED", "CAPTURED"], "{got:?}");
    assert!(
        got_after.iter().all(|d| d.verified && d.answered == 200),
        "{got_after:?}"
    );
}

#[test]
fn trigger_recurring_charge_captured_through_a_forwarding_listener() {
    let (_emu, base) = start_emulator();
    let merchant = Merchant::start(0);
    let listen = Listen::start(&base, &merchant.url, &["--all"]);
    merchant.verify_with(&listen.secret);
    let out = ok(
        &base,
        &["--json", "webhooks", "trigger", "recurring.charge-captured.v1"],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let agreement = v["agreementId"].as_str().unwrap();
    let got = merchant.wait_for(agreement, 2);
    assert_eq!(
        names(&got),
        ["recurring.agreement-activated.v1", "recurring.charge-captured.v1"],
        "{got:?}"
    );
    assert!(got.iter().all(|d| d.verified), "{got:?}");
}

#[test]
fn every_known_trigger_sends_its_event_and_an_unknown_one_is_named() {
    let (_emu, base) = start_emulator();
    let (success, _, err) = vipps(&base, &["webhooks", "trigger", "epayments.payment.exploded.v1"]);
    assert!(!success);
    assert!(err.contains("cannot trigger `epayments.payment.exploded.v1`"), "{err}");
    let known = err.split("known events: ").nth(1).unwrap_or_default().trim().to_owned();
    let known: Vec<&str> = known.split(", ").collect();
    assert_eq!(known.len(), 17, "{known:?}");

    let merchant = Merchant::start(0);
    let mut register = vec!["--json", "webhooks", "register", "--url", &merchant.url];
    for event in &known {
        register.extend(["--event", event]);
    }
    let reg: serde_json::Value = serde_json::from_str(&ok(&base, &register)).unwrap();
    merchant.verify_with(reg["secret"].as_str().unwrap());
    for event in known {
        let out = ok(&base, &["--json", "webhooks", "trigger", event]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let subject = v["reference"].as_str().or(v["agreementId"].as_str()).unwrap();
        // An ePayment event's `name` is the last part of its type but one, in capitals.
        let name = match event.strip_prefix("epayments.payment.") {
            Some(rest) => rest.trim_end_matches(".v1").to_ascii_uppercase(),
            None => event.to_owned(),
        };
        let arrived = wait_until(|| merchant.seen().iter().any(|d| d.subject == subject && d.name == name));
        assert!(arrived, "{event}: {out}; got {:?}", merchant.seen());
    }
    assert!(merchant.seen().iter().all(|d| d.verified));
}

#[test]
fn trigger_refuses_the_real_environment() {
    let out = Command::new(BIN)
        .args(["webhooks", "trigger", "epayments.payment.created.v1"])
        .env("VIPPS_ENVIRONMENT", "test")
        .env_remove("VIPPS_BASE_URL")
        .env("VIPPS_CLIENT_ID", "id")
        .env("VIPPS_CLIENT_SECRET", "cs-s3cret")
        .env("VIPPS_SUBSCRIPTION_KEY", "sk-s3cret")
        .env("VIPPS_MERCHANT_SERIAL_NUMBER", "123456")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("apitest.vipps.no is Vipps MobilePay itself"),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cret"), "{stderr}");
}

#[test]
fn help_does_not_print_the_control_token() {
    let out = Command::new(BIN)
        .args(["webhooks", "trigger", "--help"])
        .env("VIPPS_EMULATOR_CONTROL_TOKEN", "hunter2-control-t0ken")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && help.contains("VIPPS_EMULATOR_CONTROL_TOKEN"),
        "{help}"
    );
    assert!(!help.contains("hunter2-control-t0ken"), "{help}");
}
