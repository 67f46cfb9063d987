//! `POST /accesstoken/get` and `POST /miami/v1/token`.

use crate::core::config::is_msn;
use crate::core::error::{ApiError, Stored};
use crate::core::jwt::TokenKind;
use crate::core::state::AppState;
use crate::web::{header_str, respond, secure_eq};
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http::{header, HeaderMap, HeaderValue, StatusCode};
use vipps_types::access_token::{ClientCredentialsTokenResponse, OAuthError};

/// The lifetime of a `/miami/v1/token` token (15 minutes, as documented).
pub(crate) const SPECIALIZED_TOKEN_SECS: i64 = 900;

/// Issues an access token for `client_id` + `client_secret` + `Ocp-Apim-Subscription-Key`.
/// Any content type and body are accepted (and ignored).
pub(crate) async fn get_token(State(state): State<AppState>, headers: HeaderMap) -> Response {
    respond("/accesstoken/get", issue(&state, &headers))
}

fn issue(state: &AppState, headers: &HeaderMap) -> Result<Stored, ApiError> {
    let unauthorized = |m: &str| ApiError::apim(StatusCode::UNAUTHORIZED, m);
    for name in [
        "vipps-system-name",
        "vipps-system-version",
        "vipps-system-plugin-name",
        "vipps-system-plugin-version",
    ] {
        if header_str(headers, name).is_some_and(|v| v.chars().count() > 30) {
            return Err(ApiError::apim(
                StatusCode::BAD_REQUEST,
                format!("Header {name} must be at most 30 characters"),
            ));
        }
    }
    let Some(key) = header_str(headers, "ocp-apim-subscription-key") else {
        return Err(unauthorized(
            "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API.",
        ));
    };
    let (Some(id), Some(secret)) = (header_str(headers, "client_id"), header_str(headers, "client_secret")) else {
        return Err(unauthorized("The client_id and client_secret headers are required."));
    };
    let Some(merchant) = state.merchant_by_client_id(id) else {
        return Err(unauthorized("Invalid client_id or client_secret."));
    };
    // Check both even if the first fails, so timing does not tell which one was wrong.
    let secret_ok = secure_eq(secret, &merchant.client_secret);
    let key_ok = secure_eq(key, &merchant.subscription_key);
    if !secret_ok {
        return Err(unauthorized("Invalid client_id or client_secret."));
    }
    if !key_ok {
        return Err(unauthorized(
            "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription.",
        ));
    }
    if let Some(msn) = header_str(headers, "merchant-serial-number") {
        if !is_msn(msn) {
            return Err(ApiError::apim(
                StatusCode::BAD_REQUEST,
                "Merchant-Serial-Number must match ^[0-9]{4,6}$",
            ));
        }
        if msn != merchant.msn {
            return Err(unauthorized(
                "The Merchant-Serial-Number does not belong to these credentials.",
            ));
        }
    }
    let token = state.issue_token(merchant);
    Ok(Stored::json(StatusCode::OK, &token))
}

/// `POST /miami/v1/token`: the OAuth 2.0 client credentials flow (access-token API guide,
/// "Specialized authentication"). Credentials in `Authorization: Basic base64(id:secret)` (or,
/// as the stored spec has it, `client_id`/`client_secret` headers), the body
/// `grant_type=client_credentials[&scope=…]` form-encoded, and no subscription key: sending one,
/// or leaving out `grant_type`, is `invalid_client`, as the guide says. Answers 200 with
/// `{access_token, token_type, expires_in: 900}` and `Cache-Control: no-store`; errors are
/// RFC 6749 `{error, error_description}`. The token is an emulator JWT like the other one.
pub(crate) async fn client_credentials(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let body = match crate::web::read_body(body, &headers, state.config().body_limits()).await {
        Ok(b) => b,
        Err(e) => {
            let e = crate::core::error::ApiError::from(e);
            return oauth_error(e.status, "invalid_request", &e.detail);
        }
    };
    match specialized(&state, &headers, &body) {
        Ok(r) => no_store((StatusCode::OK, axum::Json(r)).into_response()),
        Err((status, error, why)) => oauth_error(status, error, &why),
    }
}

type OAuthFailure = (StatusCode, &'static str, String);

fn specialized(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<ClientCredentialsTokenResponse, OAuthFailure> {
    let bad = |error: &'static str, why: &str| (StatusCode::BAD_REQUEST, error, why.to_owned());
    if headers.contains_key("ocp-apim-subscription-key") {
        return Err(bad(
            "invalid_client",
            "This flow takes no Ocp-Apim-Subscription-Key header: leave it out",
        ));
    }
    let form = header_str(headers, header::CONTENT_TYPE)
        .map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
        .unwrap_or(false);
    if !form {
        return Err(bad(
            "invalid_request",
            "The body must be form-encoded (Content-Type: application/x-www-form-urlencoded)",
        ));
    }
    let field = |name: &str| {
        url::form_urlencoded::parse(body)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    match field("grant_type").as_deref() {
        None | Some("") => return Err(bad("invalid_client", "grant_type=client_credentials is required")),
        Some("client_credentials") => {}
        Some(_) => {
            return Err(bad(
                "unsupported_grant_type",
                "Only grant_type=client_credentials is supported",
            ))
        }
    }
    let (id, secret) = basic_credentials(headers)
        .or_else(|| {
            Some((
                header_str(headers, "client_id")?.to_owned(),
                header_str(headers, "client_secret")?.to_owned(),
            ))
        })
        .ok_or((
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Send the credentials as Authorization: Basic base64(client_id:client_secret)".to_owned(),
        ))?;
    let wrong = || {
        (
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Invalid client_id or client_secret".to_owned(),
        )
    };
    let merchant = state.merchant_by_client_id(&id).ok_or_else(wrong)?;
    if !secure_eq(&secret, &merchant.client_secret) {
        return Err(wrong());
    }
    let issued = state.issue_token_for(merchant, SPECIALIZED_TOKEN_SECS, TokenKind::Specialized);
    let mut token = ClientCredentialsTokenResponse::new(issued.access_token);
    token.expires_in = Some(SPECIALIZED_TOKEN_SECS);
    token.scope = field("scope").filter(|s| !s.is_empty());
    Ok(token)
}

/// `Authorization: Basic base64(id:secret)`, decoded.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let v = header_str(headers, header::AUTHORIZATION)?;
    let (scheme, encoded) = v.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn oauth_error(status: StatusCode, error: &str, why: &str) -> Response {
    let body = OAuthError::new(error).with_description(why);
    let mut r = no_store((status, axum::Json(body)).into_response());
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"vipps\""),
        );
    }
    r
}
