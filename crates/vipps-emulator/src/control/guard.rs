//! Who may drive the control plane. It has no authentication (tools and tests drive it), so
//! a web page must not: a page can send a `text/plain` POST to any address without a CORS
//! preflight, and a DNS name rebound to 127.0.0.1 reaches the emulator with the page's own
//! name in `Host`. So every `/_emulator` request must name one of the emulator's own hosts in
//! `Host`, and a state-changing one (not GET/HEAD) that carries an `Origin` must come from
//! the emulator's own origin. Tools that send no `Origin` (curl, the SDKs) are unaffected.
//!
//! Off loopback (or when one is given) a token is required too: anybody on the network could
//! otherwise approve payments, move the clock or read webhook bodies. Tools send it in
//! `X-Emulator-Token`; a browser signs in at `/_emulator/login`, which sets it as an
//! `HttpOnly`, `SameSite=Strict` cookie scoped to `/_emulator`. The check is in this
//! middleware, so every control route (and every future one) is covered without opting in.

use crate::core::error::ApiError;
use crate::core::state::AppState;
use crate::web::respond;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use subtle::ConstantTimeEq;

/// The header tools send the token in.
pub(crate) const TOKEN_HEADER: &str = "x-emulator-token";
/// The cookie `POST /_emulator/login` sets.
pub(crate) const TOKEN_COOKIE: &str = "vipps_emulator_token";
/// The sign-in page, open without the token (it shows no data).
pub(crate) const LOGIN_PATH: &str = "/_emulator/login";

/// The middleware on every `/_emulator` route: 403 (problem JSON) for a foreign `Host`, or a
/// foreign `Origin` on a state-changing request.
pub(crate) async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let host = req.headers().get(header::HOST).map(|h| h.to_str().unwrap_or(""));
    // HTTP/1.1 clients always send Host; a request without one (a router driven in-process)
    // cannot come from a browser.
    if let Some(h) = host {
        if !own_host(&state, h) {
            return refuse(&req, "the Host header names none of the emulator's own hosts");
        }
    }
    let reads = req.method() == Method::GET || req.method() == Method::HEAD;
    if !reads {
        if let Some(origin) = req.headers().get(header::ORIGIN) {
            let origin = origin.to_str().unwrap_or("");
            if !own_origin(&state, origin, host) {
                return refuse(&req, "control requests from another origin are refused");
            }
        }
    }
    if let Some(expected) = &state.config().control_token {
        if req.uri().path() != LOGIN_PATH && !carries(req.headers(), expected.expose()) {
            return unauthorized(
                &req,
                "this control plane needs its token: send X-Emulator-Token, or sign in at /_emulator/login",
            );
        }
    }
    next.run(req).await
}

/// Whether the request carries `expected` in the header or the login cookie.
fn carries(headers: &HeaderMap, expected: &str) -> bool {
    let from_header = headers
        .get_all(TOKEN_HEADER)
        .iter()
        .any(|v| same(v.as_bytes(), expected));
    from_header
        || headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|c| c.trim().split_once('='))
            .any(|(name, value)| name == TOKEN_COOKIE && same(value.as_bytes(), expected))
}

/// Compares in constant time: the digests have one length whatever was sent, so neither the
/// length nor a matching prefix of the token shows in the time taken.
fn same(given: &[u8], expected: &str) -> bool {
    let a = Sha256::digest(given);
    let b = Sha256::digest(expected.as_bytes());
    a.ct_eq(&b).into()
}

/// 401: the login form for a person's browser (a GET preferring HTML), else a problem.
fn unauthorized(req: &Request, detail: &str) -> Response {
    if req.method() == Method::GET && prefers_html(req.headers()) {
        return login_page(StatusCode::UNAUTHORIZED, None);
    }
    respond(req.uri().path(), Err(ApiError::unauthorized(detail)))
}

/// Whether `Accept` ranks `text/html` above JSON: named with a positive weight, at least
/// the weight JSON is named with (browsers name it first; tools send `*/*` or JSON).
fn prefers_html(headers: &HeaderMap) -> bool {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    let (mut html, mut json) = (0.0f32, 0.0f32);
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let ty = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        match ty.as_str() {
            "text/html" => html = html.max(q),
            "application/json" | "application/problem+json" => json = json.max(q),
            _ => {}
        }
    }
    html > 0.0 && html >= json
}

/// `GET /_emulator/login`: the sign-in form.
pub(crate) async fn login_form() -> Response {
    login_page(StatusCode::OK, None)
}

/// `POST /_emulator/login` (form field `token`): the right token gets 303 to `/_emulator/`
/// with the cookie; a wrong one 401 (the form again for a browser, else a problem).
pub(crate) async fn login(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let given = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let Some(expected) = &state.config().control_token else {
        // An open control plane needs no sign-in.
        return see_dashboard(None);
    };
    if !same(given.as_bytes(), expected.expose()) {
        if prefers_html(&headers) {
            return login_page(StatusCode::UNAUTHORIZED, Some("That token is not this emulator's."));
        }
        return respond(LOGIN_PATH, Err(ApiError::unauthorized("wrong control token")));
    }
    let secure = state.public_url().starts_with("https://");
    let cookie = format!(
        "{TOKEN_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/_emulator{}",
        expected.expose(),
        if secure { "; Secure" } else { "" }
    );
    see_dashboard(HeaderValue::from_str(&cookie).ok())
}

fn see_dashboard(cookie: Option<HeaderValue>) -> Response {
    let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, "/_emulator/")]).into_response();
    if let Some(c) = cookie {
        r.headers_mut().insert(header::SET_COOKIE, c);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The sign-in page: one labelled password field and a button; `error` is announced to
/// screen readers (`role="alert"`).
fn login_page(status: StatusCode, error: Option<&str>) -> Response {
    let error = error.map_or(String::new(), |e| format!("<p role=\"alert\">{e}</p>"));
    let html = format!(
        r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in: Vipps MobilePay emulator</title></head>
<body>
<main>
<h1>Sign in to the emulator's control plane</h1>
<p>This emulator listens beyond this machine, so its control plane needs the token it printed at start-up.</p>
{error}<form method="post" action="{LOGIN_PATH}">
<label for="token">Control token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button>
</form>
</main>
</body>
</html>
"#
    );
    let mut r = (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn refuse(req: &Request, detail: &str) -> Response {
    respond(req.uri().path(), Err(ApiError::forbidden(detail)))
}

/// Whether `authority` (`host[:port]`) names the emulator: a loopback address, `localhost`,
/// the address it listens on (any IP address when it listens on all of them: an address is no
/// rebindable name), or the host of the configured public URL.
fn own_host(state: &AppState, authority: &str) -> bool {
    let Ok(a) = authority.parse::<http::uri::Authority>() else {
        return false;
    };
    let host = a.host().trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<IpAddr>() {
        let listen = state.listen_addr().map(|l| l.ip());
        if ip.is_loopback() || listen.is_some_and(|l| l.is_unspecified() || l == ip) {
            return true;
        }
    } else if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    url::Url::parse(&state.public_url())
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_owned())
        })
        .is_some_and(|h| h.eq_ignore_ascii_case(host))
}

/// Whether `origin` is the emulator's own: the origin the request was sent to (same scheme
/// rules, same host and port as `Host`) or the configured public URL's.
fn own_origin(state: &AppState, origin: &str, host: Option<&str>) -> bool {
    let Ok(o) = url::Url::parse(origin) else {
        return false; // includes the opaque "null" of sandboxed pages and file:// documents
    };
    let o = o.origin();
    if !o.is_tuple() {
        return false;
    }
    let serialized = o.ascii_serialization();
    let public = url::Url::parse(&state.public_url()).map(|u| u.origin().ascii_serialization());
    if public.is_ok_and(|p| p == serialized) {
        return true;
    }
    let (Some(host), url::Origin::Tuple(scheme, ..)) = (host, &o) else {
        return false;
    };
    url::Url::parse(&format!("{scheme}://{host}")).is_ok_and(|h| h.origin() == o)
}
