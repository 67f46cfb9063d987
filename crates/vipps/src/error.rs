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
            ErrorKind::Connect(_) | ErrorKind::Timeout | ErrorKind::Transport(_) => true,
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
/// the connection breaking or closing mid-answer. `Display` gives the whole chain of causes;
/// [`std::error::Error::source`] leads to the underlying errors (an [`std::io::Error`] among
/// them, where there is one). Neither holds a URL, a header or a credential.
pub struct NetworkError(Box<dyn std::error::Error + Send + Sync>);

impl NetworkError {
    pub(crate) fn new(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        NetworkError(e.into())
    }

    /// The kind of the [`std::io::Error`] at the root of this failure, if one is (such as
    /// `ConnectionRefused`, `TimedOut` or `ConnectionReset`).
    pub fn io_error_kind(&self) -> Option<std::io::ErrorKind> {
        let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(&*self.0);
        while let Some(e) = cur {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                return Some(io.kind());
            }
            cur = e.source();
        }
        None
    }
}

impl fmt::Display for NetworkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // hyper's client error says only which stage failed ("client error (Connect)"),
        // which the error's kind already tells: start at its cause.
        let mut cur: Option<&(dyn std::error::Error + 'static)> = match self.0.source() {
            Some(cause) if self.0.is::<hyper_util::client::legacy::Error>() => Some(cause),
            _ => Some(&*self.0),
        };
        let mut first = true;
        while let Some(e) = cur {
            if !first {
                f.write_str(": ")?;
            }
            write!(f, "{e}")?;
            first = false;
            cur = e.source();
        }
        Ok(())
    }
}

impl fmt::Debug for NetworkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NetworkError({self})")
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
