//! One safetensors file per checkpoint: module weights in PyTorch's layout (through burn-store
//! and [`crate::nn::TorchLayout`]), optimizer states under `optim.{prefix}.{path}.{leaf}`, and
//! strings (config, counters, the optimizer's scalars) in the metadata.

use std::collections::HashMap;

use burn::module::Module;
use burn::tensor::{Device, TensorData};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};

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
    #[error("'{0}' holds NaN or infinite values")]
    NonFinite(String),
    #[error("{0}")]
    Other(String),
}

/// Tensors and metadata on their way into one file.
#[derive(Default)]
pub struct Writer {
    entries: Vec<(String, Dtype, Vec<usize>, Vec<u8>)>,
    pub metadata: HashMap<String, String>,
}

impl Writer {
    /// Float32 entries; refuses NaN or ±∞ (nothing is written then).
    pub fn floats(&mut self, stored: Vec<Stored>) -> Result<(), RecordError> {
        for s in stored {
            if s.values.iter().any(|v| !v.is_finite()) {
                return Err(RecordError::NonFinite(s.name));
            }
            let bytes = s.values.iter().flat_map(|v| v.to_le_bytes()).collect();
            self.entries.push((s.name, Dtype::F32, s.shape, bytes));
        }
        Ok(())
    }

    pub fn raw(&mut self, name: String, dtype: Dtype, shape: Vec<usize>, bytes: Vec<u8>) {
        self.entries.push((name, dtype, shape, bytes));
    }

    /// `module`'s weights under `prefix` (empty: their bare paths).
    pub fn module<M: Module>(
        &mut self,
        module: &M,
        prefix: &str,
        rename: impl Fn(&str) -> String,
    ) -> Result<(), RecordError> {
        let stored = nn::to_torch(module, prefix).map_err(RecordError::Other)?;
        self.floats(stored.into_iter().map(|s| Stored { name: rename(&s.name), ..s }).collect())
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
        let views: Vec<(String, TensorView<'_>)> = self
            .entries
            .iter()
            .map(|(name, dtype, shape, bytes)| {
                TensorView::new(*dtype, shape.clone(), bytes).map(|v| (name.clone(), v))
            })
            .collect::<Result<_, _>>()
            .map_err(|e| RecordError::Other(format!("could not write safetensors: {e}")))?;
        safetensors::serialize(views, Some(self.metadata))
            .map_err(|e| RecordError::Other(format!("could not write safetensors: {e}")))
    }
}

/// A parsed file.
pub struct Reader<'a> {
    pub st: SafeTensors<'a>,
    pub metadata: HashMap<String, String>,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Result<Self, RecordError> {
        let (_, md) = SafeTensors::read_metadata(bytes)
            .map_err(|e| RecordError::NotSafetensors(e.to_string()))?;
        let metadata = md.metadata().clone().unwrap_or_default();
        let st = SafeTensors::deserialize(bytes)
            .map_err(|e| RecordError::NotSafetensors(e.to_string()))?;
        Ok(Reader { st, metadata })
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
                    return Err(RecordError::Shape {
                        name: format!("{name}.scale"),
                        found: scales.shape,
                        expected: vec![rows],
                    });
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
            return Err(RecordError::Shape {
                name: name.to_string(),
                found: s.shape,
                expected: dims.to_vec(),
            });
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
            if let Some(rest) = name.strip_prefix(&head) {
                let s = self.floats(name)?;
                let param = shapes
                    .iter()
                    .filter(|(path, _)| {
                        rest.strip_prefix(path.as_str()).is_some_and(|leaf| leaf.starts_with('.'))
                    })
                    .max_by_key(|(path, _)| path.len());
                match param {
                    Some((_, dims)) if *dims == s.shape => {}
                    Some((_, dims)) => {
                        return Err(RecordError::Shape {
                            name: name.to_string(),
                            found: s.shape,
                            expected: dims.clone(),
                        });
                    }
                    None => {
                        return Err(RecordError::Other(format!(
                            "'{name}' is the optimizer state of no parameter of this model"
                        )));
                    }
                }
                record.tensors.push((rest.to_string(), TensorData::new(s.values, s.shape)));
            }
        }
        for (k, v) in &self.metadata {
            if let Some(rest) = k.strip_prefix(&head) {
                if rest == "t" {
                    continue;
                }
                let value = scalar_from_string(v).ok_or_else(|| {
                    RecordError::Other(format!("metadata.{k} is not an optimizer scalar"))
                })?;
                record.scalars.push((rest.to_string(), value));
            }
        }
        let t = self.meta_u64(&format!("optim.{prefix}.t"))?;
        opt.load(record, t, device).map_err(RecordError::Other)
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
