//! Element-wise transcendental functions over slices, vectorised.
//!
//! Flex runs `tanh`, `sigmoid` and `exp` as scalar libm loops on one thread. These are written
//! branch-free (range reduction, a minimax polynomial and an exponent built from bits) so that
//! LLVM vectorises the loops: 8 lanes with AVX2 when the CPU has it (detected at run time), 4
//! with the SSE2 baseline, and WebAssembly's scalar or SIMD128 code in the browser. No fused
//! multiply-add is written, so every build computes the same bits.
//!
//! float64 (used by the gradient checks) goes through the standard library, to full precision.

use core::ops::{Add, AddAssign, Div, Mul, Neg, Sub};

/// f32 or f64, for kernels written once.
pub trait Real:
    bytemuck::Pod
    + burn::tensor::Element
    + Copy
    + Send
    + Sync
    + Default
    + PartialOrd
    + core::fmt::Debug
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
{
    const ZERO: Self;
    const ONE: Self;
    fn max(self, other: Self) -> Self;
    /// `x ← tanh(x)` for every element.
    fn tanh_slice(x: &mut [Self]);
    /// `x ← 1 / (1 + e^(−x))` for every element.
    fn sigmoid_slice(x: &mut [Self]);
    /// `x ← e^(x − shift)` for every element; returns their sum.
    fn exp_shift_sum(x: &mut [Self], shift: Self) -> Self;
}

const LOG2E: f32 = core::f32::consts::LOG2_E;
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// 1.5 · 2²³: adding it rounds to the nearest integer, which then sits in the low mantissa bits.
const ROUND_MAGIC: f32 = 12_582_912.0;

/// e^x for x in about [−87.3, 88.0] (clamped outside it), relative error ≈ 2 ulp: Cephes'
/// `expf` polynomial on x − n·ln 2, times 2ⁿ assembled in the exponent bits.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    let x = x.clamp(-87.3, 88.0);
    let t = x * LOG2E + ROUND_MAGIC;
    let n = t - ROUND_MAGIC;
    let ni = (t.to_bits() as i32).wrapping_sub(ROUND_MAGIC.to_bits() as i32);
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 5e-1;
    let y = p * (r * r) + r + 1.0;
    y * f32::from_bits(((ni + 127) as u32) << 23)
}

/// tanh(x) = sign(x)·(1 − e^(−2|x|)) / (1 + e^(−2|x|)); absolute error below 2e-7.
#[inline(always)]
pub fn tanh_f32(x: f32) -> f32 {
    let e = exp_f32(-2.0 * x.abs());
    let t = (1.0 - e) / (1.0 + e);
    // Below 1e-4, tanh(x) = x to f32 precision and the quotient above loses digits.
    let t = if x.abs() < 1e-4 { x.abs() } else { t };
    t.copysign(x)
}

#[inline(always)]
pub fn sigmoid_f32(x: f32) -> f32 {
    1.0 / (1.0 + exp_f32(-x))
}

/// Compiles a function twice, for AVX2 and for the baseline, and picks one at run time.
macro_rules! multiversion {
    ($(#[$m:meta])* $vis:vis fn $name:ident$(<$g:ident: $bound:path>)?($($arg:ident: $ty:ty),*) -> $ret:ty $body:block) => {
        $(#[$m])*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name$(<$g: $bound>)?($($arg: $ty),*) -> $ret {
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            fn generic$(<$g: $bound>)?($($arg: $ty),*) -> $ret $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn avx2$(<$g: $bound>)?($($arg: $ty),*) -> $ret {
                    generic$(::<$g>)?($($arg),*)
                }
                if std::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU has AVX2, checked just above.
                    return unsafe { avx2$(::<$g>)?($($arg),*) };
                }
            }
            generic$(::<$g>)?($($arg),*)
        }
    };
}

pub(crate) use multiversion;

multiversion! {
    /// `x ← tanh(x)`, vectorised.
    pub fn tanh_f32_slice(x: &mut [f32]) -> () {
        for v in x.iter_mut() {
            *v = tanh_f32(*v);
        }
    }
}

multiversion! {
    /// `x ← σ(x)`, vectorised.
    pub fn sigmoid_f32_slice(x: &mut [f32]) -> () {
        for v in x.iter_mut() {
            *v = sigmoid_f32(*v);
        }
    }
}

multiversion! {
    /// `x ← e^(x − shift)`, vectorised; returns the sum (in eight interleaved partial sums, so
    /// the loop still vectorises).
    pub fn exp_shift_sum_f32(x: &mut [f32], shift: f32) -> f32 {
        let mut acc = [0f32; 8];
        let mut chunks = x.chunks_exact_mut(8);
        for c in &mut chunks {
            for (v, a) in c.iter_mut().zip(acc.iter_mut()) {
                *v = exp_f32(*v - shift);
                *a += *v;
            }
        }
        let mut total = acc.iter().sum::<f32>();
        for v in chunks.into_remainder() {
            *v = exp_f32(*v - shift);
            total += *v;
        }
        total
    }
}

impl Real for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    fn max(self, other: Self) -> Self {
        f32::max(self, other)
    }
    fn tanh_slice(x: &mut [Self]) {
        tanh_f32_slice(x)
    }
    fn sigmoid_slice(x: &mut [Self]) {
        sigmoid_f32_slice(x)
    }
    fn exp_shift_sum(x: &mut [Self], shift: Self) -> Self {
        exp_shift_sum_f32(x, shift)
    }
}

impl Real for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    fn max(self, other: Self) -> Self {
        f64::max(self, other)
    }
    fn tanh_slice(x: &mut [Self]) {
        x.iter_mut().for_each(|v| *v = v.tanh());
    }
    fn sigmoid_slice(x: &mut [Self]) {
        x.iter_mut().for_each(|v| *v = 1.0 / (1.0 + (-*v).exp()));
    }
    fn exp_shift_sum(x: &mut [Self], shift: Self) -> Self {
        x.iter_mut().fold(0.0, |s, v| {
            *v = (*v - shift).exp();
            s + *v
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every float32 in a dense grid over the range that matters, against float64's libm.
    #[test]
    fn vectorised_functions_match_float64() {
        let xs: Vec<f32> = (-200_000..=200_000)
            .map(|i| i as f32 * 1e-4)
            .chain([1e-8, -3e-5, 30.0, -60.0, 100.0, -100.0, 0.0, -0.0])
            .collect();
        let mut t = xs.clone();
        tanh_f32_slice(&mut t);
        let mut s = xs.clone();
        sigmoid_f32_slice(&mut s);
        let (mut worst_t, mut worst_s) = (0f64, 0f64);
        for ((&x, &tv), &sv) in xs.iter().zip(&t).zip(&s) {
            worst_t = worst_t.max((tv as f64 - (x as f64).tanh()).abs());
            let sig = 1.0 / (1.0 + (-(x as f64)).exp());
            worst_s = worst_s.max((sv as f64 - sig).abs() / sig.clamp(1e-30, 1.0));
        }
        eprintln!(
            "over ±20: tanh max absolute error {worst_t:.2e}, sigmoid max relative error {worst_s:.2e}"
        );
        assert!(worst_t < 2e-7, "tanh: max absolute error {worst_t}");
        assert!(worst_s < 4e-7, "sigmoid: max relative error {worst_s}");
        // Odd symmetry and signed zeros survive.
        assert_eq!(tanh_f32(-0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(tanh_f32(0.3), -tanh_f32(-0.3));
        let xs: Vec<f32> = (-870..=880).map(|i| i as f32 * 0.1).collect();
        let mut e = xs.clone();
        exp_shift_sum_f32(&mut e, 0.0);
        for (&x, &v) in xs.iter().zip(&e) {
            let r = (x as f64).exp();
            assert!(((v as f64) - r).abs() / r < 3e-7, "exp({x}): {v} vs {r}");
        }
        // The sum, with a shift (as the softmax uses it), over a length that is not a multiple of 8.
        let mut row: Vec<f32> = (0..1003).map(|i| (i % 37) as f32 * 0.5).collect();
        let exact: f64 = row.iter().map(|&x| (x as f64 - 18.0).exp()).sum();
        let sum = exp_shift_sum_f32(&mut row, 18.0);
        assert!((sum as f64 - exact).abs() / exact < 1e-6, "{sum} vs {exact}");
    }
}
