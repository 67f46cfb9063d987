//! The Checkout handle against a tiny scripted server: methods, paths, headers (client
//! credentials, no bearer token), bodies; validation before sending; the callback
//! authorization helper; the polling helper with a fast cadence.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use vipps::checkout::{parse_callback, parse_dynamic_shipping_request, verify_callback_authorization, PollCadence};
use vipps::types::checkout::{
    InitiateSessionRequest, MerchantInfo, PaymentTransaction, SessionState, UpdateSessionRequest,
};
use vipps::types::{Amount, Reference};
use vipps::{Client, RetryPolicy};

const REF: &str = "acme-shop-123-order123abc";

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Clone, Default)]
struct Script {
    /// Replies to GET /checkout/v3/session/{ref}, in order; the last one repeats.
    sessions: Arc<Mutex<VecDeque<(u16, String)>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

fn session_json(state: &str) -> String {
    format!(
        r#"{{"sessionId":"v52EtjZriRmGiKiAKHByK2","merchantSerialNumber":"123456","reference":"{REF}","sessionState":"{state}",
            "paymentMethod":"Wallet","paymentDetails":{{"amount":{{"value":49900,"currency":"NOK"}},"state":"{}"}},"someFutureField":true}}"#,
        if state == "PaymentSuccessful" {
            "AUTHORIZED"
        } else {
            "CREATED"
        }
    )
}

async fn handler(State(s): State<Script>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    s.seen.lock().push(Seen {
        method: method.to_string(),
        path: uri.path().to_owned(),
        headers,
        body: body.to_vec(),
    });
    let json = |st: u16, b: String| {
        (
            StatusCode::from_u16(st).unwrap(),
            [("content-type", "application/json")],
            b,
        )
            .into_response()
    };
    match (method.as_str(), uri.path()) {
        ("POST", "/checkout/v3/session") => json(
            200,
            format!(
                r#"{{"token":"eyJhbGciOi.x.y","checkoutFrontendUrl":"https://vippscheckout.vipps.no/v1/","pollingUrl":"http://localhost/checkout/v3/session/{REF}"}}"#
            ),
        ),
        ("GET", p) if p.starts_with("/checkout/v3/session/") => {
            let mut q = s.sessions.lock();
            let (st, b) = if q.len() > 1 {
                q.pop_front().unwrap()
            } else {
                q.front().cloned().unwrap_or((200, session_json("SessionCreated")))
            };
            json(st, b)
        }
        ("PATCH", p) if p.starts_with("/checkout/v3/session/") => StatusCode::OK.into_response(),
        ("POST", p) if p.ends_with("/expire") => StatusCode::NO_CONTENT.into_response(),
        _ => json(404, r#"{"title":"no route"}"#.into()),
    }
}

async fn server(sessions: Vec<(u16, String)>) -> (String, Script) {
    let script = Script::default();
    script.sessions.lock().extend(sessions);
    let app = Router::new().fallback(handler).with_state(script.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), script)
}

fn client(base: &str) -> Client {
    Client::builder()
        .client_id("client-id-1")
        .client_secret("s3cret-CLIENT")
        .subscription_key("s3cret-SUBKEY")
        .merchant_serial_number("123456")
        .base_url(base)
        .system("acme-shop", "1.2.3")
        .plugin("acme-checkout", "4.5.6")
        .retry_policy(RetryPolicy {
            max_attempts: 2,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
            overall_deadline: Some(Duration::from_secs(5)),
            honour_retry_after: false,
        })
        .request_timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

fn request() -> InitiateSessionRequest {
    InitiateSessionRequest::payment(
        MerchantInfo::new("https://example.com/cb", "https://example.com/return", "cb-token-123"),
        PaymentTransaction::new(Amount::nok(49900), Reference::new(REF).unwrap(), "One pair of socks"),
    )
}

fn assert_checkout_headers(s: &Seen) {
    assert_eq!(s.header("client_id"), Some("client-id-1"));
    assert_eq!(s.header("client_secret"), Some("s3cret-CLIENT"));
    assert_eq!(s.header("ocp-apim-subscription-key"), Some("s3cret-SUBKEY"));
    assert_eq!(s.header("merchant-serial-number"), Some("123456"));
    assert_eq!(s.header("vipps-system-name"), Some("acme-shop"));
    assert_eq!(s.header("vipps-system-version"), Some("1.2.3"));
    assert_eq!(s.header("vipps-system-plugin-name"), Some("acme-checkout"));
    assert_eq!(s.header("vipps-system-plugin-version"), Some("4.5.6"));
    assert_eq!(s.header("authorization"), None, "Checkout needs no bearer token");
}

#[tokio::test]
async fn create_get_update_expire() {
    let (base, script) = server(vec![(200, session_json("PaymentInitiated"))]).await;
    let c = client(&base);
    let checkout = c.checkout();

    let created = checkout.create_session(request()).await.unwrap();
    assert_eq!(created.checkout_frontend_url, "https://vippscheckout.vipps.no/v1/");
    assert_eq!(created.token, "eyJhbGciOi.x.y");
    let key = created.idempotency_key().unwrap().to_owned();

    let s = checkout.get_session(REF).await.unwrap();
    assert_eq!(s.session_state, SessionState::PaymentInitiated);
    assert_eq!(s.merchant_serial_number.as_deref(), Some("123456"));

    let upd = UpdateSessionRequest {
        transaction: PaymentTransaction {
            reference: None,
            ..PaymentTransaction::new(Amount::nok(59800), Reference::new(REF).unwrap(), "Two pairs of socks")
        },
    };
    let r = checkout.update_session(REF, upd).await.unwrap();
    assert_eq!(r.into_inner(), None);

    let r = checkout.expire_session(REF).await.unwrap();
    assert_eq!(r.status(), 204);

    let seen = script.seen.lock().clone();
    assert_eq!(seen.len(), 4, "no token fetch, one request per call");
    for s in &seen {
        assert_checkout_headers(s);
    }

    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("POST", "/checkout/v3/session")
    );
    assert_eq!(seen[0].header("idempotency-key"), Some(key.as_str()));
    assert_eq!(seen[0].header("content-type"), Some("application/json"));
    let body = seen[0].json();
    assert_eq!(body["type"], "PAYMENT");
    assert_eq!(body["reference"], REF);
    assert_eq!(body["merchantInfo"]["callbackUrl"], "https://example.com/cb");
    assert_eq!(body["merchantInfo"]["callbackAuthorizationToken"], "cb-token-123");
    assert_eq!(
        body["transaction"]["amount"],
        serde_json::json!({"currency": "NOK", "value": 49900})
    );
    assert_eq!(body["transaction"]["reference"], REF);
    assert_eq!(body["transaction"]["paymentDescription"], "One pair of socks");
    assert!(body.get("logistics").is_none(), "absent options are not sent as null");

    assert_eq!(
        (seen[1].method.as_str(), seen[1].path.as_str()),
        ("GET", "/checkout/v3/session/acme-shop-123-order123abc")
    );
    assert_eq!(seen[1].header("idempotency-key"), None);

    assert_eq!(
        (seen[2].method.as_str(), seen[2].path.as_str()),
        ("PATCH", "/checkout/v3/session/acme-shop-123-order123abc")
    );
    assert!(seen[2].header("idempotency-key").is_some());
    assert_eq!(
        seen[2].json(),
        serde_json::json!({"transaction": {"amount": {"currency": "NOK", "value": 59800}, "paymentDescription": "Two pairs of socks"}})
    );

    assert_eq!(
        (seen[3].method.as_str(), seen[3].path.as_str()),
        ("POST", "/checkout/v3/session/acme-shop-123-order123abc/expire")
    );
    assert!(seen[3].body.is_empty());
    assert!(seen[3].header("idempotency-key").is_some());
}

#[tokio::test]
async fn invalid_requests_are_not_sent() {
    let (base, script) = server(vec![]).await;
    let c = client(&base);
    let mut bad = request();
    bad.merchant_info.callback_url = "http://example.com/cb".into();
    let e = c.checkout().create_session(bad).await.unwrap_err();
    assert_eq!(e.validation_error().unwrap().field, "merchantInfo.callbackUrl");
    assert!(!e.may_have_reached_server());

    let e = c.checkout().get_session("short").await.unwrap_err();
    assert_eq!(e.validation_error().unwrap().field, "reference");
    let e = c.checkout().expire_session("has spaces in it").await.unwrap_err();
    assert_eq!(e.validation_error().unwrap().field, "reference");

    let upd = UpdateSessionRequest {
        transaction: PaymentTransaction::new(
            Amount::nok(100),
            Reference::new("some-other-reference").unwrap(),
            "Socks",
        ),
    };
    let e = c.checkout().update_session(REF, upd).await.unwrap_err();
    assert_eq!(e.validation_error().unwrap().field, "transaction.reference");
    assert!(script.seen.lock().is_empty());
}

#[tokio::test]
async fn checkout_problem_details_are_exposed() {
    let (base, _script) = server(vec![(
        404,
        r#"{"errorCode":"Session-00100","title":"Session expired or not known.","status":404,"instance":"urn:uuid:d1bb89d3-50ab-4e90-94c0-54a67da0a7ec"}"#.into(),
    )])
    .await;
    let e = client(&base).checkout().get_session(REF).await.unwrap_err();
    assert_eq!(e.status(), Some(404));
    assert_eq!(e.problem().unwrap().error_code.as_deref(), Some("Session-00100"));
    assert!(e.to_string().contains("Session-00100"), "{e}");
}

#[tokio::test]
async fn polling_returns_the_final_session() {
    let (base, script) = server(vec![
        (200, session_json("SessionCreated")),
        (503, r#"{"title":"busy"}"#.into()),
        (200, session_json("PaymentInitiated")),
        (200, session_json("PaymentSuccessful")),
    ])
    .await;
    let c = client(&base);
    let cadence = PollCadence::new(Duration::from_millis(20), Duration::from_millis(10));
    let started = std::time::Instant::now();
    let s = c
        .checkout()
        .with_poll_cadence(cadence)
        .wait_for_final_state(REF, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(s.session_state, SessionState::PaymentSuccessful);
    assert!(s.is_authorized());
    assert!(started.elapsed() >= Duration::from_millis(20 + 10));
    let gets = script.seen.lock().iter().filter(|s| s.method == "GET").count();
    assert_eq!(gets, 4, "one GET per state, plus the retried 503");
}

#[tokio::test]
async fn polling_times_out() {
    let (base, script) = server(vec![(200, session_json("PaymentInitiated"))]).await;
    let c = client(&base);
    let e = c
        .checkout()
        .with_poll_cadence(PollCadence::new(Duration::from_millis(10), Duration::from_millis(30)))
        .wait_for_final_state(REF, Duration::from_millis(100))
        .await
        .unwrap_err();
    assert!(e.is_timeout(), "{e}");
    let gets = script.seen.lock().len();
    assert!((2..=4).contains(&gets), "polled {gets} times");
}

#[tokio::test]
async fn polling_stops_on_a_non_transient_error() {
    let (base, script) = server(vec![
        (200, session_json("SessionCreated")),
        (
            404,
            r#"{"errorCode":"Session-00100","title":"Session expired or not known.","status":404}"#.into(),
        ),
    ])
    .await;
    let e = client(&base)
        .checkout()
        .with_poll_cadence(PollCadence::new(Duration::from_millis(1), Duration::from_millis(1)))
        .wait_for_final_state(REF, Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(404));
    assert_eq!(script.seen.lock().len(), 2);
}

#[test]
fn documented_cadence_is_the_default() {
    assert_eq!(
        PollCadence::default(),
        PollCadence::new(Duration::from_secs(5), Duration::from_secs(2))
    );
}

#[test]
fn callback_authorization() {
    let token = "c172ad8d-9499-41d4-b8ff-c689be6455e9";
    assert!(verify_callback_authorization(Some(token), token));
    assert!(!verify_callback_authorization(None, token));
    assert!(!verify_callback_authorization(Some(""), token));
    assert!(!verify_callback_authorization(
        Some("c172ad8d-9499-41d4-b8ff-c689be6455e8"),
        token
    ));
    assert!(!verify_callback_authorization(Some(&format!("Bearer {token}")), token));
    assert!(!verify_callback_authorization(Some(&token[..10]), token));
    assert!(
        !verify_callback_authorization(Some(""), ""),
        "an empty expected token never verifies"
    );
}

#[test]
fn callback_bodies_parse() {
    let s = parse_callback(session_json("PaymentTerminated").as_bytes()).unwrap();
    assert_eq!(s.session_state, SessionState::PaymentTerminated);
    assert!(s.is_final() && !s.is_authorized());
    let d = parse_dynamic_shipping_request(
        br#"{"streetAddress":"Robert Levins gate 5","postalCode":"0154","region":"Oslo","country":"NO","extra":1}"#,
    )
    .unwrap();
    assert_eq!((d.region.as_str(), d.country.as_str()), ("Oslo", "NO"));
}
