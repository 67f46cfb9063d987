/// Declares a string enum with a catch-all `Unknown(String)` variant.
///
/// Known values serialize to their wire string; any other string deserializes into
/// `Unknown` and serializes back unchanged.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version of the crate does not know about.
            Unknown(String),
        }

        impl $name {
            /// Every value known to this version of the crate.
            pub const KNOWN: &'static [$name] = &[$($name::$variant),+];

            /// The value as it appears on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $wire, )+
                    $name::Unknown(s) => s.as_str(),
                }
            }

            /// Whether this is a value the crate knows (not `Unknown`).
            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Unknown(_))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(match s {
                    $( $wire => $name::$variant, )+
                    other => $name::Unknown(other.to_owned()),
                })
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                s.parse().unwrap_or_else(|e: ::std::convert::Infallible| match e {})
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                // `deserialize_any` so that a JSON `null` (several specs mark their enums
                // nullable) reaches `visit_unit` instead of failing the whole answer.
                d.deserialize_any($crate::macros::StrEnumVisitor::<$name>::new())
            }
        }
    };
}

/// Reads a [`string_enum!`] from the string as the deserializer has it (borrowed or
/// transient): a known value costs no allocation, where going through `String` (or
/// `Cow<str>`, which serde always fills owned) allocated one for every enum field.
pub(crate) struct StrEnumVisitor<T>(std::marker::PhantomData<T>);

impl<T> StrEnumVisitor<T> {
    pub(crate) fn new() -> Self {
        StrEnumVisitor(std::marker::PhantomData)
    }
}

impl<'de, T: for<'a> From<&'a str>> serde::de::Visitor<'de> for StrEnumVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
        Ok(T::from(v))
    }
    /// `null`: an unknown (empty) value, which validation refuses in a request.
    fn visit_unit<E: serde::de::Error>(self) -> Result<T, E> {
        Ok(T::from(""))
    }
    // UTF-8 bytes, as `String`'s own visitor takes them (formats such as MessagePack or CBOR
    // may hand a string over as bytes).
    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<T, E> {
        match std::str::from_utf8(v) {
            Ok(s) => Ok(T::from(s)),
            Err(_) => Err(E::invalid_value(serde::de::Unexpected::Bytes(v), &self)),
        }
    }
}

/// Implements `Debug` for a struct whose secret fields must never be printed: the `plain`
/// fields are shown, the `secret` ones as `<redacted>` (or `None` when an `Option` is empty).
macro_rules! redacted_debug {
    ($name:ident { plain: [$($plain:ident),* $(,)?], secret: [$($secret:ident),+ $(,)?] }) => {
        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                let mut d = f.debug_struct(stringify!($name));
                $( d.field(stringify!($plain), &self.$plain); )*
                $( d.field(stringify!($secret), &$crate::macros::Redacted::of(&self.$secret)); )+
                d.finish()
            }
        }
    };
}

/// How a secret field shows in `Debug`.
pub(crate) struct Redacted(bool);

impl Redacted {
    /// `<redacted>` for a value, `None` for an empty `Option`.
    pub(crate) fn of<T: RedactedField + ?Sized>(v: &T) -> Self {
        Redacted(v.present())
    }
}

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0 { "<redacted>" } else { "None" })
    }
}

/// A field [`redacted_debug!`] can hide.
pub(crate) trait RedactedField {
    /// Whether there is a value to hide.
    fn present(&self) -> bool;
}

impl RedactedField for String {
    fn present(&self) -> bool {
        true
    }
}

impl<T> RedactedField for Option<T> {
    fn present(&self) -> bool {
        self.is_some()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_in_requests_stay_out_of_debug_output() {
        let secret = "s3cret-token-value";
        let checkout = crate::checkout::MerchantInfo::new("https://example.com/cb", "https://example.com/r", secret);
        let helthjem = crate::checkout::HelthjemIntegration {
            username: "shop".into(),
            password: secret.into(),
            shop_id: 1,
        };
        let ecom = crate::ecom::MerchantInfo {
            auth_token: Some(secret.into()),
            ..Default::default()
        };
        let dynamic = crate::epayment::DynamicShippingOptions {
            callback_url: "https://example.com/s".into(),
            callback_authorization_token: secret.into(),
        };
        for shown in [
            format!("{checkout:?}"),
            format!("{helthjem:?}"),
            format!("{ecom:?}"),
            format!("{dynamic:?}"),
        ] {
            assert!(!shown.contains(secret), "{shown}");
            assert!(shown.contains("<redacted>"), "{shown}");
        }
        let none = crate::ecom::MerchantInfo::default();
        assert!(format!("{none:?}").contains("auth_token: None"));
        assert!(format!("{checkout:?}").contains("https://example.com/cb"));
    }
}
