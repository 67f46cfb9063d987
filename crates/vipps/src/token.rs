//! The access-token cache: shared by every clone of a client, single-flight, never caches errors.

use crate::error::{Error, Result};
use crate::secret::Secret;
use parking_lot::RwLock;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;
use vipps_types::access_token::AccessTokenResponse;

/// A cached access token with its ready-made `Authorization` header (marked sensitive).
#[derive(Clone)]
pub(crate) struct Bearer {
    pub(crate) token: Secret,
    pub(crate) header: http::HeaderValue,
}

#[derive(Clone)]
struct Cached {
    bearer: Bearer,
    refresh_at: Instant,
}

/// Caches one access token until shortly before it expires.
pub(crate) struct TokenCache {
    current: RwLock<Option<Cached>>,
    refresh: tokio::sync::Mutex<()>,
    fetches: AtomicU64,
}

impl TokenCache {
    pub(crate) fn new() -> Self {
        TokenCache {
            current: RwLock::new(None),
            refresh: tokio::sync::Mutex::new(()),
            fetches: AtomicU64::new(0),
        }
    }

    fn fresh(&self) -> Option<Bearer> {
        let g = self.current.read();
        g.as_ref()
            .filter(|c| Instant::now() < c.refresh_at)
            .map(|c| c.bearer.clone())
    }

    /// How many token requests this cache has sent.
    pub(crate) fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// The cached token, or one fetched with `fetch` when none is fresh. Concurrent callers
    /// wait for a single fetch. A failed fetch is not cached: the next caller tries again.
    pub(crate) async fn get<F, Fut>(&self, fetch: F) -> Result<Bearer>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<AccessTokenResponse>>,
    {
        if let Some(t) = self.fresh() {
            return Ok(t);
        }
        let _guard = self.refresh.lock().await;
        if let Some(t) = self.fresh() {
            return Ok(t);
        }
        let started = Instant::now();
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let resp = fetch().await?;
        let lifetime = lifetime_of(&resp);
        let margin = refresh_margin(lifetime);
        let mut header = http::HeaderValue::try_from(format!("Bearer {}", resp.access_token))
            .map_err(|_| Error::config("the access token has characters HTTP headers do not allow"))?;
        header.set_sensitive(true);
        let bearer = Bearer {
            token: Secret::new(resp.access_token),
            header,
        };
        *self.current.write() = Some(Cached {
            bearer: bearer.clone(),
            refresh_at: started + lifetime - margin,
        });
        Ok(bearer)
    }

    /// Forgets `used` if it is still the cached token (after a 401).
    pub(crate) fn invalidate(&self, used: &Secret) {
        let mut g = self.current.write();
        if g.as_ref().is_some_and(|c| &c.bearer.token == used) {
            *g = None;
        }
    }
}

/// The token's lifetime from `expires_in`, else `expires_on` − now, else one hour.
fn lifetime_of(resp: &AccessTokenResponse) -> Duration {
    if let Some(s) = resp.expires_in.filter(|s| *s > 0) {
        return Duration::from_secs(s as u64);
    }
    if let Some(on) = resp.expires_on {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        if on > now {
            return Duration::from_secs((on - now) as u64);
        }
        return Duration::ZERO;
    }
    Duration::from_secs(3600)
}

/// Refresh when a tenth of the lifetime is left, at least 60 s before expiry, but never
/// earlier than half-way.
fn refresh_margin(lifetime: Duration) -> Duration {
    (lifetime / 10).max(Duration::from_secs(60)).min(lifetime / 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn resp(token: &str, expires_in: i64) -> AccessTokenResponse {
        serde_json::from_value(serde_json::json!({
            "token_type": "Bearer", "expires_in": expires_in.to_string(), "access_token": token
        }))
        .unwrap()
    }

    /// The token `cache` hands out when a fetch would bring `fetched`.
    async fn token_after(cache: &TokenCache, fetched: &'static str) -> String {
        let b = cache.get(|| async move { Ok(resp(fetched, 3600)) }).await.unwrap();
        b.token.expose().to_owned()
    }

    #[tokio::test(start_paused = true)]
    async fn many_concurrent_callers_cause_one_fetch() {
        let cache = Arc::new(TokenCache::new());
        let calls = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..100 {
            let cache = cache.clone();
            let calls = calls.clone();
            tasks.push(tokio::spawn(async move {
                cache
                    .get(|| async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok(resp("tok-1", 3600))
                    })
                    .await
                    .unwrap()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().token.expose(), "tok-1");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(cache.fetch_count(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn refreshes_before_expiry_and_never_caches_errors() {
        let cache = TokenCache::new();
        let err = cache.get(|| async { Err(crate::Error::config("boom")) }).await;
        assert!(err.is_err());
        let t = cache.get(|| async { Ok(resp("a", 3600)) }).await.unwrap();
        assert_eq!(t.token.expose(), "a");
        // still fresh 50 minutes later (margin is 6 minutes for a 1-hour token)
        tokio::time::advance(Duration::from_secs(50 * 60)).await;
        assert_eq!(token_after(&cache, "b").await, "a");
        // inside the margin: refreshed
        tokio::time::advance(Duration::from_secs(5 * 60)).await;
        assert_eq!(token_after(&cache, "b").await, "b");
        // invalidation of a token no longer cached does nothing; of the current one drops it
        cache.invalidate(&Secret::new("a"));
        assert_eq!(token_after(&cache, "c").await, "b");
        cache.invalidate(&Secret::new("b"));
        assert_eq!(token_after(&cache, "c").await, "c");
    }

    #[tokio::test(start_paused = true)]
    async fn caches_a_sensitive_authorization_header_and_refuses_a_token_http_cannot_carry() {
        let cache = TokenCache::new();
        let bad = cache.get(|| async { Ok(resp("line\nbreak", 3600)) }).await;
        assert!(bad.is_err(), "a token with a newline cannot be sent in a header");
        let b = cache.get(|| async { Ok(resp("good", 3600)) }).await.unwrap();
        assert_eq!(b.header.to_str().unwrap(), "Bearer good");
        assert!(b.header.is_sensitive());
        assert_eq!(cache.fetch_count(), 2, "the refused token was not cached");
    }

    #[test]
    fn margins() {
        assert_eq!(refresh_margin(Duration::from_secs(3600)), Duration::from_secs(360));
        assert_eq!(refresh_margin(Duration::from_secs(300)), Duration::from_secs(60));
        assert_eq!(refresh_margin(Duration::from_secs(60)), Duration::from_secs(30));
        assert_eq!(refresh_margin(Duration::from_secs(86398)).as_secs(), 8639);
    }
}
