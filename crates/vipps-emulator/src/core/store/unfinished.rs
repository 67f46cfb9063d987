//! What committed transactions handed on and is not done yet (deliveries still going, events
//! not yet fanned out), as rows of the data dir: written with the transaction, deleted when
//! everything the message caused is finished, and acted on again after a restart.

use super::Table;
use crate::core::outbox::{Message, SavedMessage};
use crate::core::persist::{put, value, Change, Row};
use std::collections::BTreeMap;

/// The rows' table.
pub(crate) const OUTBOX: &str = "outbox";

/// The row key of message `seq`: zero-padded, so `sqlite3` lists them in order.
pub(crate) fn message_key(seq: u64) -> String {
    format!("{seq:020}")
}

/// The row of message `seq`, if it can be saved.
pub(crate) fn message_row(seq: u64, m: &Message) -> Option<Change> {
    m.saved().map(|saved| put(OUTBOX, message_key(seq), &saved))
}

/// Messages read back from the data dir, by number, until they are queued again.
#[derive(Debug, Default)]
pub(crate) struct Unfinished {
    messages: BTreeMap<u64, SavedMessage>,
}

impl Unfinished {
    /// Takes the messages, oldest first.
    pub(crate) fn take(&mut self) -> Vec<(u64, SavedMessage)> {
        std::mem::take(&mut self.messages).into_iter().collect()
    }

    /// The number after the last message read back.
    pub(crate) fn next(&self) -> u64 {
        self.messages.keys().next_back().map_or(1, |k| k + 1)
    }
}

impl Table for Unfinished {
    fn clear(&mut self) {
        self.messages.clear();
    }
    // Never in a snapshot, never a change of a transaction: its rows are written as messages
    // are committed and deleted as they are done.
    fn load(&mut self, row: &Row) -> Result<bool, String> {
        if row.table != OUTBOX {
            return Ok(false);
        }
        let seq = row
            .key
            .parse::<u64>()
            .map_err(|_| format!("{OUTBOX}: {:?} is not a message number", row.key))?;
        self.messages.insert(seq, value(row)?);
        Ok(true)
    }
}
