//! The Recurring handle against a scripted HTTP server: methods, paths, query strings,
//! headers and bodies; one Idempotency-Key per call across retries; Retry-After; problems;
//! validation before sending; force accept refused in production. (No emulator needed.)

mod scripted;

use scripted::{client, server, Reply};
use serde_json::json;
use std::time::Duration;
use time::macros::date;
use vipps::recurring::{ListAgreements, ListCharges};
use vipps::types::recurring::{
    AgreementStatus, AgreementUpdate, BatchCharge, CaptureRequest, ChargeStatus, CreateCharge, CreateCharges,
    DraftAgreement, FailureReason, Interval, IntervalUnit, PricingRequest, RefundRequest, TransactionType,
};
use vipps::types::Currency;
use vipps::{Client, ErrorKind, RetryPolicy};

fn draft() -> DraftAgreement {
    DraftAgreement {
        phone_number: Some("4712345678".into()),
        ..DraftAgreement::new(
            PricingRequest::legacy(49900, Currency::Nok),
            Some(Interval::every(1, IntervalUnit::Month)),
            "Premier League subscription",
            "https://example.com/confirmation",
            "https://example.com/account/subscriptions/1234",
        )
    }
}

fn charge() -> CreateCharge {
    CreateCharge {
        order_id: Some("acme-sub-1234-2026-10".into()),
        ..CreateCharge::recurring(
            49900,
            "October",
            date!(2026 - 10 - 01),
            2,
            TransactionType::DirectCapture,
        )
    }
}

const CREATED: &str = r#"{"agreementId":"agr_TGSuPyV","uuid":"6080c099-d7f2-43ef-a82b-2991ccc3a239",
    "vippsConfirmationUrl":"https://apitest.vipps.no/dwo-api-application/v1/deeplink/vippsgateway?v=2&token=x"}"#;

const CHARGE: &str = r#"{"id":"chr-4assY8f","agreementId":"agr_TGSuPyV","status":"ON_HOLD","amount":49900,
    "currency":"NOK","description":"October","due":"2026-10-01T00:00:00Z","type":"RECURRING",
    "transactionType":"TELEPATHIC_CAPTURE","retryDays":2,"failureReason":"user_action_required",
    "summary":{"captured":0,"refunded":0,"cancelled":0},
    "history":[{"occurred":"2026-09-01T10:31:15Z","event":"CREATE","amount":49900,"idempotencyKey":"k1","success":true}]}"#;

#[tokio::test]
async fn create_agreement_sends_the_draft_with_the_standard_headers_and_a_key() {
    let (base, script) = server(vec![Reply::Json(201, CREATED)]).await;
    let r = client(&base).recurring().create_agreement(draft()).await.unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.agreement_id, "agr_TGSuPyV");
    let seen = script.seen();
    assert_eq!(seen.len(), 1);
    let s = &seen[0];
    assert_eq!(
        (s.method.as_str(), s.path.as_str()),
        ("POST", "/recurring/v3/agreements")
    );
    assert_eq!(s.json(), serde_json::to_value(draft()).unwrap());
    assert_eq!(
        s.json()["pricing"],
        json!({"type": "LEGACY", "amount": 49900, "currency": "NOK"})
    );
    assert_eq!(s.header("authorization"), Some("Bearer tok-1"));
    assert_eq!(s.header("ocp-apim-subscription-key"), Some("s3cret-SUBKEY"));
    assert_eq!(s.header("merchant-serial-number"), Some("123456"));
    assert_eq!(s.header("content-type"), Some("application/json"));
    let key = s
        .header("idempotency-key")
        .expect("a mutation carries an Idempotency-Key");
    assert_eq!(r.idempotency_key(), Some(key));
}

#[tokio::test]
async fn a_retried_charge_keeps_one_idempotency_key() {
    let (base, script) = server(vec![
        Reply::Json(503, r#"{"title":"Service Unavailable","status":503}"#),
        Reply::Json(502, r#"{"title":"Bad Gateway","status":502}"#),
        Reply::Json(201, r#"{"chargeId":"acme-sub-1234-2026-10"}"#),
    ])
    .await;
    let r = client(&base)
        .recurring()
        .create_charge("agr_TGSuPyV", charge())
        .await
        .unwrap();
    assert_eq!(r.charge_id, "acme-sub-1234-2026-10");
    assert_eq!(r.attempts(), 3);
    let seen = script.seen();
    assert_eq!(seen.len(), 3);
    let keys: Vec<_> = seen
        .iter()
        .map(|s| s.header("idempotency-key").unwrap().to_owned())
        .collect();
    assert!(keys.iter().all(|k| k == &keys[0]), "{keys:?}");
    assert_eq!(r.idempotency_key(), Some(keys[0].as_str()));
    for s in &seen {
        assert_eq!(s.path, "/recurring/v3/agreements/agr_TGSuPyV/charges");
        assert_eq!(s.json()["due"], "2026-10-01");
        assert_eq!(s.json()["retryDays"], 2);
        assert_eq!(s.json()["amount"], 49900);
    }

    // A caller's own key is the one sent, and a second call gets a new key of its own.
    let (base, script) = server(vec![Reply::Empty(204), Reply::Empty(204)]).await;
    let c = client(&base);
    c.recurring()
        .cancel_charge("agr_TGSuPyV", "chr-4assY8f")
        .idempotency_key("cancel-chr-4assY8f")
        .await
        .unwrap();
    c.recurring().cancel_charge("agr_TGSuPyV", "chr-4assY8f").await.unwrap();
    let seen = script.seen();
    assert_eq!(seen[0].method, "DELETE");
    assert_eq!(seen[0].path, "/recurring/v3/agreements/agr_TGSuPyV/charges/chr-4assY8f");
    assert_eq!(seen[0].header("idempotency-key"), Some("cancel-chr-4assY8f"));
    assert_ne!(seen[1].header("idempotency-key"), Some("cancel-chr-4assY8f"));
    assert!(seen[1].header("idempotency-key").is_some());
}

#[tokio::test]
async fn retry_after_is_waited_for_before_stopping_again() {
    let (base, script) = server(vec![Reply::WithHeader(429, "retry-after", "1", ""), Reply::Empty(204)]).await;
    let started = std::time::Instant::now();
    let r = client(&base)
        .recurring()
        .stop_agreement("agr_TGSuPyV")
        .retry_policy(RetryPolicy {
            max_backoff: Duration::from_millis(10),
            ..RetryPolicy::default()
        })
        .await
        .unwrap();
    assert_eq!(r.attempts(), 2);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    let seen = script.seen();
    assert_eq!(seen.len(), 2);
    for s in &seen {
        assert_eq!(
            (s.method.as_str(), s.path.as_str()),
            ("PATCH", "/recurring/v3/agreements/agr_TGSuPyV")
        );
        assert_eq!(s.json(), json!({"status": "STOPPED"}));
    }
    assert_eq!(seen[0].header("idempotency-key"), seen[1].header("idempotency-key"));
}

#[tokio::test]
async fn force_accept_is_refused_in_production_without_sending() {
    let c = Client::builder()
        .client_id("id")
        .client_secret("s3cret-CLIENT")
        .subscription_key("s3cret-SUBKEY")
        .merchant_serial_number("123456")
        .environment(vipps::Environment::Production)
        .build()
        .unwrap();
    let err = c
        .recurring()
        .force_accept_agreement("agr_TGSuPyV", "4791234567")
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Config(_)), "{err:?}");
    assert!(!err.may_have_reached_server());
    assert_eq!(c.access_token_fetches(), 0);

    // In the test environment it is a PATCH to …/accept with the phone number.
    let (base, script) = server(vec![Reply::Empty(204)]).await;
    client(&base)
        .recurring()
        .force_accept_agreement("agr_TGSuPyV", "4791234567")
        .await
        .unwrap();
    let seen = script.seen();
    assert_eq!(seen[0].method, "PATCH");
    assert_eq!(seen[0].path, "/recurring/v3/agreements/agr_TGSuPyV/accept");
    assert_eq!(seen[0].json(), json!({"phoneNumber": "4791234567"}));
}

#[tokio::test]
async fn lists_send_filters_and_paging_and_read_the_next_token() {
    let (base, script) = server(vec![
        Reply::WithHeader(200, "continuation-token", "b4f5a9b6-4d1b-4a8e-9c8f-2a1d3c4b5e6f", "[]"),
        Reply::Json(200, "[]"),
    ])
    .await;
    let c = client(&base);
    let page = c
        .recurring()
        .list_agreements(ListAgreements {
            status: Some(AgreementStatus::Active),
            created_after: Some(1_767_225_600),
            page_number: Some(2),
            page_size: Some(50),
            continuation_token: Some("0d5f8e0a-6f43-4b51-9c38-58f6a1d6c3b2".into()),
        })
        .await
        .unwrap();
    assert!(page.is_empty());
    assert_eq!(
        page.header("Continuation-Token"),
        Some("b4f5a9b6-4d1b-4a8e-9c8f-2a1d3c4b5e6f")
    );
    c.recurring()
        .list_charges(
            "agr_TGSuPyV",
            ListCharges {
                status: Some(ChargeStatus::Reserved),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let seen = script.seen();
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("GET", "/recurring/v3/agreements")
    );
    assert_eq!(
        seen[0].query.as_deref(),
        Some("status=ACTIVE&createdAfter=1767225600&pageNumber=2&pageSize=50")
    );
    assert_eq!(
        seen[0].header("continuation-token"),
        Some("0d5f8e0a-6f43-4b51-9c38-58f6a1d6c3b2")
    );
    assert_eq!(seen[0].header("idempotency-key"), None, "reads carry no key");
    assert_eq!(seen[1].path, "/recurring/v3/agreements/agr_TGSuPyV/charges");
    assert_eq!(seen[1].query.as_deref(), Some("status=RESERVED"));
    assert_eq!(seen[1].header("continuation-token"), None);
}

#[tokio::test]
async fn charge_reads_decode_unknown_values() {
    let (base, script) = server(vec![Reply::Json(200, CHARGE), Reply::Json(200, CHARGE)]).await;
    let c = client(&base);
    let by_agreement = c.recurring().get_charge("agr_TGSuPyV", "chr-4assY8f").await.unwrap();
    assert_eq!(by_agreement.status, ChargeStatus::Unknown("ON_HOLD".into()));
    assert_eq!(
        by_agreement.transaction_type,
        TransactionType::Unknown("TELEPATHIC_CAPTURE".into())
    );
    assert_eq!(by_agreement.failure_reason, Some(FailureReason::UserActionRequired));
    assert_eq!(by_agreement.due, date!(2026 - 10 - 01));
    let by_id = c.recurring().get_charge_by_id("chr-4assY8f").await.unwrap();
    assert_eq!(*by_id, *by_agreement);
    let seen = script.seen();
    assert_eq!(seen[0].path, "/recurring/v3/agreements/agr_TGSuPyV/charges/chr-4assY8f");
    assert_eq!(seen[1].path, "/recurring/v3/charges/chr-4assY8f");
    assert!(seen.iter().all(|s| s.method == "GET"));
}

#[tokio::test]
async fn capture_refund_update_and_batch_send_their_bodies() {
    let (base, script) = server(vec![
        Reply::Empty(202),
        Reply::Empty(204),
        Reply::Empty(204),
        Reply::Json(
            202,
            r#"{"validCharges":["chr-1"],"invalidCharges":[{"chargeBatchItemDto":{"agreementId":"agr_2","amount":49900,"description":"October","due":"2026-10-01","retryDays":2,"transactionType":"DIRECT_CAPTURE","orderId":"acme-sub-2"},"errors":["agreement is not active"]}]}"#,
        ),
    ])
    .await;
    let c = client(&base);
    let r = c
        .recurring()
        .capture_charge("agr_1", "chr-1", CaptureRequest::new(20000, "Shipped"))
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    c.recurring()
        .refund_charge("agr_1", "chr-1", RefundRequest::new(600, "Returned one item"))
        .await
        .unwrap();
    c.recurring()
        .update_agreement(
            "agr_1",
            AgreementUpdate {
                product_name: Some("A new name".into()),
                interval: Some(Interval::recurring(1, IntervalUnit::Month)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let batch = CreateCharges(vec![
        BatchCharge {
            agreement_id: "agr_1".into(),
            charge: charge(),
        },
        BatchCharge {
            agreement_id: "agr_2".into(),
            charge: CreateCharge {
                order_id: Some("acme-sub-2".into()),
                ..charge()
            },
        },
    ]);
    let answer = c.recurring().create_charges(batch).await.unwrap();
    assert_eq!(answer.valid_charges, ["chr-1"]);
    assert_eq!(answer.invalid_charges[0].charge_batch_item_dto.agreement_id, "agr_2");
    assert!(answer.invalid_charges[0].errors[0].contains("not active"));

    let seen = script.seen();
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("POST", "/recurring/v3/agreements/agr_1/charges/chr-1/capture")
    );
    assert_eq!(seen[0].json(), json!({"amount": 20000, "description": "Shipped"}));
    assert_eq!(seen[1].path, "/recurring/v3/agreements/agr_1/charges/chr-1/refund");
    assert_eq!(
        seen[1].json(),
        json!({"amount": 600, "description": "Returned one item"})
    );
    assert_eq!(
        (seen[2].method.as_str(), seen[2].path.as_str()),
        ("PATCH", "/recurring/v3/agreements/agr_1")
    );
    assert_eq!(
        seen[2].json(),
        json!({"productName": "A new name", "interval": {"type": "RECURRING", "period": {"unit": "MONTH", "count": 1}}})
    );
    assert_eq!(
        (seen[3].method.as_str(), seen[3].path.as_str()),
        ("POST", "/recurring/v3/agreements/charges")
    );
    let body = seen[3].json();
    assert_eq!(body.as_array().map(Vec::len), Some(2));
    assert_eq!(body[1]["agreementId"], "agr_2");
    assert_eq!(body[1]["transactionType"], "DIRECT_CAPTURE");
    assert_eq!(body[1]["orderId"], "acme-sub-2");
    assert!(seen.iter().all(|s| s.header("idempotency-key").is_some()));
}

#[tokio::test]
async fn problems_are_typed_and_a_4xx_is_not_retried() {
    let (base, script) = server(vec![Reply::Json(
        400,
        r#"{"type":"https://developer.vippsmobilepay.com/docs/APIs/recurring-api/recurring-api-problems#validation-error",
            "title":"Bad Request","status":400,"detail":"Input validation failed","instance":"/v3/agreements/agr_1/charges",
            "contextId":"f70b8bf7-c843-4bea-95d9-94725b19895f",
            "extraDetails":[{"field":"due","text":"must be at least one day ahead"}]}"#,
    )])
    .await;
    let err = client(&base)
        .recurring()
        .create_charge("agr_1", charge())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.trace_id(), Some("f70b8bf7-c843-4bea-95d9-94725b19895f"));
    let problem = err.problem().expect("problem details");
    assert_eq!(problem.detail.as_deref(), Some("Input validation failed"));
    assert_eq!(problem.extra_details[0].name, "due");
    assert_eq!(problem.extra_details[0].reason, "must be at least one day ahead");
    assert!(err.idempotency_key().is_some());
    assert_eq!(script.seen().len(), 1);
}

#[tokio::test]
async fn invalid_requests_and_ids_are_refused_without_a_call() {
    let (base, script) = server(vec![]).await;
    let c = client(&base);
    let r = c.recurring();
    let errors = [
        r.create_charge(
            "agr_1",
            CreateCharge {
                retry_days: 15,
                ..charge()
            },
        )
        .await
        .unwrap_err(),
        r.create_charge("../epayment", charge()).await.unwrap_err(),
        r.get_charge("agr_1", "chr/1").await.unwrap_err(),
        r.update_agreement(
            "agr_1",
            AgreementUpdate {
                product_name: Some("x".into()),
                ..AgreementUpdate::stop()
            },
        )
        .await
        .unwrap_err(),
        r.create_agreement(DraftAgreement {
            pricing: PricingRequest::flexible(Currency::Nok),
            campaign: Some(vipps::types::recurring::Campaign::price(
                100,
                time::macros::datetime!(2026-12-25 00:00 UTC),
            )),
            ..draft()
        })
        .await
        .unwrap_err(),
        r.create_charges(CreateCharges(Vec::new())).await.unwrap_err(),
        r.list_charges(
            "agr_1",
            ListCharges {
                status: Some("ON_HOLD".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err(),
        r.list_agreements(ListAgreements {
            continuation_token: Some("bad token".into()),
            ..Default::default()
        })
        .await
        .unwrap_err(),
    ];
    let fields: Vec<_> = errors
        .iter()
        .map(|e| {
            e.validation_error()
                .unwrap_or_else(|| panic!("a validation error: {e:?}"))
                .field
                .clone()
        })
        .collect();
    assert_eq!(
        fields,
        [
            "retryDays",
            "agreementId",
            "chargeId",
            "status",
            "campaign",
            "charges",
            "status",
            "Continuation-Token"
        ]
    );
    assert!(errors.iter().all(|e| !e.may_have_reached_server()));
    assert!(script.seen().is_empty());
    assert_eq!(c.access_token_fetches(), 0);
}
