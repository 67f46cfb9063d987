//! Helpers for the unit tests of each table's rows (`*/persist.rs`).

use super::{Change, Row};
use crate::core::store::Table;

/// The changes as `put table/key`, `delete table/key` or `clear`: what a test compares.
pub(crate) fn keys(out: &[Change]) -> Vec<String> {
    out.iter()
        .map(|c| match c {
            Change::Put { table, key, .. } => format!("put {table}/{key}"),
            Change::Delete { table, key } => format!("delete {table}/{key}"),
            Change::Clear => "clear".into(),
        })
        .collect()
}

/// Every row of `t` (a snapshot).
pub(crate) fn rows<T: Table>(t: &T) -> Vec<Change> {
    let mut out = Vec::new();
    t.rows(&mut out);
    out
}

/// A stored row.
pub(crate) fn row(table: &str, key: &str, value: &str) -> Row {
    Row {
        table: table.into(),
        key: key.into(),
        value: value.into(),
    }
}

/// A fresh table loaded from `t`'s rows, as a restart reads them back.
pub(crate) fn reload<T: Table>(t: &T) -> Result<T, String> {
    let mut fresh = T::default();
    for c in rows(t) {
        let Change::Put { table, key, value } = c else {
            unreachable!("a snapshot only puts rows")
        };
        // Every row a table writes is its own.
        assert!(fresh.load(&row(table, &key, &value))?);
    }
    fresh.loaded()?;
    Ok(fresh)
}
