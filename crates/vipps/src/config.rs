//! Client configuration: credentials, environment, system headers, timeouts, retries.

use crate::error::Error;
use crate::retry::RetryPolicy;
use crate::secret::Secret;
use std::fmt;
use std::time::Duration;

/// Where requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Environment {
    /// The Vipps MobilePay test environment, `https://apitest.vipps.no`.
    Test,
    /// Production, `https://api.vipps.no`.
    Production,
    /// Any other base URL: the emulator, a proxy. Test-only operations are allowed.
    Custom(String),
}

impl Environment {
    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        match self {
            Environment::Test => "https://apitest.vipps.no",
            Environment::Production => "https://api.vipps.no",
            Environment::Custom(u) => u.trim_end_matches('/'),
        }
    }

    /// Whether test-only operations (force approve) may be sent.
    pub fn allows_test_operations(&self) -> bool {
        !matches!(self, Environment::Production)
    }
}

/// The four `Vipps-System-*` headers identifying your system (each at most 30 characters).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SystemInfo {
    /// `Vipps-System-Name`, e.g. `acme-shop`.
    pub name: Option<String>,
    /// `Vipps-System-Version`.
    pub version: Option<String>,
    /// `Vipps-System-Plugin-Name`.
    pub plugin_name: Option<String>,
    /// `Vipps-System-Plugin-Version`.
    pub plugin_version: Option<String>,
}

impl SystemInfo {
    pub(crate) fn headers(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("Vipps-System-Name", self.name.as_deref()),
            ("Vipps-System-Version", self.version.as_deref()),
            ("Vipps-System-Plugin-Name", self.plugin_name.as_deref()),
            ("Vipps-System-Plugin-Version", self.plugin_version.as_deref()),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
    }

    fn validate(&self) -> Result<(), Error> {
        for (k, v) in self.headers() {
            if v.chars().count() > 30 {
                return Err(Error::config(format!("{k} must be at most 30 characters")));
            }
            if v.chars().any(|c| !c.is_ascii() || c.is_ascii_control()) {
                return Err(Error::config(format!("{k} must be printable ASCII")));
            }
        }
        Ok(())
    }
}

/// Everything a [`crate::Client`] needs. Build one with [`crate::Client::builder`].
#[derive(Clone)]
pub struct Config {
    pub(crate) client_id: String,
    pub(crate) client_secret: Secret,
    pub(crate) subscription_key: Secret,
    pub(crate) merchant_serial_number: String,
    pub(crate) environment: Environment,
    pub(crate) system: SystemInfo,
    pub(crate) connect_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) user_agent: String,
    pub(crate) proxy: Proxy,
    pub(crate) max_response_bytes: usize,
}

/// The default of [`ClientBuilder::max_response_bytes`]: 4 MiB, far above any answer of the
/// APIs (a payment's event log included), far below what would strain a process.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// Which proxy the client's connections go through.
#[derive(Clone, Default)]
pub(crate) enum Proxy {
    /// `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` (or their lower-case forms),
    /// read when the client is built.
    #[default]
    FromEnv,
    /// Straight to the server.
    Off,
    /// This `http://` proxy for every server. A secret: its URL may carry credentials.
    Url(Secret),
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Proxy::FromEnv => "from the environment",
            Proxy::Off => "none",
            Proxy::Url(_) => "set (URL hidden)",
        })
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("subscription_key", &self.subscription_key)
            .field("merchant_serial_number", &self.merchant_serial_number)
            .field("environment", &self.environment)
            .field("system", &self.system)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("retry", &self.retry)
            .field("proxy", &self.proxy)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

impl Config {
    /// The environment.
    pub fn environment(&self) -> &Environment {
        &self.environment
    }
    /// The merchant serial number.
    pub fn merchant_serial_number(&self) -> &str {
        &self.merchant_serial_number
    }
    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }
}

/// Builds a [`crate::Client`].
#[derive(Clone, Default)]
pub struct ClientBuilder {
    client_id: Option<String>,
    client_secret: Option<Secret>,
    subscription_key: Option<Secret>,
    msn: Option<String>,
    environment: Option<Environment>,
    system: SystemInfo,
    connect_timeout: Option<Duration>,
    request_timeout: Option<Duration>,
    retry: Option<RetryPolicy>,
    proxy: Proxy,
    max_response_bytes: Option<usize>,
    allow_insecure_http: bool,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("client_id", &self.client_id)
            .field("merchant_serial_number", &self.msn)
            .field("environment", &self.environment)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// The `client_id` of your key set.
    pub fn client_id(mut self, v: impl Into<String>) -> Self {
        self.client_id = Some(v.into());
        self
    }
    /// The `client_secret` of your key set.
    pub fn client_secret(mut self, v: impl Into<Secret>) -> Self {
        self.client_secret = Some(v.into());
        self
    }
    /// The `Ocp-Apim-Subscription-Key`.
    pub fn subscription_key(mut self, v: impl Into<Secret>) -> Self {
        self.subscription_key = Some(v.into());
        self
    }
    /// The `Merchant-Serial-Number` of the sales unit.
    pub fn merchant_serial_number(mut self, v: impl Into<String>) -> Self {
        self.msn = Some(v.into());
        self
    }
    /// The environment (default: [`Environment::Test`]).
    pub fn environment(mut self, e: Environment) -> Self {
        self.environment = Some(e);
        self
    }
    /// A custom base URL, such as the emulator's.
    pub fn base_url(self, url: impl Into<String>) -> Self {
        self.environment(Environment::Custom(url.into()))
    }
    /// `Vipps-System-Name` and `Vipps-System-Version`.
    pub fn system(mut self, name: impl Into<String>, version: impl Into<String>) -> Self {
        self.system.name = Some(name.into());
        self.system.version = Some(version.into());
        self
    }
    /// `Vipps-System-Plugin-Name` and `Vipps-System-Plugin-Version`.
    pub fn plugin(mut self, name: impl Into<String>, version: impl Into<String>) -> Self {
        self.system.plugin_name = Some(name.into());
        self.system.plugin_version = Some(version.into());
        self
    }
    /// All four system headers at once.
    pub fn system_info(mut self, s: SystemInfo) -> Self {
        self.system = s;
        self
    }
    /// Connect timeout (default 5 s).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = Some(d);
        self
    }
    /// Sends every request through this `http://` proxy, in a `CONNECT` tunnel (TLS to the
    /// API goes through the tunnel). Credentials in the URL (`http://user:pass@proxy:3128`)
    /// are sent as `Proxy-Authorization: Basic`; the URL never appears in `Debug` output or
    /// errors. Without this, the client uses the proxy that `HTTPS_PROXY`, `HTTP_PROXY` or
    /// `ALL_PROXY` name for the server's scheme, unless `NO_PROXY` excludes the server.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = Proxy::Url(Secret::new(url.into()));
        self
    }
    /// Connects straight to the server, whatever the proxy environment variables say.
    pub fn no_proxy(mut self) -> Self {
        self.proxy = Proxy::Off;
        self
    }
    /// Timeout of one attempt, from sending to the whole body received (default 30 s).
    pub fn request_timeout(mut self, d: Duration) -> Self {
        self.request_timeout = Some(d);
        self
    }
    /// The largest response body read, in bytes (default [`DEFAULT_MAX_RESPONSE_BYTES`],
    /// 4 MiB). A larger answer fails the call with [`crate::ErrorKind::Transport`] ("response
    /// body too large") once the limit is reached, and is not retried.
    pub fn max_response_bytes(mut self, n: usize) -> Self {
        self.max_response_bytes = Some(n);
        self
    }
    /// Allows an `http://` base URL to any host. Without this, plain HTTP is only taken to a
    /// loopback address (`127.0.0.1`, `::1`, or exactly `localhost`, as the emulator's): the
    /// client secret and the subscription key travel in every token request, readable to
    /// anyone on the path.
    pub fn allow_insecure_http(mut self) -> Self {
        self.allow_insecure_http = true;
        self
    }
    /// The retry policy (default [`RetryPolicy::default`]).
    pub fn retry_policy(mut self, p: RetryPolicy) -> Self {
        self.retry = Some(p);
        self
    }

    /// Reads `VIPPS_CLIENT_ID`, `VIPPS_CLIENT_SECRET`, `VIPPS_SUBSCRIPTION_KEY`,
    /// `VIPPS_MERCHANT_SERIAL_NUMBER`, `VIPPS_BASE_URL` or `VIPPS_ENVIRONMENT=test|production`,
    /// and `VIPPS_SYSTEM_NAME`, `VIPPS_SYSTEM_VERSION`, `VIPPS_SYSTEM_PLUGIN_NAME`,
    /// `VIPPS_SYSTEM_PLUGIN_VERSION` into this builder (values already set are overwritten
    /// only by variables that are present).
    pub fn from_env(self) -> Result<Self, Error> {
        self.from_lookup(|k| std::env::var(k).ok())
    }

    /// Like [`ClientBuilder::from_env`] with a custom lookup (useful in tests).
    pub fn from_lookup(mut self, get: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        if let Some(v) = get("VIPPS_CLIENT_ID") {
            self.client_id = Some(v);
        }
        if let Some(v) = get("VIPPS_CLIENT_SECRET") {
            self.client_secret = Some(Secret::new(v));
        }
        if let Some(v) = get("VIPPS_SUBSCRIPTION_KEY") {
            self.subscription_key = Some(Secret::new(v));
        }
        if let Some(v) = get("VIPPS_MERCHANT_SERIAL_NUMBER") {
            self.msn = Some(v);
        }
        match (get("VIPPS_BASE_URL"), get("VIPPS_ENVIRONMENT")) {
            (Some(url), _) => self.environment = Some(Environment::Custom(url)),
            (None, Some(env)) => {
                self.environment = Some(match env.to_ascii_lowercase().as_str() {
                    "test" => Environment::Test,
                    "production" | "prod" => Environment::Production,
                    other => {
                        return Err(Error::config(format!(
                            "VIPPS_ENVIRONMENT must be 'test' or 'production', not '{other}'"
                        )))
                    }
                })
            }
            (None, None) => {}
        }
        for (var, slot) in [
            ("VIPPS_SYSTEM_NAME", &mut self.system.name),
            ("VIPPS_SYSTEM_VERSION", &mut self.system.version),
            ("VIPPS_SYSTEM_PLUGIN_NAME", &mut self.system.plugin_name),
            ("VIPPS_SYSTEM_PLUGIN_VERSION", &mut self.system.plugin_version),
        ] {
            if let Some(v) = get(var) {
                *slot = Some(v);
            }
        }
        Ok(self)
    }

    /// Checks the configuration and builds the [`Config`].
    pub fn build_config(self) -> Result<Config, Error> {
        let client_id = self.client_id.ok_or_else(|| Error::config("client_id is required"))?;
        let client_secret = self
            .client_secret
            .ok_or_else(|| Error::config("client_secret is required"))?;
        let subscription_key = self
            .subscription_key
            .ok_or_else(|| Error::config("subscription_key is required"))?;
        let msn = self
            .msn
            .ok_or_else(|| Error::config("merchant_serial_number is required"))?;
        if !(4..=6).contains(&msn.len()) || !msn.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::config("merchant_serial_number must be 4 to 6 digits"));
        }
        for (name, v) in [
            ("client_id", client_id.as_str()),
            ("client_secret", client_secret.expose()),
            ("subscription_key", subscription_key.expose()),
        ] {
            if v.is_empty() || v.chars().any(|c| !c.is_ascii() || c.is_ascii_control()) {
                return Err(Error::config(format!("{name} must be non-empty printable ASCII")));
            }
        }
        self.system.validate()?;
        let environment = self.environment.unwrap_or(Environment::Test);
        if let Environment::Custom(u) = &environment {
            let parsed = url::Url::parse(u).map_err(|e| Error::config(format!("base URL is not valid: {e}")))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(Error::config("base URL must be http:// or https://"));
            }
            if parsed.scheme() == "http" && !self.allow_insecure_http && !is_loopback(&parsed) {
                return Err(Error::config(
                    "base URL is http:// to a host that is not loopback; credentials would be sent \
                     in cleartext (use https://, or ClientBuilder::allow_insecure_http)",
                ));
            }
            // Credentials in a URL would travel in every error's Debug output; refuse them.
            if !parsed.username().is_empty() || parsed.password().is_some() {
                return Err(Error::config(
                    "base URL must not contain a user name or password (use the client credentials)",
                ));
            }
        }
        let proxy = match self.proxy {
            Proxy::Url(u) => {
                // The parse error is not quoted: it could repeat the URL, and its credentials.
                let parsed = url::Url::parse(u.expose()).map_err(|_| Error::config("proxy URL is not valid"))?;
                if parsed.scheme() != "http" || parsed.host_str().is_none() {
                    return Err(Error::config(
                        "proxy URL must be http://host[:port] (CONNECT tunnels through an HTTP proxy)",
                    ));
                }
                // Normalised (spaces trimmed, the user name and password percent-encoded), so
                // that what was checked here is what the connector parses.
                Proxy::Url(Secret::new(parsed.as_str()))
            }
            other => other,
        };
        Ok(Config {
            client_id,
            client_secret,
            subscription_key,
            merchant_serial_number: msn,
            environment,
            system: self.system,
            connect_timeout: self.connect_timeout.unwrap_or(Duration::from_secs(5)),
            request_timeout: self.request_timeout.unwrap_or(Duration::from_secs(30)),
            retry: self.retry.unwrap_or_default(),
            user_agent: format!("vipps-rs/{}", env!("CARGO_PKG_VERSION")),
            proxy,
            max_response_bytes: self.max_response_bytes.unwrap_or(DEFAULT_MAX_RESPONSE_BYTES),
        })
    }

    /// Builds the client.
    pub fn build(self) -> Result<crate::Client, Error> {
        crate::Client::from_config(self.build_config()?)
    }
}

/// Whether `url` goes to this machine: a loopback IP address, or exactly `localhost` (a name
/// that only resolves there; `localhost.example.com` may not).
fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        // `url` lower-cases domain names: `LOCALHOST` is `localhost` here.
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| m.get(k).cloned()
    }

    const BASE: &[(&str, &str)] = &[
        ("VIPPS_CLIENT_ID", "id"),
        ("VIPPS_CLIENT_SECRET", "secret-value"),
        ("VIPPS_SUBSCRIPTION_KEY", "sub-value"),
        ("VIPPS_MERCHANT_SERIAL_NUMBER", "123456"),
    ];

    #[test]
    fn environment_from_variables() {
        let c = ClientBuilder::default()
            .from_lookup(lookup(BASE))
            .unwrap()
            .build_config()
            .unwrap();
        assert_eq!(c.environment(), &Environment::Test);
        let mut v = BASE.to_vec();
        v.push(("VIPPS_ENVIRONMENT", "production"));
        let c = ClientBuilder::default()
            .from_lookup(lookup(&v))
            .unwrap()
            .build_config()
            .unwrap();
        assert_eq!(c.environment().base_url(), "https://api.vipps.no");
        v.push(("VIPPS_BASE_URL", "http://127.0.0.1:8080/"));
        v.push(("VIPPS_SYSTEM_NAME", "acme"));
        let c = ClientBuilder::default()
            .from_lookup(lookup(&v))
            .unwrap()
            .build_config()
            .unwrap();
        assert_eq!(c.environment().base_url(), "http://127.0.0.1:8080");
        assert_eq!(c.system.name.as_deref(), Some("acme"));
        let mut bad = BASE.to_vec();
        bad.push(("VIPPS_ENVIRONMENT", "staging"));
        assert!(ClientBuilder::default().from_lookup(lookup(&bad)).is_err());
    }

    #[test]
    fn configuration_is_checked() {
        let ok = || ClientBuilder::default().from_lookup(lookup(BASE)).unwrap();
        assert!(ok().system("x".repeat(31), "1").build_config().is_err());
        assert!(ok().system("x".repeat(30), "1").build_config().is_ok());
        assert!(ok().merchant_serial_number("12").build_config().is_err());
        assert!(ok().merchant_serial_number("12345a").build_config().is_err());
        assert!(ok().base_url("ftp://example.com").build_config().is_err());
        // Plain HTTP: loopback only, unless allowed explicitly.
        for url in [
            "http://127.0.0.1:8080",
            "http://127.0.0.2",
            "http://[::1]:8080/",
            "http://localhost:8080",
            "http://LOCALHOST",
            "https://example.com",
        ] {
            assert!(ok().base_url(url).build_config().is_ok(), "{url}");
        }
        for url in [
            "http://example.com",
            "http://10.0.0.1:8080",
            "http://localhost.example.com",
            "http://127.0.0.1.nip.io",
            "http://0.0.0.0:8080",
        ] {
            let e = ok().base_url(url).build_config().unwrap_err();
            assert!(
                matches!(e.kind(), crate::ErrorKind::Config(m) if m.contains("allow_insecure_http")),
                "{url}: {e}"
            );
            assert!(ok().base_url(url).allow_insecure_http().build_config().is_ok(), "{url}");
        }
        let e = ok()
            .base_url("https://user:hunter2@example.com")
            .build_config()
            .unwrap_err();
        assert!(
            !format!("{e} {e:?}").contains("hunter2"),
            "the refusal does not repeat the password"
        );
        let e = ClientBuilder::default().client_id("id").build_config().unwrap_err();
        assert!(e.to_string().contains("client_secret"));
        let debug = format!("{:?}", ok().build_config().unwrap());
        assert!(
            !debug.contains("secret-value") && !debug.contains("sub-value"),
            "{debug}"
        );
    }
}
