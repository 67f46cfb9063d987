//! `POST /_emulator/seed`: fill the store with many payments at once (benchmarks, load tests).

use crate::core::error::ApiError;
use crate::core::state::AppState;
use crate::core::store::NewPayment;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use vipps_types::epayment::{CreatePaymentRequest, UserFlow};
use vipps_types::{Amount, Reference};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Seed {
    /// How many payments.
    payments: u64,
    /// Reference prefix (default `seed`); references are `{prefix}-{n:08}`.
    #[serde(default)]
    prefix: Option<String>,
    /// Approve them too.
    #[serde(default)]
    authorized: bool,
    /// Amount in øre (default 10000).
    #[serde(default)]
    amount: Option<i64>,
}

/// Creates `payments` payments for the default merchant (at most 2,000,000 per call).
pub(crate) async fn seed(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let path = "/_emulator/seed";
    let s: Seed = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => {
            return ApiError::validation("body", &e.to_string(), None)
                .render(path)
                .into_response()
        }
    };
    if s.payments > 2_000_000 {
        return ApiError::validation("payments", "at most 2000000 per call", None)
            .render(path)
            .into_response();
    }
    let prefix = s.prefix.unwrap_or_else(|| "seed".into());
    let msn = state.default_merchant().msn.clone();
    let public_url = state.public_url();
    let now = state.clock().now();
    let expires_at = now + time::Duration::seconds(state.config().payment_expiry_secs);
    state.ensure_background();
    let amount = s.amount.unwrap_or(10_000);
    let mut created = 0u64;
    let mut n = 0u64;
    // In chunks, so API calls are not held up behind one long lock.
    while n < s.payments {
        let end = (n + 10_000).min(s.payments);
        let r = state.store().transaction(|ledger| -> Result<u64, ApiError> {
            let mut c = 0;
            for i in n..end {
                let Ok(reference) = Reference::new(format!("{prefix}-{i:08}")) else {
                    return Err(ApiError::validation(
                        "prefix",
                        "references must be 8-64 of a-z, A-Z, 0-9, '-'",
                        None,
                    ));
                };
                let req = CreatePaymentRequest {
                    return_url: Some("https://example.com/r".into()),
                    ..CreatePaymentRequest::new(Amount::nok(amount), reference.clone(), UserFlow::WebRedirect)
                };
                let np = NewPayment {
                    msn: &msn,
                    request: &req,
                    idempotency_key: None,
                    now,
                    expires_at,
                    public_url: &public_url,
                };
                if ledger.create_payment(np).is_ok() {
                    c += 1;
                    if s.authorized {
                        if let Ok(p) = ledger.payment(&msn, reference.as_str(), now) {
                            let _ = p.force_approve(now);
                        }
                    }
                }
            }
            Ok(c)
        });
        match r {
            Ok(c) => created += c,
            Err(e) => return e.render(path).into_response(),
        }
        n = end;
        // With a data dir, each chunk is written before the next is made: what waits for the
        // disk stays one chunk.
        if state.store().durable(state.store().last_commit()).await.is_err() {
            break;
        }
        tokio::task::yield_now().await;
    }
    Json(serde_json::json!({"created": created, "total": state.store().payment_count()})).into_response()
}
