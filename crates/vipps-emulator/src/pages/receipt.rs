//! What the app shows with a payment that Order Management knows about: the receipt (order
//! lines, shipping apart, returns negative, VAT, total) and the latest category as a link
//! with its image. Everything the merchant sent is escaped.

use crate::core::objects::OrderView;
use crate::core::state::AppState;
use crate::core::store::Payment;
use crate::web::{escape, safe_link};
use vipps_types::order_management::{CategoryType, OrderLine, PaymentType, Receipt};
use vipps_types::{Amount, Currency};

/// The receipt and category of payment `p`, as HTML (empty when it has neither).
pub(super) fn section(state: &AppState, p: &Payment) -> String {
    section_of(state, &p.msn, p.reference.as_str())
}

/// The receipt and category of `ECOM` order `order_id` of `msn` (an ePayment payment or an
/// eCom order), as HTML (empty when it has neither).
pub(super) fn section_of(state: &AppState, msn: &str, order_id: &str) -> String {
    let view = state
        .store()
        .read(|t| state.order_view(t, msn, &PaymentType::Ecom, order_id));
    view.map(|v| render(&v)).unwrap_or_default()
}

fn render(v: &OrderView) -> String {
    let mut s = String::new();
    if let Some(r) = &v.receipt {
        s += &receipt(r);
    }
    if let Some(c) = &v.category {
        if safe_link(&c.order_details_url) {
            let image = v
                .image_url
                .as_deref()
                .map(|u| {
                    format!(
                        "<img id=\"category-image\" src=\"{}\" alt=\"\" height=\"84\"> ",
                        escape(u)
                    )
                })
                .unwrap_or_default();
            s += &format!(
                "<p class=\"card\" id=\"category\">{image}<a href=\"{}\" rel=\"noopener noreferrer\">{}</a></p>",
                escape(&c.order_details_url),
                escape(label(&c.category)),
            );
        }
    }
    s
}

/// The link's text in the app for each category.
fn label(c: &CategoryType) -> &'static str {
    match c {
        CategoryType::Receipt => "Receipt",
        CategoryType::OrderConfirmation => "Order confirmation",
        CategoryType::Delivery => "Delivery",
        CategoryType::Ticket => "Ticket",
        CategoryType::Booking => "Booking",
        CategoryType::General | CategoryType::Unknown(_) => "Order details",
    }
}

fn money(value: i64, currency: &Currency) -> String {
    escape(&Amount::new(value, currency.clone()).to_string())
}

fn line(l: &OrderLine, currency: &Currency) -> String {
    let quantity = l
        .unit_info
        .as_ref()
        .map(|u| {
            let unit = u
                .quantity_unit
                .as_ref()
                .map(|q| q.as_str().to_lowercase())
                .unwrap_or_default();
            let each = u
                .unit_price
                .map(|p| format!(" × {}", money(p, currency)))
                .unwrap_or_default();
            format!("{} {}{each}", escape(&u.quantity), escape(&unit))
        })
        .unwrap_or_default();
    let returned = if l.sign() < 0 { " (returned)" } else { "" };
    let discount = match l.discount {
        Some(d) if d > 0 => format!("<br><small>Discount {}</small>", money(d, currency)),
        _ => String::new(),
    };
    format!(
        "<tr class=\"order-line{}\"><td>{}{returned}{discount}</td><td>{quantity}</td><td class=\"num\">{}</td></tr>",
        if l.sign() < 0 { " return" } else { "" },
        escape(&l.name),
        money(l.sign() * l.total_amount, currency),
    )
}

fn receipt(r: &Receipt) -> String {
    let c = &r.bottom_line.currency;
    let (shipping, items): (Vec<&OrderLine>, Vec<&OrderLine>) =
        r.order_lines.iter().partition(|l| l.is_shipping == Some(true));
    let mut s = String::from(
        "<div class=\"card\" id=\"receipt\"><h2>Receipt</h2><table><thead><tr><th>Item</th><th>Quantity</th>\
<th class=\"num\">Amount</th></tr></thead><tbody>",
    );
    for l in items {
        s += &line(l, c);
    }
    s += "</tbody>";
    if !shipping.is_empty() {
        s += "<tbody id=\"receipt-shipping\"><tr><th colspan=\"3\">Shipping</th></tr>";
        for l in shipping {
            s += &line(l, c);
        }
        s += "</tbody>";
    }
    let totals = r.totals();
    s += "<tfoot>";
    if let Some(tip) = r.bottom_line.tip_amount.filter(|t| *t > 0) {
        s += &format!(
            "<tr><th colspan=\"2\">Tip</th><td class=\"num\">{}</td></tr>",
            money(tip, c)
        );
    }
    s += &format!(
        "<tr><th colspan=\"2\">VAT</th><td class=\"num\" id=\"receipt-vat\">{}</td></tr>\
<tr><th colspan=\"2\">Total</th><td class=\"num\" id=\"receipt-total\">{}</td></tr></tfoot></table>",
        money(totals.tax, c),
        money(totals.total.saturating_add(r.bottom_line.tip_amount.unwrap_or(0)), c),
    );
    if let Some(n) = &r.bottom_line.receipt_number {
        s += &format!("<p class=\"note\">Receipt number {}</p>", escape(n));
    }
    s += "</div>";
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use vipps_types::order_management::{OrderCategory, UnitInfo};

    #[test]
    fn lines_shipping_returns_and_totals() {
        let mut socks = OrderLine::new("1", "Socks <wool>", 5000, 2500);
        socks.unit_info = Some(UnitInfo {
            unit_price: Some(2500),
            quantity: "2".into(),
            quantity_unit: Some(vipps_types::order_management::QuantityUnit::Pcs),
        });
        let mut back = OrderLine::new("2", "Hat", 1000, 2500);
        back.is_return = Some(true);
        let mut ship = OrderLine::new("3", "Home delivery", 1000, 2500);
        ship.is_shipping = Some(true);
        let r = Receipt::new(vec![socks, back, ship], Currency::Nok);
        let v = OrderView {
            receipt: Some(r),
            category: Some(OrderCategory::new(
                CategoryType::OrderConfirmation,
                "https://example.com/o?a=1&b=\"2\"",
            )),
            image_url: Some("/order-management/images/123456/x".into()),
        };
        let html = render(&v);
        assert!(html.contains("Socks &lt;wool&gt;"), "{html}");
        assert!(html.contains("2 pcs × 25.00 NOK"), "{html}");
        assert!(html.contains("-10.00 NOK"), "a return is negative: {html}");
        assert!(html.contains("<tbody id=\"receipt-shipping\">"), "{html}");
        assert!(html.contains("id=\"receipt-total\">50.00 NOK<"), "{html}");
        assert!(html.contains("id=\"receipt-vat\">10.00 NOK<"), "{html}");
        assert!(
            html.contains("href=\"https://example.com/o?a=1&amp;b=&quot;2&quot;\""),
            "{html}"
        );
        assert!(html.contains(">Order confirmation</a>"), "{html}");
        assert!(html.contains("src=\"/order-management/images/123456/x\""), "{html}");
    }
}
