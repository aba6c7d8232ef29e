//! Saving and loading the pointer-generator as safetensors, in PyTorch's layout: every
//! weight matrix is `[out, in]` (LSTM `weight_ih`/`weight_hh` are `[4H, in]` with gates i, f,
//! g, o), biases are 1-D, the embedding is `[vocab, emb]`. The config (TOML) and the
//! vocabulary travel in the metadata, so one file is a whole model.
//!
//! - A *checkpoint* holds float32 weights, the Adagrad accumulators and the counters, for an
//!   exact `--resume`.
//! - An *export* holds only the weights, as float16 or int8 (symmetric, one float32 scale per
//!   output row, stored as `NAME.scale`), for the web page.

use std::collections::HashMap;

use burn::tensor::{Device, Tensor, TensorData};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};

use super::config::SummarizerConfig;
use super::model::{PARAM_NAMES, PointerGenerator};
use super::train::TrainState;
use super::vocab::Vocab;
use crate::gan::checkpoint::transpose;
use crate::optim::OptimState;

pub const CHECKPOINT_FORMAT: &str = "earthmover-pointer-generator-v1";
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

fn read(t: &Tensor<2>) -> Result<Vec<f32>, StoreError> {
    t.clone().inner().into_data().convert::<f32>().try_into_vec::<f32>().map_err(|e| StoreError::Read(format!("{e:?}")))
}


/// The shape of our `[in, out]` parameter `name` in PyTorch's layout: biases are 1-D, the
/// embedding keeps its shape, every other matrix is transposed to `[out, in]`.
fn torch_shape(name: &str, dims: [usize; 2]) -> Vec<usize> {
    if name.ends_with("bias") {
        vec![dims[0] * dims[1]]
    } else if name == "embedding.weight" {
        dims.to_vec()
    } else {
        vec![dims[1], dims[0]]
    }
}

fn is_transposed(name: &str) -> bool {
    !name.ends_with("bias") && name != "embedding.weight"
}

/// Our `[in, out]` parameter → PyTorch's layout (shape and row-major values).
fn to_torch(name: &str, values: Vec<f32>, dims: [usize; 2]) -> (Vec<usize>, Vec<f32>) {
    let values = if is_transposed(name) { transpose(&values, dims[0], dims[1]) } else { values };
    (torch_shape(name, dims), values)
}

/// The inverse of [`to_torch`].
fn from_torch(name: &str, values: Vec<f32>, dims: [usize; 2]) -> Vec<f32> {
    if is_transposed(name) { transpose(&values, dims[1], dims[0]) } else { values }
}

/// IEEE 754 binary16 from binary32, rounding to nearest even (overflow → ±∞; the weights
/// are checked finite first, and |w| > 65504 does not occur in a trained model).
pub fn f32_to_f16(x: f32) -> u16 {
    let bits = x.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exp = ((bits >> 23) & 0xff) as i32;
    let man = bits & 0x7f_ffff;
    if exp == 0xff {
        return sign | 0x7c00 | if man != 0 { 0x200 } else { 0 };
    }
    let e = exp - 127 + 15;
    if e >= 0x1f {
        return sign | 0x7c00;
    }
    if e <= 0 {
        if e < -10 {
            return sign;
        }
        // Subnormal: shift the implicit-1 mantissa into place, rounding to nearest even.
        let m = man | 0x80_0000;
        let shift = (14 - e) as u32;
        let half = 1u32 << (shift - 1);
        let rest = m & ((1 << shift) - 1);
        let mut out = m >> shift;
        if rest > half || (rest == half && out & 1 == 1) {
            out += 1;
        }
        return sign | out as u16;
    }
    let mut out = ((e as u32) << 10) | (man >> 13);
    let rest = man & 0x1fff;
    if rest > 0x1000 || (rest == 0x1000 && out & 1 == 1) {
        out += 1; // may carry into the exponent, which is still correct (up to ∞)
    }
    sign | out as u16
}

/// binary32 from IEEE 754 binary16 (exact).
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h & 0x8000) as u32) << 16;
    let exp = ((h >> 10) & 0x1f) as u32;
    let man = (h & 0x3ff) as u32;
    let bits = match (exp, man) {
        (0, 0) => sign,
        (0, m) => {
            // Subnormal: normalise.
            let shift = m.leading_zeros() - 21;
            sign | ((113 - shift) << 23) | ((m << shift) & 0x3ff) << 13
        }
        (0x1f, m) => sign | 0x7f80_0000 | (m << 13),
        (e, m) => sign | ((e + 112) << 23) | (m << 13),
    };
    f32::from_bits(bits)
}

struct Entry {
    name: String,
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

fn f32_entry(name: String, shape: Vec<usize>, values: &[f32]) -> Result<Entry, StoreError> {
    if values.iter().any(|v| !v.is_finite()) {
        return Err(StoreError::NonFinite(name));
    }
    Ok(Entry { name, dtype: Dtype::F32, shape, bytes: values.iter().flat_map(|v| v.to_le_bytes()).collect() })
}

fn serialize(entries: Vec<Entry>, metadata: HashMap<String, String>) -> Result<Vec<u8>, StoreError> {
    let views: Vec<(String, TensorView<'_>)> = entries
        .iter()
        .map(|e| TensorView::new(e.dtype, e.shape.clone(), &e.bytes).map(|v| (e.name.clone(), v)))
        .collect::<Result<_, _>>()
        .map_err(|e| StoreError::Write(e.to_string()))?;
    safetensors::serialize(views, Some(metadata)).map_err(|e| StoreError::Write(e.to_string()))
}

fn base_metadata(format: &str, config: &SummarizerConfig, vocab: &Vocab) -> Result<HashMap<String, String>, StoreError> {
    let config_text = toml::to_string(config).map_err(|e| StoreError::Config(e.to_string()))?;
    Ok(HashMap::from([("format".to_string(), format.to_string()), ("config".to_string(), config_text), ("vocab".to_string(), vocab.to_text())]))
}

/// A checkpoint: float32 weights, the optimizer's state (Adagrad accumulators or Adam moments), counters and `extra` metadata (the
/// CLI keeps its data cursor there).
pub fn checkpoint_bytes(state: &TrainState, config: &SummarizerConfig, vocab: &Vocab, extra: &[(&str, String)]) -> Result<Vec<u8>, StoreError> {
    let mut entries = vec![];
    for (name, p) in PARAM_NAMES.iter().zip(state.model.params()) {
        let (shape, values) = to_torch(name, read(&p)?, p.dims());
        entries.push(f32_entry(name.to_string(), shape, &values)?);
    }
    for (i, slots) in state.opt.slots.iter().enumerate() {
        for (k, s) in slots.iter().enumerate() {
            entries.push(f32_entry(format!("optim.{}.{k}", PARAM_NAMES[i]), s.dims().to_vec(), &read(s)?)?);
        }
    }
    let mut metadata = base_metadata(CHECKPOINT_FORMAT, config, vocab)?;
    metadata.insert("step".into(), state.step.to_string());
    metadata.insert("optim_t".into(), state.opt.t.to_string());
    for (k, v) in extra {
        metadata.insert(format!("extra.{k}"), v.clone());
    }
    serialize(entries, metadata)
}

/// A compact export for the web page.
pub fn export_bytes(model: &PointerGenerator, config: &SummarizerConfig, vocab: &Vocab, precision: Precision) -> Result<Vec<u8>, StoreError> {
    let mut entries = vec![];
    for (name, p) in PARAM_NAMES.iter().zip(model.params()) {
        let (shape, values) = to_torch(name, read(&p)?, p.dims());
        if values.iter().any(|v| !v.is_finite()) {
            return Err(StoreError::NonFinite(name.to_string()));
        }
        match precision {
            Precision::F16 => {
                let bytes = values.iter().flat_map(|v| f32_to_f16(*v).to_le_bytes()).collect();
                entries.push(Entry { name: name.to_string(), dtype: Dtype::F16, shape, bytes });
            }
            Precision::Int8 => {
                let cols = *shape.last().unwrap_or(&1);
                let rows = values.len() / cols.max(1);
                let mut scales = Vec::with_capacity(rows);
                let mut bytes = Vec::with_capacity(values.len());
                for row in values.chunks(cols.max(1)) {
                    let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
                    let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
                    scales.push(scale);
                    bytes.extend(row.iter().map(|v| ((v / scale).round().clamp(-127.0, 127.0) as i8) as u8));
                }
                entries.push(Entry { name: name.to_string(), dtype: Dtype::I8, shape, bytes });
                entries.push(f32_entry(format!("{name}.scale"), vec![rows], &scales)?);
            }
        }
    }
    let mut metadata = base_metadata(EXPORT_FORMAT, config, vocab)?;
    metadata.insert("precision".into(), format!("{precision:?}").to_lowercase());
    serialize(entries, metadata)
}

/// Everything loaded from a checkpoint or an export.
pub struct Loaded {
    pub model: PointerGenerator,
    pub config: SummarizerConfig,
    pub vocab: Vocab,
    /// Present for checkpoints.
    pub opt: Option<OptimState>,
    pub step: u64,
    pub extra: HashMap<String, String>,
    pub is_export: bool,
}

fn values(st: &SafeTensors<'_>, name: &str, expected: &[usize]) -> Result<Vec<f32>, StoreError> {
    let view = st.tensor(name).map_err(|_| StoreError::Missing(name.to_string()))?;
    if view.shape() != expected {
        return Err(StoreError::Shape { name: name.to_string(), found: view.shape().to_vec(), expected: expected.to_vec() });
    }
    let data = view.data();
    match view.dtype() {
        Dtype::F32 => Ok(data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()),
        Dtype::F16 => Ok(data.chunks_exact(2).map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]]))).collect()),
        Dtype::I8 => {
            let cols = *expected.last().unwrap_or(&1);
            let rows = data.len() / cols.max(1);
            let scales = values(st, &format!("{name}.scale"), &[rows])?;
            Ok(data.iter().enumerate().map(|(i, &b)| (b as i8) as f32 * scales[i / cols.max(1)]).collect())
        }
        other => Err(StoreError::DType { name: name.to_string(), found: format!("{other:?}"), expected: "F32, F16 or I8".into() }),
    }
}

/// Loads a checkpoint or an export onto `device`; every problem is named.
pub fn load(bytes: &[u8], device: &Device) -> Result<Loaded, StoreError> {
    let (_, md) = SafeTensors::read_metadata(bytes).map_err(|e| StoreError::NotSafetensors(e.to_string()))?;
    let m = md.metadata().clone().unwrap_or_default();
    let format = m.get("format").cloned().unwrap_or_default();
    let is_export = match format.as_str() {
        CHECKPOINT_FORMAT => false,
        EXPORT_FORMAT => true,
        _ => return Err(StoreError::WrongFormat(format)),
    };
    let meta = |k: &str| m.get(k).ok_or_else(|| StoreError::Missing(format!("metadata.{k}")));
    let config: SummarizerConfig = toml::from_str(meta("config")?).map_err(|e| StoreError::Config(e.to_string()))?;
    config.validate().map_err(StoreError::Config)?;
    let vocab = Vocab::from_text(meta("vocab")?).map_err(|e| StoreError::Vocab(e.to_string()))?;
    if vocab.len() != config.model.vocab_size {
        return Err(StoreError::VocabSize { found: vocab.len(), expected: config.model.vocab_size });
    }
    let st = SafeTensors::deserialize(bytes).map_err(|e| StoreError::NotSafetensors(e.to_string()))?;
    let shapes = PointerGenerator::shapes(&config.model);
    let mut params = vec![];
    for (name, dims) in PARAM_NAMES.iter().zip(&shapes) {
        let v = values(&st, name, &torch_shape(name, *dims))?;
        if v.iter().any(|x| !x.is_finite()) {
            return Err(StoreError::NonFinite(name.to_string()));
        }
        params.push(Tensor::<2>::from_data(TensorData::new(from_torch(name, v, *dims), *dims), device));
    }
    let model = PointerGenerator::from_params(&config.model, params).ok_or_else(|| StoreError::Config("wrong parameter count".into()))?;
    let number = |k: &str| meta(k)?.parse::<u64>().map_err(|_| StoreError::Config(format!("metadata.{k} is not a whole number")));
    let (opt, step) = if is_export {
        (None, 0)
    } else {
        let n_slots = crate::summarize::train::optimizer(&config).slots();
        let mut slots = vec![];
        for (name, dims) in PARAM_NAMES.iter().zip(&shapes) {
            let mut per_param = vec![];
            for k in 0..n_slots {
                let v = values(&st, &format!("optim.{name}.{k}"), dims)?;
                per_param.push(Tensor::<2>::from_data(TensorData::new(v, *dims), device));
            }
            slots.push(per_param);
        }
        (Some(OptimState { t: number("optim_t")?, slots }), number("step")?)
    };
    let extra = m.iter().filter_map(|(k, v)| k.strip_prefix("extra.").map(|k| (k.to_string(), v.clone()))).collect();
    Ok(Loaded { model, config, vocab, opt, step, extra, is_export })
}
