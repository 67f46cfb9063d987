//! Deliveries in flight are capped (security issue, item 3): a receiver that accepts
//! connections and never answers must not make the emulator open a socket per payment.
//! The receiver here counts the sockets open at once.

mod common;

use common::H;
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The client closes a timed-out socket on its connection task, a moment after the request
/// gave up (and its permit went to the next one): a socket that closes within this long after
/// another is accepted is counted as the slot that one took over, not as a second one open.
const CLOSE_GRACE: Duration = Duration::from_millis(30);

#[derive(Default)]
struct Counts {
    /// When each socket was accepted and, once it was, closed.
    sockets: parking_lot::Mutex<Vec<(Instant, Option<Instant>)>>,
    /// Whether the receiver answers (204) or holds every request unanswered.
    answer: AtomicBool,
}

/// A receiver on 127.0.0.1 that reads requests and, unless `answer` is set, never replies.
async fn black_hole() -> (String, Arc<Counts>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let counts = Arc::new(Counts::default());
    let c = Arc::clone(&counts);
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let slot = {
                let mut sockets = c.sockets.lock();
                sockets.push((Instant::now(), None));
                sockets.len() - 1
            };
            let c = Arc::clone(&c);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                    // One whole request (headers and Content-Length body) at a time.
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if buf.len() < end + 4 + len || !c.answer.load(Ordering::SeqCst) {
                            break;
                        }
                        buf.drain(..end + 4 + len);
                        let ok = b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n";
                        if sock.write_all(ok).await.is_err() {
                            break;
                        }
                    }
                }
                c.sockets.lock()[slot].1 = Some(Instant::now());
            });
        }
    });
    (format!("http://{addr}/hook"), counts)
}

impl Counts {
    /// The most sockets open at once: at each accept, those accepted by then and not closed
    /// within `CLOSE_GRACE` of it.
    fn max_open(&self) -> usize {
        let sockets = self.sockets.lock();
        sockets
            .iter()
            .map(|&(t, _)| {
                sockets
                    .iter()
                    .filter(|&&(a, closed)| a <= t && closed.is_none_or(|c| c > t + CLOSE_GRACE))
                    .count()
            })
            .max()
            .unwrap_or(0)
    }
}

async fn settled(h: &H, attempts: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let v = h.deliveries("webhook").await;
        let all = v["deliveries"].as_array().unwrap().clone();
        if all.len() >= attempts && all.iter().all(|d| d["finished"] == true) {
            return all;
        }
        assert!(Instant::now() < deadline, "deliveries did not settle: {v}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_to_a_black_hole_are_capped_per_host() {
    capped(
        vipps_emulator::EmulatorConfig {
            max_deliveries_per_host: 3,
            ..Default::default()
        },
        3,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_to_a_black_hole_are_capped_overall() {
    capped(
        vipps_emulator::EmulatorConfig {
            max_deliveries_in_flight: 2,
            ..Default::default()
        },
        2,
    )
    .await;
}

/// 12 payments' events to a receiver that never answers: at most `cap` sockets open at once,
/// and every delivery finishes (timed out); then the receiver answers and events go through.
async fn capped(config: vipps_emulator::EmulatorConfig, cap: usize) {
    const PAYMENTS: usize = 12;
    let h = H::with(config).await;
    h.emu.state().set_webhook_retry_schedule(vipps_emulator::RetrySchedule {
        max_attempts: 1,
        initial_backoff_ms: 1,
        max_backoff_ms: 1,
        timeout_ms: 250,
    });
    let (url, counts) = black_hole().await;
    let r = h
        .req(Method::POST, "/webhooks/v1/webhooks")
        .json(&json!({"url": url, "events": ["epayments.payment.created.v1", "epayments.payment.authorized.v1"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    for i in 0..PAYMENTS {
        h.created(&format!("cap-ref-{i:04}"), 1000).await;
    }
    let all = settled(&h, PAYMENTS).await;
    assert_eq!(all.len(), PAYMENTS, "one attempt each");
    assert!(all.iter().all(|d| d["error"] == "timed out"), "{all:?}");
    let max = counts.max_open();
    assert!(max <= cap, "{max} sockets open at once, cap {cap}");
    assert_eq!(max, cap, "the cap is used, not just one socket at a time");

    // The receiver answers now: new payments' events go through behind the cap, each after
    // its payment's earlier event. (The first payments' later events stay blocked: their
    // first event was never delivered.)
    counts.answer.store(true, Ordering::SeqCst);
    for i in 0..PAYMENTS {
        let reference = format!("cap-new-{i:04}");
        h.created(&reference, 1000).await;
        let r = h.approve(&reference).await;
        assert_eq!(r.status(), 200);
    }
    let all = settled(&h, 3 * PAYMENTS).await;
    for i in 0..PAYMENTS {
        let reference = format!("cap-new-{i:04}");
        let mine: Vec<&Value> = all.iter().filter(|d| d["reference"] == reference.as_str()).collect();
        let events: Vec<&str> = mine.iter().map(|d| d["event"].as_str().unwrap_or("")).collect();
        assert_eq!(events.len(), 2, "{reference}: {events:?}");
        assert!(
            events[0].contains("created") && events[1].contains("authorized"),
            "{events:?}"
        );
        assert!(mine.iter().all(|d| d["success"] == true), "{mine:?}");
    }
    // Answered sockets stay open for reuse: at most `cap` in flight and (for the one
    // receiver here) at most `cap` idle ones.
    let max = counts.max_open();
    assert!(max <= 2 * cap, "{max} sockets open at once, cap {cap}");
}
