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
            c.tricks.minibatch_discrimination = Some(earthmover::gan::mlp::MinibatchShape { kernels: 3, dims: 2 });
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

#[test]
fn corrupt_or_foreign_checkpoints_are_named() {
    let device = Device::flex();
    let err = checkpoint::from_bytes(b"not a checkpoint", &device).unwrap_err().to_string();
    assert!(err.contains("not a safetensors file"), "{err}");
    let foreign = safetensors::serialize(Vec::<(String, safetensors::tensor::TensorView<'_>)>::new(), None).unwrap();
    let err = checkpoint::from_bytes(&foreign, &device).unwrap_err().to_string();
    assert!(err.contains("not an earthmover GAN checkpoint"), "{err}");
    // A checkpoint whose config asks for a different width than its tensors have.
    let c = small("wgan-gp");
    let bytes = checkpoint::to_bytes(&GanState::new(&c, &device), &c).unwrap();
    let text = String::from_utf8_lossy(&bytes).replace("hidden = 16", "hidden = 17");
    let err = checkpoint::from_bytes(text.as_bytes(), &device).unwrap_err().to_string();
    assert!(err.contains("has shape") || err.contains("not a safetensors"), "{err}");
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
    let lr: f64 = std::env::var("EARTHMOVER_CI_LR").ok().and_then(|s| s.parse().ok()).unwrap_or(1e-3);
    c.critic_optimizer = c.critic_optimizer.with_lr(lr);
    c.generator_optimizer = c.generator_optimizer.with_lr(lr);
    let steps = std::env::var("EARTHMOVER_CI_STEPS").ok().and_then(|s| s.parse().ok()).unwrap_or(600);
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
    println!("WGAN-GP 3×128, {steps} steps: modes {}/8 → {}/8, HQ {:.2} → {:.2}, W1 {w0:.3} → {w:.3}", m0.covered, m.covered, m0.hq, m.hq);
    assert!(m0.covered <= 1);
    assert!(m.covered >= 7, "only {} of 8 modes covered", m.covered);
    assert!(w < 0.5 * w0);
}
