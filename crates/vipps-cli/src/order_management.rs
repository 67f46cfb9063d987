//! `vipps receipt …`, `vipps category …` and `vipps image …`: the Order Management API from
//! the shell.

use crate::payment::{client_from_env, print, receipt_from_file, with_key};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use vipps::types::order_management::{
    AddCategoryRequest, Category, CategoryType, ImageId, OrderCategory, OrderId, OrderInfo, OrderLine, PaymentType,
    Receipt,
};
use vipps::types::{Amount, Currency};

/// Which order: its id and the API that paid it.
#[derive(Args)]
pub struct OrderArg {
    /// The order: an ePayment reference or eCom orderId (`--payment-type ecom`), or a Recurring
    /// chargeId (`--payment-type recurring`).
    order_id: String,
    /// ecom (ePayment and eCom payments) or recurring (Recurring charges).
    #[arg(long, default_value = "ecom")]
    payment_type: String,
}

impl OrderArg {
    fn payment_type(&self) -> Result<PaymentType, String> {
        PaymentType::from_path_segment(&self.payment_type)
            .ok_or_else(|| format!("--payment-type must be ecom or recurring, not {:?}", self.payment_type))
    }
}

#[derive(Subcommand)]
pub enum ReceiptCommand {
    /// Add the receipt (order lines and bottom line) the customer sees with the order.
    Add {
        #[command(flatten)]
        order: OrderArg,
        /// A JSON file (`-` for stdin) with a whole receipt `{orderLines, bottomLine}` or just
        /// an array of order lines.
        #[arg(long, value_name = "FILE", required_unless_present = "line")]
        lines: Option<PathBuf>,
        /// A line as NAME:AMOUNT (minor units, VAT included), e.g. "Socks:19900"; repeat it.
        #[arg(long, value_name = "NAME:AMOUNT", conflicts_with = "lines")]
        line: Vec<String>,
        /// A shipping line as NAME:AMOUNT.
        #[arg(long, value_name = "NAME:AMOUNT", conflicts_with = "lines")]
        shipping: Option<String>,
        /// VAT of the --line and --shipping lines in hundredths of a percent (2500 = 25 %).
        #[arg(long, default_value_t = 2500)]
        vat: i64,
        /// Currency of the receipt, when the file has no bottom line.
        #[arg(long, default_value = "NOK")]
        currency: String,
        /// Idempotency key (default: generated).
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Show the order's receipt and category.
    Get {
        #[command(flatten)]
        order: OrderArg,
    },
}

/// A category's link: its type, URL and image.
#[derive(Args)]
pub struct LinkArgs {
    /// GENERAL, RECEIPT, ORDER_CONFIRMATION, DELIVERY, TICKET or BOOKING.
    #[arg(long = "type")]
    kind: String,
    /// The link (https://).
    #[arg(long)]
    url: String,
    /// An uploaded image to show with it.
    #[arg(long)]
    image_id: Option<String>,
}

impl LinkArgs {
    fn category_type(&self) -> CategoryType {
        CategoryType::from(self.kind.to_ascii_uppercase().replace('-', "_").as_str())
    }

    fn image_id(&self) -> Result<Option<ImageId>, String> {
        self.image_id
            .as_ref()
            .map(|s| ImageId::new(s.as_str()).map_err(|e| e.to_string()))
            .transpose()
    }
}

#[derive(Subcommand)]
pub enum CategoryCommand {
    /// Add or replace the order's category: a link back to your site, labelled by its type.
    Set {
        #[command(flatten)]
        order: OrderArg,
        #[command(flatten)]
        link: LinkArgs,
    },
    /// Add a category with an id of its own (v3).
    Add {
        #[command(flatten)]
        order: OrderArg,
        #[command(flatten)]
        link: LinkArgs,
    },
    /// List an order's v3 categories.
    List { order_id: String },
    /// Show a v3 category.
    Get { category_id: String },
    /// Delete a v3 category.
    Delete { category_id: String },
}

#[derive(Subcommand)]
pub enum ImageCommand {
    /// Upload a PNG or JPEG (at most 2 MB, at least 167 pixels high) to show with categories.
    Upload {
        /// The image file.
        file: PathBuf,
        /// Its id (default: the file name without its extension).
        #[arg(long)]
        id: Option<String>,
    },
}

/// `NAME:AMOUNT` as a one-piece line with `vat`.
fn parse_line(id: String, spec: &str, vat: i64) -> Result<OrderLine, String> {
    let (name, amount) = spec
        .rsplit_once(':')
        .ok_or_else(|| format!("{spec:?}: write a line as NAME:AMOUNT, e.g. Socks:19900"))?;
    let amount: i64 = amount
        .trim()
        .parse()
        .map_err(|_| format!("{spec:?}: the amount must be a whole number of minor units (øre/cents)"))?;
    if !(0..=1_000_000_000_000).contains(&amount) {
        return Err(format!(
            "{spec:?}: the amount must be between 0 and 1000000000000 minor units"
        ));
    }
    if !(0..=10_000).contains(&vat) {
        return Err("--vat must be between 0 and 10000 (hundredths of a percent)".into());
    }
    Ok(OrderLine::new(id, name.trim(), amount, vat))
}

fn receipt_from_args(
    lines: &[String],
    shipping: Option<&str>,
    vat: i64,
    currency: Currency,
) -> Result<Receipt, String> {
    let mut order_lines = lines
        .iter()
        .enumerate()
        .map(|(i, l)| parse_line((i + 1).to_string(), l, vat))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(s) = shipping {
        order_lines.push(OrderLine {
            is_shipping: Some(true),
            ..parse_line("shipping".into(), s, vat)?
        });
    }
    Ok(Receipt::new(order_lines, currency))
}

fn currency(s: &str) -> Currency {
    Currency::from(s.to_ascii_uppercase().as_str())
}

/// What the customer sees: one row per line, shipping and returns marked, then the totals.
pub fn describe_receipt(r: &Receipt) -> String {
    let c = &r.bottom_line.currency;
    let money = |v: i64| Amount::new(v, c.clone()).to_string();
    let mut out = String::from("receipt\n");
    for l in &r.order_lines {
        let qty = l
            .unit_info
            .as_ref()
            .map(|u| {
                let unit = u.quantity_unit.as_ref().map_or("PCS", |q| q.as_str());
                format!("{} {unit} ", u.quantity)
            })
            .unwrap_or_default();
        let mark = match (l.is_shipping == Some(true), l.is_return == Some(true)) {
            (true, _) => " (shipping)",
            (_, true) => " (returned)",
            _ => "",
        };
        out += &format!("  {qty}{}{mark}: {}\n", l.name, money(l.sign() * l.total_amount));
    }
    let t = r.totals();
    if t.discount != 0 {
        out += &format!("  discount: {}\n", money(t.discount));
    }
    out += &format!("  VAT:      {}\n  total:    {}", money(t.tax), money(t.total));
    if let Some(tip) = r.bottom_line.tip_amount.filter(|t| *t != 0) {
        out += &format!("\n  tip:      {}", money(tip));
    }
    out
}

fn describe_order(order_id: &str, o: &OrderInfo) -> String {
    let mut out = format!("order {order_id}");
    match &o.category {
        Some(c) => {
            out += &format!("\n  category: {} {}", c.category, c.order_details_url);
            if let Some(i) = &c.image_id {
                out += &format!(" (image {i})");
            }
        }
        None => out += "\n  category: none",
    }
    match &o.receipt {
        Some(r) => out += &format!("\n{}", describe_receipt(r)),
        None => out += "\n  receipt: none",
    }
    out
}

fn describe_category(c: &Category) -> String {
    let image = c.image_id.as_ref().map(|i| format!(" (image {i})")).unwrap_or_default();
    format!(
        "category {}: {} {} for {} order {}{image}",
        c.category_id,
        c.kind,
        c.url,
        c.payment_type.path_segment(),
        c.order_id
    )
}

pub async fn receipt(cmd: ReceiptCommand, json: bool) -> Result<(), String> {
    let client = client_from_env()?;
    let om = client.order_management();
    let err = |e: vipps::Error| e.to_string();
    match cmd {
        ReceiptCommand::Add {
            order,
            lines,
            line,
            shipping,
            vat,
            currency: cur,
            idempotency_key,
        } => {
            let receipt = match &lines {
                Some(path) => receipt_from_file(path, currency(&cur))?,
                None => receipt_from_args(&line, shipping.as_deref(), vat, currency(&cur))?,
            };
            let r = with_key(
                om.add_receipt(order.payment_type()?, &order.order_id, receipt.clone()),
                idempotency_key,
            )
            .await
            .map_err(err)?;
            let key = r.idempotency_key().unwrap_or_default().to_owned();
            print(json, &receipt, |r| {
                format!(
                    "added to order {}\n{}\n  idempotency key: {key}",
                    order.order_id,
                    describe_receipt(r)
                )
            });
        }
        ReceiptCommand::Get { order } => {
            let o = om
                .get_order(order.payment_type()?, &order.order_id)
                .await
                .map_err(err)?;
            print(json, &*o, |o| describe_order(&order.order_id, o));
        }
    }
    Ok(())
}

pub async fn category(cmd: CategoryCommand, json: bool) -> Result<(), String> {
    let client = client_from_env()?;
    let om = client.order_management();
    let err = |e: vipps::Error| e.to_string();
    match cmd {
        CategoryCommand::Set { order, link } => {
            let category = OrderCategory {
                image_id: link.image_id()?,
                ..OrderCategory::new(link.category_type(), link.url.clone())
            };
            om.set_category(order.payment_type()?, &order.order_id, category.clone())
                .await
                .map_err(err)?;
            print(json, &category, |c| {
                format!(
                    "order {}: category {} {}",
                    order.order_id, c.category, c.order_details_url
                )
            });
        }
        CategoryCommand::Add { order, link } => {
            let req = AddCategoryRequest {
                order_id: OrderId::new(order.order_id.clone()).map_err(|e| e.to_string())?,
                payment_type: order.payment_type()?,
                kind: link.category_type(),
                url: link.url.clone(),
                image_id: link.image_id()?,
            };
            let r = om.add_category(req).await.map_err(err)?;
            print(json, &*r, |r| format!("added category {}", r.category_id));
        }
        CategoryCommand::List { order_id } => {
            let r = om.list_categories(&order_id).await.map_err(err)?;
            print(json, &*r, |r| {
                if r.categories.is_empty() {
                    format!("order {order_id} has no v3 categories")
                } else {
                    r.categories
                        .iter()
                        .map(describe_category)
                        .collect::<Vec<_>>()
                        .join("\n")
                }
            });
        }
        CategoryCommand::Get { category_id } => {
            let r = om.get_category(&category_id).await.map_err(err)?;
            print(json, &*r, describe_category);
        }
        CategoryCommand::Delete { category_id } => {
            om.delete_category(&category_id).await.map_err(err)?;
            print(json, &serde_json::json!({ "deleted": category_id }), |_| {
                format!("deleted category {category_id}")
            });
        }
    }
    Ok(())
}

pub async fn image(cmd: ImageCommand, json: bool) -> Result<(), String> {
    let ImageCommand::Upload { file, id } = cmd;
    let bytes = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let id = match id {
        Some(id) => id,
        None => file
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or_else(|| format!("{}: give the image an id with --id", file.display()))?
            .to_owned(),
    };
    let id = ImageId::new(id).map_err(|e| format!("{e} (choose another with --id)"))?;
    let client = client_from_env()?;
    let r = client
        .order_management()
        .upload_image_bytes(id, &bytes)
        .await
        .map_err(|e| e.to_string())?;
    print(json, &*r, |r| format!("uploaded image {}", r.image_id));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_from_arguments_add_up_and_bad_ones_are_explained() {
        let r = receipt_from_args(&["Socks:19900".into()], Some("Home delivery:4900"), 2500, Currency::Nok).unwrap();
        assert_eq!(r.order_lines.len(), 2);
        assert_eq!(r.order_lines[1].is_shipping, Some(true));
        assert_eq!(r.totals().total, 24_800);
        vipps::types::Validate::validate(&r).unwrap();
        assert!(parse_line("1".into(), "Socks", 2500)
            .unwrap_err()
            .contains("NAME:AMOUNT"));
        assert!(parse_line("1".into(), "Socks:12.50", 2500)
            .unwrap_err()
            .contains("minor units"));
        assert!(parse_line("1".into(), "Socks:100", 10_001).is_err());
        assert!(parse_line("1".into(), "Socks:1000000000000000", 2500).is_err());
        let link = LinkArgs {
            kind: "order-confirmation".into(),
            url: "https://example.com".into(),
            image_id: Some("a b".into()),
        };
        assert_eq!(link.category_type(), CategoryType::OrderConfirmation);
        assert!(link.image_id().is_err());
    }

    #[test]
    fn a_file_holds_a_receipt_or_just_its_lines() {
        let dir = std::env::temp_dir().join(format!("vipps-cli-receipt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let lines = dir.join("lines.json");
        std::fs::write(
            &lines,
            r#"[{"name":"Socks","id":"1","totalAmount":100,"totalAmountExcludingTax":80,"totalTaxAmount":20,"taxRate":2500}]"#,
        )
        .unwrap();
        let r = receipt_from_file(&lines, Currency::Dkk).unwrap();
        assert_eq!(r.bottom_line.currency, Currency::Dkk);
        let whole = dir.join("receipt.json");
        std::fs::write(&whole, serde_json::to_string(&Receipt { ..r.clone() }).unwrap()).unwrap();
        assert_eq!(receipt_from_file(&whole, Currency::Nok).unwrap(), r);
        std::fs::write(&whole, "{\"orderLines\": 3}").unwrap();
        assert!(receipt_from_file(&whole, Currency::Nok)
            .unwrap_err()
            .contains("not a receipt"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
