//! The fault-injection and rate-limit middleware: applies the rules of
//! [`crate::core::faults::Faults`] to every API request (the control plane is exempt).

use crate::core::config::FaultKind;
use crate::core::error::ApiError;
use crate::core::state::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Duration;

fn dropped() -> Response {
    // A body that fails at once: the server closes the connection without a complete answer.
    let stream = futures::stream::once(async {
        Err::<bytes::Bytes, std::io::Error>(std::io::Error::other("dropped by fault injection"))
    });
    Response::new(Body::from_stream(stream))
}

/// An injected error, in the format of the API that owns `path`.
fn injected(state: &AppState, path: &str, status: u16, detail: &str) -> Response {
    let status = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::SERVICE_UNAVAILABLE);
    let title = status.canonical_reason().unwrap_or("Injected fault");
    state
        .render_error(path, &ApiError::new(status, title, detail))
        .into_response()
}

fn too_many(state: &AppState, path: &str, detail: &str, retry_after: u64) -> Response {
    let error = ApiError::new(http::StatusCode::TOO_MANY_REQUESTS, "Too Many Requests", detail);
    let mut r = state.render_error(path, &error).into_response();
    r.headers_mut()
        .insert(http::header::RETRY_AFTER, http::HeaderValue::from(retry_after));
    r
}

/// The documented limit for a request, and the key it is counted under. Each operation has its
/// own budget per reference (epayment--operations-and-rate-limits.md and ecom--api-guide.md,
/// "Rate limiting": one row per operation). An ePayment create without a `reference` (missing,
/// or mis-cased such as `Reference`) counts under one shared empty reference: "every payment
/// counts as the same one and you will hit HTTP 429 immediately" (epayment--error-codes-2026.md).
fn limit_for(method: &str, path: &str, headers: &http::HeaderMap, body_ref: Option<&str>) -> Option<(String, usize)> {
    let seg: Vec<&str> = path.trim_matches('/').split('/').collect();
    let msn = headers
        .get("Merchant-Serial-Number")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let sub = headers
        .get("Ocp-Apim-Subscription-Key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match (method, seg.as_slice()) {
        ("POST", ["epayment", "v1", "payments"]) => Some((format!("ep-create:{msn}:{}", body_ref.unwrap_or("")), 5)),
        ("POST", ["epayment", "v1", "payments", r, op @ ("capture" | "cancel" | "refund")]) => {
            Some((format!("ep-{op}:{msn}:{r}"), 5))
        }
        ("GET", ["epayment", "v1", "payments", r]) => Some((format!("ep-get:{sub}:{r}"), 120)),
        ("GET", ["epayment", "v1", "payments", r, "events"]) => Some((format!("ep-events:{sub}:{r}"), 120)),
        ("POST", ["ecomm", "v2", "payments"]) => body_ref.map(|r| (format!("ec-initiate:{msn}:{r}"), 2)),
        ("POST" | "PUT", ["ecomm", "v2", "payments", o, op @ ("capture" | "cancel" | "refund")]) => {
            Some((format!("ec-{op}:{msn}:{o}"), 5))
        }
        ("GET", ["ecomm", "v2", "payments", o, op @ ("details" | "status")]) => {
            Some((format!("ec-{op}:{sub}:{o}"), 120))
        }
        _ => recurring_limit(method, &seg, headers, sub),
    }
}

/// Recurring's limits (recurring--api-guide.md, "Rate limiting"), per merchant (its
/// subscription key: the `Merchant-Serial-Number` header is optional there) and the key the
/// table names. A charge being created has no id yet: its Idempotency-Key stands for it, as
/// the guide says ("based on idempotency key").
fn recurring_limit(method: &str, seg: &[&str], headers: &http::HeaderMap, sub: &str) -> Option<(String, usize)> {
    let key = headers
        .get("Idempotency-Key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (name, id, limit) = match (method, seg) {
        ("POST", ["recurring", "v3", "agreements"]) => ("draft", String::new(), 300),
        ("GET", ["recurring", "v3", "agreements"]) => ("list", String::new(), 5),
        ("GET", ["recurring", "v3", "agreements", a]) => ("get", a.to_string(), 120),
        ("PATCH", ["recurring", "v3", "agreements", a]) => ("update", a.to_string(), 5),
        ("POST", ["recurring", "v3", "agreements", a, "charges"]) => ("create", format!("{a}:{key}"), 2),
        ("GET", ["recurring", "v3", "agreements", a, "charges"]) => ("charges", a.to_string(), 10),
        ("GET", ["recurring", "v3", "agreements", a, "charges", c]) => ("charge", format!("{a}:{c}"), 10),
        ("DELETE", ["recurring", "v3", "agreements", a, "charges", c]) => ("cancel", format!("{a}:{c}"), 5),
        ("POST", ["recurring", "v3", "agreements", a, "charges", c, op @ ("capture" | "refund")]) => {
            (*op, format!("{a}:{c}"), 5)
        }
        ("GET", ["recurring", "v3", "charges", _]) => ("by-id", String::new(), 100),
        _ => return None,
    };
    Some((format!("rec-{name}:{sub}:{id}"), limit))
}

/// The documented rate limits: the request back (its body re-attached when it was read for
/// the reference), or the 429 answer.
async fn rate_limit(state: &AppState, mut req: Request) -> Result<Request, Response> {
    let path = req.uri().path().to_owned();
    let method = req.method().as_str().to_owned();
    // eCom also routes initiate with a trailing slash; it is counted the same.
    let trimmed = path.trim_end_matches('/');
    let creates = method == "POST" && (trimmed == "/epayment/v1/payments" || trimmed == "/ecomm/v2/payments");
    let mut body_ref = None;
    if creates {
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, state.config().max_body_bytes)
            .await
            .unwrap_or_default();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        body_ref = v
            .get("reference")
            .or_else(|| v.pointer("/transaction/orderId"))
            .and_then(|r| r.as_str())
            .map(str::to_owned);
        req = Request::from_parts(parts, Body::from(bytes));
    }
    if let Some((key, limit)) = limit_for(&method, &path, req.headers(), body_ref.as_deref()) {
        if let Err(wait) = state.faults().count(key, limit, state.clock().now()) {
            return Err(too_many(
                state,
                &path,
                &format!("Too many requests for this reference: at most {limit} per minute."),
                wait,
            ));
        }
    }
    Ok(req)
}

/// The middleware: rate limits, then fault rules. The control plane and pages are exempt.
pub(crate) async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let p = req.uri().path();
    if p.starts_with("/_emulator")
        || !(p.starts_with("/epayment")
            || p.starts_with("/ecomm")
            || p.starts_with("/checkout/v3/session")
            || p.starts_with("/recurring/v3/")
            || p.starts_with("/order-management/v")
            || p.starts_with("/webhooks")
            || p.starts_with("/accesstoken")
            || p.starts_with("/accessToken")
            || p.starts_with("/miami")
            || p.starts_with("/vipps-userinfo-api"))
    {
        return next.run(req).await;
    }
    let faults = state.faults();
    let req = if faults.rate_limits_on() {
        match rate_limit(&state, req).await {
            Ok(req) => req,
            Err(refused) => return refused,
        }
    } else {
        req
    };
    // Borrowed: with no rule set (the usual case) nothing is copied.
    let Some(rule) = faults.pick(req.method().as_str(), req.uri().path()) else {
        return next.run(req).await;
    };
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    tracing::debug!(%method, %path, fault = ?rule.fault, "injecting a fault");
    match rule.fault {
        FaultKind::Status => injected(
            &state,
            &path,
            rule.status.unwrap_or(503),
            "Injected fault: the operation did not run.",
        ),
        FaultKind::RateLimited => too_many(&state, &path, "Injected rate limit.", rule.retry_after.unwrap_or(1)),
        FaultKind::Delay => {
            tokio::time::sleep(Duration::from_millis(rule.delay_ms.unwrap_or(1000))).await;
            next.run(req).await
        }
        FaultKind::Drop => dropped(),
        FaultKind::ApplyThenFail => {
            let _ = next.run(req).await;
            if rule.then.as_deref() == Some("drop") {
                dropped()
            } else {
                injected(
                    &state,
                    &path,
                    rule.status.unwrap_or(500),
                    "Injected fault: the operation ran, the answer was lost.",
                )
            }
        }
    }
}
