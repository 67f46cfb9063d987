//! The control plane cannot be driven by a web page (security issue, item 4): a state-changing
//! `/_emulator` request with a foreign `Origin` is refused, and so is any `/_emulator` request
//! whose `Host` is not one of the emulator's own names (DNS rebinding). Tools that send no
//! `Origin` keep working.

mod common;

use common::{problem, H};
use vipps_emulator::EmulatorConfig;

async fn offset(h: &H) -> i64 {
    h.clock().await["offsetSeconds"].as_i64().unwrap()
}

/// The simple cross-site request a page can send without a preflight.
fn advance(h: &H) -> reqwest::RequestBuilder {
    h.http
        .post(h.url("/_emulator/clock/advance"))
        .header("content-type", "text/plain")
        .body(r#"{"seconds": 60}"#)
}

#[tokio::test]
async fn a_foreign_origin_cannot_change_state() {
    let h = H::start().await;
    for origin in [
        "https://evil.example",
        "null",
        "http://127.0.0.1:1",
        "http://localhost.evil.example",
    ] {
        let r = advance(&h).header("origin", origin).send().await.unwrap();
        let p = problem(r, 403, None).await;
        assert!(p["detail"].as_str().unwrap().contains("origin"), "{p}");
    }
    assert_eq!(offset(&h).await, 0, "the clock did not move");
    let r = h
        .http
        .post(h.url("/_emulator/reset"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    problem(r, 403, None).await;

    // Reads are not refused for their Origin (a page cannot read the answer without CORS).
    let r = h
        .http
        .get(h.url("/_emulator/clock"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The emulator's own origin, and no Origin at all (curl, SDKs), work.
    let r = advance(&h).header("origin", h.emu.base_url()).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = advance(&h).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(offset(&h).await, 120);
}

#[tokio::test]
async fn a_foreign_host_is_refused() {
    let h = H::start().await;
    let port = h.emu.addr().port();
    for host in [
        "attacker.example",
        "127.0.0.1.attacker.example",
        "localhost.attacker.example:80",
    ] {
        let r = h
            .http
            .get(h.url("/_emulator/clock"))
            .header("host", host)
            .send()
            .await
            .unwrap();
        let p = problem(r, 403, None).await;
        assert!(p["detail"].as_str().unwrap().contains("Host"), "{p}");
        let r = advance(&h)
            .header("host", format!("{host}:{port}"))
            .send()
            .await
            .unwrap();
        problem(r, 403, None).await;
    }
    assert_eq!(offset(&h).await, 0);
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        "LOCALHOST".to_owned(),
    ] {
        let r = h
            .http
            .get(h.url("/_emulator/clock"))
            .header("host", &host)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{host}");
    }
    // The APIs are not behind this check (they authenticate every call).
    let r = h.http.get(h.url("/_emulator/health")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = h
        .req(reqwest::Method::GET, "/epayment/v1/payments/no-such-payment")
        .header("host", "attacker.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn the_public_url_host_and_origin_are_the_emulators_own() {
    let h = H::with(EmulatorConfig {
        public_url: Some("https://emu.example.test".into()),
        ..EmulatorConfig::default()
    })
    .await;
    let r = advance(&h)
        .header("host", "emu.example.test")
        .header("origin", "https://emu.example.test")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = advance(&h)
        .header("origin", "https://other.example.test")
        .send()
        .await
        .unwrap();
    problem(r, 403, None).await;
    assert_eq!(offset(&h).await, 60);
}
