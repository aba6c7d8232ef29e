//! Greedy decoding and beam search (See et al.'s: beam 4, hypotheses that stop before the
//! minimum length are dropped, results ranked by mean log-probability), with optional
//! no-repeated-trigram (or no-repeated-word) blocking. The device computes p_vocab, the
//! attention and p_gen; the final distribution over the extended vocabulary is assembled here
//! on the host, the same way natively and in the browser; each step reads the device once.

use burn::tensor::Transaction;

use super::batch::Example;
use super::config::DecodeConfig;
use super::model::{DecodeOut, PointerGenerator, select_rows};
use super::vocab::{START_ID, STOP_ID, UNK_ID, Vocab};
use crate::nn::StepError;

/// A decoded summary with what the page and `--explain` show.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Summary {
    /// Output tokens (in-article OOV words resolved to the article's words).
    pub tokens: Vec<String>,
    /// p_gen for each output token: 1 generated from the vocabulary, 0 copied.
    pub p_gen: Vec<f32>,
    /// The attention over the (truncated) article for each output token.
    pub attention: Vec<Vec<f32>>,
    /// The article tokens the model read.
    pub source: Vec<String>,
    /// Whether the article was cut to the encoder length.
    pub truncated: bool,
    /// Mean log-probability of the chosen summary.
    pub score: f64,
}

#[derive(Clone, Debug)]
struct Hyp {
    tokens: Vec<usize>,
    log_prob: f64,
    p_gen: Vec<f32>,
    attention: Vec<Vec<f32>>,
}

impl Hyp {
    fn avg(&self) -> f64 {
        self.log_prob / self.tokens.len().max(1) as f64
    }

    fn repeats_trigram(&self, next: usize) -> bool {
        let [.., a, b] = self.tokens[..] else { return false };
        self.tokens.windows(3).any(|w| w == [a, b, next])
    }

    fn repeats_word(&self, next: usize) -> bool {
        next != STOP_ID && self.tokens.contains(&next)
    }
}

/// What the decoding errors call a step's outputs.
const WHAT: &str = "decoder step's outputs";

/// Reads a decoder step's outputs (`P_vocab`, attention, `p_gen`) with one device
/// synchronisation, natively or in the browser: on WebGPU each separate read is a round trip.
/// Checks their lengths against `lens` and that `P_vocab` is finite.
async fn read_step(out: DecodeOut, lens: [usize; 3]) -> Result<[Vec<f32>; 3], StepError> {
    fn read(e: impl std::fmt::Debug) -> StepError {
        StepError::Read { what: WHAT, detail: format!("{e:?}") }
    }
    let data = Transaction::default()
        .register(out.p_vocab)
        .register(out.attn)
        .register(out.p_gen)
        .execute_async()
        .await
        .map_err(read)?;
    let found = data.len();
    let mut host = data.into_iter().map(|d| d.convert::<f32>().try_into_vec::<f32>().map_err(read));
    let mut next = || host.next().ok_or(StepError::Count { what: WHAT, found, expected: 3 })?;
    let out = [next()?, next()?, next()?];
    if out.iter().map(Vec::len).ne(lens) {
        let found = out.iter().map(Vec::len).sum();
        return Err(StepError::Count { what: WHAT, found, expected: lens.iter().sum() });
    }
    if out[0].iter().any(|p| !p.is_finite()) {
        return Err(StepError::NotFinite { what: WHAT });
    }
    Ok(out)
}

/// Row `r` of a flat `[rows, n]` buffer.
fn row(x: &[f32], n: usize, r: usize) -> &[f32] {
    &x[r * n..(r + 1) * n]
}

/// `P(w)` over `ex`'s extended vocabulary for one row.
fn final_dist(p_vocab: &[f32], attn: &[f32], p_gen: f32, ex: &Example) -> Vec<f32> {
    let mut out: Vec<f32> = p_vocab.iter().map(|p| p * p_gen).collect();
    out.resize(p_vocab.len() + ex.oovs.len(), 0.0);
    for (a, &id) in attn.iter().zip(&ex.enc_ext) {
        if let Some(slot) = out.get_mut(id) {
            *slot += (1.0 - p_gen) * a;
        }
    }
    out
}

/// The `n` most probable tokens that `allowed` accepts, best first. Looks at the top
/// `n + 32` first and sorts everything only when blocking rejected too many of those.
fn best_tokens(dist: &[f32], n: usize, allowed: impl Fn(usize) -> bool) -> Vec<usize> {
    let by_prob = |a: &usize, b: &usize| dist[*b].total_cmp(&dist[*a]);
    let mut order: Vec<usize> = (0..dist.len()).collect();
    let m = (n + 32).min(order.len());
    if m < order.len() {
        order.select_nth_unstable_by(m - 1, by_prob);
    }
    let mut head: Vec<usize> = order[..m].to_vec();
    head.sort_by(by_prob);
    let picked: Vec<usize> = head.into_iter().filter(|&w| allowed(w)).take(n).collect();
    if picked.len() == n || m == order.len() {
        return picked;
    }
    order.sort_by(by_prob);
    order.into_iter().filter(|&w| allowed(w)).take(n).collect()
}

/// Summarises one article given as tokens (already lower-cased and tokenized).
pub async fn summarize(
    model: &PointerGenerator,
    vocab: &Vocab,
    article: &[String],
    max_enc: usize,
    cfg: &DecodeConfig,
) -> Result<Summary, StepError> {
    summarize_with(model, vocab, article, max_enc, cfg, async |_| {}).await
}

/// [`summarize`], awaiting `pause(step)` before every decoder step: the page uses it to let
/// the browser paint and to show progress.
pub async fn summarize_with(
    model: &PointerGenerator,
    vocab: &Vocab,
    article: &[String],
    max_enc: usize,
    cfg: &DecodeConfig,
    mut pause: impl AsyncFnMut(usize),
) -> Result<Summary, StepError> {
    let words: Vec<&str> = article.iter().map(String::as_str).collect();
    let ex = Example::new(&words, &[], vocab, max_enc, 2);
    if ex.enc.is_empty() {
        return Err(StepError::Input("the article has no words"));
    }
    let v = vocab.len();
    let k = if cfg.greedy { 1 } else { cfg.beam.max(1) };
    let enc = PointerGenerator::repeat(&model.encode_one(&ex.enc), k);
    let mut state = model.initial_state(&enc);
    let mut hyps = vec![Hyp { tokens: vec![], log_prob: 0.0, p_gen: vec![], attention: vec![] }];
    let mut results: Vec<Hyp> = vec![];
    let t = ex.enc.len();
    let (min_len, max_len) = cfg.length_bounds();
    for step in 0..max_len {
        pause(step).await;
        // Rows beyond the live hypotheses repeat the first; their outputs are ignored.
        let prev: Vec<usize> = (0..k)
            .map(|r| hyps.get(r).unwrap_or(&hyps[0]).tokens.last().copied().unwrap_or(START_ID))
            .map(|id| if id >= v { UNK_ID } else { id })
            .collect();
        let (new_state, out) = model.decode_step(&enc, state, &prev);
        let [p_vocab, attn, p_gen] = read_step(out, [k * v, k * t, k]).await?;
        let allow_stop = step + 1 >= min_len;
        let stop_factor = cfg.stop_factor(step);
        let mut candidates: Vec<(usize, usize, f64)> = vec![]; // (parent row, token, log prob)
        for (r, hyp) in hyps.iter().enumerate() {
            let mut dist = final_dist(row(&p_vocab, v, r), row(&attn, t, r), p_gen[r], &ex);
            dist[STOP_ID] *= stop_factor;
            let top = best_tokens(&dist, 2 * k, |w| {
                w != UNK_ID
                    && !(cfg.no_repeat_trigram && hyp.repeats_trigram(w))
                    && !(cfg.no_repeat_word && hyp.repeats_word(w))
                    && !(w == STOP_ID && !allow_stop && cfg.greedy)
            });
            for w in top {
                candidates.push((r, w, hyp.log_prob + (dist[w].max(1e-20) as f64).ln()));
            }
        }
        let avg = |c: &(usize, usize, f64)| c.2 / (hyps[c.0].tokens.len() + 1) as f64;
        candidates.sort_by(|a, b| avg(b).total_cmp(&avg(a)));
        let (mut next, mut rows): (Vec<Hyp>, Vec<usize>) = (vec![], vec![]);
        for (r, w, lp) in candidates {
            let mut h = Hyp { log_prob: lp, ..hyps[r].clone() };
            h.tokens.push(w);
            h.p_gen.push(p_gen[r]);
            h.attention.push(row(&attn, t, r).to_vec());
            if w != STOP_ID {
                next.push(h);
                rows.push(r);
            } else if allow_stop {
                results.push(h);
            }
            if next.len() == k || results.len() == k {
                break;
            }
        }
        if results.len() >= k || next.is_empty() || (cfg.greedy && !results.is_empty()) {
            break;
        }
        rows.resize(k, rows[0]);
        state = select_rows(new_state, &rows);
        hyps = next;
    }
    if results.is_empty() {
        results = hyps;
    }
    results.sort_by(|a, b| b.avg().total_cmp(&a.avg()));
    let mut best =
        results.into_iter().next().ok_or(StepError::Input("decoding produced no summary"))?;
    let score = best.avg();
    let n = best.tokens.iter().position(|&id| id == STOP_ID).unwrap_or(best.tokens.len());
    let tokens = best.tokens[..n].iter().map(|&id| ex.word(id, vocab).to_string()).collect();
    best.p_gen.truncate(n);
    best.attention.truncate(n);
    let (p_gen, attention, source) = (best.p_gen, best.attention, article[..t].to_vec());
    Ok(Summary { tokens, p_gen, attention, source, truncated: ex.truncated, score })
}
