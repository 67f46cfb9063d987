//! Order Management API: what the customer sees of an order in the app. A receipt (order
//! lines, VAT, bottom line), a category (a link back to the shop, labelled "Receipt",
//! "Order confirmation", "Ticket"…) and its image.
//!
//! Orders are addressed by [`PaymentType`] and id: [`PaymentType::Ecom`] with an ePayment
//! `reference` or an eCom `orderId`, [`PaymentType::Recurring`] with a Recurring `chargeId`.
//! Every request is validated before sending (the spec's limits, and order lines that add
//! up), and every mutation carries an `Idempotency-Key` kept across retries, as for the other
//! APIs. The spec does not mention the header, so an API that ignores it may answer a retried
//! receipt with 409: a receipt cannot be replaced once added.
//!
//! ```no_run
//! # async fn run(client: vipps::Client) -> Result<(), vipps::Error> {
//! use vipps::types::Currency;
//! use vipps::types::order_management::{CategoryType, OrderCategory, OrderLine, PaymentType, Receipt};
//! let om = client.order_management();
//! let receipt = Receipt::new(
//!     vec![
//!         OrderLine::new("sku-1", "Socks", 19_900, 2500),
//!         OrderLine { is_shipping: Some(true), ..OrderLine::new("ship", "Home delivery", 4_900, 2500) },
//!     ],
//!     Currency::Nok,
//! );
//! om.add_receipt(PaymentType::Ecom, "acme-shop-123-order123abc", receipt).await?;
//! om.set_category(
//!     PaymentType::Ecom,
//!     "acme-shop-123-order123abc",
//!     OrderCategory::new(CategoryType::OrderConfirmation, "https://example.com/orders/123"),
//! )
//! .await?;
//! let order = om.get_order(PaymentType::Ecom, "acme-shop-123-order123abc").await?;
//! println!("{:?}", order.receipt.as_ref().map(|r| r.totals().total));
//! # Ok(()) }
//! ```

use crate::error::{Error, Result};
use crate::transport::{id_segment, Op, RequestBuilder};
use crate::Client;
use http::Method;
use vipps_types::order_management::{
    Acknowledgement, AddCategoryRequest, AddCategoryResponse, Categories, Category, ImageId, ImageResponse,
    ImageUpload, OrderCategory, OrderId, OrderInfo, PaymentType, Receipt,
};
use vipps_types::{Validate, ValidationError};

/// The Order Management API. Get one with [`Client::order_management`].
#[derive(Debug, Clone)]
pub struct OrderManagement {
    client: Client,
}

/// The v2 path of an order: `/order-management/v2/{paymentType}/{rest}{orderId}`.
fn order_path(payment_type: &PaymentType, rest: &str, order_id: &str) -> Result<String> {
    if !payment_type.is_known() {
        return Err(Error::validation(ValidationError::new(
            "paymentType",
            "must be ECOM or RECURRING",
        )));
    }
    OrderId::check(order_id).map_err(|e| Error::validation(ValidationError::new("orderId", e.reason)))?;
    Ok(format!(
        "/order-management/v2/{}/{rest}{order_id}",
        payment_type.path_segment()
    ))
}

fn category_path(category_id: &str) -> Result<String> {
    let id = id_segment("categoryId", "a category id", category_id).map_err(Error::validation)?;
    Ok(format!("/order-management/v3/categories/{id}"))
}

impl OrderManagement {
    pub(crate) fn new(client: Client) -> Self {
        OrderManagement { client }
    }

    /// `POST /order-management/v2/{paymentType}/receipts/{orderId}` (201): adds the receipt
    /// the customer sees with the order. Validated before sending. An order has one receipt:
    /// a second one is refused with 409 (an ePayment payment created with a `receipt` already
    /// has it).
    pub fn add_receipt(
        &self,
        payment_type: PaymentType,
        order_id: impl AsRef<str>,
        receipt: Receipt,
    ) -> RequestBuilder<Acknowledgement> {
        let op = order_path(&payment_type, "receipts/", order_id.as_ref()).and_then(|path| {
            receipt.validate().map_err(Error::validation)?;
            Op::new("order_management.add_receipt", Method::POST, path).json(&receipt)
        });
        RequestBuilder::new(&self.client, op)
    }

    /// `PUT /order-management/v2/{paymentType}/categories/{orderId}` (200): adds or
    /// replaces the order's category. The app shows only the latest one.
    pub fn set_category(
        &self,
        payment_type: PaymentType,
        order_id: impl AsRef<str>,
        category: OrderCategory,
    ) -> RequestBuilder<Acknowledgement> {
        let op = order_path(&payment_type, "categories/", order_id.as_ref()).and_then(|path| {
            category.validate().map_err(Error::validation)?;
            Op::new("order_management.set_category", Method::PUT, path).json(&category)
        });
        RequestBuilder::new(&self.client, op)
    }

    /// `GET /order-management/v2/{paymentType}/{orderId}`: the order's category and receipt.
    pub fn get_order(&self, payment_type: PaymentType, order_id: impl AsRef<str>) -> RequestBuilder<OrderInfo> {
        let op = order_path(&payment_type, "", order_id.as_ref())
            .map(|path| Op::new("order_management.get_order", Method::GET, path));
        RequestBuilder::new(&self.client, op)
    }

    /// `POST /order-management/v1/images` (200): uploads an image to show with categories.
    /// Checked before sending: PNG or JPEG, at most 2 MB, at least 167 pixels high.
    /// Uploading the same bytes under the same id again is harmless; other bytes under an id
    /// already used are refused (409).
    pub fn upload_image(&self, upload: ImageUpload) -> RequestBuilder<ImageResponse> {
        let op = upload.validate().map_err(Error::validation).and_then(|()| {
            Op::new(
                "order_management.upload_image",
                Method::POST,
                "/order-management/v1/images",
            )
            .json(&upload)
        });
        RequestBuilder::new(&self.client, op)
    }

    /// Uploads the PNG or JPEG file content `bytes` as `image_id` (see
    /// [`OrderManagement::upload_image`]).
    pub fn upload_image_bytes(&self, image_id: ImageId, bytes: &[u8]) -> RequestBuilder<ImageResponse> {
        self.upload_image(ImageUpload::new(image_id, bytes))
    }

    /// `POST /order-management/v3/categories` (201): a category with an id of its own.
    pub fn add_category(&self, req: AddCategoryRequest) -> RequestBuilder<AddCategoryResponse> {
        let op = req.validate().map_err(Error::validation).and_then(|()| {
            Op::new(
                "order_management.add_category",
                Method::POST,
                "/order-management/v3/categories",
            )
            .json(&req)
        });
        RequestBuilder::new(&self.client, op)
    }

    /// `GET /order-management/v3/categories?orderId=`: the order's categories.
    pub fn list_categories(&self, order_id: impl AsRef<str>) -> RequestBuilder<Categories> {
        let order_id = order_id.as_ref();
        let op = OrderId::check(order_id)
            .map_err(|e| Error::validation(ValidationError::new("orderId", e.reason)))
            .map(|()| {
                let mut op = Op::new(
                    "order_management.list_categories",
                    Method::GET,
                    "/order-management/v3/categories",
                );
                op.query = Some(
                    url::form_urlencoded::Serializer::new(String::new())
                        .append_pair("orderId", order_id)
                        .finish(),
                );
                op
            });
        RequestBuilder::new(&self.client, op)
    }

    /// `GET /order-management/v3/categories/{categoryId}`.
    pub fn get_category(&self, category_id: impl AsRef<str>) -> RequestBuilder<Category> {
        let op =
            category_path(category_id.as_ref()).map(|path| Op::new("order_management.get_category", Method::GET, path));
        RequestBuilder::new(&self.client, op)
    }

    /// `DELETE /order-management/v3/categories/{categoryId}` (200).
    pub fn delete_category(&self, category_id: impl AsRef<str>) -> RequestBuilder<serde::de::IgnoredAny> {
        let op = category_path(category_id.as_ref())
            .map(|path| Op::new("order_management.delete_category", Method::DELETE, path));
        RequestBuilder::new(&self.client, op)
    }
}
