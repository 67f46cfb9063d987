//! What each object of a table was last written as, so that a commit that only read an object
//! writes nothing (a read often goes through the same `get_mut` as a change), and the row of
//! an object that is gone can be deleted although the object is no longer there to name it.
//! Kept only with a data dir: in memory it stays empty.

use super::{Change, Row};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

/// Per object: its row's key and a hash of the JSON last written there.
#[derive(Debug, Clone)]
pub(crate) struct Saved<K> {
    rows: HashMap<K, (String, u64)>,
}

impl<K> Default for Saved<K> {
    fn default() -> Self {
        Saved { rows: HashMap::new() }
    }
}

fn hash(json: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    json.hash(&mut h);
    h.finish()
}

impl<K: Hash + Eq + Clone> Saved<K> {
    /// Object `k` is now `value` in row `key` of `table`: a put, unless the row holds exactly
    /// that already (and a delete of its old row when it moved to another key).
    pub(crate) fn put<T: serde::Serialize>(
        &mut self,
        table: &'static str,
        k: &K,
        key: String,
        value: &T,
        out: &mut Vec<Change>,
    ) {
        let json = super::json(value);
        let h = hash(&json);
        match self.rows.get_mut(k) {
            Some((old, saved)) if *old == key => {
                if *saved == h {
                    return;
                }
                *saved = h;
            }
            Some((old, saved)) => {
                let old = std::mem::replace(old, key.clone());
                *saved = h;
                out.push(Change::Delete { table, key: old });
            }
            None => {
                self.rows.insert(k.clone(), (key.clone(), h));
            }
        }
        out.push(Change::Put {
            table,
            key,
            value: json,
        });
    }

    /// Object `k` is gone: its row too, if it was written.
    pub(crate) fn delete(&mut self, table: &'static str, k: &K, out: &mut Vec<Change>) {
        if let Some((key, _)) = self.rows.remove(k) {
            out.push(Change::Delete { table, key });
        }
    }

    /// Object `k` was read back from `row` at start.
    pub(crate) fn loaded(&mut self, k: K, row: &Row) {
        self.rows.insert(k, (row.key.clone(), hash(&row.value)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_only_what_changed() {
        let mut s: Saved<&str> = Saved::default();
        let mut out = Vec::new();
        s.put("t", &"a", "1".into(), &1, &mut out);
        s.put("t", &"a", "1".into(), &1, &mut out);
        assert_eq!(out.len(), 1, "an unchanged object is not written again");
        s.put("t", &"a", "2".into(), &1, &mut out);
        assert!(matches!(&out[1], Change::Delete { key, .. } if key == "1"));
        assert!(matches!(&out[2], Change::Put { key, .. } if key == "2"));
        s.delete("t", &"a", &mut out);
        s.delete("t", &"a", &mut out);
        assert_eq!(out.len(), 4);
        assert!(matches!(&out[3], Change::Delete { key, .. } if key == "2"));
    }
}
