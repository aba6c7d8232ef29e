//! Minibatch discrimination (Salimans et al. 2016, §3.2) against a float64 brute force, and
//! the gradient the page draws for such a critic against finite differences.

use burn::tensor::{Device, Tensor, TensorData};
use earthmover::gan::mlp::{Activation, MinibatchShape, MlpConfig};
use earthmover::gan::{GanConfig, GanState, Objective};
use earthmover::rng::Rng;
use earthmover::toy::{Source, Toy};

fn values(t: Tensor<2>) -> Vec<f32> {
    t.inner().into_data().try_to_vec::<f32>().unwrap()
}

/// `o_b(xᵢ) = Σ_{j≠i} exp(−Σ_c |M_{i,b,c} − M_{j,b,c}|)` with `M = h·T`, in float64 loops.
fn brute_force(
    h: &[f32],
    r: Option<&[f32]>,
    t: &[f32],
    a: usize,
    kernels: usize,
    dims: usize,
) -> Vec<f64> {
    let project = |x: &[f32]| -> Vec<Vec<f64>> {
        x.chunks(a)
            .map(|row| {
                (0..kernels * dims)
                    .map(|k| (0..a).map(|i| row[i] as f64 * t[i * kernels * dims + k] as f64).sum())
                    .collect()
            })
            .collect()
    };
    let m = project(h);
    let refs = r.map(project);
    let others = refs.as_ref().unwrap_or(&m);
    let mut out = vec![];
    for (i, mi) in m.iter().enumerate() {
        for b in 0..kernels {
            let mut o = 0.0;
            for (j, mj) in others.iter().enumerate() {
                if refs.is_none() && i == j {
                    continue;
                }
                o += (-(0..dims).map(|c| (mi[b * dims + c] - mj[b * dims + c]).abs()).sum::<f64>())
                    .exp();
            }
            out.push(o);
        }
    }
    out
}

#[test]
fn minibatch_features_match_a_float64_brute_force() {
    let device = Device::flex();
    let (a, kernels, dims, n, m) = (4, 3, 2, 7, 5);
    let cfg = MlpConfig {
        input: 2,
        hidden: a,
        depth: 1,
        output: 1,
        activation: Activation::Relu,
        minibatch: Some(MinibatchShape { kernels, dims }),
        layer_norm: false,
    };
    let mlp = cfg.init(&mut Rng::new(3), &device);
    let mb = mlp.minibatch.as_ref().unwrap();
    let mut rng = Rng::new(9);
    let h: Vec<f32> = rng.normals_f32(n * a).iter().map(|v| v * 0.5).collect();
    let r: Vec<f32> = rng.normals_f32(m * a).iter().map(|v| v * 0.5).collect();
    let t = values(mb.weight.val());
    let to =
        |v: &[f32], rows| Tensor::<2>::from_data(TensorData::new(v.to_vec(), [rows, a]), &device);
    for (reference, expected) in [
        (None, brute_force(&h, None, &t, a, kernels, dims)),
        (Some(to(&r, m)), brute_force(&h, Some(&r), &t, a, kernels, dims)),
    ] {
        let got = values(mb.features(to(&h, n), reference));
        assert_eq!(got.len(), expected.len());
        for (g, e) in got.iter().zip(&expected) {
            assert!((*g as f64 - e).abs() < 1e-5 * e.abs().max(1.0), "{g} vs {e}");
        }
    }
    // A collapsed batch (every sample the same) scores n − 1 on every kernel: what lets the
    // discriminator spot mode collapse.
    let same: Vec<f32> = h[..a].repeat(n);
    for v in values(mb.features(to(&same, n), None)) {
        assert!((v - (n - 1) as f32).abs() < 1e-5, "{v}");
    }
}

/// The arrows on the page: for a batch-dependent critic, `∇ₓᵢ Σⱼ f(xⱼ)` by autodiff, checked
/// against central differences of the same sum.
#[test]
fn minibatch_critic_gradient_matches_finite_differences() {
    let device = Device::flex();
    let mut c =
        GanConfig::paper(Objective::from_name("gan").unwrap(), Source::Toy(Toy::EightGaussians));
    c.hidden = 8;
    c.depth = 2;
    c.tricks.minibatch_discrimination = Some(MinibatchShape { kernels: 4, dims: 3 });
    c.validate().unwrap();
    let state = GanState::new(&c, &device);
    let n = 6;
    let x: Vec<f32> = Rng::new(5).normals_f32(n * 2);
    let batch = |v: &[f32]| Tensor::<2>::from_data(TensorData::new(v.to_vec(), [n, 2]), &device);
    let total = |v: &[f32]| -> f64 {
        values(state.critic.frozen().forward(batch(v))).iter().map(|&o| o as f64).sum()
    };
    let grad = values(state.critic_gradient(batch(&x)));
    let eps = 1e-2f32;
    for k in 0..n * 2 {
        let (mut up, mut down) = (x.clone(), x.clone());
        up[k] += eps;
        down[k] -= eps;
        let fd = (total(&up) - total(&down)) / (2.0 * eps as f64);
        assert!(
            (grad[k] as f64 - fd).abs() < 2e-3 + 2e-2 * fd.abs(),
            "coordinate {k}: autodiff {} vs finite difference {fd}",
            grad[k]
        );
    }
    // The heatmap scores a point against a reference batch: point i against the other n − 1
    // points must give exactly its output inside the whole batch.
    let inside = values(state.critic.frozen().forward(batch(&x)));
    for i in 0..n {
        let others: Vec<f32> = x
            .chunks(2)
            .enumerate()
            .filter(|(j, _)| *j != i)
            .flat_map(|(_, p)| p.to_vec())
            .collect();
        let point =
            Tensor::<2>::from_data(TensorData::new(x[2 * i..2 * i + 2].to_vec(), [1, 2]), &device);
        let rest = Tensor::<2>::from_data(TensorData::new(others, [n - 1, 2]), &device);
        let against = values(state.critic_values(point, rest))[0];
        assert!((against - inside[i]).abs() < 1e-5, "point {i}: {against} vs {}", inside[i]);
    }
}
