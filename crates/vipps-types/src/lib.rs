//! Serde wire types for the Vipps MobilePay APIs.
//!
//! This crate is the single source of truth for what goes over the wire. The SDK
//! (`vipps`) serializes requests and parses responses with these types, and the emulator
//! (`vipps-emulator`) parses requests and renders responses with the very same types.
//!
//! Conventions:
//! - Field names are camelCase on the wire; unknown fields are ignored when parsing.
//! - Every enum has an `Unknown(String)` variant so a value introduced by the server later
//!   never breaks a client. Validation ([`validate`]) rejects `Unknown` values in requests,
//!   exactly as the real API would.
//! - Money is always minor units (`i64`, øre/cents), never floats.
//! - References are validated newtypes ([`common::Reference`]).
//! - Response structs (what a server, or Vipps MobilePay calling the merchant, sends) are
//!   `#[non_exhaustive]`, so a field added by the API is not a breaking change. Outside this
//!   crate, build one with its constructor (`T::new(required fields)`, or `T::default()` when
//!   every field is optional) and set the optional fields by assignment. Request structs, and
//!   the merchant's answers to Vipps MobilePay's calls, keep their public fields and struct
//!   literals.

#[macro_use]
mod macros;

pub mod access_token;
pub mod checkout;
pub mod common;
pub mod ecom;
pub mod epayment;
pub mod order_management;
pub mod problem;
pub mod recurring;
pub mod userinfo;
pub mod validate;
pub mod webhooks;

pub use common::{Amount, Currency, Reference};
pub use problem::{ExtraDetail, Problem};
pub use validate::{Validate, ValidationError};
