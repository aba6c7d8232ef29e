//! The pointer-generator network (See et al. 2017), written once against burn's `Device`.
//!
//! With encoder states `hᵢ`, decoder state `s_j` and coverage `cᵢ = Σ_{j'<j} aᵢ^{j'}`
//! (seed 000's equations, coverage from See et al. §2.3):
//! - attention `eᵢ = wᵀ tanh(W_h hᵢ + W_s s_j + w_c cᵢ + b)`, `a = softmax(e)` over the article;
//! - context `v_j = Σᵢ aᵢ hᵢ`;
//! - `p_vocab = softmax(V′(V[h_j, v_j] + b) + b′)`;
//! - `p_gen = σ(w_vᵀ v_j + w_sᵀ s_j + w_xᵀ x_j + b_gen)`;
//! - `P(w) = p_gen p_vocab(w) + (1 − p_gen) Σ_{i: xᵢ = w} aᵢ`;
//! - loss `−(1/J) Σ_j [log P(y_j) + λ Σᵢ min(aᵢ, cᵢ)]`.
//!
//! As in See et al.'s code, the decoder state `s_j` for attention and p_gen is `[c_j; h_j]`,
//! the decoder input is `x_j = W[emb(y_{j−1}); v_{j−1}] + b` (input feeding), and the initial
//! decoder state is `ReLU(W[h_fw; h_bw] + b)` for both `h` and `c` ("reduce state").
//!
//! The model is a burn `Module` of burn `Linear`/`Embedding` layers and [`Lstm`]s: weights
//! are `[in, out]`, biases 1-D, LSTM gates ordered i, f, g, o as in PyTorch, and a weight's
//! name is its field path (`encoder.forward.weight_ih`). Constants built here take the
//! parameters' dtype, so the whole model runs in float64 for the gradient check.

use burn::module::{Module, Param};
use burn::nn::{Embedding, Linear};
use burn::tensor::{Device, IndexingUpdateOp, Int, Tensor, TensorData, activation};

use super::batch::Batch;
use super::config::ModelConfig;
use crate::nn::{Lstm, StepError, linear, param};
use crate::ops;
use crate::rng::Rng;

/// What a free run's errors call the distributions it reads back.
const DISTRIBUTIONS: &str = "generator's word distributions";

/// The bidirectional encoder: one LSTM per direction.
#[derive(Module, Debug)]
pub struct BiLstm {
    pub forward: Lstm,
    pub backward: Lstm,
}

/// Additive attention with coverage: `eᵢ = vᵀ tanh(W_h hᵢ + W_s s + w_c cᵢ + b)`.
#[derive(Module, Debug)]
pub struct Attention {
    /// `W_h`, `[2H, A]` (no bias).
    pub w_h: Param<Tensor<2>>,
    /// `W_s` and the attention bias `b`, `[2H, A]`.
    pub w_s: Linear,
    /// `w_c`, `[1, A]`.
    pub w_c: Param<Tensor<2>>,
    /// `v`, `[A, 1]`.
    pub v: Param<Tensor<2>>,
}

impl Attention {
    /// `W_h hᵢ` for every encoder output `[B, T, 2H]` → `[B, T, A]`: once per document, as
    /// See et al.'s code does, since it does not change between decoder steps.
    pub fn features(&self, enc_out: Tensor<3>) -> Tensor<3> {
        let [b, t, h2] = enc_out.dims();
        let a = self.v.dims()[0];
        enc_out.reshape([b * t, h2]).matmul(self.w_h.val()).reshape([b, t, a])
    }

    /// The attention `aᵗ = softmax(e)` `[B, T]` over the encoded document (padding masked
    /// out) for the decoder state `s` `[B, 2H]` and `coverage` `[B, T]`, and the context
    /// vector `Σᵢ aᵢ hᵢ` `[B, 2H]` (See et al. eq. 1–3 and 11).
    pub fn forward(
        &self,
        enc: &Encoded,
        s: Tensor<2>,
        coverage: Tensor<2>,
    ) -> (Tensor<2>, Tensor<2>) {
        let [b, t, h2] = enc.out.dims();
        let e = ops::attention_scores(
            enc.features.clone(),
            self.w_s.forward(s),
            coverage,
            self.w_c.val(),
            self.v.val(),
        ) + enc.neg_mask.clone();
        let attn = activation::softmax(e, 1);
        let context = attn.clone().reshape([b, 1, t]).matmul(enc.out.clone()).reshape([b, h2]);
        (attn, context)
    }
}

/// The output layer `p_vocab = softmax(V′(V[h; v] + b) + b′)`.
#[derive(Module, Debug)]
pub struct Output {
    /// `V`, `[3H, H]`.
    pub v1: Linear,
    /// `V′`, `[H, vocab]`.
    pub v2: Linear,
}

#[derive(Module, Debug)]
pub struct PointerGenerator {
    #[module(skip)]
    pub config: ModelConfig,
    pub embedding: Embedding,
    pub encoder: BiLstm,
    /// `h₀ = ReLU(W[h_fw; h_bw] + b)`, `[2H, H]`; `reduce_c` likewise for `c₀`.
    pub reduce_h: Linear,
    pub reduce_c: Linear,
    /// Input feeding: `x_j = W[emb(y_{j−1}); v_{j−1}] + b`, `[E + 2H, E]`.
    pub decoder_input: Linear,
    pub decoder: Lstm,
    pub attention: Attention,
    pub output: Output,
    /// `[w_v; w_s; w_x]`, `[2H + 2H + E, 1]`.
    pub p_gen: Linear,
}

/// What the encoder hands the decoder for one batch.
#[derive(Clone, Debug)]
pub struct Encoded {
    /// `[B, T, 2H]`
    pub out: Tensor<3>,
    /// `W_h hᵢ`, `[B, T, A]`
    pub features: Tensor<3>,
    /// `[B, T]`: 0 on article tokens, −1e9 on padding (added to the attention scores).
    pub neg_mask: Tensor<2>,
    /// Initial decoder state `[B, H]`.
    pub h0: Tensor<2>,
    pub c0: Tensor<2>,
    /// The output matrix `[H, V]` in [`ops::decoding_layout`], prepared once per article by
    /// [`PointerGenerator::encode_one`] for the decoder's steps; `None` when training.
    pub output: Option<Tensor<2>>,
}

/// The decoder's recurrent state.
#[derive(Clone, Debug)]
pub struct DecoderState {
    pub h: Tensor<2>,
    pub c: Tensor<2>,
    /// The previous context `v_{j−1}`, `[B, 2H]`.
    pub context: Tensor<2>,
    /// `[B, T]`
    pub coverage: Tensor<2>,
}

/// One decoder step's outputs, before the output layer.
struct StepOut {
    state: DecoderState,
    /// `[B, T]`
    attn: Tensor<2>,
    /// `[B, 2H]`, `[B, 2H]` (= `[c; h]`), `[B, E]`
    context: Tensor<2>,
    s: Tensor<2>,
    x: Tensor<2>,
    /// Σᵢ min(aᵢ, cᵢ) before this step's update, `[B, 1]`.
    cov_loss: Tensor<2>,
}

/// The loss and its parts, as lazy scalars.
#[derive(Clone, Debug)]
pub struct Loss {
    /// What is minimised: NLL + λ·coverage loss.
    pub total: Tensor<1>,
    /// Mean per-token negative log-likelihood.
    pub nll: Tensor<1>,
    /// Mean per-token coverage loss (0 without coverage).
    pub coverage: Tensor<1>,
    /// Each example's mean per-token negative log-likelihood, `[B, 1]`.
    pub nll_rows: Tensor<2>,
}

/// Outputs for decoding: per row of the beam.
#[derive(Clone, Debug)]
pub struct DecodeOut {
    /// `[K, vocab]`
    pub p_vocab: Tensor<2>,
    /// `[K, T]`
    pub attn: Tensor<2>,
    /// `[K, 1]`
    pub p_gen: Tensor<2>,
}

/// How a free-running decoder picks each next word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    /// The most probable word (greedy decoding).
    Greedy,
    /// A draw from the step's distribution.
    Sample,
}

/// A free-running pass: the decoder reads its own previous words.
#[derive(Clone, Debug)]
pub struct FreeRun {
    /// Each step's final distribution `P(w)` over the fixed vocabulary `[B, S, V]`, copy mass
    /// included (an out-of-vocabulary article word's goes to `[UNK]`). After a row's `[STOP]`
    /// its steps are one-hot `[PAD]`, as a shorter human summary is padded.
    pub dists: Tensor<3>,
    /// `log P(w_j)` of the picked words `[B, S]`, 0 after `[STOP]`.
    pub log_probs: Tensor<2>,
    /// The picked words per row, up to and including `[STOP]` when it came.
    pub words: Vec<Vec<usize>>,
}

/// Where fresh weights come from.
pub enum Init {
    /// See et al.'s initialisation, from a seed.
    Seeded(u64),
    /// Zeros: a skeleton of the right shapes for loading a file into.
    Zeros,
}

/// Draws initial values: uniform(±mag) for LSTM weights, truncated normal(σ) elsewhere.
struct Draw {
    rng: Option<Rng>,
    std: f64,
    mag: f64,
}

impl Draw {
    /// `n` values of `value`, or zeros without a seed.
    fn draw(&mut self, n: usize, mut value: impl FnMut(&mut Rng) -> f64) -> Vec<f32> {
        match &mut self.rng {
            Some(rng) => (0..n).map(|_| value(rng) as f32).collect(),
            None => vec![0.0; n],
        }
    }

    fn uniform(&mut self, n: usize) -> Vec<f32> {
        let mag = self.mag;
        self.draw(n, |rng| (2.0 * rng.uniform() - 1.0) * mag)
    }

    /// Truncated at 2σ, like TensorFlow's truncated_normal_initializer.
    fn normal(&mut self, n: usize) -> Vec<f32> {
        let std = self.std;
        self.draw(n, |rng| {
            loop {
                let z = rng.normal();
                if z.abs() <= 2.0 {
                    break z * std;
                }
            }
        })
    }

    fn lstm(&mut self, input: usize, hidden: usize, device: &Device) -> Lstm {
        // See et al.: uniform(±0.02) weights; TensorFlow's LSTMCell adds 1 to the forget gate.
        let mut b = vec![0.0; 4 * hidden];
        b[hidden..2 * hidden].iter_mut().for_each(|v| *v = 1.0);
        Lstm {
            weight_ih: param(self.uniform(input * 4 * hidden), [input, 4 * hidden], device),
            weight_hh: param(self.uniform(hidden * 4 * hidden), [hidden, 4 * hidden], device),
            bias: param(b, [4 * hidden], device),
        }
    }

    fn linear(&mut self, input: usize, output: usize, device: &Device) -> Linear {
        linear(self.normal(input * output), Some(vec![0.0; output]), [input, output], device)
    }
}

impl PointerGenerator {
    /// Fresh weights, initialised as in See et al.'s code (uniform ±0.02 for the LSTMs,
    /// truncated normal with σ 1e-4 elsewhere).
    pub fn init(config: &ModelConfig, seed: u64, device: &Device) -> Self {
        Self::new(config, Init::Seeded(seed), device)
    }

    pub fn new(config: &ModelConfig, init: Init, device: &Device) -> Self {
        let rng = match init {
            Init::Seeded(seed) => Some(Rng::stream(seed, 21, 0)),
            Init::Zeros => None,
        };
        let mut d = Draw { rng, std: config.init_std, mag: config.init_uniform };
        let (v, e, h, a) = (config.vocab_size, config.emb, config.hidden, config.attn());
        // A struct literal's fields are evaluated in the order written: the draw order is the
        // old flat list's, so a seed gives the same model as before.
        PointerGenerator {
            config: config.clone(),
            embedding: Embedding { weight: param(d.normal(v * e), [v, e], device) },
            encoder: BiLstm { forward: d.lstm(e, h, device), backward: d.lstm(e, h, device) },
            reduce_h: d.linear(2 * h, h, device),
            reduce_c: d.linear(2 * h, h, device),
            decoder_input: d.linear(e + 2 * h, e, device),
            decoder: d.lstm(e, h, device),
            attention: Attention {
                w_h: param(d.normal(2 * h * a), [2 * h, a], device),
                w_s: d.linear(2 * h, a, device),
                w_c: param(d.normal(a), [1, a], device),
                v: param(d.normal(a), [a, 1], device),
            },
            output: Output { v1: d.linear(3 * h, h, device), v2: d.linear(h, v, device) },
            p_gen: d.linear(4 * h + e, 1, device),
        }
    }

    fn device(&self) -> Device {
        self.embedding.weight.device()
    }

    /// A float constant with the parameters' dtype.
    fn constant<const D: usize>(&self, values: Vec<f32>, shape: [usize; D]) -> Tensor<D> {
        Tensor::<D>::from_data(TensorData::new(values, shape), &self.device())
            .cast(self.embedding.weight.dtype())
    }

    fn ids(&self, values: Vec<i64>, shape: [usize; 2]) -> Tensor<2, Int> {
        Tensor::<2, Int>::from_data(TensorData::new(values, shape), &self.device())
    }

    /// Runs the bidirectional encoder over `[B, T]` ids with `[B, T]` mask (1 on tokens). Each
    /// direction is one fused sequence op ([`crate::ops::lstm_seq`]): a padded position keeps the
    /// state unchanged and outputs zeros, so each direction sees exactly its sequence's tokens.
    pub fn encode(&self, ids: Vec<i64>, mask: Vec<f32>, batch: usize, len: usize) -> Encoded {
        let emb = self.embedding.forward(self.ids(ids, [batch, len])); // [B, T, E]
        let m = self.constant(mask.clone(), [batch, len]);
        let (out_fw, h_fw, c_fw) = self.encoder.forward.forward(emb.clone(), m.clone(), false);
        let (out_bw, h_bw, c_bw) = self.encoder.backward.forward(emb, m, true);
        let out = Tensor::cat(vec![out_fw, out_bw], 2); // [B, T, 2H]
        let features = self.attention.features(out.clone());
        let h0 = activation::relu(self.reduce_h.forward(Tensor::cat(vec![h_fw, h_bw], 1)));
        let c0 = activation::relu(self.reduce_c.forward(Tensor::cat(vec![c_fw, c_bw], 1)));
        let neg_mask = self.constant(mask.iter().map(|&v| (v - 1.0) * 1e9).collect(), [batch, len]);
        Encoded { out, features, neg_mask, h0, c0, output: None }
    }

    /// The decoder's state before the first step.
    pub fn initial_state(&self, enc: &Encoded) -> DecoderState {
        let [b, t, h2] = enc.out.dims();
        let (h, c) = (enc.h0.clone(), enc.c0.clone());
        let context = self.constant(vec![0.0; b * h2], [b, h2]);
        DecoderState { h, c, context, coverage: self.constant(vec![0.0; b * t], [b, t]) }
    }

    /// One decoder step from input embeddings `emb` `[B, E]`.
    fn step(&self, enc: &Encoded, state: DecoderState, emb: Tensor<2>) -> StepOut {
        let hd = self.config.hidden;
        let x = self.decoder_input.forward(Tensor::cat(vec![emb, state.context], 1));
        let s = self.decoder.step(x.clone(), state.h, state.c); // [c; h]
        let (c, h) = (s.clone().narrow(1, 0, hd), s.clone().narrow(1, hd, hd));
        // Without coverage the scores ignore it: zeros in, and w_c gets no gradient.
        let coverage_in =
            if self.config.coverage { state.coverage.clone() } else { state.coverage.zeros_like() };
        let (attn, context) = self.attention.forward(enc, s.clone(), coverage_in);
        let cov_loss = attn.clone().min_pair(state.coverage.clone()).sum_dim(1);
        let coverage = state.coverage + attn.clone();
        let state = DecoderState { h, c, context: context.clone(), coverage };
        StepOut { state, attn, context, s, x, cov_loss }
    }

    /// `p_vocab` for rows `[h; context]` `[N, 3H]`.
    fn vocab_dist(&self, enc: &Encoded, h_ctx: Tensor<2>) -> Tensor<2> {
        // Decoding's few rows: a kernel that reads the [H, V] output matrix once per step.
        let v2 = &self.output.v2;
        let w = enc.output.clone().unwrap_or_else(|| v2.weight.val());
        let mut logits = ops::project(self.output.v1.forward(h_ctx), w);
        if let Some(b) = &v2.bias {
            logits = logits + b.val().unsqueeze::<2>();
        }
        ops::softmax_rows(logits)
    }

    /// The output layer's logits for rows `[h; context]` `[N, 3H]` (training and free runs;
    /// decoding uses [`Self::vocab_dist`]).
    fn logits(&self, h_ctx: Tensor<2>) -> Tensor<2> {
        self.output.v2.forward(self.output.v1.forward(h_ctx))
    }

    /// `p_gen` for rows `[context; s; x]` `[N, 4H + E]`.
    fn p_gen(&self, ctx_s_x: Tensor<2>) -> Tensor<2> {
        ops::sigmoid(self.p_gen.forward(ctx_s_x))
    }

    /// Teacher-forced loss on a batch. The output layer and p_gen do not feed back into the
    /// recurrence, so they run once over all steps after the loop.
    pub fn loss(&self, batch: &Batch, cov_loss_weight: f64) -> Loss {
        let (b, t, j) = (batch.size, batch.enc_len, batch.dec_len);
        let (hd, e) = (self.config.hidden, self.config.emb);
        let enc = self.encode(batch.enc.clone(), batch.enc_mask.clone(), b, t);
        let dec_emb = self.embedding.forward(self.ids(batch.dec_in.clone(), [b, j])); // [B, J, E]
        let mut state = self.initial_state(&enc);
        let mut outs = vec![];
        for k in 0..j {
            let out = self.step(&enc, state, dec_emb.clone().narrow(1, k, 1).reshape([b, e]));
            state = out.state.clone();
            outs.push(out);
        }
        let each = |f: fn(&StepOut) -> &Tensor<2>| outs.iter().map(|o| f(o).clone()).collect();
        // Rows ordered (b, j): stack on dim 1, then flatten.
        let rows = |f, width: usize| Tensor::stack::<3>(each(f), 1).reshape([b * j, width]);
        let (h_all, ctx_all) = (rows(|o| &o.state.h, hd), rows(|o| &o.context, 2 * hd));
        let logits = self.logits(Tensor::cat(vec![h_all, ctx_all.clone()], 1)); // [BJ, V]
        let target = self.ids(batch.target_vocab.clone(), [b * j, 1]);
        let in_vocab = self.constant(batch.target_in_vocab.clone(), [b * j, 1]);
        // p_vocab at the target only: the fused op never materialises the [BJ, V] softmax.
        let p_vocab_target = ops::softmax_pick(logits, target) * in_vocab; // [BJ, 1]
        let prob = if self.config.pointer {
            let ctx_s_x = vec![ctx_all, rows(|o| &o.s, 2 * hd), rows(|o| &o.x, e)];
            let p_gen = self.p_gen(Tensor::cat(ctx_s_x, 1)); // [BJ, 1]
            let attn_all = Tensor::stack::<3>(each(|o| &o.attn), 1); // [B, J, T]
            let copy_mask = self.constant(batch.copy_mask.clone(), [b, j, t]);
            let p_copy = (attn_all * copy_mask).sum_dim(2).reshape([b * j, 1]);
            p_gen.clone() * p_vocab_target + p_gen.neg().add_scalar(1.0) * p_copy
        } else {
            p_vocab_target
        };
        let nll = prob.add_scalar(1e-10).log().neg().reshape([b, j]);
        let cov = Tensor::cat(each(|o| &o.cov_loss), 1); // [B, J]
        let mask = self.constant(batch.dec_mask.clone(), [b, j]);
        let lens = self.constant(batch.dec_lens.iter().map(|&n| n.max(1) as f32).collect(), [b, 1]);
        // Per example: the mean over its own steps; then the mean over the batch.
        let per_example = |v: Tensor<2>| (v * mask.clone()).sum_dim(1).div(lens.clone());
        let nll_rows = per_example(nll);
        let nll = nll_rows.clone().mean();
        let coverage = if self.config.coverage {
            per_example(cov).mean()
        } else {
            nll.clone().mul_scalar(0.0)
        };
        let total = if self.config.coverage && cov_loss_weight != 0.0 {
            nll.clone() + coverage.clone().mul_scalar(cov_loss_weight)
        } else {
            nll.clone()
        };
        Loss { total, nll, coverage, nll_rows }
    }

    /// Runs the decoder for `steps` steps from `[START]`, each step reading the word picked at
    /// the step before, over a batch encoded from `enc_ids` `[B, T]` (fixed vocabulary, the ids
    /// [`PointerGenerator::encode`] read). The distributions and log-probabilities carry
    /// gradients when the model does; the picks themselves are not differentiated (Wang & Lee's
    /// generator feeds its own discrete words back). Each step reads its distributions back
    /// synchronously to pick the words: any device natively, Flex only in the browser. Fails
    /// when that read-back fails or a distribution is not finite (the weights have diverged).
    pub fn free_run(
        &self,
        enc: &Encoded,
        enc_ids: &[i64],
        steps: usize,
        pick: Pick,
        rng: &mut Rng,
    ) -> Result<FreeRun, StepError> {
        use super::vocab::{PAD_ID, START_ID, STOP_ID};
        let [b, t, _] = enc.out.dims();
        let (v, e) = (self.config.vocab_size, self.config.emb);
        let ids = self.ids(enc_ids.to_vec(), [b, t]);
        let pad_row = self.constant((0..v).map(|i| f32::from(i == PAD_ID)).collect(), [1, v]);
        let mut state = self.initial_state(enc);
        let mut prev_ids = self.ids(vec![START_ID as i64; b], [b, 1]);
        let mut alive = vec![true; b];
        let mut words = vec![vec![]; b];
        let (mut dists, mut log_probs) = (vec![], vec![]);
        for _ in 0..steps {
            let emb = self.embedding.forward(prev_ids).reshape([b, e]);
            let out = self.step(enc, state, emb);
            let h_ctx = Tensor::cat(vec![out.state.h.clone(), out.context.clone()], 1);
            let p_vocab = activation::softmax(self.logits(h_ctx), 1);
            let dist = if self.config.pointer {
                let p_gen = self.p_gen(Tensor::cat(vec![out.context, out.s, out.x], 1));
                let copy =
                    p_vocab.zeros_like().scatter(1, ids.clone(), out.attn, IndexingUpdateOp::Add);
                p_gen.clone() * p_vocab + p_gen.neg().add_scalar(1.0) * copy
            } else {
                p_vocab
            };
            state = out.state;
            let host: Vec<f32> =
                dist.clone().inner().into_data().convert::<f32>().try_into_vec::<f32>().map_err(
                    |e| StepError::Read { what: DISTRIBUTIONS, detail: format!("{e:?}") },
                )?;
            if host.len() != b * v {
                let (found, expected) = (host.len(), b * v);
                return Err(StepError::Count { what: DISTRIBUTIONS, found, expected });
            }
            if host.iter().any(|p| !p.is_finite()) {
                return Err(StepError::NotFinite { what: DISTRIBUTIONS });
            }
            let chosen: Vec<usize> = host
                .chunks(v)
                .map(|row| match pick {
                    Pick::Greedy => argmax(row),
                    Pick::Sample => rng.categorical(row).unwrap_or_else(|| argmax(row)),
                })
                .collect();
            let live = self.constant(alive.iter().map(|&a| f32::from(a)).collect(), [b, 1]);
            let picked = self.ids(chosen.iter().map(|&i| i as i64).collect(), [b, 1]);
            let lp = dist.clone().gather(1, picked.clone()).add_scalar(1e-10).log() * live.clone();
            dists.push(dist * live.clone() + pad_row.clone() * live.neg().add_scalar(1.0));
            log_probs.push(lp);
            for r in 0..b {
                if alive[r] {
                    words[r].push(chosen[r]);
                    alive[r] = chosen[r] != STOP_ID;
                }
            }
            prev_ids = picked;
        }
        Ok(FreeRun { dists: Tensor::stack(dists, 1), log_probs: Tensor::cat(log_probs, 1), words })
    }

    /// Encodes one article for decoding (`ids` in the fixed vocabulary).
    pub fn encode_one(&self, ids: &[usize]) -> Encoded {
        // An empty article is read as one padding token.
        let (v, mask) = match ids {
            [] => (vec![super::vocab::PAD_ID as i64], vec![0.0]),
            _ => (ids.iter().map(|&i| i as i64).collect(), vec![1.0; ids.len()]),
        };
        let output = Some(ops::decoding_layout(self.output.v2.weight.val()));
        Encoded { output, ..self.encode(v, mask, 1, ids.len().max(1)) }
    }

    /// Repeats a one-article encoding for `k` beam rows.
    pub fn repeat(enc: &Encoded, k: usize) -> Encoded {
        Encoded {
            out: enc.out.clone().repeat_dim(0, k),
            features: enc.features.clone().repeat_dim(0, k),
            neg_mask: enc.neg_mask.clone().repeat_dim(0, k),
            h0: enc.h0.clone().repeat_dim(0, k),
            c0: enc.c0.clone().repeat_dim(0, k),
            output: enc.output.clone(),
        }
    }

    /// One decoding step for `K` rows: previous tokens (fixed vocabulary) → new state and
    /// the distributions the search combines on the host.
    pub fn decode_step(
        &self,
        enc: &Encoded,
        state: DecoderState,
        prev: &[usize],
    ) -> (DecoderState, DecodeOut) {
        let k = prev.len();
        let ids = self.ids(prev.iter().map(|&i| i as i64).collect(), [k, 1]);
        let emb = self.embedding.forward(ids).reshape([k, self.config.emb]);
        let out = self.step(enc, state, emb);
        let p_vocab =
            self.vocab_dist(enc, Tensor::cat(vec![out.state.h.clone(), out.context.clone()], 1));
        let p_gen = if self.config.pointer {
            self.p_gen(Tensor::cat(vec![out.context, out.s, out.x], 1))
        } else {
            self.constant(vec![1.0; k], [k, 1])
        };
        (out.state, DecodeOut { p_vocab, attn: out.attn, p_gen })
    }
}

/// Picks rows of a decoder state (beam reordering).
pub fn select_rows(state: DecoderState, rows: &[usize]) -> DecoderState {
    let rows = TensorData::new(rows.iter().map(|&r| r as i64).collect(), [rows.len()]);
    let idx = Tensor::<1, Int>::from_data(rows, &state.h.device());
    DecoderState {
        h: state.h.select(0, idx.clone()),
        c: state.c.select(0, idx.clone()),
        context: state.context.select(0, idx.clone()),
        coverage: state.coverage.select(0, idx),
    }
}

/// The index of the largest value (the first on ties; 0 for an empty or all-NaN row).
fn argmax(row: &[f32]) -> usize {
    (0..row.len())
        .fold(0, |best, i| if row[i] > row[best] || row[best].is_nan() { i } else { best })
}
