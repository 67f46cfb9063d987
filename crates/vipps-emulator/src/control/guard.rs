//! Who may drive the control plane. It has no authentication (tools and tests drive it), so
//! a web page must not: a page can send a `text/plain` POST to any address without a CORS
//! preflight, and a DNS name rebound to 127.0.0.1 reaches the emulator with the page's own
//! name in `Host`. So every `/_emulator` request must name one of the emulator's own hosts in
//! `Host`, and a state-changing one (not GET/HEAD) that carries an `Origin` must come from
//! the emulator's own origin. Tools that send no `Origin` (curl, the SDKs) are unaffected.

use crate::core::error::ApiError;
use crate::core::state::AppState;
use crate::web::respond;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{header, Method};
use std::net::IpAddr;

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
    next.run(req).await
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
