//! The shared application state handed to every handler.

use crate::clock::Clock;
use crate::config::{EmulatorConfig, Merchant};
use crate::jwt::{Claims, TokenSigner};
use crate::store::Store;
use parking_lot::RwLock;
use std::fmt;
use std::sync::Arc;
use vipps_types::access_token::AccessTokenResponse;

/// Configuration, clock, token key and store. Cheap to clone (an `Arc` inside).
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: EmulatorConfig,
    clock: Clock,
    signer: TokenSigner,
    store: Store,
    public_url: RwLock<String>,
    deliveries: Arc<crate::deliveries::Deliveries>,
    webhooks: crate::webhooks::WebhooksState,
    checkout: crate::checkout::CheckoutState,
    ecom: crate::ecom::EcomState,
    faults: crate::faults::Faults,
    merchant_http: reqwest::Client,
    /// The background task of [`AppState::ensure_sweeper`], once started.
    sweeper: parking_lot::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.inner.config)
            .field("clock", &self.inner.clock)
            .field("public_url", &*self.inner.public_url.read())
            .finish_non_exhaustive()
    }
}

/// The public URL used when none is configured and the server has not started.
pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1";

/// A weak handle to the state, for background tasks that must not keep an emulator alive.
#[derive(Clone)]
pub struct WeakAppState(std::sync::Weak<Inner>);

impl WeakAppState {
    /// The state, while the emulator still exists.
    pub fn upgrade(&self) -> Option<AppState> {
        self.0.upgrade().map(|inner| AppState { inner })
    }
}

impl AppState {
    /// A weak handle (see [`WeakAppState`]).
    pub fn downgrade(&self) -> WeakAppState {
        WeakAppState(Arc::downgrade(&self.inner))
    }

    /// State for a configuration, with a real-time clock. An empty merchant list gets the default
    /// test merchant.
    pub fn new(config: EmulatorConfig) -> Self {
        Self::with_clock(config, Clock::new())
    }

    /// State with a given (possibly shared) clock.
    pub fn with_clock(mut config: EmulatorConfig, clock: Clock) -> Self {
        if config.merchants.is_empty() {
            config.merchants.push(Merchant::default_test());
        }
        if config.token_ttl_secs <= 0 {
            config.token_ttl_secs = 3600;
        }
        if config.payment_expiry_secs <= 0 {
            config.payment_expiry_secs = 600;
        }
        let config_faults = config.faults.clone().unwrap_or_default();
        let webhooks = crate::webhooks::WebhooksState::default();
        if let Some(schedule) = config.webhook_retry.clone() {
            webhooks.set_retry_schedule(schedule);
        }
        let public_url = config
            .public_url
            .as_deref()
            .map(|u| u.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| DEFAULT_PUBLIC_URL.to_owned());
        AppState {
            inner: Arc::new(Inner {
                config,
                clock,
                signer: TokenSigner::random(),
                store: Store::new(),
                public_url: RwLock::new(public_url),
                deliveries: Arc::new(crate::deliveries::Deliveries::new()),
                webhooks,
                checkout: Default::default(),
                ecom: Default::default(),
                faults: crate::faults::Faults::new(config_faults),
                merchant_http: reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .unwrap_or_default(),
                sweeper: parking_lot::Mutex::new(None),
            }),
        }
    }

    /// Starts the background task that ends what timed out every second
    /// ([`AppState::settle_due`]), so the timeout's webhook or callback goes out without
    /// anybody reading the payment: once per emulator, and again if the runtime it ran on has
    /// shut down while the emulator lives on. Outside a tokio runtime it does nothing (reads
    /// still apply every timeout). The task ends with the emulator.
    pub fn ensure_sweeper(&self) {
        let mut task = self.inner.sweeper.lock();
        if task.as_ref().is_some_and(|t| !t.is_finished()) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let weak = self.downgrade();
        *task = Some(runtime.spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                let Some(st) = weak.upgrade() else { break };
                st.settle_due();
            }
        }));
    }

    /// Ends everything whose time ran out by the emulator's clock: ePayment payments nobody
    /// acted on (EXPIRED, with the event and its webhooks), eCom orders (the `REJECTED`
    /// callback) and Checkout sessions (the callback). Reads apply the same timeouts on their
    /// own; this is for those who wait for the notification instead of polling.
    pub fn settle_due(&self) {
        const CHUNK: usize = 2_000;
        let now = self.clock().now();
        // In chunks: requests get the store between two of them.
        while self.store().transaction(|ledger| ledger.expire_due(now, CHUNK)) == CHUNK {}
        crate::ecom::sweep(self);
        crate::checkout::sweep(self);
    }

    /// The configuration.
    /// The outbound delivery engine (webhooks, callbacks).
    pub fn deliveries(&self) -> &Arc<crate::deliveries::Deliveries> {
        &self.inner.deliveries
    }

    /// Fault injection and rate limits.
    pub fn faults(&self) -> &crate::faults::Faults {
        &self.inner.faults
    }

    /// Webhooks API state (lock order: the store first, then this).
    pub fn webhooks(&self) -> &crate::webhooks::WebhooksState {
        &self.inner.webhooks
    }

    /// Checkout API state (lock order: the store first, then this).
    pub fn checkout(&self) -> &crate::checkout::CheckoutState {
        &self.inner.checkout
    }

    /// The client for calls the customer waits on (dynamic shipping): no redirects followed.
    pub(crate) fn merchant_http(&self) -> &reqwest::Client {
        &self.inner.merchant_http
    }

    /// eCom API state (lock order: this first, then the store; see [`crate::ecom::EcomState`]).
    pub fn ecom(&self) -> &crate::ecom::EcomState {
        &self.inner.ecom
    }

    pub fn config(&self) -> &EmulatorConfig {
        &self.inner.config
    }

    /// The clock.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The configured merchants (never empty).
    pub fn merchants(&self) -> &[Merchant] {
        &self.inner.config.merchants
    }

    /// The first merchant.
    pub fn default_merchant(&self) -> &Merchant {
        // `with_clock` guarantees at least one merchant.
        &self.inner.config.merchants[0]
    }

    /// A merchant by MSN.
    pub fn merchant_by_msn(&self, msn: &str) -> Option<&Merchant> {
        self.merchants().iter().find(|m| m.msn == msn)
    }

    /// A merchant by client id.
    pub fn merchant_by_client_id(&self, client_id: &str) -> Option<&Merchant> {
        self.merchants().iter().find(|m| m.client_id == client_id)
    }

    /// The base URL used in `redirectUrl`, without trailing slash.
    pub fn public_url(&self) -> String {
        self.inner.public_url.read().clone()
    }

    /// Sets the base URL used in `redirectUrl` (done by the server when none is configured).
    pub fn set_public_url(&self, url: impl Into<String>) {
        let url = url.into();
        *self.inner.public_url.write() = url.trim_end_matches('/').to_owned();
    }

    pub(crate) fn signer(&self) -> &TokenSigner {
        &self.inner.signer
    }

    /// Issues an access token for a merchant, valid for `token_ttl_secs` from the clock's now.
    pub fn issue_token(&self, merchant: &Merchant) -> AccessTokenResponse {
        self.issue_token_for(merchant, self.config().token_ttl_secs)
    }

    /// An access token for `merchant` that lives `ttl` seconds.
    pub fn issue_token_for(&self, merchant: &Merchant, ttl: i64) -> AccessTokenResponse {
        let now = self.clock().now().unix_timestamp();
        let exp = now.saturating_add(ttl);
        let claims = Claims {
            sub: merchant.client_id.clone(),
            msn: merchant.msn.clone(),
            iat: now,
            nbf: now,
            exp,
            jti: uuid::Uuid::new_v4().to_string(),
            iss: "vipps-emulator".to_owned(),
        };
        AccessTokenResponse {
            token_type: "Bearer".to_owned(),
            expires_in: Some(ttl),
            ext_expires_in: Some(0),
            expires_on: Some(exp),
            not_before: Some(now),
            resource: Some("00000002-0000-0000-c000-000000000000".to_owned()),
            access_token: self.signer().sign(&claims),
        }
    }
}
