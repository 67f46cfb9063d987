//! The Recurring API's data: agreements and charges in compact records, their ids, and the
//! time-ordered index of what the clock must do next (a table of the store).
//!
//! Records are kept small (the benchmark keeps 100 000 agreements with their charges in well
//! under 2 KiB each): ids are numbers rendered on the way out, statuses are one-byte enums,
//! amounts are `u32` minor units, times are Unix seconds, and a charge's history is a short
//! vector of 32-byte entries.

use crate::core::persist::{Touched, Tracked};
use crate::core::store::Table;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use time::{Date, OffsetDateTime};

/// Base-62 digits of generated ids.
const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Generated ids have this many base-62 digits after their prefix (`agr_ADbq4JK`).
const ID_LEN: usize = 7;
/// 62^7: every generated id is a number below this.
const ID_SPACE: u64 = 3_521_614_606_208;

/// The 7 base-62 digits of `n`.
pub(super) fn encode(n: u64) -> [u8; ID_LEN] {
    let mut out = [b'0'; ID_LEN];
    let mut n = n;
    for slot in out.iter_mut().rev() {
        *slot = DIGITS[(n % 62) as usize];
        n /= 62;
    }
    out
}

/// The number behind 7 base-62 digits.
pub(super) fn decode(s: &str) -> Option<u64> {
    if s.len() != ID_LEN {
        return None;
    }
    s.bytes().try_fold(0u64, |acc, b| {
        let d = DIGITS.iter().position(|&x| x == b)? as u64;
        Some(acc * 62 + d)
    })
}

/// A random number in the id space.
pub(super) fn random_code() -> u64 {
    use rand::Rng;
    rand::thread_rng().gen_range(0..ID_SPACE)
}

/// An agreement's id as the API shows it (`agr_` and 7 base-62 digits).
pub(super) fn agreement_id(code: u64) -> String {
    let mut s = String::with_capacity(4 + ID_LEN);
    s.push_str("agr_");
    s.extend(encode(code).iter().map(|&b| b as char));
    s
}

/// What identifies a charge for its merchant: a generated `chr-` id (a number), or the
/// merchant's `orderId`. An `orderId` that looks like a generated id is that id, so one charge
/// id string always has one key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(super) enum ChargeKey {
    /// `chr-` and 7 base-62 digits.
    Generated(u64),
    /// The merchant's `orderId`.
    Order(Box<str>),
}

impl ChargeKey {
    /// The key of a charge id string.
    pub(super) fn parse(id: &str) -> ChargeKey {
        match id.strip_prefix("chr-").and_then(decode) {
            Some(code) => ChargeKey::Generated(code),
            None => ChargeKey::Order(id.into()),
        }
    }

    /// The id as the API shows it.
    pub(super) fn render(&self) -> String {
        match self {
            ChargeKey::Generated(code) => {
                let mut s = String::with_capacity(4 + ID_LEN);
                s.push_str("chr-");
                s.extend(encode(*code).iter().map(|&b| b as char));
                s
            }
            ChargeKey::Order(s) => s.to_string(),
        }
    }
}

/// An agreement's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum AgreementStatus {
    Pending,
    Active,
    Stopped,
    Expired,
}

/// Who stopped an agreement (the `actor` of `recurring.agreement-stopped.v1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum Actor {
    Merchant,
    Customer,
}

/// The pricing model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum PricingKind {
    Legacy,
    Variable,
    Flexible,
}

/// An interval unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum Unit {
    Day,
    Week,
    Month,
    Year,
}

/// A charge's status. `Scheduled` is shown as `PENDING` or `DUE` by the clock (a charge is
/// `DUE` when its due date is less than 30 days away), so no work is queued for that change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum ChargeStatus {
    Scheduled,
    Charged,
    Reserved,
    PartiallyCaptured,
    Failed,
    Refunded,
    PartiallyRefunded,
    Cancelled,
}

/// Why a charge failed (`failureReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum Failure {
    UserActionRequired,
    AmountTooHigh,
}

/// What kind of charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum ChargeKind {
    Initial,
    Recurring,
    Unscheduled,
}

/// A history event of a charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum HistoryEvent {
    Create,
    Reserve,
    Capture,
    Refund,
    Cancel,
    Fail,
}

/// One entry of a charge's history.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct History {
    /// When (Unix seconds).
    pub(super) at: i64,
    /// The amount it moved.
    pub(super) amount: u32,
    pub(super) event: HistoryEvent,
    pub(super) success: bool,
    /// The merchant's `Idempotency-Key`; the emulator's own operations render one from the ids.
    pub(super) key: Option<Box<str>>,
}

/// What the merchant drafted that is only read back (rarely enough to be boxed).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Texts {
    pub(super) product_name: Box<str>,
    pub(super) product_description: Option<Box<str>>,
    pub(super) merchant_redirect_url: Box<str>,
    pub(super) merchant_agreement_url: Box<str>,
    /// The prefilled phone number.
    pub(super) phone: Option<Box<str>>,
    pub(super) scope: Option<Box<str>>,
    pub(super) external_id: Option<Box<str>>,
    /// The campaign as drafted (JSON of the wire type), rendered back as it came.
    pub(super) campaign: Option<Box<str>>,
}

/// One agreement.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Agreement {
    /// The id's number (see [`agreement_id`]).
    pub(super) code: u64,
    /// The merchant (index into [`Recurring::msns`]).
    pub(super) msn: u16,
    pub(super) status: AgreementStatus,
    pub(super) stopped_by: Option<Actor>,
    pub(super) pricing: PricingKind,
    pub(super) currency: vipps_types::Currency,
    /// `LEGACY`: the price per interval.
    pub(super) amount: Option<u32>,
    /// `VARIABLE`: the merchant's suggestion.
    pub(super) suggested_max: Option<u32>,
    /// `VARIABLE`: what the customer accepted.
    pub(super) max_amount: Option<u32>,
    /// `None`: pay per use (or a `FLEXIBLE` interval).
    pub(super) interval: Option<(Unit, u8)>,
    /// Unix seconds.
    pub(super) created: i64,
    pub(super) start: Option<i64>,
    pub(super) stop: Option<i64>,
    /// The agreement's `uuid`, also the secret of its confirmation page.
    #[serde(with = "crate::core::persist::serde_u128_str")]
    pub(super) uuid: u128,
    /// The phone number of the customer who accepted.
    pub(super) customer: Option<Box<str>>,
    /// Whether this customer's payments fail (control plane).
    pub(super) card_fails: bool,
    pub(super) texts: Box<Texts>,
    /// The charges, oldest first (indexes into [`Recurring::charges`]).
    pub(super) charges: Vec<u32>,
    pub(super) initial: Option<u32>,
}

/// One charge.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Charge {
    pub(super) key: ChargeKey,
    pub(super) agreement: u32,
    pub(super) amount: u32,
    pub(super) captured: u32,
    pub(super) refunded: u32,
    pub(super) cancelled: u32,
    pub(super) due: Option<Date>,
    pub(super) retry_days: u8,
    pub(super) status: ChargeStatus,
    pub(super) kind: ChargeKind,
    pub(super) reserve: bool,
    pub(super) failure: Option<Failure>,
    pub(super) description: Box<str>,
    pub(super) external_id: Option<Box<str>>,
    pub(super) history: Vec<History>,
}

impl Charge {
    /// Unix seconds of the last history entry of `event`.
    pub(super) fn last(&self, event: HistoryEvent) -> Option<i64> {
        self.history
            .iter()
            .rev()
            .find(|h| h.event == event && h.success)
            .map(|h| h.at)
    }
}

/// What the clock does at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum Work {
    /// A `PENDING` agreement nobody accepted expires.
    Expire(u32),
    /// A charge's payment is attempted.
    Attempt(u32),
}

/// The top bit of the sequence numbers of agreement expiries in the work queue.
pub(super) const EXPIRY_SEQ: u64 = 1 << 63;

/// The work-queue key of agreement `ai`'s expiry at `at`: the agreement's index in a range of
/// sequence numbers of its own (the top bit set; [`Recurring::schedule`] counts below it).
pub(super) fn expiry_key(at: i64, ai: u32) -> (i64, u64) {
    (at, EXPIRY_SEQ | u64::from(ai))
}

/// The Recurring API's table: every merchant's agreements and charges.
#[derive(Debug, Default)]
pub(crate) struct Recurring {
    pub(super) msns: Vec<Arc<str>>,
    /// Merchants added since the last commit (the data dir's record).
    pub(super) new_msns: Touched<u16>,
    pub(super) agreements: Tracked<Agreement>,
    pub(super) by_code: HashMap<u64, u32>,
    pub(super) charges: Tracked<Charge>,
    /// (merchant, charge key) → charge.
    pub(super) charge_ids: HashMap<(u16, ChargeKey), u32>,
    /// What the clock does next, by (Unix seconds, sequence).
    pub(super) work: BTreeMap<(i64, u64), Work>,
    pub(super) work_touched: Touched<(i64, u64)>,
    pub(super) seq: u64,
    /// Phone numbers (MSISDN) whose payments fail (control plane; [`Recurring::set_phone_fails`]).
    pub(super) failing_phones: HashSet<Box<str>>,
    pub(super) phones_touched: Touched<Box<str>>,
    /// `PENDING` agreements another API's flow carries (a Checkout session's): they wait for
    /// it, not for the 10-minute expiry, and only it accepts or rejects them (`bridge.rs`).
    pub(super) carried: HashSet<u32>,
    pub(super) carried_touched: Touched<u32>,
}

impl Table for Recurring {
    fn clear(&mut self) {
        let tracking = self.tracking();
        *self = Recurring::default();
        self.set_tracking(tracking);
    }
    fn track(&mut self, on: bool) {
        self.set_tracking(on);
    }
    fn changes(&mut self, out: &mut Vec<crate::core::persist::Change>) {
        self.changed_rows(out);
    }
    fn rows(&self, out: &mut Vec<crate::core::persist::Change>) {
        self.all_rows(out);
    }
    fn load(&mut self, row: &crate::core::persist::Row) -> Result<bool, String> {
        self.load_row(row)
    }
    fn loaded(&mut self) -> Result<(), String> {
        self.rebuild_indexes()
    }
}

impl Recurring {
    /// The index of merchant `msn`, added if new.
    pub(super) fn msn_index(&mut self, msn: &str) -> u16 {
        if let Some(i) = self.msns.iter().position(|m| &**m == msn) {
            return i as u16;
        }
        self.msns.push(msn.into());
        let i = (self.msns.len() - 1) as u16;
        self.new_msns.touch(i);
        i
    }

    /// The index of merchant `msn`, if it has anything here.
    pub(super) fn known_msn(&self, msn: &str) -> Option<u16> {
        self.msns.iter().position(|m| &**m == msn).map(|i| i as u16)
    }

    /// Queues `work` at `at` (Unix seconds).
    pub(super) fn schedule(&mut self, at: i64, work: Work) {
        self.seq += 1;
        self.work.insert((at, self.seq), work);
        self.work_touched.touch((at, self.seq));
    }

    /// Queues the expiry of `PENDING` agreement `ai` at `at`, under a key of its own (see
    /// [`expiry_key`]), so that accepting, rejecting or stopping it can take it out again: a
    /// month of a hundred thousand accepted agreements otherwise keeps as many dead entries.
    pub(super) fn schedule_expiry(&mut self, at: i64, ai: u32) {
        let k = expiry_key(at, ai);
        self.work.insert(k, Work::Expire(ai));
        self.work_touched.touch(k);
    }

    /// Takes the queued expiry of agreement `ai`, which left `PENDING` (`at`: when it was due).
    pub(super) fn unschedule_expiry(&mut self, at: i64, ai: u32) {
        let k = expiry_key(at, ai);
        if self.work.remove(&k).is_some() {
            self.work_touched.touch(k);
        }
    }

    /// Takes the next work due by `now`, oldest first.
    pub(super) fn next_due(&mut self, now: i64) -> Option<(i64, Work)> {
        let entry = self.work.first_entry()?;
        if entry.key().0 > now {
            return None;
        }
        let ((at, seq), w) = entry.remove_entry();
        self.work_touched.touch((at, seq));
        Some((at, w))
    }

    /// Marks the payments of phone number `msisdn` as failing, or not.
    pub(super) fn set_phone_fails(&mut self, msisdn: &str, fails: bool) {
        if fails {
            self.failing_phones.insert(msisdn.into());
        } else {
            self.failing_phones.remove(msisdn);
        }
        self.phones_touched.touch(msisdn.into());
    }

    /// Marks agreement `ai` as carried by another API's flow, or no longer.
    pub(super) fn set_carried(&mut self, ai: u32, carried: bool) {
        if carried {
            self.carried.insert(ai);
        } else {
            self.carried.remove(&ai);
        }
        self.carried_touched.touch(ai);
    }

    /// The agreement `id` of merchant `msn`.
    pub(super) fn agreement_of(&self, msn: u16, id: &str) -> Option<u32> {
        let code = id.strip_prefix("agr_").and_then(decode)?;
        let i = *self.by_code.get(&code)?;
        (self.agreements[i as usize].msn == msn).then_some(i)
    }

    /// The charge `id` of merchant `msn`.
    pub(super) fn charge_of(&self, msn: u16, id: &str) -> Option<u32> {
        self.charge_ids.get(&(msn, ChargeKey::parse(id))).copied()
    }

    /// A fresh agreement code.
    pub(super) fn new_agreement_code(&self) -> u64 {
        loop {
            let c = random_code();
            if !self.by_code.contains_key(&c) {
                return c;
            }
        }
    }

    /// A fresh generated charge key for merchant `msn`.
    pub(super) fn new_charge_key(&self, msn: u16) -> ChargeKey {
        loop {
            let k = ChargeKey::Generated(random_code());
            if !self.charge_ids.contains_key(&(msn, k.clone())) {
                return k;
            }
        }
    }

    /// Adds `charge` to its agreement and the id index; answers its index.
    pub(super) fn add_charge(&mut self, charge: Charge) -> u32 {
        let i = self.charges.len() as u32;
        let a = charge.agreement;
        let msn = self.agreements[a as usize].msn;
        self.charge_ids.insert((msn, charge.key.clone()), i);
        self.charges.push(charge);
        self.agreements[a as usize].charges.push(i);
        i
    }
}

/// Midnight UTC of `d`, in Unix seconds.
pub(super) fn midnight(d: Date) -> i64 {
    d.midnight().assume_utc().unix_timestamp()
}

/// Unix seconds of `t`.
pub(super) fn secs(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

/// The time of Unix seconds `s` (the epoch for a value out of range).
pub(super) fn at(s: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(s).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        for n in [0, 1, 61, 62, ID_SPACE - 1, random_code()] {
            let s: String = encode(n).iter().map(|&b| b as char).collect();
            assert_eq!(decode(&s), Some(n));
        }
        assert_eq!(decode("ADbq4J"), None);
        assert_eq!(decode("ADbq4J!"), None);
        assert!(agreement_id(5).starts_with("agr_000000"));
        let k = ChargeKey::Generated(42);
        assert_eq!(ChargeKey::parse(&k.render()), k);
        assert_eq!(ChargeKey::parse("order-1"), ChargeKey::Order("order-1".into()));
    }

    #[test]
    fn work_comes_out_in_time_order() {
        let mut r = Recurring::default();
        r.schedule(30, Work::Attempt(3));
        r.schedule(10, Work::Attempt(1));
        r.schedule(10, Work::Expire(2));
        assert_eq!(r.next_due(5), None);
        assert_eq!(r.next_due(20), Some((10, Work::Attempt(1))));
        assert_eq!(r.next_due(20), Some((10, Work::Expire(2))));
        assert_eq!(r.next_due(20), None);
        assert_eq!(r.next_due(30), Some((30, Work::Attempt(3))));
    }

    #[test]
    fn an_expiry_can_be_taken_out_and_keeps_to_its_own_sequence_numbers() {
        let mut r = Recurring::default();
        r.schedule_expiry(600, 7);
        r.schedule(600, Work::Attempt(1));
        assert_eq!(r.work.len(), 2);
        assert!(r.seq < EXPIRY_SEQ, "ordinary work counts below the expiries' range");
        // An attempt at the same second comes before the expiry (its sequence number is lower).
        assert_eq!(r.next_due(600), Some((600, Work::Attempt(1))));
        r.unschedule_expiry(600, 7);
        assert!(r.work.is_empty(), "an accepted agreement leaves no entry behind");
        r.unschedule_expiry(600, 7);
        r.schedule_expiry(900, 8);
        assert_eq!(r.next_due(900), Some((900, Work::Expire(8))));
    }
}
