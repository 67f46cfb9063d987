//! Types shared by several APIs: amounts, currencies, references.

use serde::{Deserialize, Serialize};
use std::fmt;

string_enum! {
    /// ISO 4217 currency code.
    pub enum Currency {
        /// Norwegian krone.
        Nok = "NOK",
        /// Danish krone.
        Dkk = "DKK",
        /// Euro.
        Eur = "EUR",
    }
}

/// An amount of money in minor units (øre, cents) with its currency.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Amount {
    /// The currency.
    pub currency: Currency,
    /// The value in minor units: NOK 10.00 is `1000`.
    pub value: i64,
}

impl Amount {
    /// An amount in minor units.
    pub fn new(value: i64, currency: Currency) -> Self {
        Amount { currency, value }
    }
    /// NOK in øre.
    pub fn nok(value: i64) -> Self {
        Amount::new(value, Currency::Nok)
    }
    /// DKK in øre.
    pub fn dkk(value: i64) -> Self {
        Amount::new(value, Currency::Dkk)
    }
    /// EUR in cents.
    pub fn eur(value: i64) -> Self {
        Amount::new(value, Currency::Eur)
    }
    /// A zero amount in the given currency.
    pub fn zero(currency: Currency) -> Self {
        Amount::new(0, currency)
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.value < 0 { "-" } else { "" };
        let abs = self.value.unsigned_abs();
        write!(f, "{sign}{}.{:02} {}", abs / 100, abs % 100, self.currency)
    }
}

/// Error returned when a [`Reference`] is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid reference: {reason}")]
pub struct InvalidReference {
    /// Why it was rejected.
    pub reason: &'static str,
}

/// The merchant's reference of a payment or Checkout session: 8–64 characters of
/// `a-z`, `A-Z`, `0-9` and `-`, unique per merchant serial number.
///
/// The stored ePayment spec says 8–50 characters; the newer (2026) ePayment docs say 8–64.
/// We accept up to 64. Deserialization does not validate (values from the server are
/// taken as they are); [`Reference::new`] does.
///
/// A JSON integer is taken as its decimal digits: the official ePayment Postman collection
/// sends its all-digit references as bare numbers (`"reference": 1234561795468208636`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Reference(String);

impl<'de> Deserialize<'de> for Reference {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        string_or_number::string_or_integer(d).map(Reference)
    }
}

impl Reference {
    /// Minimum length.
    pub const MIN_LEN: usize = 8;
    /// Maximum length.
    pub const MAX_LEN: usize = 64;

    /// A validated reference.
    pub fn new(s: impl Into<String>) -> Result<Self, InvalidReference> {
        let s = s.into();
        Self::check(&s)?;
        Ok(Reference(s))
    }

    /// Checks a string against the reference rules.
    pub fn check(s: &str) -> Result<(), InvalidReference> {
        if s.len() < Self::MIN_LEN {
            return Err(InvalidReference {
                reason: "shorter than 8 characters",
            });
        }
        if s.len() > Self::MAX_LEN {
            return Err(InvalidReference {
                reason: "longer than 64 characters",
            });
        }
        if !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(InvalidReference {
                reason: "only a-z, A-Z, 0-9 and '-' are allowed",
            });
        }
        Ok(())
    }

    /// The id of an eCom order, to address it through the ePayment API (the migration guide,
    /// `epayment--migration-from-ecom.md`: eCom payments "can be captured, refunded, cancelled,
    /// and retrieved using the ePayment API", `orderId` becoming `reference`). eCom order ids
    /// may be shorter than a reference's 8 characters (`^[a-zA-Z0-9-]{1,50}$`, `ecom-v2.yaml`),
    /// so only the minimum length is relaxed: the characters and the maximum stay. Not for
    /// creating ePayment payments: use [`Reference::new`].
    pub fn ecom_order_id(s: impl Into<String>) -> Result<Self, InvalidReference> {
        let s = s.into();
        Self::check_existing(&s)?;
        Ok(Reference(s))
    }

    /// Checks a reference that addresses an existing payment: the rules of [`Reference::check`]
    /// except the minimum length, which eCom order ids (readable through ePayment) need not
    /// meet. An empty string is still refused.
    pub fn check_existing(s: &str) -> Result<(), InvalidReference> {
        match Self::check(s) {
            Err(_) if s.is_empty() => Err(InvalidReference {
                reason: "must not be empty",
            }),
            // The other rules, on the string padded to the minimum length.
            Err(_) if s.len() < Self::MIN_LEN => Self::check(&format!("{s:-<8}")),
            r => r,
        }
    }

    /// A fresh random reference (a UUID v4, 36 characters).
    pub fn random() -> Self {
        Reference(uuid::Uuid::new_v4().to_string())
    }

    /// The reference as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the value satisfies the reference rules (always true for values made by `new`).
    pub fn is_valid(&self) -> bool {
        Self::check(&self.0).is_ok()
    }
}

impl fmt::Debug for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Reference {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Reference {
    type Err = InvalidReference;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::new(s)
    }
}

impl TryFrom<&str> for Reference {
    type Error = InvalidReference;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Reference::new(s)
    }
}

impl TryFrom<String> for Reference {
    type Error = InvalidReference;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Reference::new(s)
    }
}

/// A JSON object as a map that refuses duplicate keys (serde would keep the last one), as the
/// API refuses them in `metadata` (error 4110). The error reads "duplicate key `…`".
pub mod unique_keys {
    use serde::de::{self, MapAccess, Visitor};
    use serde::Deserializer;
    use std::collections::BTreeMap;
    use std::fmt;

    /// For `Option<BTreeMap<String, String>>` fields: null or absence is `None`.
    pub fn opt_map<'de, D: Deserializer<'de>>(d: D) -> Result<Option<BTreeMap<String, String>>, D::Error> {
        struct Opt;
        impl<'de> Visitor<'de> for Opt {
            type Value = Option<BTreeMap<String, String>>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of strings")
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_map(Unique).map(Some)
            }
        }
        d.deserialize_option(Opt)
    }

    struct Unique;

    impl<'de> Visitor<'de> for Unique {
        type Value = BTreeMap<String, String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object of strings")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some((k, v)) = map.next_entry::<String, String>()? {
                if out.contains_key(&k) {
                    return Err(de::Error::custom(format!("duplicate key `{k}`")));
                }
                out.insert(k, v);
            }
            Ok(out)
        }
    }
}

/// Serde helpers for RFC 3339 timestamps.
pub mod rfc3339 {
    pub use time::serde::rfc3339::*;
    /// Optional RFC 3339 timestamps.
    pub mod option {
        pub use time::serde::rfc3339::option::*;
    }
}

/// Deserializes a value that the API documents as a string but sometimes sends as a number
/// (the access-token `expires_in`, for example).
pub mod string_or_number {
    use serde::de::{self, Visitor};
    use serde::{Deserialize, Deserializer};
    use std::fmt;

    /// A string, or a JSON integer taken as its decimal digits; anything else is refused with
    /// "expected a string". For identifiers made of digits that clients send unquoted (the
    /// official ePayment Postman collection does so for `reference` and
    /// `customer.phoneNumber`).
    pub fn string_or_integer<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        d.deserialize_any(Digits)
    }

    /// [`string_or_integer`] for an optional field: null or absence is `None`.
    pub fn opt_string_or_integer<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        struct Opt;
        impl<'de> Visitor<'de> for Opt {
            type Value = Option<String>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                string_or_integer(d).map(Some)
            }
        }
        d.deserialize_option(Opt)
    }

    /// An `i32` from a JSON integer or from a string of decimal digits (`"1"`): the official
    /// Recurring Postman collection sends its interval counts quoted, and the API takes them.
    pub fn i32_or_digits<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
        struct Count;
        impl Visitor<'_> for Count {
            type Value = i32;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<i32, E> {
                i32::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<i32, E> {
                i32::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<i32, E> {
                let digits = !v.is_empty() && v.len() <= 9 && v.bytes().all(|b| b.is_ascii_digit());
                match digits.then(|| v.parse::<i32>().ok()).flatten() {
                    Some(n) => Ok(n),
                    None => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
                }
            }
        }
        d.deserialize_any(Count)
    }

    /// [`i32_or_digits`] for an optional field: null or absence is `None`.
    pub fn opt_i32_or_digits<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i32>, D::Error> {
        #[derive(Deserialize)]
        struct Wrap(#[serde(deserialize_with = "i32_or_digits")] i32);
        Ok(Option::<Wrap>::deserialize(d)?.map(|Wrap(n)| n))
    }

    struct Digits;

    impl<'de> Visitor<'de> for Digits {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_owned())
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
            Ok(v)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        S(String),
        I(i64),
        U(u64),
        F(f64),
    }

    /// Deserialize into `Option<i64>` from a string, a number, null or absence.
    pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        let v = Option::<Either>::deserialize(d)?;
        Ok(match v {
            None => None,
            Some(Either::I(i)) => Some(i),
            Some(Either::U(u)) => i64::try_from(u).ok(),
            Some(Either::F(f)) => Some(f as i64),
            Some(Either::S(s)) => {
                let t = s.trim();
                if t.is_empty() {
                    None
                } else {
                    Some(t.parse::<i64>().map_err(serde::de::Error::custom)?)
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_rules() {
        assert!(Reference::new("acme-shop-123-order123abc").is_ok());
        assert!(Reference::new("1234567").is_err());
        assert!(Reference::new("a".repeat(64)).is_ok());
        assert!(Reference::new("a".repeat(65)).is_err());
        assert!(Reference::new("with space1").is_err());
        assert!(Reference::new("ünïcode-ref").is_err());
        assert!(Reference::random().is_valid());
        // eCom order ids: only the minimum length is relaxed.
        assert!(Reference::ecom_order_id("abc123").is_ok());
        assert!(Reference::ecom_order_id("").is_err());
        assert!(Reference::ecom_order_id("ab c").is_err());
        assert!(Reference::ecom_order_id("a".repeat(65)).is_err());
        assert_eq!(
            Reference::check_existing("ab_c").unwrap_err().reason,
            "only a-z, A-Z, 0-9 and '-' are allowed"
        );
        assert_ne!(Reference::random(), Reference::random());
    }

    #[test]
    fn a_reference_sent_as_a_bare_integer_is_read_as_its_digits() {
        let r: Reference = serde_json::from_str("1234561795468208636").unwrap();
        assert_eq!(r.as_str(), "1234561795468208636");
        assert!(r.is_valid());
        let r: Reference = serde_json::from_str("\"acme-1234\"").unwrap();
        assert_eq!(r.as_str(), "acme-1234");
        // Still serialized as a string.
        assert_eq!(serde_json::to_string(&r).unwrap(), "\"acme-1234\"");
        for bad in ["1.5", "true", "null", "[]", "{}", "1e30"] {
            let e = serde_json::from_str::<Reference>(bad).unwrap_err().to_string();
            assert!(e.contains("expected a string"), "{bad}: {e}");
        }
    }

    #[test]
    fn unknown_currency_round_trips() {
        let c: Currency = serde_json::from_str("\"SEK\"").unwrap();
        assert_eq!(c, Currency::Unknown("SEK".into()));
        assert!(!c.is_known());
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"SEK\"");
        assert_eq!(serde_json::from_str::<Currency>("\"NOK\"").unwrap(), Currency::Nok);
        // A string with an escape (not borrowable from the input), and one from a `Value`.
        assert_eq!(
            serde_json::from_str::<Currency>("\"N\\u004fK\"").unwrap(),
            Currency::Nok
        );
        assert_eq!(
            serde_json::from_value::<Currency>(serde_json::json!("DKK")).unwrap(),
            Currency::Dkk
        );
        // Bytes, as a format without a string type may give them.
        use serde::de::{value::BytesDeserializer, IntoDeserializer};
        let d: BytesDeserializer<'_, serde::de::value::Error> = b"EUR".as_slice().into_deserializer();
        assert_eq!(Currency::deserialize(d).unwrap(), Currency::Eur);
        let d: BytesDeserializer<'_, serde::de::value::Error> = b"\xff".as_slice().into_deserializer();
        assert!(Currency::deserialize(d).is_err());
        // `null` (specs mark enums nullable) is an unknown value, refused by validation.
        assert_eq!(
            serde_json::from_str::<Currency>("null").unwrap(),
            Currency::Unknown(String::new())
        );
        for bad in ["5", "[\"NOK\"]", "{}"] {
            let e = serde_json::from_str::<Currency>(bad).unwrap_err().to_string();
            assert!(e.contains("expected a string"), "{bad}: {e}");
        }
    }

    #[test]
    fn amount_display() {
        assert_eq!(Amount::nok(49900).to_string(), "499.00 NOK");
        assert_eq!(Amount::eur(5).to_string(), "0.05 EUR");
    }
}
