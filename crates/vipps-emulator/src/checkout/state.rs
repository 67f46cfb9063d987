//! The Checkout emulation's data: sessions, their settings and what the dynamic shipping callback was asked.

use crate::core::customer::Person;
use crate::core::persist::{Saved, TrackedMap};
use crate::core::state::AppState;
use crate::outbound::RetrySchedule;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::Duration;
use time::OffsetDateTime;
use vipps_types::checkout::{
    BillingDetails, DynamicShippingRequest, Elements, InitiateSessionRequest, LogisticsOption, SessionState,
    ShippingDetails, SubscriptionDetails, SubscriptionState, UserInfo,
};
use vipps_types::Amount;

/// Tunables of the Checkout emulation (tests shorten them).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CheckoutSettings {
    /// How long a session waits for the customer (1 hour).
    pub(crate) session_ttl: Duration,
    /// How long an expired session is still answered with `SessionExpired` (24 hours).
    pub(crate) expired_retention: Duration,
    /// How long the dynamic shipping callback may take (8 seconds).
    pub(crate) dynamic_shipping_timeout: Duration,
    /// Retries of the "payment completed" callback (4 attempts: 1 + 3 retries).
    pub(crate) callback_schedule: RetrySchedule,
}

impl Default for CheckoutSettings {
    fn default() -> Self {
        CheckoutSettings {
            session_ttl: Duration::from_secs(3600),
            expired_retention: Duration::from_secs(24 * 3600),
            dynamic_shipping_timeout: Duration::from_secs(8),
            callback_schedule: RetrySchedule {
                max_attempts: 4,
                ..RetrySchedule::default()
            },
        }
    }
}

/// One call of the dynamic shipping callback, as shown by `GET /_emulator/checkout/{reference}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ShippingLookup {
    /// The callback URL.
    pub(crate) url: String,
    /// The address sent.
    pub(crate) request: DynamicShippingRequest,
    /// `dynamic` when the merchant's options were used, else `fixed`.
    pub(crate) used: Used,
    /// Why the fixed options were used (`timed out`, `HTTP 500`, `empty answer`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) fallback_reason: Option<String>,
}

/// Which shipping options the Checkout page offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Used {
    /// The merchant's answer to the dynamic shipping callback.
    Dynamic,
    /// The session's `fixedOptions`.
    Fixed,
}

/// The Userinfo scope a customer shares through Checkout, without and with the address (a
/// session keeps a `&'static str`; the data dir maps it back, see `persist.rs`).
pub(super) const SHARED_SCOPES: [&str; 2] = ["name email phoneNumber", "name email phoneNumber address"];

/// The agreement of a `SUBSCRIPTION` session, as the session knows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SessionAgreement {
    /// `agr_…`.
    pub(super) id: String,
    /// Its state, as last read (or as the session's end makes it).
    pub(super) state: SubscriptionState,
    /// Whether the keeper was told how the session ended.
    pub(super) told: bool,
}

/// One session (a row of the data dir, see `persist.rs`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Session {
    /// Its creation number (from 1): its row's key, so not in the row.
    #[serde(skip)]
    pub(super) seq: u32,
    pub(super) msn: String,
    pub(super) merchant_name: String,
    pub(super) reference: String,
    pub(super) session_id: String,
    pub(super) token: String,
    pub(super) created_at: OffsetDateTime,
    pub(super) expires_at: OffsetDateTime,
    pub(super) request: InitiateSessionRequest,
    pub(super) state: SessionState,
    pub(super) ended_at: Option<OffsetDateTime>,
    pub(super) payment_created: bool,
    pub(super) shipping: Option<ShippingDetails>,
    pub(super) billing: Option<BillingDetails>,
    pub(super) user_info: Option<UserInfo>,
    /// With `requireUserInfo`: what the customer shares (profile, scope words), recorded for
    /// the Userinfo API once they approve.
    #[serde(with = "super::persist::serde_shared")]
    pub(super) shared: Option<(Person, &'static str)>,
    pub(super) consent: Option<bool>,
    /// The options last offered (address key, options, dynamic or not).
    pub(super) offered: Option<(String, Vec<LogisticsOption>, bool)>,
    pub(super) shipping_lookups: Vec<ShippingLookup>,
    pub(super) callback_sent: bool,
    /// The recurring agreement of a `SUBSCRIPTION` session (see `agreement.rs`).
    pub(super) agreement: Option<SessionAgreement>,
}

impl Session {
    pub(super) fn elements(&self) -> Elements {
        self.request
            .configuration
            .as_ref()
            .and_then(|c| c.elements.clone())
            .unwrap_or(Elements::Full)
    }

    pub(super) fn transaction_amount(&self) -> Amount {
        match (&self.request.transaction, &self.request.subscription) {
            (Some(t), _) => t.amount.clone(),
            (None, Some(sub)) => Amount::new(0, sub.amount.currency.clone()),
            (None, None) => Amount::nok(0),
        }
    }

    /// The agreement as the session shows it (its state as last read, see `agreement.rs`).
    pub(super) fn subscription_details(&self) -> Option<SubscriptionDetails> {
        let a = self.agreement.as_ref()?;
        let mut d = SubscriptionDetails::default();
        d.state = Some(a.state.clone());
        d.agreement_id = Some(a.id.clone());
        Some(d)
    }

    pub(super) fn fixed_options(&self) -> Vec<LogisticsOption> {
        self.request
            .logistics
            .as_ref()
            .and_then(|l| l.fixed_options.clone())
            .unwrap_or_default()
    }

    pub(super) fn dynamic_callback(&self) -> Option<String> {
        if !self.elements().has_address_fields() {
            return None;
        }
        self.request
            .logistics
            .as_ref()
            .and_then(|l| l.dynamic_options_callback.clone())
    }
}

#[derive(Debug, Default)]
pub(crate) struct Sessions {
    /// Changing a session records it (`TrackedMap`), for the data dir.
    pub(super) by_ref: TrackedMap<(String, String), Session>,
    pub(super) tokens: HashMap<String, (String, String)>,
    /// Every session in creation order, with its creation time (a later session may reuse
    /// the key of one that was forgotten): session `n` (from 1) is `order[n - 1]`, the
    /// dashboard's cursor.
    pub(super) order: Vec<((String, String), OffsetDateTime)>,
    /// What the data dir holds (see `persist.rs`).
    pub(super) saved: Saved<(String, String)>,
    pub(super) saved_count: usize,
    /// Retention: the first place in `order` not yet looked at.
    pub(super) evict_cursor: usize,
}

impl Sessions {
    /// Adds a new session.
    pub(super) fn insert(&mut self, key: (String, String), mut session: Session) {
        self.order.push((key.clone(), session.created_at));
        session.seq = self.order.len() as u32;
        self.by_ref.insert(key, session);
    }

    /// The session created `seq`-th (from 1), while it is kept, with its `seq`.
    pub(super) fn by_seq(&self, seq: u64) -> Option<(&Session, u64)> {
        let (key, created) = self.order.get(usize::try_from(seq).ok()?.checked_sub(1)?)?;
        let s = self.by_ref.get(key).filter(|s| s.created_at == *created)?;
        Some((s, seq))
    }
}

/// State of the Checkout emulation, kept in [`AppState`] (lock order: the store first, then this).
#[derive(Debug, Default)]
pub(crate) struct CheckoutState {
    /// Tunables, not data: a leaf lock (nothing is locked while it is held).
    pub(super) settings: Mutex<CheckoutSettings>,
}

impl CheckoutState {
    /// The current settings.
    pub(crate) fn settings(&self) -> CheckoutSettings {
        self.settings.lock().clone()
    }

    /// Changes the settings (affects later sessions and calls).
    pub(crate) fn update_settings(&self, f: impl FnOnce(&mut CheckoutSettings)) {
        f(&mut self.settings.lock());
    }

    /// Sets the dynamic shipping timeout (8 s by default).
    pub(crate) fn set_dynamic_shipping_timeout(&self, d: Duration) {
        self.update_settings(|s| s.dynamic_shipping_timeout = d);
    }
}

/// The Checkout state of an emulator.
pub(crate) trait CheckoutExt {
    /// The Checkout sessions and settings.
    fn checkout(&self) -> &CheckoutState;
}

impl CheckoutExt for AppState {
    fn checkout(&self) -> &CheckoutState {
        self.part::<CheckoutState>()
            .expect("the composition root registers the Checkout state")
    }
}
