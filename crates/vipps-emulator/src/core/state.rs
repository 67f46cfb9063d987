//! The shared application state handed to every handler.

use crate::core::clock::Clock;
use crate::core::config::{EmulatorConfig, Merchant};
use crate::core::error::{ApiError, Stored};
use crate::core::jwt::{Claims, TokenKind, TokenSigner};
use crate::core::objects::{ObjectDetail, ObjectKind, ObjectPage, ObjectQuery, OrderView};
use crate::core::store::{AnyTable, ApiEvent, PublishedEvent, Store, Table, Tables};
use parking_lot::RwLock;
use std::any::Any;
use std::fmt;
use std::sync::Arc;
use time::OffsetDateTime;
use vipps_types::access_token::AccessTokenResponse;
use vipps_types::epayment::{GetPaymentResponse, PaymentEvent};
use vipps_types::order_management::{PaymentType, Receipt};
use vipps_types::recurring::{AgreementStatus, DraftAgreement};
use vipps_types::{Amount, Currency};

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
    /// The address the server listens on, once it does (the control plane's own hosts).
    listen_addr: RwLock<Option<std::net::SocketAddr>>,
    faults: crate::core::faults::Faults,
    /// What the APIs and the delivery engine keep besides the store, in the order they were
    /// registered (which is the order [`AppState::settle_due`] and [`AppState::reset`] use).
    parts: Vec<Registered>,
    /// The background task of [`AppState::ensure_background`], once started.
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

/// One of the emulator's parts (an API, the delivery engine), registered once when the state
/// is built, with the table it keeps in the store if any. Handlers reach a part through
/// [`AppState::part`] and its table through [`Tables::get`]; the core reaches parts only through
/// these methods, so it never names an API.
pub(crate) trait Part: Any + Send + Sync {
    /// Starts the part's background work, if it has any (called once a Tokio runtime runs the
    /// emulator, and again if that runtime has gone).
    fn start(&self, _state: &AppState) {}
    /// Ends what timed out by the clock's now (called every second and after a clock advance).
    fn settle_due(&self, _state: &AppState) {}
    /// Forgets what the part keeps outside the store (`POST /_emulator/reset`).
    fn reset(&self) {}
    /// `error` in this part's own error format, when `path` is one of this API's (what the
    /// shared layers refuse, such as an injected fault, answers as the API would).
    fn render_error(&self, _path: &str, _error: &ApiError) -> Option<Stored> {
        None
    }
    /// Acts on payment events after the transaction that recorded them (outside the store's lock,
    /// in commit order).
    fn on_payment_events(&self, _state: &AppState, _events: &[PublishedEvent]) {}
    /// Acts on the other APIs' events after the transaction that recorded them (outside the
    /// store's lock, in commit order).
    fn on_api_events(&self, _state: &AppState, _events: &[ApiEvent]) {}
    /// What this part calls a holder of `reference` for `msn` ("a Checkout session"), if it
    /// holds one.
    fn holds_reference(&self, _tables: &Tables, _msn: &str, _reference: &str) -> Option<&'static str> {
        None
    }
    /// The currency of order `id` of `msn`, if this part keeps such an order for Order
    /// Management to add to (`ECOM`: an eCom order, a Checkout session without its payment
    /// yet; `RECURRING`: a charge). ePayment payments are the ledger's, asked first.
    fn order_currency(&self, _tables: &Tables, _msn: &str, _kind: &PaymentType, _id: &str) -> Option<Currency> {
        None
    }
    /// The receipt order `id` of `msn` carries from the API that made it, if this part keeps
    /// the order and it has one (a Checkout session's `orderSummary`). ePayment payments are
    /// the ledger's, asked first.
    fn carried_receipt(&self, _tables: &Tables, _msn: &str, _kind: &PaymentType, _id: &str) -> Option<Receipt> {
        None
    }
    /// What Order Management keeps for order `id` of `msn` (receipt, latest category), for
    /// the landing page and the dashboard, `carried` being the receipt the order came with
    /// ([`AppState::carried_receipt`]); `None` from every other part.
    fn order_view(
        &self,
        _tables: &Tables,
        _msn: &str,
        _kind: &PaymentType,
        _id: &str,
        _carried: Option<Receipt>,
    ) -> Option<OrderView> {
        None
    }
    /// ePayment's view of a payment that this part keeps for another API (eCom orders, which
    /// the migration guide lets ePayment read), if `reference` is one of `msn`'s.
    fn payment(
        &self,
        _tables: &mut Tables,
        _now: OffsetDateTime,
        _msn: &str,
        _reference: &str,
    ) -> Option<GetPaymentResponse> {
        None
    }
    /// The event log of such a payment, oldest first.
    fn payment_events(
        &self,
        _tables: &mut Tables,
        _now: OffsetDateTime,
        _msn: &str,
        _reference: &str,
    ) -> Option<Vec<PaymentEvent>> {
        None
    }
    /// A capture, refund or cancel of such a payment through ePayment; `None` when `reference`
    /// is none of this part's.
    fn modify_payment(
        &self,
        _tables: &mut Tables,
        _now: OffsetDateTime,
        _call: ForeignCall<'_>,
        _modification: Modification<'_>,
    ) -> Option<Result<Stored, ApiError>> {
        None
    }
    /// Drafts an agreement that another API's flow carries (a Checkout `SUBSCRIPTION`
    /// session's): it waits for that flow (no expiry of its own, and only the flow accepts or
    /// rejects it, see [`Part::conclude_agreement`]). Answers its id, or why it is refused;
    /// `None` when this part keeps no agreements.
    fn draft_agreement(
        &self,
        _tables: &mut Tables,
        _now: OffsetDateTime,
        _msn: &str,
        _draft: &DraftAgreement,
    ) -> Option<Result<String, String>> {
        None
    }
    /// The status of agreement `id` of `msn`, if this part keeps it.
    fn agreement_status(&self, _tables: &mut Tables, _msn: &str, _id: &str) -> Option<AgreementStatus> {
        None
    }
    /// The flow that carries agreement `id` of `msn` ended (see [`Part::draft_agreement`]): a
    /// `PENDING` agreement becomes what `outcome` says. Answers its status afterwards, if this
    /// part keeps it.
    fn conclude_agreement(
        &self,
        _tables: &mut Tables,
        _now: OffsetDateTime,
        _msn: &str,
        _id: &str,
        _outcome: AgreementOutcome<'_>,
    ) -> Option<AgreementStatus> {
        None
    }
    /// A page of this part's objects of `query.kind`, newest first (the dashboard's lists);
    /// `None` when it keeps no objects of that kind.
    fn objects(&self, _tables: &Tables, _query: &ObjectQuery) -> Option<ObjectPage> {
        None
    }
    /// Object `id` of `kind` and `msn` in full, as of `now`, if this part keeps it.
    fn object(
        &self,
        _tables: &Tables,
        _kind: ObjectKind,
        _msn: &str,
        _id: &str,
        _now: OffsetDateTime,
    ) -> Option<ObjectDetail> {
        None
    }
}

/// How the flow that carries an agreement ended (see [`Part::conclude_agreement`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AgreementOutcome<'a> {
    /// The customer accepted (with this phone number, if the flow knows it): `ACTIVE`.
    Accepted(Option<&'a str>),
    /// The customer rejected, or the initial payment failed: `STOPPED`.
    Rejected,
    /// Nobody answered in time: `EXPIRED`.
    Expired,
}

/// A capture, refund or cancel asked for through ePayment.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Modification<'a> {
    /// `POST …/capture`.
    Capture(&'a Amount),
    /// `POST …/refund`.
    Refund(&'a Amount),
    /// `POST …/cancel` (`cancelTransactionOnly`).
    Cancel {
        /// Cancel only the open transaction, not the payment.
        transaction_only: bool,
    },
}

/// Whose payment an ePayment modification is about, and with which `Idempotency-Key`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ForeignCall<'a> {
    /// The merchant.
    pub(crate) msn: &'a str,
    /// The payment's reference.
    pub(crate) reference: &'a str,
    /// The request's `Idempotency-Key`.
    pub(crate) key: Option<&'a str>,
}

/// A registered [`Part`], kept twice: as itself (for the core's calls) and as `Any` (for
/// [`AppState::part`]), with its table until the store takes it.
pub(crate) struct Registered {
    part: Arc<dyn Part>,
    any: Arc<dyn Any + Send + Sync>,
    table: Option<Box<dyn AnyTable>>,
}

impl Registered {
    /// Registers `part`.
    pub(crate) fn new<T: Part>(part: T) -> Self {
        let part = Arc::new(part);
        Registered {
            part: part.clone(),
            any: part,
            table: None,
        }
    }

    /// With the table the part keeps in the store.
    pub(crate) fn with_table<T: Table>(mut self, table: T) -> Self {
        self.table = Some(Box::new(table));
        self
    }
}

/// The public URL used when none is configured and the server has not started.
pub(crate) const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1";

/// A weak handle to the state, for background tasks that must not keep an emulator alive.
#[derive(Clone)]
pub(crate) struct WeakAppState(std::sync::Weak<Inner>);

impl WeakAppState {
    /// The state, while the emulator still exists.
    pub(crate) fn upgrade(&self) -> Option<AppState> {
        self.0.upgrade().map(|inner| AppState { inner })
    }
}

impl AppState {
    /// A weak handle (see [`WeakAppState`]).
    pub(crate) fn downgrade(&self) -> WeakAppState {
        WeakAppState(Arc::downgrade(&self.inner))
    }

    /// State for a configuration and a clock, with the given parts (see [`Part`]). The
    /// composition root (`crate::app`) decides which parts there are. An empty merchant list
    /// gets the default test merchant.
    pub(crate) fn assemble(
        mut config: EmulatorConfig,
        clock: Clock,
        signer: TokenSigner,
        mut parts: Vec<Registered>,
    ) -> Self {
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
        let public_url = config
            .public_url
            .as_deref()
            .map(|u| u.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| DEFAULT_PUBLIC_URL.to_owned());
        AppState {
            inner: Arc::new(Inner {
                config,
                clock,
                signer,
                store: Store::new(parts.iter_mut().filter_map(|p| p.table.take()).collect()),
                public_url: RwLock::new(public_url),
                listen_addr: RwLock::new(None),
                faults: crate::core::faults::Faults::new(config_faults),
                parts,
                sweeper: parking_lot::Mutex::new(None),
            }),
        }
    }

    /// The registered part of type `T`, if the composition root registered one.
    pub(crate) fn part<T: Part>(&self) -> Option<&T> {
        self.inner.parts.iter().find_map(|p| p.any.downcast_ref::<T>())
    }

    /// What holds `reference` for `msn` besides an ePayment payment ("a Checkout session",
    /// "an eCom order"), if anything does.
    pub(crate) fn reference_holder(&self, tables: &Tables, msn: &str, reference: &str) -> Option<&'static str> {
        self.inner
            .parts
            .iter()
            .find_map(|p| p.part.holds_reference(tables, msn, reference))
    }

    /// The currency of order `id` of `msn` of `kind`, if it exists in any state: an ePayment
    /// payment of the ledger, else whatever part keeps it (see [`Part::order_currency`]).
    pub(crate) fn order_currency(&self, tables: &Tables, msn: &str, kind: &PaymentType, id: &str) -> Option<Currency> {
        if *kind == PaymentType::Ecom {
            if let Some(p) = tables.ledger.peek(msn, id) {
                return Some(p.amount.currency.clone());
            }
        }
        self.inner
            .parts
            .iter()
            .find_map(|p| p.part.order_currency(tables, msn, kind, id))
    }

    /// `error` as the API that owns `path` writes its errors (a problem by default).
    pub(crate) fn render_error(&self, path: &str, error: &ApiError) -> Stored {
        self.inner
            .parts
            .iter()
            .find_map(|p| p.part.render_error(path, error))
            .unwrap_or_else(|| error.render(path))
    }

    /// The receipt order `id` of `msn` came with: an ePayment create's `receipt`, else what a
    /// part keeps (see [`Part::carried_receipt`]).
    pub(crate) fn carried_receipt(&self, tables: &Tables, msn: &str, kind: &PaymentType, id: &str) -> Option<Receipt> {
        if *kind == PaymentType::Ecom {
            if let Some(r) = tables.ledger.peek(msn, id).and_then(|p| p.receipt()) {
                return Some(r.clone());
            }
        }
        self.inner
            .parts
            .iter()
            .find_map(|p| p.part.carried_receipt(tables, msn, kind, id))
    }

    /// What Order Management keeps for order `id` of `msn` (see [`Part::order_view`]).
    pub(crate) fn order_view(&self, tables: &Tables, msn: &str, kind: &PaymentType, id: &str) -> Option<OrderView> {
        let carried = self.carried_receipt(tables, msn, kind, id);
        self.inner
            .parts
            .iter()
            .find_map(|p| p.part.order_view(tables, msn, kind, id, carried.clone()))
    }

    /// Hands payment events to every part (the outbox's consumer calls this).
    pub(crate) fn publish(&self, events: &[PublishedEvent]) {
        for p in &self.inner.parts {
            p.part.on_payment_events(self, events);
        }
    }

    /// Hands the other APIs' events to every part (the outbox's consumer calls this).
    pub(crate) fn publish_api(&self, events: &[ApiEvent]) {
        for p in &self.inner.parts {
            p.part.on_api_events(self, events);
        }
    }

    /// How many ePayment payments the emulator keeps.
    pub fn payment_count(&self) -> usize {
        self.store().payment_count()
    }

    /// ePayment's view of a payment another API keeps (see [`Part::payment`]).
    pub(crate) fn foreign_payment(
        &self,
        tables: &mut Tables,
        msn: &str,
        reference: &str,
    ) -> Option<GetPaymentResponse> {
        let now = self.clock().now();
        self.inner
            .parts
            .iter()
            .find_map(|p| p.part.payment(tables, now, msn, reference))
    }

    /// The event log of a payment another API keeps (see [`Part::payment_events`]).
    pub(crate) fn foreign_payment_events(
        &self,
        tables: &mut Tables,
        msn: &str,
        reference: &str,
    ) -> Option<Vec<PaymentEvent>> {
        let now = self.clock().now();
        self.inner
            .parts
            .iter()
            .find_map(|p| p.part.payment_events(tables, now, msn, reference))
    }

    /// Modifies a payment another API keeps (see [`Part::modify_payment`]).
    pub(crate) fn modify_foreign_payment(
        &self,
        tables: &mut Tables,
        now: OffsetDateTime,
        call: ForeignCall<'_>,
        modification: Modification<'_>,
    ) -> Option<Result<Stored, ApiError>> {
        self.inner
            .parts
            .iter()
            .find_map(|p| p.part.modify_payment(tables, now, call, modification))
    }

    /// Drafts an agreement another API carries (see [`Part::draft_agreement`]).
    pub(crate) fn draft_foreign_agreement(
        &self,
        tables: &mut Tables,
        now: OffsetDateTime,
        msn: &str,
        draft: &DraftAgreement,
    ) -> Option<Result<String, String>> {
        self.inner
            .parts
            .iter()
            .find_map(|p| p.part.draft_agreement(tables, now, msn, draft))
    }

    /// The status of an agreement another part keeps (see [`Part::agreement_status`]).
    pub(crate) fn foreign_agreement_status(&self, tables: &mut Tables, msn: &str, id: &str) -> Option<AgreementStatus> {
        self.inner
            .parts
            .iter()
            .find_map(|p| p.part.agreement_status(tables, msn, id))
    }

    /// Ends the wait of a carried agreement (see [`Part::conclude_agreement`]).
    pub(crate) fn conclude_foreign_agreement(
        &self,
        tables: &mut Tables,
        now: OffsetDateTime,
        msn: &str,
        id: &str,
        outcome: AgreementOutcome<'_>,
    ) -> Option<AgreementStatus> {
        self.inner
            .parts
            .iter()
            .find_map(|p| p.part.conclude_agreement(tables, now, msn, id, outcome))
    }

    /// A page of objects of `query.kind`, newest first: ePayment payments from the ledger,
    /// the rest from the part that keeps them. Read without a transaction (see [`Store::read`]).
    pub(crate) fn objects(&self, query: &ObjectQuery) -> ObjectPage {
        self.store().read(|t| {
            if query.kind == ObjectKind::Payment {
                return t.ledger.objects(query);
            }
            self.inner
                .parts
                .iter()
                .find_map(|p| p.part.objects(t, query))
                .unwrap_or_default()
        })
    }

    /// Object `id` of `kind` in full: of merchant `msn`, or of the first configured merchant
    /// that has one.
    pub(crate) fn object(&self, kind: ObjectKind, msn: Option<&str>, id: &str) -> Option<ObjectDetail> {
        let msns: Vec<&str> = match msn {
            Some(m) => vec![m],
            None => self.merchants().iter().map(|m| m.msn.as_str()).collect(),
        };
        let now = self.clock().now();
        self.store().read(|t| {
            msns.iter().find_map(|msn| {
                let mut d = if kind == ObjectKind::Payment {
                    t.ledger.object(msn, id)
                } else {
                    self.inner
                        .parts
                        .iter()
                        .find_map(|p| p.part.object(t, kind, msn, id, now))
                }?;
                let order_kind = match kind {
                    ObjectKind::Payment | ObjectKind::Checkout | ObjectKind::Ecom => Some(PaymentType::Ecom),
                    ObjectKind::Charge => Some(PaymentType::Recurring),
                    ObjectKind::Agreement | ObjectKind::Webhook => None,
                };
                d.order = order_kind.and_then(|k| self.order_view(t, msn, &k, id));
                Some(d)
            })
        })
    }

    /// Forgets every payment, session, order, webhook, delivery and idempotency key. Access
    /// tokens stay valid.
    pub(crate) fn reset(&self) {
        self.store().reset();
        self.reset_parts();
    }

    /// Makes every part forget what it keeps outside the store (the delivery log and queues).
    pub(crate) fn reset_parts(&self) {
        for p in &self.inner.parts {
            p.part.reset();
        }
    }

    /// Starts the background work: each part's (the outbox's consumer, see [`Part::start`]) and
    /// the task that ends what timed out every second ([`AppState::settle_due`]), so the
    /// timeout's webhook or callback goes out without anybody reading the payment. Once per
    /// emulator, and again if the runtime it ran on has shut down while the emulator lives on.
    /// Outside a tokio runtime it does nothing (reads still apply every timeout). The tasks end
    /// with the emulator.
    pub(crate) fn ensure_background(&self) {
        for p in &self.inner.parts {
            p.part.start(self);
        }
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
                st.settle_due_off_thread().await;
            }
        }));
    }

    /// Ends everything whose time ran out by the emulator's clock: ePayment payments nobody
    /// acted on (EXPIRED, with the event and its webhooks), eCom orders (the `REJECTED`
    /// callback) and Checkout sessions (the callback). Reads apply the same timeouts on their
    /// own; this is for those who wait for the notification instead of polling.
    pub(crate) fn settle_due(&self) {
        const CHUNK: usize = 2_000;
        let now = self.clock().now();
        // In chunks: requests get the store between two of them.
        while self.store().transact_in_background(|t| t.ledger.expire_due(now, CHUNK)) == CHUNK {}
        for p in &self.inner.parts {
            p.part.settle_due(self);
        }
        while self.store().evict_old() {}
    }

    /// [`AppState::settle_due`] on the blocking pool: a month of a hundred thousand
    /// agreements takes seconds of work, which must not hold a worker that serves requests.
    pub(crate) async fn settle_due_off_thread(&self) {
        let state = self.clone();
        // A panic in settling has been logged by the hook; the next sweep tries again.
        let _ = tokio::task::spawn_blocking(move || state.settle_due()).await;
    }

    /// Fault injection and rate limits.
    pub(crate) fn faults(&self) -> &crate::core::faults::Faults {
        &self.inner.faults
    }

    /// Replaces the fault rules (saved with the data, when there is a data dir).
    pub(crate) fn set_faults(&self, config: crate::core::config::FaultConfig) {
        let saved = serde_json::to_value(&config).unwrap_or_default();
        self.inner.faults.set(config);
        self.store().transact(|t| {
            t.get_mut::<crate::core::store::Meta>()
                .set(crate::core::store::FAULTS, saved)
        });
    }

    /// The configuration.
    pub fn config(&self) -> &EmulatorConfig {
        &self.inner.config
    }

    /// The clock.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// The store.
    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The configured merchants (never empty).
    pub(crate) fn merchants(&self) -> &[Merchant] {
        &self.inner.config.merchants
    }

    /// The first merchant.
    pub fn default_merchant(&self) -> &Merchant {
        // `with_clock` guarantees at least one merchant.
        &self.inner.config.merchants[0]
    }

    /// A merchant by MSN.
    pub(crate) fn merchant_by_msn(&self, msn: &str) -> Option<&Merchant> {
        self.merchants().iter().find(|m| m.msn == msn)
    }

    /// A merchant by client id.
    pub(crate) fn merchant_by_client_id(&self, client_id: &str) -> Option<&Merchant> {
        self.merchants().iter().find(|m| m.client_id == client_id)
    }

    /// The base URL used in `redirectUrl`, without trailing slash.
    pub fn public_url(&self) -> String {
        self.inner.public_url.read().clone()
    }

    /// Sets the base URL used in `redirectUrl` (done by the server when none is configured).
    pub(crate) fn set_public_url(&self, url: impl Into<String>) {
        let url = url.into();
        *self.inner.public_url.write() = url.trim_end_matches('/').to_owned();
    }

    /// Records the address the server listens on (done by the server).
    pub(crate) fn set_listen_addr(&self, addr: std::net::SocketAddr) {
        *self.inner.listen_addr.write() = Some(addr);
    }

    /// The address the server listens on; `None` for a router used without a socket.
    pub(crate) fn listen_addr(&self) -> Option<std::net::SocketAddr> {
        *self.inner.listen_addr.read()
    }

    pub(crate) fn signer(&self) -> &TokenSigner {
        &self.inner.signer
    }

    /// Issues an access token for a merchant, valid for `token_ttl_secs` from the clock's now.
    pub fn issue_token(&self, merchant: &Merchant) -> AccessTokenResponse {
        self.issue_token_for(merchant, self.config().token_ttl_secs, TokenKind::Standard)
    }

    /// An access token of `kind` for `merchant` that lives `ttl` seconds.
    pub(crate) fn issue_token_for(&self, merchant: &Merchant, ttl: i64, kind: TokenKind) -> AccessTokenResponse {
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
            kind,
        };
        let mut token = AccessTokenResponse::new(self.signer().sign(&claims));
        token.expires_in = Some(ttl);
        token.ext_expires_in = Some(0);
        token.expires_on = Some(exp);
        token.not_before = Some(now);
        token.resource = Some("00000002-0000-0000-c000-000000000000".to_owned());
        token
    }
}
