//! The TfIdfVectorizer's n-gram pool: each pool item (string or integer) gets a small id, each
//! n-gram of the loaded lengths is a key of ids, and a row's tokens are looked up as ids, so
//! that counting allocates nothing per token. Tokens are looked up by `&str` with a keyless
//! multiply hash (SipHash was a fifth of a 1,000-document request, BENCHMARKS.md "Measured
//! choices"): the tables are fixed at load and requests only read them, so chosen tokens cannot
//! flood them; an unknown token costs one probe of the fixed table. 1-grams are a table by id.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use tract_onnx::tract_hir::internal::*;

/// Items that are not in the pool: no n-gram contains them.
pub const UNKNOWN: u32 = u32::MAX;

/// A hash map keyed by the multiply hash.
pub type Map<K, V> = HashMap<K, V, BuildHasherDefault<Multiply>>;

/// The multiply hash of rustc's `FxHasher` (rustc-hash 2): a word at a time, then a rotation
/// that brings the product's best-mixed bits to the bucket index.
#[derive(Default, Clone, Copy)]
pub struct Multiply(u64);

impl Multiply {
    const K: u64 = 0xf135_7aea_2e62_a9c5;

    fn add(&mut self, word: u64) {
        self.0 = self.0.wrapping_add(word).wrapping_mul(Self::K);
    }
}

impl Hasher for Multiply {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            self.add(u64::from_le_bytes(word.try_into().unwrap_or_default()));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(n.into());
    }

    fn write_u32(&mut self, n: u32) {
        self.add(n.into());
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0.rotate_left(26)
    }
}

/// The pool's items, by value.
#[derive(Debug)]
pub enum Items {
    Strings(Map<String, u32>),
    Ints(Map<i64, u32>),
}

/// No column: the item is not a 1-gram of the loaded lengths.
const NO_COLUMN: u32 = u32::MAX;

#[derive(Debug)]
pub struct Pool {
    pub items: Items,
    /// The output column of each n-gram, by its items' ids.
    pub ngrams: Map<Box<[u32]>, usize>,
    /// The output column of each 1-gram, by its item's id (`NO_COLUMN` when none).
    unigrams: Vec<u32>,
}

/// The pool as the attributes give it.
pub enum Values {
    Strings(Vec<String>),
    Ints(Vec<i64>),
}

impl Pool {
    /// Loads the n-grams of `lengths` from the pool, `counts` giving where each length's n-grams
    /// start and `indexes` each n-gram's output column; refused as onnxruntime refuses them.
    pub fn new(
        values: Values,
        counts: &[i64],
        indexes: &[i64],
        lengths: (usize, usize),
    ) -> TractResult<Pool> {
        let (ids, total, items) = match values {
            Values::Strings(v) => {
                let mut map = Map::default();
                let ids: Vec<u32> = v.iter().map(|s| id(&mut map, s.clone())).collect();
                (ids, v.len(), Items::Strings(map))
            }
            Values::Ints(v) => {
                let mut map = Map::default();
                let ids: Vec<u32> = v.iter().map(|i| id(&mut map, *i)).collect();
                (ids, v.len(), Items::Ints(map))
            }
        };
        let mut ngrams = Map::default();
        let mut unigrams = Vec::new();
        let mut ngram_id = 0usize;
        for (at, &start) in counts.iter().enumerate() {
            let n = at + 1;
            let end = counts.get(at + 1).copied().unwrap_or(total as i64);
            if start < 0 || end < start || end as usize > total {
                bail!("TfIdfVectorizer: ngram_counts out of bounds for {n}-grams");
            }
            let (start, end) = (start as usize, end as usize);
            if !(end - start).is_multiple_of(n) {
                bail!("TfIdfVectorizer: the pool's {n}-grams do not make whole {n}-grams");
            }
            for ngram in ids[start..end].chunks_exact(n) {
                if (lengths.0..=lengths.1).contains(&n) {
                    let Some(&column) = indexes.get(ngram_id) else {
                        bail!("TfIdfVectorizer: ngram_indexes has no column for n-gram {ngram_id}");
                    };
                    if ngrams.insert(ngram.into(), column as usize).is_some() {
                        bail!("TfIdfVectorizer: the pool has a {n}-gram twice");
                    }
                    if let [item] = *ngram {
                        let item = item as usize;
                        if unigrams.len() <= item {
                            unigrams.resize(item + 1, NO_COLUMN);
                        }
                        // Columns are below MAX_WIDTH (checked by the caller), far below u32::MAX.
                        unigrams[item] = column as u32;
                    }
                }
                ngram_id += 1;
            }
        }
        Ok(Pool {
            items,
            ngrams,
            unigrams,
        })
    }

    /// The output column of the 1-gram of item `id`, if it is one.
    #[inline]
    pub fn unigram(&self, id: u32) -> Option<usize> {
        match self.unigrams.get(id as usize) {
            Some(&column) if column != NO_COLUMN => Some(column as usize),
            _ => None,
        }
    }

    /// The id of each of `tokens`, written into `out` (cleared first).
    pub fn ids(&self, tokens: &Tensor, out: &mut Vec<u32>) -> TractResult<()> {
        out.clear();
        match &self.items {
            Items::Strings(map) => {
                let tokens = tokens.try_as_plain_ram()?.as_slice::<String>()?;
                out.extend(
                    tokens
                        .iter()
                        .map(|t| map.get(t.as_str()).copied().unwrap_or(UNKNOWN)),
                );
            }
            Items::Ints(map) => {
                let tokens = tokens.cast_to::<i64>()?;
                let tokens = tokens.try_as_plain_ram()?.as_slice::<i64>()?;
                out.extend(tokens.iter().map(|t| map.get(t).copied().unwrap_or(UNKNOWN)));
            }
        }
        Ok(())
    }
}

fn id<K: std::hash::Hash + Eq>(map: &mut Map<K, u32>, key: K) -> u32 {
    let next = map.len() as u32;
    *map.entry(key).or_insert(next)
}
