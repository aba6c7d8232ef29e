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

use super::config::SummarizerConfig;
use super::model::{Init, PointerGenerator};
use super::train::TrainState;
use super::vocab::Vocab;
use crate::nn;
use crate::optim::Optimizer;
pub use crate::record::Precision;
use crate::record::{Reader, RecordError, Writer};

pub const CHECKPOINT_FORMAT: &str = "earthmover-pointer-generator-v2";
/// Before the model was a burn module: the same weights and names, optimizer slots by
/// position. Its weights load; its optimizer state does not.
pub const CHECKPOINT_FORMAT_V1: &str = "earthmover-pointer-generator-v1";
pub const EXPORT_FORMAT: &str = "earthmover-pointer-generator-export-v1";

/// What the format errors call these files.
const KIND: &str = "pointer-generator file";

/// A writer with the header and the vocabulary, which travel in every pointer-generator file.
fn writer(format: &str, config: &SummarizerConfig, vocab: &Vocab) -> Result<Writer, RecordError> {
    let mut w = Writer::default();
    w.header(format, config)?;
    w.metadata.insert("vocab".into(), vocab.to_text());
    Ok(w)
}

/// A checkpoint: float32 weights, the optimizer's state (Adagrad accumulators or Adam
/// moments), counters and `extra` metadata (the CLI keeps its data cursor there).
pub fn checkpoint_bytes(
    state: &TrainState,
    config: &SummarizerConfig,
    vocab: &Vocab,
    extra: &[(&str, String)],
) -> Result<Vec<u8>, RecordError> {
    let mut w = writer(CHECKPOINT_FORMAT, config, vocab)?;
    w.module(&state.model, "", |n| n.to_string())?;
    w.optimizer(&state.opt, "model")?;
    w.counter("step", state.step);
    w.extras(extra);
    w.into_bytes()
}

/// A compact export for the web page, with `extra` metadata (provenance, such as the steps an
/// averaged generator spans), which [`load`] returns in [`Loaded::extra`].
pub fn export_bytes(
    model: &PointerGenerator,
    config: &SummarizerConfig,
    vocab: &Vocab,
    precision: Precision,
    extra: &[(&str, String)],
) -> Result<Vec<u8>, RecordError> {
    let mut w = writer(EXPORT_FORMAT, config, vocab)?;
    w.extras(extra);
    w.module_at(model, "", |n| n.to_string(), precision)?;
    w.into_bytes()
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
) -> Result<Optimizer, RecordError> {
    let rule = super::train::optimizer(config);
    let t = r.meta_u64("optim_t")?;
    let mut record = crate::optim::StateRecord::default();
    for (path, dims) in nn::param_shapes(model) {
        let slots = (0..rule.v1_slots())
            .map(|k| r.reshaped(&format!("optim.{path}.{k}"), &dims))
            .collect::<Result<_, _>>()?;
        rule.v1_state(&path, slots, t, &mut record);
    }
    rule.init().load(record, t, device).map_err(|e| RecordError::Config(e.to_string()))
}

/// Loads a checkpoint or an export onto `device`; every problem is named.
pub fn load(bytes: &[u8], device: &Device) -> Result<Loaded, RecordError> {
    let r = Reader::new(bytes)?;
    let kind = match r.format(KIND, &[CHECKPOINT_FORMAT, CHECKPOINT_FORMAT_V1, EXPORT_FORMAT])? {
        CHECKPOINT_FORMAT => Kind::Checkpoint,
        CHECKPOINT_FORMAT_V1 => Kind::OldCheckpoint,
        _ => Kind::Export,
    };
    let config: SummarizerConfig = r.config()?;
    config.validate()?;
    let vocab =
        Vocab::from_text(r.meta("vocab")?).map_err(|e| RecordError::Vocab(e.to_string()))?;
    let (found, expected) = (vocab.len(), config.model.vocab_size);
    if found != expected {
        return Err(RecordError::VocabSize { found, expected });
    }
    let skeleton = PointerGenerator::new(&config.model, Init::Zeros, device);
    let model = r.module(skeleton, "", |n| n.to_string())?;
    let opt = match kind {
        Kind::Checkpoint => {
            Some(r.optimizer(super::train::optimizer(&config).init(), &model, "model", device)?)
        }
        Kind::OldCheckpoint => Some(v1_optimizer(&r, &model, &config, device)?),
        Kind::Export => None,
    };
    let step = if kind == Kind::Export { 0 } else { r.meta_u64("step")? };
    let extra = r.extras(&[]);
    Ok(Loaded { model, config, vocab, opt, step, extra, kind })
}
