//! A tiny, portable, seedable random number generator.
//!
//! Training must be reproducible bit for bit on every platform (native, wasm) and a resumed
//! run must draw exactly the numbers the uninterrupted run would have drawn. So instead of
//! carrying generator state around, every random draw comes from a stream keyed by
//! `(seed, stream, counter)`: a resumed run only needs the counters, which are saved with
//! the checkpoint.

/// SplitMix64 (Steele, Lea & Flood 2014): fast, tiny state, good enough for sampling.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self { state: seed ^ 0x9E37_79B9_7F4A_7C15 }
    }

    /// An independent stream for one purpose (`stream`) at one moment (`counter`).
    pub fn stream(seed: u64, stream: u64, counter: u64) -> Self {
        let a = Rng::new(seed).next_u64() ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
        let b = Rng::new(a).next_u64() ^ counter.wrapping_mul(0xABC9_8388_FB8F_AC03);
        Rng::new(b)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal, by Box–Muller (one draw per call keeps the state a single integer).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Uniform integer in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.uniform() * n as f64) as usize).min(n.saturating_sub(1))
    }

    /// An index drawn with probability proportional to `weights`; `None` when they hold no
    /// positive finite mass (negative, NaN and infinite weights count as zero).
    pub fn categorical(&mut self, weights: &[f32]) -> Option<usize> {
        let w = |p: f32| if p.is_finite() && p > 0.0 { p as f64 } else { 0.0 };
        let total: f64 = weights.iter().map(|&p| w(p)).sum();
        if total <= 0.0 || !total.is_finite() {
            return None;
        }
        let mut u = self.uniform() * total;
        let mut last = None;
        for (i, p) in weights.iter().map(|&p| w(p)).enumerate().filter(|&(_, p)| p > 0.0) {
            if u < p {
                return Some(i);
            }
            u -= p;
            last = Some(i);
        }
        last
    }

    /// `n` standard normals as f32, the usual noise input of a generator.
    pub fn normals_f32(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.normal() as f32).collect()
    }

    /// `n` uniforms in [0, 1) as f32.
    pub fn uniforms_f32(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.uniform() as f32).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categorical_matches_its_weights() {
        let mut rng = Rng::new(5);
        let weights = [0.0, 0.2, f32::NAN, 0.5, -1.0, 0.3];
        let mut counts = [0usize; 6];
        let n = 100_000;
        for _ in 0..n {
            counts[rng.categorical(&weights).unwrap()] += 1;
        }
        for (i, &p) in [0.0, 0.2, 0.0, 0.5, 0.0, 0.3].iter().enumerate() {
            let share = counts[i] as f64 / n as f64;
            // 5 standard errors of a binomial share at n = 100,000.
            assert!(
                (share - p).abs() < 5.0 * (p * (1.0 - p) / n as f64).sqrt() + 1e-9,
                "{i}: {share}"
            );
        }
        assert_eq!(rng.categorical(&[0.0, f32::NAN, -2.0]), None);
        assert_eq!(rng.categorical(&[]), None);
    }

    #[test]
    fn normal_has_unit_moments() {
        let mut r = Rng::new(7);
        let xs: Vec<f64> = (0..200_000).map(|_| r.normal()).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.01, "var {var}");
    }

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4).map(|_| Rng::stream(1, 2, 3).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(Rng::stream(1, 2, 3).next_u64(), Rng::stream(1, 2, 4).next_u64());
        assert_ne!(Rng::stream(1, 2, 3).next_u64(), Rng::stream(1, 3, 3).next_u64());
    }
}
