//! Snapshots: the whole state as one JSON document, and back (`GET`/`POST
//! /_emulator/snapshot`, `vipps emulator --snapshot FILE`). A snapshot holds the same rows a
//! data dir does, with their values as JSON, but not the key that signs access tokens.

use crate::core::persist::{Change, Row};
use crate::core::state::AppState;
use crate::core::store::{Meta, CLOCK_OFFSET_MS, FAULTS};
use serde::{Deserialize, Serialize};

/// The format's version; a document of another is refused.
pub(crate) const SNAPSHOT_VERSION: u32 = 1;

/// A snapshot document.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Snapshot {
    /// [`SNAPSHOT_VERSION`].
    pub(crate) vipps_emulator_snapshot: u32,
    /// Every row, by table and key.
    pub(crate) rows: Vec<SnapshotRow>,
}

/// One row of a snapshot.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SnapshotRow {
    pub(crate) table: String,
    pub(crate) key: String,
    pub(crate) value: serde_json::Value,
}

/// Why a snapshot cannot be taken in.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SnapshotError {
    #[error("not a snapshot: {0}")]
    Malformed(String),
    #[error("snapshot version {0} is not supported (this emulator reads version {SNAPSHOT_VERSION})")]
    Version(u32),
    #[error("row {table}/{key}: {why}")]
    Row { table: String, key: String, why: String },
}

impl AppState {
    /// The whole state as a snapshot.
    pub(crate) fn snapshot(&self) -> Snapshot {
        let rows = self
            .store()
            .snapshot_rows()
            .into_iter()
            .filter_map(|c| match c {
                Change::Put { table, key, value } => Some(SnapshotRow {
                    table: table.to_owned(),
                    key,
                    value: serde_json::from_str(&value).unwrap_or_default(),
                }),
                _ => None,
            })
            .collect();
        Snapshot {
            vipps_emulator_snapshot: SNAPSHOT_VERSION,
            rows,
        }
    }

    /// Replaces the whole state with the snapshot in `json` (as a reset would, then loading
    /// it); a snapshot that does not fit changes nothing. The clock moves forward to the
    /// snapshot's time if it is behind (it never goes back).
    pub(crate) fn restore(&self, json: &[u8]) -> Result<(), SnapshotError> {
        let doc: Snapshot = serde_json::from_slice(json).map_err(|e| SnapshotError::Malformed(e.to_string()))?;
        if doc.vipps_emulator_snapshot != SNAPSHOT_VERSION {
            return Err(SnapshotError::Version(doc.vipps_emulator_snapshot));
        }
        let rows: Vec<Row> = doc
            .rows
            .into_iter()
            .map(|r| Row {
                table: r.table,
                key: r.key,
                value: r.value.to_string(),
            })
            .collect();
        self.store().replace(&rows).map_err(|(row, why)| SnapshotError::Row {
            table: row.table,
            key: row.key,
            why,
        })?;
        self.reset_parts();
        let (offset, faults) = self.store().read(|t| {
            let m = t.get::<Meta>();
            (
                m.get(CLOCK_OFFSET_MS).and_then(|v| v.as_i64()),
                m.get(FAULTS).and_then(|v| serde_json::from_value(v.clone()).ok()),
            )
        });
        if let Some(ms) = offset {
            let now = i64::try_from(self.clock().offset().as_millis()).unwrap_or(i64::MAX);
            self.clock()
                .advance(std::time::Duration::from_millis(ms.saturating_sub(now).max(0) as u64));
        }
        self.faults().set(faults.unwrap_or_default());
        Ok(())
    }
}
