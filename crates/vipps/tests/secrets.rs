//! Secrets never show: a client configured with recognisable secrets is driven through
//! success and every error path with tracing at TRACE level for every crate, and all output
//! (logs, `Debug`, `Display` of clients, responses and errors) is scanned for them.

use parking_lot::Mutex;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;
use vipps::types::epayment::{CreatePaymentRequest, UserFlow};
use vipps::types::{Amount, Reference};
use vipps::{Client, RetryPolicy};
use vipps_emulator::{Emulator, EmulatorConfig, Merchant};

const CLIENT_SECRET: &str = "CLIENTSECRET-7f3a9c";
const SUBSCRIPTION_KEY: &str = "SUBSCRIPTIONKEY-2b8e1d";

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_in_any_output() {
    let buf = Buf::default();
    let writer = buf.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let merchant = Merchant {
        client_secret: CLIENT_SECRET.into(),
        subscription_key: SUBSCRIPTION_KEY.into(),
        ..Merchant::default_test()
    };
    let config = EmulatorConfig {
        merchants: vec![merchant.clone()],
        ..EmulatorConfig::default()
    };
    let emu = Emulator::builder().config(config).start().await.unwrap();
    let client = Client::builder()
        .client_id(merchant.client_id.clone())
        .client_secret(CLIENT_SECRET)
        .subscription_key(SUBSCRIPTION_KEY)
        .merchant_serial_number(merchant.msn.clone())
        .base_url(emu.base_url())
        .retry_policy(RetryPolicy {
            max_attempts: 2,
            initial_backoff: Duration::from_millis(1),
            ..Default::default()
        })
        .build()
        .unwrap();
    let mut out = String::new();
    out += &format!("{client:?} {:?} {merchant:?}\n", client.config());

    // success paths
    let r = Reference::random();
    let created = client
        .epayment()
        .create_payment(CreatePaymentRequest {
            return_url: Some("https://example.com/r".into()),
            ..CreatePaymentRequest::new(Amount::nok(1000), r.clone(), UserFlow::WebRedirect)
        })
        .await
        .unwrap();
    out += &format!("{created:?}\n");
    let token = client.access_token().await.unwrap();
    out += &format!("{token:?} {token}\n");
    out += &format!("{:?}\n", client.epayment().get_payment(&r).await.unwrap());

    // error paths: API error, validation, wrong credentials, connection refused, timeout
    let errors = vec![
        client.epayment().capture(&r, Amount::nok(100)).await.unwrap_err(),
        client
            .epayment()
            .capture("bad ref", Amount::nok(100))
            .await
            .unwrap_err(),
        Client::builder()
            .client_id("someone")
            .client_secret(CLIENT_SECRET)
            .subscription_key(SUBSCRIPTION_KEY)
            .merchant_serial_number("123456")
            .base_url(emu.base_url())
            .build()
            .unwrap()
            .epayment()
            .get_payment(&r)
            .await
            .unwrap_err(),
        Client::builder()
            .client_id("someone")
            .client_secret(CLIENT_SECRET)
            .subscription_key(SUBSCRIPTION_KEY)
            .merchant_serial_number("123456")
            .base_url("http://127.0.0.1:9")
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap()
            .epayment()
            .get_payment(&r)
            .await
            .unwrap_err(),
    ];
    // a timeout (whether a 1 ns attempt times out is up to the scheduler, so only when it does)
    let mut errors = errors;
    let timed = client
        .epayment()
        .get_payment(&r)
        .timeout(Duration::from_nanos(1))
        .retry_policy(RetryPolicy::none())
        .await;
    if let Err(e) = timed {
        errors.push(e);
    }
    for e in &errors {
        out += &format!("{e}\n{e:?}\n");
    }
    let bad_config = Client::builder()
        .client_secret(CLIENT_SECRET)
        .subscription_key(SUBSCRIPTION_KEY)
        .build();
    out += &format!("{:?}\n", bad_config.unwrap_err());
    drop(emu);

    let logs = String::from_utf8_lossy(&buf.0.lock()).into_owned();
    assert!(logs.contains("vipps.request"), "tracing produced no request spans");
    let token_text = token.expose().to_owned();
    for (name, secret) in [
        ("client secret", CLIENT_SECRET),
        ("subscription key", SUBSCRIPTION_KEY),
        ("token", &token_text),
    ] {
        assert!(!out.contains(secret), "{name} leaked into Debug/Display output:\n{out}");
        assert!(!logs.contains(secret), "{name} leaked into the logs");
    }
}
