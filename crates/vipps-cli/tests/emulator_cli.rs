//! `vipps emulator`'s control token and server-limit flags (README, "Control plane").

mod common;

use common::{Server, BIN};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

/// Starts `vipps emulator --port 0 args…`; returns it, its `host:port` and its next stdout
/// line after `listening on` (empty when none follows soon, i.e. the control plane is open).
fn start(args: &[&str], env_token: Option<&str>) -> (Server, String, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(["emulator", "--port", "0"])
        .args(args)
        .env_remove("VIPPS_EMULATOR_CONTROL_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(t) = env_token {
        cmd.env("VIPPS_EMULATOR_CONTROL_TOKEN", t);
    }
    let mut child = cmd.spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let addr = line.trim().strip_prefix("listening on http://").unwrap().to_owned();
    let server = Server(child);
    let mut second = String::new();
    if args.contains(&"0.0.0.0") || args.contains(&"--control-token") || env_token.is_some() {
        out.read_line(&mut second).unwrap();
    }
    (server, addr, second.trim().to_owned())
}

/// The status of `GET /_emulator/clock` with this token header, if any.
fn clock_status(addr: &str, token: Option<&str>) -> String {
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    let header = token.map_or(String::new(), |t| format!("X-Emulator-Token: {t}\r\n"));
    write!(
        conn,
        "GET /_emulator/clock HTTP/1.1\r\nHost: {addr}\r\n{header}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    answer.lines().next().unwrap_or("").to_owned()
}

#[test]
fn off_loopback_the_emulator_prints_a_token_and_requires_it() {
    let (_server, addr, line) = start(&["--host", "0.0.0.0"], None);
    let token = line
        .strip_prefix("control token: ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no token line: {line:?}"));
    assert_eq!(token.len(), 64, "{token}");
    assert_eq!(clock_status(&addr, None), "HTTP/1.1 401 Unauthorized");
    assert_eq!(clock_status(&addr, Some(token)), "HTTP/1.1 200 OK");
}

#[test]
fn a_given_token_is_required_and_not_printed() {
    for (args, env) in [
        (&["--control-token", "cli-given-token"][..], None),
        (&[][..], Some("cli-given-token")),
    ] {
        let (_server, addr, line) = start(args, env);
        assert!(!line.contains("cli-given-token"), "{line}");
        assert!(line.starts_with("control token: as given"), "{line}");
        assert_eq!(clock_status(&addr, None), "HTTP/1.1 401 Unauthorized");
        assert_eq!(clock_status(&addr, Some("cli-given-token")), "HTTP/1.1 200 OK");
    }
    // --help shows the variable, never its value.
    let help = Command::new(BIN)
        .args(["emulator", "--help"])
        .env("VIPPS_EMULATOR_CONTROL_TOKEN", "secret-in-env")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("VIPPS_EMULATOR_CONTROL_TOKEN") && !help.contains("secret-in-env"),
        "{help}"
    );
}

#[test]
fn server_limit_flags_are_checked_and_override_the_file() {
    for flag in [
        "--header-read-timeout-ms",
        "--keep-alive-timeout-ms",
        "--body-read-timeout-ms",
        "--max-connections",
        "--max-deliveries-in-flight",
        "--max-deliveries-per-host",
    ] {
        let out = Command::new(BIN)
            .args(["emulator", "--port", "0", flag, "0"])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{flag} 0 is refused");
        let err = String::from_utf8_lossy(&out.stderr);
        let field = flag.trim_start_matches("--").replace('-', "_");
        assert!(err.contains(&field), "{flag}: {err}");
    }
    // The file's value is overridden: a valid flag wins over a file that sets 1 ms.
    let dir = std::env::temp_dir().join(format!("vipps-cli-limits-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("config.json");
    std::fs::write(&file, r#"{"header_read_timeout_ms": 1}"#).unwrap();
    let file = file.to_str().unwrap();
    let (_server, addr, _) = start(&["--config", file, "--header-read-timeout-ms", "5000"], None);
    // A client that sends its headers 300 ms after connecting is still served.
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    write!(
        conn,
        "GET /_emulator/health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    let _ = conn.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_second_emulator_on_the_same_data_dir_is_refused_with_a_clear_message() {
    let dir = std::env::temp_dir().join(format!(
        "vipps-cli-lock-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    let dir_arg = dir.to_string_lossy().into_owned();
    let (_first, _addr, _) = start(&["--data-dir", &dir_arg], None);
    let second = Command::new(BIN)
        .args(["emulator", "--port", "0", "--data-dir", &dir_arg])
        .env_remove("VIPPS_EMULATOR_CONTROL_TOKEN")
        .output()
        .unwrap();
    assert!(!second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("is in use by another emulator"), "{err}");
    // A file that is not the emulator's is refused and left as it was.
    let other = dir.join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("emulator.sqlite3"), b"not a database at all, just text").unwrap();
    let out = Command::new(BIN)
        .args(["emulator", "--port", "0", "--data-dir"])
        .arg(&other)
        .env_remove("VIPPS_EMULATOR_CONTROL_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("damaged") || err.contains("not a vipps emulator database"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(other.join("emulator.sqlite3")).unwrap(),
        b"not a database at all, just text"
    );
    drop(_first);
    let _ = std::fs::remove_dir_all(&dir);
}
