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

/// One full training step on the wgpu backend (Vulkan; lavapipe in CI) from the same start as
/// on Flex lands on the same parameters within float tolerance.
#[test]
fn wgpu_step_matches_flex() {
    let (gpu, backend) = match earthmover::device::native(earthmover::device::DeviceChoice::Wgpu) {
        Ok(d) => d,
        Err(e) => panic!("no Vulkan device ({e}); install mesa-vulkan-drivers (scripts/setup.sh does)"),
    };
    println!("wgpu backend: {backend}");
    let cpu = Device::flex();
    for name in ["wgan-gp", "ct-gan", "gan"] {
        let mut c = small(name);
        c.hidden = 32;
        let a = run(GanState::new(&c, &cpu), &c, 2);
        let b = run(GanState::new(&c, &gpu), &c, 2);
        let (pa, pb) = (all_params(&a), all_params(&b));
        let mut worst = 0f32;
        for (x, y) in pa.iter().zip(&pb) {
            for (u, v) in x.iter().zip(y) {
                worst = worst.max((u - v).abs() / (1e-3 + u.abs()));
            }
        }
        println!("{name}: worst relative parameter difference {worst:.2e}");
        assert!(worst < 1e-2, "{name}: wgpu and Flex differ by {worst}");
        // The step moved the parameters well beyond that tolerance.
        let init = all_params(&GanState::new(&c, &cpu));
        let moved = init.iter().zip(&pa).flat_map(|(x, y)| x.iter().zip(y).map(|(u, v)| (u - v).abs())).fold(0f32, f32::max);
        assert!(moved > 1e-5);
    }
}
