use super::*;
use crate::core::error::Stored;
use parking_lot::Mutex;
use time::OffsetDateTime;
use vipps_types::epayment::{CreatePaymentRequest, PaymentEventName, PaymentState, UserFlow};
use vipps_types::{Amount, Reference};

fn payment(value: i64) -> Payment {
    let req = CreatePaymentRequest::new(
        Amount::nok(value),
        Reference::new("unit-test-ref-1").unwrap(),
        UserFlow::WebRedirect,
    );
    let mut l = Ledger::default();
    let now = OffsetDateTime::now_utc();
    l.create_payment(NewPayment {
        msn: "123456",
        request: &req,
        idempotency_key: Some("k".into()),
        now,
        expires_at: now + time::Duration::minutes(10),
        public_url: "http://x",
    })
    .unwrap();
    l.payment("123456", "unit-test-ref-1", now).unwrap().clone()
}

/// Creates a 1000 NOK web-redirect payment `reference` of merchant 123456, without a key.
fn create(l: &mut Ledger, reference: &str, now: OffsetDateTime, expires_at: OffsetDateTime) {
    let req = CreatePaymentRequest::new(
        Amount::nok(1000),
        Reference::new(reference).unwrap(),
        UserFlow::WebRedirect,
    );
    l.create_payment(NewPayment {
        msn: "123456",
        request: &req,
        idempotency_key: None,
        now,
        expires_at,
        public_url: "http://x",
    })
    .unwrap();
}

#[test]
fn fingerprints_ignore_key_order_and_formatting_but_not_values() {
    let a: CreatePaymentRequest = serde_json::from_str(
        r#"{"amount":{"currency":"NOK","value":1000},"paymentMethod":{"type":"WALLET"},
            "reference":"fp-test-ref-1","userFlow":"WEB_REDIRECT","returnUrl":"https://example.com/r",
            "metadata":{"b":"2","a":"1"}}"#,
    )
    .unwrap();
    let b: CreatePaymentRequest = serde_json::from_str(
        r#"{"metadata":{"a":"1","b":"2"},"userFlow":"WEB_REDIRECT","reference":"fp-test-ref-1",
            "returnUrl":"https://example.com/r","paymentMethod":{"type":"WALLET"},
            "amount":{"value":1000,"currency":"NOK"}}"#,
    )
    .unwrap();
    assert_eq!(Fingerprint::of(&a), Fingerprint::of(&b));
    let mut c = a.clone();
    c.amount.value = 1001;
    assert_ne!(Fingerprint::of(&a), Fingerprint::of(&c));
    // Free-form JSON inside a request is compared by content, whatever the key order.
    let x = serde_json::json!({"free": {"k1": 1, "k2": [1, 2]}});
    let y: serde_json::Value = serde_json::from_str(r#"{"free":{"k2":[1,2],"k1":1}}"#).unwrap();
    assert_eq!(Fingerprint::of(&x), Fingerprint::of(&y));
}

#[test]
fn amounts_and_states() {
    let now = OffsetDateTime::now_utc();
    let mut p = payment(1000);
    assert_eq!(
        p.capture(&Amount::nok(1), None, now).unwrap_err().error_code(),
        Some(6080)
    );
    p.force_approve(now).unwrap();
    assert_eq!(p.force_approve(now).unwrap_err().error_code(), Some(6230));
    p.capture(&Amount::nok(250), None, now).unwrap();
    assert_eq!(
        p.refund(&Amount::nok(251), None, now).unwrap_err().error_code(),
        Some(6150)
    );
    assert_eq!(
        p.capture(&Amount::nok(751), None, now).unwrap_err().error_code(),
        Some(6090)
    );
    assert_eq!(
        p.capture(&Amount::nok(0), None, now).unwrap_err().error_code(),
        Some(4040)
    );
    assert_eq!(p.capture(&Amount::eur(5), None, now).unwrap_err().status.as_u16(), 400);
    p.cancel(false, None, now).unwrap();
    assert_eq!(p.cancelled, 750);
    assert_eq!(
        p.capture(&Amount::nok(1), None, now).unwrap_err().error_code(),
        Some(6070)
    );
    p.cancel(false, None, now).unwrap(); // no-op
    assert_eq!(p.events.len(), 4);
    p.refund(&Amount::nok(250), None, now).unwrap();
    assert_eq!(
        p.refund(&Amount::nok(1), None, now).unwrap_err().error_code(),
        Some(6180)
    );
}

#[test]
fn transactions_publish_new_events_in_order() {
    let store = Store::new(Vec::new());
    store.outbox().start_consuming();
    let seen: Mutex<Vec<(String, PaymentEventName)>> = Mutex::default();
    let take = || {
        for m in store.outbox().drain_now() {
            if let crate::core::outbox::Message::PaymentEvents(evs) = m {
                seen.lock()
                    .extend(evs.iter().map(|e| (e.msn.clone(), e.event.name.clone())));
            }
        }
    };
    let now = OffsetDateTime::now_utc();
    // a payment created before anybody listens: its CREATED is never published
    store.transaction(|l| create(l, "sink-test-ref-0", now, now + time::Duration::minutes(10)));
    take();
    assert!(seen.lock().is_empty(), "nothing is published before anybody listens");
    store.transact(|t| t.start_publishing());
    store.transaction(|l| create(l, "sink-test-ref-1", now, now + time::Duration::minutes(10)));
    store.transaction(|l| {
        let p = l.payment("123456", "sink-test-ref-1", now).unwrap();
        p.force_approve(now).unwrap();
        p.capture(&Amount::nok(100), None, now).unwrap();
    });
    // a read publishes nothing new
    store.transaction(|l| l.payment("123456", "sink-test-ref-1", now).map(|_| ()).unwrap());
    // the early payment's later events are published, not its old CREATED
    store.transaction(|l| {
        l.payment("123456", "sink-test-ref-0", now)
            .unwrap()
            .force_approve(now)
            .unwrap()
    });
    take();
    let names: Vec<_> = seen.lock().iter().map(|(_, n)| n.clone()).collect();
    assert_eq!(
        names,
        vec![
            PaymentEventName::Created,
            PaymentEventName::Authorized,
            PaymentEventName::Captured,
            PaymentEventName::Authorized
        ]
    );
    assert!(seen.lock().iter().all(|(m, _)| m == "123456"));
    // lazy expiry on a read is published too
    store.transaction(|l| create(l, "sink-test-ref-2", now, now + time::Duration::minutes(10)));
    store.transaction(|l| {
        l.payment("123456", "sink-test-ref-2", now + time::Duration::minutes(11))
            .map(|_| ())
            .unwrap()
    });
    take();
    assert_eq!(seen.lock().last().unwrap().1, PaymentEventName::Expired);
    assert_eq!(seen.lock().len(), 6);
}

#[test]
fn expiry_and_magic() {
    let mut p = payment(151);
    let later = p.expires_at + time::Duration::seconds(1);
    let mut q = p.clone();
    assert_eq!(
        p.customer_approve(OffsetDateTime::now_utc()).unwrap(),
        CustomerOutcome::Declined("insufficient funds (magic test amount)")
    );
    assert_eq!(p.state, PaymentState::Aborted);
    q.settle(later);
    assert_eq!(q.state, PaymentState::Expired);
    assert_eq!(q.events.last().unwrap().timestamp, q.expires_at);
    assert_eq!(q.event(q.events.last().unwrap()).idempotency_key.as_deref(), Some("k"));
    assert_eq!(q.cancel(false, None, later).unwrap_err().error_code(), Some(6190));
}

#[test]
fn expire_due_ends_waiting_payments_in_chunks_without_a_read() {
    let store = Store::new(Vec::new());
    let now = OffsetDateTime::now_utc();
    store.outbox().start_consuming();
    store.transact(|t| t.start_publishing());
    let published = || -> Vec<PaymentEventName> {
        store
            .outbox()
            .drain_now()
            .into_iter()
            .flat_map(|m| match m {
                crate::core::outbox::Message::PaymentEvents(evs) => evs,
                _ => Vec::new(),
            })
            .map(|e| e.event.name)
            .collect()
    };
    store.transaction(|l| {
        for i in 0..5 {
            // one deadline later than the others
            let expires_at = now + time::Duration::minutes(if i == 4 { 20 } else { 10 });
            create(l, &format!("sweep-test-ref-{i}"), now, expires_at);
        }
        // one is approved in time and never expires
        l.payment("123456", "sweep-test-ref-0", now)
            .unwrap()
            .force_approve(now)
            .unwrap();
    });
    published();
    let later = now + time::Duration::minutes(11);
    // Nothing is due before the deadline.
    assert_eq!(store.transaction(|l| l.expire_due(now, 10)), 0);
    // Four deadlines are due; two per call.
    assert_eq!(store.transaction(|l| l.expire_due(later, 2)), 2);
    assert_eq!(store.transaction(|l| l.expire_due(later, 2)), 2);
    assert_eq!(store.transaction(|l| l.expire_due(later, 2)), 0);
    // Three EXPIRED events were published without anybody reading a payment.
    assert_eq!(published(), vec![PaymentEventName::Expired; 3]);
    store.transaction(|l| {
        assert_eq!(
            l.payments
                .get(&("123456".to_owned(), "sweep-test-ref-0".to_owned()))
                .unwrap()
                .state,
            PaymentState::Authorized
        );
        let p = l
            .payments
            .get(&("123456".to_owned(), "sweep-test-ref-1".to_owned()))
            .unwrap();
        assert_eq!(p.state, PaymentState::Expired);
        assert_eq!(
            p.events.last().unwrap().timestamp,
            p.expires_at,
            "stamped with the deadline"
        );
        assert_eq!(p.events.capacity(), 2, "room for the last event only");
        // The wire form: the payment's reference, its own pspReference, the create key.
        let created = p.event(&p.events[0]);
        let expired = p.event(&p.events[1]);
        assert_eq!(created.psp_reference, p.psp_reference);
        assert_ne!(expired.psp_reference, p.psp_reference);
        assert_eq!(expired.reference.as_str(), "sweep-test-ref-1");
        assert_eq!(expired.amount, Amount::nok(1000));
        let late = l
            .payments
            .get(&("123456".to_owned(), "sweep-test-ref-4".to_owned()))
            .unwrap();
        assert_eq!(late.state, PaymentState::Created);
    });
    assert_eq!(
        store.transaction(|l| l.expire_due(now + time::Duration::minutes(21), 10)),
        1
    );
    assert_eq!(
        published(),
        vec![PaymentEventName::Expired],
        "the late deadline, once due"
    );
}

#[test]
fn one_idempotency_engine_replays_conflicts_and_keeps_only_final_answers() {
    let store = Store::new(Vec::new());
    let scope = |key: &str| {
        Some(
            IdempotencyScope {
                api: "test",
                msn: "123456",
                method: "POST",
                path: "/x",
                key,
            }
            .digest(),
        )
    };
    let body = |n: u32| Fingerprint::of(&serde_json::json!({ "n": n }));
    let once = |key: &str, n: u32, tag: Option<&str>| Once {
        scope: scope(key),
        fingerprint: body(n),
        tag: tag.map(Into::into),
    };
    let effects = std::cell::Cell::new(0);
    let run = |o: Once, status: u16| {
        store.transact(|t| {
            o.run(
                t,
                |rec| {
                    Stored::json(
                        http::StatusCode::CONFLICT,
                        &serde_json::json!({"tag": rec.tag.as_deref()}),
                    )
                },
                |_| {
                    effects.set(effects.get() + 1);
                    Stored::json(
                        http::StatusCode::from_u16(status).unwrap(),
                        &serde_json::json!({ "n": effects.get() }),
                    )
                },
            )
        })
    };
    // The first use acts; an identical retry replays the answer without acting again.
    let first = run(once("k1", 1, Some("a")), 201);
    assert_eq!(run(once("k1", 1, Some("a")), 201).body, first.body);
    assert_eq!(effects.get(), 1);
    // The same key with another body is a conflict, and the API sees the earlier record.
    let c = run(once("k1", 2, None), 201);
    assert_eq!((c.status, &c.body[..]), (409, &br#"{"tag":"a"}"#[..]));
    assert_eq!(effects.get(), 1);
    // Keys of two scopes never meet.
    run(once("k2", 1, None), 201);
    assert_eq!(effects.get(), 2);
    // 5xx and 423 are not final: the retry acts again. A 4xx is final.
    run(once("k3", 1, None), 503);
    run(once("k3", 1, None), 423);
    run(once("k3", 1, None), 400);
    run(once("k3", 1, None), 201);
    assert_eq!(effects.get(), 5);
    // No key: nothing is remembered.
    let no_key = || Once {
        scope: None,
        fingerprint: body(1),
        tag: None,
    };
    run(no_key(), 201);
    run(no_key(), 201);
    assert_eq!(effects.get(), 7);
    // Forgetting a tag forgets its records only.
    store.transact(|t| t.idempotency.forget_tagged("a"));
    run(once("k1", 2, None), 201);
    assert_eq!(effects.get(), 8, "k1 was forgotten with its tag");
    run(once("k2", 2, None), 201);
    assert_eq!(effects.get(), 8, "k2 still conflicts");
}

#[test]
fn api_events_are_published_only_to_listeners_in_commit_order() {
    use crate::core::outbox::Message;
    let store = Store::new(Vec::new());
    store.outbox().start_consuming();
    let event = |n: &str| ApiEvent {
        msn: "123456".into(),
        event_type: "recurring.agreement-activated.v1",
        subject: n.into(),
        body: bytes::Bytes::from(n.to_owned()),
    };
    store.transact(|t| {
        assert!(!t.publishing());
        t.publish(event("before"));
    });
    assert!(store.outbox().drain_now().is_empty(), "nobody listens yet");
    store.transact(|t| t.start_publishing());
    store.transact(|t| {
        t.publish(event("a"));
        t.publish(event("b"));
    });
    store.transact(|t| t.publish(event("c")));
    let subjects: Vec<String> = store
        .outbox()
        .drain_now()
        .into_iter()
        .flat_map(|m| match m {
            Message::ApiEvents(evs) => evs,
            _ => Vec::new(),
        })
        .map(|e| e.subject.to_string())
        .collect();
    assert_eq!(subjects, ["a", "b", "c"]);
}

/// The dashboard's pages of a 100,000-payment ledger: newest first, every payment once along
/// the cursor, filters across pages, each page from its cursor (not the whole table).
#[test]
fn a_hundred_thousand_payments_page_newest_first() {
    use crate::core::objects::{ObjectKind, ObjectQuery};
    const N: usize = 100_000;
    let store = Store::new(Vec::new());
    let now = OffsetDateTime::now_utc();
    let later = now + time::Duration::minutes(10);
    for chunk in 0..N / 1000 {
        store.transaction(|l| {
            for i in chunk * 1000..(chunk + 1) * 1000 {
                create(l, &format!("dash-{i:06}"), now, later);
                if i % 1000 == 7 {
                    l.payment("123456", &format!("dash-{i:06}"), now)
                        .unwrap()
                        .force_approve(now)
                        .unwrap();
                }
            }
        });
    }
    let query = |before, state: Option<&str>, reference: Option<&str>| ObjectQuery {
        kind: ObjectKind::Payment,
        reference: reference.map(str::to_owned),
        state: state.map(str::to_owned),
        before,
        limit: 500,
        now,
    };

    let started = std::time::Instant::now();
    let first = store.read(|t| t.ledger.objects(&query(None, None, None)));
    let first_page = started.elapsed();
    assert_eq!(first.objects.len(), 500);
    assert_eq!(first.objects[0].id, format!("dash-{:06}", N - 1), "newest first");
    assert_eq!(first.objects[0].seq, N as u64);
    assert_eq!(first.objects[0].amount.as_ref().map(|a| a.value), Some(1000));

    // Following the cursor visits every payment exactly once, in creation order backwards.
    let (mut seen, mut before, mut pages) = (0usize, None, 0);
    loop {
        let page = store.read(|t| t.ledger.objects(&query(before, None, None)));
        for o in &page.objects {
            assert_eq!(o.id, format!("dash-{:06}", N - 1 - seen));
            seen += 1;
        }
        pages += 1;
        match page.next {
            Some(n) => before = Some(n),
            None => break,
        }
    }
    assert_eq!((seen, pages), (N, N / 500));

    // A rare state: pages stop at the scan budget and carry on from their cursor.
    let (mut authorized, mut before) = (Vec::new(), None);
    loop {
        let page = store.read(|t| t.ledger.objects(&query(before, Some("authorized"), None)));
        assert!(page.objects.iter().all(|o| o.state == "AUTHORIZED"));
        authorized.extend(page.objects.into_iter().map(|o| o.id));
        match page.next {
            Some(n) => before = Some(n),
            None => break,
        }
    }
    assert_eq!(authorized.len(), N / 1000);
    assert_eq!(authorized[0], format!("dash-{:06}", N - 1000 + 7));

    let one = store.read(|t| t.ledger.objects(&query(None, None, Some("099999"))));
    assert_eq!(one.objects.len(), 1);
    eprintln!("first page of {N} payments: {first_page:?}");
}
