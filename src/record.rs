//! The one container every earthmover file is: a safetensors file whose metadata carries a
//! header, beside the tensors each model names.
//! - the header: `format`, what the file holds with its version (`earthmover-gan-v2`, …);
//!   `config`, the run's settings as TOML; the counters a run has (`step`, `critic_steps`);
//!   `extra.{name}` strings (data cursors, provenance); `precision` where it is not float32;
//! - module weights in PyTorch's layout (through burn-store and [`crate::nn::TorchLayout`]), at
//!   a [`Precision`]: float32, float16, or int8 with a float32 scale per row (`{name}.scale`);
//! - optimizer states under `optim.{prefix}.{path}.{leaf}`, their scalars in the metadata.
//!
//! Each model's store (`gan::checkpoint`, `summarize::store`, `unpaired::store`,
//! `align::adversarial`, `align::bundle`) names its format tags and its tensors and reads
//! everything else through [`Writer`] and [`Reader`]; every problem is a [`RecordError`].
//! Files written before the header was shared load unchanged: the keys are the ones they used,
//! and [`Reader::extras`] also reads the bare keys older alignment checkpoints wrote.

use std::collections::HashMap;

use serde::Serialize;
use serde::de::DeserializeOwned;

use burn::module::Module;
use burn::tensor::{Device, TensorData};
use safetensors::{Dtype, SafeTensorError, SafeTensors, tensor::TensorView};

use crate::nn::{self, Stored};
use crate::optim::{Optimizer, StateRecord, scalar_from_string, scalar_to_string};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RecordError {
    #[error("not a safetensors file ({0})")]
    NotSafetensors(String),
    #[error("the file has no '{0}' entry")]
    Missing(String),
    #[error("tensor '{name}' has shape {found:?}, but the config needs {expected:?}")]
    Shape { name: String, found: Vec<usize>, expected: Vec<usize> },
    #[error("tensor '{name}' has type {found}, expected {expected}")]
    DType { name: String, found: String, expected: String },
    #[error("'{0}' holds NaN or infinite values; it was not saved")]
    NonFinite(String),
    #[error("not an earthmover {kind} (format is '{found}', expected '{expected}')")]
    Format { kind: &'static str, found: String, expected: String },
    #[error("the file's config is unusable: {0}")]
    Config(String),
    #[error("the file's config is unusable: {0}")]
    Setting(#[from] crate::bounds::InvalidSetting),
    #[error("the file's vocabulary is unusable: {0}")]
    Vocab(String),
    #[error("the vocabulary has {found} words but the config says {expected}")]
    VocabSize { found: usize, expected: usize },
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Other(String),
}

/// How a file stores its weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    /// Checkpoints: exact, so a run resumes bit for bit.
    F32,
    /// Half the size; what the page's bundles carry.
    F16,
    /// A quarter of the size: each row scaled to ±127 by its own float32 scale.
    Int8,
}

impl Precision {
    fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F16 => "f16",
            Precision::Int8 => "int8",
        }
    }
}

impl std::str::FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "f32" | "float32" => Ok(Precision::F32),
            "f16" | "float16" => Ok(Precision::F16),
            "int8" | "i8" => Ok(Precision::Int8),
            other => Err(format!("unknown precision '{other}': choose f32, f16 or int8")),
        }
    }
}

/// Tensors and metadata on their way into one file.
#[derive(Default)]
pub struct Writer {
    entries: Vec<(String, Dtype, Vec<usize>, Vec<u8>)>,
    pub metadata: HashMap<String, String>,
}

impl Writer {
    /// The header: what the file holds (`format`) and the run's config as TOML.
    pub fn header<C: Serialize>(&mut self, format: &str, config: &C) -> Result<(), RecordError> {
        let config = toml::to_string(config).map_err(|e| RecordError::Config(e.to_string()))?;
        self.format(format);
        self.metadata.insert("config".into(), config);
        Ok(())
    }

    /// What the file holds, for files without a config (a map, the page's data).
    pub fn format(&mut self, format: &str) {
        self.metadata.insert("format".into(), format.into());
    }

    /// A counter of the run (`step`, `critic_steps`).
    pub fn counter(&mut self, name: &str, value: u64) {
        self.metadata.insert(name.into(), value.to_string());
    }

    /// Free-form strings, as `extra.{name}` ([`Reader::extras`] gives them back).
    pub fn extras(&mut self, extra: &[(&str, String)]) {
        for (k, v) in extra {
            self.metadata.insert(format!("extra.{k}"), v.clone());
        }
    }

    /// Float32 entries; refuses NaN or ±∞ (nothing is written then).
    pub fn floats(&mut self, stored: Vec<Stored>) -> Result<(), RecordError> {
        self.stored(stored, Precision::F32)
    }

    /// Entries at `precision`; refuses NaN or ±∞. A file with anything but float32 says so in
    /// its `precision` key.
    pub fn stored(&mut self, stored: Vec<Stored>, precision: Precision) -> Result<(), RecordError> {
        if let Some(bad) = stored.iter().find(|s| s.values.iter().any(|v| !v.is_finite())) {
            return Err(RecordError::NonFinite(bad.name.clone()));
        }
        if precision != Precision::F32 {
            self.metadata.insert("precision".into(), precision.name().into());
        }
        let f32_bytes = |values: &[f32]| values.iter().flat_map(|v| v.to_le_bytes()).collect();
        for Stored { name, shape, values } in stored {
            let (dtype, bytes) = match precision {
                Precision::F32 => (Dtype::F32, f32_bytes(&values)),
                Precision::F16 => {
                    (Dtype::F16, values.iter().flat_map(|v| f32_to_f16(*v).to_le_bytes()).collect())
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
                            row.iter()
                                .map(|v| ((v / scale).round().clamp(-127.0, 127.0) as i8) as u8),
                        );
                    }
                    let (scale_name, rows) = (format!("{name}.scale"), vec![scales.len()]);
                    self.entries.push((scale_name, Dtype::F32, rows, f32_bytes(&scales)));
                    (Dtype::I8, bytes)
                }
            };
            self.entries.push((name, dtype, shape, bytes));
        }
        Ok(())
    }

    /// `module`'s weights under `prefix` (empty: their bare paths), in float32.
    pub fn module<M: Module>(
        &mut self,
        module: &M,
        prefix: &str,
        rename: impl Fn(&str) -> String,
    ) -> Result<(), RecordError> {
        self.module_at(module, prefix, rename, Precision::F32)
    }

    /// [`Writer::module`] at `precision`.
    pub fn module_at<M: Module>(
        &mut self,
        module: &M,
        prefix: &str,
        rename: impl Fn(&str) -> String,
        precision: Precision,
    ) -> Result<(), RecordError> {
        let stored = nn::to_torch(module, prefix).map_err(|e| RecordError::Other(e.to_string()))?;
        let stored = stored.into_iter().map(|s| Stored { name: rename(&s.name), ..s }).collect();
        self.stored(stored, precision)
    }

    /// An optimizer's states (tensors under `optim.{prefix}.`, scalars and the step count in
    /// the metadata).
    pub fn optimizer(&mut self, opt: &Optimizer, prefix: &str) -> Result<(), RecordError> {
        let StateRecord { tensors, scalars } = opt.record();
        for (name, data) in tensors {
            let shape = data.shape().to_vec();
            let values = data
                .convert::<f32>()
                .try_into_vec::<f32>()
                .map_err(|e| RecordError::Other(format!("{name}: {e:?}")))?;
            self.floats(vec![Stored { name: format!("optim.{prefix}.{name}"), shape, values }])?;
        }
        for (name, value) in scalars {
            self.metadata.insert(format!("optim.{prefix}.{name}"), scalar_to_string(&value));
        }
        self.metadata.insert(format!("optim.{prefix}.t"), opt.t.to_string());
        Ok(())
    }

    pub fn into_bytes(self) -> Result<Vec<u8>, RecordError> {
        let err =
            |e: SafeTensorError| RecordError::Other(format!("could not write safetensors: {e}"));
        let views: Vec<(String, TensorView<'_>)> = self
            .entries
            .iter()
            .map(|(name, dtype, shape, bytes)| {
                TensorView::new(*dtype, shape.clone(), bytes).map(|v| (name.clone(), v))
            })
            .collect::<Result<_, _>>()
            .map_err(err)?;
        safetensors::serialize(views, Some(self.metadata)).map_err(err)
    }
}

/// A parsed file.
pub struct Reader<'a> {
    pub st: SafeTensors<'a>,
    pub metadata: HashMap<String, String>,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Result<Self, RecordError> {
        let err = |e: SafeTensorError| RecordError::NotSafetensors(e.to_string());
        let (_, md) = SafeTensors::read_metadata(bytes).map_err(err)?;
        let metadata = md.metadata().clone().unwrap_or_default();
        Ok(Reader { st: SafeTensors::deserialize(bytes).map_err(err)?, metadata })
    }

    /// The file's format tag, which must be one of `accepted`; `kind` names such files in
    /// the error ("GAN checkpoint").
    pub fn format(
        &self,
        kind: &'static str,
        accepted: &[&'static str],
    ) -> Result<&'static str, RecordError> {
        let found = self.metadata.get("format").map(String::as_str).unwrap_or_default();
        accepted.iter().find(|&&f| f == found).copied().ok_or_else(|| RecordError::Format {
            kind,
            found: found.to_string(),
            expected: accepted.join("' or '"),
        })
    }

    /// The run's config from the header.
    pub fn config<C: DeserializeOwned>(&self) -> Result<C, RecordError> {
        toml::from_str(self.meta("config")?).map_err(|e| RecordError::Config(e.to_string()))
    }

    /// The header's `extra.{name}` strings by name. Alignment checkpoints written before the
    /// header was shared kept theirs under bare names: `names` lists those to read too.
    pub fn extras(&self, names: &[&str]) -> HashMap<String, String> {
        let mut extras: HashMap<String, String> = names
            .iter()
            .filter_map(|&k| self.metadata.get(k).map(|v| (k.to_string(), v.clone())))
            .collect();
        extras.extend(
            self.metadata
                .iter()
                .filter_map(|(k, v)| k.strip_prefix("extra.").map(|k| (k.to_string(), v.clone()))),
        );
        extras
    }

    pub fn meta(&self, key: &str) -> Result<&str, RecordError> {
        self.metadata
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| RecordError::Missing(format!("metadata.{key}")))
    }

    pub fn meta_u64(&self, key: &str) -> Result<u64, RecordError> {
        self.meta(key)?
            .parse()
            .map_err(|_| RecordError::Other(format!("metadata.{key} is not a whole number")))
    }

    /// Float32 values of `name` (float16 widened; int8 with its `name.scale` row scales).
    pub fn floats(&self, name: &str) -> Result<Stored, RecordError> {
        let view = self.st.tensor(name).map_err(|_| RecordError::Missing(name.to_string()))?;
        let (shape, data) = (view.shape().to_vec(), view.data());
        let values: Vec<f32> = match view.dtype() {
            Dtype::F32 => {
                data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
            }
            Dtype::F16 => {
                data.chunks_exact(2).map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]]))).collect()
            }
            Dtype::I8 => {
                let cols = shape.last().copied().unwrap_or(1).max(1);
                let rows = data.len() / cols;
                let scales = self.floats(&format!("{name}.scale"))?;
                if scales.shape != [rows] {
                    let (name, expected) = (format!("{name}.scale"), vec![rows]);
                    return Err(RecordError::Shape { name, found: scales.shape, expected });
                }
                data.iter()
                    .enumerate()
                    .map(|(i, &b)| (b as i8) as f32 * scales.values[i / cols])
                    .collect()
            }
            other => {
                return Err(RecordError::DType {
                    name: name.to_string(),
                    found: format!("{other:?}"),
                    expected: "F32, F16 or I8".into(),
                });
            }
        };
        if values.iter().any(|v| !v.is_finite()) {
            return Err(RecordError::NonFinite(name.to_string()));
        }
        Ok(Stored { name: name.to_string(), shape, values })
    }

    /// `name`'s values as a tensor of shape `dims`, whatever shape the file gives it with that
    /// many elements (v1 kept biases and their optimizer slots as `[1, n]`).
    pub fn reshaped(&self, name: &str, dims: &[usize]) -> Result<TensorData, RecordError> {
        let s = self.floats(name)?;
        if s.values.len() != dims.iter().product::<usize>() {
            let (name, expected) = (name.to_string(), dims.to_vec());
            return Err(RecordError::Shape { name, found: s.shape, expected });
        }
        Ok(TensorData::new(s.values, dims.to_vec()))
    }

    /// Loads `module`'s weights stored under `prefix` (file names through `rename`), by name:
    /// each parameter must be there with its exact shape.
    pub fn module<M: Module>(
        &self,
        module: M,
        prefix: &str,
        rename: impl Fn(&str) -> String,
    ) -> Result<M, RecordError> {
        let mut stored = vec![];
        for (path, expected) in nn::torch_shapes(&module) {
            let file_name =
                rename(&if prefix.is_empty() { path.clone() } else { format!("{prefix}.{path}") });
            let s = self.floats(&file_name)?;
            if s.shape != expected {
                return Err(RecordError::Shape { name: file_name, found: s.shape, expected });
            }
            stored.push(Stored { name: path, ..s });
        }
        nn::from_torch(module, stored).map_err(|e| match e {
            nn::ApplyError::Missing(p) => RecordError::Missing(p),
            nn::ApplyError::Rejected(m) => RecordError::Other(m),
        })
    }

    /// An optimizer's states written by [`Writer::optimizer`] for `module`, onto `device`. Every
    /// state tensor must have its parameter's shape, so a damaged file is refused here rather
    /// than failing in the first step.
    pub fn optimizer<M: Module>(
        &self,
        opt: Optimizer,
        module: &M,
        prefix: &str,
        device: &Device,
    ) -> Result<Optimizer, RecordError> {
        let head = format!("optim.{prefix}.");
        let shapes = nn::param_shapes(module);
        let mut record = StateRecord::default();
        for name in self.st.names() {
            let Some(rest) = name.strip_prefix(&head) else { continue };
            let s = self.floats(name)?;
            let param = shapes
                .iter()
                .filter(|(path, _)| {
                    rest.strip_prefix(path.as_str()).is_some_and(|leaf| leaf.starts_with('.'))
                })
                .max_by_key(|(path, _)| path.len());
            let Some((_, dims)) = param else {
                return Err(RecordError::Other(format!(
                    "'{name}' is the optimizer state of no parameter of this model"
                )));
            };
            if *dims != s.shape {
                let (name, expected) = (name.to_string(), dims.clone());
                return Err(RecordError::Shape { name, found: s.shape, expected });
            }
            record.tensors.push((rest.to_string(), TensorData::new(s.values, s.shape)));
        }
        for (k, v) in &self.metadata {
            let Some(rest) = k.strip_prefix(&head).filter(|&rest| rest != "t") else { continue };
            let value = scalar_from_string(v).ok_or_else(|| {
                RecordError::Other(format!("metadata.{k} is not an optimizer scalar"))
            })?;
            record.scalars.push((rest.to_string(), value));
        }
        let t = self.meta_u64(&format!("optim.{prefix}.t"))?;
        opt.load(record, t, device).map_err(|e| RecordError::Other(e.to_string()))
    }
}

/// IEEE 754 binary16 bits from binary32, rounding to nearest even (overflow → ±∞), by the
/// `half` crate that burn re-exports.
pub fn f32_to_f16(x: f32) -> u16 {
    burn::tensor::f16::from_f32(x).to_bits()
}

/// binary32 from IEEE 754 binary16 bits (exact).
pub fn f16_to_f32(h: u16) -> f32 {
    burn::tensor::f16::from_bits(h).to_f32()
}
