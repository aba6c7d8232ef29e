//! The GAN objectives, written once for any critic input: 2-D points today, word
//! distributions and embedding vectors next. A critic is any [`Critic`] over a batch of vectors
//! `[B, dim]`; nothing here knows what the vectors mean.
//!
//! - GAN (Goodfellow et al. 2014): the discriminator minimises binary cross-entropy; the
//!   generator minimises `E log(1 − D(G(z)))` (minimax) or `−E log D(G(z))` (non-saturating).
//! - WGAN (Arjovsky et al. 2017, Algorithm 1): the critic maximises `E f(x) − E f(G(z))` and
//!   its weights are clipped to `[−c, c]` after each update.
//! - WGAN-GP (Gulrajani et al. 2017, Algorithm 1): adds `λ E (‖∇f(x̂)‖₂ − 1)²` on random
//!   interpolates `x̂ = εx + (1 − ε)G(z)`.
//! - CT-GAN (Wei et al. 2018): adds `λ₂ E max(0, d(D(x′), D(x″)) + 0.1 d(D₋(x′), D₋(x″)) − M′)`,
//!   where `x′` and `x″` are two dropout-perturbed passes over the same real batch.

use burn::tensor::{Tensor, activation};
use serde::{Deserialize, Serialize};

use super::critic::Critic;
use super::train::tensor2;
use crate::rng::Rng;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Objective {
    /// Jensen–Shannon GAN.
    Gan {
        /// `−log D(G(z))` for the generator instead of `log(1 − D(G(z)))`, which saturates
        /// when the discriminator wins (Goodfellow et al. 2014, §3).
        non_saturating: bool,
    },
    /// WGAN with weight clipping.
    Wgan {
        /// Clip every critic parameter to [−c, c] (the paper's c = 0.01).
        clip: f64,
    },
    /// WGAN with gradient penalty.
    WganGp {
        /// Penalty weight: 10 in the paper's experiments, 0.1 in its toy code.
        lambda: f64,
    },
    /// WGAN-GP plus the consistency term.
    CtGan {
        /// λ₁, the gradient-penalty weight (10 in Wei et al.).
        lambda_gp: f64,
        /// λ₂, the consistency-term weight (2 in Wei et al.).
        lambda_ct: f64,
        /// M′, the slack of the consistency term (0.2 in Wei et al.'s code).
        m_prime: f64,
        /// Dropout rate of the two perturbed critic passes (0.5 in Wei et al.).
        dropout: f64,
    },
}

impl Default for Objective {
    /// The non-saturating GAN, the first of [`Objective::paper_defaults`].
    fn default() -> Self {
        Objective::Gan { non_saturating: true }
    }
}

impl Objective {
    pub const NAMES: [&'static str; 5] = ["gan", "gan-minimax", "wgan", "wgan-gp", "ct-gan"];

    /// Every objective with its paper's default hyperparameters (WGAN-GP: the toy code's
    /// λ 0.1), in the order of [`Objective::NAMES`].
    pub fn paper_defaults() -> [Self; 5] {
        [
            Objective::Gan { non_saturating: true },
            Objective::Gan { non_saturating: false },
            Objective::Wgan { clip: 0.01 },
            Objective::WganGp { lambda: 0.1 },
            Objective::CtGan { lambda_gp: 10.0, lambda_ct: 2.0, m_prime: 0.2, dropout: 0.5 },
        ]
    }

    /// The objective of [`Objective::paper_defaults`] that `name` (or an alias) names.
    pub fn from_name(name: &str) -> Option<Self> {
        let name = name.trim().to_ascii_lowercase();
        let name = match name.as_str() {
            "gan-ns" => "gan",
            "ctgan" => "ct-gan",
            other => other,
        };
        Self::paper_defaults().into_iter().find(|o| o.name() == name)
    }

    pub fn name(&self) -> &'static str {
        match self {
            Objective::Gan { non_saturating: true } => "gan",
            Objective::Gan { non_saturating: false } => "gan-minimax",
            Objective::Wgan { .. } => "wgan",
            Objective::WganGp { .. } => "wgan-gp",
            Objective::CtGan { .. } => "ct-gan",
        }
    }

    /// True for the Wasserstein objectives, whose critic estimates W1 (up to a constant).
    pub fn is_wasserstein(&self) -> bool {
        !matches!(self, Objective::Gan { .. })
    }

    /// What the critic's estimate means: W1, or JS for the Jensen–Shannon GAN.
    pub fn estimate_name(&self) -> &'static str {
        if self.is_wasserstein() { "W estimate" } else { "JS estimate" }
    }
}

/// Numerically stable `log(1 + eˣ)`.
pub fn softplus(x: Tensor<2>) -> Tensor<2> {
    activation::relu(x.clone()) + x.abs().neg().exp().log1p()
}

/// The critic's loss and what it says about the two distributions.
#[derive(Clone, Debug)]
pub struct CriticTerms {
    /// What the critic minimises.
    pub loss: Tensor<1>,
    /// W1 estimate `E f(x) − E f(G(z))`, or for the GAN the JS estimate from the
    /// optimal-discriminator identity `V = −log 4 + 2·JS`.
    pub estimate: Tensor<1>,
    /// Weighted regularisers (gradient penalty, consistency term); zero when there are none.
    pub penalty: Tensor<1>,
}

/// Inverted-dropout masks, one per hidden layer, drawn from `rng` (so runs are reproducible
/// on every device).
pub fn dropout_masks(
    critic: &impl Critic,
    batch: usize,
    rate: f64,
    rng: &mut Rng,
) -> Vec<Tensor<2>> {
    let keep = 1.0 - rate;
    critic
        .hidden_widths()
        .into_iter()
        .map(|width| {
            let m: Vec<f32> = (0..batch * width)
                .map(|_| if rng.uniform() < keep { (1.0 / keep) as f32 } else { 0.0 })
                .collect();
            tensor2(m, batch, width, &critic.device()).inner()
        })
        .collect()
}

/// `λ E (‖∇f(x̂)‖₂ − 1)²` with exact weight gradients (see [`Critic::input_grad`]).
pub fn gradient_penalty(
    critic: &impl Critic,
    real: Tensor<2>,
    fake: Tensor<2>,
    rng: &mut Rng,
) -> Tensor<1> {
    let batch = real.dims()[0];
    let eps = tensor2(rng.uniforms_f32(batch), batch, 1, &real.device());
    let one_minus = eps.clone().neg().add_scalar(1.0);
    let x_hat = real * eps + fake * one_minus;
    let (_, grad) = critic.input_grad(x_hat);
    row_norm(grad).sub_scalar(1.0).square().mean()
}

/// The Euclidean norm of each row `[B, 1]`, kept differentiable at zero.
fn row_norm(x: Tensor<2>) -> Tensor<2> {
    x.square().sum_dim(1).add_scalar(1e-12).sqrt()
}

/// The critic's outputs on a real and a fake batch. One pass over both when samples are
/// scored independently; two when the critic compares each sample with its own batch
/// (minibatch discrimination), so a real batch is never mixed with a generated one.
fn outputs(critic: &impl Critic, real: Tensor<2>, fake: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
    if !critic.scores_each_sample() {
        return (critic.forward(real), critic.forward(fake));
    }
    let batch = real.dims()[0];
    let out = critic.forward(Tensor::cat(vec![real, fake], 0));
    (out.clone().narrow(0, 0, batch), out.narrow(0, batch, batch))
}

/// The critic's loss on one batch. `real` and `fake` are `[B, dim]`; `fake` should be a
/// constant (no gradient flows back into the generator here).
pub fn critic_terms(
    objective: &Objective,
    critic: &impl Critic,
    real: Tensor<2>,
    fake: Tensor<2>,
    label_smoothing: Option<f64>,
    rng: &mut Rng,
) -> CriticTerms {
    let batch = real.dims()[0];
    match *objective {
        Objective::Gan { .. } => {
            let (d_real, d_fake) = outputs(critic, real, fake);
            // −log D(x) = softplus(−d), −log(1 − D(x)) = softplus(d).
            let real_term = softplus(d_real.clone().neg()).mean();
            let fake_term = softplus(d_fake).mean();
            let value = (real_term.clone() + fake_term.clone()).neg();
            let estimate = value.add_scalar(4f64.ln()).div_scalar(2.0);
            let loss = match label_smoothing {
                // One-sided label smoothing: real targets t < 1, fake targets stay 0.
                Some(t) => {
                    real_term.mul_scalar(t)
                        + softplus(d_real).mean().mul_scalar(1.0 - t)
                        + fake_term
                }
                None => real_term + fake_term,
            };
            CriticTerms { penalty: loss.clone().mul_scalar(0.0).detach(), loss, estimate }
        }
        Objective::Wgan { .. } | Objective::WganGp { .. } => {
            let (d_real, d_fake) = outputs(critic, real.clone(), fake.clone());
            let w = d_real.mean() - d_fake.mean();
            let penalty = match *objective {
                Objective::WganGp { lambda } => {
                    gradient_penalty(critic, real, fake, rng).mul_scalar(lambda)
                }
                _ => w.clone().mul_scalar(0.0).detach(),
            };
            CriticTerms { loss: w.clone().neg() + penalty.clone(), estimate: w, penalty }
        }
        Objective::CtGan { lambda_gp, lambda_ct, m_prime, dropout } => {
            let m1 = dropout_masks(critic, batch, dropout, rng);
            let m2 = dropout_masks(critic, batch, dropout, rng);
            let p1 = critic.pass(real.clone(), Some(&m1));
            let p2 = critic.pass(real.clone(), Some(&m2));
            // The Wasserstein term reads both sides without dropout (Wei et al.'s Algorithm 1,
            // seed 002's Algorithm 5: D(G(z)) − D(x)). Dropout on the real side only would let
            // the critic score "was dropped out" instead of "is real": the gradient penalty,
            // taken without dropout, never sees that, and the estimate grows without bound.
            let (d_real, d_fake) = outputs(critic, real.clone(), fake.clone());
            let w = d_real.mean() - d_fake.mean();
            let gp = gradient_penalty(critic, real, fake, rng).mul_scalar(lambda_gp);
            let d_out = (p1.out - p2.out).abs().squeeze_dim::<1>(1);
            let d_feat = row_norm(p1.features - p2.features).squeeze_dim::<1>(1);
            let ct = activation::relu((d_out + d_feat.mul_scalar(0.1)).sub_scalar(m_prime))
                .mean()
                .mul_scalar(lambda_ct);
            let penalty = gp + ct;
            CriticTerms { loss: w.clone().neg() + penalty.clone(), estimate: w, penalty }
        }
    }
}

/// The generator's loss given a constant critic and generated points that carry gradients.
/// With `real_features` (feature matching, Salimans et al. 2016) the generator instead matches
/// the mean of the critic's last hidden layer on real data.
pub fn generator_loss(
    objective: &Objective,
    critic: &impl Critic,
    fake: Tensor<2>,
    real_features: Option<Tensor<2>>,
) -> Tensor<1> {
    let pass = critic.pass(fake, None);
    if let Some(real) = real_features {
        let diff = real.mean_dim(0) - pass.features.mean_dim(0);
        return diff.square().sum();
    }
    match objective {
        Objective::Gan { non_saturating: true } => softplus(pass.out.neg()).mean(),
        Objective::Gan { non_saturating: false } => softplus(pass.out).mean().neg(),
        _ => pass.out.mean().neg(),
    }
}
