//! Native training runs: the CI-sized WGAN-GP run on 8 Gaussians, exact resume, and the
//! wgpu (Vulkan, lavapipe in CI) step against the Flex step.

mod common;

use burn::tensor::Device;
use common::{all_params, run, small, values};
use earthmover::gan::checkpoint;
use earthmover::gan::metrics::mode_stats;
use earthmover::gan::{GanConfig, GanState, Objective};
use earthmover::rng::Rng;
use earthmover::toy::Toy;
use earthmover::transport::{exact_w1, pairs};

/// Stopping, saving, loading and going on gives bit-for-bit the uninterrupted run, for every
/// objective, with historical averaging (whose running means are in the checkpoint too) and
/// with minibatch discrimination (whose tensor `T` is a critic parameter).
#[test]
fn resume_is_exact() {
    let device = Device::flex();
    for name in Objective::NAMES {
        let mut c = small(name);
        if name == "gan" {
            c.tricks.historical_averaging = Some(0.01);
            c.tricks.label_smoothing = Some(0.9);
        }
        if name == "wgan" || name == "gan-minimax" {
            c.tricks.minibatch_discrimination =
                Some(earthmover::gan::mlp::MinibatchShape { kernels: 3, dims: 2 });
        }
        let straight = run(GanState::new(&c, &device), &c, 6);
        let half = run(GanState::new(&c, &device), &c, 3);
        let bytes = checkpoint::to_bytes(&half, &c).unwrap();
        let (loaded, c2) = checkpoint::from_bytes(&bytes, &device).unwrap();
        assert_eq!(c2, c);
        assert_eq!((loaded.step, loaded.critic_steps), (3, 6));
        let resumed = run(loaded, &c2, 3);
        assert_eq!(all_params(&resumed), all_params(&straight), "{name}: resumed run differs");
        assert_ne!(all_params(&half), all_params(&straight));
    }
}

/// A checkpoint written before the models were burn modules (format v1: optimizer slots and
/// running averages by position, in burn's layout) loads, and going on from it is the run that
/// never stopped: RMSProp (WGAN, with minibatch discrimination), Adam (WGAN-GP) and SGD with
/// momentum, each with historical averaging.
#[test]
fn v1_checkpoints_still_resume() {
    use earthmover::optim::OptimizerConfig;
    use safetensors::{Dtype, tensor::TensorView};
    let device = Device::flex();
    for name in ["wgan", "wgan-gp", "gan"] {
        let mut c = small(name);
        c.tricks.historical_averaging = Some(0.01);
        if name == "wgan" {
            c.tricks.minibatch_discrimination =
                Some(earthmover::gan::mlp::MinibatchShape { kernels: 3, dims: 2 });
        }
        if name == "gan" {
            c.critic_optimizer = OptimizerConfig::Sgd { lr: 1e-3, momentum: 0.9 };
            c.generator_optimizer = OptimizerConfig::Sgd { lr: 1e-3, momentum: 0.9 };
        }
        let straight = run(GanState::new(&c, &device), &c, 6);
        let half = run(GanState::new(&c, &device), &c, 3);
        let v2 = checkpoint::to_bytes(&half, &c).unwrap();
        let st = safetensors::SafeTensors::deserialize(&v2).unwrap();
        let (_, md) = safetensors::SafeTensors::read_metadata(&v2).unwrap();
        let mut metadata: std::collections::HashMap<String, String> = md
            .metadata()
            .clone()
            .unwrap()
            .into_iter()
            .filter(|(k, _)| !k.starts_with("optim."))
            .collect();
        metadata.insert("format".into(), checkpoint::FORMAT_V1.into());
        let mut entries: Vec<(String, Vec<usize>, Vec<u8>)> = st
            .names()
            .into_iter()
            .filter(|n| !n.starts_with("optim.") && !n.starts_with("average."))
            .map(|n| {
                (
                    n.to_string(),
                    st.tensor(n).unwrap().shape().to_vec(),
                    st.tensor(n).unwrap().data().to_vec(),
                )
            })
            .collect();
        let bytes =
            |v: &[f64]| v.iter().flat_map(|x| (*x as f32).to_le_bytes()).collect::<Vec<u8>>();
        let v1_shape = |dims: Vec<usize>| if dims.len() == 1 { vec![1, dims[0]] } else { dims };
        for (who, model, avg, opt, cfg) in [
            (
                "generator",
                &half.generator,
                &half.generator_avg,
                &half.generator_opt,
                &c.generator_optimizer,
            ),
            ("critic", &half.critic, &half.critic_avg, &half.critic_opt, &c.critic_optimizer),
        ] {
            metadata.insert(format!("{who}_opt_t"), opt.t.to_string());
            let leaves: &[&str] = match cfg {
                OptimizerConfig::Adam { .. } => &["momentum.moment_1", "momentum.moment_2"],
                OptimizerConfig::Rmsprop { .. } => &["square_avg.square_avg"],
                _ => &["momentum.velocity"],
            };
            let slots = opt.state_values();
            let averages = earthmover::nn::param_values(avg.as_ref().unwrap());
            for (p, (path, dims)) in earthmover::nn::param_shapes(model).into_iter().enumerate() {
                for (k, leaf) in leaves.iter().enumerate() {
                    let values = &slots
                        .iter()
                        .find(|(n, _)| *n == format!("{path}.{leaf}"))
                        .unwrap_or_else(|| panic!("{name}: {path}.{leaf}"))
                        .1;
                    entries.push((
                        format!("optim.{who}.{p}.{k}"),
                        v1_shape(dims.clone()),
                        bytes(values),
                    ));
                }
                entries.push((
                    format!("average.{who}.{p}"),
                    v1_shape(dims.clone()),
                    bytes(&averages[p].1),
                ));
            }
        }
        let views: Vec<(String, TensorView<'_>)> = entries
            .iter()
            .map(|(n, s, b)| (n.clone(), TensorView::new(Dtype::F32, s.clone(), b).unwrap()))
            .collect();
        let v1 = safetensors::serialize(views, Some(metadata)).unwrap();
        let (loaded, c2) = checkpoint::from_bytes(&v1, &device).unwrap();
        assert_eq!(c2, c);
        let resumed = run(loaded, &c2, 3);
        assert_eq!(
            all_params(&resumed),
            all_params(&straight),
            "{name}: the run resumed from v1 differs"
        );
    }
}

#[test]
fn corrupt_or_foreign_checkpoints_are_named() {
    let device = Device::flex();
    let err = checkpoint::from_bytes(b"not a checkpoint", &device).unwrap_err().to_string();
    assert!(err.contains("not a safetensors file"), "{err}");
    let foreign =
        safetensors::serialize(Vec::<(String, safetensors::tensor::TensorView<'_>)>::new(), None)
            .unwrap();
    let err = checkpoint::from_bytes(&foreign, &device).unwrap_err().to_string();
    assert!(err.contains("not an earthmover GAN checkpoint"), "{err}");
    // A checkpoint whose config asks for a different width than its tensors have.
    let c = small("wgan-gp");
    let bytes = checkpoint::to_bytes(&GanState::new(&c, &device), &c).unwrap();
    // Patched in place (same length), so the safetensors header stays valid and the load
    // reaches the shape check.
    let (from, to) = (b"hidden = 16", b"hidden = 17");
    let at =
        bytes.windows(from.len()).position(|w| w == from).expect("the config is in the header");
    let mut patched = bytes.clone();
    patched[at..at + to.len()].copy_from_slice(to);
    let err = checkpoint::from_bytes(&patched, &device).unwrap_err().to_string();
    assert!(err.contains("has shape"), "{err}");
}

/// WGAN-GP with the toy code's optimizer and penalty (Adam 1e-4, β (0.5, 0.9), λ 0.1,
/// n_critic 5, batch 256), on 3×128 networks so it fits a CI budget, covers at least 7 of
/// the 8 modes. The untrained generator covers at most one.
#[test]
fn wgan_gp_covers_eight_gaussians() {
    let device = Device::flex();
    let mut c = GanConfig::toy_default();
    c.hidden = 128;
    c.seed = 1;
    let lr: f64 =
        std::env::var("EARTHMOVER_CI_LR").ok().and_then(|s| s.parse().ok()).unwrap_or(1e-3);
    c.critic_optimizer = c.critic_optimizer.with_lr(lr);
    c.generator_optimizer = c.generator_optimizer.with_lr(lr);
    let steps =
        std::env::var("EARTHMOVER_CI_STEPS").ok().and_then(|s| s.parse().ok()).unwrap_or(600);
    c.schedule = earthmover::gan::Schedule::Linear { steps: steps as u64 };
    let modes = Toy::EightGaussians.modes().unwrap();
    let eval = |s: &GanState| {
        let mut rng = Rng::new(77);
        let fake = pairs(&values(&s.generate(1024, &mut rng, c.noise_dim)));
        let real = pairs(&c.data.sample(512, &mut rng));
        (mode_stats(&fake, &modes), exact_w1(&fake[..512], &real))
    };
    let s0 = GanState::new(&c, &device);
    let (m0, w0) = eval(&s0);
    let s = run(s0, &c, steps);
    let (m, w) = eval(&s);
    println!(
        "WGAN-GP 3×128, {steps} steps: modes {}/8 → {}/8, HQ {:.2} → {:.2}, W1 {w0:.3} → {w:.3}",
        m0.covered, m.covered, m0.hq, m.hq
    );
    assert!(m0.covered <= 1);
    assert!(m.covered >= 7, "only {} of 8 modes covered", m.covered);
    assert!(w < 0.5 * w0);
}

/// A failed read of a step's values is an error that names the device read, never NaN (which
/// the training loops would report as divergence).
#[test]
fn a_failed_read_is_not_divergence() {
    use earthmover::nn::read_floats;
    let device = burn::tensor::Device::flex();
    let t = burn::tensor::Tensor::<1>::from_floats([1.0, 2.0, 3.0], &device);
    let err = earthmover::summarize::block_on(read_floats(t.clone(), 4)).unwrap_err();
    assert!(
        err.to_string().contains("could not read the step's values back from the device"),
        "{err}"
    );
    assert!(!err.to_string().contains("diverged"));
    assert_eq!(earthmover::summarize::block_on(read_floats(t, 3)).unwrap(), vec![1.0, 2.0, 3.0]);
}
