//! The ePayment API on eCom orders. The migration guide: "payments initiated via the eCom API
//! can be captured, refunded, cancelled, and retrieved using the ePayment API" (not the other
//! way round), so a merchant can move one endpoint at a time, create last.
//!
//! An eCom order read through ePayment looks like an ePayment payment: its state, aggregate
//! and event log are derived from the order and its transaction log (`pspReference` is the
//! order's transaction id). Captures, refunds and cancels run the eCom rules on the order, with
//! ePayment's idempotency (the `Idempotency-Key` is the eCom log's request id) and ePayment's
//! error format.

use super::errors::EcomErr;
use super::order::{Order, Phase};
use super::state::{in_data, Data};
use crate::core::error::{ApiError, Stored};
use crate::core::objects::{ObjectDetail, ObjectKind, ObjectPage, ObjectQuery};
use crate::core::state::{AppState, ForeignCall, Modification};
use crate::core::store::{capture_guarantee, Tables};
use http::StatusCode;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use vipps_types::ecom::Operation;
use vipps_types::epayment::{
    Aggregate, GetPaymentResponse, ModificationResponse, PaymentEvent, PaymentEventName, PaymentMethodResponse,
    PaymentMethodType, PaymentState,
};
use vipps_types::{Amount, Currency, Reference};

/// `GET /epayment/v1/payments/{reference}` of an eCom order, if `order_id` is one of `msn`'s.
fn get(t: &mut Tables, now: OffsetDateTime, msn: &str, order_id: &str) -> Option<GetPaymentResponse> {
    in_data(t, now, |d, now, out| d.order(msn, order_id, now, out).map(|o| view(o)))
}

/// `GET …/events` of an eCom order: its transaction log as ePayment events, oldest first.
fn events(t: &mut Tables, now: OffsetDateTime, msn: &str, order_id: &str) -> Option<Vec<PaymentEvent>> {
    in_data(t, now, |d, now, out| d.order(msn, order_id, now, out).map(|o| log(o)))
}

/// Runs `action` on an eCom order, inside ePayment's transaction (which adds ePayment's
/// idempotency); `None` when `call.reference` is none of the merchant's orders.
fn modify(
    t: &mut Tables,
    now: OffsetDateTime,
    call: ForeignCall<'_>,
    action: Modification<'_>,
) -> Option<Result<Stored, ApiError>> {
    in_data(t, now, |d, now, out| {
        let o = d.order(call.msn, call.reference, now, out)?;
        Some(
            apply(o, call.key.unwrap_or_default(), action, now)
                .map(|()| Stored::json(StatusCode::OK, &modification(o))),
        )
    })
}

fn apply(o: &mut Order, request_id: &str, action: Modification<'_>, now: OffsetDateTime) -> Result<(), ApiError> {
    let text = o.request.transaction.transaction_text.clone();
    let amount = |m: &Amount| -> Result<Option<i64>, ApiError> {
        if m.currency != Currency::Nok {
            return Err(ApiError::validation(
                "modificationAmount.currency",
                &format!("must be the payment's currency NOK (was {})", m.currency),
                Some(4040),
            ));
        }
        Ok(Some(m.value))
    };
    let r = match action {
        Modification::Capture(m) => o.capture(amount(m)?, &text, request_id, now).map(drop),
        Modification::Refund(m) => o.refund(amount(m)?, &text, request_id, now).map(drop),
        Modification::Cancel { transaction_only } => {
            if transaction_only && o.phase != Phase::Initiated {
                return Err(ApiError::code(
                    6060,
                    "cancelTransactionOnly: the payment is no longer waiting for the customer",
                ));
            }
            // Nothing left to release: as in ePayment, a repeated cancel changes nothing.
            if o.phase == Phase::Voided || (o.phase == Phase::Reserved && o.released) {
                return Ok(());
            }
            // ePayment's cancel releases whatever is not captured, after a partial capture too.
            o.cancel(true, &text, request_id, now).map(drop)
        }
    };
    r.map_err(|e| refused(e, action))
}

/// An eCom refusal in ePayment's format: the ePayment code of the same rule where there is one
/// (the eCom group and code stay in `extraDetails` as `ecomError`).
fn refused(e: EcomErr, action: Modification<'_>) -> ApiError {
    let code = match (e.group, e.code.as_str(), action) {
        (_, "94", _) => Some(6160),
        ("Payment", "51", _) => Some(6040),
        ("Payment", "61", _) => Some(6090),
        ("Payment", "71", _) => Some(6150),
        ("Payment", "72", _) => Some(6020),
        ("Payment", "73", _) => Some(6210),
        ("Payment", "95", _) => Some(6220),
        ("Payment", "98", Modification::Cancel { .. }) => Some(6030),
        ("Payment", "98", _) => Some(6100),
        (_, "91", Modification::Capture(_)) => Some(6200),
        (_, "91", Modification::Refund(_)) => Some(6210),
        (_, "91", Modification::Cancel { .. }) => Some(6190),
        _ => None,
    };
    let err = match code {
        Some(c) => ApiError::code(c, e.message),
        None => ApiError::new(e.status, "Operation not allowed on this eCom payment", e.message),
    };
    err.field("ecomError", format!("{} {}", e.group, e.code))
}

fn state_of(o: &Order) -> PaymentState {
    match o.phase {
        Phase::Initiated | Phase::Approving => PaymentState::Created,
        Phase::Reserved | Phase::Voided => PaymentState::Authorized,
        Phase::Cancelled if o.customer_acted => PaymentState::Aborted,
        Phase::Cancelled => PaymentState::Terminated,
        Phase::Rejected => PaymentState::Expired,
        Phase::Failed => PaymentState::Aborted,
    }
}

fn aggregate(o: &Order) -> Aggregate {
    let nok = |v: i64| Amount::new(v, Currency::Nok);
    let cancelled = match o.phase {
        Phase::Voided => o.reserved,
        Phase::Reserved if o.released => o.reserved - o.captured,
        Phase::Cancelled if !o.customer_acted => o.amount(),
        _ => 0,
    };
    let authorized = if matches!(o.phase, Phase::Reserved | Phase::Voided) {
        o.reserved
    } else {
        0
    };
    Aggregate::new(nok(authorized), nok(cancelled), nok(o.captured), nok(o.refunded))
}

fn total(o: &Order) -> Amount {
    Amount::new(o.reserved.max(o.amount()), Currency::Nok)
}

fn reference(o: &Order) -> Reference {
    // eCom order ids are a-z, A-Z, 0-9 and '-': taken as they are.
    serde_json::from_value(serde_json::Value::String(o.order_id.clone())).unwrap_or_else(|_| Reference::random())
}

fn view(o: &Order) -> GetPaymentResponse {
    let mut r = GetPaymentResponse::new(
        aggregate(o),
        total(o),
        state_of(o),
        PaymentMethodResponse::new(PaymentMethodType::Wallet),
        o.transaction_id.clone(),
        reference(o),
    );
    r.profile.sub = o.sub.clone();
    r.redirect_url = (o.phase == Phase::Initiated).then(|| o.url.clone());
    // The same rule as ePayment's payments: the card network's guarantee within the market's
    // deadline. The order's card is the one eCom reports as its `paymentInstrument`.
    let mastercard = o.instrument().as_deref() == Some("Mastercard");
    r.capture_guaranteed_until = o.reserved_at.map(|t| capture_guarantee(t, mastercard, &Currency::Nok));
    r
}

fn modification(o: &Order) -> ModificationResponse {
    ModificationResponse::new(
        total(o),
        state_of(o),
        aggregate(o),
        o.transaction_id.clone(),
        reference(o),
    )
}

/// The transaction log as ePayment events. A cancel before the reservation ends the payment
/// (TERMINATED by the merchant, ABORTED by the customer, EXPIRED by the timeout); after it, it
/// releases money (CANCELLED). A `SALE` is an authorization and a capture at once.
fn log(o: &Order) -> Vec<PaymentEvent> {
    let mut reserved = false;
    let mut events = Vec::with_capacity(o.log.len() + 1);
    for e in &o.log {
        let names: &[PaymentEventName] = match e.operation {
            // A reservation that failed (a declined card): the payment is ABORTED.
            Operation::Reserve | Operation::Sale if !e.operation_success => &[PaymentEventName::Aborted],
            Operation::Initiate => &[PaymentEventName::Created],
            Operation::Reserve => &[PaymentEventName::Authorized],
            Operation::Sale => &[PaymentEventName::Authorized, PaymentEventName::Captured],
            Operation::Capture => &[PaymentEventName::Captured],
            Operation::Refund => &[PaymentEventName::Refunded],
            Operation::Void => &[PaymentEventName::Cancelled],
            Operation::Cancel if reserved => &[PaymentEventName::Cancelled],
            // The timeout's entry (eCom logs it as a CANCEL).
            Operation::Cancel if o.phase == Phase::Rejected => &[PaymentEventName::Expired],
            Operation::Cancel if o.customer_acted => &[PaymentEventName::Aborted],
            Operation::Cancel => &[PaymentEventName::Terminated],
            _ => &[],
        };
        reserved |= matches!(e.operation, Operation::Reserve | Operation::Sale) && e.operation_success;
        let timestamp = OffsetDateTime::parse(&e.time_stamp, &Rfc3339).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let failed_reservation = matches!(e.operation, Operation::Reserve | Operation::Sale) && !e.operation_success;
        for name in names {
            let mut event = PaymentEvent::new(
                reference(o),
                e.transaction_id.clone(),
                name.clone(),
                Amount::new(e.amount, Currency::Nok),
                timestamp,
                e.operation_success || failed_reservation,
            );
            event.idempotency_key = (!e.request_id.is_empty()).then(|| e.request_id.clone());
            events.push(event);
        }
    }
    events
}

impl crate::core::state::Part for super::EcomState {
    fn render_error(&self, path: &str, error: &ApiError) -> Option<Stored> {
        // eCom's errors are an array; its code here is the HTTP status.
        path.starts_with("/ecomm/").then(|| {
            EcomErr::invalid(error.status.as_str(), error.detail.clone())
                .with_status(error.status)
                .render()
        })
    }

    fn settle_due(&self, state: &AppState) {
        super::sweep(state);
    }

    fn holds_reference(&self, tables: &Tables, msn: &str, reference: &str) -> Option<&'static str> {
        let orders = &tables.get::<Data>().orders;
        (!orders.is_empty() && orders.contains_key(&(msn.to_owned(), reference.to_owned()))).then_some("an eCom order")
    }

    fn order_currency(
        &self,
        tables: &Tables,
        msn: &str,
        kind: &vipps_types::order_management::PaymentType,
        id: &str,
    ) -> Option<Currency> {
        // eCom is NOK only.
        (*kind == vipps_types::order_management::PaymentType::Ecom && self.holds_reference(tables, msn, id).is_some())
            .then_some(Currency::Nok)
    }

    fn objects(&self, tables: &Tables, query: &ObjectQuery) -> Option<ObjectPage> {
        (query.kind == ObjectKind::Ecom).then(|| super::objects::page(tables, query))
    }

    fn object(
        &self,
        tables: &Tables,
        kind: ObjectKind,
        msn: &str,
        id: &str,
        _now: OffsetDateTime,
    ) -> Option<ObjectDetail> {
        (kind == ObjectKind::Ecom)
            .then(|| super::objects::detail(tables, msn, id))
            .flatten()
    }

    fn payment(
        &self,
        tables: &mut Tables,
        now: OffsetDateTime,
        msn: &str,
        reference: &str,
    ) -> Option<GetPaymentResponse> {
        get(tables, now, msn, reference)
    }

    fn payment_events(
        &self,
        tables: &mut Tables,
        now: OffsetDateTime,
        msn: &str,
        reference: &str,
    ) -> Option<Vec<PaymentEvent>> {
        events(tables, now, msn, reference)
    }

    fn modify_payment(
        &self,
        tables: &mut Tables,
        now: OffsetDateTime,
        call: ForeignCall<'_>,
        modification: Modification<'_>,
    ) -> Option<Result<Stored, ApiError>> {
        modify(tables, now, call, modification)
    }
}
