//! What a viewer of a training run sees at one moment: generated and real points, the
//! critic's values on a grid, the gradient the critic hands each generated point, and the
//! ground-truth metrics. Shared by the page (read asynchronously) and the tests.

use burn::tensor::Tensor;

use super::config::GanConfig;
use super::metrics::{ModeStats, mode_stats};
use super::train::{GanState, tensor2};
use crate::nn::StepError;
use crate::rng::Rng;
use crate::transport::{exact_w1, pairs};

/// The square [−extent, extent]² that the lab draws.
pub const EXTENT: f64 = 2.5;
const STREAM_VIEW: u64 = 200;

#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub step: u64,
    pub fake: Vec<[f64; 2]>,
    pub real: Vec<[f64; 2]>,
    /// Critic values on a `grid × grid` lattice, row-major from the top-left corner.
    pub grid: Vec<f32>,
    pub grid_size: usize,
    /// ∇ₓ f at each generated point (the direction the generator is pushed).
    pub arrows: Vec<[f64; 2]>,
    /// Exact W1 between the generated and real points shown.
    pub w1: f64,
    pub modes: Option<ModeStats>,
}

/// Lattice points of the grid, row-major from the top-left corner.
pub fn grid_points(size: usize) -> Vec<f32> {
    let at = |k: usize| 2.0 * EXTENT * (k as f64 + 0.5) / size as f64;
    let point = |k: usize| [(-EXTENT + at(k % size)) as f32, (EXTENT - at(k / size)) as f32];
    (0..size * size).flat_map(point).collect()
}

/// Exact W1 and mode statistics of generated points against fresh real points.
pub fn score(config: &GanConfig, fake: &[[f64; 2]], real: &[[f64; 2]]) -> (f64, Option<ModeStats>) {
    (exact_w1(fake, real), config.data.modes().map(|m| mode_stats(fake, &m)))
}

async fn read(t: Tensor<2>) -> Result<Vec<f32>, StepError> {
    fn failed(e: impl std::fmt::Debug) -> StepError {
        StepError::Read { what: "lab's view", detail: format!("{e:?}") }
    }
    t.into_data_async().await.map_err(failed)?.try_to_vec::<f32>().map_err(failed)
}

/// Everything the lab draws, read back from the device asynchronously (one read per tensor).
pub async fn snapshot(
    state: &GanState,
    config: &GanConfig,
    n: usize,
    grid_size: usize,
) -> Result<Snapshot, StepError> {
    let mut rng = Rng::stream(config.seed, STREAM_VIEW, state.step);
    let fake_t = state.generate(n, &mut rng, config.noise_dim);
    let real = pairs(&config.data.sample(n, &mut rng));
    let arrows_t = state.critic_gradient(fake_t.clone());
    let grid_t = state.critic_values(
        tensor2(grid_points(grid_size), grid_size * grid_size, 2, &state.device),
        fake_t.clone(),
    );
    let fake = pairs(&read(fake_t).await?);
    let arrows = pairs(&read(arrows_t).await?);
    let grid = read(grid_t).await?;
    let (w1, modes) = score(config, &fake, &real);
    Ok(Snapshot { step: state.step, fake, real, grid, grid_size, arrows, w1, modes })
}
