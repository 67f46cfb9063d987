//! RFC 7807 problem details, as returned by ePayment, Webhooks and (with extra fields) Checkout.

use serde::{Deserialize, Serialize};

/// One `extraDetails` entry: `{"name": "ErrorCode", "reason": "6080"}` or a field name and
/// what is wrong with it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ExtraDetail {
    /// The field name, or `ErrorCode`.
    #[serde(default)]
    pub name: String,
    /// The reason, or the numeric error code as a string.
    #[serde(default)]
    pub reason: String,
}

impl ExtraDetail {
    /// An entry: a field name and what is wrong with it, or `ErrorCode` and the code.
    pub fn new(name: impl Into<String>, reason: impl Into<String>) -> Self {
        ExtraDetail {
            name: name.into(),
            reason: reason.into(),
        }
    }
}

/// An RFC 7807 problem body.
///
/// Every field is optional when parsing, since gateways and older API versions send
/// partial or differently-shaped bodies. Build one with `Problem::default()` and assignments.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Problem {
    /// A URI identifying the problem type.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Short summary. Do not branch on it: titles are reworded over time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Explanation specific to this occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The HTTP status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The request path the problem concerns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Trace id for Vipps MobilePay support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// Extra details: the numeric `ErrorCode`, or fields that failed validation (Order
    /// Management names them `invalidParams`).
    #[serde(default, skip_serializing_if = "Vec::is_empty", alias = "invalidParams")]
    pub extra_details: Vec<ExtraDetail>,
    /// Checkout's `errorCode` (`Session-00100`, `Validation-00001`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// Checkout's per-field validation messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<std::collections::BTreeMap<String, Vec<String>>>,
}

impl Problem {
    /// The numeric ePayment error code (`extraDetails` entry named `ErrorCode`), if any.
    pub fn error_code(&self) -> Option<u32> {
        self.extra_details
            .iter()
            .find(|d| d.name == "ErrorCode")
            .and_then(|d| d.reason.trim().parse().ok())
    }
}
