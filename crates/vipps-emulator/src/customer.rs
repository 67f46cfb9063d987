//! The emulated customer: who approves in the app, whose data Express, profile sharing,
//! Checkout and eCom share with the merchant. One per market, chosen by currency.

use vipps_types::Currency;

/// The Norwegian test customer (also the default).
pub(crate) const NORWAY: TestCustomer = TestCustomer {
    first_name: "Ola",
    last_name: "Nordmann",
    email: "ola.nordmann@example.com",
    mobile: "4791234567",
    street: "Robert Levins gate 5",
    post_code: "0154",
    city: "Oslo",
    country: "NO",
};

/// The test customer of one market.
pub(crate) struct TestCustomer {
    pub(crate) first_name: &'static str,
    pub(crate) last_name: &'static str,
    pub(crate) email: &'static str,
    pub(crate) mobile: &'static str,
    pub(crate) street: &'static str,
    pub(crate) post_code: &'static str,
    pub(crate) city: &'static str,
    pub(crate) country: &'static str,
}

pub(crate) fn test_customer(currency: &Currency) -> TestCustomer {
    match currency {
        Currency::Dkk => TestCustomer {
            first_name: "Mette",
            last_name: "Jensen",
            email: "mette.jensen@example.com",
            mobile: "4512345678",
            street: "Vesterbrogade 1",
            post_code: "1620",
            city: "København V",
            country: "DK",
        },
        Currency::Eur => TestCustomer {
            first_name: "Matti",
            last_name: "Virtanen",
            email: "matti.virtanen@example.com",
            mobile: "358401234567",
            street: "Mannerheimintie 1",
            post_code: "00100",
            city: "Helsinki",
            country: "FI",
        },
        _ => NORWAY,
    }
}
