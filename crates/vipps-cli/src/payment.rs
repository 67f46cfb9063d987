//! `vipps payment …`: ePayment operations from the shell.

use clap::Subcommand;
use serde::Serialize;
use std::path::Path;
use vipps::types::epayment::{
    CancelModificationRequest, CreatePaymentRequest, Customer, ForceApproveRequest, GetPaymentResponse,
    ModificationResponse, PaymentEvent, PaymentMethod, PaymentMethodType, ProfileRequest, Shipping, UserFlow,
    EXPRESS_SCOPE,
};
use vipps::types::order_management::{OrderLine, Receipt};
use vipps::types::{Amount, Currency, Reference};
use vipps::{Client, RequestBuilder};

#[derive(Subcommand)]
pub enum PaymentCommand {
    /// Create a payment.
    Create {
        /// Amount in minor units (øre/cents).
        #[arg(long)]
        amount: i64,
        /// Currency.
        #[arg(long, default_value = "NOK")]
        currency: String,
        /// Reference (default: a random one).
        #[arg(long)]
        reference: Option<String>,
        /// WEB_REDIRECT, NATIVE_REDIRECT, PUSH_MESSAGE or QR.
        #[arg(long, default_value = "WEB_REDIRECT")]
        flow: String,
        /// Return URL (required for WEB_REDIRECT).
        #[arg(long, default_value = "https://example.com/return")]
        return_url: String,
        /// Customer phone number (MSISDN, e.g. 4791234567).
        #[arg(long)]
        phone: Option<String>,
        /// Description shown to the customer.
        #[arg(long)]
        description: Option<String>,
        /// WALLET or CARD (a freestanding card payment, WEB_REDIRECT only).
        #[arg(long, default_value = "WALLET")]
        method: String,
        /// Profile data to share, space separated, e.g. "name email".
        #[arg(long)]
        scope: Option<String>,
        /// Express: the `shipping` object as JSON, e.g. '{"fixedOptions": [...]}' (the
        /// scope defaults to the one Express needs).
        #[arg(long)]
        shipping: Option<String>,
        /// A receipt for the app: a JSON file (`-` for stdin) with `{orderLines, bottomLine}`
        /// or just the order lines (see `vipps receipt add`).
        #[arg(long, value_name = "FILE")]
        receipt: Option<std::path::PathBuf>,
        /// Idempotency key (default: generated).
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Show a payment.
    Get { reference: String },
    /// Show a payment's event log.
    Events { reference: String },
    /// Capture an amount.
    Capture {
        reference: String,
        #[arg(long)]
        amount: i64,
        #[arg(long, default_value = "NOK")]
        currency: String,
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Refund an amount.
    Refund {
        reference: String,
        #[arg(long)]
        amount: i64,
        #[arg(long, default_value = "NOK")]
        currency: String,
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Cancel what is not captured.
    Cancel {
        reference: String,
        /// Only cancel if the customer has not approved yet.
        #[arg(long)]
        transaction_only: bool,
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Approve a payment as a test customer (force approve; test environments and the emulator only).
    Approve {
        reference: String,
        /// The test customer's phone number.
        #[arg(long)]
        phone: Option<String>,
    },
}

/// The variables that make up a merchant's credentials.
const CREDENTIALS: [&str; 4] = [
    "VIPPS_CLIENT_ID",
    "VIPPS_CLIENT_SECRET",
    "VIPPS_SUBSCRIPTION_KEY",
    "VIPPS_MERCHANT_SERIAL_NUMBER",
];

/// The client from `VIPPS_*` variables; without any credential variable, the emulator's
/// default merchant on localhost:8080. Some but not all of them set is refused: filling the
/// gaps with the emulator's values sent the real secrets to localhost.
pub fn client_from_env() -> Result<Client, String> {
    // As the SDK reads them: a blank value counts as unset.
    let set = |k: &&str| std::env::var(k).is_ok_and(|v| !v.trim().is_empty());
    let missing: Vec<&str> = CREDENTIALS.iter().filter(|k| !set(k)).copied().collect();
    let mut b = Client::builder().system("vipps-cli", env!("CARGO_PKG_VERSION"));
    if missing.len() == CREDENTIALS.len() {
        let defaults = vipps_emulator::Merchant::default_test();
        b = b
            .client_id(defaults.client_id.clone())
            .client_secret(defaults.client_secret.clone())
            .subscription_key(defaults.subscription_key.clone())
            .merchant_serial_number(defaults.msn.clone())
            .base_url("http://127.0.0.1:8080");
    } else if !missing.is_empty() {
        // Names only, never values.
        return Err(format!(
            "{} not set; set all of {} (or none of them to use the local emulator's test merchant)",
            missing.join(", "),
            CREDENTIALS.join(", ")
        ));
    }
    b.from_env().and_then(|b| b.build()).map_err(|e| e.to_string())
}

fn amount(value: i64, currency: &str) -> Amount {
    Amount::new(value, Currency::from(currency.to_ascii_uppercase().as_str()))
}

pub fn print<T: Serialize>(json: bool, value: &T, human: impl FnOnce(&T) -> String) {
    if json {
        println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
    } else {
        println!("{}", human(value));
    }
}

pub fn describe_payment(p: &GetPaymentResponse) -> String {
    let a = &p.aggregate;
    format!(
        "payment {}\n  state:      {}\n  amount:     {}\n  authorized: {}\n  captured:   {}\n  refunded:   {}\n  cancelled:  {}\n  psp ref:    {}",
        p.reference,
        p.state,
        p.amount,
        a.authorized_amount,
        a.captured_amount,
        a.refunded_amount,
        a.cancelled_amount,
        p.psp_reference
    )
}

pub fn describe_modification(m: &ModificationResponse) -> String {
    let a = &m.aggregate;
    format!(
        "payment {} is {}: captured {}, refunded {}, cancelled {} of {}",
        m.reference, m.state, a.captured_amount, a.refunded_amount, a.cancelled_amount, a.authorized_amount
    )
}

pub fn describe_events(events: &[PaymentEvent]) -> String {
    let mut s = format!(
        "{:<24} {:<11} {:>14}  {:<7} idempotency key\n",
        "timestamp", "event", "amount", "success"
    );
    for e in events {
        let ms = e
            .timestamp
            .replace_nanosecond(e.timestamp.millisecond() as u32 * 1_000_000)
            .unwrap_or(e.timestamp);
        let ts = ms
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        s.push_str(&format!(
            "{:<24} {:<11} {:>14}  {:<7} {}\n",
            ts,
            e.name.as_str(),
            e.amount.to_string(),
            e.success,
            e.idempotency_key.as_deref().unwrap_or("-")
        ));
    }
    s.trim_end().to_owned()
}

pub async fn run(cmd: PaymentCommand, json: bool) -> Result<(), String> {
    let client = client_from_env()?;
    let ep = client.epayment();
    let err = |e: vipps::Error| e.to_string();
    match cmd {
        PaymentCommand::Create {
            amount: value,
            currency,
            reference,
            flow,
            return_url,
            phone,
            description,
            method,
            scope,
            shipping,
            receipt,
            idempotency_key,
        } => {
            let amount = amount(value, &currency);
            let receipt = receipt
                .map(|path| receipt_from_file(&path, amount.currency.clone()))
                .transpose()?;
            let shipping: Option<Shipping> = shipping
                .map(|j| serde_json::from_str(&j).map_err(|e| format!("--shipping: not a shipping object: {e}")))
                .transpose()?;
            let scope = scope.or_else(|| shipping.as_ref().map(|_| EXPRESS_SCOPE.join(" ")));
            let reference = match reference {
                Some(r) => Reference::new(r).map_err(|e| format!("reference: {e}"))?,
                None => Reference::random(),
            };
            let user_flow = UserFlow::from(flow.to_ascii_uppercase().as_str());
            let req = CreatePaymentRequest {
                return_url: Some(return_url),
                customer: phone.map(Customer::phone),
                payment_description: description,
                payment_method: PaymentMethod {
                    type_: PaymentMethodType::from(method.to_ascii_uppercase().as_str()),
                },
                profile: scope.map(|s| ProfileRequest { scope: Some(s) }),
                shipping,
                receipt,
                ..CreatePaymentRequest::new(amount, reference, user_flow)
            };
            let r = with_key(ep.create_payment(req), idempotency_key).await.map_err(err)?;
            let key = r.idempotency_key().unwrap_or_default().to_owned();
            print(json, &*r, |r| {
                format!(
                    "created payment {}\n  redirect: {}\n  idempotency key: {key}",
                    r.reference,
                    r.redirect_url.as_deref().unwrap_or("(none: push message)"),
                )
            });
        }
        PaymentCommand::Get { reference } => {
            let r = ep.get_payment(&reference).await.map_err(err)?;
            print(json, &*r, describe_payment);
        }
        PaymentCommand::Events { reference } => {
            let r = ep.get_event_log(&reference).await.map_err(err)?;
            print(json, &*r, |e| describe_events(e));
        }
        PaymentCommand::Capture {
            reference,
            amount: value,
            currency,
            idempotency_key,
        } => {
            let r = with_key(ep.capture(&reference, amount(value, &currency)), idempotency_key)
                .await
                .map_err(err)?;
            print(json, &*r, describe_modification);
        }
        PaymentCommand::Refund {
            reference,
            amount: value,
            currency,
            idempotency_key,
        } => {
            let r = with_key(ep.refund(&reference, amount(value, &currency)), idempotency_key)
                .await
                .map_err(err)?;
            print(json, &*r, describe_modification);
        }
        PaymentCommand::Cancel {
            reference,
            transaction_only,
            idempotency_key,
        } => {
            let body = CancelModificationRequest {
                cancel_transaction_only: transaction_only.then_some(true),
            };
            let r = with_key(ep.cancel_with(&reference, body), idempotency_key)
                .await
                .map_err(err)?;
            print(json, &*r, describe_modification);
        }
        PaymentCommand::Approve { reference, phone } => {
            let body = ForceApproveRequest {
                customer: phone.map(Customer::phone),
                token: None,
            };
            ep.force_approve(&reference, body).await.map_err(err)?;
            print(
                json,
                &serde_json::json!({"reference": reference, "approved": true}),
                |_| format!("payment {reference} approved"),
            );
        }
    }
    Ok(())
}

fn read_input(path: &Path) -> Result<String, String> {
    if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).map_err(|e| format!("stdin: {e}"))
    } else {
        std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// A receipt from a file: a whole receipt, or an array of lines in `currency`.
pub fn receipt_from_file(path: &Path, currency: Currency) -> Result<Receipt, String> {
    let text = read_input(path)?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let parsed = if value.is_array() {
        serde_json::from_value::<Vec<OrderLine>>(value).map(|lines| Receipt::new(lines, currency))
    } else {
        serde_json::from_value::<Receipt>(value)
    };
    parsed.map_err(|e| format!("{}: not a receipt or a list of order lines: {e}", path.display()))
}

/// `b` with the caller's `--idempotency-key`, when one was given (otherwise the SDK makes one).
pub fn with_key<T: serde::de::DeserializeOwned + Send + 'static>(
    b: RequestBuilder<T>,
    key: Option<String>,
) -> RequestBuilder<T> {
    match key {
        Some(k) => b.idempotency_key(k),
        None => b,
    }
}
