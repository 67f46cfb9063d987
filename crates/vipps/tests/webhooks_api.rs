//! The Webhooks API calls (register, list, delete) against a tiny scripted server.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use axum::Router;
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Duration;
use vipps::types::webhooks::{RegisterWebhookRequest, WebhookEventType};
use vipps::{Client, ErrorKind, RetryPolicy};

#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    uri: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

#[derive(Clone, Default)]
struct Srv {
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Srv {
    fn record(&self, method: Method, uri: &Uri, headers: HeaderMap, body: &[u8]) {
        self.seen.lock().push(Seen {
            method,
            uri: uri.to_string(),
            headers,
            body: body.to_vec(),
        });
    }
    fn take(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.seen.lock())
    }
}

const ID: &str = "497f6eca-6276-4993-bfeb-53cbbbba6f08";

async fn token() -> Response {
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        r#"{"token_type":"Bearer","expires_in":"3600","ext_expires_in":"0","access_token":"tok-1"}"#,
    )
        .into_response()
}

async fn register(State(s): State<Srv>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    s.record(method, &uri, headers, &body);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    if v["url"] == "https://example.com/bad" {
        return (
            StatusCode::BAD_REQUEST,
            [("content-type", "application/problem+json")],
            r#"{"type":"x","title":"Bad Request","status":400,"detail":"One or more validation errors occurred.","traceId":"trace-1","extraDetails":[{"name":"url","reason":"not reachable"}]}"#,
        )
            .into_response();
    }
    (
        StatusCode::CREATED,
        [("content-type", "application/json")],
        format!(r#"{{"id":"{ID}","secret":"090a478d-37ff-4e77-970e-d457aeb26a3a"}}"#),
    )
        .into_response()
}

async fn list(State(s): State<Srv>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    s.record(method, &uri, headers, &body);
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        format!(
            r#"{{"webhooks":[{{"id":"{ID}","url":"https://example.com/hook","events":["epayments.payment.authorized.v1","recurring.charge-canceled.v1","brand.new.event.v9"]}}]}}"#
        ),
    )
        .into_response()
}

async fn remove(
    State(s): State<Srv>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    s.record(method, &uri, headers, &body);
    if id == ID {
        StatusCode::NO_CONTENT.into_response()
    } else {
        (
            StatusCode::NOT_FOUND,
            [("content-type", "application/problem+json")],
            r#"{"title":"Not Found","status":404}"#,
        )
            .into_response()
    }
}

async fn server() -> (Client, Srv) {
    let srv = Srv::default();
    let app = Router::new()
        .route("/accesstoken/get", post(token))
        .route("/webhooks/v1/webhooks", post(register).get(list))
        .route("/webhooks/v1/webhooks/{id}", delete(remove))
        .with_state(srv.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = Client::builder()
        .client_id("client-id")
        .client_secret("s3cret-CLIENT")
        .subscription_key("s3cret-SUBKEY")
        .merchant_serial_number("123456")
        .base_url(format!("http://{addr}"))
        .system("sdk-tests", "1")
        .retry_policy(RetryPolicy {
            max_attempts: 2,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
            overall_deadline: Some(Duration::from_secs(10)),
            honour_retry_after: true,
        })
        .build()
        .unwrap();
    (client, srv)
}

fn h<'a>(s: &'a Seen, name: &str) -> Option<&'a str> {
    s.headers.get(name).map(|v| v.to_str().unwrap())
}

fn common_headers(s: &Seen) {
    assert_eq!(h(s, "authorization"), Some("Bearer tok-1"));
    assert_eq!(h(s, "ocp-apim-subscription-key"), Some("s3cret-SUBKEY"));
    assert_eq!(h(s, "merchant-serial-number"), Some("123456"));
    assert_eq!(h(s, "vipps-system-name"), Some("sdk-tests"));
}

#[tokio::test]
async fn register_posts_the_request_with_an_idempotency_key() {
    let (c, srv) = server().await;
    let req = RegisterWebhookRequest::new(
        "https://example.com/hooks/vipps",
        [WebhookEventType::EpaymentAuthorized, WebhookEventType::EpaymentCaptured],
    );
    let r = c.webhooks().register(req).await.unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.id, ID);
    assert_eq!(r.secret, "090a478d-37ff-4e77-970e-d457aeb26a3a");
    assert!(!format!("{r:?}").contains("090a478d"));
    let key = r.idempotency_key().unwrap().to_owned();

    let seen = srv.take();
    assert_eq!(seen.len(), 1);
    let s = &seen[0];
    assert_eq!(s.method, Method::POST);
    assert_eq!(s.uri, "/webhooks/v1/webhooks");
    common_headers(s);
    assert_eq!(h(s, "idempotency-key"), Some(key.as_str()));
    assert_eq!(h(s, "content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_slice(&s.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "url": "https://example.com/hooks/vipps",
            "events": ["epayments.payment.authorized.v1", "epayments.payment.captured.v1"]
        })
    );

    // A caller-chosen key is sent as is.
    c.webhooks()
        .register(RegisterWebhookRequest::new(
            "https://example.com/h2",
            [WebhookEventType::UserCheckedIn],
        ))
        .idempotency_key("my-key-1")
        .await
        .unwrap();
    assert_eq!(h(&srv.take()[0], "idempotency-key"), Some("my-key-1"));
}

#[tokio::test]
async fn invalid_registrations_are_not_sent() {
    let (c, srv) = server().await;
    for (req, field) in [
        (
            RegisterWebhookRequest::new("http://example.com/h", [WebhookEventType::EpaymentCreated]),
            "url",
        ),
        (RegisterWebhookRequest::new("https://example.com/h", []), "events"),
        (
            RegisterWebhookRequest::new("https://example.com/h", [WebhookEventType::from("made.up.v1")]),
            "events[0]",
        ),
    ] {
        let e = c.webhooks().register(req).await.unwrap_err();
        assert_eq!(e.validation_error().unwrap().field, field);
        assert!(!e.may_have_reached_server());
    }
    assert!(srv.take().is_empty());
}

#[tokio::test]
async fn register_error_is_a_problem() {
    let (c, _srv) = server().await;
    let e = c
        .webhooks()
        .register(RegisterWebhookRequest::new(
            "https://example.com/bad",
            [WebhookEventType::EpaymentCreated],
        ))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(400));
    assert_eq!(e.trace_id(), Some("trace-1"));
    assert!(matches!(e.kind(), ErrorKind::Api { .. }));
    assert_eq!(e.problem().unwrap().extra_details[0].name, "url");
}

#[tokio::test]
async fn list_gets_the_registrations() {
    let (c, srv) = server().await;
    let r = c.webhooks().list().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.webhooks.len(), 1);
    let w = &r.webhooks[0];
    assert_eq!(w.id, ID);
    assert_eq!(w.url, "https://example.com/hook");
    assert_eq!(w.events[0], WebhookEventType::EpaymentAuthorized);
    assert_eq!(w.events[1], WebhookEventType::RecurringChargeCanceled);
    assert_eq!(w.events[2], WebhookEventType::Unknown("brand.new.event.v9".into()));
    assert_eq!(r.idempotency_key(), None);

    let seen = srv.take();
    let s = &seen[0];
    assert_eq!(s.method, Method::GET);
    assert_eq!(s.uri, "/webhooks/v1/webhooks");
    common_headers(s);
    assert_eq!(h(s, "idempotency-key"), None);
    assert!(s.body.is_empty());
}

#[tokio::test]
async fn delete_sends_delete_and_accepts_204() {
    let (c, srv) = server().await;
    let r = c.webhooks().delete(ID).await.unwrap();
    assert_eq!(r.status(), 204);
    let seen = srv.take();
    let s = &seen[0];
    assert_eq!(s.method, Method::DELETE);
    assert_eq!(s.uri, format!("/webhooks/v1/webhooks/{ID}"));
    common_headers(s);
    assert!(s.body.is_empty());

    let e = c
        .webhooks()
        .delete("00000000-0000-0000-0000-000000000000")
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(404));
    srv.take();

    // Ids that are not a safe path segment are rejected before sending.
    for bad in ["", "../accesstoken/get", "a/b", "id?x=1", "with space", &"a".repeat(65)] {
        let e = c.webhooks().delete(bad).await.unwrap_err();
        assert_eq!(e.validation_error().unwrap().field, "id", "{bad}");
    }
    assert!(srv.take().is_empty());
}
