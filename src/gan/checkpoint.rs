//! Checkpoints as safetensors: the weights in PyTorch's layout (`net.{2i}.weight` is
//! `[out, in]`, `net.{2i}.bias` is `[out]`, as in an `nn.Sequential` of Linear and ReLU), the
//! optimizer states by parameter name, the running averages, and in the metadata the config
//! (TOML) and the step counters. Loading it and training on is bit-for-bit the run that never
//! stopped.

use burn::module::ParamId;
use burn::tensor::{Device, Tensor, TensorData};

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
    let mut parts: Vec<String> = path.split('.').map(str::to_string).collect();
    for k in 1..parts.len() {
        if parts[k - 1] == "net"
            && let Ok(i) = parts[k].parse::<usize>()
        {
            parts[k] = (2 * i).to_string();
        }
    }
    parts.join(".")
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
            .map(|k| r.reshaped(&format!("optim.{who}.{p}.{k}"), &dims))
            .collect::<Result<_, _>>()?;
        rule.v1_state(&path, slots, t, &mut record);
    }
    rule.init().load(record, t, device).map_err(|e| RecordError::Other(e.to_string()))
}

/// A v1 running average: the `p`-th parameter was `average.{who}.{p}`.
fn v1_average(r: &Reader<'_>, like: Mlp, who: &str) -> Result<Mlp, RecordError> {
    struct Fill(Vec<TensorData>);
    impl nn::FloatMap for Fill {
        fn apply<const D: usize>(&mut self, _: &str, _: ParamId, t: Tensor<D>) -> Tensor<D> {
            Tensor::from_data(self.0.remove(0), &t.device())
        }
    }
    let values = nn::param_shapes(&like)
        .into_iter()
        .enumerate()
        .map(|(p, (_, dims))| r.reshaped(&format!("average.{who}.{p}"), &dims))
        .collect::<Result<_, _>>()?;
    Ok(nn::map_floats(like, &mut Fill(values)))
}

/// The reader, whether the file is v1 (else v2), and its validated config.
fn open(bytes: &[u8]) -> Result<(Reader<'_>, bool, GanConfig), RecordError> {
    let r = Reader::new(bytes)?;
    let v1 = r.format(KIND, &[FORMAT, FORMAT_V1])? == FORMAT_V1;
    let config: GanConfig = r.config()?;
    config.validate().map_err(|e| RecordError::Config(e.to_string()))?;
    Ok((r, v1, config))
}

/// The config stored in a checkpoint, without loading any tensor.
pub fn read_config(bytes: &[u8]) -> Result<GanConfig, RecordError> {
    open(bytes).map(|(_, _, config)| config)
}

/// Loads a state and its config onto `device`.
pub fn from_bytes(bytes: &[u8], device: &Device) -> Result<(GanState, GanConfig), RecordError> {
    let (r, v1, config) = open(bytes)?;
    // A skeleton of the right shapes (its seeded values are all replaced).
    let fresh = GanState::new(&config, device);
    let generator = r.module(fresh.generator.frozen(), "generator", torch_name)?;
    let critic = r.module(fresh.critic.frozen(), "critic", torch_name)?;
    let optimizer = |model: &Mlp, rule: &OptimizerConfig, who| match v1 {
        true => v1_optimizer(&r, model, rule, who, device),
        false => r.optimizer(rule.init(), model, who, device),
    };
    let generator_opt = optimizer(&generator, &config.generator_optimizer, "generator")?;
    let critic_opt = optimizer(&critic, &config.critic_optimizer, "critic")?;
    let average = |model: &Mlp, who: &str| match (config.tricks.historical_averaging, v1) {
        (None, _) => Ok(None),
        (Some(_), false) => {
            r.module(model.clone(), &format!("average.{who}"), torch_name).map(Some)
        }
        (Some(_), true) => v1_average(&r, model.clone(), who).map(Some),
    };
    let generator_avg = average(&generator, "generator")?;
    let critic_avg = average(&critic, "critic")?;
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
