//! The three endpoints an eCom v2 merchant serves for Vipps:
//!
//! - `POST {prefix}/v2/payments/{orderId}`: transaction update callback (`RESERVED`, `RESERVE`
//!   for express, `CANCELLED`, `REJECTED`, …). Vipps tries once with a 3 second timeout, so
//!   answer at once and poll `GET …/details` as well.
//! - `POST {prefix}/v2/payments/{orderId}/shippingDetails`: express shipping options for the
//!   customer's address (10 second timeout).
//! - `DELETE {prefix}/v2/consents/{userId}`: the customer withdrew consent; forget their data.
//!
//! Every request must carry `Authorization: <authToken>` (the `merchantInfo.authToken` you sent
//! when initiating); anything else is refused with 401.
//!
//! ```sh
//! VIPPS_AUTH_TOKEN=my-secret PORT=8080 cargo run
//! # in another shell, with `vipps emulator` running on VIPPS_BASE_URL:
//! vipps ecom initiate --amount 10000 --callback-prefix http://127.0.0.1:8080/vipps
//! ```
//!
//! (The CLI sends no `authToken`, so start this example without `VIPPS_AUTH_TOKEN` to accept
//! those callbacks; the check is skipped only when the variable is unset.)
//!
//! Environment: `VIPPS_AUTH_TOKEN` (recommended), `PORT` (default 8080), `VIPPS_PREFIX`
//! (default `/vipps`, the path part of `callbackPrefix`, `shippingDetailsPrefix` and
//! `consentRemovalPrefix`).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use axum::{Json, Router};
use std::sync::Arc;
use vipps::ecom::verify_auth_token;
use vipps::types::ecom::{
    Kroner, ShippingCostRequest, ShippingCostResponse, ShippingDetails, TransactionUpdateCallback,
};

#[derive(Clone)]
struct App {
    auth_token: Option<Arc<str>>,
}

impl App {
    fn authorized(&self, headers: &HeaderMap) -> bool {
        match &self.auth_token {
            None => true,
            Some(expected) => verify_auth_token(headers.get("authorization").and_then(|v| v.to_str().ok()), expected),
        }
    }
}

async fn callback(
    State(app): State<App>,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<serde_json::Value>,
) -> Response {
    if !app.authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    match serde_json::from_value::<TransactionUpdateCallback>(body.clone()) {
        Ok(cb) => {
            println!(
                "order {order_id}: {} amount={} transactionId={}",
                cb.transaction_info.status,
                cb.transaction_info.amount,
                cb.transaction_info.transaction_id.unwrap_or_default()
            );
            if let Some(s) = cb.shipping_details {
                println!("  shipping: {} ({} NOK)", s.shipping_method, s.shipping_cost);
            }
            if let Some(u) = cb.user_details {
                println!("  customer: {} {} <{}>", u.first_name, u.last_name, u.email);
            }
        }
        Err(e) => println!("order {order_id}: unexpected callback body ({e}): {body}"),
    }
    // Record the update and answer at once; treat it as a hint and confirm with GET …/details.
    StatusCode::OK.into_response()
}

async fn shipping_details(
    State(app): State<App>,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    Json(req): Json<ShippingCostRequest>,
) -> Response {
    if !app.authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    println!(
        "order {order_id}: shipping options for {} {} {}",
        req.address_line1, req.post_code, req.city
    );
    // Costs are kroner on the wire; `Kroner` holds øre so no float is involved.
    let remote = req.post_code.starts_with('9');
    let options = vec![
        ShippingDetails {
            is_default: "Y".into(),
            priority: Some(1),
            shipping_cost: Kroner::from_ore(if remote { 14900 } else { 9900 }),
            shipping_method: "Posten Servicepakke".into(),
            shipping_method_id: "posten-servicepakke".into(),
        },
        ShippingDetails {
            is_default: "N".into(),
            priority: Some(2),
            shipping_cost: Kroner::from_ore(0),
            shipping_method: "Pick up in store".into(),
            shipping_method_id: "pickup".into(),
        },
    ];
    Json(ShippingCostResponse {
        address_id: req.address_id,
        order_id,
        shipping_details: options,
    })
    .into_response()
}

async fn consent_removal(State(app): State<App>, Path(user_id): Path<String>, headers: HeaderMap) -> StatusCode {
    if !app.authorized(&headers) {
        return StatusCode::UNAUTHORIZED;
    }
    println!("user {user_id} removed consent: delete their stored details");
    StatusCode::OK
}

fn router(app: App, prefix: &str) -> Router {
    let prefix = prefix.trim_end_matches('/');
    Router::new()
        .route(&format!("{prefix}/v2/payments/{{order_id}}"), post(callback))
        .route(
            &format!("{prefix}/v2/payments/{{order_id}}/shippingDetails"),
            post(shipping_details),
        )
        .route(&format!("{prefix}/v2/consents/{{user_id}}"), delete(consent_removal))
        .with_state(app)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .map(|p| p.parse())
        .transpose()?
        .unwrap_or(8080);
    let prefix = std::env::var("VIPPS_PREFIX").unwrap_or_else(|_| "/vipps".to_owned());
    let auth_token = std::env::var("VIPPS_AUTH_TOKEN").ok().map(Arc::from);
    if auth_token.is_none() {
        eprintln!("warning: VIPPS_AUTH_TOKEN is not set: requests are not authenticated");
    }
    let app = router(App { auth_token }, &prefix);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("eCom merchant endpoints on http://{}{prefix}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
