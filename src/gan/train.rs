//! One training step as a pure function: `(state, config, real data) → (state, report)`.
//! The CLI calls it in a loop behind a progress bar; the page calls it between frames.
//!
//! Reads like Algorithm 1 of the WGAN-GP paper: `n_critic` critic updates on fresh real
//! and fake batches, then one generator update. Every random draw comes from a stream keyed
//! by the seed and the step counters, so a resumed run repeats the uninterrupted one exactly.

use burn::module::ParamId;
use burn::tensor::{Device, Tensor, TensorData};

use super::config::GanConfig;
use super::critic::Critic;
use super::mlp::Mlp;
use super::objective::{self, CriticTerms, Objective};
use crate::nn::{self, Clamp, ReadError, flat_params, read_floats};
use crate::optim::{Optimizer, gradients};
use crate::rng::Rng;

const STREAM_INIT: u64 = 1;
const STREAM_CRITIC: u64 = 2;
const STREAM_GENERATOR: u64 = 3;

/// Something that yields batches of real vectors `[n, dim]` as a flat buffer.
pub trait RealData {
    fn dim(&self) -> usize;
    fn sample(&self, n: usize, rng: &mut Rng) -> Vec<f32>;
}

impl RealData for crate::toy::Source {
    fn dim(&self) -> usize {
        2
    }
    fn sample(&self, n: usize, rng: &mut Rng) -> Vec<f32> {
        crate::toy::Source::sample(self, n, rng)
    }
}

/// The models, optimizer states and counters of a run: everything a checkpoint holds.
#[derive(Clone, Debug)]
pub struct GanState {
    pub generator: Mlp,
    pub critic: Mlp,
    pub generator_opt: Optimizer,
    pub critic_opt: Optimizer,
    /// Generator updates done.
    pub step: u64,
    /// Critic updates done.
    pub critic_steps: u64,
    /// Running means of past parameters, when historical averaging is on (same modules,
    /// plain tensors).
    pub generator_avg: Option<Mlp>,
    pub critic_avg: Option<Mlp>,
    pub device: Device,
}

/// Lazy scalars from one generator iteration (`n_critic` critic updates, the last of them
/// reported, and one generator update); read them with [`StepReport::values`] (natively) or
/// `values_async` (in the browser), which costs one transfer.
#[derive(Clone, Debug)]
pub struct StepReport {
    pub critic: CriticTerms,
    pub generator_loss: Tensor<1>,
}

/// The same numbers as plain floats. A partial step (the GAN lab's "critic step" or
/// "generator step" buttons) leaves the part it did not take as NaN: not measured.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StepValues {
    pub critic_loss: f64,
    pub generator_loss: f64,
    pub estimate: f64,
    pub penalty: f64,
}

impl Default for StepValues {
    fn default() -> Self {
        StepValues::NONE
    }
}

impl StepValues {
    /// Nothing measured.
    pub const NONE: StepValues = StepValues {
        critic_loss: f64::NAN,
        generator_loss: f64::NAN,
        estimate: f64::NAN,
        penalty: f64::NAN,
    };

    pub fn all_finite(&self) -> bool {
        [self.critic_loss, self.generator_loss, self.estimate, self.penalty]
            .iter()
            .all(|v| v.is_finite())
    }
}

impl CriticTerms {
    fn stacked(&self) -> Tensor<1> {
        Tensor::cat(vec![self.loss.clone(), self.estimate.clone(), self.penalty.clone()], 0).inner()
    }

    /// The critic's values in one read; the generator's loss is NaN (not measured).
    pub async fn values_async(&self) -> Result<StepValues, ReadError> {
        let v = read_floats(self.stacked(), 3).await?;
        Ok(StepValues { critic_loss: v[0], estimate: v[1], penalty: v[2], ..StepValues::NONE })
    }
}

/// A generator update's loss as a float, the critic's values NaN (not measured).
pub async fn generator_values_async(loss: &Tensor<1>) -> Result<StepValues, ReadError> {
    let v = read_floats(loss.clone().inner(), 1).await?;
    Ok(StepValues { generator_loss: v[0], ..StepValues::NONE })
}

impl StepReport {
    /// The four values in one read. A failed read is an error, not NaN, so it is never mistaken
    /// for divergence.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn values(&self) -> Result<StepValues, ReadError> {
        crate::summarize::block_on(self.values_async())
    }

    pub async fn values_async(&self) -> Result<StepValues, ReadError> {
        let t = Tensor::cat(vec![self.critic.stacked(), self.generator_loss.clone().inner()], 0);
        let v = read_floats(t, 4).await?;
        Ok(StepValues { critic_loss: v[0], estimate: v[1], penalty: v[2], generator_loss: v[3] })
    }
}

/// A `[rows, cols]` tensor from row-major values.
pub fn tensor2(values: Vec<f32>, rows: usize, cols: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values, [rows, cols]), device)
}

impl GanState {
    /// Fresh models (PyTorch's default initialisation, seeded) and optimizer states.
    pub fn new(config: &GanConfig, device: &Device) -> Self {
        let mut rng = Rng::stream(config.seed, STREAM_INIT, 0);
        let generator = config.generator_net().init(&mut rng, device);
        let critic = config.critic_net().init(&mut rng, device);
        let avg = |m: &Mlp| config.tricks.historical_averaging.map(|_| m.clone());
        GanState {
            generator_avg: avg(&generator),
            critic_avg: avg(&critic),
            generator: generator.trainable(),
            critic: critic.trainable(),
            generator_opt: config.generator_optimizer.init(),
            critic_opt: config.critic_optimizer.init(),
            step: 0,
            critic_steps: 0,
            device: device.clone(),
        }
    }

    /// `n` generated points `[n, dim]` from the noise stream `rng` (no gradients).
    pub fn generate(&self, n: usize, rng: &mut Rng, noise_dim: usize) -> Tensor<2> {
        let z = tensor2(rng.normals_f32(n * noise_dim), n, noise_dim, &self.device);
        self.generator.frozen().forward(z)
    }

    /// The critic's value at each row of `points` `[n, dim]` (no gradients). With minibatch
    /// discrimination each point is scored as one more member of the batch `reference`.
    pub fn critic_values(&self, points: Tensor<2>, reference: Tensor<2>) -> Tensor<2> {
        self.critic.frozen().forward_against(points, reference)
    }

    /// The gradient the critic hands each row of `points` `[n, dim]`: `∇ₓ f(x)`, the direction
    /// the critic pushes generated samples. With minibatch discrimination `points` is taken as
    /// one generated batch and this is `n·∇ₓᵢ mean_j f(x_j)`, since each output then depends on
    /// every point (first-order autodiff, as the generator's own update sees it).
    pub fn critic_gradient(&self, points: Tensor<2>) -> Tensor<2> {
        if self.critic.minibatch.is_none() {
            return self.critic.frozen().input_grad(points).1;
        }
        let x = points.detach().autodiff().require_grad();
        let grads = self.critic.forward(x.clone()).sum().backward();
        x.grad(&grads).unwrap_or_else(|| x.zeros_like().inner())
    }
}

/// `w·Σ‖θ − θ̄‖²` for historical averaging; `None` when the trick is off.
fn history_penalty(model: &Mlp, avg: &Option<Mlp>, weight: Option<f64>) -> Option<Tensor<1>> {
    let (avg, w) = (avg.as_ref()?, weight?);
    flat_params(model)
        .into_iter()
        .zip(flat_params(avg))
        .map(|((_, p), (_, a))| (p - a).square().sum())
        .reduce(|a, b| a + b)
        .map(|s| s.mul_scalar(w))
}

/// θ̄ ← θ̄ + (θ − θ̄)/(k + 1) after the k-th update.
fn update_average(avg: Option<Mlp>, model: &Mlp, k: u64) -> Option<Mlp> {
    struct Toward(std::collections::VecDeque<Tensor<1>>, f64);
    impl nn::FloatMap for Toward {
        fn apply<const D: usize>(&mut self, _: &str, _: ParamId, a: Tensor<D>) -> Tensor<D> {
            let p = self.0.pop_front().expect("same architecture").inner().reshape(a.shape());
            a.clone() + (p - a).div_scalar(self.1)
        }
    }
    let params = flat_params(model).into_iter().map(|(_, p)| p).collect();
    avg.map(|a| nn::map_floats(a, &mut Toward(params, k as f64 + 1.0)))
}

/// One update of any critic or discriminator on given `real` and `fake` batches `[B, dim]`:
/// the building block of [`critic_step`], and of every place that fits a critic to two fixed
/// distributions (the divergence explorer today, embedding alignment next). `regulariser`
/// may add a term computed from the parameters (historical averaging). Weight clipping is
/// applied for [`Objective::Wgan`].
#[allow(clippy::too_many_arguments)]
pub fn update_critic<C: Critic>(
    critic: C,
    opt: &mut Optimizer,
    objective: &Objective,
    real: Tensor<2>,
    fake: Tensor<2>,
    label_smoothing: Option<f64>,
    regulariser: impl FnOnce(&C) -> Option<Tensor<1>>,
    lr_scale: f64,
    rng: &mut Rng,
) -> (C, CriticTerms) {
    let CriticTerms { loss, estimate, penalty } =
        objective::critic_terms(objective, &critic, real, fake, label_smoothing, rng);
    let total = regulariser(&critic).map_or(loss.clone(), |h| loss.clone() + h);
    let grads = gradients(&total, &critic);
    let mut new = opt.step(critic, grads, lr_scale);
    if let Objective::Wgan { clip } = *objective {
        new = nn::map_floats(new, &mut Clamp(clip));
    }
    let [loss, estimate, penalty] = [loss, estimate, penalty].map(Tensor::inner);
    (new.trainable(), CriticTerms { loss, estimate, penalty })
}

/// One critic update. Returns the new state and its report.
pub fn critic_step(
    mut state: GanState,
    config: &GanConfig,
    data: &dyn RealData,
) -> (GanState, CriticTerms) {
    let mut rng = Rng::stream(config.seed, STREAM_CRITIC, state.critic_steps);
    let b = config.batch_size;
    let real = tensor2(data.sample(b, &mut rng), b, data.dim(), &state.device);
    let fake = state.generate(b, &mut rng, config.noise_dim);
    let (critic_avg, weight) = (&state.critic_avg, config.tricks.historical_averaging);
    let (critic, terms) = update_critic(
        state.critic,
        &mut state.critic_opt,
        &config.objective,
        real,
        fake,
        config.tricks.label_smoothing,
        |critic| history_penalty(critic, critic_avg, weight),
        config.schedule.scale(state.step),
        &mut rng,
    );
    state.critic_steps += 1;
    state.critic_avg = update_average(state.critic_avg, &critic, state.critic_steps);
    state.critic = critic;
    (state, terms)
}

/// One generator update against the current critic. Returns the new state and the loss.
pub fn generator_step(
    mut state: GanState,
    config: &GanConfig,
    data: &dyn RealData,
) -> (GanState, Tensor<1>) {
    let mut rng = Rng::stream(config.seed, STREAM_GENERATOR, state.step);
    let b = config.batch_size;
    let z = tensor2(rng.normals_f32(b * config.noise_dim), b, config.noise_dim, &state.device);
    let fake = state.generator.forward(z);
    let critic = state.critic.frozen();
    let real_features = config.tricks.feature_matching.then(|| {
        let real = tensor2(data.sample(b, &mut rng), b, data.dim(), &state.device);
        critic.pass(real, None).features
    });
    let loss = objective::generator_loss(&config.objective, &critic, fake, real_features);
    let history =
        history_penalty(&state.generator, &state.generator_avg, config.tricks.historical_averaging);
    let total = history.map_or(loss.clone(), |h| loss.clone() + h);
    let grads = gradients(&total, &state.generator);
    let new = state.generator_opt.step(state.generator, grads, config.schedule.scale(state.step));
    state.step += 1;
    state.generator_avg = update_average(state.generator_avg, &new, state.step);
    state.generator = new.trainable();
    (state, loss.inner())
}

/// One generator iteration: `n_critic` critic updates, then one generator update.
pub fn train_step(
    state: GanState,
    config: &GanConfig,
    data: &dyn RealData,
) -> (GanState, StepReport) {
    // At least one critic update (a config with n_critic 0 is refused by `validate`).
    let (mut state, mut critic) = critic_step(state, config, data);
    for _ in 1..config.n_critic {
        (state, critic) = critic_step(state, config, data);
    }
    let (state, generator_loss) = generator_step(state, config, data);
    (state, StepReport { critic, generator_loss })
}
