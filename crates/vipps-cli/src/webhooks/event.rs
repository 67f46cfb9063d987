//! One line describing a delivered event, for the receiver's output and the forwarder's log.

use vipps::types::{Amount, Currency};

/// `CAPTURED ref 50.00 NOK psp` for an ePayment event, `recurring.charge-captured.v1 agreement
/// A charge C 299.00 NOK` for a Recurring one, else the body as text.
pub fn summary(body: &[u8]) -> String {
    if let Ok(ev) = vipps::webhooks::parse_epayment_event(body) {
        return format!("{} {} {} {}", ev.name, ev.reference, ev.amount, ev.psp_reference);
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) if v.get("eventType").is_some() => recurring_summary(&v),
        _ => String::from_utf8_lossy(body).into_owned(),
    }
}

fn recurring_summary(v: &serde_json::Value) -> String {
    let text = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("-");
    let mut s = format!("{} agreement {}", text("eventType"), text("agreementId"));
    if let Some(charge) = v.get("chargeId").and_then(|x| x.as_str()) {
        s.push_str(&format!(" charge {charge}"));
    }
    if let Some(minor) = v.get("amount").and_then(|x| x.as_i64()) {
        s.push_str(&format!(" {}", Amount::new(minor, Currency::from(text("currency")))));
    }
    s
}
