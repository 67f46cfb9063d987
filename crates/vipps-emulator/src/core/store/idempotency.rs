//! What identifies a request for idempotency, and the answer remembered for it.

#[allow(unused_imports)]
use super::{consents::*, events::*, ledger::*, payment::*, sharded::*};
use crate::core::error::Stored;

/// Where an idempotency key applies: (MSN, HTTP method, path) plus the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct IdempotencyScope<'a> {
    /// Merchant serial number.
    pub(crate) msn: &'a str,
    /// HTTP method.
    pub(crate) method: &'static str,
    /// Request path.
    pub(crate) path: &'a str,
    /// The `Idempotency-Key`.
    pub(crate) key: &'a str,
}

impl IdempotencyScope<'_> {
    /// How the scope is stored: the SHA-256 of its length-prefixed fields. 32 bytes in the
    /// map instead of three strings (about 200 bytes with their allocations) per remembered key.
    pub(crate) fn digest(&self) -> ScopeDigest {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        for part in [self.msn, self.method, self.path, self.key] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        ScopeDigest(h.finalize().into())
    }
}

/// A stored [`IdempotencyScope`] (see [`IdempotencyScope::digest`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ScopeDigest([u8; 32]);

/// What identifies a request body for idempotency: the SHA-256 of the parsed request
/// serialized again as JSON (so formatting and field order do not matter, and maps are
/// sorted). 32 bytes per remembered key, instead of a copy of the whole body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fingerprint([u8; 32]);

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
}
