//! PNG plots drawn with plotters: samples over the critic's contour, and metrics over time.
//! (No text is drawn, so no font is needed on a bare machine; the README explains the colours.)

use std::path::Path;

use anyhow::{Result, anyhow};
use burn::tensor::{Tensor, TensorData};
use plotters::prelude::*;

use crate::gan::view::{EXTENT, grid_points};
use crate::gan::{GanConfig, GanState};
use crate::rng::Rng;
use crate::transport::pairs;

const GRID: usize = 120;

/// A diverging blue–white–red scale for critic values in [0, 1].
fn diverging(t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0);
    let lerp = |a: f64, b: f64, s: f64| (a + (b - a) * s).round() as u8;
    if t < 0.5 {
        let s = t / 0.5;
        RGBColor(lerp(49.0, 247.0, s), lerp(104.0, 247.0, s), lerp(176.0, 247.0, s))
    } else {
        let s = (t - 0.5) / 0.5;
        RGBColor(lerp(247.0, 203.0, s), lerp(247.0, 62.0, s), lerp(247.0, 44.0, s))
    }
}

/// The critic's values on a `GRID × GRID` lattice over [−EXTENT, EXTENT]², row-major from the
/// top; with minibatch discrimination each lattice point is scored against the batch `fake`.
pub fn critic_grid(state: &GanState, fake: &[[f64; 2]]) -> Result<Vec<f32>> {
    let t =
        Tensor::<2>::from_data(TensorData::new(grid_points(GRID), [GRID * GRID, 2]), &state.device);
    let flat: Vec<f32> = fake.iter().flat_map(|p| [p[0] as f32, p[1] as f32]).collect();
    let reference = Tensor::<2>::from_data(TensorData::new(flat, [fake.len(), 2]), &state.device);
    state
        .critic_values(t, reference)
        .into_data()
        .try_to_vec::<f32>()
        .map_err(|e| anyhow!("cannot read critic values: {e:?}"))
}

/// Real points (black), generated points (orange) over the critic's values (blue low, red high).
pub fn samples_png(
    path: &Path,
    state: &GanState,
    config: &GanConfig,
    fake: &[[f64; 2]],
) -> Result<()> {
    let values = critic_grid(state, fake)?;
    let (lo, hi) =
        values.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let span = (hi - lo).max(1e-12) as f64;
    let real = pairs(&config.data.sample(fake.len(), &mut Rng::new(config.seed ^ 0xFEED)));
    let root = BitMapBackend::new(path, (640, 640)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root).build_cartesian_2d(-EXTENT..EXTENT, -EXTENT..EXTENT)?;
    let cell = 2.0 * EXTENT / GRID as f64;
    chart.draw_series((0..GRID * GRID).map(|k| {
        let (r, c) = (k / GRID, k % GRID);
        let x0 = -EXTENT + c as f64 * cell;
        let y0 = EXTENT - (r + 1) as f64 * cell;
        let color = diverging((values[k] - lo) as f64 / span);
        Rectangle::new([(x0, y0), (x0 + cell, y0 + cell)], color.filled())
    }))?;
    chart.draw_series(real.iter().map(|p| Circle::new((p[0], p[1]), 2, BLACK.filled())))?;
    chart.draw_series(
        fake.iter().map(|p| Circle::new((p[0], p[1]), 2, RGBColor(255, 140, 0).filled())),
    )?;
    root.present()?;
    Ok(())
}

/// Exact W1 (blue) and, for mixtures, the share of modes covered (green) against steps.
pub fn metrics_png(path: &Path, history: &[(u64, f64, Option<usize>)]) -> Result<()> {
    let root = BitMapBackend::new(path, (800, 400)).into_drawing_area();
    root.fill(&WHITE)?;
    let last = history.last().map(|h| h.0).unwrap_or(1).max(1) as f64;
    let w_max = history.iter().map(|h| h.1).fold(1e-9, f64::max);
    let m_max = history.iter().filter_map(|h| h.2).max().unwrap_or(1).max(1) as f64;
    let mut chart = ChartBuilder::on(&root).margin(10).build_cartesian_2d(0.0..last, 0.0..1.05)?;
    chart.draw_series(LineSeries::new(
        history.iter().map(|h| (h.0 as f64, h.1 / w_max)),
        BLUE.stroke_width(2),
    ))?;
    chart.draw_series(LineSeries::new(
        history.iter().filter_map(|h| h.2.map(|m| (h.0 as f64, m as f64 / m_max))),
        GREEN.stroke_width(2),
    ))?;
    root.present()?;
    Ok(())
}
