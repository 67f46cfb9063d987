//! ePayment Express, profile sharing and card payments as the customer sees them: the test
//! customer whose data is shared, the shipping options offered (fixed, or what the merchant's
//! dynamic callback answers), and the customer's approval with their choices. The landing page
//! and the control plane both approve through [`approve`].
//!
//! Emulator choices (the 2026 ePayment guide, "Express" and "Profile sharing"):
//! - The shared data is the test customer's for the payment's market (NOK: Norway, DKK:
//!   Denmark, EUR: Finland), with the phone number from `customer.phoneNumber` when given.
//!   `userDetails` carries what the scope asked for (`name`, `email`, `phoneNumber`,
//!   `address`); `birthDate` and `nin` are left to the Userinfo API, which is not emulated.
//! - The default choice is the group marked `isDefault` (else the lowest `priority`, else the
//!   first), and in it the option marked `isDefault` (same order).
//! - The dynamic callback gets the test customer's address and has 10 seconds (the eCom API's
//!   documented limit for its equivalent); a 400 means "cannot ship there", and any failure
//!   leaves the payment waiting with the reason in the answer.

use crate::core::customer::test_address;
use crate::core::error::ApiError;
use crate::core::state::AppState;
use crate::core::store::{CustomerOutcome, Payment};
use crate::outbound::{call_merchant, DeliveriesExt};
use http::StatusCode;
use serde::Deserialize;
use std::time::Duration;
use vipps_types::epayment::{
    DynamicShippingRequest, DynamicShippingResponse, Shipping, ShippingDetails, ShippingGroup, ShippingOption,
};
use vipps_types::Currency;

/// How long the dynamic shipping callback may take.
pub(crate) const DYNAMIC_SHIPPING_TIMEOUT: Duration = Duration::from_secs(10);

/// What the customer chose: the landing page's form or the control plane's JSON body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct CustomerChoice {
    /// An Express option's id (else the default option).
    pub(crate) shipping_option_id: Option<String>,
    /// A card payment's card number (else a test card).
    pub(crate) card_number: Option<String>,
}

impl CustomerChoice {
    fn validate(&self) -> Result<(), ApiError> {
        if let Some(n) = &self.card_number {
            let digits = n.chars().filter(|c| c.is_ascii_digit()).count();
            let clean = n.chars().all(|c| c.is_ascii_digit() || c == ' ');
            if !clean || !(12..=19).contains(&digits) {
                return Err(ApiError::validation("cardNumber", "must be 12 to 19 digits", None));
            }
        }
        Ok(())
    }
}

/// The shipping groups the customer is offered: the fixed ones, or the merchant's answer to
/// the dynamic callback for the test customer's address.
pub(crate) async fn offered(
    state: &AppState,
    reference: &str,
    currency: &Currency,
    shipping: &Shipping,
) -> Result<Vec<ShippingGroup>, ApiError> {
    if let Some(fixed) = &shipping.fixed_options {
        return Ok(fixed.clone());
    }
    let Some(d) = &shipping.dynamic_options else {
        return Ok(Vec::new());
    };
    let a = test_address(currency);
    let mut body = DynamicShippingRequest::new(reference, a.address_line1, a.city, a.post_code, a.country);
    body.address_line2 = a.address_line2;
    let no_options = |why: String| {
        ApiError::code(
            10010,
            format!("No shipping options: the dynamic shipping callback {why}"),
        )
    };
    let (status, answer) = call_merchant(
        state.merchant_http(),
        &d.callback_url,
        Some(&d.callback_authorization_token),
        &body,
        DYNAMIC_SHIPPING_TIMEOUT,
    )
    .await
    .map_err(no_options)?;
    tracing::info!(target: "vipps_emulator::express", reference, url = %crate::core::redact::url_for_log(&d.callback_url), status = status.as_u16(), "dynamic shipping callback");
    if status == StatusCode::BAD_REQUEST {
        return Err(ApiError::code(
            10010,
            "The merchant cannot ship to the customer's address (the dynamic shipping callback answered 400)",
        ));
    }
    if !status.is_success() {
        return Err(no_options(format!("answered HTTP {}", status.as_u16())));
    }
    let parsed: DynamicShippingResponse =
        serde_json::from_slice(&answer).map_err(|e| no_options(format!("gave an invalid answer: {e}")))?;
    parsed
        .validate_for(currency)
        .map_err(|e| no_options(format!("gave an invalid answer: {e}")))?;
    Ok(parsed.groups)
}

fn by_default_then_priority<T>(
    items: &[T],
    is_default: impl Fn(&T) -> Option<bool>,
    priority: impl Fn(&T) -> Option<i32>,
) -> Option<&T> {
    items
        .iter()
        .find(|x| is_default(x) == Some(true))
        .or_else(|| items.iter().min_by_key(|x| priority(x).unwrap_or(i32::MAX)))
}

/// The option the customer takes: the one named, else the default one.
pub(crate) fn choose<'a>(groups: &'a [ShippingGroup], id: Option<&str>) -> Result<&'a ShippingOption, ApiError> {
    match id {
        Some(id) => groups
            .iter()
            .flat_map(|g| g.options.iter())
            .find(|o| o.id == id)
            .ok_or_else(|| ApiError::validation("shippingOptionId", &format!("'{id}' is not an offered option"), None)),
        None => by_default_then_priority(groups, |g| g.is_default, |g| g.priority)
            .and_then(|g| by_default_then_priority(&g.options, |o| o.is_default, |o| o.priority))
            .ok_or_else(|| ApiError::code(10010, "No shipping options were offered")),
    }
}

/// The customer approves the payment with their choices: for Express, the shipping option
/// (its cost is added to the amount, and `shippingDetails` is filled); for a card payment, the
/// card. Magic test amounts still make it fail.
pub(crate) async fn approve(
    state: &AppState,
    msn: &str,
    reference: &str,
    choice: &CustomerChoice,
) -> Result<(CustomerOutcome, Payment), ApiError> {
    choice.validate()?;
    let now = state.clock().now();
    let (shipping, currency) = state.store().transaction(|ledger| {
        let p = ledger.payment(msn, reference, now)?;
        Ok::<_, ApiError>((p.shipping().cloned(), p.amount.currency.clone()))
    })?;
    let details = match &shipping {
        Some(shipping) => {
            let groups = offered(state, reference, &currency, shipping).await?;
            let o = choose(&groups, choice.shipping_option_id.as_deref())?;
            let mut details = ShippingDetails::default();
            details.address = Some(test_address(&currency));
            details.shipping_option_id = Some(o.id.clone());
            details.shipping_option_name = Some(o.name.clone());
            details.shipping_cost = Some(o.amount.value);
            Some(details)
        }
        None => None,
    };
    state.store().transaction(|ledger| {
        let now = state.clock().now();
        let p = ledger.payment(msn, reference, now)?;
        let outcome = p.customer_approve_with(now, details, choice.card_number.as_deref())?;
        Ok((outcome, p.clone()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::customer::user_details;
    use vipps_types::epayment::{ShippingBrand, ShippingType};
    use vipps_types::Amount;

    fn option(id: &str, is_default: Option<bool>, priority: Option<i32>) -> ShippingOption {
        ShippingOption {
            id: id.into(),
            amount: Amount::nok(100),
            name: id.into(),
            meta: None,
            estimated_delivery: None,
            is_default,
            priority,
        }
    }

    fn group(is_default: Option<bool>, priority: Option<i32>, options: Vec<ShippingOption>) -> ShippingGroup {
        ShippingGroup {
            brand: ShippingBrand::Posten,
            type_: ShippingType::PickupPoint,
            is_default,
            priority,
            options,
        }
    }

    #[test]
    fn the_default_is_the_marked_one_then_the_lowest_priority() {
        let groups = vec![
            group(None, Some(1), vec![option("a", None, None)]),
            group(
                Some(true),
                Some(5),
                vec![option("b", None, Some(2)), option("c", None, Some(0))],
            ),
        ];
        assert_eq!(choose(&groups, None).unwrap().id, "c");
        let groups = vec![
            group(None, Some(3), vec![option("a", None, None)]),
            group(
                None,
                Some(1),
                vec![option("b", Some(true), Some(9)), option("c", None, Some(0))],
            ),
        ];
        assert_eq!(choose(&groups, None).unwrap().id, "b");
        assert_eq!(choose(&groups, Some("a")).unwrap().id, "a");
        assert_eq!(choose(&groups, Some("zz")).unwrap_err().status, StatusCode::BAD_REQUEST);
        assert!(choose(&[], None).is_err());
    }

    #[test]
    fn user_details_carry_what_the_scope_asks_for() {
        let d = user_details("name phoneNumber", Some("4798765432"), &Currency::Nok).unwrap();
        assert_eq!(d.first_name.as_deref(), Some("Ola"));
        assert_eq!(d.mobile_number.as_deref(), Some("4798765432"));
        assert!(d.email.is_none() && d.addresses.is_none());
        let d = user_details("address email", None, &Currency::Dkk).unwrap();
        assert_eq!(d.addresses.unwrap()[0].country, "DK");
        assert_eq!(d.email.as_deref(), Some("mette.jensen@example.com"));
        assert!(user_details("birthDate", None, &Currency::Nok).is_none());
    }

    #[test]
    fn card_numbers_are_checked() {
        let c = |n: &str| CustomerChoice {
            card_number: Some(n.into()),
            ..CustomerChoice::default()
        };
        assert!(c("4925 0000 0000 0004").validate().is_ok());
        assert!(c("4925").validate().is_err());
        assert!(c("4925-0000-0000-0004").validate().is_err());
    }
}
