//! The eCom orders' rows in the data dir: `ecom.order` by creation number (from 1; orders are
//! forgotten only by a reset, so the numbers have no gaps). The tokens, the timeouts still
//! waiting and the creation order are rebuilt from them.

use super::order::{Order, Phase};
use super::state::Data;
use crate::core::persist::{index_key, parse_index, put, value, Change, Row};
use crate::core::store::Table;
use std::cmp::Reverse;

const ORDER: &str = "ecom.order";

impl Table for Data {
    fn clear(&mut self) {
        let tracking = self.orders.tracking();
        *self = Data::default();
        self.orders.track(tracking);
    }

    fn track(&mut self, on: bool) {
        self.orders.track(on);
    }

    fn changes(&mut self, out: &mut Vec<Change>) {
        for id in self.orders.take_touched() {
            match self.orders.get(&id) {
                // Reads go through `get_mut` too (a read settles the timeout): `saved` writes
                // only what differs from the row.
                Some(o) => self.saved.put(ORDER, &id, index_key(o.seq), o, out),
                None => self.saved.delete(ORDER, &id, out),
            }
        }
    }

    fn rows(&self, out: &mut Vec<Change>) {
        for o in self.order.iter().filter_map(|id| self.orders.get(id)) {
            out.push(put(ORDER, index_key(o.seq), o));
        }
    }

    fn evict_before(&mut self, cutoff: time::OffsetDateTime, limit: usize) -> usize {
        let mut n = 0;
        while n < limit {
            let Some(key) = self.order.get(self.evict_cursor).cloned() else {
                break;
            };
            if let Some(o) = self.orders.get(&key) {
                let initiated = o.link_expires_at - time::Duration::seconds(super::order::LINK_VALID_SECS);
                if initiated >= cutoff {
                    break;
                }
                if let Some(o) = self.orders.remove(&key) {
                    self.tokens.remove(&o.token);
                }
                n += 1;
            }
            self.evict_cursor += 1;
        }
        n
    }

    fn load(&mut self, row: &Row) -> Result<bool, String> {
        if row.table != ORDER {
            return Ok(false);
        }
        let mut o: Order = value(row)?;
        let seq = parse_index(row)?;
        // Rows come in key order; orders forgotten by retention leave gaps.
        if seq <= self.order.len() {
            return Err(format!("expected order number {} or later", self.order.len() + 1));
        }
        self.order.resize(seq - 1, (String::new(), String::new()));
        o.seq = seq as u32;
        let id = (o.msn.clone(), o.order_id.clone());
        if self.orders.contains_key(&id) || self.tokens.contains_key(&o.token) {
            return Err("a second order with the same id or token".into());
        }
        self.tokens.insert(o.token.clone(), id.clone());
        // `Approving` may fall back to `Initiated` (the merchant gave no shipping option).
        if matches!(o.phase, Phase::Initiated | Phase::Approving) {
            self.deadlines.push(Reverse((o.expires_at, id.clone())));
        }
        self.order.push(id.clone());
        self.saved.loaded(id.clone(), row);
        self.orders.restore(id, o);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::persist::testing::{keys, reload, row, rows};
    use time::OffsetDateTime;
    use vipps_types::ecom::{InitiatePaymentRequest, InitiateTransaction, MerchantInfo};

    const MSN: &str = "123456";

    fn now() -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000)
    }

    /// An order initiated as the initiate handler does it.
    fn initiate(d: &mut Data, id: &str, amount: i64) {
        let req = InitiatePaymentRequest {
            merchant_info: MerchantInfo {
                merchant_serial_number: MSN.into(),
                callback_prefix: "https://example.com/cb".into(),
                fall_back: "https://example.com/fb".into(),
                ..Default::default()
            },
            transaction: InitiateTransaction {
                amount,
                order_id: id.into(),
                transaction_text: "Socks".into(),
                ..Default::default()
            },
            ..Default::default()
        };
        let expires = now() + time::Duration::minutes(10);
        let token = format!("token-{id}");
        let o = Order::new(MSN, req, token.clone(), format!("u/{id}"), "", now(), expires);
        let key = (MSN.to_owned(), id.to_owned());
        d.tokens.insert(token, key.clone());
        d.deadlines.push(Reverse((expires, key.clone())));
        d.insert(key, o);
    }

    #[test]
    fn changes_are_the_orders_that_changed() {
        let mut d = Data::default();
        d.track(true);
        for id in ["a", "b", "c"] {
            initiate(&mut d, id, 1000);
        }
        let mut out = Vec::new();
        d.changes(&mut out);
        assert_eq!(
            keys(&out),
            [
                "put ecom.order/0000000001",
                "put ecom.order/0000000002",
                "put ecom.order/0000000003"
            ]
        );

        // A read (which settles the timeout through `get_mut`) writes nothing.
        out.clear();
        let mut cbs = Vec::new();
        assert!(d.order(MSN, "a", now(), &mut cbs).is_some());
        d.changes(&mut out);
        assert!(out.is_empty(), "{out:?}");

        // Approve and capture b; c times out in the sweep.
        d.order(MSN, "b", now(), &mut cbs)
            .unwrap()
            .reserve(None, None, "", now());
        d.order(MSN, "b", now(), &mut cbs)
            .unwrap()
            .capture(Some(400), "x", "r1", now())
            .unwrap();
        d.order(MSN, "a", now(), &mut cbs)
            .unwrap()
            .reserve(None, None, "", now());
        let later = now() + time::Duration::minutes(11);
        assert_eq!(d.expire_due(later, 10, &mut cbs), 3);
        d.changes(&mut out);
        assert_eq!(
            keys(&out),
            [
                "put ecom.order/0000000001",
                "put ecom.order/0000000002",
                "put ecom.order/0000000003"
            ]
        );
        assert!(matches!(&out[1], Change::Put { value, .. } if value.contains("\"captured\":400")));
        assert!(matches!(&out[2], Change::Put { value, .. } if value.contains("Rejected")));

        out.clear();
        d.clear();
        initiate(&mut d, "z", 5);
        d.changes(&mut out);
        assert_eq!(keys(&out), ["put ecom.order/0000000001"], "tracking survives a reset");
    }

    #[test]
    fn rows_round_trip_and_rebuild_the_indexes() {
        let mut d = Data::default();
        for id in ["a", "b", "c"] {
            initiate(&mut d, id, 1000);
        }
        let mut cbs = Vec::new();
        let b = d.order(MSN, "b", now(), &mut cbs).unwrap();
        b.reserve(None, None, "", now());
        b.capture(None, "x", "r1", now()).unwrap();
        let fresh = reload(&d).unwrap();
        assert_eq!(rows(&d), rows(&fresh));
        assert_eq!(fresh.order, d.order);
        assert_eq!(fresh.by_token("token-c"), Some((MSN.to_owned(), "c".to_owned())));
        // Only the orders still waiting time out.
        let mut fresh = fresh;
        let later = now() + time::Duration::minutes(11);
        assert_eq!(fresh.deadlines.len(), 2);
        fresh.expire_due(later, 10, &mut cbs);
        assert_eq!(fresh.orders[&(MSN.to_owned(), "a".to_owned())].phase, Phase::Rejected);
        assert_eq!(fresh.orders[&(MSN.to_owned(), "b".to_owned())].phase, Phase::Reserved);
    }

    #[test]
    fn bad_rows_are_refused() {
        let mut d = Data::default();
        initiate(&mut d, "a", 1000);
        let snapshot = rows(&d);
        let Change::Put { value, .. } = &snapshot[0] else {
            unreachable!()
        };
        let order = |key: &str, value: &str| row(ORDER, key, value);
        assert!(Data::default().load(&order("0000000001", "{broken")).is_err());
        assert!(Data::default().load(&order("one", value)).is_err());
        // A gap (order 1 forgotten by retention) is taken; an order out of key order is not.
        let mut gap = Data::default();
        assert_eq!(gap.load(&order("0000000002", value)), Ok(true));
        assert_eq!(gap.order.len(), 2);
        assert!(gap.load(&order("0000000001", value)).is_err());
        // The same order twice.
        let mut fresh = Data::default();
        assert_eq!(fresh.load(&order("0000000001", value)), Ok(true));
        assert!(fresh.load(&order("0000000002", value)).is_err());
        assert_eq!(Data::default().load(&row("ecom.orders", "1", "{}")), Ok(false));
    }
}
