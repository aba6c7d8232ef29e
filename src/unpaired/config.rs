//! Every setting of unpaired summarization, with Wang & Lee (2018)'s values where this
//! project can afford them and the reason where it deviates. Saved beside the weights.

use serde::{Deserialize, Serialize};

use super::critic::SeqCriticConfig;
use crate::bounds::InvalidSetting;
use crate::gan::Objective;
use crate::gan::mlp::Activation;
use crate::optim::OptimizerConfig;
use crate::summarize::{DecodeConfig, ModelConfig, OptimizerKind, SummarizerConfig, TrainConfig};

/// How the critic's judgement reaches the generator (Wang & Lee §3.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Method 1: the critic reads the generator's per-step distributions and its gradient
    /// flows back through them; human summaries enter as one-hot rows.
    #[default]
    Distributions,
    /// Method 2, adversarial REINFORCE: the critic reads sampled words as one-hot rows, like
    /// the human summaries, and its score of a sampled summary is the generator's reward, with
    /// the greedy summary's score as the baseline (self-critical).
    Reinforce,
}

impl Method {
    pub const NAMES: [&'static str; 2] = ["distributions", "reinforce"];

    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "distributions" | "wgan" | "1" => Some(Method::Distributions),
            "reinforce" | "2" => Some(Method::Reinforce),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// What the generator learns to write in pretraining, where no pairs exist.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum PretrainTarget {
    /// A random subsequence of the document in its order, 1 word to a summary's length
    /// (Wang & Lee §4's description).
    #[default]
    Subsequence,
    /// `min..=max` consecutive words starting `0..=max_start` words into the document (Wang &
    /// Lee's released code: 6–11 words from 0–10 words in), so the generator starts lead-like.
    Span { min: usize, max: usize, max_start: usize },
}

/// Pretraining settings. Files saved before they existed read as the subsequence target
/// without dropout, which is what those runs did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PretrainConfig {
    pub target: PretrainTarget,
    /// Each document word the generator reads is dropped with this probability (Wang & Lee's
    /// code: about 1/16), so it learns to write the target, not only to copy it.
    pub source_dropout: f64,
}

impl PretrainConfig {
    /// Wang & Lee's released code: 6–11 consecutive words from 0–10 words in, dropout 1/16.
    pub fn wang_lee() -> Self {
        PretrainConfig {
            target: PretrainTarget::Span { min: 6, max: 11, max_start: 10 },
            source_dropout: 1.0 / 16.0,
        }
    }
}

fn one() -> f64 {
    1.0
}

/// The language-model prior on the generator's summaries (SEQ³, Baziotis et al. 2019; not in
/// Wang & Lee): a Kneser–Ney bigram of the human summaries ([`super::lm::SummaryLm`]) whose
/// centred per-word log-probabilities join the generator's per-step rewards, weighted. Off (0)
/// by default, which is Wang & Lee's recipe; files saved before it existed read as off.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LmPriorConfig {
    pub weight: f64,
    /// Kneser–Ney's absolute discount (0.75, Chen & Goodman's usual value for bigrams).
    pub discount: f64,
    /// A generated `[UNK]` earns no LM reward (the bigram rates `[UNK] [UNK]` highly: names
    /// are out of the vocabulary). Files saved before it existed read as false, what they did.
    #[serde(default)]
    pub unk_neutral: bool,
}

impl Default for LmPriorConfig {
    fn default() -> Self {
        LmPriorConfig { weight: 0.0, discount: 0.75, unk_neutral: true }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnpairedConfig {
    /// The generator (document → hidden summary) and its pretraining. Wang & Lee: 300-d
    /// embeddings, 600-unit LSTMs; here 128 and 128, the CPU budget of this project.
    pub generator: SummarizerConfig,
    /// The reconstructor (hidden summary → document): a BiLSTM encoder with a
    /// pointer-generator decoder, as in the paper, so it is the same model class.
    pub reconstructor: SummarizerConfig,
    pub critic: SeqCriticConfig,
    /// The critic's objective, from the GAN lab: WGAN-GP with λ 10 (Gulrajani et al.), the
    /// paper's method 1. CT-GAN, WGAN and the Jensen–Shannon GAN work as well.
    pub objective: Objective,
    /// Method 1 (the critic reads distributions, Wang & Lee's WGAN row) or 2 (REINFORCE).
    pub method: Method,
    /// Critic updates per generator update (Wang & Lee: 3).
    pub n_critic: usize,
    /// Critic: Adam 2e-3, β (0.5, 0.9) (Wang & Lee's learning rate and β1).
    pub critic_optimizer: OptimizerConfig,
    /// Generator in the GAN phase: Adam 5e-5, β1 0.5 (Wang & Lee).
    pub generator_optimizer: OptimizerConfig,
    /// Reconstructor in the GAN phase: Adam 1e-4 (Wang & Lee).
    pub reconstructor_optimizer: OptimizerConfig,
    /// The generator's gradients are clipped to this global norm (Wang & Lee: 5).
    pub generator_clip: f64,
    /// Weight of the adversarial term in the generator's loss.
    pub adversarial_weight: f64,
    /// The reconstruction reward's weight ramps linearly from the first value to the second
    /// over `ramp_steps` generator updates (Wang & Lee: 0.5 to 1.2).
    pub reconstruction_weight: (f64, f64),
    pub ramp_steps: u64,
    /// Documents per batch (Wang & Lee: 96; 32 on this project's CPU budget).
    pub batch_size: usize,
    pub seed: u64,
    #[serde(default)]
    pub pretrain: PretrainConfig,
    /// Method 2: a word's reward is the critic's per-step gains from it on, each discounted by
    /// this per step (Wang & Lee's code: 0.3). Files saved before it existed read as 1.
    #[serde(default = "one")]
    pub discount: f64,
    /// Critic updates before the first generator update (Wang & Lee's code: 500), so the
    /// generator's first rewards come from a critic that already tells the two apart. Files
    /// saved before it existed read as 0.
    #[serde(default)]
    pub critic_warmup: u64,
    #[serde(default)]
    pub lm_prior: LmPriorConfig,
}

/// The critic's objective by name, with this setting's values: WGAN-GP's λ is Gulrajani et
/// al.'s 10 (the GAN lab's toy default is smaller), the others as the GAN lab has them.
pub fn objective_from_name(name: &str) -> Option<Objective> {
    Objective::from_name(name).map(unpaired_objective)
}

/// An objective with this setting's values (see [`objective_from_name`]).
pub fn unpaired_objective(o: Objective) -> Objective {
    match o {
        Objective::WganGp { .. } => Objective::WganGp { lambda: 10.0 },
        o => o,
    }
}

impl UnpairedConfig {
    /// The Debian setting: documents ≤ 50 tokens, summaries of 13 words and `[STOP]`.
    pub fn debian(vocab_size: usize) -> Self {
        let model = ModelConfig {
            vocab_size,
            emb: 128,
            hidden: 128,
            pointer: true,
            coverage: false,
            init_uniform: 0.02,
            // σ 0.05 rather than See et al.'s 1e-4: small models leave the word-frequency
            // phase sooner (the default summarizer's finding).
            init_std: 0.05,
        };
        let train = |max_enc, max_dec| TrainConfig {
            optimizer: OptimizerKind::Adam,
            lr: 1e-3,
            max_grad_norm: 5.0,
            batch_size: 32,
            max_enc,
            max_dec,
            cov_loss_weight: 0.0,
            ..Default::default()
        };
        // Wang & Lee decode with beam 5 and discourage [STOP] in the first steps: here [STOP]
        // may not come before the third step (min_len counts it), so at least 2 words.
        let decode = |max_len| DecodeConfig { beam: 5, min_len: 3, max_len, ..Default::default() };
        UnpairedConfig {
            generator: SummarizerConfig {
                model: model.clone(),
                train: train(50, 14),
                decode: decode(14),
            },
            reconstructor: SummarizerConfig { model, train: train(14, 51), decode: decode(51) },
            critic: SeqCriticConfig {
                steps: 14,
                vocab: vocab_size,
                emb: 64,
                hidden: 256,
                depth: 2,
                activation: Activation::LeakyRelu,
            },
            objective: Objective::WganGp { lambda: 10.0 },
            method: Method::Distributions,
            n_critic: 3,
            critic_optimizer: OptimizerConfig::adam(2e-3, 0.5, 0.9),
            generator_optimizer: OptimizerConfig::adam(5e-5, 0.5, 0.999),
            reconstructor_optimizer: OptimizerConfig::adam(1e-4, 0.9, 0.999),
            generator_clip: 5.0,
            adversarial_weight: 1.0,
            reconstruction_weight: (0.5, 1.2),
            ramp_steps: 10_000,
            batch_size: 32,
            seed: 0,
            pretrain: PretrainConfig::default(),
            discount: 1.0,
            critic_warmup: 0,
            lm_prior: LmPriorConfig::default(),
        }
        .with_seed(0)
    }

    /// The news setting (CNN/DailyMail lead sentences to headline-like summaries): the Debian
    /// sizes with Wang & Lee's released settings, which the Debian runs predate: span
    /// pretraining with source dropout, coverage loss 0.1, method 2's discount 0.3 and 500
    /// critic warm-up updates, and their decoding (beam 5, at most 13 words, the soft [STOP]
    /// schedule, no repeated word).
    pub fn news(vocab_size: usize) -> Self {
        let mut c = Self::debian(vocab_size);
        c.pretrain = PretrainConfig::wang_lee();
        c.generator.model.coverage = true;
        c.generator.train.cov_loss_weight = 0.1;
        c.generator.decode = DecodeConfig {
            beam: 5,
            min_len: 1,
            max_len: 13,
            no_repeat_word: true,
            stop_schedule: DecodeConfig::wang_lee_stop_schedule(),
            ..Default::default()
        };
        c.discount = 0.3;
        c.critic_warmup = 500;
        c
    }

    /// Sets the run's seed: the generator's initialisation uses it, the reconstructor's the
    /// next one (so the two networks do not start equal), and both are saved with the config.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self.generator.train.seed = seed;
        self.reconstructor.train.seed = seed.wrapping_add(1);
        self
    }

    /// Summary steps: 13 words and `[STOP]`.
    pub fn summary_len(&self) -> usize {
        self.critic.steps
    }

    /// The reconstruction reward's weight after `step` generator updates.
    pub fn reconstruction_weight_at(&self, step: u64) -> f64 {
        let (a, b) = self.reconstruction_weight;
        let t = (step as f64 / self.ramp_steps.max(1) as f64).min(1.0);
        a + (b - a) * t
    }

    /// Checks what the generator, reconstructor and critic must agree on.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        self.generator.validate().map_err(|e| e.of("generator"))?;
        self.reconstructor.validate().map_err(|e| e.of("reconstructor"))?;
        let (c, lm) = (&self.critic, &self.lm_prior);
        InvalidSetting::first(&[
            (c.vocab == self.generator.model.vocab_size, "critic.vocab must equal the generator's"),
            (
                c.steps >= 2 && c.steps == self.generator.train.max_dec,
                "critic.steps must equal generator.train.max_dec (at least 2)",
            ),
            (c.depth >= 1 && c.depth <= 8, "critic.depth must be between 1 and 8"),
            ((1..=4096).contains(&c.emb), "critic.emb must be between 1 and 4096"),
            ((1..=8192).contains(&c.hidden), "critic.hidden must be between 1 and 8192"),
            ((1..=100).contains(&self.n_critic), "n_critic must be between 1 and 100"),
            ((1..=4096).contains(&self.batch_size), "batch_size must be between 1 and 4096"),
            (
                self.reconstructor.model.vocab_size == self.generator.model.vocab_size,
                "reconstructor.model.vocab_size must equal the generator's",
            ),
            ((0.0..=1.0).contains(&self.discount), "discount must be between 0 and 1"),
            (self.critic_warmup <= 1_000_000, "critic_warmup must be at most 1,000,000"),
            ((0.0..=100.0).contains(&lm.weight), "lm_prior.weight must be between 0 and 100"),
            (lm.discount > 0.0 && lm.discount < 1.0, "lm_prior.discount must be in (0, 1)"),
            (
                (0.0..1.0).contains(&self.pretrain.source_dropout),
                "pretrain.source_dropout must be in [0, 1)",
            ),
            (
                match self.pretrain.target {
                    PretrainTarget::Subsequence => true,
                    PretrainTarget::Span { min, max, max_start } => {
                        min >= 1 && min <= max && max < self.summary_len() && max_start <= 10_000
                    }
                },
                "pretrain.target: a span needs 1 ≤ min ≤ max < critic.steps",
            ),
            (
                self.generator_clip.is_finite() && self.generator_clip > 0.0,
                "generator_clip must be positive",
            ),
            (
                self.adversarial_weight.is_finite()
                    && self.reconstruction_weight.0.is_finite()
                    && self.reconstruction_weight.1.is_finite(),
                "the loss weights must be numbers",
            ),
        ])
    }
}
