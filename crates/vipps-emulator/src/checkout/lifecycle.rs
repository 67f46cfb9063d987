//! A session's life: how it follows its payment, its answer, its callback, its timeout.

use super::{errors::*, state::*};
use crate::core::objects::{ObjectDetail, ObjectKind, ObjectPage, ObjectQuery};
use crate::core::state::AppState;
use crate::core::store::Tables;
use crate::core::store::{Ledger, Payment};
use crate::outbound::Outbound;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use time::OffsetDateTime;
use vipps_types::checkout::{
    PaymentDetails, PaymentMethod, PaymentState as CkPaymentState, SessionResponse, SessionState, TransactionAggregate,
};
use vipps_types::epayment::PaymentState as EpState;
use vipps_types::{Amount, Reference};

// ------------------------------------------------------------------------------------------
// Lifecycle
// ------------------------------------------------------------------------------------------

pub(super) fn random_b64(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

pub(super) fn ck_payment_state(s: &EpState) -> CkPaymentState {
    match s {
        EpState::Created => CkPaymentState::Created,
        EpState::Authorized => CkPaymentState::Authorized,
        _ => CkPaymentState::Terminated,
    }
}

/// Brings a session up to date with its payment and the clock. Returns whether it just ended.
pub(super) fn settle(s: &mut Session, ledger: &mut Ledger, now: OffsetDateTime) -> bool {
    if s.state.is_final() {
        return false;
    }
    let pay = if s.payment_created {
        ledger.payment(&s.msn, &s.reference, now).ok().map(|p| p.state.clone())
    } else {
        None
    };
    let next = match pay {
        Some(EpState::Authorized) => Some(SessionState::PaymentSuccessful),
        Some(EpState::Expired) => Some(SessionState::SessionExpired),
        Some(EpState::Aborted) | Some(EpState::Terminated) => Some(SessionState::PaymentTerminated),
        Some(EpState::Created) => None,
        Some(_) => Some(SessionState::PaymentTerminated),
        None if now >= s.expires_at => Some(SessionState::SessionExpired),
        None => None,
    };
    match next {
        Some(n) => {
            s.ended_at = Some(if n == SessionState::SessionExpired {
                s.expires_at.min(now)
            } else {
                now
            });
            s.state = n;
            true
        }
        None => false,
    }
}

pub(super) fn aggregate(p: &Payment) -> TransactionAggregate {
    let a = p.aggregate();
    let nz = |x: Amount| (x.value != 0).then_some(x);
    let mut t = TransactionAggregate::default();
    t.cancelled_amount = nz(a.cancelled_amount);
    t.captured_amount = nz(a.captured_amount);
    t.refunded_amount = nz(a.refunded_amount);
    t.authorized_amount = nz(a.authorized_amount);
    t
}

/// The session as GET and the callback show it.
pub(super) fn session_response(s: &Session, ledger: &mut Ledger, now: OffsetDateTime) -> SessionResponse {
    let payment = if s.payment_created {
        ledger.payment(&s.msn, &s.reference, now).ok().map(|p| p.clone())
    } else {
        None
    };
    let payment_details = match &payment {
        Some(p) => {
            let mut d = PaymentDetails::new(p.amount.clone());
            d.type_ = Some("WALLET".into());
            d.state = Some(ck_payment_state(&p.state));
            d.aggregate = Some(aggregate(p));
            Some(d)
        }
        // A subscription without an initial payment has no payment to show.
        None if s.request.transaction.is_none() => None,
        None => {
            let mut d = PaymentDetails::new(s.transaction_amount());
            d.type_ = Some("WALLET".into());
            // No payment started yet: CREATED, as the stored spec requires a state here.
            d.state = Some(if s.state.is_final() {
                CkPaymentState::Terminated
            } else {
                CkPaymentState::Created
            });
            Some(d)
        }
    };
    let reference = Reference::new(s.reference.clone()).unwrap_or_else(|_| Reference::random());
    let mut r = SessionResponse::new(s.session_id.clone(), reference, s.state.clone());
    r.merchant_serial_number = Some(s.msn.clone());
    r.payment_method = payment.as_ref().map(|_| PaymentMethod::Wallet);
    r.subscription_details = s.subscription_details();
    r.payment_details = payment_details;
    r.user_info = s.user_info.clone();
    r.shipping_details = s.shipping.clone();
    r.billing_details = s.billing.clone();
    r.custom_consent_provided = s.consent;
    r
}

pub(super) fn callback(state: &AppState, s: &Session, body: &SessionResponse) -> Outbound {
    let schedule = state.checkout().settings().callback_schedule;
    Outbound {
        kind: "checkout-callback",
        msn: s.msn.clone(),
        reference: s.reference.clone(),
        event: Some(s.state.to_string()),
        url: s.request.merchant_info.callback_url.clone(),
        method: "POST",
        headers: vec![(
            "Authorization".to_owned(),
            s.request.merchant_info.callback_authorization_token.clone(),
        )],
        body: serde_json::to_vec(body).unwrap_or_default().into(),
        schedule,
        sign: None,
        ordering_key: format!("checkout:{}:{}", s.msn, s.reference),
        on_attempt: None,
        blocks_later: false,
        guard: None,
    }
}

/// Settles a session and, when it just ended, prepares its callback (sent once).
pub(super) fn settle_and_notify(
    state: &AppState,
    s: &mut Session,
    ledger: &mut Ledger,
    now: OffsetDateTime,
    out: &mut Vec<Outbound>,
) {
    settle(s, ledger, now);
    super::agreement::on_end(s);
    if s.state.is_final() && !s.callback_sent {
        s.callback_sent = true;
        let body = session_response(s, ledger, now);
        out.push(callback(state, s, &body));
    }
}

/// Runs `f` on a session in one store transaction; settles it first. The callbacks it causes
/// are sent once the transaction commits.
pub(super) fn with_session<R>(
    state: &AppState,
    msn: &str,
    reference: &str,
    f: impl FnOnce(&mut Session, &mut Ledger, OffsetDateTime, &mut Vec<Outbound>) -> Result<R, CkError>,
) -> Result<R, CkError> {
    let now = state.clock().now();
    state
        .store()
        .transact(|t| session_in(state, t, (msn, reference), now, f))
}

/// [`with_session`] inside a transaction that is already running.
pub(super) fn session_in<R>(
    state: &AppState,
    t: &mut Tables,
    (msn, reference): (&str, &str),
    now: OffsetDateTime,
    f: impl FnOnce(&mut Session, &mut Ledger, OffsetDateTime, &mut Vec<Outbound>) -> Result<R, CkError>,
) -> Result<R, CkError> {
    let retention = state.checkout().settings().expired_retention;
    let mut out = Vec::new();
    let key = (msn.to_owned(), reference.to_owned());
    super::agreement::refresh(state, t, &key);
    let (ledger, cs) = t.ledger_and::<Sessions>();
    // Settled and checked first; the callbacks it causes are sent whatever `f` answers.
    let r = (|| {
        let s = cs
            .by_ref
            .get_mut(&(msn.to_owned(), reference.to_owned()))
            .ok_or_else(|| CkError::not_found(reference))?;
        if s.payment_created && ledger.payment(msn, reference, now).is_err() {
            // The store was reset: the session is gone too.
            let token = s.token.clone();
            cs.by_ref.remove(&(msn.to_owned(), reference.to_owned()));
            cs.tokens.remove(&token);
            return Err(CkError::not_found(reference));
        }
        settle_and_notify(state, s, ledger, now, &mut out);
        if s.state == SessionState::SessionExpired
            && s.ended_at
                .is_some_and(|e| now > e + time::Duration::seconds(retention.as_secs() as i64))
        {
            return Err(CkError::not_found(reference));
        }
        f(s, ledger, now, &mut out)
    })();
    super::agreement::tell(state, t, &key);
    for o in out {
        t.deliver(o);
    }
    r
}

/// The (MSN, reference) a Checkout page token belongs to.
pub(super) fn by_token(state: &AppState, token: &str) -> Option<(String, String)> {
    state
        .store()
        .transact(|t| t.get::<Sessions>().tokens.get(token).cloned())
}

/// Settles every open session (sends the callbacks of those that ended).
pub(crate) fn sweep(state: &AppState) {
    let now = state.clock().now();
    state.store().transact(|t| {
        let mut out = Vec::new();
        let agreements = super::agreement::open_with_agreement(t);
        for key in &agreements {
            super::agreement::refresh(state, t, key);
        }
        let (ledger, cs) = t.ledger_and::<Sessions>();
        // Only the open ones are recorded as changed (with a data dir, a recorded session is
        // compared with its row at the commit).
        for s in cs.by_ref.values_mut_where(|s| !s.state.is_final()) {
            settle_and_notify(state, s, ledger, now, &mut out);
        }
        for key in &agreements {
            super::agreement::tell(state, t, key);
        }
        for o in out {
            t.deliver(o);
        }
    });
}

impl crate::core::state::Part for CheckoutState {
    fn render_error(&self, path: &str, error: &crate::core::error::ApiError) -> Option<crate::core::error::Stored> {
        path.starts_with("/checkout/")
            .then(|| CkError::from(error.clone()).render(path))
    }

    fn settle_due(&self, state: &AppState) {
        sweep(state);
    }

    fn holds_reference(&self, tables: &Tables, msn: &str, reference: &str) -> Option<&'static str> {
        let sessions = &tables.get::<Sessions>().by_ref;
        (!sessions.is_empty() && sessions.contains_key(&(msn.to_owned(), reference.to_owned())))
            .then_some("a Checkout session")
    }

    fn order_currency(
        &self,
        tables: &Tables,
        msn: &str,
        kind: &vipps_types::order_management::PaymentType,
        id: &str,
    ) -> Option<vipps_types::Currency> {
        // Before the customer pays, the session's reference is no ledger payment yet.
        if *kind != vipps_types::order_management::PaymentType::Ecom {
            return None;
        }
        let s = tables.get::<Sessions>().by_ref.get(&(msn.to_owned(), id.to_owned()))?;
        Some(s.transaction_amount().currency)
    }

    fn carried_receipt(
        &self,
        tables: &Tables,
        msn: &str,
        kind: &vipps_types::order_management::PaymentType,
        id: &str,
    ) -> Option<vipps_types::order_management::Receipt> {
        if *kind != vipps_types::order_management::PaymentType::Ecom {
            return None;
        }
        let s = tables.get::<Sessions>().by_ref.get(&(msn.to_owned(), id.to_owned()))?;
        Some(s.request.transaction.as_ref()?.order_summary.as_ref()?.to_receipt())
    }

    fn objects(&self, tables: &Tables, query: &ObjectQuery) -> Option<ObjectPage> {
        (query.kind == ObjectKind::Checkout).then(|| super::objects::page(tables, query))
    }

    fn object(
        &self,
        tables: &Tables,
        kind: ObjectKind,
        msn: &str,
        id: &str,
        _now: OffsetDateTime,
    ) -> Option<ObjectDetail> {
        (kind == ObjectKind::Checkout)
            .then(|| super::objects::detail(tables, msn, id))
            .flatten()
    }
}
