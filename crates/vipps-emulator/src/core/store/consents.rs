//! What customers agreed to share with a sales unit (the Userinfo API's data).

use time::OffsetDateTime;

/// How long after consenting the customer's profile can be fetched from the Userinfo API.
pub(crate) const CONSENT_WINDOW: time::Duration = time::Duration::hours(168);

/// The customer's `sub` for one sales unit: the same for every payment of that customer
/// (known by phone number; eCom's 8 digits count as `47…`) in every API at that sales unit,
/// different at another.
pub(crate) fn customer_sub(msn: &str, phone: &str) -> String {
    pub(super) const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x5f1d_0c7e_8a1b_4e0f_9c3d_7b2a_6e4f_1a90);
    let phone = crate::core::customer::msisdn(phone);
    uuid::Uuid::new_v5(&NAMESPACE, format!("{msn}:{phone}").as_bytes()).to_string()
}

/// What a customer agreed to share with one sales unit (the Userinfo API's data).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Consent {
    /// The sales unit that may read it.
    pub(crate) msn: String,
    /// The profile as the customer last shared it.
    pub(crate) person: crate::core::customer::Person,
    /// Per scope word, when it was last consented to.
    pub(crate) given: Vec<(String, OffsetDateTime)>,
}

impl Consent {
    /// Whether every word of `scope` was consented to at `at` or later.
    pub(super) fn covers(&self, scope: &str, at: OffsetDateTime) -> bool {
        scope
            .split(' ')
            .filter(|w| !w.is_empty())
            .all(|w| self.given.iter().any(|(g, t)| g == w && *t >= at))
    }

    /// The scope words consented to within [`CONSENT_WINDOW`] before `now`.
    pub(crate) fn live_scopes(&self, now: OffsetDateTime) -> Vec<&str> {
        self.given
            .iter()
            .filter(|(_, at)| *at + CONSENT_WINDOW > now)
            .map(|(w, _)| w.as_str())
            .collect()
    }
}
