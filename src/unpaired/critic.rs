//! A critic over summaries given as sequences of word distributions (Wang & Lee's method 1).
//!
//! A summary of `S` steps over a vocabulary of `V` words is one vector of `S·V` numbers: the
//! generator's per-step distributions, or one-hot rows for a human summary. The critic embeds
//! each step's distribution with a table `E` `[V, e]` (a matrix product, so a one-hot row is an
//! embedding lookup and a soft row is the expected embedding) and an [`Mlp`] reads the `S·e`
//! concatenated embeddings: a first layer over the whole sequence, which is a convolution as
//! wide as the summary.
//!
//! Its input gradient is exact as forward operations: the embedding is linear, so
//! `∇ₓf = (∇_{xE} f)·Eᵀ` step by step, with the MLP's own [`Mlp::input_grad`] inside. First-order
//! autodiff of `‖∇ₓf‖` then reaches both `E` and the MLP's weights, which is what the gradient
//! penalty needs (proved against float64 finite differences in `tests/seq_critic.rs`).

use burn::module::{Module, Param};
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::gan::critic::Critic;
use crate::gan::mlp::{Activation, Mlp, MlpConfig, Pass};
use crate::nn::param;
use crate::rng::Rng;

/// Sizes of a [`SeqCritic`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeqCriticConfig {
    /// Summary length `S` in steps (Wang & Lee: 13 words and EOS).
    pub steps: usize,
    /// Vocabulary size `V` of the distributions.
    pub vocab: usize,
    /// Embedding width `e` of each step.
    pub emb: usize,
    /// Hidden units of each MLP layer.
    pub hidden: usize,
    /// Hidden layers of the MLP.
    pub depth: usize,
    /// Leaky ReLU, as MUSE's critic: a ReLU critic over one-hot inputs leaves units dead.
    pub activation: Activation,
}

impl SeqCriticConfig {
    /// Embedding N(0, 1/e) so an embedded step has unit scale; the MLP as PyTorch's default.
    pub fn init(&self, rng: &mut Rng, device: &Device) -> SeqCritic {
        let std = 1.0 / (self.emb as f64).sqrt();
        let e: Vec<f32> = (0..self.vocab * self.emb).map(|_| (rng.normal() * std) as f32).collect();
        let embed = param(e, [self.vocab, self.emb], device);
        let mlp =
            MlpConfig::new(self.steps * self.emb, self.hidden, self.depth, 1, self.activation);
        SeqCritic { embed, mlp: mlp.init(rng, device), steps: self.steps }
    }
}

/// Embedding table `[V, e]` and an MLP over `S·e` inputs. Input rows are `[S·V]`, step-major.
#[derive(Module, Debug)]
pub struct SeqCritic {
    pub embed: Param<Tensor<2>>,
    pub mlp: Mlp,
    #[module(skip)]
    pub steps: usize,
}

impl SeqCritic {
    /// `[B, S·V]` → `[B, S·e]`.
    pub fn embed(&self, x: Tensor<2>) -> Tensor<2> {
        let [b, _] = x.dims();
        let [v, e] = self.embed.dims();
        x.reshape([b * self.steps, v]).matmul(self.embed.val()).reshape([b, self.steps * e])
    }

    /// The scores `[B, 1]` of summaries given as word ids, `S` per row, step-major (each
    /// below `V`): what [`Critic::forward`] gives their one-hot rows, with each step's
    /// embedding looked up instead of multiplied out. A one-hot row times `E` is that row of
    /// `E` exactly, so the two agree to the MLP's rounding, and the lookup skips a `[B·S, V]`
    /// product (method 2 scores every prefix of every summary this way).
    pub fn score_ids(&self, ids: Vec<i64>) -> Tensor<2> {
        let (n, rows) = (ids.len(), ids.len() / self.steps.max(1));
        let e = self.embed.dims()[1];
        let ids = Tensor::<1, Int>::from_data(TensorData::new(ids, [n]), &self.device());
        let embedded = self.embed.val().select(0, ids).reshape([rows, self.steps * e]);
        self.mlp.forward(embedded)
    }
}

impl Critic for SeqCritic {
    fn device(&self) -> Device {
        self.embed.device()
    }

    fn pass(&self, x: Tensor<2>, dropout: Option<&[Tensor<2>]>) -> Pass {
        self.mlp.pass(self.embed(x), dropout)
    }

    fn input_grad(&self, x: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let ([b, _], [v, e]) = (x.dims(), self.embed.dims());
        let (out, g) = self.mlp.input_grad(self.embed(x));
        let g = g.reshape([b * self.steps, e]).matmul(self.embed.val().transpose());
        (out, g.reshape([b, self.steps * v]))
    }

    fn hidden_widths(&self) -> Vec<usize> {
        Critic::hidden_widths(&self.mlp)
    }
}
