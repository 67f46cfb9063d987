//! The shared start of every Order Management handler (system headers, token, subscription
//! key, `Merchant-Serial-Number`, an optional `Idempotency-Key` on mutations, the body), one
//! idempotent transaction per mutation, and the `/v2` order endpoints.

use super::errors::{respond, OmError};
use super::model::{order_key, OrderEntry, Orders};
use crate::core::error::Stored;
use crate::core::state::AppState;
use crate::core::store::{Fingerprint, IdempotencyScope, Once, Tables};
use crate::web::{inbound_up_to, parse_json, split, Credentials, KeyRule};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use vipps_types::order_management::{OrderCategory, OrderId, OrderInfo, PaymentType, Receipt};
use vipps_types::Validate;

/// What the pipeline found.
pub(super) struct Call {
    pub(super) msn: String,
    pub(super) body: Bytes,
    pub(super) key: Option<String>,
    pub(super) headers: HeaderMap,
    pub(super) path: String,
}

/// Runs the pipeline; `max_bytes` raises the body limit for this route (0: the default).
pub(super) async fn begin(state: &AppState, req: Request, mutation: bool, max_bytes: usize) -> Result<Call, OmError> {
    let (uri, headers, body) = split(req);
    let rule = mutation.then_some(KeyRule::Optional);
    let call = inbound_up_to(state, &headers, body, Credentials::Token, rule, max_bytes).await?;
    Ok(Call {
        msn: call.merchant.msn.clone(),
        body: call.body,
        key: call.key,
        path: uri.path().to_owned(),
        headers,
    })
}

/// The body as `T` (required).
pub(super) fn body<T: DeserializeOwned>(call: &Call) -> Result<T, OmError> {
    parse_json(&call.headers, &call.body)?.ok_or_else(|| OmError::invalid("body", "a JSON request body is required"))
}

/// Runs `op` in one transaction, once per `Idempotency-Key` when one was sent (scope:
/// merchant, method, path): an identical retry gets the stored answer, another request with
/// the same key 409.
pub(super) fn once(
    state: &AppState,
    call: &Call,
    method: &'static str,
    fingerprint: Fingerprint,
    op: impl FnOnce(&mut Tables, OffsetDateTime) -> Result<Stored, OmError>,
) -> Stored {
    let once = Once {
        scope: call.key.as_deref().map(|key| {
            IdempotencyScope {
                api: "order-management",
                msn: &call.msn,
                method,
                path: &call.path,
                key,
            }
            .digest()
        }),
        fingerprint,
        tag: None,
    };
    let now = state.clock().now();
    state.store().transact(|t| {
        once.run(
            t,
            |_| {
                OmError::conflict(format!(
                    "Idempotency-Key '{}' was already used with a different request",
                    call.key.as_deref().unwrap_or_default()
                ))
                .render()
            },
            |t| op(t, now).unwrap_or_else(|e| e.render()),
        )
    })
}

/// The `{paymentType}` and `{orderId}` of a `/v2` path.
pub(super) fn order_path(payment_type: &str, order_id: &str) -> Result<(PaymentType, OrderId), OmError> {
    let kind = PaymentType::from_path_segment(payment_type).ok_or_else(|| {
        OmError::invalid(
            "paymentType",
            format!("must be ECOM or RECURRING (was '{payment_type}')"),
        )
    })?;
    let id = OrderId::new(order_id).map_err(|e| OmError::invalid("orderId", e.reason))?;
    Ok((kind, id))
}

/// The two parameters of a `/v2` path (axum's own rejection would not be this API's format).
pub(super) type TwoParams = Result<Path<(String, String)>, PathRejection>;

fn params(p: TwoParams) -> Result<(PaymentType, OrderId), OmError> {
    let Path((payment_type, order_id)) = p.map_err(|e| OmError::invalid("path", e.body_text()))?;
    order_path(&payment_type, &order_id)
}

/// The order's currency; 404 when `msn` has no such order.
fn order_currency(
    state: &AppState,
    t: &Tables,
    msn: &str,
    kind: &PaymentType,
    id: &OrderId,
) -> Result<vipps_types::Currency, OmError> {
    state.order_currency(t, msn, kind, id.as_str()).ok_or_else(|| {
        OmError::not_found(format!(
            "No {} order '{id}' exists for this merchant",
            kind.path_segment().to_uppercase()
        ))
    })
}

/// The image named by a category must be one of the merchant's.
pub(super) fn check_image(
    om: &Orders,
    msn: &str,
    image: Option<&vipps_types::order_management::ImageId>,
) -> Result<(), OmError> {
    match image {
        Some(id) if !om.has_image(msn, id.as_str()) => Err(OmError::invalid(
            "imageId",
            format!("no image '{id}' was uploaded by this merchant (POST /order-management/v1/images)"),
        )),
        _ => Ok(()),
    }
}

/// A new id, as the API's `201Created` JSON string.
fn created_id(status: StatusCode) -> Stored {
    Stored::json(status, &uuid::Uuid::new_v4().to_string())
}

/// `POST /order-management/v2/{paymentType}/receipts/{orderId}`.
pub(super) async fn add_receipt(State(state): State<AppState>, path: TwoParams, req: Request) -> Response {
    respond(add_receipt_inner(&state, path, req).await)
}

async fn add_receipt_inner(state: &AppState, path: TwoParams, req: Request) -> Result<Stored, OmError> {
    let call = begin(state, req, true, 0).await?;
    let (kind, id) = params(path)?;
    let receipt: Receipt = body(&call)?;
    receipt.check("")?;
    let fingerprint = Fingerprint::of(&receipt);
    Ok(once(state, &call, "POST", fingerprint, |t, now| {
        let currency = order_currency(state, t, &call.msn, &kind, &id)?;
        if receipt.bottom_line.currency != currency {
            return Err(OmError::invalid(
                "bottomLine.currency",
                format!(
                    "must be the order's currency {currency} (was {})",
                    receipt.bottom_line.currency
                ),
            ));
        }
        let key = order_key(&call.msn, &kind, id.as_str());
        let from_create = state.carried_receipt(t, &call.msn, &kind, id.as_str()).is_some();
        let om = t.get_mut::<Orders>();
        if from_create || om.orders.get(&key).is_some_and(|o| o.receipt.is_some()) {
            return Err(OmError::conflict(format!(
                "Order '{id}' has a receipt already: a receipt cannot be changed once added"
            )));
        }
        let receipt = Some(Box::new(receipt));
        match om.orders.get_mut(&key) {
            Some(o) => o.receipt = receipt,
            None => {
                let seq = om.next_seq();
                om.orders.insert(
                    key,
                    OrderEntry {
                        created: now,
                        seq,
                        receipt,
                        category: None,
                    },
                );
            }
        }
        Ok(created_id(StatusCode::CREATED))
    }))
}

/// `PUT /order-management/v2/{paymentType}/categories/{orderId}`.
pub(super) async fn put_category(State(state): State<AppState>, path: TwoParams, req: Request) -> Response {
    respond(put_category_inner(&state, path, req).await)
}

async fn put_category_inner(state: &AppState, path: TwoParams, req: Request) -> Result<Stored, OmError> {
    let call = begin(state, req, true, 0).await?;
    let (kind, id) = params(path)?;
    let category: OrderCategory = body(&call)?;
    category.validate()?;
    let fingerprint = Fingerprint::of(&category);
    Ok(once(state, &call, "PUT", fingerprint, |t, now| {
        order_currency(state, t, &call.msn, &kind, &id)?;
        let om = t.get_mut::<Orders>();
        check_image(om, &call.msn, category.image_id.as_ref())?;
        let seq = om.next_seq();
        let key = order_key(&call.msn, &kind, id.as_str());
        match om.orders.get_mut(&key) {
            Some(o) => o.category = Some((category, seq)),
            None => {
                om.orders.insert(
                    key,
                    OrderEntry {
                        created: now,
                        seq,
                        receipt: None,
                        category: Some((category, seq)),
                    },
                );
            }
        }
        Ok(created_id(StatusCode::OK))
    }))
}

/// `GET /order-management/v2/{paymentType}/{orderId}`.
pub(super) async fn get_order(State(state): State<AppState>, path: TwoParams, req: Request) -> Response {
    respond(get_order_inner(&state, path, req).await)
}

async fn get_order_inner(state: &AppState, path: TwoParams, req: Request) -> Result<Stored, OmError> {
    let call = begin(state, req, false, 0).await?;
    let (kind, id) = params(path)?;
    state.store().read(|t| {
        order_currency(state, t, &call.msn, &kind, &id)?;
        let carried = state.carried_receipt(t, &call.msn, &kind, id.as_str());
        let v = super::model::view(t, &call.msn, &kind, id.as_str(), carried)
            .ok_or_else(|| OmError::not_found(format!("Nothing was added to order '{id}': no receipt, no category")))?;
        Ok(Stored::json(StatusCode::OK, &OrderInfo::new(v.category, v.receipt)))
    })
}
