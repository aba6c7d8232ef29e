//! The native GPU path: one training step on wgpu against the same step on Flex.
//!
//! On this project's GPU-less machines the Vulkan device is Mesa's lavapipe (package
//! `mesa-vulkan-drivers`). The crate builds burn without its `vulkan` feature, so kernels go
//! through WGSL and naga: cubecl's own SPIR-V made lavapipe segfault while compiling the matmul
//! pipeline. On a machine with a GPU the same test runs on it.

mod common;

use burn::tensor::Device;
use common::{all_params, run, small};
use earthmover::gan::GanState;

/// The wgpu device, started once: a process can register the wgpu runtime only once.
fn gpu() -> Device {
    static GPU: std::sync::OnceLock<Device> = std::sync::OnceLock::new();
    GPU.get_or_init(|| match earthmover::device::native(earthmover::device::DeviceChoice::Wgpu) {
        Ok(started) => {
            println!("{started}");
            started.device
        }
        Err(e) => {
            panic!("no Vulkan device ({e}); install mesa-vulkan-drivers (scripts/setup.sh does)")
        }
    })
    .clone()
}

/// One full training step on the wgpu backend (Vulkan; lavapipe in CI) from the same start as
/// on Flex lands on the same parameters within float tolerance.
#[test]
fn wgpu_step_matches_flex() {
    let gpu = gpu();
    let cpu = Device::flex();
    for name in ["wgan-gp", "ct-gan", "gan"] {
        let mut c = small(name);
        c.hidden = 32;
        let a = run(GanState::new(&c, &cpu), &c, 2);
        let b = run(GanState::new(&c, &gpu), &c, 2);
        let (pa, pb) = (all_params(&a), all_params(&b));
        assert_eq!(pa.len(), pb.len());
        let mut worst = 0f64;
        for ((nx, x), (ny, y)) in pa.iter().zip(&pb) {
            assert_eq!(nx, ny);
            for (u, v) in x.iter().zip(y) {
                worst = worst.max((u - v).abs() / (1e-3 + u.abs()));
            }
        }
        println!("{name}: worst relative parameter difference {worst:.2e}");
        // Measured on lavapipe: 1.7e-6 (wgan-gp), 3.7e-6 (ct-gan), 2.3e-6 (gan) after two
        // steps. Both sides run float32 and differ only in summation order, whose error is a few
        // ulps per reduction; 5e-5 leaves a margin of ten over the worst while any wrong op
        // (a transposed weight, a dropped penalty term) moves parameters by 1e-3 or more.
        assert!(worst < 5e-5, "{name}: wgpu and Flex differ by {worst}");
        // The step moved the parameters well beyond that tolerance.
        let init = all_params(&GanState::new(&c, &cpu));
        let moved = init
            .iter()
            .zip(&pa)
            .flat_map(|((_, x), (_, y))| x.iter().zip(y).map(|(u, v)| (u - v).abs()))
            .fold(0f64, f64::max);
        assert!(moved > 1e-5);
    }
}

/// The text ops' default bodies (ordinary burn ops, what wgpu and WebGPU run) against the fused
/// Flex kernels, through the whole pointer-generator: the same teacher-forced loss and the same
/// gradients for every parameter, within float32 tolerance.
#[test]
fn pointer_generator_loss_and_gradients_on_wgpu_match_flex() {
    use burn::module::Module;
    use earthmover::optim::gradients;
    use earthmover::summarize::batch::{Batch, Example};
    use earthmover::summarize::train::trainable;
    use earthmover::summarize::vocab::Vocab;
    use earthmover::summarize::{ModelConfig, PointerGenerator};

    let gpu = gpu();
    let words = |s: &str| s.split(' ').map(str::to_string).collect::<Vec<_>>();
    let vocab = Vocab::build("the cat sat on mat a dog ran to the cat".split(' '), 10).unwrap();
    let (a1, s1, a2, s2) = (
        words("zorro the cat sat on zorro mat the cat"),
        words("zorro sat on the mat"),
        words("a dog ran to qux"),
        words("dog ran qux"),
    );
    let ex = |a: &[String], s: &[String]| {
        Example::new(
            &a.iter().map(String::as_str).collect::<Vec<_>>(),
            &s.iter().map(String::as_str).collect::<Vec<_>>(),
            &vocab,
            400,
            100,
        )
    };
    let batch = Batch::new(&[ex(&a1, &s1), ex(&a2, &s2)], vocab.len()); // the second row is padded
    let config = ModelConfig {
        vocab_size: vocab.len(),
        emb: 8,
        hidden: 6,
        pointer: true,
        coverage: true,
        init_uniform: 0.3,
        init_std: 0.3,
    };
    let on = |device: &Device| {
        let m = trainable(PointerGenerator::init(&config, 3, &Device::flex()).to_device(device));
        let loss = m.loss(&batch, 1.0);
        let value = loss.total.clone().into_data().convert::<f32>().try_to_vec::<f32>().unwrap()[0];
        let grads: Vec<(String, Vec<f64>)> =
            earthmover::nn::grad_values(&m, &gradients(&loss.total, &m))
                .into_iter()
                // Every parameter takes part in the loss: a missing gradient is a failure, not
                // an empty one that would compare equal to another device's missing gradient.
                .map(|(n, g)| {
                    let g = g.unwrap_or_else(|| panic!("{n}: no gradient on {device:?}"));
                    (n, g)
                })
                .collect();
        (value, grads)
    };
    let (l_cpu, g_cpu) = on(&Device::flex());
    let (l_gpu, g_gpu) = on(&gpu);
    println!("loss: Flex {l_cpu}, wgpu {l_gpu}");
    assert!(
        (l_cpu - l_gpu).abs() < 1e-4 * l_cpu.abs().max(1.0),
        "loss: Flex {l_cpu}, wgpu {l_gpu}"
    );
    assert_eq!(g_cpu.len(), 27);
    for ((name, a), (name_gpu, b)) in g_cpu.iter().zip(&g_gpu) {
        assert_eq!(name, name_gpu);
        assert_eq!(a.len(), b.len(), "{name}: a gradient on one device only");
        let scale = a.iter().fold(0f64, |m, x| m.max(x.abs())).max(1e-6);
        let worst = a.iter().zip(b).fold(0f64, |m, (x, y)| m.max((x - y).abs())) / scale;
        assert!(worst < 1e-3, "{name}: gradients differ by {worst} of their largest entry");
    }
}

/// The summarizer on wgpu as `summarize train|run --device wgpu` runs it, from the committed
/// default model on real CNN/DailyMail pairs:
/// - one training step (its own Adagrad, See et al.'s settings, gradient clip) moves every
///   parameter by the same update as on Flex. Tolerance: the two updates differ by less than
///   0.1% of the update's size, per tensor (measured on lavapipe: 1.0e-5). Both run float32, but wgpu sums in
///   a different order (tiled matmuls, tree reductions), so the gradients differ in about the
///   sixth significant digit, and Adagrad's `g / √(acc + g²)` passes that on at the same size;
///   a wrong op (a transposed weight, a missed mask) moves whole tensors by 100%.
/// - a greedy summary of a validation article is the same tokens on both devices.
#[test]
fn summarizer_step_and_greedy_summary_on_wgpu_match_flex() {
    use burn::module::Module;
    use earthmover::nn::param_values;
    use earthmover::summarize::batch::{Batch, Example};
    use earthmover::summarize::block_on;
    use earthmover::summarize::decode::summarize;
    use earthmover::summarize::store;
    use earthmover::summarize::train::{TrainState, frozen, train_step};
    use earthmover::text::data::read_parallel;

    let gpu = gpu();
    let cpu = Device::flex();
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/public/models/pointer-generator.safetensors"
    ))
    .unwrap();
    let loaded = store::load(&bytes, &cpu).unwrap();
    let (vocab, mut config) = (loaded.vocab.clone(), loaded.config.clone());
    config.train.optimizer = earthmover::summarize::OptimizerKind::Adagrad;
    config.train.lr = 0.15;
    let val = read_parallel(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/cnndm/val")),
        Some(4),
    )
    .unwrap();
    let split = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    let pairs: Vec<(Vec<String>, Vec<String>)> = val
        .pairs
        .iter()
        .map(|p| (split(&p.article), split(&p.summary.replace("<q>", " "))))
        .collect();
    let examples: Vec<Example> = pairs
        .iter()
        .map(|(a, s)| {
            Example::new(
                &a.iter().map(String::as_str).collect::<Vec<_>>(),
                &s.iter().map(String::as_str).collect::<Vec<_>>(),
                &vocab,
                config.train.max_enc,
                config.train.max_dec,
            )
        })
        .collect();
    let batch = Batch::new(&examples, vocab.len());

    // The step runs with coverage on (See et al.'s full loss), so that every weight, w_c
    // included, gets a gradient: the default model was trained without it.
    let mut full = loaded.model.clone();
    full.config.coverage = true;
    config.model.coverage = true;
    let before = param_values(&full);
    let step = |device: &Device| {
        let state = TrainState::from_model(full.clone().to_device(device), &config);
        param_values(&train_step(state, &batch, &config).0.model)
    };
    let (on_cpu, on_gpu) = (step(&cpu), step(&gpu));
    let mut worst = (0f64, String::new());
    for (((name, b), (_, c)), (_, g)) in before.iter().zip(&on_cpu).zip(&on_gpu) {
        let (mut diff, mut size) = (0f64, 0f64);
        for ((b, c), g) in b.iter().zip(c).zip(g) {
            diff += (c - g).powi(2);
            size += (c - b).powi(2);
        }
        assert!(size > 0.0, "{name}: the Flex step did not move it");
        let rel = (diff / size).sqrt();
        if rel > worst.0 {
            worst = (rel, name.clone());
        }
    }
    println!(
        "one Adagrad step: worst per-tensor update difference wgpu vs Flex {:.2e} ({})",
        worst.0, worst.1
    );
    assert!(
        worst.0 < 1e-3,
        "wgpu's training step differs from Flex's by {:.2e} of the update in {}",
        worst.0,
        worst.1
    );

    config.decode.greedy = true;
    let article = &pairs[0].0;
    let decode = |device: &Device| {
        block_on(summarize(
            &frozen(&loaded.model.clone().to_device(device)),
            &vocab,
            article,
            config.train.max_enc,
            &config.decode,
        ))
        .unwrap()
        .tokens
    };
    let (a, b) = (decode(&cpu), decode(&gpu));
    println!("greedy summary ({} tokens): {}", a.len(), a.join(" "));
    assert!(a.len() >= config.decode.min_len.min(5), "the summary is too short to compare: {a:?}");
    assert_eq!(a, b, "greedy summaries differ between Flex and wgpu");
}
