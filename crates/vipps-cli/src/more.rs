//! `vipps checkout …`, `vipps ecom …`, `vipps token`, `vipps userinfo`.

use crate::payment::{client_from_env, with_key};
use clap::Subcommand;
use serde::Serialize;
use vipps::types::checkout::{
    InitiateSessionRequest, Interval, IntervalUnit, MerchantInfo, PaymentTransaction, Subscription,
    UpdateSessionRequest,
};
use vipps::types::ecom::{
    ForceApproveRequest as EcomApprove, InitiatePaymentRequest, InitiateTransaction, MerchantInfo as EcomMerchant,
};
use vipps::types::{Amount, Currency, Reference};

fn out<T: Serialize>(json: bool, v: &T, human: impl FnOnce(&T) -> String) {
    if json {
        println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
    } else {
        println!("{}", human(v));
    }
}

fn pretty<T: Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

#[derive(Subcommand)]
pub enum CheckoutCommand {
    /// Create a Checkout session (a SUBSCRIPTION session with --subscription).
    Create {
        /// The one-time payment in minor units (optional with --subscription: an initial payment).
        #[arg(long, required_unless_present = "subscription")]
        amount: Option<i64>,
        /// Make it a SUBSCRIPTION session: the product name of the recurring agreement.
        #[arg(long, requires = "price")]
        subscription: Option<String>,
        /// The recurring price in minor units (with --subscription).
        #[arg(long, requires = "subscription")]
        price: Option<i64>,
        /// The subscription interval: YEAR, MONTH, WEEK or DAY.
        #[arg(long, default_value = "MONTH", requires = "subscription")]
        interval: String,
        /// How many interval units between charges.
        #[arg(long, default_value_t = 1, requires = "subscription")]
        interval_count: i32,
        /// The merchant's page about the subscription.
        #[arg(long, default_value = "https://example.com/subscription", requires = "subscription")]
        agreement_url: String,
        #[arg(long, default_value = "NOK")]
        currency: String,
        #[arg(long)]
        reference: Option<String>,
        #[arg(long, default_value = "Checkout payment")]
        description: String,
        #[arg(long, default_value = "https://example.com/vipps/callback")]
        callback_url: String,
        #[arg(long, default_value = "https://example.com/return")]
        return_url: String,
        /// Token Vipps sends back as the callback's Authorization header (default: a random
        /// one, printed once). A constant default would let anyone forge callbacks.
        #[arg(long)]
        callback_token: Option<String>,
    },
    /// Show a session.
    Get { reference: String },
    /// Change the amount of a session before payment (experimental API).
    Update {
        reference: String,
        #[arg(long)]
        amount: i64,
        #[arg(long, default_value = "NOK")]
        currency: String,
        #[arg(long, default_value = "Checkout payment")]
        description: String,
    },
    /// End a session.
    Expire { reference: String },
}

pub async fn checkout(cmd: CheckoutCommand, json: bool) -> Result<(), String> {
    let client = client_from_env()?;
    let co = client.checkout();
    let e = |e: vipps::Error| e.to_string();
    match cmd {
        CheckoutCommand::Create {
            amount,
            subscription,
            price,
            interval,
            interval_count,
            agreement_url,
            currency,
            reference,
            description,
            callback_url,
            return_url,
            callback_token,
        } => {
            let reference = match reference {
                Some(r) => Reference::new(r).map_err(|e| format!("reference: {e}"))?,
                None => Reference::new(format!("co-{}", uuid::Uuid::new_v4().simple())).map_err(|e| e.to_string())?,
            };
            let currency = Currency::from(currency.to_ascii_uppercase().as_str());
            let callback_token = match callback_token {
                Some(t) => t,
                None => {
                    let t = uuid::Uuid::new_v4().simple().to_string();
                    // On stderr, so that --json output stays one JSON document.
                    eprintln!("callback token (generated): {t}");
                    t
                }
            };
            let info = MerchantInfo::new(callback_url, return_url, callback_token);
            let transaction = amount
                .map(|a| PaymentTransaction::new(Amount::new(a, currency.clone()), reference.clone(), description));
            let req = match (subscription, transaction) {
                (Some(product_name), transaction) => {
                    let sub = Subscription::new(
                        product_name,
                        Amount::new(price.unwrap_or_default(), currency),
                        Interval::new(
                            IntervalUnit::from(interval.to_ascii_uppercase().as_str()),
                            interval_count,
                        ),
                        agreement_url,
                    );
                    InitiateSessionRequest {
                        transaction,
                        ..InitiateSessionRequest::subscription(reference.clone(), info, sub)
                    }
                }
                (None, Some(t)) => InitiateSessionRequest::payment(info, t),
                (None, None) => return Err("--amount is required (or --subscription)".into()),
            };
            let r = co.create_session(req).await.map_err(e)?;
            out(json, &*r, |r| {
                format!(
                    "created session {reference}\n  checkout page: {}?token={}\n  polling: {}",
                    r.checkout_frontend_url, r.token, r.polling_url
                )
            });
        }
        CheckoutCommand::Get { reference } => {
            let r = co.get_session(&reference).await.map_err(e)?;
            out(json, &*r, |r| {
                format!("session {} is {}\n{}", r.reference, r.session_state, pretty(r))
            });
        }
        CheckoutCommand::Update {
            reference,
            amount,
            currency,
            description,
        } => {
            let r = Reference::new(reference.clone()).map_err(|e| format!("reference: {e}"))?;
            let amount = Amount::new(amount, Currency::from(currency.to_ascii_uppercase().as_str()));
            let req = UpdateSessionRequest {
                transaction: PaymentTransaction::new(amount, r, description),
            };
            co.update_session(&reference, req).await.map_err(e)?;
            out(
                json,
                &serde_json::json!({"reference": reference, "updated": true}),
                |_| format!("session {reference} updated"),
            );
        }
        CheckoutCommand::Expire { reference } => {
            co.expire_session(&reference).await.map_err(e)?;
            out(
                json,
                &serde_json::json!({"reference": reference, "expired": true}),
                |_| format!("session {reference} expired"),
            );
        }
    }
    Ok(())
}

/// `vipps token`.
#[derive(clap::Args)]
pub struct TokenArgs {
    /// Use the specialized endpoint `POST /miami/v1/token` (OAuth client credentials, no
    /// subscription key, 15 minutes) instead of `POST /accesstoken/get`.
    #[arg(long)]
    pub specialized: bool,
    /// The scope to ask for (with --specialized), e.g. donations:read.
    #[arg(long, requires = "specialized")]
    pub scope: Option<String>,
}

pub async fn token(args: TokenArgs, json: bool) -> Result<(), String> {
    let client = client_from_env()?;
    let e = |e: vipps::Error| e.to_string();
    if args.specialized {
        let t = client
            .client_credentials_token(args.scope.as_deref())
            .await
            .map_err(e)?;
        out(json, &t, |t| {
            format!(
                "{}\n(Bearer, /miami/v1/token, expires in {} s{})",
                t.access_token,
                t.expires_in.unwrap_or_default(),
                t.scope.as_deref().map(|s| format!(", scope {s}")).unwrap_or_default()
            )
        });
    } else {
        let t = client.access_token().await.map_err(e)?;
        let token = t.expose().to_owned();
        out(
            json,
            &serde_json::json!({"access_token": token, "token_type": "Bearer"}),
            |_| format!("{token}\n(Bearer, /accesstoken/get)"),
        );
    }
    Ok(())
}

/// `vipps userinfo SUB`.
pub async fn userinfo(sub: &str, json: bool) -> Result<(), String> {
    let client = client_from_env()?;
    let u = client.userinfo().get(sub).await.map_err(|e| e.to_string())?;
    out(json, &*u, |u| {
        let mut lines = vec![format!("sub {}", u.sub)];
        let mut add = |label: &str, v: Option<&str>| {
            if let Some(v) = v {
                lines.push(format!("{label:<10}{v}"));
            }
        };
        add("name", u.name.as_deref());
        add("email", u.email.as_deref());
        add("phone", u.phone_number.as_deref());
        add("birthdate", u.birthdate.as_deref());
        let address = u
            .address
            .as_ref()
            .map(|a| format!("{}, {} {}, {}", a.street_address, a.postal_code, a.region, a.country));
        add("address", address.as_deref());
        add("nin", u.nin.as_deref());
        lines.join("\n")
    });
    Ok(())
}

#[derive(Subcommand)]
pub enum EcomCommand {
    /// Initiate an eCom payment.
    Initiate {
        #[arg(long)]
        amount: i64,
        #[arg(long)]
        order_id: Option<String>,
        #[arg(long, default_value = "eCom payment")]
        text: String,
        #[arg(long, default_value = "https://example.com/vipps")]
        callback_prefix: String,
        #[arg(long, default_value = "https://example.com/fallback")]
        fallback: String,
        /// 8-digit mobile number.
        #[arg(long)]
        phone: Option<String>,
    },
    /// Capture (all remaining without --amount).
    Capture {
        order_id: String,
        #[arg(long)]
        amount: Option<i64>,
        #[arg(long, default_value = "capture")]
        text: String,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Cancel.
    Cancel {
        order_id: String,
        #[arg(long, default_value = "cancel")]
        text: String,
        /// After a partial capture: release the rest.
        #[arg(long)]
        release_remaining: bool,
    },
    /// Refund.
    Refund {
        order_id: String,
        #[arg(long)]
        amount: i64,
        #[arg(long, default_value = "refund")]
        text: String,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Show details and history.
    Details { order_id: String },
    /// Approve as a test customer.
    Approve {
        order_id: String,
        #[arg(long)]
        phone: Option<String>,
    },
}

pub async fn ecom(cmd: EcomCommand, json: bool) -> Result<(), String> {
    let client = client_from_env()?;
    let ec = client.ecom();
    let e = |e: vipps::Error| e.to_string();
    match cmd {
        EcomCommand::Initiate {
            amount,
            order_id,
            text,
            callback_prefix,
            fallback,
            phone,
        } => {
            let order_id = order_id.unwrap_or_else(|| format!("ecom-{}", uuid::Uuid::new_v4().simple()));
            let req = InitiatePaymentRequest {
                customer_info: vipps::types::ecom::CustomerInfo { mobile_number: phone },
                merchant_info: EcomMerchant {
                    merchant_serial_number: client.config().merchant_serial_number().to_owned(),
                    callback_prefix,
                    fall_back: fallback,
                    ..Default::default()
                },
                transaction: InitiateTransaction {
                    amount,
                    order_id,
                    transaction_text: text,
                    ..Default::default()
                },
            };
            let r = ec.initiate(req).await.map_err(e)?;
            out(json, &*r, |r| {
                format!("initiated order {}\n  url: {}", r.order_id, r.url)
            });
        }
        EcomCommand::Capture {
            order_id,
            amount,
            text,
            request_id,
        } => {
            let r = with_key(ec.capture(&order_id, amount, text), request_id)
                .await
                .map_err(e)?;
            out(json, &*r, pretty);
        }
        EcomCommand::Cancel {
            order_id,
            text,
            release_remaining,
        } => {
            let r = ec.cancel(&order_id, text, release_remaining).await.map_err(e)?;
            out(json, &*r, pretty);
        }
        EcomCommand::Refund {
            order_id,
            amount,
            text,
            request_id,
        } => {
            let r = with_key(ec.refund(&order_id, amount, text), request_id)
                .await
                .map_err(e)?;
            out(json, &*r, pretty);
        }
        EcomCommand::Details { order_id } => {
            let r = ec.details(&order_id).await.map_err(e)?;
            out(json, &*r, pretty);
        }
        EcomCommand::Approve { order_id, phone } => {
            ec.force_approve(
                &order_id,
                EcomApprove {
                    customer_phone_number: phone,
                    token: None,
                },
            )
            .await
            .map_err(e)?;
            out(
                json,
                &serde_json::json!({"orderId": order_id, "approved": true}),
                |_| format!("order {order_id} approved"),
            );
        }
    }
    Ok(())
}
