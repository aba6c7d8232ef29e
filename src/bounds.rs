//! What a person may type into the page's number fields.
//!
//! The configs' own `validate` allows native-sized values (a GAN 8,192 wide, a beam of 64),
//! which a browser tab cannot hold: wasm32 has 4 GB and one thread. Every number field on the
//! page goes through a [`Field`] first, so a huge, negative, non-numeric, NaN or empty value
//! is refused with a message that names the field and its range, and the last good value
//! stays in force. These run natively too, so they are unit-tested here.

use std::fmt::Display;
use std::str::FromStr;

/// A number field: its name as the page labels it, and the closed range the page accepts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Field<T> {
    pub name: &'static str,
    pub min: T,
    pub max: T,
}

impl<T: FromStr + PartialOrd + Display + Copy> Field<T> {
    pub const fn new(name: &'static str, min: T, max: T) -> Self {
        Field { name, min, max }
    }

    /// Parses what was typed. Floats must be finite; every value must lie in `min..=max`.
    pub fn parse(&self, text: &str) -> Result<T, FieldError> {
        let text = text.trim();
        let (name, range) = (self.name, format!("a number from {} to {}", self.min, self.max));
        if text.is_empty() {
            return Err(FieldError::Empty { name, range });
        }
        let shown: String = text.chars().take(24).collect();
        let Ok(v) = text.parse::<T>() else {
            return Err(FieldError::NotANumber { name, range, shown });
        };
        // NaN fails both comparisons, so it is refused here too.
        if !(v >= self.min && v <= self.max) {
            return Err(FieldError::OutOfRange { name, range, shown });
        }
        Ok(v)
    }
}

/// Why a typed value was refused: the message names the field and its range.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum FieldError {
    #[error("{name} is empty: type {range}.")]
    Empty { name: &'static str, range: String },
    #[error("{name} must be {range}, not '{shown}'.")]
    NotANumber { name: &'static str, range: String, shown: String },
    #[error("{name} must be {range}, not {shown}.")]
    OutOfRange { name: &'static str, range: String, shown: String },
}

/// A config setting outside its range: the rule it breaks ("decode.beam must be between 1 and
/// 64"), and the part of a larger config it sits in.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{}{rule}", part.map(|p| format!("{p}: ")).unwrap_or_default())]
pub struct InvalidSetting {
    pub rule: &'static str,
    pub part: Option<&'static str>,
}

impl InvalidSetting {
    /// The first of `checks` (a condition and the rule it states) that does not hold.
    pub fn first(checks: &[(bool, &'static str)]) -> Result<(), Self> {
        let Some(&(_, rule)) = checks.iter().find(|c| !c.0) else { return Ok(()) };
        Err(InvalidSetting { rule, part: None })
    }

    /// The same rule, said of `part` of a larger config.
    pub fn of(self, part: &'static str) -> Self {
        InvalidSetting { part: Some(part), ..self }
    }
}

/// A GAN lab network too big to train in the page on this backend.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error(
    "This network needs about {:.1} billion multiply-adds per step, more than the page runs on {backend} without freezing (at most {:.1} billion). Make the batch, width, depth or n_critic smaller.",
    cost / 1e9,
    budget / 1e9
)]
pub struct TooBigForPage {
    pub cost: f64,
    pub budget: f64,
    pub backend: &'static str,
}

/// The GAN lab's fields. The sizes keep one training step of the largest network within what
/// the page can run between two frames on the CPU (see [`gan_step_cost`]).
pub mod gan {
    use super::Field;
    pub const LR: Field<f64> = Field::new("learning rate", 1e-7, 1.0);
    pub const BETA1: Field<f64> = Field::new("β₁", 0.0, 0.999);
    pub const BETA2: Field<f64> = Field::new("β₂", 0.0, 0.9999);
    pub const LAMBDA: Field<f64> = Field::new("λ", 0.0, 1000.0);
    pub const CLIP: Field<f64> = Field::new("clip c", 1e-5, 10.0);
    pub const N_CRITIC: Field<usize> = Field::new("n_critic", 1, 50);
    pub const BATCH: Field<usize> = Field::new("batch", 1, 4096);
    pub const HIDDEN: Field<usize> = Field::new("width", 1, 1024);
    pub const DEPTH: Field<usize> = Field::new("depth", 1, 8);
    pub const SEED: Field<u64> = Field::new("seed", 0, 1 << 53);
}

/// The Align tab's fields.
pub mod align {
    use super::Field;
    pub const STEPS: Field<u64> = Field::new("map updates", 1, 100_000);
    pub const SEED: Field<u64> = Field::new("seed", 0, 1 << 53);
}

/// The Summarize page's decoding fields.
pub mod summarize {
    use super::Field;
    pub const BEAM: Field<usize> = Field::new("beam", 1, 16);
    pub const MIN_LEN: Field<usize> = Field::new("min length", 0, 400);
    pub const MAX_LEN: Field<usize> = Field::new("max length", 1, 400);
    /// 0: no target (min and max length apply).
    pub const TARGET_LEN: Field<usize> = Field::new("target length", 0, 400);
}

/// Multiply-adds in one GAN lab training step (n_critic critic updates and one generator
/// update, forward and backward, about 3× the forward pass), for an MLP of `depth` hidden
/// layers of `hidden` units on 2-D points. Minibatch discrimination adds its [B, B, K, D]
/// block.
pub fn gan_step_cost(
    batch: usize,
    hidden: usize,
    depth: usize,
    n_critic: usize,
    minibatch_kernels: Option<(usize, usize)>,
) -> f64 {
    let (b, h, d) = (batch as f64, hidden as f64, depth as f64);
    let mlp = 2.0 * h + (d - 1.0).max(0.0) * h * h + h;
    let mbd = minibatch_kernels.map_or(0.0, |(k, dd)| b * (k * dd) as f64 * (h + b));
    // A critic update reads a real and a fake batch (and a penalty batch, counted in the 3×);
    // the generator update runs the generator and the critic.
    let per_critic = 2.0 * b * mlp + mbd;
    3.0 * (n_critic as f64 * (per_critic + b * mlp) + 2.0 * b * mlp + mbd)
}

/// The most work one step may take in the page: on the CPU 3× the default network's (batch
/// 128, width 128, depth 3, n_critic 5, whose step takes about 0.15 s in headless Chromium
/// here), so Pause is answered within one step of at most about half a second; WebGPU gets
/// 300× that, since its steps do not block the page.
pub fn step_budget(on_gpu: bool) -> f64 {
    gan_step_cost(128, 128, 3, 5, None) * if on_gpu { 300.0 } else { 3.0 }
}

/// Refuses a GAN lab network too big to train in the page on this backend.
pub fn check_gan_step(cost: f64, on_gpu: bool) -> Result<(), TooBigForPage> {
    let budget = step_budget(on_gpu);
    let backend = if on_gpu { "WebGPU" } else { "the CPU" };
    if cost > budget { Err(TooBigForPage { cost, budget, backend }) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_value_is_refused_by_name() {
        let f = |text| gan::BATCH.parse(text).map_err(|e| e.to_string());
        assert_eq!(f(" 256 "), Ok(256));
        assert_eq!(f("1"), Ok(1));
        assert_eq!(f("4096"), Ok(4096));
        assert_eq!(f(""), Err("batch is empty: type a number from 1 to 4096.".into()));
        assert_eq!(f("0"), Err("batch must be a number from 1 to 4096, not 0.".into()));
        assert_eq!(f("65536"), Err("batch must be a number from 1 to 4096, not 65536.".into()));
        assert_eq!(f("-5"), Err("batch must be a number from 1 to 4096, not '-5'.".into()));
        assert_eq!(f("NaN"), Err("batch must be a number from 1 to 4096, not 'NaN'.".into()));
        assert_eq!(
            f("99999999999999999999999999"),
            Err("batch must be a number from 1 to 4096, not '999999999999999999999999'.".into())
        );
        let lr = gan::LR;
        assert_eq!(lr.parse("1e-4"), Ok(1e-4));
        for bad in ["NaN", "nan", "inf", "-inf", "1e308", "-1", "0", "1e999"] {
            let e = lr.parse(bad).unwrap_err().to_string();
            assert!(e.starts_with("learning rate must be a number from"), "{bad}: {e}");
        }
    }

    #[test]
    fn page_defaults_fit_and_the_largest_network_does_not() {
        // The page's default network (see src/web/gan_lab.rs).
        let default = gan_step_cost(128, 128, 3, 5, None);
        assert!(check_gan_step(default, false).is_ok());
        assert!(check_gan_step(gan_step_cost(256, 128, 3, 5, None), false).is_ok());
        let e = check_gan_step(gan_step_cost(512, 128, 3, 5, None), false).unwrap_err().to_string();
        assert!(e.contains("about 0.9 billion multiply-adds per step"), "{e}");
        assert!(e.contains("(at most 0.6 billion)"), "{e}");
        let largest = gan_step_cost(4096, 1024, 8, 50, Some((10, 5)));
        let e = check_gan_step(largest, false).unwrap_err().to_string();
        assert!(e.contains("more than the page runs on the CPU"), "{e}");
        assert!(check_gan_step(largest, true).is_err());
        // Each field's maximum alone, the rest at the defaults, is allowed on WebGPU.
        for cost in [
            gan_step_cost(4096, 128, 3, 5, None),
            gan_step_cost(128, 1024, 3, 5, None),
            gan_step_cost(128, 128, 8, 5, None),
            gan_step_cost(128, 128, 3, 50, None),
        ] {
            assert!(check_gan_step(cost, true).is_ok(), "{cost}");
        }
    }
}

/// The Unpaired tab's fields.
pub mod unpaired {
    use super::Field;
    pub const STEPS: Field<u64> = Field::new("generator updates", 1, 100_000);
}
