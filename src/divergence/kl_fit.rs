//! Forward vs reverse KL (seed 001, §4.1): fit one Gaussian `q` to a two-mode target `p`.
//!
//! - `KL(p‖q)` punishes `q` for missing mass of `p`, so its minimiser spreads over both modes:
//!   it matches the mean and variance of `p` exactly (mean-seeking).
//! - `KL(q‖p)` punishes `q` for putting mass where `p` has none, so it settles on one mode
//!   (mode-seeking). With well-separated equal modes it hugs one of them and
//!   `KL(q‖p) → log 2`.

use super::density::{DensityError, Gauss, Mixture, simpson, standard_normal_expectation};

/// `KL(p‖q) = ∫ p log(p/q)`, by quadrature over the support of `p`.
pub fn kl_p_q(p: &Mixture, q: &Gauss) -> f64 {
    let (lo, hi) = p.support();
    simpson(lo, hi, 20_000, |x| {
        let lp = p.log_pdf(x);
        lp.exp() * (lp - q.log_pdf(x))
    })
}

/// `KL(q‖p) = E_q[log q − log p] = −½ log(2πe σ²) − E_q log p`.
pub fn kl_q_p(q: &Gauss, p: &Mixture) -> f64 {
    let neg_entropy =
        -0.5 * (2.0 * std::f64::consts::PI * std::f64::consts::E * q.sigma * q.sigma).ln();
    neg_entropy - standard_normal_expectation(|t| p.log_pdf(q.mu + q.sigma * t))
}

/// The minimiser of `KL(p‖q)` over Gaussians: moment matching.
pub fn forward_fit(p: &Mixture) -> Gauss {
    Gauss::new(p.mean(), p.variance().sqrt())
}

/// A local minimiser of `KL(q‖p)` by gradient descent on `(μ, log σ)` from `start`, with the
/// reparameterisation `x = μ + σt`:
/// `∂/∂μ = −E[s(x)]`, `∂/∂log σ = −1 − E[s(x)·σt]`, where `s = (log p)'`.
pub fn reverse_fit(p: &Mixture, start: Gauss) -> Gauss {
    let loss = |mu: f64, ls: f64| kl_q_p(&Gauss::new(mu, ls.exp()), p);
    let (mut mu, mut ls) = (start.mu, start.sigma.ln());
    let mut current = loss(mu, ls);
    // Natural-gradient steps (the Fisher metric of (μ, log σ) is diag(1/σ², 2)), with
    // backtracking; stop when no step improves.
    let mut step = 0.05;
    for _ in 0..500 {
        let sigma = ls.exp();
        let g_mu = -standard_normal_expectation(|t| p.score(mu + sigma * t));
        let g_ls = -1.0 - standard_normal_expectation(|t| p.score(mu + sigma * t) * sigma * t);
        if g_mu.abs() * sigma < 1e-12 && g_ls.abs() < 1e-12 {
            break;
        }
        let mut moved = false;
        for _ in 0..50 {
            let (m2, l2) = (mu - step * sigma * sigma * g_mu, ls - step * 0.5 * g_ls);
            let next = loss(m2, l2);
            if next < current {
                (mu, ls, current) = (m2, l2, next);
                step = (step * 2.0).min(1.0);
                moved = true;
                break;
            }
            step *= 0.5;
        }
        if !moved {
            break;
        }
    }
    Gauss::new(mu, ls.exp())
}

/// Both fits and all four divergences, for the page.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Fits {
    pub forward: Gauss,
    pub reverse: Gauss,
    /// `KL(p‖q_forward)`, the forward fit's own objective.
    pub forward_kl: f64,
    /// `KL(q_reverse‖p)`, the reverse fit's own objective.
    pub reverse_kl: f64,
    /// The cross terms: `KL(q_forward‖p)` and `KL(p‖q_reverse)`.
    pub forward_fit_reverse_kl: f64,
    pub reverse_fit_forward_kl: f64,
}

/// Fits both ways; the reverse fit starts as wide as the forward fit, centred on the heavier
/// mode (the second on ties), since KL(q‖p) has one local minimum per mode.
pub fn fit_both(p: &Mixture) -> Result<Fits, DensityError> {
    p.check()?;
    let forward = forward_fit(p);
    let heavier = if p.weight >= 0.5 { p.components[1] } else { p.components[0] };
    let start = Gauss::new(heavier.mu, forward.sigma);
    let reverse = reverse_fit(p, start);
    Ok(Fits {
        forward,
        reverse,
        forward_kl: kl_p_q(p, &forward),
        reverse_kl: kl_q_p(&reverse, p),
        forward_fit_reverse_kl: kl_q_p(&forward, p),
        reverse_fit_forward_kl: kl_p_q(p, &reverse),
    })
}
