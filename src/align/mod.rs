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
    let wf: Vec<f64> = w.data.clone();
    let mut out: Vec<f32> = x
        .chunks_exact(d)
        .flat_map(|r| {
            (0..d)
                .map(|i| (0..d).map(|j| wf[i * d + j] * r[j] as f64).sum::<f64>() as f32)
                .collect::<Vec<_>>()
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

/// MUSE's refinement: `iterations` times, build the dictionary of mutual CSLS neighbours
/// among the `MAX_RANK` most frequent words under the current W, and solve Procrustes on it.
/// Keeps the W with the best criterion (the start included). `on_round` sees each round.
pub fn refine(
    src: &Embeddings,
    tgt: &Embeddings,
    w0: Square,
    iterations: usize,
    mut on_round: impl FnMut(&Round, &Square),
) -> (Square, Vec<Round>) {
    let mut w = w0;
    let mut best = (criterion(src, tgt, &w), w.clone());
    let mut rounds = vec![];
    for round in 1..=iterations {
        let mapped = map_rows(&src.vectors, &w);
        let pairs = Retriever::new(&mapped, &tgt.vectors, src.dim, CSLS).mutual_pairs(MAX_RANK);
        if pairs.is_empty() {
            break;
        }
        w = procrustes_from(src, tgt, &pairs);
        let r = Round { round, pairs: pairs.len(), criterion: criterion(src, tgt, &w) };
        on_round(&r, &w);
        if r.criterion > best.0 {
            best = (r.criterion, w.clone());
        }
        rounds.push(r);
    }
    (best.1, rounds)
}

/// A synthetic target space with a known answer: the source rows rotated by a random
/// orthogonal matrix, plus Gaussian noise of σ `noise` per coordinate, re-normalised. Words
/// keep their names (with a `~` so no string is shared), and the lexicon is the identity.
pub fn synthetic(src: &Embeddings, noise: f64, seed: u64) -> (Embeddings, Square, Lexicon) {
    let mut rng = crate::rng::Rng::new(seed);
    let q = Square::random_orthogonal(src.dim, &mut rng);
    let mut v = map_rows(&src.vectors, &q);
    v.iter_mut().for_each(|x| *x += (noise * rng.normal()) as f32);
    unit_rows(&mut v, src.dim);
    let words = src.words.iter().map(|w| format!("{w}~")).collect();
    let tgt = Embeddings::new(words, src.dim, v).expect("same shape as the source");
    let lexicon = Lexicon { entries: (0..src.len()).map(|i| (i, vec![i])).collect() };
    (tgt, q, lexicon)
}
