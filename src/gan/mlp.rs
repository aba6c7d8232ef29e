//! The multilayer perceptron used as generator and critic, with its input gradient
//! written as forward tensor operations.
//!
//! Burn's autodiff is first order only, so `∂/∂θ ‖∇ₓf_θ(x)‖` cannot come from a double
//! backward. Instead [`Mlp::input_grad`] builds `∇ₓf` explicitly from the layer weights
//! (the chain rule written out as matmuls), and ordinary first-order autodiff then
//! differentiates that expression with respect to the weights. For piecewise-linear
//! activations the activation derivative is a constant mask almost everywhere, so the
//! result is the exact gradient of the gradient penalty.
//!
//! The network is a burn `Module`: `net` holds burn `Linear` layers (weights `[in, out]`, so a
//! layer is `x·W + b`; biases 1-D), and names in a checkpoint are field paths.
//!
//! A critic may add layer normalisation (Ba et al. 2016), which [`Mlp::input_grad`] handles
//! exactly, or minibatch discrimination (Salimans et al. 2016, §3.2), which it refuses.

use burn::module::{Module, Param};
use burn::nn::{LayerNorm, LayerNormConfig, Linear};
use burn::tensor::{Device, Tensor, activation, module};
use serde::{Deserialize, Serialize};

use crate::nn::{linear, param};

use crate::rng::Rng;

/// Hidden-layer nonlinearity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Activation {
    /// ReLU, as in the WGAN-GP toy code.
    Relu,
    /// Leaky ReLU with slope 0.2 (as in MUSE's discriminator).
    LeakyRelu,
}

impl Activation {
    pub const LEAKY_SLOPE: f64 = 0.2;

    fn apply(self, z: Tensor<2>) -> Tensor<2> {
        match self {
            Activation::Relu => activation::relu(z),
            Activation::LeakyRelu => activation::leaky_relu(z, Self::LEAKY_SLOPE),
        }
    }

    /// σ'(z), a constant almost everywhere for these piecewise-linear activations.
    fn derivative(self, z: &Tensor<2>) -> Tensor<2> {
        let positive = z.clone().greater_elem(0.0).float();
        match self {
            Activation::Relu => positive,
            Activation::LeakyRelu => {
                positive.mul_scalar(1.0 - Self::LEAKY_SLOPE).add_scalar(Self::LEAKY_SLOPE)
            }
        }
    }
}

/// Size of a minibatch-discrimination layer: the last hidden features `f` `[N, A]` are mapped
/// by a tensor `T` `[A, B·C]` to `B` rows of `C` numbers per sample, and each sample gets
/// `o_b(xᵢ) = Σ_{j≠i} exp(−‖M_{i,b} − M_{j,b}‖₁)`, which the output layer reads beside `f`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinibatchShape {
    /// B, the number of kernels (100 in Salimans et al.'s CIFAR-10 discriminator).
    pub kernels: usize,
    /// C, the dimension of each kernel (5, their code's default).
    pub dims: usize,
}

impl Default for MinibatchShape {
    fn default() -> Self {
        MinibatchShape { kernels: 100, dims: 5 }
    }
}

/// Sizes of an MLP: `depth` hidden layers of `hidden` units.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MlpConfig {
    pub input: usize,
    pub hidden: usize,
    pub depth: usize,
    pub output: usize,
    pub activation: Activation,
    /// Minibatch discrimination before the output layer (critics only).
    #[serde(default)]
    pub minibatch: Option<MinibatchShape>,
    /// Layer normalisation after each hidden affine layer, before the activation (seed 002's
    /// critic, §5.3: it "can not only increase the accuracy, but also stabilize the training").
    #[serde(default)]
    pub layer_norm: bool,
}

/// ε of the layer normalisation (PyTorch's `nn.LayerNorm` default, as in seed 002's code).
pub const LAYER_NORM_EPS: f64 = 1e-5;

impl MlpConfig {
    /// `depth` hidden layers of `hidden` units between `input` and `output`, with neither
    /// minibatch discrimination nor layer normalisation.
    pub fn new(
        input: usize,
        hidden: usize,
        depth: usize,
        output: usize,
        activation: Activation,
    ) -> Self {
        MlpConfig { input, hidden, depth, output, activation, minibatch: None, layer_norm: false }
    }

    /// (fan-in, fan-out) of every layer.
    pub fn shapes(&self) -> Vec<(usize, usize)> {
        let mut dims = vec![self.input];
        dims.extend(std::iter::repeat_n(self.hidden, self.depth));
        dims.push(self.output);
        let mut shapes: Vec<(usize, usize)> = dims.windows(2).map(|w| (w[0], w[1])).collect();
        if let (Some(mb), Some(last)) = (self.minibatch, shapes.last_mut()) {
            last.0 += mb.kernels; // the output layer reads [f, o]
        }
        shapes
    }

    /// Shape `[A, B·C]` of the minibatch-discrimination tensor, when there is one.
    pub fn minibatch_shape(&self) -> Option<[usize; 2]> {
        let last_hidden = if self.depth == 0 { self.input } else { self.hidden };
        self.minibatch.map(|mb| [last_hidden, mb.kernels * mb.dims])
    }

    pub fn num_params(&self) -> usize {
        self.shapes().iter().map(|(i, o)| i * o + o).sum::<usize>()
            + self.minibatch_shape().map_or(0, |[a, bc]| a * bc)
            + if self.layer_norm { 2 * self.hidden * self.depth } else { 0 }
    }

    /// PyTorch's default `nn.Linear` initialisation: weights and biases U(−1/√fan_in, 1/√fan_in).
    pub fn init(&self, rng: &mut Rng, device: &Device) -> Mlp {
        let mut draw = |n: usize, fan_in: usize| -> Vec<f32> {
            let bound = 1.0 / (fan_in as f64).sqrt();
            (0..n).map(|_| ((2.0 * rng.uniform() - 1.0) * bound) as f32).collect()
        };
        let net = self
            .shapes()
            .into_iter()
            .map(|(fan_in, fan_out)| {
                let w = draw(fan_in * fan_out, fan_in);
                let b = draw(fan_out, fan_in);
                linear(w, Some(b), [fan_in, fan_out], device)
            })
            .collect();
        // Drawn after the layers, so a critic without it initialises exactly as before.
        let minibatch = self.minibatch.zip(self.minibatch_shape()).map(|(shape, [a, bc])| {
            Minibatch { weight: param(draw(a * bc, a), [a, bc], device), shape }
        });
        // γ = 1, β = 0 (PyTorch's and burn's initialisation), so no draw changes.
        let norms = (0..if self.layer_norm { self.depth } else { 0 })
            .map(|_| LayerNormConfig::new(self.hidden).with_epsilon(LAYER_NORM_EPS).init(device))
            .collect();
        Mlp { net, norms, activation: self.activation, minibatch }
    }
}

/// The minibatch-discrimination tensor `T` `[A, B·C]` (PyTorch: an `nn.Linear(A, B·C,
/// bias=False)`, stored transposed like every weight here).
#[derive(Module, Debug)]
pub struct Minibatch {
    pub weight: Param<Tensor<2>>,
    #[module(skip)]
    pub shape: MinibatchShape,
}

impl Minibatch {
    /// `o_b(xᵢ) = Σⱼ exp(−‖M_{i,b} − R_{j,b}‖₁)` `[N, B]` for features `h` `[N, A]`, where `R`
    /// comes from `reference` `[M, A]`, or from `h` itself without the `j = i` term.
    pub fn features(&self, h: Tensor<2>, reference: Option<Tensor<2>>) -> Tensor<2> {
        let MinibatchShape { kernels, dims } = self.shape;
        let n = h.dims()[0];
        let m = h.matmul(self.weight.val());
        let (r, self_term) = match reference {
            Some(r) => (r.matmul(self.weight.val()), 0.0),
            None => (m.clone(), 1.0), // exp(−0) for j = i, exactly
        };
        let rows = r.dims()[0];
        let m = m.reshape([n, 1, kernels, dims]).expand([n, rows, kernels, dims]);
        let r = r.reshape([1, rows, kernels, dims]).expand([n, rows, kernels, dims]);
        let c = (m - r).abs().sum_dim(3).neg().exp(); // [N, M, B, 1]
        c.sum_dim(1).reshape([n, kernels]).sub_scalar(self_term)
    }
}

/// A stack of affine layers with a nonlinearity between them, as PyTorch's
/// `nn.Sequential(Linear, act, …, Linear)`; `net[i]` is stored as `net.{2i}`.
#[derive(Module, Debug)]
pub struct Mlp {
    pub net: Vec<Linear>,
    /// One layer normalisation per hidden layer, or none (`norms.{i}.gamma`, `norms.{i}.beta`).
    pub norms: Vec<LayerNorm>,
    #[module(skip)]
    pub activation: Activation,
    pub minibatch: Option<Minibatch>,
}

/// Everything a loss may need from one forward pass.
pub struct Pass {
    /// `[B, out]`
    pub out: Tensor<2>,
    /// The last hidden layer `[B, hidden]` (D₋ in CT-GAN, the features of feature matching).
    pub features: Tensor<2>,
}

impl Mlp {
    /// Trainable leaves on an autodiff device.
    pub fn trainable(self) -> Self {
        self.train()
    }

    /// Constants: the same values without autodiff (for sampling and evaluation).
    pub fn frozen(&self) -> Self {
        self.valid()
    }

    pub fn device(&self) -> Device {
        self.net[0].weight.device()
    }

    /// The pre-activation of hidden layer `i`: the affine map, then the layer norm if any.
    fn pre_activation(&self, i: usize, h: Tensor<2>) -> Tensor<2> {
        let z = self.net[i].forward(h);
        if let Some(norm) = self.norms.get(i) { norm.forward(z) } else { z }
    }

    /// The last hidden layer. `dropout`, if given, holds one (already rescaled) mask per
    /// hidden layer.
    fn hidden(&self, x: Tensor<2>, dropout: Option<&[Tensor<2>]>) -> Tensor<2> {
        let mut h = x;
        for i in 0..self.net.len() - 1 {
            h = self.activation.apply(self.pre_activation(i, h));
            if let Some(masks) = dropout {
                h = h * masks[i].clone();
            }
        }
        h
    }

    /// Forward pass over one batch (with minibatch discrimination, each sample is compared
    /// with the rest of `x`). `dropout` as in [`Mlp::hidden`].
    pub fn pass(&self, x: Tensor<2>, dropout: Option<&[Tensor<2>]>) -> Pass {
        let h = self.hidden(x, dropout);
        Pass { out: self.head(h.clone(), None), features: h }
    }

    /// The output layer on last-hidden features `h`, reading the minibatch features (against
    /// `reference`, or within `h`) beside them when there is minibatch discrimination.
    fn head(&self, h: Tensor<2>, reference: Option<Tensor<2>>) -> Tensor<2> {
        let last = self.net.last().expect("an MLP has at least one layer");
        let input = match &self.minibatch {
            Some(mb) => Tensor::cat(vec![h.clone(), mb.features(h, reference)], 1),
            None => h,
        };
        last.forward(input)
    }

    /// Outputs for `x` where each point's minibatch features compare it with `reference`
    /// (a batch of generated points, say) instead of with the rest of `x`: what the critic
    /// says about one point joining that batch. Without minibatch discrimination this is
    /// [`Mlp::forward`].
    pub fn forward_against(&self, x: Tensor<2>, reference: Tensor<2>) -> Tensor<2> {
        let Some(mb) = &self.minibatch else { return self.forward(x) };
        let h = self.hidden(x, None);
        let r = self.hidden(reference, None);
        // Chunked, so a large grid against a large batch never builds one huge [N, M, B, C].
        let (n, m) = (h.dims()[0], r.dims()[0]);
        let chunk = (4_000_000 / (m * mb.shape.kernels * mb.shape.dims).max(1)).max(1);
        let parts: Vec<Tensor<2>> = (0..n)
            .step_by(chunk)
            .map(|start| {
                self.head(h.clone().narrow(0, start, chunk.min(n - start)), Some(r.clone()))
            })
            .collect();
        Tensor::cat(parts, 0)
    }

    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.pass(x, None).out
    }

    /// `f(x)` and `∇ₓ f(x)` for a scalar-output MLP, the gradient as forward operations, so
    /// that autodiff can differentiate `∇ₓ f` with respect to the weights.
    ///
    /// With `z_l = h_{l−1} W_l + b_l` and `h_l = σ(z_l)`, the chain rule gives, row by row,
    /// `∇ₓf = (((1 · W_Lᵀ) ⊙ σ'(z_{L−1})) W_{L−1}ᵀ ⊙ …) W_1ᵀ`.
    ///
    /// `f(x)` is returned as a constant (no gradient flows through it). The forward pass only
    /// supplies the masks `σ'(z)`, which are constant almost everywhere, so it runs on the
    /// weights without autodiff and records nothing for the backward pass.
    ///
    /// A critic with minibatch discrimination has no per-sample input gradient; configs that
    /// need one (the gradient penalties) refuse it, and this panics if called anyway.
    pub fn input_grad(&self, x: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        assert!(
            self.minibatch.is_none(),
            "input_grad needs a per-sample critic (no minibatch discrimination)"
        );
        if !self.norms.is_empty() {
            return self.input_grad_normalised(x);
        }
        let (last, hidden) = self.net.split_last().expect("an MLP has at least one layer");
        let constant = |layer: &Linear, h: Tensor<2>| {
            module::linear(
                h,
                layer.weight.val().inner(),
                layer.bias.as_ref().map(|b| b.val().inner()),
            )
        };
        let mut slopes = Vec::with_capacity(hidden.len());
        let mut h = x.inner();
        for layer in hidden {
            let z = constant(layer, h);
            slopes.push(self.activation.derivative(&z));
            h = self.activation.apply(z);
        }
        let out = constant(last, h);
        let mut g = last.weight.val().transpose(); // [1, hidden], broadcast over the batch
        for (layer, slope) in hidden.iter().zip(slopes).rev() {
            g = (g * slope).matmul(layer.weight.val().transpose()); // [B, fan_in]
        }
        (out, g)
    }

    /// [`Mlp::input_grad`] through layer normalisation. Per sample, with `z` a hidden layer's
    /// affine output of width `n`, `x̂ = (z − mean z)·s` where `s = 1/√(var z + ε)`, and
    /// `y = γ ⊙ x̂ + β`. The chain rule through it is
    /// `∂f/∂z = s·(u − mean(u) − x̂·mean(u ⊙ x̂))` with `u = γ ⊙ ∂f/∂y`.
    /// `x̂` and `s` depend on every weight below them, so here the forward pass is recorded
    /// for autodiff (only the activation masks are constants), and autodiff differentiates
    /// `∇ₓf` through them: the penalty's weight gradient stays exact.
    fn input_grad_normalised(&self, x: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let (last, hidden) = self.net.split_last().expect("an MLP has at least one layer");
        let mut saved = Vec::with_capacity(hidden.len());
        let mut h = x;
        for (layer, norm) in hidden.iter().zip(&self.norms) {
            let z = layer.forward(h);
            let centred = z.clone() - z.mean_dim(1);
            let inv_std =
                centred.clone().square().mean_dim(1).add_scalar(LAYER_NORM_EPS).sqrt().recip(); // [B, 1]
            let normalised = centred * inv_std.clone();
            let gamma = norm.gamma.val().unsqueeze::<2>(); // [1, n]
            let mut y = normalised.clone() * gamma.clone();
            if let Some(beta) = &norm.beta {
                y = y + beta.val().unsqueeze::<2>();
            }
            let slope = self.activation.derivative(&y.clone().inner()); // a constant
            saved.push((normalised, inv_std, gamma, slope));
            h = self.activation.apply(y);
        }
        let out = last.forward(h).inner();
        let mut g = last.weight.val().transpose(); // [1, hidden], broadcast over the batch
        for (layer, (normalised, inv_std, gamma, slope)) in hidden.iter().zip(saved).rev() {
            let u = g * slope * gamma; // ∂f/∂x̂
            let along = (u.clone() * normalised.clone()).mean_dim(1);
            let dz = (u.clone() - u.mean_dim(1) - normalised * along) * inv_std;
            g = dz.matmul(layer.weight.val().transpose()); // [B, fan_in]
        }
        (out, g)
    }
}
