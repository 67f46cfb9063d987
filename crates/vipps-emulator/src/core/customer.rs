//! The emulated customer: who approves in the app, whose data Express, profile sharing,
//! Checkout and eCom share with the merchant. One per market, chosen by currency.

use vipps_types::epayment::{Address, UserDetails};
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
    birthdate: "1990-01-31",
};

/// The Danish test customer (DKK).
const DENMARK: TestCustomer = TestCustomer {
    first_name: "Mette",
    last_name: "Jensen",
    email: "mette.jensen@example.com",
    mobile: "4512345678",
    street: "Vesterbrogade 1",
    post_code: "1620",
    city: "København V",
    country: "DK",
    birthdate: "1988-05-12",
};

/// The Finnish test customer (EUR).
const FINLAND: TestCustomer = TestCustomer {
    first_name: "Matti",
    last_name: "Virtanen",
    email: "matti.virtanen@example.com",
    mobile: "358401234567",
    street: "Mannerheimintie 1",
    post_code: "00100",
    city: "Helsinki",
    country: "FI",
    birthdate: "1985-11-03",
};

/// The Swedish test customer: no currency of these APIs is Swedish, but a Checkout session
/// may ship to Sweden only.
const SWEDEN: TestCustomer = TestCustomer {
    first_name: "Anna",
    last_name: "Svensson",
    email: "anna.svensson@example.com",
    mobile: "46701234567",
    street: "Drottninggatan 1",
    post_code: "11151",
    city: "Stockholm",
    country: "SE",
    birthdate: "1992-03-17",
};

/// The test customer of one market.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TestCustomer {
    pub(crate) first_name: &'static str,
    pub(crate) last_name: &'static str,
    pub(crate) email: &'static str,
    pub(crate) mobile: &'static str,
    pub(crate) street: &'static str,
    pub(crate) post_code: &'static str,
    pub(crate) city: &'static str,
    pub(crate) country: &'static str,
    pub(crate) birthdate: &'static str,
}

pub(crate) fn test_customer(currency: &Currency) -> TestCustomer {
    match currency {
        Currency::Dkk => DENMARK,
        Currency::Eur => FINLAND,
        _ => NORWAY,
    }
}

/// The test customer who lives in `country` (ISO 3166-1 alpha-2, any case), if there is one.
pub(crate) fn living_in(country: &str) -> Option<TestCustomer> {
    [NORWAY, DENMARK, FINLAND, SWEDEN]
        .into_iter()
        .find(|c| c.country.eq_ignore_ascii_case(country))
}

/// A customer's profile as shared with a merchant (what the Userinfo API answers with).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Person {
    /// First name.
    pub(crate) first_name: String,
    /// Last name.
    pub(crate) last_name: String,
    /// Email.
    pub(crate) email: String,
    /// MSISDN with country code, e.g. `4791234567`.
    pub(crate) phone: String,
    /// Street address.
    pub(crate) street: String,
    /// Postal code.
    pub(crate) post_code: String,
    /// City.
    pub(crate) city: String,
    /// ISO 3166-1 alpha-2 country code.
    pub(crate) country: String,
    /// `YYYY-MM-DD`.
    pub(crate) birthdate: String,
}

impl Person {
    /// Age in whole years on `today` (0 for a birthdate that does not parse).
    pub(crate) fn age_on(&self, today: time::Date) -> i64 {
        let fmt = time::macros::format_description!("[year]-[month]-[day]");
        let Ok(born) = time::Date::parse(&self.birthdate, &fmt) else {
            return 0;
        };
        let mut age = i64::from(today.year() - born.year());
        if (today.month() as u8, today.day()) < (born.month() as u8, born.day()) {
            age -= 1;
        }
        age.max(0)
    }

    /// The test customer of `currency`'s market, with `phone` when the payment named one.
    pub(crate) fn test(currency: &Currency, phone: Option<&str>) -> Person {
        let c = test_customer(currency);
        Person {
            first_name: c.first_name.into(),
            last_name: c.last_name.into(),
            email: c.email.into(),
            phone: phone.unwrap_or(c.mobile).into(),
            street: c.street.into(),
            post_code: c.post_code.into(),
            city: c.city.into(),
            country: c.country.into(),
            birthdate: c.birthdate.into(),
        }
    }
}

/// A Norwegian 8-digit number as an MSISDN (`47…`, as eCom's numbers are given); any other
/// number as it is.
pub(crate) fn msisdn(phone: &str) -> String {
    if phone.len() == 8 && phone.bytes().all(|b| b.is_ascii_digit()) {
        format!("47{phone}")
    } else {
        phone.to_owned()
    }
}

/// The test customer's address in the payment's market.
pub(crate) fn test_address(currency: &Currency) -> Address {
    let c = test_customer(currency);
    let mut a = Address::default();
    a.address_line1 = c.street.into();
    a.post_code = c.post_code.into();
    a.city = c.city.into();
    a.country = c.country.into();
    a
}

/// The customer data a payment with this scope shares once authorized (`None` when the scope
/// asks for nothing `userDetails` carries).
pub(crate) fn user_details(scope: &str, phone: Option<&str>, currency: &Currency) -> Option<UserDetails> {
    let has = |s: &str| scope.split(' ').any(|x| x == s);
    let c = test_customer(currency);
    let mut d = UserDetails::default();
    d.email = has("email").then(|| c.email.to_owned());
    d.first_name = has("name").then(|| c.first_name.to_owned());
    d.last_name = has("name").then(|| c.last_name.to_owned());
    d.mobile_number = has("phoneNumber").then(|| phone.unwrap_or(c.mobile).to_owned());
    d.addresses = has("address").then(|| vec![test_address(currency)]);
    (d != UserDetails::default()).then_some(d)
}
