//! Generative adversarial networks on vectors: models, objectives, the training step,
//! checkpoints and ground-truth metrics.

pub mod checkpoint;
pub mod config;
pub mod critic;
pub mod metrics;
pub mod mlp;
pub mod objective;
pub mod train;
pub mod view;

pub use config::{GanConfig, Schedule, Tricks};
pub use objective::Objective;
pub use train::{GanState, StepReport, StepValues, train_step};
