//! Order Management API emulation (order-management-latest.yaml; 2.3.24 for the receipt the
//! ePayment create carries): receipts, categories and images that the app shows with a payment.
//!
//! - `POST /order-management/v2/{paymentType}/receipts/{orderId}` `Receipt` → **201** with a
//!   JSON string (a new UUID, the spec's `201Created`).
//! - `PUT /order-management/v2/{paymentType}/categories/{orderId}` `OrderCategory` → **200**
//!   with a JSON string (a new UUID); replaces the order's earlier v2 category.
//! - `GET /order-management/v2/{paymentType}/{orderId}` → **200** `{category?, receipt?}`.
//! - `POST /order-management/v1/images` `{imageId, src, type}` → **200** `{imageId}`.
//! - `POST /order-management/v3/categories` → **201** `{categoryId}`;
//!   `GET /order-management/v3/categories?orderId=` → **200** `{categories}`;
//!   `GET|DELETE /order-management/v3/categories/{categoryId}` → **200**.
//! - `GET /order-management/images/{msn}/{imageId}` (the emulator's own, public, no
//!   credentials): the image's bytes with its `Content-Type`, for the landing page and the
//!   dashboard.
//!
//! Authentication as ePayment: bearer token, `Ocp-Apim-Subscription-Key`,
//! `Merchant-Serial-Number` (required, as the spec says). Errors are the spec's
//! `ErrorResponse` (`errors.rs`), also for what the shared plumbing refuses and for unknown
//! routes under `/order-management/`.
//!
//! Where the documents are silent, the emulator chose:
//! - **Binding.** An order is one of the merchant's, in any state: `ECOM` an ePayment payment
//!   reference (Checkout's payments included), a Checkout session's reference before its
//!   payment exists, or an eCom order id; `RECURRING` a Recurring charge id. A Checkout
//!   session's `orderSummary` is its receipt (the Checkout guide: Checkout sends it to Order
//!   Management), as an ePayment create's `receipt` is the payment's. Other merchants'
//!   orders are unknown. The v2 endpoints answer 404 for an unknown order; v3 add answers 400
//!   naming `orderId` (the spec lists no 404 there).
//! - **`paymentType`** in a path is `ecom` or `recurring` in any case (2.3.24 writes lowercase,
//!   the latest uppercase); anything else is 400, as is an `orderId` the spec's pattern refuses.
//! - **Receipts** are immutable: a second receipt for an order (also when the ePayment create
//!   carried one) is 409. The receipt's `bottomLine.currency` must be the order's (400).
//! - **GET order** answers 404 when nothing was added (no receipt, no category): the real
//!   API keeps only what was added. Its `category` is the latest added through v2 PUT or v3
//!   POST, as the app shows only the latest; deleting a v3 category shows the one before.
//! - **Categories** naming an `imageId` need an image this merchant uploaded (400 `imageId`).
//!   v3 lists are the merchant's categories for the order id (either payment type), oldest
//!   first; an unknown order id gives an empty list.
//! - **Images** (PNG or JPEG, at most 2 MB decoded, at least 167 pixels high) are per
//!   merchant and idempotent by `imageId`: the same bytes again answer 200 and change
//!   nothing, other bytes 409. The body limit of that route alone is 3 MiB (or the
//!   configured limit, when larger).
//! - **`Idempotency-Key`** (optional, at most 50 characters) on POST, PUT and DELETE goes
//!   through the emulator's one engine, scope (merchant, method, path): the same request
//!   again gets the same answer, another request 409. The spec says nothing of it; the SDK
//!   sends one on every mutation so that its retries are safe.
//! - **`instance`** of an error is a trace id like the spec's example.
//! - **Retention** forgets receipts, categories and images made before the cutoff, oldest
//!   first; a receipt the ePayment create carried goes with its payment.

mod categories;
mod errors;
mod handlers;
mod model;
mod persist;

use crate::core::objects::OrderView;
use crate::core::state::AppState;
use crate::core::store::Tables;
use axum::routing::{get, post, put};
use axum::Router;
use vipps_types::order_management::{PaymentType, Receipt};

pub(crate) use self::errors::OmError;
pub(crate) use self::model::Orders;

/// The Order Management API as a part of the emulator: the order view other modules show.
#[derive(Debug, Default)]
pub(crate) struct OrderManagementState;

impl crate::core::state::Part for OrderManagementState {
    fn render_error(&self, path: &str, error: &crate::core::error::ApiError) -> Option<crate::core::error::Stored> {
        owns(path).then(|| OmError::from(error.clone()).render())
    }

    fn order_view(
        &self,
        tables: &Tables,
        msn: &str,
        kind: &PaymentType,
        id: &str,
        carried: Option<Receipt>,
    ) -> Option<OrderView> {
        model::view(tables, msn, kind, id, carried)
    }
}

/// Whether `path` is this API's (its errors then take this API's format).
pub(crate) fn owns(path: &str) -> bool {
    path.starts_with("/order-management/")
}

/// The routes of this API.
pub(crate) fn routes() -> Router<AppState> {
    const V2: &str = "/order-management/v2/{payment_type}";
    Router::new()
        .route(&format!("{V2}/receipts/{{order_id}}"), post(handlers::add_receipt))
        .route(&format!("{V2}/categories/{{order_id}}"), put(handlers::put_category))
        .route(&format!("{V2}/{{order_id}}"), get(handlers::get_order))
        .route("/order-management/v1/images", post(categories::upload))
        .route(
            "/order-management/v3/categories",
            get(categories::list).post(categories::add),
        )
        .route(
            "/order-management/v3/categories/{category_id}",
            get(categories::get).delete(categories::remove),
        )
        .route("/order-management/images/{msn}/{image_id}", get(categories::serve))
}
