//! Transport behaviour against a scripted HTTP server: retries, idempotency keys,
//! the 401 refresh, Retry-After, timeouts, errors. (The emulator tests cover the API itself.)

mod scripted;

use scripted::{client, server, Reply};
use std::sync::Arc;
use std::time::Duration;
use vipps::types::Amount;
use vipps::{Client, ErrorKind, RetryPolicy};

const MOD_OK: &str = r#"{"amount":{"currency":"NOK","value":1000},"state":"AUTHORIZED","aggregate":{"authorizedAmount":{"currency":"NOK","value":1000},"cancelledAmount":{"currency":"NOK","value":0},"capturedAmount":{"currency":"NOK","value":500},"refundedAmount":{"currency":"NOK","value":0}},"pspReference":"p1","reference":"reference-123"}"#;

#[tokio::test]
async fn retries_5xx_with_the_same_idempotency_key() {
    let (base, script) = server(vec![
        Reply::Json(503, r#"{"title":"busy"}"#),
        Reply::Json(502, ""),
        Reply::Json(200, MOD_OK),
    ])
    .await;
    let c = client(&base);
    let r = c.epayment().capture("reference-123", Amount::nok(500)).await.unwrap();
    assert_eq!(r.attempts(), 3);
    let seen = script.seen.lock().clone();
    assert_eq!(seen.len(), 3);
    let key = r.idempotency_key().unwrap().to_owned();
    assert!(seen.iter().all(|s| s.idempotency_key() == Some(key.as_str())));
    assert!(seen
        .iter()
        .all(|s| s.method == "POST" && s.path == "/epayment/v1/payments/reference-123/capture"));
    let body: serde_json::Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"modificationAmount": {"currency": "NOK", "value": 500}})
    );
    assert_eq!(r.aggregate.captured_amount.value, 500);
}

#[tokio::test]
async fn a_base_url_with_a_path_prefixes_every_operation_and_the_token_request() {
    let (base, script) = server(vec![Reply::Json(200, MOD_OK)]).await;
    let c = client(&format!("{base}/gateway/"));
    c.epayment().capture("reference-123", Amount::nok(500)).await.unwrap();
    assert_eq!(*script.tokens.lock(), 1, "the token came from /gateway/accesstoken/get");
    let seen = script.seen.lock().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/gateway/epayment/v1/payments/reference-123/capture");
    assert_eq!(seen[0].authorization(), Some("Bearer tok-1"));
}

#[tokio::test]
async fn caller_key_is_used_and_4xx_is_not_retried() {
    let body = r#"{"type":"https://httpstatuses.io/400","title":"Capture amount too high","detail":"too much","status":400,"traceId":"00-abc-def-01","instance":"/v1/payments/reference-123/capture","extraDetails":[{"name":"ErrorCode","reason":"6090"}]}"#;
    let (base, script) = server(vec![Reply::Json(400, body), Reply::Json(200, MOD_OK)]).await;
    let c = client(&base);
    let err = c
        .epayment()
        .capture("reference-123", Amount::nok(500))
        .idempotency_key("my-key-1")
        .await
        .unwrap_err();
    assert_eq!(script.seen.lock().len(), 1);
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.error_code(), Some(6090));
    assert_eq!(err.trace_id(), Some("00-abc-def-01"));
    assert_eq!(err.idempotency_key(), Some("my-key-1"));
    assert!(!err.is_retryable());
    let text = err.to_string();
    assert!(
        text.contains("Capture amount too high") && text.contains("6090") && text.contains("my-key-1"),
        "{text}"
    );
    assert_eq!(script.seen.lock()[0].idempotency_key(), Some("my-key-1"));
}

#[tokio::test]
async fn a_401_refreshes_the_token_once_and_retries_once() {
    let (base, script) = server(vec![
        Reply::Json(401, r#"{"statusCode":401,"message":"expired"}"#),
        Reply::Json(200, MOD_OK),
    ])
    .await;
    let c = client(&base);
    c.epayment().capture("reference-123", Amount::nok(500)).await.unwrap();
    let seen = script.seen.lock().clone();
    assert_eq!(seen[0].authorization(), Some("Bearer tok-1"));
    assert_eq!(seen[1].authorization(), Some("Bearer tok-2"));
    assert_eq!(seen[0].idempotency_key(), seen[1].idempotency_key());

    // a second 401 in a row is returned, not looped on
    let (base, script) = server(vec![
        Reply::Json(401, r#"{"statusCode":401,"message":"no"}"#),
        Reply::Json(401, r#"{"statusCode":401,"message":"still no"}"#),
        Reply::Json(200, MOD_OK),
    ])
    .await;
    let err = client(&base)
        .epayment()
        .capture("reference-123", Amount::nok(500))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert_eq!(script.seen.lock().len(), 2);
    assert_eq!(*script.tokens.lock(), 2);
}

#[tokio::test]
async fn retry_after_is_honoured_on_429() {
    let (base, _script) = server(vec![
        Reply::WithHeader(429, "retry-after", "1", ""),
        Reply::Json(200, MOD_OK),
    ])
    .await;
    let c = client(&base);
    let started = std::time::Instant::now();
    let r = c
        .epayment()
        .capture("reference-123", Amount::nok(500))
        .retry_policy(RetryPolicy {
            max_backoff: Duration::from_secs(1),
            ..RetryPolicy::default()
        })
        .await
        .unwrap();
    assert_eq!(r.attempts(), 2);
    assert!(started.elapsed() >= Duration::from_millis(900));
}

#[tokio::test]
async fn per_request_timeout_and_the_error_says_it_may_have_reached_the_server() {
    let (base, script) = server(vec![
        Reply::Hang(Duration::from_secs(5)),
        Reply::Hang(Duration::from_secs(5)),
    ])
    .await;
    let c = client(&base);
    let err = c
        .epayment()
        .capture("reference-123", Amount::nok(500))
        .timeout(Duration::from_millis(100))
        .retry_policy(RetryPolicy {
            max_attempts: 2,
            initial_backoff: Duration::from_millis(1),
            ..RetryPolicy::default()
        })
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(err.may_have_reached_server());
    assert_eq!(err.attempts(), 2);
    let seen = script.seen.lock().clone();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].idempotency_key(), seen[1].idempotency_key());
    assert_eq!(err.idempotency_key(), seen[0].idempotency_key());
}

#[tokio::test]
async fn connection_refused_is_not_sent() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let c = Client::builder()
        .client_id("id")
        .client_secret("s3cret-CLIENT")
        .subscription_key("s3cret-SUBKEY")
        .merchant_serial_number("123456")
        .base_url(format!("http://{addr}"))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let err = c.epayment().get_payment("reference-123").await.unwrap_err();
    let ErrorKind::Connect(cause) = err.kind() else {
        panic!("{err:?}")
    };
    assert_eq!(
        cause.io_error_kind(),
        Some(std::io::ErrorKind::ConnectionRefused),
        "{err:?}"
    );
    assert!(!err.may_have_reached_server());
    assert!(!err.to_string().contains("s3cret"));
}

#[tokio::test]
async fn validation_fails_without_a_network_call() {
    let (base, script) = server(vec![]).await;
    let c = client(&base);
    let err = c.epayment().capture("bad ref!", Amount::nok(500)).await.unwrap_err();
    assert_eq!(err.validation_error().unwrap().field, "reference");
    let err = c.epayment().capture("reference-123", Amount::nok(0)).await.unwrap_err();
    assert_eq!(err.validation_error().unwrap().field, "modificationAmount.value");
    let err = c
        .epayment()
        .refund("reference-123", Amount::new(5, "SEK".into()))
        .await
        .unwrap_err();
    assert_eq!(err.validation_error().unwrap().field, "modificationAmount.currency");
    let err = c
        .epayment()
        .capture("reference-123", Amount::nok(1))
        .idempotency_key("x".repeat(51))
        .await
        .unwrap_err();
    assert_eq!(err.validation_error().unwrap().field, "Idempotency-Key");
    assert!(script.seen.lock().is_empty());
    assert_eq!(*script.tokens.lock(), 0);
}

#[tokio::test]
async fn decode_errors_name_the_json_path() {
    let (base, _s) = server(vec![Reply::Json(200, r#"{"amount":{"currency":"NOK","value":"ten"}}"#)]).await;
    let err = client(&base).epayment().get_payment("reference-123").await.unwrap_err();
    match err.kind() {
        ErrorKind::Decode { message, .. } => assert!(message.contains("amount.value"), "{message}"),
        k => panic!("unexpected {k:?}"),
    }
}

#[tokio::test]
async fn concurrent_cold_calls_fetch_one_token() {
    let replies = (0..200).map(|_| Reply::Json(200, MOD_OK)).collect();
    let (base, script) = server(replies).await;
    let c = client(&base);
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            c.epayment().capture("reference-123", Amount::nok(1)).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(*script.tokens.lock(), 1);
    assert_eq!(c.access_token_fetches(), 1);
}

#[tokio::test]
async fn token_errors_are_not_cached() {
    let (base, _s) = server(vec![Reply::Json(200, MOD_OK)]).await;
    let bad = Client::builder()
        .client_id("id")
        .client_secret("wrong-secret")
        .subscription_key("s3cret-SUBKEY")
        .merchant_serial_number("123456")
        .base_url(&base)
        .build()
        .unwrap();
    let e1 = bad.epayment().get_payment("reference-123").await.unwrap_err();
    assert_eq!(e1.status(), Some(401));
    let e2 = bad.epayment().get_payment("reference-123").await.unwrap_err();
    assert_eq!(e2.status(), Some(401));
    assert_eq!(bad.access_token_fetches(), 2);
}

#[tokio::test]
async fn force_approve_is_refused_in_production_without_sending() {
    let c = Client::builder()
        .client_id("id")
        .client_secret("s3cret-CLIENT")
        .subscription_key("s3cret-SUBKEY")
        .merchant_serial_number("123456")
        .environment(vipps::Environment::Production)
        .build()
        .unwrap();
    let err = c
        .epayment()
        .force_approve("reference-123", Default::default())
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Config(_)));
    assert!(!err.may_have_reached_server());
    assert_eq!(c.access_token_fetches(), 0);
}

/// A server that answers the token request, then answers every other request with a body
/// that does not end: chunks of 64 KiB, until the reader goes away or `CAP` bytes were sent
/// (the bound keeps a broken client from running the test forever). Gives the bytes written
/// of the endless answers.
async fn endless_server() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::Ordering;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    const CAP: usize = 1 << 30;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let written = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = written.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let count = count.clone();
            tokio::spawn(async move {
                let mut s = BufReader::new(stream);
                loop {
                    let mut head = String::new();
                    while !head.ends_with("\r\n\r\n") {
                        if s.read_line(&mut head).await.unwrap_or(0) == 0 {
                            return;
                        }
                    }
                    // Token requests carry no body worth reading (the client sends
                    // `Content-Length: 0`).
                    if head.contains("/accesstoken/get") {
                        let body =
                            r#"{"token_type":"Bearer","expires_in":"3600","ext_expires_in":"0","access_token":"tok"}"#;
                        let answer = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if s.get_mut().write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                        continue;
                    }
                    let s = s.get_mut();
                    if s.write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
                    )
                    .await
                    .is_err()
                    {
                        return;
                    }
                    let chunk = format!("10000\r\n{}\r\n", " ".repeat(0x10000));
                    while count.load(Ordering::Relaxed) < CAP {
                        if s.write_all(chunk.as_bytes()).await.is_err() {
                            return;
                        }
                        count.fetch_add(0x10000, Ordering::Relaxed);
                    }
                    return;
                }
            });
        }
    });
    (format!("http://{addr}"), written)
}

#[tokio::test]
async fn an_endless_answer_stops_at_the_body_limit_with_a_transport_error() {
    let (base, written) = endless_server().await;
    let c = Client::builder()
        .client_id("client-id")
        .client_secret("s3cret-CLIENT")
        .subscription_key("s3cret-SUBKEY")
        .merchant_serial_number("123456")
        .base_url(&base)
        .max_response_bytes(1 << 20)
        .request_timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let err = c.epayment().get_payment("reference-123").await.unwrap_err();
    match err.kind() {
        ErrorKind::Transport(e) => assert_eq!(e.to_string(), "response body too large"),
        k => panic!("unexpected {k:?}"),
    }
    let chain = format!(
        "{err} {:?} {}",
        err,
        std::error::Error::source(&err).unwrap().source().unwrap()
    );
    assert!(chain.contains("limit of 1048576 bytes"), "{chain}");
    assert!(!chain.contains("s3cret"), "{chain}");
    // Not retried: a second attempt would most likely be as large.
    assert_eq!(err.attempts(), 1);
    assert!(!err.is_retryable(), "an answer over the limit would be as large again");
    // The client stopped reading near the limit: what the server got out is the limit plus
    // what the sockets' buffers hold, far from the 1 GiB it would have sent.
    let sent = written.load(std::sync::atomic::Ordering::Relaxed);
    assert!(sent < 64 << 20, "the server sent {sent} bytes");

    // The default limit applies without the setting too.
    let err = client(&base).epayment().get_payment("reference-123").await.unwrap_err();
    assert!(err.to_string().contains("response body too large"), "{err}");
}

#[tokio::test]
async fn a_content_length_over_the_limit_is_refused_before_reading() {
    let (base, _script) = server(vec![Reply::Json(200, MOD_OK)]).await;
    let c = Client::builder()
        .client_id("client-id")
        .client_secret("s3cret-CLIENT")
        .subscription_key("s3cret-SUBKEY")
        .merchant_serial_number("123456")
        .base_url(&base)
        .max_response_bytes(100)
        .build()
        .unwrap();
    // The token answer (about 100 bytes) fits; MOD_OK does not.
    let err = c.epayment().get_payment("reference-123").await.unwrap_err();
    assert!(err.to_string().contains("response body too large"), "{err}");
}

#[tokio::test]
async fn a_401_is_not_repeated_for_a_call_without_an_idempotency_key() {
    // Force approve carries no key: sent again after a 401, it could act twice.
    let (base, script) = server(vec![
        Reply::Json(401, r#"{"statusCode":401,"message":"expired"}"#),
        Reply::Json(200, ""),
    ])
    .await;
    let c = client(&base);
    let err = c
        .epayment()
        .force_approve("reference-123", vipps::types::epayment::ForceApproveRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(401), "{err}");
    assert_eq!(script.seen.lock().len(), 1, "the keyless POST was sent exactly once");
    assert_eq!(err.attempts(), 1);
    // The refused token is not used again: the next call fetches a new one.
    c.epayment()
        .force_approve("reference-123", vipps::types::epayment::ForceApproveRequest::default())
        .await
        .unwrap();
    let seen = script.seen.lock().clone();
    assert_eq!(seen[0].authorization(), Some("Bearer tok-1"));
    assert_eq!(seen[1].authorization(), Some("Bearer tok-2"));
}
