//! The Checkout sessions' rows in the data dir: `checkout.session` by creation number (from 1;
//! a forgotten session leaves a gap) and `checkout.count`, how many sessions were created (the
//! dashboard's cursor goes on from there). The tokens and the creation order are rebuilt from
//! them.

use super::state::{Session, Sessions, SHARED_SCOPES};
use crate::core::persist::{index_key, parse_index, put, value, Change, Row};
use crate::core::store::Table;
use time::OffsetDateTime;

const SESSION: &str = "checkout.session";
const COUNT: &str = "checkout.count";
const COUNT_KEY: &str = "sessions";

/// Serde for a session's shared profile: the scope is one of [`SHARED_SCOPES`].
pub(super) mod serde_shared {
    use super::SHARED_SCOPES;
    use crate::core::customer::Person;
    use serde::{de::Error, Deserialize, Deserializer, Serialize, Serializer};

    pub(crate) fn serialize<S: Serializer>(v: &Option<(Person, &'static str)>, s: S) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<(Person, &'static str)>, D::Error> {
        let Some((person, scope)) = Option::<(Person, String)>::deserialize(d)? else {
            return Ok(None);
        };
        let scope = SHARED_SCOPES
            .iter()
            .find(|s| **s == scope)
            .ok_or_else(|| D::Error::custom(format!("unknown shared scope {scope:?}")))?;
        Ok(Some((person, scope)))
    }
}

/// A forgotten session's place in the creation order: no session has this key.
fn gap() -> ((String, String), OffsetDateTime) {
    ((String::new(), String::new()), OffsetDateTime::UNIX_EPOCH)
}

impl Table for Sessions {
    fn clear(&mut self) {
        let tracking = self.by_ref.tracking();
        *self = Sessions::default();
        self.by_ref.track(tracking);
    }

    fn track(&mut self, on: bool) {
        self.by_ref.track(on);
        // What happened before is not a change.
        self.saved_count = self.order.len();
    }

    fn changes(&mut self, out: &mut Vec<Change>) {
        for id in self.by_ref.take_touched() {
            match self.by_ref.get(&id) {
                // Reads go through `get_mut` too (a read settles the session): `saved` writes
                // only what differs from the row, and moves a reused key's row.
                Some(s) => self.saved.put(SESSION, &id, index_key(s.seq), s, out),
                None => self.saved.delete(SESSION, &id, out),
            }
        }
        if self.order.len() != self.saved_count {
            self.saved_count = self.order.len();
            out.push(put(COUNT, COUNT_KEY.into(), &self.saved_count));
        }
    }

    fn rows(&self, out: &mut Vec<Change>) {
        for seq in 1..=self.order.len() as u64 {
            if let Some((s, _)) = self.by_seq(seq) {
                out.push(put(SESSION, index_key(s.seq), s));
            }
        }
        if !self.order.is_empty() {
            out.push(put(COUNT, COUNT_KEY.into(), &self.order.len()));
        }
    }

    fn load(&mut self, row: &Row) -> Result<bool, String> {
        match row.table.as_str() {
            SESSION => {
                let mut s: Session = value(row)?;
                let seq = parse_index(row)?;
                if seq == 0 {
                    return Err("sessions are numbered from 1".into());
                }
                s.seq = seq as u32;
                let id = (s.msn.clone(), s.reference.clone());
                if self.by_ref.contains_key(&id) || self.tokens.contains_key(&s.token) {
                    return Err("a second session with the same reference or token".into());
                }
                if self.order.len() < seq {
                    self.order.resize_with(seq, gap);
                }
                self.order[seq - 1] = (id.clone(), s.created_at);
                self.tokens.insert(s.token.clone(), id.clone());
                self.saved.loaded(id.clone(), row);
                self.by_ref.restore(id, s);
            }
            COUNT if row.key == COUNT_KEY => self.saved_count = value(row)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn loaded(&mut self) -> Result<(), String> {
        if self.saved_count < self.order.len() {
            return Err(format!(
                "{SESSION}/{}: numbered after the last session created ({COUNT} is {})",
                index_key(self.order.len() as u32),
                self.saved_count
            ));
        }
        // The newest sessions may have been forgotten: their numbers are not handed out again.
        self.order.resize_with(self.saved_count, gap);
        Ok(())
    }

    fn evict_before(&mut self, cutoff: time::OffsetDateTime, limit: usize) -> usize {
        let mut n = 0;
        while n < limit {
            let Some((key, created)) = self.order.get(self.evict_cursor).cloned() else {
                break;
            };
            if created >= cutoff {
                break;
            }
            // The slot may hold a session forgotten already, or a later one with its key.
            if self.by_ref.get(&key).is_some_and(|s| s.created_at == created) {
                if let Some(s) = self.by_ref.remove(&key) {
                    self.tokens.remove(&s.token);
                }
                n += 1;
            }
            self.evict_cursor += 1;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::super::lifecycle::settle;
    use super::*;
    use crate::core::customer::Person;
    use crate::core::persist::testing::{keys, reload, row, rows};
    use crate::core::store::Ledger;
    use vipps_types::checkout::SessionState;

    const MSN: &str = "123456";

    fn now() -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000)
    }

    /// A session as `POST /checkout/v3/session` creates it.
    fn create(cs: &mut Sessions, reference: &str) {
        let request = serde_json::from_value(serde_json::json!({
            "merchantInfo": {
                "callbackUrl": "https://example.com/cb",
                "returnUrl": "https://example.com/back",
                "callbackAuthorizationToken": "tok"
            },
            "transaction": {
                "amount": {"value": 1000, "currency": "NOK"},
                "reference": reference,
                "paymentDescription": "Socks"
            }
        }))
        .unwrap();
        let s = Session {
            seq: 0,
            msn: MSN.into(),
            merchant_name: "Test".into(),
            reference: reference.into(),
            session_id: format!("sid-{reference}"),
            token: format!("token-{reference}"),
            created_at: now(),
            expires_at: now() + time::Duration::hours(1),
            request,
            state: SessionState::SessionCreated,
            ended_at: None,
            payment_created: false,
            shipping: None,
            billing: None,
            user_info: None,
            shared: None,
            consent: None,
            offered: None,
            shipping_lookups: Vec::new(),
            callback_sent: false,
            agreement: None,
        };
        let id = (MSN.to_owned(), reference.to_owned());
        cs.tokens.insert(s.token.clone(), id.clone());
        cs.insert(id, s);
    }

    fn id(reference: &str) -> (String, String) {
        (MSN.to_owned(), reference.to_owned())
    }

    /// The removal `session_in` does for a session whose payment is gone.
    fn forget(cs: &mut Sessions, reference: &str) {
        let s = cs.by_ref.remove(&id(reference)).unwrap();
        cs.tokens.remove(&s.token);
    }

    #[test]
    fn changes_are_the_sessions_that_changed() {
        let mut cs = Sessions::default();
        cs.track(true);
        for r in ["a", "b", "c"] {
            create(&mut cs, r);
        }
        let mut out = Vec::new();
        cs.changes(&mut out);
        assert_eq!(
            keys(&out),
            [
                "put checkout.session/0000000001",
                "put checkout.session/0000000002",
                "put checkout.session/0000000003",
                "put checkout.count/sessions"
            ]
        );

        // The sweep looks at the open sessions; settling one that is not due writes nothing.
        out.clear();
        let mut ledger = Ledger::default();
        for s in cs.by_ref.values_mut_where(|s| !s.state.is_final()) {
            settle(s, &mut ledger, now());
        }
        cs.changes(&mut out);
        assert!(out.is_empty(), "{out:?}");

        // b expires, a shares a profile, c is forgotten.
        let later = now() + time::Duration::hours(2);
        settle(cs.by_ref.get_mut(&id("b")).unwrap(), &mut ledger, later);
        cs.by_ref.get_mut(&id("a")).unwrap().shared = Some((Person::default(), SHARED_SCOPES[1]));
        forget(&mut cs, "c");
        cs.changes(&mut out);
        assert_eq!(
            keys(&out),
            [
                "put checkout.session/0000000001",
                "put checkout.session/0000000002",
                "delete checkout.session/0000000003"
            ]
        );
        assert!(matches!(&out[1], Change::Put { value, .. } if value.contains("SessionExpired")));

        // A later session may reuse a forgotten one's reference: it gets its own number.
        out.clear();
        create(&mut cs, "c");
        cs.changes(&mut out);
        assert_eq!(
            keys(&out),
            ["put checkout.session/0000000004", "put checkout.count/sessions"]
        );

        out.clear();
        cs.clear();
        create(&mut cs, "z");
        cs.changes(&mut out);
        assert_eq!(
            keys(&out),
            ["put checkout.session/0000000001", "put checkout.count/sessions"],
            "tracking survives a reset"
        );
    }

    #[test]
    fn rows_round_trip_and_rebuild_the_indexes() {
        let mut cs = Sessions::default();
        for r in ["a", "b", "c", "d"] {
            create(&mut cs, r);
        }
        cs.by_ref.get_mut(&id("a")).unwrap().shared = Some((Person::default(), SHARED_SCOPES[0]));
        forget(&mut cs, "b");
        forget(&mut cs, "d");
        let fresh = reload(&cs).unwrap();
        assert_eq!(rows(&cs), rows(&fresh));
        assert_eq!(
            fresh.order.len(),
            4,
            "the forgotten newest number is not handed out again"
        );
        assert_eq!(fresh.tokens.get("token-c"), Some(&id("c")));
        assert!(!fresh.tokens.contains_key("token-b"));
        assert_eq!(fresh.by_seq(3).map(|(s, _)| s.reference.as_str()), Some("c"));
        assert!(fresh.by_seq(2).is_none() && fresh.by_seq(4).is_none());
        assert_eq!(
            fresh.by_ref[&id("a")].shared.as_ref().map(|s| s.1),
            Some(SHARED_SCOPES[0])
        );
    }

    #[test]
    fn bad_rows_are_refused() {
        let mut cs = Sessions::default();
        create(&mut cs, "a");
        let snapshot = rows(&cs);
        let Change::Put { value, .. } = &snapshot[0] else {
            unreachable!()
        };
        assert!(Sessions::default().load(&row(SESSION, "0000000001", "[")).is_err());
        assert!(Sessions::default().load(&row(SESSION, "0000000000", value)).is_err());
        let odd_scope = value.replace("\"shared\":null", "\"shared\":[{},\"everything\"]");
        assert!(Sessions::default()
            .load(&row(SESSION, "0000000001", &odd_scope))
            .is_err());
        // The same session twice.
        let mut fresh = Sessions::default();
        assert_eq!(fresh.load(&row(SESSION, "0000000001", value)), Ok(true));
        assert!(fresh.load(&row(SESSION, "0000000002", value)).is_err());
        // A session numbered after the count.
        let mut fresh = Sessions::default();
        assert_eq!(fresh.load(&row(COUNT, COUNT_KEY, "1")), Ok(true));
        assert_eq!(fresh.load(&row(SESSION, "0000000002", value)), Ok(true));
        assert!(fresh.loaded().is_err());
        assert_eq!(Sessions::default().load(&row("checkout", "1", "{}")), Ok(false));
    }
}
