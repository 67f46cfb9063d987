//! `userFlow: QR` and its `qrFormat`: a real QR code of the landing page (SVG or PNG), or the
//! target URL itself.

mod common;

use common::*;
use serde_json::{json, Value};

async fn qr_payment(h: &H, reference: &str, qr_format: Option<Value>) -> String {
    let mut body = json!({
        "amount": {"currency": "NOK", "value": 1000},
        "paymentMethod": {"type": "WALLET"},
        "reference": reference,
        "userFlow": "QR",
    });
    if let Some(f) = qr_format {
        body["qrFormat"] = f;
    }
    let r = h.create_body(&body, &format!("k-{reference}")).await;
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["redirectUrl"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The text a PNG QR code holds.
fn read_png_qr(bytes: &[u8]) -> (u32, String) {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    let (w, h) = (info.width as usize, info.height as usize);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| buf[y * w + x]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the image");
    let (_, content) = grids[0].decode().unwrap();
    (info.width, content)
}

#[tokio::test]
async fn a_png_qr_code_leads_to_the_landing_page() {
    let h = H::start().await;
    let url = qr_payment(&h, "qr-png-00001", Some(json!({"format": "IMAGE/PNG", "size": 300}))).await;
    assert!(url.contains("/qr?v=2&token="), "{url}");
    let r = h.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    let (width, content) = read_png_qr(&r.bytes().await.unwrap());
    assert_eq!(width, 300, "qrFormat.size");
    assert_eq!(
        content,
        url.replace("/qr?", "/landing?"),
        "the landing page of this payment"
    );
    // The page it leads to is this payment's.
    let page = h.http.get(&content).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("qr-png-00001"), "{page}");
}

#[tokio::test]
async fn the_default_is_an_svg_qr_code() {
    let h = H::start().await;
    for format in [None, Some(json!({"format": "IMAGE/SVG+XML"}))] {
        let reference = if format.is_none() {
            "qr-svg-00001"
        } else {
            "qr-svg-00002"
        };
        let url = qr_payment(&h, reference, format).await;
        let r = h.http.get(&url).send().await.unwrap();
        assert_eq!(r.headers()["content-type"], "image/svg+xml");
        let svg = r.text().await.unwrap();
        assert!(svg.contains("<svg") && svg.contains("shape-rendering"), "{svg}");
    }
}

#[tokio::test]
async fn text_targeturl_gives_the_link_to_draw_a_qr_code_of() {
    let h = H::start().await;
    let url = qr_payment(&h, "qr-text-00001", Some(json!({"format": "TEXT/TARGETURL"}))).await;
    assert!(url.contains("/landing?v=2&token="), "{url}");
    let page = h.http.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("qr-text-00001"), "{page}");
    // GET shows the same redirectUrl.
    let p = h.get("qr-text-00001").await;
    assert_eq!(p["redirectUrl"], url.as_str());
}
