//! What every eCom call checks first: body, system headers, credentials, ids.

use super::errors::EcomErr;
use crate::core::error::Stored;
use crate::core::state::AppState;
use crate::web::{inbound, parse_json, Credentials};
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use http::{HeaderMap, StatusCode};
use rand::RngCore;
use serde::de::DeserializeOwned;
use vipps_types::ecom::check_order_id;

pub(super) fn answer(r: Result<Stored, EcomErr>) -> Response {
    match r {
        Ok(s) => s.into_response(),
        Err(e) => e.render().into_response(),
    }
}

/// The shared pipeline with a token (`Merchant-Serial-Number` optional); returns the
/// merchant's MSN and the body.
pub(super) async fn begin(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<(String, bytes::Bytes), EcomErr> {
    let call = inbound(state, headers, body, Credentials::TokenMsnOptional, None).await?;
    Ok((call.merchant.msn.clone(), call.body))
}

pub(super) fn path_order(p: Result<Path<String>, PathRejection>) -> Result<String, EcomErr> {
    let Path(o) = p.map_err(|e| EcomErr::invalid("orderId", e.body_text()))?;
    check_order_id("orderId", &o)?;
    Ok(o)
}

pub(super) fn body_of<T: DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<T, EcomErr> {
    parse_json(headers, body)?.ok_or_else(|| EcomErr::invalid("body", "a JSON request body is required"))
}

pub(super) fn check_msn(body_msn: &str, msn: &str) -> Result<(), EcomErr> {
    if body_msn != msn {
        return Err(EcomErr::invalid(
            "merchantSerialNumber",
            format!("The access token is not valid for merchantSerialNumber {body_msn}"),
        )
        .with_status(StatusCode::FORBIDDEN));
    }
    Ok(())
}

/// `X-Request-Id`: at most 40 characters; empty counts as absent.
pub(super) fn request_id(headers: &HeaderMap, required: bool) -> Result<Option<String>, EcomErr> {
    let v = match headers.get("x-request-id") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .map_err(|_| EcomErr::invalid("X-Request-Id", "must be visible ASCII characters"))?
                .trim()
                .to_owned(),
        ),
    };
    match v {
        Some(k) if k.chars().count() > 40 => Err(EcomErr::invalid("X-Request-Id", "must be at most 40 characters")),
        Some(k) if !k.is_empty() => Ok(Some(k)),
        _ if required => Err(EcomErr::invalid("X-Request-Id", "the header is required")),
        _ => Ok(None),
    }
}

pub(super) fn random_token() -> String {
    let mut b = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}
