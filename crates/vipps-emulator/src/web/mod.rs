//! Request plumbing shared by the handlers: body limits, header checks, authentication,
//! JSON parsing with field paths, and the logging middleware.

pub(crate) mod durable;
pub(crate) mod faults;
mod inbound;
mod rejection;

pub(crate) use inbound::{inbound, inbound_up_to, Credentials, Inbound};
pub(crate) use rejection::{timed_out, Rejection};

use crate::core::config::{is_msn, BodyLimits, Merchant};
use crate::core::error::{ApiError, Stored};
use crate::core::jwt::TokenKind;
use crate::core::state::AppState;
use axum::body::{Body, HttpBody};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde::de::DeserializeOwned;
use std::pin::Pin;
use subtle::ConstantTimeEq;

/// How much of an oversized body is read (and discarded) so the client sees a clean 413.
const DRAIN_LIMIT: usize = 16 * 1024 * 1024;

/// The `Vipps-System-*` headers, each at most 30 characters.
const SYSTEM_HEADERS: [HeaderName; 4] = [
    HeaderName::from_static("vipps-system-name"),
    HeaderName::from_static("vipps-system-version"),
    HeaderName::from_static("vipps-system-plugin-name"),
    HeaderName::from_static("vipps-system-plugin-version"),
];
/// `Ocp-Apim-Subscription-Key` (header names built once: looking one up by `&str` parses it
/// on every call).
pub(crate) const SUBSCRIPTION_KEY: HeaderName = HeaderName::from_static("ocp-apim-subscription-key");
/// `Merchant-Serial-Number`.
pub(crate) const MERCHANT_SERIAL_NUMBER: HeaderName = HeaderName::from_static("merchant-serial-number");
/// `Idempotency-Key`.
pub(crate) const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// Reads the whole body, refusing more than `limits.max_bytes` bytes with 413 and a body that
/// is not whole within `limits.timeout` with 408 (a client dripping its body cannot hold a
/// worker and its buffer for ever).
pub(crate) async fn read_body(body: Body, headers: &HeaderMap, limits: BodyLimits) -> Result<Bytes, Rejection> {
    let declared = header_str(headers, header::CONTENT_LENGTH).and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > DRAIN_LIMIT as u64) {
        return Err(Rejection::TooLarge(limits.max_bytes));
    }
    match tokio::time::timeout(limits.timeout, collect_body(body, limits.max_bytes)).await {
        Ok(read) => read,
        Err(_) => Err(Rejection::TimedOut(limits.timeout.as_millis() as u64)),
    }
}

/// Collects the body's data frames, keeping at most `limit` bytes and reading (to discard) at
/// most `DRAIN_LIMIT`.
async fn collect_body(mut body: Body, limit: usize) -> Result<Bytes, Rejection> {
    let mut buf = BytesMut::new();
    let mut total = 0usize;
    loop {
        let frame = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await;
        match frame {
            None => break,
            Some(Err(e)) => {
                return Err(Rejection::Unreadable(format!(
                    "The request body could not be read: {e}"
                )))
            }
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    total = total.saturating_add(data.len());
                    if total > DRAIN_LIMIT {
                        break;
                    }
                    if total <= limit {
                        buf.extend_from_slice(&data);
                    }
                }
            }
        }
    }
    if total > limit {
        return Err(Rejection::TooLarge(limit));
    }
    Ok(buf.freeze())
}

/// A request taken apart into its URI, headers and body. Handlers take the request whole and
/// split it: the `Uri` and `HeaderMap` extractors would copy both.
pub(crate) fn split(req: Request) -> (http::Uri, HeaderMap, Body) {
    let (parts, body) = req.into_parts();
    (parts.uri, parts.headers, body)
}

/// A header as a string, if present and valid.
pub(crate) fn header_str(headers: &HeaderMap, name: impl http::header::AsHeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// `Vipps-System-*` headers must be at most 30 characters.
pub(crate) fn check_system_headers(headers: &HeaderMap) -> Result<(), Rejection> {
    for name in &SYSTEM_HEADERS {
        if let Some(v) = headers.get(name) {
            let len = v.to_str().map(|s| s.chars().count()).unwrap_or(v.len());
            if len > 30 {
                let display = display_header(name.as_str());
                return Err(Rejection::header(
                    display,
                    format!("must be at most 30 characters (was {len})"),
                    None,
                ));
            }
        }
    }
    Ok(())
}

fn display_header(lower: &str) -> String {
    lower
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// Constant-time string equality.
pub(crate) fn secure_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Checks `Authorization: Bearer <jwt>`, the subscription key and the `Merchant-Serial-Number`
/// of an ePayment call, and returns the merchant the token belongs to.
pub(crate) fn authenticate<'s>(state: &'s AppState, headers: &HeaderMap) -> Result<&'s Merchant, Rejection> {
    let Some(auth) = header_str(headers, header::AUTHORIZATION) else {
        return Err(Rejection::unauthorized(
            "Missing Authorization header: send 'Authorization: Bearer <access token>'",
        ));
    };
    let Some(token) = auth.strip_prefix("Bearer ") else {
        return Err(Rejection::unauthorized(
            "The Authorization header must be 'Bearer <access token>' (the word Bearer is case-sensitive)",
        ));
    };
    let claims = state
        .signer()
        .verify(token.trim(), state.clock().now())
        .map_err(|e| Rejection::unauthorized(format!("Invalid access token: {e}")))?;
    // The two token endpoints are not interchangeable (access-token--overview-2026.md): the
    // specialized flow serves the Report, Sales and Donations APIs, none of which is emulated.
    if claims.kind == TokenKind::Specialized {
        return Err(Rejection::unauthorized(
            "Invalid access token: this token is from POST /miami/v1/token (specialized authentication); \
             this API takes a token from POST /accesstoken/get (standard authentication)",
        ));
    }
    let merchant = state
        .merchant_by_client_id(&claims.sub)
        .filter(|m| m.msn == claims.msn)
        .ok_or_else(|| Rejection::unauthorized("Invalid access token: unknown client"))?;
    let Some(key) = header_str(headers, &SUBSCRIPTION_KEY) else {
        return Err(Rejection::unauthorized(
            "Access denied due to missing subscription key. Send the Ocp-Apim-Subscription-Key header.",
        ));
    };
    if !secure_eq(key, &merchant.subscription_key) {
        return Err(Rejection::unauthorized(
            "Access denied due to invalid subscription key: it must belong to the same sales unit as the access token.",
        ));
    }
    let Some(msn) = header_str(headers, &MERCHANT_SERIAL_NUMBER) else {
        return Err(Rejection::header(
            "Merchant-Serial-Number",
            "the header is required",
            Some(4140),
        ));
    };
    if !is_msn(msn) {
        return Err(Rejection::header(
            "Merchant-Serial-Number",
            "must match ^[0-9]{4,6}$",
            None,
        ));
    }
    if msn != merchant.msn {
        return Err(Rejection::forbidden(format!(
            "The access token is not valid for Merchant-Serial-Number {msn}"
        )));
    }
    Ok(merchant)
}

/// Whether an `Idempotency-Key` is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyRule {
    /// Required (ePayment create, capture, refund).
    Required,
    /// Optional but honoured (ePayment cancel, Checkout, Webhooks).
    Optional,
}

/// Reads and checks the `Idempotency-Key` header (at most 50 characters).
pub(crate) fn idempotency_key(headers: &HeaderMap, rule: KeyRule) -> Result<Option<String>, Rejection> {
    let raw = match headers.get(&IDEMPOTENCY_KEY) {
        None => None,
        Some(v) => match v.to_str() {
            Ok(s) => Some(s.trim()),
            Err(_) => {
                return Err(Rejection::header(
                    "Idempotency-Key",
                    "must be visible ASCII characters",
                    None,
                ))
            }
        },
    };
    match raw {
        None | Some("") if rule == KeyRule::Required => Err(Rejection::header(
            "Idempotency-Key",
            "the header is required",
            Some(4140),
        )),
        None | Some("") => Ok(None),
        Some(k) if k.chars().count() > 50 => Err(Rejection::header(
            "Idempotency-Key",
            "must be at most 50 characters",
            None,
        )),
        Some(k) => Ok(Some(k.to_owned())),
    }
}

/// Whether the body (if any) is declared as JSON.
fn check_json_content_type(headers: &HeaderMap) -> Result<(), Rejection> {
    let ct = header_str(headers, header::CONTENT_TYPE).unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    // `text/json` and `application/*+json` are listed next to `application/json` in the
    // Checkout reference.
    if mime == "application/json"
        || mime == "text/json"
        || (mime.starts_with("application/") && mime.ends_with("+json"))
    {
        Ok(())
    } else {
        Err(Rejection::NotJson(format!(
            "The body must be JSON with Content-Type: application/json (was '{}')",
            if ct.is_empty() { "none" } else { ct }
        )))
    }
}

tokio::task_local! {
    /// Set (to true) around each request when the emulator runs with `lenient_fields`: the
    /// parsers of every API read it here, so none of them needs the state passed in.
    static LENIENT_FIELDS: bool;
}

/// The middleware of `lenient_fields`: unknown request-body fields are ignored, not refused.
pub(crate) async fn lenient_fields(req: Request, next: Next) -> Response {
    LENIENT_FIELDS.scope(true, next.run(req)).await
}

/// A field path as `a.b[0].c`, the shape `serde_path_to_error` names problems in.
fn ignored_path(p: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path as P;
    match p {
        P::Root => String::new(),
        P::Seq { parent, index } => format!("{}[{index}]", ignored_path(parent)),
        P::Map { parent, key } => {
            let parent = ignored_path(parent);
            if parent.is_empty() {
                key.clone()
            } else {
                format!("{parent}.{key}")
            }
        }
        P::Some { parent } | P::NewtypeStruct { parent } | P::NewtypeVariant { parent } => ignored_path(parent),
    }
}

/// Parses a JSON body into `T`, naming the JSON path of the first problem. An empty body is `None`.
/// A field `T` does not define is refused ("The API rejects unknown fields",
/// knowledge-base--platform-best-practices-2026.md) unless the emulator runs with
/// `lenient_fields`.
pub(crate) fn parse_json<T: DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<Option<T>, Rejection> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(None);
    }
    check_json_content_type(headers)?;
    // Every request body of these APIs is an object (serde would also accept a struct as an array).
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(Rejection::body("body", "must be a JSON object", None));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let mut unknown = Vec::new();
    let parsed = if LENIENT_FIELDS.try_with(|l| *l).unwrap_or(false) {
        serde_path_to_error::deserialize(&mut de)
    } else {
        let mut note = |p: serde_ignored::Path<'_>| unknown.push(ignored_path(&p));
        serde_path_to_error::deserialize(serde_ignored::Deserializer::new(&mut de, &mut note))
    };
    let value: T = match parsed {
        Ok(v) => v,
        Err(e) => return Err(json_error(e)),
    };
    if let Err(e) = de.end() {
        return Err(Rejection::body("body", format!("not valid JSON: {e}"), None));
    }
    if let Some(first) = unknown.first() {
        let mut reason = "unknown field: the API rejects fields it does not define".to_owned();
        if unknown.len() > 1 {
            reason.push_str(&format!(" (also unknown: {})", unknown[1..].join(", ")));
        }
        return Err(Rejection::body(first.clone(), reason, None));
    }
    Ok(Some(value))
}

fn json_error(e: serde_path_to_error::Error<serde_json::Error>) -> Rejection {
    let inner = e.inner();
    let message = inner.to_string();
    // A syntax error or a body cut short is the whole body's problem, not the field where the
    // parser happened to stop: it is no JSON document at all.
    if inner.is_syntax() || inner.is_eof() {
        return Rejection::body("body", format!("not valid JSON: {message}"), None);
    }
    let mut path = e.path().to_string();
    if let Some(rest) = message.strip_prefix("missing field `") {
        if let Some(field) = rest.split('`').next() {
            path = if path == "." {
                field.to_owned()
            } else {
                format!("{path}.{field}")
            };
        }
    }
    // Unknown segments (a broken key, say) show as `?`: name the part before them.
    while let Some(stripped) = path.strip_suffix(".?").or_else(|| path.strip_suffix('?')) {
        path = stripped.to_owned();
    }
    if path == "." || path.is_empty() {
        path = "body".to_owned();
    }
    // ePayment's own code for a metadata key given twice.
    let code = (path == "metadata" && message.starts_with("duplicate key")).then_some(4110);
    Rejection::body(path, message, code)
}

/// A 400 for a missing body.
pub(crate) fn body_required() -> Rejection {
    Rejection::body("body", "a JSON request body is required", Some(4140))
}

/// Turns a handler result into a response, rendering errors as problems for `instance`.
pub(crate) fn respond(instance: &str, r: Result<Stored, ApiError>) -> Response {
    match r {
        Ok(s) => s.into_response(),
        Err(e) => e.render(instance).into_response(),
    }
}

/// Logs every request (method, path, status, duration) at info.
pub(crate) async fn observe(req: Request, next: Next) -> Response {
    if !tracing::enabled!(target: "vipps_emulator::http", tracing::Level::INFO) {
        return next.run(req).await;
    }
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let start = std::time::Instant::now();
    let resp = next.run(req).await;
    tracing::info!(
        target: "vipps_emulator::http",
        method = %method,
        path = %path,
        status = resp.status().as_u16(),
        elapsed_ms = start.elapsed().as_millis() as u64,
        "request"
    );
    resp
}

/// The answer when a handler panicked.
pub(crate) fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(target: "vipps_emulator::http", panic = %what, "handler panicked");
    ApiError::internal("The emulator hit an internal error while handling the request")
        .render("")
        .into_response()
}

/// The merchant a control-plane call is about: `?msn=`, else an `msn` from the body, else the
/// default merchant; 404 for an MSN no merchant has.
pub(crate) fn target_msn(state: &AppState, query: Option<&str>, from_body: Option<String>) -> Result<String, ApiError> {
    let from_query = query.and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "msn")
            .map(|(_, v)| v.into_owned())
    });
    match from_query.or(from_body) {
        Some(m) => Ok(state
            .merchant_by_msn(&m)
            .ok_or_else(|| ApiError::no_route(format!("No merchant with MSN {m} is configured")))?
            .msn
            .clone()),
        None => Ok(state.default_merchant().msn.clone()),
    }
}

/// Only links with a harmless scheme are rendered as links.
pub(crate) fn safe_link(url: &str) -> bool {
    let scheme = url.split(':').next().unwrap_or("").to_ascii_lowercase();
    !url.is_empty() && !matches!(scheme.as_str(), "javascript" | "data" | "vbscript" | "file")
}

/// Escapes text for HTML content and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A stored answer as the response (its content type, or none for an empty body).
impl IntoResponse for Stored {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut r = (status, self.body).into_response();
        if self.content_type.is_empty() {
            r.headers_mut().remove(header::CONTENT_TYPE);
        } else {
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        }
        r
    }
}
