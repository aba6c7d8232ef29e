//! SGD, RMSProp and Adam over a flat list of rank-2 parameters, with their state exposed
//! so that a checkpoint can hold it and `--resume` continues exactly.
//!
//! The update rules are PyTorch's (`torch.optim.SGD`, `RMSprop`, `Adam`), so a run here
//! and the PyTorch reference in `bench/` take the same steps.

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

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
            OptimizerConfig::Sgd { lr, .. } | OptimizerConfig::Rmsprop { lr, .. } | OptimizerConfig::Adam { lr, .. } | OptimizerConfig::Adagrad { lr, .. } => lr,
        }
    }

    pub fn with_lr(mut self, new: f64) -> Self {
        match &mut self {
            OptimizerConfig::Sgd { lr, .. } | OptimizerConfig::Rmsprop { lr, .. } | OptimizerConfig::Adam { lr, .. } | OptimizerConfig::Adagrad { lr, .. } => *lr = new,
        }
        self
    }

    /// Slots of state per parameter (momentum buffer, squared average, first and second moment).
    pub fn slots(&self) -> usize {
        match self {
            OptimizerConfig::Sgd { momentum, .. } => usize::from(*momentum != 0.0),
            OptimizerConfig::Rmsprop { .. } => 1,
            OptimizerConfig::Adam { .. } => 2,
            OptimizerConfig::Adagrad { .. } => 1,
        }
    }

    /// Fresh state for these parameters (zeros, like PyTorch's lazily created buffers).
    pub fn init(&self, params: &[Tensor<2>]) -> OptimState {
        let slots = params
            .iter()
            .map(|p| (0..self.slots()).map(|_| self.initial_slot(p)).collect())
            .collect();
        OptimState { t: 0, slots }
    }

    fn initial_slot(&self, p: &Tensor<2>) -> Tensor<2> {
        let zeros = p.zeros_like().inner().detach();
        match *self {
            OptimizerConfig::Adagrad { initial_accumulator, .. } => zeros.add_scalar(initial_accumulator),
            _ => zeros,
        }
    }

    /// One update. `params` are the current values (with or without autodiff), `grads` their
    /// gradients; the returned parameters are plain tensors (no autodiff). `lr_scale` multiplies
    /// the learning rate (1 without a schedule).
    pub fn step(&self, params: Vec<Tensor<2>>, grads: Vec<Tensor<2>>, state: OptimState, lr_scale: f64) -> (Vec<Tensor<2>>, OptimState) {
        let t = state.t + 1;
        let this = self.clone().with_lr(self.lr() * lr_scale);
        let mut new_params = Vec::with_capacity(params.len());
        let mut new_slots = Vec::with_capacity(params.len());
        for ((p, g), slots) in params.into_iter().zip(grads).zip(state.slots) {
            let p = p.inner();
            let g = g.inner();
            let (p, slots) = match this {
                OptimizerConfig::Sgd { lr, momentum } => {
                    if momentum == 0.0 {
                        (p - g.mul_scalar(lr), slots)
                    } else {
                        let buf = if t == 1 { g } else { slots[0].clone().mul_scalar(momentum) + g };
                        (p - buf.clone().mul_scalar(lr), vec![buf])
                    }
                }
                OptimizerConfig::Rmsprop { lr, alpha, eps } => {
                    let v = slots[0].clone().mul_scalar(alpha) + g.clone().square().mul_scalar(1.0 - alpha);
                    let update = g / v.clone().sqrt().add_scalar(eps);
                    (p - update.mul_scalar(lr), vec![v])
                }
                OptimizerConfig::Adam { lr, beta1, beta2, eps } => {
                    let m = slots[0].clone().mul_scalar(beta1) + g.clone().mul_scalar(1.0 - beta1);
                    let v = slots[1].clone().mul_scalar(beta2) + g.square().mul_scalar(1.0 - beta2);
                    let c1 = 1.0 - beta1.powi(t as i32);
                    let c2 = 1.0 - beta2.powi(t as i32);
                    let denom = v.clone().div_scalar(c2).sqrt().add_scalar(eps);
                    let update = m.clone().div_scalar(c1) / denom;
                    (p - update.mul_scalar(lr), vec![m, v])
                }
                OptimizerConfig::Adagrad { lr, eps, .. } => {
                    let sum = slots[0].clone() + g.clone().square();
                    let update = g / sum.clone().sqrt().add_scalar(eps);
                    (p - update.mul_scalar(lr), vec![sum])
                }
            };
            new_params.push(p);
            new_slots.push(slots);
        }
        (new_params, OptimState { t, slots: new_slots })
    }
}

/// An optimizer's state: the step count and, per parameter, its slots.
#[derive(Clone, Debug)]
pub struct OptimState {
    pub t: u64,
    pub slots: Vec<Vec<Tensor<2>>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    fn scalar(x: f32, d: &Device) -> Tensor<2> {
        Tensor::from_data(TensorData::new(vec![x], [1, 1]), d)
    }

    fn value(t: &Tensor<2>) -> f64 {
        t.clone().into_data().try_to_vec::<f32>().unwrap()[0] as f64
    }

    /// Each rule, run three steps on f(θ) = θ²/2 (gradient θ) from θ = 1, matches a
    /// float64 transcription of PyTorch's update.
    #[test]
    fn updates_match_a_float64_transcription() {
        let d = Device::flex();
        let configs = [
            OptimizerConfig::Sgd { lr: 0.1, momentum: 0.9 },
            OptimizerConfig::rmsprop(0.01),
            OptimizerConfig::adam(0.1, 0.5, 0.9),
            OptimizerConfig::adagrad(0.15, 0.1),
        ];
        for cfg in configs {
            let mut p = vec![scalar(1.0, &d)];
            let mut st = cfg.init(&p);
            let (mut th, mut a, mut b) = (1.0f64, 0.0f64, 0.0f64);
            if let OptimizerConfig::Adagrad { initial_accumulator, .. } = cfg {
                a = initial_accumulator;
            }
            for t in 1..=3 {
                let g = p[0].clone();
                (p, st) = cfg.step(p, vec![g], st, 1.0);
                let gr = th;
                match cfg {
                    OptimizerConfig::Sgd { lr, momentum } => {
                        a = if t == 1 { gr } else { momentum * a + gr };
                        th -= lr * a;
                    }
                    OptimizerConfig::Rmsprop { lr, alpha, eps } => {
                        a = alpha * a + (1.0 - alpha) * gr * gr;
                        th -= lr * gr / (a.sqrt() + eps);
                    }
                    OptimizerConfig::Adam { lr, beta1, beta2, eps } => {
                        a = beta1 * a + (1.0 - beta1) * gr;
                        b = beta2 * b + (1.0 - beta2) * gr * gr;
                        let mh = a / (1.0 - beta1.powi(t));
                        let vh = b / (1.0 - beta2.powi(t));
                        th -= lr * mh / (vh.sqrt() + eps);
                    }
                    OptimizerConfig::Adagrad { lr, eps, .. } => {
                        a += gr * gr;
                        th -= lr * gr / (a.sqrt() + eps);
                    }
                }
                assert!((value(&p[0]) - th).abs() < 1e-6, "{}: step {t}: {} vs {th}", cfg.name(), value(&p[0]));
            }
            assert_eq!(st.t, 3);
        }
    }
}
