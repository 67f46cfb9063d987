//! The ledger's and the idempotency records' rows in a data dir: payments by creation number
//! (their tokens, deadlines and creation order are rebuilt from them), consents by `sub`, and
//! idempotency records by the digest of their scope.

use super::idempotency::{Fingerprint, Idempotency, IdempotencyRecord, ScopeDigest};
use super::ledger::Ledger;
use super::payment::Payment;
use crate::core::error::Stored;
use crate::core::persist::{index_key, parse_index, put, value, Change, Row};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use std::cmp::Reverse;
use std::hash::{Hash, Hasher};
use vipps_types::epayment::PaymentState;

const PAYMENT: &str = "payment";
const CONSENT: &str = "consent";
const IDEMPOTENCY: &str = "idempotency";

/// A digest of what changes when a payment does (every change records an event, moves an
/// amount or the state, or ends a pending result): equal digests mean nothing to write.
fn digest(p: &Payment) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (p.events.len(), p.authorized, p.captured, p.refunded, p.cancelled).hash(&mut h);
    p.expires_at.hash(&mut h);
    p.sub.hash(&mut h);
    p.state.as_str().hash(&mut h);
    if let Some(x) = &p.extras {
        (x.result_pending, x.card_bin.is_some(), x.shipping_details.is_some()).hash(&mut h);
    }
    // 0 means "never saved".
    h.finish() | 1
}

impl Ledger {
    /// Payments handed out in this transaction that changed, and consents recorded.
    pub(super) fn changed_rows(&mut self, out: &mut Vec<Change>) {
        self.note_consents();
        for id in &self.touched {
            let Some(p) = self.payments.get_mut(id) else { continue };
            let d = digest(p);
            if d != p.saved {
                p.saved = d;
                out.push(put(PAYMENT, index_key(p.seq), &**p));
            }
        }
        for sub in self.consents_touched.take() {
            out.push(match self.consents.get(&sub) {
                Some(c) => put(CONSENT, sub, c),
                None => Change::Delete {
                    table: CONSENT,
                    key: sub,
                },
            });
        }
        for seq in self.evicted.take() {
            out.push(Change::Delete {
                table: PAYMENT,
                key: index_key(seq),
            });
        }
    }

    /// Every payment and consent.
    pub(super) fn all_rows(&self, out: &mut Vec<Change>) {
        for token in &self.created {
            let Some(p) = self.tokens.get(token).and_then(|id| self.payments.get(id)) else {
                continue;
            };
            out.push(put(PAYMENT, index_key(p.seq), &**p));
        }
        for (sub, c) in &self.consents {
            out.push(put(CONSENT, sub.clone(), c));
        }
    }

    /// Takes back a stored payment or consent.
    pub(super) fn load_row(&mut self, row: &Row) -> Result<bool, String> {
        match row.table.as_str() {
            PAYMENT => {
                let mut p: Payment = value(row)?;
                let seq = parse_index(row)?;
                if seq < self.created.len() {
                    return Err(format!("expected payment number {} or later", self.created.len()));
                }
                // Payments forgotten by retention leave gaps.
                self.created.resize(seq, super::retention::GONE);
                p.seq = seq as u32;
                p.saved = digest(&p);
                let id = (p.msn.clone(), p.reference.as_str().to_owned());
                if self.payments.contains_key(&id) || self.tokens.contains_key(&p.token) {
                    return Err("a second payment with the same reference or token".into());
                }
                self.tokens.insert(p.token, id.clone());
                self.created.push(p.token);
                if p.state == PaymentState::Created {
                    self.deadlines.push(Reverse((p.expires_at, p.token)));
                }
                self.scoped += usize::from(p.scope.is_some());
                // Events from before the restart are not published again.
                p.published = p.events.len() as u32;
                if self.link_base.as_deref() != Some(&*p.link_base) {
                    self.link_base = Some(p.link_base.clone());
                }
                self.payments.insert(id, Box::new(p));
            }
            CONSENT => {
                self.consents.insert(row.key.clone(), value(row)?);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// An idempotency record as stored (written as a [`SavingRecord`]).
#[derive(serde::Deserialize)]
struct SavedRecord {
    /// The scope's digest (the record's identity; the row's key is its number).
    scope: String,
    fingerprint: String,
    status: u16,
    content_type: String,
    /// Base64: an answer is usually JSON, but need not be.
    body: String,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    at: i64,
}

/// The content types answers are stored with (a `Stored` keeps a `&'static str`).
const CONTENT_TYPES: &[&str] = &[
    "",
    "application/json",
    "application/problem+json",
    "text/plain; charset=utf-8",
    "text/html; charset=utf-8",
];

impl Idempotency {
    /// The records remembered or forgotten since the last call.
    pub(super) fn changed_rows(&mut self, out: &mut Vec<Change>) {
        for row in self.gone.take() {
            out.push(Change::Delete {
                table: IDEMPOTENCY,
                key: record_key(row),
            });
        }
        for scope in self.touched.take() {
            if let Some(r) = self.records.get(&scope) {
                out.push(put(IDEMPOTENCY, record_key(r.row), &saved(&scope, r)));
            }
        }
    }

    /// Every record.
    pub(super) fn all_rows(&self, out: &mut Vec<Change>) {
        for (scope, r) in self.records.iter() {
            out.push(put(IDEMPOTENCY, record_key(r.row), &saved(scope, r)));
        }
    }

    /// Takes back a stored record.
    pub(super) fn load_row(&mut self, row: &Row) -> Result<bool, String> {
        if row.table != IDEMPOTENCY {
            return Ok(false);
        }
        let s: SavedRecord = value(row)?;
        let bytes32 = |b64: &str, what: &str| -> Result<[u8; 32], String> {
            STANDARD
                .decode(b64)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| format!("{what} is not 32 bytes of base64"))
        };
        let scope = ScopeDigest(bytes32(&s.scope, "the scope")?);
        let number = row
            .key
            .parse::<u64>()
            .map_err(|_| format!("{IDEMPOTENCY}: {:?} is not a row number", row.key))?;
        self.next_row = self.next_row.max(number + 1);
        let content_type = CONTENT_TYPES
            .iter()
            .find(|c| **c == s.content_type)
            .ok_or_else(|| format!("unknown content type {:?}", s.content_type))?;
        let body = STANDARD.decode(&s.body).map_err(|e| format!("body: {e}"))?;
        self.records.insert(
            scope,
            IdempotencyRecord {
                fingerprint: Fingerprint(bytes32(&s.fingerprint, "the fingerprint")?),
                response: Stored {
                    status: s.status,
                    content_type,
                    body: body.into(),
                },
                tag: s.tag.map(Into::into),
                at: s.at,
                row: number,
            },
        );
        Ok(true)
    }
}

/// The key of record row `n`: zero-padded, so rows are appended to the file's index in the
/// order they are made (a random key, such as the scope's digest, wrote pages all over it).
fn record_key(n: u64) -> String {
    format!("{n:020}")
}

/// A record as written: [`SavedRecord`]'s fields, borrowed from the record and encoded as they
/// are written (no string is made for each field first; a record is written with every
/// request that makes one).
#[derive(serde::Serialize)]
struct SavingRecord<'a> {
    #[serde(serialize_with = "base64_str")]
    scope: &'a [u8],
    #[serde(serialize_with = "base64_str")]
    fingerprint: &'a [u8],
    status: u16,
    content_type: &'a str,
    #[serde(serialize_with = "base64_str")]
    body: &'a [u8],
    #[serde(skip_serializing_if = "Option::is_none")]
    tag: Option<&'a str>,
    at: i64,
}

fn base64_str<S: serde::Serializer>(bytes: &&[u8], s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&base64::display::Base64Display::new(bytes, &STANDARD))
}

fn saved<'a>(scope: &'a ScopeDigest, r: &'a IdempotencyRecord) -> SavingRecord<'a> {
    SavingRecord {
        scope: &scope.0,
        fingerprint: &r.fingerprint.0,
        status: r.response.status,
        content_type: r.response.content_type,
        body: &r.response.body,
        tag: r.tag.as_deref(),
        at: r.at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::persist::testing::row;

    #[test]
    fn a_record_is_written_as_it_is_read() {
        let scope = ScopeDigest([7; 32]);
        let mut record = IdempotencyRecord {
            fingerprint: Fingerprint([9; 32]),
            response: Stored {
                status: 201,
                content_type: "application/json",
                body: bytes::Bytes::from_static(br#"{"reference":"r-1"}"#),
            },
            tag: Some("tag".into()),
            at: 1_700_000_000,
            row: 3,
        };
        for tag in [Some("tag".into()), None] {
            record.tag = tag;
            let json = crate::core::persist::json(&saved(&scope, &record));
            let mut back = Idempotency::default();
            assert!(back.load_row(&row(IDEMPOTENCY, &record_key(3), &json)).unwrap());
            let r = back.record(&scope).expect("read back");
            assert_eq!((r.fingerprint.0, r.response.status), (record.fingerprint.0, 201));
            assert_eq!(
                (r.response.content_type, &r.response.body),
                ("application/json", &record.response.body)
            );
            assert_eq!((r.tag.as_deref(), r.at, r.row), (record.tag.as_deref(), record.at, 3));
            assert_eq!(json.contains("tag"), record.tag.is_some(), "{json}");
        }
    }
}
