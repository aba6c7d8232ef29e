//! The adversarial stage of MUSE (Conneau et al. 2018, §2.1) with any of the GAN lab's four
//! objectives (seed 002): a linear map W is the generator, mapping source vectors x to Wx; a
//! critic tells mapped sources from real target vectors. After each map update, W is pulled
//! back toward the orthogonal matrices: W ← (1 + β)W − β(WWᵀ)W.
//!
//! Nothing here is a GAN of its own: the critic update is [`crate::gan::train::update_critic`]
//! and the map's loss is [`crate::gan::objective::generator_loss`], the functions the GAN lab
//! trains 2-D points with. Only the generator (a matrix, not an MLP) and the data (rows of two
//! embedding tables) differ.

use std::collections::HashMap;

use burn::module::{Module, Param, ParamId};
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::linalg::Square;
use crate::bounds::InvalidSetting;
use crate::gan::mlp::{Activation, Mlp, MlpConfig};
use crate::gan::objective::{self, Objective};
use crate::gan::train::{tensor2, update_critic};
use crate::nn::{self, FloatMap, ReadError, read_floats};
use crate::optim::{Optimizer, OptimizerConfig, clip_global_norm, gradients};
use crate::record::{Reader, RecordError, Writer};
use crate::rng::Rng;

const STREAM_INIT: u64 = 11;
const STREAM_CRITIC: u64 = 12;
const STREAM_MAP: u64 = 13;

/// Every setting of the adversarial stage, with where it comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdversarialConfig {
    pub objective: Objective,
    /// Hidden layers of the critic (MUSE and seed 002: 2).
    pub critic_depth: usize,
    /// Units per hidden layer (MUSE and seed 002: 2,048, LeakyReLU 0.2).
    pub critic_hidden: usize,
    /// Layer normalisation after each of the critic's hidden layers (seed 002, §5.3 and
    /// Figure 5.1; MUSE has none).
    #[serde(default)]
    pub layer_norm: bool,
    /// Dropout on the critic's input while it trains (MUSE: 0.1).
    pub input_dropout: f64,
    /// σ of multiplicative Gaussian noise on the critic's inputs while it trains, x·(1 + σε)
    /// (Zhang et al. 2017 found noise essential on these vectors and used 0.5; MUSE: 0).
    pub input_noise: f64,
    /// Weight of the reconstruction term `1 − cos(x, WᵀWx)` in the map's loss (Zhang et al.'s
    /// adversarial autoencoder: 1; MUSE: 0). It keeps W invertible, as orthogonality does.
    #[serde(default)]
    pub reconstruction: f64,
    /// Start the map at a random rotation instead of the identity (Zhang et al.: orthogonal init).
    #[serde(default)]
    pub random_init: bool,
    /// Only the most frequent words of each side are shown to the critic (MUSE: 75,000 of
    /// 200,000; here the vocabularies hold 4,774 and 6,637 words).
    pub most_frequent: usize,
    /// Words per batch, from each side (MUSE: 32).
    pub batch_size: usize,
    /// Critic updates per map update (MUSE: 5).
    pub n_critic: usize,
    pub critic_optimizer: OptimizerConfig,
    pub map_optimizer: OptimizerConfig,
    /// β of the orthogonality update (seed 002: 0.01; MUSE's default 0.001).
    pub beta: f64,
    /// Rescale the map's gradient to this global norm when it is larger (None: never; MUSE
    /// and seed 002 do not clip). The orthogonality update diverges once a singular value of
    /// W passes √((2 + β)/β) ≈ 14 (at β 0.01), which one SGD step of 0.1 reaches when a critic
    /// without seed 002's layer normalisation hands the map a gradient of norm above ~130.
    #[serde(default)]
    pub map_grad_clip: Option<f64>,
    /// One-sided label smoothing of the Jensen–Shannon critic (MUSE smooths both sides by 0.1).
    pub label_smoothing: Option<f64>,
    pub seed: u64,
}

impl AdversarialConfig {
    /// The settings seed 002 reports for each objective on en-es: MUSE's SGD 0.1 for the
    /// vanilla GAN; RMSprop 5e-4 with clip 0.25 (WGAN); Adam 5e-4 with λ 0.5 (WGAN-GP); and
    /// λ_GP 0.5, λ_CT 2, M′ 0.2 (CT-GAN). The map keeps MUSE's SGD 0.1 in every case.
    pub fn paper(objective: &str) -> Option<Self> {
        let base = AdversarialConfig {
            objective: Objective::Gan { non_saturating: true },
            critic_depth: 2,
            critic_hidden: 2048,
            layer_norm: false,
            input_dropout: 0.1,
            input_noise: 0.0,
            reconstruction: 0.0,
            random_init: false,
            most_frequent: 4000,
            batch_size: 32,
            n_critic: 5,
            critic_optimizer: OptimizerConfig::sgd(0.1),
            map_optimizer: OptimizerConfig::sgd(0.1),
            beta: 0.01,
            map_grad_clip: None,
            label_smoothing: Some(0.9),
            seed: 0,
        };
        let adam = OptimizerConfig::adam(5e-4, 0.9, 0.999);
        let (objective, critic_optimizer) = match objective {
            "gan" => return Some(base),
            "wgan" => (Objective::Wgan { clip: 0.25 }, OptimizerConfig::rmsprop(5e-4)),
            "wgan-gp" => (Objective::WganGp { lambda: 0.5 }, adam),
            "ct-gan" => (
                Objective::CtGan { lambda_gp: 0.5, lambda_ct: 2.0, m_prime: 0.2, dropout: 0.5 },
                adam,
            ),
            _ => return None,
        };
        // WGAN and CT-GAN clip the map's gradient at norm 1: without it, every run of either
        // diverged here (README), which seed 002 avoided with layer normalisation in the critic.
        let clip = matches!(objective, Objective::Wgan { .. } | Objective::CtGan { .. });
        let map_grad_clip = clip.then_some(1.0);
        // The Wasserstein critics have no labels to smooth.
        Some(Self { objective, critic_optimizer, map_grad_clip, label_smoothing: None, ..base })
    }

    /// The settings that align real vectors most often here, the CLI's and the Align tab's
    /// defaults for word vectors: the paper's, except WGAN-GP, which gets seed 002's
    /// layer-normalised critic with λ 0.1. On es-en that aligned 4 of 5 seeds within 30,000 map
    /// updates; the thesis's λ 0.5 aligned 2 of 5 with layer normalisation and 3 of 5 without
    /// (README, "Seed 002's layer-normalised critic").
    pub fn real(objective: &str) -> Option<Self> {
        let paper = Self::paper(objective)?;
        Some(match paper.objective {
            Objective::WganGp { .. } => AdversarialConfig {
                objective: Objective::WganGp { lambda: 0.1 },
                layer_norm: true,
                ..paper
            },
            _ => paper,
        })
    }

    /// The 2-D toy's settings (the Align tab's and `align train --toy`): the objective's paper
    /// settings with a 2×64 critic that sees every point, and no input dropout (dropping one of
    /// two coordinates hides half of a point).
    pub fn toy(objective: &str) -> Option<Self> {
        Some(AdversarialConfig {
            critic_hidden: 64,
            input_dropout: 0.0,
            most_frequent: super::TOY_POINTS,
            ..Self::paper(objective)?
        })
    }

    /// The Align tab's settings for real vectors: [`Self::real`]'s, with a 2×256 critic (the
    /// experiments' size) so a step stays quick in a browser.
    pub fn page(objective: &str) -> Option<Self> {
        Some(AdversarialConfig { critic_hidden: 256, ..Self::real(objective)? })
    }

    pub fn critic_net(&self, dim: usize) -> MlpConfig {
        let net =
            MlpConfig::new(dim, self.critic_hidden, self.critic_depth, 1, Activation::LeakyRelu);
        MlpConfig { layer_norm: self.layer_norm, ..net }
    }

    /// The message names the bad field.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        let lr_ok = |o: &OptimizerConfig| o.lr().is_finite() && o.lr() > 0.0;
        InvalidSetting::first(&[
            (
                self.reconstruction.is_finite() && self.reconstruction >= 0.0,
                "reconstruction must be a finite number ≥ 0",
            ),
            (self.critic_depth <= 8, "critic_depth must be at most 8"),
            ((1..=8192).contains(&self.critic_hidden), "critic_hidden must be between 1 and 8192"),
            ((0.0..1.0).contains(&self.input_dropout), "input_dropout must be in [0, 1)"),
            (
                self.input_noise.is_finite() && self.input_noise >= 0.0,
                "input_noise must be a finite number ≥ 0",
            ),
            (self.most_frequent >= 1, "most_frequent must be at least 1"),
            ((1..=65536).contains(&self.batch_size), "batch_size must be between 1 and 65536"),
            ((1..=100).contains(&self.n_critic), "n_critic must be between 1 and 100"),
            ((0.0..=0.5).contains(&self.beta), "beta must be in [0, 0.5]"),
            (
                self.map_grad_clip.is_none_or(|c| c.is_finite() && c > 0.0),
                "map_grad_clip must be a finite number > 0",
            ),
            (lr_ok(&self.critic_optimizer), "the critic learning rate must be a finite number > 0"),
            (lr_ok(&self.map_optimizer), "the map learning rate must be a finite number > 0"),
        ])
    }
}

/// The generator: `x ↦ Wx`. Stored as `Wᵀ` `[in, out]`, like burn's `Linear`, so a checkpoint
/// holds W itself in PyTorch's `nn.Linear(d, d, bias=False).weight` layout (as MUSE saves it).
#[derive(Module, Debug)]
pub struct LinearMap {
    /// `Wᵀ`, `[dim, dim]`.
    pub weight: Param<Tensor<2>>,
}

impl LinearMap {
    pub fn new(w: &Square, device: &Device) -> Self {
        LinearMap { weight: nn::param(w.transpose().to_f32(), [w.n, w.n], device) }
    }

    /// Rows `x` `[B, dim]` mapped: `x·Wᵀ`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        x.matmul(self.weight.val())
    }

    /// W as a float64 matrix (one read from the device).
    pub async fn square_async(&self) -> Result<Square, ReadError> {
        let n = self.weight.dims()[0];
        let v = read_floats(self.weight.val().inner().reshape([n * n]), n * n).await?;
        Ok(Square { n, data: v }.transpose())
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub fn square(&self) -> Result<Square, ReadError> {
        crate::summarize::block_on(self.square_async())
    }
}

/// W ← (1 + β)W − β(WWᵀ)W on the device, keeping the parameter's id (and so its optimizer
/// state). On the stored M = Wᵀ the update has the same form: M ← (1 + β)M − β(MMᵀ)M.
struct Orthogonalize(f64);

impl FloatMap for Orthogonalize {
    fn apply<const D: usize>(&mut self, _path: &str, _id: ParamId, w: Tensor<D>) -> Tensor<D> {
        let shape = w.shape();
        let n = shape.dims::<D>()[0];
        let m: Tensor<2> = w.reshape([n, n]);
        let wwt_w = m.clone().matmul(m.clone().transpose()).matmul(m.clone());
        (m.mul_scalar(1.0 + self.0) - wwt_w.mul_scalar(self.0)).reshape(shape)
    }
}

/// Everything a checkpoint of the adversarial stage holds.
#[derive(Clone, Debug)]
pub struct AdversarialState {
    pub map: LinearMap,
    pub critic: Mlp,
    pub map_opt: Optimizer,
    pub critic_opt: Optimizer,
    /// Map updates done.
    pub step: u64,
    pub critic_steps: u64,
    pub device: Device,
}

/// The two embedding tables on the device, unit rows.
#[derive(Clone, Debug)]
pub struct Spaces {
    pub src: Tensor<2>,
    pub tgt: Tensor<2>,
    pub dim: usize,
}

impl Spaces {
    pub fn new(src: &[f32], tgt: &[f32], dim: usize, device: &Device) -> Self {
        let t = |v: &[f32]| tensor2(v.to_vec(), v.len() / dim, dim, device);
        Spaces { src: t(src), tgt: t(tgt), dim }
    }

    fn rows(t: &Tensor<2>, n: usize, limit: usize, rng: &mut Rng) -> Tensor<2> {
        let pool = limit.min(t.dims()[0]).max(1);
        let ids: Vec<i64> = (0..n).map(|_| rng.below(pool) as i64).collect();
        t.clone().select(0, Tensor::<1, Int>::from_data(TensorData::new(ids, [n]), &t.device()))
    }
}

/// Lazy scalars of one step, read in one transfer.
#[derive(Clone, Debug)]
pub struct AlignReport {
    pub critic_loss: Tensor<1>,
    pub map_loss: Tensor<1>,
    pub estimate: Tensor<1>,
    /// The weighted gradient penalty (and consistency term) of the last critic update.
    pub penalty: Tensor<1>,
}

/// The same numbers as floats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AlignValues {
    pub critic_loss: f64,
    pub map_loss: f64,
    pub estimate: f64,
    #[serde(default)]
    pub penalty: f64,
}

impl AlignReport {
    pub async fn values_async(&self) -> Result<AlignValues, ReadError> {
        let parts = [&self.critic_loss, &self.map_loss, &self.estimate, &self.penalty];
        let v = read_floats(Tensor::cat(parts.map(Tensor::clone).to_vec(), 0).inner(), 4).await?;
        Ok(AlignValues { critic_loss: v[0], map_loss: v[1], estimate: v[2], penalty: v[3] })
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub fn values(&self) -> Result<AlignValues, ReadError> {
        crate::summarize::block_on(self.values_async())
    }
}

impl AdversarialState {
    /// A map starting at `w0` (the identity, or a refinement's result) and a fresh critic.
    pub fn new(config: &AdversarialConfig, w0: &Square, device: &Device) -> Self {
        let mut rng = Rng::stream(config.seed, STREAM_INIT, 0);
        let critic = config.critic_net(w0.n).init(&mut rng, device).trainable();
        let w0 =
            if config.random_init { Square::random_orthogonal(w0.n, &mut rng) } else { w0.clone() };
        AdversarialState {
            map: LinearMap::new(&w0, device).train(),
            critic,
            map_opt: config.map_optimizer.init(),
            critic_opt: config.critic_optimizer.init(),
            step: 0,
            critic_steps: 0,
            device: device.clone(),
        }
    }
}

/// What the critic sees while it trains: input dropout, then Gaussian noise.
fn perturb(mut x: Tensor<2>, config: &AdversarialConfig, rng: &mut Rng) -> Tensor<2> {
    let ([b, d], device) = (x.dims(), x.device());
    if config.input_dropout > 0.0 {
        let keep = 1.0 - config.input_dropout;
        let m: Vec<f32> = (0..b * d)
            .map(|_| if rng.uniform() < keep { (1.0 / keep) as f32 } else { 0.0 })
            .collect();
        x = x * Tensor::from_data(TensorData::new(m, [b, d]), &device);
    }
    if config.input_noise > 0.0 {
        let sigma = config.input_noise as f32;
        let n: Vec<f32> = rng.normals_f32(b * d).into_iter().map(|v| 1.0 + v * sigma).collect();
        x = x * Tensor::from_data(TensorData::new(n, [b, d]), &device);
    }
    x
}

/// One step of the adversarial stage, a pure function: `n_critic` critic updates on mapped
/// sources (fake) against targets (real), then one map update and the orthogonality update.
/// Every draw comes from a stream keyed by the seed and the counters, so a resumed run is exact.
pub fn align_step(
    mut state: AdversarialState,
    config: &AdversarialConfig,
    spaces: &Spaces,
) -> (AdversarialState, AlignReport) {
    let b = config.batch_size;
    let mut last = None;
    for _ in 0..config.n_critic {
        let mut rng = Rng::stream(config.seed, STREAM_CRITIC, state.critic_steps);
        let x = Spaces::rows(&spaces.src, b, config.most_frequent, &mut rng);
        let y = Spaces::rows(&spaces.tgt, b, config.most_frequent, &mut rng);
        let fake = perturb(state.map.valid().forward(x), config, &mut rng);
        let real = perturb(y, config, &mut rng);
        let (critic, terms) = update_critic(
            state.critic,
            &mut state.critic_opt,
            &config.objective,
            real,
            fake,
            config.label_smoothing,
            |_| None,
            1.0,
            &mut rng,
        );
        state.critic = critic;
        state.critic_steps += 1;
        last = Some(terms);
    }
    let mut rng = Rng::stream(config.seed, STREAM_MAP, state.step);
    let x = Spaces::rows(&spaces.src, b, config.most_frequent, &mut rng);
    let fake = state.map.forward(x.clone());
    let mut loss =
        objective::generator_loss(&config.objective, &state.critic.frozen(), fake.clone(), None);
    if config.reconstruction > 0.0 {
        // WᵀWx with the stored M = Wᵀ: (x·M)·Mᵀ.
        let back = fake.matmul(state.map.weight.val().transpose());
        let cos = (back.clone() * x.clone()).sum_dim(1)
            / (back.square().sum_dim(1).sqrt() * x.square().sum_dim(1).sqrt()).add_scalar(1e-12);
        loss = loss + cos.mean().neg().add_scalar(1.0).mul_scalar(config.reconstruction);
    }
    let mut grads = gradients(&loss, &state.map);
    if let Some(max) = config.map_grad_clip {
        grads = clip_global_norm(&state.map, grads, max).0;
    }
    let map = state.map_opt.step(state.map, grads, 1.0);
    state.map = nn::map_floats(map, &mut Orthogonalize(config.beta)).train();
    state.step += 1;
    let t = last.expect("n_critic ≥ 1");
    let (critic_loss, map_loss) = (t.loss, loss.inner());
    (state, AlignReport { critic_loss, map_loss, estimate: t.estimate, penalty: t.penalty })
}

pub const FORMAT: &str = "earthmover-align-v1";

/// What the format errors call these files.
const KIND: &str = "alignment checkpoint";

/// The adversarial stage's state, its config and `extra` strings (the CLI's epoch counters) as
/// safetensors: `map.weight` is W (PyTorch layout), then the critic and both optimizers.
pub fn to_bytes(
    state: &AdversarialState,
    config: &AdversarialConfig,
    extra: &[(&str, String)],
) -> Result<Vec<u8>, RecordError> {
    let mut w = Writer::default();
    w.module(&state.map, "map", str::to_string)?;
    w.module(&state.critic, "critic", str::to_string)?;
    w.optimizer(&state.map_opt, "map")?;
    w.optimizer(&state.critic_opt, "critic")?;
    w.header(FORMAT, config)?;
    w.counter("step", state.step);
    w.counter("critic_steps", state.critic_steps);
    w.extras(extra);
    w.into_bytes()
}

/// Loads what [`to_bytes`] wrote, for a map of size `dim`; returns the metadata too.
pub fn from_bytes(
    bytes: &[u8],
    dim: usize,
    device: &Device,
) -> Result<(AdversarialState, AdversarialConfig, HashMap<String, String>), RecordError> {
    let r = Reader::new(bytes)?;
    r.format(KIND, &[FORMAT])?;
    let config: AdversarialConfig = r.config()?;
    config.validate()?;
    let skeleton = AdversarialState::new(&config, &Square::identity(dim), device);
    let map = r.module(skeleton.map.valid(), "map", str::to_string)?;
    let critic = r.module(skeleton.critic.frozen(), "critic", str::to_string)?;
    let map_opt = r.optimizer(config.map_optimizer.init(), &map, "map", device)?;
    let critic_opt = r.optimizer(config.critic_optimizer.init(), &critic, "critic", device)?;
    let state = AdversarialState {
        map: map.train(),
        critic: critic.trainable(),
        map_opt,
        critic_opt,
        step: r.meta_u64("step")?,
        critic_steps: r.meta_u64("critic_steps")?,
        device: device.clone(),
    };
    Ok((state, config, r.extras(&["best_criterion"])))
}

/// A map file: W alone (`weight`, PyTorch layout `[out, in]`), with `extra` metadata.
pub fn map_bytes(w: &Square, extra: &[(&str, String)]) -> Result<Vec<u8>, RecordError> {
    let mut wr = Writer::default();
    let weight = nn::Stored { name: "weight".into(), shape: vec![w.n, w.n], values: w.to_f32() };
    wr.floats(vec![weight])?;
    wr.format(MAP_FORMAT);
    wr.extras(extra);
    wr.into_bytes()
}

pub const MAP_FORMAT: &str = "earthmover-align-map-v1";

/// W from a map file or from a checkpoint's `map.weight`.
pub fn read_map(bytes: &[u8]) -> Result<(Square, HashMap<String, String>), RecordError> {
    let r = Reader::new(bytes)?;
    let name = match r.format("alignment map", &[MAP_FORMAT, FORMAT])? {
        MAP_FORMAT => "weight",
        _ => "map.weight",
    };
    let s = r.floats(name)?;
    let n = s.shape.first().copied().unwrap_or(0);
    if s.shape != [n, n] || n == 0 {
        let (name, expected) = (name.into(), vec![n.max(1), n.max(1)]);
        return Err(RecordError::Shape { name, found: s.shape, expected });
    }
    let extras = r.extras(&["criterion", "epoch", "objective", "refined_rounds"]);
    Ok((Square { n, data: s.values.iter().map(|&v| v as f64).collect() }, extras))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The update training applies fixes orthogonal matrices (to float32 rounding) and pulls a
    /// perturbed one back toward O(n).
    #[test]
    fn orthogonality_update_keeps_w_orthogonal() {
        let device = Device::flex();
        let step = |w: &Square| {
            nn::map_floats(LinearMap::new(w, &device), &mut Orthogonalize(0.01)).square().unwrap()
        };
        let mut rng = Rng::new(9);
        let q = Square::random_orthogonal(20, &mut rng);
        assert!(step(&q).distance(&q) < 1e-5);
        let mut w = q.clone();
        w.data.iter_mut().for_each(|v| *v += 0.01 * rng.normal());
        let before = w.orthogonality_error();
        for _ in 0..200 {
            w = step(&w);
        }
        let after = w.orthogonality_error();
        assert!(after < 0.05 * before, "{before} → {after}");
    }
}
