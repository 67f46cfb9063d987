//! HS256 JSON Web Tokens, signed with a random per-emulator key.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::fmt;
use time::OffsetDateTime;

type HmacSha256 = Hmac<Sha256>;

/// The claims of an emulator access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Claims {
    /// The `client_id` the token was issued to.
    pub(crate) sub: String,
    /// The merchant serial number the token is bound to.
    pub(crate) msn: String,
    /// Issued at (Unix seconds).
    pub(crate) iat: i64,
    /// Not before (Unix seconds).
    pub(crate) nbf: i64,
    /// Expiry (Unix seconds).
    pub(crate) exp: i64,
    /// Unique token id.
    pub(crate) jti: String,
    /// Issuer.
    #[serde(default)]
    pub(crate) iss: String,
    /// Which token endpoint issued the token: the two are not interchangeable
    /// (access-token--overview-2026.md), so the APIs must tell them apart.
    #[serde(default)]
    pub(crate) kind: TokenKind,
}

/// The flow a token came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum TokenKind {
    /// `POST /accesstoken/get` (sales unit or partner keys).
    #[default]
    Standard,
    /// `POST /miami/v1/token` (accounting or Donations merchant-level keys).
    Specialized,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenError {
    /// Not three base64url parts, bad JSON, or not HS256.
    Malformed,
    /// The signature does not match.
    BadSignature,
    /// `exp` has passed.
    Expired,
    /// `nbf` is in the future.
    NotYetValid,
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenError::Malformed => "the access token is not a valid JWT",
            TokenError::BadSignature => "the access token signature is invalid",
            TokenError::Expired => "the access token has expired",
            TokenError::NotYetValid => "the access token is not valid yet",
        })
    }
}

/// Signs and verifies tokens with a key that lives as long as the emulator.
#[derive(Clone)]
pub(crate) struct TokenSigner {
    key: [u8; 32],
    /// Tokens whose signature was already checked, with their claims: a token string is only
    /// ever verified once (the validity window is still checked on every use). Hashed with
    /// foldhash: SipHash over a token of a few hundred bytes was 2 % of a GET's CPU time, and
    /// only tokens with a valid signature get in, so nobody can choose colliding keys.
    verified: std::sync::Arc<parking_lot::RwLock<VerifiedMemo>>,
}

type VerifiedMemo = std::collections::HashMap<String, std::sync::Arc<Claims>, foldhash::fast::RandomState>;

/// How many verified tokens are remembered before the memo starts afresh.
const VERIFIED_MEMO: usize = 10_000;

impl fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenSigner(<key>)")
    }
}

impl Default for TokenSigner {
    fn default() -> Self {
        Self::random()
    }
}

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;
/// Accepted clock skew for `nbf`, in seconds.
const SKEW_SECS: i64 = 5;

impl TokenSigner {
    /// A signer with a fresh random key.
    pub(crate) fn random() -> Self {
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        TokenSigner {
            key,
            verified: Default::default(),
        }
    }

    /// A signer with the key [`TokenSigner::saved`] gave (a data dir's, so tokens outlive a
    /// restart); `None` for anything else.
    pub(crate) fn from_saved(text: &str) -> Option<Self> {
        let key = URL_SAFE_NO_PAD.decode(text).ok()?.try_into().ok()?;
        Some(TokenSigner {
            key,
            verified: Default::default(),
        })
    }

    /// The key as text, to be saved.
    pub(crate) fn saved(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.key)
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail.
        match HmacSha256::new_from_slice(&self.key) {
            Ok(m) => m,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        }
    }

    /// A signed token for the claims.
    pub(crate) fn sign(&self, claims: &Claims) -> String {
        let payload = serde_json::to_vec(claims).unwrap_or_default();
        let signing_input = format!("{}.{}", URL_SAFE_NO_PAD.encode(HEADER), URL_SAFE_NO_PAD.encode(payload));
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        let sig = mac.finalize().into_bytes();
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    /// Verifies the signature and the validity window against `now`.
    pub(crate) fn verify(&self, token: &str, now: OffsetDateTime) -> Result<std::sync::Arc<Claims>, TokenError> {
        let known = self.verified.read().get(token).cloned();
        let claims = match known {
            Some(c) => c,
            None => {
                let c = std::sync::Arc::new(self.verify_signature(token)?);
                let mut memo = self.verified.write();
                if memo.len() >= VERIFIED_MEMO {
                    memo.clear();
                }
                memo.insert(token.to_owned(), c.clone());
                c
            }
        };
        let now = now.unix_timestamp();
        if now >= claims.exp {
            return Err(TokenError::Expired);
        }
        if now.saturating_add(SKEW_SECS) < claims.nbf {
            return Err(TokenError::NotYetValid);
        }
        Ok(claims)
    }

    /// Checks the header, signature and payload of a token.
    fn verify_signature(&self, token: &str) -> Result<Claims, TokenError> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(TokenError::Malformed);
        };
        let header = URL_SAFE_NO_PAD.decode(h).map_err(|_| TokenError::Malformed)?;
        let header: serde_json::Value = serde_json::from_slice(&header).map_err(|_| TokenError::Malformed)?;
        if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
            return Err(TokenError::Malformed);
        }
        let sig = URL_SAFE_NO_PAD.decode(s).map_err(|_| TokenError::Malformed)?;
        let mut mac = self.mac();
        mac.update(h.as_bytes());
        mac.update(b".");
        mac.update(p.as_bytes());
        mac.verify_slice(&sig).map_err(|_| TokenError::BadSignature)?;
        let payload = URL_SAFE_NO_PAD.decode(p).map_err(|_| TokenError::Malformed)?;
        serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(now: i64) -> Claims {
        Claims {
            sub: "client".into(),
            msn: "123456".into(),
            iat: now,
            nbf: now,
            exp: now + 60,
            jti: "x".into(),
            iss: "vipps-emulator".into(),
            kind: TokenKind::Standard,
        }
    }

    #[test]
    fn round_trip_and_failures() {
        let s = TokenSigner::random();
        let now = OffsetDateTime::now_utc();
        let t = s.sign(&claims(now.unix_timestamp()));
        assert_eq!(t.split('.').count(), 3);
        assert_eq!(s.verify(&t, now).unwrap().sub, "client");
        assert_eq!(
            s.verify(&t, now + time::Duration::seconds(61)),
            Err(TokenError::Expired)
        );
        assert_eq!(TokenSigner::random().verify(&t, now), Err(TokenError::BadSignature));
        assert_eq!(s.verify("a.b", now), Err(TokenError::Malformed));
        assert_eq!(s.verify("not-a-jwt", now), Err(TokenError::Malformed));
        let mut tampered = t.clone();
        tampered.push('A');
        assert!(s.verify(&tampered, now).is_err());
    }
}
