//! The database file: opening it, recognising it as the emulator's, and its schema version.
//!
//! The file is marked as ours with SQLite's `application_id` and carries its schema version in
//! `user_version`, both in the header, so `sqlite3 FILE 'PRAGMA user_version'` shows them.
//! A file of a newer version, someone else's file, or a damaged one is refused and left as it
//! is: the emulator never overwrites data it does not understand.

use super::PersistError;
use rusqlite::Connection;
use std::path::Path;

/// "VIPE" in ASCII: the `application_id` of the emulator's database.
pub(crate) const APPLICATION_ID: i32 = 0x5649_5045;

/// The schema this build writes. Each step of [`MIGRATIONS`] moves a file one version up.
pub(crate) const SCHEMA_VERSION: i32 = 1;

/// `MIGRATIONS[v]` takes a file at version `v` to `v + 1`; version 0 is an empty file.
///
/// A rowid table with an index on (table, key), not a `WITHOUT ROWID` one: rows of a kilobyte
/// are larger than that layout suits, and a replaced row is appended instead of rewritten in
/// the middle of the tree.
const MIGRATIONS: &[&str] = &["CREATE TABLE rows (
        tbl TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (tbl, key)
    );"];

/// Opens (creating if needed) the database at `path`, checks that it is ours and readable,
/// and migrates an older schema.
pub(crate) fn open(path: &Path) -> Result<Connection, PersistError> {
    let conn = Connection::open(path).map_err(|e| PersistError::corrupt(path, &e))?;
    check_integrity(&conn, path)?;
    let app: i32 = pragma(&conn, "application_id", path)?;
    let version: i32 = pragma(&conn, "user_version", path)?;
    let objects: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
        .map_err(|e| PersistError::corrupt(path, &e))?;
    if app != APPLICATION_ID && (app != 0 || objects > 0) {
        return Err(PersistError::Foreign(path.display().to_string()));
    }
    if version > SCHEMA_VERSION {
        return Err(PersistError::Newer {
            path: path.display().to_string(),
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    // WAL: readers never block the writer, and a commit is one append (group commits stay
    // cheap). NORMAL sync in WAL mode survives the process being killed at any moment; only an
    // operating-system crash or power loss can lose the last commits.
    // Reads through a memory map (the default 2 MB cache read the tree's pages back with a
    // system call on every write), an 8 MB cache (a larger one costs more than it saves:
    // SQLite scans it at the end of every transaction), and checkpoints of the WAL into the
    // file every 40 MB instead of every 4. Measured in BENCHMARKS.md.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -8192;
         PRAGMA mmap_size = 268435456; PRAGMA wal_autocheckpoint = 10000;",
    )
    .map_err(|e| PersistError::corrupt(path, &e))?;
    migrate(&conn, version, path)?;
    Ok(conn)
}

/// Runs the migrations from `from` up to [`SCHEMA_VERSION`], all in one transaction: a file
/// is either migrated completely or left as it was.
fn migrate(conn: &Connection, from: i32, path: &Path) -> Result<(), PersistError> {
    if from == SCHEMA_VERSION {
        return Ok(());
    }
    let mut sql = String::from("BEGIN IMMEDIATE;");
    for step in &MIGRATIONS[from as usize..] {
        sql.push_str(step);
    }
    sql.push_str(&format!(
        "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
    ));
    conn.execute_batch(&sql).map_err(|e| {
        let _ = conn.execute_batch("ROLLBACK");
        PersistError::Io(format!("{}: could not migrate the schema: {e}", path.display()))
    })
}

fn pragma(conn: &Connection, name: &str, path: &Path) -> Result<i32, PersistError> {
    conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
        .map_err(|e| PersistError::corrupt(path, &e))
}

/// `quick_check` reads every page: a damaged file is refused at start, not halfway through
/// loading it.
fn check_integrity(conn: &Connection, path: &Path) -> Result<(), PersistError> {
    let verdict: String = conn
        .query_row("PRAGMA quick_check(1)", [], |r| r.get(0))
        .map_err(|e| PersistError::corrupt(path, &e))?;
    if verdict == "ok" {
        Ok(())
    } else {
        Err(PersistError::Corrupt {
            path: path.display().to_string(),
            why: verdict,
        })
    }
}
