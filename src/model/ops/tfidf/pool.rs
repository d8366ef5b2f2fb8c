//! The TfIdfVectorizer's n-gram pool: each pool item (string or integer) gets a small id, each
//! n-gram of the loaded lengths is a key of ids, and a row's tokens are looked up as ids, so
//! that counting allocates nothing per token.

use std::collections::HashMap;

use tract_onnx::tract_hir::internal::*;

/// Items that are not in the pool: no n-gram contains them.
pub const UNKNOWN: u32 = u32::MAX;

/// The pool's items, by value.
#[derive(Debug)]
pub enum Items {
    Strings(HashMap<String, u32>),
    Ints(HashMap<i64, u32>),
}

#[derive(Debug)]
pub struct Pool {
    pub items: Items,
    /// The output column of each n-gram, by its items' ids.
    pub ngrams: HashMap<Box<[u32]>, usize>,
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
                let mut map = HashMap::new();
                let ids: Vec<u32> = v.iter().map(|s| id(&mut map, s.clone())).collect();
                (ids, v.len(), Items::Strings(map))
            }
            Values::Ints(v) => {
                let mut map = HashMap::new();
                let ids: Vec<u32> = v.iter().map(|i| id(&mut map, *i)).collect();
                (ids, v.len(), Items::Ints(map))
            }
        };
        let mut ngrams = HashMap::new();
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
                }
                ngram_id += 1;
            }
        }
        Ok(Pool { items, ngrams })
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

fn id<K: std::hash::Hash + Eq>(map: &mut HashMap<K, u32>, key: K) -> u32 {
    let next = map.len() as u32;
    *map.entry(key).or_insert(next)
}
