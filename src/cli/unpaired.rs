//! `earthmover unpaired …`: Wang & Lee's unpaired summarization, on the Debian descriptions or
//! on news (CNN/DailyMail first sentences and other articles' highlights, `--corpus cnndm`).
//! `pretrain` teaches generator and reconstructor subsequences, `train` runs the GAN phase
//! from a pretrained run, `eval` scores a run on held-out true pairs beside Lead-N (N tuned on
//! the validation pairs), `run` summarizes stdin, `export` writes the generator for the page.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::tensor::{Device, Tensor};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Subcommand};

use crate::cli::driver::{Cadence, ResumeArgs, Run, RunFolder, Unsaved, drive};
use crate::cli::summarize::{DecodeOverrides, ExportArgs, decode};
use crate::device::{self, DeviceChoice};
use crate::gan::Objective;
use crate::summarize::store::Precision;
use crate::summarize::train::{TrainState, frozen};
use crate::summarize::vocab::Vocab;
use crate::summarize::{PointerGenerator, SummarizerConfig, block_on};
use crate::text::data::Pair;
use crate::text::{rouge, tokenize};
use crate::unpaired::config::{
    Method, PretrainConfig, PretrainTarget, UnpairedConfig, objective_from_name,
};
use crate::unpaired::data::{Unpaired, cnndm_news, debian};
use crate::unpaired::lm::SummaryLm;
use crate::unpaired::search;
use crate::unpaired::store::{self, Phase};
use crate::unpaired::train::{
    Corpus, UnpairedReport, UnpairedState, UnpairedValues, pretrain_step, summary_words, train_step,
};

#[derive(Subcommand)]
pub enum UnpairedCommand {
    /// Pretrain generator and reconstructor on document subsequences (no pairs used).
    Pretrain(PretrainArgs),
    /// The GAN phase, from a pretrained run: critic, generator, reconstructor.
    Train(GanArgs),
    /// ROUGE of a run's summaries on held-out true pairs, beside Lead-N.
    Eval(EvalArgs),
    /// Summarize a document read from stdin.
    Run(RunArgs),
    /// Write the generator as a pointer-generator file the Summarize page loads.
    Export(ExportArgs),
    /// Write a pretrained run with a sample of its corpus: what the page's Unpaired tab trains.
    Bundle(BundleArgs),
    /// Average the generators of one run's checkpoints (Polyak averaging) into one file that
    /// eval, run and export read.
    Average(AverageArgs),
    /// Headlines by search, without training: each summary's words are picked from the
    /// document by the summaries' bigram, the documents' idf and the words' style; scored on
    /// held-out pairs beside Lead-N.
    Search(SearchArgs),
}

/// Which unpaired setting `--data` holds.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setting {
    /// `long2synopsis.tsv(.gz)`: descriptions and synopses from disjoint halves of the packages.
    Debian,
    /// The CNN/DailyMail folder: lead sentences as documents, other articles' highlight
    /// sentences as summaries (Wang & Lee's transfer rows); evaluated on val's lead sentences
    /// against their most overlapping highlight (val: the tuning part, test: the reporting part).
    #[value(name = "cnndm", alias = "cnndm-transfer")]
    Cnndm,
    /// A page bundle (`unpaired bundle`): its own sample of documents and summaries, without
    /// true pairs (so it trains, but does not evaluate).
    Bundle,
}

/// Where the documents and summaries come from: every command that reads a corpus.
#[derive(Args, Debug)]
pub struct CorpusArgs {
    /// Document<TAB>summary lines (the Debian long2synopsis.tsv.gz), or the CNN/DailyMail folder
    /// with --corpus cnndm.
    #[arg(long)]
    data: PathBuf,
    #[arg(long, value_enum, default_value_t = Setting::Debian)]
    corpus: Setting,
}

#[derive(Args, Debug)]
pub struct Common {
    #[command(flatten)]
    source: CorpusArgs,
    /// The run's folder: checkpoint.safetensors, metrics.jsonl, config.toml.
    #[arg(long)]
    out: PathBuf,
    /// Generator updates to reach in total.
    #[arg(long)]
    steps: u64,
    #[command(flatten)]
    run: ResumeArgs,
    #[arg(long, default_value_t = 100)]
    checkpoint_every: u64,
    /// Metrics (and, in the GAN phase, sample summaries) every this many updates.
    #[arg(long, default_value_t = 50)]
    log_every: u64,
    #[arg(long, value_enum, default_value_t = DeviceChoice::Cpu)]
    device: DeviceChoice,
}

#[derive(Args, Debug)]
pub struct PretrainArgs {
    #[command(flatten)]
    common: Common,
    /// Words in the shared vocabulary, the 4 special tokens included (default 8,000).
    #[arg(long)]
    vocab_size: Option<usize>,
    /// Documents per batch (default 32; Wang & Lee: 96).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Word-embedding size of generator and reconstructor (default 128; Wang & Lee: 300).
    #[arg(long)]
    emb: Option<usize>,
    /// LSTM size of generator and reconstructor (default 128; Wang & Lee: 600).
    #[arg(long)]
    hidden: Option<usize>,
    /// The run's seed (default 0).
    #[arg(long)]
    seed: Option<u64>,
    /// What the generator learns to write: span (Wang & Lee's code: 6–11 consecutive words
    /// from 0–10 words in) or subsequence (random words in order). Default: span for cnndm,
    /// subsequence for debian (what the shipped Debian model used).
    #[arg(long, value_parser = PossibleValuesParser::new(["span", "subsequence"]).map(|t| match t.as_str() {
        "span" => PretrainConfig::wang_lee().target,
        _ => PretrainTarget::Subsequence,
    }))]
    pretrain_target: Option<PretrainTarget>,
    /// Each document word is dropped from the generator's input with this probability
    /// (default 1/16 for cnndm, Wang & Lee's code; 0 for debian).
    #[arg(long)]
    source_dropout: Option<f64>,
    /// The generator's coverage loss weight (default 0.1 for cnndm, Wang & Lee's code, with a
    /// coverage-aware attention; 0 for debian, without). 0 turns coverage off.
    #[arg(long)]
    coverage_loss: Option<f64>,
}

#[derive(Args, Debug)]
pub struct GanArgs {
    #[command(flatten)]
    common: Common,
    /// The pretrained run to start from (its folder or checkpoint).
    #[arg(long)]
    from: Option<PathBuf>,
    /// distributions (method 1: the critic reads the generator's distributions) or reinforce
    /// (method 2: the critic's score of sampled words is the reward).
    /// (default distributions)
    #[arg(long, value_parser = parse_method)]
    method: Option<Method>,
    /// The critic's objective: wgan-gp (λ 10, the default), ct-gan, wgan or gan.
    #[arg(long, value_parser = parse_objective)]
    objective: Option<Objective>,
    /// The generator's Adam learning rate in the GAN phase (default 5e-5, Wang & Lee's, who
    /// train far longer than a CPU allows). Set when the run starts; saved with it.
    #[arg(long)]
    generator_lr: Option<f64>,
    /// Method 2's per-step discount of the critic's rewards (default: the pretrained run's,
    /// 0.3 for cnndm as in Wang & Lee's code).
    #[arg(long)]
    discount: Option<f64>,
    /// Critic updates before the first generator update (default: the pretrained run's, 500
    /// for cnndm as in Wang & Lee's code).
    #[arg(long)]
    critic_warmup: Option<u64>,
    /// Critic updates per generator update (default 3, Wang & Lee's).
    #[arg(long)]
    n_critic: Option<usize>,
    /// Weight of the language-model prior (SEQ³): each sampled word's log-probability under a
    /// Kneser–Ney bigram of the human summaries, centred on theirs, joins its reward. Default
    /// 0 (off, Wang & Lee's recipe).
    #[arg(long)]
    lm_weight: Option<f64>,
    /// The bigram's Kneser–Ney discount (default 0.75).
    #[arg(long)]
    lm_discount: Option<f64>,
    /// Whether a generated [UNK] earns the bigram's reward (default false: the summaries'
    /// bigram rates strings of [UNK] highly).
    #[arg(long)]
    lm_reward_unk: Option<bool>,
}

/// `--method`, by any of the library's names.
fn parse_method(m: &str) -> Result<Method, String> {
    Method::from_name(m)
        .ok_or_else(|| format!("unknown --method '{m}': choose {}", Method::NAMES.join(" or ")))
}

/// `--objective`, with this setting's λ.
fn parse_objective(o: &str) -> Result<Objective, String> {
    objective_from_name(o)
        .ok_or_else(|| format!("unknown --objective '{o}': choose wgan-gp, ct-gan, wgan or gan"))
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// A run's folder or checkpoint.
    #[arg(long)]
    model: PathBuf,
    #[command(flatten)]
    source: CorpusArgs,
    #[command(flatten)]
    pairs: PairArgs,
    #[command(flatten)]
    decode: DecodeOverrides,
}

/// Which held-out pairs `eval` and `search` score, and where their summaries go.
#[derive(Args, Debug)]
pub struct PairArgs {
    /// test (the reported pairs) or val (the tuning part).
    #[arg(long, default_value = "test")]
    split: String,
    #[arg(long)]
    limit: Option<usize>,
    /// Also write the summaries and Lead-N's with their documents and references (JSON lines).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct SearchArgs {
    #[command(flatten)]
    source: CorpusArgs,
    #[command(flatten)]
    pairs: PairArgs,
    /// Words per summary (default 9, or the --model file's).
    #[arg(long)]
    words: Option<usize>,
    /// The score's weights, comma-separated: lm,first,idf,style,start,gap,skip,salience
    /// (default 1,0,1,2,1.6,4,0.5,3, chosen on the tuning part; see
    /// `unpaired::search::SearchConfig`).
    #[arg(long, value_delimiter = ',')]
    weights: Option<Vec<f64>>,
    /// Search with this file's statistics and settings (`--export`'s) instead of fitting them.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Write the fitted search as one file, which `--model`, `unpaired run` and the page read.
    #[arg(long)]
    export: Option<PathBuf>,
    /// The summaries' bigram's Kneser–Ney discount.
    #[arg(long, default_value_t = 0.75)]
    lm_discount: f64,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[arg(long)]
    model: PathBuf,
    #[command(flatten)]
    decode: DecodeOverrides,
}

#[derive(Args, Debug)]
pub struct BundleArgs {
    /// A pretraining run (its folder or checkpoint).
    #[arg(long)]
    model: PathBuf,
    /// The corpus the run was pretrained on.
    #[command(flatten)]
    source: CorpusArgs,
    #[arg(long)]
    out: PathBuf,
    /// Documents to carry (the first ones of the document half).
    #[arg(long, default_value_t = 2000)]
    documents: usize,
    /// Human summaries to carry (the first ones of the summary half).
    #[arg(long, default_value_t = 2000)]
    summaries: usize,
    /// Documents per GAN batch in the page (a browser CPU step must stay short).
    #[arg(long, default_value_t = 16)]
    batch_size: usize,
    /// The generator's learning rate in the page, high so that a few hundred steps show.
    #[arg(long, default_value_t = 1e-3)]
    generator_lr: f64,
    /// Critic updates before the page's first generator update (0: the page shows the
    /// generator move from the first update; the news setting's own default is 500).
    #[arg(long, default_value_t = 0)]
    critic_warmup: u64,
}

#[derive(Args, Debug)]
pub struct AverageArgs {
    /// Checkpoints of one GAN-phase run (files or folders), two or more; the last one gives
    /// the reconstructor, critic and optimizer states.
    #[arg(required = true, num_args = 2..)]
    models: Vec<PathBuf>,
    #[arg(long)]
    out: PathBuf,
}

pub fn run(cmd: UnpairedCommand) -> Result<()> {
    match cmd {
        UnpairedCommand::Pretrain(a) => pretrain(a),
        UnpairedCommand::Train(a) => gan(a),
        UnpairedCommand::Eval(a) => eval(a),
        UnpairedCommand::Run(a) => run_one(a),
        UnpairedCommand::Export(a) => export(a),
        UnpairedCommand::Bundle(a) => bundle(a),
        UnpairedCommand::Average(a) => average(a),
        UnpairedCommand::Search(a) => search_eval(a),
    }
}

fn load(path: &Path, device: &Device) -> Result<store::Loaded> {
    let file = super::file_in(path, super::CHECKPOINT);
    store::from_bytes(&super::read(&file)?, device)
        .with_context(|| format!("cannot load {}", file.display()))
}

fn read_data(source: &CorpusArgs) -> Result<Unpaired> {
    let (path, corpus) = (source.data.as_path(), source.corpus);
    eprintln!("reading {} …", path.display());
    let (data, report) = match corpus {
        Setting::Debian => debian(path, 50),
        Setting::Cnndm => cnndm_news(path, 50),
        Setting::Bundle => return bundle_data(path),
    }
    .with_context(|| format!("cannot read {}", path.display()))?;
    super::report_bad(path, &report);
    if data.documents.is_empty() || data.summaries.is_empty() {
        bail!(
            "{} gave {} documents and {} summaries of at most 50 tokens: unpaired training needs both",
            path.display(),
            data.documents.len(),
            data.summaries.len()
        );
    }
    eprintln!(
        "{} documents and {} summaries (from disjoint halves), {} val and {} test pairs",
        data.documents.len(),
        data.summaries.len(),
        data.val.len(),
        data.test.len()
    );
    Ok(data)
}

/// A page bundle's corpus sample (no true pairs).
fn bundle_data(path: &Path) -> Result<Unpaired> {
    let bytes = super::read(path)?;
    let reader = crate::record::Reader::new(&bytes)
        .with_context(|| format!("{} is not a safetensors file", path.display()))?;
    let (documents, summaries) = store::bundle_corpus(&reader.metadata)
        .with_context(|| format!("cannot read the corpus of {}", path.display()))?;
    eprintln!("{} documents and {} summaries from the bundle", documents.len(), summaries.len());
    Ok(Unpaired { documents, summaries, ..Unpaired::default() })
}

/// Writes the pretraining flags that were given (all but --vocab-size, which the vocabulary
/// decides) over `config`: a new run's defaults, or a copy of a resumed run's saved config.
fn apply_pretrain_flags(a: &PretrainArgs, config: &mut UnpairedConfig) -> Result<()> {
    super::set(a.seed.map(|seed| config.clone().with_seed(seed)), config);
    config.batch_size = a.batch_size.unwrap_or(config.batch_size);
    config.pretrain.target = a.pretrain_target.unwrap_or(config.pretrain.target);
    config.pretrain.source_dropout = a.source_dropout.unwrap_or(config.pretrain.source_dropout);
    if let Some(w) = a.coverage_loss {
        if !(w.is_finite() && w >= 0.0) {
            bail!("--coverage-loss must be a number ≥ 0, not {w}");
        }
        config.generator.model.coverage = w > 0.0;
        config.generator.train.cov_loss_weight = w;
    }
    for m in [&mut config.generator.model, &mut config.reconstructor.model] {
        m.emb = a.emb.unwrap_or(m.emb);
        m.hidden = a.hidden.unwrap_or(m.hidden);
    }
    Ok(())
}

fn pretrain(a: PretrainArgs) -> Result<()> {
    let c = &a.common;
    let (cadence, folder) = (cadence(c)?, RunFolder::create(&c.out)?);
    let device = device::native(c.device)?.announce();
    let data = read_data(&c.source)?;
    let (generator, reconstructor, config, vocab) = if c.run.resume {
        let l = load(&c.out, &device)?;
        if store::is_bundle(&l.metadata) {
            bail!(
                "{} is a page bundle without optimizer states: it can start a GAN phase (`unpaired train --from`), but pretraining cannot resume from it exactly",
                c.out.display()
            );
        }
        let mut wanted = l.config.clone();
        if let Some(v) = a.vocab_size {
            wanted.generator.model.vocab_size = v;
            wanted.reconstructor.model.vocab_size = v;
        }
        apply_pretrain_flags(&a, &mut wanted)?;
        folder.refuse_changed_settings(&l.config, &wanted)?;
        let Phase::Pretrain { generator, reconstructor } = l.phase else {
            bail!(
                "{} holds a GAN-phase run; resume it with `unpaired train --resume`",
                c.out.display()
            )
        };
        (generator, reconstructor, l.config, l.vocab)
    } else {
        let words = data.documents.iter().chain(&data.summaries).flatten().map(String::as_str);
        let vocab_size = a.vocab_size.unwrap_or(8000);
        let vocab = Vocab::build(words, vocab_size)?;
        if vocab.len() < vocab_size {
            eprintln!(
                "the data has only {} distinct words: the vocabulary has {}",
                vocab.len() - 4,
                vocab.len()
            );
        }
        let mut config = match c.source.corpus {
            Setting::Cnndm => UnpairedConfig::news(vocab.len()),
            _ => UnpairedConfig::debian(vocab.len()),
        }
        .with_seed(0);
        apply_pretrain_flags(&a, &mut config)?;
        config.validate()?;
        let g = TrainState::new(&config.generator, &device);
        let r = TrainState::new(&config.reconstructor, &device);
        (g, r, config, vocab)
    };
    let mut metrics = folder.start(&config, c.run.resume.then_some(generator.step))?;
    let corpus = Corpus::new(&data.documents, &data.summaries, &vocab);
    eprintln!(
        "pretraining · vocab {} · batch {} · generator ≤{}→{} tokens, reconstructor ≤{}→{}",
        vocab.len(),
        config.batch_size,
        config.generator.train.max_enc,
        config.generator.train.max_dec,
        config.reconstructor.train.max_enc,
        config.reconstructor.train.max_dec
    );
    let mut run = PretrainRun {
        config: &config,
        vocab: &vocab,
        corpus: &corpus,
        nll: PretrainLine::default(),
    };
    let ((g, _), _) = drive(&mut run, (generator, reconstructor), &folder, &cadence, &mut metrics)?;
    println!("pretrained to step {}. Wrote {}", g.step, c.out.display());
    Ok(())
}

/// The cadence of both phases' flags.
fn cadence(c: &Common) -> Result<Cadence> {
    Cadence::new(c.steps, ("--log-every", c.log_every), c.checkpoint_every, c.run.max_minutes)
}

/// `unpaired pretrain` as the driver's [`Run`].
struct PretrainRun<'a> {
    config: &'a UnpairedConfig,
    vocab: &'a Vocab,
    corpus: &'a Corpus<'a>,
    /// The last step's losses.
    nll: PretrainLine,
}

/// One line of a pretraining run's metrics.jsonl.
#[derive(serde::Serialize, Clone, Copy, Default)]
struct PretrainLine {
    generator_nll: f64,
    reconstructor_nll: f64,
}

impl Run for PretrainRun<'_> {
    type State = (TrainState, TrainState);

    fn advance(&mut self, (g, r): Self::State) -> Result<Self::State> {
        let (g, r, nll) = pretrain_step(g, r, self.config, self.corpus);
        let v = block_on(crate::nn::read_floats(Tensor::cat(nll.to_vec(), 0), 2))?;
        if !v.iter().all(|v| v.is_finite()) {
            bail!("the losses diverged to NaN");
        }
        self.nll = PretrainLine { generator_nll: v[0], reconstructor_nll: v[1] };
        Ok((g, r))
    }

    fn message(&self) -> String {
        let PretrainLine { generator_nll: g, reconstructor_nll: r } = self.nll;
        format!("generator nll {g:.3} · reconstructor nll {r:.3}")
    }

    fn log(&mut self, _: &Self::State, _: f64) -> Result<impl serde::Serialize> {
        Ok(self.nll)
    }

    fn checkpoint(&self, (g, r): &Self::State) -> std::result::Result<Vec<u8>, Unsaved> {
        let phase = Phase::Pretrain { generator: g.clone(), reconstructor: r.clone() };
        Ok(store::to_bytes(&phase, self.config, self.vocab, &[])?)
    }
}

/// `unpaired train` (the GAN phase) as the driver's [`Run`].
struct GanPhaseRun<'a> {
    config: &'a UnpairedConfig,
    vocab: &'a Vocab,
    corpus: &'a Corpus<'a>,
    report: Option<(UnpairedReport, UnpairedValues)>,
}

/// One line of a GAN-phase run's metrics.jsonl, with sample summaries.
#[derive(serde::Serialize)]
struct GanPhaseLine {
    critic_estimate: f64,
    penalty: f64,
    adversarial: f64,
    reconstruction_nll: f64,
    advantage: f64,
    lm_log_prob: Option<f64>,
    /// The rewards' scales in the generator's loss: reconstruction, critic, LM prior.
    reward_scale: [f64; 3],
    samples: Vec<String>,
}

impl Run for GanPhaseRun<'_> {
    type State = UnpairedState;

    fn advance(&mut self, state: UnpairedState) -> Result<UnpairedState> {
        let (state, report) = train_step(state, self.config, self.corpus)?;
        let values = report.values()?;
        self.report = Some((report, values));
        if !values.all_finite() {
            bail!("the losses diverged to NaN");
        }
        Ok(state)
    }

    fn message(&self) -> String {
        let Some((report, v)) = &self.report else {
            return String::new();
        };
        format!(
            "critic {:.3} · reconstruction nll {:.3} · advantage {:+.3}",
            v.estimate, v.reconstruction, report.advantage
        )
    }

    fn log(&mut self, _: &UnpairedState, _: f64) -> Result<impl serde::Serialize> {
        let (report, v) = self.report.as_ref().context("no step was taken")?;
        Ok(GanPhaseLine {
            critic_estimate: v.estimate,
            penalty: v.penalty,
            adversarial: v.adversarial,
            reconstruction_nll: v.reconstruction,
            advantage: report.advantage,
            lm_log_prob: report.lm_log_prob,
            reward_scale: report.reward_scale,
            samples: report
                .samples
                .iter()
                .map(|w| summary_words(w, self.vocab).join(" "))
                .collect(),
        })
    }

    fn checkpoint(&self, state: &UnpairedState) -> std::result::Result<Vec<u8>, Unsaved> {
        Ok(store::to_bytes(&Phase::Gan(state.clone()), self.config, self.vocab, &[])?)
    }
}

fn gan(a: GanArgs) -> Result<()> {
    let c = &a.common;
    let (cadence, folder) = (cadence(c)?, RunFolder::create(&c.out)?);
    let device = device::native(c.device)?.announce();
    let data = read_data(&c.source)?;
    if let Some(lr) = a.generator_lr {
        check_generator_lr(lr)?;
    }
    let (state, config, vocab) = if c.run.resume {
        if a.from.is_some() || a.generator_lr.is_some() {
            bail!(
                "--resume continues --out with its saved settings; --from and --generator-lr only start a run"
            );
        }
        let store::Loaded { phase: Phase::Gan(state), config, vocab, .. } = load(&c.out, &device)?
        else {
            bail!("{} holds a pretraining run; start the GAN phase with --from", c.out.display())
        };
        let mut wanted = config.clone();
        apply_gan_flags(&a, &mut wanted);
        folder.refuse_changed_settings(&config, &wanted)?;
        (state, config, vocab)
    } else {
        let from = a.from.as_ref().context("the GAN phase starts --from a pretrained run")?;
        let l = load(from, &device)?;
        let mut config = l.config.clone();
        if let Phase::Gan(_) = l.phase {
            // A branch of a GAN-phase run: its weights, optimizers and step counter (so its
            // data draws continue as the original run's would), with new reward settings;
            // what would change the run's nature is refused by name.
            let fixed: [(&str, bool); 4] = [
                ("--method", a.method.is_some_and(|m| m != config.method)),
                ("--objective", a.objective.as_ref().is_some_and(|o| *o != config.objective)),
                ("--generator-lr", a.generator_lr.is_some()),
                ("--critic-warmup", a.critic_warmup.is_some()),
            ];
            if let Some((flag, _)) = fixed.iter().find(|g| g.1) {
                bail!(
                    "{} is a GAN-phase checkpoint: a branch from it keeps its {}; start from a pretrained run to change it",
                    from.display(),
                    &flag[2..]
                );
            }
        } else {
            config.method = Method::Distributions;
            config.objective = Objective::WganGp { lambda: 10.0 };
        }
        apply_gan_flags(&a, &mut config);
        config.validate()?;
        let state = match l.phase {
            Phase::Gan(state) => {
                eprintln!("branching {} at step {}", from.display(), state.step);
                state
            }
            Phase::Pretrain { generator, reconstructor } => {
                UnpairedState::new(generator.model, reconstructor.model, &config, &device)
            }
        };
        (state, config, l.vocab)
    };
    let mut metrics = folder.start(&config, c.run.resume.then_some(state.step))?;
    // The summaries' bigram: the LM prior when its weight is above 0, and in every run the
    // fluency figure the metrics log (lm_log_prob).
    let lm = SummaryLm::fit(&data.summaries, &vocab, config.lm_prior.discount)?;
    let corpus = Corpus::new(&data.documents, &data.summaries, &vocab).with_lm(&lm);
    eprintln!(
        "the human summaries' bigram: {:.2} nats per word (lm_log_prob in metrics.jsonl)",
        lm.mean_log_prob()
    );
    eprintln!(
        "GAN phase · {} · {} critic · {} critic steps per update · batch {} · generator lr {:e} · LM prior {}",
        config.method.name(),
        config.objective.name(),
        config.n_critic,
        config.batch_size,
        config.generator_optimizer.lr(),
        config.lm_prior.weight
    );
    let mut run = GanPhaseRun { config: &config, vocab: &vocab, corpus: &corpus, report: None };
    let (state, _) = drive(&mut run, state, &folder, &cadence, &mut metrics)?;
    println!("GAN phase at step {}. Wrote {}", state.step, c.out.display());
    Ok(())
}

/// Writes the GAN-phase flags that were given over `config`: a new phase's, a branch's (which
/// refuses the settings that would change the run's nature) or a copy of a resumed run's.
fn apply_gan_flags(a: &GanArgs, config: &mut UnpairedConfig) {
    config.method = a.method.unwrap_or(config.method);
    super::set(a.objective.clone(), &mut config.objective);
    if let Some(lr) = a.generator_lr {
        config.generator_optimizer = config.generator_optimizer.clone().with_lr(lr);
    }
    config.critic_warmup = a.critic_warmup.unwrap_or(config.critic_warmup);
    config.discount = a.discount.unwrap_or(config.discount);
    config.n_critic = a.n_critic.unwrap_or(config.n_critic);
    config.lm_prior.weight = a.lm_weight.unwrap_or(config.lm_prior.weight);
    config.lm_prior.discount = a.lm_discount.unwrap_or(config.lm_prior.discount);
    config.lm_prior.unk_neutral = a.lm_reward_unk.map_or(config.lm_prior.unk_neutral, |r| !r);
}

/// Refuses a generator learning rate outside (0, 1].
fn check_generator_lr(lr: f64) -> Result<()> {
    if !(lr.is_finite() && lr > 0.0 && lr <= 1.0) {
        bail!("--generator-lr must be a number in (0, 1], not {lr}");
    }
    Ok(())
}

/// The generator's beam-search summary of one tokenized document.
fn summary_of(
    model: &PointerGenerator,
    config: &SummarizerConfig,
    vocab: &Vocab,
    doc: &[String],
) -> Result<String> {
    Ok(decode(model, vocab, doc, config).context("cannot summarize")?.tokens.join(" "))
}

/// Mean length in words.
fn mean_words(texts: &[String]) -> f64 {
    let total: usize = texts.iter().map(|t| t.split_whitespace().count()).sum();
    total as f64 / texts.len().max(1) as f64
}

fn lead_words(doc: &str, n: usize) -> String {
    doc.split_whitespace().take(n).collect::<Vec<_>>().join(" ")
}

/// The N of Lead-N (first N words) with the best mean ROUGE F1 on `pairs`.
fn tune_lead(pairs: &[Pair]) -> usize {
    let refs: Vec<String> = pairs.iter().map(|p| p.summary.clone()).collect();
    (1..=50)
        .map(|n| {
            let cands: Vec<String> = pairs.iter().map(|p| lead_words(&p.article, n)).collect();
            let s = rouge::corpus(&cands, &refs, false);
            (n, s.rouge1 + s.rouge2 + s.rouge_l)
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map_or(8, |(n, _)| n)
}

/// What `eval` scores: an unpaired run's generator (with its reconstructor), or an exported
/// pointer-generator file such as the page's `unpaired-debian.safetensors`.
struct Scored {
    generator: PointerGenerator,
    config: SummarizerConfig,
    vocab: Vocab,
    reconstructor: Option<(PointerGenerator, SummarizerConfig)>,
    phase: &'static str,
    metadata: std::collections::HashMap<String, String>,
}

fn load_scored(path: &Path, device: &Device) -> Result<Scored> {
    let file = super::file_in(path, super::CHECKPOINT);
    let bytes = super::read(&file)?;
    let reader = crate::record::Reader::new(&bytes)
        .with_context(|| format!("cannot load {}", file.display()))?;
    if reader.metadata.get("format").is_some_and(|f| f == store::FORMAT) {
        let l = store::from_bytes(&bytes, device)
            .with_context(|| format!("cannot load {}", file.display()))?;
        return Ok(Scored {
            generator: frozen(l.phase.generator()),
            config: l.config.generator.clone(),
            vocab: l.vocab,
            reconstructor: Some((frozen(l.phase.reconstructor()), l.config.reconstructor.clone())),
            phase: l.phase.name(),
            metadata: l.metadata,
        });
    }
    let l = crate::summarize::store::load(&bytes, device).with_context(|| {
        format!(
            "cannot load {}: neither an unpaired run nor a pointer-generator file",
            file.display()
        )
    })?;
    // The export's provenance, under the keys an unpaired run uses.
    let mut metadata: std::collections::HashMap<String, String> =
        l.extra.into_iter().map(|(k, v)| (format!("extra.{k}"), v)).collect();
    metadata.insert("step".into(), l.step.to_string());
    let export = l.kind == crate::summarize::store::Kind::Export;
    Ok(Scored {
        generator: frozen(&l.model),
        config: l.config,
        vocab: l.vocab,
        reconstructor: None,
        phase: if export { "export" } else { "checkpoint" },
        metadata,
    })
}

/// The pairs `--split` names, at most `limit`, and Lead-N's N tuned on the validation pairs.
fn eval_pairs<'a>(
    data: &'a Unpaired,
    source: &CorpusArgs,
    PairArgs { split, limit, .. }: &PairArgs,
) -> Result<(&'a [Pair], usize)> {
    let pairs = match split.as_str() {
        "test" => &data.test,
        "val" => &data.val,
        other => bail!("unknown --split '{other}': choose test or val"),
    };
    if pairs.is_empty() {
        bail!("{} has no {split} pairs to evaluate on", source.data.display());
    }
    if data.val.is_empty() {
        bail!(
            "{} has no validation pairs to tune Lead-N's N on: eval needs them (a page bundle has none)",
            source.data.display()
        );
    }
    Ok((&pairs[..limit.unwrap_or(pairs.len()).min(pairs.len())], tune_lead(&data.val)))
}

/// Summarizes each pair's document (with a progress bar) and writes the summaries to `--out`
/// as JSON lines with document, reference and Lead-N (and what `more` adds to the i-th line).
/// Returns ROUGE of the summaries beside Lead-N: the tuned `n`, Lead-8, the N nearest the
/// candidates' mean length, and that N counting only words (tokens with a letter or digit),
/// the fair baseline for summaries without punctuation.
fn score_pairs(
    pairs: &[Pair],
    n: usize,
    args: &PairArgs,
    mut summarize: impl FnMut(usize, &Pair) -> Result<String>,
    mut more: impl FnMut(usize, &str, &mut serde_json::Value) -> Result<()>,
) -> Result<serde_json::Value> {
    let bar = super::progress_bar(pairs.len() as u64, 0, "pairs");
    let cands = (pairs.iter().enumerate())
        .map(|(i, p)| summarize(i, p).inspect(|_| bar.inc(1)))
        .collect::<Result<Vec<_>>>()?;
    bar.finish_and_clear();
    if let Some(out) = &args.out {
        let mut lines = String::new();
        for (i, (p, c)) in pairs.iter().zip(&cands).enumerate() {
            let mut line = serde_json::json!({ "document": p.article, "reference": p.summary, "model": c, "lead": lead_words(&p.article, n) });
            more(i, c, &mut line)?;
            lines.push_str(&format!("{line}\n"));
        }
        super::write(out, lines.as_bytes())?;
    }
    let refs: Vec<String> = pairs.iter().map(|p| p.summary.clone()).collect();
    let row = |c: &[String]| {
        let s = rouge::corpus(c, &refs, false);
        serde_json::json!({ "mean_words": mean_words(c), "rouge1": s.rouge1, "rouge2": s.rouge2, "rougeL": s.rouge_l })
    };
    let lead_row = |n: usize, words_only: bool| {
        let leads: Vec<String> = pairs
            .iter()
            .map(|p| {
                let toks: Vec<&str> = p.article.split_whitespace().collect();
                let toks = if words_only { search::words(&toks) } else { toks };
                toks[..n.min(toks.len())].join(" ")
            })
            .collect();
        let mut r = row(&leads);
        r["n_words"] = n.into();
        r
    };
    let same_length = (mean_words(&cands).round() as usize).max(1);
    Ok(serde_json::json!({
        "pairs": pairs.len(),
        "model": row(&cands),
        "lead": lead_row(n, false),
        "lead8": lead_row(8, false),
        "lead_same_length": lead_row(same_length, false),
        "lead_words_same_length": lead_row(same_length, true),
        "reference_words": mean_words(&refs),
        "split": args.split,
    }))
}

fn eval(a: EvalArgs) -> Result<()> {
    let mut l = load_scored(&a.model, &Device::flex())?;
    a.decode.apply(&mut l.config.decode);
    l.config.validate()?;
    let data = read_data(&a.source)?;
    let (pairs, n) = eval_pairs(&data, &a.source, &a.pairs)?;
    let split = &a.pairs.split;
    let summary = |i: usize, p: &Pair| {
        let doc: Vec<String> = p.article.split_whitespace().map(str::to_string).collect();
        summary_of(&l.generator, &l.config, &l.vocab, &doc)
            .with_context(|| format!("{split} pair {}", i + 1))
    };
    // The first 10 lines also show what the reconstructor rebuilds from the hidden summary.
    // (An exported file has no reconstructor.)
    let reconstruction = |i: usize, c: &str, line: &mut serde_json::Value| {
        if let (true, Some((rec_model, rec))) = (i < 10, &l.reconstructor) {
            let words: Vec<String> = c.split_whitespace().map(str::to_string).collect();
            // An empty hidden summary has nothing to rebuild from: null, not "".
            line["reconstruction"] = if words.is_empty() {
                serde_json::Value::Null
            } else {
                let rebuilt = decode(rec_model, &l.vocab, &words, rec)
                    .with_context(|| format!("cannot reconstruct {split} pair {}", i + 1))?;
                serde_json::Value::String(rebuilt.tokens.join(" "))
            };
        }
        Ok(())
    };
    let mut report = score_pairs(pairs, n, &a.pairs, summary, reconstruction)?;
    report["phase"] = l.phase.into();
    report["decoding"] = serde_json::to_value(&l.config.decode)?;
    report["step"] = serde_json::to_value(l.metadata.get("step"))?;
    report["averaged_steps"] = serde_json::to_value(l.metadata.get(&format!("extra.{AVERAGED}")))?;
    report["unpaired_step"] = serde_json::to_value(l.metadata.get("extra.unpaired_step"))?;
    println!("{report}");
    Ok(())
}

/// Headlines by search ([`search::Searcher`]): fitted on the corpus's documents and summaries,
/// scored on held-out pairs like `eval`.
fn search_eval(a: SearchArgs) -> Result<()> {
    if a.words.is_some_and(|w| !(1..=50).contains(&w)) {
        bail!("--words must be 1 to 50, not {}", a.words.unwrap_or(0));
    }
    if !(a.lm_discount > 0.0 && a.lm_discount < 1.0) {
        bail!("--lm-discount must be in (0, 1), not {}", a.lm_discount);
    }
    let data = read_data(&a.source)?;
    let (pairs, n) = eval_pairs(&data, &a.source, &a.pairs)?;
    let mut searcher = match &a.model {
        Some(path) => read_searcher(path)?.with_context(|| {
            format!(
                "{} is not a search file (`unpaired search --export` writes one)",
                path.display()
            )
        })?,
        None => search::Searcher::fit(
            &data.documents,
            &data.repeated,
            &data.summaries,
            a.lm_discount,
            search::SearchConfig::default(),
        )?,
    };
    super::set(a.words, &mut searcher.config.words);
    if let Some(w) = &a.weights {
        let Ok(w) = <[f64; 8]>::try_from(w.as_slice()) else {
            bail!(
                "--weights takes 8 numbers (lm,first,idf,style,start,gap,skip,salience), not {}",
                w.len()
            );
        };
        let c = &mut searcher.config;
        [c.lm, c.first, c.idf, c.style, c.start, c.gap, c.skip, c.salience] = w;
    }
    searcher.config.validate()?;
    if let Some(path) = &a.export {
        let provenance = format!(
            "fitted by `unpaired search` on {} documents and {} summaries of {}",
            data.documents.len(),
            data.summaries.len(),
            a.source.data.display()
        );
        super::write(path, &searcher.to_bytes(&[("provenance", provenance)])?)?;
    }
    let summary = |_, p: &Pair| {
        Ok(searcher.summarize(&p.article.split_whitespace().collect::<Vec<_>>()).join(" "))
    };
    let mut report = score_pairs(pairs, n, &a.pairs, summary, |_, _, _| Ok(()))?;
    report["search"] = serde_json::to_value(&searcher.config)?;
    println!("{report}");
    Ok(())
}

/// The search file at `path` (`unpaired search --export`), or `None` when it holds something
/// else (a model file, or a run's folder, whose checkpoint is read); read once.
fn read_searcher(path: &Path) -> Result<Option<search::Searcher>> {
    let path = super::file_in(path, super::CHECKPOINT);
    let bytes = super::read(&path)?;
    let is_search = crate::record::Reader::new(&bytes)
        .is_ok_and(|r| r.metadata.get("format").is_some_and(|f| f == search::FORMAT));
    let load = || search::Searcher::from_bytes(&bytes);
    is_search.then(load).transpose().with_context(|| format!("cannot load {}", path.display()))
}

/// The words of the document on stdin.
fn read_document() -> Result<Vec<String>> {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).context("cannot read stdin")?;
    let doc = tokenize::tokenize(&text);
    if doc.is_empty() {
        bail!("the document on stdin has no words");
    }
    Ok(doc)
}

fn run_one(a: RunArgs) -> Result<()> {
    if let Some(searcher) = read_searcher(&a.model)? {
        println!("{}", searcher.summarize(&read_document()?).join(" "));
        return Ok(());
    }
    let mut l = load(&a.model, &Device::flex())?;
    a.decode.apply(&mut l.config.generator.decode);
    l.config.generator.validate()?;
    let doc = read_document()?;
    let model = frozen(l.phase.generator());
    println!("{}", summary_of(&model, &l.config.generator, &l.vocab, &doc)?);
    Ok(())
}

fn export(a: ExportArgs) -> Result<()> {
    let l = load(&a.model, &Device::flex())?;
    // An averaged generator keeps the steps it spans; every export keeps the run's phase and
    // step, so the file says where it came from.
    let averaged = l.metadata.get(&format!("extra.{AVERAGED}"));
    let mut extra: Vec<(&str, String)> =
        averaged.map(|v| (AVERAGED, v.clone())).into_iter().collect();
    extra.push(("unpaired_phase", l.phase.name().to_string()));
    if let Some(step) = l.metadata.get("step") {
        extra.push(("unpaired_step", step.clone()));
    }
    a.write(&frozen(l.phase.generator()), l.config.generator, &l.vocab, Precision::F16, &extra)
}

/// The metadata key listing the steps a file's generator averages.
const AVERAGED: &str = "averaged_steps";

fn average(a: AverageArgs) -> Result<()> {
    let device = Device::flex();
    let (mut generators, mut steps) = (vec![], vec![]);
    let mut last: Option<store::Loaded> = None;
    for path in &a.models {
        let l = load(path, &device)?;
        if !matches!(l.phase, Phase::Gan(_)) {
            bail!(
                "{} is a pretraining run: average the checkpoints of a GAN phase",
                path.display()
            );
        }
        if l.metadata.contains_key(&format!("extra.{AVERAGED}")) {
            bail!("{} is already an average: pass the run's own checkpoints", path.display());
        }
        if let Some(first) = &last
            && (toml::to_string(&l.config)? != toml::to_string(&first.config)?
                || l.vocab.to_text() != first.vocab.to_text())
        {
            bail!(
                "{} has another config or vocabulary than {}: average checkpoints of one run",
                path.display(),
                a.models[0].display()
            );
        }
        generators.push(frozen(l.phase.generator()));
        steps.push(l.metadata.get("step").cloned().unwrap_or_default());
        last = Some(l);
    }
    let mean =
        crate::nn::average(&generators).map_err(|e| anyhow::anyhow!("cannot average: {e}"))?;
    let Some(store::Loaded { phase: Phase::Gan(mut state), config, vocab, .. }) = last else {
        bail!("no GAN-phase checkpoints to average")
    };
    state.generator = crate::summarize::train::trainable(mean);
    let steps = steps.join(",");
    let bytes = store::to_bytes(&Phase::Gan(state), &config, &vocab, &[(AVERAGED, steps.clone())])?;
    super::write(&a.out, &bytes)?;
    println!(
        "wrote {}: the mean generator of {} checkpoints (steps {})",
        a.out.display(),
        generators.len(),
        steps.replace(',', ", ")
    );
    Ok(())
}

fn bundle(a: BundleArgs) -> Result<()> {
    let l = load(&a.model, &Device::flex())?;
    let Phase::Pretrain { generator, reconstructor } = &l.phase else {
        bail!("{} is a GAN-phase run: bundle a pretraining run", a.model.display())
    };
    if a.documents == 0 || a.summaries == 0 {
        bail!("--documents and --summaries must be at least 1");
    }
    check_generator_lr(a.generator_lr)?;
    let data = read_data(&a.source)?;
    let mut config = l.config.clone();
    config.batch_size = a.batch_size;
    config.generator_optimizer = config.generator_optimizer.with_lr(a.generator_lr);
    config.critic_warmup = a.critic_warmup;
    config.validate()?;
    let take = |rows: &[Vec<String>], n: usize| rows[..n.min(rows.len())].to_vec();
    let bytes = store::bundle_bytes(
        &frozen(&generator.model),
        &frozen(&reconstructor.model),
        &config,
        &l.vocab,
        &take(&data.documents, a.documents),
        &take(&data.summaries, a.summaries),
    )?;
    super::write(&a.out, &bytes)?;
    println!("wrote {} ({} bytes)", a.out.display(), bytes.len());
    Ok(())
}
