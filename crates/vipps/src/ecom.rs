//! eCom API v2 (legacy): operate existing orders and run the old flow.
//!
//! Enabled by the `ecom` cargo feature. Idempotency is the `X-Request-Id` header (at most 40
//! characters), chosen once per call and kept across retries; set your own with
//! [`RequestBuilder::idempotency_key`]. Initiate is not idempotent in eCom (a retry needs a
//! new order id), so it is never retried automatically.
//!
//! The merchant side (what Vipps calls on your server) is typed in [`vipps_types::ecom`]:
//! [`TransactionUpdateCallback`](vipps_types::ecom::TransactionUpdateCallback) for
//! `{callbackPrefix}/v2/payments/{orderId}`, [`ShippingCostRequest`](vipps_types::ecom::ShippingCostRequest)
//! / [`ShippingCostResponse`](vipps_types::ecom::ShippingCostResponse) for
//! `{shippingDetailsPrefix}/v2/payments/{orderId}/shippingDetails`, and
//! [`verify_auth_token`] checks the `Authorization` header those requests carry.

use crate::error::{Error, Result};
use crate::transport::{Idempotency, Op, RequestBuilder};
use crate::Client;
use http::Method;
use vipps_types::ecom::{
    check_order_id, CancelPaymentRequest, CancelTransaction, ForceApproveRequest, InitiatePaymentRequest,
    InitiatePaymentResponse, MerchantInfoPayment, ModificationTransaction, PaymentActionsRequest, PaymentStatus,
    RefundTransactionResponse, TransactionDetails, TransactionResponse,
};
use vipps_types::Validate;

/// The eCom API. Get one with [`Client::ecom`].
#[derive(Debug, Clone)]
pub struct Ecom {
    client: Client,
}

fn order_path(order_id: &str) -> Result<&str> {
    check_order_id("orderId", order_id).map_err(Error::validation)?;
    Ok(order_id)
}

impl Ecom {
    pub(crate) fn new(client: Client) -> Self {
        Ecom { client }
    }

    fn msn(&self) -> MerchantInfoPayment {
        MerchantInfoPayment {
            merchant_serial_number: self.client.config().merchant_serial_number().to_owned(),
        }
    }

    /// `POST /ecomm/v2/payments`. Not idempotent, never retried automatically.
    pub fn initiate(&self, req: InitiatePaymentRequest) -> RequestBuilder<InitiatePaymentResponse> {
        let op = req.validate().map_err(Error::validation).and_then(|_| {
            Op::new("ecom.initiate", Method::POST, "/ecomm/v2/payments")
                .idempotency(Idempotency::None)
                .json(&req)
        });
        RequestBuilder::new(&self.client, op)
    }

    /// `POST …/{orderId}/capture`. `amount: None` captures everything remaining.
    pub fn capture(
        &self,
        order_id: impl AsRef<str>,
        amount: Option<i64>,
        transaction_text: impl Into<String>,
    ) -> RequestBuilder<TransactionResponse> {
        let body = PaymentActionsRequest {
            merchant_info: self.msn(),
            transaction: ModificationTransaction {
                amount,
                transaction_text: transaction_text.into(),
            },
        };
        self.action("ecom.capture", "capture", order_id.as_ref(), body)
    }

    /// `POST …/{orderId}/refund`. `amount` in øre, or `None` to refund everything captured and
    /// not yet refunded.
    pub fn refund(
        &self,
        order_id: impl AsRef<str>,
        amount: impl Into<Option<i64>>,
        transaction_text: impl Into<String>,
    ) -> RequestBuilder<RefundTransactionResponse> {
        let body = PaymentActionsRequest {
            merchant_info: self.msn(),
            transaction: ModificationTransaction {
                amount: amount.into(),
                transaction_text: transaction_text.into(),
            },
        };
        self.action("ecom.refund", "refund", order_id.as_ref(), body)
    }

    fn action<T: serde::de::DeserializeOwned + Send + 'static>(
        &self,
        name: &'static str,
        action: &str,
        order_id: &str,
        body: PaymentActionsRequest,
    ) -> RequestBuilder<T> {
        let op = order_path(order_id).and_then(|o| {
            body.validate().map_err(Error::validation)?;
            Op::new(name, Method::POST, format!("/ecomm/v2/payments/{o}/{action}"))
                .idempotency(Idempotency::RequestId)
                .json(&body)
        });
        RequestBuilder::new(&self.client, op)
    }

    /// `PUT …/{orderId}/cancel`. With `release_remaining_funds`, cancels the rest after a partial capture.
    pub fn cancel(
        &self,
        order_id: impl AsRef<str>,
        transaction_text: impl Into<String>,
        release_remaining_funds: bool,
    ) -> RequestBuilder<TransactionResponse> {
        let body = CancelPaymentRequest {
            merchant_info: self.msn(),
            transaction: CancelTransaction {
                transaction_text: transaction_text.into(),
            },
            should_release_remaining_funds: release_remaining_funds.then_some(true),
        };
        let op = order_path(order_id.as_ref()).and_then(|o| {
            body.validate().map_err(Error::validation)?;
            Op::new("ecom.cancel", Method::PUT, format!("/ecomm/v2/payments/{o}/cancel"))
                .idempotency(Idempotency::RequestId)
                .json(&body)
        });
        RequestBuilder::new(&self.client, op)
    }

    /// `GET …/{orderId}/details`: summary and history (newest first).
    pub fn details(&self, order_id: impl AsRef<str>) -> RequestBuilder<TransactionDetails> {
        let op = order_path(order_id.as_ref())
            .map(|o| Op::new("ecom.details", Method::GET, format!("/ecomm/v2/payments/{o}/details")));
        RequestBuilder::new(&self.client, op)
    }

    /// `GET …/{orderId}/status`.
    #[deprecated(note = "the eCom API deprecated /status: use `details`")]
    pub fn status(&self, order_id: impl AsRef<str>) -> RequestBuilder<PaymentStatus> {
        let op = order_path(order_id.as_ref())
            .map(|o| Op::new("ecom.status", Method::GET, format!("/ecomm/v2/payments/{o}/status")));
        RequestBuilder::new(&self.client, op)
    }

    /// `POST /ecomm/v2/integration-test/payments/{orderId}/approve`: test environments only;
    /// against production it fails without sending anything.
    pub fn force_approve(&self, order_id: impl AsRef<str>, body: ForceApproveRequest) -> RequestBuilder<()> {
        let op = if !self.client.config().environment().allows_test_operations() {
            Err(Error::config("force approve is only available in the test environment"))
        } else {
            order_path(order_id.as_ref()).and_then(|o| {
                if let Some(n) = &body.customer_phone_number {
                    if n.len() != 8 || !n.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(Error::validation(vipps_types::ValidationError::new(
                            "customerPhoneNumber",
                            "must be 8 digits, without country code",
                        )));
                    }
                }
                Op::new(
                    "ecom.force_approve",
                    Method::POST,
                    format!("/ecomm/v2/integration-test/payments/{o}/approve"),
                )
                .idempotency(Idempotency::RequestId)
                .json(&body)
            })
        };
        RequestBuilder::new(&self.client, op)
    }
}

/// Checks the `Authorization` header of a callback from Vipps against the `authToken` you
/// sent in `merchantInfo`, in constant time.
pub fn verify_auth_token(authorization: Option<&str>, expected: &str) -> bool {
    use subtle::ConstantTimeEq;
    match authorization {
        Some(got) => got.as_bytes().ct_eq(expected.as_bytes()).into() && !expected.is_empty(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn auth_token() {
        assert!(super::verify_auth_token(Some("tok"), "tok"));
        assert!(!super::verify_auth_token(Some("tok2"), "tok"));
        assert!(!super::verify_auth_token(None, "tok"));
        assert!(!super::verify_auth_token(Some(""), ""));
    }
}
