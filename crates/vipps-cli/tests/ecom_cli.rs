//! `vipps ecom …` against a running `vipps emulator`.

mod common;

use common::{start_emulator, vipps};

#[test]
fn ecom_commands_against_a_running_emulator() {
    let (_server, base) = start_emulator();
    let (ok, out, err) = vipps(
        &base,
        &["ecom", "initiate", "--amount", "10000", "--order-id", "cli-ecom-1"],
    );
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("cli-ecom-1") && out.contains("/landing?v=2&token="),
        "{out}"
    );

    let (ok, out, err) = vipps(&base, &["ecom", "approve", "cli-ecom-1", "--phone", "91234567"]);
    assert!(ok && out.contains("approved"), "{out}{err}");

    let (ok, out, err) = vipps(
        &base,
        &[
            "--json",
            "ecom",
            "capture",
            "cli-ecom-1",
            "--amount",
            "4000",
            "--request-id",
            "cap-1",
        ],
    );
    assert!(ok, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["transactionInfo"]["status"], "Captured");
    assert_eq!(v["transactionSummary"]["capturedAmount"], 4000);
    // the same request id again: replayed, no second capture
    let (ok, out2, _) = vipps(
        &base,
        &[
            "--json",
            "ecom",
            "capture",
            "cli-ecom-1",
            "--amount",
            "4000",
            "--request-id",
            "cap-1",
        ],
    );
    assert!(ok);
    let v2: serde_json::Value = serde_json::from_str(&out2).unwrap();
    assert_eq!(v2["transactionSummary"]["capturedAmount"], 4000);

    let (ok, out, err) = vipps(&base, &["--json", "ecom", "refund", "cli-ecom-1", "--amount", "1000"]);
    assert!(ok, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["transactionSummary"]["refundedAmount"], 1000);

    // cancel after a partial capture needs --release-remaining
    let (ok, _, err) = vipps(&base, &["ecom", "cancel", "cli-ecom-1"]);
    assert!(!ok && err.contains("HTTP 400"), "{err}");
    let (ok, out, err) = vipps(
        &base,
        &["--json", "ecom", "cancel", "cli-ecom-1", "--release-remaining"],
    );
    assert!(ok, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["transactionSummary"]["remainingAmountToCapture"], 0);

    let (ok, out, err) = vipps(&base, &["--json", "ecom", "details", "cli-ecom-1"]);
    assert!(ok, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let ops: Vec<&str> = v["transactionLogHistory"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["operation"].as_str().unwrap())
        .collect();
    assert_eq!(ops, ["VOID", "REFUND", "CAPTURE", "RESERVE", "INITIATE"]);

    // errors: unknown order, non-zero exit
    let (ok, _, err) = vipps(&base, &["ecom", "details", "cli-ecom-unknown"]);
    assert!(!ok && err.contains("HTTP 404"), "{err}");
}
