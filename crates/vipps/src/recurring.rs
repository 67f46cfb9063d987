//! Recurring API v3: agreements (draft, list, get, update, stop, force accept) and charges
//! (create, create many, get, list, cancel, capture, refund).
//!
//! Every mutation carries an `Idempotency-Key`, chosen once per call and sent unchanged on
//! every retry (pass your own with [`RequestBuilder::idempotency_key`]); `Retry-After` is
//! honoured and Recurring's RFC 7807 problems arrive as [`Error::problem`], with their
//! `contextId` as [`Error::trace_id`]. Amounts are plain minor units (`49900` is NOK 499.00).

use crate::error::{Error, Result};
use crate::transport::{Op, RequestBuilder};
use crate::Client;
use http::{HeaderName, HeaderValue, Method};
use vipps_types::recurring::{
    Agreement, AgreementCreated, AgreementStatus, AgreementUpdate, CaptureRequest, Charge, ChargeCreated, ChargeStatus,
    CreateCharge, CreateCharges, CreateChargesResponse, DraftAgreement, ForceAcceptAgreement, RefundRequest,
};
use vipps_types::{Validate, ValidationError};

/// The Recurring API v3. Get one with [`Client::recurring`].
///
/// ```no_run
/// # async fn run(client: vipps::Client) -> Result<(), vipps::Error> {
/// use vipps::types::Currency;
/// use vipps::types::recurring::{
///     CreateCharge, DraftAgreement, Interval, IntervalUnit, PricingRequest, TransactionType,
/// };
/// let draft = DraftAgreement::new(
///     PricingRequest::legacy(49900, Currency::Nok),
///     Some(Interval::every(1, IntervalUnit::Month)),
///     "Premier League subscription",
///     "https://example.com/confirmation",
///     "https://example.com/account/subscriptions/1234",
/// );
/// let created = client.recurring().create_agreement(draft).await?;
/// println!("store {} and send the customer to {:?}", created.agreement_id, created.vipps_confirmation_url);
///
/// // Once the agreement is ACTIVE (poll get_agreement or listen for
/// // recurring.agreement-activated.v1), bill each period yourself, a day or more ahead:
/// let due = time::macros::date!(2026 - 10 - 01);
/// let charge = CreateCharge {
///     order_id: Some("acme-sub-1234-2026-10".into()),
///     ..CreateCharge::recurring(49900, "October", due, 2, TransactionType::DirectCapture)
/// };
/// let charge_id = client.recurring().create_charge(&created.agreement_id, charge).await?.into_inner().charge_id;
/// let charge = client.recurring().get_charge(&created.agreement_id, &charge_id).await?;
/// println!("{} is {}", charge.id, charge.status);
///
/// // Stopping is final (and cancels PENDING, DUE and RESERVED charges).
/// client.recurring().stop_agreement(&created.agreement_id).await?;
/// # Ok(()) }
/// ```
///
/// Lists come a page at a time: the next page's token, when the server gives one, is the
/// `Continuation-Token` header of the answer ([`crate::Response::header`]).
///
/// ```no_run
/// # async fn run(client: vipps::Client) -> Result<(), vipps::Error> {
/// use vipps::recurring::ListAgreements;
/// use vipps::types::recurring::AgreementStatus;
/// let mut query = ListAgreements { status: Some(AgreementStatus::Active), ..Default::default() };
/// loop {
///     let page = client.recurring().list_agreements(query.clone()).await?;
///     for a in page.iter() {
///         println!("{} {}", a.id, a.product_name);
///     }
///     match page.header("Continuation-Token") {
///         Some(next) if !page.is_empty() => query.continuation_token = Some(next.to_owned()),
///         _ => break,
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Recurring {
    client: Client,
}

/// Filters and paging of [`Recurring::list_agreements`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListAgreements {
    /// Only agreements with this status (`status` query parameter).
    pub status: Option<AgreementStatus>,
    /// Only agreements created after this point (`createdAfter`; the spec types it as a
    /// 64-bit integer without saying more: a Unix timestamp).
    pub created_after: Option<i64>,
    /// The page, from 1 (`pageNumber`, 2026).
    pub page_number: Option<u32>,
    /// The page size (`pageSize`, 2026).
    pub page_size: Option<u32>,
    /// The `Continuation-Token` of the previous page's answer (sent as a header).
    pub continuation_token: Option<String>,
}

/// Filters and paging of [`Recurring::list_charges`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListCharges {
    /// Only charges with this status (`status` query parameter).
    pub status: Option<ChargeStatus>,
    /// The `Continuation-Token` of the previous page's answer (sent as a header).
    pub continuation_token: Option<String>,
}

/// An agreement or charge id in a path: 1 to 64 characters of `a-z`, `A-Z`, `0-9`, `-` and
/// `_` (`agr_5kSeqz`, `chr-4assY8f`, or the merchant's `orderId`), so it stays one segment.
fn segment<'a>(field: &str, id: &'a str) -> Result<&'a str> {
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(Error::validation(ValidationError::new(
            field,
            "must be 1 to 64 characters of a-z, A-Z, 0-9, '-' and '_'",
        )));
    }
    Ok(id)
}

fn with_continuation_token(mut op: Op, token: Option<&str>) -> Result<Op> {
    if let Some(t) = token {
        let value = HeaderValue::from_str(t)
            .ok()
            .filter(|_| !t.is_empty() && t.len() <= 256 && t.bytes().all(|b| b.is_ascii_graphic()));
        let Some(value) = value else {
            return Err(Error::validation(ValidationError::new(
                "Continuation-Token",
                "must be 1 to 256 printable ASCII characters",
            )));
        };
        op.headers.insert(HeaderName::from_static("continuation-token"), value);
    }
    Ok(op)
}

fn encode_query(pairs: &[(&str, String)]) -> Option<String> {
    if pairs.is_empty() {
        return None;
    }
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.extend_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())));
    Some(q.finish())
}

impl Recurring {
    pub(crate) fn new(client: Client) -> Self {
        Recurring { client }
    }

    fn agreement_path(agreement_id: &str) -> Result<String> {
        Ok(format!(
            "/recurring/v3/agreements/{}",
            segment("agreementId", agreement_id)?
        ))
    }

    fn charge_path(agreement_id: &str, charge_id: &str) -> Result<String> {
        Ok(format!(
            "{}/charges/{}",
            Self::agreement_path(agreement_id)?,
            segment("chargeId", charge_id)?
        ))
    }

    /// `POST /recurring/v3/agreements`: draft an agreement. Validated before sending. Send the
    /// customer to `vippsConfirmationUrl` unchanged; the draft expires after 10 minutes.
    pub fn create_agreement(&self, req: DraftAgreement) -> RequestBuilder<AgreementCreated> {
        let op = req
            .validate()
            .map_err(Error::validation)
            .and_then(|_| Op::new("recurring.create_agreement", Method::POST, "/recurring/v3/agreements").json(&req));
        RequestBuilder::new(&self.client, op)
    }

    /// `GET /recurring/v3/agreements`: one page of agreements.
    pub fn list_agreements(&self, query: ListAgreements) -> RequestBuilder<Vec<Agreement>> {
        let op = (|| {
            let mut pairs = Vec::new();
            if let Some(s) = &query.status {
                if !s.is_known() {
                    return Err(Error::validation(ValidationError::new(
                        "status",
                        "must be one of PENDING, ACTIVE, STOPPED, EXPIRED",
                    )));
                }
                pairs.push(("status", s.to_string()));
            }
            if let Some(t) = query.created_after {
                pairs.push(("createdAfter", t.to_string()));
            }
            if let Some(n) = query.page_number {
                if n == 0 {
                    return Err(Error::validation(ValidationError::new("pageNumber", "starts at 1")));
                }
                pairs.push(("pageNumber", n.to_string()));
            }
            if let Some(n) = query.page_size {
                if n == 0 {
                    return Err(Error::validation(ValidationError::new(
                        "pageSize",
                        "must be at least 1",
                    )));
                }
                pairs.push(("pageSize", n.to_string()));
            }
            let mut op = Op::new("recurring.list_agreements", Method::GET, "/recurring/v3/agreements");
            op.query = encode_query(&pairs);
            with_continuation_token(op, query.continuation_token.as_deref())
        })();
        RequestBuilder::new(&self.client, op)
    }

    /// `GET /recurring/v3/agreements/{agreementId}`. Poll until `ACTIVE`, `STOPPED` or
    /// `EXPIRED`; for `VARIABLE` pricing the customer's `pricing.maxAmount` is here.
    pub fn get_agreement(&self, agreement_id: impl AsRef<str>) -> RequestBuilder<Agreement> {
        let op =
            Self::agreement_path(agreement_id.as_ref()).map(|p| Op::new("recurring.get_agreement", Method::GET, p));
        RequestBuilder::new(&self.client, op)
    }

    /// `PATCH /recurring/v3/agreements/{agreementId}`: change name, description, management
    /// URL, price or interval. Validated before sending (`status: STOPPED` must be alone; use
    /// [`Recurring::stop_agreement`]).
    pub fn update_agreement(&self, agreement_id: impl AsRef<str>, update: AgreementUpdate) -> RequestBuilder<()> {
        let op = Self::agreement_path(agreement_id.as_ref()).and_then(|p| {
            update.validate().map_err(Error::validation)?;
            Op::new("recurring.update_agreement", Method::PATCH, p).json(&update)
        });
        RequestBuilder::new(&self.client, op)
    }

    /// `PATCH /recurring/v3/agreements/{agreementId}` with `{"status": "STOPPED"}`. Final:
    /// a stopped agreement cannot be reactivated. Cancels `PENDING`, `DUE` and `RESERVED`
    /// charges, so capture a reserved initial charge first.
    pub fn stop_agreement(&self, agreement_id: impl AsRef<str>) -> RequestBuilder<()> {
        let op = Self::agreement_path(agreement_id.as_ref())
            .and_then(|p| Op::new("recurring.stop_agreement", Method::PATCH, p).json(&AgreementUpdate::stop()));
        RequestBuilder::new(&self.client, op)
    }

    /// `PATCH /recurring/v3/agreements/{agreementId}/accept`: accept a `PENDING` agreement as
    /// the test user with `phone_number`, without the app. Test environments only: against
    /// production it fails without sending anything.
    pub fn force_accept_agreement(
        &self,
        agreement_id: impl AsRef<str>,
        phone_number: impl Into<String>,
    ) -> RequestBuilder<()> {
        let body = ForceAcceptAgreement::new(phone_number);
        let op = if !self.client.config().environment().allows_test_operations() {
            Err(Error::config("force accept is only available in the test environment"))
        } else {
            Self::agreement_path(agreement_id.as_ref()).and_then(|p| {
                body.validate().map_err(Error::validation)?;
                Op::new("recurring.force_accept_agreement", Method::PATCH, format!("{p}/accept")).json(&body)
            })
        };
        RequestBuilder::new(&self.client, op)
    }

    /// `POST /recurring/v3/agreements/{agreementId}/charges`. Validated before sending; the
    /// due date's window (at least one day, at most two years ahead) is the server's check.
    pub fn create_charge(&self, agreement_id: impl AsRef<str>, charge: CreateCharge) -> RequestBuilder<ChargeCreated> {
        let op = Self::agreement_path(agreement_id.as_ref()).and_then(|p| {
            charge.validate().map_err(Error::validation)?;
            Op::new("recurring.create_charge", Method::POST, format!("{p}/charges")).json(&charge)
        });
        RequestBuilder::new(&self.client, op)
    }

    /// `POST /recurring/v3/agreements/charges`: up to 2 000 charges in one request (each with
    /// its `orderId`); the answer lists the ids created and the charges refused with why.
    /// Charges can still fail later, asynchronously, as `recurring.charge-creation-failed.v1`
    /// webhooks: handle both. The stored spec does not have this endpoint; the shapes are the
    /// official Node SDK's (see [`CreateCharges`]).
    pub fn create_charges(&self, charges: CreateCharges) -> RequestBuilder<CreateChargesResponse> {
        let op = charges.validate().map_err(Error::validation).and_then(|_| {
            Op::new(
                "recurring.create_charges",
                Method::POST,
                "/recurring/v3/agreements/charges",
            )
            .json(&charges)
        });
        RequestBuilder::new(&self.client, op)
    }

    /// `GET /recurring/v3/agreements/{agreementId}/charges/{chargeId}`: status, summary and
    /// history.
    pub fn get_charge(&self, agreement_id: impl AsRef<str>, charge_id: impl AsRef<str>) -> RequestBuilder<Charge> {
        let op = Self::charge_path(agreement_id.as_ref(), charge_id.as_ref())
            .map(|p| Op::new("recurring.get_charge", Method::GET, p));
        RequestBuilder::new(&self.client, op)
    }

    /// `GET /recurring/v3/charges/{chargeId}`: a charge without its agreement id. For support
    /// lookups, not automation: it has a stricter rate limit; prefer [`Recurring::get_charge`].
    pub fn get_charge_by_id(&self, charge_id: impl AsRef<str>) -> RequestBuilder<Charge> {
        let op = segment("chargeId", charge_id.as_ref()).map(|c| {
            Op::new(
                "recurring.get_charge_by_id",
                Method::GET,
                format!("/recurring/v3/charges/{c}"),
            )
        });
        RequestBuilder::new(&self.client, op)
    }

    /// `GET /recurring/v3/agreements/{agreementId}/charges`: one page of an agreement's
    /// charges.
    pub fn list_charges(&self, agreement_id: impl AsRef<str>, query: ListCharges) -> RequestBuilder<Vec<Charge>> {
        let op = Self::agreement_path(agreement_id.as_ref()).and_then(|p| {
            let mut pairs = Vec::new();
            if let Some(s) = &query.status {
                if !s.is_known() {
                    return Err(Error::validation(ValidationError::new(
                        "status",
                        "is not a charge status this SDK knows",
                    )));
                }
                pairs.push(("status", s.to_string()));
            }
            let mut op = Op::new("recurring.list_charges", Method::GET, format!("{p}/charges"));
            op.query = encode_query(&pairs);
            with_continuation_token(op, query.continuation_token.as_deref())
        });
        RequestBuilder::new(&self.client, op)
    }

    /// `DELETE /recurring/v3/agreements/{agreementId}/charges/{chargeId}`: cancel a charge
    /// before the money moves, or the uncaptured rest of a reserved one.
    pub fn cancel_charge(&self, agreement_id: impl AsRef<str>, charge_id: impl AsRef<str>) -> RequestBuilder<()> {
        let op = Self::charge_path(agreement_id.as_ref(), charge_id.as_ref())
            .map(|p| Op::new("recurring.cancel_charge", Method::DELETE, p));
        RequestBuilder::new(&self.client, op)
    }

    /// `POST …/charges/{chargeId}/capture`: capture all or part of a `RESERVED` charge.
    pub fn capture_charge(
        &self,
        agreement_id: impl AsRef<str>,
        charge_id: impl AsRef<str>,
        body: CaptureRequest,
    ) -> RequestBuilder<()> {
        let op = Self::charge_path(agreement_id.as_ref(), charge_id.as_ref()).and_then(|p| {
            body.validate().map_err(Error::validation)?;
            Op::new("recurring.capture_charge", Method::POST, format!("{p}/capture")).json(&body)
        });
        RequestBuilder::new(&self.client, op)
    }

    /// `POST …/charges/{chargeId}/refund`: refund all or part of what was captured (up to
    /// 365 days after capture).
    pub fn refund_charge(
        &self,
        agreement_id: impl AsRef<str>,
        charge_id: impl AsRef<str>,
        body: RefundRequest,
    ) -> RequestBuilder<()> {
        let op = Self::charge_path(agreement_id.as_ref(), charge_id.as_ref()).and_then(|p| {
            body.validate().map_err(Error::validation)?;
            Op::new("recurring.refund_charge", Method::POST, format!("{p}/refund")).json(&body)
        });
        RequestBuilder::new(&self.client, op)
    }
}
