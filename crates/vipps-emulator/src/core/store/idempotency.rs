//! What identifies a request for idempotency, and the answer remembered for it.

use super::sharded::*;
use super::Tables;
use crate::core::error::Stored;

/// Where an idempotency key applies: (API, MSN, operation, resource) plus the key. Each API
/// reads its own header (`Idempotency-Key`, eCom's `X-Request-Id`) with its own limits; the
/// rules of [`Idempotency`] are the same for all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct IdempotencyScope<'a> {
    /// `epayment`, `checkout`, `webhooks`, `ecom`: keys of two APIs never meet.
    pub(crate) api: &'static str,
    /// Merchant serial number.
    pub(crate) msn: &'a str,
    /// The operation (the HTTP method, or eCom's endpoint name).
    pub(crate) method: &'static str,
    /// The resource (the request path, or eCom's order id).
    pub(crate) path: &'a str,
    /// The key.
    pub(crate) key: &'a str,
}

impl IdempotencyScope<'_> {
    /// How the scope is stored: the SHA-256 of its length-prefixed fields. 32 bytes in the
    /// map instead of three strings (about 200 bytes with their allocations) per remembered key.
    pub(crate) fn digest(&self) -> ScopeDigest {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        for part in [self.api, self.msn, self.method, self.path, self.key] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        ScopeDigest(h.finalize().into())
    }
}

/// A stored [`IdempotencyScope`] (see [`IdempotencyScope::digest`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ScopeDigest(pub(super) [u8; 32]);

/// What identifies a request body for idempotency: the SHA-256 of the parsed request
/// serialized again as JSON (so formatting and field order do not matter, and maps are
/// sorted). 32 bytes per remembered key, instead of a copy of the whole body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fingerprint(pub(super) [u8; 32]);

impl Fingerprint {
    /// The fingerprint of a parsed request.
    pub(crate) fn of<T: serde::Serialize>(request: &T) -> Fingerprint {
        use sha2::Digest;
        let json = serde_json::to_vec(request).unwrap_or_default();
        Fingerprint(sha2::Sha256::digest(&json).into())
    }
}

/// What was answered the first time a key was used.
#[derive(Debug, Clone)]
pub(crate) struct IdempotencyRecord {
    /// The request body's fingerprint.
    pub(crate) fingerprint: Fingerprint,
    /// The stored answer (status and body), replayed for identical retries.
    pub(crate) response: Stored,
    /// What the API tells apart in a conflicting retry (eCom: the amount), or what the record
    /// belongs to (Webhooks: the registration it made, forgotten with it).
    pub(crate) tag: Option<Box<str>>,
    /// When it was made (Unix seconds on the emulator's clock; 0 while retention is off).
    pub(crate) at: i64,
    /// Its row number in a data dir (records are written in the order they are made, so
    /// the file's index grows at its end instead of everywhere).
    pub(crate) row: u64,
}

/// The one idempotency engine of every API: per scope, the answer given the first time.
///
/// The rules: an identical retry (same scope, same fingerprint) gets the stored answer and has
/// no effect; a different request with the same key is a conflict, answered as its API says;
/// every answer is stored except 5xx and 423 (not final: "retry with the same key"). All of it
/// happens inside one store transaction ([`Idempotency::once`]), so two identical concurrent
/// requests have exactly one effect.
#[derive(Debug, Default)]
pub(crate) struct Idempotency {
    pub(super) records: Sharded<ScopeDigest, IdempotencyRecord>,
    /// Records remembered or forgotten since the last commit (with a data dir).
    pub(super) touched: crate::core::persist::Touched<ScopeDigest>,
    /// With retention on: (when, scope) of the records, oldest first.
    pub(super) order: Option<std::collections::VecDeque<(i64, ScopeDigest)>>,
    /// The row number of the next record.
    pub(super) next_row: u64,
    /// Rows of records forgotten or replaced since the last commit (with a data dir).
    pub(super) gone: crate::core::persist::Touched<u64>,
}

impl Idempotency {
    /// The record for a scope, if the key was used.
    pub(crate) fn record(&self, scope: &ScopeDigest) -> Option<&IdempotencyRecord> {
        self.records.get(scope)
    }

    /// Remembers the answer for a scope, if it is final.
    pub(crate) fn remember(&mut self, scope: ScopeDigest, mut record: IdempotencyRecord) {
        if record.response.status < 500 && record.response.status != 423 {
            if let Some(order) = &mut self.order {
                order.push_back((record.at, scope));
            }
            record.row = self.next_row;
            self.next_row += 1;
            if let Some(old) = self.records.insert(scope, record) {
                self.gone.touch(old.row);
            }
            self.touched.touch(scope);
        }
    }

    /// Forgets the records tagged `tag` (a deleted webhook's registration).
    pub(crate) fn forget_tagged(&mut self, tag: &str) {
        let gone = &mut self.gone;
        self.records.retain(|_, r| {
            let keep = r.tag.as_deref() != Some(tag);
            if !keep {
                gone.touch(r.row);
            }
            keep
        });
    }

    /// Forgets everything.
    pub(crate) fn clear(&mut self) {
        self.records.clear();
        self.touched.take();
        self.gone.take();
        self.next_row = 0;
        if let Some(order) = &mut self.order {
            order.clear();
        }
    }
}

/// One idempotent operation, as its API describes it.
pub(crate) struct Once {
    /// Where the key applies (`None`: no key was sent, nothing is remembered).
    pub(crate) scope: Option<ScopeDigest>,
    /// The request's fingerprint.
    pub(crate) fingerprint: Fingerprint,
    /// See [`IdempotencyRecord::tag`].
    pub(crate) tag: Option<Box<str>>,
}

impl Once {
    /// Runs `op` once per key, inside the caller's transaction: replays the stored answer for an
    /// identical retry, answers `conflict(earlier record)` for a different request with the same
    /// key, and otherwise runs `op` and remembers its answer.
    pub(crate) fn run(
        self,
        tables: &mut Tables,
        conflict: impl FnOnce(&IdempotencyRecord) -> Stored,
        op: impl FnOnce(&mut Tables) -> Stored,
    ) -> Stored {
        if let Some(rec) = self.scope.as_ref().and_then(|s| tables.idempotency.record(s)) {
            if rec.fingerprint == self.fingerprint {
                return rec.response.clone();
            }
            return conflict(rec);
        }
        let response = op(tables);
        if let Some(scope) = self.scope {
            tables.idempotency.remember(
                scope,
                IdempotencyRecord {
                    fingerprint: self.fingerprint,
                    response: response.clone(),
                    tag: self.tag,
                    at: tables.now,
                    row: 0,
                },
            );
        }
        response
    }
}
