//! Divergences estimated from samples by training a network, as a GAN does: a discriminator
//! gives JS through the optimal-discriminator identity `V = −log 4 + 2·JS`, and a WGAN
//! critic gives W through `E f(real) − E f(fake)`. The fit uses the GAN engine's own
//! objectives and critic update ([`crate::gan::train::update_critic`]), one pure step at a
//! time so the page can yield between steps.

use burn::tensor::{Device, Tensor, activation};
use serde::{Deserialize, Serialize};

use crate::gan::mlp::{Activation, Mlp, MlpConfig};
use crate::gan::objective::{Objective, softplus};
use crate::gan::train::{RealData, tensor2, update_critic};
use crate::optim::{Optimizer, OptimizerConfig};
use crate::rng::Rng;

/// Which divergence the network estimates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Divergence {
    /// A minimax discriminator; JS from its value.
    Js,
    /// A WGAN-GP critic; W from its mean difference.
    W,
}

/// How the estimating network is built and trained.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EstimatorConfig {
    /// Hidden units per layer: 64 is plenty for these one- and two-dimensional problems.
    pub hidden: usize,
    /// Hidden layers (ReLU).
    pub depth: usize,
    /// Samples of each distribution per update.
    pub batch_size: usize,
    /// Updates to run.
    pub steps: usize,
    /// Adam with lr 1e-3 and WGAN-GP's toy β (0.5, 0.9): the paper's 1e-4 is tuned for a
    /// moving generator; against fixed distributions a larger step converges in seconds.
    pub optimizer: OptimizerConfig,
    /// How the W critic is held Lipschitz. By default WGAN-GP with λ = 50: the penalty is
    /// soft, and where the optimal critic has one slope k on all interpolates (as for the
    /// parallel lines), maximising `k·W − λ(k − 1)²` gives `k = 1 + W/(2λ)`, so the estimate
    /// reads `W + W²/(2λ)`; the paper's λ = 10 would overstate W = 1 by 5%, λ = 50 by 1%.
    /// In one dimension the penalty has a trap: a critic that starts with the wrong slope
    /// must pass through slope 0, where the penalty is λ, to flip; there we use WGAN's
    /// clipping instead (see [`EstimatorConfig::clipped`]).
    pub critic: Objective,
    /// Fresh samples of each distribution for the final estimate.
    pub eval_samples: usize,
    pub seed: u64,
}

impl EstimatorConfig {
    /// A WGAN critic with weight clipping (c = 0.01, as in Arjovsky et al.) and RMSProp. Its
    /// values are W up to an unknown scale, so read its shape, not its numbers. The lr is
    /// 5e-4 instead of the paper's 5e-5 because the distributions here stand still.
    pub fn clipped() -> Self {
        EstimatorConfig {
            critic: Objective::Wgan { clip: 0.01 },
            optimizer: OptimizerConfig::rmsprop(5e-4),
            ..Self::default()
        }
    }
}

impl Default for EstimatorConfig {
    fn default() -> Self {
        EstimatorConfig {
            hidden: 64,
            depth: 2,
            batch_size: 256,
            steps: 400,
            optimizer: OptimizerConfig::adam(1e-3, 0.5, 0.9),
            critic: Objective::WganGp { lambda: 50.0 },
            eval_samples: 4096,
            seed: 7,
        }
    }
}

/// What a trained network says.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Estimate {
    /// JS or W.
    pub value: f64,
    /// `∂value/∂x` averaged over the fake samples, per input dimension: the gradient a
    /// generator that shifts its samples receives (for the parallel lines, `d/dθ` is entry 0).
    pub generator_grad: Vec<f64>,
}

/// A network part-way through fitting; advance it with [`CriticFit::step`].
#[derive(Clone, Debug)]
pub struct CriticFit {
    pub kind: Divergence,
    pub config: EstimatorConfig,
    pub critic: Mlp,
    opt: Optimizer,
    pub step: u64,
}

const STREAM_INIT: u64 = 11;
const STREAM_TRAIN: u64 = 12;
const STREAM_EVAL: u64 = 13;

impl CriticFit {
    pub fn new(kind: Divergence, config: EstimatorConfig, dim: usize, device: &Device) -> Self {
        let net = MlpConfig::new(dim, config.hidden, config.depth, 1, Activation::Relu);
        let critic =
            net.init(&mut Rng::stream(config.seed, STREAM_INIT, kind as u64), device).trainable();
        let opt = config.optimizer.init();
        CriticFit { kind, config, critic, opt, step: 0 }
    }

    pub fn objective(&self) -> Objective {
        match self.kind {
            Divergence::Js => Objective::Gan { non_saturating: true },
            Divergence::W => self.config.critic.clone(),
        }
    }

    pub fn done(&self) -> bool {
        self.step >= self.config.steps as u64
    }

    /// One update on fresh batches of `real` and `fake`.
    pub fn step(self, real: &dyn RealData, fake: &dyn RealData) -> Self {
        let mut rng =
            Rng::stream(self.config.seed, STREAM_TRAIN + 10 * self.kind as u64, self.step);
        let (b, dim) = (self.config.batch_size, real.dim());
        let device = self.critic.device();
        let r = tensor2(real.sample(b, &mut rng), b, dim, &device);
        let f = tensor2(fake.sample(b, &mut rng), b, dim, &device);
        let objective = self.objective();
        let mut opt = self.opt;
        let (critic, _) =
            update_critic(self.critic, &mut opt, &objective, r, f, None, |_| None, 1.0, &mut rng);
        CriticFit { critic, opt, step: self.step + 1, ..self }
    }

    /// `[value, grad₀, grad₁, …]` on fresh samples, as one lazy tensor.
    pub fn estimate_tensor(&self, real: &dyn RealData, fake: &dyn RealData) -> Tensor<1> {
        let mut rng = Rng::stream(self.config.seed, STREAM_EVAL, 0);
        let (n, dim) = (self.config.eval_samples, real.dim());
        let critic = self.critic.frozen();
        let device = critic.device();
        let r = tensor2(real.sample(n, &mut rng), n, dim, &device);
        let f = tensor2(fake.sample(n, &mut rng), n, dim, &device);
        let out_real = critic.forward(r);
        let (out_fake, grad_fake) = critic.input_grad(f);
        let (value, grad) = match self.kind {
            Divergence::Js => {
                let v = (softplus(out_real.neg()).mean() + softplus(out_fake.clone()).mean()).neg();
                let js = v.add_scalar(4f64.ln()).div_scalar(2.0);
                // d/dx ½ log(1 − σ(l(x))) = −½ σ(l) ∇l
                let g = (grad_fake * activation::sigmoid(out_fake)).mean_dim(0).mul_scalar(-0.5);
                (js, g)
            }
            Divergence::W => (out_real.mean() - out_fake.mean(), grad_fake.mean_dim(0).neg()),
        };
        Tensor::cat(vec![value, grad.reshape([dim])], 0)
    }

    /// The value of the curves the 1-D panel draws, at each of `xs` (one input dimension):
    /// `[D(x) or f(x) …, |generator gradient| …]`. The generator's gradient is that of
    /// `log(1 − D(x))` (minimax) or of `−f(x)`.
    pub fn curve_tensor(&self, xs: &[f32]) -> Tensor<1> {
        let critic = self.critic.frozen();
        let n = xs.len();
        let (out, grad) = critic.input_grad(tensor2(xs.to_vec(), n, 1, &critic.device()));
        let (value, magnitude) = match self.kind {
            Divergence::Js => {
                let d = activation::sigmoid(out);
                (d.clone(), (grad * d).abs())
            }
            Divergence::W => (out, grad.abs()),
        };
        Tensor::cat(vec![value.reshape([n]), magnitude.reshape([n])], 0)
    }
}

impl Estimate {
    pub fn from_values(v: &[f32]) -> Self {
        let at = |i: usize| v.get(i).copied().unwrap_or(f32::NAN) as f64;
        Estimate { value: at(0), generator_grad: (1..v.len()).map(at).collect() }
    }
}

/// Reads a small tensor, natively or in the browser.
pub async fn read(t: Tensor<1>) -> Vec<f32> {
    t.into_data_async().await.ok().and_then(|d| d.try_to_vec::<f32>().ok()).unwrap_or_default()
}

/// Trains a network to the end and returns its estimate (natively, blocking).
#[cfg(not(target_arch = "wasm32"))]
pub fn fit(
    kind: Divergence,
    config: EstimatorConfig,
    real: &dyn RealData,
    fake: &dyn RealData,
    device: &Device,
) -> (CriticFit, Estimate) {
    let mut fit = CriticFit::new(kind, config, real.dim(), device);
    while !fit.done() {
        fit = fit.step(real, fake);
    }
    let values =
        fit.estimate_tensor(real, fake).into_data().try_to_vec::<f32>().unwrap_or_default();
    (fit, Estimate::from_values(&values))
}

/// The coefficient of determination of the least-squares line through `(xs, ys)`: 1 for a
/// straight line. Used to show that the critic is close to linear where D saturates.
pub fn linear_r2(xs: &[f64], ys: &[f64]) -> f64 {
    let n = xs.len().min(ys.len()) as f64;
    if n < 2.0 {
        return f64::NAN;
    }
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in xs.iter().zip(ys) {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx).powi(2);
        syy += (y - my).powi(2);
    }
    if sxx == 0.0 || syy == 0.0 { f64::NAN } else { sxy * sxy / (sxx * syy) }
}

/// One grid point of [`SaturationView`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SaturationRow {
    pub x: f64,
    /// The discriminator's D(x).
    pub d: f64,
    /// The critic f(x), rescaled to [0, 1] over the grid.
    pub critic: f64,
    /// The generator's gradient magnitude from D, `|∂/∂x log(1 − D)|`, relative to its peak.
    pub d_grad: f64,
    /// `|f′(x)|`, relative to its peak.
    pub f_grad: f64,
}

/// What the two-Gaussians page shows of a trained discriminator and WGAN critic (the WGAN
/// paper's Figure 2), read off their curves. The clipped critic is fixed only up to scale and
/// shift, so its values and both gradients are shown relative to their own range.
#[derive(Clone, Debug, PartialEq)]
pub struct SaturationView {
    pub rows: Vec<SaturationRow>,
    /// D at the real mean and at the fake mean.
    pub d_real: f64,
    pub d_fake: f64,
    /// The generator's gradient magnitude at the fake mean, from D and from the critic, each
    /// relative to its peak over the grid.
    pub d_grad_fake: f64,
    pub f_grad_fake: f64,
    /// R² of the least-squares line through the critic between the two means ([`linear_r2`]).
    pub critic_r2: f64,
}

impl SaturationView {
    /// `d` and `f` are the two networks' curves over the grid `xs` (`[2n]`: the values, then
    /// the gradient magnitudes, as [`CriticFit::curve_tensor`] reads them); `d_ends` and
    /// `f_ends` the same at the real and the fake mean (`[4]`). None when a curve does not
    /// have that shape.
    pub fn new(
        xs: &[f32],
        d: &[f32],
        f: &[f32],
        d_ends: &[f32],
        f_ends: &[f32],
        (real_mean, fake_mean): (f64, f64),
    ) -> Option<Self> {
        let n = xs.len();
        if d.len() != 2 * n || f.len() != 2 * n || d_ends.len() != 4 || f_ends.len() != 4 {
            return None;
        }
        let peak =
            |v: &[f32], extra: f32| v.iter().copied().fold(extra, f32::max).max(f32::MIN_POSITIVE);
        let (d_peak, f_peak) = (peak(&d[n..], d_ends[3]) as f64, peak(&f[n..], f_ends[3]) as f64);
        let (lo, hi) = f[..n]
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
        let span = ((hi - lo) as f64).max(f64::MIN_POSITIVE);
        let rows = (0..n)
            .map(|i| SaturationRow {
                x: xs[i] as f64,
                d: d[i] as f64,
                critic: (f[i] - lo) as f64 / span,
                d_grad: d[n + i] as f64 / d_peak,
                f_grad: f[n + i] as f64 / f_peak,
            })
            .collect();
        let between = |x: f64| (x - real_mean) * (x - fake_mean) <= 0.0;
        let (bx, by): (Vec<f64>, Vec<f64>) =
            (0..n).filter(|&i| between(xs[i] as f64)).map(|i| (xs[i] as f64, f[i] as f64)).unzip();
        Some(SaturationView {
            rows,
            d_real: d_ends[0] as f64,
            d_fake: d_ends[1] as f64,
            d_grad_fake: d_ends[3] as f64 / d_peak,
            f_grad_fake: f_ends[3] as f64 / f_peak,
            critic_r2: linear_r2(&bx, &by),
        })
    }
}

#[cfg(test)]
mod saturation_tests {
    use super::*;

    /// A saturated discriminator and a linear critic over a grid from −2 to 6, real mean 0 and
    /// fake mean 4: the view rescales the critic to [0, 1], puts both gradients' peaks at 1,
    /// reads the ends off as given, and finds the critic linear between the means.
    #[test]
    fn the_saturation_view_rescales_each_curve_by_its_own_range() {
        let xs: Vec<f32> = (0..=80).map(|i| -2.0 + 0.1 * i as f32).collect();
        let n = xs.len();
        let sigmoid = |z: f32| 1.0 / (1.0 + (-z).exp());
        let mut d: Vec<f32> = xs.iter().map(|&x| sigmoid(8.0 * (2.0 - x))).collect();
        // |∂/∂x log(1 − D)| = 8·D for this D: large where D is near 1, tiny at the fake mean.
        d.extend(xs.iter().map(|&x| 8.0 * sigmoid(8.0 * (2.0 - x))));
        let mut f: Vec<f32> = xs.iter().map(|&x| 0.01 * x - 0.3).collect();
        f.extend(xs.iter().map(|_| 0.01));
        let (d_ends, f_ends) =
            ([sigmoid(16.0), sigmoid(-16.0), 8.0, 8.0 * sigmoid(-16.0)], [-0.3, -0.26, 0.01, 0.01]);
        let v = SaturationView::new(&xs, &d, &f, &d_ends, &f_ends, (0.0, 4.0)).unwrap();
        assert_eq!(v.rows.len(), n);
        let first = v.rows[0];
        let last = v.rows[n - 1];
        assert!((first.critic - 0.0).abs() < 1e-6 && (last.critic - 1.0).abs() < 1e-6);
        let top = v.rows.iter().map(|r| r.d_grad).fold(0.0, f64::max);
        assert!((top - 1.0).abs() < 1e-6, "{top}");
        assert!(v.rows.iter().all(|r| (r.f_grad - 1.0).abs() < 1e-6));
        assert!(v.d_grad_fake < 1e-6 && (v.f_grad_fake - 1.0).abs() < 1e-6);
        assert_eq!((v.d_real, v.d_fake), (d_ends[0] as f64, d_ends[1] as f64));
        assert!((v.critic_r2 - 1.0).abs() < 1e-9, "{}", v.critic_r2);
        assert!(SaturationView::new(&xs, &d[..n], &f, &d_ends, &f_ends, (0.0, 4.0)).is_none());
    }
}
