//! Retry policy as plain data, and the pure function that decides whether to retry.

use std::time::Duration;

/// When and how often the SDK retries a request.
///
/// Only failures that are safe to repeat are retried: connection failures, timeouts,
/// `408`, `423`, `429` and `5xx`, and only for reads and for writes that carry an
/// idempotency key (every write the SDK sends carries one, except eCom's initiate).
/// Every attempt of one call carries the same idempotency key.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included. `1` disables retries.
    pub max_attempts: u32,
    /// Backoff base: the cap of the first wait.
    pub initial_backoff: Duration,
    /// Cap of any single wait.
    pub max_backoff: Duration,
    /// Give up when the next attempt would start after this much time since the first.
    pub overall_deadline: Option<Duration>,
    /// Honour `Retry-After` (wait at least that long; give up if it passes the overall deadline).
    pub honour_retry_after: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            overall_deadline: Some(Duration::from_secs(60)),
            honour_retry_after: true,
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..Default::default()
        }
    }
}

/// What happened on one attempt, as far as retrying is concerned.
#[derive(Debug, Clone, PartialEq)]
pub enum AttemptOutcome {
    /// The server answered with this status (and maybe a `Retry-After`).
    Status {
        /// HTTP status.
        status: u16,
        /// Parsed `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// The connection could not be made: the request surely did not reach the server.
    ConnectFailed,
    /// The attempt timed out, or the connection broke after sending: it may have reached the server.
    TimedOutOrBroken,
}

/// The decision for the next step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    /// Wait this long, then try again.
    RetryAfter(Duration),
    /// Do not retry.
    Stop,
}

/// Whether a status is worth retrying.
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 423 | 429) || (500..=599).contains(&status) && status != 501
}

/// Decides whether to retry after attempt number `attempt` (1-based).
///
/// - `repeatable`: the request is a read, or a write with an idempotency key.
/// - `elapsed`: time since the first attempt started.
/// - `jitter`: a random number in `[0, 1)`; full jitter picks the wait uniformly in
///   `[0, min(max_backoff, initial_backoff × 2^(attempt-1))]`.
pub fn decide(
    policy: &RetryPolicy,
    attempt: u32,
    outcome: &AttemptOutcome,
    repeatable: bool,
    elapsed: Duration,
    jitter: f64,
) -> Decision {
    if !repeatable || attempt >= policy.max_attempts {
        return Decision::Stop;
    }
    let retry_after = match outcome {
        AttemptOutcome::Status { status, retry_after } => {
            if !is_retryable_status(*status) {
                return Decision::Stop;
            }
            if policy.honour_retry_after {
                *retry_after
            } else {
                None
            }
        }
        AttemptOutcome::ConnectFailed | AttemptOutcome::TimedOutOrBroken => None,
    };
    let exp = attempt.saturating_sub(1).min(30);
    let ceiling = policy
        .initial_backoff
        .checked_mul(1u32 << exp)
        .unwrap_or(policy.max_backoff)
        .min(policy.max_backoff);
    let jitter = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let mut wait = ceiling.mul_f64(jitter);
    if let Some(ra) = retry_after {
        // The server knows best: wait as long as it asks, unless that passes the deadline.
        wait = wait.max(ra);
    }
    if let Some(deadline) = policy.overall_deadline {
        if elapsed.saturating_add(wait) >= deadline {
            return Decision::Stop;
        }
    }
    Decision::RetryAfter(wait)
}

/// Parses a `Retry-After` header: delay-seconds, or an HTTP date relative to `now`.
pub fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let fmt = time::format_description::well_known::Rfc2822;
    let at = time::OffsetDateTime::parse(v, &fmt).ok()?;
    let now = time::OffsetDateTime::from(now);
    let d = at - now;
    Some(if d.is_negative() {
        Duration::ZERO
    } else {
        d.unsigned_abs()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            overall_deadline: Some(Duration::from_secs(10)),
            honour_retry_after: true,
        }
    }

    fn st(status: u16) -> AttemptOutcome {
        AttemptOutcome::Status {
            status,
            retry_after: None,
        }
    }

    #[test]
    fn decision_table() {
        let z = Duration::ZERO;
        // (outcome, repeatable, attempt, expected retry?)
        let cases: Vec<(AttemptOutcome, bool, u32, bool)> = vec![
            (st(500), true, 1, true),
            (st(502), true, 1, true),
            (st(503), true, 3, true),
            (st(503), true, 4, false), // max attempts reached
            (st(501), true, 1, false),
            (st(429), true, 1, true),
            (st(423), true, 1, true),
            (st(408), true, 1, true),
            (st(400), true, 1, false),
            (st(401), true, 1, false),
            (st(403), true, 1, false),
            (st(404), true, 1, false),
            (st(409), true, 1, false),
            (st(500), false, 1, false), // not repeatable: never
            (AttemptOutcome::ConnectFailed, true, 1, true),
            (AttemptOutcome::TimedOutOrBroken, true, 1, true),
            (AttemptOutcome::TimedOutOrBroken, false, 1, false),
        ];
        for (outcome, repeatable, attempt, retry) in cases {
            let d = decide(&p(), attempt, &outcome, repeatable, z, 0.5);
            assert_eq!(
                matches!(d, Decision::RetryAfter(_)),
                retry,
                "{outcome:?} repeatable={repeatable} attempt={attempt}"
            );
        }
    }

    #[test]
    fn full_jitter_exponential_with_cap() {
        let pol = p();
        let o = st(503);
        assert_eq!(
            decide(&pol, 1, &o, true, Duration::ZERO, 1.0),
            Decision::RetryAfter(Duration::from_millis(100))
        );
        assert_eq!(
            decide(&pol, 2, &o, true, Duration::ZERO, 1.0),
            Decision::RetryAfter(Duration::from_millis(200))
        );
        assert_eq!(
            decide(&pol, 3, &o, true, Duration::ZERO, 1.0),
            Decision::RetryAfter(Duration::from_millis(400))
        );
        assert_eq!(
            decide(&pol, 1, &o, true, Duration::ZERO, 0.0),
            Decision::RetryAfter(Duration::ZERO)
        );
        let big = RetryPolicy {
            max_attempts: 100,
            ..pol
        };
        assert_eq!(
            decide(&big, 60, &o, true, Duration::ZERO, 1.0),
            Decision::RetryAfter(Duration::from_secs(2))
        );
        // absurd jitter values are clamped, never panic
        assert_eq!(
            decide(&big, 2, &o, true, Duration::ZERO, f64::NAN),
            Decision::RetryAfter(Duration::ZERO)
        );
    }

    #[test]
    fn retry_after_is_honoured_and_deadline_stops() {
        let o = AttemptOutcome::Status {
            status: 429,
            retry_after: Some(Duration::from_secs(3)),
        };
        assert_eq!(
            decide(&p(), 1, &o, true, Duration::ZERO, 0.1),
            Decision::RetryAfter(Duration::from_secs(3))
        );
        assert_eq!(decide(&p(), 1, &o, true, Duration::from_secs(8), 0.1), Decision::Stop);
        // longer than max_backoff: still honoured, within the deadline
        let long = AttemptOutcome::Status {
            status: 503,
            retry_after: Some(Duration::from_secs(5)),
        };
        assert_eq!(
            decide(&p(), 1, &long, true, Duration::ZERO, 0.1),
            Decision::RetryAfter(Duration::from_secs(5))
        );
        let no = RetryPolicy {
            honour_retry_after: false,
            ..p()
        };
        assert_eq!(
            decide(&no, 1, &o, true, Duration::ZERO, 1.0),
            Decision::RetryAfter(Duration::from_millis(100))
        );
    }

    #[test]
    fn parses_retry_after() {
        let now = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        assert_eq!(parse_retry_after("60", now), Some(Duration::from_secs(60)));
        assert_eq!(
            parse_retry_after("Sun, 09 Sep 2001 01:47:00 GMT", now),
            Some(Duration::from_secs(20))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
