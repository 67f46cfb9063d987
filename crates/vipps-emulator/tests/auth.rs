//! Access tokens and the 401/403 paths.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::*;
use reqwest::Method;
use serde_json::Value;
use vipps_emulator::Merchant;

#[tokio::test]
async fn issues_a_jwt_with_string_fields() {
    let h = H::start().await;
    let m = h.m().clone();
    // the Deno SDK style: form content type, empty body, MSN header
    let r = h
        .http
        .post(h.url("/accesstoken/get"))
        .header("client_id", &m.client_id)
        .header("client_secret", &m.client_secret)
        .header("Ocp-Apim-Subscription-Key", &m.subscription_key)
        .header("Merchant-Serial-Number", &m.msn)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    for f in [
        "token_type",
        "expires_in",
        "ext_expires_in",
        "expires_on",
        "not_before",
        "resource",
        "access_token",
    ] {
        assert!(v[f].is_string(), "{f} in {v}");
    }
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], "3600");
    assert_eq!(v["ext_expires_in"], "0");
    let on: i64 = v["expires_on"].as_str().unwrap().parse().unwrap();
    let nb: i64 = v["not_before"].as_str().unwrap().parse().unwrap();
    assert_eq!(on - nb, 3600);
    let token = v["access_token"].as_str().unwrap();
    let parts: Vec<_> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["alg"], "HS256");
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(claims["sub"], m.client_id.as_str());
    assert_eq!(claims["msn"], m.msn.as_str());
    assert_eq!(claims["exp"].as_i64().unwrap(), on);
    assert!(claims["jti"].is_string() && claims["iat"].is_i64() && claims["nbf"].is_i64());
    // a body is ignored too
    let r = h
        .http
        .post(h.url("/accesstoken/get"))
        .header("client_id", &m.client_id)
        .header("client_secret", &m.client_secret)
        .header("Ocp-Apim-Subscription-Key", &m.subscription_key)
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn bad_credentials_get_401_in_apim_shape() {
    let h = H::two_merchants().await;
    let m = h.m().clone();
    let other = second_merchant();
    // (client_id, client_secret, subscription key, MSN)
    let cases: Vec<[Option<&str>; 4]> = vec![
        [Some(&m.client_id), Some("wrong"), Some(&m.subscription_key), None],
        [Some(&m.client_id), Some(&m.client_secret), Some("wrong"), None],
        [
            Some(&m.client_id),
            Some(&m.client_secret),
            Some(&other.subscription_key),
            None,
        ],
        [Some("nobody"), Some(&m.client_secret), Some(&m.subscription_key), None],
        [None, Some(&m.client_secret), Some(&m.subscription_key), None],
        [Some(&m.client_id), None, Some(&m.subscription_key), None],
        [Some(&m.client_id), Some(&m.client_secret), None, None],
        [
            Some(&m.client_id),
            Some(&m.client_secret),
            Some(&m.subscription_key),
            Some("654321"),
        ],
    ];
    for (i, [id, secret, key, msn]) in cases.into_iter().enumerate() {
        let mut r = h.http.post(h.url("/accesstoken/get"));
        if let Some(v) = id {
            r = r.header("client_id", v);
        }
        if let Some(v) = secret {
            r = r.header("client_secret", v);
        }
        if let Some(v) = key {
            r = r.header("Ocp-Apim-Subscription-Key", v);
        }
        if let Some(v) = msn {
            r = r.header("Merchant-Serial-Number", v);
        }
        let resp = r.send().await.unwrap();
        assert_eq!(resp.status(), 401, "case {i}");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["statusCode"], 401, "case {i}");
        assert!(v["message"].is_string(), "case {i}");
        assert!(!v.to_string().contains(&m.client_secret));
    }
}

async fn get_with(h: &H, auth: Option<&str>, key: Option<&str>, msn: Option<&str>) -> reqwest::Response {
    let mut r = h.http.get(h.url("/epayment/v1/payments/some-reference-1"));
    if let Some(a) = auth {
        r = r.header("Authorization", a);
    }
    if let Some(k) = key {
        r = r.header("Ocp-Apim-Subscription-Key", k);
    }
    if let Some(m) = msn {
        r = r.header("Merchant-Serial-Number", m);
    }
    r.send().await.unwrap()
}

#[tokio::test]
async fn unauthorized_and_forbidden() {
    let h = H::two_merchants().await;
    let m = h.m().clone();
    let other = second_merchant();
    let bearer = format!("Bearer {}", h.token);
    let key = Some(m.subscription_key.as_str());
    let msn = Some(m.msn.as_str());

    // sanity: the right headers reach the handler (404 for an unknown payment)
    problem(get_with(&h, Some(&bearer), key, msn).await, 404, Some(5090)).await;

    // no token, malformed token, lower-case bearer, no scheme, tampered signature
    let lower = format!("bearer {}", h.token);
    let bare = h.token.clone();
    let mut tampered = h.token.clone();
    tampered.replace_range(tampered.len() - 4.., "AAAA");
    let tampered = format!("Bearer {tampered}");
    for auth in [
        None,
        Some("Bearer not-a-jwt"),
        Some(lower.as_str()),
        Some(bare.as_str()),
        Some(tampered.as_str()),
    ] {
        problem(get_with(&h, auth, key, msn).await, 401, None).await;
    }
    // another merchant's subscription key, or none
    problem(
        get_with(&h, Some(&bearer), Some(&other.subscription_key), msn).await,
        401,
        None,
    )
    .await;
    problem(get_with(&h, Some(&bearer), None, msn).await, 401, None).await;
    // the MSN of another merchant (or an unknown one): 403
    problem(get_with(&h, Some(&bearer), key, Some(&other.msn)).await, 403, None).await;
    problem(get_with(&h, Some(&bearer), key, Some("99999")).await, 403, None).await;
    // missing or malformed MSN: 400
    let b = problem(get_with(&h, Some(&bearer), key, None).await, 400, Some(4140)).await;
    assert!(b.to_string().contains("Merchant-Serial-Number"));
    problem(get_with(&h, Some(&bearer), key, Some("12ab")).await, 400, None).await;

    // the second merchant's own token works for its own MSN
    let t2 = fetch_token(&h.http, &h.emu.base_url(), &other).await;
    let r = get_with(
        &h,
        Some(&format!("Bearer {t2}")),
        Some(&other.subscription_key),
        Some(&other.msn),
    )
    .await;
    problem(r, 404, Some(5090)).await;
}

#[tokio::test]
async fn tokens_expire_with_the_clock() {
    let h = H::start().await;
    h.created("expiring-token-1", 1000).await;
    // Tokens count whole seconds: one second of slack, in case the real clock ticks over
    // between the token and this request.
    h.emu.clock().advance(std::time::Duration::from_secs(3598));
    h.get("expiring-token-1").await;
    h.advance(3).await;
    let r = h
        .req(Method::GET, "/epayment/v1/payments/expiring-token-1")
        .send()
        .await
        .unwrap();
    let b = problem(r, 401, None).await;
    assert!(b["detail"].as_str().unwrap().contains("expired"), "{b}");
    // a fresh token works again
    let t = fetch_token(&h.http, &h.emu.base_url(), &Merchant::default_test()).await;
    let r = h
        .http
        .get(h.url("/epayment/v1/payments/expiring-token-1"))
        .bearer_auth(t)
        .header("Ocp-Apim-Subscription-Key", &h.m().subscription_key)
        .header("Merchant-Serial-Number", &h.m().msn)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn tokens_from_another_emulator_are_refused() {
    let a = H::start().await;
    let b = H::start().await;
    let r = b
        .http
        .get(b.url("/epayment/v1/payments/some-reference-1"))
        .bearer_auth(&a.token)
        .header("Ocp-Apim-Subscription-Key", &b.m().subscription_key)
        .header("Merchant-Serial-Number", &b.m().msn)
        .send()
        .await
        .unwrap();
    problem(r, 401, None).await;
}

/// `POST /miami/v1/token` with Basic credentials and a form body.
async fn miami(h: &H, basic: Option<(&str, &str)>, body: &str, extra: &[(&str, &str)]) -> reqwest::Response {
    let mut r = h
        .http
        .post(h.url("/miami/v1/token"))
        .header("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
        .body(body.to_owned());
    if let Some((id, secret)) = basic {
        r = r.basic_auth(id, Some(secret));
    }
    for (k, v) in extra {
        r = r.header(*k, *v);
    }
    r.send().await.unwrap()
}

#[tokio::test]
async fn the_client_credentials_flow_issues_15_minute_tokens() {
    let h = H::start().await;
    let m = h.m().clone();
    let creds = Some((m.client_id.as_str(), m.client_secret.as_str()));
    let r = miami(
        &h,
        creds,
        "grant_type=client_credentials&scope=donations%3Aread",
        &[("Merchant-Serial-Number", "123456")],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 900, "a number, as in the guide's example: {v}");
    assert_eq!(v["scope"], "donations:read");
    let token = v["access_token"].as_str().unwrap().to_owned();
    let claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap();
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 900);
    // The stored spec's variant: client_id and client_secret as headers.
    let r = miami(
        &h,
        None,
        "grant_type=client_credentials",
        &[("client_id", &m.client_id), ("client_secret", &m.client_secret)],
    )
    .await;
    assert_eq!(r.status(), 200);

    // The two documented mistakes give invalid_client; so do wrong credentials (401).
    let secret = m.client_secret.clone();
    let secret = secret.as_str();
    let err = |r: reqwest::Response, status: u16, error: &'static str| async move {
        assert_eq!(r.status(), status);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"], error, "{v}");
        assert!(v["error_description"].as_str().is_some_and(|d| !d.is_empty()), "{v}");
        assert!(!v.to_string().contains(secret), "{v}");
    };
    err(miami(&h, creds, "", &[]).await, 400, "invalid_client").await;
    err(
        miami(
            &h,
            creds,
            "grant_type=client_credentials",
            &[("Ocp-Apim-Subscription-Key", &m.subscription_key)],
        )
        .await,
        400,
        "invalid_client",
    )
    .await;
    let r = miami(
        &h,
        Some((m.client_id.as_str(), "wrong")),
        "grant_type=client_credentials",
        &[],
    )
    .await;
    assert!(r.headers().contains_key("www-authenticate"));
    err(r, 401, "invalid_client").await;
    err(
        miami(&h, None, "grant_type=client_credentials", &[]).await,
        401,
        "invalid_client",
    )
    .await;
    err(
        miami(&h, creds, "grant_type=password", &[]).await,
        400,
        "unsupported_grant_type",
    )
    .await;
    let r = h
        .http
        .post(h.url("/miami/v1/token"))
        .basic_auth(&m.client_id, Some(&m.client_secret))
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    err(r, 400, "invalid_request").await;
}
