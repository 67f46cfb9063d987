//! Userinfo API: `GET /vipps-userinfo-api/userinfo/{sub}` after profile sharing in ePayment,
//! eCom and Checkout.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

/// Creates an ePayment payment asking for `scope`, for the customer `phone`, and force-approves it.
async fn shared(h: &H, reference: &str, scope: &str, phone: &str) -> String {
    let mut body = web(reference, 1000);
    body["profile"] = json!({"scope": scope});
    body["customer"] = json!({"phoneNumber": phone});
    let r = h.create_body(&body, &format!("k-{reference}")).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let r = h
        .req(Method::POST, &format!("/epayment/v1/test/payments/{reference}/approve"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    h.get(reference).await["profile"]["sub"]
        .as_str()
        .expect("sub once authorized")
        .to_owned()
}

/// The Userinfo call as the official Postman collection makes it: token, MSN, no subscription key.
fn userinfo(h: &H, token: &str, sub: &str) -> reqwest::RequestBuilder {
    h.http
        .get(h.url(&format!("/vipps-userinfo-api/userinfo/{sub}")))
        .bearer_auth(token)
        .header("Merchant-Serial-Number", &h.m().msn)
}

async fn status_and_json(r: reqwest::RequestBuilder) -> (u16, Value, Option<String>) {
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let www = r
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, r.json().await.unwrap(), www)
}

#[tokio::test]
async fn an_epayment_sub_gives_the_consented_fields_and_nothing_else() {
    let h = H::start().await;
    let sub = shared(
        &h,
        "userinfo-ref-0001",
        "name phoneNumber address birthDate",
        "4798765432",
    )
    .await;
    let (status, u, _) = status_and_json(userinfo(&h, &h.token, &sub)).await;
    assert_eq!(status, 200, "{u}");
    assert_eq!(u["sub"], sub.as_str());
    assert_eq!(u["given_name"], "Ola");
    assert_eq!(u["family_name"], "Nordmann");
    assert_eq!(u["name"], "Ola Nordmann");
    assert_eq!(u["phone_number"], "4798765432", "the payment's customer");
    assert_eq!(u["phone_number_verified"], true);
    assert_eq!(u["birthdate"], "1990-01-31");
    assert_eq!(u["address"]["postal_code"], "0154");
    assert_eq!(u["address"]["country"], "NO");
    assert_eq!(u["address"]["address_type"], "home");
    assert_eq!(u["other_addresses"], json!([]));
    for absent in ["email", "email_verified", "nin"] {
        assert!(u.get(absent).is_none(), "{absent} was not consented to: {u}");
    }

    // The same customer at the same sales unit has the same sub; a later consent adds its words.
    let again = shared(&h, "userinfo-ref-0002", "email", "4798765432").await;
    assert_eq!(again, sub);
    let (_, u, _) = status_and_json(userinfo(&h, &h.token, &sub)).await;
    assert_eq!(u["email"], "ola.nordmann@example.com");
    assert_eq!(u["given_name"], "Ola", "the earlier consent still counts");
    // Another customer has another sub.
    let other = shared(&h, "userinfo-ref-0003", "name", "4791111111").await;
    assert_ne!(other, sub);
}

#[tokio::test]
async fn the_market_chooses_the_test_customer() {
    let config = vipps_emulator::EmulatorConfig {
        merchants: vec![vipps_emulator::Merchant {
            currency: vipps_types::Currency::Dkk,
            ..vipps_emulator::Merchant::default_test()
        }],
        ..Default::default()
    };
    let h = H::with(config).await;
    let mut body = web("userinfo-dkk-0001", 1000);
    body["amount"] = json!({"value": 1000, "currency": "DKK"});
    body["profile"] = json!({"scope": "name email"});
    let r = h.create_body(&body, "k-dkk").await;
    assert_eq!(r.status(), 201);
    assert_eq!(h.approve("userinfo-dkk-0001").await.status(), 200);
    let sub = h.get("userinfo-dkk-0001").await["profile"]["sub"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, u, _) = status_and_json(userinfo(&h, &h.token, &sub)).await;
    assert_eq!(status, 200);
    assert_eq!(u["given_name"], "Mette");
    assert_eq!(u["email"], "mette.jensen@example.com");
}

#[tokio::test]
async fn authentication_rules() {
    let h = H::two_merchants().await;
    let sub = shared(&h, "userinfo-auth-0001", "name", "4791234567").await;

    // The subscription key is refused: the Userinfo API is outside the payment subscriptions.
    let r = userinfo(&h, &h.token, &sub).header("Ocp-Apim-Subscription-Key", &h.m().subscription_key);
    let (status, e, www) = status_and_json(r).await;
    assert_eq!(status, 401);
    assert_eq!(e["error"], "invalid_request");
    assert!(e["error_description"]
        .as_str()
        .unwrap()
        .contains("Ocp-Apim-Subscription-Key"));
    assert_eq!(www.as_deref(), Some("Bearer error=\"invalid_request\""));

    // No token, a forged token.
    let r = h.http.get(h.url(&format!("/vipps-userinfo-api/userinfo/{sub}")));
    assert_eq!(status_and_json(r).await.0, 401);
    let (status, e, www) = status_and_json(userinfo(&h, "not.a.token", &sub)).await;
    assert_eq!((status, e["error"].as_str()), (401, Some("invalid_token")));
    assert_eq!(www.as_deref(), Some("Bearer error=\"invalid_token\""));

    // Another sales unit cannot read it; nor can anyone read a sub nobody consented under.
    let second = fetch_token(&h.http, &h.emu.base_url(), &second_merchant()).await;
    let (status, e, _) = status_and_json(userinfo(&h, &second, &sub)).await;
    assert_eq!((status, e["error"].as_str()), (404, Some("not_found")));
    let (status, _, _) = status_and_json(userinfo(&h, &h.token, "c06c4afe-d9e1-4c5d-939a-177d752a0944")).await;
    assert_eq!(status, 404);
    // A payment without a scope has no sub.
    h.authorized("userinfo-auth-0002", 1000).await;
    assert!(h.get("userinfo-auth-0002").await["profile"].get("sub").is_none());
}

#[tokio::test]
async fn the_data_can_be_fetched_for_168_hours() {
    let h = H::start().await;
    let sub = shared(&h, "userinfo-time-0001", "name", "4791234567").await;
    // (The emulator's clock also moves with real time: a minute of slack.)
    h.advance(168 * 3600 - 60).await;
    let token = fetch_token(&h.http, &h.emu.base_url(), h.m()).await;
    assert_eq!(
        status_and_json(userinfo(&h, &token, &sub)).await.0,
        200,
        "a minute left"
    );
    h.advance(60).await;
    let token = fetch_token(&h.http, &h.emu.base_url(), h.m()).await;
    let (status, e, _) = status_and_json(userinfo(&h, &token, &sub)).await;
    assert_eq!(status, 403);
    assert_eq!(e["error"], "access_denied");
    assert!(e["error_description"].as_str().unwrap().contains("168 hours"), "{e}");
}

#[tokio::test]
async fn an_ecom_sub_reads_the_ecom_customer_and_matches_epayment() {
    let h = H::start().await;
    let body = json!({
        "customerInfo": {},
        "merchantInfo": {
            "merchantSerialNumber": h.m().msn,
            "callbackPrefix": "https://example.com/vipps",
            "fallBack": "https://example.com/fallback",
        },
        "transaction": {"amount": 1000, "orderId": "userinfo-order-1", "transactionText": "Socks",
            "scope": "name email birthDate"},
    });
    let r = ecom(&h, Method::POST, "/ecomm/v2/payments/")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the trailing slash of the official collection works");
    ecom_approve(&h, "userinfo-order-1").await;
    let d = ecom_details(&h, "userinfo-order-1").await;
    let sub = d["sub"].as_str().expect("sub in /details").to_owned();
    let (status, u, _) = status_and_json(userinfo(&h, &h.token, &sub)).await;
    assert_eq!(status, 200, "{u}");
    assert_eq!(
        u["given_name"], d["userDetails"]["firstName"],
        "the customer /details shows"
    );
    assert_eq!(u["email"], d["userDetails"]["email"]);
    assert_eq!(u["birthdate"], "1990-01-31");
    assert!(u.get("phone_number").is_none());
    // 91234567 in eCom is 4791234567 in ePayment: one customer, one sub, one person.
    assert_eq!(shared(&h, "userinfo-ecom-0001", "phoneNumber", "4791234567").await, sub);
    let (_, after, _) = status_and_json(userinfo(&h, &h.token, &sub)).await;
    assert_eq!(after["given_name"], u["given_name"]);
    assert_eq!(after["phone_number"], "4791234567");

    // Force approve: another order's token is refused; one that is no order's is ignored.
    let mut urls = Vec::new();
    for id in ["userinfo-order-2", "userinfo-order-3"] {
        let mut b = body.clone();
        b["transaction"]["orderId"] = json!(id);
        let r = ecom(&h, Method::POST, "/ecomm/v2/payments")
            .json(&b)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        urls.push(r.json::<Value>().await.unwrap()["url"].as_str().unwrap().to_owned());
    }
    let foreign = urls[1].split('=').nth(2).unwrap().to_owned();
    let approve = |id: &str, token: &str| {
        ecom(
            &h,
            Method::POST,
            &format!("/ecomm/v2/integration-test/payments/{id}/approve"),
        )
        .json(&json!({"customerPhoneNumber": "91234567", "token": token}))
        .send()
    };
    assert_eq!(approve("userinfo-order-2", &foreign).await.unwrap().status(), 400);
    assert_eq!(
        approve("userinfo-order-2", "{{payment_token}}").await.unwrap().status(),
        200
    );
}

#[tokio::test]
async fn a_checkout_user_info_sub_reads_what_the_page_shared() {
    let h = H::start().await;
    let body = json!({
        "type": "PAYMENT",
        "reference": "userinfo-ck-0001",
        "merchantInfo": {"callbackUrl": "https://example.com/cb", "returnUrl": "https://example.com/r",
            "callbackAuthorizationToken": "cb-secret-123"},
        "transaction": {"amount": {"value": 10000, "currency": "NOK"}, "reference": "userinfo-ck-0001",
            "paymentDescription": "Socks"},
        "configuration": {"requireUserInfo": true, "elements": "PaymentAndContactInfo"},
    });
    let r = h
        .checkout(Method::POST, "/checkout/v3/session")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let s = h
        .control_with(
            "/_emulator/checkout/userinfo-ck-0001/complete",
            &json!({"customer": {"firstName": "Kari", "lastName": "Hansen", "email": "kari@example.com",
            "phoneNumber": "4795555555"}}),
        )
        .await;
    let sub = s["userInfo"]["sub"]
        .as_str()
        .unwrap_or_else(|| panic!("userInfo.sub: {s}"))
        .to_owned();
    let (status, u, _) = status_and_json(userinfo(&h, &h.token, &sub)).await;
    assert_eq!(status, 200, "{u}");
    assert_eq!(u["given_name"], "Kari");
    assert_eq!(u["email"], "kari@example.com");
    assert_eq!(u["phone_number"], "4795555555");

    // Initiated first and approved later: the consent counts from the approval. A customer
    // who rejects shares nothing. An 8-digit number is the same customer as `47…`.
    for (reference, phone) in [("userinfo-ck-0002", "96666666"), ("userinfo-ck-0003", "4797777777")] {
        let mut b = body.clone();
        b["reference"] = json!(reference);
        b["transaction"]["reference"] = json!(reference);
        let r = h
            .checkout(Method::POST, "/checkout/v3/session")
            .json(&b)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let control = |action: &str, body: Value| {
            h.http
                .post(h.url(&format!("/_emulator/checkout/{reference}/{action}")))
                .json(&body)
                .send()
        };
        let s = h
            .control_with(
                &format!("/_emulator/checkout/{reference}/initiate"),
                &json!({"customer": {"phoneNumber": phone}}),
            )
            .await;
        let sub = s["userInfo"]["sub"]
            .as_str()
            .unwrap_or_else(|| panic!("{s}"))
            .to_owned();
        assert_eq!(
            status_and_json(userinfo(&h, &h.token, &sub)).await.0,
            404,
            "not approved yet"
        );
        let approve = reference.ends_with('2');
        let r = control(if approve { "complete" } else { "abort" }, json!({}))
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let (status, u, _) = status_and_json(userinfo(&h, &h.token, &sub)).await;
        if approve {
            assert_eq!(status, 200, "{u}");
            assert_eq!(u["phone_number"], "4796666666");
        } else {
            assert_eq!(status, 404, "a rejected session shares nothing: {u}");
        }
    }
}

/// A payment created without a customer is approved by the one the force-approve body names,
/// as the official Postman collection does it.
#[tokio::test]
async fn force_approve_names_the_customer_when_the_payment_has_none() {
    let h = H::start().await;
    let mut body = web("userinfo-fa-0001", 1000);
    body["profile"] = json!({"scope": "phoneNumber"});
    let r = h.create_body(&body, "k-fa").await;
    assert_eq!(r.status(), 201);
    let approve = |phone: &str| {
        h.req(Method::POST, "/epayment/v1/test/payments/userinfo-fa-0001/approve")
            .json(&json!({"customer": {"phoneNumber": phone}}))
            .send()
    };
    assert_eq!(approve("4795555555").await.unwrap().status(), 200);
    let p = h.get("userinfo-fa-0001").await;
    assert_eq!(p["userDetails"]["mobileNumber"], "4795555555", "{p}");
    let sub = p["profile"]["sub"].as_str().unwrap().to_owned();
    let (_, u, _) = status_and_json(userinfo(&h, &h.token, &sub)).await;
    assert_eq!(u["phone_number"], "4795555555");
    // A failed approval changes nothing: an Express payment without a customer cannot be force
    // approved (10060), and the number its body named is not kept.
    let express = json!({"fixedOptions": [{"brand": "POSTEN", "type": "HOME_DELIVERY", "options": [
        {"id": "home", "name": "Home", "amount": {"currency": "NOK", "value": 0}, "isDefault": true, "priority": 0}]}]});
    let mut body = web("userinfo-fa-0002", 1000);
    body["shipping"] = express;
    body["profile"] = json!({"scope": "name address email phoneNumber"});
    assert_eq!(h.create_body(&body, "k-fa-2").await.status(), 201);
    let r = h
        .req(Method::POST, "/epayment/v1/test/payments/userinfo-fa-0002/approve")
        .json(&json!({"customer": {"phoneNumber": "4796666666"}}))
        .send()
        .await
        .unwrap();
    problem(r, 400, Some(10060)).await;
    let r = h
        .http
        .post(h.url("/_emulator/payments/userinfo-fa-0002/approve"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let p = h.get("userinfo-fa-0002").await;
    assert_eq!(
        p["userDetails"]["mobileNumber"], "4791234567",
        "the test customer, not 4796666666: {p}"
    );
}
