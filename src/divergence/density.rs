//! One-dimensional Gaussians, their mixtures, and the quadrature every 1-D panel integrates
//! with. Plain `f64`: these are references, not models.

use std::f64::consts::PI;

/// N(μ, σ²).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Gauss {
    pub mu: f64,
    pub sigma: f64,
}

impl Gauss {
    pub fn new(mu: f64, sigma: f64) -> Self {
        Gauss { mu, sigma }
    }

    pub fn log_pdf(&self, x: f64) -> f64 {
        let z = (x - self.mu) / self.sigma;
        -0.5 * z * z - self.sigma.ln() - 0.5 * (2.0 * PI).ln()
    }

    pub fn pdf(&self, x: f64) -> f64 {
        self.log_pdf(x).exp()
    }

    /// `(lo, hi)` holding all but ~1e-20 of the mass.
    pub fn support(&self) -> (f64, f64) {
        (self.mu - 10.0 * self.sigma, self.mu + 10.0 * self.sigma)
    }

    /// The smallest interval holding both supports.
    pub fn joint_support(&self, other: &Gauss) -> (f64, f64) {
        let (a, b) = (self.support(), other.support());
        (a.0.min(b.0), a.1.max(b.1))
    }

    /// Checks that μ is finite and σ positive and finite; the message names the problem.
    pub fn check(&self, what: &'static str) -> Result<(), DensityError> {
        if !self.mu.is_finite() || self.mu.abs() > 1e6 {
            return Err(DensityError::Mean(what));
        }
        if !(self.sigma.is_finite() && self.sigma > 1e-6 && self.sigma < 1e6) {
            return Err(DensityError::Deviation(what));
        }
        Ok(())
    }
}

/// A two-component mixture `(1 − w)·N(μ₀, σ₀²) + w·N(μ₁, σ₁²)`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Mixture {
    pub components: [Gauss; 2],
    /// Weight of the second component, in (0, 1).
    pub weight: f64,
}

impl Mixture {
    pub fn log_pdf(&self, x: f64) -> f64 {
        let a = (1.0 - self.weight).ln() + self.components[0].log_pdf(x);
        let b = self.weight.ln() + self.components[1].log_pdf(x);
        log_add_exp(a, b)
    }

    pub fn pdf(&self, x: f64) -> f64 {
        self.log_pdf(x).exp()
    }

    /// `d/dx log p(x)`.
    pub fn score(&self, x: f64) -> f64 {
        let lp = self.log_pdf(x);
        let part = |g: &Gauss, w: f64| w.ln() + g.log_pdf(x) - lp;
        let r0 = part(&self.components[0], 1.0 - self.weight).exp();
        let r1 = part(&self.components[1], self.weight).exp();
        let s = |g: &Gauss| -(x - g.mu) / (g.sigma * g.sigma);
        r0 * s(&self.components[0]) + r1 * s(&self.components[1])
    }

    pub fn mean(&self) -> f64 {
        (1.0 - self.weight) * self.components[0].mu + self.weight * self.components[1].mu
    }

    pub fn variance(&self) -> f64 {
        let m2 = |g: &Gauss| g.sigma * g.sigma + g.mu * g.mu;
        (1.0 - self.weight) * m2(&self.components[0]) + self.weight * m2(&self.components[1])
            - self.mean().powi(2)
    }

    pub fn support(&self) -> (f64, f64) {
        self.components[0].joint_support(&self.components[1])
    }

    pub fn check(&self) -> Result<(), DensityError> {
        self.components[0].check("first mode")?;
        self.components[1].check("second mode")?;
        if !(self.weight.is_finite() && self.weight > 0.0 && self.weight < 1.0) {
            return Err(DensityError::Weight);
        }
        Ok(())
    }
}

/// A density the closed forms cannot use; the message names the part.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum DensityError {
    #[error("{0}: the mean must be a number between −10⁶ and 10⁶")]
    Mean(&'static str),
    #[error("{0}: the standard deviation must be between 10⁻⁶ and 10⁶")]
    Deviation(&'static str),
    #[error("the mixture weight must be strictly between 0 and 1")]
    Weight,
}

/// `log(eᵃ + eᵇ)` without overflow.
pub fn log_add_exp(a: f64, b: f64) -> f64 {
    let m = a.max(b);
    if m == f64::NEG_INFINITY { m } else { m + ((a - m).exp() + (b - m).exp()).ln() }
}

/// Composite Simpson's rule for `∫ₗₒʰⁱ f` with `n` (even) intervals.
pub fn simpson(lo: f64, hi: f64, n: usize, f: impl Fn(f64) -> f64) -> f64 {
    let n = n.max(2) & !1;
    let h = (hi - lo) / n as f64;
    let mut sum = f(lo) + f(hi);
    for i in 1..n {
        sum += f(lo + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
    }
    sum * h / 3.0
}

/// `E_{t∼N(0,1)} g(t)`, by Simpson's rule on [−10, 10].
pub fn standard_normal_expectation(g: impl Fn(f64) -> f64) -> f64 {
    let n = Gauss::new(0.0, 1.0);
    simpson(-10.0, 10.0, 2000, |t| n.pdf(t) * g(t))
}
