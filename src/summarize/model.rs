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
//! Every parameter is a rank-2 tensor (biases `[1, n]`), weights are `[in, out]`, and LSTM
//! gates are ordered i, f, g, o as in PyTorch. Constants built here take the parameters'
//! dtype, so the whole model runs in float64 for the gradient check.

use burn::tensor::{Device, Int, Tensor, TensorData, activation};

use super::batch::Batch;
use super::config::ModelConfig;
use crate::ops;
use crate::rng::Rng;

/// One LSTM: `gates = x W_ih + h W_hh + b`.
#[derive(Clone, Debug)]
pub struct Lstm {
    pub w_ih: Tensor<2>,
    pub w_hh: Tensor<2>,
    pub b: Tensor<2>,
}

/// An affine map `x W + b`.
#[derive(Clone, Debug)]
pub struct Linear {
    pub w: Tensor<2>,
    pub b: Tensor<2>,
}

impl Linear {
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        x.matmul(self.w.clone()) + self.b.clone()
    }
}

#[derive(Clone, Debug)]
pub struct PointerGenerator {
    pub config: ModelConfig,
    pub embedding: Tensor<2>,
    pub enc_fw: Lstm,
    pub enc_bw: Lstm,
    pub reduce_h: Linear,
    pub reduce_c: Linear,
    pub dec_input: Linear,
    pub dec: Lstm,
    /// `W_h`, `[2H, A]` (no bias).
    pub attn_h: Tensor<2>,
    /// `W_s` and the attention bias, `[2H, A]`.
    pub attn_s: Linear,
    /// `w_c`, `[1, A]`.
    pub attn_cov: Tensor<2>,
    /// `w`, `[A, 1]`.
    pub attn_v: Tensor<2>,
    /// `V`, `[3H, H]`.
    pub out1: Linear,
    /// `V′`, `[H, vocab]`.
    pub out2: Linear,
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

fn uniform(rng: &mut Rng, n: usize, mag: f64) -> Vec<f32> {
    (0..n).map(|_| ((2.0 * rng.uniform() - 1.0) * mag) as f32).collect()
}

fn normal(rng: &mut Rng, n: usize, std: f64) -> Vec<f32> {
    // Truncated at 2σ, like TensorFlow's truncated_normal_initializer.
    (0..n)
        .map(|_| loop {
            let z = rng.normal();
            if z.abs() <= 2.0 {
                break (z * std) as f32;
            }
        })
        .collect()
}

fn t2(values: Vec<f32>, shape: [usize; 2], device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

impl Lstm {
    fn init(rng: &mut Rng, input: usize, hidden: usize, mag: f64, device: &Device) -> Self {
        // See et al.: uniform(±0.02) weights; TensorFlow's LSTMCell adds 1 to the forget gate.
        let mut b = vec![0.0; 4 * hidden];
        b[hidden..2 * hidden].iter_mut().for_each(|v| *v = 1.0);
        Lstm {
            w_ih: t2(uniform(rng, input * 4 * hidden, mag), [input, 4 * hidden], device),
            w_hh: t2(uniform(rng, hidden * 4 * hidden, mag), [hidden, 4 * hidden], device),
            b: t2(b, [1, 4 * hidden], device),
        }
    }
}

impl Linear {
    fn init(rng: &mut Rng, input: usize, output: usize, std: f64, device: &Device) -> Self {
        Linear { w: t2(normal(rng, input * output, std), [input, output], device), b: t2(vec![0.0; output], [1, output], device) }
    }
}

/// Names in the checkpoint, in the order of [`PointerGenerator::params`].
pub const PARAM_NAMES: [&str; 27] = [
    "embedding.weight",
    "encoder.forward.weight_ih",
    "encoder.forward.weight_hh",
    "encoder.forward.bias",
    "encoder.backward.weight_ih",
    "encoder.backward.weight_hh",
    "encoder.backward.bias",
    "reduce_h.weight",
    "reduce_h.bias",
    "reduce_c.weight",
    "reduce_c.bias",
    "decoder_input.weight",
    "decoder_input.bias",
    "decoder.weight_ih",
    "decoder.weight_hh",
    "decoder.bias",
    "attention.w_h",
    "attention.w_s.weight",
    "attention.w_s.bias",
    "attention.w_c",
    "attention.v",
    "output.v1.weight",
    "output.v1.bias",
    "output.v2.weight",
    "output.v2.bias",
    "p_gen.weight",
    "p_gen.bias",
];

impl PointerGenerator {
    /// Fresh weights, initialised as in See et al.'s code (uniform ±0.02 for the LSTMs,
    /// truncated normal with σ 1e-4 elsewhere).
    pub fn init(config: &ModelConfig, seed: u64, device: &Device) -> Self {
        let mut rng = Rng::stream(seed, 21, 0);
        let (v, e, h, a) = (config.vocab_size, config.emb, config.hidden, config.attn());
        let (std, mag) = (config.init_std, config.init_uniform);
        PointerGenerator {
            config: config.clone(),
            embedding: t2(normal(&mut rng, v * e, std), [v, e], device),
            enc_fw: Lstm::init(&mut rng, e, h, mag, device),
            enc_bw: Lstm::init(&mut rng, e, h, mag, device),
            reduce_h: Linear::init(&mut rng, 2 * h, h, std, device),
            reduce_c: Linear::init(&mut rng, 2 * h, h, std, device),
            dec_input: Linear::init(&mut rng, e + 2 * h, e, std, device),
            dec: Lstm::init(&mut rng, e, h, mag, device),
            attn_h: t2(normal(&mut rng, 2 * h * a, std), [2 * h, a], device),
            attn_s: Linear::init(&mut rng, 2 * h, a, std, device),
            attn_cov: t2(normal(&mut rng, a, std), [1, a], device),
            attn_v: t2(normal(&mut rng, a, std), [a, 1], device),
            out1: Linear::init(&mut rng, 3 * h, h, std, device),
            out2: Linear::init(&mut rng, h, v, std, device),
            p_gen: Linear::init(&mut rng, 4 * h + e, 1, std, device),
        }
    }

    /// Every parameter, in the order of [`PARAM_NAMES`].
    pub fn params(&self) -> Vec<Tensor<2>> {
        let lstm = |l: &Lstm| [l.w_ih.clone(), l.w_hh.clone(), l.b.clone()];
        let lin = |l: &Linear| [l.w.clone(), l.b.clone()];
        let mut p = vec![self.embedding.clone()];
        p.extend(lstm(&self.enc_fw));
        p.extend(lstm(&self.enc_bw));
        p.extend(lin(&self.reduce_h));
        p.extend(lin(&self.reduce_c));
        p.extend(lin(&self.dec_input));
        p.extend(lstm(&self.dec));
        p.push(self.attn_h.clone());
        p.extend(lin(&self.attn_s));
        p.push(self.attn_cov.clone());
        p.push(self.attn_v.clone());
        p.extend(lin(&self.out1));
        p.extend(lin(&self.out2));
        p.extend(lin(&self.p_gen));
        p
    }

    /// The inverse of [`PointerGenerator::params`]; `None` if the count is wrong.
    pub fn from_params(config: &ModelConfig, params: Vec<Tensor<2>>) -> Option<Self> {
        if params.len() != PARAM_NAMES.len() {
            return None;
        }
        let mut it = params.into_iter();
        let mut next = || it.next().expect("counted above");
        let lstm = |n: &mut dyn FnMut() -> Tensor<2>| Lstm { w_ih: n(), w_hh: n(), b: n() };
        let embedding = next();
        let enc_fw = lstm(&mut next);
        let enc_bw = lstm(&mut next);
        let lin = |n: &mut dyn FnMut() -> Tensor<2>| Linear { w: n(), b: n() };
        let reduce_h = lin(&mut next);
        let reduce_c = lin(&mut next);
        let dec_input = lin(&mut next);
        let dec = lstm(&mut next);
        let attn_h = next();
        let attn_s = lin(&mut next);
        let attn_cov = next();
        let attn_v = next();
        let out1 = lin(&mut next);
        let out2 = lin(&mut next);
        let p_gen = lin(&mut next);
        Some(PointerGenerator { config: config.clone(), embedding, enc_fw, enc_bw, reduce_h, reduce_c, dec_input, dec, attn_h, attn_s, attn_cov, attn_v, out1, out2, p_gen })
    }

    /// Expected shape of each parameter, in order.
    pub fn shapes(config: &ModelConfig) -> Vec<[usize; 2]> {
        let (v, e, h, a) = (config.vocab_size, config.emb, config.hidden, config.attn());
        vec![
            [v, e],
            [e, 4 * h],
            [h, 4 * h],
            [1, 4 * h],
            [e, 4 * h],
            [h, 4 * h],
            [1, 4 * h],
            [2 * h, h],
            [1, h],
            [2 * h, h],
            [1, h],
            [e + 2 * h, e],
            [1, e],
            [e, 4 * h],
            [h, 4 * h],
            [1, 4 * h],
            [2 * h, a],
            [2 * h, a],
            [1, a],
            [1, a],
            [a, 1],
            [3 * h, h],
            [1, h],
            [h, v],
            [1, v],
            [4 * h + e, 1],
            [1, 1],
        ]
    }

    pub fn map(self, f: impl FnMut(Tensor<2>) -> Tensor<2>) -> Self {
        let config = self.config.clone();
        Self::from_params(&config, self.params().into_iter().map(f).collect()).expect("same parameters")
    }

    fn device(&self) -> Device {
        self.embedding.device()
    }

    /// A float constant with the parameters' dtype.
    fn constant<const D: usize>(&self, values: Vec<f32>, shape: [usize; D]) -> Tensor<D> {
        Tensor::<D>::from_data(TensorData::new(values, shape), &self.device()).cast(self.embedding.dtype())
    }

    fn ids(&self, values: Vec<i64>, shape: [usize; 2]) -> Tensor<2, Int> {
        Tensor::<2, Int>::from_data(TensorData::new(values, shape), &self.device())
    }

    /// Runs the bidirectional encoder over `[B, T]` ids with `[B, T]` mask (1 on tokens). Each
    /// direction is one fused sequence op ([`crate::ops::lstm_seq`]): a padded position keeps the
    /// state unchanged and outputs zeros, so each direction sees exactly its sequence's tokens.
    pub fn encode(&self, ids: Vec<i64>, mask: Vec<f32>, batch: usize, len: usize) -> Encoded {
        let h = self.config.hidden;
        let emb = burn::tensor::module::embedding(self.embedding.clone(), self.ids(ids, [batch, len])); // [B, T, E]
        let m = self.constant(mask.clone(), [batch, len]);
        let run = |l: &Lstm, reverse: bool| ops::lstm_seq(emb.clone(), l.w_ih.clone(), l.w_hh.clone(), l.b.clone(), m.clone(), reverse);
        let (out_fw, h_fw, c_fw) = run(&self.enc_fw, false);
        let (out_bw, h_bw, c_bw) = run(&self.enc_bw, true);
        let out = Tensor::cat(vec![out_fw, out_bw], 2); // [B, T, 2H]
        let a = self.config.attn();
        let features = out.clone().reshape([batch * len, 2 * h]).matmul(self.attn_h.clone()).reshape([batch, len, a]);
        let h0 = activation::relu(self.reduce_h.forward(Tensor::cat(vec![h_fw, h_bw], 1)));
        let c0 = activation::relu(self.reduce_c.forward(Tensor::cat(vec![c_fw, c_bw], 1)));
        let neg_mask = self.constant(mask.iter().map(|&v| (v - 1.0) * 1e9).collect(), [batch, len]);
        Encoded { out, features, neg_mask, h0, c0 }
    }

    /// The decoder's state before the first step.
    pub fn initial_state(&self, enc: &Encoded) -> DecoderState {
        let [b, t, _] = enc.out.dims();
        DecoderState {
            h: enc.h0.clone(),
            c: enc.c0.clone(),
            context: self.constant(vec![0.0; b * 2 * self.config.hidden], [b, 2 * self.config.hidden]),
            coverage: self.constant(vec![0.0; b * t], [b, t]),
        }
    }

    /// One decoder step from input embeddings `emb` `[B, E]`.
    fn step(&self, enc: &Encoded, state: DecoderState, emb: Tensor<2>) -> StepOut {
        let [b, t, _] = enc.out.dims();
        let hd = self.config.hidden;
        let x = self.dec_input.forward(Tensor::cat(vec![emb, state.context], 1));
        let gates = x.clone().matmul(self.dec.w_ih.clone()) + self.dec.b.clone() + state.h.matmul(self.dec.w_hh.clone());
        let s = ops::lstm_cell(gates, state.c); // [c; h]
        let (c, h) = (s.clone().narrow(1, 0, hd), s.clone().narrow(1, hd, hd));
        let dec_features = self.attn_s.forward(s.clone()); // [B, A]
        // Without coverage the scores ignore it: zeros in, and w_c gets no gradient.
        let coverage_in = if self.config.coverage { state.coverage.clone() } else { state.coverage.zeros_like() };
        let e = ops::attention_scores(enc.features.clone(), dec_features, coverage_in, self.attn_cov.clone(), self.attn_v.clone()) + enc.neg_mask.clone();
        let attn = activation::softmax(e, 1);
        let context = attn.clone().reshape([b, 1, t]).matmul(enc.out.clone()).reshape([b, 2 * hd]);
        let cov_loss = attn.clone().min_pair(state.coverage.clone()).sum_dim(1);
        let coverage = state.coverage + attn.clone();
        StepOut { state: DecoderState { h, c, context: context.clone(), coverage }, attn, context, s, x, cov_loss }
    }

    /// `p_vocab` for rows `[h; context]` `[N, 3H]`.
    fn vocab_dist(&self, h_ctx: Tensor<2>) -> Tensor<2> {
        // Decoding's few rows: a kernel that reads the [H, V] output matrix once per step.
        let logits = ops::project(self.out1.forward(h_ctx), self.out2.w.clone()) + self.out2.b.clone();
        ops::softmax_rows(logits)
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
        let dec_emb = burn::tensor::module::embedding(self.embedding.clone(), self.ids(batch.dec_in.clone(), [b, j])); // [B, J, E]
        let mut state = self.initial_state(&enc);
        let (mut hs, mut ctxs, mut ss, mut xs, mut attns, mut covs) = (vec![], vec![], vec![], vec![], vec![], vec![]);
        for k in 0..j {
            let out = self.step(&enc, state, dec_emb.clone().narrow(1, k, 1).reshape([b, e]));
            hs.push(out.state.h.clone());
            ctxs.push(out.context);
            ss.push(out.s);
            xs.push(out.x);
            attns.push(out.attn);
            covs.push(out.cov_loss);
            state = out.state;
        }
        // Rows ordered (b, j): stack on dim 1, then flatten.
        let rows = |v: Vec<Tensor<2>>, width: usize| Tensor::stack::<3>(v, 1).reshape([b * j, width]);
        let (h_all, ctx_all) = (rows(hs, hd), rows(ctxs, 2 * hd));
        let logits = self.out2.forward(self.out1.forward(Tensor::cat(vec![h_all, ctx_all.clone()], 1))); // [BJ, V]
        let target = Tensor::<2, Int>::from_data(TensorData::new(batch.target_vocab.clone(), [b * j, 1]), &self.device());
        let in_vocab = self.constant(batch.target_in_vocab.clone(), [b * j, 1]);
        // p_vocab at the target only: the fused op never materialises the [BJ, V] softmax.
        let p_vocab_target = ops::softmax_pick(logits, target) * in_vocab; // [BJ, 1]
        let prob = if self.config.pointer {
            let p_gen = self.p_gen(Tensor::cat(vec![ctx_all, rows(ss, 2 * hd), rows(xs, e)], 1)); // [BJ, 1]
            let attn_all = Tensor::stack::<3>(attns, 1); // [B, J, T]
            let copy_mask = self.constant(batch.copy_mask.clone(), [b, j, t]);
            let p_copy = (attn_all * copy_mask).sum_dim(2).reshape([b * j, 1]);
            p_gen.clone() * p_vocab_target + p_gen.neg().add_scalar(1.0) * p_copy
        } else {
            p_vocab_target
        };
        let nll = prob.add_scalar(1e-10).log().neg().reshape([b, j]);
        let cov = Tensor::cat(covs, 1); // [B, J]
        let mask = self.constant(batch.dec_mask.clone(), [b, j]);
        let lens = self.constant(batch.dec_lens.iter().map(|&n| n.max(1) as f32).collect(), [b, 1]);
        // Per example: the mean over its own steps; then the mean over the batch.
        let per_example = |v: Tensor<2>| (v * mask.clone()).sum_dim(1).div(lens.clone()).mean();
        let nll = per_example(nll);
        let coverage = if self.config.coverage { per_example(cov) } else { nll.clone().mul_scalar(0.0) };
        let total = if self.config.coverage && cov_loss_weight != 0.0 { nll.clone() + coverage.clone().mul_scalar(cov_loss_weight) } else { nll.clone() };
        Loss { total, nll, coverage }
    }

    /// Encodes one article for decoding (`ids` in the fixed vocabulary).
    pub fn encode_one(&self, ids: &[usize]) -> Encoded {
        let len = ids.len().max(1);
        let mut v: Vec<i64> = ids.iter().map(|&i| i as i64).collect();
        let mut mask = vec![1.0; ids.len()];
        if ids.is_empty() {
            v.push(super::vocab::PAD_ID as i64);
            mask.push(0.0);
        }
        self.encode(v, mask, 1, len)
    }

    /// Repeats a one-article encoding for `k` beam rows.
    pub fn repeat(enc: &Encoded, k: usize) -> Encoded {
        Encoded {
            out: enc.out.clone().repeat_dim(0, k),
            features: enc.features.clone().repeat_dim(0, k),
            neg_mask: enc.neg_mask.clone().repeat_dim(0, k),
            h0: enc.h0.clone().repeat_dim(0, k),
            c0: enc.c0.clone().repeat_dim(0, k),
        }
    }

    /// One decoding step for `K` rows: previous tokens (fixed vocabulary) → new state and
    /// the distributions the search combines on the host.
    pub fn decode_step(&self, enc: &Encoded, state: DecoderState, prev: &[usize]) -> (DecoderState, DecodeOut) {
        let k = prev.len();
        let ids = self.ids(prev.iter().map(|&i| i as i64).collect(), [k, 1]);
        let emb = burn::tensor::module::embedding(self.embedding.clone(), ids).reshape([k, self.config.emb]);
        let out = self.step(enc, state, emb);
        let p_vocab = self.vocab_dist(Tensor::cat(vec![out.state.h.clone(), out.context.clone()], 1));
        let p_gen = if self.config.pointer { self.p_gen(Tensor::cat(vec![out.context, out.s, out.x], 1)) } else { self.constant(vec![1.0; k], [k, 1]) };
        (out.state, DecodeOut { p_vocab, attn: out.attn, p_gen })
    }
}

/// Picks rows of a decoder state (beam reordering).
pub fn select_rows(state: DecoderState, rows: &[usize]) -> DecoderState {
    let device = state.h.device();
    let idx = Tensor::<1, Int>::from_data(TensorData::new(rows.iter().map(|&r| r as i64).collect::<Vec<_>>(), [rows.len()]), &device);
    DecoderState { h: state.h.select(0, idx.clone()), c: state.c.select(0, idx.clone()), context: state.context.select(0, idx.clone()), coverage: state.coverage.select(0, idx) }
}
