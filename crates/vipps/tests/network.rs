//! The SDK's HTTP stack: proxies (`CONNECT` tunnels, with credentials), and TLS for
//! `https://` base URLs. The proxy and the servers are small in-process fakes; nothing here
//! leaves the machine.

mod common;
use common::builder_for;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use vipps::types::{Amount, Reference};
use vipps::{Client, ErrorKind, RetryPolicy};
use vipps_emulator::Emulator;

/// What a fake proxy saw: the head of every `CONNECT` request.
type Seen = Arc<Mutex<Vec<String>>>;

/// Reads one request head (up to the blank line), byte by byte so nothing after it is lost.
async fn read_head(s: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut b).await {
            Ok(1) => head.push(b[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// A `CONNECT` proxy on a free port: it records each request head, and answers `answer`. On
/// a 200 it connects to the requested host and copies bytes both ways.
async fn proxy(answer: &'static str) -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Seen = Arc::default();
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let head = read_head(&mut client).await;
                log.lock().await.push(head.clone());
                let target = head
                    .strip_prefix("CONNECT ")
                    .and_then(|rest| rest.split(' ').next())
                    .map(str::to_owned);
                let _ = client.write_all(answer.as_bytes()).await;
                if !answer.starts_with("HTTP/1.1 200") {
                    return;
                }
                if let Some(target) = target {
                    if let Ok(mut upstream) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                    }
                }
            });
        }
    });
    (format!("127.0.0.1:{}", addr.port()), seen)
}

const TUNNEL_OK: &str = "HTTP/1.1 200 Connection established\r\n\r\n";

#[tokio::test]
async fn calls_go_through_the_proxy_tunnel_with_its_credentials() {
    let emu = Emulator::start().await.unwrap();
    let (proxy_addr, seen) = proxy(TUNNEL_OK).await;
    let c = builder_for(&emu)
        .proxy(format!("http://shop:pr0xy-pass@{proxy_addr}"))
        .build()
        .unwrap();
    // The token request and the API call both went through, on one tunnel (a pooled connection).
    let r = Reference::random();
    let err = c.epayment().get_payment(&r).await.unwrap_err();
    assert_eq!(err.status(), Some(404), "{err}");
    c.epayment().get_payment(&r).await.unwrap_err();
    let seen = seen.lock().await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    let emu_host = emu.base_url().trim_start_matches("http://").to_owned();
    assert!(
        seen[0].starts_with(&format!("CONNECT {emu_host} HTTP/1.1\r\n")),
        "{}",
        seen[0]
    );
    // `shop:pr0xy-pass`, as the URL gave it.
    let auth = seen[0]
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("proxy-authorization"))
        })
        .map(|(_, v)| v.trim());
    assert_eq!(auth, Some("Basic c2hvcDpwcjB4eS1wYXNz"), "{}", seen[0]);
    // The proxy's URL, with its password, is kept out of Debug output.
    let debug = format!("{:?}", c.config());
    assert!(!debug.contains("pr0xy-pass") && !debug.contains(&proxy_addr), "{debug}");
}

#[tokio::test]
async fn a_proxy_that_refuses_is_a_connect_error_that_names_no_credentials() {
    let emu = Emulator::start().await.unwrap();
    let (proxy_addr, seen) = proxy("HTTP/1.1 407 Proxy Authentication Required\r\n\r\n").await;
    let c = builder_for(&emu)
        .proxy(format!("http://shop:pr0xy-pass@{proxy_addr}"))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let err = c
        .epayment()
        .capture(Reference::random(), Amount::nok(100))
        .await
        .unwrap_err();
    // Nothing reached the API: the token request failed at the tunnel.
    assert!(matches!(err.kind(), ErrorKind::Connect(_)), "{err:?}");
    assert!(!err.may_have_reached_server());
    let text = format!("{err} {err:?}");
    assert!(text.contains("proxy authorization required"), "{text}");
    assert!(
        !text.contains("pr0xy-pass") && !text.contains("c2hvcDpwcjB4eS1wYXNz"),
        "{text}"
    );
    assert_eq!(seen.lock().await.len(), 1);
}

#[tokio::test]
async fn no_proxy_connects_straight_to_the_server() {
    let emu = Emulator::start().await.unwrap();
    let (proxy_addr, seen) = proxy(TUNNEL_OK).await;
    // A proxy set, then switched off: the call goes straight to the emulator.
    let c = builder_for(&emu)
        .proxy(format!("http://{proxy_addr}"))
        .no_proxy()
        .build()
        .unwrap();
    c.access_token().await.unwrap();
    assert!(seen.lock().await.is_empty());
}

#[test]
fn only_http_proxy_urls_are_taken() {
    let b = || {
        Client::builder()
            .client_id("id")
            .client_secret("secret")
            .subscription_key("key")
            .merchant_serial_number("123456")
    };
    for bad in [
        "https://proxy.example:3128",
        "socks5://proxy.example:1080",
        "not a url",
        "http://",
    ] {
        let err = b().proxy(bad).build().unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::Config(_)), "{bad}: {err:?}");
        assert!(!err.to_string().contains(bad), "{err}");
    }
    b().proxy("http://user:pass@proxy.example:3128").build().unwrap();
}

/// A server that takes one connection, keeps its first bytes and closes it: whatever the
/// client sent first (a TLS ClientHello begins with the handshake record type, 0x16).
async fn first_bytes_server() -> (String, tokio::sync::oneshot::Receiver<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        if let Ok((mut s, _)) = listener.accept().await {
            let mut buf = vec![0u8; 5];
            let n = s.read(&mut buf).await.unwrap_or(0);
            buf.truncate(n);
            let _ = tx.send(buf);
        }
    });
    (format!("https://127.0.0.1:{port}"), rx)
}

fn https_client(base: &str) -> vipps::ClientBuilder {
    Client::builder()
        .client_id("id")
        .client_secret("s3cret-CLIENT")
        .subscription_key("s3cret-SUBKEY")
        .merchant_serial_number("123456")
        .base_url(base)
        .retry_policy(RetryPolicy::none())
        .no_proxy()
}

#[tokio::test]
async fn an_https_base_url_speaks_tls_and_a_failed_handshake_sends_nothing() {
    let (base, first) = first_bytes_server().await;
    let err = https_client(&base).build().unwrap().access_token().await.unwrap_err();
    let first = first.await.unwrap();
    assert_eq!(first.first(), Some(&0x16), "not a TLS handshake: {first:?}");
    assert!(matches!(err.kind(), ErrorKind::Connect(_)), "{err:?}");
    assert!(!err.may_have_reached_server());
    assert!(!format!("{err} {err:?}").contains("s3cret"), "{err:?}");
}

#[tokio::test]
async fn tls_goes_through_the_proxy_tunnel() {
    let (base, first) = first_bytes_server().await;
    let (proxy_addr, seen) = proxy(TUNNEL_OK).await;
    let err = https_client(&base)
        .proxy(format!("http://{proxy_addr}"))
        .build()
        .unwrap()
        .access_token()
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Connect(_)), "{err:?}");
    let target = base.trim_start_matches("https://");
    assert!(seen.lock().await[0].starts_with(&format!("CONNECT {target} HTTP/1.1")));
    assert_eq!(first.await.unwrap().first(), Some(&0x16));
}
