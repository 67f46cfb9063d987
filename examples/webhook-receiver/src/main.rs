//! A minimal webhook receiver: verifies every delivery with the registration's secret and
//! prints it.
//!
//! ```sh
//! VIPPS_WEBHOOK_SECRET=090a478d-… PORT=8080 cargo run
//! ```
//!
//! Environment:
//! - `VIPPS_WEBHOOK_SECRET` (required): the `secret` returned when the webhook was registered.
//!   `VIPPS_WEBHOOK_SECRET_PREVIOUS` (optional) is accepted too, while rotating.
//! - `PORT` (default 8080) and `VIPPS_WEBHOOK_PATH` (default `/webhooks/vipps`).
//! - `VIPPS_WEBHOOK_PUBLIC_HOST` (optional): the registered URL's host (and port), when a
//!   proxy in front of this server rewrites the `Host` header. The path is then taken as
//!   `VIPPS_WEBHOOK_PATH`.

use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use vipps::webhooks::{VerifiedWebhook, WebhookVerifier};

async fn receive(VerifiedWebhook(body): VerifiedWebhook<serde_json::Value>) -> StatusCode {
    // Answer quickly; do the real work out of band (and idempotently: duplicates happen).
    match serde_json::from_value::<vipps::types::epayment::WebhookEvent>(body.clone()) {
        Ok(ev) => println!(
            "ePayment {} reference={} amount={} success={} pspReference={}",
            ev.name, ev.reference, ev.amount, ev.success, ev.psp_reference
        ),
        Err(_) => println!("event: {body}"),
    }
    StatusCode::OK
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = std::env::var("VIPPS_WEBHOOK_SECRET").map_err(|_| "set VIPPS_WEBHOOK_SECRET")?;
    let port: u16 = std::env::var("PORT")
        .ok()
        .map(|p| p.parse())
        .transpose()?
        .unwrap_or(8080);
    let path = std::env::var("VIPPS_WEBHOOK_PATH").unwrap_or_else(|_| "/webhooks/vipps".to_owned());

    let mut verifier = WebhookVerifier::new(secret)?;
    if let Ok(previous) = std::env::var("VIPPS_WEBHOOK_SECRET_PREVIOUS") {
        verifier = verifier.with_secret(previous)?;
    }
    if let Ok(host) = std::env::var("VIPPS_WEBHOOK_PUBLIC_HOST") {
        verifier = verifier.with_public_url(host, path.clone());
    }

    let app = Router::new().route(&path, post(receive)).with_state(verifier);
    let listener = tokio::net::TcpListener::bind(("0.0.0.0", port)).await?;
    println!("listening on http://{}{path}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
