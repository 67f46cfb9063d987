//! The `VerifiedWebhook` axum extractor (feature `axum`).
#![cfg(feature = "axum")]

use axum::body::{to_bytes, Body};
use axum::extract::FromRef;
use axum::http::{Request, StatusCode};
use axum::routing::post;
use axum::Router;
use time::OffsetDateTime;
use tower::ServiceExt;
use vipps::types::epayment::{PaymentEventName, WebhookEvent};
use vipps::webhooks::{sign, VerifiedWebhook, WebhookVerifier};
use vipps::Secret;

const SECRET: &str = "090a478d-37ff-4e77-970e-d457aeb26a3a";
const EVENT: &str = r#"{"msn":"123456","reference":"acme-shop-123-order123abc","pspReference":"dd8e0a8e","name":"CAPTURED","amount":{"currency":"NOK","value":49900},"timestamp":"2026-01-19T16:26:32.099Z","idempotencyKey":"7c8b81e7","success":true}"#;

async fn hook(VerifiedWebhook(ev): VerifiedWebhook) -> String {
    assert_eq!(ev.name, PaymentEventName::Captured);
    format!("{} {}", ev.reference, ev.amount.value)
}

async fn any_json(VerifiedWebhook(v): VerifiedWebhook<serde_json::Value>) -> String {
    v["kind"].as_str().unwrap_or("?").to_owned()
}

fn app() -> Router {
    Router::new()
        .route("/hooks/vipps", post(hook))
        .route("/hooks/other", post(any_json))
        .with_state(WebhookVerifier::new(SECRET).unwrap())
}

fn signed(path: &str, host: &str, body: &str, secret: &str) -> Request<Body> {
    let s = sign(
        &Secret::new(secret),
        "POST",
        path,
        host,
        OffsetDateTime::now_utc(),
        body.as_bytes(),
    );
    let mut b = Request::builder()
        .method("POST")
        .uri(path)
        .header("host", host)
        .header("content-type", "application/json");
    for (k, v) in s.pairs() {
        b = b.header(k, v);
    }
    b.body(Body::from(body.to_owned())).unwrap()
}

async fn call(app: Router, req: Request<Body>) -> (StatusCode, String) {
    let resp = app.oneshot(req).await.unwrap();
    let status = resp.status();
    let body = to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn accepts_a_signed_delivery() {
    let (st, body) = call(app(), signed("/hooks/vipps", "example.com", EVENT, SECRET)).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body, "acme-shop-123-order123abc 49900");
}

#[tokio::test]
async fn rejects_tampering_with_401() {
    // Body changed after signing.
    let mut req = signed("/hooks/vipps", "example.com", EVENT, SECRET);
    *req.body_mut() = Body::from(EVENT.replace("49900", "1"));
    let (st, body) = call(app(), req).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert!(body.contains("x-ms-content-sha256"), "{body}");
    assert!(!body.contains(SECRET));

    // Signed by someone else.
    let (st, _) = call(app(), signed("/hooks/vipps", "example.com", EVENT, "not-the-secret")).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);

    // Signed for another host.
    let mut req = signed("/hooks/vipps", "example.com", EVENT, SECRET);
    req.headers_mut().insert("host", "evil.example".parse().unwrap());
    let (st, _) = call(app(), req).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);

    // Stale date (signed an hour ago).
    let s = sign(
        &Secret::new(SECRET),
        "POST",
        "/hooks/vipps",
        "example.com",
        OffsetDateTime::now_utc() - time::Duration::hours(1),
        EVENT.as_bytes(),
    );
    let mut b = Request::builder()
        .method("POST")
        .uri("/hooks/vipps")
        .header("host", "example.com");
    for (k, v) in s.pairs() {
        b = b.header(k, v);
    }
    let (st, body) = call(app(), b.body(Body::from(EVENT)).unwrap()).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert!(body.contains("tolerance"), "{body}");

    // No signature at all.
    let req = Request::builder()
        .method("POST")
        .uri("/hooks/vipps")
        .header("host", "example.com")
        .body(Body::from(EVENT))
        .unwrap();
    let (st, _) = call(app(), req).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn genuine_but_unparseable_body_is_400() {
    let (st, body) = call(app(), signed("/hooks/vipps", "example.com", r#"{"hello":1}"#, SECRET)).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    // Any JSON type works for other events.
    let (st, body) = call(
        app(),
        signed("/hooks/other", "example.com", r#"{"kind":"checked-in"}"#, SECRET),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(body, "checked-in");
}

#[derive(Clone)]
struct AppState {
    verifier: WebhookVerifier,
    #[allow(dead_code)]
    name: &'static str,
}

impl FromRef<AppState> for WebhookVerifier {
    fn from_ref(s: &AppState) -> Self {
        s.verifier.clone()
    }
}

async fn hook_with_state(VerifiedWebhook(ev): VerifiedWebhook<WebhookEvent>) -> String {
    ev.reference.to_string()
}

#[tokio::test]
async fn works_with_app_state_and_nested_routers() {
    let state = AppState {
        verifier: WebhookVerifier::new("old").unwrap().with_secret(SECRET).unwrap(),
        name: "shop",
    };
    let inner = Router::new().route("/vipps", post(hook_with_state));
    let app: Router = Router::new().nest("/hooks", inner).with_state(state);
    // Signed for the full public path, although the nested handler sees "/vipps".
    let (st, body) = call(app, signed("/hooks/vipps?env=test", "shop.example:8443", EVENT, SECRET)).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body, "acme-shop-123-order123abc");
}
