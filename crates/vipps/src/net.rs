//! The HTTP stack under the transport: hyper's pooled HTTP/1.1 client, TLS by rustls (the
//! webpki roots, the `ring` provider), and proxies reached through `CONNECT` tunnels.
//!
//! The transport ([`crate::transport`]) decides what to send, with which headers, how often
//! and for how long; this module only moves one request and its answer.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tower_service::Service;

use crate::config::Proxy;
use crate::error::{BodyTooLarge, Error, NetworkError};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A request body: the whole body, in memory.
pub(crate) type Body = Full<Bytes>;

/// One exchange's failure: the connection could not be made (nothing was sent), or it broke
/// after the request was, perhaps, sent.
pub(crate) enum Failure {
    Connect(NetworkError),
    Broken(NetworkError),
    /// The answer's body was larger than the client's limit; reading stopped there.
    TooLarge(NetworkError),
}

/// The pooled client. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Http {
    client: hyper_util::client::legacy::Client<Bounded<hyper_rustls::HttpsConnector<Connector>>, Body>,
}

impl Http {
    /// A client that connects within `connect_timeout` (DNS, TCP, the proxy's tunnel and the
    /// TLS handshake together) and keeps idle connections for a minute.
    pub(crate) fn new(connect_timeout: Duration, proxy: &Proxy) -> Result<Http, Error> {
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        // Per address tried (hyper splits it among a name's addresses); `Bounded` below
        // holds the whole connect to the same limit.
        tcp.set_connect_timeout(Some(connect_timeout));
        // TCP keepalive as reqwest set it: a dead peer is noticed on an idle pooled connection.
        tcp.set_keepalive(Some(Duration::from_secs(15)));
        tcp.set_keepalive_interval(Some(Duration::from_secs(15)));
        tcp.set_keepalive_retries(Some(3));
        let proxies = match proxy {
            Proxy::FromEnv => Some(Matcher::from_env()),
            Proxy::Off => None,
            Proxy::Url(url) => {
                let m = Matcher::builder().all(url.expose().to_owned()).build();
                // The matcher drops a URL it cannot parse, which would send every call
                // straight to the server: refuse that instead.
                if m.intercept(&Uri::from_static("https://api.vipps.no/")).is_none() {
                    return Err(Error::config("proxy URL is not valid"));
                }
                Some(m)
            }
        };
        let connector = Connector {
            tcp,
            proxies: proxies.map(Arc::new),
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(provider)
            .map_err(|e| Error::config(format!("TLS could not be set up: {e}")))?
            .https_or_http()
            .enable_http1()
            .wrap_connector(connector);
        let https = Bounded {
            inner: https,
            timeout: connect_timeout,
        };
        let client = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(https);
        Ok(Http { client })
    }

    /// Sends `req` and reads the whole answer, if its body is at most `max_body` bytes.
    pub(crate) async fn exchange(
        &self,
        req: Request<Body>,
        max_body: usize,
    ) -> Result<(http::response::Parts, Bytes), Failure> {
        let resp = self.client.request(req).await.map_err(|e| {
            if e.is_connect() {
                Failure::Connect(NetworkError::new(e))
            } else {
                Failure::Broken(NetworkError::new(e))
            }
        })?;
        let (parts, body) = resp.into_parts();
        // Bounded: a server (or a man in the middle) could otherwise send a body without end
        // and take all of the caller's memory. `Limited` also refuses a too-large
        // `Content-Length` before reading anything.
        let body = http_body_util::Limited::new(body, max_body)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    Failure::TooLarge(NetworkError::new(BodyTooLarge { limit: max_body }))
                } else {
                    Failure::Broken(NetworkError::new(e))
                }
            })?
            .to_bytes();
        Ok((parts, body))
    }
}

/// Tells, after an attempt timed out, whether it had a connection by then: a request that
/// never got one was not sent.
pub(crate) struct ConnectWatch(hyper_util::client::legacy::connect::CaptureConnection);

impl ConnectWatch {
    /// Watches `req` (before it is sent).
    pub(crate) fn new(req: &mut Request<Body>) -> ConnectWatch {
        ConnectWatch(hyper_util::client::legacy::connect::capture_connection(req))
    }

    /// Whether the request got a connection (new or pooled).
    pub(crate) fn connected(&self) -> bool {
        self.0.connection_metadata().is_some()
    }
}

/// Opens the TCP connection under each pooled connection: straight to the server, or through
/// the proxy that the settings pick for the server (a `CONNECT` tunnel, with the proxy's
/// credentials when its URL has them). TLS, where the scheme asks for it, goes on top.
#[derive(Clone)]
struct Connector {
    tcp: HttpConnector,
    proxies: Option<Arc<Matcher>>,
}

/// A proxy this client cannot use.
#[derive(Debug)]
struct UnsupportedProxy(String);

impl std::fmt::Display for UnsupportedProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the proxy's scheme is {}; only http:// proxies (CONNECT tunnels) are supported",
            self.0
        )
    }
}

impl std::error::Error for UnsupportedProxy {}

/// A connector whose whole connect (DNS, TCP, tunnel, TLS) must finish within `timeout`; when
/// it does not, the failure is a connect error (`io::ErrorKind::TimedOut`): nothing was sent.
#[derive(Clone)]
struct Bounded<C> {
    inner: C,
    timeout: Duration,
}

impl<C> Service<Uri> for Bounded<C>
where
    C: Service<Uri>,
    C::Error: Into<BoxError>,
    C::Future: Send + 'static,
{
    type Response = C::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<C::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let connecting = self.inner.call(dst);
        let timeout = self.timeout;
        Box::pin(async move {
            match tokio::time::timeout(timeout, connecting).await {
                Ok(done) => done.map_err(Into::into),
                Err(_) => Err(Box::new(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("connect timed out after {} ms", timeout.as_millis()),
                )) as BoxError),
            }
        })
    }
}

/// `dst` with its port written out: a tunnel to a URI without one would go to port 443, even
/// for `http://`.
fn with_port(dst: Uri) -> Result<Uri, BoxError> {
    if dst.port_u16().is_some() {
        return Ok(dst);
    }
    let port = if dst.scheme_str() == Some("https") { 443 } else { 80 };
    let host = dst.host().ok_or("the URI has no host")?;
    let mut parts = dst.clone().into_parts();
    parts.authority = Some(format!("{host}:{port}").parse()?);
    Ok(Uri::from_parts(parts)?)
}

impl Service<Uri> for Connector {
    type Response = TokioIo<tokio::net::TcpStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let mut tcp = self.tcp.clone();
        let via = self.proxies.as_ref().and_then(|m| m.intercept(&dst));
        Box::pin(async move {
            let Some(proxy) = via else {
                return tcp.call(dst).await.map_err(Into::into);
            };
            match proxy.uri().scheme_str() {
                Some("http") => {}
                other => return Err(Box::new(UnsupportedProxy(other.unwrap_or("missing").to_owned())) as BoxError),
            }
            let mut tunnel = Tunnel::new(proxy.uri().clone(), tcp);
            if let Some(auth) = proxy.basic_auth() {
                tunnel = tunnel.with_auth(auth.clone());
            }
            tunnel.call(with_port(dst)?).await.map_err(Into::into)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::with_port;

    #[test]
    fn a_tunnel_goes_to_the_scheme_s_port() {
        let port = |u: &str| with_port(u.parse().unwrap()).unwrap().authority().unwrap().to_string();
        assert_eq!(port("http://emulator/x"), "emulator:80");
        assert_eq!(port("https://api.vipps.no/"), "api.vipps.no:443");
        assert_eq!(port("http://127.0.0.1:8080/"), "127.0.0.1:8080");
        assert_eq!(port("http://[::1]/"), "[::1]:80");
    }
}
