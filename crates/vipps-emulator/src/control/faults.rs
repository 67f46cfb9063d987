//! `/_emulator/faults`: view, set and clear the fault-injection rules.

use crate::core::config::FaultConfig;
use crate::core::error::ApiError;
use crate::core::state::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// `GET /_emulator/faults`.
pub(crate) async fn get(State(state): State<AppState>) -> Response {
    let (requests, injected) = state.faults().stats();
    let mut v = serde_json::to_value(state.faults().get()).unwrap_or_default();
    v["stats"] = serde_json::json!({"requests": requests, "injected": injected});
    Json(v).into_response()
}

/// `POST /_emulator/faults`.
pub(crate) async fn set(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let path = "/_emulator/faults";
    let c: FaultConfig = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => {
            return ApiError::validation("body", &e.to_string(), None)
                .render(path)
                .into_response()
        }
    };
    if let Err((field, message)) = c.check() {
        return ApiError::validation(&field, message, None).render(path).into_response();
    }
    state.set_faults(c.clone());
    Json(c).into_response()
}

/// `DELETE /_emulator/faults`.
pub(crate) async fn clear(State(state): State<AppState>) -> Response {
    state.set_faults(FaultConfig::default());
    http::StatusCode::NO_CONTENT.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    #[tokio::test]
    async fn stats_count_api_requests_with_and_without_rules() {
        use tower::ServiceExt;
        let app = crate::router(AppState::new(crate::EmulatorConfig::default()));
        let send = |method: &str, path: &str, body: &str| {
            let req = http::Request::builder()
                .method(method)
                .uri(path)
                .header("content-type", "application/json")
                .body(Body::from(body.to_owned()))
                .unwrap();
            app.clone().oneshot(req)
        };
        let stats = |v: serde_json::Value| (v["stats"]["requests"].clone(), v["stats"]["injected"].clone());
        let read = |r: Response| async move {
            let b = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
            serde_json::from_slice::<serde_json::Value>(&b).unwrap()
        };
        // No rule set: API requests are counted (and answered normally); control-plane ones are not.
        assert_eq!(
            send("GET", "/epayment/v1/payments/stats-ref-1", "")
                .await
                .unwrap()
                .status(),
            401
        );
        assert_eq!(
            send("GET", "/epayment/v1/payments/stats-ref-2", "")
                .await
                .unwrap()
                .status(),
            401
        );
        assert_eq!(send("GET", "/_emulator/health", "").await.unwrap().status(), 200);
        let v = read(send("GET", "/_emulator/faults", "").await.unwrap()).await;
        assert_eq!(stats(v), (serde_json::json!(2), serde_json::json!(0)));
        // A rule that always fires (setting faults starts the counts again).
        let rule = r#"{"rules":[{"path":"/epayment/**","fault":"status","status":503}]}"#;
        assert!(send("POST", "/_emulator/faults", rule)
            .await
            .unwrap()
            .status()
            .is_success());
        assert_eq!(
            send("GET", "/epayment/v1/payments/stats-ref-3", "")
                .await
                .unwrap()
                .status(),
            503
        );
        let v = read(send("GET", "/_emulator/faults", "").await.unwrap()).await;
        assert_eq!(stats(v), (serde_json::json!(1), serde_json::json!(1)));
    }
}
