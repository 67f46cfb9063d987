//! The `vipps` binary end to end: demo, emulator, payment commands.

use std::process::Command;

mod common;

use common::{start_emulator, vipps, BIN};

#[test]
fn demo_runs_a_whole_flow_and_exits_zero() {
    let out = Command::new(BIN)
        .arg("demo")
        .env_remove("VIPPS_CLIENT_ID")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "AUTHORIZED",
        "CAPTURED",
        "REFUNDED",
        "captured 499.00 NOK",
        "refunded 99.00 NOK",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in:\n{stdout}");
    }
    assert!(!stdout.contains("Y8Kteew6GE3ZmeycEt6egg=="), "the client secret leaked");
}

#[test]
fn payment_commands_against_a_running_emulator() {
    let (_server, base) = start_emulator();
    let (ok, out, err) = vipps(
        &base,
        &["payment", "create", "--amount", "10000", "--reference", "cli-test-0001"],
    );
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("cli-test-0001") && out.contains("/landing?token="),
        "{out}"
    );
    let (ok, out, err) = vipps(&base, &["payment", "approve", "cli-test-0001"]);
    assert!(ok, "{out}{err}");
    let (ok, out, err) = vipps(
        &base,
        &["--json", "payment", "capture", "cli-test-0001", "--amount", "4000"],
    );
    assert!(ok, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["aggregate"]["capturedAmount"]["value"], 4000);
    let (ok, out, _) = vipps(&base, &["payment", "refund", "cli-test-0001", "--amount", "1000"]);
    assert!(ok && out.contains("refunded 10.00 NOK"), "{out}");
    let (ok, out, _) = vipps(&base, &["payment", "cancel", "cli-test-0001"]);
    assert!(ok && out.contains("cancelled 60.00 NOK"), "{out}");
    let (ok, out, _) = vipps(&base, &["payment", "events", "cli-test-0001"]);
    assert!(ok, "{out}");
    for e in ["CREATED", "AUTHORIZED", "CAPTURED", "REFUNDED", "CANCELLED"] {
        assert!(out.contains(e), "{e} missing from {out}");
    }
    let (ok, out, _) = vipps(&base, &["payment", "get", "cli-test-0001"]);
    assert!(ok && out.contains("AUTHORIZED"), "{out}");

    // errors: a clear message and a non-zero exit
    let (ok, _, err) = vipps(&base, &["payment", "capture", "cli-test-0001", "--amount", "999999"]);
    assert!(!ok);
    assert!(err.starts_with("error: ") && err.contains("HTTP 400"), "{err}");
    let (ok, _, err) = vipps(&base, &["payment", "get", "bad ref"]);
    assert!(!ok && err.contains("reference"), "{err}");
}
