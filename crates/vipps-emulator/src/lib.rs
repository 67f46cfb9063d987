//! A stateful local emulator of the Vipps MobilePay Access Token API and ePayment API v1,
//! for tests and development.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let emu = vipps_emulator::Emulator::start().await?; // 127.0.0.1, free port
//! println!("{} (MSN {})", emu.base_url(), emu.merchant().msn);
//! emu.advance(std::time::Duration::from_secs(11 * 60)); // expire waiting payments, now
//! emu.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Routes:
//! - `POST /accesstoken/get` (also `/accessToken/get`), `POST /miami/v1/token` (client
//!   credentials, 15-minute tokens)
//! - `GET /vipps-userinfo-api/userinfo/{sub}` (the profile a customer shared; no subscription key)
//! - `POST /epayment/v1/payments`, `GET /epayment/v1/payments/{reference}`,
//!   `GET …/{reference}/events`, `POST …/{reference}/cancel|capture|refund`,
//!   `POST /epayment/v1/test/payments/{reference}/approve` (alias `…/payments/{reference}/approve`)
//! - `GET /landing?token=…`, `POST /landing/approve|reject`, `GET /qr?token=…`
//! - control plane (no Vipps auth; a token off loopback, see [`EmulatorBuilder::control_token`]):
//!   `POST /_emulator/reset`, `GET /_emulator/clock`, `POST /_emulator/clock/advance`,
//!   `POST /_emulator/payments/{reference}/approve|reject`, `GET /_emulator/health`,
//!   `GET /_emulator/deliveries`, `POST /_emulator/deliveries/{id}/resend`, `GET|POST /_emulator/login`
//! - the dashboard: `GET /_emulator/` and its JSON, `GET /_emulator/objects`,
//!   `GET /_emulator/objects/{kind}/{id}`, `GET /_emulator/changes` (see the README)

mod app;
mod auth;
mod checkout;
mod control;
mod core;
mod dashboard;
mod ecom;
mod epayment;
mod order_management;
mod outbound;
mod pages;
mod recurring;
mod server;
mod web;
mod webhooks;

pub use crate::core::clock::Clock;
pub use crate::core::config::{
    Approvals, ConfigError, ControlToken, EmulatorConfig, FaultConfig, FaultKind, FaultRule, Merchant, RetrySchedule,
};
pub use crate::core::persist::PersistError;
pub use crate::core::state::AppState;
pub use crate::server::{Emulator, EmulatorBuilder, RunningEmulator};

pub use crate::app::router;
