//! Retention (off by default, `retention_secs`): forgetting payments, consents and idempotency
//! records created longer ago than the emulator keeps them, by its clock, oldest first. With
//! a data dir their rows are deleted too.

use super::idempotency::{Idempotency, ScopeDigest};
use super::ledger::Ledger;
use time::OffsetDateTime;

/// The creation-order slot of a forgotten payment (after a restart; no payment has it: tokens
/// are random, 24 bytes).
pub(super) const GONE: super::payment::TokenBytes = [0; 24];

impl Ledger {
    /// Forgets at most `limit` payments created before `cutoff`, oldest first.
    pub(super) fn evict_payments_before(&mut self, cutoff: OffsetDateTime, limit: usize) -> usize {
        let mut n = 0;
        while n < limit {
            let Some(token) = self.created.get(self.evict_cursor).copied() else {
                break;
            };
            if let Some(id) = self.tokens.get(&token).cloned() {
                let Some(p) = self.payments.get(&id) else { break };
                if p.events.first().map_or(p.expires_at, |e| e.timestamp) >= cutoff {
                    break;
                }
                if let Some(p) = self.payments.remove(&id) {
                    self.scoped -= usize::from(p.scope.is_some());
                    self.evicted.touch(p.seq);
                }
                self.tokens.remove(&token);
                n += 1;
            }
            self.evict_cursor += 1;
        }
        n
    }

    /// Forgets the consents last given before `cutoff`.
    pub(super) fn evict_consents_before(&mut self, cutoff: OffsetDateTime) -> usize {
        let before = self.consents.len();
        let touched = &mut self.consents_touched;
        self.consents.retain(|sub, c| {
            let keep = c.given.iter().any(|(_, at)| *at >= cutoff);
            if !keep {
                touched.touch(sub.clone());
            }
            keep
        });
        before - self.consents.len()
    }
}

impl Idempotency {
    /// Starts keeping the records in the order they were made (for retention), with those
    /// already kept (loaded from a data dir) in the order of their time.
    pub(crate) fn keep_order(&mut self, on: bool) {
        if !on {
            self.order = None;
            return;
        }
        let mut all: Vec<(i64, ScopeDigest)> = self.records.iter().map(|(s, r)| (r.at, *s)).collect();
        all.sort_unstable();
        self.order = Some(all.into());
    }

    /// Forgets at most `limit` records made before `cutoff` (Unix seconds), oldest first.
    pub(super) fn evict_before(&mut self, cutoff: i64, limit: usize) -> usize {
        let Some(order) = &mut self.order else { return 0 };
        let mut n = 0;
        while n < limit && order.front().is_some_and(|(at, _)| *at < cutoff) {
            let Some((at, scope)) = order.pop_front() else { break };
            // A record replaced since (same key, later) is the later one's to forget.
            if self.records.get(&scope).is_some_and(|r| r.at == at) {
                if let Some(r) = self.records.remove(&scope) {
                    self.gone.touch(r.row);
                }
                n += 1;
            }
        }
        n
    }
}
