//! Word vectors and the bilingual lexicon, read from the text formats of the es-en data
//! (word2vec text: a `count dim` header, then `word v₁ … v_d` per line, most frequent first;
//! lexicon: `source target` per line). Every problem is an error naming the line.

use std::collections::HashMap;

/// Word vectors, row-major `[len, dim]`, in frequency order (row 0 is the most frequent word).
#[derive(Clone, Debug, PartialEq)]
pub struct Embeddings {
    pub words: Vec<String>,
    pub dim: usize,
    pub vectors: Vec<f32>,
    index: HashMap<String, usize>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EmbedError {
    #[error("the vectors file holds no vectors")]
    Empty,
    #[error("line 1 should be '<count> <dimension>', found '{0}'")]
    Header(String),
    #[error("line {line}: expected a word and {dim} numbers, found {found} fields")]
    Fields { line: usize, dim: usize, found: usize },
    #[error("line {line}: '{value}' is not a finite number")]
    Number { line: usize, value: String },
    #[error("line {line}: the word '{word}' appears twice")]
    Duplicate { line: usize, word: String },
    #[error("the header promises {promised} vectors but the file has {found}")]
    Count { promised: usize, found: usize },
    #[error("the dimension must be between 1 and 4096, found {0}")]
    Dim(usize),
    #[error("lexicon line {0}: expected 'source target'")]
    Lexicon(usize),
}

impl Embeddings {
    pub fn new(words: Vec<String>, dim: usize, vectors: Vec<f32>) -> Result<Self, EmbedError> {
        if dim == 0 || dim > 4096 {
            return Err(EmbedError::Dim(dim));
        }
        if vectors.len() != words.len() * dim {
            return Err(EmbedError::Count { promised: words.len(), found: vectors.len() / dim });
        }
        let mut index = HashMap::with_capacity(words.len());
        for (i, w) in words.iter().enumerate() {
            if index.insert(w.clone(), i).is_some() {
                return Err(EmbedError::Duplicate { line: i + 2, word: w.clone() });
            }
        }
        Ok(Embeddings { words, dim, vectors, index })
    }

    /// Parses word2vec's text format.
    pub fn parse_word2vec(text: &str) -> Result<Self, EmbedError> {
        let mut lines = text.lines();
        let header = lines.next().ok_or(EmbedError::Empty)?;
        let parts: Vec<&str> = header.split_whitespace().collect();
        let [c, d] = parts[..] else {
            return Err(EmbedError::Header(header.chars().take(80).collect()));
        };
        let parse = |s: &str| s.parse::<usize>().map_err(|_| EmbedError::Header(header.into()));
        let (count, dim) = (parse(c)?, parse(d)?);
        if dim == 0 || dim > 4096 {
            return Err(EmbedError::Dim(dim));
        }
        let mut words = Vec::with_capacity(count.min(1 << 20));
        let mut vectors = Vec::with_capacity(count.min(1 << 20) * dim);
        for (k, text) in lines.enumerate() {
            let line = k + 2;
            if text.trim().is_empty() {
                continue;
            }
            let mut fields = text.split_whitespace();
            let word = fields.next().unwrap_or_default();
            let values: Vec<&str> = fields.collect();
            if values.len() != dim {
                return Err(EmbedError::Fields { line, dim, found: values.len() + 1 });
            }
            for v in values {
                let bad = || EmbedError::Number { line, value: v.chars().take(40).collect() };
                vectors.push(v.parse::<f32>().ok().filter(|x| x.is_finite()).ok_or_else(bad)?);
            }
            words.push(word.to_string());
        }
        if words.len() != count {
            return Err(EmbedError::Count { promised: count, found: words.len() });
        }
        if words.is_empty() {
            return Err(EmbedError::Empty);
        }
        Embeddings::new(words, dim, vectors)
    }

    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    pub fn id(&self, word: &str) -> Option<usize> {
        self.index.get(word).copied()
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.vectors[i * self.dim..(i + 1) * self.dim]
    }

    /// The first `n` (most frequent) words.
    pub fn truncated(&self, n: usize) -> Self {
        let n = n.min(self.len());
        Embeddings::new(self.words[..n].to_vec(), self.dim, self.vectors[..n * self.dim].to_vec())
            .expect("a prefix of valid embeddings")
    }

    /// Each row scaled to unit length (zero rows stay zero), then, with `center`, the mean row
    /// subtracted and rows scaled to unit length again (MUSE's `renorm,center,renorm`).
    pub fn normalized(&self, center: bool) -> Self {
        let mut v = self.vectors.clone();
        unit_rows(&mut v, self.dim);
        if center && !self.is_empty() {
            let (d, mut mean) = (self.dim, vec![0.0f64; self.dim]);
            v.iter().enumerate().for_each(|(k, x)| mean[k % d] += *x as f64);
            mean.iter_mut().for_each(|m| *m /= self.len() as f64);
            v.iter_mut().enumerate().for_each(|(k, x)| *x -= mean[k % d] as f32);
            unit_rows(&mut v, self.dim);
        }
        Embeddings { vectors: v, ..self.clone() }
    }
}

/// Scales each row of `v` to unit length.
pub fn unit_rows(v: &mut [f32], dim: usize) {
    for r in v.chunks_exact_mut(dim) {
        let n = r.iter().map(|x| x * x).sum::<f32>().sqrt();
        if n > 0.0 {
            r.iter_mut().for_each(|x| *x /= n);
        }
    }
}

/// A bilingual lexicon as row ids: each source word with every listed translation that is in
/// the target vocabulary. Source words with none are dropped (they cannot be retrieved).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Lexicon {
    pub entries: Vec<(usize, Vec<usize>)>,
}

impl Lexicon {
    /// Parses `source target` lines against the two vocabularies; first-seen order of source
    /// words is kept, so a split is reproducible.
    pub fn parse(text: &str, src: &Embeddings, tgt: &Embeddings) -> Result<Self, EmbedError> {
        let mut order: Vec<usize> = vec![];
        let mut map: HashMap<usize, Vec<usize>> = HashMap::new();
        for (k, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let parts: Vec<&str> = line.split_whitespace().collect();
            let [s, t] = parts[..] else { return Err(EmbedError::Lexicon(k + 1)) };
            let (Some(s), Some(t)) = (src.id(s), tgt.id(t)) else { continue };
            let e = map.entry(s).or_insert_with(|| {
                order.push(s);
                vec![]
            });
            if !e.contains(&t) {
                e.push(t);
            }
        }
        Ok(Lexicon {
            entries: order.into_iter().map(|s| (s, map.remove(&s).unwrap_or_default())).collect(),
        })
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// A reproducible split of the source words: `test` words (chosen by `seed`) are held out,
    /// the rest train.
    pub fn split(&self, test: usize, seed: u64) -> (Lexicon, Lexicon) {
        let mut ids: Vec<usize> = (0..self.len()).collect();
        let mut rng = crate::rng::Rng::new(seed);
        for i in (1..ids.len()).rev() {
            ids.swap(i, rng.below(i + 1));
        }
        let test = test.min(self.len());
        let pick = |r: &[usize]| {
            let mut r = r.to_vec();
            r.sort_unstable();
            Lexicon { entries: r.into_iter().map(|i| self.entries[i].clone()).collect() }
        };
        (pick(&ids[test..]), pick(&ids[..test]))
    }

    /// Training pairs for Procrustes: every (source, listed translation), as MUSE's
    /// supervised baseline reads its dictionary.
    pub fn pairs(&self) -> Vec<(usize, usize)> {
        self.entries.iter().flat_map(|(s, ts)| ts.iter().map(move |t| (*s, *t))).collect()
    }
}

/// Pairs of identical strings in the two vocabularies (names, numbers, loanwords): the
/// weak supervision MUSE and Smith et al. use.
pub fn identical_pairs(src: &Embeddings, tgt: &Embeddings) -> Vec<(usize, usize)> {
    src.words.iter().enumerate().filter_map(|(i, w)| tgt.id(w).map(|j| (i, j))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word2vec_text_and_its_errors() {
        let e = Embeddings::parse_word2vec("2 3\nuno 1 0 0\ndos 0 2 0\n").unwrap();
        assert_eq!((e.len(), e.dim, e.id("dos"), e.row(1)), (2, 3, Some(1), &[0.0, 2.0, 0.0][..]));
        let n = e.normalized(false);
        assert_eq!(n.row(1), &[0.0, 1.0, 0.0]);
        let bad = [
            ("", EmbedError::Empty),
            ("x\n", EmbedError::Header("x".into())),
            ("1 3\nuno 1 0\n", EmbedError::Fields { line: 2, dim: 3, found: 3 }),
            ("1 2\nuno 1 nan\n", EmbedError::Number { line: 2, value: "nan".into() }),
            ("2 1\nuno 1\nuno 2\n", EmbedError::Duplicate { line: 3, word: "uno".into() }),
            ("3 1\nuno 1\n", EmbedError::Count { promised: 3, found: 1 }),
            ("1 0\n", EmbedError::Dim(0)),
        ];
        for (text, err) in bad {
            assert_eq!(Embeddings::parse_word2vec(text).unwrap_err(), err, "{text:?}");
        }
    }

    #[test]
    fn lexicon_keeps_translations_in_the_vocabulary() {
        let es = Embeddings::parse_word2vec("3 1\naño 1\nciudad 2\nzzz 3\n").unwrap();
        let en = Embeddings::parse_word2vec("3 1\nyear 1\ncity 2\ntown 3\n").unwrap();
        let l = Lexicon::parse(
            "año yr\naño year\nciudad town\nciudad city\nciudad town\nnada nothing\n",
            &es,
            &en,
        )
        .unwrap();
        assert_eq!(l.entries, vec![(0, vec![0]), (1, vec![2, 1])]);
        assert_eq!(Lexicon::parse("a b c\n", &es, &en).unwrap_err(), EmbedError::Lexicon(1));
        let (train, test) = l.split(1, 3);
        assert_eq!((train.len(), test.len()), (1, 1));
        assert_ne!(train.entries, test.entries);
        let same = Embeddings::parse_word2vec("1 1\nciudad 5\n").unwrap();
        assert_eq!(identical_pairs(&es, &same), vec![(1, 0)]);
    }
}
