//! Payment events to registered webhooks: one signed delivery per (event, webhook), in order, retried; unresponsive webhooks are deleted.

use super::state::*;
use crate::core::objects::{ObjectDetail, ObjectKind, ObjectPage, ObjectQuery};
use crate::core::state::{AppState, WeakAppState};
use crate::core::store::{ApiEvent, PublishedEvent, Tables};
use crate::outbound::{AttemptHook, DeliveriesExt, Outbound, RetrySchedule};
use std::sync::Arc;
use time::OffsetDateTime;
use vipps_types::epayment::WebhookEvent;
use vipps_types::webhooks::{signature, WebhookEventType};

/// Who is registered for what, copied out of the registry: (id, MSN, URL, events, secret).
pub(super) type Target = (String, String, String, Vec<WebhookEventType>, Arc<str>);

/// Who is registered for what, now.
fn targets(state: &AppState) -> Vec<Target> {
    state.store().transact(|t| {
        t.get::<Registry>()
            .hooks
            .iter()
            .map(|h| {
                (
                    h.id.clone(),
                    h.msn.clone(),
                    h.url.clone(),
                    h.events.clone(),
                    Arc::clone(&h.secret),
                )
            })
            .collect()
    })
}

/// Queues one delivery per (event, matching webhook), in the order of the events (called by the
/// outbox's consumer, after the transaction that recorded them).
pub(super) fn fan_out(state: &AppState, schedule: RetrySchedule, events: &[PublishedEvent]) {
    let targets = targets(state);
    if targets.is_empty() {
        return;
    }
    let deliveries = state.deliveries();
    for pe in events {
        let ty = WebhookEventType::for_payment_event(&pe.event.name);
        let mut targets = targets
            .iter()
            .filter(|(_, msn, _, events, _)| *msn == pe.msn && events.contains(&ty))
            .peekable();
        if targets.peek().is_none() {
            continue;
        }
        let e = &pe.event;
        let mut payload = WebhookEvent::new(pe.msn.clone(), e.clone());
        if let Some(a) = &pe.authorized {
            payload.user_details = a.user_details.clone();
            payload.profile = a.sub.clone().map(vipps_types::epayment::ProfileResponse::with_sub);
            payload.capture_guaranteed_until = a.capture_guaranteed_until;
        }
        let body: bytes::Bytes = match serde_json::to_vec(&payload) {
            Ok(b) => b.into(),
            Err(err) => {
                tracing::error!(target: "vipps_emulator::webhooks", error = %err, "cannot render a webhook event");
                continue;
            }
        };
        for (id, _, url, _, secret) in targets {
            let secret = Arc::clone(secret);
            deliveries.send(Outbound {
                kind: "webhook",
                msn: pe.msn.clone(),
                reference: e.reference.to_string(),
                event: Some(ty.to_string()),
                url: url.clone(),
                method: "POST",
                headers: Vec::new(),
                body: body.clone(),
                schedule: schedule.clone(),
                sign: Some(Arc::new(move |method: &str, url: &url::Url, body: &[u8]| {
                    signed_headers(&secret, method, url, body, OffsetDateTime::now_utc())
                })),
                ordering_key: format!("webhook:{id}:{}:{}", pe.msn, e.reference),
                on_attempt: Some(attempt_hook(state.downgrade(), id.clone())),
                // webhooks--api-guide.md: a later event of the payment "will not be sent unless you
                // reply with a successful HTTP status code to one of the retry attempts".
                blocks_later: true,
                guard: None,
            });
        }
    }
}

/// Queues one delivery per (event of another API, matching webhook), in the order of the
/// events: the payload as the API rendered it, signed like every webhook, in order per
/// (webhook, merchant, subject).
pub(super) fn fan_out_api(state: &AppState, schedule: RetrySchedule, events: &[ApiEvent]) {
    let targets = targets(state);
    if targets.is_empty() {
        return;
    }
    let deliveries = state.deliveries();
    for e in events {
        let ty = WebhookEventType::from(e.event_type);
        let matching = targets
            .iter()
            .filter(|(_, msn, _, events, _)| **msn == *e.msn && events.contains(&ty));
        for (id, _, url, _, secret) in matching {
            let secret = Arc::clone(secret);
            deliveries.send(Outbound {
                kind: "webhook",
                msn: e.msn.to_string(),
                reference: e.subject.to_string(),
                event: Some(e.event_type.to_owned()),
                url: url.clone(),
                method: "POST",
                headers: Vec::new(),
                body: e.body.clone(),
                schedule: schedule.clone(),
                sign: Some(Arc::new(move |method: &str, url: &url::Url, body: &[u8]| {
                    signed_headers(&secret, method, url, body, OffsetDateTime::now_utc())
                })),
                ordering_key: format!("webhook:{id}:{}:{}", e.msn, e.subject),
                on_attempt: Some(attempt_hook(state.downgrade(), id.clone())),
                blocks_later: true,
                guard: None,
            });
        }
    }
}

/// Whether delivery `o` can be sent again: true unless it is a webhook event whose
/// registration has been deleted (its secret went with it, so nothing could be signed for it;
/// the real API sends a deleted webhook nothing more either). Reads the registration's id from
/// the ordering key this module gave the delivery.
pub(crate) fn can_resend(state: &AppState, o: &Outbound) -> bool {
    if o.kind != "webhook" {
        return true;
    }
    let Some(id) = o
        .ordering_key
        .strip_prefix("webhook:")
        .and_then(|k| k.split(':').next())
    else {
        return false;
    };
    state
        .store()
        .transact(|t| t.get::<Registry>().hooks.iter().any(|h| h.id == id))
}

/// Keeps a registration's `failing_since` and deletes it once its deliveries have failed for
/// [`UNRESPONSIVE_DELETION`]. Answers false (stop retrying) when the registration is gone.
pub(super) fn attempt_hook(state: WeakAppState, id: String) -> AttemptHook {
    Arc::new(move |delivered: bool| {
        let Some(state) = state.upgrade() else {
            return false;
        };
        let now = state.clock().now();
        state
            .store()
            .transact(|t| record_attempt(t.get_mut::<Registry>(), &id, delivered, now))
    })
}

/// Notes one attempt's outcome on registration `id`; false when it is gone (now or before).
pub(super) fn record_attempt(reg: &mut Registry, id: &str, delivered: bool, now: OffsetDateTime) -> bool {
    {
        let Some(i) = reg.hooks.iter().position(|h| h.id == id) else {
            return false; // deleted meanwhile: nobody to deliver to
        };
        let h = &mut reg.hooks[i];
        if delivered {
            h.failing_since = None;
            return true;
        }
        let since = *h.failing_since.get_or_insert(now);
        if now - since < UNRESPONSIVE_DELETION {
            return true;
        }
        let gone = reg.hooks.remove(i);
        tracing::info!(
            target: "vipps_emulator::webhooks",
            id = %gone.id,
            url = %crate::core::redact::url_for_log(&gone.url),
            "webhook deleted: its deliveries have failed for two weeks"
        );
        false
    }
}

/// The host the receiver sees in its `Host` header: the URL's host, plus `:port` when it is
/// not the scheme's default.
pub(super) fn authority(url: &url::Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        (None, _) => String::new(),
    }
}

/// `x-ms-date`, `x-ms-content-sha256` and `Authorization` for one attempt.
pub(super) fn signed_headers(
    secret: &str,
    method: &str,
    url: &url::Url,
    body: &[u8],
    now: OffsetDateTime,
) -> Vec<(String, String)> {
    let mut path_and_query = url.path().to_owned();
    if let Some(q) = url.query() {
        path_and_query.push('?');
        path_and_query.push_str(q);
    }
    let s = signature::sign(secret, method, &path_and_query, &authority(url), now, body);
    s.pairs()
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

impl crate::core::state::Part for WebhooksState {
    fn objects(&self, tables: &Tables, query: &ObjectQuery) -> Option<ObjectPage> {
        (query.kind == ObjectKind::Webhook).then(|| super::objects::page(tables, query))
    }

    fn object(
        &self,
        tables: &Tables,
        kind: ObjectKind,
        msn: &str,
        id: &str,
        _now: OffsetDateTime,
    ) -> Option<ObjectDetail> {
        (kind == ObjectKind::Webhook)
            .then(|| super::objects::detail(tables, msn, id))
            .flatten()
    }

    fn on_payment_events(&self, state: &AppState, events: &[PublishedEvent]) {
        fan_out(state, self.retry_schedule(), events);
    }

    fn on_api_events(&self, state: &AppState, events: &[ApiEvent]) {
        fan_out_api(state, self.retry_schedule(), events);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_like_the_official_vector() {
        let secret = "A0+AeKBRG2KRGvnNwJpQlb6IJFk48CKXCIcrLoHncVJKDILsQSxS6NWCccwWm6r6FhGKhiHTBsG2wo/xU6FY/A==";
        let url = url::Url::parse("https://webhook.site/e2cee29b-012e-4f1d-8ef4-e95fd74a7a63").unwrap();
        let body = br#"{"some-unique-content":"ee6e441b-cc4a-46f8-895d-a5af79bcc233/hello-world"}"#;
        let date = signature::parse_http_date("Thu, 30 Mar 2023 08:38:32 GMT").unwrap();
        let h = signed_headers(secret, "POST", &url, body, date);
        let get = |n: &str| h.iter().find(|(k, _)| k == n).unwrap().1.clone();
        assert_eq!(get("x-ms-date"), "Thu, 30 Mar 2023 08:38:32 GMT");
        assert_eq!(
            get("x-ms-content-sha256"),
            "lNlsp1XA03N34HrQsVzPgJKtC+r7l/RBF4V3JQUWMj4="
        );
        assert_eq!(
            get("authorization"),
            "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=agAiSyogQbDHpeucoNwYz+yAr5nJ+v+zasdkSbqzv+U="
        );
    }

    #[test]
    fn authority_is_what_the_host_header_carries() {
        let a = |s: &str| authority(&url::Url::parse(s).unwrap());
        assert_eq!(a("https://example.com/x"), "example.com");
        assert_eq!(a("https://example.com:443/x"), "example.com");
        assert_eq!(a("https://example.com:8443/x?y=1"), "example.com:8443");
        assert_eq!(a("http://127.0.0.1:3000/hook"), "127.0.0.1:3000");
        assert_eq!(a("http://[::1]:3000/hook"), "[::1]:3000");
    }

    #[test]
    fn registration_debug_hides_the_secret() {
        let r = Registration {
            id: "i".into(),
            msn: "123456".into(),
            url: "https://example.com".into(),
            events: vec![WebhookEventType::EpaymentCreated],
            secret: "top-secret".into(),
            failing_since: None,
            created: time::OffsetDateTime::UNIX_EPOCH,
            seq: 1,
        };
        assert!(!format!("{r:?}").contains("top-secret"));
    }
}
