//! `vipps receipt …`, `vipps category …`, `vipps image upload` and `vipps payment create
//! --receipt` against a `vipps emulator` child process: what is stored, what is printed, and
//! non-zero exits with the reason.

mod common;
use common::{start_emulator, vipps, TempDir};
use serde_json::Value;

/// A PNG header of `width` × `height` (what the checks read).
fn png(width: u32, height: u32) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    b.extend_from_slice(&width.to_be_bytes());
    b.extend_from_slice(&height.to_be_bytes());
    b.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
    b
}

fn ok(base: &str, args: &[&str]) -> String {
    let (success, out, err) = vipps(base, args);
    assert!(success, "vipps {args:?} failed: {err}");
    out
}

fn refused(base: &str, args: &[&str]) -> String {
    let (success, out, err) = vipps(base, args);
    assert!(!success, "vipps {args:?} succeeded: {out}");
    assert!(out.is_empty(), "{out}");
    err
}

#[test]
fn receipts_categories_and_images_from_the_shell() {
    let (_server, base) = start_emulator();
    let dir = TempDir::new("receipts");

    // A payment created with a receipt from a file of order lines.
    let lines = dir.path().join("lines.json");
    std::fs::write(
        &lines,
        r#"[{"name":"Wool socks","id":"sku-1","totalAmount":8000,"totalAmountExcludingTax":6400,
             "totalTaxAmount":1600,"taxRate":2500,"unitInfo":{"unitPrice":4000,"quantity":"2"}},
            {"name":"Home delivery","id":"ship","totalAmount":2000,"totalAmountExcludingTax":1600,
             "totalTaxAmount":400,"taxRate":2500,"isShipping":true}]"#,
    )
    .unwrap();
    let lines = lines.to_str().unwrap();
    ok(
        &base,
        &[
            "payment",
            "create",
            "--amount",
            "10000",
            "--reference",
            "cli-receipt-1",
            "--receipt",
            lines,
        ],
    );
    let out = ok(&base, &["receipt", "get", "cli-receipt-1"]);
    assert!(out.contains("2 PCS Wool socks: 80.00 NOK"), "{out}");
    assert!(out.contains("Home delivery (shipping): 20.00 NOK"), "{out}");
    assert!(out.contains("VAT:      20.00 NOK"), "{out}");
    assert!(out.contains("total:    100.00 NOK"), "{out}");
    assert!(out.contains("category: none"), "{out}");

    // A receipt added later, from NAME:AMOUNT lines.
    ok(
        &base,
        &["payment", "create", "--amount", "24800", "--reference", "cli-receipt-2"],
    );
    let out = ok(
        &base,
        &[
            "receipt",
            "add",
            "cli-receipt-2",
            "--line",
            "Socks:19900",
            "--shipping",
            "Home delivery:4900",
            "--idempotency-key",
            "cli-receipt-2-r",
        ],
    );
    assert!(out.contains("added to order cli-receipt-2"), "{out}");
    assert!(out.contains("idempotency key: cli-receipt-2-r"), "{out}");

    // An image, then a category showing it.
    let image = dir.path().join("logo.png");
    std::fs::write(&image, png(300, 300)).unwrap();
    let out = ok(&base, &["image", "upload", image.to_str().unwrap()]);
    assert_eq!(out.trim(), "uploaded image logo");
    ok(
        &base,
        &[
            "category",
            "set",
            "cli-receipt-2",
            "--type",
            "order-confirmation",
            "--url",
            "https://example.com/orders/2",
            "--image-id",
            "logo",
        ],
    );
    let order: Value = serde_json::from_str(&ok(&base, &["--json", "receipt", "get", "cli-receipt-2"])).unwrap();
    assert_eq!(order["category"]["category"], "ORDER_CONFIRMATION");
    assert_eq!(order["category"]["imageId"], "logo");
    assert_eq!(order["receipt"]["orderLines"][0]["totalAmount"], 19_900);
    assert_eq!(order["receipt"]["orderLines"][1]["isShipping"], true);

    // v3 categories.
    let added: Value = serde_json::from_str(&ok(
        &base,
        &[
            "--json",
            "category",
            "add",
            "cli-receipt-2",
            "--type",
            "TICKET",
            "--url",
            "https://example.com/tickets/2",
        ],
    ))
    .unwrap();
    let id = added["categoryId"].as_str().unwrap().to_owned();
    let out = ok(&base, &["category", "list", "cli-receipt-2"]);
    assert!(
        out.contains(&id) && out.contains("TICKET https://example.com/tickets/2"),
        "{out}"
    );
    assert!(ok(&base, &["category", "get", &id]).contains("for ecom order cli-receipt-2"));
    assert_eq!(
        ok(&base, &["category", "delete", &id]).trim(),
        format!("deleted category {id}")
    );
    let err = refused(&base, &["category", "get", &id]);
    assert!(err.contains("404"), "{err}");
}

#[test]
fn refusals_exit_non_zero_with_the_reason() {
    let (_server, base) = start_emulator();
    let dir = TempDir::new("receipts");
    ok(
        &base,
        &["payment", "create", "--amount", "1000", "--reference", "cli-refusals-1"],
    );
    ok(&base, &["receipt", "add", "cli-refusals-1", "--line", "Socks:1000"]);

    let err = refused(&base, &["receipt", "add", "cli-refusals-1", "--line", "Socks:1000"]);
    assert!(err.contains("409"), "a second receipt: {err}");
    let err = refused(&base, &["receipt", "add", "nobody-paid-this", "--line", "Socks:1000"]);
    assert!(err.contains("404"), "{err}");
    let err = refused(&base, &["receipt", "add", "cli-refusals-1", "--line", "Socks"]);
    assert!(err.contains("NAME:AMOUNT"), "{err}");
    let err = refused(&base, &["receipt", "get", "cli-refusals-1", "--payment-type", "pos"]);
    assert!(err.contains("ecom or recurring"), "{err}");
    let err = refused(
        &base,
        &[
            "category",
            "set",
            "cli-refusals-1",
            "--type",
            "PARKING",
            "--url",
            "https://example.com",
        ],
    );
    assert!(err.contains("category"), "{err}");
    let small = dir.path().join("small.png");
    std::fs::write(&small, png(300, 100)).unwrap();
    let err = refused(&base, &["image", "upload", small.to_str().unwrap()]);
    assert!(err.contains("167"), "{err}");
    let err = refused(&base, &["image", "upload", "/no/such/file.png"]);
    assert!(err.contains("/no/such/file.png"), "{err}");
}
