//! One training step as a pure function: teacher-forced loss, gradients, global-norm
//! clipping and an Adagrad update (See et al.'s recipe). The CLI calls it in a loop.

use burn::tensor::{Device, Tensor};

use super::batch::Batch;
use super::config::SummarizerConfig;
use super::model::PointerGenerator;
use crate::optim::{OptimState, OptimizerConfig};

/// The model and optimizer state: everything a checkpoint holds besides the config.
#[derive(Clone, Debug)]
pub struct TrainState {
    pub model: PointerGenerator,
    pub opt: OptimState,
    /// Updates done.
    pub step: u64,
}

/// Lazy scalars from one step.
#[derive(Clone, Debug)]
pub struct StepReport {
    pub loss: Tensor<1>,
    pub nll: Tensor<1>,
    pub coverage: Tensor<1>,
    /// The global gradient norm before clipping.
    pub grad_norm: Tensor<1>,
}

impl StepReport {
    /// `[loss, nll, coverage, grad_norm]` as floats (one transfer).
    pub async fn values_async(&self) -> [f64; 4] {
        let t = Tensor::cat(vec![self.loss.clone(), self.nll.clone(), self.coverage.clone(), self.grad_norm.clone()], 0).inner();
        let v = t.into_data_async().await.ok().and_then(|d| d.convert::<f32>().try_into_vec::<f32>().ok()).unwrap_or_default();
        let at = |i: usize| v.get(i).copied().map(f64::from).unwrap_or(f64::NAN);
        [at(0), at(1), at(2), at(3)]
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub fn values(&self) -> [f64; 4] {
        super::block_on(self.values_async())
    }
}

pub fn optimizer(config: &SummarizerConfig) -> OptimizerConfig {
    match config.train.optimizer.as_str() {
        "adam" => OptimizerConfig::adam(config.train.lr, 0.9, 0.999),
        _ => OptimizerConfig::adagrad(config.train.lr, config.train.initial_accumulator),
    }
}

impl TrainState {
    pub fn new(config: &SummarizerConfig, device: &Device) -> Self {
        let model = PointerGenerator::init(&config.model, config.train.seed, device);
        Self::from_model(model, config)
    }

    /// Starts training from given weights (e.g. a coverage phase from a trained model).
    pub fn from_model(model: PointerGenerator, config: &SummarizerConfig) -> Self {
        let model = PointerGenerator { config: config.model.clone(), ..model };
        let opt = optimizer(config).init(&model.params());
        TrainState { model: trainable(model), opt, step: 0 }
    }
}

/// Trainable leaves on an autodiff device.
pub fn trainable(model: PointerGenerator) -> PointerGenerator {
    model.map(|p| p.inner().detach().autodiff().require_grad())
}

/// The same weights as constants (for decoding and evaluation).
pub fn frozen(model: &PointerGenerator) -> PointerGenerator {
    model.clone().map(|p| p.inner())
}

/// Gradients of `loss` for every parameter (zeros for one the loss does not touch, such as
/// the coverage weight when coverage is off).
pub fn gradients(loss: &Tensor<1>, params: &[Tensor<2>]) -> Vec<Tensor<2>> {
    let grads = loss.backward();
    params.iter().map(|p| p.grad(&grads).unwrap_or_else(|| p.zeros_like().inner())).collect()
}

/// Rescales `grads` to global norm `max` when larger (TensorFlow's clip_by_global_norm, as
/// in See et al.); returns them with the norm before clipping.
pub fn clip_global_norm(grads: Vec<Tensor<2>>, max: f64) -> (Vec<Tensor<2>>, Tensor<1>) {
    let norm = grads.iter().map(|g| g.clone().square().sum()).reduce(|a, b| a + b).expect("at least one gradient").sqrt();
    let scale = norm.clone().clamp_min(max).recip().mul_scalar(max).reshape([1, 1]);
    (grads.into_iter().map(|g| g * scale.clone()).collect(), norm)
}

/// One update on `batch`.
pub fn train_step(state: TrainState, batch: &Batch, config: &SummarizerConfig) -> (TrainState, StepReport) {
    let loss = state.model.loss(batch, config.train.cov_loss_weight);
    let params = state.model.params();
    let grads = gradients(&loss.total, &params);
    let (grads, grad_norm) = clip_global_norm(grads, config.train.max_grad_norm);
    let (new, opt) = optimizer(config).step(params, grads, state.opt, 1.0);
    let model = PointerGenerator::from_params(&state.model.config, new).expect("same parameters");
    let report = StepReport { loss: loss.total.inner(), nll: loss.nll.inner(), coverage: loss.coverage.inner(), grad_norm };
    (TrainState { model: trainable(model), opt, step: state.step + 1 }, report)
}

/// The loss without updating (validation); reads it back natively.
#[cfg(not(target_arch = "wasm32"))]
pub fn eval_loss(model: &PointerGenerator, batch: &Batch, config: &SummarizerConfig) -> f64 {
    let loss = frozen(model).loss(batch, config.train.cov_loss_weight);
    loss.nll.into_data().convert::<f32>().try_into_vec::<f32>().ok().and_then(|v| v.first().copied()).map(f64::from).unwrap_or(f64::NAN)
}
