//! Access tokens (`/accesstoken/get`, `/miami/v1/token`) and the Userinfo API.

mod token;
mod userinfo;

use crate::core::state::AppState;
use axum::routing::{get, post};
use axum::Router;

/// The routes of the token endpoints and the Userinfo API.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/accesstoken/get", post(token::get_token))
        // The official Postman collections spell it this way; the real gateway matches paths
        // without regard to case.
        .route("/accessToken/get", post(token::get_token))
        .route("/miami/v1/token", post(token::client_credentials))
        .route("/vipps-userinfo-api/userinfo/{sub}", get(userinfo::get))
}
