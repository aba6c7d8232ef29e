//! One training step as a pure function: teacher-forced loss, gradients, global-norm
//! clipping and an Adagrad update (See et al.'s recipe). The CLI calls it in a loop.

use burn::module::Module;
use burn::tensor::{Device, Tensor};

use super::batch::Batch;
use super::config::{OptimizerKind, SummarizerConfig};
use super::model::PointerGenerator;
use crate::nn::{ReadError, read_floats};
use crate::optim::{Optimizer, OptimizerConfig, clip_global_norm, gradients};

/// The model and optimizer state: everything a checkpoint holds besides the config.
#[derive(Clone, Debug)]
pub struct TrainState {
    pub model: PointerGenerator,
    pub opt: Optimizer,
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

/// A step's figures as floats, read back in one transfer.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct SummarizeValues {
    pub loss: f64,
    pub nll: f64,
    pub coverage: f64,
    pub grad_norm: f64,
}

impl StepReport {
    /// The step's figures as floats (one transfer). A failed read is an error, not NaN, so it
    /// is never mistaken for divergence.
    pub async fn values_async(&self) -> Result<SummarizeValues, ReadError> {
        let parts = [&self.loss, &self.nll, &self.coverage, &self.grad_norm].map(Tensor::clone);
        let v = read_floats(Tensor::cat(parts.to_vec(), 0).inner(), 4).await?;
        Ok(SummarizeValues { loss: v[0], nll: v[1], coverage: v[2], grad_norm: v[3] })
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub fn values(&self) -> Result<SummarizeValues, ReadError> {
        super::block_on(self.values_async())
    }
}

pub fn optimizer(config: &SummarizerConfig) -> OptimizerConfig {
    let t = &config.train;
    match t.optimizer {
        OptimizerKind::Adam => OptimizerConfig::adam(t.lr, 0.9, 0.999),
        OptimizerKind::Adagrad => OptimizerConfig::adagrad(t.lr, t.initial_accumulator),
    }
}

impl TrainState {
    pub fn new(config: &SummarizerConfig, device: &Device) -> Self {
        Self::from_model(PointerGenerator::init(&config.model, config.train.seed, device), config)
    }

    /// Starts training from given weights (e.g. a coverage phase from a trained model).
    pub fn from_model(model: PointerGenerator, config: &SummarizerConfig) -> Self {
        let model = PointerGenerator { config: config.model.clone(), ..model };
        TrainState { model: trainable(model), opt: optimizer(config).init(), step: 0 }
    }
}

/// Trainable leaves on an autodiff device.
pub fn trainable(model: PointerGenerator) -> PointerGenerator {
    model.train()
}

/// The same weights as constants (for decoding and evaluation).
pub fn frozen(model: &PointerGenerator) -> PointerGenerator {
    model.valid()
}

/// One update on `batch`.
pub fn train_step(
    state: TrainState,
    batch: &Batch,
    config: &SummarizerConfig,
) -> (TrainState, StepReport) {
    let TrainState { model, mut opt, step } = state;
    let loss = model.loss(batch, config.train.cov_loss_weight);
    let grads = gradients(&loss.total, &model);
    let (grads, grad_norm) = clip_global_norm(&model, grads, config.train.max_grad_norm);
    let model = opt.step(model, grads, 1.0);
    let report = StepReport {
        loss: loss.total.inner(),
        nll: loss.nll.inner(),
        coverage: loss.coverage.inner(),
        grad_norm: grad_norm.inner(),
    };
    (TrainState { model: trainable(model), opt, step: step + 1 }, report)
}

/// The loss without updating (validation); reads it back natively.
#[cfg(not(target_arch = "wasm32"))]
pub fn eval_loss(model: &PointerGenerator, batch: &Batch, config: &SummarizerConfig) -> f64 {
    let loss = frozen(model).loss(batch, config.train.cov_loss_weight);
    super::block_on(read_floats(loss.nll, 1)).map_or(f64::NAN, |v| v[0])
}
