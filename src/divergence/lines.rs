//! Arjovsky et al.'s Example 1 (seeds 000, 002, 003, 004): `P₀ = (0, U[0,1])` and
//! `P_θ = (θ, U[0,1])`. For θ ≠ 0 the supports are disjoint, so both KLs are +∞ and JS is
//! stuck at log 2: a generator moving θ gets no gradient from them. W = |θ| gives it sign(θ).

use std::f64::consts::LN_2;

use crate::gan::train::RealData;
use crate::rng::Rng;

/// The four divergences between `P₀` and `P_θ`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Divergences {
    /// KL(P₀‖P_θ)
    pub kl: f64,
    /// KL(P_θ‖P₀)
    pub kl_reverse: f64,
    pub js: f64,
    pub w: f64,
}

/// Closed forms: +∞, +∞, log 2 and |θ| for θ ≠ 0; all zero at θ = 0.
pub fn closed_form(theta: f64) -> Divergences {
    if theta == 0.0 {
        return Divergences { kl: 0.0, kl_reverse: 0.0, js: 0.0, w: 0.0 };
    }
    Divergences { kl: f64::INFINITY, kl_reverse: f64::INFINITY, js: LN_2, w: theta.abs() }
}

/// `d/dθ` of JS and of W away from θ = 0: 0 and sign(θ). At θ = 0 neither is
/// differentiable (JS jumps, W has a kink); we report 0 for both.
pub fn closed_gradient(theta: f64) -> (f64, f64) {
    if theta == 0.0 { (0.0, 0.0) } else { (0.0, theta.signum()) }
}

/// Samples of `(x, U[0,1])`: `P₀` with `x = 0`, `P_θ` with `x = θ`.
#[derive(Clone, Copy, Debug)]
pub struct Line {
    pub x: f64,
}

impl RealData for Line {
    fn dim(&self) -> usize {
        2
    }
    fn sample(&self, n: usize, rng: &mut Rng) -> Vec<f32> {
        (0..n).flat_map(|_| [self.x as f32, rng.uniform() as f32]).collect()
    }
}

/// Samples of N(μ, σ²) in one dimension.
#[derive(Clone, Copy, Debug)]
pub struct Normal1d(pub super::density::Gauss);

impl RealData for Normal1d {
    fn dim(&self) -> usize {
        1
    }
    fn sample(&self, n: usize, rng: &mut Rng) -> Vec<f32> {
        (0..n).map(|_| (self.0.mu + self.0.sigma * rng.normal()) as f32).collect()
    }
}
