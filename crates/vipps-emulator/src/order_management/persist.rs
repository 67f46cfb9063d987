//! Order Management's rows in the data dir: `om.order` (receipt and v2 category of an order,
//! by merchant/type/order id), `om.category` (a v3 category, by its id) and `om.image` (an
//! image as base64, by merchant/image id). The object counter is the highest number loaded.

use super::model::{CategoryEntry, ImageEntry, OrderEntry, Orders};
use crate::core::persist::{put, value, Change, Row, TrackedMap};
use crate::core::store::Table;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use vipps_types::order_management::Image;

const ORDER: &str = "om.order";
const CATEGORY: &str = "om.category";
const IMAGE: &str = "om.image";

/// An image's row.
#[derive(Serialize, Deserialize)]
struct ImageRow {
    #[serde(with = "time::serde::rfc3339")]
    created: OffsetDateTime,
    seq: u64,
    src: String,
}

impl From<&ImageEntry> for ImageRow {
    fn from(i: &ImageEntry) -> Self {
        ImageRow {
            created: i.created,
            seq: i.seq,
            src: B64.encode(&i.bytes),
        }
    }
}

/// Puts the changed keys of `map` (`row` makes the row) or deletes the gone ones.
fn changed<V>(
    table: &'static str,
    map: &mut TrackedMap<String, V>,
    row: impl Fn(String, &V) -> Change,
    out: &mut Vec<Change>,
) {
    for k in map.take_touched() {
        out.push(match map.get(&k) {
            Some(v) => row(k, v),
            None => Change::Delete { table, key: k },
        });
    }
}

impl Table for Orders {
    fn clear(&mut self) {
        let tracking = self.orders.tracking();
        *self = Orders::default();
        self.track(tracking);
    }

    fn track(&mut self, on: bool) {
        self.orders.track(on);
        self.categories.track(on);
        self.images.track(on);
    }

    fn changes(&mut self, out: &mut Vec<Change>) {
        changed(ORDER, &mut self.orders, |k, o| put(ORDER, k, o), out);
        changed(CATEGORY, &mut self.categories, |k, c| put(CATEGORY, k, c), out);
        changed(IMAGE, &mut self.images, |k, i| put(IMAGE, k, &ImageRow::from(i)), out);
    }

    fn rows(&self, out: &mut Vec<Change>) {
        for (k, o) in self.orders.iter() {
            out.push(put(ORDER, k.clone(), o));
        }
        for (k, c) in self.categories.iter() {
            out.push(put(CATEGORY, k.clone(), c));
        }
        for (k, i) in self.images.iter() {
            out.push(put(IMAGE, k.clone(), &ImageRow::from(i)));
        }
    }

    fn load(&mut self, row: &Row) -> Result<bool, String> {
        match row.table.as_str() {
            ORDER => {
                let o: OrderEntry = value(row)?;
                self.orders.restore(row.key.clone(), o);
            }
            CATEGORY => {
                let c: CategoryEntry = value(row)?;
                self.categories.restore(row.key.clone(), c);
            }
            IMAGE => {
                let r: ImageRow = value(row)?;
                let bytes = B64.decode(&r.src).map_err(|e| format!("{IMAGE}/{}: {e}", row.key))?;
                let image = Image::inspect(bytes).map_err(|e| format!("{IMAGE}/{}: {e}", row.key))?;
                self.images.restore(
                    row.key.clone(),
                    ImageEntry {
                        created: r.created,
                        seq: r.seq,
                        format: image.format,
                        bytes: image.bytes.into(),
                    },
                );
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn loaded(&mut self) -> Result<(), String> {
        let orders = self
            .orders
            .values()
            .map(|o| o.seq.max(o.category.as_ref().map_or(0, |(_, seq)| *seq)));
        let categories = self.categories.values().map(|c| c.seq);
        let images = self.images.values().map(|i| i.seq);
        self.seq = orders.chain(categories).chain(images).max().unwrap_or(0);
        Ok(())
    }

    fn evict_before(&mut self, cutoff: OffsetDateTime, limit: usize) -> usize {
        Orders::evict_before(self, cutoff, limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::persist::testing::{keys, reload, rows};
    use vipps_types::order_management::{Category, CategoryType, OrderCategory, OrderId, PaymentType};

    fn png() -> Vec<u8> {
        let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        b.extend_from_slice(&10u32.to_be_bytes());
        b.extend_from_slice(&200u32.to_be_bytes());
        b.extend_from_slice(&[8, 6, 0, 0, 0]);
        b
    }

    fn filled() -> Orders {
        let mut o = Orders::default();
        o.track(true);
        let seq = o.next_seq();
        o.orders.insert(
            "123456/ecom/order-1".into(),
            OrderEntry {
                created: OffsetDateTime::UNIX_EPOCH,
                seq,
                receipt: None,
                category: Some((OrderCategory::new(CategoryType::Ticket, "https://example.com/t"), seq)),
            },
        );
        let seq = o.next_seq();
        let req = vipps_types::order_management::AddCategoryRequest {
            order_id: OrderId::new("order-1").unwrap(),
            payment_type: PaymentType::Ecom,
            kind: CategoryType::Receipt,
            url: "https://example.com/r".into(),
            image_id: None,
        };
        o.categories.insert(
            "c1".into(),
            CategoryEntry {
                msn: "123456".into(),
                created: OffsetDateTime::UNIX_EPOCH + time::Duration::hours(1),
                seq,
                category: Category::new("c1", req),
            },
        );
        let seq = o.next_seq();
        o.images.insert(
            "123456/img".into(),
            ImageEntry {
                created: OffsetDateTime::UNIX_EPOCH + time::Duration::hours(2),
                seq,
                format: vipps_types::order_management::ImageFormat::Png,
                bytes: png().into(),
            },
        );
        o
    }

    #[test]
    fn changes_rows_and_reload() {
        let mut o = filled();
        let mut out = Vec::new();
        o.changes(&mut out);
        assert_eq!(
            keys(&out),
            [
                "put om.order/123456/ecom/order-1",
                "put om.category/c1",
                "put om.image/123456/img"
            ]
        );
        out.clear();
        o.changes(&mut out);
        assert!(out.is_empty());
        let fresh = reload(&o).unwrap();
        let mut a = rows(&o);
        let mut b = rows(&fresh);
        a.sort_by_key(|c| format!("{c:?}"));
        b.sort_by_key(|c| format!("{c:?}"));
        assert_eq!(a, b);
        assert_eq!(fresh.seq, 3, "numbering goes on after the highest loaded");

        o.categories.remove(&"c1".to_owned());
        o.changes(&mut out);
        assert_eq!(keys(&out), ["delete om.category/c1"]);
    }

    #[test]
    fn retention_forgets_the_oldest_first() {
        let mut o = filled();
        let cutoff = OffsetDateTime::UNIX_EPOCH + time::Duration::minutes(150);
        assert_eq!(o.evict_before(cutoff, 1), 1);
        assert!(o.orders.is_empty() && !o.categories.is_empty());
        assert_eq!(o.evict_before(cutoff, 10), 2);
        assert_eq!(o.evict_before(cutoff, 10), 0);
    }

    #[test]
    fn a_damaged_image_row_is_refused() {
        let mut o = Orders::default();
        let row = crate::core::persist::testing::row(
            IMAGE,
            "1/x",
            r#"{"created":"1970-01-01T00:00:00Z","seq":1,"src":"R0lGODlh"}"#,
        );
        assert!(o.load(&row).is_err(), "a GIF is no image the API takes");
    }
}
