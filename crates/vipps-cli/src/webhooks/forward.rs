//! Forwarding verified deliveries to the merchant's own handler, signed again with the
//! forwarding secret for the handler's URL, and retried with backoff when it fails.
//!
//! One task forwards the queued events one at a time, in the order they arrived: while one is
//! being retried the later ones wait, as Vipps MobilePay keeps a payment's events in order.

use super::event::summary;
use axum::body::Bytes;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use vipps::Secret;

/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long one attempt may take before it counts as failed.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where events are forwarded, with the parts the signature covers.
pub struct Target {
    url: reqwest::Url,
    /// The authority the HTTP client sends as `Host` (the port only when not the default).
    host: String,
    path_and_query: String,
}

impl Target {
    /// An `http://` or `https://` URL.
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = reqwest::Url::parse(url).map_err(|e| format!("--forward-to {url}: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("--forward-to {url}: not an http:// or https:// URL"));
        }
        let (host, path_and_query) = authority_and_path(&url)?;
        Ok(Target {
            url,
            host,
            path_and_query,
        })
    }
}

/// A URL's `Host` value and path with query: what a delivery to it is signed for.
pub fn authority_and_path(url: &reqwest::Url) -> Result<(String, String), String> {
    let host = url.host_str().ok_or_else(|| format!("{url}: no host"))?;
    let host = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    };
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    Ok((host, path))
}

/// How often a failed forward is tried again: `attempts` in all, waiting `backoff` after the
/// first failure and twice as long after each next one (at most 30 s).
#[derive(Clone, Copy)]
pub struct Schedule {
    pub attempts: u32,
    pub backoff: Duration,
}

impl Schedule {
    /// The wait after failed attempt number `attempt` (1-based).
    fn delay_after(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.saturating_sub(1)).unwrap_or(u32::MAX);
        self.backoff.saturating_mul(factor).min(MAX_BACKOFF)
    }
}

pub struct Forwarder {
    http: reqwest::Client,
    target: Target,
    secret: Secret,
    schedule: Schedule,
    /// Events queued and not yet forwarded or given up on.
    pending: Arc<AtomicUsize>,
}

impl Forwarder {
    pub fn new(target: Target, secret: Secret, schedule: Schedule, pending: Arc<AtomicUsize>) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(ATTEMPT_TIMEOUT)
            // A redirect would send the signed delivery somewhere it was not signed for.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Forwarder {
            http,
            target,
            secret,
            schedule,
            pending,
        })
    }

    /// Forwards every queued event until the queue closes.
    pub async fn run(self, mut queue: mpsc::Receiver<Bytes>) {
        while let Some(body) = queue.recv().await {
            self.deliver(&body).await;
            self.pending.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Forwards one event, trying again after each failure as the schedule says.
    async fn deliver(&self, body: &Bytes) {
        let what = summary(body);
        let attempts = self.schedule.attempts.max(1);
        for attempt in 1..=attempts {
            let outcome = match self.attempt(body).await {
                Ok(status) if status.is_success() => {
                    eprintln!("forwarded {what}: HTTP {} (attempt {attempt})", status.as_u16());
                    return;
                }
                Ok(status) => format!("HTTP {}", status.as_u16()),
                Err(e) => format!("no answer ({})", without_url(e)),
            };
            if attempt == attempts {
                eprintln!("gave up forwarding {what}: attempt {attempt} of {attempts}: {outcome}");
                return;
            }
            let wait = self.schedule.delay_after(attempt);
            eprintln!(
                "forward of {what} failed: attempt {attempt} of {attempts}: {outcome}; next in {} ms",
                wait.as_millis()
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// One `POST` to the target, freshly signed (the date must be current at each attempt).
    async fn attempt(&self, body: &Bytes) -> Result<reqwest::StatusCode, reqwest::Error> {
        let t = &self.target;
        let now = time::OffsetDateTime::now_utc();
        let signed = vipps::webhooks::sign(&self.secret, "POST", &t.path_and_query, &t.host, now, body);
        let mut req = self
            .http
            .post(t.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.clone());
        for (name, value) in signed.pairs() {
            req = req.header(name, value);
        }
        Ok(req.send().await?.status())
    }
}

/// The error with its causes ("error sending request" alone does not say "connection refused"),
/// without its URL (printed once at start already).
fn without_url(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_up_to_its_ceiling() {
        let s = Schedule {
            attempts: 5,
            backoff: Duration::from_millis(500),
        };
        let waits: Vec<_> = (1..=4).map(|a| s.delay_after(a).as_millis()).collect();
        assert_eq!(waits, [500, 1000, 2000, 4000]);
        assert_eq!(s.delay_after(40), MAX_BACKOFF);
    }

    #[test]
    fn the_signature_covers_the_targets_host_and_path() {
        let t = Target::parse("http://127.0.0.1:9000/hooks/vipps?shop=1").unwrap();
        assert_eq!(
            (t.host.as_str(), t.path_and_query.as_str()),
            ("127.0.0.1:9000", "/hooks/vipps?shop=1")
        );
        let t = Target::parse("https://example.com/").unwrap();
        assert_eq!((t.host.as_str(), t.path_and_query.as_str()), ("example.com", "/"));
        assert!(Target::parse("ftp://example.com/").is_err());
    }
}
