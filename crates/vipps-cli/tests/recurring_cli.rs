//! `vipps agreement …` and `vipps charge …` against a scripted HTTP server (the emulator's
//! Recurring API is not needed): what is sent, what is printed, and non-zero exits.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::process::Command;
use std::sync::{Arc, Mutex};

const BIN: &str = env!("CARGO_BIN_EXE_vipps");

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    idempotency_key: Option<String>,
    body: Vec<u8>,
}

impl Seen {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Clone, Default)]
struct Script {
    replies: Arc<Mutex<VecDeque<(u16, &'static str)>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

async fn token() -> Response {
    let body = r#"{"token_type":"Bearer","expires_in":"3600","ext_expires_in":"0","access_token":"tok-1"}"#;
    (StatusCode::OK, [("content-type", "application/json")], body).into_response()
}

async fn any(State(s): State<Script>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    s.seen.lock().unwrap().push(Seen {
        method: method.to_string(),
        path: uri.path().to_owned(),
        idempotency_key: headers.get("idempotency-key").map(|v| v.to_str().unwrap().to_owned()),
        body: body.to_vec(),
    });
    let (status, body) = s
        .replies
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or((500, r#"{"title":"script exhausted"}"#));
    let status = StatusCode::from_u16(status).unwrap();
    if body.is_empty() {
        status.into_response()
    } else {
        (status, [("content-type", "application/json")], body).into_response()
    }
}

/// A scripted server on its own runtime (kept alive by the returned value).
fn server(replies: Vec<(u16, &'static str)>) -> (tokio::runtime::Runtime, String, Script) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let script = Script::default();
    script.replies.lock().unwrap().extend(replies);
    let app = Router::new()
        .route("/accesstoken/get", post(token))
        .fallback(any)
        .with_state(script.clone());
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
    (rt, base, script)
}

fn vipps(base: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .env_remove("VIPPS_CLIENT_ID")
        .env_remove("VIPPS_ENVIRONMENT")
        .env("VIPPS_BASE_URL", base)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

const CHARGE: &str = r#"{"id":"chr-1","agreementId":"agr_1","status":"ON_HOLD","amount":49900,"currency":"NOK",
    "description":"October","due":"2026-10-01T00:00:00Z","type":"RECURRING","transactionType":"DIRECT_CAPTURE",
    "retryDays":2,"summary":{"captured":0,"refunded":0,"cancelled":0},"history":[]}"#;

#[test]
fn agreement_and_charge_commands_send_what_they_say() {
    let (_rt, base, script) = server(vec![
        (
            201,
            r#"{"agreementId":"agr_1","uuid":"6080c099-d7f2-43ef-a82b-2991ccc3a239","vippsConfirmationUrl":"https://example.com/confirm"}"#,
        ),
        (201, r#"{"chargeId":"acme-1"}"#),
        (204, ""),
        (200, CHARGE),
    ]);
    let (ok, out, err) = vipps(
        &base,
        &[
            "--json",
            "agreement",
            "create",
            "--amount",
            "49900",
            "--product-name",
            "Premier League",
            "--phone",
            "4791234567",
            "--interval",
            "week",
            "--every",
            "2",
        ],
    );
    assert!(ok, "{out}{err}");
    let printed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(printed["agreementId"], "agr_1");

    let (ok, out, err) = vipps(
        &base,
        &[
            "charge",
            "create",
            "agr_1",
            "--amount",
            "49900",
            "--description",
            "October",
            "--due",
            "2026-10-01",
            "--order-id",
            "acme-1",
        ],
    );
    assert!(
        ok && out.contains("created charge acme-1 on agreement agr_1"),
        "{out}{err}"
    );
    let (ok, out, err) = vipps(&base, &["agreement", "stop", "agr_1"]);
    assert!(ok && out.contains("agreement agr_1 stopped"), "{out}{err}");
    let (ok, out, err) = vipps(&base, &["charge", "get", "agr_1", "chr-1"]);
    assert!(
        ok && out.contains("ON_HOLD") && out.contains("499.00 NOK"),
        "{out}{err}"
    );

    let seen = script.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 4);
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("POST", "/recurring/v3/agreements")
    );
    let draft = seen[0].json();
    assert_eq!(
        draft["pricing"],
        json!({"type": "LEGACY", "amount": 49900, "currency": "NOK"})
    );
    assert_eq!(draft["interval"], json!({"unit": "WEEK", "count": 2}));
    assert_eq!(draft["phoneNumber"], "4791234567");
    assert_eq!(draft["productName"], "Premier League");
    assert_eq!(seen[1].path, "/recurring/v3/agreements/agr_1/charges");
    assert_eq!(
        seen[1].json(),
        json!({"amount": 49900, "description": "October", "due": "2026-10-01", "retryDays": 2,
               "transactionType": "DIRECT_CAPTURE", "type": "RECURRING", "orderId": "acme-1"})
    );
    assert_eq!(
        (seen[2].method.as_str(), seen[2].path.as_str()),
        ("PATCH", "/recurring/v3/agreements/agr_1")
    );
    assert_eq!(seen[2].json(), json!({"status": "STOPPED"}));
    assert_eq!(
        (seen[3].method.as_str(), seen[3].path.as_str()),
        ("GET", "/recurring/v3/agreements/agr_1/charges/chr-1")
    );
    assert!(seen[..3].iter().all(|s| s.idempotency_key.is_some()));
    assert!(seen[3].idempotency_key.is_none());
}

#[test]
fn refusals_and_api_errors_exit_non_zero_with_the_reason() {
    let (_rt, base, script) = server(vec![(
        400,
        r#"{"type":"https://developer.vippsmobilepay.com/docs/APIs/recurring-api/recurring-api-problems#validation-error",
            "title":"Bad Request","status":400,"detail":"Charge is not RESERVED","contextId":"ctx-1234"}"#,
    )]);
    // Refused before sending: the amount is below the minimum.
    let (ok, out, err) = vipps(
        &base,
        &[
            "charge",
            "create",
            "agr_1",
            "--amount",
            "50",
            "--description",
            "x",
            "--due",
            "2026-10-01",
        ],
    );
    assert!(!ok, "{out}");
    assert!(err.contains("amount"), "{err}");
    let (ok, _, err) = vipps(
        &base,
        &[
            "charge",
            "create",
            "agr_1",
            "--amount",
            "5000",
            "--description",
            "x",
            "--due",
            "1.10.2026",
        ],
    );
    assert!(!ok && err.contains("YYYY-MM-DD"), "{err}");
    // No pricing at all: clap refuses it.
    let (ok, _, err) = vipps(&base, &["agreement", "create", "--product-name", "x"]);
    assert!(!ok && err.contains("--amount"), "{err}");
    assert!(script.seen.lock().unwrap().is_empty(), "nothing was sent");

    // The API's problem reaches the user.
    let (ok, out, err) = vipps(&base, &["charge", "capture", "agr_1", "chr-1", "--amount", "1000"]);
    assert!(!ok, "{out}");
    assert!(err.contains("400"), "{err}");
    assert!(
        err.contains("Charge is not RESERVED") || err.contains("Bad Request"),
        "{err}"
    );
    let seen = script.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/recurring/v3/agreements/agr_1/charges/chr-1/capture");
    assert_eq!(seen[0].json(), json!({"amount": 1000, "description": "Capture"}));
}
