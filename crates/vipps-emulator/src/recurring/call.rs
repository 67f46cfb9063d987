//! The shared start of every Recurring handler: the inbound pipeline (system headers, token,
//! subscription key, optional `Merchant-Serial-Number`, the `Idempotency-Key` on mutations,
//! the body), the path's ids, and one idempotent transaction per mutation through `Once`.

use super::errors::RecError;
use super::model::Recurring;
use crate::core::error::Stored;
use crate::core::state::AppState;
use crate::core::store::{Fingerprint, IdempotencyScope, Once, Tables};
use crate::web::{inbound, parse_json, Credentials, KeyRule};
use axum::body::Body;
use bytes::Bytes;
use http::HeaderMap;
use serde::de::DeserializeOwned;

/// What the pipeline found.
pub(super) struct Call {
    pub(super) msn: String,
    pub(super) body: Bytes,
    /// The `Idempotency-Key` (always there on a mutation).
    pub(super) key: String,
}

/// Runs the pipeline; `mutation` requires an `Idempotency-Key` ("1 to 40 characters, without
/// '#', '?', '/' or '\\'", recurring-v3.yaml).
pub(super) async fn begin(state: &AppState, headers: &HeaderMap, body: Body, mutation: bool) -> Result<Call, RecError> {
    let rule = mutation.then_some(KeyRule::Required);
    let call = inbound(state, headers, body, Credentials::TokenMsnOptional, rule).await?;
    let key = call.key.unwrap_or_default();
    if mutation && (key.chars().count() > 40 || key.contains(['#', '?', '/', '\\'])) {
        return Err(RecError::new(
            http::StatusCode::BAD_REQUEST,
            "idempotency-key-header",
            "Bad Request",
            "Idempotency-Key must be 1 to 40 characters without '#', '?', '/' or '\\\\'",
        )
        .field(
            "Idempotency-Key",
            "must be 1 to 40 characters without '#', '?', '/' or '\\\\'",
        ));
    }
    Ok(Call {
        msn: call.merchant.msn.clone(),
        body: call.body,
        key,
    })
}

/// The body as `T` (required).
pub(super) fn body<T: DeserializeOwned>(headers: &HeaderMap, call: &Call) -> Result<T, RecError> {
    parse_json(headers, &call.body)?.ok_or_else(|| RecError::validation("body", "a JSON request body is required"))
}

/// Runs `op` once per `Idempotency-Key` (scope: merchant, method, path) in one transaction:
/// an identical retry gets the stored answer (4xx included), another request with the same
/// key 409.
pub(super) fn once(
    state: &AppState,
    call: &Call,
    method: &'static str,
    path: &str,
    fingerprint: Fingerprint,
    op: impl FnOnce(&mut Tables, i64) -> Result<Stored, RecError>,
) -> Stored {
    let once = Once {
        scope: Some(
            IdempotencyScope {
                api: "recurring",
                msn: &call.msn,
                method,
                path,
                key: &call.key,
            }
            .digest(),
        ),
        fingerprint,
        tag: None,
    };
    state.store().transact(|t| {
        once.run(
            t,
            |_| RecError::conflict(&call.key).render(path),
            |t| {
                let now = state.clock().now().unix_timestamp();
                op(t, now).unwrap_or_else(|e| e.render(path))
            },
        )
    })
}

/// Checks an agreement id's form (`agr_` and letters or digits).
pub(super) fn check_agreement_id(id: &str) -> Result<(), RecError> {
    let ok = id
        .strip_prefix("agr_")
        .is_some_and(|rest| (1..=32).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_alphanumeric()));
    if ok {
        Ok(())
    } else {
        Err(RecError::invalid_agreement_id(id))
    }
}

/// Agreement `id` of merchant `msn` in `r`, or 404.
pub(super) fn agreement_in(r: &Recurring, msn: &str, id: &str) -> Result<u32, RecError> {
    r.known_msn(msn)
        .and_then(|m| r.agreement_of(m, id))
        .ok_or_else(|| RecError::agreement_not_found(id))
}

/// Charge `charge` of agreement `agreement` of merchant `msn`, or 404.
pub(super) fn charge_in(r: &Recurring, msn: &str, agreement: u32, charge: &str) -> Result<u32, RecError> {
    r.known_msn(msn)
        .and_then(|m| r.charge_of(m, charge))
        .filter(|&ci| r.charges[ci as usize].agreement == agreement)
        .ok_or_else(|| RecError::charge_not_found(charge))
}
