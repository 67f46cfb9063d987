//! `vipps agreement …` and `vipps charge …`: the Recurring API v3 from the shell.

use crate::payment::{client_from_env, print, with_key};
use clap::{ArgGroup, Subcommand};
use serde::Serialize;
use vipps::recurring::{ListAgreements, ListCharges};
use vipps::types::recurring::{
    Agreement, AgreementStatus, AgreementUpdate, Campaign, CaptureRequest, Charge, ChargeStatus, CreateCharge,
    CreateCharges, DraftAgreement, InitialCharge, Interval, PricingRequest, PricingUpdate, ProcessingMode,
    RefundRequest, TransactionType,
};
use vipps::types::{Amount, Currency};

#[derive(Subcommand)]
pub enum AgreementCommand {
    /// Draft an agreement and print the URL the customer approves it at.
    #[command(group(ArgGroup::new("pricing").required(true).args(["amount", "suggested_max_amount", "flexible"])))]
    Create {
        /// LEGACY pricing: the price per interval, minor units (øre/cents).
        #[arg(long)]
        amount: Option<i64>,
        /// VARIABLE pricing: the suggested maximum per interval, minor units.
        #[arg(long)]
        suggested_max_amount: Option<i64>,
        /// FLEXIBLE pricing: no amount, no ceiling.
        #[arg(long)]
        flexible: bool,
        /// Currency.
        #[arg(long, default_value = "NOK")]
        currency: String,
        /// Interval unit: DAY, WEEK, MONTH or YEAR.
        #[arg(long, default_value = "MONTH")]
        interval: String,
        /// Interval count (1-31): every N units.
        #[arg(long, default_value_t = 1)]
        every: i32,
        /// No interval at all (pay per use).
        #[arg(long, conflicts_with_all = ["interval", "every"])]
        pay_per_use: bool,
        /// The agreement's name in the app (at most 45 characters).
        #[arg(long)]
        product_name: String,
        /// A detail line (at most 100 characters).
        #[arg(long)]
        product_description: Option<String>,
        /// Where the customer lands after the app.
        #[arg(long, default_value = "https://example.com/return")]
        redirect_url: String,
        /// Your page for managing this agreement.
        #[arg(long, default_value = "https://example.com/agreement")]
        agreement_url: String,
        /// Prefill the landing page with this MSISDN (e.g. 4791234567).
        #[arg(long)]
        phone: Option<String>,
        /// Bill this much (minor units) when the customer approves.
        #[arg(long)]
        initial_charge: Option<i64>,
        /// The initial charge's description (default: the product name).
        #[arg(long, requires = "initial_charge")]
        initial_charge_description: Option<String>,
        /// The initial charge's DIRECT_CAPTURE or RESERVE_CAPTURE.
        #[arg(long, default_value = "DIRECT_CAPTURE", requires = "initial_charge")]
        initial_charge_type: String,
        /// A campaign as JSON, e.g. '{"type":"PRICE_CAMPAIGN","price":100,"end":"2026-12-25T00:00:00Z"}'.
        #[arg(long)]
        campaign: Option<String>,
        /// Profile data to ask for, space separated, e.g. "name email".
        #[arg(long)]
        scope: Option<String>,
        /// Your own id of the agreement.
        #[arg(long)]
        external_id: Option<String>,
        /// Idempotency key (default: generated).
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Show an agreement.
    Get { agreement_id: String },
    /// List agreements (one page; the next page's token is printed on stderr).
    List {
        /// PENDING, ACTIVE, STOPPED or EXPIRED.
        #[arg(long)]
        status: Option<String>,
        /// Only agreements created after this (`createdAfter`, a Unix timestamp).
        #[arg(long)]
        created_after: Option<i64>,
        /// Page number, from 1.
        #[arg(long)]
        page_number: Option<u32>,
        /// Page size.
        #[arg(long)]
        page_size: Option<u32>,
        /// The token of the previous page.
        #[arg(long)]
        continuation_token: Option<String>,
    },
    /// Change an agreement's name, description, management URL, price or interval.
    Update {
        agreement_id: String,
        #[arg(long)]
        product_name: Option<String>,
        #[arg(long)]
        product_description: Option<String>,
        #[arg(long)]
        agreement_url: Option<String>,
        /// New price (LEGACY agreements).
        #[arg(long, conflicts_with = "suggested_max_amount")]
        amount: Option<i64>,
        /// New suggested maximum (VARIABLE agreements; the customer is not notified).
        #[arg(long)]
        suggested_max_amount: Option<i64>,
        /// New interval unit (DAY, WEEK, MONTH, YEAR), with --every.
        #[arg(long)]
        interval: Option<String>,
        /// New interval count, with --interval.
        #[arg(long, requires = "interval", default_value_t = 1)]
        every: i32,
        /// Switch to a FLEXIBLE interval.
        #[arg(long, conflicts_with = "interval")]
        flexible_interval: bool,
        #[arg(long)]
        external_id: Option<String>,
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Stop an agreement for good (cancels its PENDING, DUE and RESERVED charges).
    Stop {
        agreement_id: String,
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Accept a PENDING agreement as a test user (force accept; test environments and the emulator only).
    Accept {
        agreement_id: String,
        /// The test user's MSISDN.
        #[arg(long)]
        phone: String,
    },
}

#[derive(Subcommand)]
pub enum ChargeCommand {
    /// Create a charge on an ACTIVE agreement.
    Create {
        agreement_id: String,
        /// Minor units (øre/cents).
        #[arg(long)]
        amount: i64,
        /// Shown in the app (at most 45 characters).
        #[arg(long)]
        description: String,
        /// Due date, YYYY-MM-DD, at least one day ahead (required unless --unscheduled).
        #[arg(long, required_unless_present = "unscheduled")]
        due: Option<String>,
        /// Days of retrying after the due date (0-14).
        #[arg(long, default_value_t = 2)]
        retry_days: i32,
        /// DIRECT_CAPTURE or RESERVE_CAPTURE.
        #[arg(long, default_value = "DIRECT_CAPTURE")]
        transaction_type: String,
        /// An UNSCHEDULED charge: processed right away, never retried.
        #[arg(long, conflicts_with_all = ["due", "single_attempt"])]
        unscheduled: bool,
        /// SINGLE_ATTEMPT processing (needs --retry-days 0).
        #[arg(long)]
        single_attempt: bool,
        /// Your id for the charge (replaces the generated charge id).
        #[arg(long)]
        order_id: Option<String>,
        /// For settlement reports.
        #[arg(long)]
        external_id: Option<String>,
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Create up to 2000 charges from a JSON file (an array of {"agreementId", …charge fields}; "-" reads stdin).
    CreateMany {
        file: String,
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Show a charge: AGREEMENT_ID CHARGE_ID, or CHARGE_ID alone (support lookups; stricter rate limit).
    Get {
        #[arg(num_args = 1..=2, required = true, value_names = ["AGREEMENT_ID", "CHARGE_ID"])]
        ids: Vec<String>,
    },
    /// List an agreement's charges (one page; the next page's token is printed on stderr).
    List {
        agreement_id: String,
        /// PENDING, DUE, PROCESSING, CHARGED, FAILED, REFUNDED, PARTIALLY_REFUNDED, RESERVED, PARTIALLY_CAPTURED, CANCELLED.
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        continuation_token: Option<String>,
    },
    /// Cancel a charge (or the uncaptured rest of a reserved one).
    Cancel {
        agreement_id: String,
        charge_id: String,
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Capture all or part of a RESERVED charge.
    Capture {
        agreement_id: String,
        charge_id: String,
        #[arg(long)]
        amount: i64,
        #[arg(long, default_value = "Capture")]
        description: String,
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Refund all or part of a charge.
    Refund {
        agreement_id: String,
        charge_id: String,
        #[arg(long)]
        amount: i64,
        #[arg(long, default_value = "Refund")]
        description: String,
        #[arg(long)]
        idempotency_key: Option<String>,
    },
}

fn upper<T: for<'a> From<&'a str>>(s: &str) -> T {
    T::from(s.to_ascii_uppercase().as_str())
}

fn money(value: i64, currency: &Currency) -> String {
    Amount::new(value, currency.clone()).to_string()
}

fn when(t: Option<time::OffsetDateTime>) -> String {
    t.and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| "-".into())
}

pub fn describe_agreement(a: &Agreement) -> String {
    let p = &a.pricing;
    let price = match (p.amount, p.suggested_max_amount, p.max_amount) {
        (Some(amount), _, _) => format!("{} {}", p.type_, money(amount, &p.currency)),
        (None, Some(suggested), max) => format!(
            "{} suggested max {}, customer's max {}",
            p.type_,
            money(suggested, &p.currency),
            max.map(|m| money(m, &p.currency)).unwrap_or_else(|| "-".into())
        ),
        _ => format!("{} ({})", p.type_, p.currency),
    };
    let interval = match (&a.interval.text, &a.interval.unit, a.interval.count) {
        (Some(t), _, _) => t.clone(),
        (None, Some(u), Some(c)) => format!("every {c} {u}"),
        _ => "none (pay per use)".into(),
    };
    let mut s = format!(
        "agreement {}\n  status:   {}\n  product:  {}\n  pricing:  {price}\n  interval: {interval}\n  created:  {}\n  start:    {}\n  stop:     {}",
        a.id,
        a.status,
        a.product_name,
        when(Some(a.created)),
        when(a.start),
        when(a.stop),
    );
    if let Some(c) = &a.campaign {
        s.push_str(&format!("\n  campaign: {} at {}", c.type_, money(c.price, &p.currency)));
    }
    if let Some(u) = &a.vipps_confirmation_url {
        s.push_str(&format!("\n  confirm:  {u}"));
    }
    s
}

pub fn describe_charge(c: &Charge) -> String {
    let m = |v| money(v, &c.currency);
    let mut s = format!(
        "charge {} (agreement {})\n  status:    {}\n  amount:    {}\n  due:       {}\n  type:      {} {}\n  captured:  {}\n  refunded:  {}\n  cancelled: {}",
        c.id,
        c.agreement_id,
        c.status,
        m(c.amount),
        c.due,
        c.type_,
        c.transaction_type,
        m(c.summary.captured),
        m(c.summary.refunded),
        m(c.summary.cancelled),
    );
    if let Some(r) = &c.failure_reason {
        s.push_str(&format!(
            "\n  failure:   {r}{}",
            c.failure_description
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        ));
    }
    s
}

fn agreements_table(list: &[Agreement]) -> String {
    if list.is_empty() {
        return "no agreements".into();
    }
    let mut s = format!("{:<16} {:<8} product\n", "id", "status");
    for a in list {
        s.push_str(&format!("{:<16} {:<8} {}\n", a.id, a.status.as_str(), a.product_name));
    }
    s.trim_end().to_owned()
}

fn charges_table(list: &[Charge]) -> String {
    if list.is_empty() {
        return "no charges".into();
    }
    let mut s = format!(
        "{:<24} {:<19} {:>14} {:<10} description\n",
        "id", "status", "amount", "due"
    );
    for c in list {
        s.push_str(&format!(
            "{:<24} {:<19} {:>14} {:<10} {}\n",
            c.id,
            c.status.as_str(),
            money(c.amount, &c.currency),
            c.due.to_string(),
            c.description
        ));
    }
    s.trim_end().to_owned()
}

fn next_page<T>(r: &vipps::Response<T>) {
    if let Some(t) = r.header("Continuation-Token") {
        eprintln!("next page: --continuation-token {t}");
    }
}

fn done<T: Serialize>(json: bool, value: T, human: String) {
    print(json, &value, |_| human);
}

pub async fn agreement(cmd: AgreementCommand, json: bool) -> Result<(), String> {
    let client = client_from_env()?;
    let rec = client.recurring();
    let err = |e: vipps::Error| e.to_string();
    match cmd {
        AgreementCommand::Create {
            amount,
            suggested_max_amount,
            flexible,
            currency,
            interval,
            every,
            pay_per_use,
            product_name,
            product_description,
            redirect_url,
            agreement_url,
            phone,
            initial_charge,
            initial_charge_description,
            initial_charge_type,
            campaign,
            scope,
            external_id,
            idempotency_key,
        } => {
            let currency: Currency = upper(&currency);
            let pricing = match (amount, suggested_max_amount, flexible) {
                (Some(a), None, false) => PricingRequest::legacy(a, currency),
                (None, Some(m), false) => PricingRequest::variable(m, currency),
                (None, None, true) => PricingRequest::flexible(currency),
                _ => return Err("give one of --amount, --suggested-max-amount and --flexible".into()),
            };
            let campaign: Option<Campaign> = campaign
                .map(|j| serde_json::from_str(&j).map_err(|e| format!("--campaign: not a campaign object: {e}")))
                .transpose()?;
            let interval = (!pay_per_use).then(|| Interval::every(every, upper(&interval)));
            let req = DraftAgreement {
                product_description,
                phone_number: phone,
                initial_charge: initial_charge.map(|a| {
                    InitialCharge::new(
                        a,
                        initial_charge_description.unwrap_or_else(|| product_name.clone()),
                        upper(&initial_charge_type),
                    )
                }),
                campaign,
                scope,
                external_id,
                ..DraftAgreement::new(pricing, interval, product_name.clone(), redirect_url, agreement_url)
            };
            let r = with_key(rec.create_agreement(req), idempotency_key)
                .await
                .map_err(err)?;
            let key = r.idempotency_key().unwrap_or_default().to_owned();
            print(json, &*r, |r| {
                let mut s = format!(
                    "drafted agreement {}\n  confirm at: {}",
                    r.agreement_id,
                    r.vipps_confirmation_url.as_deref().unwrap_or("(none)")
                );
                if let Some(c) = &r.charge_id {
                    s.push_str(&format!("\n  initial charge: {c}"));
                }
                s.push_str(&format!("\n  idempotency key: {key}"));
                s
            });
        }
        AgreementCommand::Get { agreement_id } => {
            let r = rec.get_agreement(&agreement_id).await.map_err(err)?;
            print(json, &*r, describe_agreement);
        }
        AgreementCommand::List {
            status,
            created_after,
            page_number,
            page_size,
            continuation_token,
        } => {
            let query = ListAgreements {
                status: status.as_deref().map(upper::<AgreementStatus>),
                created_after,
                page_number,
                page_size,
                continuation_token,
            };
            let r = rec.list_agreements(query).await.map_err(err)?;
            print(json, &*r, |l| agreements_table(l));
            next_page(&r);
        }
        AgreementCommand::Update {
            agreement_id,
            product_name,
            product_description,
            agreement_url,
            amount,
            suggested_max_amount,
            interval,
            every,
            flexible_interval,
            external_id,
            idempotency_key,
        } => {
            let update = AgreementUpdate {
                product_name,
                product_description,
                merchant_agreement_url: agreement_url,
                external_id,
                pricing: (amount.is_some() || suggested_max_amount.is_some()).then_some(PricingUpdate {
                    amount,
                    suggested_max_amount,
                }),
                interval: if flexible_interval {
                    Some(Interval::flexible())
                } else {
                    interval.map(|u| Interval::recurring(every, upper(&u)))
                },
                status: None,
            };
            with_key(rec.update_agreement(&agreement_id, update), idempotency_key)
                .await
                .map_err(err)?;
            done(
                json,
                serde_json::json!({"agreementId": agreement_id, "updated": true}),
                format!("agreement {agreement_id} updated"),
            );
        }
        AgreementCommand::Stop {
            agreement_id,
            idempotency_key,
        } => {
            with_key(rec.stop_agreement(&agreement_id), idempotency_key)
                .await
                .map_err(err)?;
            done(
                json,
                serde_json::json!({"agreementId": agreement_id, "status": "STOPPED"}),
                format!("agreement {agreement_id} stopped"),
            );
        }
        AgreementCommand::Accept { agreement_id, phone } => {
            rec.force_accept_agreement(&agreement_id, phone).await.map_err(err)?;
            done(
                json,
                serde_json::json!({"agreementId": agreement_id, "accepted": true}),
                format!("agreement {agreement_id} accepted"),
            );
        }
    }
    Ok(())
}

fn parse_due(s: &str) -> Result<time::Date, String> {
    let ymd = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, ymd).map_err(|_| format!("--due: `{s}` is not a date (YYYY-MM-DD)"))
}

fn read_file(file: &str) -> Result<String, String> {
    if file == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| format!("stdin: {e}"))
    } else {
        std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))
    }
}

pub async fn charge(cmd: ChargeCommand, json: bool) -> Result<(), String> {
    let client = client_from_env()?;
    let rec = client.recurring();
    let err = |e: vipps::Error| e.to_string();
    match cmd {
        ChargeCommand::Create {
            agreement_id,
            amount,
            description,
            due,
            retry_days,
            transaction_type,
            unscheduled,
            single_attempt,
            order_id,
            external_id,
            idempotency_key,
        } => {
            let transaction_type: TransactionType = upper(&transaction_type);
            let base = if unscheduled {
                CreateCharge::unscheduled(amount, description, transaction_type)
            } else {
                let due = parse_due(due.as_deref().unwrap_or_default())?;
                CreateCharge::recurring(amount, description, due, retry_days, transaction_type)
            };
            let req = CreateCharge {
                order_id,
                external_id,
                processing_mode: single_attempt.then_some(ProcessingMode::SingleAttempt),
                ..base
            };
            let r = with_key(rec.create_charge(&agreement_id, req), idempotency_key)
                .await
                .map_err(err)?;
            let key = r.idempotency_key().unwrap_or_default().to_owned();
            print(json, &*r, |r| {
                format!(
                    "created charge {} on agreement {agreement_id}\n  idempotency key: {key}",
                    r.charge_id
                )
            });
        }
        ChargeCommand::CreateMany { file, idempotency_key } => {
            let charges: CreateCharges = serde_json::from_str(&read_file(&file)?)
                .map_err(|e| format!("{file}: not an array of charges: {e}"))?;
            let r = with_key(rec.create_charges(charges), idempotency_key)
                .await
                .map_err(err)?;
            print(json, &*r, |r| {
                let mut s = String::new();
                for id in &r.valid_charges {
                    s.push_str(&format!("created {id}\n"));
                }
                for bad in &r.invalid_charges {
                    let c = &bad.charge_batch_item_dto;
                    let order = c.charge.order_id.as_deref().unwrap_or("-");
                    s.push_str(&format!(
                        "refused {order} on {}: {}\n",
                        c.agreement_id,
                        bad.errors.join("; ")
                    ));
                }
                s.trim_end().to_owned()
            });
            if !r.invalid_charges.is_empty() {
                let total = r.valid_charges.len() + r.invalid_charges.len();
                return Err(format!(
                    "{} of {total} charges were not created",
                    r.invalid_charges.len()
                ));
            }
        }
        ChargeCommand::Get { ids } => {
            let r = match ids.as_slice() {
                [charge_id] => rec.get_charge_by_id(charge_id).await,
                [agreement_id, charge_id] => rec.get_charge(agreement_id, charge_id).await,
                _ => return Err("give AGREEMENT_ID CHARGE_ID, or CHARGE_ID alone".into()),
            }
            .map_err(err)?;
            print(json, &*r, describe_charge);
        }
        ChargeCommand::List {
            agreement_id,
            status,
            continuation_token,
        } => {
            let query = ListCharges {
                status: status.as_deref().map(upper::<ChargeStatus>),
                continuation_token,
            };
            let r = rec.list_charges(&agreement_id, query).await.map_err(err)?;
            print(json, &*r, |l| charges_table(l));
            next_page(&r);
        }
        ChargeCommand::Cancel {
            agreement_id,
            charge_id,
            idempotency_key,
        } => {
            with_key(rec.cancel_charge(&agreement_id, &charge_id), idempotency_key)
                .await
                .map_err(err)?;
            done(
                json,
                serde_json::json!({"agreementId": agreement_id, "chargeId": charge_id, "cancelled": true}),
                format!("charge {charge_id} cancelled"),
            );
        }
        ChargeCommand::Capture {
            agreement_id,
            charge_id,
            amount,
            description,
            idempotency_key,
        } => {
            let body = CaptureRequest::new(amount, description);
            with_key(rec.capture_charge(&agreement_id, &charge_id, body), idempotency_key)
                .await
                .map_err(err)?;
            done(
                json,
                serde_json::json!({"agreementId": agreement_id, "chargeId": charge_id, "captured": amount}),
                format!("charge {charge_id}: captured {amount} (minor units)"),
            );
        }
        ChargeCommand::Refund {
            agreement_id,
            charge_id,
            amount,
            description,
            idempotency_key,
        } => {
            let body = RefundRequest::new(amount, description);
            with_key(rec.refund_charge(&agreement_id, &charge_id, body), idempotency_key)
                .await
                .map_err(err)?;
            done(
                json,
                serde_json::json!({"agreementId": agreement_id, "chargeId": charge_id, "refunded": amount}),
                format!("charge {charge_id}: refunded {amount} (minor units)"),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_units_and_statuses_are_read_case_insensitively() {
        use vipps::types::recurring::IntervalUnit;
        assert_eq!(upper::<IntervalUnit>("month"), IntervalUnit::Month);
        assert_eq!(
            upper::<ChargeStatus>("partially_captured"),
            ChargeStatus::PartiallyCaptured
        );
        assert!(parse_due("2026-10-01").is_ok());
        assert!(parse_due("01.10.2026").unwrap_err().contains("YYYY-MM-DD"));
    }
}
