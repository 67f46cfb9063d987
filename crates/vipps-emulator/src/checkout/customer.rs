//! What the customer does on the Checkout page: enter an address, choose shipping, pay or abort.

use super::{errors::*, lifecycle::*, state::*};
use crate::core::customer::{living_in, Person, NORWAY};
use crate::core::state::AppState;
use crate::core::store::{Ledger, NewPayment};
use crate::outbound::call_merchant;
use crate::outbound::DeliveriesExt;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use vipps_types::checkout::CustomConsent;
use vipps_types::checkout::{
    BillingDetails, DynamicShippingRequest, DynamicShippingResponse, Elements, LogisticsOption, PickupPoint,
    SessionResponse, SessionState, ShippingDetails, UserInfo,
};
use vipps_types::epayment::{CreatePaymentRequest, PaymentState as EpState, UserFlow};
use vipps_types::{Amount, Reference, Validate};

// ------------------------------------------------------------------------------------------
// Customer actions (Checkout page and control plane)
// ------------------------------------------------------------------------------------------

/// Contact data entered by the customer.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct CustomerData {
    pub(super) first_name: Option<String>,
    pub(super) last_name: Option<String>,
    pub(super) email: Option<String>,
    pub(super) phone_number: Option<String>,
}

/// An address entered by the customer.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct AddressData {
    pub(super) street_address: Option<String>,
    pub(super) postal_code: Option<String>,
    pub(super) city: Option<String>,
    pub(super) country: Option<String>,
}

/// What the customer does: the body of the page's pay call and of the control plane.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct CustomerInput {
    pub(super) msn: Option<String>,
    pub(super) customer: Option<CustomerData>,
    pub(super) address: Option<AddressData>,
    pub(super) shipping_option_id: Option<String>,
    /// The pickup point chosen for a `PICKUP_POINT` option (else the emulator makes one up).
    pub(super) pickup_point: Option<PickupPoint>,
    pub(super) consent: Option<bool>,
}

/// Whether an option delivers to a pickup point (`type: PICKUP_POINT`).
pub(super) fn is_pickup_point(o: &LogisticsOption) -> bool {
    serde_json::to_value(o)
        .ok()
        .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(|t| t == "PICKUP_POINT"))
        .unwrap_or(false)
}

/// The pickup point of a `PICKUP_POINT` option: the customer's choice, else a made-up one in
/// the customer's postal code and city.
pub(super) fn pickup_point_for(
    o: &LogisticsOption,
    chosen: Option<PickupPoint>,
    addr: &AddressData,
) -> Option<PickupPoint> {
    if !is_pickup_point(o) {
        return None;
    }
    chosen.or_else(|| {
        let brand = o.brand();
        Some(PickupPoint {
            id: format!("emulator-{}-1", brand.as_str().to_ascii_lowercase()),
            name: format!("{} pickup point (emulator)", brand.as_str()),
            address: "Emulatorveien 1".to_owned(),
            postal_code: addr.postal_code.clone().unwrap_or_else(|| "0154".to_owned()),
            city: addr.city.clone().unwrap_or_else(|| "Oslo".to_owned()),
            country: addr.country.clone().unwrap_or_else(|| "NO".to_owned()),
            opening_hours: Some(vec!["Man-Søn: 0800-2200".to_owned()]),
        })
    })
}

/// How far the customer goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Pay (the app approves).
    Approve,
    /// Start paying and stop (`PaymentInitiated`).
    Initiate,
    /// Cancel.
    Reject,
}

pub(super) fn pick(a: Option<String>, b: Option<String>, default: &str) -> String {
    a.filter(|s| !s.trim().is_empty())
        .or(b.filter(|s| !s.trim().is_empty()))
        .unwrap_or_else(|| default.to_owned())
}

pub(super) fn address_key(a: &AddressData) -> String {
    serde_json::to_string(a).unwrap_or_default()
}

/// The complete address: entered, else prefilled, else that of the test customer who lives in
/// the address's country (Norway's, with that country, for a country without one).
pub(super) fn full_address(s: &Session, a: Option<AddressData>) -> AddressData {
    let a = a.unwrap_or_default();
    let p = s.request.prefill_customer.clone().unwrap_or_default();
    let country = pick(a.country, p.country.clone(), default_country(s));
    let home = living_in(&country).unwrap_or(NORWAY);
    AddressData {
        street_address: Some(pick(a.street_address, p.street_address, home.street)),
        postal_code: Some(pick(a.postal_code, p.postal_code, home.post_code)),
        city: Some(pick(a.city, p.city, home.city)),
        country: Some(country),
    }
}

/// The test customer's country, or the first supported one when the session does not
/// support Norway.
pub(super) fn default_country(s: &Session) -> &str {
    match s.request.configuration.as_ref().and_then(|c| c.countries.as_ref()) {
        Some(c) if !c.supported.is_empty() && !c.supported.iter().any(|x| x.eq_ignore_ascii_case(NORWAY.country)) => {
            c.supported.first().map_or(NORWAY.country, String::as_str)
        }
        _ => NORWAY.country,
    }
}

/// The complete customer: entered, else prefilled, else the test customer who lives in
/// `country` (the address's).
pub(super) fn full_customer(s: &Session, c: Option<CustomerData>, country: &str) -> CustomerData {
    let c = c.unwrap_or_default();
    let p = s.request.prefill_customer.clone().unwrap_or_default();
    let home = living_in(country).unwrap_or(NORWAY);
    CustomerData {
        first_name: Some(pick(c.first_name, p.first_name, home.first_name)),
        last_name: Some(pick(c.last_name, p.last_name, home.last_name)),
        email: Some(pick(c.email, p.email, home.email)),
        phone_number: Some(pick(c.phone_number, p.phone_number, home.mobile)),
    }
}

/// Calls the dynamic shipping callback (no lock held).
pub(super) async fn fetch_dynamic(
    state: &AppState,
    url: &str,
    auth: &str,
    req: &DynamicShippingRequest,
    currency: &vipps_types::Currency,
) -> Result<Vec<LogisticsOption>, String> {
    let timeout = state.checkout().settings().dynamic_shipping_timeout;
    let (status, body) = call_merchant(state.merchant_http(), url, Some(auth), req, timeout).await?;
    if !status.is_success() {
        return Err(format!("HTTP {}", status.as_u16()));
    }
    let text = String::from_utf8_lossy(&body);
    if text.trim().is_empty() || text.trim() == "null" {
        return Err("empty answer".into());
    }
    let opts: DynamicShippingResponse = serde_json::from_slice(&body).map_err(|e| format!("invalid answer: {e}"))?;
    opts.validate().map_err(|e| format!("invalid answer: {e}"))?;
    if opts.0.is_empty() {
        return Err("empty answer".into());
    }
    if opts
        .0
        .iter()
        .any(|o| o.amount().is_some_and(|a| &a.currency != currency))
    {
        return Err("invalid answer: an option's currency is not the transaction's".into());
    }
    Ok(opts.0)
}

/// The shipping options for an address: dynamic (when configured and answered), else fixed.
/// Remembers them on the session.
pub(crate) async fn shipping_options(
    state: &AppState,
    msn: &str,
    reference: &str,
    address: Option<AddressData>,
) -> Result<(Vec<LogisticsOption>, bool), CkError> {
    let (addr, dynamic, fixed, auth, currency, cached) = with_session(state, msn, reference, |s, _, _, _| {
        let addr = full_address(s, address.clone());
        let cached = s
            .offered
            .as_ref()
            .filter(|(k, _, _)| *k == address_key(&addr))
            .map(|(_, o, d)| (o.clone(), *d));
        Ok((
            addr,
            s.dynamic_callback(),
            s.fixed_options(),
            s.request.merchant_info.callback_authorization_token.clone(),
            s.transaction_amount().currency,
            cached,
        ))
    })?;
    if let Some(c) = cached {
        return Ok(c);
    }
    let (options, used_dynamic, lookup) = match dynamic {
        None => (fixed, false, None),
        Some(url) => {
            let mut req = DynamicShippingRequest::default();
            req.street_address = addr.street_address.clone().unwrap_or_default();
            req.postal_code = addr.postal_code.clone().unwrap_or_default();
            req.region = addr.city.clone().unwrap_or_default();
            req.country = addr.country.clone().unwrap_or_default();
            match fetch_dynamic(state, &url, &auth, &req, &currency).await {
                Ok(o) => (
                    o,
                    true,
                    Some(ShippingLookup {
                        url,
                        request: req,
                        used: Used::Dynamic,
                        fallback_reason: None,
                    }),
                ),
                Err(why) => (
                    fixed,
                    false,
                    Some(ShippingLookup {
                        url,
                        request: req,
                        used: Used::Fixed,
                        fallback_reason: Some(why),
                    }),
                ),
            }
        }
    };
    let key = address_key(&addr);
    let opts = options.clone();
    with_session(state, msn, reference, move |s, _, _, _| {
        if let Some(l) = lookup {
            s.shipping_lookups.push(l);
        }
        s.offered = Some((key, opts, used_dynamic));
        Ok(())
    })?;
    Ok((options, used_dynamic))
}

/// Options sorted for display: by priority, then as given.
pub(super) fn sorted(mut o: Vec<LogisticsOption>) -> Vec<LogisticsOption> {
    o.sort_by_key(priority);
    o
}

pub(super) fn priority(o: &LogisticsOption) -> i32 {
    match o {
        LogisticsOption::Posten(x) => x.priority,
        LogisticsOption::Postnord(x) => x.priority,
        LogisticsOption::Porterbuddy(x) => x.priority,
        LogisticsOption::Helthjem(x) => x.priority,
        LogisticsOption::Posti(x) => x.priority,
        LogisticsOption::Gls(x) => x.priority,
        LogisticsOption::Dao(x) => x.priority,
        LogisticsOption::Instabox(x) => x.priority,
        LogisticsOption::Other(x) => x.priority,
        LogisticsOption::Unknown(_) => i32::MAX,
    }
}

pub(super) fn is_default(o: &LogisticsOption) -> bool {
    match o {
        LogisticsOption::Posten(x) => x.is_default,
        LogisticsOption::Postnord(x) => x.is_default,
        LogisticsOption::Porterbuddy(x) => x.is_default,
        LogisticsOption::Helthjem(x) => x.is_default,
        LogisticsOption::Posti(x) => x.is_default,
        LogisticsOption::Gls(x) => x.is_default,
        LogisticsOption::Dao(x) => x.is_default,
        LogisticsOption::Instabox(x) => x.is_default,
        LogisticsOption::Other(x) => x.is_default,
        LogisticsOption::Unknown(_) => false,
    }
}

/// The default option: `isDefault`, else the first by priority.
pub(super) fn default_option(o: &[LogisticsOption]) -> Option<LogisticsOption> {
    let s = sorted(o.to_vec());
    s.iter().find(|x| is_default(x)).or(s.first()).cloned()
}

/// The customer completes (or starts, or cancels) the checkout.
pub(crate) async fn customer_act(
    state: &AppState,
    msn: &str,
    reference: &str,
    input: CustomerInput,
    outcome: Outcome,
) -> Result<SessionResponse, CkError> {
    let page = with_session(state, msn, reference, |s, _, _, _| PageSetup::of(s))?;
    if outcome != Outcome::Reject {
        page.check_country(&input)?;
    }
    let chosen = choose_shipping(state, (msn, reference), &page, &input, outcome).await?;
    let consent = consent_given(&page, &input, outcome)?;
    let choice = Choice {
        input: &input,
        outcome,
        chosen,
        consent,
        with_address: page.elements.has_address_fields(),
        require_user_info: page.require_user_info,
        public_url: state.public_url(),
    };
    let direct_capture = state.merchant_by_msn(msn).is_some_and(|m| m.direct_capture);
    with_session(state, msn, reference, |s, ledger, now, out| {
        if s.state.is_final() {
            return Err(CkError::wrong_state(s, "paid"));
        }
        if s.state == SessionState::SessionCreated {
            enter_details(s, ledger, now, &choice)?;
        }
        answer(s, ledger, now, outcome, direct_capture)?;
        settle_and_notify(state, s, ledger, now, out);
        Ok(session_response(s, ledger, now))
    })
}

/// What the page shows, read from the session before the customer acts.
struct PageSetup {
    elements: Elements,
    has_logistics: bool,
    custom_consent: Option<CustomConsent>,
    require_user_info: bool,
    /// `configuration.countries.supported` (an empty list restricts nothing: the reference
    /// does not say what it means).
    countries: Option<Vec<String>>,
    prefilled_country: Option<String>,
}

impl PageSetup {
    fn of(s: &Session) -> Result<PageSetup, CkError> {
        if s.state.is_final() {
            return Err(CkError::wrong_state(s, "paid"));
        }
        let cfg = s.request.configuration.clone().unwrap_or_default();
        Ok(PageSetup {
            elements: s.elements(),
            has_logistics: s.dynamic_callback().is_some() || !s.fixed_options().is_empty(),
            custom_consent: cfg.custom_consent,
            require_user_info: cfg.require_user_info.unwrap_or(false),
            countries: cfg.countries.map(|c| c.supported).filter(|l| !l.is_empty()),
            prefilled_country: s.request.prefill_customer.as_ref().and_then(|p| p.country.clone()),
        })
    }

    /// `configuration.countries.supported`: "the customer will only be able to select these
    /// countries". Checked on the address the payment would use: entered, else prefilled.
    fn check_country(&self, input: &CustomerInput) -> Result<(), CkError> {
        let (true, Some(list)) = (self.elements.has_address_fields(), &self.countries) else {
            return Ok(());
        };
        let entered = input.address.as_ref().and_then(|a| a.country.clone());
        let country = entered
            .or(self.prefilled_country.clone())
            .filter(|c| !c.trim().is_empty());
        match country.as_deref().map(str::trim) {
            Some(c) if !list.iter().any(|s| s.eq_ignore_ascii_case(c)) => Err(CkError::validation(
                "address.country",
                format!("'{c}' is not one of the supported countries ({})", list.join(", ")),
            )),
            _ => Ok(()),
        }
    }
}

/// The shipping option the customer takes: the one they chose among those offered for their
/// address, else the default; none when the session has no logistics or they cancel.
async fn choose_shipping(
    state: &AppState,
    (msn, reference): (&str, &str),
    page: &PageSetup,
    input: &CustomerInput,
    outcome: Outcome,
) -> Result<Option<LogisticsOption>, CkError> {
    if !page.has_logistics || outcome == Outcome::Reject {
        return Ok(None);
    }
    let addr = if page.elements.has_address_fields() {
        input.address.clone()
    } else {
        None
    };
    let (options, _) = shipping_options(state, msn, reference, addr).await?;
    if options.is_empty() {
        return Err(CkError::validation(
            "shippingOptionId",
            "no shipping options are available (the dynamic shipping callback failed and there are no fixed options)",
        ));
    }
    match &input.shipping_option_id {
        Some(id) => options
            .iter()
            .find(|o| o.id() == Some(id.as_str()))
            .cloned()
            .map(Some)
            .ok_or_else(|| CkError::validation("shippingOptionId", format!("'{id}' is not an offered option"))),
        None => Ok(default_option(&options)),
    }
}

/// The custom consent's answer (given unless refused); a required one refused stops payment.
fn consent_given(page: &PageSetup, input: &CustomerInput, outcome: Outcome) -> Result<Option<bool>, CkError> {
    let Some(c) = &page.custom_consent else {
        return Ok(None);
    };
    let given = input.consent.unwrap_or(true);
    if c.required && !given && outcome != Outcome::Reject {
        return Err(CkError::validation("consent", "the custom consent is required"));
    }
    Ok(Some(given))
}

/// Everything the customer decided on the page.
struct Choice<'a> {
    input: &'a CustomerInput,
    outcome: Outcome,
    chosen: Option<LogisticsOption>,
    consent: Option<bool>,
    with_address: bool,
    require_user_info: bool,
    public_url: String,
}

/// The customer's details enter the session (the first action on it): the payment is created,
/// billing, shipping and shared profile recorded, and the session is `PaymentInitiated`.
fn enter_details(s: &mut Session, ledger: &mut Ledger, now: OffsetDateTime, c: &Choice<'_>) -> Result<(), CkError> {
    let addr = full_address(s, c.input.address.clone());
    let customer = full_customer(s, c.input.customer.clone(), addr.country.as_deref().unwrap_or_default());
    let ship_amount = c.chosen.as_ref().and_then(|o| o.amount().cloned());
    start_payment(
        s,
        ledger,
        now,
        ship_amount.as_ref().map_or(0, |a| a.value),
        &c.public_url,
    )?;
    // A customer who cancels before entering anything gave no details: none are made up.
    let entered = c.outcome != Outcome::Reject || c.input.customer.is_some() || c.input.address.is_some();
    let contact = s.elements() != Elements::PaymentOnly && entered;
    let part = |v: &Option<String>| c.with_address.then(|| v.clone()).flatten();
    if contact {
        let mut billing = BillingDetails::default();
        billing.first_name = customer.first_name.clone().unwrap_or_default();
        billing.last_name = customer.last_name.clone().unwrap_or_default();
        billing.email = customer.email.clone().unwrap_or_default();
        billing.phone_number = customer.phone_number.clone().unwrap_or_default();
        billing.street_address = part(&addr.street_address);
        billing.postal_code = part(&addr.postal_code);
        billing.city = part(&addr.city);
        billing.country = part(&addr.country);
        s.billing = Some(billing);
    }
    if contact && (c.with_address || c.chosen.is_some()) {
        let mut shipping = ShippingDetails::default();
        shipping.first_name = customer.first_name.clone();
        shipping.last_name = customer.last_name.clone();
        shipping.email = customer.email.clone();
        shipping.phone_number = customer.phone_number.clone();
        shipping.street_address = part(&addr.street_address);
        shipping.postal_code = part(&addr.postal_code);
        shipping.city = part(&addr.city);
        shipping.country = part(&addr.country);
        shipping.shipping_method_id = c.chosen.as_ref().and_then(|o| o.id().map(str::to_owned));
        shipping.amount = ship_amount;
        shipping.pickup_point = c
            .chosen
            .as_ref()
            .and_then(|o| pickup_point_for(o, c.input.pickup_point.clone(), &addr));
        s.shipping = Some(shipping);
    }
    if c.require_user_info {
        share_profile(s, &customer, &addr, c.with_address);
    }
    s.consent = c.consent;
    s.state = SessionState::PaymentInitiated;
    Ok(())
}

/// Creates the session's ePayment payment (the transaction plus shipping); a subscription
/// without a transaction has no initial payment.
fn start_payment(
    s: &mut Session,
    ledger: &mut Ledger,
    now: OffsetDateTime,
    shipping: i64,
    public_url: &str,
) -> Result<(), CkError> {
    let Some(t) = &s.request.transaction else {
        return Ok(());
    };
    let tx = s.transaction_amount();
    let total = Amount::new(tx.value + shipping, tx.currency.clone());
    let reference = Reference::new(s.reference.clone()).map_err(|e| CkError::validation("reference", e.to_string()))?;
    let req = CreatePaymentRequest {
        return_url: Some(s.request.merchant_info.return_url.clone()),
        payment_description: Some(t.payment_description.clone()),
        ..CreatePaymentRequest::new(total, reference, UserFlow::WebRedirect)
    };
    ledger
        .create_payment(NewPayment {
            msn: &s.msn,
            request: &req,
            idempotency_key: None,
            now,
            expires_at: s.expires_at.max(now + time::Duration::seconds(1)),
            public_url,
        })
        .map_err(CkError::from)?;
    s.payment_created = true;
    Ok(())
}

/// With `requireUserInfo`: what the Checkout page shares, readable from the Userinfo API once
/// the customer approves.
fn share_profile(s: &mut Session, customer: &CustomerData, addr: &AddressData, with_address: bool) {
    let mobile = crate::core::customer::msisdn(customer.phone_number.as_deref().unwrap_or_default());
    let sub = crate::core::store::customer_sub(&s.msn, &mobile);
    let scope = SHARED_SCOPES[usize::from(with_address)];
    let person = Person {
        first_name: customer.first_name.clone().unwrap_or_default(),
        last_name: customer.last_name.clone().unwrap_or_default(),
        email: customer.email.clone().unwrap_or_default(),
        phone: mobile,
        street: addr.street_address.clone().unwrap_or_default(),
        post_code: addr.postal_code.clone().unwrap_or_default(),
        city: addr.city.clone().unwrap_or_default(),
        country: addr.country.clone().unwrap_or_default(),
        birthdate: NORWAY.birthdate.to_owned(),
    };
    s.shared = Some((person, scope));
    let mut user_info = UserInfo::default();
    user_info.sub = sub;
    user_info.email = customer.email.clone();
    s.user_info = Some(user_info);
}

/// The customer's answer: to the payment when there is one, else (only an agreement) to the
/// session itself.
fn answer(
    s: &mut Session,
    ledger: &mut Ledger,
    now: OffsetDateTime,
    outcome: Outcome,
    direct_capture: bool,
) -> Result<(), CkError> {
    if !s.payment_created {
        let ended = match outcome {
            Outcome::Approve => Some(SessionState::PaymentSuccessful),
            Outcome::Reject => Some(SessionState::PaymentTerminated),
            Outcome::Initiate => None,
        };
        if let Some(state) = ended {
            s.state = state;
            s.ended_at = Some(now);
            if s.state == SessionState::PaymentSuccessful {
                record_shared(s, ledger, now);
            }
        }
        return Ok(());
    }
    let p = ledger
        .payment(&s.msn, &s.reference, now)
        .map_err(|_| CkError::not_found(&s.reference))?;
    if p.state != EpState::Created {
        return Ok(());
    }
    match outcome {
        // "Direct capture is not supported in Checkout, and transactions will fail."
        Outcome::Approve if direct_capture => p
            .decline(
                now,
                "the sales unit uses direct capture, which Checkout does not support",
            )
            .map(drop),
        Outcome::Approve => p.customer_approve(now).map(drop),
        Outcome::Reject => p.customer_reject(now).map(drop),
        Outcome::Initiate => Ok(()),
    }
    .map_err(CkError::from)?;
    if p.state == EpState::Authorized {
        record_shared(s, ledger, now);
    }
    Ok(())
}

/// Records what the customer shared (with `requireUserInfo`) for the Userinfo API: called when
/// they approve.
pub(super) fn record_shared(s: &Session, ledger: &mut Ledger, now: OffsetDateTime) {
    if let (Some((person, scope)), Some(info)) = (&s.shared, &s.user_info) {
        ledger.record_consent(&info.sub, &s.msn, person.clone(), scope, now);
    }
}
