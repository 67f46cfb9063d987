//! Headless Chromium over the DevTools protocol, for the browser tests: a minimal WebSocket
//! and CDP client, and a Chromium started on a free DevTools port (see `checkout_browser.rs`).
#![allow(dead_code)]

use base64::Engine;
use rand::RngCore;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

// ------------------------------------------------------------------------------------------
// A minimal WebSocket + CDP client
// ------------------------------------------------------------------------------------------

pub struct Ws {
    s: TcpStream,
}

impl Ws {
    pub async fn connect(url: &str) -> Ws {
        let rest = url.strip_prefix("ws://").expect("ws:// URL");
        let (host, path) = rest.split_at(rest.find('/').unwrap());
        let mut s = TcpStream::connect(host).await.unwrap();
        let mut key = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut key);
        let key = base64::engine::general_purpose::STANDARD.encode(key);
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let mut head = Vec::new();
        let mut b = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            s.read_exact(&mut b).await.unwrap();
            head.push(b[0]);
        }
        let head = String::from_utf8_lossy(&head);
        assert!(head.starts_with("HTTP/1.1 101"), "WebSocket handshake failed: {head}");
        Ws { s }
    }

    pub async fn send(&mut self, text: &str) {
        let p = text.as_bytes();
        let mut f = vec![0x81u8];
        match p.len() {
            n if n < 126 => f.push(0x80 | n as u8),
            n if n < 65536 => {
                f.push(0x80 | 126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                f.push(0x80 | 127);
                f.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        let mut mask = [0u8; 4];
        rand::thread_rng().fill_bytes(&mut mask);
        f.extend_from_slice(&mask);
        f.extend(p.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.s.write_all(&f).await.unwrap();
    }

    pub async fn recv(&mut self) -> String {
        let mut msg = Vec::new();
        loop {
            let mut h = [0u8; 2];
            self.s.read_exact(&mut h).await.unwrap();
            let fin = h[0] & 0x80 != 0;
            let op = h[0] & 0x0f;
            let mut len = (h[1] & 0x7f) as u64;
            if len == 126 {
                let mut b = [0u8; 2];
                self.s.read_exact(&mut b).await.unwrap();
                len = u16::from_be_bytes(b) as u64;
            } else if len == 127 {
                let mut b = [0u8; 8];
                self.s.read_exact(&mut b).await.unwrap();
                len = u64::from_be_bytes(b);
            }
            let mask = if h[1] & 0x80 != 0 {
                let mut m = [0u8; 4];
                self.s.read_exact(&mut m).await.unwrap();
                Some(m)
            } else {
                None
            };
            let mut p = vec![0u8; len as usize];
            self.s.read_exact(&mut p).await.unwrap();
            if let Some(m) = mask {
                p.iter_mut().enumerate().for_each(|(i, b)| *b ^= m[i % 4]);
            }
            match op {
                0..=2 => {
                    msg.extend_from_slice(&p);
                    if fin {
                        return String::from_utf8_lossy(&msg).into_owned();
                    }
                }
                8 => panic!("the browser closed the DevTools connection"),
                _ => {} // ping/pong
            }
        }
    }
}

pub struct Cdp {
    pub ws: Ws,
    pub next: u64,
}

impl Cdp {
    pub async fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = self.next;
        let mut m = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            m["sessionId"] = json!(s);
        }
        self.ws.send(&m.to_string()).await;
        loop {
            let v: Value = serde_json::from_str(&self.ws.recv().await).unwrap();
            if v["id"] == json!(id) {
                if let Some(e) = v.get("error") {
                    panic!("{method} failed: {e}");
                }
                return v["result"].clone();
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// Chromium
// ------------------------------------------------------------------------------------------

pub struct Browser {
    child: Child,
    dir: std::path::PathBuf,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn chromium_path() -> Option<String> {
    for c in ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"] {
        for dir in std::env::var("PATH").unwrap_or_default().split(':') {
            let p = std::path::Path::new(dir).join(c);
            if p.is_file() {
                return Some(p.to_string_lossy().into_owned());
            }
        }
    }
    None
}

/// Starts headless Chromium; returns it and the browser's DevTools WebSocket URL.
pub fn launch(bin: &str) -> (Browser, String) {
    let dir = std::env::temp_dir().join(format!("ck-chromium-{}-{}", std::process::id(), rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-site-isolation-trials",
            "--disable-features=IsolateOrigins,site-per-process,OriginKeyedProcessesByDefault",
            "--remote-debugging-port=0",
            "--remote-allow-origins=*",
        ])
        .arg(format!("--user-data-dir={}", dir.display()))
        .arg("about:blank")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("could not start {bin}: {e}"));
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(i) = line.find("ws://") {
                let _ = tx.send(line[i..].trim().to_owned());
            }
        }
    });
    let browser = Browser { child, dir };
    let url = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("Chromium did not print its DevTools URL within 30 s");
    (browser, url)
}

/// Chromium's path, or `None` after saying why the test is skipped; panics in CI, where it
/// must be installed (`.ci/run` installs it).
pub fn chromium_or_skip() -> Option<String> {
    if let Some(bin) = chromium_path() {
        return Some(bin);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("Chromium is not installed: run `apt-get update && apt-get install -y chromium` (.ci/run does this)");
    }
    eprintln!("SKIPPED: chromium is not installed (apt-get install -y chromium)");
    None
}

impl Cdp {
    /// Connects to the browser and opens `url` in a new tab; answers the client and the tab's
    /// session id.
    pub async fn open(ws_url: &str, url: &str) -> (Cdp, String) {
        let mut cdp = Cdp {
            ws: Ws::connect(ws_url).await,
            next: 0,
        };
        let target = cdp.call(None, "Target.createTarget", json!({ "url": url })).await;
        let target_id = target["targetId"].as_str().unwrap().to_owned();
        let attached = cdp
            .call(
                None,
                "Target.attachToTarget",
                json!({"targetId": target_id, "flatten": true}),
            )
            .await;
        let session = attached["sessionId"].as_str().unwrap().to_owned();
        (cdp, session)
    }

    /// The value of `expression` evaluated in the tab (promises awaited).
    pub async fn eval(&mut self, session: &str, expression: &str) -> Value {
        let r = self
            .call(
                Some(session),
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
            )
            .await;
        r["result"]["value"].clone()
    }
}
