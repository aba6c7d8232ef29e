//! earthmover's side of the GAN benchmark: generator iterations per second for the WGAN-GP
//! toy config (3×512 ReLU MLPs, batch 256, n_critic 5, λ 0.1, Adam 1e-4 β (0.5, 0.9)) on Flex.
//! `bench/run.sh` runs it next to `bench/wgan_gp_toy.py` and reports the ratio.

use burn::tensor::Device;
use earthmover::gan::train::RealData;
use earthmover::gan::{GanConfig, GanState, train_step};
use std::time::Instant;

fn main() {
    earthmover::heap::keep_freed_memory(); // as the CLI does
    let mut args = std::env::args().skip(1);
    let iters: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(30);
    let hidden: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(512);
    let device = Device::flex();
    let mut config = GanConfig::toy_default();
    config.hidden = hidden;
    let mut state = GanState::new(&config, &device);
    let step = |s: GanState| {
        let (s, r) = train_step(s, &config, &config.data as &dyn RealData);
        let _ = r.values().expect("read"); // one read per iteration, as the CLI does
        s
    };
    for _ in 0..3 {
        state = step(state);
    }
    let t0 = Instant::now();
    for _ in 0..iters {
        state = step(state);
    }
    let dt = t0.elapsed().as_secs_f64();
    println!(
        "{{\"impl\": \"earthmover-flex\", \"hidden\": {hidden}, \"iters\": {iters}, \"seconds\": {dt}, \"gen_iters_per_s\": {}}}",
        iters as f64 / dt
    );
}
