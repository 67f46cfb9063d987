use super::*;

/// A fresh directory under the system's temporary dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!(
            "vipps-persist-{name}-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Opens `dir` and reads every row back.
fn open(dir: &Path) -> (DataDir, Vec<Row>) {
    let data = DataDir::open(dir).unwrap();
    let mut rows = Vec::new();
    data.read_rows(|r| {
        rows.push(r);
        Ok(())
    })
    .unwrap();
    (data, rows)
}

fn put(table: &'static str, key: &str, value: &str) -> Change {
    Change::Put {
        table,
        key: key.into(),
        value: value.into(),
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn commits_are_read_back_in_order_after_a_restart() {
    let dir = TempDir::new("roundtrip");
    {
        let (data, rows) = open(&dir.0);
        assert!(rows.is_empty());
        let j = &data.journal;
        j.submit(vec![put("payment", "a", "1"), put("payment", "b", "2")]);
        j.submit(vec![
            put("payment", "a", "3"),
            Change::Delete {
                table: "payment",
                key: "b".into(),
            },
        ]);
        let last = j.submit(vec![put("webhook", "w", "{}")]);
        assert_eq!(last, 3);
        block_on(j.durable(last)).unwrap();
    }
    let (_data, rows) = open(&dir.0);
    let got: Vec<_> = rows
        .iter()
        .map(|r| (r.table.as_str(), r.key.as_str(), r.value.as_str()))
        .collect();
    assert_eq!(got, [("payment", "a", "3"), ("webhook", "w", "{}")]);
}

#[test]
fn clear_forgets_every_row_and_an_empty_commit_waits_for_nothing() {
    let dir = TempDir::new("clear");
    {
        let (data, _) = open(&dir.0);
        data.journal.submit(vec![put("payment", "a", "1")]);
        let seq = data.journal.submit(vec![Change::Clear, put("clock", "offset", "5")]);
        assert_eq!(data.journal.submit(Vec::new()), seq);
        block_on(data.journal.durable(seq)).unwrap();
    }
    let (_data, rows) = open(&dir.0);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].table, "clock");
}

#[test]
fn closing_writes_what_was_queued() {
    let dir = TempDir::new("close");
    {
        let (data, _) = open(&dir.0);
        for i in 0..1000 {
            data.journal.submit(vec![put("payment", &format!("{i:04}"), "x")]);
        }
        // Dropped without waiting: the journal still writes every queued commit.
    }
    let (_data, rows) = open(&dir.0);
    assert_eq!(rows.len(), 1000);
}

#[test]
fn a_second_emulator_on_the_same_dir_is_refused_until_the_first_stops() {
    let dir = TempDir::new("lock");
    let first = DataDir::open(&dir.0).unwrap();
    let err = DataDir::open(&dir.0).unwrap_err();
    assert!(matches!(err, PersistError::Locked(_)), "{err}");
    assert!(err.to_string().contains("in use by another emulator"), "{err}");
    drop(first);
    DataDir::open(&dir.0).unwrap();
}

#[test]
fn a_newer_schema_is_refused_and_left_untouched() {
    let dir = TempDir::new("newer");
    drop(DataDir::open(&dir.0).unwrap());
    let db = dir.0.join(DB_FILE);
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(&format!("PRAGMA user_version = {}", schema::SCHEMA_VERSION + 1))
        .unwrap();
    let err = DataDir::open(&dir.0).unwrap_err();
    assert!(
        matches!(err, PersistError::Newer { found, .. } if found == schema::SCHEMA_VERSION + 1),
        "{err}"
    );
    let version: i32 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, schema::SCHEMA_VERSION + 1);
}

#[test]
fn someone_elses_database_is_refused_and_left_untouched() {
    let dir = TempDir::new("foreign");
    std::fs::create_dir_all(&dir.0).unwrap();
    let db = dir.0.join(DB_FILE);
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("CREATE TABLE customers (id INTEGER); INSERT INTO customers VALUES (7);")
        .unwrap();
    let err = DataDir::open(&dir.0).unwrap_err();
    assert!(matches!(err, PersistError::Foreign(_)), "{err}");
    let n: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT id FROM customers", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 7);
}

#[test]
fn a_damaged_file_is_refused_and_left_untouched() {
    let dir = TempDir::new("corrupt");
    std::fs::create_dir_all(&dir.0).unwrap();
    let db = dir.0.join(DB_FILE);
    let junk = b"this is not a database, just some bytes that happen to be here".repeat(100);
    std::fs::write(&db, &junk).unwrap();
    let err = DataDir::open(&dir.0).unwrap_err();
    assert!(matches!(err, PersistError::Corrupt { .. }), "{err}");
    assert_eq!(std::fs::read(&db).unwrap(), junk);
}

#[test]
fn a_database_damaged_inside_is_refused() {
    let dir = TempDir::new("torn");
    {
        let (data, _) = open(&dir.0);
        let value = "v".repeat(3000);
        let mut last = 0;
        for i in 0..200 {
            last = data.journal.submit(vec![put("payment", &format!("{i:04}"), &value)]);
        }
        block_on(data.journal.durable(last)).unwrap();
    }
    // Checkpoint the WAL into the main file, then overwrite pages in its middle.
    rusqlite::Connection::open(dir.0.join(DB_FILE))
        .unwrap()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    let db = dir.0.join(DB_FILE);
    let mut bytes = std::fs::read(&db).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 8192] {
        *b = 0xA5;
    }
    std::fs::write(&db, &bytes).unwrap();
    let err = DataDir::open(&dir.0).unwrap_err();
    assert!(matches!(err, PersistError::Corrupt { .. }), "{err}");
}
