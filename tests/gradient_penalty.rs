//! The gradient penalty's gradient with respect to the critic's weights, from burn's
//! first-order autodiff over the forward-op input gradient, against float64 central finite
//! differences of an independent float64 implementation; with and without layer normalisation
//! (seed 002's critic), whose input gradient is not a mask.

use burn::module::ParamId;
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use earthmover::gan::mlp::{Activation, Mlp, MlpConfig};
use earthmover::gan::objective::gradient_penalty;
use earthmover::rng::Rng;

mod common;
use common::net64::Net64;

fn values(t: &Tensor<2>) -> Vec<f32> {
    t.clone().inner().into_data().try_to_vec::<f32>().unwrap()
}

/// Moves the layer norms' γ and β off their initial 1 and 0 (by N(0, 0.5²)), so that every
/// term of their gradient is exercised.
struct JitterNorms;

impl earthmover::nn::FloatMap for JitterNorms {
    fn apply<const D: usize>(&mut self, path: &str, _id: ParamId, t: Tensor<D>) -> Tensor<D> {
        if !path.starts_with("norms") {
            return t;
        }
        let noise = Tensor::random(t.shape(), Distribution::Normal(0.0, 0.5), &t.device());
        t + noise
    }
}

fn critic(cfg: &MlpConfig, rng: &mut Rng, device: &Device) -> Mlp {
    // Larger-than-default weights so that ‖∇f‖ is far from 1 and every term matters.
    let mlp = earthmover::nn::map_floats(cfg.init(rng, device), &mut earthmover::nn::Scale(2.5));
    earthmover::nn::map_floats(mlp, &mut JitterNorms)
}

fn check(activation: Activation, layer_norm: bool, seed: u64) {
    let device = Device::flex();
    let cfg = MlpConfig {
        input: 2,
        hidden: 16,
        depth: 3,
        output: 1,
        activation,
        minibatch: None,
        layer_norm,
    };
    let mut rng = Rng::new(seed);
    let critic = critic(&cfg, &mut rng, &device).trainable();
    let batch = 6;
    let real: Vec<f32> = rng.normals_f32(batch * 2);
    let fake: Vec<f32> = rng.normals_f32(batch * 2);
    let t = |v: &Vec<f32>| Tensor::<2>::from_data(TensorData::new(v.clone(), [batch, 2]), &device);

    // burn: penalty and its weight gradient through first-order autodiff.
    let seed_eps = seed + 1000;
    let gp = gradient_penalty(&critic, t(&real), t(&fake), &mut Rng::new(seed_eps));
    let grads = earthmover::optim::gradients(&gp, &critic);
    let sizes: Vec<usize> =
        earthmover::nn::param_values(&critic).into_iter().map(|(_, v)| v.len()).collect();
    let burn_grad: Vec<f64> = earthmover::nn::grad_values(&critic, &grads)
        .into_iter()
        .zip(sizes)
        // The output bias, and (through the a.e.-constant activation masks) every bias, leaves
        // ∇ₓf unchanged, so autodiff may report no gradient for them: that is a zero.
        .flat_map(|((_, g), n)| g.unwrap_or_else(|| vec![0.0; n]))
        .collect();

    // float64 reference with the same weights and the same interpolation ε.
    let eps = Rng::new(seed_eps).uniforms_f32(batch);
    let xs: Vec<Vec<f64>> = (0..batch)
        .map(|i| {
            (0..2)
                .map(|j| {
                    eps[i] as f64 * real[2 * i + j] as f64
                        + (1.0 - eps[i] as f64) * fake[2 * i + j] as f64
                })
                .collect()
        })
        .collect();
    let mut net = Net64::from_mlp(&critic, activation == Activation::LeakyRelu);
    let p0 = net.penalty(&xs);
    let burn_p = values(&gp.clone().reshape([1, 1]))[0] as f64;
    assert!((burn_p - p0).abs() <= 1e-4 * p0.max(1.0), "penalty {burn_p} vs {p0}");

    let h = 1e-6;
    let n = cfg.num_params();
    assert_eq!(burn_grad.len(), n);
    let mut fd = vec![0.0; n];
    for (k, slot) in fd.iter_mut().enumerate() {
        let orig = *net.param_mut(k);
        *net.param_mut(k) = orig + h;
        let up = net.penalty(&xs);
        *net.param_mut(k) = orig - h;
        let down = net.penalty(&xs);
        *net.param_mut(k) = orig;
        *slot = (up - down) / (2.0 * h);
    }
    let diff: f64 = fd.iter().zip(&burn_grad).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt();
    let norm: f64 = fd.iter().map(|a| a * a).sum::<f64>().sqrt();
    let rel = diff / norm;
    println!(
        "{activation:?} (layer norm {layer_norm}): {n} parameters, ‖∇P‖ = {norm:.4}, relative error {rel:.2e}"
    );
    assert!(norm > 1e-3, "the penalty's gradient should not vanish here");
    assert!(rel <= 1e-3, "relative error {rel} > 1e-3");
}

#[test]
fn gradient_penalty_weight_gradient_matches_float64_finite_differences_relu() {
    for seed in [1, 2, 3] {
        check(Activation::Relu, false, seed);
    }
}

#[test]
fn gradient_penalty_weight_gradient_matches_float64_finite_differences_leaky_relu() {
    for seed in [4, 5] {
        check(Activation::LeakyRelu, false, seed);
    }
}

/// Seed 002's critic: LeakyReLU with layer normalisation after each hidden layer.
#[test]
fn gradient_penalty_weight_gradient_matches_float64_finite_differences_layer_norm() {
    for (activation, seed) in
        [(Activation::LeakyRelu, 6), (Activation::LeakyRelu, 7), (Activation::Relu, 8)]
    {
        check(activation, true, seed);
    }
}

/// The forward-op input gradient equals float64 finite differences of the critic in x, and the
/// critic's own forward pass (burn's `LayerNorm` where there is one) equals the float64 net.
#[test]
fn input_gradient_matches_finite_differences_in_x() {
    let device = Device::flex();
    for layer_norm in [false, true] {
        let cfg = MlpConfig {
            input: 3,
            hidden: 12,
            depth: 2,
            output: 1,
            activation: Activation::LeakyRelu,
            minibatch: None,
            layer_norm,
        };
        let mlp = critic(&cfg, &mut Rng::new(9), &device);
        let net = Net64::from_mlp(&mlp, true);
        assert_eq!(net.norms.len(), if layer_norm { 2 } else { 0 });
        let x: Vec<f32> = Rng::new(10).normals_f32(4 * 3);
        let input = || Tensor::from_data(TensorData::new(x.clone(), [4, 3]), &device);
        let forward = values(&mlp.forward(input()));
        let (out, g) = mlp.input_grad(input());
        let (out, g) = (values(&out), values(&g));
        for i in 0..4 {
            let xi: Vec<f64> = x[3 * i..3 * i + 3].iter().map(|&v| v as f64).collect();
            let f = net.forward(&xi);
            let tol = 1e-5 * f.abs().max(1.0);
            assert!((f - out[i] as f64).abs() < tol, "layer norm {layer_norm}: {f} vs {}", out[i]);
            assert!(
                (f - forward[i] as f64).abs() < tol,
                "layer norm {layer_norm}: {f} vs {}",
                forward[i]
            );
            let analytic = net.input_grad(&xi);
            for j in 0..3 {
                let h = 1e-6;
                let (mut up, mut down) = (xi.clone(), xi.clone());
                up[j] += h;
                down[j] -= h;
                let fd = (net.forward(&up) - net.forward(&down)) / (2.0 * h);
                let tol = 1e-5 * fd.abs().max(1.0);
                assert!(
                    (fd - analytic[j]).abs() < tol,
                    "float64 chain rule, sample {i} dim {j}: {fd} vs {}",
                    analytic[j]
                );
                assert!(
                    (fd - g[3 * i + j] as f64).abs() < tol,
                    "layer norm {layer_norm}, sample {i} dim {j}: {fd} vs {}",
                    g[3 * i + j]
                );
            }
        }
    }
}
