//! The data behind the store's lock: payments, landing tokens, idempotency records, consents.

use super::{consents::*, payment::*, sharded::*};
use crate::core::error::ApiError;
use crate::core::outbox::{AuthorizedDetails, PublishedEvent};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use time::OffsetDateTime;
use vipps_types::epayment::{
    CreatePaymentRequest, CreatePaymentResponse, PaymentEventName, PaymentState, QrFormatKind, UserFlow,
};

/// The ePayment data: payments per (MSN, reference), landing tokens, profile consents.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    /// Boxed, so that growing the map moves pointers, not whole payments, while it holds the lock.
    pub(super) payments: Sharded<(String, String), Box<Payment>>,
    pub(super) tokens: Sharded<TokenBytes, (String, String)>,
    /// Every payment's token in creation order: payment `n` (from 1) is `created[n - 1]`, the
    /// dashboard's cursor (see `views.rs`). 24 bytes a payment.
    pub(super) created: Vec<TokenBytes>,
    /// Payments handed out during the current transaction (their new events get published).
    pub(super) touched: Vec<(String, String)>,
    /// Every payment created, by the deadline it had then, earliest first: what
    /// [`Ledger::expire_due`] looks at instead of scanning all payments. By landing token, which
    /// is 24 bytes in place where the (MSN, reference) key would be two more allocations.
    pub(super) deadlines: BinaryHeap<Reverse<(OffsetDateTime, TokenBytes)>>,
    /// The public URL the last payment was created under, shared by the payments made under it.
    pub(super) link_base: Option<Arc<str>>,
    /// Profile consents per `sub` (ePayment, eCom and Checkout record theirs here).
    pub(super) consents: HashMap<String, Consent>,
    /// How many stored payments asked for a profile scope: while none has, no transaction
    /// looks for consents to record.
    pub(super) scoped: usize,
    /// Consents recorded since the last commit (with a data dir).
    pub(super) consents_touched: crate::core::persist::Touched<String>,
    /// Retention: the first place in `created` not yet looked at.
    pub(super) evict_cursor: usize,
    /// Payments forgotten since the last commit, by number (with a data dir).
    pub(super) evicted: crate::core::persist::Touched<u32>,
}

/// Everything create needs besides the request.
#[derive(Debug, Clone)]
pub(crate) struct NewPayment<'a> {
    /// Merchant serial number.
    pub(crate) msn: &'a str,
    /// The validated request.
    pub(crate) request: &'a CreatePaymentRequest,
    /// The request's idempotency key.
    pub(crate) idempotency_key: Option<String>,
    /// Creation time.
    pub(crate) now: OffsetDateTime,
    /// When it expires if nobody acts.
    pub(crate) expires_at: OffsetDateTime,
    /// Base URL for `redirectUrl`, without trailing slash.
    pub(crate) public_url: &'a str,
}

impl Ledger {
    /// Creates a payment; 409/4150 when the reference is taken for this MSN.
    pub(crate) fn create_payment(&mut self, n: NewPayment<'_>) -> Result<CreatePaymentResponse, ApiError> {
        let req = n.request;
        let id = (n.msn.to_owned(), req.reference.as_str().to_owned());
        if self.payments.contains_key(&id) {
            return Err(ApiError::code(
                4150,
                format!("Reference '{}' already exists for this merchant", req.reference),
            ));
        }
        let mut token_raw = random_token();
        while self.tokens.contains_key(&token_raw) {
            token_raw = random_token();
        }
        let link_base = match &self.link_base {
            Some(b) if &**b == n.public_url => Arc::clone(b),
            _ => {
                let b: Arc<str> = Arc::from(n.public_url);
                self.link_base = Some(Arc::clone(&b));
                b
            }
        };
        let mut p = Payment {
            msn: n.msn.to_owned(),
            reference: req.reference.clone(),
            amount: req.amount.clone(),
            state: PaymentState::Created,
            payment_method: req.payment_method.type_.clone(),
            user_flow: req.user_flow.clone(),
            psp_reference: psp(),
            token: token_raw,
            link_base,
            return_url: req.return_url.clone(),
            description: req.payment_description.clone(),
            metadata: req.metadata.clone(),
            scope: req.profile.as_ref().and_then(|p| p.scope.clone()),
            customer_phone: req.customer.as_ref().and_then(|c| c.phone_number.clone()),
            create_key: n.idempotency_key,
            expires_at: n.expires_at,
            authorized: 0,
            cancelled: 0,
            captured: 0,
            refunded: 0,
            sub: None,
            authorized_at: None,
            // Room for exactly the CREATED event: a first push into an empty Vec reserves four
            // (about 600 bytes), and many payments in a test run never get past CREATED.
            events: Vec::with_capacity(1),
            seq: self.created.len() as u32,
            saved: 0,
            published: 0,
            extras: {
                let qr_format = req
                    .qr_format
                    .clone()
                    .filter(|q| req.user_flow == UserFlow::Qr && q.format != QrFormatKind::ImageSvg);
                let any = req.shipping.is_some()
                    || qr_format.is_some()
                    || req.minimum_user_age.is_some()
                    || req.receipt.is_some();
                any.then(|| {
                    Box::new(PaymentExtras {
                        shipping: req.shipping.clone(),
                        qr_format,
                        minimum_user_age: req.minimum_user_age,
                        receipt: req.receipt.clone().map(Box::new),
                        ..PaymentExtras::default()
                    })
                })
            },
        };
        p.push(PaymentEventName::Created, req.amount.value, EventKey::Create, n.now);
        // Keyed by the raw bytes: 24 bytes in the map instead of a 32-character string.
        let redirect_url = p.redirect_url();
        self.tokens.insert(token_raw, id.clone());
        self.created.push(token_raw);
        self.touched.push(id.clone());
        self.deadlines.push(Reverse((p.expires_at, token_raw)));
        self.scoped += usize::from(p.scope.is_some());
        self.payments.insert(id, Box::new(p));
        let mut created = CreatePaymentResponse::new(req.reference.clone());
        created.redirect_url = redirect_url;
        Ok(created)
    }

    /// The payment, with expiry applied; 404/5090 when unknown.
    pub(crate) fn payment(
        &mut self,
        msn: &str,
        reference: &str,
        now: OffsetDateTime,
    ) -> Result<&mut Payment, ApiError> {
        let id = (msn.to_owned(), reference.to_owned());
        match self.payments.get_mut(&id) {
            Some(p) => {
                p.settle(now);
                self.touched.push(id);
                Ok(p)
            }
            None => Err(ApiError::reference_not_found(reference)),
        }
    }

    /// Expires CREATED payments whose deadline has passed at `now` (the EXPIRED event,
    /// published to the event sinks like any other), without waiting for a read to do it:
    /// at most `limit` deadlines per call, so one transaction never holds the store for long.
    /// Returns how many deadlines it looked at (`limit` means there may be more). A payment
    /// whose deadline moved later is looked at again then.
    pub(crate) fn expire_due(&mut self, now: OffsetDateTime, limit: usize) -> usize {
        let mut seen = 0;
        while seen < limit && self.deadlines.peek().is_some_and(|Reverse((at, _))| *at <= now) {
            seen += 1;
            let Some(Reverse((_, token))) = self.deadlines.pop() else {
                break;
            };
            let Some(id) = self.tokens.get(&token) else { continue };
            let Some(p) = self.payments.get_mut(id) else { continue };
            if p.state != PaymentState::Created {
                continue;
            }
            p.settle(now);
            if p.state == PaymentState::Expired {
                self.touched.push(id.clone());
            } else {
                let at = p.expires_at;
                self.deadlines.push(Reverse((at, token)));
            }
        }
        seen
    }

    /// Whether `msn` has a payment `reference` (nothing else happens: no expiry, no events).
    pub(crate) fn has_payment(&self, msn: &str, reference: &str) -> bool {
        self.payments.contains_key(&(msn.to_owned(), reference.to_owned()))
    }

    /// Payment `reference` of `msn` as it is (no expiry, no events: for reading only).
    pub(crate) fn peek(&self, msn: &str, reference: &str) -> Option<&Payment> {
        self.payments.get(&(msn.to_owned(), reference.to_owned())).map(|p| &**p)
    }

    /// Whether `token` is some payment's landing-page token.
    pub(crate) fn knows_token(&self, token: &str) -> bool {
        token_bytes(token).is_some_and(|b| self.tokens.contains_key(&b))
    }

    /// The payment a landing-page token belongs to, with expiry applied.
    pub(crate) fn payment_by_token(&mut self, token: &str, now: OffsetDateTime) -> Option<&mut Payment> {
        let id = self.tokens.get(&token_bytes(token)?)?.clone();
        let p = self.payments.get_mut(&id)?;
        p.settle(now);
        self.touched.push(id);
        Some(p)
    }

    /// Number of payments.
    pub(crate) fn payment_count(&self) -> usize {
        self.payments.len()
    }

    /// Records that the customer `sub` consented at `at` to share `scope` (space-separated
    /// words) of `person` with sales unit `msn`. Repeating a consent only moves its time
    /// forward; the profile is the one shared last.
    pub(crate) fn record_consent(
        &mut self,
        sub: &str,
        msn: &str,
        person: crate::core::customer::Person,
        scope: &str,
        at: OffsetDateTime,
    ) {
        self.consents_touched.touch(sub.to_owned());
        let c = self.consents.entry(sub.to_owned()).or_insert_with(|| Consent {
            msn: msn.to_owned(),
            person: person.clone(),
            given: Vec::new(),
        });
        if c.given.iter().all(|(_, t)| *t <= at) {
            c.person = person;
        }
        for word in scope.split(' ').filter(|w| !w.is_empty()) {
            match c.given.iter_mut().find(|(w, _)| w == word) {
                Some((_, t)) => *t = (*t).max(at),
                None => c.given.push((word.to_owned(), at)),
            }
        }
    }

    /// The consents of customer `sub`, if any were recorded.
    pub(crate) fn consent(&self, sub: &str) -> Option<&Consent> {
        self.consents.get(sub)
    }

    /// Records the consents of the payments handed out in this transaction that were
    /// authorized with a scope.
    pub(super) fn note_consents(&mut self) {
        if self.scoped == 0 {
            return;
        }
        for i in 0..self.touched.len() {
            let Some(p) = self.payments.get(&self.touched[i]) else {
                continue;
            };
            let (Some(sub), Some(scope), Some(at)) = (&p.sub, &p.scope, p.authorized_at) else {
                continue;
            };
            if self.consents.get(sub).is_some_and(|c| c.covers(scope, at)) {
                continue;
            }
            let person = crate::core::customer::Person::test(&p.amount.currency, p.customer_phone.as_deref());
            let (sub, msn, scope) = (sub.clone(), p.msn.clone(), scope.clone());
            self.record_consent(&sub, &msn, person, &scope, at);
        }
    }

    /// Forgets everything.
    pub(crate) fn clear(&mut self) {
        self.payments.clear();
        self.tokens.clear();
        self.created = Vec::new();
        self.touched.clear();
        self.deadlines.clear();
        self.consents.clear();
        self.consents_touched.take();
        self.evicted.take();
        self.evict_cursor = 0;
        self.scoped = 0;
    }

    /// Counts every event recorded so far as published.
    pub(super) fn mark_all_published(&mut self) {
        self.touched.clear();
        for part in self.payments.parts.iter_mut() {
            for p in part.values_mut() {
                p.published = p.events.len() as u32;
            }
        }
    }

    /// The events recorded since the last call on the payments handed out meanwhile, in order
    /// per payment.
    pub(crate) fn take_new_events(&mut self) -> Vec<PublishedEvent> {
        let mut out = Vec::new();
        for id in std::mem::take(&mut self.touched) {
            let Some(p) = self.payments.get_mut(&id) else { continue };
            let done = p.published as usize;
            if p.events.len() > done {
                out.extend(p.events[done..].iter().map(|e| PublishedEvent {
                    msn: p.msn.clone(),
                    event: p.event(e),
                    authorized: (e.name == PaymentEventName::Authorized).then(|| {
                        Box::new(AuthorizedDetails {
                            user_details: p.user_details(),
                            sub: p.sub.clone(),
                            capture_guaranteed_until: p.capture_guaranteed_until(),
                        })
                    }),
                }));
                p.published = p.events.len() as u32;
            }
        }
        out
    }
}
