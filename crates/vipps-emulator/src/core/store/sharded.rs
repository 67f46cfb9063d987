//! A hash map in parts, so growing it never pauses the store for long.

use std::collections::HashMap;

/// How many parts a [`Sharded`] map has.
pub(super) const SHARDS: usize = 64;

/// A hash map in [`SHARDS`] parts, chosen by the key's hash. Growing a map rehashes all of it
/// under the store's lock; in parts, each growth moves a 64th of the entries, so a long run of
/// creates sees short pauses (about a millisecond at a million payments) instead of one long
/// one per doubling.
///
/// The hasher is foldhash's randomly seeded fast hash, not std's SipHash: every request
/// hashes its key twice (the part, then the entry), and SipHash was 4 % of the CPU time of a
/// GET. Its seeds are random per process and map; it claims only a minimal resistance to keys
/// crafted to collide, which is enough for a test server.
#[derive(Debug)]
pub(super) struct Sharded<K, V> {
    pub(super) parts: Box<[HashMap<K, V, Hasher>]>,
    pub(super) pick: Hasher,
}

/// The hasher of the store's maps (see [`Sharded`]).
pub(super) type Hasher = foldhash::fast::RandomState;

impl<K, V> Default for Sharded<K, V> {
    fn default() -> Self {
        Sharded {
            parts: (0..SHARDS).map(|_| HashMap::with_hasher(Hasher::default())).collect(),
            pick: Hasher::default(),
        }
    }
}

impl<K: std::hash::Hash + Eq, V> Sharded<K, V> {
    pub(super) fn part(&self, k: &K) -> usize {
        use std::hash::BuildHasher;
        (self.pick.hash_one(k) as usize) % SHARDS
    }

    pub(super) fn get(&self, k: &K) -> Option<&V> {
        self.parts[self.part(k)].get(k)
    }

    pub(super) fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        let i = self.part(k);
        self.parts[i].get_mut(k)
    }

    pub(super) fn contains_key(&self, k: &K) -> bool {
        self.parts[self.part(k)].contains_key(k)
    }

    pub(super) fn insert(&mut self, k: K, v: V) -> Option<V> {
        let i = self.part(&k);
        self.parts[i].insert(k, v)
    }

    pub(super) fn remove(&mut self, k: &K) -> Option<V> {
        let i = self.part(k);
        self.parts[i].remove(k)
    }

    pub(super) fn len(&self) -> usize {
        self.parts.iter().map(|p| p.len()).sum()
    }

    pub(super) fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        for part in self.parts.iter_mut() {
            part.retain(|k, v| keep(k, v));
        }
    }

    pub(super) fn clear(&mut self) {
        for p in self.parts.iter_mut() {
            // Give the memory back: a reset emulator should not keep a million payments' worth.
            *p = HashMap::with_hasher(Hasher::default());
        }
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.parts.iter().flat_map(|p| p.iter())
    }
}
