//! Fault injection and rate limits: the misbehaving network and server a payment client
//! must survive.
//!
//! `POST /_emulator/faults` sets rules, `GET` shows them, `DELETE` clears them:
//!
//! ```json
//! {"seed": 42, "rules": [{"method": "POST", "path": "/epayment/v1/payments/*/capture",
//!   "probability": 0.3, "fault": "status", "status": 503}]}
//! ```
//!
//! `fault` is one of `status` (answer `status` without running the operation),
//! `rate_limited` (429 with `Retry-After: retryAfter`), `delay` (`delayMs`, then the normal
//! answer), `drop` (close the connection without an answer), `apply_then_fail` (run the
//! operation, then answer 500 — or drop the connection with `"then": "drop"`). `path` takes
//! `*` for one segment. The same seed gives the same sequence of faults for the same
//! sequence of requests. `"rateLimits": true` turns on the documented per-reference rate
//! limits (off by default).

use crate::error::ApiError;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::time::Duration;
use time::OffsetDateTime;

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
    pub fn check(&self) -> Result<(), ApiError> {
        for (i, r) in self.rules.iter().enumerate() {
            if !(0.0..=1.0).contains(&r.probability) || !r.probability.is_finite() {
                return Err(ApiError::validation(
                    &format!("rules[{i}].probability"),
                    "must be between 0 and 1",
                    None,
                ));
            }
            if !r.path.starts_with('/') {
                return Err(ApiError::validation(
                    &format!("rules[{i}].path"),
                    "must start with /",
                    None,
                ));
            }
            if let Some(s) = r.status {
                if !(100..=599).contains(&s) {
                    return Err(ApiError::validation(
                        &format!("rules[{i}].status"),
                        "must be an HTTP status",
                        None,
                    ));
                }
            }
            if r.delay_ms.is_some_and(|d| d > 120_000) {
                return Err(ApiError::validation(
                    &format!("rules[{i}].delayMs"),
                    "must be at most 120000",
                    None,
                ));
            }
            if let Some(t) = &r.then {
                if t != "status" && t != "drop" {
                    return Err(ApiError::validation(
                        &format!("rules[{i}].then"),
                        "must be 'status' or 'drop'",
                        None,
                    ));
                }
            }
        }
        Ok(())
    }
}

struct Active {
    config: FaultConfig,
    rng: StdRng,
}

/// Fault injection and rate-limit state.
pub struct Faults {
    /// Fast checks on the hot path: whether any rule is set, whether rate limits are on.
    has_rules: std::sync::atomic::AtomicBool,
    rate_limits: std::sync::atomic::AtomicBool,
    seen: std::sync::atomic::AtomicU64,
    injected: std::sync::atomic::AtomicU64,
    active: Mutex<Active>,
    windows: Mutex<HashMap<String, VecDeque<OffsetDateTime>>>,
}

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faults")
            .field("config", &self.active.lock().config)
            .finish()
    }
}

impl Default for Faults {
    fn default() -> Self {
        Faults::new(FaultConfig::default())
    }
}

fn rng_for(c: &FaultConfig) -> StdRng {
    match c.seed {
        Some(s) => StdRng::seed_from_u64(s),
        None => StdRng::from_entropy(),
    }
}

/// Whether `path` matches `pattern` (`*` = one segment, trailing `**` = the rest).
pub fn path_matches(pattern: &str, path: &str) -> bool {
    let mut p = pattern.trim_end_matches('/').split('/');
    let mut s = path.trim_end_matches('/').split('/');
    loop {
        match (p.next(), s.next()) {
            (Some("**"), _) => return true,
            (Some(a), Some(b)) => {
                if a != "*" && a != b {
                    return false;
                }
                if a == "*" && b.is_empty() {
                    return false;
                }
            }
            (None, None) => return true,
            _ => return false,
        }
    }
}

impl Faults {
    /// With a configuration.
    pub fn new(config: FaultConfig) -> Self {
        let rng = rng_for(&config);
        Faults {
            has_rules: (!config.rules.is_empty()).into(),
            rate_limits: config.rate_limits.into(),
            seen: Default::default(),
            injected: Default::default(),
            active: Mutex::new(Active { config, rng }),
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Replaces the configuration (and reseeds).
    pub fn set(&self, config: FaultConfig) {
        let rng = rng_for(&config);
        use std::sync::atomic::Ordering::Relaxed;
        self.has_rules.store(!config.rules.is_empty(), Relaxed);
        self.rate_limits.store(config.rate_limits, Relaxed);
        *self.active.lock() = Active { config, rng };
        self.windows.lock().clear();
        self.seen.store(0, std::sync::atomic::Ordering::Relaxed);
        self.injected.store(0, std::sync::atomic::Ordering::Relaxed);
    }

    /// The configuration.
    pub fn get(&self) -> FaultConfig {
        self.active.lock().config.clone()
    }

    /// API requests seen and faults injected since the rules were last set.
    pub fn stats(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.seen.load(Relaxed), self.injected.load(Relaxed))
    }

    fn pick(&self, method: &str, path: &str) -> Option<FaultRule> {
        use std::sync::atomic::Ordering::Relaxed;
        self.seen.fetch_add(1, Relaxed);
        if !self.has_rules.load(Relaxed) {
            return None;
        }
        let picked = self.pick_rule(method, path);
        if picked.is_some() {
            self.injected.fetch_add(1, Relaxed);
        }
        picked
    }

    fn pick_rule(&self, method: &str, path: &str) -> Option<FaultRule> {
        let mut a = self.active.lock();
        let Active { config, rng } = &mut *a;
        for r in &config.rules {
            if r.method.as_deref().is_some_and(|m| !m.eq_ignore_ascii_case(method)) || !path_matches(&r.path, path) {
                continue;
            }
            // Always draw, so the sequence depends only on the requests, not on outcomes.
            let x: f64 = rng.gen();
            if x < r.probability {
                return Some(r.clone());
            }
        }
        None
    }

    fn rate_limits_on(&self) -> bool {
        self.rate_limits.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Counts a request against a limit of `limit` per minute; `Err(retry_after_secs)` when over.
    fn count(&self, key: String, limit: usize, now: OffsetDateTime) -> Result<(), u64> {
        let mut w = self.windows.lock();
        let q = w.entry(key).or_default();
        while q.front().is_some_and(|t| now - *t >= time::Duration::MINUTE) {
            q.pop_front();
        }
        if q.len() >= limit {
            let oldest = q.front().copied().unwrap_or(now);
            let wait = (oldest + time::Duration::MINUTE - now).whole_seconds().max(1) as u64;
            return Err(wait);
        }
        q.push_back(now);
        Ok(())
    }
}

fn dropped() -> Response {
    // A body that fails at once: the server closes the connection without a complete answer.
    let stream = futures::stream::once(async {
        Err::<bytes::Bytes, std::io::Error>(std::io::Error::other("dropped by fault injection"))
    });
    Response::new(Body::from_stream(stream))
}

fn injected(path: &str, status: u16, detail: &str) -> Response {
    let status = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::SERVICE_UNAVAILABLE);
    let title = status.canonical_reason().unwrap_or("Injected fault");
    ApiError::new(status, title, detail).render(path).into_response()
}

fn too_many(path: &str, detail: &str, retry_after: u64) -> Response {
    let mut r = ApiError::new(http::StatusCode::TOO_MANY_REQUESTS, "Too Many Requests", detail)
        .render(path)
        .into_response();
    r.headers_mut()
        .insert(http::header::RETRY_AFTER, http::HeaderValue::from(retry_after));
    r
}

/// The documented limit for a request, and the key it is counted under.
fn limit_for(method: &str, path: &str, headers: &http::HeaderMap, body_ref: Option<&str>) -> Option<(String, usize)> {
    let seg: Vec<&str> = path.trim_matches('/').split('/').collect();
    let msn = headers
        .get("Merchant-Serial-Number")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let sub = headers
        .get("Ocp-Apim-Subscription-Key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match (method, seg.as_slice()) {
        ("POST", ["epayment", "v1", "payments"]) => body_ref.map(|r| (format!("ep-w:{msn}:{r}"), 5)),
        ("POST", ["epayment", "v1", "payments", r, "capture" | "cancel" | "refund"]) => {
            Some((format!("ep-w:{msn}:{r}"), 5))
        }
        ("GET", ["epayment", "v1", "payments", r] | ["epayment", "v1", "payments", r, "events"]) => {
            Some((format!("ep-r:{sub}:{r}"), 120))
        }
        ("POST", ["ecomm", "v2", "payments"]) => body_ref.map(|r| (format!("ec-i:{msn}:{r}"), 2)),
        ("POST" | "PUT", ["ecomm", "v2", "payments", o, "capture" | "cancel" | "refund"]) => {
            Some((format!("ec-w:{msn}:{o}"), 5))
        }
        ("GET", ["ecomm", "v2", "payments", o, "details" | "status"]) => Some((format!("ec-r:{sub}:{o}"), 120)),
        _ => None,
    }
}

/// The documented rate limits: the request back (its body re-attached when it was read for
/// the reference), or the 429 answer.
async fn rate_limit(state: &AppState, mut req: Request) -> Result<Request, Response> {
    let path = req.uri().path().to_owned();
    let method = req.method().as_str().to_owned();
    let creates = method == "POST" && (path == "/epayment/v1/payments" || path == "/ecomm/v2/payments");
    let mut body_ref = None;
    if creates {
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, state.config().max_body_bytes)
            .await
            .unwrap_or_default();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        body_ref = v
            .get("reference")
            .or_else(|| v.pointer("/transaction/orderId"))
            .and_then(|r| r.as_str())
            .map(str::to_owned);
        req = Request::from_parts(parts, Body::from(bytes));
    }
    if let Some((key, limit)) = limit_for(&method, &path, req.headers(), body_ref.as_deref()) {
        if let Err(wait) = state.faults().count(key, limit, state.clock().now()) {
            return Err(too_many(
                &path,
                &format!("Too many requests for this reference: at most {limit} per minute."),
                wait,
            ));
        }
    }
    Ok(req)
}

/// The middleware: rate limits, then fault rules. The control plane and pages are exempt.
pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let p = req.uri().path();
    if p.starts_with("/_emulator")
        || !(p.starts_with("/epayment")
            || p.starts_with("/ecomm")
            || p.starts_with("/checkout/v3/session")
            || p.starts_with("/webhooks")
            || p.starts_with("/accesstoken")
            || p.starts_with("/accessToken")
            || p.starts_with("/miami")
            || p.starts_with("/vipps-userinfo-api"))
    {
        return next.run(req).await;
    }
    let faults = state.faults();
    let req = if faults.rate_limits_on() {
        match rate_limit(&state, req).await {
            Ok(req) => req,
            Err(refused) => return refused,
        }
    } else {
        req
    };
    // Borrowed: with no rule set (the usual case) nothing is copied.
    let Some(rule) = faults.pick(req.method().as_str(), req.uri().path()) else {
        return next.run(req).await;
    };
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    tracing::debug!(%method, %path, fault = ?rule.fault, "injecting a fault");
    match rule.fault {
        FaultKind::Status => injected(
            &path,
            rule.status.unwrap_or(503),
            "Injected fault: the operation did not run.",
        ),
        FaultKind::RateLimited => too_many(&path, "Injected rate limit.", rule.retry_after.unwrap_or(1)),
        FaultKind::Delay => {
            tokio::time::sleep(Duration::from_millis(rule.delay_ms.unwrap_or(1000))).await;
            next.run(req).await
        }
        FaultKind::Drop => dropped(),
        FaultKind::ApplyThenFail => {
            let _ = next.run(req).await;
            if rule.then.as_deref() == Some("drop") {
                dropped()
            } else {
                injected(
                    &path,
                    rule.status.unwrap_or(500),
                    "Injected fault: the operation ran, the answer was lost.",
                )
            }
        }
    }
}

/// `GET /_emulator/faults`.
pub async fn get(State(state): State<AppState>) -> Response {
    let (requests, injected) = state.faults().stats();
    let mut v = serde_json::to_value(state.faults().get()).unwrap_or_default();
    v["stats"] = serde_json::json!({"requests": requests, "injected": injected});
    Json(v).into_response()
}

/// `POST /_emulator/faults`.
pub async fn set(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let path = "/_emulator/faults";
    let c: FaultConfig = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => {
            return ApiError::validation("body", &e.to_string(), None)
                .render(path)
                .into_response()
        }
    };
    if let Err(e) = c.check() {
        return e.render(path).into_response();
    }
    state.faults().set(c.clone());
    Json(c).into_response()
}

/// `DELETE /_emulator/faults`.
pub async fn clear(State(state): State<AppState>) -> Response {
    state.faults().set(FaultConfig::default());
    http::StatusCode::NO_CONTENT.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(path_matches(
            "/epayment/v1/payments/*/capture",
            "/epayment/v1/payments/abc-12345/capture"
        ));
        assert!(!path_matches(
            "/epayment/v1/payments/*/capture",
            "/epayment/v1/payments/abc-12345/refund"
        ));
        assert!(!path_matches(
            "/epayment/v1/payments/*",
            "/epayment/v1/payments/a/capture"
        ));
        assert!(path_matches("/epayment/**", "/epayment/v1/payments/a/capture"));
        assert!(path_matches("/epayment/v1/payments", "/epayment/v1/payments/"));
    }

    #[tokio::test]
    async fn stats_count_api_requests_with_and_without_rules() {
        use tower::ServiceExt;
        let app = crate::router(AppState::new(crate::EmulatorConfig::default()));
        let send = |method: &str, path: &str, body: &str| {
            let req = http::Request::builder()
                .method(method)
                .uri(path)
                .header("content-type", "application/json")
                .body(Body::from(body.to_owned()))
                .unwrap();
            app.clone().oneshot(req)
        };
        let stats = |v: serde_json::Value| (v["stats"]["requests"].clone(), v["stats"]["injected"].clone());
        let read = |r: Response| async move {
            let b = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
            serde_json::from_slice::<serde_json::Value>(&b).unwrap()
        };
        // No rule set: API requests are counted (and answered normally); control-plane ones are not.
        assert_eq!(
            send("GET", "/epayment/v1/payments/stats-ref-1", "")
                .await
                .unwrap()
                .status(),
            401
        );
        assert_eq!(
            send("GET", "/epayment/v1/payments/stats-ref-2", "")
                .await
                .unwrap()
                .status(),
            401
        );
        assert_eq!(send("GET", "/_emulator/health", "").await.unwrap().status(), 200);
        let v = read(send("GET", "/_emulator/faults", "").await.unwrap()).await;
        assert_eq!(stats(v), (serde_json::json!(2), serde_json::json!(0)));
        // A rule that always fires (setting faults starts the counts again).
        let rule = r#"{"rules":[{"path":"/epayment/**","fault":"status","status":503}]}"#;
        assert!(send("POST", "/_emulator/faults", rule)
            .await
            .unwrap()
            .status()
            .is_success());
        assert_eq!(
            send("GET", "/epayment/v1/payments/stats-ref-3", "")
                .await
                .unwrap()
                .status(),
            503
        );
        let v = read(send("GET", "/_emulator/faults", "").await.unwrap()).await;
        assert_eq!(stats(v), (serde_json::json!(1), serde_json::json!(1)));
    }

    #[test]
    fn seeded_sequences_repeat() {
        let c = FaultConfig {
            seed: Some(42),
            rules: vec![FaultRule {
                method: None,
                path: "/x".into(),
                probability: 0.5,
                fault: FaultKind::Status,
                status: None,
                retry_after: None,
                delay_ms: None,
                then: None,
            }],
            rate_limits: false,
        };
        let a = Faults::new(c.clone());
        let b = Faults::new(c);
        let sa: Vec<bool> = (0..200).map(|_| a.pick("GET", "/x").is_some()).collect();
        let sb: Vec<bool> = (0..200).map(|_| b.pick("GET", "/x").is_some()).collect();
        assert_eq!(sa, sb);
        let hits = sa.iter().filter(|x| **x).count();
        assert!((60..140).contains(&hits), "{hits}");
    }

    #[test]
    fn rate_windows() {
        let f = Faults::default();
        let t = OffsetDateTime::now_utc();
        for _ in 0..5 {
            f.count("k".into(), 5, t).unwrap();
        }
        assert!(f.count("k".into(), 5, t).is_err());
        f.count("k".into(), 5, t + time::Duration::seconds(61)).unwrap();
    }
}
