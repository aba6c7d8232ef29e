//! Word translation without a dictionary (Conneau et al. 2018, "MUSE"; seed 002): align a
//! source language's word vectors with a target language's by a linear map W.
//!
//! 1. **Adversarial stage** ([`adversarial`]): W is a generator trained against a critic with
//!    any of the GAN lab's objectives (GAN, WGAN, WGAN-GP, CT-GAN), kept near-orthogonal.
//!    MUSE's unsupervised criterion ([`retrieval::Retriever::criterion`]) picks the best epoch.
//! 2. **Refinement** ([`refine`]): Procrustes on the mutual CSLS nearest neighbours among the
//!    most frequent words, iterated.
//! 3. **Evaluation** ([`retrieval::precision`]): P@1/5/10 with CSLS against a lexicon.
//!
//! The supervised baselines are the same refinement started from a dictionary: part of the
//! lexicon, or the words spelled the same in both languages.

pub mod adversarial;
pub mod bundle;
pub mod embed;
pub mod linalg;
pub mod retrieval;

use embed::{Embeddings, Lexicon, unit_rows};
use linalg::{Square, procrustes};
use retrieval::{Retrieval, Retriever, precision};

/// CSLS with MUSE's k = 10.
pub const CSLS: Retrieval = Retrieval::Csls { k: 10 };

/// Words the refinement dictionary and the criterion look at (MUSE: 15,000 and 10,000; the
/// es-en vocabularies are smaller, so all of them).
pub const MAX_RANK: usize = 15_000;
pub const CRITERION_WORDS: usize = 10_000;

/// Rows of `x` `[n, dim]` mapped by W (`x·Wᵀ`) and scaled to unit length.
pub fn map_rows(x: &[f32], w: &Square) -> Vec<f32> {
    let d = w.n;
    let mut out: Vec<f32> = x
        .chunks_exact(d)
        .flat_map(|r| {
            (0..d).map(move |i| (0..d).map(|j| w.at(i, j) * r[j] as f64).sum::<f64>() as f32)
        })
        .collect();
    unit_rows(&mut out, d);
    out
}

/// P@1, P@5, P@10 (percent) of `lexicon` with W and the given retrieval.
pub fn evaluate(
    src: &Embeddings,
    tgt: &Embeddings,
    w: &Square,
    lexicon: &Lexicon,
    method: Retrieval,
) -> [f64; 3] {
    let mapped = map_rows(&src.vectors, w);
    precision(&Retriever::new(&mapped, &tgt.vectors, src.dim, method), lexicon)
}

/// MUSE's criterion for W: the mean cosine of CSLS translations of the most frequent words.
pub fn criterion(src: &Embeddings, tgt: &Embeddings, w: &Square) -> f64 {
    let mapped = map_rows(&src.vectors, w);
    Retriever::new(&mapped, &tgt.vectors, src.dim, CSLS).criterion(CRITERION_WORDS)
}

/// Procrustes from word pairs (source row, target row).
pub fn procrustes_from(src: &Embeddings, tgt: &Embeddings, pairs: &[(usize, usize)]) -> Square {
    let x: Vec<f32> = pairs.iter().flat_map(|&(s, _)| src.row(s).to_vec()).collect();
    let y: Vec<f32> = pairs.iter().flat_map(|&(_, t)| tgt.row(t).to_vec()).collect();
    procrustes(&x, &y, src.dim)
}

/// One round of refinement, as reported.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Round {
    pub round: usize,
    /// Pairs in the dictionary this round's Procrustes was solved on.
    pub pairs: usize,
    pub criterion: f64,
}

/// MUSE's refinement, one round at a time (the page runs a round per frame): each round
/// builds the dictionary of mutual CSLS neighbours among the `MAX_RANK` most frequent words
/// under the current W and solves Procrustes on it. The W with the best criterion, the start
/// included, is kept.
pub struct Refinement<'a> {
    src: &'a Embeddings,
    tgt: &'a Embeddings,
    w: Square,
    best: (f64, Square),
    rounds: Vec<Round>,
}

impl<'a> Refinement<'a> {
    pub fn new(src: &'a Embeddings, tgt: &'a Embeddings, w0: Square) -> Self {
        let best = (criterion(src, tgt, &w0), w0.clone());
        Refinement { src, tgt, w: w0, best, rounds: vec![] }
    }

    /// One more round, with its W; `None` (and nothing changes) when no word pair is mutual.
    pub fn step(&mut self) -> Option<(&Round, &Square)> {
        let (src, tgt) = (self.src, self.tgt);
        let mapped = map_rows(&src.vectors, &self.w);
        let pairs = Retriever::new(&mapped, &tgt.vectors, src.dim, CSLS).mutual_pairs(MAX_RANK);
        if pairs.is_empty() {
            return None;
        }
        self.w = procrustes_from(src, tgt, &pairs);
        let round = self.rounds.len() + 1;
        let r = Round { round, pairs: pairs.len(), criterion: criterion(src, tgt, &self.w) };
        if r.criterion > self.best.0 {
            self.best = (r.criterion, self.w.clone());
        }
        self.rounds.push(r);
        self.rounds.last().map(|r| (r, &self.w))
    }

    /// The best W and every round.
    pub fn finish(self) -> (Square, Vec<Round>) {
        (self.best.1, self.rounds)
    }
}

/// MUSE's refinement: up to `iterations` rounds of [`Refinement`]; `on_round` sees each.
pub fn refine(
    src: &Embeddings,
    tgt: &Embeddings,
    w0: Square,
    iterations: usize,
    mut on_round: impl FnMut(&Round, &Square),
) -> (Square, Vec<Round>) {
    let mut r = Refinement::new(src, tgt, w0);
    for _ in 0..iterations {
        let Some((round, w)) = r.step() else { break };
        on_round(round, w);
    }
    r.finish()
}

/// A synthetic target space with a known answer: the source rows rotated by a random
/// rotation (determinant +1: a reflection is out of reach of a map started at the identity),
/// plus Gaussian noise of σ `noise` per coordinate, re-normalised. Words keep their names (with a `~` so no string is shared), and the lexicon is the identity.
pub fn synthetic(src: &Embeddings, noise: f64, seed: u64) -> (Embeddings, Square, Lexicon) {
    let mut rng = crate::rng::Rng::new(seed);
    let q = Square::random_rotation(src.dim, &mut rng);
    let mut v = map_rows(&src.vectors, &q);
    v.iter_mut().for_each(|x| *x += (noise * rng.normal()) as f32);
    unit_rows(&mut v, src.dim);
    let words = src.words.iter().map(|w| format!("{w}~")).collect();
    let tgt = Embeddings::new(words, src.dim, v).expect("same shape as the source");
    let lexicon = Lexicon { entries: (0..src.len()).map(|i| (i, vec![i])).collect() };
    (tgt, q, lexicon)
}

/// Points of the 2-D toy, and the σ of its target's noise: none, so that the exact map
/// translates every point to itself (on a circle, float32 cosines cannot tell apart points
/// closer than about 3·10⁻⁴ rad, and any noise would mix up the closest pairs).
pub const TOY_POINTS: usize = 120;
pub const TOY_NOISE: f64 = 0.0;

/// The 2-D toy: `n` points on the unit circle whose angle density is three bumps of unequal
/// weight and width, so that only one rotation maps the cloud onto a rotated copy of itself.
/// The angles are the density's quantiles with a random jitter inside each slot, so no two
/// points crowd each other (the closest pair is a quarter slot apart). Words are `p0`, `p1`, ….
pub fn toy_space(n: usize, seed: u64) -> Embeddings {
    use std::f64::consts::TAU;
    // (centre, width, weight), in radians.
    const BUMPS: [(f64, f64, f64); 3] = [(0.0, 0.35, 0.55), (2.3, 0.2, 0.3), (4.2, 0.5, 0.15)];
    const GRID: usize = 4096;
    let density = |a: f64| -> f64 {
        BUMPS
            .iter()
            .map(|&(c, w, p)| {
                let d = (a - c + TAU / 2.0).rem_euclid(TAU) - TAU / 2.0;
                p * (-0.5 * (d / w).powi(2)).exp() / w
            })
            .sum()
    };
    let mut cdf = vec![0.0f64; GRID + 1];
    for k in 0..GRID {
        cdf[k + 1] = cdf[k] + density((k as f64 + 0.5) * TAU / GRID as f64);
    }
    let total = cdf[GRID];
    let mut rng = crate::rng::Rng::stream(seed, 21, 0);
    let vectors = (0..n)
        .flat_map(|i| {
            let q = total * (i as f64 + 0.25 + 0.5 * rng.uniform()) / n as f64;
            let k = cdf.partition_point(|&c| c <= q).clamp(1, GRID) - 1;
            let frac = (q - cdf[k]) / (cdf[k + 1] - cdf[k]).max(1e-300);
            let a = (k as f64 + frac) * TAU / GRID as f64;
            [a.cos() as f32, a.sin() as f32]
        })
        .collect();
    let words = (0..n).map(|i| format!("p{i}")).collect();
    Embeddings::new(words, 2, vectors).expect("n words of 2 numbers")
}

/// An alignment problem: the two normalised spaces, the lexicon split into the part a
/// supervised baseline may use and the held-out part every P@1 is measured on, and the true
/// map when the problem is synthetic. The CLI and the page build it the same way.
#[derive(Clone, Debug)]
pub struct Problem {
    pub src: Embeddings,
    pub tgt: Embeddings,
    pub train: Lexicon,
    pub test: Lexicon,
    pub truth: Option<Square>,
}

impl Problem {
    /// Two real spaces and a lexicon; `test` source words (chosen by `split_seed`) are held out.
    pub fn real(
        src: &Embeddings,
        tgt: &Embeddings,
        lexicon: &Lexicon,
        center: bool,
        test: usize,
        split_seed: u64,
    ) -> Self {
        let (train, test) = lexicon.split(test, split_seed);
        let (src, tgt) = (src.normalized(center), tgt.normalized(center));
        Problem { src, tgt, train, test, truth: None }
    }

    /// `src` against a random rotation of itself plus noise ([`synthetic`]).
    pub fn synthetic(src: &Embeddings, noise: f64, center: bool, test: usize, seed: u64) -> Self {
        let src = src.normalized(center);
        let (tgt, q, lexicon) = synthetic(&src, noise, seed);
        let (train, test) = lexicon.split(test, seed);
        Problem { src, tgt, train, test, truth: Some(q) }
    }

    /// The page's 2-D toy: [`toy_space`] against a rotation of itself, every point held out.
    pub fn toy(seed: u64) -> Self {
        Problem::synthetic(&toy_space(TOY_POINTS, seed), TOY_NOISE, false, TOY_POINTS, seed)
    }
}

/// The top two principal axes of `e`'s rows (unit vectors of length `dim`): the plane the page
/// draws a space in.
pub fn principal_plane(e: &Embeddings) -> [Vec<f64>; 2] {
    let d = e.dim;
    let n = e.len().max(1) as f64;
    let mut mean = vec![0.0f64; d];
    e.vectors.iter().enumerate().for_each(|(k, x)| mean[k % d] += *x as f64 / n);
    let mut cov = Square { n: d, data: vec![0.0; d * d] };
    for r in e.vectors.chunks_exact(d) {
        let c: Vec<f64> = r.iter().zip(&mean).map(|(x, m)| *x as f64 - m).collect();
        cov.data.iter_mut().enumerate().for_each(|(k, v)| *v += c[k / d] * c[k % d] / n);
    }
    let (u, s, _) = linalg::svd(&cov);
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &b| s[b].total_cmp(&s[a]));
    let axis = |k: usize| (0..d).map(|i| u.at(i, order[k.min(d - 1)])).collect();
    [axis(0), axis(1)]
}
