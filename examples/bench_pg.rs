//! earthmover's side of the pointer-generator benchmark: seconds per training step and
//! tokens per second on Flex for the same random batch shape as `bench/pointer_generator.py`,
//! and the latency of a beam-4 summary of a 400-token article.
//!
//! `cargo run --release --example bench_pg -- [vocab emb hidden batch enc dec steps]`
//!
//! `EARTHMOVER_DEVICE=wgpu` (or vulkan, cuda, auto) runs it on a GPU instead of Flex, as
//! `--device` does in the CLI; the line names the adapter.

use std::time::Instant;

use burn::tensor::Device;
use earthmover::rng::Rng;
use earthmover::summarize::batch::Batch;
use earthmover::summarize::decode::summarize;
use earthmover::summarize::train::{TrainState, frozen, train_step};
use earthmover::summarize::vocab::Vocab;
use earthmover::summarize::{SummarizerConfig, block_on};

fn main() {
    earthmover::heap::keep_freed_memory(); // as the CLI does
    let a: Vec<usize> = std::env::args().skip(1).filter_map(|s| s.parse().ok()).collect();
    let arg = |i: usize, d: usize| a.get(i).copied().unwrap_or(d);
    let (vocab, emb, hidden, b, t, j, steps) =
        (arg(0, 50_000), arg(1, 128), arg(2, 256), arg(3, 16), arg(4, 400), arg(5, 100), arg(6, 5));
    let mut config = SummarizerConfig::default();
    config.model.vocab_size = vocab;
    config.model.emb = emb;
    config.model.hidden = hidden;
    let choice = match std::env::var("EARTHMOVER_DEVICE") {
        Ok(name) => name.parse().expect("EARTHMOVER_DEVICE: auto, vulkan, wgpu, cuda or cpu"),
        Err(_) => earthmover::device::DeviceChoice::Cpu,
    };
    let started = earthmover::device::native(choice).expect("the device starts");
    let (backend, adapter) = (started.backend.to_string(), started.adapter.clone());
    let device: Device = started.device;
    // The same batch layout as the PyTorch script: random ids, full lengths, every fifth
    // target also copyable from position 0.
    let mut rng = Rng::new(0);
    let mut id = || (4 + rng.below(vocab - 4)) as i64;
    let enc: Vec<i64> = (0..b * t).map(|_| id()).collect();
    let dec_in: Vec<i64> = (0..b * j).map(|_| id()).collect();
    let target: Vec<i64> = (0..b * j).map(|_| id()).collect();
    let mut copy_mask = vec![0f32; b * j * t];
    for n in 0..b {
        for k in (0..j).step_by(5) {
            copy_mask[(n * j + k) * t] = 1.0;
        }
    }
    let batch = Batch {
        size: b,
        enc_len: t,
        dec_len: j,
        enc,
        enc_mask: vec![1.0; b * t],
        dec_in,
        target_vocab: target,
        target_in_vocab: vec![1.0; b * j],
        copy_mask,
        dec_mask: vec![1.0; b * j],
        dec_lens: vec![j; b],
        max_oovs: 0,
    };
    let mut state = TrainState::new(&config, &device);
    let step = |s: TrainState| {
        let (s, r) = train_step(s, &batch, &config);
        let _ = r.values().expect("read"); // one read per step, as the CLI does
        s
    };
    state = step(state); // warm-up
    let t0 = Instant::now();
    for _ in 0..steps {
        state = step(state);
    }
    let per_step = t0.elapsed().as_secs_f64() / steps as f64;
    // Latency: a 400-token article, beam 4, 35–100 tokens.
    let words: Vec<String> = (0..vocab - 4).map(|i| format!("w{i}")).collect();
    let vocab_table = Vocab::build(words.iter().map(String::as_str), vocab).expect("vocabulary");
    let small = config.clone();
    let model = frozen(&state.model);
    let article: Vec<String> = (0..400).map(|i| words[(i * 7) % words.len()].clone()).collect();
    let t1 = Instant::now();
    let s =
        block_on(summarize(&model, &vocab_table, &article, 400, &small.decode)).expect("decodes");
    let latency = t1.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({ "impl": "earthmover", "backend": backend, "adapter": adapter, "seconds_per_step": per_step, "tokens_per_sec": (b * (t + j)) as f64 / per_step,
            "latency_beam4_400_tokens_s": latency, "summary_tokens": s.tokens.len(),
            "config": { "vocab": vocab, "emb": emb, "hidden": hidden, "batch": b, "enc": t, "dec": j } })
    );
}
