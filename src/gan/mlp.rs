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
//! Weights are stored as `[in, out]` (so a layer is `x·W + b`) and every parameter is a
//! rank-2 tensor (biases are `[1, out]`), which keeps the optimizers and checkpoints uniform.

use burn::tensor::{Device, Tensor, TensorData, activation};
use serde::{Deserialize, Serialize};

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
            Activation::LeakyRelu => positive.mul_scalar(1.0 - Self::LEAKY_SLOPE).add_scalar(Self::LEAKY_SLOPE),
        }
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
}

impl MlpConfig {
    /// (fan-in, fan-out) of every layer.
    pub fn shapes(&self) -> Vec<(usize, usize)> {
        let mut dims = vec![self.input];
        dims.extend(std::iter::repeat_n(self.hidden, self.depth));
        dims.push(self.output);
        dims.windows(2).map(|w| (w[0], w[1])).collect()
    }

    pub fn num_params(&self) -> usize {
        self.shapes().iter().map(|(i, o)| i * o + o).sum()
    }

    /// PyTorch's default `nn.Linear` initialisation: weights and biases U(−1/√fan_in, 1/√fan_in).
    pub fn init(&self, rng: &mut Rng, device: &Device) -> Mlp {
        let layers = self
            .shapes()
            .into_iter()
            .map(|(fan_in, fan_out)| {
                let bound = 1.0 / (fan_in as f64).sqrt();
                let mut draw = |n: usize| -> Vec<f32> { (0..n).map(|_| ((2.0 * rng.uniform() - 1.0) * bound) as f32).collect() };
                let w = draw(fan_in * fan_out);
                let b = draw(fan_out);
                Dense {
                    weight: Tensor::from_data(TensorData::new(w, [fan_in, fan_out]), device),
                    bias: Tensor::from_data(TensorData::new(b, [1, fan_out]), device),
                }
            })
            .collect();
        Mlp { layers, activation: self.activation }
    }
}

/// One affine layer `x·W + b`.
#[derive(Clone, Debug)]
pub struct Dense {
    /// `[in, out]`
    pub weight: Tensor<2>,
    /// `[1, out]`
    pub bias: Tensor<2>,
}

#[derive(Clone, Debug)]
pub struct Mlp {
    pub layers: Vec<Dense>,
    pub activation: Activation,
}

/// Everything a loss may need from one forward pass.
pub struct Pass {
    /// `[B, out]`
    pub out: Tensor<2>,
    /// The last hidden layer `[B, hidden]` (D₋ in CT-GAN, the features of feature matching).
    pub features: Tensor<2>,
}

impl Mlp {
    /// Parameters in a fixed order: w₀, b₀, w₁, b₁, …
    pub fn params(&self) -> Vec<Tensor<2>> {
        self.layers.iter().flat_map(|l| [l.weight.clone(), l.bias.clone()]).collect()
    }

    /// The inverse of [`Mlp::params`].
    pub fn from_params(params: Vec<Tensor<2>>, activation: Activation) -> Self {
        let mut it = params.into_iter();
        let mut layers = vec![];
        while let (Some(weight), Some(bias)) = (it.next(), it.next()) {
            layers.push(Dense { weight, bias });
        }
        Mlp { layers, activation }
    }

    /// Every parameter mapped through `f` (moving devices, detaching, clipping…).
    pub fn map(self, mut f: impl FnMut(Tensor<2>) -> Tensor<2>) -> Self {
        let activation = self.activation;
        Mlp::from_params(self.params().into_iter().map(&mut f).collect(), activation)
    }

    /// Trainable leaves on an autodiff device.
    pub fn trainable(self) -> Self {
        self.map(|p| p.detach().autodiff().require_grad())
    }

    /// Constants: the same values without autodiff (for sampling and evaluation).
    pub fn frozen(&self) -> Self {
        self.clone().map(|p| p.inner())
    }

    fn affine(layer: &Dense, x: Tensor<2>) -> Tensor<2> {
        x.matmul(layer.weight.clone()) + layer.bias.clone()
    }

    /// Forward pass. `dropout`, if given, holds one (already rescaled) mask per hidden layer.
    pub fn pass(&self, x: Tensor<2>, dropout: Option<&[Tensor<2>]>) -> Pass {
        let (last, hidden) = self.layers.split_last().expect("an MLP has at least one layer");
        let mut h = x;
        for (i, layer) in hidden.iter().enumerate() {
            h = self.activation.apply(Self::affine(layer, h));
            if let Some(masks) = dropout {
                h = h * masks[i].clone();
            }
        }
        Pass { out: Self::affine(last, h.clone()), features: h }
    }

    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.pass(x, None).out
    }

    /// `f(x)` and `∇ₓ f(x)` for a scalar-output MLP, both as forward operations, so that
    /// autodiff can differentiate `∇ₓ f` with respect to the weights.
    ///
    /// With `z_l = h_{l−1} W_l + b_l` and `h_l = σ(z_l)`, the chain rule gives, row by row,
    /// `∇ₓf = (((1 · W_Lᵀ) ⊙ σ'(z_{L−1})) W_{L−1}ᵀ ⊙ …) W_1ᵀ`.
    pub fn input_grad(&self, x: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let (last, hidden) = self.layers.split_last().expect("an MLP has at least one layer");
        let batch = x.dims()[0];
        let mut slopes = Vec::with_capacity(hidden.len());
        let mut h = x;
        for layer in hidden {
            let z = Self::affine(layer, h);
            slopes.push(self.activation.derivative(&z));
            h = self.activation.apply(z);
        }
        let out = Self::affine(last, h);
        let ones = Tensor::<2>::ones([batch, 1], &out.device());
        let mut g = ones.matmul(last.weight.clone().transpose()); // [B, hidden]
        for (layer, slope) in hidden.iter().zip(slopes).rev() {
            g = (g * slope).matmul(layer.weight.clone().transpose()); // [B, fan_in]
        }
        (out, g)
    }
}
