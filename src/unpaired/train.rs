//! Unpaired summarization's training, as pure functions the CLI calls in a loop.
//!
//! **Pretraining** (Wang & Lee §4): with no pairs, the generator learns to write a few words
//! of the document in their order (a random subsequence, at most a summary's length), and the
//! reconstructor learns to rebuild the document from such a subsequence. Both are ordinary
//! teacher-forced steps of the pointer-generator ([`crate::summarize::train::train_step`]).
//!
//! **The GAN phase**, one [`train_step`]:
//! 1. `n_critic` critic updates ([`crate::gan::train::update_critic`], the GAN lab's): real
//!    = one-hot human summaries (from the summary half), fake = the generator's per-step
//!    distributions on documents, sampled free-running.
//! 2. One generator update on `adversarial_weight · L_adv + w_rec(step) · L_rec`:
//!    `L_adv` is the objective's generator loss on the distributions
//!    ([`crate::gan::objective::generator_loss`]); `L_rec` is self-critical REINFORCE,
//!    `mean_b (R(sampled) − R(greedy)) · Σⱼ log P(wⱼ)`, with `R` the reconstructor's
//!    per-token NLL of the document given the summary, so a summary the reconstructor reads
//!    better than the greedy one is made more likely.
//! 3. One reconstructor update: teacher-forced NLL of the document given the sampled summary.
//!
//! Method 2 (adversarial REINFORCE) replaces `L_adv` by per-step rewards: the critic reads
//! sampled one-hot words, scores every prefix of the summary, and each word is credited with the
//! score the summary gained from it on, self-critically ([`per_step_advantage`]).
//!
//! Every random draw comes from a stream keyed by the seed and step counters.

use burn::tensor::{Device, IndexingUpdateOp, Int, Tensor, TensorData};

use super::config::{Method, PretrainTarget, UnpairedConfig};
use super::critic::SeqCritic;
use super::lm::SummaryLm;
use crate::gan::critic::Critic;
use crate::gan::objective;
use crate::gan::train::update_critic;
use crate::nn::{ReadError, StepError, read_floats};
use crate::optim::{Optimizer, clip_global_norm, gradients};
use crate::rng::Rng;
use crate::summarize;
use crate::summarize::batch::{Batch, Example};
use crate::summarize::model::{FreeRun, Pick, PointerGenerator};
use crate::summarize::train::{TrainState, frozen, trainable};
use crate::summarize::vocab::{PAD_ID, STOP_ID, UNK, Vocab};

const STREAM_PRETRAIN: u64 = 31;
const STREAM_CRITIC: u64 = 32;
const STREAM_GENERATOR: u64 = 33;
const STREAM_INIT: u64 = 34;

/// Documents and human summaries as words, with the vocabulary both sides share, and the
/// summaries' language model when the config's LM prior is on.
pub struct Corpus<'a> {
    pub documents: &'a [Vec<String>],
    pub summaries: &'a [Vec<String>],
    pub vocab: &'a Vocab,
    pub lm: Option<&'a SummaryLm>,
}

impl<'a> Corpus<'a> {
    /// A corpus without a language model (the LM prior off).
    pub fn new(
        documents: &'a [Vec<String>],
        summaries: &'a [Vec<String>],
        vocab: &'a Vocab,
    ) -> Self {
        Corpus { documents, summaries, vocab, lm: None }
    }

    /// With the summaries' language model, fitted by the caller ([`SummaryLm::fit`]).
    pub fn with_lm(self, lm: &'a SummaryLm) -> Self {
        Corpus { lm: Some(lm), ..self }
    }

    fn document<'b>(&'b self, rng: &mut Rng) -> Vec<&'b str> {
        let d = &self.documents[rng.below(self.documents.len())];
        d.iter().map(String::as_str).collect()
    }
}

/// A random subsequence of `doc` in its order: `1..=max` words (fewer for a short document),
/// the pretraining target.
pub fn subsequence<'a>(doc: &[&'a str], max: usize, rng: &mut Rng) -> Vec<&'a str> {
    if doc.is_empty() || max == 0 {
        return vec![];
    }
    let k = 1 + rng.below(max.min(doc.len()));
    // Reservoir-free selection: each position is kept with the probability that leaves
    // exactly k of them (Knuth's algorithm S).
    let (mut need, mut left) = (k, doc.len());
    let mut out = Vec::with_capacity(k);
    for w in doc {
        if (rng.uniform() * left as f64) < need as f64 {
            out.push(*w);
            need -= 1;
        }
        left -= 1;
    }
    out
}

/// `min..=max` consecutive words of `doc` starting `0..=max_start` words in (both drawn
/// uniformly, then cut to the document): Wang & Lee's lead-like pretraining target. A
/// document shorter than the start gets its last `min` words (or all of it).
pub fn span<'a>(
    doc: &[&'a str],
    (min, max, max_start): (usize, usize, usize),
    rng: &mut Rng,
) -> Vec<&'a str> {
    let len = min + rng.below(max.saturating_sub(min) + 1);
    let start = rng.below(max_start + 1).min(doc.len().saturating_sub(min));
    doc[start..(start + len).min(doc.len())].to_vec()
}

/// `doc` without each word kept with probability `1 − p` dropped (never all of it).
pub fn drop_words<'a>(doc: &[&'a str], p: f64, rng: &mut Rng) -> Vec<&'a str> {
    if p <= 0.0 {
        return doc.to_vec();
    }
    let kept: Vec<&str> = doc.iter().copied().filter(|_| rng.uniform() >= p).collect();
    if kept.is_empty() { doc.to_vec() } else { kept }
}

/// Pretraining pairs: (document → target) for the generator, (target → document) for the
/// reconstructor, where the target is the config's subsequence or span of the document and
/// the generator reads the document with source dropout. Both batches share the draws.
pub fn pretrain_batches(config: &UnpairedConfig, corpus: &Corpus, step: u64) -> (Batch, Batch) {
    let mut rng = Rng::stream(config.seed, STREAM_PRETRAIN, step);
    let (g, r) = (&config.generator.train, &config.reconstructor.train);
    let v = corpus.vocab;
    let (mut for_gen, mut rec) = (vec![], vec![]);
    for _ in 0..config.batch_size {
        let doc = corpus.document(&mut rng);
        let target = match config.pretrain.target {
            PretrainTarget::Subsequence => subsequence(&doc, config.summary_len() - 1, &mut rng),
            PretrainTarget::Span { min, max, max_start } => {
                span(&doc, (min, max, max_start), &mut rng)
            }
        };
        let read = drop_words(&doc, config.pretrain.source_dropout, &mut rng);
        for_gen.push(Example::new(&read, &target, v, g.max_enc, g.max_dec));
        rec.push(Example::new(&target, &doc, v, r.max_enc, r.max_dec));
    }
    (Batch::new(&for_gen, v.len()), Batch::new(&rec, v.len()))
}

/// Everything a GAN-phase checkpoint holds.
#[derive(Clone, Debug)]
pub struct UnpairedState {
    pub generator: PointerGenerator,
    pub reconstructor: PointerGenerator,
    pub critic: SeqCritic,
    pub generator_opt: Optimizer,
    pub reconstructor_opt: Optimizer,
    pub critic_opt: Optimizer,
    /// Generator updates done.
    pub step: u64,
    /// Critic updates done.
    pub critic_steps: u64,
}

impl UnpairedState {
    /// The GAN phase from pretrained generator and reconstructor, with a fresh critic.
    pub fn new(
        generator: PointerGenerator,
        reconstructor: PointerGenerator,
        config: &UnpairedConfig,
        device: &Device,
    ) -> Self {
        let mut rng = Rng::stream(config.seed, STREAM_INIT, 0);
        UnpairedState {
            generator: trainable(generator),
            reconstructor: trainable(reconstructor),
            critic: config.critic.init(&mut rng, device).trainable(),
            generator_opt: config.generator_optimizer.init(),
            reconstructor_opt: config.reconstructor_optimizer.init(),
            critic_opt: config.critic_optimizer.init(),
            step: 0,
            critic_steps: 0,
        }
    }
}

/// Lazy scalars of one GAN-phase step.
#[derive(Clone, Debug)]
pub struct UnpairedReport {
    /// The critic's estimate (W for the Wasserstein objectives) on its last batch.
    pub estimate: Tensor<1>,
    pub penalty: Tensor<1>,
    /// The generator's adversarial loss (with REINFORCE: minus the critic's mean score of the
    /// sampled summaries).
    pub adversarial: Tensor<1>,
    /// The reconstructor's per-token NLL of the documents given the sampled summaries.
    pub reconstruction: Tensor<1>,
    /// Mean reconstruction advantage `R(greedy) − R(sampled)` (positive: sampling helped).
    pub advantage: f64,
    /// The sampled summaries' words of the generator step (the first few rows).
    pub samples: Vec<Vec<usize>>,
    /// Mean `ln P` per word of the sampled summaries under the summaries' language model,
    /// when the corpus has one.
    pub lm_log_prob: Option<f64>,
    /// Mean absolute per-step advantage each reward gives the generator, weighted as in its
    /// loss: reconstruction, critic (method 2) and LM prior; how much each one steers.
    pub reward_scale: [f64; 3],
}

/// The scalars of an [`UnpairedReport`] as floats.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct UnpairedValues {
    pub estimate: f64,
    pub penalty: f64,
    pub adversarial: f64,
    pub reconstruction: f64,
}

impl UnpairedValues {
    pub fn all_finite(&self) -> bool {
        [self.estimate, self.penalty, self.adversarial, self.reconstruction]
            .iter()
            .all(|v| v.is_finite())
    }
}

impl UnpairedReport {
    /// The step's scalars in one read. A failed read is an error, not NaN, so it is never
    /// mistaken for divergence.
    pub async fn values_async(&self) -> Result<UnpairedValues, ReadError> {
        let parts = [&self.estimate, &self.penalty, &self.adversarial, &self.reconstruction];
        let v = read_floats(Tensor::cat(parts.map(Tensor::clone).to_vec(), 0), 4).await?;
        let [estimate, penalty, adversarial, reconstruction] = [v[0], v[1], v[2], v[3]];
        Ok(UnpairedValues { estimate, penalty, adversarial, reconstruction })
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub fn values(&self) -> Result<UnpairedValues, ReadError> {
        summarize::block_on(self.values_async())
    }
}

/// Ids of a human summary as the generator would write it: words, then `[STOP]`, cut to
/// `steps` (a longer summary gets no `[STOP]`, as the generator's would not).
pub fn summary_ids(words: &[String], vocab: &Vocab, steps: usize) -> Vec<usize> {
    words.iter().map(|w| vocab.id(w)).chain([STOP_ID]).take(steps).collect()
}

/// Each row's ids cut or padded to `steps`, flat and step-major: `[PAD]` after a row's end
/// and for an id outside the vocabulary.
pub fn step_ids(rows: &[Vec<usize>], vocab_size: usize, steps: usize) -> Vec<i64> {
    rows.iter()
        .flat_map(|ids| {
            (0..steps).map(move |j| {
                ids.get(j).copied().filter(|&i| i < vocab_size).unwrap_or(PAD_ID) as i64
            })
        })
        .collect()
}

/// `[B, S·V]` one-hot rows for word ids, `[PAD]` after each row's end. Only the `B·S` ids
/// travel to the device; the rows are scattered there.
pub fn one_hot(rows: &[Vec<usize>], vocab_size: usize, steps: usize, device: &Device) -> Tensor<2> {
    let (b, v) = (rows.len(), vocab_size);
    let ids = step_ids(rows, v, steps);
    let ids = Tensor::<2, Int>::from_data(TensorData::new(ids, [b * steps, 1]), device);
    let ones = Tensor::<2>::ones([b * steps, 1], device);
    Tensor::<2>::zeros([b * steps, v], device)
        .scatter(1, ids, ones, IndexingUpdateOp::Assign)
        .reshape([b, steps * v])
}

/// The generator's free-running summaries of `docs`.
pub fn summarize_batch(
    generator: &PointerGenerator,
    docs: &[Vec<&str>],
    config: &UnpairedConfig,
    vocab: &Vocab,
    pick: Pick,
    rng: &mut Rng,
) -> Result<FreeRun, StepError> {
    let max_enc = config.generator.train.max_enc;
    let examples: Vec<Example> =
        docs.iter().map(|d| Example::new(d, &[], vocab, max_enc, 2)).collect();
    let batch = Batch::new(&examples, vocab.len());
    let enc = generator.encode(batch.enc.clone(), batch.enc_mask, batch.size, batch.enc_len);
    generator.free_run(&enc, &batch.enc, config.summary_len(), pick, rng)
}

/// Words of a generated summary, without `[STOP]`.
pub fn summary_words<'a>(ids: &[usize], vocab: &'a Vocab) -> Vec<&'a str> {
    ids.iter().take_while(|&&i| i != STOP_ID).map(|&i| vocab.word(i).unwrap_or(UNK)).collect()
}

/// The reconstructor's batch: each summary as input, its document as target.
fn reconstruction_batch(
    summaries: &[Vec<usize>],
    docs: &[Vec<&str>],
    config: &UnpairedConfig,
    vocab: &Vocab,
) -> Batch {
    let r = &config.reconstructor.train;
    let examples: Vec<Example> = summaries
        .iter()
        .zip(docs)
        .map(|(s, d)| Example::new(&summary_words(s, vocab), d, vocab, r.max_enc, r.max_dec))
        .collect();
    Batch::new(&examples, vocab.len())
}

/// A `[B, 1]` column of per-row values (rewards, critic scores) on the host.
fn floats(t: Tensor<2>, what: &'static str) -> Result<Vec<f64>, StepError> {
    let [b, _] = t.dims();
    let v = t.inner().into_data().convert::<f32>().try_into_vec::<f32>();
    let v = v.map_err(|e| StepError::Read { what, detail: format!("{e:?}") })?;
    if v.len() != b {
        return Err(StepError::Count { what, found: v.len(), expected: b });
    }
    if v.iter().any(|x| !x.is_finite()) {
        return Err(StepError::NotFinite { what });
    }
    Ok(v.into_iter().map(f64::from).collect())
}

/// REINFORCE with a baseline: `−mean_b gain_b · Σⱼ log P(w_bj)`. A row whose sampled summary
/// did better than the greedy one (`gain > 0`) is made more likely by gradient descent, a
/// worse one less likely. `log_probs` is `[B, S]`; `gain` is a constant per row.
pub fn self_critical_loss(log_probs: Tensor<2>, gain: &[f32]) -> Tensor<1> {
    let [_, s] = log_probs.dims();
    let per_step: Vec<f32> = gain.iter().flat_map(|&g| std::iter::repeat_n(g, s)).collect();
    per_step_loss(log_probs, &per_step)
}

/// REINFORCE with an advantage per step: `−mean_b Σⱼ gain[b, j] · log P(w_bj)`. `log_probs`
/// and `gain` are `[B, S]` (row-major).
pub fn per_step_loss(log_probs: Tensor<2>, gain: &[f32]) -> Tensor<1> {
    let dims = log_probs.dims();
    let gain = Tensor::<2>::from_data(TensorData::new(gain.to_vec(), dims), &log_probs.device());
    (log_probs * gain).sum_dim(1).mean().neg()
}

/// Method 2's per-step critic advantages, `[B, S]` row-major. `sampled[t][b]` and
/// `greedy[t][b]` are the critic's scores of row `b`'s first `t` words (the rest padded), for
/// `t = 0..=S`. The word at step `j` earns the per-step rewards `r_t = p_{t+1} − p_t` from
/// there on, discounted: `Σ_{t≥j} γ^{t−j} r_t` (with `γ = 1` that is `p_S − p_j`, what the
/// summary's score gained from it on), less the same for the greedy summary (self-critical).
/// With `γ = 1` and `j = 0` it is the sequence-level gain `p_S(sampled) − p_S(greedy)`; past a
/// summary's end the rewards are 0.
pub fn per_step_advantage(sampled: &[Vec<f64>], greedy: &[Vec<f64>], gamma: f64) -> Vec<f64> {
    let steps = sampled.len().saturating_sub(1);
    let rows = sampled.first().map_or(0, Vec::len);
    let returns = |p: &[Vec<f64>], b: usize| {
        let (mut g, mut acc) = (vec![0.0; steps], 0.0);
        for j in (0..steps).rev() {
            acc = (p[j + 1][b] - p[j][b]) + gamma * acc;
            g[j] = acc;
        }
        g
    };
    (0..rows)
        .flat_map(|b| {
            let (s, g) = (returns(sampled, b), returns(greedy, b));
            s.into_iter().zip(g).map(|(s, g)| s - g).collect::<Vec<_>>()
        })
        .collect()
}

/// One GAN-phase iteration (see the module docs). Fails, naming the cause, when a free run
/// or a reward cannot be read or is not finite.
pub fn train_step(
    mut state: UnpairedState,
    config: &UnpairedConfig,
    corpus: &Corpus,
) -> Result<(UnpairedState, UnpairedReport), StepError> {
    let (b, steps, v) = (config.batch_size, config.summary_len(), corpus.vocab.len());
    let device = state.critic.device();
    let mut terms = None;
    let summarize = |g: &PointerGenerator, docs: &[Vec<&str>], pick, rng: &mut Rng| {
        summarize_batch(g, docs, config, corpus.vocab, pick, rng)
    };
    // The first generator update waits for the critic's warm-up.
    let warmup =
        if state.step == 0 { config.critic_warmup.saturating_sub(state.critic_steps) } else { 0 };
    for _ in 0..(config.n_critic as u64).max(warmup) {
        let mut rng = Rng::stream(config.seed, STREAM_CRITIC, state.critic_steps);
        let docs: Vec<Vec<&str>> = (0..b).map(|_| corpus.document(&mut rng)).collect();
        let real: Vec<Vec<usize>> = (0..b)
            .map(|_| {
                let words = &corpus.summaries[rng.below(corpus.summaries.len())];
                summary_ids(words, corpus.vocab, steps)
            })
            .collect();
        let real = one_hot(&real, v, steps, &device);
        let run = summarize(&frozen(&state.generator), &docs, Pick::Sample, &mut rng)?;
        let fake = match config.method {
            Method::Distributions => run.dists.reshape([b, steps * v]),
            Method::Reinforce => one_hot(&run.words, v, steps, &device),
        };
        let (critic, t) = update_critic(
            state.critic,
            &mut state.critic_opt,
            &config.objective,
            real,
            fake,
            None,
            |_| None,
            1.0,
            &mut rng,
        );
        state.critic = critic;
        state.critic_steps += 1;
        terms = Some(t);
    }

    let mut rng = Rng::stream(config.seed, STREAM_GENERATOR, state.step);
    let docs: Vec<Vec<&str>> = (0..b).map(|_| corpus.document(&mut rng)).collect();
    let sampled = summarize(&state.generator, &docs, Pick::Sample, &mut rng)?;
    let greedy = summarize(&frozen(&state.generator), &docs, Pick::Greedy, &mut rng)?;
    let rec_frozen = frozen(&state.reconstructor);
    let rec_batch = |words: &[Vec<usize>]| reconstruction_batch(words, &docs, config, corpus.vocab);
    let rec_nll = |b: &Batch| floats(rec_frozen.loss(b, 0.0).nll_rows, "reconstruction losses");
    let rec_sampled = rec_batch(&sampled.words);
    let (r_sampled, r_greedy) = (rec_nll(&rec_sampled)?, rec_nll(&rec_batch(&greedy.words))?);
    // Self-critical advantages per row, as constants: how much better the sampled summary is
    // than the greedy one, for the reconstructor (lower NLL) and, with REINFORCE, the critic.
    let w_rec = config.reconstruction_weight_at(state.step);
    let rec_gain: Vec<f64> = r_sampled.iter().zip(&r_greedy).map(|(s, g)| g - s).collect();
    let critic = state.critic.frozen();
    let (adversarial, critic_gain) = match config.method {
        Method::Distributions => {
            let fake = sampled.dists.clone().reshape([b, steps * v]);
            (objective::generator_loss(&config.objective, &critic, fake, None), vec![])
        }
        Method::Reinforce => {
            // The critic scores every prefix (t words, the rest padded) of the sampled and the
            // greedy summaries, all in one pass over looked-up embeddings: per-step rewards.
            let prefixes: Vec<Vec<usize>> = [&sampled.words, &greedy.words]
                .into_iter()
                .flat_map(|words| {
                    (0..=steps)
                        .flat_map(move |t| words.iter().map(move |w| w[..t.min(w.len())].to_vec()))
                })
                .collect();
            let scores =
                floats(critic.score_ids(step_ids(&prefixes, v, steps)), "critic's scores")?;
            // scores[((k·(S + 1)) + t)·B + row]: k = 0 sampled, 1 greedy; t words kept.
            let by_prefix = |k: usize| -> Vec<Vec<f64>> {
                (0..=steps).map(|t| scores[(k * (steps + 1) + t) * b..][..b].to_vec()).collect()
            };
            let (s, g) = (by_prefix(0), by_prefix(1));
            let mean_score = s[steps].iter().sum::<f64>() / b.max(1) as f64;
            let loss =
                Tensor::<1>::from_data(TensorData::new(vec![-mean_score as f32], [1]), &device);
            (loss, per_step_advantage(&s, &g, config.discount))
        }
    };
    // The LM prior: each word's centred log-probability under the summaries' bigram, with
    // the same discount and self-critical baseline as the critic's per-step rewards.
    let lm_gain = match (config.lm_prior.weight, corpus.lm) {
        (0.0, _) => vec![],
        (_, None) => {
            return Err(StepError::Input(
                "the LM prior is on but the corpus has no language model",
            ));
        }
        (_, Some(lm)) => per_step_advantage(
            &lm.prefix_scores(&sampled.words, steps, config.lm_prior.unk_neutral),
            &lm.prefix_scores(&greedy.words, steps, config.lm_prior.unk_neutral),
            config.discount,
        ),
    };
    let mean_abs = |g: &[f64], w: f64| {
        w.abs() * g.iter().map(|x| x.abs()).sum::<f64>() / g.len().max(1) as f64
    };
    let reward_scale = [
        mean_abs(&rec_gain, w_rec),
        mean_abs(&critic_gain, config.adversarial_weight),
        mean_abs(&lm_gain, config.lm_prior.weight),
    ];
    let gain: Vec<f32> = (0..b * steps)
        .map(|i| {
            let critic = critic_gain.get(i).copied().unwrap_or(0.0);
            let lm = lm_gain.get(i).copied().unwrap_or(0.0);
            (w_rec * rec_gain[i / steps]
                + config.adversarial_weight * critic
                + config.lm_prior.weight * lm) as f32
        })
        .collect();
    let advantage = rec_gain.iter().sum::<f64>() / b.max(1) as f64;
    let reinforce = per_step_loss(sampled.log_probs.clone(), &gain);
    let loss = match config.method {
        Method::Distributions => {
            adversarial.clone().mul_scalar(config.adversarial_weight) + reinforce
        }
        Method::Reinforce => reinforce,
    };
    let grads = gradients(&loss, &state.generator);
    let (grads, _) = clip_global_norm(&state.generator, grads, config.generator_clip);
    state.generator = trainable(state.generator_opt.step(state.generator, grads, 1.0));

    let rec_loss = state.reconstructor.loss(&rec_sampled, 0.0);
    let grads = gradients(&rec_loss.total, &state.reconstructor);
    let (grads, _) =
        clip_global_norm(&state.reconstructor, grads, config.reconstructor.train.max_grad_norm);
    state.reconstructor = trainable(state.reconstructor_opt.step(state.reconstructor, grads, 1.0));
    state.step += 1;

    let zero = || adversarial.clone().inner().mul_scalar(0.0);
    let (estimate, penalty) =
        terms.map(|t| (t.estimate, t.penalty)).unwrap_or_else(|| (zero(), zero()));
    let report = UnpairedReport {
        estimate,
        penalty,
        adversarial: adversarial.inner(),
        reconstruction: rec_loss.nll.inner(),
        advantage,
        reward_scale,
        lm_log_prob: corpus.lm.map(|lm| lm.mean_word_log_prob(&sampled.words, steps)),
        samples: sampled.words.into_iter().take(4).collect(),
    };
    Ok((state, report))
}

/// One pretraining update of generator and reconstructor on the same draws.
pub fn pretrain_step(
    generator: TrainState,
    reconstructor: TrainState,
    config: &UnpairedConfig,
    corpus: &Corpus,
) -> (TrainState, TrainState, [Tensor<1>; 2]) {
    let (g_batch, r_batch) = pretrain_batches(config, corpus, generator.step);
    let (g, g_report) = summarize::train::train_step(generator, &g_batch, &config.generator);
    let (r, r_report) =
        summarize::train::train_step(reconstructor, &r_batch, &config.reconstructor);
    (g, r, [g_report.nll, r_report.nll])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gan::train::tensor2;

    /// Each step's row is one-hot at its word; past a row's end, and for an id outside the
    /// vocabulary, at `[PAD]`.
    #[test]
    fn one_hot_rows_pad_after_the_end() {
        let (v, steps) = (6, 3);
        let rows = vec![vec![4, STOP_ID], vec![5, 99, 1, 2]];
        let got: Vec<f32> =
            one_hot(&rows, v, steps, &Device::flex()).into_data().try_into_vec().unwrap();
        let mut want = vec![0.0f32; 2 * steps * v];
        for (i, id) in [4, STOP_ID, PAD_ID, 5, PAD_ID, 1].into_iter().enumerate() {
            want[i * v + id] = 1.0;
        }
        assert_eq!(got, want);
    }

    /// Method 2's scores of word ids by looked-up embeddings are the critic's scores of their
    /// one-hot rows (the dense product), for prefixes of every length and padded rows alike.
    #[test]
    fn scoring_ids_by_lookup_equals_scoring_one_hot_rows() {
        use crate::gan::mlp::Activation;
        use crate::unpaired::critic::SeqCriticConfig;
        let (v, steps) = (50, 6);
        let config = SeqCriticConfig {
            steps,
            vocab: v,
            emb: 8,
            hidden: 16,
            depth: 2,
            activation: Activation::LeakyRelu,
        };
        let device = Device::flex();
        let critic = config.init(&mut Rng::new(7), &device);
        let mut rng = Rng::new(8);
        let rows: Vec<Vec<usize>> =
            (0..40).map(|i| (0..i % (steps + 3)).map(|_| rng.below(v + 5)).collect()).collect();
        let dense = floats(critic.forward(one_hot(&rows, v, steps, &device)), "dense").unwrap();
        let lookup = floats(critic.score_ids(step_ids(&rows, v, steps)), "lookup").unwrap();
        assert_eq!(dense.len(), rows.len());
        let worst = dense.iter().zip(&lookup).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        let scale = dense.iter().map(|a| a.abs()).fold(0.0, f64::max);
        assert!(worst <= 1e-6 * scale.max(1.0), "largest difference {worst} (scale {scale})");
        // The scores differ between rows, so equal lists are not equal by accident.
        assert!(dense.iter().any(|&a| (a - dense[0]).abs() > 1e-3), "{dense:?}");
    }

    /// Gradient descent on the self-critical loss raises the log-probability of a summary that
    /// beat the greedy one, lowers that of one that lost, and leaves a tie alone.
    #[test]
    fn self_critical_reward_has_the_right_sign() {
        let lp = tensor2(vec![-1.0, -2.0, -0.5, -0.5, -3.0, -1.0], 3, 2, &Device::flex())
            .autodiff()
            .require_grad();
        let loss = self_critical_loss(lp.clone(), &[0.7, -0.4, 0.0]);
        let grads = loss.backward();
        let g: Vec<f32> = lp.grad(&grads).unwrap().into_data().try_into_vec::<f32>().unwrap();
        // d loss / d log P = −gain / B for every step of the row; descent moves log P by −grad.
        let want = [-0.7 / 3.0, -0.7 / 3.0, 0.4 / 3.0, 0.4 / 3.0, 0.0, 0.0];
        for (got, want) in g.iter().zip(want) {
            assert!((got - want).abs() < 1e-6, "{g:?}");
        }
        assert!(-g[0] > 0.0 && -g[2] < 0.0, "the winner goes up, the loser down");
    }

    /// Method 2's per-step advantages, by hand: one row of three steps. Sampled prefix scores
    /// 0, 1, 3, 4 (its second word raised the score most); greedy 0, 2, 2, 2.
    /// To go: sampled 4, 3, 1; greedy 2, 0, 0; advantages 2, 3, 1. The first equals the
    /// sequence-level gain 4 − 2; a second row that ended after one word gets 0 afterwards.
    #[test]
    fn per_step_advantages_credit_each_word_with_the_score_it_adds() {
        let sampled = vec![vec![0.0, 0.0], vec![1.0, 5.0], vec![3.0, 5.0], vec![4.0, 5.0]];
        let greedy = vec![vec![0.0, 0.0], vec![2.0, 1.0], vec![2.0, 1.0], vec![2.0, 1.0]];
        let a = per_step_advantage(&sampled, &greedy, 1.0);
        assert_eq!(a, vec![2.0, 3.0, 1.0, 4.0, 0.0, 0.0]);
        // Discounted by 0.5: sampled rewards 1, 2, 1 → returns 1 + 0.5·2.5 = 2.25, 2 + 0.5·1
        // = 2.5, 1; greedy rewards 2, 0, 0 → returns 2, 0, 0; advantages 0.25, 2.5, 1. The
        // second row: rewards 5, 0, 0 against 1, 0, 0.
        let d = per_step_advantage(&sampled, &greedy, 0.5);
        assert_eq!(d, vec![0.25, 2.5, 1.0, 4.0, 0.0, 0.0]);
        // The loss's gradient is −advantage / B on each step's log-probability.
        let lp = tensor2(vec![-1.0; 6], 2, 3, &Device::flex()).autodiff().require_grad();
        let gain: Vec<f32> = a.iter().map(|&x| x as f32).collect();
        let grads = per_step_loss(lp.clone(), &gain).backward();
        let g: Vec<f32> = lp.grad(&grads).unwrap().into_data().try_into_vec::<f32>().unwrap();
        for (got, want) in g.iter().zip(&gain) {
            assert!((got + want / 2.0).abs() < 1e-6, "{g:?}");
        }
    }
}
