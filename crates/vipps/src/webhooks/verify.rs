//! Verification and signing of webhook deliveries (HMAC-SHA256).
//!
//! The scheme (Webhooks API, "Request authentication"):
//!
//! 1. `x-ms-content-sha256` = base64(SHA-256(raw body)).
//! 2. string to sign = `{METHOD}\n{pathAndQuery}\n{x-ms-date};{host};{x-ms-content-sha256}`.
//! 3. signature = base64(HMAC-SHA256(key = the secret string's UTF-8 bytes, as given at
//!    registration — not base64-decoded, message = string to sign)).
//! 4. `Authorization: HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature={signature}`.
//!
//! The primitives (content hash, string to sign, HTTP dates, signing) live in
//! [`vipps_types::webhooks::signature`], shared with the emulator that sends deliveries.

use crate::secret::Secret;
use std::fmt;
use std::time::Duration;
use subtle::{Choice, ConstantTimeEq};
use time::OffsetDateTime;
use vipps_types::epayment::WebhookEvent;
use vipps_types::webhooks::signature as prim;

pub use vipps_types::webhooks::signature::{
    content_hash, format_http_date, parse_http_date, string_to_sign, AUTHORIZATION_PREFIX, SIGNED_HEADERS,
};

/// How far `x-ms-date` may be from the receiver's clock by default: 5 minutes.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// Why a delivery was rejected. Never contains the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// A header needed for verification is absent (`x-ms-date`, `x-ms-content-sha256`,
    /// `authorization`, `host`).
    #[error("missing header `{0}`")]
    MissingHeader(&'static str),
    /// `x-ms-content-sha256` is not the SHA-256 of the body.
    #[error("the body does not match x-ms-content-sha256")]
    BadContentHash,
    /// The signature does not match (wrong secret, or method, path, host, date or body changed).
    #[error("the signature does not match")]
    BadSignature,
    /// The `Authorization` header is not `HMAC-SHA256 SignedHeaders=…&Signature=…`.
    #[error("the authorization header is not an HMAC-SHA256 signature")]
    MalformedAuthorization,
    /// `x-ms-date` is not an HTTP date (RFC 1123).
    #[error("x-ms-date is not an HTTP date")]
    BadDate,
    /// `x-ms-date` is further from now than the tolerance allows (a replay, or a skewed clock).
    #[error("x-ms-date is outside the allowed tolerance")]
    DateOutOfTolerance,
    /// A verifier was given an empty secret. Refused when it is built: anyone can compute
    /// an HMAC with an empty key, so it would accept forged deliveries.
    #[error("the webhook secret is empty")]
    EmptySecret,
}

/// The parts of a delivery that the signature covers.
#[derive(Clone, Copy)]
pub struct WebhookRequest<'a> {
    /// The HTTP method (deliveries are `POST`).
    pub method: &'a str,
    /// Path plus `?query`, as registered, e.g. `/hooks/vipps`.
    pub path_and_query: &'a str,
    /// The `Host` header: the registered URL's authority (host, plus port when not the default).
    pub host: &'a str,
    /// The `x-ms-date` header.
    pub x_ms_date: &'a str,
    /// The `x-ms-content-sha256` header.
    pub x_ms_content_sha256: &'a str,
    /// The `Authorization` header.
    pub authorization: &'a str,
    /// The raw body bytes, exactly as received.
    pub body: &'a [u8],
}

impl fmt::Debug for WebhookRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookRequest")
            .field("method", &self.method)
            .field("path_and_query", &self.path_and_query)
            .field("host", &self.host)
            .field("x_ms_date", &self.x_ms_date)
            .field("x_ms_content_sha256", &self.x_ms_content_sha256)
            .field("authorization", &self.authorization)
            .field("body_len", &self.body.len())
            .finish()
    }
}

fn header<'a>(headers: &'a http::HeaderMap, name: &'static str, bad: WebhookError) -> Result<&'a str, WebhookError> {
    headers
        .get(name)
        .ok_or(WebhookError::MissingHeader(name))?
        .to_str()
        .map_err(|_| bad)
}

impl<'a> WebhookRequest<'a> {
    /// The request from its HTTP parts. The host is the `Host` header, or the URI's
    /// authority (HTTP/2) when there is none.
    pub fn from_http(
        method: &'a http::Method,
        uri: &'a http::Uri,
        headers: &'a http::HeaderMap,
        body: &'a [u8],
    ) -> Result<Self, WebhookError> {
        let host = match headers.get(http::header::HOST) {
            Some(h) => h.to_str().map_err(|_| WebhookError::MissingHeader("host"))?,
            None => uri
                .authority()
                .map(|a| a.as_str())
                .ok_or(WebhookError::MissingHeader("host"))?,
        };
        Ok(WebhookRequest {
            method: method.as_str(),
            path_and_query: uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"),
            host,
            x_ms_date: header(headers, "x-ms-date", WebhookError::BadDate)?,
            x_ms_content_sha256: header(headers, "x-ms-content-sha256", WebhookError::BadContentHash)?,
            authorization: header(headers, "authorization", WebhookError::MalformedAuthorization)?,
            body,
        })
    }
}

/// Verifies webhook deliveries against the registration's secret.
///
/// Holds one secret, or several while rotating (a delivery signed with any of them
/// passes). `Debug` shows how many secrets there are, never their values.
///
/// ```
/// use vipps::webhooks::{WebhookVerifier, WebhookRequest, WebhookError};
/// let verifier = WebhookVerifier::new("the-secret-from-registration").unwrap();
/// let req = WebhookRequest {
///     method: "POST",
///     path_and_query: "/hooks/vipps",
///     host: "example.com",
///     x_ms_date: "Thu, 30 Mar 2023 08:38:32 GMT",
///     x_ms_content_sha256: "…",
///     authorization: "…",
///     body: b"{}",
/// };
/// assert_eq!(verifier.verify(&req), Err(WebhookError::BadContentHash));
/// ```
#[derive(Clone)]
pub struct WebhookVerifier {
    secrets: Vec<Secret>,
    tolerance: Option<Duration>,
    public_url: Option<(String, String)>,
}

impl fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookVerifier")
            .field("secrets", &format_args!("<{} redacted>", self.secrets.len()))
            .field("tolerance", &self.tolerance)
            .field("public_url", &self.public_url)
            .finish()
    }
}

impl WebhookVerifier {
    /// A verifier for one secret (the `secret` of the registration's response), with the
    /// default date tolerance of 5 minutes. An empty secret is refused
    /// ([`WebhookError::EmptySecret`]).
    pub fn new(secret: impl Into<Secret>) -> Result<Self, WebhookError> {
        Ok(WebhookVerifier {
            secrets: vec![non_empty(secret.into())?],
            tolerance: Some(DEFAULT_TOLERANCE),
            public_url: None,
        })
    }

    /// Also accept deliveries signed with this secret (while replacing a registration,
    /// both the old and the new one deliver). An empty secret is refused
    /// ([`WebhookError::EmptySecret`]).
    pub fn with_secret(mut self, secret: impl Into<Secret>) -> Result<Self, WebhookError> {
        self.secrets.push(non_empty(secret.into())?);
        Ok(self)
    }

    /// How far `x-ms-date` may be from now (either way). Default 5 minutes.
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = Some(tolerance);
        self
    }

    /// Do not check the freshness of `x-ms-date` (only that it is signed), e.g. to
    /// re-verify stored deliveries.
    pub fn without_date_check(mut self) -> Self {
        self.tolerance = None;
        self
    }

    /// Verify against this host and path (of the registered URL) instead of the request's
    /// own `Host` and path: for receivers behind a proxy that rewrites them.
    pub fn with_public_url(mut self, host: impl Into<String>, path_and_query: impl Into<String>) -> Self {
        self.public_url = Some((host.into(), path_and_query.into()));
        self
    }

    /// The date tolerance (`None` when the date is not checked).
    pub fn tolerance(&self) -> Option<Duration> {
        self.tolerance
    }

    /// Verifies a delivery against the current time.
    pub fn verify(&self, req: &WebhookRequest<'_>) -> Result<(), WebhookError> {
        self.verify_at(req, OffsetDateTime::now_utc())
    }

    /// Verifies a delivery as if the time were `now`.
    ///
    /// Checks, in order: the content hash, the form of `Authorization`, the signature (in
    /// constant time, against every secret), the date and its distance from `now`.
    pub fn verify_at(&self, req: &WebhookRequest<'_>, now: OffsetDateTime) -> Result<(), WebhookError> {
        let hash = content_hash(req.body);
        if !bool::from(hash.as_bytes().ct_eq(req.x_ms_content_sha256.as_bytes())) {
            return Err(WebhookError::BadContentHash);
        }
        let given = parse_authorization(req.authorization)?;
        let (host, path) = match &self.public_url {
            Some((h, p)) => (h.as_str(), p.as_str()),
            None => (req.host, req.path_and_query),
        };
        let message = string_to_sign(req.method, path, req.x_ms_date, host, req.x_ms_content_sha256);
        let mut ok = Choice::from(0u8);
        for s in &self.secrets {
            let expected = signature(s, &message);
            ok |= expected.as_bytes().ct_eq(given.as_bytes());
        }
        if !bool::from(ok) {
            return Err(WebhookError::BadSignature);
        }
        let date = parse_http_date(req.x_ms_date).ok_or(WebhookError::BadDate)?;
        if let Some(tol) = self.tolerance {
            let skew = (now - date).unsigned_abs();
            if skew > tol {
                return Err(WebhookError::DateOutOfTolerance);
            }
        }
        Ok(())
    }

    /// [`verify`](Self::verify) from HTTP parts (see [`WebhookRequest::from_http`]).
    pub fn verify_http(
        &self,
        method: &http::Method,
        uri: &http::Uri,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<(), WebhookError> {
        self.verify(&WebhookRequest::from_http(method, uri, headers, body)?)
    }

    /// Verifies a delivery and parses it as an ePayment event. A body that is not one
    /// gives `Ok(Err(_))`: genuine, but not understood.
    pub fn verify_epayment_event(
        &self,
        req: &WebhookRequest<'_>,
    ) -> Result<Result<WebhookEvent, serde_json::Error>, WebhookError> {
        self.verify(req)?;
        Ok(parse_epayment_event(req.body))
    }
}

/// Extracts the base64 signature from an `Authorization` header.
/// `secret`, unless it is empty: an HMAC keyed with nothing is one anybody can forge.
fn non_empty(secret: Secret) -> Result<Secret, WebhookError> {
    if secret.is_empty() {
        return Err(WebhookError::EmptySecret);
    }
    Ok(secret)
}

fn parse_authorization(auth: &str) -> Result<&str, WebhookError> {
    let (scheme, params) = auth
        .trim()
        .split_once(' ')
        .ok_or(WebhookError::MalformedAuthorization)?;
    if !scheme.eq_ignore_ascii_case("HMAC-SHA256") {
        return Err(WebhookError::MalformedAuthorization);
    }
    let mut signed_headers = None;
    let mut sig = None;
    for part in params.trim().split('&') {
        let (k, v) = part.split_once('=').ok_or(WebhookError::MalformedAuthorization)?;
        match k.trim() {
            "SignedHeaders" => signed_headers = Some(v.trim()),
            "Signature" => sig = Some(v.trim()),
            _ => {}
        }
    }
    match (signed_headers, sig) {
        (Some(h), Some(s)) if h.eq_ignore_ascii_case(SIGNED_HEADERS) && !s.is_empty() => Ok(s),
        _ => Err(WebhookError::MalformedAuthorization),
    }
}

fn signature(secret: &Secret, message: &str) -> String {
    // The key is the secret's UTF-8 bytes, exactly as returned at registration.
    prim::signature(secret.expose(), message)
}

/// The headers of a signed delivery, from [`sign`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `x-ms-date`.
    pub x_ms_date: String,
    /// `x-ms-content-sha256`.
    pub x_ms_content_sha256: String,
    /// `Authorization`.
    pub authorization: String,
}

impl SignedHeaders {
    /// The headers as `(name, value)` pairs (lowercase names).
    pub fn pairs(&self) -> [(&'static str, &str); 3] {
        [
            ("x-ms-date", &self.x_ms_date),
            ("x-ms-content-sha256", &self.x_ms_content_sha256),
            ("authorization", &self.authorization),
        ]
    }

    /// Inserts the three headers into `headers` (the `Host` header is up to the HTTP client).
    pub fn insert_into(&self, headers: &mut http::HeaderMap) {
        for (k, v) in self.pairs() {
            let v = http::HeaderValue::from_str(v).expect("signed header values are ASCII");
            headers.insert(http::HeaderName::from_static(k), v);
        }
    }
}

/// Signs a delivery as the Webhooks API does, so tests and emulators can produce valid
/// requests. `host` is the target URL's authority; `date` is sent as an HTTP date.
pub fn sign(
    secret: &Secret,
    method: &str,
    path_and_query: &str,
    host: &str,
    date: OffsetDateTime,
    body: &[u8],
) -> SignedHeaders {
    prim::sign(secret.expose(), method, path_and_query, host, date, body).into()
}

impl From<prim::SignedHeaders> for SignedHeaders {
    fn from(s: prim::SignedHeaders) -> Self {
        SignedHeaders {
            x_ms_date: s.x_ms_date,
            x_ms_content_sha256: s.x_ms_content_sha256,
            authorization: s.authorization,
        }
    }
}

/// Parses the body of an ePayment webhook (`epayments.payment.*.v1`). Verify first.
pub fn parse_epayment_event(body: &[u8]) -> Result<WebhookEvent, serde_json::Error> {
    serde_json::from_slice(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_parsing() {
        assert_eq!(parse_authorization(&format!("{AUTHORIZATION_PREFIX}abc=")), Ok("abc="));
        assert_eq!(
            parse_authorization("HMAC-SHA256 SignedHeaders=x-ms-date;host&Signature=abc="),
            Err(WebhookError::MalformedAuthorization)
        );
        assert_eq!(
            parse_authorization("Bearer abc"),
            Err(WebhookError::MalformedAuthorization)
        );
        assert_eq!(parse_authorization(""), Err(WebhookError::MalformedAuthorization));
        assert_eq!(
            parse_authorization("HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature="),
            Err(WebhookError::MalformedAuthorization)
        );
    }

    #[test]
    fn http_dates() {
        let t = parse_http_date("Thu, 30 Mar 2023 08:38:32 GMT").unwrap();
        assert_eq!(t.unix_timestamp(), 1680165512);
        assert_eq!(format_http_date(t), "Thu, 30 Mar 2023 08:38:32 GMT");
        assert_eq!(
            parse_http_date("Thu, 30 Mar 2023 10:38:32 +0200")
                .unwrap()
                .unix_timestamp(),
            1680165512
        );
        assert!(parse_http_date("2023-03-30T08:38:32Z").is_none());
        assert!(parse_http_date("").is_none());
    }
}
