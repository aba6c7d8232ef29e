//! The optimizers against optax (DeepMind's optimizer library on JAX), run in the test: SGD with
//! momentum, RMSprop, Adam (the GAN lab's and the summarizer's β) and Adagrad with See et al.'s
//! initial accumulator, alone and after a global-norm clip (active: the first gradient's norm is
//! 1.8), take six steps on the same non-quadratic loss in both. optax (float64, `jax.grad`,
//! `clip_by_global_norm`) gives the parameters after every step; ours (float32) must match them
//! to 2e-5, relative.
//!
//! Our rules follow PyTorch's conventions, and optax is set to the same ones: RMSprop's ε outside
//! the square root (`eps_in_sqrt=False`). optax's Adagrad keeps ε inside the root; at ε = 1e-10
//! beside an accumulator of at least 0.1 that moves a step by under 1e-9, relative. optax is a
//! CPU-only 140 MB install from PyPI, where PyTorch's wheels bring 3 GB of CUDA libraries.
//!
//! Needs the venv of scripts/setup.sh (`$EARTHMOVER_VENV`, default `<crate>/.venv`) with
//! optax; the test fails naming it when it is missing.

use std::path::{Path, PathBuf};
use std::process::Command;

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};
use earthmover::optim::{OptimizerConfig, clip_global_norm, gradients};

const THETA: [f64; 5] = [0.8, -1.3, 0.4, 2.0, -0.2];
const C: [f64; 5] = [1.0, 0.5, 2.0, 0.25, 1.5];
const D: [f64; 5] = [0.3, -0.2, 0.1, 0.5, -0.4];
const STEPS: usize = 6;

#[derive(Module, Debug)]
struct Params {
    a: Param<Tensor<1>>,
    b: Param<Tensor<2>>,
}

fn params(device: &Device) -> Params {
    let v: Vec<f32> = THETA.iter().map(|&x| x as f32).collect();
    Params {
        a: earthmover::nn::param(v[..2].to_vec(), [2], device),
        b: earthmover::nn::param(v[2..].to_vec(), [1, 3], device),
    }
    .train()
}

/// f(θ) = Σ cₖθₖ⁴/4 − dₖθₖ, so the gradient cₖθₖ³ − dₖ changes as θ moves.
fn loss(p: &Params, device: &Device) -> Tensor<1> {
    let c = |r: std::ops::Range<usize>| C[r].iter().map(|&x| x as f32).collect::<Vec<_>>();
    let d = |r: std::ops::Range<usize>| D[r].iter().map(|&x| x as f32).collect::<Vec<_>>();
    let t1 = |v: Vec<f32>| Tensor::<1>::from_floats(v.as_slice(), device);
    let a = p.a.val();
    let b = p.b.val().reshape([3]);
    let fa = (a.clone().powi_scalar(4).mul(t1(c(0..2))).div_scalar(4.0) - a.mul(t1(d(0..2)))).sum();
    let fb = (b.clone().powi_scalar(4).mul(t1(c(2..5))).div_scalar(4.0) - b.mul(t1(d(2..5)))).sum();
    fa + fb
}

fn values(p: &Params) -> Vec<f64> {
    earthmover::nn::param_values(p).into_iter().flat_map(|(_, v)| v).collect()
}

/// Ours: the parameters after each step.
fn ours(cfg: &OptimizerConfig, clip: Option<f64>) -> Vec<Vec<f64>> {
    let device = Device::flex().autodiff();
    let mut p = params(&device);
    let mut opt = cfg.init();
    (0..STEPS)
        .map(|_| {
            let mut grads = gradients(&loss(&p, &device), &p);
            if let Some(max) = clip {
                grads = clip_global_norm(&p, grads, max).0;
            }
            p = opt.step(p.clone(), grads, 1.0).train();
            values(&p)
        })
        .collect()
}

const SCRIPT: &str = r#"
import json, sys
import jax
jax.config.update("jax_enable_x64", True)
jax.config.update("jax_platforms", "cpu")
import jax.numpy as jnp, optax
results = []
for spec in json.loads(sys.argv[1]):
    theta = jnp.array(spec["theta"], dtype=jnp.float64)
    c, d = jnp.array(spec["c"]), jnp.array(spec["d"])
    kind, h = spec["kind"], spec["h"]
    if kind == "sgd":
        rule = optax.sgd(h["lr"], momentum=h["momentum"] or None)
    elif kind == "rmsprop":
        rule = optax.rmsprop(h["lr"], decay=h["alpha"], eps=h["eps"], eps_in_sqrt=False)
    elif kind == "adam":
        rule = optax.adam(h["lr"], b1=h["beta1"], b2=h["beta2"], eps=h["eps"])
    else:
        rule = optax.adagrad(h["lr"], initial_accumulator_value=h["initial_accumulator"], eps=h["eps"])
    if spec["clip"] is not None:
        rule = optax.chain(optax.clip_by_global_norm(spec["clip"]), rule)
    grad = jax.grad(lambda t: (c * t**4 / 4 - d * t).sum())
    state = rule.init(theta)
    out = []
    for _ in range(spec["steps"]):
        updates, state = rule.update(grad(theta), state, theta)
        theta = optax.apply_updates(theta, updates)
        out.append([float(x) for x in theta])
    results.append(out)
print(json.dumps(results))
"#;

fn python() -> PathBuf {
    let venv = std::env::var_os("EARTHMOVER_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv"));
    let py = venv.join("bin/python");
    let ok = Command::new(&py).args(["-c", "import optax"]).status().is_ok_and(|s| s.success());
    assert!(ok, "{} cannot import optax: run scripts/setup.sh", py.display());
    py
}

/// The spec of one case for the reference script.
fn spec(cfg: &OptimizerConfig, clip: Option<f64>) -> serde_json::Value {
    let (kind, h) = match cfg {
        OptimizerConfig::Sgd { lr, momentum } => {
            ("sgd", serde_json::json!({"lr": lr, "momentum": momentum}))
        }
        OptimizerConfig::Rmsprop { lr, alpha, eps } => {
            ("rmsprop", serde_json::json!({"lr": lr, "alpha": alpha, "eps": eps}))
        }
        OptimizerConfig::Adam { lr, beta1, beta2, eps } => {
            ("adam", serde_json::json!({"lr": lr, "beta1": beta1, "beta2": beta2, "eps": eps}))
        }
        OptimizerConfig::Adagrad { lr, initial_accumulator, eps } => (
            "adagrad",
            serde_json::json!({"lr": lr, "initial_accumulator": initial_accumulator, "eps": eps}),
        ),
    };
    serde_json::json!({"theta": THETA, "c": C, "d": D, "kind": kind, "h": h, "steps": STEPS, "clip": clip})
}

/// optax's parameters after each step, for every case, from one Python process.
fn reference(py: &Path, cases: &[(OptimizerConfig, Option<f64>)]) -> Vec<Vec<Vec<f64>>> {
    let specs: Vec<_> = cases.iter().map(|(cfg, clip)| spec(cfg, *clip)).collect();
    let o = Command::new(py)
        .args(["-c", SCRIPT, &serde_json::Value::Array(specs).to_string()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn optimizers_match_optax() {
    let py = python();
    let cases = [
        (OptimizerConfig::Sgd { lr: 0.05, momentum: 0.9 }, None),
        (OptimizerConfig::sgd(0.05), None),
        (OptimizerConfig::rmsprop(0.01), None),
        // The GAN lab's WGAN-GP setting, and the summarizer's Adam.
        (OptimizerConfig::adam(0.05, 0.5, 0.9), None),
        (OptimizerConfig::adam(0.05, 0.9, 0.999), None),
        // See et al.: Adagrad 0.15, accumulator 0.1, with the global-norm clip (their 2; 1 here so it acts).
        (OptimizerConfig::adagrad(0.15, 0.1), None),
        (OptimizerConfig::adagrad(0.15, 0.1), Some(1.0)),
    ];
    let references = reference(&py, &cases);
    assert_eq!(references.len(), cases.len());
    for ((cfg, clip), b) in cases.into_iter().zip(references) {
        let a = ours(&cfg, clip);
        let mut worst = 0.0f64;
        for (step, (x, y)) in a.iter().zip(&b).enumerate() {
            for (u, v) in x.iter().zip(y) {
                let rel = (u - v).abs() / v.abs().max(1e-3);
                worst = worst.max(rel);
                assert!(
                    rel < 2e-5,
                    "{} (clip {clip:?}), step {}: ours {x:?}, optax {y:?}",
                    cfg.name(),
                    step + 1
                );
            }
        }
        // The parameters moved: a rule that did nothing would not pass by accident.
        assert!((a[STEPS - 1][0] - THETA[0]).abs() > 1e-3, "{}", cfg.name());
        println!(
            "{} (clip {clip:?}): {STEPS} steps, largest relative difference from optax {worst:.1e}",
            cfg.name()
        );
    }
}
