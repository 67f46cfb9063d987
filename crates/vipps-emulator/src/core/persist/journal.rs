//! The journal: commits of the store, written to the database in commit order by one thread,
//! many commits per database transaction (group commit).
//!
//! The store hands each commit's changed rows to [`Journal::submit`] while it still holds its
//! lock, so the journal's sequence is the commit order. Whoever answers a request waits for
//! [`Journal::durable`] of the last sequence number before sending a 2xx: by then the change
//! is on disk.

use super::PersistError;
use rusqlite::{params, Connection};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use tokio::sync::watch;

/// One row's change in a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// The row `key` of `table` now holds `value` (JSON).
    Put {
        table: &'static str,
        key: String,
        value: String,
    },
    /// The row is gone.
    Delete { table: &'static str, key: String },
    /// Every row is gone (`POST /_emulator/reset`).
    Clear,
}

/// A commit as queued: its sequence number and its changed rows.
type Commit = (u64, Vec<Change>);

/// How far the writer got: every commit up to `seq` is on disk, unless writing `failed`.
#[derive(Debug, Clone, Default)]
struct Durable {
    seq: u64,
    failed: Option<Arc<str>>,
}

/// Commits that one writer thread makes durable.
#[derive(Debug)]
pub(crate) struct Journal {
    queue: parking_lot::Mutex<Option<mpsc::Sender<Commit>>>,
    submitted: AtomicU64,
    durable: watch::Receiver<Durable>,
    writer: parking_lot::Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// The most commits written in one database transaction.
const GROUP: usize = 4096;

/// The longest the writer gathers a group after its first commit arrived.
const GATHER: std::time::Duration = std::time::Duration::from_micros(500);

impl Journal {
    /// Starts the writer on `conn`.
    pub(crate) fn start(conn: Connection) -> Journal {
        let (tx, rx) = mpsc::channel();
        let (durable_tx, durable) = watch::channel(Durable::default());
        let writer = std::thread::Builder::new()
            .name("vipps-emulator-journal".into())
            .spawn(move || write_all(conn, &rx, &durable_tx))
            .expect("spawn the journal's writer thread");
        Journal {
            queue: parking_lot::Mutex::new(Some(tx)),
            submitted: AtomicU64::new(0),
            durable,
            writer: parking_lot::Mutex::new(Some(writer)),
        }
    }

    /// Queues one commit's changes; its sequence number. Call it in commit order (under the
    /// store's lock). A commit that changed nothing gets the last number and waits for nothing.
    pub(crate) fn submit(&self, changes: Vec<Change>) -> u64 {
        if changes.is_empty() {
            return self.submitted.load(Ordering::Acquire);
        }
        let queue = self.queue.lock();
        let seq = self.submitted.fetch_add(1, Ordering::AcqRel) + 1;
        if let Some(q) = queue.as_ref() {
            // The writer only stops when the journal closes, so a failed send means nothing
            // is written any more; `durable` then reports the failure.
            let _ = q.send((seq, changes));
        }
        seq
    }

    /// The sequence number of the last commit submitted.
    pub(crate) fn submitted(&self) -> u64 {
        self.submitted.load(Ordering::Acquire)
    }

    /// Waits until commit `seq` and every one before it are on disk.
    pub(crate) async fn durable(&self, seq: u64) -> Result<(), PersistError> {
        let mut rx = self.durable.clone();
        loop {
            {
                let d = rx.borrow_and_update();
                if let Some(why) = &d.failed {
                    return Err(PersistError::Write(why.to_string()));
                }
                if d.seq >= seq {
                    return Ok(());
                }
            }
            if rx.changed().await.is_err() {
                return Err(PersistError::Write("the journal's writer has stopped".into()));
            }
        }
    }

    /// Writes what is queued and stops the writer (the last commits reach the disk before
    /// the process ends).
    pub(crate) fn close(&self) {
        drop(self.queue.lock().take());
        if let Some(w) = self.writer.lock().take() {
            let _ = w.join();
        }
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        self.close();
    }
}

/// The writer thread: takes whatever commits are queued, writes them in one transaction, and
/// reports them durable. After a failed write nothing more is written (a later commit on top
/// of a lost one would leave the file inconsistent), and every wait reports the failure.
fn write_all(mut conn: Connection, rx: &mpsc::Receiver<(u64, Vec<Change>)>, durable: &watch::Sender<Durable>) {
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        gather(rx, &mut group);
        let last = group.last().map_or(0, |(seq, _)| *seq);
        if durable.borrow().failed.is_some() {
            continue;
        }
        match write_group(&mut conn, &group) {
            Ok(()) => durable.send_modify(|d| d.seq = last),
            Err(e) => {
                tracing::error!(target: "vipps_emulator::persist", error = %e, "could not write to the data dir; answering errors from now on");
                durable.send_modify(|d| d.failed = Some(e.to_string().into()));
            }
        }
    }
}

/// Adds the commits that arrive while the writer yields its CPU, until one yield brings none
/// (or [`GATHER`] has passed). Woken by the first commit, the writer would otherwise write it
/// alone: most groups held one commit, and a database transaction costs about as much for one
/// commit as for ten (its pages are written whole). Yielding, not sleeping: on a busy machine
/// the request threads that are about to commit get the CPU at once, and on an idle one the
/// writer goes on at once.
fn gather(rx: &mpsc::Receiver<Commit>, group: &mut Vec<Commit>) {
    let start = std::time::Instant::now();
    let take = |group: &mut Vec<Commit>| {
        while group.len() < GROUP {
            match rx.try_recv() {
                Ok(c) => group.push(c),
                Err(_) => break,
            }
        }
    };
    take(group);
    while group.len() < GROUP && start.elapsed() < GATHER {
        std::thread::yield_now();
        let before = group.len();
        take(group);
        if group.len() == before {
            return;
        }
    }
}

fn write_group(conn: &mut Connection, group: &[(u64, Vec<Change>)]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut put = tx.prepare_cached("INSERT INTO rows (tbl, key, value) VALUES (?1, ?2, ?3) ON CONFLICT (tbl, key) DO UPDATE SET value = excluded.value")?;
        let mut delete = tx.prepare_cached("DELETE FROM rows WHERE tbl = ?1 AND key = ?2")?;
        for (_, changes) in group {
            for c in changes {
                match c {
                    Change::Put { table, key, value } => {
                        put.execute(params![table, key, value])?;
                    }
                    Change::Delete { table, key } => {
                        delete.execute(params![table, key])?;
                    }
                    Change::Clear => {
                        tx.execute("DELETE FROM rows", [])?;
                    }
                }
            }
        }
    }
    tx.commit()
}
