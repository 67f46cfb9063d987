//! The server's connection limits: the header-read timeout, the keep-alive idle timeout and the
//! cap on concurrent connections (all configured tiny here, against 127.0.0.1 only).

use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use vipps_emulator::{Emulator, EmulatorConfig, RunningEmulator};

const REQUEST: &[u8] = b"GET /_emulator/no-such-route HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

async fn start(header_ms: u64, idle_ms: u64, max_connections: usize) -> RunningEmulator {
    let config = EmulatorConfig {
        header_read_timeout_ms: header_ms,
        keep_alive_timeout_ms: idle_ms,
        max_connections,
        ..EmulatorConfig::default()
    };
    config.check().unwrap();
    Emulator::builder().config(config).start().await.unwrap()
}

/// Reads one response's head and body (by `content-length`); panics after `within`.
async fn read_response(s: &mut TcpStream, within: Duration) -> String {
    tokio::time::timeout(within, async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = s.read(&mut chunk).await.unwrap();
            assert!(
                n > 0,
                "closed before a whole response: {:?}",
                String::from_utf8_lossy(&buf)
            );
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).into_owned();
            if let Some(end) = text.find("\r\n\r\n") {
                let len = text[..end]
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len {
                    return text;
                }
            }
        }
    })
    .await
    .expect("no response in time")
}

/// Waits (at most `within`) for the server to close the connection: a read gives 0 bytes (or the
/// connection is reset). Returns how long that took.
async fn wait_closed(s: &mut TcpStream, within: Duration) -> Duration {
    let t0 = Instant::now();
    let mut chunk = [0u8; 1024];
    let closed = tokio::time::timeout(within, async {
        loop {
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "still open after {within:?}");
    t0.elapsed()
}

#[tokio::test]
async fn a_partial_request_line_is_closed_after_the_header_timeout() {
    let emu = start(300, 30_000, 16).await;
    let mut s = TcpStream::connect(emu.addr()).await.unwrap();
    s.write_all(b"GET /_emulator/hea").await.unwrap();
    let took = wait_closed(&mut s, Duration::from_secs(3)).await;
    assert!(took >= Duration::from_millis(200), "closed too early: {took:?}");
    emu.shutdown().await;
}

#[tokio::test]
async fn a_slow_header_drip_does_not_extend_the_header_timeout() {
    let emu = start(400, 30_000, 16).await;
    let mut s = TcpStream::connect(emu.addr()).await.unwrap();
    let t0 = Instant::now();
    // One byte every 50 ms: never a complete head.
    let mut closed = false;
    for b in b"GET /_emulator/health HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".iter() {
        if s.write_all(&[*b]).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        if t0.elapsed() > Duration::from_millis(1500) {
            break;
        }
    }
    if !closed {
        wait_closed(&mut s, Duration::from_secs(2)).await;
    }
    assert!(t0.elapsed() < Duration::from_millis(2500), "took {:?}", t0.elapsed());
    emu.shutdown().await;
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_header_timeout() {
    let emu = start(300, 30_000, 16).await;
    let mut s = TcpStream::connect(emu.addr()).await.unwrap();
    let took = wait_closed(&mut s, Duration::from_secs(3)).await;
    assert!(took >= Duration::from_millis(200), "closed too early: {took:?}");
    emu.shutdown().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let emu = start(30_000, 300, 16).await;
    let mut s = TcpStream::connect(emu.addr()).await.unwrap();
    for _ in 0..2 {
        s.write_all(REQUEST).await.unwrap();
        let answer = read_response(&mut s, Duration::from_secs(3)).await;
        assert!(answer.starts_with("HTTP/1.1 "), "{answer}");
        // Well within the idle timeout: the connection is still usable.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let took = wait_closed(&mut s, Duration::from_secs(3)).await;
    assert!(took >= Duration::from_millis(150), "closed too early: {took:?}");
    emu.shutdown().await;
}

#[tokio::test]
async fn a_body_that_drips_slower_than_the_body_timeout_gets_408() {
    let config = EmulatorConfig {
        body_read_timeout_ms: 300,
        ..EmulatorConfig::default()
    };
    let emu = Emulator::builder().config(config).start().await.unwrap();
    let mut s = TcpStream::connect(emu.addr()).await.unwrap();
    let t0 = Instant::now();
    s.write_all(
        b"POST /_emulator/clock/advance HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{\"seconds\":",
    )
    .await
    .unwrap();
    // One byte every 100 ms would take 2.8 s for the rest: the server answers at 300 ms.
    let drip = async {
        for _ in 0..28 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if s.write_all(b" ").await.is_err() {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_millis(700), drip).await;
    let answer = read_response(&mut s, Duration::from_secs(3)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("did not arrive within 300 ms"), "{answer}");
    assert!(t0.elapsed() < Duration::from_secs(2), "took {:?}", t0.elapsed());
    // The clock did not move: the half-read request was not acted on.
    let clock = reqwest::get(format!("{}/_emulator/clock", emu.base_url().trim_end_matches('/')))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(clock.contains("\"offsetSeconds\":0"), "{clock}");
    emu.shutdown().await;
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    let emu = start(30_000, 30_000, 2).await;
    let mut first = TcpStream::connect(emu.addr()).await.unwrap();
    let mut second = TcpStream::connect(emu.addr()).await.unwrap();
    for s in [&mut first, &mut second] {
        s.write_all(REQUEST).await.unwrap();
        read_response(s, Duration::from_secs(3)).await;
    }
    // The third connects (the listen backlog) but is not served while two are open.
    let mut third = TcpStream::connect(emu.addr()).await.unwrap();
    third.write_all(REQUEST).await.unwrap();
    let mut chunk = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(400), third.read(&mut chunk)).await;
    assert!(early.is_err(), "the third connection was answered: {early:?}");
    // The first two still work.
    second.write_all(REQUEST).await.unwrap();
    read_response(&mut second, Duration::from_secs(3)).await;
    drop(first);
    let answer = read_response(&mut third, Duration::from_secs(3)).await;
    assert!(answer.starts_with("HTTP/1.1 "), "{answer}");
    emu.shutdown().await;
}

#[tokio::test]
async fn shutdown_closes_idle_connections_and_stops_accepting() {
    let emu = start(30_000, 30_000, 16).await;
    let addr = emu.addr();
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(REQUEST).await.unwrap();
    read_response(&mut s, Duration::from_secs(3)).await;
    let t0 = Instant::now();
    emu.shutdown().await;
    assert!(
        t0.elapsed() < Duration::from_secs(2),
        "shutdown took {:?}",
        t0.elapsed()
    );
    wait_closed(&mut s, Duration::from_secs(2)).await;
    assert!(TcpStream::connect(addr).await.is_err(), "still accepting");
}

#[test]
fn the_limits_are_validated() {
    let defaults = EmulatorConfig::default();
    assert_eq!(defaults.header_read_timeout_ms, 10_000);
    assert_eq!(defaults.keep_alive_timeout_ms, 60_000);
    assert_eq!(defaults.max_connections, 1024);
    for bad in [
        EmulatorConfig {
            header_read_timeout_ms: 0,
            ..EmulatorConfig::default()
        },
        EmulatorConfig {
            keep_alive_timeout_ms: 0,
            ..EmulatorConfig::default()
        },
        EmulatorConfig {
            body_read_timeout_ms: 0,
            ..EmulatorConfig::default()
        },
        EmulatorConfig {
            max_connections: 0,
            ..EmulatorConfig::default()
        },
        EmulatorConfig {
            header_read_timeout_ms: 3_600_001,
            ..EmulatorConfig::default()
        },
    ] {
        assert!(bad.check().is_err(), "{bad:?}");
    }
    let from_json: EmulatorConfig =
        serde_json::from_str(r#"{"header_read_timeout_ms": 5000, "max_connections": 8}"#).unwrap();
    assert_eq!(from_json.header_read_timeout_ms, 5000);
    assert_eq!(from_json.keep_alive_timeout_ms, 60_000);
    assert_eq!(from_json.max_connections, 8);
}

#[tokio::test]
async fn an_invalid_limit_fails_start() {
    let config = EmulatorConfig {
        max_connections: 0,
        ..EmulatorConfig::default()
    };
    assert!(Emulator::builder().config(config).start().await.is_err());
}
