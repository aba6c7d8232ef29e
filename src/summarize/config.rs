//! Every size and hyperparameter of the pointer-generator, with See et al. (2017)'s values as
//! defaults. The config is saved (TOML) inside every checkpoint and export.

use crate::bounds::InvalidSetting;
use serde::{Deserialize, Serialize};

/// The network's sizes and switches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Words in the fixed vocabulary, the four special tokens included: 50,000 in See et al.;
    /// 5,000 in seed 000's reproduction.
    pub vocab_size: usize,
    /// Word-embedding size (128), shared by encoder and decoder.
    pub emb: usize,
    /// LSTM size (256): per direction in the encoder, and the decoder's.
    pub hidden: usize,
    /// The copy mechanism (p_gen and the attention as a copy distribution). Off gives the
    /// plain attentional seq2seq baseline.
    pub pointer: bool,
    /// The coverage vector fed to the attention (See et al. §2.3), used for the final
    /// fine-tuning phase.
    pub coverage: bool,
    /// LSTM weights start uniform in ±this (See et al.'s rand_unif_init_mag: 0.02).
    pub init_uniform: f64,
    /// Other weights start truncated-normal with this σ (See et al.'s trunc_norm_init_std:
    /// 1e-4). Tiny weights make early steps small; toy models learn faster with ~0.1.
    pub init_std: f64,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            vocab_size: 50_000,
            emb: 128,
            hidden: 256,
            pointer: true,
            coverage: false,
            init_uniform: 0.02,
            init_std: 1e-4,
        }
    }
}

impl ModelConfig {
    /// The attention's hidden size: See et al. use the encoder output size, 2 × hidden.
    pub fn attn(&self) -> usize {
        2 * self.hidden
    }
}

/// How the model is trained.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// The optimizer: `adagrad` (See et al.) or `adam` (β 0.9, 0.999), which this project's
    /// CPU-budget default model uses because it leaves the early word-frequency phase sooner.
    #[serde(default)]
    pub optimizer: OptimizerKind,
    /// The learning rate (See et al.'s Adagrad: 0.15; 1e-3 is usual for Adam).
    pub lr: f64,
    /// Adagrad's initial accumulator value (See et al.: 0.1).
    pub initial_accumulator: f64,
    /// Gradients are rescaled to this global norm when larger (See et al.: 2.0).
    pub max_grad_norm: f64,
    /// Articles per batch (See et al.: 16).
    pub batch_size: usize,
    /// Article tokens kept (See et al.: 400).
    pub max_enc: usize,
    /// Summary tokens kept, [STOP] included (See et al.: 100).
    pub max_dec: usize,
    /// Weight of the coverage loss Σᵢ min(aᵢ, cᵢ) when coverage is on (See et al.: 1.0).
    pub cov_loss_weight: f64,
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            optimizer: OptimizerKind::Adagrad,
            lr: 0.15,
            initial_accumulator: 0.1,
            max_grad_norm: 2.0,
            batch_size: 16,
            max_enc: 400,
            max_dec: 100,
            cov_loss_weight: 1.0,
            seed: 0,
        }
    }
}

/// The summarizer's optimizers. A config naming any other is refused when read, with the
/// allowed names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// See et al.: Adagrad with an initial accumulator.
    #[default]
    Adagrad,
    /// Adam, β 0.9 and 0.999.
    Adam,
}

impl std::str::FromStr for OptimizerKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "adagrad" => Ok(OptimizerKind::Adagrad),
            "adam" => Ok(OptimizerKind::Adam),
            other => Err(format!("unknown optimizer '{other}': choose adagrad or adam")),
        }
    }
}

impl std::fmt::Display for OptimizerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OptimizerKind::Adagrad => "adagrad",
            OptimizerKind::Adam => "adam",
        })
    }
}

/// How summaries are decoded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecodeConfig {
    /// Beam width (See et al.: 4); 1 with `greedy` is greedy decoding.
    pub beam: usize,
    /// Hypotheses ending before this many tokens are not accepted (See et al.: 35).
    pub min_len: usize,
    /// Decoding stops after this many tokens (See et al.: 100 at test time, 120 in the code).
    pub max_len: usize,
    /// Forbid any trigram from appearing twice in a summary.
    pub no_repeat_trigram: bool,
    /// Forbid any word from appearing twice (for headline-length summaries, where a repeated
    /// word is a stutter, not content). Files saved before it existed read as `false`.
    #[serde(default)]
    pub no_repeat_word: bool,
    /// Greedy decoding (argmax at every step) instead of beam search.
    pub greedy: bool,
    /// A soft length prior (Wang & Lee's released decoder): at decoder step `i` (0-based, `i`
    /// words written) the `[STOP]` probability is multiplied by `stop_schedule[i]`, and by 1
    /// past its end. Empty: no change. Files saved before it existed read as empty.
    #[serde(default)]
    pub stop_schedule: Vec<f32>,
    /// A hard length: when set, every summary has exactly this many words (`[STOP]` is blocked
    /// before it and decoding ends there), as long as the rules above leave a word to write.
    /// It replaces `min_len` and `max_len`. Files saved before it existed read as unset.
    #[serde(default)]
    pub target_len: Option<usize>,
}

impl DecodeConfig {
    /// Wang & Lee's schedule: `[STOP]` × 0.1 for words 1–7 and × 0.5 for words 8–10.
    pub fn wang_lee_stop_schedule() -> Vec<f32> {
        [vec![0.1; 7], vec![0.5; 3]].concat()
    }

    /// The factor on `[STOP]`'s probability at decoder step `step`.
    pub fn stop_factor(&self, step: usize) -> f32 {
        self.stop_schedule.get(step).copied().unwrap_or(1.0)
    }

    /// `(min_len, max_len)` as the decoder applies them: a target length `n` means `[STOP]`
    /// never (min `n + 1`, counting `[STOP]`) within `n` steps, so exactly `n` words.
    pub fn length_bounds(&self) -> (usize, usize) {
        match self.target_len {
            Some(n) => (n + 1, n),
            None => (self.min_len, self.max_len),
        }
    }
}

impl Default for DecodeConfig {
    fn default() -> Self {
        DecodeConfig {
            beam: 4,
            min_len: 35,
            max_len: 100,
            no_repeat_trigram: false,
            no_repeat_word: false,
            greedy: false,
            stop_schedule: vec![],
            target_len: None,
        }
    }
}

/// Everything saved with the weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct SummarizerConfig {
    pub model: ModelConfig,
    pub train: TrainConfig,
    pub decode: DecodeConfig,
}

impl SummarizerConfig {
    /// Checks sizes; the message names the bad field.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        let (m, t, d) = (&self.model, &self.train, &self.decode);
        let positive = |x: f64| x.is_finite() && x > 0.0;
        let non_negative = |x: f64| x.is_finite() && x >= 0.0;
        let within = |x: usize, lo: usize, hi: usize| (lo..=hi).contains(&x);
        let checks: [(bool, &str); 15] = [
            (
                non_negative(m.init_uniform) && non_negative(m.init_std),
                "model.init_uniform and model.init_std must be 0 or more",
            ),
            (
                within(m.vocab_size, 5, 2_000_000),
                "model.vocab_size must be between 5 and 2,000,000",
            ),
            (within(m.emb, 1, 4096), "model.emb must be between 1 and 4096"),
            (within(m.hidden, 1, 4096), "model.hidden must be between 1 and 4096"),
            (positive(t.lr), "train.lr must be a positive number"),
            (positive(t.initial_accumulator), "train.initial_accumulator must be positive"),
            (positive(t.max_grad_norm), "train.max_grad_norm must be positive"),
            (within(t.batch_size, 1, 4096), "train.batch_size must be between 1 and 4096"),
            (within(t.max_enc, 1, 100_000), "train.max_enc must be between 1 and 100,000"),
            (within(t.max_dec, 2, 10_000), "train.max_dec must be between 2 and 10,000"),
            (non_negative(t.cov_loss_weight), "train.cov_loss_weight must be 0 or more"),
            (within(d.beam, 1, 64), "decode.beam must be between 1 and 64"),
            (
                within(d.max_len, 1, 10_000) && d.min_len <= d.max_len,
                "decode.max_len must be between 1 and 10,000 and at least decode.min_len",
            ),
            (
                d.target_len.is_none_or(|n| within(n, 1, 10_000)),
                "decode.target_len must be between 1 and 10,000",
            ),
            (
                d.stop_schedule.len() <= 10_000
                    && d.stop_schedule.iter().all(|f| f.is_finite() && *f >= 0.0),
                "decode.stop_schedule must hold at most 10,000 factors, each a number ≥ 0",
            ),
        ];
        InvalidSetting::first(&checks)
    }
}
