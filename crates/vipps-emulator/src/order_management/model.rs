//! Order Management's table: per order its receipt and v2 category, the v3 categories, the
//! merchants' images. Every object carries a number in the order it was made (`seq`): the
//! latest category is the one with the highest number, lists are oldest first, and retention
//! forgets the oldest first.

use crate::core::objects::OrderView;
use crate::core::persist::TrackedMap;
use crate::core::store::Tables;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use time::OffsetDateTime;
use vipps_types::order_management::{Category, ImageFormat, OrderCategory, PaymentType, Receipt};

/// The Order Management table.
#[derive(Debug, Default)]
pub(crate) struct Orders {
    /// By [`order_key`].
    pub(super) orders: TrackedMap<String, OrderEntry>,
    /// v3 categories by their id.
    pub(super) categories: TrackedMap<String, CategoryEntry>,
    /// By [`image_key`].
    pub(super) images: TrackedMap<String, ImageEntry>,
    /// The number of the last object made.
    pub(super) seq: u64,
}

/// What was added to one order through `/v2`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct OrderEntry {
    /// When the first thing was added (retention).
    #[serde(with = "time::serde::rfc3339")]
    pub(super) created: OffsetDateTime,
    pub(super) seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) receipt: Option<Box<Receipt>>,
    /// The v2 category and its number (a later PUT replaces it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) category: Option<(OrderCategory, u64)>,
}

/// A v3 category.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CategoryEntry {
    pub(super) msn: String,
    #[serde(with = "time::serde::rfc3339")]
    pub(super) created: OffsetDateTime,
    pub(super) seq: u64,
    pub(super) category: Category,
}

/// An uploaded image (its row holds the bytes as base64; the format is read again from them).
#[derive(Clone)]
pub(super) struct ImageEntry {
    pub(super) created: OffsetDateTime,
    pub(super) seq: u64,
    pub(super) format: ImageFormat,
    /// Shared with the answers that serve it, so serving copies nothing.
    pub(super) bytes: Arc<[u8]>,
}

impl std::fmt::Debug for ImageEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageEntry")
            .field("seq", &self.seq)
            .field("format", &self.format)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// The key of an order: merchant, payment type, order id. Neither an MSN nor an `OrderId`
/// contains `/`.
pub(super) fn order_key(msn: &str, kind: &PaymentType, order_id: &str) -> String {
    format!("{msn}/{}/{order_id}", kind.path_segment())
}

/// The key of an image: merchant, image id (no `/` in either).
pub(super) fn image_key(msn: &str, image_id: &str) -> String {
    format!("{msn}/{image_id}")
}

/// Where image `image_id` of `msn` is served (public: the app shows it without credentials).
pub(crate) fn image_path(msn: &str, image_id: &str) -> String {
    format!("/order-management/images/{msn}/{image_id}")
}

impl Orders {
    /// The next object number.
    pub(super) fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Whether `msn` uploaded image `image_id`.
    pub(super) fn has_image(&self, msn: &str, image_id: &str) -> bool {
        self.images.contains_key(&image_key(msn, image_id))
    }

    /// The receipt and the latest category (v2 or v3, whichever came last) of an order.
    pub(super) fn info(
        &self,
        msn: &str,
        kind: &PaymentType,
        order_id: &str,
    ) -> (Option<&Receipt>, Option<OrderCategory>) {
        let entry = self.orders.get(&order_key(msn, kind, order_id));
        let v2 = entry
            .and_then(|e| e.category.as_ref())
            .map(|(c, seq)| (*seq, c.clone()));
        let v3 = self
            .categories
            .values()
            .filter(|c| c.msn == msn && c.category.payment_type == *kind && c.category.order_id.as_str() == order_id)
            .max_by_key(|c| c.seq)
            .map(|c| {
                let mut oc = OrderCategory::new(c.category.kind.clone(), c.category.url.clone());
                oc.image_id = c.category.image_id.clone();
                (c.seq, oc)
            });
        let latest = match (v2, v3) {
            (Some(a), Some(b)) => Some(if a.0 > b.0 { a.1 } else { b.1 }),
            (a, b) => a.or(b).map(|(_, c)| c),
        };
        (entry.and_then(|e| e.receipt.as_deref()), latest)
    }

    /// The v3 categories of `msn` for `order_id`, oldest first.
    pub(super) fn categories_of(&self, msn: &str, order_id: &str) -> Vec<Category> {
        let mut found: Vec<&CategoryEntry> = self
            .categories
            .values()
            .filter(|c| c.msn == msn && c.category.order_id.as_str() == order_id)
            .collect();
        found.sort_by_key(|c| c.seq);
        found.into_iter().map(|c| c.category.clone()).collect()
    }

    /// Forgets at most `limit` objects made before `cutoff`, oldest first.
    pub(super) fn evict_before(&mut self, cutoff: OffsetDateTime, limit: usize) -> usize {
        // Few objects: a scan is cheaper than an index to keep.
        let mut old: Vec<(u64, u8, String)> = Vec::new();
        old.extend(
            (self.orders.iter())
                .filter(|(_, e)| e.created < cutoff)
                .map(|(k, e)| (e.seq, 0, k.clone())),
        );
        old.extend(
            (self.categories.iter())
                .filter(|(_, e)| e.created < cutoff)
                .map(|(k, e)| (e.seq, 1, k.clone())),
        );
        old.extend(
            (self.images.iter())
                .filter(|(_, e)| e.created < cutoff)
                .map(|(k, e)| (e.seq, 2, k.clone())),
        );
        old.sort_unstable();
        old.truncate(limit);
        for (_, table, key) in &old {
            match table {
                0 => drop(self.orders.remove(key)),
                1 => drop(self.categories.remove(key)),
                _ => drop(self.images.remove(key)),
            }
        }
        old.len()
    }
}

/// What the app shows for order `order_id` of `msn`: the receipt added through Order
/// Management, else the one the order came with (`carried`), and the latest category.
pub(super) fn view(
    tables: &Tables,
    msn: &str,
    kind: &PaymentType,
    order_id: &str,
    carried: Option<Receipt>,
) -> Option<OrderView> {
    let om = tables.get::<Orders>();
    let (receipt, category) = om.info(msn, kind, order_id);
    let receipt = receipt.cloned().or(carried);
    if receipt.is_none() && category.is_none() {
        return None;
    }
    let image_url = category
        .as_ref()
        .and_then(|c| c.image_id.as_ref())
        .filter(|id| om.has_image(msn, id.as_str()))
        .map(|id| image_path(msn, id.as_str()));
    Some(OrderView {
        receipt,
        category,
        image_url,
    })
}
