//! One safetensors file per unpaired run: the generator and reconstructor (and, in the GAN
//! phase, the critic) with their optimizer states, the config, the vocabulary and counters.
//! The generator alone exports as an ordinary pointer-generator file
//! ([`crate::summarize::store::export_bytes`]), which the Summarize page loads like the
//! default model.

use std::collections::HashMap;

use burn::module::Module;
use burn::tensor::Device;

use super::config::UnpairedConfig;
use super::data::words;
use super::train::UnpairedState;
use crate::gan::critic::Critic;
use crate::optim::OptimizerConfig;
use crate::record::{Precision, Reader, RecordError, Writer};
use crate::summarize::SummarizerConfig;
use crate::summarize::model::{Init, PointerGenerator};
use crate::summarize::train::{TrainState, trainable};
use crate::summarize::vocab::Vocab;

pub const FORMAT: &str = "earthmover-unpaired-v1";

/// What the format errors call these files.
const KIND: &str = "unpaired-summarization file";

/// Where a run is. A run holds one, so the variants' sizes do not matter.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Phase {
    /// Generator and reconstructor learning subsequences; `step` counts their updates.
    Pretrain { generator: TrainState, reconstructor: TrainState },
    /// The GAN phase.
    Gan(UnpairedState),
}

impl Phase {
    pub fn name(&self) -> &'static str {
        match self {
            Phase::Pretrain { .. } => "pretrain",
            Phase::Gan(_) => "gan",
        }
    }

    pub fn generator(&self) -> &PointerGenerator {
        match self {
            Phase::Pretrain { generator, .. } => &generator.model,
            Phase::Gan(s) => &s.generator,
        }
    }

    pub fn reconstructor(&self) -> &PointerGenerator {
        match self {
            Phase::Pretrain { reconstructor, .. } => &reconstructor.model,
            Phase::Gan(s) => &s.reconstructor,
        }
    }
}

pub fn to_bytes(
    phase: &Phase,
    config: &UnpairedConfig,
    vocab: &Vocab,
    extra: &[(&str, String)],
) -> Result<Vec<u8>, RecordError> {
    let mut w = Writer::default();
    w.module(phase.generator(), "generator", str::to_string)?;
    w.module(phase.reconstructor(), "reconstructor", str::to_string)?;
    match phase {
        Phase::Pretrain { generator, reconstructor } => {
            w.optimizer(&generator.opt, "generator")?;
            w.optimizer(&reconstructor.opt, "reconstructor")?;
            w.counter("step", generator.step);
        }
        Phase::Gan(s) => {
            w.module(&s.critic, "critic", str::to_string)?;
            w.optimizer(&s.generator_opt, "generator")?;
            w.optimizer(&s.reconstructor_opt, "reconstructor")?;
            w.optimizer(&s.critic_opt, "critic")?;
            w.counter("step", s.step);
            w.counter("critic_steps", s.critic_steps);
        }
    }
    w.header(FORMAT, config)?;
    w.metadata.insert("phase".into(), phase.name().into());
    w.metadata.insert("vocab".into(), vocab.to_text());
    w.extras(extra);
    w.into_bytes()
}

/// What [`to_bytes`] wrote, checked: format, config, vocabulary size, every tensor's shape.
pub struct Loaded {
    pub phase: Phase,
    pub config: UnpairedConfig,
    pub vocab: Vocab,
    pub metadata: HashMap<String, String>,
}

pub fn from_bytes(bytes: &[u8], device: &Device) -> Result<Loaded, RecordError> {
    let r = Reader::new(bytes)?;
    r.format(KIND, &[FORMAT])?;
    let config: UnpairedConfig = r.config()?;
    config.validate()?;
    let vocab =
        Vocab::from_text(r.meta("vocab")?).map_err(|e| RecordError::Vocab(e.to_string()))?;
    let (found, expected) = (vocab.len(), config.generator.model.vocab_size);
    if found != expected {
        return Err(RecordError::VocabSize { found, expected });
    }
    let load = |c: &SummarizerConfig, name| {
        r.module(PointerGenerator::new(&c.model, Init::Zeros, device), name, str::to_string)
    };
    let generator = load(&config.generator, "generator")?;
    let reconstructor = load(&config.reconstructor, "reconstructor")?;
    let step = r.meta_u64("step")?;
    let phase = match r.meta("phase")? {
        "pretrain" => {
            // A page bundle ([`bundle_bytes`]) has no optimizer states: fresh ones, which is
            // all the GAN phase needs (it starts its own).
            let bundle = is_bundle(&r.metadata);
            let opt = |c: &SummarizerConfig, m: &PointerGenerator, name| {
                let fresh = crate::summarize::train::optimizer(c).init();
                if bundle { Ok(fresh) } else { r.optimizer(fresh, m, name, device) }
            };
            let g_opt = opt(&config.generator, &generator, "generator")?;
            let r_opt = opt(&config.reconstructor, &reconstructor, "reconstructor")?;
            Phase::Pretrain {
                generator: TrainState { model: trainable(generator), opt: g_opt, step },
                reconstructor: TrainState { model: trainable(reconstructor), opt: r_opt, step },
            }
        }
        "gan" => {
            let fresh = config.critic.init(&mut crate::rng::Rng::new(0), device);
            let critic = r.module(fresh.valid(), "critic", str::to_string)?;
            let opt = |c: &OptimizerConfig, m: &PointerGenerator, name| {
                r.optimizer(c.init(), m, name, device)
            };
            let g_opt = opt(&config.generator_optimizer, &generator, "generator")?;
            let r_opt = opt(&config.reconstructor_optimizer, &reconstructor, "reconstructor")?;
            let c_opt = r.optimizer(config.critic_optimizer.init(), &critic, "critic", device)?;
            Phase::Gan(UnpairedState {
                generator: trainable(generator),
                reconstructor: trainable(reconstructor),
                critic: critic.trainable(),
                generator_opt: g_opt,
                reconstructor_opt: r_opt,
                critic_opt: c_opt,
                step,
                critic_steps: r.meta_u64("critic_steps")?,
            })
        }
        other => {
            let e = format!("unknown phase '{other}' (expected pretrain or gan)");
            return Err(RecordError::Config(e));
        }
    };
    Ok(Loaded { phase, config, vocab, metadata: r.metadata.clone() })
}

/// The bundle key that marks a pretrained run without optimizer states.
const NO_OPTIMIZER: &str = "optimizer_state";

/// True for a file written by [`bundle_bytes`]: it can start a GAN phase but not resume
/// pretraining exactly.
pub fn is_bundle(metadata: &HashMap<String, String>) -> bool {
    metadata.get(NO_OPTIMIZER).is_some_and(|v| v == "none")
}

/// A pretrained generator and reconstructor in float16, without optimizer states, with a
/// sample of the run's corpus (one document or summary per line, words joined by spaces):
/// what the page's Unpaired tab trains from. `config` is the GAN phase's (the page's batch
/// and learning rates). It loads with [`from_bytes`] as a pretraining run.
pub fn bundle_bytes(
    generator: &PointerGenerator,
    reconstructor: &PointerGenerator,
    config: &UnpairedConfig,
    vocab: &Vocab,
    documents: &[Vec<String>],
    summaries: &[Vec<String>],
) -> Result<Vec<u8>, RecordError> {
    let mut w = Writer::default();
    w.module_at(generator, "generator", str::to_string, Precision::F16)?;
    w.module_at(reconstructor, "reconstructor", str::to_string, Precision::F16)?;
    let lines =
        |rows: &[Vec<String>]| rows.iter().map(|r| r.join(" ")).collect::<Vec<_>>().join("\n");
    w.header(FORMAT, config)?;
    w.metadata.insert("phase".into(), "pretrain".into());
    w.counter("step", 0);
    w.metadata.insert(NO_OPTIMIZER.into(), "none".into());
    w.metadata.insert("vocab".into(), vocab.to_text());
    w.extras(&[("documents", lines(documents)), ("summaries", lines(summaries))]);
    w.into_bytes()
}

/// Tokenized sentences: one word list per document or summary.
pub type Sentences = Vec<Vec<String>>;

/// The corpus sample a bundle carries: (documents, summaries) as words.
pub fn bundle_corpus(
    metadata: &HashMap<String, String>,
) -> Result<(Sentences, Sentences), RecordError> {
    let rows = |key: &str| -> Result<Sentences, RecordError> {
        let text = metadata.get(key).ok_or_else(|| {
            RecordError::Config(format!("the file has no {key}: it is not a page bundle"))
        })?;
        let rows: Sentences = text.lines().map(words).filter(|r| !r.is_empty()).collect();
        if rows.is_empty() {
            return Err(RecordError::Config(format!("the bundle's {key} are empty")));
        }
        Ok(rows)
    };
    Ok((rows("extra.documents")?, rows("extra.summaries")?))
}
