//! A scripted HTTP server for the SDK's tests that need no emulator: it answers the token
//! endpoint (checking the client secret, a new token each time), records every other request
//! and answers each with the next scripted reply.
#![allow(dead_code)]

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use parking_lot::Mutex;
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use vipps::{Client, RetryPolicy};

/// A request the server received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
    pub fn idempotency_key(&self) -> Option<&str> {
        self.header("idempotency-key")
    }
    pub fn authorization(&self) -> Option<&str> {
        self.header("authorization")
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// What the server answers next.
#[derive(Clone)]
pub enum Reply {
    /// A status with a JSON body.
    Json(u16, &'static str),
    /// A status without a body.
    Empty(u16),
    /// A status with one more header and a JSON body.
    WithHeader(u16, &'static str, &'static str, &'static str),
    /// 200 `{}` after this long.
    Hang(Duration),
}

#[derive(Clone, Default)]
pub struct Script {
    pub replies: Arc<Mutex<VecDeque<Reply>>>,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    pub tokens: Arc<Mutex<u32>>,
}

impl Script {
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().clone()
    }
}

async fn token(State(s): State<Script>, headers: HeaderMap) -> Response {
    if headers.get("client_secret").map(|v| v.as_bytes()) != Some(b"s3cret-CLIENT") {
        return (
            StatusCode::UNAUTHORIZED,
            r#"{"statusCode":401,"message":"bad credentials"}"#,
        )
            .into_response();
    }
    let n = {
        let mut t = s.tokens.lock();
        *t += 1;
        *t
    };
    let body =
        format!(r#"{{"token_type":"Bearer","expires_in":"3600","ext_expires_in":"0","access_token":"tok-{n}"}}"#);
    (StatusCode::OK, [("content-type", "application/json")], body).into_response()
}

async fn any(State(s): State<Script>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    s.seen.lock().push(Seen {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        headers,
        body: body.to_vec(),
    });
    let reply = s
        .replies
        .lock()
        .pop_front()
        .unwrap_or(Reply::Json(500, r#"{"title":"script exhausted"}"#));
    let json = [("content-type", "application/json")];
    match reply {
        Reply::Json(st, b) => (StatusCode::from_u16(st).unwrap(), json, b).into_response(),
        Reply::Empty(st) => StatusCode::from_u16(st).unwrap().into_response(),
        Reply::WithHeader(st, k, v, b) => (StatusCode::from_u16(st).unwrap(), [(k, v)], json, b).into_response(),
        Reply::Hang(d) => {
            tokio::time::sleep(d).await;
            (StatusCode::OK, "{}").into_response()
        }
    }
}

/// A server on 127.0.0.1 that answers with `replies` in order; its URL and script.
pub async fn server(replies: Vec<Reply>) -> (String, Script) {
    let script = Script::default();
    script.replies.lock().extend(replies);
    let app = Router::new()
        .route("/accesstoken/get", post(token))
        .route("/gateway/accesstoken/get", post(token))
        .fallback(any)
        .with_state(script.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), script)
}

/// A client of `base` with fast retries (4 attempts) and a 5 s request timeout.
pub fn client(base: &str) -> Client {
    Client::builder()
        .client_id("client-id")
        .client_secret("s3cret-CLIENT")
        .subscription_key("s3cret-SUBKEY")
        .merchant_serial_number("123456")
        .base_url(base)
        .retry_policy(RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(20),
            overall_deadline: Some(Duration::from_secs(10)),
            honour_retry_after: true,
        })
        .request_timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}
