//! Every closed set a flag takes, as a clap `ValueEnum`: clap refuses an unknown value itself,
//! lists the allowed ones in `--help` and in the error, and no command parses a name by hand.
//!
//! The library's own enums (data set, device, export precision, the summarizer's optimizer)
//! get their impls here, so the library (also built for the page) does not depend on clap.
//! The GAN's objective, optimizer and schedule carry hyperparameters, so their flags are
//! plain name enums that map onto the paper defaults.

use clap::ValueEnum;
use clap::builder::PossibleValue;

use crate::device::DeviceChoice;
use crate::gan::{Objective, Schedule};
use crate::optim::OptimizerConfig;
use crate::summarize::OptimizerKind;
use crate::summarize::store::Precision;
use crate::toy::Toy;

impl ValueEnum for Toy {
    fn value_variants<'a>() -> &'a [Self] {
        &Toy::ALL
    }
    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.name()).help(self.label()))
    }
}

impl ValueEnum for DeviceChoice {
    fn value_variants<'a>() -> &'a [Self] {
        &[
            DeviceChoice::Auto,
            DeviceChoice::Vulkan,
            DeviceChoice::Wgpu,
            DeviceChoice::Cuda,
            DeviceChoice::Cpu,
        ]
    }
    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(match self {
            DeviceChoice::Auto => PossibleValue::new("auto").help("CUDA if built in, else a hardware GPU through wgpu, else the CPU; the choice is printed"),
            DeviceChoice::Vulkan => PossibleValue::new("vulkan"),
            DeviceChoice::Wgpu => PossibleValue::new("wgpu").alias("gpu").help("any wgpu adapter, software renderers included"),
            DeviceChoice::Cuda => PossibleValue::new("cuda").help("needs a build with --features cuda"),
            DeviceChoice::Cpu => PossibleValue::new("cpu").alias("flex"),
        })
    }
}

impl ValueEnum for Precision {
    fn value_variants<'a>() -> &'a [Self] {
        &[Precision::F32, Precision::F16, Precision::Int8]
    }
    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(match self {
            Precision::F32 => PossibleValue::new("f32").alias("float32").help("exact"),
            Precision::F16 => PossibleValue::new("f16").alias("float16"),
            Precision::Int8 => {
                PossibleValue::new("int8").alias("i8").help("per-row scales; a quarter of float32")
            }
        })
    }
}

impl ValueEnum for OptimizerKind {
    fn value_variants<'a>() -> &'a [Self] {
        &[OptimizerKind::Adagrad, OptimizerKind::Adam]
    }
    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(match self {
            OptimizerKind::Adagrad => PossibleValue::new("adagrad").help("See et al."),
            OptimizerKind::Adam => PossibleValue::new("adam"),
        })
    }
}

/// `gan train --loss`: the objective, with its paper's hyperparameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Loss {
    /// Goodfellow et al., non-saturating generator loss.
    #[value(alias = "gan-ns")]
    Gan,
    /// Goodfellow et al., the minimax generator loss.
    GanMinimax,
    /// Arjovsky et al., weight clipping.
    Wgan,
    /// Gulrajani et al., gradient penalty.
    WganGp,
    /// Wei et al., gradient penalty plus consistency term.
    #[value(alias = "ctgan")]
    CtGan,
}

impl Loss {
    pub fn objective(self) -> Objective {
        let name = self.to_possible_value().expect("every loss has a name");
        Objective::from_name(name.get_name()).expect("every --loss value names an objective")
    }
}

/// `gan train --optimizer`, for both players.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GanOptimizer {
    Sgd,
    Rmsprop,
    /// β (0.5, 0.9) unless --beta1/--beta2 say otherwise.
    Adam,
}

impl GanOptimizer {
    pub fn config(self, lr: f64) -> OptimizerConfig {
        match self {
            GanOptimizer::Sgd => OptimizerConfig::sgd(lr),
            GanOptimizer::Rmsprop => OptimizerConfig::rmsprop(lr),
            GanOptimizer::Adam => OptimizerConfig::adam(lr, 0.5, 0.9),
        }
    }
}

/// `gan train --lr-schedule`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LrSchedule {
    Constant,
    /// Decays linearly to zero at --steps.
    Linear,
}

impl LrSchedule {
    pub fn schedule(self, steps: u64) -> Schedule {
        match self {
            LrSchedule::Constant => Schedule::Constant,
            LrSchedule::Linear => Schedule::Linear { steps },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The flag names are the library's names, so a config file and a flag agree.
    #[test]
    fn flag_values_are_the_library_names() {
        for t in Toy::ALL {
            assert_eq!(t.to_possible_value().unwrap().get_name().parse::<Toy>().unwrap(), t);
        }
        for d in DeviceChoice::value_variants() {
            assert_eq!(
                &d.to_possible_value().unwrap().get_name().parse::<DeviceChoice>().unwrap(),
                d
            );
        }
        for p in Precision::value_variants() {
            assert_eq!(&p.to_possible_value().unwrap().get_name().parse::<Precision>().unwrap(), p);
        }
        for o in OptimizerKind::value_variants() {
            assert_eq!(o.to_possible_value().unwrap().get_name(), o.to_string());
        }
        for l in Loss::value_variants() {
            assert_eq!(l.objective().name(), l.to_possible_value().unwrap().get_name());
        }
        assert_eq!(Loss::from_str("ctgan", true), Ok(Loss::CtGan));
        assert!(DeviceChoice::from_str("tpu", true).is_err());
    }
}
