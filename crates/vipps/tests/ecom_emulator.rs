//! The eCom SDK (`client.ecom()`) against the in-process emulator: every operation, every
//! illegal transition, X-Request-Id replay, callbacks (regular, reject, timeout) and the
//! express flow with a merchant-side receiver.

mod common;
use axum::extract::Path;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use common::client_for;
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Duration;
use vipps::types::ecom::{
    CallbackStatus, ForceApproveRequest, InitiatePaymentRequest, InitiateTransaction, MerchantInfo, Operation,
    OrderStatus, PaymentType, ShippingCostRequest, ShippingCostResponse, ShippingDetails, TransactionStatus,
    TransactionUpdateCallback,
};
use vipps::Client;
use vipps_emulator::{Emulator, RunningEmulator};

fn order_id() -> String {
    format!("ecom-{}", uuid::Uuid::new_v4().simple())
}

fn initiate_req(emu: &RunningEmulator, order_id: &str, amount: i64, callback_prefix: &str) -> InitiatePaymentRequest {
    InitiatePaymentRequest {
        merchant_info: MerchantInfo {
            merchant_serial_number: emu.merchant().msn.clone(),
            callback_prefix: callback_prefix.into(),
            fall_back: "https://example.com/fallback".into(),
            auth_token: Some("secret-cb-token".into()),
            ..Default::default()
        },
        transaction: InitiateTransaction {
            amount,
            order_id: order_id.into(),
            transaction_text: "One pair of socks".into(),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// What the merchant-side receiver saw.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    authorization: Option<String>,
    body: serde_json::Value,
}

#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Receiver {
    /// Serves `POST /cb/v2/payments/{orderId}` and `POST /ship/v2/payments/{orderId}/shippingDetails`.
    async fn start() -> (Receiver, String) {
        let r = Receiver::default();
        let (a, b) = (r.clone(), r.clone());
        let app = Router::new()
            .route(
                "/cb/v2/payments/{order_id}",
                post(
                    move |Path(id): Path<String>, h: HeaderMap, Json(body): Json<serde_json::Value>| {
                        let r = a.clone();
                        async move {
                            r.record(format!("/cb/v2/payments/{id}"), &h, body);
                            "ok"
                        }
                    },
                ),
            )
            .route(
                "/ship/v2/payments/{order_id}/shippingDetails",
                post(
                    move |Path(id): Path<String>, h: HeaderMap, Json(body): Json<serde_json::Value>| {
                        let r = b.clone();
                        async move {
                            r.record(format!("/ship/v2/payments/{id}/shippingDetails"), &h, body.clone());
                            let req: ShippingCostRequest = serde_json::from_value(body).unwrap();
                            Json(ShippingCostResponse {
                                address_id: req.address_id,
                                order_id: id,
                                shipping_details: vec![
                                    ShippingDetails {
                                        is_default: "N".into(),
                                        priority: Some(1),
                                        shipping_cost: vipps::types::ecom::Kroner(9900),
                                        shipping_method: "Walking".into(),
                                        shipping_method_id: "walk".into(),
                                    },
                                    ShippingDetails {
                                        is_default: "Y".into(),
                                        priority: Some(2),
                                        shipping_cost: vipps::types::ecom::Kroner(19900),
                                        shipping_method: "Running".into(),
                                        shipping_method_id: "run".into(),
                                    },
                                ],
                            })
                        }
                    },
                ),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (r, url)
    }

    fn record(&self, path: String, h: &HeaderMap, body: serde_json::Value) {
        let authorization = h.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
        self.seen.lock().push(Seen {
            path,
            authorization,
            body,
        });
    }

    /// Waits until `n` requests whose path starts with `prefix` arrived.
    async fn wait(&self, prefix: &str, n: usize) -> Vec<Seen> {
        for _ in 0..200 {
            let got: Vec<Seen> = self
                .seen
                .lock()
                .iter()
                .filter(|s| s.path.starts_with(prefix))
                .cloned()
                .collect();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("expected {n} requests to {prefix}, got {:?}", self.seen.lock());
    }
}

async fn control(emu: &RunningEmulator, order_id: &str, action: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/_emulator/payments/{order_id}/{action}", emu.base_url()))
        .send()
        .await
        .unwrap()
}

fn ecom_code(e: &vipps::Error) -> (u16, String, String) {
    let p = e.problem().unwrap_or_else(|| panic!("no problem in {e}"));
    (
        e.status().unwrap(),
        p.type_.clone().unwrap_or_default(),
        p.error_code.clone().unwrap_or_default(),
    )
}

/// An initiated and force-approved (reserved) order.
async fn reserved(emu: &RunningEmulator, c: &Client, amount: i64) -> String {
    let id = order_id();
    c.ecom()
        .initiate(initiate_req(emu, &id, amount, "https://example.com/cb"))
        .await
        .unwrap();
    c.ecom()
        .force_approve(&id, ForceApproveRequest::default())
        .await
        .unwrap();
    id
}

#[tokio::test]
#[allow(deprecated)]
async fn full_lifecycle_capture_refund_details_status() {
    let emu = Emulator::start().await.unwrap();
    let c = client_for(&emu);
    let ec = c.ecom();
    let id = order_id();
    let r = ec
        .initiate(initiate_req(&emu, &id, 10000, "https://example.com/cb"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.order_id, id);
    assert!(
        r.url.starts_with(&format!("{}/landing?v=2&token=", emu.base_url())),
        "{}",
        r.url
    );

    let d = ec.details(&id).await.unwrap();
    assert!(d.transaction_summary.is_none(), "no summary before the customer acted");
    assert_eq!(d.transaction_log_history.len(), 1);
    assert_eq!(d.transaction_log_history[0].operation, Operation::Initiate);
    assert_eq!(
        ec.status(&id).await.unwrap().transaction_info.status,
        OrderStatus::Initiate
    );

    let token = r.url.split("token=").nth(1).unwrap().to_owned();
    ec.force_approve(
        &id,
        ForceApproveRequest {
            customer_phone_number: Some("91234567".into()),
            token: Some(token),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        ec.status(&id).await.unwrap().transaction_info.status,
        OrderStatus::Reserve
    );

    let cap = ec.capture(&id, Some(2500), "first part").await.unwrap();
    let info = cap.transaction_info.clone().unwrap();
    assert_eq!(info.status, TransactionStatus::Captured);
    assert_eq!(info.amount, 2500);
    assert!(info.transaction_id.unwrap().len() >= 10);
    let s = cap.transaction_summary.clone().unwrap();
    assert_eq!((s.captured_amount, s.remaining_amount_to_capture), (2500, 7500));
    assert_eq!(s.remaining_amount_to_refund, 2500);

    // amount omitted: capture everything remaining
    let cap = ec.capture(&id, None, "the rest").await.unwrap();
    assert_eq!(cap.transaction_info.clone().unwrap().amount, 7500);
    let s = cap.transaction_summary.clone().unwrap();
    assert_eq!((s.captured_amount, s.remaining_amount_to_capture), (10000, 0));

    let rf = ec.refund(&id, 3000, "returned one sock").await.unwrap();
    let t = rf.transaction.clone().unwrap();
    assert_eq!((t.status, t.amount), (TransactionStatus::Refund, 3000));
    let s = rf.transaction_summary.clone().unwrap();
    assert_eq!((s.refunded_amount, s.remaining_amount_to_refund), (3000, 7000));
    assert_eq!(
        ec.status(&id).await.unwrap().transaction_info.status,
        OrderStatus::Refund
    );

    let d = ec.details(&id).await.unwrap();
    let ops: Vec<Operation> = d.transaction_log_history.iter().map(|e| e.operation.clone()).collect();
    assert_eq!(
        ops,
        [
            Operation::Refund,
            Operation::Capture,
            Operation::Capture,
            Operation::Reserve,
            Operation::Initiate
        ],
        "newest first"
    );
    assert!(d.transaction_log_history.iter().all(|e| e.operation_success));
    // the SDK sends an X-Request-Id on capture/refund: it is echoed
    assert!(!d.transaction_log_history[0].request_id.is_empty());
    assert_eq!(d.transaction_log_history[4].request_id, "");
    let s = d.transaction_summary.clone().unwrap();
    assert_eq!(s.captured_amount, 10000);
    assert_eq!(s.refunded_amount, 3000);
    assert!(s.bank_identification_number.is_some());

    // refund more than what is left
    let e = ec.refund(&id, 7001, "too much").await.unwrap_err();
    assert_eq!(ecom_code(&e), (400, "Payment".into(), "71".into()));
}

#[tokio::test]
async fn illegal_transitions_have_documented_codes() {
    let emu = Emulator::start().await.unwrap();
    let c = client_for(&emu);
    let ec = c.ecom();

    // unknown order: Merchant 35, 404
    let e = ec.details("no-such-order").await.unwrap_err();
    assert_eq!(ecom_code(&e), (404, "Merchant".into(), "35".into()));
    let e = ec.capture("no-such-order", None, "x").await.unwrap_err();
    assert_eq!(ecom_code(&e).2, "35");

    // duplicate order id: Merchant 34
    let id = order_id();
    ec.initiate(initiate_req(&emu, &id, 5000, "https://example.com/cb"))
        .await
        .unwrap();
    let e = ec
        .initiate(initiate_req(&emu, &id, 5000, "https://example.com/cb"))
        .await
        .unwrap_err();
    assert_eq!(ecom_code(&e), (400, "Merchant".into(), "34".into()));

    // capture / refund before reserve: 62 / 72
    let e = ec.capture(&id, Some(100), "x").await.unwrap_err();
    assert_eq!(ecom_code(&e), (400, "Payment".into(), "62".into()));
    let e = ec.refund(&id, 100, "x").await.unwrap_err();
    assert_eq!(ecom_code(&e).2, "72");

    // cancel in INITIATE: CANCEL; then capture: 91, refund: 73
    let r = ec.cancel(&id, "changed my mind", false).await.unwrap();
    assert_eq!(r.transaction_info.clone().unwrap().status, TransactionStatus::Cancelled);
    let e = ec.capture(&id, None, "x").await.unwrap_err();
    assert_eq!(ecom_code(&e), (400, "VippsError".into(), "91".into()));
    let e = ec.refund(&id, 100, "x").await.unwrap_err();
    assert_eq!(ecom_code(&e).2, "73");
    let d = ec.details(&id).await.unwrap();
    assert_eq!(d.transaction_log_history[0].operation, Operation::Cancel);

    // reserved: refund without capture 72, capture too much 61, cancel ⇒ VOID
    let id = reserved(&emu, &c, 5000).await;
    let e = ec.refund(&id, 100, "x").await.unwrap_err();
    assert_eq!(ecom_code(&e).2, "72");
    let e = ec.capture(&id, Some(5001), "x").await.unwrap_err();
    assert_eq!(ecom_code(&e), (400, "Payment".into(), "61".into()));
    let r = ec.cancel(&id, "out of stock", false).await.unwrap();
    assert_eq!(r.transaction_info.clone().unwrap().amount, 5000);
    assert_eq!(
        ec.details(&id).await.unwrap().transaction_log_history[0].operation,
        Operation::Void
    );
    let e = ec.capture(&id, None, "x").await.unwrap_err();
    assert_eq!(ecom_code(&e).2, "91");
    let e = ec.force_approve(&id, ForceApproveRequest::default()).await.unwrap_err();
    assert_eq!(ecom_code(&e).1, "VippsError");

    // partial capture: cancel needs shouldReleaseRemainingFunds
    let id = reserved(&emu, &c, 5000).await;
    ec.capture(&id, Some(2000), "part").await.unwrap();
    let e = ec.cancel(&id, "x", false).await.unwrap_err();
    assert_eq!(ecom_code(&e), (400, "Payment".into(), "51".into()));
    let r = ec.cancel(&id, "release the rest", true).await.unwrap();
    let s = r.transaction_summary.clone().unwrap();
    assert_eq!((s.captured_amount, s.remaining_amount_to_capture), (2000, 0));
    assert_eq!(r.transaction_info.clone().unwrap().amount, 3000);
    let e = ec.capture(&id, None, "x").await.unwrap_err();
    assert_eq!(ecom_code(&e).2, "91");
    ec.refund(&id, 2000, "all of it").await.unwrap(); // captured money stays refundable

    // fully captured: cancel 51, even with the flag
    let id = reserved(&emu, &c, 5000).await;
    ec.capture(&id, None, "all").await.unwrap();
    let e = ec.cancel(&id, "x", true).await.unwrap_err();
    assert_eq!(ecom_code(&e).2, "51");
    let e = ec.capture(&id, Some(1), "x").await.unwrap_err();
    assert_eq!(ecom_code(&e).2, "61");
}

#[tokio::test]
async fn x_request_id_replays_without_a_second_effect() {
    let emu = Emulator::start().await.unwrap();
    let c = client_for(&emu);
    let ec = c.ecom();
    let id = reserved(&emu, &c, 10000).await;

    let first = ec
        .capture(&id, Some(1000), "part")
        .idempotency_key("cap-1")
        .await
        .unwrap();
    let again = ec
        .capture(&id, Some(1000), "part")
        .idempotency_key("cap-1")
        .await
        .unwrap();
    assert_eq!(*first, *again, "the same answer");
    let d = ec.details(&id).await.unwrap();
    let captures: Vec<_> = d
        .transaction_log_history
        .iter()
        .filter(|e| e.operation == Operation::Capture)
        .collect();
    assert_eq!(captures.len(), 1, "one CAPTURE entry");
    assert_eq!(captures[0].request_id, "cap-1");
    assert_eq!(d.transaction_summary.clone().unwrap().captured_amount, 1000);

    // same id, different amount: 93
    let e = ec
        .capture(&id, Some(2000), "part")
        .idempotency_key("cap-1")
        .await
        .unwrap_err();
    assert_eq!(ecom_code(&e), (400, "Payment".into(), "93".into()));
    // the same id on another endpoint is another scope
    ec.refund(&id, 500, "r").idempotency_key("cap-1").await.unwrap();
    // an error is replayed too (no re-attempt)
    let e1 = ec
        .capture(&id, Some(99999), "x")
        .idempotency_key("big")
        .await
        .unwrap_err();
    let e2 = ec
        .capture(&id, Some(99999), "x")
        .idempotency_key("big")
        .await
        .unwrap_err();
    assert_eq!(ecom_code(&e1), ecom_code(&e2));
    assert_eq!(
        ec.details(&id)
            .await
            .unwrap()
            .transaction_summary
            .clone()
            .unwrap()
            .captured_amount,
        1000
    );
}

#[tokio::test]
async fn regular_callbacks_reserved_cancelled_and_rejected() {
    let emu = Emulator::start().await.unwrap();
    let c = client_for(&emu);
    let ec = c.ecom();
    let (rx, base) = Receiver::start().await;
    let prefix = format!("{base}/cb");

    // approved by the customer (control plane): RESERVED
    let a = order_id();
    ec.initiate(initiate_req(&emu, &a, 20000, &prefix)).await.unwrap();
    let r = control(&emu, &a, "approve").await;
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["approved"], true);
    assert_eq!(v["state"], "RESERVE");
    let seen = rx.wait(&format!("/cb/v2/payments/{a}"), 1).await;
    assert_eq!(seen[0].authorization.as_deref(), Some("secret-cb-token"));
    let cb: TransactionUpdateCallback = serde_json::from_value(seen[0].body.clone()).unwrap();
    assert_eq!(cb.merchant_serial_number, emu.merchant().msn);
    assert_eq!(cb.order_id, a);
    assert_eq!(cb.transaction_info.status, CallbackStatus::Reserved);
    assert_eq!(cb.transaction_info.amount, 20000);
    assert!(cb.shipping_details.is_none() && cb.user_details.is_none());
    assert!(vipps::ecom::verify_auth_token(
        seen[0].authorization.as_deref(),
        "secret-cb-token"
    ));

    // rejected by the customer: CANCELLED
    let b = order_id();
    ec.initiate(initiate_req(&emu, &b, 20000, &prefix)).await.unwrap();
    let v: serde_json::Value = control(&emu, &b, "reject").await.json().await.unwrap();
    assert_eq!(v["approved"], false);
    let seen = rx.wait(&format!("/cb/v2/payments/{b}"), 1).await;
    assert_eq!(seen[0].body["transactionInfo"]["status"], "CANCELLED");
    let d = ec.details(&b).await.unwrap();
    assert_eq!(d.transaction_log_history[0].operation, Operation::Cancel);
    // approving afterwards is refused
    assert_eq!(control(&emu, &b, "approve").await.status(), 400);

    // nobody acts: after payment_expiry_secs the order times out (REJECTED)
    let t = order_id();
    ec.initiate(initiate_req(&emu, &t, 20000, &prefix)).await.unwrap();
    emu.clock().advance(Duration::from_secs(601));
    #[allow(deprecated)]
    let st = ec.status(&t).await.unwrap();
    assert_eq!(st.transaction_info.status, OrderStatus::Rejected);
    let seen = rx.wait(&format!("/cb/v2/payments/{t}"), 1).await;
    assert_eq!(seen[0].body["transactionInfo"]["status"], "REJECTED");
    let d = ec.details(&t).await.unwrap();
    assert_eq!(d.transaction_log_history[0].operation, Operation::Cancel);
    assert_eq!(d.transaction_log_history.len(), 2);
    let e = ec.force_approve(&t, ForceApproveRequest::default()).await.unwrap_err();
    assert_eq!(ecom_code(&e).2, "91");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        rx.wait(&format!("/cb/v2/payments/{t}"), 1).await.len(),
        1,
        "one callback only"
    );

    // the deliveries log lists them
    let log: serde_json::Value = reqwest::get(format!("{}/_emulator/deliveries?kind=ecom-callback", emu.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log["deliveries"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn express_flow_fetches_shipping_and_reports_user_details() {
    let emu = Emulator::start().await.unwrap();
    let c = client_for(&emu);
    let ec = c.ecom();
    let (rx, base) = Receiver::start().await;
    let id = order_id();
    let mut req = initiate_req(&emu, &id, 20000, &format!("{base}/cb"));
    req.merchant_info.payment_type = Some(PaymentType::Express);
    req.merchant_info.consent_removal_prefix = Some(format!("{base}/consent"));
    req.merchant_info.shipping_details_prefix = Some(format!("{base}/ship"));
    ec.initiate(req).await.unwrap();

    // express cannot be force-approved
    let e = ec.force_approve(&id, ForceApproveRequest::default()).await.unwrap_err();
    assert_eq!(ecom_code(&e), (400, "VippsError".into(), "91".into()));

    let v: serde_json::Value = control(&emu, &id, "approve").await.json().await.unwrap();
    assert_eq!(v["approved"], true, "{v}");

    let ship = rx.wait(&format!("/ship/v2/payments/{id}/shippingDetails"), 1).await;
    assert_eq!(ship[0].authorization.as_deref(), Some("secret-cb-token"));
    let sreq: ShippingCostRequest = serde_json::from_value(ship[0].body.clone()).unwrap();
    assert!(sreq.address_id >= 100);
    assert_eq!(sreq.country, "NO");
    assert_eq!(sreq.post_code.len(), 4);

    let cbs = rx.wait(&format!("/cb/v2/payments/{id}"), 1).await;
    assert_eq!(cbs[0].authorization.as_deref(), Some("secret-cb-token"));
    let cb: TransactionUpdateCallback = serde_json::from_value(cbs[0].body.clone()).unwrap();
    assert_eq!(
        cb.transaction_info.status,
        CallbackStatus::Reserve,
        "express uses RESERVE"
    );
    let shipping = cb.shipping_details.clone().unwrap();
    assert_eq!(shipping.shipping_method_id, "run", "the isDefault option");
    // The callback names the post code `zipCode`, as the reference's sample does.
    let address = &cbs[0].body["shippingDetails"]["address"];
    assert_eq!(address["zipCode"].as_str().map(str::len), Some(4), "{address}");
    assert!(address.get("postCode").is_none(), "{address}");
    assert_eq!(shipping.shipping_cost.ore(), 19900);
    assert_eq!(
        cb.transaction_info.amount,
        20000 + 19900,
        "shipping is added to the reservation"
    );
    let user = cb.user_details.clone().unwrap();
    assert_eq!(user.first_name, "Ola");
    assert_eq!(user.mobile_number.len(), 8);

    let d = ec.details(&id).await.unwrap();
    assert_eq!(d.shipping_details.clone().unwrap().shipping_method, "Running");
    assert_eq!(d.user_details.clone().unwrap(), user);
    let cap = ec.capture(&id, None, "everything").await.unwrap();
    assert_eq!(cap.transaction_info.clone().unwrap().amount, 39900);
}

#[tokio::test]
async fn express_with_static_shipping_makes_no_shipping_call() {
    let emu = Emulator::start().await.unwrap();
    let c = client_for(&emu);
    let ec = c.ecom();
    let (rx, base) = Receiver::start().await;
    let id = order_id();
    let mut req = initiate_req(&emu, &id, 10000, &format!("{base}/cb"));
    req.merchant_info.payment_type = Some(PaymentType::Express);
    req.merchant_info.consent_removal_prefix = Some(format!("{base}/consent"));
    req.merchant_info.static_shipping_details = Some(vec![ShippingDetails {
        is_default: "Y".into(),
        priority: Some(1),
        shipping_cost: vipps::types::ecom::Kroner(4990),
        shipping_method: "Posten Servicepakke".into(),
        shipping_method_id: "posten".into(),
    }]);
    ec.initiate(req).await.unwrap();
    assert_eq!(control(&emu, &id, "approve").await.status(), 200);
    let cbs = rx.wait(&format!("/cb/v2/payments/{id}"), 1).await;
    assert_eq!(cbs[0].body["transactionInfo"]["amount"], 14990);
    assert_eq!(cbs[0].body["shippingDetails"]["shippingCost"], 49.9);
    assert!(rx.seen.lock().iter().all(|s| !s.path.starts_with("/ship")));
}

#[tokio::test]
async fn capture_and_refund_deadlines_follow_the_clock() {
    let emu = vipps_emulator::Emulator::start().await.unwrap();
    let c = client_for(&emu);
    let a = reserved(&emu, &c, 1000).await;
    let b = reserved(&emu, &c, 1000).await;
    c.ecom().capture(&b, Some(500), "part").await.unwrap();
    emu.clock().advance(std::time::Duration::from_secs(181 * 86400));
    let e = c.ecom().capture(&a, Some(100), "late").await.unwrap_err();
    assert_eq!(ecom_code(&e), (400, "Payment".to_owned(), "98".to_owned()), "{e}");
    c.ecom().refund(&b, 100, "still in time").await.unwrap();
    emu.clock().advance(std::time::Duration::from_secs(185 * 86400));
    let e = c.ecom().refund(&b, 100, "too late").await.unwrap_err();
    assert_eq!(ecom_code(&e), (400, "Payment".to_owned(), "95".to_owned()), "{e}");
}

/// epayment--migration-from-ecom.md: payments "initiated via the eCom API can be captured,
/// refunded, cancelled, and retrieved using the ePayment API", `orderId` becoming `reference`;
/// eCom order ids may be 1 to 50 characters (ecom-v2.yaml), shorter than a reference's 8.
#[tokio::test]
async fn a_short_ecom_order_id_is_addressed_through_epayment() {
    let emu = Emulator::start().await.unwrap();
    let c = client_for(&emu);
    let id = vipps::types::Reference::ecom_order_id("ab12").unwrap();
    c.ecom()
        .initiate(initiate_req(&emu, id.as_str(), 3000, "https://example.com/cb"))
        .await
        .unwrap();
    c.ecom()
        .force_approve(id.as_str(), ForceApproveRequest::default())
        .await
        .unwrap();
    let ep = c.epayment();
    let p = ep.get_payment(&id).await.unwrap();
    assert_eq!(p.reference.as_str(), "ab12");
    let m = ep.capture(&id, vipps::types::Amount::nok(1000)).await.unwrap();
    assert_eq!(m.aggregate.captured_amount.value, 1000);
    let m = ep.refund(&id, vipps::types::Amount::nok(400)).await.unwrap();
    assert_eq!(m.aggregate.refunded_amount.value, 400);
    ep.cancel(&id).await.unwrap();
    assert!(!ep.get_event_log(&id).await.unwrap().is_empty());
    // Creating a payment keeps the full rules.
    assert!(vipps::types::Reference::new("ab12").is_err());
}
