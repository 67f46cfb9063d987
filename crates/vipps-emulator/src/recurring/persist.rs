//! The Recurring table's rows in the data dir: merchants, agreements and charges by their
//! number, the clock's queued work, failing phone numbers and carried agreements. The id
//! indexes are rebuilt from the rows when they are loaded.

use super::model::{Agreement, Charge, Recurring, Work};
use crate::core::persist::{index_key, parse_index, put, value, Change, Row};

const MSN: &str = "recurring.merchant";
const AGREEMENT: &str = "recurring.agreement";
const CHARGE: &str = "recurring.charge";
const WORK: &str = "recurring.work";
const FAILING_PHONE: &str = "recurring.failing_phone";
const CARRIED: &str = "recurring.carried";

impl Recurring {
    pub(super) fn set_tracking(&mut self, on: bool) {
        self.new_msns.track(on);
        self.agreements.track(on);
        self.charges.track(on);
        self.work_touched.track(on);
        self.phones_touched.track(on);
        self.carried_touched.track(on);
    }

    pub(super) fn tracking(&self) -> bool {
        self.work_touched.tracking()
    }

    /// The rows changed since the last call: each as it is now, or deleted.
    pub(super) fn changed_rows(&mut self, out: &mut Vec<Change>) {
        for i in self.new_msns.take() {
            if let Some(m) = self.msns.get(usize::from(i)) {
                out.push(put(MSN, index_key(u32::from(i)), &&**m));
            }
        }
        for i in self.agreements.take_touched() {
            if let Some(a) = self.agreements.get(i as usize) {
                out.push(put(AGREEMENT, index_key(i), a));
            }
        }
        for i in self.charges.take_touched() {
            if let Some(c) = self.charges.get(i as usize) {
                out.push(put(CHARGE, index_key(i), c));
            }
        }
        for k in self.work_touched.take() {
            let key = work_key(k);
            out.push(match self.work.get(&k) {
                Some(w) => put(WORK, key, w),
                None => Change::Delete { table: WORK, key },
            });
        }
        for phone in self.phones_touched.take() {
            let key = phone.to_string();
            out.push(if self.failing_phones.contains(&phone) {
                put(FAILING_PHONE, key, &true)
            } else {
                Change::Delete {
                    table: FAILING_PHONE,
                    key,
                }
            });
        }
        for ai in self.carried_touched.take() {
            let key = index_key(ai);
            out.push(if self.carried.contains(&ai) {
                put(CARRIED, key, &true)
            } else {
                Change::Delete { table: CARRIED, key }
            });
        }
    }

    /// Every row.
    pub(super) fn all_rows(&self, out: &mut Vec<Change>) {
        for (i, m) in self.msns.iter().enumerate() {
            out.push(put(MSN, index_key(i as u32), &&**m));
        }
        for (i, a) in self.agreements.iter().enumerate() {
            out.push(put(AGREEMENT, index_key(i as u32), a));
        }
        for (i, c) in self.charges.iter().enumerate() {
            out.push(put(CHARGE, index_key(i as u32), c));
        }
        for (k, w) in &self.work {
            out.push(put(WORK, work_key(*k), w));
        }
        for p in &self.failing_phones {
            out.push(put(FAILING_PHONE, p.to_string(), &true));
        }
        for ai in &self.carried {
            out.push(put(CARRIED, index_key(*ai), &true));
        }
    }

    /// Takes back one stored row, if it is one of this table's.
    pub(super) fn load_row(&mut self, row: &Row) -> Result<bool, String> {
        match row.table.as_str() {
            MSN => {
                let i = parse_index(row)?;
                let m: String = value(row)?;
                while self.msns.len() <= i {
                    self.msns.push("".into());
                }
                self.msns[i] = m.into();
            }
            AGREEMENT => {
                let a: Agreement = value(row)?;
                let filler = a.clone();
                self.agreements.restore(parse_index(row)?, a, || filler.clone());
            }
            CHARGE => {
                let c: Charge = value(row)?;
                let filler = c.clone();
                self.charges.restore(parse_index(row)?, c, || filler.clone());
            }
            WORK => {
                let k = parse_work_key(row)?;
                let w: Work = value(row)?;
                if k.1 < super::model::EXPIRY_SEQ {
                    self.seq = self.seq.max(k.1);
                }
                self.work.insert(k, w);
            }
            FAILING_PHONE => {
                self.failing_phones.insert(row.key.as_str().into());
            }
            CARRIED => {
                self.carried.insert(parse_index(row)? as u32);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Rebuilds the id indexes from the loaded agreements and charges, checking that every
    /// reference between rows points at a row.
    pub(super) fn rebuild_indexes(&mut self) -> Result<(), String> {
        let (agreements, charges, msns) = (self.agreements.len(), self.charges.len(), self.msns.len());
        for (i, a) in self.agreements.iter().enumerate() {
            if usize::from(a.msn) >= msns || a.charges.iter().any(|&c| c as usize >= charges) {
                return Err(format!("{AGREEMENT}/{}: refers to a missing row", index_key(i as u32)));
            }
        }
        self.by_code = self
            .agreements
            .iter()
            .enumerate()
            .map(|(i, a)| (a.code, i as u32))
            .collect();
        let mut ids = std::collections::HashMap::with_capacity(charges);
        for (i, c) in self.charges.iter().enumerate() {
            let Some(a) = self.agreements.get(c.agreement as usize) else {
                return Err(format!(
                    "{CHARGE}/{}: refers to a missing agreement",
                    index_key(i as u32)
                ));
            };
            ids.insert((a.msn, c.key.clone()), i as u32);
        }
        self.charge_ids = ids;
        let bad_work = self.work.values().any(|w| match *w {
            Work::Expire(ai) => ai as usize >= agreements,
            Work::Attempt(ci) => ci as usize >= charges,
        });
        if bad_work || self.carried.iter().any(|&ai| ai as usize >= agreements) {
            return Err(format!("{WORK}: refers to a missing row"));
        }
        Ok(())
    }
}

fn work_key((at, seq): (i64, u64)) -> String {
    format!("{at:012}.{seq:012}")
}

fn parse_work_key(row: &Row) -> Result<(i64, u64), String> {
    let bad = || format!("{}: {:?} is not a time and sequence number", row.table, row.key);
    let (at, seq) = row.key.split_once('.').ok_or_else(bad)?;
    Ok((at.parse().map_err(|_| bad())?, seq.parse().map_err(|_| bad())?))
}
