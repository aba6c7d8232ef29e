//! The optimal discriminator (seeds 002 and 003). For fixed densities `p_r` and `p_g`, the
//! discriminator maximising `V(D) = E_{p_r} log D + E_{p_g} log(1 − D)` is
//! `D* = p_r / (p_r + p_g)`, and then `V(D*) = −log 4 + 2·JS(p_r, p_g)`: at least `−2 log 2`,
//! reached exactly when `p_g = p_r` (where `D* = ½`), and at most 0 (disjoint supports).

use super::density::{Gauss, log_add_exp, simpson};

/// The global optimum of the value, `−2 log 2 = −log 4`.
pub const OPTIMUM: f64 = -2.0 * std::f64::consts::LN_2;

/// `D*(x)`, computed in log space so that it is exact where both densities underflow.
pub fn d_star(real: &Gauss, fake: &Gauss, x: f64) -> f64 {
    let (a, b) = (real.log_pdf(x), fake.log_pdf(x));
    (a - log_add_exp(a, b)).exp()
}

/// `V(D*) = E_{p_r} log D* + E_{p_g} log(1 − D*)`, by quadrature.
pub fn value(real: &Gauss, fake: &Gauss) -> f64 {
    let (lo, hi) = real.joint_support(fake);
    simpson(lo, hi, 40_000, |x| {
        let (a, b) = (real.log_pdf(x), fake.log_pdf(x));
        let m = log_add_exp(a, b);
        a.exp() * (a - m) + b.exp() * (b - m)
    })
}

/// `JS(p_r, p_g) = ½ KL(p_r‖m) + ½ KL(p_g‖m)` with `m = ½(p_r + p_g)`, by quadrature.
pub fn js(real: &Gauss, fake: &Gauss) -> f64 {
    let (lo, hi) = real.joint_support(fake);
    let half = 0.5f64.ln();
    let kl_to_mix = |p: &Gauss| {
        simpson(lo, hi, 40_000, |x| {
            let lm = log_add_exp(half + real.log_pdf(x), half + fake.log_pdf(x));
            let lp = p.log_pdf(x);
            lp.exp() * (lp - lm)
        })
    };
    0.5 * kl_to_mix(real) + 0.5 * kl_to_mix(fake)
}
