//! State kept in a data dir (issue 18): what a restart on the same dir finds.

mod common;

use common::H;
use reqwest::Method;
use serde_json::{json, Value};
use std::path::PathBuf;
use vipps_emulator::EmulatorConfig;

const DAY: i64 = 86_400;

/// A fresh data dir, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!(
            "vipps-persistence-{name}-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        Dir(d)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn config() -> EmulatorConfig {
    EmulatorConfig {
        token_ttl_secs: 400 * DAY,
        ..EmulatorConfig::default()
    }
}

#[tokio::test]
async fn payments_idempotency_records_and_the_clock_survive_a_restart() {
    let dir = Dir::new("payments");
    let h = H::on_dir(config(), &dir.0).await;
    h.authorized("persist-ref-1", 1000).await;
    assert_eq!(
        h.modify("persist-ref-1", "capture", 600, "cap-key-1").await.status(),
        200
    );
    assert_eq!(
        h.modify("persist-ref-1", "refund", 200, "ref-key-1").await.status(),
        200
    );
    h.created("persist-ref-2", 500).await;
    h.advance(60).await;
    let before = h.get("persist-ref-1").await;
    let events_before = h.events("persist-ref-1").await;
    let clock_before = h.clock().await;

    let h = h.restart(config(), &dir.0).await;
    // The old token is still good: the signing key persisted.
    assert_eq!(h.get("persist-ref-1").await, before);
    assert_eq!(h.events("persist-ref-1").await, events_before);
    let clock = h.clock().await;
    assert!(
        clock["offsetSeconds"].as_i64() >= clock_before["offsetSeconds"].as_i64(),
        "{clock} {clock_before}"
    );
    // A retry with the same key replays; another amount with it is refused; nothing moved.
    assert_eq!(
        h.modify("persist-ref-1", "capture", 600, "cap-key-1").await.status(),
        200
    );
    assert_eq!(
        h.modify("persist-ref-1", "capture", 100, "cap-key-1").await.status(),
        409
    );
    assert_eq!(h.get("persist-ref-1").await["aggregate"], before["aggregate"]);
    // A reference that exists is still taken.
    assert_eq!(h.create("persist-ref-1", 1000, "another-key").await.status(), 409);
    // The payment left CREATED still expires by the clock.
    assert_eq!(h.get("persist-ref-2").await["state"], "CREATED");
    h.advance(3600).await;
    assert_eq!(h.get("persist-ref-2").await["state"], "EXPIRED");
}

#[tokio::test]
async fn changes_after_a_restart_persist_too_and_reset_empties_the_dir() {
    let dir = Dir::new("reset");
    let h = H::on_dir(config(), &dir.0).await;
    h.authorized("persist-ref-3", 1000).await;
    let h = h.restart(config(), &dir.0).await;
    assert_eq!(h.modify("persist-ref-3", "capture", 1000, "cap-3").await.status(), 200);
    let h = h.restart(config(), &dir.0).await;
    assert_eq!(
        h.get("persist-ref-3").await["aggregate"]["capturedAmount"]["value"],
        1000
    );
    let r = h.http.post(h.url("/_emulator/reset")).send().await.unwrap();
    assert!(r.status().is_success());
    let h = h.restart(config(), &dir.0).await;
    let r = h
        .req(Method::GET, "/epayment/v1/payments/persist-ref-3")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn a_second_emulator_on_the_same_dir_is_refused() {
    let dir = Dir::new("lock");
    let _h = H::on_dir(config(), &dir.0).await;
    let err = vipps_emulator::Emulator::builder()
        .data_dir(&dir.0)
        .start()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("in use by another emulator"), "{err}");
}

const A: &str = "/recurring/v3/agreements";

#[tokio::test]
async fn agreements_charges_and_the_clocks_work_queue_survive_a_restart() {
    let dir = Dir::new("recurring");
    let h = H::on_dir(config(), &dir.0).await;
    let draft = json!({
        "pricing": {"type": "LEGACY", "amount": 49900, "currency": "NOK"},
        "interval": {"unit": "MONTH", "count": 1},
        "merchantRedirectUrl": "https://example.com/redirect",
        "merchantAgreementUrl": "https://example.com/agreement",
        "productName": "Persisted subscription",
        "phoneNumber": "4791234567"
    });
    let r = h.send(Method::POST, A, Some(draft)).await;
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["agreementId"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = h
        .send(
            Method::PATCH,
            &format!("{A}/{id}/accept"),
            Some(json!({"phoneNumber": "4791234567"})),
        )
        .await;
    assert_eq!(r.status(), 204);
    let clock = h.clock().await;
    let today = time::OffsetDateTime::parse(
        clock["now"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
    .date();
    let charge = |days: i64| {
        json!({"amount": 49900, "description": "Month", "due": (today + time::Duration::days(days)).to_string(),
               "retryDays": 0, "transactionType": "DIRECT_CAPTURE"})
    };
    let r = h
        .send(Method::POST, &format!("{A}/{id}/charges"), Some(charge(2)))
        .await;
    assert_eq!(r.status(), 201);
    let first = r.json::<Value>().await.unwrap()["chargeId"]
        .as_str()
        .unwrap()
        .to_owned();
    h.advance(3 * DAY).await;
    let r = h
        .send(Method::POST, &format!("{A}/{id}/charges"), Some(charge(5)))
        .await;
    assert_eq!(r.status(), 201);
    let second = r.json::<Value>().await.unwrap()["chargeId"]
        .as_str()
        .unwrap()
        .to_owned();
    let agreement = h.get_json(&format!("{A}/{id}")).await;
    let charged = h.get_json(&format!("{A}/{id}/charges/{first}")).await;
    assert_eq!(charged["status"], "CHARGED");

    let h = h.restart(config(), &dir.0).await;
    assert_eq!(h.get_json(&format!("{A}/{id}")).await, agreement);
    assert_eq!(h.get_json(&format!("{A}/{id}/charges/{first}")).await, charged);
    assert_eq!(h.get_json(&format!("{A}/{id}/charges/{second}")).await["status"], "DUE");
    // The second charge's attempt was queued before the restart and still happens.
    h.advance(6 * DAY).await;
    assert_eq!(
        h.get_json(&format!("{A}/{id}/charges/{second}")).await["status"],
        "CHARGED"
    );
    // New charges get ids that do not collide with the old ones.
    let r = h
        .send(Method::POST, &format!("{A}/{id}/charges"), Some(charge(12)))
        .await;
    assert_eq!(r.status(), 201);
    let list = h.get_json(&format!("{A}/{id}/charges")).await;
    assert_eq!(list.as_array().unwrap().len(), 3, "{list}");
}

/// `GET /_emulator/snapshot`: the document's bytes.
async fn snapshot(h: &H) -> Vec<u8> {
    let r = h.http.get(h.url("/_emulator/snapshot")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.bytes().await.unwrap().to_vec()
}

/// What a snapshot must give back: two payments, an event log, an agreement, the webhooks.
async fn snapshot_reads(h: &H, agreement_id: &str) -> (Value, Vec<Value>, Value, Value, Value) {
    (
        h.get("snap-ref-1").await,
        h.events("snap-ref-1").await,
        h.get("snap-ref-2").await,
        h.get_json(&format!("{A}/{agreement_id}")).await,
        h.get_json("/webhooks/v1/webhooks").await,
    )
}

#[tokio::test]
async fn a_snapshot_round_trips_through_a_reset() {
    let h = H::with(config()).await;
    h.authorized("snap-ref-1", 1000).await;
    assert_eq!(h.modify("snap-ref-1", "capture", 400, "snap-cap").await.status(), 200);
    h.created("snap-ref-2", 300).await;
    let hook = h
        .req(Method::POST, "/webhooks/v1/webhooks")
        .json(&json!({"url": "https://example.com/hook", "events": ["epayments.payment.captured.v1"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(hook.status(), 201);
    let draft = json!({
        "pricing": {"type": "LEGACY", "amount": 49900, "currency": "NOK"},
        "interval": {"unit": "MONTH", "count": 1},
        "merchantRedirectUrl": "https://example.com/redirect",
        "merchantAgreementUrl": "https://example.com/agreement",
        "productName": "Snapshot subscription"
    });
    let r = h.send(Method::POST, A, Some(draft)).await;
    let agreement_id = r.json::<Value>().await.unwrap()["agreementId"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = snapshot_reads(&h, &agreement_id).await;
    let snapshot = snapshot(&h).await;
    let doc: Value = serde_json::from_slice(&snapshot).unwrap();
    assert_eq!(doc["vippsEmulatorSnapshot"], 1);
    assert!(
        !String::from_utf8_lossy(&snapshot).contains("token_key"),
        "the token key stays out"
    );

    assert!(h
        .http
        .post(h.url("/_emulator/reset"))
        .send()
        .await
        .unwrap()
        .status()
        .is_success());
    assert_eq!(
        h.req(Method::GET, "/epayment/v1/payments/snap-ref-1")
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let r = h
        .http
        .post(h.url("/_emulator/snapshot"))
        .body(snapshot.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204, "{}", r.text().await.unwrap());
    assert_eq!(snapshot_reads(&h, &agreement_id).await, before);
    // The idempotency record came back too: the same capture replays.
    assert_eq!(h.modify("snap-ref-1", "capture", 400, "snap-cap").await.status(), 200);
    assert_eq!(h.get("snap-ref-1").await["aggregate"], before.0["aggregate"]);

    // A document that is not a snapshot is refused and changes nothing.
    for bad in [
        json!({"vippsEmulatorSnapshot": 2, "rows": []}),
        json!({"rows": []}),
        json!({"vippsEmulatorSnapshot": 1, "rows": [{"table": "payment", "key": "0000000000", "value": {"nonsense": true}}]}),
        json!({"vippsEmulatorSnapshot": 1, "rows": [{"table": "no-such-table", "key": "x", "value": 1}]}),
    ] {
        let r = h
            .http
            .post(h.url("/_emulator/snapshot"))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{bad}");
        assert_eq!(h.get("snap-ref-1").await, before.0);
    }
}

#[tokio::test]
async fn an_emulator_starts_from_a_snapshot_file() {
    let h = H::with(config()).await;
    h.authorized("snap-file-1", 700).await;
    let snapshot = snapshot(&h).await;
    let dir = Dir::new("snapshot-file");
    std::fs::create_dir_all(&dir.0).unwrap();
    let file = dir.0.join("state.json");
    std::fs::write(&file, &snapshot).unwrap();
    let emu = vipps_emulator::Emulator::builder()
        .config(config())
        .snapshot(&file)
        .start()
        .await
        .unwrap();
    let token = common::fetch_token(&h.http, &emu.base_url(), emu.merchant()).await;
    let other = H {
        emu,
        http: h.http.clone(),
        token,
    };
    assert_eq!(other.get("snap-file-1").await, h.get("snap-file-1").await);
    std::fs::write(&file, b"{\"rows\": 3}").unwrap();
    let err = vipps_emulator::Emulator::builder()
        .snapshot(&file)
        .start()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not a snapshot"), "{err}");
}

#[tokio::test]
async fn a_snapshot_taken_in_on_a_data_dir_is_what_a_restart_finds() {
    let source = H::with(config()).await;
    source.authorized("snap-dir-1", 900).await;
    assert_eq!(
        source
            .modify("snap-dir-1", "capture", 300, "snap-dir-cap")
            .await
            .status(),
        200
    );
    let doc = snapshot(&source).await;

    let dir = Dir::new("snapshot-dir");
    let h = H::on_dir(config(), &dir.0).await;
    h.created("snap-dir-old", 100).await;
    let r = h
        .http
        .post(h.url("/_emulator/snapshot"))
        .body(doc)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let h = h.restart(config(), &dir.0).await;
    assert_eq!(h.get("snap-dir-1").await, source.get("snap-dir-1").await);
    // What the dir held before the snapshot is gone from it too.
    let r = h
        .req(Method::GET, "/epayment/v1/payments/snap-dir-old")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // The snapshot's idempotency records came along: the capture replays, once.
    assert_eq!(
        h.modify("snap-dir-1", "capture", 300, "snap-dir-cap").await.status(),
        200
    );
    assert_eq!(h.get("snap-dir-1").await["aggregate"]["capturedAmount"]["value"], 300);
}
