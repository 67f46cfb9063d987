//! Shared by the SDK's emulator tests: a client for a running emulator's default merchant.
#![allow(dead_code)]

use std::time::Duration;
use vipps::{Client, ClientBuilder, RetryPolicy};
use vipps_emulator::RunningEmulator;

/// A builder with the emulator's default merchant and base URL.
pub fn builder_for(emu: &RunningEmulator) -> ClientBuilder {
    let m = emu.merchant();
    Client::builder()
        .client_id(m.client_id.clone())
        .client_secret(m.client_secret.clone())
        .subscription_key(m.subscription_key.clone())
        .merchant_serial_number(m.msn.clone())
        .base_url(emu.base_url())
}

/// The client most tests use: default merchant, fast retries.
pub fn client_for(emu: &RunningEmulator) -> Client {
    builder_for(emu)
        .system("sdk-tests", "1")
        .retry_policy(RetryPolicy {
            initial_backoff: Duration::from_millis(5),
            ..RetryPolicy::default()
        })
        .build()
        .unwrap()
}
