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

/// The messages of the errors under `err`, as `source()` leads to them.
fn causes(err: &vipps::Error) -> Vec<String> {
    std::iter::successors(std::error::Error::source(err), |e| e.source())
        .map(|e| e.to_string())
        .collect()
}

const TUNNEL_OK: &str = "HTTP/1.1 200 Connection established\r\n\r\n";

/// An emulator, a tunnelling proxy, the proxy's address, and a client for the emulator that
/// goes through the proxy at `url(address)`.
async fn via_proxy(url: impl Fn(&str) -> String) -> (vipps_emulator::RunningEmulator, Client, Seen, String) {
    let emu = Emulator::start().await.unwrap();
    let (proxy_addr, seen) = proxy(TUNNEL_OK).await;
    let c = builder_for(&emu).proxy(url(&proxy_addr)).build().unwrap();
    (emu, c, seen, proxy_addr)
}

#[tokio::test]
async fn calls_go_through_the_proxy_tunnel_with_its_credentials() {
    let (emu, c, seen, proxy_addr) = via_proxy(|a| format!("http://shop:pr0xy-pass@{a}")).await;
    // The token request and the API calls all went through tunnels (mostly one, pooled; hyper
    // may open another when a call comes before the last connection is back in the pool).
    let r = Reference::random();
    let err = c.epayment().get_payment(&r).await.unwrap_err();
    assert_eq!(err.status(), Some(404), "{err}");
    c.epayment().get_payment(&r).await.unwrap_err();
    let seen = seen.lock().await;
    assert!((1..=3).contains(&seen.len()), "{seen:?}");
    let emu_host = emu.base_url().trim_start_matches("http://").to_owned();
    for head in seen.iter() {
        assert!(head.starts_with(&format!("CONNECT {emu_host} HTTP/1.1\r\n")), "{head}");
        // `shop:pr0xy-pass`, as the URL gave it.
        let auth = head
            .lines()
            .find_map(|l| {
                l.split_once(':')
                    .filter(|(k, _)| k.eq_ignore_ascii_case("proxy-authorization"))
            })
            .map(|(_, v)| v.trim());
        assert_eq!(auth, Some("Basic c2hvcDpwcjB4eS1wYXNz"), "{head}");
    }
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
    // The proxy's answer is among the causes `source()` leads to.
    let causes = causes(&err);
    assert!(
        causes.iter().any(|c| c.contains("proxy authorization required")),
        "{causes:?}"
    );
    let text = format!("{err} {err:?} {causes:?}");
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

/// The error of a token request by a client built from `b`, which must fail.
async fn token_error(b: vipps::ClientBuilder) -> vipps::Error {
    b.build().unwrap().access_token().await.unwrap_err()
}

#[tokio::test]
async fn an_https_base_url_speaks_tls_and_a_failed_handshake_sends_nothing() {
    let (base, first) = first_bytes_server().await;
    let err = token_error(https_client(&base)).await;
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
    let err = token_error(https_client(&base).proxy(format!("http://{proxy_addr}"))).await;
    assert!(matches!(err.kind(), ErrorKind::Connect(_)), "{err:?}");
    let target = base.trim_start_matches("https://");
    assert!(seen.lock().await[0].starts_with(&format!("CONNECT {target} HTTP/1.1")));
    assert_eq!(first.await.unwrap().first(), Some(&0x16));
}

/// A server that accepts connections and never says a word (nor closes them).
async fn silent_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    port
}

#[tokio::test]
async fn the_connect_timeout_covers_the_tunnel_and_the_tls_handshake() {
    let silent = silent_server().await;
    for (base, proxy) in [
        // A proxy that never answers CONNECT.
        (
            "https://api.vipps.example".to_owned(),
            Some(format!("http://127.0.0.1:{silent}")),
        ),
        // A server that never answers the TLS ClientHello.
        (format!("https://127.0.0.1:{silent}"), None),
    ] {
        let mut b = https_client(&base)
            .connect_timeout(std::time::Duration::from_millis(300))
            .request_timeout(std::time::Duration::from_secs(20));
        if let Some(p) = proxy {
            b = b.proxy(p);
        }
        let t0 = std::time::Instant::now();
        let err = token_error(b).await;
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(5),
            "{base}: {:?}",
            t0.elapsed()
        );
        let ErrorKind::Connect(cause) = err.kind() else {
            panic!("{base}: {err:?}")
        };
        assert_eq!(cause.io_error_kind(), Some(std::io::ErrorKind::TimedOut), "{err}");
        assert!(!err.may_have_reached_server());
    }
}

#[tokio::test]
async fn a_proxy_password_outside_ascii_is_used_not_dropped() {
    // Not a valid URI as written (`ä`, and a trailing newline as read from a file): the
    // client encodes it, and still goes through the proxy rather than around it.
    let (_emu, c, seen, _) = via_proxy(|a| format!("http://shop:pässord@{a}\n")).await;
    c.access_token().await.unwrap();
    let seen = seen.lock().await;
    assert_eq!(seen.len(), 1);
    // base64("shop:pässord"), the password in UTF-8.
    assert!(seen[0].contains("Basic c2hvcDpww6Rzc29yZA=="), "{}", seen[0]);
}

#[tokio::test]
async fn a_certificate_no_root_vouches_for_is_refused() {
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let key = tokio_rustls::rustls::pki_types::PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into());
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.cert.der().clone()], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        // Whether the handshake completed: with the certificate refused, it must not.
        let _ = tx.send(acceptor.accept(s).await.is_ok());
    });
    let err = token_error(https_client(&format!("https://127.0.0.1:{port}"))).await;
    let ErrorKind::Connect(cause) = err.kind() else {
        panic!("{err:?}")
    };
    assert_eq!(cause.to_string(), "TLS failed");
    assert!(causes(&err).iter().any(|c| c.contains("certificate")), "{err:?}");
    assert!(!rx.await.unwrap(), "the TLS handshake completed");
}

/// The settings of `Client::from_env()` for `emu`'s default merchant.
fn client_env(emu: &vipps_emulator::RunningEmulator) -> Vec<(&'static str, String)> {
    let m = emu.merchant();
    vec![
        ("VIPPS_BASE_URL", emu.base_url()),
        ("VIPPS_CLIENT_ID", m.client_id.clone()),
        ("VIPPS_CLIENT_SECRET", m.client_secret.clone()),
        ("VIPPS_SUBSCRIPTION_KEY", m.subscription_key.clone()),
        ("VIPPS_MERCHANT_SERIAL_NUMBER", m.msn.clone()),
    ]
}

/// Marks the process [`run_child`] starts: [`child_fetches_a_token_from_env`] does nothing
/// anywhere else (as under `cargo test -- --include-ignored`).
const CHILD_MARK: &str = "VIPPS_NETWORK_TEST_CHILD";

/// Runs [`child_fetches_a_token_from_env`] in a fresh process of this test binary, with `vars`
/// set and every other proxy or `VIPPS_*` variable of this process removed. Panics with the
/// child's output unless its one test ran and passed.
async fn run_child(vars: Vec<(&'static str, String)>) {
    let out = tokio::task::spawn_blocking(move || {
        let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
        cmd.args([
            "--ignored",
            "--exact",
            "child_fetches_a_token_from_env",
            "--test-threads=1",
        ]);
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy().to_ascii_uppercase();
            if k.ends_with("_PROXY") || k.starts_with("VIPPS_") || k == "REQUEST_METHOD" {
                cmd.env_remove(&k).env_remove(k.to_ascii_lowercase());
            }
        }
        cmd.env(CHILD_MARK, "1").envs(vars).output().unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "the child failed or did not run:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Run by [`proxy_environment_variables`] in a child process (the proxy variables are read
/// when the client is built, and setting them in this process would race other tests).
#[tokio::test]
#[ignore = "run by proxy_environment_variables in a child process"]
async fn child_fetches_a_token_from_env() {
    if std::env::var_os(CHILD_MARK).is_none() {
        return;
    }
    Client::from_env().unwrap().access_token().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_environment_variables() {
    let emu = Emulator::start().await.unwrap();
    let (proxy_addr, seen) = proxy(TUNNEL_OK).await;
    let with = |extra: &[(&'static str, &str)]| {
        let mut v = client_env(&emu);
        v.extend(extra.iter().map(|(k, val)| (*k, (*val).to_owned())));
        v
    };
    let proxy_url = format!("http://{proxy_addr}");
    // HTTP_PROXY is taken for an http:// server.
    run_child(with(&[("HTTP_PROXY", &proxy_url)])).await;
    assert_eq!(seen.lock().await.len(), 1);
    // ... and so is its lower-case form; NO_PROXY lets the server's host go straight.
    run_child(with(&[("http_proxy", &proxy_url), ("NO_PROXY", "127.0.0.1")])).await;
    assert_eq!(seen.lock().await.len(), 1);
    run_child(with(&[("http_proxy", &proxy_url)])).await;
    assert_eq!(seen.lock().await.len(), 2);
    // HTTPS_PROXY is for https:// servers only.
    run_child(with(&[("HTTPS_PROXY", &proxy_url)])).await;
    assert_eq!(seen.lock().await.len(), 2);
}
