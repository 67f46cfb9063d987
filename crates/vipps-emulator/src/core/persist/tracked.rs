//! Knowing what a transaction changed, so that only those rows are written.
//!
//! [`Tracked`] is a vector whose mutable indexing (`rows[i].field = …`, `&mut rows[i]`)
//! remembers `i`; reads do not. The compiler picks `IndexMut` for every mutable use, so no
//! change can slip past unrecorded. [`Touched`] is the same record for keys a table changes
//! through its own methods.

use std::ops::{Deref, Index, IndexMut};

/// Keys changed since the last [`Touched::take`], recorded only while tracking is on (with
/// a data dir): in memory nothing is kept.
#[derive(Debug, Clone)]
pub(crate) struct Touched<K> {
    keys: Option<Vec<K>>,
}

impl<K> Default for Touched<K> {
    fn default() -> Self {
        Touched { keys: None }
    }
}

impl<K: Ord> Touched<K> {
    /// Starts or stops recording.
    pub(crate) fn track(&mut self, on: bool) {
        self.keys = on.then(Vec::new);
    }

    /// Whether changes are recorded.
    pub(crate) fn tracking(&self) -> bool {
        self.keys.is_some()
    }

    /// Records that `key` changed.
    pub(crate) fn touch(&mut self, key: K) {
        if let Some(k) = &mut self.keys {
            k.push(key);
        }
    }

    /// The keys changed since the last call, each once, in order.
    pub(crate) fn take(&mut self) -> Vec<K> {
        let Some(k) = &mut self.keys else {
            return Vec::new();
        };
        let mut out = std::mem::take(k);
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// Rows in a vector, by index; mutable access records the index.
#[derive(Debug, Clone)]
pub(crate) struct Tracked<T> {
    rows: Vec<T>,
    touched: Touched<u32>,
}

impl<T> Default for Tracked<T> {
    fn default() -> Self {
        Tracked {
            rows: Vec::new(),
            touched: Touched::default(),
        }
    }
}

impl<T> Tracked<T> {
    /// Appends a row; its index.
    pub(crate) fn push(&mut self, row: T) -> u32 {
        let i = self.rows.len() as u32;
        self.rows.push(row);
        self.touched.touch(i);
        i
    }

    /// Starts or stops recording changes.
    pub(crate) fn track(&mut self, on: bool) {
        self.touched.track(on);
    }

    /// The indexes changed since the last call, each once, in order.
    pub(crate) fn take_touched(&mut self) -> Vec<u32> {
        self.touched.take()
    }

    /// Puts back a stored row at `index` (loading), filling gaps with `fill`; not recorded.
    pub(crate) fn restore(&mut self, index: usize, row: T, fill: impl Fn() -> T) {
        while self.rows.len() <= index {
            self.rows.push(fill());
        }
        self.rows[index] = row;
    }
}

impl<T> Deref for Tracked<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.rows
    }
}

impl<T> Index<usize> for Tracked<T> {
    type Output = T;
    fn index(&self, i: usize) -> &T {
        &self.rows[i]
    }
}

impl<T> IndexMut<usize> for Tracked<T> {
    fn index_mut(&mut self, i: usize) -> &mut T {
        self.touched.touch(i as u32);
        &mut self.rows[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutable_access_is_recorded_and_reads_are_not() {
        let mut t: Tracked<u32> = Tracked::default();
        t.push(1);
        assert!(t.take_touched().is_empty(), "nothing is recorded before tracking");
        t.track(true);
        t.push(2);
        t.push(3);
        let _read = t[0] + t[1];
        t[2] += 1;
        t[2] += 1;
        let r = &mut t[0];
        *r = 9;
        assert_eq!(t.take_touched(), [0, 1, 2]);
        assert!(t.take_touched().is_empty());
        assert_eq!(&*t, &[9, 2, 5]);
    }

    #[test]
    fn restore_fills_gaps() {
        let mut t: Tracked<i32> = Tracked::default();
        t.track(true);
        t.restore(2, 7, || -1);
        assert_eq!(&*t, &[-1, -1, 7]);
        assert!(t.take_touched().is_empty());
    }
}

/// A hash map whose changes (`get_mut`, `insert`, `remove`, `values_mut_where`) record the key;
/// reads go through `Deref`.
#[derive(Debug, Clone)]
pub(crate) struct TrackedMap<K, V> {
    map: std::collections::HashMap<K, V>,
    touched: Touched<K>,
}

impl<K, V> Default for TrackedMap<K, V> {
    fn default() -> Self {
        TrackedMap {
            map: std::collections::HashMap::new(),
            touched: Touched::default(),
        }
    }
}

impl<K: std::hash::Hash + Eq + Ord + Clone, V> TrackedMap<K, V> {
    /// The value of `k`, for changing.
    pub(crate) fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        let v = self.map.get_mut(k)?;
        // Checked first: in memory the key is not even cloned.
        if self.touched.tracking() {
            self.touched.touch(k.clone());
        }
        Some(v)
    }

    /// Sets `k`.
    pub(crate) fn insert(&mut self, k: K, v: V) -> Option<V> {
        if self.touched.tracking() {
            self.touched.touch(k.clone());
        }
        self.map.insert(k, v)
    }

    /// Removes `k`.
    pub(crate) fn remove(&mut self, k: &K) -> Option<V> {
        let v = self.map.remove(k)?;
        if self.touched.tracking() {
            self.touched.touch(k.clone());
        }
        Some(v)
    }

    /// The values `keep` selects, for changing (only their keys are recorded: a sweep that
    /// looks at every value but changes few must not mark them all).
    pub(crate) fn values_mut_where(&mut self, keep: impl Fn(&V) -> bool) -> impl Iterator<Item = &mut V> {
        let touched = &mut self.touched;
        self.map.iter_mut().filter(move |(_, v)| keep(v)).map(move |(k, v)| {
            if touched.tracking() {
                touched.touch(k.clone());
            }
            v
        })
    }

    /// Starts or stops recording changes.
    pub(crate) fn track(&mut self, on: bool) {
        self.touched.track(on);
    }

    /// Whether changes are recorded.
    pub(crate) fn tracking(&self) -> bool {
        self.touched.tracking()
    }

    /// The keys changed since the last call, each once, in order.
    pub(crate) fn take_touched(&mut self) -> Vec<K> {
        self.touched.take()
    }

    /// Puts back a stored entry (loading); not recorded.
    pub(crate) fn restore(&mut self, k: K, v: V) {
        self.map.insert(k, v);
    }
}

impl<K, V> Deref for TrackedMap<K, V> {
    type Target = std::collections::HashMap<K, V>;
    fn deref(&self) -> &Self::Target {
        &self.map
    }
}

#[cfg(test)]
mod map_tests {
    use super::*;

    #[test]
    fn only_changes_are_recorded_and_only_while_tracking() {
        let mut m: TrackedMap<u32, u32> = TrackedMap::default();
        m.insert(1, 10);
        m.insert(2, 20);
        m.insert(3, 30);
        assert!(m.take_touched().is_empty());
        m.track(true);
        assert!(m.tracking());
        let _ = m.get(&1);
        for v in m.values_mut_where(|v| *v > 15) {
            *v += 1;
        }
        assert_eq!(m.take_touched(), [2, 3]);
        m.remove(&1);
        m.remove(&9);
        *m.get_mut(&2).unwrap() += 1;
        assert_eq!(m.take_touched(), [1, 2]);
        m.restore(4, 40);
        assert!(m.take_touched().is_empty());
    }
}
