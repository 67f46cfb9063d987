//! The Order Management handle against a scripted HTTP server: methods, paths, bodies and
//! headers of every endpoint; one Idempotency-Key per call across retries; validation before
//! sending; the spec's bare-string answers and error bodies; unknown values decoded.

mod scripted;

use scripted::{client, server, Reply};
use serde_json::json;
use vipps::types::order_management::{
    AddCategoryRequest, CategoryType, ImageId, ImageUpload, OrderCategory, OrderId, OrderLine, PaymentType,
    QuantityUnit, Receipt, UnitInfo,
};
use vipps::types::Currency;
use vipps::ErrorKind;

fn receipt() -> Receipt {
    Receipt::new(
        vec![
            OrderLine {
                unit_info: Some(UnitInfo {
                    unit_price: Some(9_950),
                    quantity: "2".into(),
                    quantity_unit: Some(QuantityUnit::Pcs),
                }),
                ..OrderLine::new("sku-1", "Socks", 19_900, 2500)
            },
            OrderLine {
                is_shipping: Some(true),
                ..OrderLine::new("ship", "Home delivery", 4_900, 2500)
            },
        ],
        Currency::Nok,
    )
}

/// A PNG header of `width` × `height` (what the checks read).
fn png(width: u32, height: u32) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    b.extend_from_slice(&width.to_be_bytes());
    b.extend_from_slice(&height.to_be_bytes());
    b.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
    b
}

#[tokio::test]
async fn a_receipt_goes_to_the_v2_path_in_lowercase_with_a_key_kept_across_retries() {
    let (base, script) = server(vec![
        Reply::Json(503, r#"{"title":"Service Unavailable","status":503}"#),
        Reply::Json(201, r#""16328cb8-d769-4c53-90ad-e19777823f0a""#),
    ])
    .await;
    let r = client(&base)
        .order_management()
        .add_receipt(PaymentType::Ecom, "acme-order-1", receipt())
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.0.as_deref(), Some("16328cb8-d769-4c53-90ad-e19777823f0a"));
    let seen = script.seen();
    assert_eq!(seen.len(), 2);
    for s in &seen {
        assert_eq!(
            (s.method.as_str(), s.path.as_str()),
            ("POST", "/order-management/v2/ecom/receipts/acme-order-1")
        );
        assert_eq!(s.json(), serde_json::to_value(receipt()).unwrap());
        assert_eq!(s.header("authorization"), Some("Bearer tok-1"));
        assert_eq!(s.header("merchant-serial-number"), Some("123456"));
    }
    let key = seen[0].header("idempotency-key").expect("a mutation carries a key");
    assert_eq!(seen[1].header("idempotency-key"), Some(key));
    assert_eq!(seen[0].json()["orderLines"][0]["taxRate"], 2500);
    assert_eq!(seen[0].json()["orderLines"][0]["totalAmountExcludingTax"], 15_920);
    assert_eq!(seen[0].json()["bottomLine"], json!({"currency": "NOK"}));
}

#[tokio::test]
async fn categories_v2_and_the_order_read_back() {
    let (base, script) = server(vec![
        Reply::Json(200, r#""7a0a1d44-9d0e-4d7a-9a5e-0b3a4e9c1f00""#),
        Reply::Json(
            200,
            r#"{"category":{"category":"PARKING","orderDetailsUrl":"https://example.com/o/1","imageId":"logo-1"},
                "receipt":{"orderLines":[{"name":"Socks","id":"1","totalAmount":100,"totalAmountExcludingTax":80,
                "totalTaxAmount":20,"taxRate":2500,"unitInfo":{"unitPrice":100,"quantity":"1","quantityUnit":"BARREL"}}],
                "bottomLine":{"currency":"NOK","barcode":{"format":"QR","data":"x"}}},"somethingNew":1}"#,
        ),
    ])
    .await;
    let om = client(&base).order_management();
    let mut category = OrderCategory::new(CategoryType::Ticket, "https://example.com/tickets/1");
    category.image_id = Some(ImageId::new("logo-1").unwrap());
    om.set_category(PaymentType::Recurring, "chr-4assY8f", category.clone())
        .await
        .unwrap();
    let order = om.get_order(PaymentType::Recurring, "chr-4assY8f").await.unwrap();
    // Values this crate does not know decode as `Unknown`, never as an error.
    let c = order.category.as_ref().unwrap();
    assert_eq!(c.category, CategoryType::Unknown("PARKING".into()));
    let r = order.receipt.as_ref().unwrap();
    assert_eq!(
        r.order_lines[0].unit_info.as_ref().unwrap().quantity_unit,
        Some(QuantityUnit::Unknown("BARREL".into()))
    );
    let seen = script.seen();
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("PUT", "/order-management/v2/recurring/categories/chr-4assY8f")
    );
    assert_eq!(
        seen[0].json(),
        json!({"category": "TICKET", "orderDetailsUrl": "https://example.com/tickets/1", "imageId": "logo-1"})
    );
    assert!(seen[0].header("idempotency-key").is_some());
    assert_eq!(
        (seen[1].method.as_str(), seen[1].path.as_str()),
        ("GET", "/order-management/v2/recurring/chr-4assY8f")
    );
    assert!(seen[1].header("idempotency-key").is_none());
}

#[tokio::test]
async fn images_are_sent_in_base64_and_v3_categories_have_their_own_paths() {
    let (base, script) = server(vec![
        Reply::Json(200, r#"{"imageId":"logo-1"}"#),
        Reply::Json(201, r#"{"categoryId":"880f5088-7708-4a5a-87d9-31e83aacc035"}"#),
        Reply::Json(
            200,
            r#"{"categories":[{"categoryId":"880f5088-7708-4a5a-87d9-31e83aacc035","orderId":"acme order.1",
                "paymentType":"ECOM","type":"RECEIPT","url":"https://example.com"}]}"#,
        ),
        Reply::Json(
            200,
            r#"{"categoryId":"880f5088-7708-4a5a-87d9-31e83aacc035","orderId":"acme-order-1",
                "paymentType":"POS","type":"RECEIPT","url":"https://example.com"}"#,
        ),
        Reply::Empty(200),
    ])
    .await;
    let om = client(&base).order_management();
    let image = om
        .upload_image_bytes(ImageId::new("logo-1").unwrap(), &png(400, 400))
        .await
        .unwrap();
    assert_eq!(image.image_id, "logo-1");
    let created = om
        .add_category(AddCategoryRequest {
            order_id: OrderId::new("acme-order-1").unwrap(),
            payment_type: PaymentType::Ecom,
            kind: CategoryType::Receipt,
            url: "https://example.com".into(),
            image_id: None,
        })
        .await
        .unwrap();
    let id = created.category_id.clone();
    let list = om.list_categories("acme-order-1").await.unwrap();
    assert_eq!(list.categories.len(), 1);
    let one = om.get_category(&id).await.unwrap();
    assert_eq!(one.payment_type, PaymentType::Unknown("POS".into()));
    om.delete_category(&id).await.unwrap();

    let seen = script.seen();
    let calls: Vec<_> = seen
        .iter()
        .map(|s| (s.method.as_str(), s.path.as_str(), s.query.as_deref()))
        .collect();
    assert_eq!(
        calls,
        [
            ("POST", "/order-management/v1/images", None),
            ("POST", "/order-management/v3/categories", None),
            ("GET", "/order-management/v3/categories", Some("orderId=acme-order-1")),
            (
                "GET",
                "/order-management/v3/categories/880f5088-7708-4a5a-87d9-31e83aacc035",
                None
            ),
            (
                "DELETE",
                "/order-management/v3/categories/880f5088-7708-4a5a-87d9-31e83aacc035",
                None
            ),
        ]
    );
    assert_eq!(seen[0].json()["type"], "base64");
    assert_eq!(
        seen[0].json()["src"],
        serde_json::to_value(ImageUpload::new(ImageId::new("logo-1").unwrap(), &png(400, 400)).src).unwrap()
    );
    assert_eq!(
        seen[1].json(),
        json!({"orderId": "acme-order-1", "paymentType": "ECOM", "type": "RECEIPT", "url": "https://example.com"})
    );
}

#[tokio::test]
async fn invalid_requests_are_refused_without_a_call() {
    let (base, script) = server(vec![]).await;
    let om = client(&base).order_management();
    let mut unbalanced = receipt();
    unbalanced.order_lines[0].total_tax_amount += 1;
    let mut untaxed = receipt();
    untaxed.order_lines[1].tax_rate = None;
    let mut wrong_total = receipt();
    wrong_total.bottom_line.total_amount = Some(1);
    let errors = [
        om.add_receipt(PaymentType::Ecom, "acme-order-1", unbalanced)
            .await
            .unwrap_err(),
        om.add_receipt(PaymentType::Ecom, "acme-order-1", untaxed)
            .await
            .unwrap_err(),
        om.add_receipt(PaymentType::Ecom, "acme-order-1", wrong_total)
            .await
            .unwrap_err(),
        om.add_receipt(PaymentType::Ecom, "../epayment/v1/payments", receipt())
            .await
            .unwrap_err(),
        om.add_receipt(PaymentType::Unknown("POS".into()), "acme-order-1", receipt())
            .await
            .unwrap_err(),
        om.set_category(
            PaymentType::Ecom,
            "acme-order-1",
            OrderCategory::new(CategoryType::Receipt, "http://example.com/plain"),
        )
        .await
        .unwrap_err(),
        om.upload_image_bytes(ImageId::new("logo-1").unwrap(), &png(400, 100))
            .await
            .unwrap_err(),
        om.upload_image_bytes(ImageId::new("logo-1").unwrap(), b"GIF89a")
            .await
            .unwrap_err(),
        om.get_category("../../v2/ecom/x").await.unwrap_err(),
        om.list_categories("a b").await.unwrap_err(),
    ];
    let fields: Vec<_> = errors
        .iter()
        .map(|e| {
            assert!(matches!(e.kind(), ErrorKind::Validation(_)), "{e:?}");
            e.validation_error().unwrap().field.clone()
        })
        .collect();
    assert_eq!(
        fields,
        [
            "orderLines[0].totalAmount",
            "orderLines[1].taxRate",
            "bottomLine.totalAmount",
            "orderId",
            "paymentType",
            "orderDetailsUrl",
            "src",
            "src",
            "categoryId",
            "orderId",
        ]
    );
    assert!(script.seen().is_empty());
}

#[tokio::test]
async fn the_apis_error_body_is_typed_and_a_409_is_not_retried() {
    let (base, script) = server(vec![Reply::Json(
        409,
        r#"{"type":"https://datatracker.ietf.org/doc/html/rfc7231#section-6.5.8","title":"Conflict",
            "detail":"The order already has a receipt","instance":"00-616e415f5af7584eb4d9369d0fe8d7cc-48b90041faff204c-00",
            "invalidParams":[{"name":"orderId","reason":"already has a receipt"}]}"#,
    )])
    .await;
    let err = client(&base)
        .order_management()
        .add_receipt(PaymentType::Ecom, "acme-order-1", receipt())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(409));
    let p = err.problem().expect("the error body is read");
    assert_eq!(p.detail.as_deref(), Some("The order already has a receipt"));
    assert_eq!(p.extra_details[0].name, "orderId");
    assert_eq!(p.extra_details[0].reason, "already has a receipt");
    assert_eq!(script.seen().len(), 1);
}
