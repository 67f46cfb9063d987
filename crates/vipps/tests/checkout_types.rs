//! Checkout wire types: serde round trips of the documented example payloads (seed 002 and
//! 003, `checkout-v3.yaml`, `checkout--faq-errors.md`), forward compatibility, and the
//! validation rules (each failure names the field).

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use vipps::types::checkout::*;
use vipps::types::{Amount, Currency, Problem, Reference, Validate};

/// Parses `json` as `T`, serializes it back and checks nothing was lost or added.
fn round_trip<T: DeserializeOwned + Serialize>(json: &str) -> T {
    let parsed: T = serde_json::from_str(json).unwrap_or_else(|e| panic!("parse failed: {e}\n{json}"));
    let back = serde_json::to_value(&parsed).unwrap();
    let original: Value = serde_json::from_str(json).unwrap();
    assert_eq!(back, original, "round trip changed the payload");
    parsed
}

// checkout-v3.yaml, POST /session, example "Swagger".
const YAML_SWAGGER: &str = r#"{
  "merchantInfo": {
    "callbackUrl": "https://example.com/vipps/payment-callback",
    "returnUrl": "https://example.com/vipps/fallback-result-page-for-both-success-and-failure/acme-shop-123-order123abc",
    "callbackAuthorizationToken": "c172ad8d-9499-41d4-b8ff-c689be6455e9",
    "termsAndConditionsUrl": "https://example.com/vipps/terms-and-conditions"
  },
  "transaction": {
    "amount": {"value": 2000, "currency": "NOK"},
    "reference": "store-order-123",
    "paymentDescription": "One pair of socks"
  },
  "logistics": {
    "dynamicOptionsCallback": "https://example.com/vipps/dynamiclogisticsoption",
    "fixedOptions": [
      {"brand": "POSTEN", "amount": {"value": 5000, "currency": "NOK"}, "id": "postenservicepakke1", "priority": 1, "isDefault": true, "description": "Your package is delivered to your home."},
      {"brand": "POSTEN", "amount": {"value": 300, "currency": "NOK"}, "type": "PICKUP_POINT", "id": "postenservicepakke2", "priority": 2, "isDefault": false, "description": "Pick up your package at the local store."}
    ]
  },
  "prefillCustomer": {
    "firstName": "Ola", "lastName": "Nordmann", "email": "ola.nordmann@vipps.no", "phoneNumber": "+4748644347",
    "streetAddress": "Robert Levins gate 5", "city": "Oslo", "postalCode": "0150", "country": "NO"
  },
  "configuration": {
    "customerInteraction": "CUSTOMER_NOT_PRESENT",
    "elements": "Full",
    "countries": {"supported": ["NO", "SE", "DK"]}
  }
}"#;

// checkout-v3.yaml, POST /session, example "Postman" (with its Postman placeholders).
const YAML_POSTMAN: &str = r#"{
  "merchantInfo": {
    "callbackUrl": "{{callbackUrl}}",
    "returnUrl": "{{fallBack}}",
    "callbackAuthorizationToken": "{{$guid}}",
    "termsAndConditionsUrl": "{{termsAndConditionsUrl}}"
  },
  "transaction": {
    "amount": {"value": 1000, "currency": "{{currency}}"},
    "reference": "{{orderId}}",
    "paymentDescription": "{{transactionTextInitiate}}"
  },
  "logistics": {
    "dynamicOptionsCallback": "{{dynamicOptionsCallbackUrl}}",
    "fixedOptions": [
      {"brand": "POSTEN", "amount": {"value": 300, "currency": "{{currency}}"}, "id": "postenservicepakke1", "priority": 1, "isDefault": true, "description": "Your package is delivered to your home."},
      {"brand": "POSTEN", "amount": {"value": 300, "currency": "{{currency}}"}, "type": "PICKUP_POINT", "id": "postenservicepakke2", "priority": 2, "isDefault": false, "description": "Pick up your package at the local store."}
    ],
    "integrations": {
      "porterbuddy": {
        "publicToken": "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1Ni ",
        "apiKey": "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1Ni ",
        "origin": {
          "name": "{{firstName}} {{lastName}}",
          "email": "{{email}}",
          "phoneNumber": "{{internationalMobileNumber}}",
          "address": {"streetAddress": "{{streetAddress}}", "postalCode": "{{postalCode}}", "city": "{{city}}", "country": "{{country}}"}
        }
      }
    }
  },
  "prefillCustomer": {
    "firstName": "{{firstName}}", "lastName": "{{lastName}}", "email": "{{email}}", "phoneNumber": "{{internationalMobileNumber}}",
    "streetAddress": "{{streetAddress}}", "city": "{{city}}", "postalCode": "{{postalCode}}", "country": "{{country}}"
  },
  "configuration": {
    "customerInteraction": "CUSTOMER_NOT_PRESENT",
    "elements": "Full",
    "countries": {"supported": ["NO", "SE", "DK"]}
  }
}"#;

// Seed 002 request sample: `type`, top-level `reference` (the rendered page collapses the
// nested objects; they are filled in from the schema).
const SEED_002_CREATE: &str = r#"{
  "type": "PAYMENT",
  "reference": "acme-shop-123-order123abc",
  "transaction": {
    "amount": {"value": 49900, "currency": "NOK"},
    "paymentDescription": "One pair of socks",
    "orderSummary": {
      "orderLines": [
        {"name": "Socks", "id": "socks-1", "totalAmount": 49900, "totalAmountExcludingTax": 39920, "totalTaxAmount": 9980,
         "taxRate": 2500, "unitInfo": {"unitPrice": 49900, "quantity": "1", "quantityUnit": "PCS"}, "productUrl": "https://example.com/socks"}
      ],
      "orderBottomLine": {"currency": "NOK", "tipAmount": 0, "giftCardAmount": 0, "terminalId": "web", "receiptNumber": "r-1",
                          "paymentSources": {"giftCard": 0, "card": 49900}}
    }
  },
  "logistics": {
    "fixedOptions": [
      {"brand": "POSTNORD", "type": "HOME_DELIVERY", "id": "pn-home", "priority": 0, "isDefault": true, "amount": {"value": 9900, "currency": "NOK"}, "taxRate": 2500},
      {"brand": "PORTERBUDDY", "type": "HOME_DELIVERY", "id": "pb", "priority": 1, "isDefault": false},
      {"brand": "HELTHJEM", "type": "PICKUP_POINT", "id": "hh", "priority": 2, "isDefault": false, "amount": {"value": 4900, "currency": "NOK"}},
      {"brand": "POSTI", "type": "MAILBOX", "id": "posti", "priority": 3, "isDefault": false, "amount": {"value": 4900, "currency": "NOK"}},
      {"brand": "GLS", "type": "PICKUP_POINT", "id": "gls", "priority": 4, "isDefault": false, "amount": {"value": 4900, "currency": "NOK"}},
      {"brand": "DAO", "type": 1, "id": "dao", "priority": 5, "isDefault": false, "amount": {"value": 4900, "currency": "NOK"}},
      {"brand": "OTHER", "title": "Pick up in store", "id": "store", "priority": 6, "isDefault": false, "amount": {"value": 0, "currency": "NOK"}}
    ],
    "integrations": {
      "porterbuddy": {"publicToken": "pt", "apiKey": "ak", "origin": {"name": "Acme", "email": "a@example.com", "phoneNumber": "4791234567",
        "address": {"streetAddress": "Robert Levins gate 5", "postalCode": "0154", "city": "Oslo", "country": "NO"}}},
      "helthjem": {"username": "u", "password": "p", "shopId": 1}
    }
  },
  "prefillCustomer": {"phoneNumber": "4791234567"},
  "merchantInfo": {
    "callbackUrl": "https://example.com/vipps/payment-callback",
    "returnUrl": "myapp://checkout-done",
    "callbackAuthorizationToken": "iOiJKV1QiLCJhbGciOiJSUzI1NiIsIng1dCI6ImllX3FXQ1hoWHh0MXpJ"
  },
  "configuration": {
    "userFlow": "NATIVE_REDIRECT",
    "elements": "Full",
    "requireUserInfo": true,
    "customConsent": {"text": "Sign up for our [newsletter](https://example.com/n)", "required": false},
    "showOrderSummary": true,
    "externalPaymentMethods": [{"paymentMethod": "Klarna", "redirectUrl": "https://example.com/klarna"}]
  }
}"#;

const SEED_002_SUBSCRIPTION: &str = r#"{
  "type": "SUBSCRIPTION",
  "reference": "acme-sub-12345678",
  "merchantInfo": {"callbackUrl": "https://example.com/cb", "returnUrl": "https://example.com/r", "callbackAuthorizationToken": "tok"},
  "subscription": {
    "productName": "Bi-Weekly Socks",
    "amount": {"value": 9900, "currency": "NOK"},
    "interval": {"unit": "WEEK", "count": 2},
    "merchantAgreementUrl": "https://example.com/vipps/subscription/socks",
    "productDescription": "Bi-Weekly Subscription of 1 pair of socks",
    "campaign": {"type": "PERIOD_CAMPAIGN", "price": 100, "period": {"unit": "MONTH", "count": 1}}
  },
  "configuration": {"elements": "PaymentOnly"}
}"#;

// Seed 002 get-session response sample (collapsed objects filled in from the schema).
const SEED_002_SESSION: &str = r#"{
  "sessionId": "v52EtjZriRmGiKiAKHByK2",
  "merchantSerialNumber": "123456",
  "reference": "acme-shop-123-order123abc",
  "sessionState": "PaymentSuccessful",
  "paymentMethod": "Wallet",
  "subscriptionDetails": {"state": "ACTIVE", "agreementId": "agr_123"},
  "paymentDetails": {
    "type": "WALLET",
    "amount": {"value": 59800, "currency": "NOK"},
    "state": "AUTHORIZED",
    "aggregate": {
      "authorizedAmount": {"value": 59800, "currency": "NOK"},
      "cancelledAmount": {"value": 0, "currency": "NOK"},
      "capturedAmount": {"value": 0, "currency": "NOK"},
      "refundedAmount": {"value": 0, "currency": "NOK"}
    }
  },
  "userInfo": {"sub": "c06c4afe-d9e1-4c5d-939a-177d752a0944", "email": "user@example.com"},
  "shippingDetails": {
    "firstName": "Ada", "lastName": "Lovelace", "email": "user@example.com", "phoneNumber": "4791234567",
    "streetAddress": "Robert Levins gate 5", "postalCode": "0154", "city": "Oslo", "country": "NO",
    "shippingMethodId": "pn-home", "amount": {"value": 9900, "currency": "NOK"},
    "pickupPoint": {"id": "121648", "name": "Extra Eiganes", "address": "VITAMINVEIEN 7", "postalCode": "0485", "city": "OSLO", "country": "NO", "openingHours": ["Man-Søn: 1000-2000"]}
  },
  "billingDetails": {
    "firstName": "Ada", "lastName": "Lovelace", "email": "user@example.com", "phoneNumber": "4791234567",
    "streetAddress": "Robert Levins gate 5", "postalCode": "0154", "city": "Oslo", "country": "NO"
  },
  "customConsentProvided": true
}"#;

#[test]
fn yaml_swagger_example_round_trips_and_validates() {
    let r: InitiateSessionRequest = round_trip(YAML_SWAGGER);
    r.validate().unwrap();
    assert_eq!(r.session_type(), SessionType::Payment);
    assert_eq!(r.effective_reference().unwrap().as_str(), "store-order-123");
    let opts = r.logistics.as_ref().unwrap().fixed_options.as_ref().unwrap();
    match &opts[1] {
        LogisticsOption::Posten(o) => {
            assert_eq!(o.type_, Some(PostenLogisticsType::PickupPoint));
            assert_eq!(o.amount, Amount::nok(300));
        }
        other => panic!("expected POSTEN, got {other:?}"),
    }
    assert_eq!(r.configuration.as_ref().unwrap().elements, Some(Elements::Full));
}

#[test]
fn yaml_postman_example_round_trips_but_placeholders_do_not_validate() {
    let r: InitiateSessionRequest = round_trip(YAML_POSTMAN);
    assert_eq!(
        r.transaction.as_ref().unwrap().amount.currency,
        Currency::Unknown("{{currency}}".into())
    );
    let pb = r
        .logistics
        .as_ref()
        .unwrap()
        .integrations
        .as_ref()
        .unwrap()
        .porterbuddy
        .as_ref()
        .unwrap();
    assert_eq!(pb.origin.address.city, "{{city}}");
    assert_eq!(r.validate().unwrap_err().field, "merchantInfo.callbackUrl");
}

#[test]
fn seed_002_create_samples_round_trip_and_validate() {
    let r: InitiateSessionRequest = round_trip(SEED_002_CREATE);
    r.validate().unwrap();
    assert_eq!(r.transaction.as_ref().unwrap().reference, None);
    assert_eq!(r.effective_reference().unwrap().as_str(), "acme-shop-123-order123abc");
    let opts = r.logistics.as_ref().unwrap().fixed_options.as_ref().unwrap();
    let brands: Vec<_> = opts.iter().map(|o| o.brand().to_string()).collect();
    assert_eq!(
        brands,
        ["POSTNORD", "PORTERBUDDY", "HELTHJEM", "POSTI", "GLS", "DAO", "OTHER"]
    );
    assert!(matches!(&opts[1], LogisticsOption::Porterbuddy(p) if p.amount.is_none()));
    assert!(matches!(&opts[6], LogisticsOption::Other(o) if o.title == "Pick up in store"));

    let s: InitiateSessionRequest = round_trip(SEED_002_SUBSCRIPTION);
    s.validate().unwrap();
    assert_eq!(s.session_type(), SessionType::Subscription);
    assert_eq!(s.subscription.as_ref().unwrap().interval.unit, IntervalUnit::Week);
}

#[test]
fn seed_002_response_samples_round_trip() {
    // Create response sample ("string" placeholders).
    let c: InitiateSessionResponse =
        round_trip(r#"{"token": "string", "checkoutFrontendUrl": "string", "pollingUrl": "string"}"#);
    assert_eq!(c.polling_url, "string");
    // The dynamic logistics callback payload sample.
    let d: DynamicShippingRequest =
        round_trip(r#"{"streetAddress": "string", "postalCode": "string", "region": "string", "country": "string"}"#);
    assert_eq!(d.region, "string");
    // Get session sample (= the callback body).
    let s: SessionResponse = round_trip(SEED_002_SESSION);
    assert_eq!(s.session_state, SessionState::PaymentSuccessful);
    assert!(s.is_final() && s.is_authorized());
    assert_eq!(s.payment_method, Some(PaymentMethod::Wallet));
    assert_eq!(
        s.subscription_details.as_ref().unwrap().state,
        Some(SubscriptionState::Active)
    );
    assert_eq!(
        s.shipping_details.as_ref().unwrap().pickup_point.as_ref().unwrap().name,
        "Extra Eiganes"
    );
    // The rendered sample's minimal form: SessionCreated with nothing else.
    let s: SessionResponse = round_trip(
        r#"{"sessionId": "string", "reference": "string", "sessionState": "SessionCreated", "paymentMethod": "Wallet", "customConsentProvided": true}"#,
    );
    assert!(!s.is_final());
}

#[test]
fn seed_002_update_sample_round_trips_and_validates() {
    let u: UpdateSessionRequest = round_trip(
        r#"{"transaction": {"amount": {"value": 1000, "currency": "NOK"}, "reference": "acme-shop-123-order123abc", "paymentDescription": "Two pairs of socks",
            "orderSummary": {"orderLines": [{"name": "Socks", "id": "1", "totalAmount": 1000, "totalAmountExcludingTax": 800, "totalTaxAmount": 200, "taxPercentage": 25}],
                             "orderBottomLine": {"currency": "NOK"}}}}"#,
    );
    u.validate().unwrap();
    let mut bad = u.clone();
    bad.transaction.payment_description = "ab".into();
    assert_eq!(bad.validate().unwrap_err().field, "transaction.paymentDescription");
}

#[test]
fn faq_problem_examples_parse() {
    // checkout--faq-errors.md (the first example has a trailing comma in the doc; removed here).
    let p: Problem = round_trip(
        r#"{"errorCode": "Session-00100", "title": "Session expired or not known.", "status": 404, "instance": "urn:uuid:d1bb89d3-50ab-4e90-94c0-54a67da0a7ec"}"#,
    );
    assert_eq!(p.error_code.as_deref(), Some("Session-00100"));
    let p: Problem = round_trip(
        r#"{"errorCode": "Validation-00001", "title": "One or more validation errors occurred.", "status": 400,
            "instance": "urn:uuid:d1bb89d3-50ab-4e90-94c0-54a67da0a7ec",
            "errors": {"Transaction.Reference": ["The Reference field is required."]}}"#,
    );
    assert_eq!(
        p.errors.unwrap()["Transaction.Reference"],
        vec!["The Reference field is required.".to_string()]
    );
}

#[test]
fn unknown_values_and_extra_fields_are_tolerated() {
    let body = json!({
        "sessionId": "abc",
        "reference": "acme-shop-123-order123abc",
        "sessionState": "SessionTerminated",
        "paymentMethod": "SomeNewMethod",
        "paymentDetails": {"type": "NEW", "amount": {"value": 100, "currency": "SEK"}, "state": "PENDING_SOMETHING", "futureField": 1},
        "subscriptionDetails": {"state": "PAUSED"},
        "brandNewTopLevel": {"x": [1, 2]}
    });
    let s: SessionResponse = serde_json::from_value(body).unwrap();
    assert_eq!(s.session_state, SessionState::SessionTerminated);
    assert!(s.is_final());
    assert_eq!(s.payment_method, Some(PaymentMethod::Unknown("SomeNewMethod".into())));
    assert_eq!(
        s.payment_state(),
        Some(&PaymentState::Unknown("PENDING_SOMETHING".into()))
    );
    let back = serde_json::to_value(&s).unwrap();
    assert_eq!(back["paymentMethod"], "SomeNewMethod");
    assert_eq!(back["subscriptionDetails"]["state"], "PAUSED");

    let s: SessionResponse = serde_json::from_value(json!({
        "sessionId": "abc", "reference": "r", "sessionState": "SessionSomethingNew"
    }))
    .unwrap();
    assert_eq!(s.session_state, SessionState::Unknown("SessionSomethingNew".into()));
    assert!(!s.is_final());

    // An unknown carrier is kept verbatim (and rejected by validation).
    let opt = json!({"brand": "BUDBEE", "id": "b", "priority": 0, "isDefault": true, "amount": {"value": 1, "currency": "NOK"}, "eta": "1d"});
    let o: LogisticsOption = serde_json::from_value(opt.clone()).unwrap();
    assert_eq!(o.brand(), LogisticsBrand::Unknown("BUDBEE".into()));
    assert_eq!(serde_json::to_value(&o).unwrap(), opt);
    assert_eq!(o.validate_at("x").unwrap_err().field, "x.brand");
    // Unknown type values of a known carrier parse, and are rejected by validation.
    let o: LogisticsOption = serde_json::from_value(
        json!({"brand": "POSTEN", "type": "DRONE", "id": "p", "priority": 0, "isDefault": true, "amount": {"value": 1, "currency": "NOK"}}),
    )
    .unwrap();
    assert_eq!(o.validate_at("x").unwrap_err().field, "x.type");
}

#[test]
fn node_sdk_example_is_rejected_like_the_api_does() {
    // Seed 000: options without priority/isDefault and no paymentDescription: a 400 at the API.
    let node = r#"{
      "merchantInfo": {"callbackUrl": "https://exmaple.com/vipps/payment-callback", "returnUrl": "https://example.com/vipps", "callbackAuthorizationToken": "secret-token-to-verify-callback"},
      "transaction": {"amount": {"currency": "NOK", "value": 1000}, "reference": "order-id-123"},
      "logistics": {"dynamicOptionsCallback": "https://exmaple.com/vipps/payment-callback",
        "fixedOptions": [{"brand": "POSTEN", "amount": {"currency": "NOK", "value": 100}, "id": "shipping-option-1", "description": "Pakke levert på døren"}]}
    }"#;
    let err = serde_json::from_str::<InitiateSessionRequest>(node)
        .unwrap_err()
        .to_string();
    assert!(err.contains("priority") || err.contains("paymentDescription"), "{err}");
}

#[test]
fn dynamic_shipping_response_is_an_array_of_options() {
    let json = r#"[
      {"brand": "POSTEN", "type": "MAILBOX", "id": "mb", "priority": 0, "isDefault": true, "amount": {"value": 4900, "currency": "NOK"}},
      {"brand": "OTHER", "title": "Bike courier", "id": "bike", "priority": 1, "isDefault": false, "amount": {"value": 9900, "currency": "NOK"}}
    ]"#;
    let r: DynamicShippingResponse = round_trip(json);
    r.validate().unwrap();
    assert_eq!(r.0.len(), 2);
    let empty: DynamicShippingResponse = round_trip("[]");
    empty.validate().unwrap();
    let bad: DynamicShippingResponse = serde_json::from_str(
        r#"[{"brand": "OTHER", "title": "", "id": "x", "priority": 0, "isDefault": true, "amount": {"value": 1, "currency": "NOK"}}]"#,
    )
    .unwrap();
    assert_eq!(bad.validate().unwrap_err().field, "[0].title");
}

fn valid() -> InitiateSessionRequest {
    let mut r = InitiateSessionRequest::payment(
        MerchantInfo::new("https://example.com/cb", "https://example.com/return", "token-123"),
        PaymentTransaction::new(
            Amount::nok(49900),
            Reference::new("acme-shop-123-order123abc").unwrap(),
            "One pair of socks",
        ),
    );
    r.logistics = Some(Logistics {
        fixed_options: Some(vec![LogisticsOption::Posten(CarrierLogisticsOption {
            type_: Some(PostenLogisticsType::PickupPoint),
            is_default: true,
            ..CarrierLogisticsOption::new("posten", Amount::nok(4900))
        })]),
        ..Default::default()
    });
    r
}

/// A change that makes a valid request invalid.
type Mutation = Box<dyn Fn(&mut InitiateSessionRequest)>;

fn field_of(r: &InitiateSessionRequest) -> String {
    r.validate().expect_err("should be rejected").field
}

#[test]
fn constructors_send_both_references() {
    let r = valid();
    r.validate().unwrap();
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["type"], "PAYMENT");
    assert_eq!(v["reference"], "acme-shop-123-order123abc");
    assert_eq!(v["transaction"]["reference"], "acme-shop-123-order123abc");
    assert_eq!(v["logistics"]["fixedOptions"][0]["brand"], "POSTEN");
    assert_eq!(v["logistics"]["fixedOptions"][0]["type"], "PICKUP_POINT");
}

#[test]
fn validation_names_the_field() {
    /// A reference as the server might send it (not validated).
    fn reference(s: &str) -> Reference {
        serde_json::from_value(json!(s)).unwrap()
    }
    let cases: Vec<(Mutation, &str)> = vec![
        (Box::new(|r| r.reference = Some(reference("short"))), "reference"),
        (
            Box::new(|r| {
                r.reference = None;
                r.transaction.as_mut().unwrap().reference = Some(reference(&"a".repeat(51)));
            }),
            "transaction.reference",
        ),
        (
            Box::new(|r| {
                r.reference = None;
                r.transaction.as_mut().unwrap().reference = None;
            }),
            "transaction.reference",
        ),
        (
            Box::new(|r| r.reference = Some(reference("another-reference-1"))),
            "transaction.reference",
        ),
        (
            Box::new(|r| r.transaction.as_mut().unwrap().payment_description = "ab".into()),
            "transaction.paymentDescription",
        ),
        (
            Box::new(|r| r.transaction.as_mut().unwrap().payment_description = "x".repeat(101)),
            "transaction.paymentDescription",
        ),
        (
            Box::new(|r| r.transaction.as_mut().unwrap().amount.currency = Currency::Unknown("SEK".into())),
            "transaction.amount.currency",
        ),
        (
            Box::new(|r| r.transaction.as_mut().unwrap().amount.value = -1),
            "transaction.amount.value",
        ),
        (
            Box::new(|r| r.transaction.as_mut().unwrap().amount.value = i64::from(i32::MAX) + 1),
            "transaction.amount.value",
        ),
        (
            Box::new(|r| r.merchant_info.callback_url = "http://example.com/cb".into()),
            "merchantInfo.callbackUrl",
        ),
        (
            Box::new(|r| r.merchant_info.callback_url = "".into()),
            "merchantInfo.callbackUrl",
        ),
        (
            Box::new(|r| r.merchant_info.return_url = "not a url".into()),
            "merchantInfo.returnUrl",
        ),
        (
            Box::new(|r| r.merchant_info.callback_authorization_token = " ".into()),
            "merchantInfo.callbackAuthorizationToken",
        ),
        (
            Box::new(|r| r.merchant_info.terms_and_conditions_url = Some("ftp://x".into())),
            "merchantInfo.termsAndConditionsUrl",
        ),
        (Box::new(|r| r.transaction = None), "transaction"),
        (
            Box::new(|r| r.type_ = Some(SessionType::Unknown("ONE_OFF".into()))),
            "type",
        ),
        (Box::new(|r| r.type_ = Some(SessionType::Subscription)), "subscription"),
        (
            Box::new(|r| {
                let o = &mut r.logistics.as_mut().unwrap().fixed_options.as_mut().unwrap()[0];
                if let LogisticsOption::Posten(p) = o {
                    p.id = String::new();
                }
            }),
            "logistics.fixedOptions[0].id",
        ),
        (
            Box::new(|r| {
                let o = &mut r.logistics.as_mut().unwrap().fixed_options.as_mut().unwrap()[0];
                if let LogisticsOption::Posten(p) = o {
                    p.id = "x".repeat(201);
                }
            }),
            "logistics.fixedOptions[0].id",
        ),
        (
            Box::new(|r| {
                let o = &mut r.logistics.as_mut().unwrap().fixed_options.as_mut().unwrap()[0];
                if let LogisticsOption::Posten(p) = o {
                    p.priority = -1;
                }
            }),
            "logistics.fixedOptions[0].priority",
        ),
        (
            Box::new(|r| {
                let o = &mut r.logistics.as_mut().unwrap().fixed_options.as_mut().unwrap()[0];
                if let LogisticsOption::Posten(p) = o {
                    p.tax_rate = Some(10_001);
                }
            }),
            "logistics.fixedOptions[0].taxRate",
        ),
        (
            Box::new(|r| {
                let o = &mut r.logistics.as_mut().unwrap().fixed_options.as_mut().unwrap()[0];
                if let LogisticsOption::Posten(p) = o {
                    p.amount = Amount::eur(100);
                }
            }),
            "logistics.fixedOptions[0].amount.currency",
        ),
        (
            Box::new(|r| {
                r.logistics
                    .as_mut()
                    .unwrap()
                    .fixed_options
                    .as_mut()
                    .unwrap()
                    .push(LogisticsOption::Other(OtherLogisticsOption {
                        id: "o".into(),
                        priority: 1,
                        is_default: false,
                        description: None,
                        title: "".into(),
                        amount: Amount::nok(0),
                        tax_rate: None,
                    }))
            }),
            "logistics.fixedOptions[1].title",
        ),
        (
            Box::new(|r| {
                r.logistics.as_mut().unwrap().fixed_options.as_mut().unwrap()[0] =
                    LogisticsOption::Instabox(CarrierLogisticsOption::new("i", Amount::nok(100)))
            }),
            "logistics.fixedOptions[0].brand",
        ),
        (
            Box::new(|r| r.logistics.as_mut().unwrap().dynamic_options_callback = Some("http://example.com".into())),
            "logistics.dynamicOptionsCallback",
        ),
        (
            Box::new(|r| {
                r.logistics.as_mut().unwrap().dynamic_options_callback = Some("https://example.com/d".into());
                r.configuration = Some(CheckoutConfig {
                    elements: Some(Elements::PaymentOnly),
                    ..Default::default()
                });
            }),
            "logistics.dynamicOptionsCallback",
        ),
        (
            Box::new(|r| {
                r.logistics.as_mut().unwrap().integrations = Some(Integrations {
                    helthjem: Some(HelthjemIntegration {
                        username: "".into(),
                        password: "p".into(),
                        shop_id: 1,
                    }),
                    ..Default::default()
                })
            }),
            "logistics.integrations.helthjem.username",
        ),
        (
            Box::new(|r| {
                r.configuration = Some(CheckoutConfig {
                    user_flow: Some(UserFlow::Unknown("web_redirect".into())),
                    ..Default::default()
                })
            }),
            "configuration.userFlow",
        ),
        (
            Box::new(|r| {
                r.configuration = Some(CheckoutConfig {
                    elements: Some(Elements::Unknown("AddressOnly".into())),
                    ..Default::default()
                })
            }),
            "configuration.elements",
        ),
        (
            Box::new(|r| {
                r.configuration = Some(CheckoutConfig {
                    countries: Some(Countries {
                        supported: vec!["NO".into(), "Norway".into()],
                    }),
                    ..Default::default()
                })
            }),
            "configuration.countries.supported[1]",
        ),
        (
            Box::new(|r| {
                r.configuration = Some(CheckoutConfig {
                    custom_consent: Some(CustomConsent {
                        text: "[a](https://a.no) and [b](https://b.no)".into(),
                        required: true,
                    }),
                    ..Default::default()
                })
            }),
            "configuration.customConsent.text",
        ),
        (
            Box::new(|r| {
                r.configuration = Some(CheckoutConfig {
                    external_payment_methods: Some(vec![ExternalPaymentMethod {
                        payment_method: ExternalPaymentMethodType::Unknown("PayPal".into()),
                        redirect_url: "https://example.com".into(),
                    }]),
                    ..Default::default()
                })
            }),
            "configuration.externalPaymentMethods[0].paymentMethod",
        ),
        (
            Box::new(|r| {
                r.transaction.as_mut().unwrap().order_summary = Some(OrderSummary {
                    order_lines: vec![],
                    order_bottom_line: OrderBottomLine::new(Currency::Nok),
                })
            }),
            "transaction.orderSummary.orderLines",
        ),
        (
            Box::new(|r| {
                r.transaction.as_mut().unwrap().order_summary = Some(OrderSummary {
                    order_lines: vec![OrderLine {
                        name: "Socks".into(),
                        id: "1".into(),
                        total_amount: 100,
                        ..Default::default()
                    }],
                    order_bottom_line: OrderBottomLine::new(Currency::Nok),
                })
            }),
            "transaction.orderSummary.orderLines[0].taxRate",
        ),
        (
            Box::new(|r| {
                r.transaction.as_mut().unwrap().order_summary = Some(OrderSummary {
                    order_lines: vec![OrderLine {
                        name: "Socks".into(),
                        id: "1".into(),
                        tax_percentage: Some(101),
                        ..Default::default()
                    }],
                    order_bottom_line: OrderBottomLine::new(Currency::Nok),
                })
            }),
            "transaction.orderSummary.orderLines[0].taxPercentage",
        ),
        (
            Box::new(|r| {
                r.transaction.as_mut().unwrap().order_summary = Some(OrderSummary {
                    order_lines: vec![OrderLine {
                        name: "Socks".into(),
                        id: "1".into(),
                        tax_rate: Some(2500),
                        ..Default::default()
                    }],
                    order_bottom_line: OrderBottomLine::new(Currency::Eur),
                })
            }),
            "transaction.orderSummary.orderBottomLine.currency",
        ),
    ];
    for (i, (mutate, field)) in cases.iter().enumerate() {
        let mut r = valid();
        mutate(&mut r);
        assert_eq!(field_of(&r), *field, "case {i}");
    }
}

#[test]
fn total_can_never_be_zero() {
    // Free transaction, paid shipping: fine. Free transaction, cheap shipping: rejected.
    let mut r = valid();
    r.transaction.as_mut().unwrap().amount = Amount::nok(0);
    r.validate().unwrap();
    if let LogisticsOption::Posten(p) = &mut r.logistics.as_mut().unwrap().fixed_options.as_mut().unwrap()[0] {
        p.amount = Amount::nok(99);
    }
    assert_eq!(field_of(&r), "logistics.fixedOptions[0].amount.value");
    // Free transaction and no shipping at all.
    r.logistics = None;
    assert_eq!(field_of(&r), "transaction.amount.value");
    // Free shipping needs a transaction of at least 1.00.
    let mut r = valid();
    r.transaction.as_mut().unwrap().amount = Amount::nok(50);
    if let LogisticsOption::Posten(p) = &mut r.logistics.as_mut().unwrap().fixed_options.as_mut().unwrap()[0] {
        p.amount = Amount::nok(0);
    }
    assert_eq!(field_of(&r), "transaction.amount.value");
    r.transaction.as_mut().unwrap().amount = Amount::nok(100);
    r.validate().unwrap();
}

#[test]
fn porterbuddy_amount_is_optional_but_other_carriers_need_one() {
    let o: LogisticsOption =
        serde_json::from_value(json!({"brand": "PORTERBUDDY", "id": "pb", "priority": 0, "isDefault": true})).unwrap();
    o.validate_at("o").unwrap();
    let e = serde_json::from_value::<LogisticsOption>(
        json!({"brand": "POSTNORD", "id": "pn", "priority": 0, "isDefault": true}),
    )
    .unwrap_err();
    assert!(e.to_string().contains("amount"), "{e}");
    let o: LogisticsOption = serde_json::from_value(
        json!({"brand": "POSTNORD", "type": "MAILBOX", "id": "pn", "priority": 0, "isDefault": true, "amount": {"value": 1, "currency": "NOK"}}),
    )
    .unwrap();
    let e = o.validate_at("o").unwrap_err();
    assert_eq!(e.field, "o.type");
    assert!(e.message.contains("PICKUP_POINT, HOME_DELIVERY"), "{}", e.message);
    let o: LogisticsOption = serde_json::from_value(
        json!({"id": "x", "priority": 0, "isDefault": true, "amount": {"value": 1, "currency": "NOK"}}),
    )
    .unwrap();
    let e = o.validate_at("o").unwrap_err();
    assert_eq!((e.field.as_str(), e.message.as_str()), ("o.brand", "is required"));
}

#[test]
fn subscription_rules() {
    let base: InitiateSessionRequest = serde_json::from_str(SEED_002_SUBSCRIPTION).unwrap();
    let mut r = base.clone();
    r.reference = None;
    assert_eq!(field_of(&r), "reference");
    let mut r = base.clone();
    r.subscription.as_mut().unwrap().interval.count = 0;
    assert_eq!(field_of(&r), "subscription.interval.count");
    let mut r = base.clone();
    r.subscription.as_mut().unwrap().merchant_agreement_url = "http://example.com".into();
    assert_eq!(field_of(&r), "subscription.merchantAgreementUrl");
    let mut r = base.clone();
    r.subscription.as_mut().unwrap().campaign.as_mut().unwrap().end = Some("2030-01-01T00:00:00Z".into());
    assert_eq!(field_of(&r), "subscription.campaign");
    let mut r = base;
    r.type_ = Some(SessionType::Payment);
    assert_eq!(field_of(&r), "transaction");
}
