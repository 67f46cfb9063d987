//! Webhooks API v1 emulation (`/webhooks/v1/webhooks`) and the delivery of ePayment events to
//! the registered webhooks.
//!
//! - `POST /webhooks/v1/webhooks` → **201** `{id, secret}` (the secret is shown only then;
//!   an `Idempotency-Key` with the same body replays the same answer, with another body 409).
//! - `GET /webhooks/v1/webhooks` → **200** `{webhooks: [{id, url, events}]}`: the caller's
//!   merchant only, never the secret.
//! - `DELETE /webhooks/v1/webhooks/{id}` → **204**; an id that is not the merchant's → 404.
//!
//! Authentication: bearer token and subscription key as for ePayment; `Merchant-Serial-Number`
//! is optional (without it, the token's merchant). Validation errors are 400 problems whose
//! `extraDetails` name the field: `url` (absolute `https://`; `http://` only to a loopback
//! host), `events` (non-empty), `events[i]` (known types only, at most
//! [`MAX_PER_EVENT`] registrations per event type and merchant, [`MAX_PER_EVENT_QR`] for
//! `user.checked-in.v1`). Duplicate registrations of the same URL are allowed; duplicate event
//! types inside one registration are merged.
//!
//! Delivery: the store hands every payment event to this module right after the transaction
//! that recorded it ([`crate::core::store::Store::add_event_sink`]), whatever produced it (ePayment
//! API, landing page, control plane, lazy expiry). Each event goes to every webhook of that
//! merchant registered for its type *at that moment* (a deleted webhook gets nothing more;
//! already queued deliveries still finish), as a `POST` of the ePayment `WebhookEvent` signed
//! per the documented HMAC-SHA256 scheme with the real current time at each attempt. The
//! [`Deliveries`] engine queues it (never blocking the API call), keeps the order per webhook
//! and payment, retries on a non-2xx answer or a timeout with the compressed
//! [`RetrySchedule`] (see [`WebhooksState::set_retry_schedule`]) and logs every attempt at
//! `GET /_emulator/deliveries` (kind `webhook`).

use crate::core::config::Merchant;
use crate::core::error::{ApiError, Stored};
use crate::core::state::{AppState, WeakAppState};
use crate::core::store::Table;
use crate::core::store::{Fingerprint, IdempotencyRecord, IdempotencyScope, Once, PublishedEvent};
use crate::outbound::{AttemptHook, DeliveriesExt, Outbound, RetrySchedule};
use crate::web::{body_required, idempotency_key, inbound, parse_json, respond, Credentials, KeyRule};
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::Response;
use axum::routing::{delete, get};
use axum::Router;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use http::{HeaderMap, StatusCode};
use parking_lot::Mutex;
use rand::RngCore;
use std::fmt;
use std::sync::Arc;
use time::OffsetDateTime;
use vipps_types::epayment::WebhookEvent;
use vipps_types::webhooks::{
    signature, QueryWebhooksResponse, RegisterWebhookRequest, RegisterWebhookResponse, Webhook, WebhookEventType,
};
use vipps_types::Validate;

/// At most this many registrations per event type and merchant (2026 overview).
pub(crate) const MAX_PER_EVENT: usize = 25;

/// At most this many registrations for the QR `user.checked-in.v1` event per merchant.
pub(crate) const MAX_PER_EVENT_QR: usize = 1;

/// A registration whose deliveries have failed for this long, with none delivered since, is
/// deleted (2026 overview: "unresponsive for 2 weeks"). Counted on the emulator's clock, so a
/// test can advance it.
pub(crate) const UNRESPONSIVE_DELETION: time::Duration = time::Duration::days(14);

/// State of the Webhooks emulation, kept in [`AppState`]: the registrations and the retry
/// schedule of deliveries.
#[derive(Debug, Default)]
pub(crate) struct WebhooksState {
    /// `None`: the default schedule. A leaf lock (nothing is locked while it is held).
    schedule: Mutex<Option<RetrySchedule>>,
}

/// The registrations, a table of the store.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    /// Oldest first.
    hooks: Vec<Registration>,
}

#[derive(Clone)]
struct Registration {
    id: String,
    msn: String,
    url: String,
    events: Vec<WebhookEventType>,
    secret: Arc<str>,
    /// When the first delivery attempt failed since the last one that succeeded.
    failing_since: Option<OffsetDateTime>,
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("id", &self.id)
            .field("msn", &self.msn)
            .field("url", &self.url)
            .field("events", &self.events)
            .field("secret", &"<redacted>")
            .field("failing_since", &self.failing_since)
            .finish()
    }
}

impl Registration {
    fn public(&self) -> Webhook {
        Webhook::new(self.id.clone(), self.url.clone(), self.events.clone())
    }
}

impl WebhooksState {
    /// The retry schedule of webhook deliveries (default: 4 attempts, 200 ms doubling backoff,
    /// 10 s timeout per attempt).
    pub(crate) fn retry_schedule(&self) -> RetrySchedule {
        self.schedule.lock().clone().unwrap_or_default()
    }

    /// Sets the retry schedule of deliveries queued from now on.
    pub(crate) fn set_retry_schedule(&self, schedule: RetrySchedule) {
        *self.schedule.lock() = Some(schedule);
    }
}

impl Table for Registry {
    fn clear(&mut self) {
        *self = Registry::default();
    }
}

impl crate::core::state::Part for WebhooksState {
    fn on_payment_events(&self, state: &AppState, events: &[PublishedEvent]) {
        fan_out(state, self.retry_schedule(), events);
    }
}

/// The Webhooks state of an emulator.
pub(crate) trait WebhooksExt {
    /// The registrations and the retry schedule.
    fn webhooks(&self) -> &WebhooksState;
}

impl WebhooksExt for AppState {
    fn webhooks(&self) -> &WebhooksState {
        self.part::<WebhooksState>()
            .expect("the composition root registers the Webhooks state")
    }
}

/// The routes of this API.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks/v1/webhooks", get(list).post(register))
        .route("/webhooks/v1/webhooks/{id}", delete(remove))
}

/// The shared pipeline with a token (`Merchant-Serial-Number` optional: a registration without
/// it is for the token's merchant).
async fn begin(state: &AppState, headers: &HeaderMap, body: Body) -> Result<(Merchant, bytes::Bytes), ApiError> {
    let call = inbound(state, headers, body, Credentials::TokenMsnOptional, None).await?;
    Ok((call.merchant.clone(), call.body))
}

/// `POST /webhooks/v1/webhooks`.
async fn register(State(state): State<AppState>, uri: Uri, headers: HeaderMap, body: Body) -> Response {
    respond(uri.path(), register_inner(&state, uri.path(), &headers, body).await)
}

async fn register_inner(state: &AppState, path: &str, headers: &HeaderMap, body: Body) -> Result<Stored, ApiError> {
    let (merchant, body) = begin(state, headers, body).await?;
    let key = idempotency_key(headers, KeyRule::Optional)?;
    let mut req: RegisterWebhookRequest = parse_json(headers, &body)?.ok_or_else(body_required)?;
    req.validate()?;
    if url::Url::parse(&req.url).is_err() {
        return Err(ApiError::validation("url", "must be a valid absolute URL", None));
    }
    let mut events: Vec<WebhookEventType> = Vec::with_capacity(req.events.len());
    for e in req.events.drain(..) {
        if !events.contains(&e) {
            events.push(e);
        }
    }
    req.events = events;
    let fingerprint = Fingerprint::of(&req);
    state.ensure_background();
    // Made up front: the idempotency record is tagged with it, and forgotten with the webhook.
    let id = uuid::Uuid::new_v4().to_string();
    let once = Once {
        scope: key.as_deref().map(|key| {
            IdempotencyScope {
                api: "webhooks",
                msn: &merchant.msn,
                method: "POST",
                path: "/webhooks/v1/webhooks",
                key,
            }
            .digest()
        }),
        fingerprint,
        tag: Some(id.clone().into()),
    };
    let conflict = |_: &IdempotencyRecord| {
        ApiError::new(
            StatusCode::CONFLICT,
            "Idempotency error",
            format!(
                "Idempotency-Key '{}' was already used with a different request body",
                key.as_deref().unwrap_or_default()
            ),
        )
        .render(path)
    };
    Ok(state.store().transact(|t| {
        // From the first registration on, payment events are published (before it there was
        // nobody to deliver them to).
        t.start_publishing();
        once.run(t, conflict, |t| {
            enroll(t.get_mut::<Registry>(), &merchant, req, id).unwrap_or_else(|e| e.render(path))
        })
    }))
}

/// Registers a webhook in the registry (idempotently, within the per-event limits).
fn enroll(
    reg: &mut Registry,
    merchant: &Merchant,
    req: RegisterWebhookRequest,
    id: String,
) -> Result<Stored, ApiError> {
    for (i, e) in req.events.iter().enumerate() {
        let limit = if *e == WebhookEventType::UserCheckedIn {
            MAX_PER_EVENT_QR
        } else {
            MAX_PER_EVENT
        };
        let count = reg
            .hooks
            .iter()
            .filter(|h| h.msn == merchant.msn && h.events.contains(e))
            .count();
        if count >= limit {
            return Err(ApiError::validation(
                &format!("events[{i}]"),
                &format!("at most {limit} webhooks can be registered for {e} (this merchant has {count})"),
                None,
            ));
        }
    }
    let registration = Registration {
        id,
        msn: merchant.msn.clone(),
        url: req.url,
        events: req.events,
        secret: new_secret().into(),
        failing_since: None,
    };
    let response = Stored::json(
        StatusCode::CREATED,
        &RegisterWebhookResponse::new(registration.id.clone(), registration.secret.to_string()),
    );
    tracing::info!(
        target: "vipps_emulator::webhooks",
        id = %registration.id,
        msn = %registration.msn,
        url = %registration.url,
        "webhook registered"
    );
    reg.hooks.push(registration);
    Ok(response)
}

/// A secret like the real ones: base64 of 64 random bytes (88 characters).
fn new_secret() -> String {
    let mut b = [0u8; 64];
    rand::thread_rng().fill_bytes(&mut b);
    B64.encode(b)
}

/// `GET /webhooks/v1/webhooks`.
async fn list(State(state): State<AppState>, uri: Uri, headers: HeaderMap, body: Body) -> Response {
    let r = async {
        let (merchant, _) = begin(&state, &headers, body).await?;
        let webhooks = state.store().transact(|t| {
            t.get::<Registry>()
                .hooks
                .iter()
                .filter(|h| h.msn == merchant.msn)
                .map(Registration::public)
                .collect()
        });
        Ok(Stored::json(StatusCode::OK, &QueryWebhooksResponse::new(webhooks)))
    }
    .await;
    respond(uri.path(), r)
}

/// `DELETE /webhooks/v1/webhooks/{id}`.
async fn remove(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let r = async {
        let (merchant, _) = begin(&state, &headers, body).await?;
        let Path(id) = id.map_err(|e| ApiError::validation("id", &e.body_text(), None))?;
        if uuid::Uuid::parse_str(&id).is_err() {
            return Err(ApiError::validation("id", "must be a webhook id (a UUID)", None));
        }
        state.store().transact(|t| {
            let reg = t.get_mut::<Registry>();
            let Some(pos) = reg.hooks.iter().position(|h| h.id == id && h.msn == merchant.msn) else {
                return Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    "Not Found",
                    format!("No webhook with id '{id}' is registered for this merchant"),
                ));
            };
            reg.hooks.remove(pos);
            t.idempotency.forget_tagged(&id);
            Ok(())
        })?;
        tracing::info!(target: "vipps_emulator::webhooks", id = %id, "webhook deleted");
        Ok(Stored::empty(StatusCode::NO_CONTENT))
    }
    .await;
    respond(uri.path(), r)
}

/// Who is registered for what, copied out of the registry: (id, MSN, URL, events, secret).
type Target = (String, String, String, Vec<WebhookEventType>, Arc<str>);

/// Queues one delivery per (event, matching webhook), in the order of the events (called by the
/// outbox's consumer, after the transaction that recorded them).
fn fan_out(state: &AppState, schedule: RetrySchedule, events: &[PublishedEvent]) {
    let targets: Vec<Target> = state.store().transact(|t| {
        t.get::<Registry>()
            .hooks
            .iter()
            .map(|h| {
                (
                    h.id.clone(),
                    h.msn.clone(),
                    h.url.clone(),
                    h.events.clone(),
                    Arc::clone(&h.secret),
                )
            })
            .collect()
    });
    if targets.is_empty() {
        return;
    }
    let deliveries = state.deliveries();
    for pe in events {
        let ty = WebhookEventType::for_payment_event(&pe.event.name);
        let mut targets = targets
            .iter()
            .filter(|(_, msn, _, events, _)| *msn == pe.msn && events.contains(&ty))
            .peekable();
        if targets.peek().is_none() {
            continue;
        }
        let e = &pe.event;
        let mut payload = WebhookEvent::new(pe.msn.clone(), e.clone());
        if let Some(a) = &pe.authorized {
            payload.user_details = a.user_details.clone();
            payload.profile = a.sub.clone().map(vipps_types::epayment::ProfileResponse::with_sub);
            payload.capture_guaranteed_until = a.capture_guaranteed_until;
        }
        let body: bytes::Bytes = match serde_json::to_vec(&payload) {
            Ok(b) => b.into(),
            Err(err) => {
                tracing::error!(target: "vipps_emulator::webhooks", error = %err, "cannot render a webhook event");
                continue;
            }
        };
        for (id, _, url, _, secret) in targets {
            let secret = Arc::clone(secret);
            deliveries.send(Outbound {
                kind: "webhook",
                msn: pe.msn.clone(),
                reference: e.reference.to_string(),
                event: Some(ty.to_string()),
                url: url.clone(),
                method: "POST",
                headers: Vec::new(),
                body: body.clone(),
                schedule: schedule.clone(),
                sign: Some(Arc::new(move |method: &str, url: &url::Url, body: &[u8]| {
                    signed_headers(&secret, method, url, body, OffsetDateTime::now_utc())
                })),
                ordering_key: format!("webhook:{id}:{}:{}", pe.msn, e.reference),
                on_attempt: Some(attempt_hook(state.downgrade(), id.clone())),
            });
        }
    }
}

/// Keeps a registration's `failing_since` and deletes it once its deliveries have failed for
/// [`UNRESPONSIVE_DELETION`]. Answers false (stop retrying) when the registration is gone.
fn attempt_hook(state: WeakAppState, id: String) -> AttemptHook {
    Arc::new(move |delivered: bool| {
        let Some(state) = state.upgrade() else {
            return false;
        };
        let now = state.clock().now();
        state
            .store()
            .transact(|t| record_attempt(t.get_mut::<Registry>(), &id, delivered, now))
    })
}

/// Notes one attempt's outcome on registration `id`; false when it is gone (now or before).
fn record_attempt(reg: &mut Registry, id: &str, delivered: bool, now: OffsetDateTime) -> bool {
    {
        let Some(i) = reg.hooks.iter().position(|h| h.id == id) else {
            return false; // deleted meanwhile: nobody to deliver to
        };
        let h = &mut reg.hooks[i];
        if delivered {
            h.failing_since = None;
            return true;
        }
        let since = *h.failing_since.get_or_insert(now);
        if now - since < UNRESPONSIVE_DELETION {
            return true;
        }
        let gone = reg.hooks.remove(i);
        tracing::info!(
            target: "vipps_emulator::webhooks",
            id = %gone.id,
            url = %gone.url,
            "webhook deleted: its deliveries have failed for two weeks"
        );
        false
    }
}

/// The host the receiver sees in its `Host` header: the URL's host, plus `:port` when it is
/// not the scheme's default.
fn authority(url: &url::Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        (None, _) => String::new(),
    }
}

/// `x-ms-date`, `x-ms-content-sha256` and `Authorization` for one attempt.
fn signed_headers(
    secret: &str,
    method: &str,
    url: &url::Url,
    body: &[u8],
    now: OffsetDateTime,
) -> Vec<(String, String)> {
    let mut path_and_query = url.path().to_owned();
    if let Some(q) = url.query() {
        path_and_query.push('?');
        path_and_query.push_str(q);
    }
    let s = signature::sign(secret, method, &path_and_query, &authority(url), now, body);
    s.pairs()
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_like_the_official_vector() {
        let secret = "A0+AeKBRG2KRGvnNwJpQlb6IJFk48CKXCIcrLoHncVJKDILsQSxS6NWCccwWm6r6FhGKhiHTBsG2wo/xU6FY/A==";
        let url = url::Url::parse("https://webhook.site/e2cee29b-012e-4f1d-8ef4-e95fd74a7a63").unwrap();
        let body = br#"{"some-unique-content":"ee6e441b-cc4a-46f8-895d-a5af79bcc233/hello-world"}"#;
        let date = signature::parse_http_date("Thu, 30 Mar 2023 08:38:32 GMT").unwrap();
        let h = signed_headers(secret, "POST", &url, body, date);
        let get = |n: &str| h.iter().find(|(k, _)| k == n).unwrap().1.clone();
        assert_eq!(get("x-ms-date"), "Thu, 30 Mar 2023 08:38:32 GMT");
        assert_eq!(
            get("x-ms-content-sha256"),
            "lNlsp1XA03N34HrQsVzPgJKtC+r7l/RBF4V3JQUWMj4="
        );
        assert_eq!(
            get("authorization"),
            "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=agAiSyogQbDHpeucoNwYz+yAr5nJ+v+zasdkSbqzv+U="
        );
    }

    #[test]
    fn authority_is_what_the_host_header_carries() {
        let a = |s: &str| authority(&url::Url::parse(s).unwrap());
        assert_eq!(a("https://example.com/x"), "example.com");
        assert_eq!(a("https://example.com:443/x"), "example.com");
        assert_eq!(a("https://example.com:8443/x?y=1"), "example.com:8443");
        assert_eq!(a("http://127.0.0.1:3000/hook"), "127.0.0.1:3000");
        assert_eq!(a("http://[::1]:3000/hook"), "[::1]:3000");
    }

    #[test]
    fn secrets_look_real_and_differ() {
        let (a, b) = (new_secret(), new_secret());
        assert_eq!(a.len(), 88);
        assert_ne!(a, b);
        assert_eq!(B64.decode(&a).unwrap().len(), 64);
    }

    #[test]
    fn registration_debug_hides_the_secret() {
        let r = Registration {
            id: "i".into(),
            msn: "123456".into(),
            url: "https://example.com".into(),
            events: vec![WebhookEventType::EpaymentCreated],
            secret: "top-secret".into(),
            failing_since: None,
        };
        assert!(!format!("{r:?}").contains("top-secret"));
    }
}
