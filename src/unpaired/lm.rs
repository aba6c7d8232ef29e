//! A language model of the human summaries, the prior SEQ³ (Baziotis et al. 2019) puts on its
//! compressor's summaries: a word bigram with interpolated Kneser–Ney smoothing (Chen &
//! Goodman 1998) over the shared vocabulary's ids,
//!
//! `P(w | v) = max(c(v w) − d, 0) / c(v) + d · N₁₊(v •) / c(v) · P_cont(w)`,
//!
//! with `P_cont(w) = (N₁₊(• w) + 1) / (N₁₊(• •) + V)`: how many different words `w` follows,
//! add-one smoothed so that every word has some probability. A context never seen uses
//! `P_cont` alone. Summaries start after `[START]` and end with `[STOP]`.
//!
//! The GAN phase adds its per-word log-probabilities, centred on the mean per-word
//! log-probability of the human summaries, to the generator's per-step rewards
//! ([`SummaryLm::prefix_scores`]): a word the summaries' language makes likelier than usual
//! earns a positive reward, and the centring keeps the sum from favouring short summaries.
//! A bigram rather than SEQ³'s LSTM: it is fitted in one pass over the summaries, costs no
//! device time in training, and is a deterministic function of the corpus, so checkpoints need
//! not carry it and `--resume` stays exact.

use std::collections::BTreeMap;

use crate::summarize::vocab::{START_ID, STOP_ID, UNK_ID, Vocab};

/// Counts of the words that followed one context word, in id order.
#[derive(Clone, Debug, Default)]
struct Followers {
    total: u64,
    counts: BTreeMap<usize, u64>,
}

/// Why the LM prior could not be fitted.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum LmError {
    #[error("the LM prior's discount must be in (0, 1), not {0}")]
    Discount(f64),
    #[error("the LM prior needs the special tokens; the vocabulary has {0}")]
    Vocabulary(usize),
    #[error("the LM prior needs at least one summary")]
    NoSummaries,
}

#[derive(Clone, Debug)]
pub struct SummaryLm {
    discount: f64,
    /// `P_cont(w)` for every id.
    continuation: Vec<f64>,
    /// By context id.
    followers: Vec<Followers>,
    /// Mean `ln P(w | v)` per word (`[STOP]` included) over the summaries it was fitted on.
    mean_log_prob: f64,
}

impl SummaryLm {
    /// Fits the bigram on summaries given as words (out-of-vocabulary words count as
    /// `[UNK]`). `discount` is Kneser–Ney's `d`, in (0, 1).
    pub fn fit(summaries: &[Vec<String>], vocab: &Vocab, discount: f64) -> Result<Self, LmError> {
        let ids: Vec<Vec<usize>> =
            summaries.iter().map(|s| s.iter().map(|w| vocab.id(w)).collect()).collect();
        Self::fit_ids(&ids, vocab.len(), discount)
    }

    /// [`SummaryLm::fit`] on summaries given as ids below `vocab_size` (without `[STOP]`).
    pub fn fit_ids(
        summaries: &[Vec<usize>],
        vocab_size: usize,
        discount: f64,
    ) -> Result<Self, LmError> {
        let all = || summaries.iter().flat_map(|s| bigrams(s, vocab_size));
        let mut lm = Self::from_counts(all().map(|(v, w)| (v, w, 1)), vocab_size, discount)?;
        let sum: f64 = all().map(|(prev, w)| lm.log_prob(prev, w)).sum();
        lm.mean_log_prob = sum / all().count() as f64;
        Ok(lm)
    }

    /// The bigram from its counts `(previous, word, count)`, as [`SummaryLm::counts`] gives
    /// them (a file keeps the model this way); ids at or above `vocab_size` read as `[UNK]`.
    pub fn from_counts(
        counts: impl IntoIterator<Item = (usize, usize, u64)>,
        vocab_size: usize,
        discount: f64,
    ) -> Result<Self, LmError> {
        if !(discount.is_finite() && discount > 0.0 && discount < 1.0) {
            return Err(LmError::Discount(discount));
        }
        let v = vocab_size;
        if v <= STOP_ID.max(START_ID).max(UNK_ID) {
            return Err(LmError::Vocabulary(v));
        }
        let mut followers = vec![Followers::default(); v];
        for (prev, w, c) in counts {
            let f = &mut followers[in_vocab(prev, v)];
            f.total += c;
            *f.counts.entry(in_vocab(w, v)).or_insert(0) += c;
        }
        if followers.iter().all(|f| f.total == 0) {
            return Err(LmError::NoSummaries);
        }
        // N₁₊(• w): the number of distinct contexts each word followed.
        let mut preceded = vec![0u64; v];
        followers.iter().flat_map(|f| f.counts.keys()).for_each(|&w| preceded[w] += 1);
        let types: u64 = preceded.iter().sum();
        let continuation =
            preceded.iter().map(|&n| (n + 1) as f64 / (types as f64 + v as f64)).collect();
        let mut lm = SummaryLm { discount, continuation, followers, mean_log_prob: 0.0 };
        let mut pairs = lm.counts();
        pairs.retain(|&(_, _, c)| c > 0);
        let n: u64 = pairs.iter().map(|p| p.2).sum();
        lm.mean_log_prob =
            pairs.iter().map(|&(v, w, c)| c as f64 * lm.log_prob(v, w)).sum::<f64>() / n as f64;
        Ok(lm)
    }

    /// Every bigram seen, as `(previous, word, count)`, in id order.
    pub fn counts(&self) -> Vec<(usize, usize, u64)> {
        self.followers
            .iter()
            .enumerate()
            .flat_map(|(v, f)| f.counts.iter().map(move |(&w, &c)| (v, w, c)))
            .collect()
    }

    /// The Kneser–Ney discount.
    pub fn discount(&self) -> f64 {
        self.discount
    }

    /// `ln P(w | prev)`; ids outside the vocabulary read as `[UNK]`.
    pub fn log_prob(&self, prev: usize, w: usize) -> f64 {
        let v = self.continuation.len();
        let (prev, w) = (in_vocab(prev, v), in_vocab(w, v));
        let cont = self.continuation[w];
        let f = &self.followers[prev];
        if f.total == 0 {
            return cont.ln();
        }
        let total = f.total as f64;
        let c = f.counts.get(&w).copied().unwrap_or(0) as f64;
        let p = (c - self.discount).max(0.0) / total
            + self.discount * f.counts.len() as f64 / total * cont;
        p.ln()
    }

    /// Mean `ln P` per word over the summaries the model was fitted on.
    pub fn mean_log_prob(&self) -> f64 {
        self.mean_log_prob
    }

    /// Per-word rewards as the prefix scores [`super::train::per_step_advantage`] reads:
    /// `out[t][b]` is the sum over row `b`'s first `t` words (up to and including its `[STOP]`)
    /// of `ln P(w | previous) − mean_log_prob`, for `t = 0..=steps`. Past a row's `[STOP]` the
    /// score stays where it was, so those steps earn nothing. With `unk_neutral` an `[UNK]`
    /// earns 0 (it still conditions the next word): the summaries' bigram rates `[UNK] [UNK]`
    /// highly, since names are out of the vocabulary, and a generator rewarded for it writes
    /// strings of `[UNK]`.
    pub fn prefix_scores(
        &self,
        rows: &[Vec<usize>],
        steps: usize,
        unk_neutral: bool,
    ) -> Vec<Vec<f64>> {
        let mut out = vec![vec![0.0; rows.len()]; steps + 1];
        for (b, row) in rows.iter().enumerate() {
            let (mut acc, mut prev, mut ended) = (0.0, START_ID, false);
            for t in 0..steps {
                if let (false, Some(&w)) = (ended, row.get(t)) {
                    if !(unk_neutral && in_vocab(w, self.continuation.len()) == UNK_ID) {
                        acc += self.log_prob(prev, w) - self.mean_log_prob;
                    }
                    prev = w;
                    ended = w == STOP_ID;
                }
                out[t + 1][b] = acc;
            }
        }
        out
    }

    /// Mean `ln P` per word (`[STOP]` included) of generated rows, over the rows: how
    /// summary-like their language is (the human summaries score [`SummaryLm::mean_log_prob`]).
    pub fn mean_word_log_prob(&self, rows: &[Vec<usize>], steps: usize) -> f64 {
        let p = self.prefix_scores(rows, steps, false);
        let per_row = rows.iter().enumerate().map(|(b, row)| {
            let n = row.iter().take(steps).position(|&w| w == STOP_ID).map_or(steps, |i| i + 1);
            let n = n.min(row.len()).max(1);
            p[steps][b] / n as f64 + self.mean_log_prob
        });
        per_row.sum::<f64>() / rows.len().max(1) as f64
    }
}

fn in_vocab(id: usize, v: usize) -> usize {
    if id < v { id } else { UNK_ID }
}

/// `(previous, word)` pairs of one summary: `[START]` first, `[STOP]` last.
fn bigrams(s: &[usize], v: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
    let words = std::iter::once(START_ID)
        .chain(s.iter().map(move |&w| in_vocab(w, v)))
        .chain(std::iter::once(STOP_ID));
    let next = words.clone().skip(1);
    words.zip(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    const V: usize = 8;

    /// Two summaries over ids 4–6: [4 5] and [4 6]. By hand (d = 0.5, V = 8):
    /// bigram types START→4, 4→5, 4→6, 5→STOP, 6→STOP: N₁₊(•4) = N₁₊(•5) = N₁₊(•6) = 1,
    /// N₁₊(•STOP) = 2, 5 types in all, so P_cont = (1+1)/13 for 4, 5, 6 and 3/13 for STOP.
    /// P(5 | 4) = (1 − 0.5)/2 + 0.5 · 2/2 · 2/13 = 0.25 + 1/13.
    #[test]
    fn kneser_ney_by_hand() {
        let lm = SummaryLm::fit_ids(&[vec![4, 5], vec![4, 6]], V, 0.5).unwrap();
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(close(lm.log_prob(4, 5).exp(), 0.25 + 1.0 / 13.0));
        // An unseen follower of a seen context: only the back-off mass.
        assert!(close(lm.log_prob(4, 7).exp(), 0.5 * 2.0 / 2.0 / 13.0));
        // START → 4 twice: (2 − 0.5)/2 + 0.5 · 1/2 · 2/13.
        assert!(close(lm.log_prob(START_ID, 4).exp(), 0.75 + 0.5 / 13.0));
        // An unseen context falls back on P_cont; an id outside the vocabulary reads as [UNK].
        assert!(close(lm.log_prob(7, STOP_ID).exp(), 3.0 / 13.0));
        assert_eq!(lm.log_prob(99, 5), lm.log_prob(UNK_ID, 5));
    }

    /// Every context's distribution sums to 1 over the vocabulary.
    #[test]
    fn each_context_is_a_distribution() {
        let lm = SummaryLm::fit_ids(&[vec![4, 5, 4, 4], vec![6], vec![]], V, 0.75).unwrap();
        for prev in 0..V {
            let total: f64 = (0..V).map(|w| lm.log_prob(prev, w).exp()).sum();
            assert!((total - 1.0).abs() < 1e-12, "context {prev}: {total}");
        }
    }

    /// Prefix scores add each word's centred log-probability and stop at `[STOP]`.
    #[test]
    fn prefix_scores_stop_at_the_end() {
        let lm = SummaryLm::fit_ids(&[vec![4, 5], vec![4, 6]], V, 0.5).unwrap();
        let m = lm.mean_log_prob();
        let rows = vec![vec![4, STOP_ID], vec![4, 5, 6]];
        let p = lm.prefix_scores(&rows, 3, false);
        let a = lm.log_prob(START_ID, 4) - m;
        let b = a + lm.log_prob(4, STOP_ID) - m;
        assert_eq!([p[0][0], p[1][0], p[2][0], p[3][0]], [0.0, a, b, b]);
        let c = a + lm.log_prob(4, 5) - m;
        assert_eq!(p[2][1], c);
        assert_eq!(p[3][1], c + lm.log_prob(5, 6) - m);
        // The human summaries' mean: their words average to 0 after centring.
        let humans = lm.prefix_scores(&[vec![4, 5, STOP_ID], vec![4, 6, STOP_ID]], 3, false);
        assert!((humans[3][0] + humans[3][1]).abs() < 1e-12);
        // Per word: each row's centred sum over its 3 words, plus the mean.
        let want = (humans[3][0] / 3.0 + humans[3][1] / 3.0) / 2.0 + m;
        let got = lm.mean_word_log_prob(&[vec![4, 5, STOP_ID], vec![4, 6, STOP_ID]], 3);
        assert!((got - want).abs() < 1e-12 && (got - m).abs() < 1e-12);
        // [UNK] neutral: it earns 0 and still conditions the next word.
        let p = lm.prefix_scores(&[vec![UNK_ID, 4]], 2, true);
        assert_eq!([p[1][0], p[2][0]], [0.0, lm.log_prob(UNK_ID, 4) - m]);
        let q = lm.prefix_scores(&[vec![UNK_ID, 4]], 2, false);
        assert_eq!(q[1][0], lm.log_prob(START_ID, UNK_ID) - m);
    }

    #[test]
    fn refuses_a_bad_discount_and_no_data() {
        assert!(
            SummaryLm::fit_ids(&[vec![4]], V, 1.0).unwrap_err().to_string().contains("discount")
        );
        assert!(SummaryLm::fit_ids(&[vec![4]], V, f64::NAN).is_err());
        assert!(SummaryLm::fit_ids(&[], V, 0.5).unwrap_err().to_string().contains("at least one"));
    }
}
