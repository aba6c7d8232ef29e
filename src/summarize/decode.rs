//! Greedy decoding and beam search (See et al.'s: beam 4, hypotheses that stop before the
//! minimum length are dropped, results ranked by mean log-probability), with optional
//! no-repeated-trigram (or no-repeated-word) blocking. The device computes p_vocab, the attention and p_gen; the
//! final distribution over the extended vocabulary is assembled here on the host, the same
//! way natively and in the browser; each step reads the device once.

use burn::tensor::Transaction;

use super::batch::Example;
use super::config::DecodeConfig;
use super::model::{DecodeOut, DecoderState, PointerGenerator, select_rows};
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
        let n = self.tokens.len();
        if n < 2 {
            return false;
        }
        let (a, b) = (self.tokens[n - 2], self.tokens[n - 1]);
        self.tokens.windows(3).any(|w| w == [a, b, next])
    }

    fn repeats_word(&self, next: usize) -> bool {
        next != STOP_ID && self.tokens.contains(&next)
    }
}

/// Reads a decoder step's outputs (`P_vocab`, attention, `p_gen`) with one device
/// synchronisation, natively or in the browser: on WebGPU each separate read is a round trip.
async fn read_step(out: DecodeOut) -> Result<[Vec<f32>; 3], StepError> {
    const WHAT: &str = "decoder step's outputs";
    let read = |e| StepError::Read { what: WHAT, detail: format!("{e:?}") };
    let data = Transaction::default()
        .register(out.p_vocab)
        .register(out.attn)
        .register(out.p_gen)
        .execute_async()
        .await
        .map_err(read)?;
    let found = data.len();
    let mut host = data.into_iter().map(|d| {
        d.convert::<f32>()
            .try_into_vec::<f32>()
            .map_err(|e| StepError::Read { what: WHAT, detail: format!("{e:?}") })
    });
    let mut next = || host.next().ok_or(StepError::Count { what: WHAT, found, expected: 3 })?;
    Ok([next()?, next()?, next()?])
}

/// `P(w)` over the extended vocabulary for one row.
fn final_dist(
    p_vocab: &[f32],
    attn: &[f32],
    p_gen: f32,
    enc_ext: &[usize],
    n_oov: usize,
) -> Vec<f32> {
    let mut out: Vec<f32> = p_vocab.iter().map(|p| p * p_gen).collect();
    out.resize(p_vocab.len() + n_oov, 0.0);
    for (a, &id) in attn.iter().zip(enc_ext) {
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
    let enc1 = model.encode_one(&ex.enc);
    let enc = PointerGenerator::repeat(&enc1, k);
    let mut state: DecoderState = model.initial_state(&enc);
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
        let [p_vocab, attn, p_gen] = read_step(out).await?;
        if p_vocab.len() != k * v || attn.len() != k * t || p_gen.len() != k {
            return Err(StepError::Count {
                what: "decoder step's outputs",
                found: p_vocab.len() + attn.len() + p_gen.len(),
                expected: k * (v + t + 1),
            });
        }
        if p_vocab.iter().any(|p| !p.is_finite()) {
            return Err(StepError::NotFinite { what: "decoder step's outputs" });
        }
        let allow_stop = step + 1 >= min_len;
        let stop_factor = cfg.stop_factor(step);
        let mut candidates: Vec<(usize, usize, f64)> = vec![]; // (parent row, token, log prob)
        for (r, hyp) in hyps.iter().enumerate() {
            let mut dist = final_dist(
                &p_vocab[r * v..(r + 1) * v],
                &attn[r * t..(r + 1) * t],
                p_gen[r],
                &ex.enc_ext,
                ex.oovs.len(),
            );
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
        let mut next: Vec<Hyp> = vec![];
        let mut rows = vec![];
        for (r, w, lp) in candidates {
            let parent = &hyps[r];
            let mut h = Hyp {
                tokens: parent.tokens.clone(),
                log_prob: lp,
                p_gen: parent.p_gen.clone(),
                attention: parent.attention.clone(),
            };
            h.tokens.push(w);
            h.p_gen.push(p_gen[r]);
            h.attention.push(attn[r * t..(r + 1) * t].to_vec());
            if w == STOP_ID {
                if allow_stop {
                    results.push(h);
                }
            } else {
                next.push(h);
                rows.push(r);
            }
            if next.len() == k || results.len() == k {
                break;
            }
        }
        if results.len() >= k || next.is_empty() || (cfg.greedy && !results.is_empty()) {
            break;
        }
        while rows.len() < k {
            rows.push(rows[0]);
        }
        state = select_rows(new_state, &rows);
        hyps = next;
    }
    if results.is_empty() {
        results = hyps;
    }
    results.sort_by(|a, b| b.avg().total_cmp(&a.avg()));
    let best =
        results.into_iter().next().ok_or(StepError::Input("decoding produced no summary"))?;
    let score = best.avg();
    let mut tokens = vec![];
    let (mut p_gens, mut attention) = (vec![], vec![]);
    for ((id, pg), at) in best.tokens.iter().zip(best.p_gen).zip(best.attention) {
        if *id == STOP_ID {
            break;
        }
        tokens.push(ex.word(*id, vocab).to_string());
        p_gens.push(pg);
        attention.push(at);
    }
    let source = article[..t].to_vec();
    Ok(Summary { tokens, p_gen: p_gens, attention, source, truncated: ex.truncated, score })
}
