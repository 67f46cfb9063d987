//! Access Token API: `POST /accesstoken/get` (sales unit and partner keys) and
//! `POST /miami/v1/token` (the OAuth 2.0 client credentials flow for specialized keys).

use serde::{Deserialize, Serialize};
use std::fmt;

/// The response of `POST /accesstoken/get`.
///
/// The API sends every field as a string (`"expires_in": "3600"`); numbers are accepted too.
#[derive(Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AccessTokenResponse {
    /// Always `Bearer`.
    #[serde(default)]
    pub token_type: String,
    /// Lifetime in seconds.
    #[serde(
        default,
        deserialize_with = "crate::common::string_or_number::opt_i64",
        serialize_with = "ser_opt_string"
    )]
    pub expires_in: Option<i64>,
    /// Unused by the API; `0`.
    #[serde(
        default,
        deserialize_with = "crate::common::string_or_number::opt_i64",
        serialize_with = "ser_opt_string"
    )]
    pub ext_expires_in: Option<i64>,
    /// Expiry as Unix seconds.
    #[serde(
        default,
        deserialize_with = "crate::common::string_or_number::opt_i64",
        serialize_with = "ser_opt_string"
    )]
    pub expires_on: Option<i64>,
    /// Start of validity as Unix seconds.
    #[serde(
        default,
        deserialize_with = "crate::common::string_or_number::opt_i64",
        serialize_with = "ser_opt_string"
    )]
    pub not_before: Option<i64>,
    /// An identifier of the resource; ignore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The JWT to send as `Authorization: Bearer …`. Secret: never printed by `Debug`.
    pub access_token: String,
}

impl AccessTokenResponse {
    /// A `Bearer` token without lifetimes (what a token endpoint, or a test double of one,
    /// answers with); set `expires_in`, `expires_on`, … by assignment.
    pub fn new(access_token: impl Into<String>) -> Self {
        AccessTokenResponse {
            token_type: "Bearer".to_owned(),
            expires_in: None,
            ext_expires_in: None,
            expires_on: None,
            not_before: None,
            resource: None,
            access_token: access_token.into(),
        }
    }
}

fn ser_opt_string<S: serde::Serializer>(v: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(n) => s.serialize_str(&n.to_string()),
        None => s.serialize_none(),
    }
}

impl fmt::Debug for AccessTokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessTokenResponse")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("expires_on", &self.expires_on)
            .field("not_before", &self.not_before)
            .field("access_token", &"<redacted>")
            .finish()
    }
}

/// The response of `POST /miami/v1/token`: a standard OAuth 2.0 token response
/// (`expires_in` is a number, 900 seconds; a string is accepted too).
#[derive(Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ClientCredentialsTokenResponse {
    /// The token to send as `Authorization: Bearer …`. Secret: never printed by `Debug`.
    pub access_token: String,
    /// Always `Bearer`.
    #[serde(default)]
    pub token_type: String,
    /// Lifetime in seconds.
    #[serde(default, deserialize_with = "crate::common::string_or_number::opt_i64")]
    pub expires_in: Option<i64>,
    /// The granted scope, when one was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl ClientCredentialsTokenResponse {
    /// A `Bearer` token without lifetime or scope; set `expires_in` and `scope` by assignment.
    pub fn new(access_token: impl Into<String>) -> Self {
        ClientCredentialsTokenResponse {
            access_token: access_token.into(),
            token_type: "Bearer".to_owned(),
            expires_in: None,
            scope: None,
        }
    }
}

redacted_debug!(ClientCredentialsTokenResponse {
    plain: [token_type, expires_in, scope],
    secret: [access_token]
});

/// The error body of `POST /miami/v1/token` (RFC 6749 §5.2): `invalid_client` when the
/// credentials are wrong, `grant_type` is missing or a subscription key was sent. The Userinfo
/// API's errors have the same shape (RFC 6750: `invalid_token`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OAuthError {
    /// `invalid_client`, `invalid_request`, `unsupported_grant_type`, …
    pub error: String,
    /// What went wrong, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

impl OAuthError {
    /// An error with its RFC 6749 code (`invalid_client`, …) and no description.
    pub fn new(error: impl Into<String>) -> Self {
        OAuthError {
            error: error.into(),
            error_description: None,
        }
    }

    /// The same error, explained in words (`error_description`).
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.error_description = Some(description.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_strings_and_numbers() {
        let s = r#"{"token_type":"Bearer","expires_in":"3600","ext_expires_in":"0","expires_on":"1547823408","not_before":"1547819508","resource":"00000002-0000-0000-c000-000000000000","access_token":"eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiIsIng1dCI6Ik4..."}"#;
        let t: AccessTokenResponse = serde_json::from_str(s).unwrap();
        assert_eq!(t.expires_in, Some(3600));
        assert_eq!(t.expires_on, Some(1547823408));
        let n: AccessTokenResponse =
            serde_json::from_str(r#"{"token_type":"Bearer","expires_in":900,"access_token":"x"}"#).unwrap();
        assert_eq!(n.expires_in, Some(900));
        assert_eq!(n.expires_on, None);
        assert!(!format!("{t:?}").contains("eyJ0eXAi"));
        let back = serde_json::to_value(&t).unwrap();
        assert_eq!(back["expires_in"], "3600");
    }
}
