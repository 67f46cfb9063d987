//! The transport: the one place that sets headers, authenticates, retries, applies
//! idempotency keys and timeouts. API modules only describe operations ([`Op`]).

use crate::config::Config;
use crate::error::{Error, ErrorKind, NetworkError, Result};
use crate::net::{Body, ConnectWatch, Failure};
use crate::retry::{decide, parse_retry_after, AttemptOutcome, Decision, RetryPolicy};
use crate::token::{Bearer, TokenCache};
use crate::Client;
use base64::Engine as _;
use http::{HeaderMap, HeaderValue, Method};
use serde::de::DeserializeOwned;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::ops::Deref;
use std::pin::Pin;
use std::time::Duration;
use tokio::time::Instant;
use tracing::Instrument;
use vipps_types::access_token::{AccessTokenResponse, ClientCredentialsTokenResponse};
use vipps_types::Problem;

/// An id that goes into a path as one segment (a webhook id, a `sub`): 1–64 characters of
/// `a-z`, `A-Z`, `0-9` and `-` (they are UUIDs), so it can never reach another path.
pub(crate) fn id_segment<'a>(
    field: &str,
    what: &str,
    id: &'a str,
) -> std::result::Result<&'a str, vipps_types::ValidationError> {
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(vipps_types::ValidationError::new(
            field,
            format!("must be {what} (a UUID: 1 to 64 characters of a-z, A-Z, 0-9 and '-')"),
        ));
    }
    Ok(id)
}

/// How an operation authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Auth {
    /// `Authorization: Bearer <access token>` (ePayment, Webhooks, eCom).
    Bearer,
    /// `client_id` + `client_secret` headers (Access Token API, Checkout).
    ClientCredentials,
    /// `Authorization: Basic base64(client_id:client_secret)` and no subscription key
    /// (`/miami/v1/token`, the OAuth client credentials flow).
    Basic,
    /// `Authorization: Bearer <access token>` and no subscription key (the Userinfo API,
    /// which answers 401 to one).
    BearerWithoutKey,
}

/// Which idempotency header an operation carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idempotency {
    /// None (reads).
    None,
    /// `Idempotency-Key`, at most 50 characters (ePayment, Checkout, Webhooks).
    Key,
    /// `X-Request-Id`, at most 40 characters (eCom).
    #[cfg_attr(not(feature = "ecom"), allow(dead_code))]
    RequestId,
}

impl Auth {
    /// Whether the operation carries the access token.
    fn is_bearer(self) -> bool {
        matches!(self, Auth::Bearer | Auth::BearerWithoutKey)
    }
}

impl Idempotency {
    fn header(self) -> Option<(&'static str, usize)> {
        match self {
            Idempotency::None => None,
            Idempotency::Key => Some(("Idempotency-Key", 50)),
            Idempotency::RequestId => Some(("X-Request-Id", 40)),
        }
    }
}

/// One API operation: what to send. The transport decides how.
#[derive(Debug, Clone)]
pub(crate) struct Op {
    pub name: &'static str,
    pub method: Method,
    pub path: String,
    /// The query string, already encoded (untyped calls only).
    pub query: Option<String>,
    /// Headers of the caller's own (untyped calls only), after the ones the transport sets.
    pub headers: HeaderMap,
    pub body: Option<bytes::Bytes>,
    /// The body's content type (JSON unless [`Op::form`] set it).
    pub content_type: &'static str,
    pub auth: Auth,
    pub idempotency: Idempotency,
    /// Send `Merchant-Serial-Number` (all APIs here take it).
    pub msn: bool,
    /// Safe to repeat even without an idempotency key (reads, token fetch).
    pub safe: bool,
}

impl Op {
    pub(crate) fn new(name: &'static str, method: Method, path: impl Into<String>) -> Self {
        let safe = method == Method::GET || method == Method::HEAD;
        Op {
            name,
            method,
            path: path.into(),
            query: None,
            headers: HeaderMap::new(),
            body: None,
            content_type: "application/json",
            auth: Auth::Bearer,
            idempotency: if safe { Idempotency::None } else { Idempotency::Key },
            msn: true,
            safe,
        }
    }

    pub(crate) fn json<B: serde::Serialize + ?Sized>(mut self, body: &B) -> Result<Self> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| Error::config(format!("request body could not be serialized: {e}")))?;
        self.body = Some(bytes::Bytes::from(bytes));
        Ok(self)
    }

    /// A form-encoded body (`application/x-www-form-urlencoded`).
    pub(crate) fn form(mut self, pairs: &[(&str, &str)]) -> Self {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.body = Some(bytes::Bytes::from(body));
        self.content_type = "application/x-www-form-urlencoded";
        self
    }

    pub(crate) fn auth(mut self, a: Auth) -> Self {
        self.auth = a;
        self
    }

    pub(crate) fn idempotency(mut self, i: Idempotency) -> Self {
        self.idempotency = i;
        self
    }
}

/// Per-call overrides.
#[derive(Debug, Clone, Default)]
pub(crate) struct CallOptions {
    pub idempotency_key: Option<String>,
    pub timeout: Option<Duration>,
    pub retry: Option<RetryPolicy>,
}

/// A successful response: derefs to the parsed body, and tells the idempotency key used.
#[derive(Debug, Clone)]
pub struct Response<T> {
    data: T,
    status: u16,
    headers: HeaderMap,
    idempotency_key: Option<String>,
    attempts: u32,
}

impl<T> Response<T> {
    /// The parsed body.
    pub fn into_inner(self) -> T {
        self.data
    }
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }
    /// The idempotency key (or eCom `X-Request-Id`) the call carried.
    pub fn idempotency_key(&self) -> Option<&str> {
        self.idempotency_key.as_deref()
    }
    /// How many attempts it took.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
    /// A response header's value, when present and visible ASCII (for example Recurring's
    /// `Continuation-Token`, which names the next page of a list).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl<T> Deref for Response<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.data
    }
}

/// A prepared operation. Set per-call options, then `.send().await` (or just `.await`).
#[must_use = "a request does nothing until it is sent"]
pub struct RequestBuilder<T> {
    client: Client,
    op: Result<Op>,
    opts: CallOptions,
    _t: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for RequestBuilder<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestBuilder")
            .field("op", &self.op.as_ref().map(|o| o.name))
            .finish_non_exhaustive()
    }
}

impl<T: DeserializeOwned + Send + 'static> RequestBuilder<T> {
    pub(crate) fn new(client: &Client, op: Result<Op>) -> Self {
        RequestBuilder {
            client: client.clone(),
            op,
            opts: CallOptions::default(),
            _t: PhantomData,
        }
    }

    /// Use this idempotency key (eCom: `X-Request-Id`) instead of a generated one.
    /// Reuse a key to retry an operation safely after an error.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.opts.idempotency_key = Some(key.into());
        self
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

    /// Sends the request (with retries) and parses the response.
    pub async fn send(self) -> Result<Response<T>> {
        let op = self.op?;
        self.client.execute(op, self.opts).await
    }
}

impl<T: DeserializeOwned + Send + 'static> IntoFuture for RequestBuilder<T> {
    type Output = Result<Response<T>>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// A call's success, its body not decoded yet.
pub(crate) struct Exchanged {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: bytes::Bytes,
    pub(crate) idempotency_key: Option<String>,
    pub(crate) attempts: u32,
    /// The operation's method and path, for the error context if decoding fails.
    method: Method,
    path: String,
}

/// How an attempt fell short of a success.
enum AttemptError {
    /// The server answered with an error status.
    Answer {
        status: u16,
        headers: HeaderMap,
        body: bytes::Bytes,
    },
    /// No complete answer: the error, and what it means for retrying.
    Failed(ErrorKind, AttemptOutcome),
    /// An answer too large to read: not retried, as the next would most likely be too.
    TooLarge(ErrorKind),
}

/// The key every attempt of a call carries: the caller's or a new UUID, checked against the
/// header's rules; none for operations without an idempotency header.
fn choose_key(idempotency: Idempotency, given: Option<&str>) -> Result<Option<String>> {
    let Some((name, max)) = idempotency.header() else {
        return Ok(None);
    };
    let key = given.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    if key.is_empty() || key.len() > max || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::validation(vipps_types::ValidationError::new(
            name,
            format!("must be 1 to {max} printable ASCII characters"),
        )));
    }
    Ok(Some(key))
}

/// The retry bookkeeping of one call.
struct Retries<'a> {
    policy: &'a RetryPolicy,
    /// A read, or a write with an idempotency key: safe to send again.
    repeatable: bool,
    started: Instant,
    /// Attempts sent so far.
    attempts: u32,
    /// The attempts that count against the policy (the 401 refresh does not).
    counted: u32,
    refreshed_after_401: bool,
}

impl<'a> Retries<'a> {
    fn new(policy: &'a RetryPolicy, repeatable: bool) -> Self {
        Retries {
            policy,
            repeatable,
            started: Instant::now(),
            attempts: 0,
            counted: 0,
            refreshed_after_401: false,
        }
    }

    /// Counts a new attempt; its number (1-based).
    fn begin_attempt(&mut self) -> u32 {
        self.attempts += 1;
        self.counted += 1;
        self.attempts
    }

    /// Whether to fetch a new token and repeat at once: the token of a `401` may have been
    /// revoked or expired early. Once per call, and not counted as a retry.
    /// Only for calls safe to repeat: a 401 does not prove the call had no effect (a gateway
    /// may answer it after the backend acted), and a keyless write sent again could act twice.
    fn refresh_token_once(&mut self, auth: Auth, status: u16) -> bool {
        if status != 401 || !auth.is_bearer() || self.refreshed_after_401 || !self.repeatable {
            return false;
        }
        self.refreshed_after_401 = true;
        self.counted -= 1;
        true
    }

    fn decide(&self, outcome: &AttemptOutcome) -> Decision {
        let jitter: f64 = rand::random();
        decide(
            self.policy,
            self.counted,
            outcome,
            self.repeatable,
            self.started.elapsed(),
            jitter,
        )
    }
}

/// `e` with what the call was: its key, operation and attempts.
fn context(e: Error, op: &Op, key: &Option<String>, attempts: u32) -> Error {
    e.with_context(key.clone(), format!("{} {}", op.method, op.path), attempts)
}

fn attempt_span(op: &Op, attempt: u32) -> tracing::Span {
    tracing::info_span!(
        "vipps.request",
        op = op.name,
        method = %op.method,
        path = %op.path,
        attempt,
        status = tracing::field::Empty,
        duration_ms = tracing::field::Empty,
    )
}

/// A complete answer: its status and body when it is a success.
// The error is moved once per attempt, as the attempt's result was before; boxing it would
// add an allocation to every failed attempt.
#[allow(clippy::result_large_err)]
fn by_status(
    head: http::response::Parts,
    body: bytes::Bytes,
) -> std::result::Result<(u16, HeaderMap, bytes::Bytes), AttemptError> {
    let status = head.status.as_u16();
    if (200..300).contains(&status) {
        Ok((status, head.headers, body))
    } else {
        Err(AttemptError::Answer {
            status,
            headers: head.headers,
            body,
        })
    }
}

/// What a failed attempt makes: the error to report, and the outcome to decide a retry by.
fn classify(failed: AttemptError, span: &tracing::Span) -> (ErrorKind, AttemptOutcome) {
    match failed {
        AttemptError::Answer { status, headers, body } => {
            tracing::debug!(parent: span, status, "vipps request answered with an error");
            api_error(status, &headers, &body)
        }
        AttemptError::Failed(kind, outcome) => {
            tracing::debug!(parent: span, outcome = ?outcome, "vipps request failed");
            (kind, outcome)
        }
        AttemptError::TooLarge(kind) => {
            tracing::debug!(parent: span, "vipps request answered with a body over the limit");
            (kind, AttemptOutcome::TimedOutOrBroken)
        }
    }
}

/// An error answer as an [`ErrorKind::Api`] (problem details and at most 4 KiB of the body),
/// and its `Retry-After`.
fn api_error(status: u16, headers: &HeaderMap, body: &[u8]) -> (ErrorKind, AttemptOutcome) {
    let retry_after = headers
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, std::time::SystemTime::now()));
    let mut text = String::from_utf8_lossy(&body[..body.len().min(4096)]).into_owned();
    text.truncate(4096);
    let problem = parse_problem(status, body);
    (
        ErrorKind::Api {
            status,
            problem,
            body: text,
        },
        AttemptOutcome::Status { status, retry_after },
    )
}

/// A problem with only a title (the gateway's `message`) and the HTTP status.
fn titled(status: u16, title: &str) -> Problem {
    let mut p = Problem::default();
    p.title = Some(title.to_owned());
    p.status = Some(status);
    p
}

/// Turns an error body into problem details: RFC 7807, Checkout's variant, the gateway's
/// `{statusCode, message}`, or eCom's error array.
pub(crate) fn parse_problem(status: u16, body: &[u8]) -> Option<Problem> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    match &v {
        serde_json::Value::Object(m) => {
            if m.contains_key("title") || m.contains_key("type") || m.contains_key("errorCode") {
                let mut p: Problem = serde_json::from_value(v.clone()).ok()?;
                p.status.get_or_insert(status);
                recurring_problem_fields(&mut p, m);
                Some(p)
            } else if let Some(msg) = m.get("message").and_then(|m| m.as_str()) {
                Some(titled(status, msg))
            } else {
                v.pointer("/result/message")
                    .and_then(|m| m.as_str())
                    .map(|msg| titled(status, msg))
            }
        }
        serde_json::Value::Array(items) => {
            // eCom: [{errorGroup, errorCode, errorMessage, contextId}]
            let first = items.first()?.as_object()?;
            let s = |k: &str| first.get(k).and_then(|v| v.as_str()).map(str::to_owned);
            let extra = items
                .iter()
                .filter_map(|i| i.as_object())
                .map(|i| {
                    let text = |k: &str| i.get(k).and_then(|v| v.as_str()).unwrap_or_default();
                    vipps_types::ExtraDetail::new(text("errorCode"), text("errorMessage"))
                })
                .collect();
            let mut p = Problem::default();
            p.type_ = s("errorGroup");
            p.title = s("errorMessage");
            p.status = Some(status);
            p.trace_id = s("contextId");
            p.error_code = s("errorCode");
            p.extra_details = extra;
            Some(p)
        }
        _ => None,
    }
}

/// Recurring's problems (`ErrorV3`) name the trace id `contextId` and their
/// `extraDetails` entries `{field, text}`: carried over into the [`Problem`]'s `trace_id` and
/// `extra_details` (`name`, `reason`) where those are empty.
fn recurring_problem_fields(p: &mut Problem, m: &serde_json::Map<String, serde_json::Value>) {
    let text = |v: &serde_json::Value, k: &str| v.get(k).and_then(|t| t.as_str()).map(str::to_owned);
    if p.trace_id.is_none() {
        p.trace_id = m.get("contextId").and_then(|t| t.as_str()).map(str::to_owned);
    }
    if let Some(items) = m.get("extraDetails").and_then(|d| d.as_array()) {
        for (detail, raw) in p.extra_details.iter_mut().zip(items) {
            if detail.name.is_empty() {
                detail.name = text(raw, "field").unwrap_or_default();
            }
            if detail.reason.is_empty() {
                detail.reason = text(raw, "text").unwrap_or_default();
            }
        }
    }
}

fn header_value(v: &str, sensitive: bool) -> Result<HeaderValue> {
    let mut h =
        HeaderValue::from_str(v).map_err(|_| Error::config("a header value has characters HTTP does not allow"))?;
    h.set_sensitive(sensitive);
    Ok(h)
}

impl Client {
    pub(crate) async fn execute<T: DeserializeOwned>(&self, op: Op, opts: CallOptions) -> Result<Response<T>> {
        let raw = self.execute_raw(op, opts).await?;
        let data = decode::<T>(raw.status, &raw.body).map_err(|e| {
            e.with_context(
                raw.idempotency_key.clone(),
                format!("{} {}", raw.method, raw.path),
                raw.attempts,
            )
        })?;
        Ok(Response {
            data,
            status: raw.status,
            headers: raw.headers,
            idempotency_key: raw.idempotency_key,
            attempts: raw.attempts,
        })
    }

    /// The attempt loop: choose the key, then attempt, classify, and retry or stop. Boxed
    /// (and so explicitly `Send`) because fetching the access token goes through it too.
    pub(crate) fn execute_raw(
        &self,
        op: Op,
        opts: CallOptions,
    ) -> Pin<Box<dyn Future<Output = Result<Exchanged>> + Send + '_>> {
        Box::pin(async move {
            let key = choose_key(op.idempotency, opts.idempotency_key.as_deref())?;
            let per_attempt = opts.timeout.unwrap_or(self.inner.config.request_timeout);
            let mut retries = Retries::new(
                opts.retry.as_ref().unwrap_or(&self.inner.config.retry),
                op.safe || key.is_some(),
            );
            loop {
                let attempts = retries.begin_attempt();
                let token = self
                    .token_for(op.auth)
                    .await
                    .map_err(|e| context(e, &op, &key, attempts - 1))?;
                let span = attempt_span(&op, attempts);
                let result = self
                    .traced_attempt(&op, key.as_deref(), token.as_ref(), per_attempt, &span)
                    .await
                    .map_err(|e| context(e, &op, &key, attempts))?;
                let failed = match result {
                    Ok((status, headers, body)) => {
                        span.record("status", status);
                        tracing::debug!(parent: &span, "vipps request succeeded");
                        return Ok(Exchanged {
                            status,
                            headers,
                            body,
                            idempotency_key: key,
                            attempts,
                            method: op.method,
                            path: op.path,
                        });
                    }
                    Err(failed) => failed,
                };
                if let AttemptError::Answer { status, .. } = failed {
                    span.record("status", status);
                    if status == 401 && op.auth.is_bearer() {
                        // Repeated or not, the next call should not carry the refused token.
                        if let Some(t) = &token {
                            self.inner.tokens.invalidate(&t.token);
                        }
                    }
                    if retries.refresh_token_once(op.auth, status) {
                        tracing::debug!(parent: &span, "401: refreshing the access token once");
                        continue;
                    }
                }
                let final_ = matches!(failed, AttemptError::TooLarge(_));
                let (kind, outcome) = classify(failed, &span);
                let decision = if final_ {
                    Decision::Stop
                } else {
                    retries.decide(&outcome)
                };
                match decision {
                    Decision::RetryAfter(wait) => {
                        tracing::debug!(
                            op = op.name,
                            attempt = attempts,
                            wait_ms = wait.as_millis() as u64,
                            "retrying"
                        );
                        tokio::time::sleep(wait).await;
                    }
                    Decision::Stop => return Err(context(Error::new(kind), &op, &key, attempts)),
                }
            }
        })
    }

    /// The access token an attempt carries, for operations that take one.
    async fn token_for(&self, auth: Auth) -> Result<Option<Bearer>> {
        if auth.is_bearer() {
            self.bearer_token().await.map(Some)
        } else {
            Ok(None)
        }
    }

    /// One attempt inside its span, which gets the attempt's duration.
    async fn traced_attempt(
        &self,
        op: &Op,
        key: Option<&str>,
        token: Option<&Bearer>,
        timeout: Duration,
        span: &tracing::Span,
    ) -> Result<std::result::Result<(u16, HeaderMap, bytes::Bytes), AttemptError>> {
        let t0 = Instant::now();
        let attempt = self.attempt(op, key, token, timeout);
        // Entering a span nobody listens to still costs on every poll (with tracing's
        // `log` feature, which axum turns on, a check of the `log` crate's level).
        let result = if span.is_disabled() {
            attempt.await
        } else {
            attempt.instrument(span.clone()).await
        }?;
        span.record("duration_ms", t0.elapsed().as_millis() as u64);
        Ok(result)
    }

    /// One attempt: build the request, exchange it within the timeout, sort the answer.
    async fn attempt(
        &self,
        op: &Op,
        key: Option<&str>,
        token: Option<&Bearer>,
        timeout: Duration,
    ) -> Result<std::result::Result<(u16, HeaderMap, bytes::Bytes), AttemptError>> {
        let req = self.request_for(op, key, token)?;
        Ok(match self.exchange_within(req, timeout).await {
            Ok((head, body)) => by_status(head, body),
            Err(failed) => Err(failed),
        })
    }

    /// The request of one attempt of `op`.
    fn request_for(&self, op: &Op, key: Option<&str>, token: Option<&Bearer>) -> Result<http::Request<Body>> {
        let uri = self.inner.base.uri(&op.path, op.query.as_deref())?;
        let headers = self.headers_for(op, key, token)?;
        let body = op.body.clone().unwrap_or_default();
        let mut req = http::Request::new(Body::new(body));
        *req.method_mut() = op.method.clone();
        *req.uri_mut() = uri;
        *req.headers_mut() = headers;
        Ok(req)
    }

    /// The headers of one attempt: the fixed ones `op`'s authentication takes, its
    /// credentials, its idempotency key and its body's framing.
    fn headers_for(&self, op: &Op, key: Option<&str>, token: Option<&Bearer>) -> Result<HeaderMap> {
        let fixed = &self.inner.fixed_headers;
        let mut headers = match (op.auth, op.msn) {
            (Auth::Basic, _) => fixed.basic.clone(),
            (Auth::BearerWithoutKey, _) => fixed.without_key.clone(),
            (_, true) => fixed.with_msn.clone(),
            (_, false) => fixed.without_msn.clone(),
        };
        match (op.auth, token) {
            (Auth::Bearer | Auth::BearerWithoutKey, Some(t)) => {
                headers.insert(http::header::AUTHORIZATION, t.header.clone());
            }
            (Auth::Basic, _) => {}
            _ => headers.extend(fixed.client_credentials.clone()),
        }
        if !op.headers.is_empty() {
            headers.extend(op.headers.clone());
        }
        if let (Some((name, _)), Some(k)) = (op.idempotency.header(), key) {
            headers.insert(name, header_value(k, false)?);
        }
        if op.body.is_some() {
            headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(op.content_type));
        } else if op.method == Method::POST || op.method == Method::PUT || op.method == Method::PATCH {
            headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from_static("0"));
        }
        Ok(headers)
    }

    /// Sends `req` and reads the whole answer, all within `timeout`.
    #[allow(clippy::result_large_err)] // as `by_status`
    async fn exchange_within(
        &self,
        mut req: http::Request<Body>,
        timeout: Duration,
    ) -> std::result::Result<(http::response::Parts, bytes::Bytes), AttemptError> {
        // A deadline no longer than the connect timeout can end the attempt while it is still
        // connecting (a longer one cannot: the connect fails first). Whether it had a
        // connection then tells "not sent" from "may have reached the server"; watching costs
        // an allocation, so only these attempts are watched.
        let watch = (timeout <= self.inner.config.connect_timeout).then(|| ConnectWatch::new(&mut req));
        let failure = match tokio::time::timeout(
            timeout,
            self.inner.http.exchange(req, self.inner.config.max_response_bytes),
        )
        .await
        {
            Ok(Ok(answer)) => return Ok(answer),
            Ok(Err(failure)) => failure,
            Err(_elapsed) if watch.is_some_and(|w| !w.connected()) => {
                Failure::Connect(NetworkError::new(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!(
                        "not connected within the attempt's timeout of {} ms",
                        timeout.as_millis()
                    ),
                )))
            }
            Err(_elapsed) => {
                return Err(AttemptError::Failed(
                    ErrorKind::Timeout,
                    AttemptOutcome::TimedOutOrBroken,
                ))
            }
        };
        Err(match failure {
            Failure::Connect(e) => AttemptError::Failed(ErrorKind::Connect(e), AttemptOutcome::ConnectFailed),
            Failure::Broken(e) => AttemptError::Failed(ErrorKind::Transport(e), AttemptOutcome::TimedOutOrBroken),
            Failure::TooLarge(e) => AttemptError::TooLarge(ErrorKind::Transport(e)),
        })
    }

    /// A fresh access token, from the cache or fetched once for all concurrent callers.
    pub(crate) async fn bearer_token(&self) -> Result<Bearer> {
        let this = self.clone();
        self.inner
            .tokens
            .get(move || async move {
                let op = Op::new("accesstoken.get", Method::POST, "/accesstoken/get")
                    .auth(Auth::ClientCredentials)
                    .idempotency(Idempotency::None);
                let op = Op { safe: true, ..op };
                let raw = this.execute_raw(op, CallOptions::default()).await?;
                decode::<AccessTokenResponse>(raw.status, &raw.body)
            })
            .await
    }

    /// A token from `/miami/v1/token` (not cached: see [`crate::Client::client_credentials_token`]).
    pub(crate) async fn transport_client_credentials_token(
        &self,
        scope: Option<&str>,
    ) -> Result<ClientCredentialsTokenResponse> {
        let mut pairs = vec![("grant_type", "client_credentials")];
        if let Some(s) = scope {
            pairs.push(("scope", s));
        }
        let op = Op::new("miami.token", Method::POST, "/miami/v1/token")
            .auth(Auth::Basic)
            .idempotency(Idempotency::None)
            .form(&pairs);
        let op = Op { safe: true, ..op };
        let raw = self.execute_raw(op, CallOptions::default()).await?;
        decode::<ClientCredentialsTokenResponse>(raw.status, &raw.body)
    }

    pub(crate) fn token_fetch_count(&self) -> u64 {
        self.inner.tokens.fetch_count()
    }
}

pub(crate) fn new_token_cache() -> TokenCache {
    TokenCache::new()
}

/// The base URL, split once into what every request's URI is built from.
pub(crate) struct Base {
    scheme: http::uri::Scheme,
    authority: http::uri::Authority,
    /// The base URL's own path without its trailing slash ("" for a bare host), put in front
    /// of every operation's path.
    path: String,
}

/// What a path may not hold as it is: the same set that `url` encodes in a path.
const PATH: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

impl Base {
    pub(crate) fn new(base_url: &str) -> Result<Base> {
        let invalid = |e: &dyn std::fmt::Display| Error::config(format!("base URL is not valid: {e}"));
        let url = url::Url::parse(base_url).map_err(|e| invalid(&e))?;
        let scheme = url.scheme().parse().map_err(|e| invalid(&e))?;
        let authority = url[url::Position::BeforeHost..url::Position::AfterPort]
            .parse()
            .map_err(|e| invalid(&e))?;
        Ok(Base {
            scheme,
            authority,
            path: url.path().trim_end_matches('/').to_owned(),
        })
    }

    /// The URI of `path` (which starts with `/`) under the base URL, with `query` (encoded).
    fn uri(&self, path: &str, query: Option<&str>) -> Result<http::Uri> {
        let query_len = query.map_or(0, |q| q.len() + 1);
        let mut full = String::with_capacity(self.path.len() + path.len() + query_len);
        full.push_str(&self.path);
        full.extend(percent_encoding::utf8_percent_encode(path, PATH));
        if let Some(q) = query {
            full.push('?');
            full.push_str(q);
        }
        let invalid = |e: &dyn std::fmt::Display| Error::config(format!("request path is not valid: {e}"));
        let mut parts = http::uri::Parts::default();
        parts.scheme = Some(self.scheme.clone());
        parts.authority = Some(self.authority.clone());
        parts.path_and_query =
            Some(http::uri::PathAndQuery::from_maybe_shared(bytes::Bytes::from(full)).map_err(|e| invalid(&e))?);
        http::Uri::from_parts(parts).map_err(|e| invalid(&e))
    }
}

/// Headers that are the same on every request, built once per client.
pub(crate) struct FixedHeaders {
    with_msn: HeaderMap,
    without_msn: HeaderMap,
    client_credentials: HeaderMap,
    /// For `/miami/v1/token`: `Authorization: Basic …`, the MSN and system headers, and no
    /// subscription key (the flow refuses one).
    basic: HeaderMap,
    /// For the Userinfo API: the MSN and system headers, no subscription key.
    without_key: HeaderMap,
}

impl FixedHeaders {
    pub(crate) fn new(cfg: &Config, base: &Base) -> Result<Self> {
        let mut without_msn = HeaderMap::new();
        // Set here once, hyper would format it for every request.
        without_msn.insert(http::header::HOST, header_value(base.authority.as_str(), false)?);
        without_msn.insert(
            "Ocp-Apim-Subscription-Key",
            header_value(cfg.subscription_key.expose(), true)?,
        );
        for (k, v) in cfg.system.headers() {
            without_msn.insert(k, header_value(v, false)?);
        }
        without_msn.insert(http::header::USER_AGENT, header_value(&cfg.user_agent, false)?);
        without_msn.insert(http::header::ACCEPT, HeaderValue::from_static("application/json"));
        let mut with_msn = without_msn.clone();
        with_msn.insert(
            "Merchant-Serial-Number",
            header_value(&cfg.merchant_serial_number, false)?,
        );
        let mut client_credentials = HeaderMap::new();
        client_credentials.insert("client_id", header_value(&cfg.client_id, false)?);
        client_credentials.insert("client_secret", header_value(cfg.client_secret.expose(), true)?);
        let mut without_key = with_msn.clone();
        without_key.remove("Ocp-Apim-Subscription-Key");
        let mut basic = without_key.clone();
        let pair = format!("{}:{}", cfg.client_id, cfg.client_secret.expose());
        let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
        basic.insert(
            http::header::AUTHORIZATION,
            header_value(&format!("Basic {encoded}"), true)?,
        );
        Ok(FixedHeaders {
            with_msn,
            without_msn,
            client_credentials,
            basic,
            without_key,
        })
    }
}

fn decode<T: DeserializeOwned>(status: u16, body: &[u8]) -> Result<T> {
    let body: &[u8] = if body.iter().all(|b| b.is_ascii_whitespace()) {
        b"null"
    } else {
        body
    };
    // Fast path; on failure, parse again to name the JSON path that failed. The body is
    // checked as UTF-8 once, as a whole: `from_slice` would check every string on its own,
    // which made a fifth of the decoding time of a get-payment answer.
    if let Ok(Ok(v)) = std::str::from_utf8(body).map(serde_json::from_str::<T>) {
        return Ok(v);
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        Error::new(ErrorKind::Decode {
            status,
            message: format!("at `{path}`: {}", e.inner()),
        })
    })
}

#[allow(dead_code)]
pub(crate) fn config_of(c: &Client) -> &Config {
    &c.inner.config
}

#[cfg(test)]
mod tests {
    use super::*;
    use vipps_types::Amount;

    #[test]
    fn decode_reads_utf8_and_names_what_is_wrong_otherwise() {
        let a: Amount = decode(200, br#"{"currency":"NOK","value":5}"#).unwrap();
        assert_eq!(a, Amount::nok(5));
        // Not UTF-8 inside a string: a decode error, as before the fast path checked the
        // body as a whole.
        let e = decode::<Amount>(200, b"{\"currency\":\"N\xffK\",\"value\":5}").unwrap_err();
        match e.kind() {
            ErrorKind::Decode { status: 200, message } => assert!(message.contains("currency"), "{message}"),
            k => panic!("unexpected {k:?}"),
        }
    }

    #[test]
    fn recurring_problems_keep_their_context_id_and_field_details() {
        let body = br#"{"type":"https://developer.vippsmobilepay.com/docs/APIs/recurring-api/recurring-api-problems#validation-error",
            "title":"Bad Request","status":400,"detail":"Input validation failed","instance":"/v3/agreements",
            "contextId":"f70b8bf7-c843-4bea-95d9-94725b19895f",
            "extraDetails":[{"field":"productName","text":"must not be empty"}]}"#;
        let p = parse_problem(400, body).expect("an RFC 7807 problem");
        assert_eq!(p.trace_id.as_deref(), Some("f70b8bf7-c843-4bea-95d9-94725b19895f"));
        assert_eq!(p.detail.as_deref(), Some("Input validation failed"));
        assert_eq!(p.extra_details.len(), 1);
        assert_eq!(p.extra_details[0].name, "productName");
        assert_eq!(p.extra_details[0].reason, "must not be empty");
        // A traceId wins over a contextId; ePayment's {name, reason} stay as they are.
        let both =
            br#"{"title":"x","traceId":"t-1","contextId":"c-1","extraDetails":[{"name":"ErrorCode","reason":"6080"}]}"#;
        let p = parse_problem(409, both).unwrap();
        assert_eq!(p.trace_id.as_deref(), Some("t-1"));
        assert_eq!(p.error_code(), Some(6080));
    }
}
