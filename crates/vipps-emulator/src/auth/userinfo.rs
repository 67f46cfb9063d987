//! Userinfo API: `GET /vipps-userinfo-api/userinfo/{sub}`, the profile a customer consented to
//! share in a payment (ePayment or eCom `scope`, Checkout `requireUserInfo`).
//!
//! - Authentication is the merchant's access token alone. The Userinfo API belongs to Login,
//!   outside the payment APIs' subscriptions: a request that carries `Ocp-Apim-Subscription-Key`
//!   gets 401 (2026 Recurring guide, "Getting profile data with the agreement").
//! - The answer has the fields of the scope words consented to in the last 168 hours; after
//!   that the data cannot be fetched (403).
//! - Only the sales unit the customer consented to can read it: another one's token gets 404,
//!   as does a `sub` nobody consented under.
//! - A token from the specialized flow (`/miami/v1/token`) gets 401, as in the other
//!   standard-flow APIs (access-token--overview-2026.md).
//! - Errors are RFC 6750 style, `{"error", "error_description"}`; a 401 also has
//!   `WWW-Authenticate: Bearer error="…"`.

use crate::core::customer::Person;
use crate::core::jwt::TokenKind;
use crate::core::state::AppState;
use crate::core::store::CONSENT_WINDOW;
use crate::web::header_str;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{HeaderMap, HeaderValue, StatusCode};
use vipps_types::userinfo::{UserinfoAddress, UserinfoError, UserinfoResponse};

/// `GET /vipps-userinfo-api/userinfo/{sub}`.
pub(crate) async fn get(
    State(state): State<AppState>,
    sub: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    if headers.contains_key("ocp-apim-subscription-key") {
        return unauthorized(
            "invalid_request",
            "The Userinfo API takes no Ocp-Apim-Subscription-Key: send the access token alone",
        );
    }
    let now = state.clock().now();
    let token = header_str(&headers, "authorization").and_then(|a| a.strip_prefix("Bearer "));
    let Some(token) = token else {
        return unauthorized("invalid_request", "Authorization: Bearer <access token> is required");
    };
    let claims = state
        .signer()
        .verify(token.trim(), now)
        .ok()
        .filter(|c| state.merchant_by_client_id(&c.sub).is_some_and(|m| m.msn == c.msn));
    let Some(claims) = claims else {
        return unauthorized("invalid_token", "The access token is invalid or has expired");
    };
    // access-token--overview-2026.md: the two token endpoints "are not interchangeable", and
    // Userinfo is a standard-flow API, as ePayment is (web::authenticate refuses it there).
    if claims.kind == TokenKind::Specialized {
        return unauthorized(
            "invalid_token",
            "This token is from POST /miami/v1/token (specialized authentication); the Userinfo API \
             takes a token from POST /accesstoken/get",
        );
    }
    // A path segment that does not decode is no one's sub.
    let sub = sub.map(|Path(s)| s).unwrap_or_default();
    let found = state.store().transaction(|l| {
        l.consent(&sub).filter(|c| c.msn == claims.msn).map(|c| {
            (
                c.person.clone(),
                c.live_scopes(now).iter().map(|w| (*w).to_owned()).collect::<Vec<_>>(),
            )
        })
    });
    let Some((person, scopes)) = found else {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            "No customer with this sub has shared data with this sales unit",
        );
    };
    if scopes.is_empty() {
        return error(
            StatusCode::FORBIDDEN,
            "access_denied",
            &format!(
                "The data was shared more than {} hours ago and can no longer be fetched",
                CONSENT_WINDOW.whole_hours()
            ),
        );
    }
    Json(profile(&sub, &person, &scopes)).into_response()
}

/// The fields of `scopes` (scope words) from `person`.
pub(crate) fn profile(sub: &str, person: &Person, scopes: &[String]) -> UserinfoResponse {
    let has = |w: &str| scopes.iter().any(|s| s == w);
    let mut u = UserinfoResponse::new(sub);
    if has("name") {
        u.name = Some(format!("{} {}", person.first_name, person.last_name));
        u.given_name = Some(person.first_name.clone());
        u.family_name = Some(person.last_name.clone());
    }
    if has("email") {
        u.email = Some(person.email.clone());
        u.email_verified = Some(true);
    }
    if has("phoneNumber") {
        u.phone_number = Some(person.phone.clone());
        u.phone_number_verified = Some(true);
    }
    if has("address") {
        let mut address = UserinfoAddress::default();
        address.street_address = person.street.clone();
        address.postal_code = person.post_code.clone();
        address.region = person.city.clone();
        address.country = person.country.clone();
        address.formatted = Some(format!(
            "{}\n{} {}\n{}",
            person.street, person.post_code, person.city, person.country
        ));
        address.address_type = Some("home".to_owned());
        u.address = Some(address);
        u.other_addresses = Some(Vec::new());
    }
    if has("birthDate") {
        u.birthdate = Some(person.birthdate.clone());
    }
    if has("nin") {
        // A made-up number in the test range: the emulator knows no real identities.
        u.nin = Some(format!("{}99999", birth_digits(&person.birthdate)));
    }
    u
}

/// `YYYY-MM-DD` as the `DDMMYY` a Nordic identity number starts with.
fn birth_digits(date: &str) -> String {
    let p: Vec<&str> = date.split('-').collect();
    match p.as_slice() {
        [y, m, d] if y.len() == 4 => format!("{d}{m}{}", &y[2..]),
        _ => "010190".to_owned(),
    }
}

fn error(status: StatusCode, code: &str, description: &str) -> Response {
    let body = UserinfoError::new(code).with_description(description);
    (status, Json(body)).into_response()
}

fn unauthorized(code: &str, description: &str) -> Response {
    let mut r = error(StatusCode::UNAUTHORIZED, code, description);
    if let Ok(v) = HeaderValue::from_str(&format!("Bearer error=\"{code}\"")) {
        r.headers_mut().insert(http::header::WWW_AUTHENTICATE, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use vipps_types::Currency;

    #[test]
    fn fields_follow_the_scope_words() {
        let p = Person::test(&Currency::Nok, None);
        let u = profile("s", &p, &["name".into(), "birthDate".into()]);
        assert_eq!(u.given_name.as_deref(), Some("Ola"));
        assert_eq!(u.name.as_deref(), Some("Ola Nordmann"));
        assert_eq!(u.birthdate.as_deref(), Some("1990-01-31"));
        assert!(u.email.is_none() && u.phone_number.is_none() && u.address.is_none() && u.nin.is_none());
        let u = profile("s", &p, &["address".into(), "nin".into()]);
        assert_eq!(u.address.unwrap().region, "Oslo");
        assert_eq!(u.other_addresses, Some(vec![]));
        assert_eq!(u.nin.as_deref(), Some("31019099999"));
    }
}
