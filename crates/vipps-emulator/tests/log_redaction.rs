//! Merchant URLs may carry `user:password@` (accepted over https): the password is never in
//! the emulator's log lines nor in its delivery log (security issue, item 2). Alone in its
//! test binary because it installs the process-wide tracing subscriber.

mod common;

use common::H;
use parking_lot::Mutex;
use reqwest::Method;
use serde_json::json;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const PASSWORD: &str = "hunter2-very-secret";

#[tokio::test]
async fn passwords_in_merchant_urls_are_not_logged() {
    let buf = Buf::default();
    let writer = buf.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let h = H::start().await;
    h.emu.state().set_webhook_retry_schedule(vipps_emulator::RetrySchedule {
        max_attempts: 1,
        initial_backoff_ms: 1,
        max_backoff_ms: 1,
        timeout_ms: 2_000,
    });
    // https to a closed local port: the delivery fails fast, and is logged.
    let url = format!("https://merchant:{PASSWORD}@127.0.0.1:1/hooks");
    let r = h
        .req(Method::POST, "/webhooks/v1/webhooks")
        .json(&json!({"url": url, "events": ["epayments.payment.created.v1"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    h.created("redact-1", 1000).await;

    let deadline = Instant::now() + Duration::from_secs(10);
    let log = loop {
        let v = h.deliveries("webhook").await;
        let all = v["deliveries"].as_array().unwrap().clone();
        if !all.is_empty() && all.iter().all(|d| d["finished"] == true) {
            break v;
        }
        assert!(Instant::now() < deadline, "no delivery: {v}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(log["deliveries"][0]["url"], "https://127.0.0.1:1/hooks", "{log}");

    let text = String::from_utf8_lossy(&buf.0.lock()).into_owned();
    assert!(text.contains("webhook registered"), "the log line is captured: {text}");
    assert!(text.contains("127.0.0.1:1/hooks"), "{text}");
    assert!(!text.contains(PASSWORD), "{text}");
    assert!(!log.to_string().contains(PASSWORD), "{log}");
}
