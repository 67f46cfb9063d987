//! The escape hatch: calls to endpoints the SDK has not typed (the Report API, the Management
//! API, fields newer than the SDK), through the same transport as the typed calls.
//!
//! Start one with [`Client::request`]. It gets what a typed call gets: the cached access
//! token, `Ocp-Apim-Subscription-Key`, `Merchant-Serial-Number` and the `Vipps-System-*`
//! headers; an `Idempotency-Key` on every method but `GET` and `HEAD`, the same on every
//! attempt; the client's retry policy (a call without an idempotency key is retried only if
//! it is a `GET` or `HEAD`) and timeouts; and a typed [`Error`] with the problem details for
//! an error status.

use crate::error::{Error, Result};
use crate::retry::RetryPolicy;
use crate::transport::{CallOptions, Idempotency, Op, Response};
use crate::Client;
use http::header::HeaderName;
use http::{HeaderMap, HeaderValue, Method};
use serde::de::DeserializeOwned;
use std::time::Duration;
use vipps_types::ValidationError;

/// A call to an endpoint the SDK has not typed. Get one with [`Client::request`]; finish it
/// with [`UntypedRequest::send`] (the body parsed from JSON) or [`UntypedRequest::send_raw`]
/// (status, headers and bytes).
///
/// A bad path or header is reported by `send` as a [`crate::ErrorKind::Validation`] error,
/// and nothing is sent.
#[must_use = "a request does nothing until it is sent"]
pub struct UntypedRequest {
    client: Client,
    op: Result<Op>,
    opts: CallOptions,
}

impl std::fmt::Debug for UntypedRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The method and path only: header values may be the caller's secrets.
        let mut d = f.debug_struct("UntypedRequest");
        if let Ok(op) = &self.op {
            d.field("method", &op.method).field("path", &op.path);
        }
        d.finish_non_exhaustive()
    }
}

impl UntypedRequest {
    pub(crate) fn new(client: &Client, method: Method, path: String) -> Self {
        let op = check_path(&path).map(|()| Op::new("untyped", method, path));
        UntypedRequest {
            client: client.clone(),
            op,
            opts: CallOptions::default(),
        }
    }

    /// Changes the operation unless an earlier step failed (the first error is the one
    /// `send` reports).
    fn with_op(mut self, change: impl FnOnce(Op) -> Result<Op>) -> Self {
        self.op = self.op.and_then(change);
        self
    }

    /// Adds query parameters (encoded here; repeated calls add more).
    pub fn query<K: AsRef<str>, V: AsRef<str>>(self, pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        self.with_op(|mut op| {
            let mut query = url::form_urlencoded::Serializer::new(op.query.take().unwrap_or_default());
            query.extend_pairs(pairs);
            op.query = Some(query.finish());
            Ok(op)
        })
    }

    /// Sends `body` as JSON (`Content-Type: application/json`).
    pub fn json<B: serde::Serialize + ?Sized>(self, body: &B) -> Self {
        self.with_op(|op| op.json(body))
    }

    /// Adds a header. The headers the client sets itself are refused: the credentials
    /// (`Authorization`, `Ocp-Apim-Subscription-Key`, `client_id`, `client_secret`), the
    /// client's identity (`Merchant-Serial-Number`, `Vipps-System-*`, `User-Agent`), the
    /// idempotency key (use [`UntypedRequest::idempotency_key`]) and the body's framing
    /// (`Host`, `Content-Type`, `Content-Length`, `Transfer-Encoding`). `Accept` may be
    /// replaced. The value is kept out of `Debug` output.
    pub fn header(self, name: &str, value: &str) -> Self {
        self.with_op(|mut op| {
            let (name, value) = checked_header(name, value)?;
            op.headers.append(name, value);
            Ok(op)
        })
    }

    /// Uses this `Idempotency-Key` instead of a generated one (also on a `GET`). Reuse the key
    /// of a failed call to repeat it without a second effect.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.opts.idempotency_key = Some(key.into());
        self.with_op(|op| Ok(op.idempotency(Idempotency::Key)))
    }

    /// Sends no `Idempotency-Key`, for endpoints that refuse one. The call is then retried
    /// only if it is a `GET` or `HEAD`: repeating a write without a key could repeat its effect.
    pub fn without_idempotency_key(mut self) -> Self {
        self.opts.idempotency_key = None;
        self.with_op(|op| Ok(op.idempotency(Idempotency::None)))
    }

    /// Timeout of each attempt of this call.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.opts.timeout = Some(d);
        self
    }

    /// Retry policy of this call.
    pub fn retry_policy(mut self, p: RetryPolicy) -> Self {
        self.opts.retry = Some(p);
        self
    }

    /// Sends the request (with retries) and parses the answer's JSON body as `T`
    /// (`serde_json::Value` takes any; an empty body reads as `null`, so `()` takes it).
    pub async fn send<T: DeserializeOwned>(self) -> Result<Response<T>> {
        self.client.execute(self.op?, self.opts).await
    }

    /// Sends the request (with retries) and gives the answer as it came. An error status is
    /// still an [`Error`].
    pub async fn send_raw(self) -> Result<RawResponse> {
        let done = self.client.execute_raw(self.op?, self.opts).await?;
        Ok(RawResponse {
            status: done.status,
            headers: done.headers,
            body: done.body,
            idempotency_key: done.idempotency_key,
            attempts: done.attempts,
        })
    }
}

/// A successful answer of [`UntypedRequest::send_raw`]: status, headers and body as sent.
#[derive(Clone)]
pub struct RawResponse {
    status: u16,
    headers: HeaderMap,
    body: bytes::Bytes,
    idempotency_key: Option<String>,
    attempts: u32,
}

impl RawResponse {
    /// The HTTP status (2xx).
    pub fn status(&self) -> u16 {
        self.status
    }
    /// The answer's headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
    /// The answer's body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }
    /// The answer's body, owned.
    pub fn into_body(self) -> bytes::Bytes {
        self.body
    }
    /// The idempotency key the call carried.
    pub fn idempotency_key(&self) -> Option<&str> {
        self.idempotency_key.as_deref()
    }
    /// How many attempts it took.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
}

impl std::fmt::Debug for RawResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Header names and the body's size: the values and the body are the server's data.
        f.debug_struct("RawResponse")
            .field("status", &self.status)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("body_bytes", &self.body.len())
            .field("idempotency_key", &self.idempotency_key)
            .field("attempts", &self.attempts)
            .finish()
    }
}

/// Checks the path of an untyped call: a path under the client's base URL and never a URL of
/// its own, so the client's credentials go nowhere else.
fn check_path(path: &str) -> Result<()> {
    let refuse = |why: &str| Err(Error::validation(ValidationError::new("path", why)));
    if !path.starts_with('/') || path.starts_with("//") {
        return refuse("must be a path that starts with one '/', not a URL: the request goes to the client's base URL");
    }
    if path.contains(['?', '#']) {
        return refuse("must not hold '?' or '#': give query parameters with .query()");
    }
    if path.split('/').any(|segment| segment == "." || segment == "..") {
        return refuse("must not have '.' or '..' segments");
    }
    Ok(())
}

/// Why the client sets a header itself, or `None` for a header a call may set.
fn owned_by_client(name: &HeaderName) -> Option<&'static str> {
    Some(match name.as_str() {
        "authorization" | "ocp-apim-subscription-key" | "client_id" | "client_secret" => {
            "is set by the client from its credentials; a call cannot replace it"
        }
        "merchant-serial-number" | "user-agent" => "is set from the client's configuration",
        n if n.starts_with("vipps-system-") => "is set from the client's configuration",
        "idempotency-key" => "is chosen by the client: pass your own with .idempotency_key()",
        "host" | "content-type" | "content-length" | "transfer-encoding" => "is set by the transport",
        _ => return None,
    })
}

/// A caller's header, checked: a valid name and value, and not one the client sets itself.
fn checked_header(name: &str, value: &str) -> Result<(HeaderName, HeaderValue)> {
    let invalid = |why: &str| Error::validation(ValidationError::new(name, why));
    let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid("is not a valid header name"))?;
    if let Some(why) = owned_by_client(&header) {
        return Err(invalid(why));
    }
    let mut value = HeaderValue::from_str(value).map_err(|_| invalid("has characters HTTP does not allow"))?;
    value.set_sensitive(true);
    Ok((header, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sent_request_can_move_between_threads() {
        fn send<F: std::future::Future + Send>(_: F) {}
        let client = Client::builder()
            .client_id("id")
            .client_secret("secret")
            .subscription_key("key")
            .merchant_serial_number("123456")
            .build()
            .unwrap();
        // As `tokio::spawn` needs; checked at compile time (the futures are never polled).
        send(client.request(Method::GET, "/x").send::<serde_json::Value>());
        send(client.request(Method::GET, "/x").send_raw());
    }

    #[test]
    fn paths_stay_under_the_base_url() {
        for ok in ["/report/v2/ledgers", "/epayment/v1/payments/ref-1", "/a%20b", "/"] {
            check_path(ok).unwrap();
        }
        for bad in [
            "https://evil.example/x",
            "no-slash",
            "",
            "//evil.example/x",
            "/x?y=1",
            "/x#f",
            "/a/../b",
            "/./a",
        ] {
            let e = check_path(bad).unwrap_err();
            assert_eq!(e.validation_error().unwrap().field, "path", "{bad}");
        }
    }

    #[test]
    fn the_client_s_own_headers_are_refused_whatever_their_case() {
        for name in [
            "Authorization",
            "OCP-APIM-SUBSCRIPTION-KEY",
            "client_secret",
            "client_id",
            "Merchant-Serial-Number",
            "Vipps-System-Name",
            "Idempotency-Key",
            "Content-Length",
            "Host",
        ] {
            let e = checked_header(name, "x").unwrap_err();
            assert_eq!(e.validation_error().unwrap().field, name);
        }
        let (name, value) = checked_header("X-Request-Id", "abc").unwrap();
        assert_eq!((name.as_str(), value.is_sensitive()), ("x-request-id", true));
        checked_header("Accept", "text/csv").unwrap();
        assert!(checked_header("bad name", "x").is_err());
        assert!(checked_header("X-Ok", "line\nbreak").is_err());
    }
}
