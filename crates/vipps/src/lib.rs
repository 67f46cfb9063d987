//! # vipps: an async Rust SDK for the Vipps MobilePay APIs
//!
//! A typed client for the Access Token API, ePayment API v1, Checkout API v3, Recurring API v3,
//! Webhooks API v1, the Userinfo API and the legacy eCom API v2, with what a payment
//! integration needs built in:
//!
//! - **Authentication**: the access token is fetched on demand, cached until shortly
//!   before it expires, shared by every clone of the client, and fetched once however many
//!   calls wait for it. An error is never cached. A `401` drops the token and retries once.
//! - **Safe retries**: connection failures, timeouts, `408`, `423`, `429` and `5xx` are
//!   retried with capped exponential backoff and full jitter, honouring `Retry-After`.
//!   Every state-changing call carries an `Idempotency-Key`, chosen once and identical on
//!   every attempt, so a retry never charges twice. Pass your own with
//!   [`RequestBuilder::idempotency_key`]; read the one used from [`Response::idempotency_key`]
//!   or [`Error::idempotency_key`].
//! - **Timeouts** on by default (5 s connect, 30 s per attempt, 60 s overall).
//! - **HTTP**: HTTP/1.1 on hyper's pooled client, TLS by rustls with the webpki roots,
//!   proxies from `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` or [`ClientBuilder::proxy`] through
//!   `CONNECT` tunnels. A failure below HTTP is a [`NetworkError`].
//! - **Typed errors** ([`Error`]) with the API's problem details, the numeric error code,
//!   the trace id, and whether the request may have reached the server.
//! - **Validation before sending**: a request that breaks a documented rule is rejected
//!   with the field's name and nothing is sent.
//! - **No secrets in output**: the client secret, subscription key and tokens never appear
//!   in `Debug`, `Display`, errors or logs.
//!
//! ```no_run
//! # async fn run() -> Result<(), vipps::Error> {
//! use vipps::{Client, Environment};
//! use vipps::types::{Amount, Reference, epayment::{CreatePaymentRequest, UserFlow}};
//!
//! let client = Client::builder()
//!     .client_id("fb492b5e-7907-4d83-bc20-c7fb60ca35de")
//!     .client_secret("…")
//!     .subscription_key("…")
//!     .merchant_serial_number("123456")
//!     .environment(Environment::Test) // or Environment::Custom(emulator_url)
//!     .system("acme-shop", "1.0.0")
//!     .build()?;
//! let reference = Reference::random();
//! let created = client
//!     .epayment()
//!     .create_payment(CreatePaymentRequest {
//!         return_url: Some("https://example.com/return".into()),
//!         payment_description: Some("Socks".into()),
//!         ..CreatePaymentRequest::new(Amount::nok(49900), reference.clone(), UserFlow::WebRedirect)
//!     })
//!     .await?;
//! let payment = client.epayment().get_payment(&reference).await?;
//! println!("{:?} {:?}", created.redirect_url, payment.state);
//! # Ok(()) }
//! ```
//!
//! `Client::from_env()` reads the configuration from `VIPPS_*` variables (see
//! [`ClientBuilder::from_env`]).
//!
//! ## Endpoints the SDK has not typed
//!
//! [`Client::request`] calls any endpoint under the base URL (the Report API, the Management
//! API, a field newer than the SDK) through the same transport as the typed calls: the cached
//! access token and the key, MSN and `Vipps-System-*` headers, an `Idempotency-Key` chosen once
//! for every method but `GET` (your own with [`UntypedRequest::idempotency_key`], none with
//! [`UntypedRequest::without_idempotency_key`]), the retry policy, the timeouts, and an
//! [`Error`] with the problem details for an error status. Parse the answer into any type,
//! `serde_json::Value` included, or take it raw with [`UntypedRequest::send_raw`].
//!
//! ```no_run
//! # async fn run(client: vipps::Client) -> Result<(), vipps::Error> {
//! use vipps::Method;
//! let ledgers = client
//!     .request(Method::GET, "/settlement/v1/ledgers")
//!     .query([("settlesForRecipientHandles", "api:123456")])
//!     .send::<serde_json::Value>()
//!     .await?
//!     .into_inner();
//! let captured = client
//!     .request(Method::POST, "/epayment/v1/payments/acme-shop-123-order123abc/capture")
//!     .json(&serde_json::json!({"modificationAmount": {"currency": "NOK", "value": 49900}}))
//!     .send_raw()
//!     .await?;
//! println!("{ledgers} {} {:?}", captured.status(), captured.idempotency_key());
//! # Ok(()) }
//! ```

pub mod checkout;
mod config;
#[cfg(feature = "ecom")]
pub mod ecom;
pub mod epayment;
mod error;
mod net;
pub mod order_management;
pub mod recurring;
pub mod retry;
mod secret;
mod token;
mod transport;
mod untyped;
pub mod userinfo;
pub mod webhooks;

pub use config::{ClientBuilder, Config, Environment, SystemInfo, DEFAULT_MAX_RESPONSE_BYTES};
pub use error::{Error, ErrorKind, NetworkError, Result};
pub use http::Method;
pub use retry::RetryPolicy;
pub use secret::Secret;
pub use transport::{RequestBuilder, Response};
pub use untyped::{RawResponse, UntypedRequest};
/// The wire types (re-export of the `vipps-types` crate).
pub use vipps_types as types;

use std::sync::Arc;

struct Inner {
    config: Config,
    http: net::Http,
    tokens: token::TokenCache,
    fixed_headers: transport::FixedHeaders,
    /// The base URL's scheme and host, parsed once; each request only adds its path.
    base: transport::Base,
}

/// The client. Cheap to clone: clones share one connection pool and one token cache.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("config", &self.inner.config).finish()
    }
}

impl Client {
    /// A builder for the client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from `VIPPS_*` environment variables.
    pub fn from_env() -> Result<Client> {
        ClientBuilder::default().from_env()?.build()
    }

    /// A client from a checked configuration.
    pub fn from_config(config: Config) -> Result<Client> {
        let http = net::Http::new(config.connect_timeout, &config.proxy)?;
        let base = transport::Base::new(config.environment.base_url())?;
        let fixed_headers = transport::FixedHeaders::new(&config, &base)?;
        Ok(Client {
            inner: Arc::new(Inner {
                config,
                http,
                tokens: transport::new_token_cache(),
                fixed_headers,
                base,
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The eCom API v2 (legacy; feature `ecom`).
    #[cfg(feature = "ecom")]
    pub fn ecom(&self) -> ecom::Ecom {
        ecom::Ecom::new(self.clone())
    }

    /// The ePayment API.
    pub fn epayment(&self) -> epayment::EPayment {
        epayment::EPayment::new(self.clone())
    }

    /// The Order Management API: receipts, categories and images shown with an order in the
    /// app.
    pub fn order_management(&self) -> order_management::OrderManagement {
        order_management::OrderManagement::new(self.clone())
    }

    /// The Recurring API v3: agreements and their charges.
    pub fn recurring(&self) -> recurring::Recurring {
        recurring::Recurring::new(self.clone())
    }

    /// The Checkout API v3 (sessions; capture/cancel/refund go through [`Client::epayment`]).
    pub fn checkout(&self) -> checkout::Checkout {
        checkout::Checkout::new(self.clone())
    }

    /// The Webhooks API (register, list, delete). Verify deliveries with
    /// [`webhooks::WebhookVerifier`].
    pub fn webhooks(&self) -> webhooks::Webhooks {
        webhooks::Webhooks::new(self.clone())
    }

    /// The Userinfo API: the profile a customer shared in a payment (by its `sub`).
    pub fn userinfo(&self) -> userinfo::Userinfo {
        userinfo::Userinfo::new(self.clone())
    }

    /// A call to an endpoint the SDK has not typed, such as `GET /settlement/v1/ledgers`: the
    /// escape hatch. It goes through the same transport as the typed calls (authentication,
    /// idempotency key, retries, timeouts, typed errors); see [`UntypedRequest`]. `path` is
    /// a path under the base URL: it must start with `/` and cannot name another host, so the
    /// credentials go nowhere else; `send` refuses it otherwise, before sending anything.
    pub fn request(&self, method: Method, path: impl Into<String>) -> UntypedRequest {
        UntypedRequest::new(self, method, path.into())
    }

    /// A valid access token (cached; fetched when needed).
    pub async fn access_token(&self) -> Result<Secret> {
        Ok(self.bearer_token().await?.token)
    }

    /// A token from `POST /miami/v1/token`, the OAuth 2.0 client credentials flow for
    /// specialized keys (accounting keys, Donations merchant-level keys; the Management and
    /// Report APIs take it). It is sent with `Authorization: Basic …` and without the
    /// subscription key, as that flow requires, and lives 15 minutes. It is **not** cached and not
    /// used by this client's own calls (ePayment, Checkout, Webhooks and eCom use
    /// [`Client::access_token`]): keep it while `expires_in` allows. The client is built as
    /// usual, so it needs a subscription key and an MSN even though this call sends only the
    /// MSN (as the guide's example does); keys issued for this flow alone are not supported.
    pub async fn client_credentials_token(
        &self,
        scope: Option<&str>,
    ) -> Result<vipps_types::access_token::ClientCredentialsTokenResponse> {
        self.transport_client_credentials_token(scope).await
    }

    /// How many access tokens this client (and its clones) has fetched so far.
    pub fn access_token_fetches(&self) -> u64 {
        self.token_fetch_count()
    }
}
