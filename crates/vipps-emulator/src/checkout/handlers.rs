//! The Checkout API's handlers: create, get, update and expire a session.

use super::{errors::*, lifecycle::*, request::*, state::*};
use crate::core::error::Stored;
use crate::core::state::AppState;
use crate::core::store::{Fingerprint, IdempotencyScope, Once};
use crate::web::parse_json;
use axum::body::Body;
use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use vipps_types::checkout::{InitiateSessionRequest, SessionState, SessionType, UpdateSessionRequest};
use vipps_types::epayment::PaymentState as EpState;
use vipps_types::Validate;

// ------------------------------------------------------------------------------------------
// API handlers
// ------------------------------------------------------------------------------------------

/// Checkout's use of the idempotency engine: `Idempotency-Key` per (merchant, method, path).
pub(super) fn once(
    msn: &str,
    method: &'static str,
    path: &str,
    key: &Option<String>,
    fingerprint: Fingerprint,
) -> Once {
    Once {
        scope: key.as_deref().map(|key| {
            IdempotencyScope {
                api: "checkout",
                msn,
                method,
                path,
                key,
            }
            .digest()
        }),
        fingerprint,
        tag: None,
    }
}

/// The answer to a reused `Idempotency-Key` with another body.
pub(super) fn conflict(key: &Option<String>, path: &str) -> Stored {
    CkError::new(
        StatusCode::CONFLICT,
        "Idempotency-00100",
        "Idempotency conflict",
        format!(
            "Idempotency-Key '{}' was already used with a different request",
            key.as_deref().unwrap_or_default()
        ),
    )
    .render(path)
}

pub(super) async fn create(State(state): State<AppState>, uri: Uri, headers: HeaderMap, body: Body) -> Response {
    let path = uri.path().to_owned();
    let r = create_inner(&state, &path, &headers, body).await;
    respond(&path, r)
}

pub(super) async fn create_inner(
    state: &AppState,
    path: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Stored, CkError> {
    let call = begin(state, headers, body).await?;
    let req: InitiateSessionRequest = parse_json(headers, &call.body)?
        .ok_or_else(|| CkError::validation("body", "a JSON request body is required"))?;
    req.validate()?;
    let m = call.merchant;
    let amounts = [
        (
            "transaction.amount.currency",
            req.transaction.as_ref().map(|t| &t.amount),
        ),
        (
            "subscription.amount.currency",
            req.subscription.as_ref().map(|s| &s.amount),
        ),
    ];
    for (field, amount) in amounts {
        if let Some(a) = amount {
            if a.currency != m.currency {
                return Err(CkError::validation(
                    field,
                    format!("must be {} for this merchant (was {})", m.currency, a.currency),
                ));
            }
        }
    }
    let subscription = req.session_type() == SessionType::Subscription;
    let reference = req
        .effective_reference()
        .map(|r| r.as_str().to_owned())
        .ok_or_else(|| CkError::validation("reference", "is required"))?;
    let settings = state.checkout().settings();
    let public = state.public_url();
    let once = once(&m.msn, "POST", path, &call.key, Fingerprint::of(&req));
    let r = state.store().transact(|t| {
        once.run(
            t,
            |_| conflict(&call.key, path),
            |t| {
                let (ledger, cs) = t.ledger_and::<Sessions>();
                let now = state.clock().now();
                let id = (m.msn.clone(), reference.clone());
                if cs.by_ref.contains_key(&id) || ledger.payment(&m.msn, &reference, now).is_ok() {
                    let e = CkError::new(
                        StatusCode::CONFLICT,
                        "Session-00200",
                        "Reference already used",
                        format!("A session or payment with reference '{reference}' already exists for this merchant"),
                    );
                    return e.render(path);
                }
                let agreement = match subscription {
                    true => match super::agreement::draft(state, t, now, &m.msn, &req) {
                        Ok(a) => a,
                        Err(e) => return e.render(path),
                    },
                    false => None,
                };
                let cs = t.get_mut::<Sessions>();
                let mut token = random_b64(32);
                while cs.tokens.contains_key(&token) {
                    token = random_b64(32);
                }
                let session = Session {
                    seq: 0,
                    msn: m.msn.clone(),
                    merchant_name: m.name.clone(),
                    reference: reference.clone(),
                    session_id: random_b64(16),
                    token: token.clone(),
                    created_at: now,
                    expires_at: now + time::Duration::seconds(settings.session_ttl.as_secs() as i64),
                    request: req.clone(),
                    state: SessionState::SessionCreated,
                    ended_at: None,
                    payment_created: false,
                    shipping: None,
                    billing: None,
                    user_info: None,
                    shared: None,
                    consent: None,
                    offered: None,
                    shipping_lookups: Vec::new(),
                    callback_sent: false,
                    agreement,
                };
                cs.tokens.insert(token.clone(), id.clone());
                cs.insert(id, session);
                let resp = vipps_types::checkout::InitiateSessionResponse::new(
                    token,
                    format!("{public}/checkout/v3/frontend"),
                    format!("{public}/checkout/v3/session/{reference}"),
                );
                Stored::json(StatusCode::OK, &resp)
            },
        )
    });
    state.ensure_background();
    Ok(r)
}

pub(super) async fn get_session(
    State(state): State<AppState>,
    SessionRef(reference): SessionRef,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let r = async {
        let call = begin(&state, &headers, body).await?;
        path_reference(&reference)?;
        with_session(&state, &call.merchant.msn, &reference, |s, ledger, now, _| {
            Ok(Stored::json(StatusCode::OK, &session_response(s, ledger, now)))
        })
    }
    .await;
    respond(uri.path(), r)
}

pub(super) async fn update_session(
    State(state): State<AppState>,
    SessionRef(reference): SessionRef,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let path = uri.path().to_owned();
    let r = async {
        let call = begin(&state, &headers, body).await?;
        path_reference(&reference)?;
        let req: UpdateSessionRequest = parse_json(&headers, &call.body)?
            .ok_or_else(|| CkError::validation("body", "a JSON request body is required"))?;
        req.validate()?;
        if let Some(r) = &req.transaction.reference {
            if r.as_str() != reference {
                return Err(CkError::validation(
                    "transaction.reference",
                    "must be the session's reference (or left out: it is deprecated)",
                ));
            }
        }
        let m = call.merchant;
        if req.transaction.amount.currency != m.currency {
            return Err(CkError::validation(
                "transaction.amount.currency",
                format!("must be {} for this merchant", m.currency),
            ));
        }
        let once = once(&m.msn, "PATCH", &path, &call.key, Fingerprint::of(&req));
        let now = state.clock().now();
        let stored = state.store().transact(|t| {
            once.run(
                t,
                |_| conflict(&call.key, &path),
                |t| {
                    session_in(&state, t, (&m.msn, &reference), now, |s, ledger, now, _| {
                        if s.state != SessionState::SessionCreated {
                            return Err(CkError::wrong_state(s, "updated"));
                        }
                        if s.request.transaction.is_none() {
                            return Err(CkError::validation(
                                "transaction",
                                "this SUBSCRIPTION session has no initial payment, and PATCH cannot add one",
                            ));
                        }
                        let mut candidate = s.request.clone();
                        let mut t = req.transaction.clone();
                        t.reference = candidate.transaction.as_ref().and_then(|old| old.reference.clone());
                        candidate.transaction = Some(t);
                        candidate.validate()?;
                        s.request = candidate;
                        Ok(Stored::json(StatusCode::OK, &session_response(s, ledger, now)))
                    })
                    .unwrap_or_else(|e| e.render(&path))
                },
            )
        });
        Ok(stored)
    }
    .await;
    respond(&path, r)
}

pub(super) async fn expire_session(
    State(state): State<AppState>,
    SessionRef(reference): SessionRef,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let r = async {
        let call = begin(&state, &headers, body).await?;
        path_reference(&reference)?;
        with_session(&state, &call.merchant.msn, &reference, |s, ledger, now, out| {
            if !s.state.is_final() {
                if s.payment_created {
                    if let Ok(p) = ledger.payment(&s.msn, &s.reference, now) {
                        if p.state == EpState::Created {
                            let _ = p.cancel(false, None, now);
                        }
                    }
                }
                s.state = SessionState::SessionExpired;
                s.ended_at = Some(now);
                settle_and_notify(&state, s, ledger, now, out);
            }
            Ok(Stored::json(StatusCode::OK, &session_response(s, ledger, now)))
        })
    }
    .await;
    respond(uri.path(), r)
}
