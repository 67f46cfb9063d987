//! Persistence on an embedded database (SQLite, WAL mode) in a data dir: the store's rows,
//! written by the [`Journal`] in commit order, and read back at start.
//!
//! One emulator per data dir: the dir's lock file is held for as long as the emulator runs.

mod journal;
mod saved;
mod schema;
#[cfg(test)]
pub(crate) mod testing;
mod tracked;

pub(crate) use journal::{Change, Journal};
pub(crate) use saved::Saved;
pub(crate) use tracked::{Touched, Tracked, TrackedMap};

use std::fs::File;
use std::path::{Path, PathBuf};

/// The database's file name inside the data dir.
pub(crate) const DB_FILE: &str = "emulator.sqlite3";
/// The lock file's name inside the data dir.
const LOCK_FILE: &str = "emulator.lock";

/// Why a data dir cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PersistError {
    /// Another emulator holds the data dir.
    #[error("{0} is in use by another emulator (it holds {0}/{LOCK_FILE}); stop it or choose another --data-dir")]
    Locked(String),
    /// The file is not the emulator's database.
    #[error("{0} is not a vipps emulator database; it was left untouched")]
    Foreign(String),
    /// The file was written by a newer emulator.
    #[error("{path} has schema version {found}, this emulator reads up to {supported}; use a newer vipps (the file was left untouched)")]
    Newer {
        /// The database file.
        path: String,
        /// Its schema version.
        found: i32,
        /// The newest this build reads.
        supported: i32,
    },
    /// The file is damaged.
    #[error("{path} is damaged ({why}); it was left untouched")]
    Corrupt {
        /// The database file.
        path: String,
        /// What SQLite reported.
        why: String,
    },
    /// A row could not be read back.
    #[error("{path}: row {table}/{key} cannot be read: {why}")]
    BadRow {
        /// The database file.
        path: String,
        /// Its table.
        table: String,
        /// Its key.
        key: String,
        /// Why.
        why: String,
    },
    /// The file system refused.
    #[error("{0}")]
    Io(String),
    /// Writing a commit failed (the change is not on disk).
    #[error("could not write to the data dir: {0}")]
    Write(String),
}

impl PersistError {
    fn corrupt(path: &Path, e: &rusqlite::Error) -> Self {
        PersistError::Corrupt {
            path: path.display().to_string(),
            why: e.to_string(),
        }
    }
}

/// A row as stored: its table, key and JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    pub(crate) table: String,
    pub(crate) key: String,
    pub(crate) value: String,
}

/// An opened data dir: its lock, held until this is dropped, and the journal writing to it.
#[derive(Debug)]
pub(crate) struct DataDir {
    pub(crate) journal: std::sync::Arc<Journal>,
    pub(crate) path: PathBuf,
    // Declared last: dropped after the journal has written its last commits.
    lock: parking_lot::Mutex<Option<File>>,
}

impl DataDir {
    /// Opens `dir` (creating it), takes its lock, checks and migrates the database, and starts
    /// the journal on it.
    pub(crate) fn open(dir: &Path) -> Result<DataDir, PersistError> {
        std::fs::create_dir_all(dir).map_err(|e| PersistError::Io(format!("{}: {e}", dir.display())))?;
        let lock = lock(dir)?;
        let db = dir.join(DB_FILE);
        let conn = schema::open(&db)?;
        let journal = std::sync::Arc::new(Journal::start(conn));
        Ok(DataDir {
            journal,
            path: dir.to_path_buf(),
            lock: parking_lot::Mutex::new(Some(lock)),
        })
    }

    /// The stored rows of `table`, in key order.
    pub(crate) fn rows_of(&self, table: &str) -> Result<Vec<Row>, PersistError> {
        let mut rows = Vec::new();
        self.query(
            "SELECT tbl, key, value FROM rows WHERE tbl = ?1 ORDER BY key",
            &[table],
            |r| {
                rows.push(r);
                Ok(())
            },
        )?;
        Ok(rows)
    }

    /// Hands every stored row to `take`, in key order per table (a reading connection of its
    /// own: WAL lets it read beside the journal's). Stops at the first row `take` refuses.
    pub(crate) fn read_rows(&self, take: impl FnMut(Row) -> Result<(), (Row, String)>) -> Result<(), PersistError> {
        self.query("SELECT tbl, key, value FROM rows ORDER BY tbl, key", &[], take)
    }

    /// Runs `sql` on a reading connection of its own (WAL lets it read beside the journal's)
    /// and hands each row to `take`, stopping at the first it refuses. (Reading on a thread of
    /// its own while `take` worked measured no faster: taking the rows is the slow part.)
    fn query(
        &self,
        sql: &str,
        params: &[&str],
        mut take: impl FnMut(Row) -> Result<(), (Row, String)>,
    ) -> Result<(), PersistError> {
        let db = self.path.join(DB_FILE);
        let corrupt = |e: rusqlite::Error| PersistError::corrupt(&db, &e);
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = rusqlite::Connection::open_with_flags(&db, flags).map_err(corrupt)?;
        let mut stmt = conn.prepare(sql).map_err(corrupt)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(params)).map_err(corrupt)?;
        while let Some(r) = rows.next().map_err(corrupt)? {
            let row = Row {
                table: r.get(0).map_err(corrupt)?,
                key: r.get(1).map_err(corrupt)?,
                value: r.get(2).map_err(corrupt)?,
            };
            take(row).map_err(|(row, why)| PersistError::BadRow {
                path: db.display().to_string(),
                table: row.table,
                key: row.key,
                why,
            })?;
        }
        Ok(())
    }
}

impl DataDir {
    /// Writes what is queued, then lets go of the dir (another emulator may open it). Later
    /// commits are not written, and waiting for them reports so.
    pub(crate) fn close(&self) {
        self.journal.close();
        drop(self.lock.lock().take());
    }
}

/// Takes the data dir's lock, or says who holds it. The operating system releases it when the
/// process ends, even after `kill -9`, so a crash never leaves a stale lock.
fn lock(dir: &Path) -> Result<File, PersistError> {
    let path = dir.join(LOCK_FILE);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| PersistError::Io(format!("{}: {e}", path.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(PersistError::Locked(dir.display().to_string())),
        Err(std::fs::TryLockError::Error(e)) => Err(PersistError::Io(format!("{}: {e}", path.display()))),
    }
}

/// The row `key` of `table` holding `value` as JSON.
pub(crate) fn put<T: serde::Serialize>(table: &'static str, key: String, value: &T) -> Change {
    Change::Put {
        table,
        key,
        value: json(value),
    }
}

/// `value` as JSON, written into a buffer each thread keeps and then copied once: a
/// `to_string` grows its string from 128 bytes, and the reallocations (a payment is about
/// 800 bytes) took a third of the time rows took to make, under the store's lock.
pub(crate) fn json<T: serde::Serialize>(value: &T) -> String {
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BUF.with(|buf| {
        // A buffer already in use (never, unless a value's `Serialize` makes rows) is left alone.
        let Ok(mut buf) = buf.try_borrow_mut() else {
            return serde_json::to_string(value).unwrap_or_else(|_| "null".into());
        };
        buf.clear();
        // The emulator's own records always serialize (no maps with non-string keys), and
        // serde_json writes UTF-8.
        match serde_json::to_writer(&mut *buf, value) {
            Ok(()) => std::str::from_utf8(&buf).map_or_else(|_| "null".into(), str::to_owned),
            Err(_) => "null".into(),
        }
    })
}

/// The key of row number `i`: zero-padded, so `sqlite3` lists rows in their order.
pub(crate) fn index_key(i: u32) -> String {
    format!("{i:010}")
}

/// The row number of an [`index_key`].
pub(crate) fn parse_index(row: &Row) -> Result<usize, String> {
    row.key
        .parse::<u32>()
        .map(|i| i as usize)
        .map_err(|_| format!("{}: {:?} is not a row number", row.table, row.key))
}

/// A row's value.
pub(crate) fn value<T: serde::de::DeserializeOwned>(row: &Row) -> Result<T, String> {
    serde_json::from_str(&row.value).map_err(|e| format!("{}/{}: {e}", row.table, row.key))
}

/// The `&'static str` of a name read back from disk (an outbound kind, a method, an event
/// type): each distinct name is allocated once per process and kept.
pub(crate) fn intern(name: &str) -> &'static str {
    static NAMES: std::sync::OnceLock<parking_lot::Mutex<std::collections::HashSet<&'static str>>> =
        std::sync::OnceLock::new();
    let mut names = NAMES.get_or_init(Default::default).lock();
    if let Some(n) = names.get(name) {
        return n;
    }
    let n: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(n);
    n
}

/// Serde for an `Arc<str>` (serde's `rc` feature would do it for every `Arc` in the tree).
pub(crate) mod serde_arc_str {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::sync::Arc;

    pub(crate) fn serialize<S: Serializer>(v: &Arc<str>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Arc<str>, D::Error> {
        String::deserialize(d).map(Arc::from)
    }
}

/// Serde for a `u128` as a decimal string: JSON tools (and `serde_json::Value`) hold numbers
/// as 64-bit at most.
pub(crate) mod serde_u128_str {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        String::deserialize(d)?.parse().map_err(D::Error::custom)
    }
}

/// Serde for 24 raw bytes (a landing token) as unpadded URL-safe base64.
pub(crate) mod serde_bytes24 {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(v: &[u8; 24], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&URL_SAFE_NO_PAD.encode(v))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 24], D::Error> {
        let s = String::deserialize(d)?;
        let bytes = URL_SAFE_NO_PAD.decode(s).map_err(D::Error::custom)?;
        bytes.try_into().map_err(|_| D::Error::custom("a token is 24 bytes"))
    }
}

#[cfg(test)]
mod tests;
