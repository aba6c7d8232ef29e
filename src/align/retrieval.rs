//! Translation by retrieval in the shared space (Conneau et al. 2018, §2.3 and §3.1):
//! nearest neighbours by cosine, CSLS, precision@k against a lexicon, the dictionary of mutual
//! CSLS neighbours that refinement trains on, and MUSE's unsupervised model-selection
//! criterion. Rows of both spaces are unit length, so a dot product is a cosine.
//!
//! CSLS(Wx, y) = 2 cos(Wx, y) − r_T(Wx) − r_S(y), where r_T(Wx) is the mean cosine of Wx to its
//! k nearest targets and r_S(y) that of y to its k nearest mapped sources (k = 10). It lowers
//! the score of "hubs", targets that are near everything.

use std::ops::Range;

use super::embed::Lexicon;
use crate::ops::kernels::{Mat, gemm};

/// Rows of queries per similarity block (bounds memory: block × keys floats).
const BLOCK: usize = 256;

/// How a source word's candidates are ranked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Retrieval {
    /// Plain cosine nearest neighbour.
    Nn,
    /// Cross-domain similarity local scaling with k neighbours.
    Csls { k: usize },
}

/// `q·keysᵀ` for the rows `rows` of `q` (`[.., dim]`) against every key `[nk, dim]`. Panics,
/// naming `what` (the caller), when `rows` is not a range of `q`'s rows.
#[track_caller]
fn block(what: &str, q: &[f32], rows: Range<usize>, keys: &[f32], dim: usize) -> Vec<f32> {
    assert!(dim > 0, "{what}: the dimension is 0");
    let (nq, nk) = (q.len() / dim, keys.len() / dim);
    assert!(
        rows.start <= rows.end && rows.end <= nq,
        "{what}: rows {rows:?} outside the {nq} rows of {dim} values"
    );
    let m = rows.len();
    let mut out = vec![0.0f32; m * nk];
    if m == 0 || nk == 0 {
        return out;
    }
    // `Mat` checks that both blocks lie inside their slices (`rows.end ≤ nq` above makes this
    // one fit), and `gemm` the shapes and `out`'s extent.
    let queries = Mat::rows("queries", q, rows.start * dim, m, dim);
    gemm(m, nk, dim, &mut out, nk, false, queries, Mat::t("keys", keys, nk, dim), true);
    out
}

/// The mean of the `k` largest values of `row`.
fn mean_top(row: &[f32], k: usize) -> f32 {
    let top = top_indices(row, k);
    if top.is_empty() {
        return 0.0;
    }
    top.iter().map(|&i| row[i]).sum::<f32>() / top.len() as f32
}

/// The indices of the `k` largest values of `row`, best first (ties: lower index first).
fn top_indices(row: &[f32], k: usize) -> Vec<usize> {
    let k = k.min(row.len());
    let mut top: Vec<(f32, usize)> = Vec::with_capacity(k + 1);
    for (i, &v) in row.iter().enumerate() {
        if top.len() < k || top.last().is_some_and(|&(t, _)| v > t) {
            let pos = top.partition_point(|&(t, _)| t >= v);
            top.insert(pos, (v, i));
            top.truncate(k);
        }
    }
    top.into_iter().map(|(_, i)| i).collect()
}

/// `f` of each of the first `n` rows of a score matrix `[n, nk]` that `scores` gives a block of
/// rows at a time.
fn per_row<T>(
    n: usize,
    nk: usize,
    scores: impl Fn(Range<usize>) -> Vec<f32>,
    f: impl Fn(&[f32]) -> T,
) -> Vec<T> {
    (0..n)
        .step_by(BLOCK)
        .flat_map(|s| {
            let e = (s + BLOCK).min(n);
            let b = scores(s..e);
            (0..e - s).map(|i| f(&b[i * nk..(i + 1) * nk])).collect::<Vec<_>>()
        })
        .collect()
}

/// `r(q)` for every row of `queries`: the mean cosine to its `k` nearest `keys`.
pub fn mean_knn(queries: &[f32], keys: &[f32], dim: usize, k: usize) -> Vec<f32> {
    assert!(dim > 0, "mean_knn: the dimension is 0");
    let (n, nk) = (queries.len() / dim, keys.len() / dim);
    per_row(n, nk, |r| block("mean_knn", queries, r, keys, dim), |row| mean_top(row, k))
}

/// A space pair ready for retrieval: mapped sources and targets, unit rows, and the CSLS
/// neighbourhood terms when CSLS is used.
pub struct Retriever<'a> {
    pub src: &'a [f32],
    pub tgt: &'a [f32],
    pub dim: usize,
    pub method: Retrieval,
    r_src: Vec<f32>,
    r_tgt: Vec<f32>,
}

impl<'a> Retriever<'a> {
    /// `src` `[ns, dim]` and `tgt` `[nt, dim]`, row-major. Panics when `dim` is 0 or does not
    /// divide both lengths.
    pub fn new(src: &'a [f32], tgt: &'a [f32], dim: usize, method: Retrieval) -> Self {
        assert!(dim > 0, "Retriever::new: the dimension is 0");
        for (name, v) in [("src", src), ("tgt", tgt)] {
            assert!(
                v.len() % dim == 0,
                "Retriever::new: {name} has {} values, not whole rows of {dim}",
                v.len()
            );
        }
        let (r_src, r_tgt) = match method {
            Retrieval::Nn => (vec![], vec![]),
            Retrieval::Csls { k } => (mean_knn(src, tgt, dim, k), mean_knn(tgt, src, dim, k)),
        };
        Retriever { src, tgt, dim, method, r_src, r_tgt }
    }

    /// Scores of sources `rows` against every target `[rows, nt]`. Panics (naming
    /// `Retriever::scores`) when `rows` reaches past the sources.
    pub fn scores(&self, rows: Range<usize>) -> Vec<f32> {
        self.scored(false, rows)
    }

    /// [`Retriever::scores`], or with `back` the scores of targets `rows` against every source:
    /// under CSLS, `2 cos − r(query) − r(key)`.
    fn scored(&self, back: bool, rows: Range<usize>) -> Vec<f32> {
        let (what, q, keys, r_q, r_k) = if back {
            ("Retriever::scores_back", self.tgt, self.src, &self.r_tgt, &self.r_src)
        } else {
            ("Retriever::scores", self.src, self.tgt, &self.r_src, &self.r_tgt)
        };
        let start = rows.start;
        let mut s = block(what, q, rows, keys, self.dim);
        if let Retrieval::Csls { .. } = self.method
            && !r_k.is_empty()
        {
            for (i, row) in s.chunks_exact_mut(r_k.len()).enumerate() {
                let rq = r_q[start + i];
                row.iter_mut().zip(r_k).for_each(|(v, rk)| *v = 2.0 * *v - rq - rk);
            }
        }
        s
    }

    /// The `k` best targets of each source in `ids`, best first. Panics (naming
    /// `Retriever::translate` and the id) on an id that is not a source row.
    pub fn translate(&self, ids: &[usize], k: usize) -> Vec<Vec<usize>> {
        let ns = self.src.len() / self.dim;
        ids.iter()
            .map(|&i| {
                assert!(i < ns, "Retriever::translate: source id {i} outside the {ns} sources");
                top_indices(&self.scores(i..i + 1), k)
            })
            .collect()
    }

    /// The best target of each of the first `n` sources, and the best source of each of the
    /// first `n` targets.
    fn best_both_ways(&self, n_src: usize, n_tgt: usize) -> (Vec<usize>, Vec<usize>) {
        let (ns, nt) = (self.src.len() / self.dim, self.tgt.len() / self.dim);
        let best = |row: &[f32]| top_indices(row, 1)[0];
        let fwd = per_row(n_src, nt, |r| self.scored(false, r), best);
        (fwd, per_row(n_tgt, ns, |r| self.scored(true, r), best))
    }

    /// MUSE's dictionary for refinement: pairs (s, t) among the `max_rank` most frequent words
    /// of each side where t is s's best target and s is t's best source.
    pub fn mutual_pairs(&self, max_rank: usize) -> Vec<(usize, usize)> {
        let ns = (self.src.len() / self.dim).min(max_rank);
        let nt = (self.tgt.len() / self.dim).min(max_rank);
        let (fwd, back) = self.best_both_ways(ns, nt);
        fwd.iter()
            .enumerate()
            .filter(|&(s, &t)| t < nt && back[t] == s)
            .map(|(s, &t)| (s, t))
            .collect()
    }

    /// MUSE's unsupervised criterion: the mean cosine between each of the `n` most frequent
    /// sources and its best target.
    pub fn criterion(&self, n: usize) -> f64 {
        let n = n.min(self.src.len() / self.dim);
        if n == 0 {
            return 0.0;
        }
        let nt = self.tgt.len() / self.dim;
        let (best, _) = self.best_both_ways(n, 0);
        let cos = block("Retriever::criterion", self.src, 0..n, self.tgt, self.dim);
        best.iter().enumerate().map(|(i, &t)| cos[i * nt + t] as f64).sum::<f64>() / n as f64
    }
}

/// P@1, P@5 and P@10 (percent) of `lexicon`: a source word counts at k when any listed
/// translation is among its k best targets.
pub fn precision(r: &Retriever<'_>, lexicon: &Lexicon) -> [f64; 3] {
    if lexicon.is_empty() {
        return [0.0; 3];
    }
    let ids: Vec<usize> = lexicon.entries.iter().map(|(s, _)| *s).collect();
    let ranked = r.translate(&ids, 10);
    let mut hits = [0usize; 3];
    for ((_, gold), got) in lexicon.entries.iter().zip(&ranked) {
        let first = got.iter().position(|t| gold.contains(t));
        for (h, k) in hits.iter_mut().zip([1, 5, 10]) {
            *h += usize::from(first.is_some_and(|p| p < k));
        }
    }
    hits.map(|h| 100.0 * h as f64 / lexicon.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three sources and three targets on the unit circle, with k = 1. Hand computation:
    /// cos(s_i, t_j) below; r_T(s) = max_j cos, r_S(t) = max_i cos; CSLS = 2cos − r_T − r_S.
    /// Target t0 is a hub (nearest to both s0 and s1): NN sends both there, CSLS sends s1 to t1.
    #[test]
    fn csls_matches_hand_computed_values() {
        let ang = |deg: f64| [deg.to_radians().cos() as f32, deg.to_radians().sin() as f32];
        let src: Vec<f32> = [0.0, 30.0, 120.0].iter().flat_map(|&a| ang(a)).collect();
        let tgt: Vec<f32> = [10.0, 55.0, 115.0].iter().flat_map(|&a| ang(a)).collect();
        let cos = |a: f64, b: f64| (a - b).to_radians().cos();
        let (s, t) = ([0.0, 30.0, 120.0], [10.0, 55.0, 115.0]);
        let nn = Retriever::new(&src, &tgt, 2, Retrieval::Nn);
        assert_eq!(nn.translate(&[0, 1, 2], 1), vec![vec![0], vec![0], vec![2]]);
        let csls = Retriever::new(&src, &tgt, 2, Retrieval::Csls { k: 1 });
        // r_T(s1) = cos(20°) (to t0); r_S(t0) = cos(10°) (from s0); r_S(t1) = cos(25°) (from s1).
        assert!((csls.r_src[1] as f64 - cos(s[1], t[0])).abs() < 1e-6);
        assert!((csls.r_tgt[0] as f64 - cos(s[0], t[0])).abs() < 1e-6);
        assert!((csls.r_tgt[1] as f64 - cos(s[1], t[1])).abs() < 1e-6);
        let row = csls.scores(1..2);
        let want = |j: usize, r_s: f64| 2.0 * cos(s[1], t[j]) - cos(s[1], t[0]) - r_s;
        // CSLS(s1, t0) = 2cos20° − cos20° − cos10° = −0.0451; CSLS(s1, t1) = 2cos25° − cos20° − cos25° = −0.0334.
        for (j, r_s, by_hand) in [(0, cos(s[0], t[0]), -0.0451), (1, cos(s[1], t[1]), -0.0334)] {
            let got = row[j] as f64;
            assert!((got - want(j, r_s)).abs() < 1e-6 && (got - by_hand).abs() < 1e-3, "{row:?}");
        }
        assert_eq!(csls.translate(&[0, 1, 2], 1), vec![vec![0], vec![1], vec![2]]);
        // Mutual pairs under CSLS: all three.
        assert_eq!(csls.mutual_pairs(10), vec![(0, 0), (1, 1), (2, 2)]);
        // P@k: s1's listed translation t1 is found at rank 1 by CSLS, at rank 2 by NN.
        let lex = Lexicon { entries: vec![(1, vec![1])] };
        assert_eq!(precision(&csls, &lex), [100.0, 100.0, 100.0]);
        assert_eq!(precision(&nn, &lex), [0.0, 100.0, 100.0]);
    }

    /// Rows and ids past the sources are refused with the function's name, never read.
    #[test]
    fn out_of_range_rows_and_ids_are_refused() {
        let src = [1.0f32, 0.0, 0.0, 1.0, 0.6, 0.8]; // three sources
        let tgt = [0.0f32, 1.0, 1.0, 0.0]; // two targets
        let message = |f: &dyn Fn()| {
            let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_err();
            err.downcast_ref::<String>()
                .cloned()
                .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        };
        for method in [Retrieval::Nn, Retrieval::Csls { k: 1 }] {
            let r = Retriever::new(&src, &tgt, 2, method);
            assert_eq!(r.scores(1..3).len(), 4);
            assert!(r.scores(3..3).is_empty());
            let m = message(&|| drop(r.scores(2..4)));
            assert!(m.starts_with("Retriever::scores: rows 2..4 outside the 3 rows"), "{m}");
            let m = message(&|| drop(r.scores(usize::MAX..usize::MAX)));
            assert!(m.starts_with("Retriever::scores"), "{m}");
            let m = message(&|| drop(r.translate(&[0, 3], 1)));
            assert_eq!(m, "Retriever::translate: source id 3 outside the 3 sources");
            let lex = Lexicon { entries: vec![(7, vec![0])] };
            let m = message(&|| {
                precision(&r, &lex);
            });
            assert!(m.starts_with("Retriever::translate: source id 7"), "{m}");
        }
        let m = message(&|| drop(Retriever::new(&src[..5], &tgt, 2, Retrieval::Nn)));
        assert!(m.starts_with("Retriever::new: src has 5 values"), "{m}");
        let m = message(&|| drop(Retriever::new(&src, &tgt, 0, Retrieval::Nn)));
        assert!(m.starts_with("Retriever::new: the dimension is 0"), "{m}");
        // An empty target side: no scores to rank, and no panic in the CSLS terms.
        let r = Retriever::new(&src, &[], 2, Retrieval::Csls { k: 1 });
        assert_eq!(r.translate(&[0, 2], 3), vec![Vec::<usize>::new(); 2]);
    }

    #[test]
    fn top_values_and_indices() {
        assert_eq!(top_indices(&[0.1, 0.9, 0.5, 0.9], 3), vec![1, 3, 2]);
        assert!((mean_top(&[1.0, 4.0, 2.0, 3.0], 2) - 3.5).abs() < 1e-6);
        assert_eq!(mean_top(&[], 3), 0.0);
    }
}
