//! Webhook signature verification: the official worked example, tampering, dates, rotation,
//! signing, and that no secret ever shows.

use std::time::Duration;
use time::macros::datetime;
use time::OffsetDateTime;
use vipps::types::epayment::PaymentEventName;
use vipps::types::webhooks::{
    QueryWebhooksResponse, RegisterWebhookRequest, RegisterWebhookResponse, WebhookEventType,
};
use vipps::types::Validate;
use vipps::webhooks::{
    content_hash, parse_epayment_event, sign, string_to_sign, WebhookError, WebhookRequest, WebhookVerifier,
};
use vipps::Secret;

// The official example, webhooks--request-authentication.md.
const SECRET: &str = "A0+AeKBRG2KRGvnNwJpQlb6IJFk48CKXCIcrLoHncVJKDILsQSxS6NWCccwWm6r6FhGKhiHTBsG2wo/xU6FY/A==";
const HOST: &str = "webhook.site";
const PATH: &str = "/e2cee29b-012e-4f1d-8ef4-e95fd74a7a63";
const DATE: &str = "Thu, 30 Mar 2023 08:38:32 GMT";
const BODY: &str = r#"{"some-unique-content":"ee6e441b-cc4a-46f8-895d-a5af79bcc233/hello-world"}"#;
const HASH: &str = "lNlsp1XA03N34HrQsVzPgJKtC+r7l/RBF4V3JQUWMj4=";
const AUTH: &str =
    "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=agAiSyogQbDHpeucoNwYz+yAr5nJ+v+zasdkSbqzv+U=";
const NOW: OffsetDateTime = datetime!(2023-03-30 08:38:32 UTC);

fn example() -> WebhookRequest<'static> {
    WebhookRequest {
        method: "POST",
        path_and_query: PATH,
        host: HOST,
        x_ms_date: DATE,
        x_ms_content_sha256: HASH,
        authorization: AUTH,
        body: BODY.as_bytes(),
    }
}

fn verifier() -> WebhookVerifier {
    WebhookVerifier::new(SECRET).unwrap()
}

#[test]
fn official_worked_example_passes() {
    assert_eq!(content_hash(BODY.as_bytes()), HASH);
    assert_eq!(
        string_to_sign("POST", PATH, DATE, HOST, HASH),
        "POST\n/e2cee29b-012e-4f1d-8ef4-e95fd74a7a63\nThu, 30 Mar 2023 08:38:32 GMT;webhook.site;lNlsp1XA03N34HrQsVzPgJKtC+r7l/RBF4V3JQUWMj4="
    );
    verifier().verify_at(&example(), NOW).unwrap();
    // Signing reproduces the official headers exactly.
    let s = sign(&Secret::new(SECRET), "POST", PATH, HOST, NOW, BODY.as_bytes());
    assert_eq!(s.x_ms_date, DATE);
    assert_eq!(s.x_ms_content_sha256, HASH);
    assert_eq!(s.authorization, AUTH);
}

#[test]
fn base64_decoded_secret_signature_is_rejected() {
    // What one gets by (wrongly) base64-decoding the secret before using it as the key.
    let wrong =
        "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=T3+NXHMmhNVEjW5PeJ4Gql70nf0MOXCAY9CoZDxuVQw=";
    let req = WebhookRequest {
        authorization: wrong,
        ..example()
    };
    assert_eq!(verifier().verify_at(&req, NOW), Err(WebhookError::BadSignature));
}

#[test]
fn tampering_is_rejected_with_the_right_error() {
    let v = verifier();
    // Body changed, hash header left: the hash does not match.
    let body = BODY.replace("hello", "HELLO");
    let req = WebhookRequest {
        body: body.as_bytes(),
        ..example()
    };
    assert_eq!(v.verify_at(&req, NOW), Err(WebhookError::BadContentHash));
    // Body changed and its hash recomputed: the signature does not match.
    let hash = content_hash(body.as_bytes());
    let req = WebhookRequest {
        body: body.as_bytes(),
        x_ms_content_sha256: &hash,
        ..example()
    };
    assert_eq!(v.verify_at(&req, NOW), Err(WebhookError::BadSignature));
    // Date moved by one second (well within tolerance): signature.
    let req = WebhookRequest {
        x_ms_date: "Thu, 30 Mar 2023 08:38:33 GMT",
        ..example()
    };
    assert_eq!(v.verify_at(&req, NOW), Err(WebhookError::BadSignature));
    // Path, query, host, method.
    for req in [
        WebhookRequest {
            path_and_query: "/e2cee29b-012e-4f1d-8ef4-e95fd74a7a64",
            ..example()
        },
        WebhookRequest {
            path_and_query: "/e2cee29b-012e-4f1d-8ef4-e95fd74a7a63?x=1",
            ..example()
        },
        WebhookRequest {
            host: "evil.example",
            ..example()
        },
        WebhookRequest {
            method: "PUT",
            ..example()
        },
    ] {
        assert_eq!(v.verify_at(&req, NOW), Err(WebhookError::BadSignature), "{req:?}");
    }
    // Signature changed (one character), truncated, or empty.
    let flipped = AUTH.replace("agAiSy", "agAiSz");
    let truncated = &AUTH[..AUTH.len() - 2];
    for auth in [flipped.as_str(), truncated] {
        let req = WebhookRequest {
            authorization: auth,
            ..example()
        };
        assert_eq!(v.verify_at(&req, NOW), Err(WebhookError::BadSignature), "{auth}");
    }
    // Wrong secret.
    assert_eq!(
        WebhookVerifier::new("another-secret")
            .unwrap()
            .verify_at(&example(), NOW),
        Err(WebhookError::BadSignature)
    );
    // Malformed Authorization headers.
    for auth in [
        "",
        "Bearer abc",
        "HMAC-SHA256 agAiSyogQbDHpeucoNwYz+yAr5nJ+v+zasdkSbqzv+U=",
        "HMAC-SHA256 SignedHeaders=host;x-ms-date;x-ms-content-sha256&Signature=agAiSyogQbDHpeucoNwYz+yAr5nJ+v+zasdkSbqzv+U=",
        "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=",
        "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256",
    ] {
        let req = WebhookRequest {
            authorization: auth,
            ..example()
        };
        assert_eq!(
            v.verify_at(&req, NOW),
            Err(WebhookError::MalformedAuthorization),
            "{auth}"
        );
    }
}

#[test]
fn date_tolerance() {
    let v = verifier();
    let req = example();
    // The real clock is years past the example date.
    assert_eq!(v.verify(&req), Err(WebhookError::DateOutOfTolerance));
    let min = time::Duration::minutes(1);
    assert_eq!(v.verify_at(&req, NOW + 4 * min), Ok(()));
    assert_eq!(v.verify_at(&req, NOW - 4 * min), Ok(()));
    assert_eq!(v.verify_at(&req, NOW + 5 * min), Ok(()));
    assert_eq!(
        v.verify_at(&req, NOW + 5 * min + time::Duration::seconds(1)),
        Err(WebhookError::DateOutOfTolerance)
    );
    assert_eq!(v.verify_at(&req, NOW - 6 * min), Err(WebhookError::DateOutOfTolerance));
    let tight = verifier().with_tolerance(Duration::from_secs(10));
    assert_eq!(tight.verify_at(&req, NOW + time::Duration::seconds(10)), Ok(()));
    assert_eq!(
        tight.verify_at(&req, NOW + time::Duration::seconds(11)),
        Err(WebhookError::DateOutOfTolerance)
    );
    assert_eq!(verifier().without_date_check().verify(&req), Ok(()));
    assert_eq!(verifier().without_date_check().tolerance(), None);
    assert_eq!(verifier().tolerance(), Some(Duration::from_secs(300)));
}

#[test]
fn unparseable_but_signed_date_is_bad_date() {
    // Sign a request whose x-ms-date is not an HTTP date, by hand.
    use base64::Engine as _;
    use hmac::Mac as _;
    let date = "2023-03-30T08:38:32Z";
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(string_to_sign("POST", PATH, date, HOST, HASH).as_bytes());
    let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let auth = format!("HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature={sig}");
    let req = WebhookRequest {
        x_ms_date: date,
        authorization: &auth,
        ..example()
    };
    assert_eq!(verifier().verify_at(&req, NOW), Err(WebhookError::BadDate));
}

#[test]
fn sign_then_verify_round_trip_with_http_parts() {
    let secret = Secret::new("090a478d-37ff-4e77-970e-d457aeb26a3a");
    let body = br#"{"msn":"123456","reference":"24ab7cd6ef658155992","pspReference":"1234567891","name":"AUTHORIZED","amount":{"currency":"NOK","value":35000},"timestamp":"2023-08-14T12:48:46.260Z","idempotencyKey":"49ca711a9487112e1def","success":true}"#;
    let now = OffsetDateTime::now_utc();
    let signed = sign(&secret, "POST", "/hooks/vipps?shop=1", "example.com:8443", now, body);
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::HOST, "example.com:8443".parse().unwrap());
    headers.insert(http::header::CONTENT_TYPE, "application/json".parse().unwrap());
    signed.insert_into(&mut headers);
    let uri: http::Uri = "/hooks/vipps?shop=1".parse().unwrap();
    let v = WebhookVerifier::new(secret.clone()).unwrap();
    v.verify_http(&http::Method::POST, &uri, &headers, body).unwrap();

    // The parsed request carries exactly the header values.
    let req = WebhookRequest::from_http(&http::Method::POST, &uri, &headers, body).unwrap();
    assert_eq!(req.host, "example.com:8443");
    assert_eq!(req.path_and_query, "/hooks/vipps?shop=1");
    assert_eq!(req.authorization, signed.authorization);
    let event = v.verify_epayment_event(&req).unwrap().unwrap();
    assert_eq!(event.name, PaymentEventName::Authorized);
    assert_eq!(event.amount.value, 35000);
    assert!(event.success);

    // An absolute URI without Host header (HTTP/2 style) works too.
    let mut h2 = headers.clone();
    h2.remove(http::header::HOST);
    let abs: http::Uri = "https://example.com:8443/hooks/vipps?shop=1".parse().unwrap();
    v.verify_http(&http::Method::POST, &abs, &h2, body).unwrap();

    // Missing headers are named.
    for (name, expected) in [
        ("x-ms-date", "x-ms-date"),
        ("x-ms-content-sha256", "x-ms-content-sha256"),
        ("authorization", "authorization"),
        ("host", "host"),
    ] {
        let mut h = headers.clone();
        h.remove(name);
        assert_eq!(
            v.verify_http(&http::Method::POST, &uri, &h, body),
            Err(WebhookError::MissingHeader(expected))
        );
    }

    // A proxy rewrote host and path: configure the public URL.
    let proxied: http::Uri = "/internal/hook".parse().unwrap();
    let mut hp = headers.clone();
    hp.insert(http::header::HOST, "10.0.0.5:3000".parse().unwrap());
    assert_eq!(
        v.verify_http(&http::Method::POST, &proxied, &hp, body),
        Err(WebhookError::BadSignature)
    );
    v.clone()
        .with_public_url("example.com:8443", "/hooks/vipps?shop=1")
        .verify_http(&http::Method::POST, &proxied, &hp, body)
        .unwrap();
}

#[test]
fn several_secrets_for_rotation() {
    let v = WebhookVerifier::new("old-secret").unwrap().with_secret(SECRET).unwrap();
    v.verify_at(&example(), NOW).unwrap();
    let v = WebhookVerifier::new(SECRET).unwrap().with_secret("new-secret").unwrap();
    v.verify_at(&example(), NOW).unwrap();
    let signed_new = sign(&Secret::new("new-secret"), "POST", PATH, HOST, NOW, BODY.as_bytes());
    let req = WebhookRequest {
        authorization: &signed_new.authorization,
        ..example()
    };
    v.verify_at(&req, NOW).unwrap();
    assert_eq!(
        WebhookVerifier::new("a")
            .unwrap()
            .with_secret("b")
            .unwrap()
            .verify_at(&req, NOW),
        Err(WebhookError::BadSignature)
    );
}

#[test]
fn secrets_never_show() {
    let v = WebhookVerifier::new(SECRET)
        .unwrap()
        .with_secret("second-s3cret")
        .unwrap();
    let dbg = format!("{v:?} {v:#?}");
    assert!(!dbg.contains("A0+AeKBRG2KR"), "{dbg}");
    assert!(!dbg.contains("second-s3cret"), "{dbg}");
    let r: RegisterWebhookResponse = serde_json::from_str(
        r#"{"id":"497f6eca-6276-4993-bfeb-53cbbbba6f08","secret":"090a478d-37ff-4e77-970e-d457aeb26a3a"}"#,
    )
    .unwrap();
    let dbg = format!("{r:?} {r:#?}");
    assert!(!dbg.contains("090a478d"), "{dbg}");
    assert!(dbg.contains("497f6eca-6276-4993-bfeb-53cbbbba6f08"), "{dbg}");
    for e in [
        WebhookError::BadSignature,
        WebhookError::BadContentHash,
        WebhookError::MalformedAuthorization,
        WebhookError::BadDate,
        WebhookError::DateOutOfTolerance,
        WebhookError::MissingHeader("authorization"),
    ] {
        let s = format!("{e} {e:?}");
        assert!(!s.contains("A0+AeKBRG2KR"), "{s}");
    }
}

#[test]
fn spec_examples_round_trip() {
    let req_json = r#"{"url":"https://example.com/webhook-callback","events":["epayments.payment.captured.v1","epayments.payment.created.v1"]}"#;
    let req: RegisterWebhookRequest = serde_json::from_str(req_json).unwrap();
    assert_eq!(
        req.events,
        [WebhookEventType::EpaymentCaptured, WebhookEventType::EpaymentCreated]
    );
    req.validate().unwrap();
    assert_eq!(serde_json::to_string(&req).unwrap(), req_json);

    let resp_json = r#"{"id":"497f6eca-6276-4993-bfeb-53cbbbba6f08","secret":"090a478d-37ff-4e77-970e-d457aeb26a3a"}"#;
    let resp: RegisterWebhookResponse = serde_json::from_str(resp_json).unwrap();
    assert_eq!(resp.secret, "090a478d-37ff-4e77-970e-d457aeb26a3a");
    assert_eq!(serde_json::to_string(&resp).unwrap(), resp_json);

    // The spec's Webhook example uses event names unknown to us: they survive a round trip.
    let q_json = r#"{"webhooks":[{"id":"497f6eca-6276-4993-bfeb-53cbbbba6f08","url":"https://example.com/callbacks","events":["service.payment.captured.v1","service.payment.created.v2"]}]}"#;
    let q: QueryWebhooksResponse = serde_json::from_str(q_json).unwrap();
    assert_eq!(q.webhooks.len(), 1);
    assert!(q.webhooks[0].events.iter().all(|e| !e.is_known()));
    assert_eq!(serde_json::to_string(&q).unwrap(), q_json);

    // The ePayment payload from the API guide.
    let ev = parse_epayment_event(br#"{"msn":"123456","reference":"24ab7cd6ef658155992","pspReference":"1234567891","name":"AUTHORIZED","amount":{"currency":"NOK","value":35000},"timestamp":"2023-08-14T12:48:46.260Z","idempotencyKey":"49ca711a9487112e1def","success":true}"#).unwrap();
    assert_eq!(ev.reference.as_str(), "24ab7cd6ef658155992");
    assert_eq!(
        WebhookEventType::for_payment_event(&ev.name),
        WebhookEventType::EpaymentAuthorized
    );
    // Without idempotencyKey (e.g. CANCELLED).
    let ev = parse_epayment_event(br#"{"msn":"123456","reference":"24ab7cd6ef658155992","pspReference":"1","name":"CANCELLED","amount":{"currency":"NOK","value":0},"timestamp":"2023-08-14T12:48:46Z","success":true}"#).unwrap();
    assert_eq!(ev.idempotency_key, None);
    assert!(parse_epayment_event(b"{}").is_err());
}

#[test]
fn an_empty_secret_is_refused_when_the_verifier_is_built() {
    // With an empty key anyone can sign: such a verifier would pass forged deliveries.
    assert_eq!(WebhookVerifier::new("").unwrap_err(), WebhookError::EmptySecret);
    assert_eq!(
        WebhookVerifier::new(SECRET).unwrap().with_secret("").unwrap_err(),
        WebhookError::EmptySecret
    );
    assert_eq!(
        WebhookVerifier::new(vipps::Secret::new(String::new())).unwrap_err(),
        WebhookError::EmptySecret
    );
}
