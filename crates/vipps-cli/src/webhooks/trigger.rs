//! `vipps webhooks trigger EVENT`: runs, on the emulator, the flow that makes it send EVENT,
//! acting as the customer (and the clock) through its control plane. The real environments
//! have no such plane: there only a person with the app can approve or reject.

use crate::payment::{client_from_env, print};
use serde_json::json;
use vipps::types::epayment::{CreatePaymentRequest, PaymentState, UserFlow};
use vipps::types::recurring::{
    AgreementStatus, CreateCharge, DraftAgreement, InitialCharge, Interval, IntervalUnit, PricingRequest,
    RefundRequest, TransactionType,
};
use vipps::types::webhooks::WebhookEventType as E;
use vipps::types::{Amount, Currency, Reference};
use vipps::{Client, Environment};

/// The test customer who approves and accepts.
const PHONE: &str = "4791234567";
/// Clock advances tried, in turn, until a payment or agreement has expired (ten minutes is
/// the default; a configured or long-living expiry needs more).
const EXPIRY_STEPS: [i64; 4] = [601, 3_600, 86_400, 28 * 86_400];

#[derive(clap::Args)]
pub struct TriggerArgs {
    /// The event, e.g. epayments.payment.captured.v1 or recurring.charge-captured.v1.
    event: String,
    /// The payment's reference (ePayment events; default: a random one).
    #[arg(long)]
    reference: Option<String>,
    /// The amount in minor units (the payment, or the agreement's price and charge).
    #[arg(long, default_value_t = 10_000)]
    amount: i64,
    /// Sent as X-Emulator-Token on control-plane calls (an emulator off loopback asks for it).
    #[arg(long, env = "VIPPS_EMULATOR_CONTROL_TOKEN", hide_env_values = true)]
    control_token: Option<String>,
}

/// Where a payment's flow stops: the state whose event is wanted.
#[derive(Clone, Copy, PartialEq)]
enum PaymentEnd {
    Created,
    Authorized,
    Captured,
    Refunded,
    Cancelled,
    Terminated,
    Aborted,
    Expired,
}

/// Where an agreement's flow stops.
#[derive(Clone, Copy, PartialEq)]
enum AgreementEnd {
    Activated,
    Rejected,
    Stopped,
    Expired,
    ChargeReserved,
    ChargeCaptured,
    ChargeCanceled,
    ChargeRefunded,
    ChargeFailed,
}

enum Flow {
    Payment(PaymentEnd),
    Agreement(AgreementEnd),
}

/// Every event `trigger` can produce, with its flow.
const FLOWS: [(E, Flow); 17] = [
    (E::EpaymentCreated, Flow::Payment(PaymentEnd::Created)),
    (E::EpaymentAuthorized, Flow::Payment(PaymentEnd::Authorized)),
    (E::EpaymentCaptured, Flow::Payment(PaymentEnd::Captured)),
    (E::EpaymentRefunded, Flow::Payment(PaymentEnd::Refunded)),
    (E::EpaymentCancelled, Flow::Payment(PaymentEnd::Cancelled)),
    (E::EpaymentTerminated, Flow::Payment(PaymentEnd::Terminated)),
    (E::EpaymentAborted, Flow::Payment(PaymentEnd::Aborted)),
    (E::EpaymentExpired, Flow::Payment(PaymentEnd::Expired)),
    (E::RecurringAgreementActivated, Flow::Agreement(AgreementEnd::Activated)),
    (E::RecurringAgreementRejected, Flow::Agreement(AgreementEnd::Rejected)),
    (E::RecurringAgreementStopped, Flow::Agreement(AgreementEnd::Stopped)),
    (E::RecurringAgreementExpired, Flow::Agreement(AgreementEnd::Expired)),
    (
        E::RecurringChargeReserved,
        Flow::Agreement(AgreementEnd::ChargeReserved),
    ),
    (
        E::RecurringChargeCaptured,
        Flow::Agreement(AgreementEnd::ChargeCaptured),
    ),
    (
        E::RecurringChargeCanceled,
        Flow::Agreement(AgreementEnd::ChargeCanceled),
    ),
    (
        E::RecurringChargeRefunded,
        Flow::Agreement(AgreementEnd::ChargeRefunded),
    ),
    (E::RecurringChargeFailed, Flow::Agreement(AgreementEnd::ChargeFailed)),
];

fn flow_for(event: &str) -> Result<&'static Flow, String> {
    FLOWS
        .iter()
        .find(|(e, _)| e.as_str() == event)
        .map(|(_, f)| f)
        .ok_or_else(|| {
            let known: Vec<_> = FLOWS.iter().map(|(e, _)| e.as_str()).collect();
            format!("cannot trigger `{event}`; known events: {}", known.join(", "))
        })
}

pub async fn run(args: TriggerArgs, json: bool) -> Result<(), String> {
    let flow = flow_for(&args.event)?;
    let client = client_from_env()?;
    let control = Control::new(&client, args.control_token.clone())?;
    match *flow {
        Flow::Payment(end) => {
            let reference = match &args.reference {
                Some(r) => Reference::new(r.clone()).map_err(|e| format!("--reference: {e}"))?,
                None => Reference::random(),
            };
            let steps = payment(&client, &control, end, &reference, args.amount).await?;
            let done = steps.0.join(", ");
            print(
                json,
                &json!({"event": args.event, "reference": reference.as_str(), "steps": steps.0}),
                |_| format!("triggered {}: payment {reference} ({done})", args.event),
            );
        }
        Flow::Agreement(end) => {
            let (agreement, charge, steps) = agreement(&client, &control, end, args.amount).await?;
            let done = steps.0.join(", ");
            let charge_text = charge.as_deref().map(|c| format!(", charge {c}")).unwrap_or_default();
            print(
                json,
                &json!({"event": args.event, "agreementId": agreement, "chargeId": charge, "steps": steps.0}),
                |_| format!("triggered {}: agreement {agreement}{charge_text} ({done})", args.event),
            );
        }
    }
    Ok(())
}

/// What the flow did, in order, for the report.
#[derive(Default)]
struct Steps(Vec<&'static str>);

impl Steps {
    fn done(&mut self, step: &'static str) {
        self.0.push(step);
    }
}

/// Creates a payment and takes it to `end`.
async fn payment(
    client: &Client,
    control: &Control,
    end: PaymentEnd,
    reference: &Reference,
    minor: i64,
) -> Result<Steps, String> {
    let mut steps = Steps::default();
    let e = |e: vipps::Error| e.to_string();
    let ep = client.epayment();
    let amount = Amount::new(minor, Currency::Nok);
    let req = CreatePaymentRequest {
        return_url: Some("https://example.com/return".into()),
        ..CreatePaymentRequest::new(amount.clone(), reference.clone(), UserFlow::WebRedirect)
    };
    ep.create_payment(req).await.map_err(e)?;
    steps.done("created");
    let r = reference.as_str();
    match end {
        PaymentEnd::Created => {}
        PaymentEnd::Aborted => {
            control
                .post(&format!("/_emulator/payments/{r}/reject"), json!({}))
                .await?;
            steps.done("rejected by the customer");
        }
        PaymentEnd::Terminated => {
            ep.cancel(r).await.map_err(e)?;
            steps.done("cancelled before approval");
        }
        PaymentEnd::Expired => {
            let expired = || async { Ok(ep.get_payment(r).await.map_err(e)?.state == PaymentState::Expired) };
            control.advance_until(expired).await?;
            steps.done("clock advanced past its expiry");
        }
        PaymentEnd::Authorized | PaymentEnd::Captured | PaymentEnd::Refunded | PaymentEnd::Cancelled => {
            let body = json!({"phoneNumber": PHONE});
            control.post(&format!("/_emulator/payments/{r}/approve"), body).await?;
            steps.done("approved by the customer");
            match end {
                PaymentEnd::Captured | PaymentEnd::Refunded => {
                    ep.capture(r, amount.clone()).await.map_err(e)?;
                    steps.done("captured");
                    if end == PaymentEnd::Refunded {
                        ep.refund(r, amount).await.map_err(e)?;
                        steps.done("refunded");
                    }
                }
                PaymentEnd::Cancelled => {
                    ep.cancel(r).await.map_err(e)?;
                    steps.done("cancelled");
                }
                _ => {}
            }
        }
    }
    Ok(steps)
}

/// Drafts an agreement (with an initial charge when the event is about a charge) and takes it
/// to `end`. Gives the agreement id and the charge id.
async fn agreement(
    client: &Client,
    control: &Control,
    end: AgreementEnd,
    minor: i64,
) -> Result<(String, Option<String>, Steps), String> {
    let mut steps = Steps::default();
    use AgreementEnd as A;
    let e = |e: vipps::Error| e.to_string();
    let rec = client.recurring();
    let initial = match end {
        A::ChargeReserved | A::ChargeCanceled => Some(TransactionType::ReserveCapture),
        A::ChargeCaptured | A::ChargeRefunded => Some(TransactionType::DirectCapture),
        _ => None,
    };
    let draft = DraftAgreement {
        initial_charge: initial.map(|t| InitialCharge::new(minor, "vipps webhooks trigger", t)),
        phone_number: Some(PHONE.into()),
        ..DraftAgreement::new(
            PricingRequest::legacy(minor, Currency::Nok),
            Some(Interval::every(1, IntervalUnit::Month)),
            "vipps webhooks trigger",
            "https://example.com/vipps/return",
            "https://example.com/account/subscriptions",
        )
    };
    let created = rec.create_agreement(draft).await.map_err(e)?.into_inner();
    steps.done("drafted");
    let id = created.agreement_id;
    let mut charge = created.charge_id;
    match end {
        A::Rejected => {
            control
                .post(&format!("/_emulator/agreements/{id}/reject"), json!({}))
                .await?;
            steps.done("rejected by the customer");
            return Ok((id, charge, steps));
        }
        A::Expired => {
            let expired = || async { Ok(rec.get_agreement(&id).await.map_err(e)?.status == AgreementStatus::Expired) };
            control.advance_until(expired).await?;
            steps.done("clock advanced past its expiry");
            return Ok((id, charge, steps));
        }
        _ => {}
    }
    let body = json!({"phoneNumber": PHONE});
    control
        .post(&format!("/_emulator/agreements/{id}/accept"), body)
        .await?;
    steps.done("accepted by the customer");
    let charge_id = charge.clone().unwrap_or_default();
    match end {
        A::Stopped => {
            rec.stop_agreement(&id).await.map_err(e)?;
            steps.done("stopped");
        }
        A::ChargeCanceled => {
            rec.cancel_charge(&id, &charge_id).await.map_err(e)?;
            steps.done("charge cancelled");
        }
        A::ChargeRefunded => {
            let refund = RefundRequest::new(minor, "vipps webhooks trigger");
            rec.refund_charge(&id, &charge_id, refund).await.map_err(e)?;
            steps.done("charge refunded");
        }
        A::ChargeFailed => {
            let fails = json!({"fails": true});
            control.post(&format!("/_emulator/agreements/{id}/card"), fails).await?;
            steps.done("the customer's card fails");
            let c = CreateCharge::unscheduled(minor, "vipps webhooks trigger", TransactionType::DirectCapture);
            charge = Some(rec.create_charge(&id, c).await.map_err(e)?.into_inner().charge_id);
            steps.done("a charge attempted");
        }
        _ => {}
    }
    Ok((id, charge, steps))
}

/// The emulator's control plane (`/_emulator/…`).
struct Control {
    http: reqwest::Client,
    base: String,
    /// Never printed: errors name the path and status only.
    token: Option<String>,
}

impl Control {
    /// The control plane of the emulator `client` talks to; refused for Vipps MobilePay's own
    /// environments.
    fn new(client: &Client, token: Option<String>) -> Result<Self, String> {
        let env = client.config().environment();
        let base = env.base_url();
        let real = match env {
            Environment::Test | Environment::Production => true,
            Environment::Custom(u) => reqwest::Url::parse(u)
                .ok()
                .and_then(|u| u.host_str().map(|h| h == "vipps.no" || h.ends_with(".vipps.no")))
                .unwrap_or(false),
        };
        if real {
            return Err(format!(
                "trigger acts as the customer through the emulator's control plane, and {base} is \
                 Vipps MobilePay itself: there a person approves in the app. Point VIPPS_BASE_URL \
                 at a `vipps emulator` (or unset the VIPPS_* credentials for the local one)"
            ));
        }
        Ok(Control {
            http: reqwest::Client::new(),
            base: base.to_owned(),
            token: token.filter(|t| !t.is_empty()),
        })
    }

    async fn post(&self, path: &str, body: serde_json::Value) -> Result<(), String> {
        let mut req = self.http.post(format!("{}{path}", self.base)).json(&body);
        if let Some(t) = &self.token {
            req = req.header("X-Emulator-Token", t);
        }
        let resp = req.send().await.map_err(|e| format!("{path}: {}", e.without_url()))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let text = resp.text().await.unwrap_or_default();
        let hint = if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            " (give --control-token or VIPPS_EMULATOR_CONTROL_TOKEN)"
        } else {
            ""
        };
        Err(format!("{path}: HTTP {}{hint}: {}", status.as_u16(), text.trim()))
    }

    /// Advances the emulator's clock, further each time, until `done` says so.
    async fn advance_until<F, Fut>(&self, done: F) -> Result<(), String>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<bool, String>>,
    {
        for seconds in EXPIRY_STEPS {
            self.post("/_emulator/clock/advance", json!({"seconds": seconds}))
                .await?;
            // An advance ends what ran out at once; the read below sees it.
            if done().await? {
                return Ok(());
            }
        }
        Err("still not expired after advancing the clock 29 days".into())
    }
}
