//! The gradient penalty's gradient with respect to the critic's weights, from burn's
//! first-order autodiff over the forward-op input gradient, against float64 central finite
//! differences of an independent float64 implementation.

use burn::tensor::{Device, Tensor, TensorData};
use earthmover::gan::mlp::{Activation, Mlp, MlpConfig};
use earthmover::gan::objective::gradient_penalty;
use earthmover::rng::Rng;

mod common;
use common::net64::Net64;

fn values(t: &Tensor<2>) -> Vec<f32> {
    t.clone().inner().into_data().try_to_vec::<f32>().unwrap()
}

fn check(activation: Activation, seed: u64) {
    let device = Device::flex();
    let cfg = MlpConfig { input: 2, hidden: 16, depth: 3, output: 1, activation, minibatch: None };
    let mut rng = Rng::new(seed);
    // Larger-than-default weights so that ‖∇f‖ is far from 1 and every term matters.
    let critic =
        earthmover::nn::map_floats(cfg.init(&mut rng, &device), &mut earthmover::nn::Scale(2.5))
            .trainable();
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
    println!("{activation:?}: {n} parameters, ‖∇P‖ = {norm:.4}, relative error {rel:.2e}");
    assert!(norm > 1e-3, "the penalty's gradient should not vanish here");
    assert!(rel <= 1e-3, "relative error {rel} > 1e-3");
}

#[test]
fn gradient_penalty_weight_gradient_matches_float64_finite_differences_relu() {
    for seed in [1, 2, 3] {
        check(Activation::Relu, seed);
    }
}

#[test]
fn gradient_penalty_weight_gradient_matches_float64_finite_differences_leaky_relu() {
    for seed in [4, 5] {
        check(Activation::LeakyRelu, seed);
    }
}

/// The forward-op input gradient equals float64 finite differences of the critic in x.
#[test]
fn input_gradient_matches_finite_differences_in_x() {
    let device = Device::flex();
    let cfg = MlpConfig {
        input: 3,
        hidden: 12,
        depth: 2,
        output: 1,
        activation: Activation::Relu,
        minibatch: None,
    };
    let mlp: Mlp = cfg.init(&mut Rng::new(9), &device);
    let net = Net64::from_mlp(&mlp, false);
    let x: Vec<f32> = Rng::new(10).normals_f32(4 * 3);
    let (out, g) = mlp.input_grad(Tensor::from_data(TensorData::new(x.clone(), [4, 3]), &device));
    let (out, g) = (values(&out), values(&g));
    for i in 0..4 {
        let xi: Vec<f64> = x[3 * i..3 * i + 3].iter().map(|&v| v as f64).collect();
        assert!((net.forward(&xi) - out[i] as f64).abs() < 1e-5);
        for j in 0..3 {
            let h = 1e-7;
            let (mut up, mut down) = (xi.clone(), xi.clone());
            up[j] += h;
            down[j] -= h;
            let fd = (net.forward(&up) - net.forward(&down)) / (2.0 * h);
            assert!(
                (fd - g[3 * i + j] as f64).abs() < 1e-5,
                "sample {i} dim {j}: {fd} vs {}",
                g[3 * i + j]
            );
        }
    }
}
