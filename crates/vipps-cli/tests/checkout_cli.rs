//! `vipps checkout …` against a running emulator, the customer completing through the control
//! plane, and the Checkout part of `vipps demo`.

use std::process::Command;

mod common;

use common::{start_emulator, vipps, BIN};

fn control(base: &str, reference: &str, action: &str) -> serde_json::Value {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r = reqwest::Client::new()
            .post(format!("{base}/_emulator/checkout/{reference}/{action}"))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{action}: {}", r.status());
        r.json().await.unwrap()
    })
}

#[test]
fn checkout_commands_against_a_running_emulator() {
    let (_server, base) = start_emulator();
    let (ok, out, err) = vipps(
        &base,
        &["checkout", "create", "--amount", "10000", "--reference", "cli-co-0001"],
    );
    assert!(ok, "{out}{err}");
    assert!(out.contains("/checkout/v3/frontend?token="), "{out}");
    assert!(out.contains("/checkout/v3/session/cli-co-0001"), "{out}");

    let (ok, out, err) = vipps(&base, &["checkout", "update", "cli-co-0001", "--amount", "15000"]);
    assert!(ok, "{out}{err}");
    let (ok, out, err) = vipps(&base, &["--json", "checkout", "get", "cli-co-0001"]);
    assert!(ok, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["sessionState"], "SessionCreated");
    assert_eq!(v["paymentDetails"]["amount"]["value"], 15000);

    let s = control(&base, "cli-co-0001", "complete");
    assert_eq!(s["sessionState"], "PaymentSuccessful");
    let (ok, out, _) = vipps(&base, &["checkout", "get", "cli-co-0001"]);
    assert!(ok && out.contains("PaymentSuccessful"), "{out}");
    let (ok, out, err) = vipps(&base, &["payment", "capture", "cli-co-0001", "--amount", "15000"]);
    assert!(ok, "{out}{err}");
    let (ok, _, err) = vipps(&base, &["checkout", "update", "cli-co-0001", "--amount", "1000"]);
    assert!(!ok && err.contains("409"), "{err}");

    let (ok, out, err) = vipps(
        &base,
        &["checkout", "create", "--amount", "10000", "--reference", "cli-co-0002"],
    );
    assert!(ok, "{out}{err}");
    let (ok, out, err) = vipps(&base, &["checkout", "expire", "cli-co-0002"]);
    assert!(ok && out.contains("expired"), "{out}{err}");
    let (ok, out, _) = vipps(&base, &["checkout", "get", "cli-co-0002"]);
    assert!(ok && out.contains("SessionExpired"), "{out}");
    let (ok, _, err) = vipps(&base, &["checkout", "get", "cli-co-9999"]);
    assert!(!ok && err.contains("404"), "{err}");
}

#[test]
fn checkout_create_makes_subscription_sessions() {
    let (_server, base) = start_emulator();
    let (ok, out, err) = vipps(
        &base,
        &[
            "checkout",
            "create",
            "--subscription",
            "Weekly socks",
            "--price",
            "9900",
            "--interval",
            "week",
            "--interval-count",
            "2",
            "--reference",
            "cli-sub-0001",
        ],
    );
    assert!(ok, "{out}{err}");
    let (ok, out, err) = vipps(&base, &["--json", "checkout", "get", "cli-sub-0001"]);
    assert!(ok, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["subscriptionDetails"]["state"], "PENDING", "{v}");
    assert!(
        v.get("paymentDetails").is_none(),
        "no initial payment was asked for: {v}"
    );

    let s = control(&base, "cli-sub-0001", "complete");
    assert_eq!(s["subscriptionDetails"]["state"], "ACTIVE", "{s}");

    // With --amount there is an initial payment too.
    let (ok, out, err) = vipps(
        &base,
        &[
            "--json",
            "checkout",
            "create",
            "--subscription",
            "Socks",
            "--price",
            "9900",
            "--amount",
            "4900",
            "--reference",
            "cli-sub-0002",
        ],
    );
    assert!(ok, "{out}{err}");
    let s = control(&base, "cli-sub-0002", "complete");
    assert_eq!(s["paymentDetails"]["state"], "AUTHORIZED", "{s}");

    // Bad input is refused before anything is sent, or by the emulator, with a clear message.
    let (ok, _, err) = vipps(&base, &["checkout", "create", "--subscription", "Socks"]);
    assert!(!ok && err.contains("--price"), "{err}");
    let (ok, _, err) = vipps(
        &base,
        &[
            "checkout",
            "create",
            "--subscription",
            "Socks",
            "--price",
            "9900",
            "--interval",
            "fortnight",
        ],
    );
    assert!(!ok && err.contains("interval"), "{err}");
}

#[test]
fn demo_includes_the_checkout_flow() {
    let out = Command::new(BIN)
        .arg("demo")
        .env_remove("VIPPS_CLIENT_ID")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "checkout page:",
        "session state:   PaymentSuccessful",
        "Authorization matches callbackAuthorizationToken: yes",
        "body: sessionState PaymentSuccessful, payment AUTHORIZED",
        "captured 348.00 NOK",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in:\n{stdout}");
    }
}

#[test]
fn create_generates_a_random_callback_token_and_prints_it_once() {
    let (_server, base) = start_emulator();
    let generated = |reference: &str| {
        let (ok, out, err) = vipps(
            &base,
            &["checkout", "create", "--amount", "100", "--reference", reference],
        );
        assert!(ok, "{out}{err}");
        let lines: Vec<&str> = err
            .lines()
            .chain(out.lines())
            .filter(|l| l.contains("callback token"))
            .collect();
        assert_eq!(lines.len(), 1, "printed once, labelled: {out}{err}");
        let token = lines[0]
            .strip_prefix("callback token (generated): ")
            .unwrap()
            .to_owned();
        assert!(
            token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit()),
            "{token}"
        );
        token
    };
    let (a, b) = (generated("cli-co-tok-0001"), generated("cli-co-tok-0002"));
    assert_ne!(a, b, "not a constant");
    // A given token is used as it is, and nothing is generated.
    let (ok, out, err) = vipps(
        &base,
        &[
            "checkout",
            "create",
            "--amount",
            "100",
            "--reference",
            "cli-co-tok-0003",
            "--callback-token",
            "mine-0123",
        ],
    );
    assert!(
        ok && !err.contains("callback token") && !out.contains("callback token"),
        "{out}{err}"
    );
    let (_, help, _) = vipps(&base, &["checkout", "create", "--help"]);
    assert!(!help.contains("callback-secret-token"), "{help}");
}

#[test]
fn demo_ends_with_a_subscription() {
    let out = Command::new(BIN)
        .arg("demo")
        .env_remove("VIPPS_CLIENT_ID")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let subscription = stdout
        .split_once("Draft a monthly subscription")
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("no subscription part in:\n{stdout}"));
    for needle in [
        "(PENDING)",
        "initial charge:  99.00 NOK CHARGED",
        "agreement:       ACTIVE",
        "month 1: ",
        "month 3: ",
        "attempt failed (user_action_required), still DUE",
        "the next day's retry: CHARGED",
        "agreement:       STOPPED",
        "charged 1295.00 NOK in all",
    ] {
        assert!(subscription.contains(needle), "missing {needle:?} in:\n{stdout}");
    }
    let monthly = subscription.matches("DUE -> 30 days later CHARGED").count();
    assert_eq!(monthly, 3, "{stdout}");
}
