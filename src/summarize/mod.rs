//! Pointer-generator summarization (See et al. 2017): vocabulary, batches, the model, its
//! training step, decoding, checkpoints and the compact export the web page loads.

pub mod batch;
pub mod config;
pub mod model;
pub mod train;
pub mod vocab;

pub use config::{DecodeConfig, ModelConfig, SummarizerConfig, TrainConfig};
pub use model::PointerGenerator;
