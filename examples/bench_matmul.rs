//! The matrix multiply that dominates the GAN benchmark (76% of its CPU samples are in
//! `gemm_f32`'s microkernel): a `[256, 512] · [512, 512]` product (one hidden layer on a batch)
//! the input-gradient product `[256, 512] · [512, 512]ᵀ` and the weight-gradient product
//! `[256, 512]ᵀ · [256, 512]` (transposed views, as autodiff's matmul backward forms them), on Flex. `bench/run.sh` runs it
//! next to `bench/matmul.py` (PyTorch) and reports GFLOP/s for both.

use burn::tensor::{Device, Distribution, Tensor};
use std::time::Instant;

fn gflops(a: &Tensor<2>, b: &Tensor<2>, reps: usize) -> f64 {
    let [m, k] = a.dims();
    let n = b.dims()[1];
    for _ in 0..3 {
        let _ = a.clone().matmul(b.clone()).into_data();
    }
    let t0 = Instant::now();
    for _ in 0..reps {
        let _ = a.clone().matmul(b.clone()).into_data();
    }
    2.0 * (m * n * k * reps) as f64 / t0.elapsed().as_secs_f64() / 1e9
}

fn main() {
    earthmover::heap::keep_freed_memory(); // as the CLI does
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|s| s.parse().ok()).collect();
    let reps = args.first().copied().unwrap_or(200);
    // Optional shape: `REPS M K N` times [M, K]·[K, N] and its two gradient products.
    let (m, k, n) = (
        args.get(1).copied().unwrap_or(256),
        args.get(2).copied().unwrap_or(512),
        args.get(3).copied().unwrap_or(512),
    );
    let device = Device::flex();
    let x = Tensor::<2>::random([m, k], Distribution::Normal(0.0, 1.0), &device);
    let w = Tensor::<2>::random([k, n], Distribution::Normal(0.0, 1.0), &device);
    let forward = gflops(&x, &w, reps);
    let out = x.clone().matmul(w.clone());
    let input_grad = gflops(&out, &w.transpose(), reps);
    let weight_grad = gflops(&x.transpose(), &out, reps);
    println!(
        "{{\"impl\": \"earthmover-flex\", \"forward_gflops\": {forward:.2}, \"input_grad_gflops\": {input_grad:.2}, \"weight_grad_gflops\": {weight_grad:.2}}}"
    );
}
