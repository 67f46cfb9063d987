//! The emulator's domain, without HTTP: the clock, the configuration, the merchants' data
//! (payments, consents, idempotency records) and the state every handler shares.

pub(crate) mod clock;
pub(crate) mod config;
pub(crate) mod customer;
pub(crate) mod error;
pub(crate) mod faults;
pub(crate) mod jwt;
pub(crate) mod objects;
pub(crate) mod outbox;
pub(crate) mod persist;
pub(crate) mod redact;
pub(crate) mod snapshot;
pub(crate) mod state;
pub(crate) mod store;
