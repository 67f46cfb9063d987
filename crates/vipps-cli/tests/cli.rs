//! The `vipps` binary end to end: demo, emulator, payment commands.

use std::process::Command;

mod common;

use common::{start_emulator, start_emulator_with, vipps, BIN};

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
        out.contains("cli-test-0001") && out.contains("/landing?v=2&token="),
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

#[test]
fn payment_create_makes_card_express_and_profile_payments() {
    let (_server, base) = start_emulator();
    let created = |args: &[&str]| {
        let (ok, out, err) = vipps(&base, args);
        assert!(ok, "{out}{err}");
    };
    let get = |reference: &str| {
        let (ok, out, err) = vipps(&base, &["--json", "payment", "get", reference]);
        assert!(ok, "{out}{err}");
        serde_json::from_str::<serde_json::Value>(&out).unwrap()
    };
    created(&[
        "payment",
        "create",
        "--amount",
        "10000",
        "--reference",
        "cli-card-0001",
        "--method",
        "card",
    ]);
    assert_eq!(get("cli-card-0001")["paymentMethod"]["type"], "CARD");

    created(&[
        "payment",
        "create",
        "--amount",
        "10000",
        "--reference",
        "cli-prof-0001",
        "--scope",
        "name email",
    ]);
    created(&["payment", "approve", "cli-prof-0001"]);
    assert_eq!(get("cli-prof-0001")["userDetails"]["email"], "ola.nordmann@example.com");

    let shipping = r#"{"fixedOptions": [{"brand": "POSTEN", "type": "MAILBOX", "options": [
        {"id": "mail", "name": "Mailbox", "amount": {"currency": "NOK", "value": 2900}}]}]}"#;
    created(&[
        "payment",
        "create",
        "--amount",
        "10000",
        "--reference",
        "cli-expr-0001",
        "--shipping",
        shipping,
    ]);
    let p = get("cli-expr-0001");
    assert!(
        p["redirectUrl"].as_str().unwrap().contains("/landing?v=2&token="),
        "{p}"
    );
    // Express needs the customer's choice: the test force approve says so.
    let (ok, _, err) = vipps(&base, &["payment", "approve", "cli-expr-0001"]);
    assert!(!ok && err.contains("10060"), "{err}");

    // Bad input: a clear message and a non-zero exit.
    let (ok, _, err) = vipps(&base, &["payment", "create", "--amount", "10000", "--shipping", "{"]);
    assert!(!ok && err.contains("--shipping"), "{err}");
    let (ok, _, err) = vipps(&base, &["payment", "create", "--amount", "10000", "--method", "CASH"]);
    assert!(!ok && err.contains("paymentMethod.type"), "{err}");
}

#[test]
fn token_prints_both_kinds_of_access_token() {
    let (_server, base) = start_emulator();
    let (ok, out, err) = vipps(&base, &["token"]);
    assert!(ok, "{out}{err}");
    assert!(out.starts_with("eyJ") && out.contains("/accesstoken/get"), "{out}");
    let (ok, out, err) = vipps(
        &base,
        &["--json", "token", "--specialized", "--scope", "donations:read"],
    );
    assert!(ok, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["expires_in"], 900);
    assert_eq!(v["scope"], "donations:read");
    let (ok, _, err) = vipps(&base, &["token", "--scope", "x"]);
    assert!(!ok && err.contains("--specialized"), "{err}");
}

#[test]
fn userinfo_prints_what_the_customer_shared() {
    let (_server, base) = start_emulator();
    let (ok, out, err) = vipps(
        &base,
        &[
            "payment",
            "create",
            "--amount",
            "1000",
            "--reference",
            "cli-userinfo-1",
            "--scope",
            "name email",
        ],
    );
    assert!(ok, "{out}{err}");
    let (ok, out, err) = vipps(&base, &["payment", "approve", "cli-userinfo-1"]);
    assert!(ok, "{out}{err}");
    let (ok, out, _) = vipps(&base, &["--json", "payment", "get", "cli-userinfo-1"]);
    assert!(ok, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let sub = v["profile"]["sub"].as_str().unwrap().to_owned();
    let (ok, out, err) = vipps(&base, &["userinfo", &sub]);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("Ola Nordmann") && out.contains("ola.nordmann@example.com"),
        "{out}"
    );
    assert!(!out.contains("phone"), "phoneNumber was not consented to: {out}");
    let (ok, _, err) = vipps(&base, &["userinfo", "c06c4afe-d9e1-4c5d-939a-177d752a0944"]);
    assert!(!ok && err.contains("HTTP 404"), "{err}");
}

/// Starts `vipps emulator` with stderr captured, sends one raw HTTP request to it, stops it
/// and returns what it wrote to stderr.
fn emulator_log_for_one_request(vipps_log: Option<&str>) -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let mut cmd = Command::new(BIN);
    cmd.args(["emulator", "--port", "0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .env_remove("VIPPS_LOG");
    if let Some(level) = vipps_log {
        cmd.env("VIPPS_LOG", level);
    }
    let mut child = cmd.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line.trim().strip_prefix("listening on http://").unwrap().to_owned();
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    // The emulator's own address as Host: the control plane refuses foreign hosts.
    conn.write_all(format!("GET /_emulator/health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes())
        .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    child.kill().unwrap();
    let mut log = String::new();
    child.stderr.take().unwrap().read_to_string(&mut log).unwrap();
    let _ = child.wait();
    log
}

#[test]
fn the_emulator_logs_requests_as_plain_text_when_stderr_is_not_a_terminal() {
    let log = emulator_log_for_one_request(None);
    assert!(
        log.contains("path=/_emulator/health") && log.contains("status=200"),
        "the default level logs each request: {log:?}"
    );
    assert!(!log.contains('\u{1b}'), "no colour escape codes in a log file: {log:?}");
    let quiet = emulator_log_for_one_request(Some("error"));
    assert!(
        !quiet.contains("/_emulator/health"),
        "VIPPS_LOG=error logs no request: {quiet:?}"
    );
}

/// `POST /epayment/v1/payments` over a raw connection with a body that has an unknown field
/// (`paymentDescripton`); the whole answer.
fn create_with_a_typo(base: &str) -> String {
    use std::io::{Read, Write};
    let (ok, out, err) = vipps(base, &["token"]);
    assert!(ok, "{err}");
    // The token is the first line; the second says what it is.
    let token = out.lines().next().unwrap_or_default();
    let body = r#"{"amount":{"currency":"NOK","value":1000},"paymentMethod":{"type":"WALLET"},"reference":"cli-lenient-0001","userFlow":"WEB_REDIRECT","returnUrl":"https://example.com/r","paymentDescripton":"typo"}"#;
    let request = format!(
        "POST /epayment/v1/payments HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {}\r\n\
         Ocp-Apim-Subscription-Key: 0f14ebcab0eb4b29ae0cb90d91b4a84a\r\nMerchant-Serial-Number: 123456\r\n\
         Idempotency-Key: cli-lenient\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        token,
        body.len()
    );
    let mut conn = std::net::TcpStream::connect(base.trim_start_matches("http://").trim_end_matches('/')).unwrap();
    conn.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    answer
}

/// knowledge-base--platform-best-practices-2026.md: "The API rejects unknown fields", so the
/// emulator does too; `vipps emulator --lenient-fields` ignores them instead (README).
#[test]
fn the_emulator_refuses_unknown_fields_unless_lenient() {
    let (_strict, base) = start_emulator();
    let answer = create_with_a_typo(&base);
    assert!(
        answer.starts_with("HTTP/1.1 400") && answer.contains("paymentDescripton"),
        "{answer}"
    );
    let (_lenient, base) = start_emulator_with(&["--lenient-fields"]);
    let answer = create_with_a_typo(&base);
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
}

#[test]
fn partial_credentials_are_refused_not_filled_in_with_the_emulator_s() {
    // A server that would see the real secrets if the CLI sent them anywhere.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    for unset in ["VIPPS_CLIENT_ID", "VIPPS_MERCHANT_SERIAL_NUMBER"] {
        let mut cmd = Command::new(BIN);
        cmd.args(["payment", "get", "cli-partial-0001"]);
        for (k, v) in [
            ("VIPPS_CLIENT_ID", "real-client-id"),
            ("VIPPS_CLIENT_SECRET", "real-s3cret-value"),
            ("VIPPS_SUBSCRIPTION_KEY", "real-subkey-value"),
            ("VIPPS_MERCHANT_SERIAL_NUMBER", "123456"),
        ] {
            cmd.env(k, v);
        }
        let out = cmd.env_remove(unset).env("VIPPS_BASE_URL", &base).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let all = format!("{}{stderr}", String::from_utf8_lossy(&out.stdout));
        assert!(!out.status.success(), "{all}");
        assert!(stderr.contains(unset), "names what is missing: {stderr}");
        assert!(
            !all.contains("real-s3cret-value") && !all.contains("real-subkey-value"),
            "{all}"
        );
        assert!(
            matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "nothing was sent"
        );
    }
    // Without the base URL, the default was the emulator's address: nothing goes there either
    // (the refusal comes before any connection).
    let out = Command::new(BIN)
        .args(["payment", "get", "cli-partial-0001"])
        .env_remove("VIPPS_CLIENT_ID")
        .env_remove("VIPPS_BASE_URL")
        .env("VIPPS_CLIENT_SECRET", "real-s3cret-value")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("VIPPS_CLIENT_ID"), "{stderr}");
    assert!(!stderr.contains("real-s3cret-value"), "{stderr}");
}
