//! An injectable clock: real time plus an offset that tests can advance.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use time::OffsetDateTime;

/// The emulator's clock: the real UTC time plus an offset that only moves forward.
///
/// Cloning shares the offset, so a test holding a clone drives the server's time.
#[derive(Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

/// The largest total offset the clock accepts (about 100 years), so time arithmetic never overflows.
const MAX_OFFSET_MS: i64 = 100 * 366 * 24 * 3600 * 1000;

impl Clock {
    /// A clock at real time.
    pub fn new() -> Self {
        Clock::default()
    }

    /// The current emulated time.
    pub fn now(&self) -> OffsetDateTime {
        let real = OffsetDateTime::now_utc();
        let offset = time::Duration::milliseconds(self.offset_ms.load(Ordering::SeqCst));
        real.checked_add(offset).unwrap_or(real)
    }

    /// Moves the clock forward.
    pub fn advance(&self, d: std::time::Duration) {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        self.advance_ms(ms);
    }

    /// Moves the clock forward by whole seconds (negative values are ignored).
    pub fn advance_secs(&self, secs: i64) {
        self.advance_ms(secs.max(0).saturating_mul(1000));
    }

    fn advance_ms(&self, ms: i64) {
        let ms = ms.max(0);
        let _ = self.offset_ms.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |cur| {
            Some(cur.saturating_add(ms).min(MAX_OFFSET_MS))
        });
    }

    /// How far the clock runs ahead of real time.
    pub fn offset(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.offset_ms.load(Ordering::SeqCst).max(0) as u64)
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Clock")
            .field("now", &self.now())
            .field("offset", &self.offset())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advances_and_shares() {
        let c = Clock::new();
        let d = c.clone();
        let before = c.now();
        d.advance(std::time::Duration::from_secs(3600));
        assert!(c.now() - before >= time::Duration::seconds(3600));
        c.advance_secs(-5);
        assert!(c.offset() >= std::time::Duration::from_secs(3600));
        c.advance(std::time::Duration::from_secs(u64::MAX));
        let _ = c.now();
    }
}
