//! The SDK's Order Management API against the in-process emulator: every endpoint, the
//! binding to ePayment payments, eCom orders and Recurring charges, the rules only the server
//! can check (a second receipt, the order's currency, an image that was never uploaded), the
//! rules both sides check (sent past the SDK's own validation), idempotency and images served
//! back.

mod common;
use common::client_for;
use http::Method;
use serde_json::{json, Value};
use vipps::types::ecom::{InitiatePaymentRequest, InitiateTransaction, MerchantInfo};
use vipps::types::epayment::{CreatePaymentRequest, UserFlow};
use vipps::types::order_management::{
    AddCategoryRequest, CategoryType, ImageId, OrderCategory, OrderId, OrderLine, PaymentType, QuantityUnit, Receipt,
    UnitInfo,
};
use vipps::types::recurring::{CreateCharge, DraftAgreement, Interval, IntervalUnit, PricingRequest, TransactionType};
use vipps::types::{Amount, Currency, Reference};
use vipps::{Client, Error};
use vipps_emulator::{Emulator, RunningEmulator};

async fn start() -> (RunningEmulator, Client) {
    let emu = Emulator::start().await.unwrap();
    let c = client_for(&emu);
    (emu, c)
}

fn receipt(currency: Currency) -> Receipt {
    Receipt::new(
        vec![
            OrderLine {
                unit_info: Some(UnitInfo {
                    unit_price: Some(4_000),
                    quantity: "2".into(),
                    quantity_unit: Some(QuantityUnit::Pcs),
                }),
                ..OrderLine::new("sku-1", "Wool socks", 8_000, 2500)
            },
            OrderLine {
                is_shipping: Some(true),
                ..OrderLine::new("ship", "Home delivery", 2_000, 2500)
            },
        ],
        currency,
    )
}

/// An ePayment payment of NOK 100.00, with `receipt` when given.
async fn payment(c: &Client, receipt: Option<Receipt>) -> String {
    let reference = Reference::random();
    c.epayment()
        .create_payment(CreatePaymentRequest {
            return_url: Some("https://example.com/return".into()),
            payment_description: Some("Socks".into()),
            receipt,
            ..CreatePaymentRequest::new(Amount::nok(10_000), reference.clone(), UserFlow::WebRedirect)
        })
        .await
        .unwrap();
    reference.to_string()
}

/// A PNG header of `width` × `height` (what the checks read), then `fill`.
fn png(width: u32, height: u32, fill: u8) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    b.extend_from_slice(&width.to_be_bytes());
    b.extend_from_slice(&height.to_be_bytes());
    b.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, fill]);
    b
}

fn status(e: &Error) -> u16 {
    e.status().unwrap_or_else(|| panic!("not an API error: {e:?}"))
}

fn invalid_param(e: &Error) -> String {
    e.problem()
        .and_then(|p| p.extra_details.first())
        .map(|d| d.name.clone())
        .unwrap_or_else(|| panic!("no invalidParams: {e:?}"))
}

#[tokio::test]
async fn a_receipt_sent_with_the_payment_is_the_orders_and_cannot_be_replaced() {
    let (_emu, c) = start().await;
    let om = c.order_management();
    let reference = payment(&c, Some(receipt(Currency::Nok))).await;

    let order = om.get_order(PaymentType::Ecom, &reference).await.unwrap();
    assert_eq!(order.receipt.as_ref(), Some(&receipt(Currency::Nok)));
    assert_eq!(order.receipt.as_ref().unwrap().totals().total, 10_000);
    assert!(order.category.is_none());

    let e = om
        .add_receipt(PaymentType::Ecom, &reference, receipt(Currency::Nok))
        .await
        .unwrap_err();
    assert_eq!(status(&e), 409, "{e:?}");
    // The problem body is the spec's ErrorResponse, read into the SDK's typed error.
    assert!(e.problem().and_then(|p| p.title.as_deref()).is_some(), "{e:?}");
}

#[tokio::test]
async fn receipts_and_categories_added_later_and_the_latest_category_wins() {
    let (_emu, c) = start().await;
    let om = c.order_management();
    let reference = payment(&c, None).await;

    let e = om.get_order(PaymentType::Ecom, &reference).await.unwrap_err();
    assert_eq!(status(&e), 404, "nothing added yet");

    let ack = om
        .add_receipt(PaymentType::Ecom, &reference, receipt(Currency::Nok))
        .await
        .unwrap();
    assert_eq!(ack.status(), 201);
    assert!(
        ack.0.as_deref().is_some_and(|id| uuid::Uuid::parse_str(id).is_ok()),
        "{ack:?}"
    );

    om.set_category(
        PaymentType::Ecom,
        &reference,
        OrderCategory::new(CategoryType::OrderConfirmation, "https://example.com/orders/1"),
    )
    .await
    .unwrap();
    let replaced = om
        .set_category(
            PaymentType::Ecom,
            &reference,
            OrderCategory::new(CategoryType::Delivery, "https://example.com/orders/1/tracking"),
        )
        .await
        .unwrap();
    assert_eq!(replaced.status(), 200);

    let order = om.get_order(PaymentType::Ecom, &reference).await.unwrap();
    assert_eq!(order.receipt.as_ref(), Some(&receipt(Currency::Nok)));
    let category = order.category.as_ref().unwrap();
    assert_eq!(category.category, CategoryType::Delivery);
    assert_eq!(category.order_details_url, "https://example.com/orders/1/tracking");
    // The path's payment type is read in either case (2.3.24 lowercase, latest uppercase).
    let upper: Value = c
        .request(Method::GET, format!("/order-management/v2/ECOM/{reference}"))
        .send::<Value>()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(upper["category"]["category"], "DELIVERY");
}

#[tokio::test]
async fn orders_are_payments_ecom_orders_and_charges_that_exist_for_this_merchant() {
    let (emu, c) = start().await;
    let om = c.order_management();

    // Nobody paid this order.
    let e = om
        .add_receipt(PaymentType::Ecom, "nobody-paid-this", receipt(Currency::Nok))
        .await
        .unwrap_err();
    assert_eq!(status(&e), 404);
    let e = om
        .set_category(
            PaymentType::Recurring,
            "nobody-paid-this",
            OrderCategory::new(CategoryType::Receipt, "https://example.com/r"),
        )
        .await
        .unwrap_err();
    assert_eq!(status(&e), 404);

    // An eCom order (legacy API) is an ECOM order.
    let order_id = format!("ecom-{}", uuid::Uuid::new_v4().simple());
    c.ecom()
        .initiate(InitiatePaymentRequest {
            merchant_info: MerchantInfo {
                merchant_serial_number: emu.merchant().msn.clone(),
                callback_prefix: "https://example.com/cb".into(),
                fall_back: "https://example.com/fallback".into(),
                ..Default::default()
            },
            transaction: InitiateTransaction {
                amount: 10_000,
                order_id: order_id.clone(),
                transaction_text: "Socks".into(),
                ..Default::default()
            },
            ..Default::default()
        })
        .await
        .unwrap();
    om.add_receipt(PaymentType::Ecom, &order_id, receipt(Currency::Nok))
        .await
        .unwrap();
    assert!(om
        .get_order(PaymentType::Ecom, &order_id)
        .await
        .unwrap()
        .receipt
        .is_some());

    // A Recurring charge is a RECURRING order, and not an ECOM one.
    let rec = c.recurring();
    let agreement = rec
        .create_agreement(DraftAgreement {
            phone_number: Some("4791234567".into()),
            ..DraftAgreement::new(
                PricingRequest::legacy(10_000, Currency::Nok),
                Some(Interval::every(1, IntervalUnit::Month)),
                "Socks every month",
                "https://example.com/confirmation",
                "https://example.com/agreement",
            )
        })
        .await
        .unwrap()
        .agreement_id
        .clone();
    rec.force_accept_agreement(&agreement, "4791234567").await.unwrap();
    let due = emu.clock().now().date() + time::Duration::days(3);
    let charge_id = rec
        .create_charge(
            &agreement,
            CreateCharge::recurring(10_000, "March", due, 0, TransactionType::DirectCapture),
        )
        .await
        .unwrap()
        .into_inner()
        .charge_id;
    let e = om
        .add_receipt(PaymentType::Ecom, &charge_id, receipt(Currency::Nok))
        .await
        .unwrap_err();
    assert_eq!(status(&e), 404, "a charge is not an ECOM order");
    om.add_receipt(PaymentType::Recurring, &charge_id, receipt(Currency::Nok))
        .await
        .unwrap();
    let read = om.get_order(PaymentType::Recurring, &charge_id).await.unwrap();
    assert_eq!(read.receipt.as_ref().unwrap().order_lines[0].name, "Wool socks");
}

#[tokio::test]
async fn the_server_checks_what_the_sdk_checks_and_what_only_it_can() {
    let (_emu, c) = start().await;
    let om = c.order_management();
    let reference = payment(&c, None).await;

    // A receipt in another currency than the payment's.
    let e = om
        .add_receipt(PaymentType::Ecom, &reference, receipt(Currency::Eur))
        .await
        .unwrap_err();
    assert_eq!(status(&e), 400);
    assert_eq!(invalid_param(&e), "bottomLine.currency");

    // An image nobody uploaded.
    let e = om
        .set_category(
            PaymentType::Ecom,
            &reference,
            OrderCategory {
                image_id: Some(ImageId::new("never-uploaded").unwrap()),
                ..OrderCategory::new(CategoryType::Receipt, "https://example.com/r")
            },
        )
        .await
        .unwrap_err();
    assert_eq!(status(&e), 400);
    assert_eq!(invalid_param(&e), "imageId");

    // Past the SDK's own validation: the emulator refuses the same bodies, naming the field.
    let mut unbalanced = serde_json::to_value(receipt(Currency::Nok)).unwrap();
    unbalanced["orderLines"][0]["totalTaxAmount"] = json!(1);
    let mut untaxed = serde_json::to_value(receipt(Currency::Nok)).unwrap();
    untaxed["orderLines"][1].as_object_mut().unwrap().remove("taxRate");
    let mut quantity = serde_json::to_value(receipt(Currency::Nok)).unwrap();
    quantity["orderLines"][0]["unitInfo"]["quantity"] = json!("1,5");
    let mut total = serde_json::to_value(receipt(Currency::Nok)).unwrap();
    total["bottomLine"]["totalAmount"] = json!(9_999);
    for (body, field) in [
        (unbalanced, "orderLines[0].totalAmount"),
        (untaxed, "orderLines[1].taxRate"),
        (quantity, "orderLines[0].unitInfo.quantity"),
        (total, "bottomLine.totalAmount"),
        (
            json!({"orderLines": [], "bottomLine": {"currency": "NOK"}}),
            "orderLines",
        ),
    ] {
        let e = c
            .request(Method::POST, format!("/order-management/v2/ecom/receipts/{reference}"))
            .json(&body)
            .send::<Value>()
            .await
            .unwrap_err();
        assert_eq!(status(&e), 400, "{field}");
        assert_eq!(invalid_param(&e), field);
    }
    // Nothing was stored by the refused calls.
    assert_eq!(
        status(&om.get_order(PaymentType::Ecom, &reference).await.unwrap_err()),
        404
    );
    let e = c
        .request(Method::GET, format!("/order-management/v2/pos/{reference}"))
        .send::<Value>()
        .await
        .unwrap_err();
    assert_eq!(status(&e), 400, "an unknown payment type");
}

#[tokio::test]
async fn an_idempotency_key_replays_the_answer_and_refuses_another_body() {
    let (_emu, c) = start().await;
    let om = c.order_management();
    let reference = payment(&c, None).await;
    let first = om
        .add_receipt(PaymentType::Ecom, &reference, receipt(Currency::Nok))
        .idempotency_key("receipt-1")
        .await
        .unwrap();
    let again = om
        .add_receipt(PaymentType::Ecom, &reference, receipt(Currency::Nok))
        .idempotency_key("receipt-1")
        .await
        .unwrap();
    assert_eq!(
        (again.status(), &again.0),
        (201, &first.0),
        "the stored answer, not a 409"
    );
    let mut other = receipt(Currency::Nok);
    other.order_lines.truncate(1);
    let e = om
        .add_receipt(PaymentType::Ecom, &reference, other)
        .idempotency_key("receipt-1")
        .await
        .unwrap_err();
    assert_eq!(status(&e), 409);
}

#[tokio::test]
async fn images_are_idempotent_by_id_served_back_and_shown_with_categories() {
    let (emu, c) = start().await;
    let om = c.order_management();
    let id = ImageId::new("socks-orange-123").unwrap();
    let bytes = png(400, 400, 1);
    assert_eq!(
        om.upload_image_bytes(id.clone(), &bytes).await.unwrap().image_id,
        "socks-orange-123"
    );
    om.upload_image_bytes(id.clone(), &bytes).await.unwrap();
    let e = om.upload_image_bytes(id.clone(), &png(400, 400, 2)).await.unwrap_err();
    assert_eq!(status(&e), 409, "other bytes under a used id");

    let served = reqwest::get(format!(
        "{}/order-management/images/{}/socks-orange-123",
        emu.base_url(),
        emu.merchant().msn
    ))
    .await
    .unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(served.bytes().await.unwrap().as_ref(), bytes.as_slice());

    let reference = payment(&c, None).await;
    om.set_category(
        PaymentType::Ecom,
        &reference,
        OrderCategory {
            image_id: Some(id.clone()),
            ..OrderCategory::new(CategoryType::Ticket, "https://example.com/tickets/1")
        },
    )
    .await
    .unwrap();
    let order = om.get_order(PaymentType::Ecom, &reference).await.unwrap();
    assert_eq!(order.category.as_ref().unwrap().image_id, Some(id));
}

#[tokio::test]
async fn v3_categories_are_added_listed_read_and_deleted() {
    let (_emu, c) = start().await;
    let om = c.order_management();
    let reference = payment(&c, None).await;
    let request = |kind: CategoryType, url: &str| AddCategoryRequest {
        order_id: OrderId::new(reference.clone()).unwrap(),
        payment_type: PaymentType::Ecom,
        kind,
        url: url.into(),
        image_id: None,
    };
    let first = om
        .add_category(request(CategoryType::Receipt, "https://example.com/receipt"))
        .await
        .unwrap();
    assert_eq!(first.status(), 201);
    let second = om
        .add_category(request(CategoryType::Booking, "https://example.com/booking"))
        .await
        .unwrap();

    let list = om.list_categories(&reference).await.unwrap();
    let ids: Vec<_> = list.categories.iter().map(|c| c.category_id.as_str()).collect();
    assert_eq!(ids, [first.category_id.as_str(), second.category_id.as_str()]);
    let one = om.get_category(&second.category_id).await.unwrap();
    assert_eq!(
        (one.kind.clone(), one.url.as_str()),
        (CategoryType::Booking, "https://example.com/booking")
    );
    assert_eq!(one.order_id.as_str(), reference);
    // The app shows the latest category.
    let order = om.get_order(PaymentType::Ecom, &reference).await.unwrap();
    assert_eq!(order.category.as_ref().unwrap().category, CategoryType::Booking);

    om.delete_category(&second.category_id).await.unwrap();
    assert_eq!(status(&om.get_category(&second.category_id).await.unwrap_err()), 404);
    assert_eq!(status(&om.delete_category(&second.category_id).await.unwrap_err()), 404);
    assert_eq!(om.list_categories(&reference).await.unwrap().categories.len(), 1);

    let e = om
        .add_category(AddCategoryRequest {
            order_id: OrderId::new("nobody-paid-this").unwrap(),
            ..request(CategoryType::Receipt, "https://example.com/r")
        })
        .await
        .unwrap_err();
    assert_eq!(status(&e), 400);
    assert_eq!(invalid_param(&e), "orderId");
    assert!(om
        .list_categories("nobody-paid-this")
        .await
        .unwrap()
        .categories
        .is_empty());
}
