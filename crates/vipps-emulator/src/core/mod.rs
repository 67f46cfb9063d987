//! The emulator's domain, without HTTP: the clock, the configuration, the merchants' data
//! (payments, consents, idempotency records) and the state every handler shares.

pub mod clock;
pub mod config;
pub mod customer;
pub mod error;
pub mod faults;
pub mod jwt;
pub mod state;
pub mod store;
