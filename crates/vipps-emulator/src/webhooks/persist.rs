//! The registrations' rows in the data dir: `webhook` by registration number (`seq`), with
//! the secret (a restarted emulator signs with the secret the merchant was given), and
//! `webhook.last_seq` (numbers are never reused, even after the newest registration is
//! deleted).

use super::state::{Registration, Registry};
use crate::core::persist::{put, value, Change, Row};
use crate::core::store::Table;

const WEBHOOK: &str = "webhook";
const LAST_SEQ: &str = "webhook.last_seq";
const LAST_SEQ_KEY: &str = "last";

fn seq_key(seq: u64) -> String {
    format!("{seq:010}")
}

impl Table for Registry {
    fn clear(&mut self) {
        let tracking = self.hooks.touched.tracking();
        *self = Registry::default();
        self.hooks.touched.track(tracking);
    }

    fn track(&mut self, on: bool) {
        self.hooks.touched.track(on);
        // As for the registrations: what happened before is not a change.
        self.saved_last_seq = self.last_seq;
    }

    fn changes(&mut self, out: &mut Vec<Change>) {
        for seq in self.hooks.touched.take() {
            // Few registrations: a search is cheaper than an index to keep.
            match self.hooks.list.binary_search_by_key(&seq, |h| h.seq) {
                Ok(i) => self.saved.put(WEBHOOK, &seq, seq_key(seq), &self.hooks.list[i], out),
                Err(_) => self.saved.delete(WEBHOOK, &seq, out),
            }
        }
        if self.last_seq != self.saved_last_seq {
            self.saved_last_seq = self.last_seq;
            out.push(put(LAST_SEQ, LAST_SEQ_KEY.into(), &self.last_seq));
        }
    }

    fn rows(&self, out: &mut Vec<Change>) {
        for h in self.hooks.iter() {
            out.push(put(WEBHOOK, seq_key(h.seq), h));
        }
        if self.last_seq != 0 {
            out.push(put(LAST_SEQ, LAST_SEQ_KEY.into(), &self.last_seq));
        }
    }

    fn load(&mut self, row: &Row) -> Result<bool, String> {
        match row.table.as_str() {
            WEBHOOK => {
                let mut h: Registration = value(row)?;
                h.seq = row
                    .key
                    .parse()
                    .map_err(|_| format!("{WEBHOOK}: {:?} is not a registration number", row.key))?;
                if self.hooks.iter().any(|o| o.seq == h.seq || o.id == h.id) {
                    return Err(format!("{WEBHOOK}/{}: a second registration {}", row.key, h.id));
                }
                self.saved.loaded(h.seq, row);
                self.hooks.list.push(h);
            }
            LAST_SEQ if row.key == LAST_SEQ_KEY => {
                self.last_seq = value(row)?;
                self.saved_last_seq = self.last_seq;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn loaded(&mut self) -> Result<(), String> {
        self.hooks.list.sort_by_key(|h| h.seq);
        if let Some(h) = self.hooks.last().filter(|h| h.seq > self.last_seq) {
            return Err(format!(
                "{WEBHOOK}/{}: numbered after the last registration ({})",
                seq_key(h.seq),
                self.last_seq
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::fan_out::record_attempt;
    use super::*;
    use crate::core::persist::testing::{keys, reload, row, rows};
    use time::OffsetDateTime;
    use vipps_types::webhooks::WebhookEventType;

    fn hook(id: &str) -> Registration {
        Registration {
            id: id.into(),
            msn: "123456".into(),
            url: format!("https://example.com/{id}"),
            events: vec![WebhookEventType::EpaymentCreated],
            secret: format!("secret-{id}").into(),
            failing_since: None,
            created: OffsetDateTime::UNIX_EPOCH,
            seq: 0,
        }
    }

    #[test]
    fn changes_are_the_rows_that_changed() {
        // Tracking is on from the start, as with a data dir.
        let mut reg = Registry::default();
        reg.track(true);
        reg.add(hook("a"));
        reg.add(hook("b"));
        let mut out = Vec::new();
        reg.changes(&mut out);
        assert_eq!(
            keys(&out),
            [
                "put webhook/0000000001",
                "put webhook/0000000002",
                "put webhook.last_seq/last"
            ]
        );
        out.clear();
        reg.changes(&mut out);
        assert!(out.is_empty(), "nothing changed since the last call");

        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(1);
        assert!(record_attempt(&mut reg, "a", true, now));
        reg.changes(&mut out);
        assert!(out.is_empty(), "a delivery to a healthy hook changes nothing: {out:?}");

        assert!(record_attempt(&mut reg, "b", false, now));
        reg.add(hook("c"));
        reg.changes(&mut out);
        assert_eq!(
            keys(&out),
            [
                "put webhook/0000000002",
                "put webhook/0000000003",
                "put webhook.last_seq/last"
            ]
        );
        assert!(matches!(&out[1], Change::Put { value, .. } if value.contains("secret-c")));

        out.clear();
        reg.hooks.remove(0);
        // Failing for two weeks: deleted by the delivery path.
        assert!(!record_attempt(
            &mut reg,
            "b",
            false,
            now + super::super::state::UNRESPONSIVE_DELETION
        ));
        reg.changes(&mut out);
        assert_eq!(keys(&out), ["delete webhook/0000000001", "delete webhook/0000000002"]);

        out.clear();
        reg.clear();
        reg.add(hook("d"));
        reg.changes(&mut out);
        assert_eq!(
            keys(&out),
            ["put webhook/0000000001", "put webhook.last_seq/last"],
            "tracking survives a reset"
        );
    }

    #[test]
    fn rows_round_trip() {
        let mut reg = Registry::default();
        for id in ["a", "b", "c"] {
            reg.add(hook(id));
        }
        reg.hooks.remove(2);
        reg.hooks[1].failing_since = Some(OffsetDateTime::UNIX_EPOCH);
        let fresh = reload(&reg).unwrap();
        assert_eq!(rows(&reg), rows(&fresh));
        assert_eq!(fresh.last_seq, 3, "the deleted newest number is not reused");
        assert_eq!(&*fresh.hooks[1].secret, "secret-b");

        // Loaded rows are known to be on disk: touching them unchanged writes nothing.
        let mut fresh = fresh;
        fresh.track(true);
        let _ = &mut fresh.hooks[0];
        let mut out = Vec::new();
        fresh.changes(&mut out);
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn bad_rows_are_refused() {
        let mut reg = Registry::default();
        assert!(reg.load(&row(WEBHOOK, "0000000001", "{not json")).is_err());
        assert!(reg.load(&row(WEBHOOK, "x", "{}")).is_err());
        assert_eq!(reg.load(&row("webhooks", "1", "{}")), Ok(false));

        // A registration numbered after the last number handed out.
        let mut good = Registry::default();
        good.add(hook("a"));
        let snapshot = rows(&good);
        let Change::Put { value, .. } = &snapshot[0] else {
            unreachable!()
        };
        let mut reg = Registry::default();
        assert_eq!(reg.load(&row(WEBHOOK, "0000000005", value)), Ok(true));
        assert_eq!(reg.load(&row(LAST_SEQ, LAST_SEQ_KEY, "1")), Ok(true));
        assert!(reg.loaded().is_err());
        // The same registration twice.
        let mut reg = Registry::default();
        assert_eq!(reg.load(&row(WEBHOOK, "0000000001", value)), Ok(true));
        assert!(reg.load(&row(WEBHOOK, "0000000002", value)).is_err());
    }
}
