//! The customer's side of agreements: accept (with a phone number and, for `VARIABLE`
//! pricing, a `maxAmount`), reject, stop in the app, a card that fails, a new `maxAmount`.
//! Used by the confirmation page, the force-accept endpoint and the control plane
//! (`/_emulator/agreements/…`, `/_emulator/customers/…`).

use super::errors::*;
use super::model::*;
use super::process::*;
use crate::core::error::Stored;
use crate::core::state::AppState;
use crate::web::read_body;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::json;

/// What the customer does.
#[derive(Debug, Clone)]
pub(crate) enum Action {
    /// Accepts, as `phone` (default: the prefilled number, else the test customer's), with a
    /// `maxAmount` for `VARIABLE` pricing (default: the suggested one).
    Accept {
        phone: Option<String>,
        max_amount: Option<u32>,
    },
    /// Rejects.
    Reject,
    /// Stops the agreement in the app (`actor` CUSTOMER; reserved charges stay).
    Stop,
    /// Their card fails from now on (or works again).
    Card { fails: bool },
    /// Changes their `maxAmount`.
    MaxAmount(u32),
}

/// Finds agreement `id` of any merchant (agreement ids are unique across merchants).
pub(super) fn find(r: &Recurring, id: &str) -> Result<u32, RecError> {
    let code = id.strip_prefix("agr_").and_then(decode);
    code.and_then(|c| r.by_code.get(&c).copied())
        .ok_or_else(|| RecError::agreement_not_found(id))
}

/// The phone number a customer accepts with.
pub(super) fn accepting_phone(a: &Agreement, phone: Option<String>) -> String {
    phone
        .or_else(|| a.texts.phone.as_deref().map(str::to_owned))
        .unwrap_or_else(|| crate::core::customer::Person::test(&a.currency, None).phone)
}

/// Checks a customer's phone number (MSISDN digits).
pub(super) fn check_phone(field: &str, phone: &str) -> Result<(), RecError> {
    let ok = (8..=15).contains(&phone.len()) && phone.bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(RecError::validation(
            field,
            "must be an MSISDN: 8 to 15 digits, country code first",
        ))
    }
}

/// Does `action` on agreement `ai` inside the caller's transaction.
pub(super) fn act_in(t: &mut crate::core::store::Tables, ai: u32, action: Action, now: i64) -> Result<(), RecError> {
    let mut ev = Vec::new();
    let (ledger, r) = t.ledger_and::<Recurring>();
    expire_if_due(r, ai, now, &mut ev);
    if matches!(action, Action::Accept { .. } | Action::Reject) && r.carried.contains(&ai) {
        return Err(RecError::validation(
            "agreementId",
            "this agreement belongs to a Checkout session: the customer accepts or rejects it there",
        ));
    }
    let result = match action {
        Action::Accept { phone, max_amount } => {
            let phone = accepting_phone(&r.agreements[ai as usize], phone);
            check_phone("phoneNumber", &phone).and_then(|()| accept(ledger, r, ai, &phone, max_amount, now, &mut ev))
        }
        Action::Reject => reject(r, ai, now, &mut ev),
        Action::Stop => stop(r, ai, Actor::Customer, now, &mut ev),
        Action::Card { fails } => {
            r.agreements[ai as usize].card_fails = fails;
            Ok(())
        }
        Action::MaxAmount(m) => {
            let a = &mut r.agreements[ai as usize];
            if a.pricing != PricingKind::Variable || a.status != AgreementStatus::Active {
                Err(RecError::validation(
                    "maxAmount",
                    "only an ACTIVE VARIABLE agreement has a maxAmount",
                ))
            } else if m == 0 {
                Err(RecError::validation("maxAmount", "must be greater than 0"))
            } else {
                a.max_amount = Some(m);
                Ok(())
            }
        }
    };
    flush(t, &ev, now);
    result
}

/// Does `action` on agreement `id` (any merchant's); answers `{agreementId, status}`.
pub(crate) fn act(state: &AppState, id: &str, action: Action) -> Result<Stored, RecError> {
    let now = secs(state.clock().now());
    state.store().transact(|t| {
        let ai = find(t.get::<Recurring>(), id)?;
        act_in(t, ai, action, now)?;
        let a = &t.get::<Recurring>().agreements[ai as usize];
        Ok(Stored::json(
            StatusCode::OK,
            &json!({
                "agreementId": agreement_id(a.code),
                "status": status_name(a.status),
                "cardFails": a.card_fails,
                "maxAmount": a.max_amount,
            }),
        ))
    })
}

/// The optional JSON body of a control-plane call.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ControlBody {
    phone_number: Option<String>,
    max_amount: Option<u32>,
    fails: Option<bool>,
}

async fn control_body(state: &AppState, headers: &HeaderMap, body: Body) -> Result<ControlBody, RecError> {
    let body = read_body(body, headers, state.config().body_limits()).await?;
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(ControlBody::default());
    }
    serde_json::from_slice(&body).map_err(|e| RecError::validation("body", &format!("is not valid: {e}")))
}

fn path_id(p: Result<Path<String>, PathRejection>) -> Result<String, RecError> {
    p.map(|Path(s)| s)
        .map_err(|e| RecError::validation("agreementId", &e.body_text()))
}

async fn control(
    state: AppState,
    id: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
    make: fn(ControlBody) -> Result<Action, RecError>,
) -> Response {
    let r = async {
        let id = path_id(id)?;
        let b = control_body(&state, &headers, body).await?;
        act(&state, &id, make(b)?)
    }
    .await;
    respond(uri.path(), r)
}

/// `POST /_emulator/agreements/{agreementId}/accept` `{phoneNumber?, maxAmount?}`.
pub(crate) async fn control_accept(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    control(state, id, uri, headers, body, |b| {
        Ok(Action::Accept {
            phone: b.phone_number,
            max_amount: b.max_amount,
        })
    })
    .await
}

/// `POST /_emulator/agreements/{agreementId}/reject`.
pub(crate) async fn control_reject(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    control(state, id, uri, headers, body, |_| Ok(Action::Reject)).await
}

/// `POST /_emulator/agreements/{agreementId}/stop`: the customer stops it in the app.
pub(crate) async fn control_stop(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    control(state, id, uri, headers, body, |_| Ok(Action::Stop)).await
}

/// `POST /_emulator/agreements/{agreementId}/card` `{"fails": true|false}`.
pub(crate) async fn control_card(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    control(state, id, uri, headers, body, |b| {
        let fails = b
            .fails
            .ok_or_else(|| RecError::validation("fails", "is required (true or false)"))?;
        Ok(Action::Card { fails })
    })
    .await
}

/// `POST /_emulator/agreements/{agreementId}/max-amount` `{"maxAmount": N}`.
pub(crate) async fn control_max_amount(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    control(state, id, uri, headers, body, |b| {
        let m = b
            .max_amount
            .ok_or_else(|| RecError::validation("maxAmount", "is required"))?;
        Ok(Action::MaxAmount(m))
    })
    .await
}

/// `POST /_emulator/customers/{phoneNumber}/card` `{"fails": true|false}`: every agreement
/// this customer accepted (now or later) pays or fails with this card.
pub(crate) async fn control_phone_card(
    State(state): State<AppState>,
    phone: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let r = async {
        let phone = phone
            .map(|Path(s)| s)
            .map_err(|e| RecError::validation("phoneNumber", &e.body_text()))?;
        check_phone("phoneNumber", &phone)?;
        let b = control_body(&state, &headers, body).await?;
        let fails = b
            .fails
            .ok_or_else(|| RecError::validation("fails", "is required (true or false)"))?;
        let msisdn = crate::core::customer::msisdn(&phone);
        state.store().transact(|t| {
            t.get_mut::<Recurring>().set_phone_fails(msisdn.as_str(), fails);
        });
        Ok(Stored::json(
            StatusCode::OK,
            &json!({"phoneNumber": msisdn, "fails": fails}),
        ))
    }
    .await;
    respond(uri.path(), r)
}
