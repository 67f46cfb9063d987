//! Ecom API emulation (being built; see the issue tracker).

use crate::state::AppState;
use axum::Router;

/// State of the Ecom emulation, kept in [`AppState`].
#[derive(Debug, Default)]
pub struct EcomState {}

/// The routes of this API.
pub fn routes() -> Router<AppState> {
    Router::new()
}
