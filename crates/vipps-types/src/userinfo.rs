//! Userinfo API: `GET /vipps-userinfo-api/userinfo/{sub}`, the customer's profile after they
//! consented to share it in a payment (ePayment or eCom `scope`, Checkout `requireUserInfo`).
//!
//! The wire names are OpenID Connect's (snake_case). Which fields are present follows the
//! consented scope: `name` gives `name`, `given_name` and `family_name`; `email` gives `email`
//! and `email_verified`; `phoneNumber` gives `phone_number` and `phone_number_verified`;
//! `address` gives `address` and `other_addresses`; `birthDate` gives `birthdate`; `nin` gives
//! `nin`. The data can be fetched for 168 hours after the consent.

use serde::{Deserialize, Serialize};

/// The profile the customer consented to share. `Debug` hides the national identity number.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserinfoResponse {
    /// The customer's identifier for this sales unit (stable across payments).
    pub sub: String,
    /// Full name (scope `name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// First name (scope `name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// Last name (scope `name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// Email (scope `email`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether the email is verified (scope `email`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// MSISDN without `+`, e.g. `4791234567` (scope `phoneNumber`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// Whether the phone number is verified (scope `phoneNumber`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number_verified: Option<bool>,
    /// The main address (scope `address`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<UserinfoAddress>,
    /// Further addresses (scope `address`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_addresses: Option<Vec<UserinfoAddress>>,
    /// Date of birth, `YYYY-MM-DD` (scope `birthDate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birthdate: Option<String>,
    /// National identity number (scope `nin`, for approved merchants only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nin: Option<String>,
}

impl UserinfoResponse {
    /// The profile of `sub` with nothing shared yet: set the fields the consented scope gives
    /// by assignment.
    pub fn new(sub: impl Into<String>) -> Self {
        UserinfoResponse {
            sub: sub.into(),
            ..Default::default()
        }
    }
}

redacted_debug!(UserinfoResponse {
    plain: [
        sub,
        name,
        given_name,
        family_name,
        email,
        email_verified,
        phone_number,
        phone_number_verified,
        address,
        other_addresses,
        birthdate
    ],
    secret: [nin]
});

/// An address as the Userinfo API gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserinfoAddress {
    /// Street and number (several lines are separated by `\n`).
    #[serde(default)]
    pub street_address: String,
    /// Postal code.
    #[serde(default)]
    pub postal_code: String,
    /// City or region.
    #[serde(default)]
    pub region: String,
    /// ISO 3166-1 alpha-2 country code.
    #[serde(default)]
    pub country: String,
    /// The whole address as display lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    /// `home`, `work` or `other`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_type: Option<String>,
}

/// The Userinfo API's error body has the OAuth shape (`error`, `error_description`).
pub use crate::access_token::OAuthError as UserinfoError;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_full_profile_and_tolerates_unknown_fields() {
        let body = r#"{"sub":"c06c4afe-d9e1-4c5d-939a-177d752a0944","name":"Ola Nordmann",
            "given_name":"Ola","family_name":"Nordmann","email":"ola@example.com","email_verified":true,
            "phone_number":"4791234567","phone_number_verified":true,"birthdate":"1990-01-31",
            "address":{"street_address":"Robert Levins gate 5","postal_code":"0154","region":"Oslo",
            "country":"NO","formatted":"Robert Levins gate 5\n0154 Oslo\nNO","address_type":"home"},
            "other_addresses":[],"sid":"7d78a726","accounts":[]}"#;
        let u: UserinfoResponse = serde_json::from_str(body).unwrap();
        assert_eq!(u.given_name.as_deref(), Some("Ola"));
        assert_eq!(u.address.as_ref().unwrap().postal_code, "0154");
        assert_eq!(u.other_addresses, Some(vec![]));
        let back = serde_json::to_value(&u).unwrap();
        assert_eq!(back["phone_number_verified"], true);
        assert!(back.get("nin").is_none(), "absent fields stay absent: {back}");
    }

    #[test]
    fn debug_hides_the_national_identity_number() {
        let u = UserinfoResponse {
            sub: "s".into(),
            nin: Some("31019012345".into()),
            ..Default::default()
        };
        let shown = format!("{u:?}");
        assert!(
            !shown.contains("31019012345") && shown.contains("<redacted>"),
            "{shown}"
        );
    }
}
