//! Request validation shared by the SDK (checked before sending) and the emulator
//! (checked on receipt, answered with a 400 naming the field).

use std::fmt;

/// A request field that breaks one of the API's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// The JSON path of the field, e.g. `amount.value` or `customer.phoneNumber`.
    pub field: String,
    /// What is wrong, in words.
    pub message: String,
    /// The API's numeric error code for this failure, where it documents one
    /// (ePayment: 4070 invalid phone number, 6010 amount too small, …).
    pub code: Option<u32>,
}

impl ValidationError {
    /// A validation error without an API error code.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        ValidationError {
            field: field.into(),
            message: message.into(),
            code: None,
        }
    }
    /// A validation error with the API's numeric error code.
    pub fn with_code(field: impl Into<String>, message: impl Into<String>, code: u32) -> Self {
        ValidationError {
            field: field.into(),
            message: message.into(),
            code: Some(code),
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for ValidationError {}

/// Types that can check themselves against the API's documented rules.
pub trait Validate {
    /// `Ok` when the value satisfies every rule that can be checked without server state.
    fn validate(&self) -> Result<(), ValidationError>;
}

/// Checks a string's length in characters.
pub fn check_len(field: &str, s: &str, min: usize, max: usize) -> Result<(), ValidationError> {
    let n = s.chars().count();
    if n < min || n > max {
        return Err(ValidationError::new(
            field,
            format!("must be between {min} and {max} characters long (was {n})"),
        ));
    }
    Ok(())
}

/// Whether `host` (as written in a URL's authority) is a loopback host: a loopback IP address
/// or exactly `localhost`. Prefixes do not count: `127.attacker.example` is a public name.
pub fn is_loopback_host(host: &str) -> bool {
    match url::Host::parse(host) {
        Ok(h) => is_loopback(&h),
        Err(_) => false,
    }
}

fn is_loopback<S: AsRef<str>>(host: &url::Host<S>) -> bool {
    match host {
        url::Host::Domain(d) => d.as_ref().eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}

/// Checks a URL the API wants as `https://` (or, with `allow_custom_scheme`, an app scheme
/// like `myapp://`). Plain `http://` is accepted only to a loopback host, so local merchant
/// servers work with the emulator.
///
/// The URL is parsed once with the WHATWG parser the HTTP client also uses, and the decision
/// is taken on the parsed host: splitting the text by hand disagreed with the client (it reads
/// `\` as `/`), so a loopback-looking authority could send the request elsewhere.
pub fn check_url(field: &str, s: &str, allow_custom_scheme: bool, code: Option<u32>) -> Result<(), ValidationError> {
    let err = |m: &str| ValidationError {
        field: field.to_owned(),
        message: m.to_owned(),
        code,
    };
    if s.len() > 2048 {
        return Err(err("URL is longer than 2048 characters"));
    }
    if s.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(err("URL must not contain whitespace or control characters"));
    }
    let Some((scheme, _)) = s.split_once("://") else {
        return Err(err("must be an absolute URL (https:// or an app scheme)"));
    };
    let scheme_ok = !scheme.is_empty()
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok {
        return Err(err("URL scheme is not valid"));
    }
    let scheme = scheme.to_ascii_lowercase();
    let parsed = url::Url::parse(s);
    match scheme.as_str() {
        "https" | "http" => {
            let Ok(u) = parsed else {
                return Err(err("URL is not valid"));
            };
            let Some(host) = u.host() else {
                return Err(err("URL has no host"));
            };
            if scheme == "https" {
                return Ok(());
            }
            // Credentials in a plain-http URL would travel in clear text, and a userinfo part
            // is how a loopback-looking authority hides its real host.
            if !u.username().is_empty() || u.password().is_some() {
                return Err(err("http:// URLs must not contain user information (user:password@)"));
            }
            if is_loopback(&host) {
                Ok(())
            } else {
                Err(err("must use https:// (plain http:// is only accepted for localhost)"))
            }
        }
        _ if allow_custom_scheme => Ok(()),
        _ => Err(err("must use https://")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(check_url("u", "https://example.com/x?y=1", false, None).is_ok());
        assert!(check_url("u", "http://example.com/x", true, None).is_err());
        assert!(check_url("u", "http://localhost:8080/cb", false, None).is_ok());
        assert!(check_url("u", "http://127.0.0.1:1/cb", false, None).is_ok());
        assert!(check_url("u", "http://[::1]:1/cb", false, None).is_ok());
        assert!(check_url("u", "myapp://done", true, None).is_ok());
        assert!(check_url("u", "myapp://done", false, None).is_err());
        assert!(check_url("u", "not a url", true, None).is_err());
        assert!(check_url("u", "https://", false, None).is_err());
        assert!(check_url("u", "/relative", true, None).is_err());
    }

    #[test]
    fn loopback_bypasses_are_refused() {
        // The parser reads `\` as `/`: the host is 127.0.0.1:18931, the rest is the path.
        // Either it is refused (userinfo-looking text) or the host decided on is the one the
        // client connects to; with user information in http it is refused outright.
        let backslash = "http://127.0.0.1:18931\\@127.0.0.1:1/diff";
        let parsed = url::Url::parse(backslash).unwrap();
        assert_eq!(parsed.port(), Some(18931), "the client connects to 18931");
        assert!(check_url("u", "http://user:pw@127.0.0.1:1/x", false, None).is_err());
        assert!(check_url("u", "http://evil.example\\@127.0.0.1:1/x", false, None).is_err());
        assert!(check_url("u", "http://evil.example:80\\@127.0.0.1/x", false, None).is_err());
        assert!(check_url("u", "http://127.0.0.1@evil.example/x", false, None).is_err());
        assert!(check_url("u", "http://127.attacker.example/x", false, None).is_err());
        assert!(check_url("u", "http://localhost.attacker.example/x", false, None).is_err());
        assert!(check_url("u", "http://localhost#@evil.example/x", false, None).is_ok());
        assert!(check_url("u", "http://127.0.0.1:1/x", false, None).is_ok());
        assert!(check_url("u", "http://127.1.2.3/x", false, None).is_ok());
        assert!(check_url("u", "http://LOCALHOST:9/x", false, None).is_ok());
        assert!(!is_loopback_host("127.attacker.example"));
        assert!(is_loopback_host("[::1]"));
        assert!(is_loopback_host("127.0.0.1"));
        // https keeps its userinfo (sent as Basic credentials, over TLS).
        assert!(check_url("u", "https://user:pw@example.com/x", false, None).is_ok());
    }

    #[test]
    fn lengths_count_characters() {
        assert!(check_len("d", "abc", 3, 100).is_ok());
        assert!(check_len("d", "ab", 3, 100).is_err());
        assert!(check_len("d", &"ø".repeat(100), 3, 100).is_ok());
    }
}
