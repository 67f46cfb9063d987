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

use crate::core::config::{FaultConfig, FaultRule};
use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{HashMap, VecDeque};
use time::OffsetDateTime;

struct Active {
    config: FaultConfig,
    rng: StdRng,
}

/// Fault injection and rate-limit state.
pub(crate) struct Faults {
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
pub(crate) fn path_matches(pattern: &str, path: &str) -> bool {
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
    pub(crate) fn new(config: FaultConfig) -> Self {
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
    pub(crate) fn set(&self, config: FaultConfig) {
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
    pub(crate) fn get(&self) -> FaultConfig {
        self.active.lock().config.clone()
    }

    /// API requests seen and faults injected since the rules were last set.
    pub(crate) fn stats(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.seen.load(Relaxed), self.injected.load(Relaxed))
    }

    pub(crate) fn pick(&self, method: &str, path: &str) -> Option<FaultRule> {
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

    pub(crate) fn rate_limits_on(&self) -> bool {
        self.rate_limits.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Counts a request against a limit of `limit` per minute; `Err(retry_after_secs)` when over.
    pub(crate) fn count(&self, key: String, limit: usize, now: OffsetDateTime) -> Result<(), u64> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::FaultKind;

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
