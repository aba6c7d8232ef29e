//! Optimizers for whole modules: burn's SGD, RMSProp and Adam, and See et al.'s Adagrad
//! written as a burn optimizer, with their state exposed by parameter path so that a
//! checkpoint can hold it and `--resume` continues exactly.
//!
//! The update rules are PyTorch's (`torch.optim.SGD`, `RMSprop`, `Adam`), so a run here
//! and the PyTorch reference in `bench/` take the same steps.

use std::collections::BTreeMap;
use std::sync::Arc;

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::optim::momentum::MomentumConfig;
use burn::optim::{
    AdamConfig, DynOptimizer, DynState, GradientsParams, RecordState, RmsPropConfig, SgdConfig,
    StateSink, StateSource,
};
use burn::store::burn_pack::Scalar;
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::nn::FloatMap;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum OptimizerConfig {
    /// `buf ← μ·buf + g;  θ ← θ − lr·buf`
    Sgd { lr: f64, momentum: f64 },
    /// `v ← α·v + (1 − α)·g²;  θ ← θ − lr·g / (√v + ε)` (WGAN: lr 5e-5, as in Arjovsky et al.)
    Rmsprop { lr: f64, alpha: f64, eps: f64 },
    /// Adam with bias correction (WGAN-GP: lr 1e-4, β (0.5, 0.9) in the toy code, (0, 0.9) in the paper).
    Adam { lr: f64, beta1: f64, beta2: f64, eps: f64 },
    /// `s ← s + g²;  θ ← θ − lr·g / (√s + ε)`, with `s` starting at `initial_accumulator`
    /// (the pointer-generator: lr 0.15, initial accumulator 0.1, as in See et al.).
    Adagrad { lr: f64, initial_accumulator: f64, eps: f64 },
}

impl OptimizerConfig {
    pub fn sgd(lr: f64) -> Self {
        OptimizerConfig::Sgd { lr, momentum: 0.0 }
    }
    pub fn rmsprop(lr: f64) -> Self {
        OptimizerConfig::Rmsprop { lr, alpha: 0.99, eps: 1e-8 }
    }
    pub fn adam(lr: f64, beta1: f64, beta2: f64) -> Self {
        OptimizerConfig::Adam { lr, beta1, beta2, eps: 1e-8 }
    }

    pub fn adagrad(lr: f64, initial_accumulator: f64) -> Self {
        OptimizerConfig::Adagrad { lr, initial_accumulator, eps: 1e-10 }
    }

    pub fn name(&self) -> &'static str {
        match self {
            OptimizerConfig::Sgd { .. } => "sgd",
            OptimizerConfig::Rmsprop { .. } => "rmsprop",
            OptimizerConfig::Adam { .. } => "adam",
            OptimizerConfig::Adagrad { .. } => "adagrad",
        }
    }

    pub fn lr(&self) -> f64 {
        match *self {
            Self::Sgd { lr, .. } | Self::Rmsprop { lr, .. } => lr,
            Self::Adam { lr, .. } | Self::Adagrad { lr, .. } => lr,
        }
    }

    pub fn with_lr(mut self, lr: f64) -> Self {
        *self.lr_mut() = lr;
        self
    }

    fn lr_mut(&mut self) -> &mut f64 {
        match self {
            Self::Sgd { lr, .. } | Self::Rmsprop { lr, .. } => lr,
            Self::Adam { lr, .. } | Self::Adagrad { lr, .. } => lr,
        }
    }

    /// The update rule: burn's SGD, RMSProp and Adam configured as PyTorch's, or
    /// [`Adagrad`].
    fn rule(&self) -> Arc<dyn DynOptimizer> {
        match *self {
            OptimizerConfig::Sgd { momentum, .. } => {
                // PyTorch's SGD has no dampening; burn's MomentumConfig defaults to 0.1.
                let momentum = (momentum != 0.0).then_some(MomentumConfig {
                    momentum,
                    dampening: 0.0,
                    nesterov: false,
                });
                Arc::new(SgdConfig::new().with_momentum(momentum).build())
            }
            OptimizerConfig::Rmsprop { alpha, eps, .. } => Arc::new(
                RmsPropConfig::new()
                    .with_alpha(alpha as f32)
                    .with_momentum(0.0)
                    .with_epsilon(eps as f32)
                    .build(),
            ),
            OptimizerConfig::Adam { beta1, beta2, eps, .. } => Arc::new(
                AdamConfig::new()
                    .with_beta_1(beta1 as f32)
                    .with_beta_2(beta2 as f32)
                    .with_epsilon(eps as f32)
                    .build(),
            ),
            OptimizerConfig::Adagrad { initial_accumulator, eps, .. } => {
                Arc::new(Adagrad { initial_accumulator, eps })
            }
        }
    }

    /// How many state tensors per parameter the v1 checkpoints kept (PyTorch's buffers:
    /// momentum, square average, first and second moments, Adagrad's sum).
    pub fn v1_slots(&self) -> usize {
        match *self {
            OptimizerConfig::Sgd { momentum, .. } => usize::from(momentum != 0.0),
            OptimizerConfig::Rmsprop { .. } | OptimizerConfig::Adagrad { .. } => 1,
            OptimizerConfig::Adam { .. } => 2,
        }
    }

    /// Adds to `record` the state of parameter `path` that a v1 checkpoint kept as `slots`
    /// (shaped like the parameter; `t` updates taken), under the names burn's rule uses.
    pub fn v1_state(&self, path: &str, slots: Vec<TensorData>, t: u64, record: &mut StateRecord) {
        let Some(rank) = slots.first().map(|s| s.rank()) else { return };
        let names: &[&str] = match self {
            OptimizerConfig::Sgd { .. } => &["momentum.velocity"],
            // burn keeps the square average twice: its own, and the "centered" denominator,
            // which without centering is the same tensor.
            OptimizerConfig::Rmsprop { .. } => &["square_avg.square_avg", "centered.avg"],
            OptimizerConfig::Adam { .. } => {
                record.scalars.push((format!("{path}.momentum.time"), Scalar::UInt(t)));
                &["momentum.moment_1", "momentum.moment_2"]
            }
            OptimizerConfig::Adagrad { .. } => &["sum"],
        };
        let tensors: Vec<(String, TensorData)> = match self {
            OptimizerConfig::Rmsprop { .. } => {
                names.iter().map(|n| (format!("{path}.{n}"), slots[0].clone())).collect()
            }
            _ => names.iter().zip(slots).map(|(n, s)| (format!("{path}.{n}"), s)).collect(),
        };
        record.scalars.push((format!("{path}.{RANK}"), Scalar::UInt(rank as u64)));
        record.scalars.push((format!("{path}.{COUNT}"), Scalar::UInt(tensors.len() as u64)));
        record.tensors.extend(tensors);
    }

    /// A fresh optimizer (no state yet, as in PyTorch, where buffers appear at the first step).
    pub fn init(&self) -> Optimizer {
        Optimizer { config: self.clone(), rule: self.rule(), states: BTreeMap::new(), t: 0 }
    }
}

/// Adagrad as in TensorFlow and See et al.: `s ← s + g²; θ ← θ − lr·g/(√s + ε)`, with `s`
/// starting at `initial_accumulator`. burn's `AdaGrad` starts `s` at zero, which makes the
/// first steps lr·sign(g) (0.15 per weight here) and wrecks a fresh model.
#[derive(Clone, Debug)]
pub struct Adagrad {
    pub initial_accumulator: f64,
    pub eps: f64,
}

/// Adagrad's per-parameter state: the running sum of squared gradients.
#[derive(Clone)]
pub struct AdagradState<const D: usize> {
    pub sum: Tensor<D>,
}

impl<const D: usize> RecordState for AdagradState<D> {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        out.push_tensor(prefix, "sum", self.sum.clone().inner().into_data());
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        let data = src.take_tensor(prefix, "sum")?;
        (data.rank() == D).then(|| AdagradState { sum: Tensor::from_data(data, device) })
    }
}

impl burn::optim::Optimizer for Adagrad {
    type State<const D: usize> = AdagradState<D>;

    fn step<const D: usize>(
        &self,
        lr: f64,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<AdagradState<D>>,
    ) -> (Tensor<D>, Option<AdagradState<D>>) {
        let sum = match state {
            Some(s) => s.sum + grad.clone().square(),
            None => grad.clone().square().add_scalar(self.initial_accumulator),
        };
        let update = grad / sum.clone().sqrt().add_scalar(self.eps);
        (tensor - update.mul_scalar(lr), Some(AdagradState { sum }))
    }

    fn to_device<const D: usize>(state: AdagradState<D>, device: &Device) -> AdagradState<D> {
        AdagradState { sum: state.sum.to_device(device) }
    }
}

/// An optimizer over a whole module: one of burn's update rules, and per parameter its state,
/// keyed by the parameter's path (`encoder.forward.weight_ih`).
///
/// burn's `ModuleOptimizer` keys states by `ParamId`, which is random per run, and rebuilds a
/// loaded record on `Device::default()` (a wgpu device in the native build). Keying by path lets
/// a checkpoint store the states under readable names next to the weights they belong to, and
/// load them onto the model's own device.
#[derive(Clone)]
pub struct Optimizer {
    pub config: OptimizerConfig,
    rule: Arc<dyn DynOptimizer>,
    states: BTreeMap<String, DynState>,
    /// Updates taken.
    pub t: u64,
}

impl std::fmt::Debug for Optimizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Optimizer")
            .field("config", &self.config)
            .field("states", &self.states.keys().collect::<Vec<_>>())
            .field("t", &self.t)
            .finish()
    }
}

/// A scalar of an optimizer state, as stored in a checkpoint's metadata.
pub fn scalar_to_string(s: &Scalar) -> String {
    match *s {
        Scalar::Int(v) => format!("i{v}"),
        Scalar::UInt(v) => format!("u{v}"),
        Scalar::Float(v) => format!("f{}", v.to_bits()),
        Scalar::Bool(v) => format!("b{}", u8::from(v)),
    }
}

pub fn scalar_from_string(s: &str) -> Option<Scalar> {
    let (kind, rest) = s.split_at_checked(1)?;
    match kind {
        "i" => rest.parse().ok().map(Scalar::Int),
        "u" => rest.parse().ok().map(Scalar::UInt),
        "f" => rest.parse().ok().map(|b| Scalar::Float(f64::from_bits(b))),
        "b" => Some(Scalar::Bool(rest == "1")),
        _ => None,
    }
}

const RANK: &str = "__rank";
const COUNT: &str = "__tensors";

/// An optimizer's state as named tensors and scalars (names are `path.leaf`).
#[derive(Clone, Debug, Default)]
pub struct StateRecord {
    pub tensors: Vec<(String, TensorData)>,
    pub scalars: Vec<(String, Scalar)>,
}

impl Optimizer {
    /// One update of `module` with `grads` (taken from the autodiff pass on `module`), the
    /// learning rate scaled by `lr_scale`. Parameters without a gradient keep their values.
    /// The result holds plain tensors; call `.train()` on it to train on.
    pub fn step<M: Module>(&mut self, module: M, mut grads: GradientsParams, lr_scale: f64) -> M {
        self.t += 1;
        let lr = self.config.lr() * lr_scale;
        crate::nn::map_floats(module, &mut Stepper { grads: &mut grads, lr, opt: self })
    }

    /// The state of every parameter that has one.
    pub fn record(&self) -> StateRecord {
        let mut sink = StateSink::default();
        for (path, state) in &self.states {
            let before = sink.tensors.len();
            self.rule.state_flatten(path, state, &mut sink);
            sink.push_scalar(path, RANK, Scalar::UInt(state.rank() as u64));
            // burn rebuilds an optional part whose tensors are gone as "absent"; the count
            // lets a truncated record be refused instead.
            sink.push_scalar(path, COUNT, Scalar::UInt((sink.tensors.len() - before) as u64));
        }
        StateRecord { tensors: sink.tensors, scalars: sink.scalars }
    }

    /// Every state tensor's values by name, sorted: for comparing two optimizers.
    pub fn state_values(&self) -> Vec<(String, Vec<f64>)> {
        let mut v: Vec<(String, Vec<f64>)> = self
            .record()
            .tensors
            .into_iter()
            .map(|(n, d)| (n, d.convert::<f64>().try_into_vec::<f64>().unwrap_or_default()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Restores states saved by [`Optimizer::record`] onto `device`; names the first parameter
    /// whose state is incomplete.
    pub fn load(
        mut self,
        record: StateRecord,
        t: u64,
        device: &Device,
    ) -> Result<Self, StateError> {
        let paths: Vec<(String, usize)> = record
            .scalars
            .iter()
            .filter_map(|(k, v)| {
                Some((
                    k.strip_suffix(&format!(".{RANK}"))?.to_string(),
                    u64::try_from(*v).ok()? as usize,
                ))
            })
            .collect();
        for (path, _) in &paths {
            let count = record.scalars.iter().find(|(k, _)| *k == format!("{path}.{COUNT}"));
            let found = record
                .tensors
                .iter()
                .filter(|(k, _)| {
                    k.strip_prefix(path.as_str()).is_some_and(|rest| rest.starts_with('.'))
                })
                .count() as u64;
            if count.and_then(|(_, v)| u64::try_from(*v).ok()) != Some(found) {
                return Err(StateError::Incomplete(path.clone()));
            }
        }
        let mut src = StateSource::new(record.scalars.into_iter().collect());
        for (name, data) in record.tensors {
            src.insert_tensor(name, data);
        }
        self.states.clear();
        for (path, rank) in paths {
            if rank > 8 {
                return Err(StateError::Rank(path, rank));
            }
            let state = self
                .rule
                .state_unflatten(rank, &path, &mut src, device)
                .ok_or_else(|| StateError::Incomplete(path.clone()))?;
            self.states.insert(path, state);
        }
        self.t = t;
        Ok(self)
    }
}

/// Why saved optimizer states could not be restored.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum StateError {
    #[error("the optimizer state of '{0}' is incomplete")]
    Incomplete(String),
    #[error("optimizer state of '{0}' has rank {1}")]
    Rank(String, usize),
}

struct Stepper<'a> {
    grads: &'a mut GradientsParams,
    lr: f64,
    opt: &'a mut Optimizer,
}

impl FloatMap for Stepper<'_> {
    fn apply<const D: usize>(&mut self, path: &str, id: ParamId, tensor: Tensor<D>) -> Tensor<D> {
        let tensor = tensor.inner();
        let Some(grad) = self.grads.remove::<D>(id) else { return tensor };
        let device = tensor.device();
        let state = self.opt.states.remove(path).map(|s| self.opt.rule.to_device_dyn(s, &device));
        let (new, state) =
            self.opt.rule.step_dyn(D, self.lr, tensor.into_bridge(), grad.into_bridge(), state);
        if let Some(state) = state {
            self.opt.states.insert(path.to_string(), state);
        }
        Tensor::from_bridge(new)
    }
}

/// The gradients of `loss` for every parameter of `module` it reaches.
pub fn gradients<M: Module>(loss: &Tensor<1>, module: &M) -> GradientsParams {
    GradientsParams::from_grads(loss.backward(), module)
}

/// Rescales `grads` to global norm `max` when larger (TensorFlow's `clip_by_global_norm`, as
/// in See et al.; burn's clipping works per tensor); returns them with the norm before
/// clipping.
pub fn clip_global_norm<M: Module>(
    module: &M,
    mut grads: GradientsParams,
    max: f64,
) -> (GradientsParams, Tensor<1>) {
    struct SumSquares<'a>(&'a GradientsParams, Vec<Tensor<1>>);
    impl ModuleVisitor for SumSquares<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.0.get::<D>(param.id) {
                self.1.push(g.square().sum());
            }
        }
    }
    struct Rescale<'a>(&'a mut GradientsParams, Tensor<1>);
    impl ModuleVisitor for Rescale<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.0.remove::<D>(param.id) {
                let scale = self.1.clone().reshape([1; D]);
                self.0.register::<D>(param.id, g * scale);
            }
        }
    }
    let mut sum = SumSquares(&grads, vec![]);
    module.visit(&mut sum);
    let device = module.devices().into_iter().next().unwrap_or_else(Device::flex);
    let norm = sum.1.into_iter().reduce(|a, b| a + b).map(|s| s.sqrt());
    let norm = norm.unwrap_or_else(|| Tensor::zeros([1], &device));
    let scale = norm.clone().clamp_min(max).recip().mul_scalar(max);
    module.visit(&mut Rescale(&mut grads, scale));
    (grads, norm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Module, Debug)]
    struct Pair {
        w: Param<Tensor<1>>,
        m: Param<Tensor<2>>,
    }

    fn pair(d: &Device) -> Pair {
        let w = crate::nn::param(vec![1.0], [1], d);
        let m = crate::nn::param(vec![-2.0, 0.5], [1, 2], d);
        Pair { w, m }.train()
    }

    fn values(p: &Pair) -> Vec<f64> {
        crate::nn::param_values(p).into_iter().flat_map(|(_, v)| v).collect()
    }

    /// One of each rule.
    fn configs() -> [OptimizerConfig; 4] {
        [
            OptimizerConfig::Sgd { lr: 0.1, momentum: 0.9 },
            OptimizerConfig::rmsprop(0.01),
            OptimizerConfig::adam(0.1, 0.5, 0.9),
            OptimizerConfig::adagrad(0.15, 0.1),
        ]
    }

    /// f = Σθ²/2 over both parameters, so the gradient is θ itself.
    fn loss(p: &Pair) -> Tensor<1> {
        (p.w.val().square().sum() + p.m.val().square().sum()).mul_scalar(0.5)
    }

    /// Each rule, run three steps on f(θ) = θ²/2 (gradient θ), matches a float64 transcription
    /// of PyTorch's update for every entry.
    #[test]
    fn updates_match_a_float64_transcription() {
        let d = Device::flex().autodiff();
        for cfg in configs() {
            let mut p = pair(&d);
            let mut opt = cfg.init();
            let mut th = vec![1.0f64, -2.0, 0.5];
            let mut a = vec![0.0f64; 3];
            let mut b = [0.0f64; 3];
            if let OptimizerConfig::Adagrad { initial_accumulator, .. } = cfg {
                a = vec![initial_accumulator; 3];
            }
            for t in 1..=3 {
                let grads = gradients(&loss(&p), &p);
                p = opt.step(p, grads, 1.0).train();
                for k in 0..3 {
                    let gr = th[k];
                    match cfg {
                        OptimizerConfig::Sgd { lr, momentum } => {
                            a[k] = if t == 1 { gr } else { momentum * a[k] + gr };
                            th[k] -= lr * a[k];
                        }
                        OptimizerConfig::Rmsprop { lr, alpha, eps } => {
                            a[k] = alpha * a[k] + (1.0 - alpha) * gr * gr;
                            th[k] -= lr * gr / (a[k].sqrt() + eps);
                        }
                        OptimizerConfig::Adam { lr, beta1, beta2, eps } => {
                            a[k] = beta1 * a[k] + (1.0 - beta1) * gr;
                            b[k] = beta2 * b[k] + (1.0 - beta2) * gr * gr;
                            let mh = a[k] / (1.0 - beta1.powi(t));
                            let vh = b[k] / (1.0 - beta2.powi(t));
                            th[k] -= lr * mh / (vh.sqrt() + eps);
                        }
                        OptimizerConfig::Adagrad { lr, eps, .. } => {
                            a[k] += gr * gr;
                            th[k] -= lr * gr / (a[k].sqrt() + eps);
                        }
                    }
                }
                for (got, want) in values(&p).iter().zip(&th) {
                    assert!(
                        (*got - want).abs() < 1e-5,
                        "{}: step {t}: {got} vs {want}",
                        cfg.name()
                    );
                }
            }
            assert_eq!(opt.t, 3);
        }
    }

    /// A state saved after two steps and loaded into a fresh optimizer takes the same third
    /// step, bit for bit; a record missing a tensor is refused by name.
    #[test]
    fn a_recorded_state_resumes_exactly() {
        let d = Device::flex().autodiff();
        for cfg in configs() {
            let mut p = pair(&d);
            let mut opt = cfg.init();
            for _ in 0..2 {
                let grads = gradients(&loss(&p), &p);
                p = opt.step(p, grads, 1.0).train();
            }
            let record = opt.record();
            let names: Vec<String> = record.tensors.iter().map(|(n, _)| n.clone()).collect();
            assert!(names.iter().all(|n| n.starts_with("w.") || n.starts_with("m.")), "{names:?}");
            let mut resumed = cfg.init().load(record.clone(), opt.t, &Device::flex()).unwrap();
            let q = opt.step(p.clone(), gradients(&loss(&p), &p), 1.0);
            let r = resumed.step(p.clone(), gradients(&loss(&p), &p), 1.0);
            assert_eq!(values(&q), values(&r), "{}", cfg.name());
            if !record.tensors.is_empty() {
                let mut cut = record.clone();
                cut.tensors.remove(0);
                let err = cfg.init().load(cut, 2, &Device::flex()).unwrap_err().to_string();
                assert!(err.contains("incomplete"), "{err}");
            }
        }
    }

    /// The global-norm clip scales every gradient by max/‖g‖ when ‖g‖ > max.
    #[test]
    fn global_norm_clip_matches_the_formula() {
        let d = Device::flex().autodiff();
        let p = pair(&d);
        let grads = gradients(&loss(&p), &p); // = θ: (1), (−2, 0.5); norm √5.25
        let (grads, norm) = clip_global_norm(&p, grads, 1.0);
        let n = norm.into_data().convert::<f32>().try_into_vec::<f32>().unwrap()[0] as f64;
        assert!((n - 5.25f64.sqrt()).abs() < 1e-6);
        let g = grads
            .get::<2>(p.m.id)
            .unwrap()
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .unwrap();
        assert!(
            (g[0] as f64 + 2.0 / n).abs() < 1e-6 && (g[1] as f64 - 0.5 / n).abs() < 1e-6,
            "{g:?}"
        );
    }
}
