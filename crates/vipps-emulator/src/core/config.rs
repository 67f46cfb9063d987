//! Emulator configuration: merchants (sales units) and timings.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;
use vipps_types::Currency;

/// A sales unit known to the emulator, with its API keys.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Merchant {
    /// Merchant serial number (4–6 digits).
    pub msn: String,
    /// The `client_id`.
    pub client_id: String,
    /// The `client_secret` (never printed by `Debug`).
    pub client_secret: String,
    /// The `Ocp-Apim-Subscription-Key` (never printed by `Debug`).
    pub subscription_key: String,
    /// The sales unit name shown on the landing page.
    #[serde(default = "default_name")]
    pub name: String,
    /// The market currency: payments in any other currency are refused (5040).
    #[serde(default = "default_currency")]
    pub currency: Currency,
    /// eCom "direct capture" (set by Vipps MobilePay per sales unit, never by the merchant):
    /// an approved order is captured at once (`SALE`). The ePayment and Checkout APIs have no
    /// direct capture: such a sales unit's ePayment creates are refused (5070) and its Checkout
    /// payments fail. Off by default.
    #[serde(default)]
    pub direct_capture: bool,
    /// What Vipps MobilePay has approved this sales unit for (everything by default).
    #[serde(default)]
    pub approved: Approvals,
}

/// Features a sales unit needs Vipps MobilePay's approval for. All on by default; turn one off
/// to test the refusal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Approvals {
    /// Express payments (`shipping`); without it 5020 "Express payment not allowed".
    pub express: bool,
    /// Long-living payments (`expiresAt`); without it 5050 "Long-living payment not allowed".
    pub long_living: bool,
    /// `PUSH_MESSAGE` (skipping the landing page); without it 5080 "PUSH_MESSAGE not allowed".
    pub push_message: bool,
}

impl Default for Approvals {
    fn default() -> Self {
        Approvals {
            express: true,
            long_living: true,
            push_message: true,
        }
    }
}

fn default_name() -> String {
    "Emulator Test Shop".to_owned()
}

fn default_currency() -> Currency {
    Currency::Nok
}

impl Merchant {
    /// The emulator's default test merchant (MSN 123456, NOK).
    pub fn default_test() -> Merchant {
        Merchant {
            msn: "123456".to_owned(),
            client_id: "fb492b5e-7907-4d83-bc20-c7fb60ca35de".to_owned(),
            client_secret: "Y8Kteew6GE3ZmeycEt6egg==".to_owned(),
            subscription_key: "0f14ebcab0eb4b29ae0cb90d91b4a84a".to_owned(),
            name: default_name(),
            currency: Currency::Nok,
            direct_capture: false,
            approved: Approvals::default(),
        }
    }
}

impl fmt::Debug for Merchant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Merchant")
            .field("msn", &self.msn)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("subscription_key", &"<redacted>")
            .field("name", &self.name)
            .field("currency", &self.currency)
            .field("direct_capture", &self.direct_capture)
            .field("approved", &self.approved)
            .finish()
    }
}

/// Everything the emulator can be configured with. Read from JSON with [`EmulatorConfig::from_file`];
/// every field is optional there.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct EmulatorConfig {
    /// The sales units. The first is the default merchant. Never empty in a running emulator.
    pub merchants: Vec<Merchant>,
    /// Access token lifetime in seconds (test environment: 3600).
    pub token_ttl_secs: i64,
    /// How long a payment waits for the customer before it expires (10 minutes).
    pub payment_expiry_secs: i64,
    /// The base URL used in `redirectUrl` (landing page, QR); default: the listen URL.
    pub public_url: Option<String>,
    /// The largest accepted request body in bytes (1 MiB); larger bodies get 413.
    pub max_body_bytes: usize,
    /// Fault injection rules and rate limits in force from start-up (see `POST /_emulator/faults`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults: Option<FaultConfig>,
    /// How webhook deliveries are retried (default: 4 attempts, 200 ms doubling backoff, 10 s
    /// per attempt; the real API retries for up to 7 days, e.g. `{"maxAttempts": 30,
    /// "initialBackoffMs": 2000, "maxBackoffMs": 3600000}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_retry: Option<RetrySchedule>,
    /// Accept request-body fields the emulator does not know (ignored) instead of refusing them
    /// with 400, as the real APIs do ("The API rejects unknown fields",
    /// knowledge-base--platform-best-practices-2026.md). For clients that send fields newer than
    /// this emulator. Default: false.
    pub lenient_fields: bool,
    /// Retention: forget ePayment payments, Checkout sessions, eCom orders, profile consents
    /// and idempotency records created more than this many seconds ago on the emulator's clock
    /// (at least 3600; a data dir's rows go too). Recurring agreements and charges, webhook
    /// registrations and the emulator's settings are kept. Default: off (`None`), nothing is
    /// forgotten.
    #[serde(default)]
    pub retention_secs: Option<u64>,
    /// The most deliveries (webhooks, callbacks) in flight at once, over all receivers (64).
    /// More wait their turn, in the order they were queued, so a receiver that never answers
    /// cannot make the emulator open a socket per payment.
    pub max_deliveries_in_flight: usize,
    /// The most deliveries in flight at once to one receiver (host and port; 8).
    pub max_deliveries_per_host: usize,
    /// How long a connection may take to send a request's complete headers, in milliseconds
    /// (10 000), counted from the connection's start or, between requests, from the first byte
    /// of the next request. A connection that is slower is closed.
    pub header_read_timeout_ms: u64,
    /// How long a kept-alive connection may sit idle between requests, in milliseconds
    /// (60 000), before it is closed.
    pub keep_alive_timeout_ms: u64,
    /// How long a request's body may take to arrive, in milliseconds (30 000), counted once
    /// its headers are read and its credentials checked. A slower body gets 408 and the
    /// connection is not reused.
    pub body_read_timeout_ms: u64,
    /// The most connections served at once (1 024). Further connections wait in the listen
    /// backlog until one closes; they are not refused.
    pub max_connections: usize,
    /// The token every `/_emulator` request must carry (`X-Emulator-Token`, or the login
    /// cookie). `None`: the control plane is open, unless the emulator listens off loopback,
    /// where it generates one at start-up. Never read from or written to the file (a secret).
    #[serde(skip)]
    pub control_token: Option<ControlToken>,
}

/// The control plane's token. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct ControlToken(String);

impl ControlToken {
    /// A token as given; `None` when it is empty or has characters a header or a cookie value
    /// cannot carry (only visible ASCII without quote, comma, semicolon and backslash).
    pub fn new(token: impl Into<String>) -> Option<ControlToken> {
        let t = token.into();
        let fits = |b: u8| (0x21..=0x7e).contains(&b) && !matches!(b, b'"' | b',' | b';' | b'\\');
        (!t.is_empty() && t.bytes().all(fits)).then_some(ControlToken(t))
    }

    /// A fresh random token: 256 bits from the thread's CSPRNG, as hex.
    pub fn generate() -> ControlToken {
        let mut b = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut b);
        ControlToken(b.iter().map(|x| format!("{x:02x}")).collect())
    }

    /// The token itself (a credential: keep it out of logs).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ControlToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ControlToken(<redacted>)")
    }
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            merchants: vec![Merchant::default_test()],
            token_ttl_secs: 3600,
            payment_expiry_secs: 600,
            public_url: None,
            max_body_bytes: 1024 * 1024,
            faults: None,
            webhook_retry: None,
            lenient_fields: false,
            retention_secs: None,
            max_deliveries_in_flight: 64,
            max_deliveries_per_host: 8,
            header_read_timeout_ms: 10_000,
            keep_alive_timeout_ms: 60_000,
            body_read_timeout_ms: 30_000,
            max_connections: 1024,
            control_token: None,
        }
    }
}

/// The limits on reading one request body.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyLimits {
    /// More bytes than this get 413.
    pub max_bytes: usize,
    /// A body that has not arrived whole within this gets 408.
    pub timeout: std::time::Duration,
}

/// The shortest retention (`EmulatorConfig::retention_secs`) accepted.
pub const MIN_RETENTION_SECS: u64 = 3600;

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the configuration: {0}")]
    Io(#[from] std::io::Error),
    /// The file is not valid JSON for [`EmulatorConfig`].
    #[error("invalid configuration JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The values break a rule.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl EmulatorConfig {
    /// How much of a request body is read, and for how long.
    pub(crate) fn body_limits(&self) -> BodyLimits {
        BodyLimits {
            max_bytes: self.max_body_bytes,
            timeout: std::time::Duration::from_millis(self.body_read_timeout_ms),
        }
    }

    /// Reads a JSON configuration file, e.g.
    /// `{"merchants":[{"msn":"654321","client_id":"…","client_secret":"…","subscription_key":"…"}]}`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)?;
        Self::from_json(&text)
    }

    /// Parses and checks a JSON configuration.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let config: EmulatorConfig = serde_json::from_str(text)?;
        config.check()?;
        Ok(config)
    }

    /// Checks the rules: at least one merchant, MSNs of 4–6 digits, unique MSNs, client ids and
    /// subscription keys, known currencies, positive lifetimes.
    pub fn check(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        if self.merchants.is_empty() {
            return bad("at least one merchant is required".into());
        }
        if self.retention_secs.is_some_and(|s| s < MIN_RETENTION_SECS) {
            return bad(format!(
                "retention_secs must be at least {MIN_RETENTION_SECS} (a payment must outlive its expiry)"
            ));
        }
        for (i, m) in self.merchants.iter().enumerate() {
            if !is_msn(&m.msn) {
                return bad(format!("merchants[{i}].msn must be 4-6 digits"));
            }
            if m.client_id.is_empty() || m.client_secret.is_empty() || m.subscription_key.is_empty() {
                return bad(format!(
                    "merchants[{i}]: client_id, client_secret and subscription_key must not be empty"
                ));
            }
            if !m.currency.is_known() {
                return bad(format!("merchants[{i}].currency must be NOK, DKK or EUR"));
            }
            for other in &self.merchants[..i] {
                if other.msn == m.msn || other.client_id == m.client_id || other.subscription_key == m.subscription_key
                {
                    return bad(format!(
                        "merchants[{i}] repeats the msn, client_id or subscription_key of another merchant"
                    ));
                }
            }
        }
        if self.token_ttl_secs <= 0 || self.payment_expiry_secs <= 0 {
            return bad("token_ttl_secs and payment_expiry_secs must be positive".into());
        }
        if self.max_deliveries_in_flight == 0 || self.max_deliveries_per_host == 0 {
            return bad("max_deliveries_in_flight and max_deliveries_per_host must be positive".into());
        }
        if self.header_read_timeout_ms == 0 || self.header_read_timeout_ms > MAX_SERVER_TIMEOUT_MS {
            return bad(format!(
                "header_read_timeout_ms must be between 1 and {MAX_SERVER_TIMEOUT_MS}"
            ));
        }
        if self.keep_alive_timeout_ms == 0 || self.keep_alive_timeout_ms > MAX_SERVER_TIMEOUT_MS {
            return bad(format!(
                "keep_alive_timeout_ms must be between 1 and {MAX_SERVER_TIMEOUT_MS}"
            ));
        }
        if self.body_read_timeout_ms == 0 || self.body_read_timeout_ms > MAX_SERVER_TIMEOUT_MS {
            return bad(format!(
                "body_read_timeout_ms must be between 1 and {MAX_SERVER_TIMEOUT_MS}"
            ));
        }
        if self.max_connections == 0 || self.max_connections > MAX_CONNECTIONS {
            return bad(format!("max_connections must be between 1 and {MAX_CONNECTIONS}"));
        }
        if let Some(r) = &self.webhook_retry {
            if r.max_attempts == 0 || r.timeout_ms == 0 || r.max_backoff_ms < r.initial_backoff_ms {
                return bad(
                    "webhook_retry: maxAttempts and timeoutMs must be positive, maxBackoffMs at least initialBackoffMs"
                        .into(),
                );
            }
        }
        Ok(())
    }
}

/// The largest accepted `header_read_timeout_ms`, `keep_alive_timeout_ms` and
/// `body_read_timeout_ms` (one hour).
pub(crate) const MAX_SERVER_TIMEOUT_MS: u64 = 3_600_000;

/// The largest accepted `max_connections`.
pub(crate) const MAX_CONNECTIONS: usize = 1_000_000;

/// Whether `s` matches `^[0-9]{4,6}$`.
pub(crate) fn is_msn(s: &str) -> bool {
    (4..=6).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_secrets() {
        let m = Merchant::default_test();
        let s = format!("{m:?} {:?}", EmulatorConfig::default());
        assert!(!s.contains(&m.client_secret));
        assert!(!s.contains(&m.subscription_key));
        assert!(s.contains("123456"));
        let t = ControlToken::generate();
        let c = EmulatorConfig {
            control_token: Some(t.clone()),
            ..EmulatorConfig::default()
        };
        assert!(!format!("{c:?} {t:?}").contains(t.expose()));
    }

    #[test]
    fn control_tokens_are_header_and_cookie_safe() {
        let t = ControlToken::generate();
        assert_eq!(t.expose().len(), 64);
        assert_ne!(t, ControlToken::generate());
        assert!(ControlToken::new("s3cret-Token_1").is_some());
        for bad in ["", "a b", "a;b", "a,b", "a\"b", "a\\b", "æ", "a\nb"] {
            assert!(ControlToken::new(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn parses_partial_json() {
        let c = EmulatorConfig::from_json(
            r#"{"merchants":[{"msn":"654321","client_id":"a","client_secret":"b","subscription_key":"c","currency":"DKK"}],"token_ttl_secs":60}"#,
        )
        .unwrap();
        assert_eq!(c.merchants[0].currency, Currency::Dkk);
        assert_eq!(c.merchants[0].name, "Emulator Test Shop");
        assert_eq!(c.token_ttl_secs, 60);
        assert_eq!(c.payment_expiry_secs, 600);
        assert!(EmulatorConfig::from_json(r#"{"merchants":[]}"#).is_err());
        assert!(EmulatorConfig::from_json(
            r#"{"merchants":[{"msn":"12","client_id":"a","client_secret":"b","subscription_key":"c"}]}"#
        )
        .is_err());
    }

    #[test]
    fn the_webhook_retry_schedule_can_be_configured() {
        let c = EmulatorConfig::from_json(
            r#"{"webhook_retry":{"maxAttempts":30,"initialBackoffMs":2000,"maxBackoffMs":3600000}}"#,
        )
        .unwrap();
        let r = c.webhook_retry.clone().unwrap();
        assert_eq!(
            (r.max_attempts, r.initial_backoff_ms, r.max_backoff_ms),
            (30, 2000, 3_600_000)
        );
        assert_eq!(r.timeout_ms, 10_000, "unset fields keep their defaults");
        assert!(EmulatorConfig::from_json(r#"{"webhook_retry":{"maxAttempts":0}}"#).is_err());
        assert!(EmulatorConfig::from_json(r#"{"webhook_retry":{"initialBackoffMs":9000,"maxBackoffMs":10}}"#).is_err());
    }
}

// Fault injection (see `POST /_emulator/faults`).

/// The kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer with `status`; the operation does not run.
    Status,
    /// 429 with `Retry-After`.
    RateLimited,
    /// Wait `delayMs`, then answer normally.
    Delay,
    /// Close the connection without an answer; the operation does not run.
    Drop,
    /// Run the operation, then answer 500 (or drop, with `then: "drop"`).
    ApplyThenFail,
}

/// One rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultRule {
    /// HTTP method; any when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Path pattern; `*` matches one segment, a trailing `**` any rest.
    pub path: String,
    /// Chance in [0, 1] that a matching request gets the fault (default 1).
    #[serde(default = "one")]
    pub probability: f64,
    /// What happens.
    pub fault: FaultKind,
    /// Status for `status` (default 503) and `apply_then_fail` (default 500).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// `Retry-After` seconds for `rate_limited` (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// Delay for `delay` (default 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// For `apply_then_fail`: `"status"` (default) or `"drop"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub then: Option<String>,
}

fn one() -> f64 {
    1.0
}

/// The fault configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultConfig {
    /// Seed for reproducible faults (random when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Rules, first match wins.
    #[serde(default)]
    pub rules: Vec<FaultRule>,
    /// The documented rate limits (ePayment, eCom), off by default.
    #[serde(default)]
    pub rate_limits: bool,
}

impl FaultConfig {
    /// Checks the rules.
    pub fn check(&self) -> Result<(), (String, &'static str)> {
        for (i, r) in self.rules.iter().enumerate() {
            if !(0.0..=1.0).contains(&r.probability) || !r.probability.is_finite() {
                return Err((format!("rules[{i}].probability"), "must be between 0 and 1"));
            }
            if !r.path.starts_with('/') {
                return Err((format!("rules[{i}].path"), "must start with /"));
            }
            if let Some(s) = r.status {
                if !(100..=599).contains(&s) {
                    return Err((format!("rules[{i}].status"), "must be an HTTP status"));
                }
            }
            if r.delay_ms.is_some_and(|d| d > 120_000) {
                return Err((format!("rules[{i}].delayMs"), "must be at most 120000"));
            }
            if let Some(t) = &r.then {
                if t != "status" && t != "drop" {
                    return Err((format!("rules[{i}].then"), "must be 'status' or 'drop'"));
                }
            }
        }
        Ok(())
    }
}

// Outbound deliveries (webhooks, callbacks).

/// How often and how patiently a delivery is attempted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RetrySchedule {
    /// Attempts in total, the first included.
    pub max_attempts: u32,
    /// Wait before the first retry; doubled for each further one (compressed from the real
    /// hours so tests stay fast).
    pub initial_backoff_ms: u64,
    /// Cap of one wait.
    pub max_backoff_ms: u64,
    /// Per-attempt timeout.
    pub timeout_ms: u64,
}

impl Default for RetrySchedule {
    fn default() -> Self {
        RetrySchedule {
            max_attempts: 4,
            initial_backoff_ms: 200,
            max_backoff_ms: 5_000,
            timeout_ms: 10_000,
        }
    }
}

impl RetrySchedule {
    /// One attempt only (eCom callbacks).
    pub fn once(timeout_ms: u64) -> Self {
        RetrySchedule {
            max_attempts: 1,
            timeout_ms,
            ..Default::default()
        }
    }

    /// The wait before attempt `n + 1` (n ≥ 1).
    pub fn backoff(&self, n: u32) -> std::time::Duration {
        let exp = n.saturating_sub(1).min(20);
        std::time::Duration::from_millis(
            self.initial_backoff_ms
                .saturating_mul(1u64 << exp)
                .min(self.max_backoff_ms),
        )
    }
}
