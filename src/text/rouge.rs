//! ROUGE-1, ROUGE-2 and ROUGE-L, computed exactly as Google's
//! `rouge-score` package (v0.1.2, `rouge_scorer.RougeScorer`) does with its
//! default tokenizer.
//!
//! What is reproduced, and why it matters for matching numbers:
//!
//! * **Tokenizer** (`rouge_score/tokenize.py`): lower-case the whole text,
//!   replace every run of characters outside `[a-z0-9]` by a space, split on
//!   whitespace. Accented letters, apostrophes, hyphens and the ` <q> `
//!   separator therefore all vanish (`don't` → `don t`, `<q>` → `q`!).
//! * **Stemming**: when enabled, only tokens *longer than 3 characters* are
//!   passed through NLTK's default Porter stemmer ([`super::porter`]).
//! * **ROUGE-N**: clipped n-gram counts; precision = overlap / max(#cand, 1),
//!   recall = overlap / max(#ref, 1).
//! * **ROUGE-L**: the sentence-level LCS variant (`rougeL`, not `rougeLsum`),
//!   over the whole token sequence; newlines are ordinary whitespace. If
//!   either side has no tokens all three values are 0.
//! * **F1** = 2·P·R / (P + R), or 0 when P + R = 0, evaluated in the same
//!   order as Python so results agree bit-for-bit in practice.
//!
//! Note that `rouge-score` feeds ` <q> ` straight into the tokenizer, where it
//! becomes the token `q`; callers should replace ` <q> ` by a newline or a
//! space first (see [`super::tokenize::split_summary_sentences`]).

use std::collections::HashMap;

use super::porter;
use super::tokenize;

/// Precision, recall and F1 for one ROUGE variant, each in `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Score {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

impl Score {
    fn new(precision: f64, recall: f64) -> Self {
        Score { precision, recall, f1: fmeasure(precision, recall) }
    }
}

/// The three variants for one candidate/reference pair.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Scores {
    pub rouge1: Score,
    pub rouge2: Score,
    pub rouge_l: Score,
}

/// Corpus-level F1 scores, as percentages (mean of per-pair F1 × 100).
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct RougeScores {
    pub rouge1: f64,
    pub rouge2: f64,
    pub rouge_l: f64,
}

/// `rouge_score.scoring.fmeasure`: harmonic mean, 0 when both are 0.
fn fmeasure(precision: f64, recall: f64) -> f64 {
    if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 }
}

/// The `rouge-score` default tokenizer: lower-case, map every character
/// outside `[a-z0-9]` to a separator, split, and stem tokens longer than 3
/// characters when `stem` is set.
pub fn rouge_tokens(text: &str, stem: bool) -> Vec<String> {
    let lower = text.to_lowercase();
    lower
        .split(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit()))
        .filter(|t| !t.is_empty())
        .map(|t| if stem && t.len() > 3 { porter::stem(t) } else { t.to_string() })
        .collect()
}

/// Scores one candidate against one reference (`RougeScorer.score(target=
/// reference, prediction=candidate)`).
pub fn score(candidate: &str, reference: &str, stem: bool) -> Scores {
    let (cand, refr) = to_ids(&rouge_tokens(candidate, stem), &rouge_tokens(reference, stem));
    Scores {
        rouge1: rouge_n(&cand, &refr, 1),
        rouge2: rouge_n(&cand, &refr, 2),
        rouge_l: rouge_lcs(&cand, &refr),
    }
}

/// Mean per-pair F1 × 100 over aligned lists; pairs beyond the shorter list
/// are ignored. An empty corpus gives all zeros.
pub fn corpus(cands: &[String], refs: &[String], stem: bool) -> RougeScores {
    let scores: Vec<Scores> = cands.iter().zip(refs).map(|(c, r)| score(c, r, stem)).collect();
    if scores.is_empty() {
        return RougeScores::default();
    }
    let scale = 100.0 / scores.len() as f64;
    // One variant's mean F1 × 100.
    let f1 =
        |variant: fn(&Scores) -> Score| scores.iter().map(|s| variant(s).f1).sum::<f64>() * scale;
    RougeScores { rouge1: f1(|s| s.rouge1), rouge2: f1(|s| s.rouge2), rouge_l: f1(|s| s.rouge_l) }
}

/// Interns both token lists into small integer ids (cheaper n-gram keys and
/// LCS comparisons).
fn to_ids<'a>(cand: &'a [String], refr: &'a [String]) -> (Vec<u32>, Vec<u32>) {
    let mut vocab: HashMap<&str, u32> = HashMap::new();
    let mut id = |token: &'a String| {
        let next = vocab.len() as u32;
        *vocab.entry(token.as_str()).or_insert(next)
    };
    (cand.iter().map(&mut id).collect(), refr.iter().map(id).collect())
}

/// Counts of each n-gram (`n` ≥ 1).
fn ngram_counts(tokens: &[u32], n: usize) -> HashMap<&[u32], usize> {
    let mut counts = HashMap::new();
    for g in tokens.windows(n) {
        *counts.entry(g).or_insert(0) += 1;
    }
    counts
}

/// ROUGE-N with clipped counts (`_score_ngrams`).
fn rouge_n(cand: &[u32], refr: &[u32], n: usize) -> Score {
    let c = ngram_counts(cand, n);
    let r = ngram_counts(refr, n);
    let overlap: usize = r.iter().map(|(g, &rc)| rc.min(c.get(g).copied().unwrap_or(0))).sum();
    let c_total: usize = c.values().sum();
    let r_total: usize = r.values().sum();
    Score::new(overlap as f64 / c_total.max(1) as f64, overlap as f64 / r_total.max(1) as f64)
}

/// ROUGE-L from the LCS length (`_score_lcs`).
fn rouge_lcs(cand: &[u32], refr: &[u32]) -> Score {
    if cand.is_empty() || refr.is_empty() {
        return Score::default();
    }
    let l = lcs_len(cand, refr) as f64;
    Score::new(l / cand.len() as f64, l / refr.len() as f64)
}

/// Length of the longest common subsequence, O(n·m) time, two rows of memory.
pub fn lcs_len<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let mut prev = vec![0usize; b.len() + 1];
    let mut cur = vec![0usize; b.len() + 1];
    for x in a {
        for (j, y) in b.iter().enumerate() {
            cur[j + 1] = if x == y { prev[j] + 1 } else { prev[j + 1].max(cur[j]) };
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Lead-N baseline: the first `n` sentences of an already tokenized article
/// (sentences split by [`tokenize::split_sentences`]), joined with a single
/// space. The space (rather than ` <q> ` or a newline) is deliberate: it is
/// what ROUGE-1/2/L see anyway, since `rouge-score`'s tokenizer treats
/// newlines as whitespace, and ` <q> ` would add a spurious token `q`.
pub fn lead(article_tokens: &str, n: usize) -> String {
    tokenize::split_sentences(article_tokens).into_iter().take(n).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn docstring_example() {
        // rouge-score's own example: target "The quick brown fox jumps over
        // the lazy dog", prediction "The quick brown dog jumps on the log."
        let s = score(
            "The quick brown dog jumps on the log.",
            "The quick brown fox jumps over the lazy dog",
            false,
        );
        assert!(close(s.rouge1.precision, 6.0 / 8.0));
        assert!(close(s.rouge1.recall, 6.0 / 9.0));
        assert!(close(s.rouge_l.f1, fmeasure(5.0 / 8.0, 5.0 / 9.0)));
    }

    #[test]
    fn empty_sides_are_zero_not_nan() {
        for (c, r) in [("", ""), ("a b", ""), ("", "a b"), ("!!!", "a"), ("a", "a")] {
            let s = score(c, r, true);
            for v in [s.rouge1.f1, s.rouge2.f1, s.rouge_l.f1] {
                assert!(v.is_finite());
            }
        }
        assert_eq!(score("", "x", false).rouge1.f1, 0.0);
        assert_eq!(score("a", "a", false).rouge2.f1, 0.0);
        assert_eq!(corpus(&[], &[], false), RougeScores::default());
    }

    #[test]
    fn tokenizer_matches_rouge_score() {
        assert_eq!(
            rouge_tokens("Don't <q> Café-2 naïve", false),
            ["don", "t", "q", "caf", "2", "na", "ve"]
        );
        assert_eq!(rouge_tokens("running dogs are", true), ["run", "dog", "are"]);
    }

    #[test]
    fn lcs_basic() {
        assert_eq!(lcs_len(&[1, 2, 3, 4], &[2, 4, 3]), 2);
        assert_eq!(lcs_len::<u8>(&[], &[1]), 0);
    }

    #[test]
    fn lead_takes_first_sentences() {
        let art = "a b . c d ? \" e ! '' f . g";
        assert_eq!(lead(art, 2), "a b . c d ?");
        assert_eq!(lead(art, 3), "a b . c d ? \" e ! ''");
        assert_eq!(lead("", 3), "");
    }
}
