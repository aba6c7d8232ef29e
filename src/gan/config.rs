//! Every hyperparameter of a GAN run, with the paper's default and the reason for it.
//! The whole struct is written to `config.toml` and into every checkpoint.

use serde::{Deserialize, Serialize};

use super::mlp::{Activation, MinibatchShape, MlpConfig};
use super::objective::Objective;
use crate::optim::OptimizerConfig;
use crate::toy::{Source, Toy};

/// The seeds' stabilisation tricks (Salimans et al. 2016), each off by default.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Tricks {
    /// One-sided label smoothing: real targets become this value (0.9 in Salimans et al.).
    /// Only the Jensen–Shannon GAN has labels.
    pub label_smoothing: Option<f64>,
    /// The generator matches the mean of the critic's last hidden layer on real data
    /// instead of fooling the critic.
    pub feature_matching: bool,
    /// Historical averaging: adds `w·‖θ − mean of past θ‖²` to both players' losses.
    pub historical_averaging: Option<f64>,
    /// Minibatch discrimination in the critic: it sees how close each sample is to the
    /// others in its batch, so a collapsed generator is easy to spot. Not with a gradient
    /// penalty, which needs a per-sample critic.
    pub minibatch_discrimination: Option<MinibatchShape>,
}

/// How the learning rate changes over a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Schedule {
    /// The same rate throughout (the WGAN-GP toy code).
    #[default]
    Constant,
    /// `lr·(1 − step/steps)`, reaching zero at `steps`, for both players (the WGAN-GP paper's
    /// code for its CIFAR-10 and language models); it lets the generator settle on the modes.
    Linear { steps: u64 },
}

impl Schedule {
    /// The learning-rate multiplier at generator step `step`.
    pub fn scale(&self, step: u64) -> f64 {
        match *self {
            Schedule::Constant => 1.0,
            Schedule::Linear { steps } => (1.0 - step as f64 / steps.max(1) as f64).max(0.0),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GanConfig {
    /// The real distribution.
    pub data: Source,
    pub objective: Objective,
    /// Width of every hidden layer (512 in the WGAN-GP toy code).
    pub hidden: usize,
    /// Number of hidden layers in each network (3 in the toy code).
    pub depth: usize,
    /// Dimension of the generator's Gaussian noise (2 in the toy code).
    pub noise_dim: usize,
    pub activation: Activation,
    /// Layer normalisation after each of the critic's hidden layers (seed 002's critic; off in
    /// the papers' toy code). The gradient penalties stay exact with it (`Mlp::input_grad`).
    #[serde(default)]
    pub critic_layer_norm: bool,
    /// Samples per batch, real and fake alike (256 in the toy code).
    pub batch_size: usize,
    /// Critic updates per generator update (5 for WGAN and WGAN-GP; 1 for the GAN).
    pub n_critic: usize,
    pub critic_optimizer: OptimizerConfig,
    pub generator_optimizer: OptimizerConfig,
    #[serde(default)]
    pub tricks: Tricks,
    #[serde(default)]
    pub schedule: Schedule,
    /// Seeds initialisation, data, noise, interpolation and dropout draws.
    pub seed: u64,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("{0} must be at least 1")]
    Zero(&'static str),
    #[error("{name} is {value}, but it must be a finite number {rule}")]
    Bad { name: &'static str, value: f64, rule: &'static str },
    #[error("{0} is too large for this model (at most {1})")]
    TooLarge(&'static str, usize),
    #[error("{0}")]
    Incompatible(String),
    #[error(transparent)]
    Data(#[from] crate::toy::SourceError),
}

impl GanConfig {
    /// The paper's configuration for `objective` on `data`:
    /// - WGAN: RMSProp lr 5e-5, c 0.01, n_critic 5 (Arjovsky et al., Algorithm 1);
    /// - WGAN-GP: Adam lr 1e-4, β (0.5, 0.9), λ 0.1, n_critic 5 (Gulrajani et al.'s toy code);
    /// - CT-GAN: Adam lr 2e-4, β (0.5, 0.9), λ₁ 10, λ₂ 2, n_critic 5 (Wei et al., Algorithm 1);
    /// - GAN: the WGAN-GP toy optimizer with one discriminator step per generator step, so
    ///   that runs compare at the same generator budget.
    pub fn paper(objective: Objective, data: Source) -> Self {
        let adam = OptimizerConfig::adam(1e-4, 0.5, 0.9);
        let (opt, n_critic) = match objective {
            Objective::Gan { .. } => (adam, 1),
            Objective::Wgan { .. } => (OptimizerConfig::rmsprop(5e-5), 5),
            Objective::WganGp { .. } => (adam, 5),
            Objective::CtGan { .. } => (OptimizerConfig::adam(2e-4, 0.5, 0.9), 5),
        };
        GanConfig {
            data,
            objective,
            hidden: 512,
            depth: 3,
            noise_dim: 2,
            activation: Activation::Relu,
            critic_layer_norm: false,
            batch_size: 256,
            n_critic,
            critic_optimizer: opt.clone(),
            generator_optimizer: opt,
            tricks: Tricks::default(),
            schedule: Schedule::Constant,
            seed: 0,
        }
    }

    /// WGAN-GP on 8 Gaussians with the toy code's settings.
    pub fn toy_default() -> Self {
        Self::paper(Objective::WganGp { lambda: 0.1 }, Source::Toy(Toy::EightGaussians))
    }

    pub fn data_dim(&self) -> usize {
        2
    }

    pub fn generator_net(&self) -> MlpConfig {
        MlpConfig::new(self.noise_dim, self.hidden, self.depth, self.data_dim(), self.activation)
    }

    pub fn critic_net(&self) -> MlpConfig {
        MlpConfig {
            input: self.data_dim(),
            output: 1,
            minibatch: self.tricks.minibatch_discrimination,
            layer_norm: self.critic_layer_norm,
            ..self.generator_net()
        }
    }

    /// Refuses settings that cannot train, with a message naming the setting.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let sizes = |sizes: &[(&'static str, usize, usize)]| {
            if let Some(&(name, ..)) = sizes.iter().find(|s| s.1 == 0) {
                return Err(ConfigError::Zero(name));
            }
            match sizes.iter().find(|s| s.1 > s.2) {
                Some(&(name, _, max)) => Err(ConfigError::TooLarge(name, max)),
                None => Ok(()),
            }
        };
        sizes(&[
            ("hidden", self.hidden, 8192),
            ("depth", self.depth, 64),
            ("noise_dim", self.noise_dim, 4096),
            ("batch_size", self.batch_size, 65_536),
            ("n_critic", self.n_critic, 1000),
        ])?;
        let check = |name, value: f64, ok: bool, rule| match value.is_finite() && ok {
            true => Ok(()),
            false => Err(ConfigError::Bad { name, value, rule }),
        };
        let positive = |name, value: f64| check(name, value, value > 0.0, "above 0");
        let non_negative = |name, value: f64| check(name, value, value >= 0.0, "of at least 0");
        let unit = |name, value: f64| check(name, value, (0.0..1.0).contains(&value), "in [0, 1)");
        for opt in [&self.critic_optimizer, &self.generator_optimizer] {
            positive("learning rate", opt.lr())?;
            match *opt {
                OptimizerConfig::Sgd { momentum, .. } => unit("momentum", momentum)?,
                OptimizerConfig::Rmsprop { alpha, eps, .. } => {
                    unit("alpha", alpha)?;
                    positive("eps", eps)?
                }
                OptimizerConfig::Adam { beta1, beta2, eps, .. } => {
                    unit("beta1", beta1)?;
                    unit("beta2", beta2)?;
                    positive("eps", eps)?
                }
                OptimizerConfig::Adagrad { initial_accumulator, eps, .. } => {
                    non_negative("initial accumulator", initial_accumulator)?;
                    positive("eps", eps)?
                }
            }
        }
        match self.objective {
            Objective::Gan { .. } => {}
            Objective::Wgan { clip } => positive("clip", clip)?,
            Objective::WganGp { lambda } => non_negative("lambda", lambda)?,
            Objective::CtGan { lambda_gp, lambda_ct, m_prime, dropout } => {
                non_negative("lambda_gp", lambda_gp)?;
                non_negative("lambda_ct", lambda_ct)?;
                non_negative("m_prime", m_prime)?;
                unit("dropout", dropout)?;
            }
        }
        if let Some(t) = self.tricks.label_smoothing {
            check("label_smoothing", t, t > 0.5 && t <= 1.0, "in (0.5, 1]")?;
        }
        if let Some(w) = self.tricks.historical_averaging {
            non_negative("historical_averaging", w)?;
        }
        if let Some(mb) = self.tricks.minibatch_discrimination {
            sizes(&[("minibatch kernels", mb.kernels, 1024)])?;
            sizes(&[("minibatch kernel dims", mb.dims, 256)])?;
            if matches!(self.objective, Objective::WganGp { .. } | Objective::CtGan { .. }) {
                return Err(ConfigError::Incompatible(format!(
                    "minibatch discrimination cannot be used with {}: its gradient penalty needs the critic's gradient at each sample on its own, \
                     and minibatch discrimination makes every output depend on the whole batch (use gan, gan-minimax or wgan)",
                    self.objective.name()
                )));
            }
        }
        self.data.validate()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_round_trips_through_toml() {
        for name in Objective::NAMES {
            let mut c =
                GanConfig::paper(Objective::from_name(name).unwrap(), Source::Toy(Toy::SwissRoll));
            c.tricks.historical_averaging = Some(0.1);
            let text = toml::to_string(&c).unwrap();
            let back: GanConfig = toml::from_str(&text).unwrap();
            assert_eq!(back, c, "{text}");
        }
    }

    #[test]
    fn bad_settings_are_named() {
        let mut c = GanConfig::toy_default();
        c.batch_size = 0;
        assert_eq!(c.validate().unwrap_err().to_string(), "batch_size must be at least 1");
        let mut c = GanConfig::toy_default();
        c.critic_optimizer = c.critic_optimizer.with_lr(f64::NAN);
        assert!(c.validate().unwrap_err().to_string().contains("learning rate"));
        let mut c = GanConfig::toy_default();
        c.data = Source::Drawn(vec![]);
        assert!(c.validate().unwrap_err().to_string().contains("draw at least one point"));
        assert_eq!(GanConfig::toy_default().validate(), Ok(()));
    }
}
