//! Checkpoints as safetensors: the weights in PyTorch's layout (`net.{2i}.weight` is
//! `[out, in]`, `net.{2i}.bias` is `[out]`, as in an `nn.Sequential` of Linear and ReLU), the
//! optimizer states by parameter name, the running averages, and in the metadata the config
//! (TOML) and the step counters. Loading it and training on is bit-for-bit the run that never
//! stopped.

use burn::tensor::{Device, TensorData};

use super::config::GanConfig;
use super::mlp::Mlp;
use super::train::GanState;
use crate::nn;
use crate::optim::{Optimizer, OptimizerConfig, StateRecord};
use crate::record::{Reader, RecordError, Writer};

pub const FORMAT: &str = "earthmover-gan-v2";
/// Before the models were burn modules: the same weights and names; optimizer slots and
/// running averages by position (`optim.{who}.{p}.{k}`, `average.{who}.{p}`), in burn's layout
/// with biases as `[1, n]`. Such a checkpoint loads and resumes; the next save writes v2.
pub const FORMAT_V1: &str = "earthmover-gan-v1";

/// What the format errors call these files.
const KIND: &str = "GAN checkpoint";

/// `net.{i}` (our `Vec<Linear>` index) → `net.{2i}` (its place in PyTorch's Sequential).
fn torch_name(path: &str) -> String {
    let parts: Vec<String> = path.split('.').map(str::to_string).collect();
    let mut out = parts.clone();
    for k in 0..parts.len().saturating_sub(1) {
        if parts[k] == "net"
            && let Ok(i) = parts[k + 1].parse::<usize>()
        {
            out[k + 1] = (2 * i).to_string();
        }
    }
    out.join(".")
}

/// The whole state and config as safetensors bytes.
pub fn to_bytes(state: &GanState, config: &GanConfig) -> Result<Vec<u8>, RecordError> {
    let mut w = Writer::default();
    w.module(&state.generator, "generator", torch_name)?;
    w.module(&state.critic, "critic", torch_name)?;
    w.optimizer(&state.generator_opt, "generator")?;
    w.optimizer(&state.critic_opt, "critic")?;
    if let Some(a) = &state.generator_avg {
        w.module(a, "average.generator", torch_name)?;
    }
    if let Some(a) = &state.critic_avg {
        w.module(a, "average.critic", torch_name)?;
    }
    w.header(FORMAT, config)?;
    w.counter("step", state.step);
    w.counter("critic_steps", state.critic_steps);
    w.into_bytes()
}

/// Whether the file is v1 (`Ok(true)`) or v2.
fn check_format(r: &Reader<'_>) -> Result<bool, RecordError> {
    Ok(r.format(KIND, &[FORMAT, FORMAT_V1])? == FORMAT_V1)
}

/// A v1 optimizer: slot `k` of the `p`-th parameter (in the module's visiting order, which is
/// v1's order) was `optim.{who}.{p}.{k}`.
fn v1_optimizer(
    r: &Reader<'_>,
    model: &Mlp,
    rule: &OptimizerConfig,
    who: &str,
    device: &Device,
) -> Result<Optimizer, RecordError> {
    let t = r.meta_u64(&format!("{who}_opt_t"))?;
    let mut record = StateRecord::default();
    for (p, (path, dims)) in nn::param_shapes(model).into_iter().enumerate() {
        let slots = (0..rule.v1_slots())
            .map(|k| v1_tensor(r, &format!("optim.{who}.{p}.{k}"), &dims))
            .collect::<Result<_, _>>()?;
        rule.v1_state(&path, slots, t, &mut record);
    }
    rule.init().load(record, t, device).map_err(|e| RecordError::Other(e.to_string()))
}

fn v1_tensor(r: &Reader<'_>, name: &str, dims: &[usize]) -> Result<TensorData, RecordError> {
    r.reshaped(name, dims)
}

/// A v1 running average: the `p`-th parameter was `average.{who}.{p}`.
fn v1_average(r: &Reader<'_>, like: Mlp, who: &str) -> Result<Mlp, RecordError> {
    struct Fill(Vec<TensorData>);
    impl nn::FloatMap for Fill {
        fn apply<const D: usize>(
            &mut self,
            _path: &str,
            _id: burn::module::ParamId,
            t: burn::tensor::Tensor<D>,
        ) -> burn::tensor::Tensor<D> {
            burn::tensor::Tensor::from_data(self.0.remove(0), &t.device())
        }
    }
    let values = nn::param_shapes(&like)
        .into_iter()
        .enumerate()
        .map(|(p, (_, dims))| v1_tensor(r, &format!("average.{who}.{p}"), &dims))
        .collect::<Result<_, _>>()?;
    Ok(nn::map_floats(like, &mut Fill(values)))
}

fn config(r: &Reader<'_>) -> Result<GanConfig, RecordError> {
    let config: GanConfig = r.config()?;
    config.validate().map_err(|e| RecordError::Config(e.to_string()))?;
    Ok(config)
}

/// The config stored in a checkpoint, without loading any tensor.
pub fn read_config(bytes: &[u8]) -> Result<GanConfig, RecordError> {
    let r = Reader::new(bytes)?;
    check_format(&r)?;
    config(&r)
}

/// Loads a state and its config onto `device`.
pub fn from_bytes(bytes: &[u8], device: &Device) -> Result<(GanState, GanConfig), RecordError> {
    let r = Reader::new(bytes)?;
    let v1 = check_format(&r)?;
    let config = config(&r)?;
    // A skeleton of the right shapes (its seeded values are all replaced).
    let fresh = GanState::new(&config, device);
    let generator = r.module(fresh.generator.frozen(), "generator", torch_name)?;
    let critic = r.module(fresh.critic.frozen(), "critic", torch_name)?;
    let (generator_opt, critic_opt) = if v1 {
        (
            v1_optimizer(&r, &generator, &config.generator_optimizer, "generator", device)?,
            v1_optimizer(&r, &critic, &config.critic_optimizer, "critic", device)?,
        )
    } else {
        (
            r.optimizer(config.generator_optimizer.init(), &generator, "generator", device)?,
            r.optimizer(config.critic_optimizer.init(), &critic, "critic", device)?,
        )
    };
    let (generator_avg, critic_avg) = match (config.tricks.historical_averaging, v1) {
        (None, _) => (None, None),
        (Some(_), false) => (
            Some(r.module(generator.clone(), "average.generator", torch_name)?),
            Some(r.module(critic.clone(), "average.critic", torch_name)?),
        ),
        (Some(_), true) => (
            Some(v1_average(&r, generator.clone(), "generator")?),
            Some(v1_average(&r, critic.clone(), "critic")?),
        ),
    };
    let state = GanState {
        generator: generator.trainable(),
        critic: critic.trainable(),
        generator_opt,
        critic_opt,
        step: r.meta_u64("step")?,
        critic_steps: r.meta_u64("critic_steps")?,
        generator_avg,
        critic_avg,
        device: device.clone(),
    };
    Ok((state, config))
}
