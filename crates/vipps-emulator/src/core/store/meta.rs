//! The emulator's own settings that persist with its data: the clock's offset, the key that
//! signs access tokens (so tokens stay valid across a restart) and the fault rules.

use super::Table;
use crate::core::persist::{put, value, Change, Row, Touched};
use std::collections::BTreeMap;

/// The rows' table.
pub(crate) const META_TABLE: &str = "emulator";
const TABLE: &str = META_TABLE;

/// The clock's offset in milliseconds.
pub(crate) const CLOCK_OFFSET_MS: &str = "clock_offset_ms";
/// The access-token key, hex.
pub(crate) const TOKEN_KEY: &str = "token_key";
/// The fault rules (the body of `GET /_emulator/faults`).
pub(crate) const FAULTS: &str = "faults";
/// Whether payment events are published (somebody registered a webhook once).
pub(crate) const PUBLISHING: &str = "publishing";

/// Settings by name, each a JSON value.
#[derive(Debug, Default)]
pub(crate) struct Meta {
    values: BTreeMap<&'static str, serde_json::Value>,
    touched: Touched<&'static str>,
}

impl Meta {
    /// The setting `name`, if set.
    pub(crate) fn get(&self, name: &str) -> Option<&serde_json::Value> {
        self.values.get(name)
    }

    /// Whether row `key` of `table` is the token key (left out of snapshots: it is a secret,
    /// and a restored state keeps the running emulator's key).
    pub(crate) fn is_token_key(table: &str, key: &str) -> bool {
        table == TABLE && key == TOKEN_KEY
    }

    /// Sets `name` (a change only if the value differs).
    pub(crate) fn set(&mut self, name: &'static str, v: serde_json::Value) {
        if self.values.get(name) != Some(&v) {
            self.values.insert(name, v);
            self.touched.touch(name);
        }
    }
}

/// The names this build knows; a stored row with another name is refused.
fn known(name: &str) -> Option<&'static str> {
    [CLOCK_OFFSET_MS, TOKEN_KEY, FAULTS, PUBLISHING]
        .into_iter()
        .find(|n| *n == name)
}

impl Table for Meta {
    fn clear(&mut self) {
        // A reset forgets data, not settings: the clock stays where it is, tokens stay valid
        // and fault rules stay set, as without a data dir. They are written again after the
        // reset's `Clear`.
        let names: Vec<_> = self.values.keys().copied().collect();
        for name in names {
            self.touched.touch(name);
        }
    }
    fn track(&mut self, on: bool) {
        self.touched.track(on);
    }
    fn changes(&mut self, out: &mut Vec<Change>) {
        for name in self.touched.take() {
            out.push(match self.values.get(name) {
                Some(v) => put(TABLE, name.to_owned(), v),
                None => Change::Delete {
                    table: TABLE,
                    key: name.to_owned(),
                },
            });
        }
    }
    fn rows(&self, out: &mut Vec<Change>) {
        for (name, v) in &self.values {
            out.push(put(TABLE, (*name).to_owned(), v));
        }
    }
    fn load(&mut self, row: &Row) -> Result<bool, String> {
        if row.table != TABLE {
            return Ok(false);
        }
        let name = known(&row.key).ok_or_else(|| format!("{TABLE}: unknown setting {:?}", row.key))?;
        self.values.insert(name, value(row)?);
        Ok(true)
    }
}
