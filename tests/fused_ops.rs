//! The fused text ops (`src/ops`) against two independent references:
//! - their hand-written backward passes against central finite differences, all in float64;
//! - the fused Flex kernels against the same computations made of ordinary burn ops (the bodies
//!   wgpu and WebGPU run), values and gradients, in float32.

use burn::tensor::{DType, Device, Int, Tensor, TensorData};
use earthmover::ops::{self, unfused};
use earthmover::rng::Rng;

/// One op under test: inputs as `[rows, cols]` tensors (reshaped inside), a scalar loss out.
type Loss = dyn Fn(&[Tensor<2>]) -> Tensor<1>;

fn tensor(values: &[f64], shape: [usize; 2], device: &Device, dtype: DType) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values.to_vec(), shape), (device, dtype))
}

fn read(t: Tensor<1>) -> f64 {
    t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()[0]
}

fn random(rng: &mut Rng, n: usize, scale: f64) -> Vec<f64> {
    (0..n).map(|_| (2.0 * rng.uniform() - 1.0) * scale).collect()
}

/// Σ out ⊙ R for fixed random R, so every output element carries a different weight.
fn weighted<const D: usize>(out: Tensor<D>, seed: u64) -> Tensor<1> {
    let n = out.shape().num_elements();
    let mut rng = Rng::new(seed);
    let r = random(&mut rng, n, 1.0);
    let dtype = out.dtype();
    let device = out.device();
    let r = Tensor::<1>::from_data(TensorData::new(r, [n]), (&device, dtype)).reshape(out.dims());
    (out * r).sum()
}

/// Autodiff gradient of `loss` at `inputs` vs central differences, every entry, float64.
fn check_gradients(name: &str, inputs: &[(Vec<f64>, [usize; 2])], loss: &Loss) {
    let plain = Device::flex();
    let ad = plain.clone().autodiff();
    let leaves: Vec<Tensor<2>> =
        inputs.iter().map(|(v, s)| tensor(v, *s, &ad, DType::F64).require_grad()).collect();
    let grads = loss(&leaves).backward();
    let eval = |vals: &[(Vec<f64>, [usize; 2])]| {
        read(loss(&vals.iter().map(|(v, s)| tensor(v, *s, &plain, DType::F64)).collect::<Vec<_>>()))
    };
    // ε = 1e-5: round-off (≈ 1e-16·|loss|/ε) and truncation (≈ ε²) both stay near 1e-10.
    let eps = 1e-5;
    let mut worst = 0f64;
    for (k, leaf) in leaves.iter().enumerate() {
        let g = leaf
            .grad(&grads)
            .map(|g| g.into_data().convert::<f64>().try_to_vec::<f64>().unwrap())
            .unwrap_or_else(|| vec![0.0; inputs[k].0.len()]);
        assert!(g.iter().any(|x| x.abs() > 1e-6), "{name}: input {k} gets no gradient");
        for i in 0..inputs[k].0.len() {
            let mut plus = inputs.to_vec();
            plus[k].0[i] += eps;
            let mut minus = inputs.to_vec();
            minus[k].0[i] -= eps;
            let fd = (eval(&plus) - eval(&minus)) / (2.0 * eps);
            let err = (fd - g[i]).abs() / fd.abs().max(g[i].abs()).max(1e-3);
            assert!(
                err < 1e-6,
                "{name}: input {k}[{i}]: autodiff {:e}, finite differences {fd:e}",
                g[i]
            );
            worst = worst.max(err);
        }
    }
    eprintln!("{name}: worst relative error {worst:.1e}");
}

/// Fused and unfused losses and gradients at the same float32 inputs agree within `tol`.
fn check_against_unfused(
    name: &str,
    inputs: &[(Vec<f64>, [usize; 2])],
    fused: &Loss,
    reference: &Loss,
    tol: f64,
) {
    let ad = Device::flex().autodiff();
    let run = |f: &Loss| {
        let leaves: Vec<Tensor<2>> =
            inputs.iter().map(|(v, s)| tensor(v, *s, &ad, DType::F32).require_grad()).collect();
        let loss = f(&leaves);
        let value = read(loss.clone().inner());
        let grads = loss.backward();
        let g: Vec<Vec<f64>> = leaves
            .iter()
            .map(|l| {
                l.grad(&grads)
                    .map(|g| g.into_data().convert::<f64>().try_to_vec::<f64>().unwrap())
                    .unwrap_or_default()
            })
            .collect();
        (value, g)
    };
    let (v1, g1) = run(fused);
    let (v2, g2) = run(reference);
    assert!((v1 - v2).abs() <= tol * v2.abs().max(1.0), "{name}: loss {v1} vs {v2}");
    let mut worst = 0f64;
    for (k, (a, b)) in g1.iter().zip(&g2).enumerate() {
        assert_eq!(a.len(), b.len(), "{name}: input {k}: gradient present on one side only");
        for (x, y) in a.iter().zip(b) {
            worst = worst.max((x - y).abs());
            assert!((x - y).abs() <= tol, "{name}: input {k}: gradient {x} vs {y}");
        }
    }
    eprintln!(
        "{name}: |loss difference| {:.1e}, worst gradient difference {worst:.1e}",
        (v1 - v2).abs()
    );
}

struct LstmCase {
    b: usize,
    t: usize,
    e: usize,
    h: usize,
    mask: Vec<f64>,
}

impl LstmCase {
    fn inputs(&self, seed: u64) -> Vec<(Vec<f64>, [usize; 2])> {
        let mut rng = Rng::new(seed);
        let (b, t, e, h) = (self.b, self.t, self.e, self.h);
        vec![
            (random(&mut rng, b * t * e, 1.0), [b * t, e]),
            (random(&mut rng, e * 4 * h, 0.6), [e, 4 * h]),
            (random(&mut rng, h * 4 * h, 0.6), [h, 4 * h]),
            (random(&mut rng, 4 * h, 0.5), [1, 4 * h]),
        ]
    }

    fn loss(&self, fused: bool, reverse: bool) -> Box<Loss> {
        let (b, t, e) = (self.b, self.t, self.e);
        let mask = self.mask.clone();
        Box::new(move |p: &[Tensor<2>]| {
            let m = Tensor::<2>::from_data(
                TensorData::new(mask.clone(), [b, t]),
                (&p[0].device(), p[0].dtype()),
            );
            let x = p[0].clone().reshape([b, t, e]);
            let f = if fused { ops::lstm_seq } else { unfused::lstm_seq };
            let (out, hn, cn) = f(x, p[1].clone(), p[2].clone(), p[3].clone(), m, reverse);
            weighted(out, 1) + weighted(hn, 2) + weighted(cn, 3)
        })
    }
}

/// Padding at the end of rows of different lengths, and one row of a single token.
fn padded_mask(b: usize, t: usize) -> Vec<f64> {
    (0..b)
        .flat_map(|r| (0..t).map(move |k| if k < t - (r * 2).min(t - 1) { 1.0 } else { 0.0 }))
        .collect()
}

#[test]
fn lstm_sequence_gradient_matches_finite_differences() {
    let case = LstmCase { b: 3, t: 5, e: 4, h: 3, mask: padded_mask(3, 5) };
    assert!(case.mask.contains(&0.0));
    for reverse in [false, true] {
        check_gradients(
            &format!("lstm_seq reverse={reverse}"),
            &case.inputs(7),
            &*case.loss(true, reverse),
        );
    }
}

#[test]
fn lstm_sequence_matches_unfused_ops() {
    let case = LstmCase { b: 5, t: 23, e: 16, h: 12, mask: padded_mask(5, 23) };
    for reverse in [false, true] {
        check_against_unfused(
            &format!("lstm_seq reverse={reverse}"),
            &case.inputs(11),
            &*case.loss(true, reverse),
            &*case.loss(false, reverse),
            1e-5,
        );
    }
}

fn cell_inputs(b: usize, h: usize, seed: u64) -> Vec<(Vec<f64>, [usize; 2])> {
    let mut rng = Rng::new(seed);
    vec![(random(&mut rng, b * 4 * h, 2.0), [b, 4 * h]), (random(&mut rng, b * h, 1.5), [b, h])]
}

fn cell_loss(fused: bool) -> Box<Loss> {
    Box::new(move |p: &[Tensor<2>]| {
        let f = if fused { ops::lstm_cell } else { unfused::lstm_cell };
        weighted(f(p[0].clone(), p[1].clone()), 4)
    })
}

#[test]
fn lstm_cell_gradient_matches_finite_differences_and_unfused_ops() {
    check_gradients("lstm_cell", &cell_inputs(2, 3, 3), &*cell_loss(true));
    check_against_unfused(
        "lstm_cell",
        &cell_inputs(6, 17, 4),
        &*cell_loss(true),
        &*cell_loss(false),
        1e-5,
    );
}

fn attention_inputs(b: usize, t: usize, a: usize, seed: u64) -> Vec<(Vec<f64>, [usize; 2])> {
    let mut rng = Rng::new(seed);
    vec![
        (random(&mut rng, b * t * a, 1.0), [b * t, a]),
        (random(&mut rng, b * a, 1.0), [b, a]),
        (random(&mut rng, b * t, 1.0).into_iter().map(f64::abs).collect(), [b, t]),
        (random(&mut rng, a, 1.0), [1, a]),
        (random(&mut rng, a, 1.0), [a, 1]),
    ]
}

fn attention_loss(b: usize, t: usize, a: usize, fused: bool) -> Box<Loss> {
    Box::new(move |p: &[Tensor<2>]| {
        let f = if fused { ops::attention_scores } else { unfused::attention_scores };
        weighted(
            f(
                p[0].clone().reshape([b, t, a]),
                p[1].clone(),
                p[2].clone(),
                p[3].clone(),
                p[4].clone(),
            ),
            5,
        )
    })
}

#[test]
fn attention_scores_gradient_matches_finite_differences_and_unfused_ops() {
    check_gradients(
        "attention_scores",
        &attention_inputs(2, 4, 5, 6),
        &*attention_loss(2, 4, 5, true),
    );
    // Wider than a SIMD register, with a remainder.
    check_against_unfused(
        "attention_scores",
        &attention_inputs(3, 37, 21, 7),
        &*attention_loss(3, 37, 21, true),
        &*attention_loss(3, 37, 21, false),
        1e-5,
    );
}

fn pick_loss(targets: Vec<i64>, fused: bool) -> Box<Loss> {
    Box::new(move |p: &[Tensor<2>]| {
        let target = Tensor::<2, Int>::from_data(
            TensorData::new(targets.clone(), [targets.len(), 1]),
            &p[0].device(),
        );
        let f = if fused { ops::softmax_pick } else { unfused::softmax_pick };
        weighted(f(p[0].clone(), target), 8)
    })
}

#[test]
fn softmax_pick_gradient_matches_finite_differences_and_unfused_ops() {
    let mut rng = Rng::new(9);
    check_gradients(
        "softmax_pick",
        &[(random(&mut rng, 3 * 7, 3.0), [3, 7])],
        &*pick_loss(vec![0, 6, 3], true),
    );
    // Large logits (the max is subtracted) and a vocabulary that is not a multiple of 8.
    let (n, v) = (9, 1003);
    let logits: Vec<f64> = random(&mut rng, n * v, 12.0);
    let targets: Vec<i64> = (0..n as i64).map(|i| (i * 97) % v as i64).collect();
    check_against_unfused(
        "softmax_pick",
        &[(logits, [n, v])],
        &*pick_loss(targets.clone(), true),
        &*pick_loss(targets, false),
        1e-6,
    );
}

#[test]
fn tanh_and_sigmoid_gradients_match_finite_differences_and_unfused_ops() {
    let mut rng = Rng::new(10);
    let x = random(&mut rng, 4 * 9, 4.0);
    type Unary = fn(Tensor<2>) -> Tensor<2>;
    let cases: [(&str, Unary, Unary); 2] = [
        ("tanh", ops::tanh::<2>, unfused::tanh::<2>),
        ("sigmoid", ops::sigmoid::<2>, unfused::sigmoid::<2>),
    ];
    for (name, fused, reference) in cases {
        let loss = move |f: Unary| -> Box<Loss> {
            Box::new(move |p: &[Tensor<2>]| weighted(f(p[0].clone()), 12))
        };
        check_gradients(name, &[(x.clone(), [4, 9])], &*loss(fused));
        check_against_unfused(name, &[(x.clone(), [4, 9])], &*loss(fused), &*loss(reference), 1e-5);
    }
}

/// Decoding's projection (a kernel for a few rows, gemm above 16) and row softmax, against the
/// ordinary ops: the same values, and under autodiff the same gradients.
#[test]
fn projection_and_row_softmax_match_unfused_ops() {
    let mut rng = Rng::new(13);
    let (k, n) = (37, 9003); // more than two column tiles, with a remainder
    for m in [1, 4, 16, 17] {
        let inputs =
            [(random(&mut rng, m * k, 1.0), [m, k]), (random(&mut rng, k * n, 1.0), [k, n])];
        let loss = |fused: bool| -> Box<Loss> {
            Box::new(move |p: &[Tensor<2>]| {
                let (proj, soft) = if fused {
                    (ops::project as fn(_, _) -> _, ops::softmax_rows as fn(_) -> _)
                } else {
                    (unfused::project as fn(_, _) -> _, unfused::softmax_rows as fn(_) -> _)
                };
                let logits: Tensor<2> = proj(p[0].clone(), p[1].clone());
                weighted(logits.clone(), 14) + weighted(soft(logits), 15)
            })
        };
        check_against_unfused(
            &format!("project + softmax_rows, {m} rows"),
            &inputs,
            &*loss(true),
            &*loss(false),
            1e-5,
        );
        // Without autodiff (decoding), Flex runs the kernels themselves.
        let plain = Device::flex();
        let (x, w) = (
            tensor(&inputs[0].0, [m, k], &plain, DType::F32),
            tensor(&inputs[1].0, [k, n], &plain, DType::F32),
        );
        let read2 = |t: Tensor<2>| t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap();
        let (a, b) = (
            read2(ops::project(x.clone(), w.clone())),
            read2(unfused::project(x.clone(), w.clone())),
        );
        let worst = a.iter().zip(&b).fold(0f64, |m, (x, y)| m.max((x - y).abs()));
        assert!(worst < 1e-4, "project, {m} rows: differs from matmul by {worst}");
        // The decoding layout keeps the values and takes the word-major kernel.
        let wt = ops::decoding_layout(w.clone());
        assert_eq!(
            read2(wt.clone()),
            read2(w.clone()),
            "decoding_layout changed the weight's values"
        );
        let c = read2(ops::project(x.clone(), wt));
        let worst = c.iter().zip(&b).fold(0f64, |m, (x, y)| m.max((x - y).abs()));
        assert!(
            worst < 1e-4,
            "project in the decoding layout, {m} rows: differs from matmul by {worst}"
        );
        let logits = tensor(&a, [m, n], &plain, DType::F32);
        let (s1, s2) =
            (read2(ops::softmax_rows(logits.clone())), read2(unfused::softmax_rows(logits)));
        let worst = s1.iter().zip(&s2).fold(0f64, |m, (x, y)| m.max((x - y).abs()));
        assert!(worst < 1e-6, "softmax_rows, {m} rows: differs from softmax by {worst}");
    }
}
