//! The control plane off loopback needs a token (README, "Control plane"): every `/_emulator`
//! route (enumerated from `src/control/mod.rs`, so a new one is covered without editing this
//! file) answers 401 without it or with a wrong one, and does nothing; the right token in
//! `X-Emulator-Token` or the login cookie opens it; on loopback without a token it stays open.

mod common;

use common::{fetch_token, problem, web};
use reqwest::{Client, Method, Response};
use serde_json::{json, Value};
use vipps_emulator::{Emulator, EmulatorConfig, RunningEmulator};

/// Listens on every address; reached through 127.0.0.1.
async fn exposed(config: EmulatorConfig) -> (RunningEmulator, String) {
    let emu = Emulator::builder()
        .host("0.0.0.0")
        .config(config)
        .start()
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}", emu.addr().port());
    (emu, base)
}

/// (path, methods) of every route in `src/control/mod.rs`, path parameters filled in.
fn control_routes(reference: &str) -> Vec<(String, Vec<Method>)> {
    let src = include_str!("../src/control/mod.rs");
    let mut routes = Vec::new();
    for chunk in src.split(".route(").skip(1) {
        let chunk = chunk.split("\n}").next().unwrap();
        let Some(start) = chunk.find("\"/_emulator") else {
            continue; // the login route: a constant, open by design (tested below)
        };
        let rest = &chunk[start + 1..];
        let path = &rest[..rest.find('"').unwrap()];
        let mut methods = Vec::new();
        for (name, m) in [
            ("get(", Method::GET),
            ("post(", Method::POST),
            ("delete(", Method::DELETE),
            ("put(", Method::PUT),
            ("patch(", Method::PATCH),
            ("any(", Method::GET),
            ("any(", Method::POST),
        ] {
            let called = chunk.match_indices(name).any(|(i, _)| {
                i == 0 || !chunk.as_bytes()[i - 1].is_ascii_alphanumeric() && chunk.as_bytes()[i - 1] != b'_'
            });
            if called && !methods.contains(&m) {
                methods.push(m);
            }
        }
        if methods.is_empty() {
            methods = vec![Method::GET, Method::POST]; // a route with a fallback only
        }
        let filled = path
            .replace("{*rest}", "no/such/route")
            .replace("{reference}", reference)
            .replace("{order_id}", "no-such-order")
            .replace("{agreement_id}", "agr_0000000")
            .replace("{phone_number}", "4791234567")
            .replace("{kind}", "payment")
            .replace("{id}", "1");
        assert!(!filled.contains('{'), "fill in the parameter of {path}");
        routes.push((filled, methods));
    }
    assert!(routes.len() >= 20, "found only {} routes: {routes:?}", routes.len());
    // The dashboard's path, and paths no route has: refused before routing matters.
    for path in ["/_emulator/", "/_emulator", "/_emulator/no/such/route"] {
        routes.push((path.to_owned(), vec![Method::GET, Method::POST]));
    }
    routes
}

async fn send(http: &Client, method: Method, url: &str, token: Option<&str>, cookie: Option<&str>) -> Response {
    let mut r = http.request(method.clone(), url);
    if method != Method::GET {
        r = r.json(&json!({"seconds": 3600, "fails": true, "maxAmount": 100, "msn": "123456"}));
    }
    if let Some(t) = token {
        r = r.header("X-Emulator-Token", t);
    }
    if let Some(c) = cookie {
        r = r.header("cookie", c);
    }
    r.send().await.unwrap()
}

async fn payment_state(http: &Client, base: &str, emu: &RunningEmulator, reference: &str) -> String {
    let m = emu.merchant();
    let token = fetch_token(http, base, m).await;
    let v: Value = http
        .get(format!("{base}/epayment/v1/payments/{reference}"))
        .bearer_auth(token)
        .header("Ocp-Apim-Subscription-Key", &m.subscription_key)
        .header("Merchant-Serial-Number", &m.msn)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["state"].as_str().unwrap().to_owned()
}

async fn create_payment(http: &Client, base: &str, emu: &RunningEmulator, reference: &str) {
    let m = emu.merchant();
    let token = fetch_token(http, base, m).await;
    let r = http
        .post(format!("{base}/epayment/v1/payments"))
        .bearer_auth(token)
        .header("Ocp-Apim-Subscription-Key", &m.subscription_key)
        .header("Merchant-Serial-Number", &m.msn)
        .header("Idempotency-Key", format!("create-{reference}"))
        .json(&web(reference, 1000))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
}

async fn clock_offset(http: &Client, base: &str, token: &str) -> i64 {
    let r = send(http, Method::GET, &format!("{base}/_emulator/clock"), Some(token), None).await;
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["offsetSeconds"].as_i64().unwrap()
}

#[tokio::test]
async fn off_loopback_every_control_route_refuses_a_missing_or_wrong_token() {
    let (emu, base) = exposed(EmulatorConfig::default()).await;
    let token = emu
        .control_token()
        .expect("a token is generated off loopback")
        .to_owned();
    assert!(token.len() >= 32, "at least 128 bits: {token}");
    let http = Client::new();
    let reference = "token-guard-ref-1";
    create_payment(&http, &base, &emu, reference).await;

    let wrong = [
        (None, None),
        (Some("wrong"), None),
        (Some(&token[..token.len() - 1]), None),
        (Some(&*format!("{token}x")), None),
        (None, Some("vipps_emulator_token=wrong")),
        (None, Some(&*format!("other={token}"))),
    ];
    for (path, methods) in control_routes(reference) {
        // DELETE too: a method the route lacks is refused for the token before routing.
        for method in methods.into_iter().chain([Method::DELETE]) {
            for (t, c) in &wrong {
                let r = send(&http, method.clone(), &format!("{base}{path}"), *t, *c).await;
                let p = problem(r, 401, None).await;
                assert!(!p.to_string().contains(&token), "the token is not echoed: {p}");
            }
        }
    }
    // Nothing happened.
    assert_eq!(payment_state(&http, &base, &emu, reference).await, "CREATED");
    assert_eq!(clock_offset(&http, &base, &token).await, 0, "the clock did not move");
    assert!(!format!("{emu:?}").contains(&token), "Debug hides the token");
}

#[tokio::test]
async fn the_right_token_in_the_header_opens_the_control_plane() {
    let (emu, base) = exposed(EmulatorConfig::default()).await;
    let token = emu.control_token().unwrap().to_owned();
    let http = Client::new();
    let reference = "token-guard-ref-2";
    create_payment(&http, &base, &emu, reference).await;
    let approve = format!("{base}/_emulator/payments/{reference}/approve");
    let r = http
        .post(&approve)
        .header("X-Emulator-Token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert_eq!(payment_state(&http, &base, &emu, reference).await, "AUTHORIZED");
    let advance = format!("{base}/_emulator/clock/advance");
    let r = send(&http, Method::POST, &advance, Some(&token), None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(clock_offset(&http, &base, &token).await, 3600);
    // Routing still answers behind the token.
    let r = send(
        &http,
        Method::GET,
        &format!("{base}/_emulator/no-such"),
        Some(&token),
        None,
    )
    .await;
    problem(r, 404, None).await;
    // The Host and Origin checks remain.
    let r = http
        .post(&advance)
        .header("X-Emulator-Token", &token)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    problem(r, 403, None).await;
    // Each emulator generates its own.
    let (other, _) = exposed(EmulatorConfig::default()).await;
    assert_ne!(other.control_token(), Some(&*token));
}

fn no_redirects() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

#[tokio::test]
async fn a_browser_signs_in_with_the_form_and_keeps_the_cookie() {
    let (emu, base) = exposed(EmulatorConfig::default()).await;
    let token = emu.control_token().unwrap().to_owned();
    let http = no_redirects();

    // A person opening the dashboard without the token sees where to sign in.
    let r = http
        .get(format!("{base}/_emulator/"))
        .header("accept", BROWSER_ACCEPT)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let page = r.text().await.unwrap();
    assert!(page.contains(r#"action="/_emulator/login""#), "{page}");

    // The form itself is open and accessible: a labelled password field and a button.
    let r = http.get(format!("{base}/_emulator/login")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let form = r.text().await.unwrap();
    for needle in [
        r#"<label for="token">"#,
        r#"id="token""#,
        r#"type="password""#,
        r#"name="token""#,
        r#"method="post""#,
        ">Sign in</button>",
        r#"<html lang="en">"#,
    ] {
        assert!(form.contains(needle), "{needle} in {form}");
    }
    assert!(!form.contains(&token));

    // A wrong token: 401, no cookie.
    let r = http
        .post(format!("{base}/_emulator/login"))
        .form(&[("token", "wrong")])
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("set-cookie").is_none());
    problem(r, 401, None).await;

    // The right one: 303 to the dashboard with the cookie.
    let r = http
        .post(format!("{base}/_emulator/login"))
        .form(&[("token", &*token)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/_emulator/");
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert_eq!(
        cookie,
        format!("vipps_emulator_token={token}; HttpOnly; SameSite=Strict; Path=/_emulator")
    );
    let pair = cookie.split(';').next().unwrap().to_owned();
    let r = send(
        &http,
        Method::GET,
        &format!("{base}/_emulator/clock"),
        None,
        Some(&pair),
    )
    .await;
    assert_eq!(r.status(), 200);
    let with_others = format!("theme=dark; {pair}; x=1");
    let advance = format!("{base}/_emulator/clock/advance");
    let r = send(&http, Method::POST, &advance, None, Some(&with_others)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(clock_offset(&http, &base, &token).await, 3600);
}

#[tokio::test]
async fn the_cookie_is_secure_behind_an_https_public_url() {
    let config = EmulatorConfig {
        public_url: Some("https://emulator.example".into()),
        ..EmulatorConfig::default()
    };
    let (emu, base) = exposed(config).await;
    let token = emu.control_token().unwrap().to_owned();
    let r = no_redirects()
        .post(format!("{base}/_emulator/login"))
        .form(&[("token", &*token)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(r.headers()["set-cookie"].to_str().unwrap().ends_with("; Secure"));
}

#[tokio::test]
async fn on_loopback_the_control_plane_stays_open_unless_a_token_is_given() {
    let open = Emulator::start().await.unwrap();
    assert_eq!(open.control_token(), None);
    let http = Client::new();
    let r = send(
        &http,
        Method::POST,
        &format!("{}/_emulator/clock/advance", open.base_url()),
        None,
        None,
    )
    .await;
    assert_eq!(r.status(), 200);

    let given = Emulator::builder()
        .control_token("my-own-token-1")
        .start()
        .await
        .unwrap();
    assert_eq!(given.control_token(), Some("my-own-token-1"));
    let clock = format!("{}/_emulator/clock", given.base_url());
    problem(send(&http, Method::GET, &clock, None, None).await, 401, None).await;
    assert_eq!(
        send(&http, Method::GET, &clock, Some("my-own-token-1"), None)
            .await
            .status(),
        200
    );

    for bad in ["", "two words", "semi;colon"] {
        let err = Emulator::builder().control_token(bad).start().await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{bad:?}");
    }
}
