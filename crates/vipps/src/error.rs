//! The one error type of the SDK.

use std::fmt;
use vipps_types::{Problem, ValidationError};

/// What went wrong. See [`Error`] for the queries that work across kinds.
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request broke a documented rule and was not sent.
    Validation(ValidationError),
    /// The client is misconfigured, or the operation is not allowed in this environment
    /// (force approve in production). Nothing was sent.
    Config(String),
    /// The API answered with an error status.
    Api {
        /// HTTP status.
        status: u16,
        /// The problem details, when the body was one (eCom's error array is mapped in too).
        problem: Option<Problem>,
        /// The raw body (at most 4 KiB), for bodies that were not problem details.
        body: String,
    },
    /// The connection could not be made (DNS, TCP, proxy tunnel or TLS); the request did not
    /// reach the server.
    Connect(NetworkError),
    /// The attempt timed out; the request may have reached the server.
    Timeout,
    /// The connection failed after the request was (perhaps) sent.
    Transport(NetworkError),
    /// A success response could not be parsed.
    Decode {
        /// HTTP status.
        status: u16,
        /// The JSON path that failed and why.
        message: String,
    },
}

/// An error from the SDK.
///
/// Ask it [`Error::status`], [`Error::problem`], [`Error::error_code`], [`Error::trace_id`],
/// [`Error::idempotency_key`] (the key the failed call used: retry with it),
/// [`Error::may_have_reached_server`] and [`Error::is_retryable`].
/// No secret is ever part of an error or its `Display`.
pub struct Error(Box<Inner>);

struct Inner {
    kind: ErrorKind,
    idempotency_key: Option<String>,
    operation: Option<String>,
    attempts: u32,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Self {
        Error(Box::new(Inner {
            kind,
            idempotency_key: None,
            operation: None,
            attempts: 0,
        }))
    }
    pub(crate) fn config(msg: impl Into<String>) -> Self {
        Error::new(ErrorKind::Config(msg.into()))
    }
    pub(crate) fn validation(e: ValidationError) -> Self {
        Error::new(ErrorKind::Validation(e))
    }
    pub(crate) fn with_context(mut self, key: Option<String>, operation: String, attempts: u32) -> Self {
        self.0.idempotency_key = key;
        self.0.operation = Some(operation);
        self.0.attempts = attempts;
        self
    }

    /// The kind of error.
    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match &self.0.kind {
            ErrorKind::Api { status, .. } | ErrorKind::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }
    /// The problem details the API sent.
    pub fn problem(&self) -> Option<&Problem> {
        match &self.0.kind {
            ErrorKind::Api { problem, .. } => problem.as_ref(),
            _ => None,
        }
    }
    /// The numeric ePayment error code (`extraDetails` `ErrorCode`), e.g. `6080`.
    pub fn error_code(&self) -> Option<u32> {
        self.problem().and_then(Problem::error_code)
    }
    /// The trace id to give Vipps MobilePay support.
    pub fn trace_id(&self) -> Option<&str> {
        self.problem().and_then(|p| p.trace_id.as_deref())
    }
    /// The idempotency key (or eCom `X-Request-Id`) every attempt of this call carried.
    /// Retry the same operation with this key to avoid a second effect.
    pub fn idempotency_key(&self) -> Option<&str> {
        self.0.idempotency_key.as_deref()
    }
    /// The validation error, for requests rejected before sending.
    pub fn validation_error(&self) -> Option<&ValidationError> {
        match &self.0.kind {
            ErrorKind::Validation(v) => Some(v),
            _ => None,
        }
    }
    /// How many attempts were made (0 when nothing was sent).
    pub fn attempts(&self) -> u32 {
        self.0.attempts
    }
    /// Whether the request may have had an effect on the server. `false` means it surely
    /// did not (validation, configuration, connection refused, or a 4xx answer other than a
    /// replayed one); `true` means check the resource or retry with the same idempotency key.
    pub fn may_have_reached_server(&self) -> bool {
        match &self.0.kind {
            ErrorKind::Validation(_) | ErrorKind::Config(_) | ErrorKind::Connect(_) => false,
            ErrorKind::Api { .. } | ErrorKind::Decode { .. } => true,
            ErrorKind::Timeout | ErrorKind::Transport(_) => true,
        }
    }
    /// Whether repeating the call (with the same idempotency key) might succeed.
    pub fn is_retryable(&self) -> bool {
        match &self.0.kind {
            ErrorKind::Api { status, .. } => crate::retry::is_retryable_status(*status),
            // An answer over the body limit would be as large again.
            ErrorKind::Transport(n) => !n.is_body_too_large(),
            ErrorKind::Connect(_) | ErrorKind::Timeout => true,
            _ => false,
        }
    }
    /// Whether this is a timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self.0.kind, ErrorKind::Timeout)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(op) = &self.0.operation {
            write!(f, "{op}: ")?;
        }
        match &self.0.kind {
            ErrorKind::Validation(v) => write!(f, "invalid request, not sent: {v}")?,
            ErrorKind::Config(m) => write!(f, "configuration error, not sent: {m}")?,
            ErrorKind::Api { status, problem, body } => {
                write!(f, "HTTP {status}")?;
                match problem {
                    Some(p) => {
                        if let Some(t) = &p.title {
                            write!(f, " {t}")?;
                        }
                        if let Some(c) = p.error_code().map(|c| c.to_string()).or_else(|| p.error_code.clone()) {
                            write!(f, " (code {c})")?;
                        }
                        if let Some(d) = &p.detail {
                            write!(f, ": {d}")?;
                        }
                        for x in p.extra_details.iter().filter(|x| x.name != "ErrorCode") {
                            write!(f, "; {}: {}", x.name, x.reason)?;
                        }
                        if let Some(errs) = &p.errors {
                            for (k, v) in errs {
                                write!(f, "; {k}: {}", v.join(", "))?;
                            }
                        }
                        if let Some(t) = &p.trace_id {
                            write!(f, " [traceId {t}]")?;
                        }
                    }
                    None if !body.is_empty() => {
                        let short: String = body.chars().take(300).collect();
                        write!(f, ": {short}")?;
                    }
                    None => {}
                }
            }
            ErrorKind::Connect(e) => write!(f, "could not connect (request not sent): {}", e)?,
            ErrorKind::Timeout => write!(f, "timed out; the request may have reached the server")?,
            ErrorKind::Transport(e) => write!(f, "connection failed; the request may have reached the server: {}", e)?,
            ErrorKind::Decode { status, message } => {
                write!(f, "could not parse the HTTP {status} response: {message}")?
            }
        }
        if let Some(k) = &self.0.idempotency_key {
            write!(f, " (idempotency key {k})")?;
        }
        Ok(())
    }
}

/// A failure of the network under HTTP: connecting (DNS, TCP, the proxy's tunnel, TLS), or
/// the connection breaking or closing mid-answer. `Display` says what happened in a few words
/// ("connection refused", "timed out", "TLS failed", "connection failed");
/// [`std::error::Error::source`] leads to the underlying errors and their own messages (an
/// [`std::io::Error`] among them, where there is one), so reporters that print the chain
/// (`anyhow`, `{:#}`) print each once. `Debug` shows the message and the chain. None of them
/// holds a URL, a header or a credential.
pub struct NetworkError(Box<dyn std::error::Error + Send + Sync>);

impl NetworkError {
    pub(crate) fn new(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        NetworkError(e.into())
    }

    /// The kind of the [`std::io::Error`] at the root of this failure, if one is (such as
    /// `ConnectionRefused`, `TimedOut` or `ConnectionReset`).
    pub fn io_error_kind(&self) -> Option<std::io::ErrorKind> {
        self.causes()
            .find_map(|e| e.downcast_ref::<std::io::Error>())
            .map(std::io::Error::kind)
    }

    /// The wrapped error and every error under it.
    /// Whether the answer was refused for being larger than the client's body limit.
    fn is_body_too_large(&self) -> bool {
        self.causes().any(|e| e.is::<BodyTooLarge>())
    }

    fn causes(&self) -> impl Iterator<Item = &(dyn std::error::Error + 'static)> {
        std::iter::successors(Some(&*self.0 as &(dyn std::error::Error + 'static)), |e| e.source())
    }

    /// Whether the TLS layer failed. rustls's error travels inside `io::Error`s (two, from
    /// hyper-rustls), which hide it from `source()`: look inside them.
    fn is_tls(&self) -> bool {
        self.causes().any(|cause| {
            std::iter::successors(Some(cause), |e| {
                e.downcast_ref::<std::io::Error>()
                    .and_then(std::io::Error::get_ref)
                    .map(|inner| inner as &(dyn std::error::Error + 'static))
            })
            .any(|e| e.is::<rustls::Error>())
        })
    }

    /// Whether hyper saw the connection close before the answer was complete.
    fn is_incomplete_answer(&self) -> bool {
        self.causes()
            .filter_map(|e| e.downcast_ref::<hyper::Error>())
            .any(hyper::Error::is_incomplete_message)
    }

    /// What happened, in a few words: the network condition the root I/O error names, else the
    /// layer that failed.
    fn summary(&self) -> &'static str {
        use std::io::ErrorKind as Io;
        if self.is_body_too_large() {
            return "response body too large";
        }
        match self.io_error_kind() {
            Some(Io::TimedOut) => "timed out",
            Some(Io::ConnectionRefused) => "connection refused",
            Some(Io::ConnectionReset) => "connection reset",
            Some(Io::ConnectionAborted) => "connection aborted",
            Some(Io::UnexpectedEof | Io::BrokenPipe) => "connection closed early",
            _ if self.is_tls() => "TLS failed",
            _ if self.is_incomplete_answer() => "connection closed early",
            _ => "connection failed",
        }
    }
}

impl fmt::Display for NetworkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only this error's own words: the causes are its `source()`, and printing them here
        // too made every chain-printing reporter show each of them twice.
        f.write_str(self.summary())
    }
}

impl fmt::Debug for NetworkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The causes' messages, not their `Debug`: those are the texts checked to hold no
        // URL or credential.
        let causes: Vec<String> = self.causes().map(|e| e.to_string()).collect();
        f.debug_struct("NetworkError")
            .field("summary", &self.summary())
            .field("causes", &causes)
            .finish()
    }
}

impl std::error::Error for NetworkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.0.kind)
            .field("idempotency_key", &self.0.idempotency_key)
            .field("operation", &self.0.operation)
            .field("attempts", &self.0.attempts)
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.0.kind {
            ErrorKind::Validation(v) => Some(v),
            ErrorKind::Connect(e) | ErrorKind::Transport(e) => Some(e),
            _ => None,
        }
    }
}

/// A `Result` with the SDK's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An answer whose body is larger than [`crate::ClientBuilder::max_response_bytes`].
#[derive(Debug)]
pub(crate) struct BodyTooLarge {
    pub(crate) limit: usize,
}

impl std::fmt::Display for BodyTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the response body is larger than the limit of {} bytes (ClientBuilder::max_response_bytes)",
            self.limit
        )
    }
}

impl std::error::Error for BodyTooLarge {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    /// A layer's error with its own message and maybe a cause, as the layers under hyper make.
    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<dyn std::error::Error + Send + Sync>>);

    impl fmt::Display for Layer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|e| e as _)
        }
    }

    /// What a chain-printing reporter prints: each error's `Display`, then its source's.
    fn chain(e: &(dyn std::error::Error + 'static)) -> Vec<String> {
        std::iter::successors(Some(e), |e| e.source())
            .map(|e| e.to_string())
            .collect()
    }

    fn refused() -> NetworkError {
        let io = io::Error::new(io::ErrorKind::ConnectionRefused, "Connection refused (os error 111)");
        NetworkError::new(Layer("tcp connect error", Some(Box::new(io))))
    }

    #[test]
    fn a_network_error_says_what_happened_and_leads_to_each_cause_once() {
        let e = refused();
        assert_eq!(e.to_string(), "connection refused");
        assert_eq!(
            chain(&e),
            [
                "connection refused",
                "tcp connect error",
                "Connection refused (os error 111)"
            ]
        );
        assert_eq!(e.io_error_kind(), Some(io::ErrorKind::ConnectionRefused));
        // `Debug` (as in a panic's message) still shows the causes.
        let debug = format!("{e:?}");
        assert!(
            debug.contains("connection refused") && debug.contains("tcp connect error"),
            "{debug}"
        );
        // In the SDK's error, each cause's text is printed once along the whole chain.
        let err = Error::new(ErrorKind::Connect(e));
        assert_eq!(
            err.to_string(),
            "could not connect (request not sent): connection refused"
        );
        let printed = chain(&err).join("\n");
        for cause in ["tcp connect error", "Connection refused (os error 111)"] {
            assert_eq!(printed.matches(cause).count(), 1, "{printed}");
        }
    }

    #[test]
    fn the_summary_names_the_condition_or_the_layer() {
        let timed_out = NetworkError::new(io::Error::new(io::ErrorKind::TimedOut, "connect timed out after 5 ms"));
        assert_eq!(timed_out.to_string(), "timed out");
        let reset = NetworkError::new(Layer(
            "error reading a body from connection",
            Some(Box::new(io::Error::from(io::ErrorKind::ConnectionReset))),
        ));
        assert_eq!(reset.to_string(), "connection reset");
        let tls = NetworkError::new(Layer(
            "client error (Connect)",
            // As hyper-rustls wraps tokio-rustls's error.
            Some(Box::new(io::Error::other(io::Error::new(
                io::ErrorKind::InvalidData,
                rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
            )))),
        ));
        assert_eq!(tls.to_string(), "TLS failed");
        assert!(chain(&tls).iter().any(|m| m.contains("certificate")), "{tls:?}");
        let proxy = NetworkError::new(Layer("proxy authorization required", None));
        assert_eq!(proxy.to_string(), "connection failed");
        assert_eq!(chain(&proxy)[1], "proxy authorization required");
    }
}
