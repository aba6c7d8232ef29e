//! Saving and loading the pointer-generator as safetensors, in PyTorch's layout: every
//! weight matrix is `[out, in]` (LSTM `weight_ih`/`weight_hh` are `[4H, in]` with gates i, f,
//! g, o), biases are 1-D, the embedding is `[vocab, emb]`. Tensor names are the model's field
//! paths, and loading goes by name through burn-store ([`crate::nn::TorchLayout`]). The config
//! (TOML) and the vocabulary travel in the metadata, so one file is a whole model.
//!
//! - A *checkpoint* holds float32 weights, the optimizer's state under
//!   `optim.model.{parameter}.{leaf}` and the counters, for an exact `--resume`.
//! - An *export* holds only the weights, as float16 or int8 (symmetric, one float32 scale per
//!   output row, stored as `NAME.scale`), for the web page.

use std::collections::HashMap;

use burn::tensor::Device;
use safetensors::Dtype;

use super::config::SummarizerConfig;
use super::model::{Init, PointerGenerator};
use super::train::TrainState;
use super::vocab::Vocab;
use crate::nn;
use crate::optim::Optimizer;
use crate::record::{Reader, RecordError, Writer};

pub const CHECKPOINT_FORMAT: &str = "earthmover-pointer-generator-v2";
/// Before the model was a burn module: the same weights and names, optimizer slots by
/// position. Its weights load; its optimizer state does not.
pub const CHECKPOINT_FORMAT_V1: &str = "earthmover-pointer-generator-v1";
pub const EXPORT_FORMAT: &str = "earthmover-pointer-generator-export-v1";

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum StoreError {
    #[error("not a safetensors file ({0})")]
    NotSafetensors(String),
    #[error("not an earthmover pointer-generator file (format is '{0}')")]
    WrongFormat(String),
    #[error("the file has no '{0}' entry")]
    Missing(String),
    #[error("the file's config is unusable: {0}")]
    Config(String),
    #[error("the file's vocabulary is unusable: {0}")]
    Vocab(String),
    #[error("the vocabulary has {found} words but the config says {expected}")]
    VocabSize { found: usize, expected: usize },
    #[error("tensor '{name}' has shape {found:?}, but the config needs {expected:?}")]
    Shape { name: String, found: Vec<usize>, expected: Vec<usize> },
    #[error("tensor '{name}' has type {found}, expected {expected}")]
    DType { name: String, found: String, expected: String },
    #[error("a tensor could not be read back from the device: {0}")]
    Read(String),
    #[error("could not write safetensors: {0}")]
    Write(String),
    #[error("'{0}' holds NaN or infinite values; it was not saved")]
    NonFinite(String),
}

impl From<RecordError> for StoreError {
    fn from(e: RecordError) -> Self {
        match e {
            RecordError::NotSafetensors(m) => StoreError::NotSafetensors(m),
            RecordError::Missing(m) => StoreError::Missing(m),
            RecordError::Shape { name, found, expected } => {
                StoreError::Shape { name, found, expected }
            }
            RecordError::DType { name, found, expected } => {
                StoreError::DType { name, found, expected }
            }
            RecordError::NonFinite(m) => StoreError::NonFinite(m),
            RecordError::Other(m) => StoreError::Read(m),
        }
    }
}

/// How an export stores its weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    F16,
    Int8,
}

impl std::str::FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "f16" | "float16" => Ok(Precision::F16),
            "int8" | "i8" => Ok(Precision::Int8),
            other => Err(format!("unknown precision '{other}': choose f16 or int8")),
        }
    }
}

pub use crate::record::{f16_to_f32, f32_to_f16};

fn base_metadata(
    w: &mut Writer,
    format: &str,
    config: &SummarizerConfig,
    vocab: &Vocab,
) -> Result<(), StoreError> {
    let config_text = toml::to_string(config).map_err(|e| StoreError::Config(e.to_string()))?;
    w.metadata.extend([
        ("format".to_string(), format.to_string()),
        ("config".to_string(), config_text),
        ("vocab".to_string(), vocab.to_text()),
    ]);
    Ok(())
}

/// A checkpoint: float32 weights, the optimizer's state (Adagrad accumulators or Adam
/// moments), counters and `extra` metadata (the CLI keeps its data cursor there).
pub fn checkpoint_bytes(
    state: &TrainState,
    config: &SummarizerConfig,
    vocab: &Vocab,
    extra: &[(&str, String)],
) -> Result<Vec<u8>, StoreError> {
    let mut w = Writer::default();
    w.module(&state.model, "", |n| n.to_string())?;
    w.optimizer(&state.opt, "model")?;
    base_metadata(&mut w, CHECKPOINT_FORMAT, config, vocab)?;
    w.metadata.insert("step".into(), state.step.to_string());
    for (k, v) in extra {
        w.metadata.insert(format!("extra.{k}"), v.clone());
    }
    Ok(w.into_bytes()?)
}

/// A compact export for the web page.
pub fn export_bytes(
    model: &PointerGenerator,
    config: &SummarizerConfig,
    vocab: &Vocab,
    precision: Precision,
) -> Result<Vec<u8>, StoreError> {
    export_bytes_with(model, config, vocab, precision, &[])
}

/// [`export_bytes`] with `extra` metadata (provenance, such as the steps an averaged generator
/// spans), which [`load`] returns in [`Loaded::extra`].
pub fn export_bytes_with(
    model: &PointerGenerator,
    config: &SummarizerConfig,
    vocab: &Vocab,
    precision: Precision,
    extra: &[(&str, String)],
) -> Result<Vec<u8>, StoreError> {
    let mut w = Writer::default();
    for (k, v) in extra {
        w.metadata.insert(format!("extra.{k}"), v.clone());
    }
    for nn::Stored { name, shape, values } in nn::to_torch(model, "").map_err(StoreError::Read)? {
        if values.iter().any(|v| !v.is_finite()) {
            return Err(StoreError::NonFinite(name));
        }
        match precision {
            Precision::F16 => {
                let bytes = values.iter().flat_map(|v| f32_to_f16(*v).to_le_bytes()).collect();
                w.raw(name, Dtype::F16, shape, bytes);
            }
            Precision::Int8 => {
                let cols = shape.last().copied().unwrap_or(1).max(1);
                let mut scales = Vec::with_capacity(values.len() / cols);
                let mut bytes = Vec::with_capacity(values.len());
                for row in values.chunks(cols) {
                    let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
                    let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
                    scales.push(scale);
                    bytes.extend(
                        row.iter().map(|v| ((v / scale).round().clamp(-127.0, 127.0) as i8) as u8),
                    );
                }
                let rows = scales.len();
                w.raw(name.clone(), Dtype::I8, shape, bytes);
                w.floats(vec![nn::Stored {
                    name: format!("{name}.scale"),
                    shape: vec![rows],
                    values: scales,
                }])?;
            }
        }
    }
    base_metadata(&mut w, EXPORT_FORMAT, config, vocab)?;
    w.metadata.insert("precision".into(), format!("{precision:?}").to_lowercase());
    Ok(w.into_bytes()?)
}

/// What kind of file was loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Checkpoint,
    /// A checkpoint from before the burn-module rewrite: its weights, but no usable optimizer state.
    OldCheckpoint,
    Export,
}

/// Everything loaded from a checkpoint or an export.
pub struct Loaded {
    pub model: PointerGenerator,
    pub config: SummarizerConfig,
    pub vocab: Vocab,
    /// Present for checkpoints.
    pub opt: Option<Optimizer>,
    pub step: u64,
    pub extra: HashMap<String, String>,
    pub kind: Kind,
}

impl Loaded {
    pub fn is_export(&self) -> bool {
        self.kind == Kind::Export
    }
}

/// The optimizer state of a v1 checkpoint, where parameter `NAME`'s slots were stored as
/// `optim.NAME.{k}` in burn's layout (biases as `[1, n]`): Adagrad's accumulator (slot 0), or
/// Adam's first and second moments (slots 0 and 1) with the step count `optim_t`. They become
/// the same states of burn's rules, so a v1 run resumes where it stopped.
fn v1_optimizer(
    r: &Reader<'_>,
    model: &PointerGenerator,
    config: &SummarizerConfig,
    device: &Device,
) -> Result<Optimizer, StoreError> {
    let rule = super::train::optimizer(config);
    let t = r.meta_u64("optim_t")?;
    let mut record = crate::optim::StateRecord::default();
    for (path, dims) in nn::param_shapes(model) {
        let slots = (0..rule.v1_slots())
            .map(|k| r.reshaped(&format!("optim.{path}.{k}"), &dims))
            .collect::<Result<_, _>>()?;
        rule.v1_state(&path, slots, t, &mut record);
    }
    rule.init().load(record, t, device).map_err(StoreError::Config)
}

/// Loads a checkpoint or an export onto `device`; every problem is named.
pub fn load(bytes: &[u8], device: &Device) -> Result<Loaded, StoreError> {
    let r = Reader::new(bytes)?;
    let format = r.metadata.get("format").cloned().unwrap_or_default();
    let kind = match format.as_str() {
        CHECKPOINT_FORMAT => Kind::Checkpoint,
        CHECKPOINT_FORMAT_V1 => Kind::OldCheckpoint,
        EXPORT_FORMAT => Kind::Export,
        _ => return Err(StoreError::WrongFormat(format)),
    };
    let config: SummarizerConfig =
        toml::from_str(r.meta("config")?).map_err(|e| StoreError::Config(e.to_string()))?;
    config.validate().map_err(StoreError::Config)?;
    let vocab = Vocab::from_text(r.meta("vocab")?).map_err(|e| StoreError::Vocab(e.to_string()))?;
    if vocab.len() != config.model.vocab_size {
        return Err(StoreError::VocabSize {
            found: vocab.len(),
            expected: config.model.vocab_size,
        });
    }
    let skeleton = PointerGenerator::new(&config.model, Init::Zeros, device);
    let model = r.module(skeleton, "", |n| n.to_string())?;
    let (opt, step) = match kind {
        Kind::Checkpoint => (
            Some(r.optimizer(super::train::optimizer(&config).init(), &model, "model", device)?),
            r.meta_u64("step")?,
        ),
        Kind::OldCheckpoint => {
            (Some(v1_optimizer(&r, &model, &config, device)?), r.meta_u64("step")?)
        }
        Kind::Export => (None, 0),
    };
    let extra = r
        .metadata
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("extra.").map(|k| (k.to_string(), v.clone())))
        .collect();
    Ok(Loaded { model, config, vocab, opt, step, extra, kind })
}
