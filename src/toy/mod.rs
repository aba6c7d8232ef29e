//! Two-dimensional toy distributions.
//!
//! The first three follow the WGAN-GP paper's toy code (`gan_toy.py`, Gulrajani et al. 2017)
//! exactly; the rest are extra shapes for the lab, and `Drawn` holds points a person draws.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::rng::Rng;

/// A named toy distribution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Toy {
    /// Centres on a circle of radius 2, σ 0.02, the whole set divided by 1.414.
    #[serde(rename = "8gaussians")]
    EightGaussians,
    /// A grid {−4, −2, 0, 2, 4}², σ 0.05, divided by 2.828.
    #[serde(rename = "25gaussians")]
    TwentyFiveGaussians,
    /// scikit-learn's `make_swiss_roll` with noise 0.25, the x and z columns, divided by 7.5.
    #[serde(rename = "swissroll")]
    SwissRoll,
    /// A thin ring of radius 1 (radial σ 0.05): one connected mode with a hole.
    #[serde(rename = "ring")]
    Ring,
    /// Two disjoint blobs at (±1, 0), σ 0.1.
    #[serde(rename = "blobs")]
    TwoBlobs,
    /// A segment from (−1, −0.5) to (1, 0.5): a distribution on a low-dimensional manifold.
    #[serde(rename = "line")]
    Line,
}

impl Toy {
    pub const ALL: [Toy; 6] = [
        Toy::EightGaussians,
        Toy::TwentyFiveGaussians,
        Toy::SwissRoll,
        Toy::Ring,
        Toy::TwoBlobs,
        Toy::Line,
    ];

    /// The names used on the command line, in configs and in the page, in [`Toy::ALL`]'s order.
    const NAMES: [&'static str; 6] =
        ["8gaussians", "25gaussians", "swissroll", "ring", "blobs", "line"];
    const LABELS: [&'static str; 6] =
        ["8 Gaussians", "25 Gaussians", "Swiss roll", "Ring", "Two blobs", "Line"];

    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    pub fn label(self) -> &'static str {
        Self::LABELS[self as usize]
    }

    /// The mixture's modes (centres and σ, in the final scaled coordinates), if it is a mixture.
    pub fn modes(self) -> Option<Modes> {
        match self {
            Toy::EightGaussians => {
                let s = std::f64::consts::FRAC_1_SQRT_2;
                let axes = [(1.0, 0.0), (-1.0, 0.0), (0.0, 1.0), (0.0, -1.0)];
                let diagonals = [(s, s), (s, -s), (-s, s), (-s, -s)];
                let centres = axes.iter().chain(&diagonals);
                Some(Modes {
                    centres: centres.map(|&(x, y)| [2.0 * x / 1.414, 2.0 * y / 1.414]).collect(),
                    sigma: 0.02 / 1.414,
                })
            }
            Toy::TwentyFiveGaussians => {
                let grid = |i: i32| {
                    (-2..=2).map(move |j| [2.0 * i as f64 / 2.828, 2.0 * j as f64 / 2.828])
                };
                Some(Modes { centres: (-2..=2).flat_map(grid).collect(), sigma: 0.05 / 2.828 })
            }
            Toy::TwoBlobs => Some(Modes { centres: vec![[-1.0, 0.0], [1.0, 0.0]], sigma: 0.1 }),
            Toy::SwissRoll | Toy::Ring | Toy::Line => None,
        }
    }

    /// One point.
    fn draw(self, rng: &mut Rng) -> [f64; 2] {
        match self {
            Toy::EightGaussians | Toy::TwentyFiveGaussians | Toy::TwoBlobs => {
                let m = self.modes().expect("modes() is Some for every mixture");
                let c = m.centres[rng.below(m.centres.len())];
                [c[0] + m.sigma * rng.normal(), c[1] + m.sigma * rng.normal()]
            }
            Toy::SwissRoll => {
                // sklearn.datasets.make_swiss_roll: t = 1.5π(1 + 2u); (t cos t, 21v, t sin t) + 0.25·N(0, I).
                let t = 1.5 * std::f64::consts::PI * (1.0 + 2.0 * rng.uniform());
                let _y = 21.0 * rng.uniform();
                let x = t * t.cos() + 0.25 * rng.normal();
                let _ny = rng.normal();
                let z = t * t.sin() + 0.25 * rng.normal();
                [x / 7.5, z / 7.5]
            }
            Toy::Ring => {
                let a = std::f64::consts::TAU * rng.uniform();
                let r = 1.0 + 0.05 * rng.normal();
                [r * a.cos(), r * a.sin()]
            }
            Toy::Line => {
                let u = 2.0 * rng.uniform() - 1.0;
                [u, 0.5 * u]
            }
        }
    }
}

impl fmt::Display for Toy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error for an unknown data name; it lists the names that exist.
#[derive(Debug, thiserror::Error)]
#[error(
    "unknown data set '{0}': choose one of 8gaussians, 25gaussians, swissroll, ring, blobs, line"
)]
pub struct UnknownToy(pub String);

impl FromStr for Toy {
    type Err = UnknownToy;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Toy::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownToy(s.to_string()))
    }
}

/// The centres and common σ of a Gaussian mixture.
#[derive(Clone, Debug, PartialEq)]
pub struct Modes {
    pub centres: Vec<[f64; 2]>,
    pub sigma: f64,
}

/// Where real samples come from: a named toy, or points a person drew on the canvas.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Source {
    Toy(Toy),
    /// Drawn points; samples are drawn uniformly from them with a small jitter (σ = 0.02).
    Drawn(Vec<[f32; 2]>),
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SourceError {
    #[error("draw at least one point on the canvas before training on drawn data")]
    NoDrawnPoints,
    #[error("a drawn point is not a finite number")]
    NonFinite,
}

impl Source {
    pub const DRAWN_JITTER: f64 = 0.02;

    pub fn validate(&self) -> Result<(), SourceError> {
        match self {
            Source::Toy(_) => Ok(()),
            Source::Drawn(p) if p.is_empty() => Err(SourceError::NoDrawnPoints),
            Source::Drawn(p) if p.iter().flatten().any(|v| !v.is_finite()) => {
                Err(SourceError::NonFinite)
            }
            Source::Drawn(_) => Ok(()),
        }
    }

    pub fn modes(&self) -> Option<Modes> {
        match self {
            Source::Toy(t) => t.modes(),
            Source::Drawn(_) => None,
        }
    }

    /// `n` points as a flat row-major `[n, 2]` buffer. An empty drawing yields the origin.
    pub fn sample(&self, n: usize, rng: &mut Rng) -> Vec<f32> {
        let mut draw = || match self {
            Source::Toy(t) => t.draw(rng),
            Source::Drawn(pts) if pts.is_empty() => [0.0, 0.0],
            Source::Drawn(pts) => {
                let q = pts[rng.below(pts.len())];
                q.map(|v| v as f64 + Self::DRAWN_JITTER * rng.normal())
            }
        };
        (0..n).flat_map(|_| draw().map(|v| v as f32)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(src: &Source, n: usize) -> Vec<[f64; 2]> {
        crate::transport::pairs(&src.sample(n, &mut Rng::new(3)))
    }

    /// Every mixture sample is near one of the paper's centres, each centre gets its share,
    /// and the spread around a centre is the paper's σ (divided by the paper's scale).
    fn check_mixture(toy: Toy, centres_unscaled: &[[f64; 2]], sigma_unscaled: f64, scale: f64) {
        let m = toy.modes().unwrap();
        assert_eq!(m.centres.len(), centres_unscaled.len());
        for (c, u) in m.centres.iter().zip(centres_unscaled) {
            assert!((c[0] - u[0] / scale).abs() < 1e-12 && (c[1] - u[1] / scale).abs() < 1e-12);
        }
        assert!((m.sigma - sigma_unscaled / scale).abs() < 1e-15);
        let n = 50_000;
        let pts = points(&Source::Toy(toy), n);
        let mut counts = vec![0usize; m.centres.len()];
        let mut sq = 0.0;
        for p in &pts {
            let (k, d2) = m
                .centres
                .iter()
                .enumerate()
                .map(|(k, c)| (k, (p[0] - c[0]).powi(2) + (p[1] - c[1]).powi(2)))
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .unwrap();
            counts[k] += 1;
            sq += d2;
        }
        let expected = n as f64 / m.centres.len() as f64;
        for c in counts {
            assert!(
                (c as f64 - expected).abs() < 5.0 * expected.sqrt(),
                "{toy}: count {c} vs {expected}"
            );
        }
        // E‖x − c‖² = 2σ² for an isotropic 2-D Gaussian.
        let sigma_hat = (sq / n as f64 / 2.0).sqrt();
        assert!((sigma_hat / m.sigma - 1.0).abs() < 0.02, "{toy}: σ̂ {sigma_hat} vs {}", m.sigma);
    }

    #[test]
    fn eight_gaussians_match_the_paper() {
        let s = std::f64::consts::FRAC_1_SQRT_2;
        let c: Vec<[f64; 2]> =
            [(1., 0.), (-1., 0.), (0., 1.), (0., -1.), (s, s), (s, -s), (-s, s), (-s, -s)]
                .iter()
                .map(|&(x, y)| [2.0 * x, 2.0 * y])
                .collect();
        check_mixture(Toy::EightGaussians, &c, 0.02, 1.414);
        // Radius 2 / 1.414 after scaling.
        for c in Toy::EightGaussians.modes().unwrap().centres {
            assert!(((c[0].hypot(c[1])) - 2.0 / 1.414).abs() < 1e-12);
        }
    }

    #[test]
    fn twenty_five_gaussians_match_the_paper() {
        let axis = [-4.0, -2.0, 0.0, 2.0, 4.0];
        let c: Vec<[f64; 2]> = axis.iter().flat_map(|&i| axis.map(|j| [i, j])).collect();
        check_mixture(Toy::TwentyFiveGaussians, &c, 0.05, 2.828);
    }

    #[test]
    fn swiss_roll_matches_sklearn_recipe() {
        // Noise-free, a point at parameter t sits at radius t/7.5 with t in [1.5π, 4.5π];
        // with noise 0.25 (÷7.5) the radius stays within a few noise σ of that band.
        let pts = points(&Source::Toy(Toy::SwissRoll), 20_000);
        let (lo, hi) = (1.5 * std::f64::consts::PI / 7.5, 4.5 * std::f64::consts::PI / 7.5);
        let slack = 5.0 * 0.25 * std::f64::consts::SQRT_2 / 7.5;
        let mut radii: Vec<f64> = pts.iter().map(|p| p[0].hypot(p[1])).collect();
        assert!(radii.iter().all(|&r| r > lo - slack && r < hi + slack));
        radii.sort_by(f64::total_cmp);
        // t is uniform on [1.5π, 4.5π], so the median radius is 3π/7.5 (noise shifts it little).
        let median = radii[radii.len() / 2];
        assert!((median - 3.0 * std::f64::consts::PI / 7.5).abs() < 0.02, "median {median}");
    }

    #[test]
    fn sampling_is_reproducible() {
        let s = Source::Toy(Toy::TwentyFiveGaussians);
        assert_eq!(s.sample(10, &mut Rng::new(9)), s.sample(10, &mut Rng::new(9)));
        assert_ne!(s.sample(10, &mut Rng::new(9)), s.sample(10, &mut Rng::new(10)));
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for t in Toy::ALL {
            assert_eq!(t.name().parse::<Toy>().unwrap(), t);
        }
        let err = "9gaussians".parse::<Toy>().unwrap_err().to_string();
        assert!(err.contains("9gaussians") && err.contains("8gaussians"), "{err}");
    }

    #[test]
    fn drawn_points_are_validated_and_sampled_near_the_drawing() {
        assert_eq!(Source::Drawn(vec![]).validate(), Err(SourceError::NoDrawnPoints));
        assert_eq!(Source::Drawn(vec![[f32::NAN, 0.0]]).validate(), Err(SourceError::NonFinite));
        let s = Source::Drawn(vec![[0.5, 0.5]]);
        let pts = points(&s, 1000);
        assert!(pts.iter().all(|p| (p[0] - 0.5).hypot(p[1] - 0.5) < 0.2));
    }
}
