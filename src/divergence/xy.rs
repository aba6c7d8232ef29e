//! The bilinear game `min_x max_y xy` (seed 003): the simplest game that gradient descent
//! cannot solve. Its only equilibrium is (0, 0).
//!
//! Simultaneous descent-ascent `x ← x − ηy, y ← y + ηx` multiplies the distance from the
//! equilibrium by exactly `√(1 + η²)` every step, so it spirals outward. Alternating updates
//! (`y` sees the new `x`) have determinant 1: they circle the equilibrium on a bounded orbit,
//! never reaching it.

/// How the two players move.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Update {
    Simultaneous,
    Alternating,
}

/// The most steps a trajectory may ask for.
pub const MAX_STEPS: usize = 100_000;

/// `(x, y)` after every step, starting with `start`; stops early if the numbers overflow.
pub fn trajectory(
    start: (f64, f64),
    eta: f64,
    steps: usize,
    update: Update,
) -> Result<Vec<(f64, f64)>, String> {
    if !eta.is_finite() || eta <= 0.0 {
        return Err(format!("the step size must be a positive number (got {eta})"));
    }
    if eta > 10.0 {
        return Err(format!("a step size of {eta} is too large to draw; use at most 10"));
    }
    if !(start.0.is_finite() && start.1.is_finite()) {
        return Err("the starting point must be finite".into());
    }
    if steps > MAX_STEPS {
        return Err(format!("at most {MAX_STEPS} steps"));
    }
    let mut out = vec![start];
    let (mut x, mut y) = start;
    for _ in 0..steps {
        match update {
            Update::Simultaneous => (x, y) = (x - eta * y, y + eta * x),
            Update::Alternating => {
                x -= eta * y;
                y += eta * x;
            }
        }
        if !(x.is_finite() && y.is_finite()) {
            break;
        }
        out.push((x, y));
    }
    Ok(out)
}

/// Distance from the equilibrium (0, 0).
pub fn radius(p: (f64, f64)) -> f64 {
    p.0.hypot(p.1)
}

/// The factor by which simultaneous updates grow the radius each step: `√(1 + η²)`.
pub fn growth_per_step(eta: f64) -> f64 {
    (1.0 + eta * eta).sqrt()
}
