//! Checkpoints as safetensors: the weights in PyTorch's layout (`net.{2i}.weight` is
//! `[out, in]`, `net.{2i}.bias` is `[out]`, as in an `nn.Sequential` of Linear and ReLU), the
//! optimizer slots, the running averages, and in the metadata the config (TOML) and the step
//! counters. Loading it and training on is bit-for-bit the run that never stopped.

use std::collections::HashMap;

use burn::tensor::{Device, Tensor, TensorData};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};

use super::config::GanConfig;
use super::mlp::Mlp;
use super::train::GanState;
use crate::optim::OptimState;

pub const FORMAT: &str = "earthmover-gan-v1";

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("not a safetensors file ({0})")]
    NotSafetensors(String),
    #[error("not an earthmover GAN checkpoint (format is '{0}', expected '{FORMAT}')")]
    WrongFormat(String),
    #[error("the checkpoint has no '{0}' entry")]
    Missing(String),
    #[error("the checkpoint's config is unreadable: {0}")]
    Config(String),
    #[error("tensor '{name}' has shape {found:?}, but the config needs {expected:?}")]
    Shape { name: String, found: Vec<usize>, expected: Vec<usize> },
    #[error("tensor '{0}' is not float32")]
    DType(String),
    #[error("a tensor could not be read back from the device: {0}")]
    Read(String),
    #[error("could not write safetensors: {0}")]
    Write(String),
    #[error("'{0}' holds NaN or infinite values; it was not saved")]
    NonFinite(String),
}

fn read(t: &Tensor<2>) -> Result<(Vec<f32>, [usize; 2]), CheckpointError> {
    let dims = t.dims();
    let v = t.clone().inner().into_data().try_to_vec::<f32>().map_err(|e| CheckpointError::Read(format!("{e:?}")))?;
    Ok((v, dims))
}

/// A row-major `[rows, cols]` matrix transposed to `[cols, rows]` (our `[in, out]` weights to
/// PyTorch's `[out, in]` and back).
pub(crate) fn transpose(v: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; v.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = v[r * cols + c];
        }
    }
    out
}

struct Entry {
    finite: bool,
    name: String,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

fn entry(name: String, shape: Vec<usize>, values: &[f32]) -> Entry {
    Entry {
        finite: values.iter().all(|v| v.is_finite()), name, shape, bytes: values.iter().flat_map(|v| v.to_le_bytes()).collect() }
}

/// PyTorch-layout entries of one MLP.
fn mlp_entries(prefix: &str, mlp: &Mlp, out: &mut Vec<Entry>) -> Result<(), CheckpointError> {
    for (i, layer) in mlp.layers.iter().enumerate() {
        let (w, [fan_in, fan_out]) = read(&layer.weight)?;
        let (b, _) = read(&layer.bias)?;
        out.push(entry(format!("{prefix}.net.{}.weight", 2 * i), vec![fan_out, fan_in], &transpose(&w, fan_in, fan_out)));
        out.push(entry(format!("{prefix}.net.{}.bias", 2 * i), vec![fan_out], &b));
    }
    if let Some(mb) = &mlp.minibatch {
        let (t, [a, bc]) = read(&mb.t)?;
        out.push(entry(format!("{prefix}.minibatch.weight"), vec![bc, a], &transpose(&t, a, bc)));
    }
    Ok(())
}

fn raw_entries(prefix: &str, tensors: &[Tensor<2>], out: &mut Vec<Entry>) -> Result<(), CheckpointError> {
    for (i, t) in tensors.iter().enumerate() {
        let (v, dims) = read(t)?;
        out.push(entry(format!("{prefix}.{i}"), dims.to_vec(), &v));
    }
    Ok(())
}

/// The whole state and config as safetensors bytes.
pub fn to_bytes(state: &GanState, config: &GanConfig) -> Result<Vec<u8>, CheckpointError> {
    let mut entries = vec![];
    mlp_entries("generator", &state.generator, &mut entries)?;
    mlp_entries("critic", &state.critic, &mut entries)?;
    for (who, opt) in [("generator", &state.generator_opt), ("critic", &state.critic_opt)] {
        for (p, slots) in opt.slots.iter().enumerate() {
            raw_entries(&format!("optim.{who}.{p}"), slots, &mut entries)?;
        }
    }
    if let Some(a) = &state.generator_avg {
        raw_entries("average.generator", a, &mut entries)?;
    }
    if let Some(a) = &state.critic_avg {
        raw_entries("average.critic", a, &mut entries)?;
    }
    if let Some(bad) = entries.iter().find(|e| !e.finite) {
        return Err(CheckpointError::NonFinite(bad.name.clone()));
    }
    let config_text = toml::to_string(config).map_err(|e| CheckpointError::Config(e.to_string()))?;
    let metadata = HashMap::from([
        ("format".to_string(), FORMAT.to_string()),
        ("config".to_string(), config_text),
        ("step".to_string(), state.step.to_string()),
        ("critic_steps".to_string(), state.critic_steps.to_string()),
        ("generator_opt_t".to_string(), state.generator_opt.t.to_string()),
        ("critic_opt_t".to_string(), state.critic_opt.t.to_string()),
    ]);
    let views: Vec<(String, TensorView<'_>)> = entries
        .iter()
        .map(|e| TensorView::new(Dtype::F32, e.shape.clone(), &e.bytes).map(|v| (e.name.clone(), v)))
        .collect::<Result<_, _>>()
        .map_err(|e| CheckpointError::Write(e.to_string()))?;
    safetensors::serialize(views, Some(metadata)).map_err(|e| CheckpointError::Write(e.to_string()))
}

struct Reader<'a> {
    st: SafeTensors<'a>,
    device: Device,
}

impl Reader<'_> {
    fn values(&self, name: &str, expected: &[usize]) -> Result<Vec<f32>, CheckpointError> {
        let view = self.st.tensor(name).map_err(|_| CheckpointError::Missing(name.to_string()))?;
        if view.dtype() != Dtype::F32 {
            return Err(CheckpointError::DType(name.to_string()));
        }
        if view.shape() != expected {
            return Err(CheckpointError::Shape { name: name.to_string(), found: view.shape().to_vec(), expected: expected.to_vec() });
        }
        Ok(view.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    }

    fn tensor(&self, values: Vec<f32>, dims: [usize; 2]) -> Tensor<2> {
        Tensor::from_data(TensorData::new(values, dims), &self.device)
    }

    fn mlp(&self, prefix: &str, net: &super::mlp::MlpConfig) -> Result<Mlp, CheckpointError> {
        let mut params = vec![];
        for (i, (fan_in, fan_out)) in net.shapes().into_iter().enumerate() {
            let w = self.values(&format!("{prefix}.net.{}.weight", 2 * i), &[fan_out, fan_in])?;
            let b = self.values(&format!("{prefix}.net.{}.bias", 2 * i), &[fan_out])?;
            params.push(self.tensor(transpose(&w, fan_out, fan_in), [fan_in, fan_out]));
            params.push(self.tensor(b, [1, fan_out]));
        }
        if let Some([a, bc]) = net.minibatch_shape() {
            let t = self.values(&format!("{prefix}.minibatch.weight"), &[bc, a])?;
            params.push(self.tensor(transpose(&t, bc, a), [a, bc]));
        }
        Ok(Mlp::from_params(params, net.activation, net.minibatch))
    }

    fn raw(&self, prefix: &str, like: &[Tensor<2>]) -> Result<Vec<Tensor<2>>, CheckpointError> {
        like.iter()
            .enumerate()
            .map(|(i, p)| {
                let dims = p.dims();
                Ok(self.tensor(self.values(&format!("{prefix}.{i}"), &dims)?, dims))
            })
            .collect()
    }

    fn optim(&self, who: &str, cfg: &crate::optim::OptimizerConfig, params: &[Tensor<2>], t: u64) -> Result<OptimState, CheckpointError> {
        let slots = params
            .iter()
            .enumerate()
            .map(|(p, param)| self.raw(&format!("optim.{who}.{p}"), &vec![param.clone(); cfg.slots()]))
            .collect::<Result<_, _>>()?;
        Ok(OptimState { t, slots })
    }
}

fn meta<'a>(m: &'a HashMap<String, String>, key: &str) -> Result<&'a str, CheckpointError> {
    m.get(key).map(String::as_str).ok_or_else(|| CheckpointError::Missing(format!("metadata.{key}")))
}

fn meta_u64(m: &HashMap<String, String>, key: &str) -> Result<u64, CheckpointError> {
    meta(m, key)?.parse().map_err(|_| CheckpointError::Config(format!("metadata.{key} is not a whole number")))
}

/// The config stored in a checkpoint, without loading any tensor.
pub fn read_config(bytes: &[u8]) -> Result<GanConfig, CheckpointError> {
    let (_, md) = SafeTensors::read_metadata(bytes).map_err(|e| CheckpointError::NotSafetensors(e.to_string()))?;
    let m = md.metadata().clone().unwrap_or_default();
    let format = m.get("format").cloned().unwrap_or_default();
    if format != FORMAT {
        return Err(CheckpointError::WrongFormat(format));
    }
    let config: GanConfig = toml::from_str(meta(&m, "config")?).map_err(|e| CheckpointError::Config(e.to_string()))?;
    config.validate().map_err(|e| CheckpointError::Config(e.to_string()))?;
    Ok(config)
}

/// Loads a state and its config onto `device`.
pub fn from_bytes(bytes: &[u8], device: &Device) -> Result<(GanState, GanConfig), CheckpointError> {
    let config = read_config(bytes)?;
    let (_, md) = SafeTensors::read_metadata(bytes).map_err(|e| CheckpointError::NotSafetensors(e.to_string()))?;
    let m = md.metadata().clone().unwrap_or_default();
    let st = SafeTensors::deserialize(bytes).map_err(|e| CheckpointError::NotSafetensors(e.to_string()))?;
    let r = Reader { st, device: device.clone() };
    let generator = r.mlp("generator", &config.generator_net())?;
    let critic = r.mlp("critic", &config.critic_net())?;
    let generator_opt = r.optim("generator", &config.generator_optimizer, &generator.params(), meta_u64(&m, "generator_opt_t")?)?;
    let critic_opt = r.optim("critic", &config.critic_optimizer, &critic.params(), meta_u64(&m, "critic_opt_t")?)?;
    let (generator_avg, critic_avg) = match config.tricks.historical_averaging {
        Some(_) => (Some(r.raw("average.generator", &generator.params())?), Some(r.raw("average.critic", &critic.params())?)),
        None => (None, None),
    };
    let state = GanState {
        generator: generator.trainable(),
        critic: critic.trainable(),
        generator_opt,
        critic_opt,
        step: meta_u64(&m, "step")?,
        critic_steps: meta_u64(&m, "critic_steps")?,
        generator_avg,
        critic_avg,
        device: device.clone(),
    };
    Ok((state, config))
}
