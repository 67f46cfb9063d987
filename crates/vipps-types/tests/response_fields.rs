//! Response structs are `#[non_exhaustive]`: a field the API adds later must parse (and be
//! ignored), and code outside this crate builds the structs with their constructors. This test
//! is such code: each body carries fields this crate does not know, and parses into exactly
//! what the constructors build.

use time::macros::datetime;
use vipps_types::checkout::{SessionResponse, SessionState};
use vipps_types::ecom::{CallbackStatus, CallbackTransactionInfo, TransactionUpdateCallback};
use vipps_types::epayment::{CreatePaymentResponse, PaymentEvent, PaymentEventName, WebhookEvent};
use vipps_types::webhooks::{QueryWebhooksResponse, Webhook, WebhookEventType};
use vipps_types::{Amount, ExtraDetail, Problem, Reference};

#[test]
fn responses_with_unknown_fields_parse_into_what_the_constructors_build() {
    let reference = Reference::new("acme-shop-123-order123abc").unwrap();

    let created: CreatePaymentResponse = serde_json::from_str(
        r#"{"redirectUrl":"https://example.com/landing?token=abc","reference":"acme-shop-123-order123abc",
            "qrExpiresAt":"2026-12-07T10:00:00Z"}"#,
    )
    .unwrap();
    let mut expected = CreatePaymentResponse::new(reference.clone());
    expected.redirect_url = Some("https://example.com/landing?token=abc".into());
    assert_eq!(created, expected);

    let webhook: WebhookEvent = serde_json::from_str(
        r#"{"msn":"123456","reference":"acme-shop-123-order123abc","pspReference":"7686f7788898767977",
            "name":"CAPTURED","amount":{"currency":"NOK","value":49900,"exponent":2},
            "timestamp":"2022-12-31T00:00:00Z","idempotencyKey":null,"success":true,
            "paymentMethodDetails":{"type":"WALLET"}}"#,
    )
    .unwrap();
    let event = PaymentEvent::new(
        reference.clone(),
        "7686f7788898767977",
        PaymentEventName::Captured,
        Amount::nok(49900),
        datetime!(2022-12-31 0:00 UTC),
        true,
    );
    assert_eq!(webhook, WebhookEvent::new("123456", event));

    let session: SessionResponse = serde_json::from_str(
        r#"{"sessionId":"s-1","merchantSerialNumber":"123456","reference":"acme-shop-123-order123abc",
            "sessionState":"SessionCreated","riskAssessment":{"score":1}}"#,
    )
    .unwrap();
    let mut expected = SessionResponse::new("s-1", reference, SessionState::SessionCreated);
    expected.merchant_serial_number = Some("123456".into());
    assert_eq!(session, expected);

    let callback: TransactionUpdateCallback = serde_json::from_str(
        r#"{"merchantSerialNumber":"123456","orderId":"order-1","channel":"app",
            "transactionInfo":{"amount":20000,"status":"RESERVED","timeStamp":"2018-12-12T11:18:38.246Z",
            "transactionId":"5001420062","paymentInstrument":"card"}}"#,
    )
    .unwrap();
    let mut info = CallbackTransactionInfo::new(20000, CallbackStatus::Reserved);
    info.time_stamp = "2018-12-12T11:18:38.246Z".into();
    info.transaction_id = Some("5001420062".into());
    assert_eq!(callback, TransactionUpdateCallback::new("123456", "order-1", info));

    let hooks: QueryWebhooksResponse = serde_json::from_str(
        r#"{"webhooks":[{"id":"497f6eca-6276-4993-bfeb-53cbbbba6f08","url":"https://example.com/callbacks",
            "events":["epayments.payment.created.v1"],"createdAt":"2026-01-01T00:00:00Z"}],"paging":{}}"#,
    )
    .unwrap();
    let expected = QueryWebhooksResponse::new(vec![Webhook::new(
        "497f6eca-6276-4993-bfeb-53cbbbba6f08",
        "https://example.com/callbacks",
        [WebhookEventType::EpaymentCreated],
    )]);
    assert_eq!(hooks, expected);

    let problem: Problem = serde_json::from_str(
        r#"{"title":"Bad Request","status":400,"extraDetails":[{"name":"ErrorCode","reason":"6010","hint":"x"}],
            "retryable":false}"#,
    )
    .unwrap();
    let mut expected = Problem::default();
    expected.title = Some("Bad Request".into());
    expected.status = Some(400);
    expected.extra_details = vec![ExtraDetail::new("ErrorCode", "6010")];
    assert_eq!(problem, expected);
    assert_eq!(problem.error_code(), Some(6010));
}
