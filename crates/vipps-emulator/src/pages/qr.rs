//! The payment's QR code (`GET /qr?token=…`): SVG, or PNG for `qrFormat IMAGE/PNG`.
//!
//! A large PNG takes tens of milliseconds to draw and anybody holding the link may ask for it:
//! PNGs are drawn on the blocking pool, at most two at a time, and the last few are kept, so
//! a page polling its code (or a client asking again and again) costs one drawing.

use super::landing::{not_found, query_param};
use crate::core::state::AppState;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{header, StatusCode};
use parking_lot::Mutex;
use std::collections::VecDeque;
use tokio::sync::Semaphore;
use vipps_types::epayment::QrFormatKind;

/// How many drawn PNGs are kept (by link and size).
const PNG_CACHE_ENTRIES: usize = 32;

/// PNG drawings running at once, over the whole process.
static DRAWING: Semaphore = Semaphore::const_new(2);

/// The last PNGs drawn, newest last. Their content depends only on the key, so emulators in one
/// process can share them.
static PNG_CACHE: Mutex<VecDeque<(PngKey, Bytes)>> = Mutex::new(VecDeque::new());

#[derive(Clone, PartialEq, Eq)]
struct PngKey {
    link: String,
    size: u32,
}

/// `GET /qr?token=…`: the payment's QR code, a real one that leads to its landing page (scan
/// it with a phone that reaches the emulator's public URL). SVG by default; PNG of
/// `qrFormat.size` pixels (1024 by default; more when too few for the code) for `IMAGE/PNG`.
pub(crate) async fn qr(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let Some(token) = query_param(query.as_deref(), "token") else {
        return not_found();
    };
    let now = state.clock().now();
    // The landing page under the public URL the payment was created with, like its redirectUrl.
    let found = state.store().transaction(|ledger| {
        ledger
            .payment_by_token(&token, now)
            .map(|p| (p.landing_url(), p.qr_format().cloned()))
    });
    let Some((link, format)) = found else {
        return not_found();
    };
    let drawn = match format {
        Some(f) if f.format == QrFormatKind::ImagePng => {
            let size = f.size.and_then(|s| u32::try_from(s).ok()).unwrap_or(1024);
            png(PngKey { link, size }).await.map(|b| ("image/png", b))
        }
        _ => svg(&link).map(|s| ("image/svg+xml", Bytes::from(s))),
    };
    let Some((content_type, body)) = drawn else {
        // A link too long for a QR code (a public URL of some 2,000 characters).
        return not_found();
    };
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, http::HeaderValue::from_static(content_type));
    r
}

fn svg(link: &str) -> Option<String> {
    let code = qrcode::QrCode::new(link.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(256, 256)
            .build(),
    )
}

/// The PNG for `key`: from the cache, or drawn off the request threads and cached.
async fn png(key: PngKey) -> Option<Bytes> {
    if let Some(hit) = cached(&key) {
        return Some(hit);
    }
    let _turn = DRAWING.acquire().await.ok()?;
    // Somebody may have drawn it while this request waited its turn.
    if let Some(hit) = cached(&key) {
        return Some(hit);
    }
    let (link, size) = (key.link.clone(), key.size);
    let drawn = tokio::task::spawn_blocking(move || {
        let code = qrcode::QrCode::new(link.as_bytes()).ok()?;
        draw_png(&code, size)
    })
    .await
    .ok()
    .flatten()
    .map(Bytes::from)?;
    let mut cache = PNG_CACHE.lock();
    if cache.len() == PNG_CACHE_ENTRIES {
        cache.pop_front();
    }
    cache.push_back((key, drawn.clone()));
    Some(drawn)
}

fn cached(key: &PngKey) -> Option<Bytes> {
    PNG_CACHE.lock().iter().find(|(k, _)| k == key).map(|(_, b)| b.clone())
}

/// `code` as a square greyscale PNG with the standard quiet zone of four modules, each module
/// a whole number of pixels (a fractional scale smears modules and the code cannot be read):
/// `size` pixels when that gives each module at least two, the code centred with a wider
/// margin; else two pixels per module, larger than `size` (the spec allows 100 px, too few for
/// the code of a long public URL; one pixel per module does not decode reliably; README,
/// "Choices…").
fn draw_png(code: &qrcode::QrCode, size: u32) -> Option<Vec<u8>> {
    let modules = code.width() as u32;
    let total = modules + 8;
    let size = size.max(2 * total);
    let scale = size / total;
    let margin = (size - total * scale) / 2;
    let colors = code.to_colors();
    let dark = |x: u32, y: u32| -> bool {
        let module = |p: u32| {
            p.checked_sub(margin)
                .map(|p| p / scale)
                .filter(|m| (4..modules + 4).contains(m))
        };
        let (Some(mx), Some(my)) = (module(x), module(y)) else {
            return false;
        };
        colors[((my - 4) * modules + (mx - 4)) as usize] == qrcode::Color::Dark
    };
    let mut pixels = Vec::with_capacity((size * size) as usize);
    for y in 0..size {
        pixels.extend((0..size).map(|x| if dark(x, y) { 0u8 } else { 255u8 }));
    }
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, size, size);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Fast);
    let mut w = enc.write_header().ok()?;
    w.write_image_data(&pixels).ok()?;
    w.finish().ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_png_is_drawn_once_and_then_served_from_the_cache() {
        let key = PngKey {
            link: "http://127.0.0.1:1/landing?token=cache-test".into(),
            size: 300,
        };
        let first = png(key.clone()).await.unwrap();
        assert!(first.starts_with(b"\x89PNG"));
        let second = png(key.clone()).await.unwrap();
        // The same allocation: served from the cache, not drawn again.
        assert_eq!(first.as_ptr(), second.as_ptr());
        for i in 0..PNG_CACHE_ENTRIES {
            png(PngKey {
                link: format!("http://127.0.0.1:1/landing?token=evict-{i}"),
                size: 100,
            })
            .await
            .unwrap();
        }
        assert!(PNG_CACHE.lock().len() <= PNG_CACHE_ENTRIES, "the cache is bounded");
        assert!(cached(&key).is_none(), "the oldest entry went first");
    }
}
