//! All emulator state behind one [`Store`]: payments with their event logs, landing-page tokens
//! and idempotency records. The domain rules (state machine, amounts) live on [`Payment`].

use crate::core::clock::Clock;
use crate::core::outbox::{Message, Outbound, Outbox};
use crate::core::persist::{Change, DataDir, PersistError, Row};
use parking_lot::Mutex;
use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

mod consents;
mod idempotency;
mod ledger;
mod ledger_rows;
mod meta;
mod payment;
mod retention;
mod sharded;
mod unfinished;
mod views;
pub(crate) use self::meta::{Meta, CLOCK_OFFSET_MS, FAULTS, META_TABLE, PUBLISHING, TOKEN_KEY};
pub(crate) use self::{consents::*, idempotency::*, ledger::*, payment::*};
pub(crate) use crate::core::outbox::{ApiEvent, PublishedEvent};

/// The emulator's one store: every table of every API behind a single lock. Every operation
/// runs as one transaction ([`Store::transact`]), which makes idempotency checks and state
/// changes atomic (two identical concurrent requests have exactly one effect) and leaves no lock
/// order to get wrong.
///
/// What a transaction causes (deliveries, and the payment events it recorded once somebody
/// listens) is queued in the [`Outbox`] when it commits, in commit order, and acted on by the
/// outbox's consumer after the lock is released.
#[derive(Debug)]
pub(crate) struct Store {
    data: Mutex<Tables>,
    outbox: Arc<Outbox>,
    /// How many transactions have run (see [`Store::changes`]).
    changes: AtomicU64,
    /// The data dir, when the state persists: each commit's changed rows go to its journal.
    data_dir: std::sync::OnceLock<Persisted>,
    /// Retention, when on: the clock and how long objects are kept.
    retention: std::sync::OnceLock<(Clock, time::Duration)>,
}

/// An open data dir and the clock whose offset is saved in it.
#[derive(Debug)]
struct Persisted {
    dir: DataDir,
    clock: Clock,
    /// The number of the next message handed on (its row in the data dir).
    next_message: std::sync::atomic::AtomicU64,
}

/// The data behind the store's lock: the ePayment ledger (payments, tokens, consents), the
/// idempotency records of every API, and one table per API that keeps more (Checkout sessions,
/// eCom orders, webhook registrations), which the core knows only as [`Table`]s.
pub(crate) struct Tables {
    /// Payments, landing tokens, consents.
    pub(crate) ledger: Ledger,
    /// Every API's idempotency records.
    pub(crate) idempotency: Idempotency,
    /// What this transaction hands on when it commits.
    outbox: Vec<Message>,
    /// Whether payment events are published (from the first webhook registration on; until
    /// then nobody could receive them, so no bookkeeping is done).
    publishing: bool,
    /// The other APIs' events recorded in this transaction (only while publishing).
    api_events: Vec<ApiEvent>,
    /// The clock's now (Unix seconds) when the transaction began, while retention is on (0
    /// otherwise): what idempotency records are stamped with.
    pub(crate) now: i64,
    ext: Vec<Box<dyn AnyTable>>,
}

impl std::fmt::Debug for Tables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tables")
            .field("payments", &self.ledger.payment_count())
            .field("tables", &self.ext.len())
            .finish_non_exhaustive()
    }
}

/// An API's table in the store.
///
/// With a data dir, a table records which of its rows each transaction changes and hands them
/// on when it commits ([`Table::changes`]); at start it takes its rows back ([`Table::load`]).
pub(crate) trait Table: Default + Send + Sync + 'static {
    /// Forgets everything (`POST /_emulator/reset`), keeping whether changes are recorded.
    fn clear(&mut self);
    /// Starts or stops recording changes (on while a data dir is open).
    fn track(&mut self, _on: bool) {}
    /// Appends the rows changed since the last call.
    fn changes(&mut self, _out: &mut Vec<Change>) {}
    /// Appends every row (a snapshot).
    fn rows(&self, _out: &mut Vec<Change>) {}
    /// Takes back a stored row: `Ok(false)` when the row's table is none of this one's.
    fn load(&mut self, _row: &Row) -> Result<bool, String> {
        Ok(false)
    }
    /// Rebuilds what derives from the rows, once every row is loaded; why they do not fit
    /// together, if they do not.
    fn loaded(&mut self) -> Result<(), String> {
        Ok(())
    }
    /// Forgets at most `limit` objects created before `cutoff`, oldest first (retention);
    /// how many it forgot.
    fn evict_before(&mut self, _cutoff: time::OffsetDateTime, _limit: usize) -> usize {
        0
    }
}

/// A [`Table`] the store can hold without knowing its type.
pub(crate) trait AnyTable: Send + Sync {
    /// An empty table of the same type.
    fn fresh(&self) -> Box<dyn AnyTable>;
    fn clear(&mut self);
    fn track(&mut self, on: bool);
    fn changes(&mut self, out: &mut Vec<Change>);
    fn rows(&self, out: &mut Vec<Change>);
    fn load(&mut self, row: &Row) -> Result<bool, String>;
    fn loaded(&mut self) -> Result<(), String>;
    fn evict_before(&mut self, cutoff: time::OffsetDateTime, limit: usize) -> usize;
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: Table> AnyTable for T {
    fn fresh(&self) -> Box<dyn AnyTable> {
        Box::new(T::default())
    }
    fn clear(&mut self) {
        Table::clear(self);
    }
    fn track(&mut self, on: bool) {
        Table::track(self, on);
    }
    fn changes(&mut self, out: &mut Vec<Change>) {
        Table::changes(self, out);
    }
    fn rows(&self, out: &mut Vec<Change>) {
        Table::rows(self, out);
    }
    fn load(&mut self, row: &Row) -> Result<bool, String> {
        Table::load(self, row)
    }
    fn loaded(&mut self) -> Result<(), String> {
        Table::loaded(self)
    }
    fn evict_before(&mut self, cutoff: time::OffsetDateTime, limit: usize) -> usize {
        Table::evict_before(self, cutoff, limit)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

const UNREGISTERED: &str = "the composition root registers every API's table";

/// The registered table of type `T` (borrowing only the API tables, so the ledger stays free).
fn find_mut<T: Table>(ext: &mut [Box<dyn AnyTable>]) -> &mut T {
    ext.iter_mut()
        .find_map(|t| t.as_any_mut().downcast_mut::<T>())
        .expect(UNREGISTERED)
}

impl Tables {
    /// Empty tables: the ledger, the idempotency records and these API tables.
    fn empty(ext: Vec<Box<dyn AnyTable>>) -> Self {
        Tables {
            ledger: Ledger::default(),
            idempotency: Idempotency::default(),
            outbox: Vec::new(),
            publishing: false,
            api_events: Vec::new(),
            now: 0,
            ext,
        }
    }

    /// The table of type `T`.
    pub(crate) fn get<T: Table>(&self) -> &T {
        self.ext
            .iter()
            .find_map(|t| t.as_any().downcast_ref::<T>())
            .expect(UNREGISTERED)
    }

    /// The table of type `T`, to change.
    pub(crate) fn get_mut<T: Table>(&mut self) -> &mut T {
        find_mut(&mut self.ext)
    }

    /// The ledger and the table of type `T` at once.
    pub(crate) fn ledger_and<T: Table>(&mut self) -> (&mut Ledger, &mut T) {
        (&mut self.ledger, find_mut(&mut self.ext))
    }

    /// Sends `o` once this transaction commits.
    pub(crate) fn deliver(&mut self, o: Outbound) {
        self.outbox.push(Message::Deliver(Box::new(o)));
    }

    /// Publishes payment events from now on (events recorded before are never published).
    pub(crate) fn start_publishing(&mut self) {
        if !self.publishing {
            self.ledger.mark_all_published();
            self.publishing = true;
            self.get_mut::<Meta>().set(PUBLISHING, true.into());
        }
    }

    /// Whether events are published (somebody registered a webhook): an API renders its
    /// events only then.
    pub(crate) fn publishing(&self) -> bool {
        self.publishing
    }

    /// Hands `event` on to webhooks once this transaction commits, if events are published.
    pub(crate) fn publish(&mut self, event: ApiEvent) {
        if self.publishing {
            self.api_events.push(event);
        }
    }

    /// Ends the transaction: records the consents it gave and queues what it hands on.
    /// Answers whether anything was queued.
    fn commit(&mut self, outbox: &Outbox) -> bool {
        let messages = self.finish();
        if messages.is_empty() {
            return false;
        }
        outbox.push(messages);
        true
    }

    /// Records the consents the transaction gave and takes what it hands on.
    fn finish(&mut self) -> Vec<Message> {
        if !self.ledger.touched.is_empty() {
            self.ledger.note_consents();
            if self.publishing {
                let events = self.ledger.take_new_events();
                if !events.is_empty() {
                    self.outbox.push(Message::PaymentEvents(events));
                }
            } else {
                self.ledger.touched.clear();
            }
        }
        if !self.api_events.is_empty() {
            let events = std::mem::take(&mut self.api_events);
            self.outbox.push(Message::ApiEvents(events));
        }
        std::mem::take(&mut self.outbox)
    }
}

impl Tables {
    /// The rows every table changed since the last call.
    fn changes(&mut self) -> Vec<Change> {
        let mut out = Vec::new();
        self.ledger.changed_rows(&mut out);
        self.idempotency.changed_rows(&mut out);
        for table in &mut self.ext {
            table.changes(&mut out);
        }
        out
    }

    /// Every row of every table.
    pub(crate) fn rows(&self) -> Vec<Change> {
        let mut out = Vec::new();
        self.ledger.all_rows(&mut out);
        self.idempotency.all_rows(&mut out);
        for table in &self.ext {
            table.rows(&mut out);
        }
        out
    }

    /// Starts or stops recording changes in every table.
    fn track(&mut self, on: bool) {
        self.ledger.consents_touched.track(on);
        self.ledger.evicted.track(on);
        self.idempotency.touched.track(on);
        self.idempotency.gone.track(on);
        for table in &mut self.ext {
            table.track(on);
        }
    }

    /// Takes stored rows back into the tables; the row that does not fit, and why.
    fn load<'r>(&mut self, rows: &'r [Row]) -> Result<(), (&'r Row, String)> {
        for row in rows {
            self.load_row(row).map_err(|why| (row, why))?;
        }
        self.loaded()
            .map_err(|why| (rows.first().expect("a table finds fault only with rows"), why))
    }

    /// Takes back one stored row into the table that keeps it.
    fn load_row(&mut self, row: &Row) -> Result<(), String> {
        if self.ledger.load_row(row)? || self.idempotency.load_row(row)? {
            return Ok(());
        }
        for table in &mut self.ext {
            if table.load(row)? {
                return Ok(());
            }
        }
        Err("no table of this emulator keeps such rows".into())
    }

    /// Forgets at most `limit` objects of each kind created before `cutoff`; how many.
    fn evict_before(&mut self, cutoff: time::OffsetDateTime, limit: usize) -> usize {
        let mut n = self.ledger.evict_payments_before(cutoff, limit);
        n += self.ledger.evict_consents_before(cutoff);
        n += self.idempotency.evict_before(cutoff.unix_timestamp(), limit);
        for table in &mut self.ext {
            n += table.evict_before(cutoff, limit);
        }
        n
    }

    /// Rebuilds what derives from the rows, once every row is loaded.
    fn loaded(&mut self) -> Result<(), String> {
        for table in &mut self.ext {
            table.loaded()?;
        }
        // Events recorded before the restart are not published again (the loaded payments
        // count them as published); later ones are, if they were before.
        self.publishing = self.get::<Meta>().get(PUBLISHING) == Some(&true.into());
        Ok(())
    }
}

impl Store {
    /// An empty store with these API tables.
    pub(crate) fn new(mut ext: Vec<Box<dyn AnyTable>>) -> Self {
        ext.push(Box::new(Meta::default()));
        ext.push(Box::new(unfinished::Unfinished::default()));
        Store {
            data: Mutex::new(Tables::empty(ext)),
            outbox: Arc::new(Outbox::default()),
            changes: AtomicU64::new(0),
            data_dir: std::sync::OnceLock::new(),
            retention: std::sync::OnceLock::new(),
        }
    }

    /// Forgets what was created more than `keep` ago on `clock` (see [`Store::evict_old`]).
    /// Called again after a data dir's rows are loaded, so loaded records are counted too.
    pub(crate) fn set_retention(&self, clock: Clock, keep: time::Duration) {
        let _ = self.retention.set((clock, keep));
        self.data.lock().idempotency.keep_order(true);
    }

    /// With retention on, forgets what is older than it allows, a chunk per transaction;
    /// whether there may be more.
    pub(crate) fn evict_old(&self) -> bool {
        const LIMIT: usize = 2_000;
        let Some((clock, keep)) = self.retention.get() else {
            return false;
        };
        let cutoff = clock.now() - *keep;
        self.transact_in_background(|t| t.evict_before(cutoff, LIMIT)) >= LIMIT
    }

    /// Keeps the state in `data_dir` from now on, starting from its `rows`; `clock`'s offset
    /// is saved with the commits. Called once, before the first request.
    pub(crate) fn attach(&self, data_dir: DataDir, clock: Clock) -> Result<(), PersistError> {
        let mut t = self.data.lock();
        let db = data_dir.path.join(crate::core::persist::DB_FILE).display().to_string();
        // Row by row as they are read: a million payments are never all in memory twice.
        data_dir.read_rows(|row| t.load_row(&row).map_err(|why| (row, why)))?;
        t.loaded().map_err(|why| PersistError::BadRow {
            path: db.clone(),
            table: "*".into(),
            key: "*".into(),
            why,
        })?;
        t.track(true);
        let unfinished = t.get_mut::<unfinished::Unfinished>();
        let next = unfinished.next();
        let messages = unfinished.take();
        drop(t);
        self.data_dir
            .set(Persisted {
                dir: data_dir,
                clock,
                next_message: std::sync::atomic::AtomicU64::new(next),
            })
            .map_err(|_| PersistError::Io("a data dir is already open".into()))?;
        // What was not done before the stop is acted on again, before anything new.
        let mut queued = Vec::with_capacity(messages.len());
        for (seq, m) in messages {
            let m = m.restore().map_err(|why| PersistError::BadRow {
                path: db.clone(),
                table: unfinished::OUTBOX.into(),
                key: unfinished::message_key(seq),
                why,
            })?;
            queued.push((Some(seq), m));
        }
        self.outbox.push_saved(queued);
        self.outbox.wake();
        Ok(())
    }

    /// A guard that deletes message `seq`'s row when the last delivery holding it is done;
    /// `None` without a data dir.
    pub(crate) fn message_guard(&self, seq: u64) -> Option<crate::core::outbox::DoneGuard> {
        let journal = std::sync::Arc::clone(&self.data_dir.get()?.dir.journal);
        Some(crate::core::outbox::DoneGuard::new(move || {
            journal.submit(vec![Change::Delete {
                table: unfinished::OUTBOX,
                key: unfinished::message_key(seq),
            }]);
        }))
    }

    /// Replaces every table with what `rows` hold (a snapshot), keeping the token key; or,
    /// when a row does not fit, changes nothing and says which.
    pub(crate) fn replace(&self, rows: &[Row]) -> Result<(), (Row, String)> {
        let mut t = self.data.lock();
        let mut fresh = Tables::empty(t.ext.iter().map(|e| e.fresh()).collect());
        fresh.idempotency.keep_order(self.retention.get().is_some());
        fresh.load(rows).map_err(|(row, why)| (row.clone(), why))?;
        if let Some(key) = t.get::<Meta>().get(TOKEN_KEY).cloned() {
            fresh.get_mut::<Meta>().set(TOKEN_KEY, key);
        }
        if let Some(d) = self.data_dir.get() {
            fresh.track(true);
            fresh.changes();
            let mut changes = vec![Change::Clear];
            changes.extend(fresh.rows());
            d.dir.journal.submit(changes);
        }
        *t = fresh;
        drop(t);
        self.outbox.clear();
        self.changes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Every row of every table but the token key (a snapshot).
    pub(crate) fn snapshot_rows(&self) -> Vec<Change> {
        let mut rows = self.read(|t| t.rows());
        rows.retain(|c| !matches!(c, Change::Put { table, key, .. } if Meta::is_token_key(table, key)));
        rows
    }

    /// Whether the state is kept in a data dir.
    pub(crate) fn persists(&self) -> bool {
        self.data_dir.get().is_some()
    }

    /// The sequence number of the last commit handed to the data dir (0 without one).
    pub(crate) fn last_commit(&self) -> u64 {
        self.data_dir.get().map_or(0, |d| d.dir.journal.submitted())
    }

    /// Waits until commit `seq` is on disk (at once without a data dir).
    pub(crate) async fn durable(&self, seq: u64) -> Result<(), PersistError> {
        match self.data_dir.get() {
            Some(d) => d.dir.journal.durable(seq).await,
            None => Ok(()),
        }
    }

    /// Writes what is queued for the data dir and closes it (at shutdown).
    pub(crate) fn close_data_dir(&self) {
        if let Some(d) = self.data_dir.get() {
            d.dir.close();
        }
    }

    /// Runs `f` with exclusive access to every table. `f` must not block or await. What it
    /// caused is queued in the outbox before the lock is released (so in commit order), and
    /// the outbox's consumer is woken after.
    pub(crate) fn transact<R>(&self, f: impl FnOnce(&mut Tables) -> R) -> R {
        self.run(f, false)
    }

    /// [`Store::transact`] for background work that runs many transactions in a row (the
    /// clock's sweeps): the lock goes to a waiting request when it ends (a fair unlock), so the
    /// sweep's next chunk cannot take it straight back and starve the requests.
    pub(crate) fn transact_in_background<R>(&self, f: impl FnOnce(&mut Tables) -> R) -> R {
        self.run(f, true)
    }

    /// One transaction: `f` under the lock, its outbox entries committed, the lock released
    /// (to a waiting thread first when `fair`), then the outbox's consumer woken.
    fn run<R>(&self, f: impl FnOnce(&mut Tables) -> R, fair: bool) -> R {
        let mut tables = self.data.lock();
        if let Some((clock, _)) = self.retention.get() {
            tables.now = clock.now().unix_timestamp();
        }
        let r = f(&mut tables);
        let queued = match self.data_dir.get() {
            None => tables.commit(&self.outbox),
            Some(d) => {
                let offset = i64::try_from(d.clock.offset().as_millis()).unwrap_or(i64::MAX);
                tables.get_mut::<Meta>().set(CLOCK_OFFSET_MS, offset.into());
                // Before `commit`, which hands the touched payments on.
                let mut changes = tables.changes();
                let messages: Vec<_> = tables
                    .finish()
                    .into_iter()
                    .map(|m| {
                        let seq = d.next_message.fetch_add(1, Ordering::Relaxed);
                        let row = unfinished::message_row(seq, &m);
                        let saved = row.is_some().then_some(seq);
                        changes.extend(row);
                        (saved, m)
                    })
                    .collect();
                // Under the lock: the journal's order is the commit order.
                d.dir.journal.submit(changes);
                let queued = !messages.is_empty();
                self.outbox.push_saved(messages);
                queued
            }
        };
        self.changes.fetch_add(1, Ordering::Relaxed);
        if fair {
            parking_lot::MutexGuard::unlock_fair(tables);
        } else {
            drop(tables);
        }
        if queued {
            self.outbox.wake();
        }
        r
    }

    /// Runs `f` on every table without changing anything: no commit, and the change count
    /// stays (a page that polls it must not see its own reads as changes).
    pub(crate) fn read<R>(&self, f: impl FnOnce(&Tables) -> R) -> R {
        f(&self.data.lock())
    }

    /// A number that grows with every transaction (reads through the APIs and the clock's
    /// sweeps included; [`Store::read`] excluded) and after a reset: when it has not moved,
    /// nothing has changed. The dashboard polls it.
    pub(crate) fn changes(&self) -> u64 {
        self.changes.load(Ordering::Relaxed)
    }

    /// [`Store::transact`] on the ePayment ledger alone.
    pub(crate) fn transaction<R>(&self, f: impl FnOnce(&mut Ledger) -> R) -> R {
        self.transact(|t| f(&mut t.ledger))
    }

    /// The queue of what committed transactions hand on.
    pub(crate) fn outbox(&self) -> &Arc<Outbox> {
        &self.outbox
    }

    /// Forgets every payment, session, order, registration and idempotency key.
    pub(crate) fn reset(&self) {
        let mut t = self.data.lock();
        t.ledger.clear();
        t.idempotency.clear();
        t.outbox.clear();
        t.api_events.clear();
        for table in &mut t.ext {
            table.clear();
        }
        if let Some(d) = self.data_dir.get() {
            let mut changes = vec![Change::Clear];
            changes.extend(t.changes());
            d.dir.journal.submit(changes);
        }
        drop(t);
        self.changes.fetch_add(1, Ordering::Relaxed);
        self.outbox.clear();
    }

    /// Number of payments stored.
    pub(crate) fn payment_count(&self) -> usize {
        self.data.lock().ledger.payment_count()
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // The consumer holds the outbox, not the store: tell it there is nothing more to come.
        self.outbox.close();
    }
}

#[cfg(test)]
mod tests;
