//! The Webhooks API's handlers: register, list and delete a webhook.

use super::state::*;
use crate::core::config::Merchant;
use crate::core::error::{ApiError, Stored};
use crate::core::state::AppState;
use crate::core::store::{Fingerprint, IdempotencyRecord, IdempotencyScope, Once};
use crate::web::{body_required, idempotency_key, inbound, parse_json, respond, Credentials, KeyRule};
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::Response;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use http::{HeaderMap, StatusCode};
use rand::RngCore;
use vipps_types::webhooks::{QueryWebhooksResponse, RegisterWebhookRequest, RegisterWebhookResponse, WebhookEventType};
use vipps_types::Validate;

/// The shared pipeline with a token (`Merchant-Serial-Number` optional: a registration without
/// it is for the token's merchant).
pub(super) async fn begin(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<(Merchant, bytes::Bytes), ApiError> {
    let call = inbound(state, headers, body, Credentials::TokenMsnOptional, None).await?;
    Ok((call.merchant.clone(), call.body))
}

/// `POST /webhooks/v1/webhooks`.
pub(super) async fn register(State(state): State<AppState>, uri: Uri, headers: HeaderMap, body: Body) -> Response {
    respond(uri.path(), register_inner(&state, uri.path(), &headers, body).await)
}

pub(super) async fn register_inner(
    state: &AppState,
    path: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Stored, ApiError> {
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
    let now = state.clock().now();
    Ok(state.store().transact(|t| {
        // From the first registration on, payment events are published (before it there was
        // nobody to deliver them to).
        t.start_publishing();
        once.run(t, conflict, |t| {
            enroll(t.get_mut::<Registry>(), &merchant, req, id, now).unwrap_or_else(|e| e.render(path))
        })
    }))
}

/// Registers a webhook in the registry (idempotently, within the per-event limits).
pub(super) fn enroll(
    reg: &mut Registry,
    merchant: &Merchant,
    req: RegisterWebhookRequest,
    id: String,
    now: time::OffsetDateTime,
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
        created: now,
        seq: 0,
    };
    let response = Stored::json(
        StatusCode::CREATED,
        &RegisterWebhookResponse::new(registration.id.clone(), registration.secret.to_string()),
    );
    tracing::info!(
        target: "vipps_emulator::webhooks",
        id = %registration.id,
        msn = %registration.msn,
        url = %crate::core::redact::url_for_log(&registration.url),
        "webhook registered"
    );
    reg.add(registration);
    Ok(response)
}

/// A secret like the real ones: base64 of 64 random bytes (88 characters).
pub(super) fn new_secret() -> String {
    let mut b = [0u8; 64];
    rand::thread_rng().fill_bytes(&mut b);
    B64.encode(b)
}

/// `GET /webhooks/v1/webhooks`.
pub(super) async fn list(State(state): State<AppState>, uri: Uri, headers: HeaderMap, body: Body) -> Response {
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
pub(super) async fn remove(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_look_real_and_differ() {
        let (a, b) = (new_secret(), new_secret());
        assert_eq!(a.len(), 88);
        assert_ne!(a, b);
        assert_eq!(B64.decode(&a).unwrap().len(), 64);
    }
}
