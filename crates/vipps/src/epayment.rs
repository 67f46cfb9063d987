//! ePayment API v1: create, get, event log, capture, refund, cancel, force approve.

use crate::error::{Error, Result};
use crate::transport::{Idempotency, Op, RequestBuilder};
use crate::Client;
use http::Method;
use vipps_types::epayment::{
    CancelModificationRequest, CreatePaymentRequest, CreatePaymentResponse, ForceApproveRequest, GetPaymentResponse,
    ModificationRequest, ModificationResponse, PaymentEvent,
};
use vipps_types::{Amount, Reference, Validate, ValidationError};

/// The ePayment API. Get one with [`Client::epayment`].
///
/// ```no_run
/// # async fn run(client: vipps::Client) -> Result<(), vipps::Error> {
/// use vipps::types::{Amount, Reference, epayment::{CreatePaymentRequest, UserFlow}};
/// let reference = Reference::new("acme-shop-123-order123abc").unwrap();
/// let created = client
///     .epayment()
///     .create_payment(CreatePaymentRequest {
///         return_url: Some("https://example.com/return".into()),
///         payment_description: Some("One pair of socks".into()),
///         ..CreatePaymentRequest::new(Amount::nok(49900), reference.clone(), UserFlow::WebRedirect)
///     })
///     .await?;
/// println!("send the customer to {:?}", created.redirect_url);
/// // … after the customer approved:
/// client.epayment().capture(&reference, Amount::nok(20000)).await?;
/// # Ok(()) }
/// ```
///
/// An Express payment lets the customer pick the delivery in the app; with dynamic options
/// your endpoint answers with the choices for the customer's address:
///
/// ```no_run
/// # async fn run(client: vipps::Client) -> Result<(), vipps::Error> {
/// use vipps::types::{Amount, Reference, epayment::{CreatePaymentRequest, DynamicShippingOptions, Shipping}};
/// let shipping = Shipping {
///     dynamic_options: Some(DynamicShippingOptions {
///         callback_url: "https://example.com/vipps/shipping".into(),
///         callback_authorization_token: "a-long-random-token".into(),
///     }),
///     ..Shipping::default()
/// };
/// let reference = Reference::new("acme-shop-123-order123abd").unwrap();
/// let req = CreatePaymentRequest::express(Amount::nok(49900), reference, "https://example.com/return", shipping);
/// client.epayment().create_payment(req).await?;
/// // In the handler of https://example.com/vipps/shipping: check the Authorization header with
/// // `vipps::epayment::verify_shipping_authorization`, read the body with
/// // `vipps::epayment::parse_dynamic_shipping_request`, and answer a `DynamicShippingResponse`.
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct EPayment {
    client: Client,
}

/// The reference of an existing payment in a path. Only the minimum length is relaxed: eCom
/// orders are read, captured, refunded and cancelled through ePayment under their order id
/// (`epayment--migration-from-ecom.md`), which may be shorter than 8 characters (see
/// [`Reference::ecom_order_id`]).
fn reference_path(reference: &str) -> Result<&str> {
    Reference::check_existing(reference).map_err(|e| Error::validation(ValidationError::new("reference", e.reason)))?;
    Ok(reference)
}

/// The test-only force approve addresses ePayment payments only: the full reference rules.
fn strict_reference_path(reference: &str) -> Result<&str> {
    Reference::check(reference).map_err(|e| Error::validation(ValidationError::new("reference", e.reason)))?;
    Ok(reference)
}

impl EPayment {
    pub(crate) fn new(client: Client) -> Self {
        EPayment { client }
    }

    /// `POST /epayment/v1/payments`. The request is validated before sending.
    pub fn create_payment(&self, req: CreatePaymentRequest) -> RequestBuilder<CreatePaymentResponse> {
        let op = req
            .validate()
            .map_err(Error::validation)
            .and_then(|_| Op::new("epayment.create_payment", Method::POST, "/epayment/v1/payments").json(&req));
        RequestBuilder::new(&self.client, op)
    }

    /// `GET /epayment/v1/payments/{reference}`. `reference` may also be an eCom order's id
    /// (shorter ids too, see [`Reference::ecom_order_id`]), as for capture, refund and cancel.
    pub fn get_payment(&self, reference: impl AsRef<str>) -> RequestBuilder<GetPaymentResponse> {
        let op = reference_path(reference.as_ref()).map(|r| {
            Op::new(
                "epayment.get_payment",
                Method::GET,
                format!("/epayment/v1/payments/{r}"),
            )
        });
        RequestBuilder::new(&self.client, op)
    }

    /// `GET /epayment/v1/payments/{reference}/events`: the authoritative history, oldest first.
    pub fn get_event_log(&self, reference: impl AsRef<str>) -> RequestBuilder<Vec<PaymentEvent>> {
        let op = reference_path(reference.as_ref()).map(|r| {
            Op::new(
                "epayment.get_event_log",
                Method::GET,
                format!("/epayment/v1/payments/{r}/events"),
            )
        });
        RequestBuilder::new(&self.client, op)
    }

    fn modification(
        &self,
        name: &'static str,
        action: &str,
        reference: &str,
        amount: Amount,
    ) -> RequestBuilder<ModificationResponse> {
        let body = ModificationRequest {
            modification_amount: amount,
        };
        let op = reference_path(reference).and_then(|r| {
            body.validate().map_err(Error::validation)?;
            Op::new(name, Method::POST, format!("/epayment/v1/payments/{r}/{action}")).json(&body)
        });
        RequestBuilder::new(&self.client, op)
    }

    /// `POST …/capture`: capture (part of) the reserved amount. Repeatable for partial captures.
    pub fn capture(&self, reference: impl AsRef<str>, amount: Amount) -> RequestBuilder<ModificationResponse> {
        self.modification("epayment.capture", "capture", reference.as_ref(), amount)
    }

    /// `POST …/refund`: refund (part of) the captured amount.
    pub fn refund(&self, reference: impl AsRef<str>, amount: Amount) -> RequestBuilder<ModificationResponse> {
        self.modification("epayment.refund", "refund", reference.as_ref(), amount)
    }

    /// `POST …/cancel`: release everything not yet captured (terminates a payment not yet approved).
    pub fn cancel(&self, reference: impl AsRef<str>) -> RequestBuilder<ModificationResponse> {
        self.cancel_with(reference, CancelModificationRequest::default())
    }

    /// `POST …/cancel` with a body, e.g. `cancelTransactionOnly: true` to cancel only a
    /// payment the customer has not approved yet.
    pub fn cancel_with(
        &self,
        reference: impl AsRef<str>,
        body: CancelModificationRequest,
    ) -> RequestBuilder<ModificationResponse> {
        let op = reference_path(reference.as_ref()).and_then(|r| {
            let op = Op::new(
                "epayment.cancel",
                Method::POST,
                format!("/epayment/v1/payments/{r}/cancel"),
            );
            if body.cancel_transaction_only.is_some() {
                op.json(&body)
            } else {
                Ok(op)
            }
        });
        RequestBuilder::new(&self.client, op)
    }

    /// `POST /epayment/v1/test/payments/{reference}/approve`: approve a payment without the app.
    /// Test environments only: against production it fails without sending anything.
    pub fn force_approve(&self, reference: impl AsRef<str>, body: ForceApproveRequest) -> RequestBuilder<()> {
        let op = if !self.client.config().environment().allows_test_operations() {
            Err(Error::config("force approve is only available in the test environment"))
        } else {
            strict_reference_path(reference.as_ref()).and_then(|r| {
                body.validate().map_err(Error::validation)?;
                Op::new(
                    "epayment.force_approve",
                    Method::POST,
                    format!("/epayment/v1/test/payments/{r}/approve"),
                )
                .idempotency(Idempotency::None)
                .json(&body)
            })
        };
        RequestBuilder::new(&self.client, op)
    }
}

/// Checks the `Authorization` header of an Express dynamic shipping call against the
/// `shipping.dynamicOptions.callbackAuthorizationToken` of the payment (compared in constant
/// time; a missing header or an empty expected token never verifies).
pub fn verify_shipping_authorization(header_value: Option<&str>, expected_token: &str) -> bool {
    crate::checkout::verify_callback_authorization(header_value, expected_token)
}

/// Parses the body of an Express dynamic shipping call (`Reference`, `AddressLine1`, …).
pub fn parse_dynamic_shipping_request(
    body: &[u8],
) -> std::result::Result<vipps_types::epayment::DynamicShippingRequest, serde_json::Error> {
    serde_json::from_slice(body)
}
