//! `earthmover summarize …` and `earthmover rouge`: train the pointer-generator, decode,
//! evaluate with ROUGE, write Lead-N baselines and export the model for the web page.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use burn::tensor::Device;
use clap::{Args, Subcommand};

use crate::cli::driver::{Cadence, ResumeArgs, Run, RunFolder, Unsaved, drive};
use crate::device::{self, DeviceChoice};
use crate::rng::Rng;
use crate::summarize::batch::{Batch, Example};
use crate::summarize::decode::{Summary, summarize};
use crate::summarize::input::read_article;
use crate::summarize::store::{self, Loaded, Precision};
use crate::summarize::train::{SummarizeValues, TrainState, eval_loss, frozen, train_step};
use crate::summarize::vocab::Vocab;
use crate::summarize::{DecodeConfig, OptimizerKind, SummarizerConfig, TrainConfig, block_on};
use crate::text::data::{Pair, read_parallel};
use crate::text::{rouge, tokenize};

#[derive(Subcommand)]
pub enum SummarizeCommand {
    /// Train a pointer-generator on line-parallel .source/.target files.
    Train(TrainArgs),
    /// Summarize an article read from stdin.
    Run(RunArgs),
    /// Decode every article of a .source file and score it against the .target with ROUGE.
    Eval(EvalArgs),
    /// Write the Lead-N baseline (the first N sentences) of every article.
    Lead(LeadArgs),
    /// Write a compact model file (f16 or int8 weights, vocabulary and config) for the web.
    Export(ExportArgs),
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Training data prefix: PREFIX.source(.gz) and PREFIX.target(.gz).
    #[arg(long)]
    data: PathBuf,
    /// Validation data prefix (same layout); its first batches give the validation loss.
    #[arg(long)]
    val: Option<PathBuf>,
    /// Output folder: checkpoint.safetensors, config.toml, vocab.txt, metrics.jsonl.
    #[arg(long, default_value = "runs/summarizer")]
    out: PathBuf,
    #[command(flatten)]
    run: ResumeArgs,
    /// Start from this model's weights and vocabulary (e.g. for the coverage phase).
    #[arg(long)]
    from: Option<PathBuf>,
    /// Train until this many updates in total.
    #[arg(long, default_value_t = 1000)]
    steps: u64,
    /// Use only the first N training pairs.
    #[arg(long)]
    limit: Option<usize>,
    /// Words in the fixed vocabulary, most frequent first (See et al.: 50,000).
    #[arg(long)]
    vocab_size: Option<usize>,
    /// Word embedding size (See et al.: 128).
    #[arg(long)]
    emb: Option<usize>,
    /// LSTM size, each direction (See et al.: 256).
    #[arg(long)]
    hidden: Option<usize>,
    /// Turn coverage on (See et al. fine-tune with it for the last 3,000 steps).
    #[arg(long)]
    coverage: bool,
    /// Plain attentional seq2seq (no copying).
    #[arg(long)]
    no_pointer: bool,
    /// Articles per update (See et al.: 16).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Article tokens read (See et al.: 400).
    #[arg(long)]
    max_enc: Option<usize>,
    /// Summary tokens trained on, [STOP] included (See et al.: 100).
    #[arg(long)]
    max_dec: Option<usize>,
    #[arg(long, value_enum)]
    optimizer: Option<OptimizerKind>,
    /// Learning rate (default: 0.15 for Adagrad, 1e-3 for Adam)
    #[arg(long)]
    lr: Option<f64>,
    /// σ of the initial weights (See et al.: 1e-4).
    #[arg(long)]
    init_std: Option<f64>,
    /// Seed of the initial weights and the batch order.
    #[arg(long)]
    seed: Option<u64>,
    #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
    device: DeviceChoice,
    /// Validation loss every this many updates.
    #[arg(long, default_value_t = 200)]
    eval_every: u64,
    /// Validation batches per evaluation.
    #[arg(long, default_value_t = 4)]
    val_batches: usize,
    /// Checkpoint every this many updates (and at the end).
    #[arg(long, default_value_t = 200)]
    checkpoint_every: u64,
}

/// Decoding settings that override a saved model's (`summarize` and `unpaired` share them).
#[derive(Args, Debug)]
pub struct DecodeOverrides {
    /// Greedy decoding instead of beam search.
    #[arg(long)]
    greedy: bool,
    #[arg(long)]
    beam: Option<usize>,
    /// [STOP] may not come before this step (it counts [STOP]).
    #[arg(long)]
    min_len: Option<usize>,
    #[arg(long)]
    max_len: Option<usize>,
    /// Never repeat a trigram.
    #[arg(long)]
    no_repeat_trigram: bool,
    /// Never repeat a word (headline-length summaries).
    #[arg(long)]
    no_repeat_word: bool,
    /// Exactly this many words ([STOP] blocked before, decoding ends there); replaces
    /// --min-len and --max-len. 0 clears a target saved in the file.
    #[arg(long)]
    target_len: Option<usize>,
    /// Factors on [STOP]'s probability at each step, comma-separated, `FxN` for N steps of F:
    /// Wang & Lee's is `0.1x7,0.5x3` (also `wang-lee`); `none` clears the file's.
    #[arg(long, value_parser = parse_stop_schedule)]
    stop_schedule: Option<StopSchedule>,
}

/// A parsed `--stop-schedule`.
#[derive(Clone, Debug)]
pub struct StopSchedule(pub Vec<f32>);

/// Parses `0.1x7,0.5x3`, `wang-lee` or `none`; names the bad part.
pub fn parse_stop_schedule(s: &str) -> Result<StopSchedule, String> {
    match s.trim() {
        "none" | "" => return Ok(StopSchedule(vec![])),
        "wang-lee" => return Ok(StopSchedule(DecodeConfig::wang_lee_stop_schedule())),
        _ => {}
    }
    let mut out = vec![];
    for part in s.split(',') {
        let (f, n) = part.trim().split_once('x').unwrap_or((part.trim(), "1"));
        let f: f32 = f.trim().parse().map_err(|_| format!("'{part}': not a factor"))?;
        let n: usize = n.trim().parse().map_err(|_| format!("'{part}': not a step count"))?;
        if !(f.is_finite() && f >= 0.0) {
            return Err(format!("'{part}': a factor must be a number ≥ 0"));
        }
        if out.len() + n > 10_000 {
            return Err("a schedule covers at most 10,000 steps".into());
        }
        out.extend(std::iter::repeat_n(f, n));
    }
    Ok(StopSchedule(out))
}

impl DecodeOverrides {
    /// Writes the given settings over `d`; the caller validates the result.
    pub fn apply(&self, d: &mut DecodeConfig) {
        d.greedy |= self.greedy;
        d.beam = self.beam.unwrap_or(d.beam);
        d.min_len = self.min_len.unwrap_or(d.min_len);
        d.max_len = self.max_len.unwrap_or(d.max_len);
        d.no_repeat_trigram |= self.no_repeat_trigram;
        d.no_repeat_word |= self.no_repeat_word;
        if let Some(n) = self.target_len {
            d.target_len = (n > 0).then_some(n);
        }
        if let Some(s) = &self.stop_schedule {
            d.stop_schedule = s.0.clone();
        }
    }
}

#[derive(Args, Debug)]
pub struct DecodeArgs {
    #[command(flatten)]
    overrides: DecodeOverrides,
    /// Article tokens read (default: what the model was trained on).
    #[arg(long)]
    max_enc: Option<usize>,
    #[arg(long, value_enum, default_value_t = DeviceChoice::Cpu)]
    device: DeviceChoice,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// A training folder, a checkpoint or an export.
    #[arg(long)]
    model: PathBuf,
    /// Also print JSON with p_gen for each output token and the attention matrix.
    #[arg(long)]
    explain: bool,
    #[command(flatten)]
    decode: DecodeArgs,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    #[arg(long)]
    model: PathBuf,
    /// Articles, one per line (plain or .gz).
    #[arg(long)]
    source: PathBuf,
    /// Reference summaries, line-parallel, sentences separated by <q>.
    #[arg(long)]
    target: PathBuf,
    /// Only the first N pairs.
    #[arg(long)]
    limit: Option<usize>,
    /// Also write the decoded summaries here, one per line.
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long)]
    stem: bool,
    #[command(flatten)]
    decode: DecodeArgs,
}

#[derive(Args, Debug)]
pub struct LeadArgs {
    /// Sentences to keep.
    #[arg(long, default_value_t = 3)]
    n: usize,
    /// Articles, one per line (plain or .gz).
    #[arg(long)]
    source: PathBuf,
    /// Output file (stdout if absent); sentences are separated by <q>.
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long)]
    limit: Option<usize>,
}

/// `summarize export` and `unpaired export`: a pointer-generator file the page loads.
#[derive(Args, Debug)]
pub struct ExportArgs {
    #[arg(long)]
    pub model: PathBuf,
    #[arg(long)]
    pub out: PathBuf,
    /// The stored weights (default: int8 for a supervised summarizer, f16 for an unpaired
    /// generator).
    #[arg(long, value_enum)]
    pub precision: Option<Precision>,
    /// Decoding settings to make the exported model's defaults (what the page uses), e.g.
    /// --no-repeat-trigram --min-len 50.
    #[command(flatten)]
    pub decode: DecodeOverrides,
    /// Article tokens the exported model reads by default (default: what it was trained on).
    #[arg(long)]
    pub max_enc: Option<usize>,
}

impl ExportArgs {
    /// Writes `model` with the flags' settings over `config`, and `extra` metadata.
    pub fn write(
        &self,
        model: &crate::summarize::PointerGenerator,
        mut config: SummarizerConfig,
        vocab: &Vocab,
        default_precision: Precision,
        extra: &[(&str, String)],
    ) -> Result<()> {
        let precision = self.precision.unwrap_or(default_precision);
        self.decode.apply(&mut config.decode);
        config.train.max_enc = self.max_enc.unwrap_or(config.train.max_enc);
        config.validate()?;
        let bytes = store::export_bytes_with(model, &config, vocab, precision, extra)?;
        super::write_atomic(&self.out, &bytes)
            .with_context(|| format!("cannot write {}", self.out.display()))?;
        println!(
            "wrote {} ({:.2} MB, {} weights, vocabulary {})",
            self.out.display(),
            bytes.len() as f64 / 1e6,
            format!("{precision:?}").to_lowercase(),
            vocab.len()
        );
        Ok(())
    }
}

#[derive(Args, Debug)]
pub struct RougeArgs {
    /// Candidate summaries, one per line.
    #[arg(long)]
    candidates: PathBuf,
    /// Reference summaries, one per line (<q> separates sentences).
    #[arg(long)]
    references: PathBuf,
    /// Porter stemming, as rouge-score's use_stemmer.
    #[arg(long)]
    stem: bool,
}

pub fn run(cmd: SummarizeCommand) -> Result<()> {
    match cmd {
        SummarizeCommand::Train(a) => train(a),
        SummarizeCommand::Run(a) => run_one(a),
        SummarizeCommand::Eval(a) => eval(a),
        SummarizeCommand::Lead(a) => lead(a),
        SummarizeCommand::Export(a) => export(a),
    }
}

const CHECKPOINT: &str = "checkpoint.safetensors";

/// Lines of a plain or gzipped text file (invalid UTF-8 is an error naming the line).
fn read_lines(path: &Path, limit: Option<usize>) -> Result<Vec<String>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut bytes = vec![];
    reader.read_to_end(&mut bytes).with_context(|| format!("cannot read {}", path.display()))?;
    let mut lines = vec![];
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if limit.is_some_and(|n| lines.len() >= n) {
            break;
        }
        let text = std::str::from_utf8(line)
            .map_err(|_| anyhow!("{} line {} is not valid UTF-8", path.display(), i + 1))?;
        lines.push(text.trim_end_matches('\r').to_string());
    }
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    Ok(lines)
}

/// `rouge-score`'s view of a summary: one sentence per line.
fn sentences(summary: &str) -> String {
    tokenize::split_summary_sentences(summary).join("\n")
}

pub fn rouge_cmd(a: RougeArgs) -> Result<()> {
    let cands = read_lines(&a.candidates, None)?;
    let refs = read_lines(&a.references, None)?;
    if cands.len() != refs.len() {
        bail!(
            "{} has {} lines but {} has {}: they must be line-parallel",
            a.candidates.display(),
            cands.len(),
            a.references.display(),
            refs.len()
        );
    }
    if cands.is_empty() {
        bail!("{} is empty", a.candidates.display());
    }
    let cands: Vec<String> = cands.iter().map(|c| sentences(c)).collect();
    let refs: Vec<String> = refs.iter().map(|r| sentences(r)).collect();
    let s = rouge::corpus(&cands, &refs, a.stem);
    println!(
        "{}",
        serde_json::json!({ "rouge1": s.rouge1, "rouge2": s.rouge2, "rougeL": s.rouge_l, "pairs": cands.len(), "stem": a.stem })
    );
    Ok(())
}

fn lead(a: LeadArgs) -> Result<()> {
    if a.n == 0 {
        bail!("--n must be at least 1");
    }
    let lines = read_lines(&a.source, a.limit)?;
    let out: String = lines
        .iter()
        .map(|l| {
            format!(
                "{}\n",
                tokenize::split_sentences(l)
                    .into_iter()
                    .take(a.n)
                    .collect::<Vec<_>>()
                    .join(" <q> ")
            )
        })
        .collect();
    match &a.out {
        Some(p) => super::write_atomic(p, out.as_bytes())
            .with_context(|| format!("cannot write {}", p.display()))?,
        None => std::io::stdout().write_all(out.as_bytes())?,
    }
    Ok(())
}

/// Loads a model from a training folder, a checkpoint or an export.
pub fn load_model(path: &Path, device: &Device) -> Result<Loaded> {
    let file = if path.is_dir() { path.join(CHECKPOINT) } else { path.to_path_buf() };
    let bytes = std::fs::read(&file)
        .with_context(|| format!("cannot read the model {}", file.display()))?;
    store::load(&bytes, device).with_context(|| format!("{} is not a usable model", file.display()))
}

fn decode_config(base: &SummarizerConfig, a: &DecodeArgs) -> Result<SummarizerConfig> {
    let mut c = base.clone();
    a.overrides.apply(&mut c.decode);
    c.train.max_enc = a.max_enc.unwrap_or(c.train.max_enc);
    c.validate()?;
    Ok(c)
}

/// The most input `summarize run` reads.
const MAX_INPUT: usize = 64 << 20;

fn run_one(a: RunArgs) -> Result<()> {
    let device = device::native(a.decode.device)?.announce();
    let loaded = load_model(&a.model, &device)?;
    let config = decode_config(&loaded.config, &a.decode)?;
    let mut bytes = vec![];
    std::io::stdin()
        .take(MAX_INPUT as u64 + 1)
        .read_to_end(&mut bytes)
        .context("cannot read stdin")?;
    let article = read_article(&bytes, MAX_INPUT, &loaded.vocab, config.train.max_enc)?;
    let model = frozen(&loaded.model);
    for note in &article.notes {
        eprintln!("note: {note}");
    }
    let tokens = article.tokens;
    let s =
        block_on(summarize(&model, &loaded.vocab, &tokens, config.train.max_enc, &config.decode))
            .map_err(|e| anyhow!(e))?;
    println!("{}", tokenize::detokenize(&s.tokens));
    if a.explain {
        println!("{}", explain_json(&s));
    }
    Ok(())
}

fn explain_json(s: &Summary) -> String {
    serde_json::json!({ "tokens": s.tokens, "p_gen": s.p_gen, "attention": s.attention, "source": s.source, "truncated": s.truncated, "score": s.score }).to_string()
}

fn eval(a: EvalArgs) -> Result<()> {
    let device = device::native(a.decode.device)?.announce();
    let loaded = load_model(&a.model, &device)?;
    let config = decode_config(&loaded.config, &a.decode)?;
    let sources = read_lines(&a.source, a.limit)?;
    let targets = read_lines(&a.target, a.limit)?;
    if sources.len() != targets.len() {
        bail!(
            "{} has {} lines but {} has {}",
            a.source.display(),
            sources.len(),
            a.target.display(),
            targets.len()
        );
    }
    let model = frozen(&loaded.model);
    let bar = super::progress_bar(sources.len() as u64, 0, "articles");
    let mut cands = vec![];
    for src in &sources {
        let tokens: Vec<String> = src.split_whitespace().map(str::to_string).collect();
        let summary = if tokens.is_empty() {
            String::new()
        } else {
            block_on(summarize(
                &model,
                &loaded.vocab,
                &tokens,
                config.train.max_enc,
                &config.decode,
            ))
            .map_err(|e| anyhow!(e))?
            .tokens
            .join(" ")
        };
        cands.push(summary);
        bar.inc(1);
    }
    bar.finish_and_clear();
    if let Some(out) = &a.out {
        let text: String = cands.iter().map(|c| format!("{c}\n")).collect();
        super::write_atomic(out, text.as_bytes())?;
    }
    let refs: Vec<String> = targets.iter().map(|r| sentences(r)).collect();
    let s = rouge::corpus(&cands, &refs, a.stem);
    let words = |t: &str| t.split_whitespace().filter(|w| *w != "<q>").count();
    let article_lengths: Vec<usize> = sources.iter().map(|t| words(t)).collect();
    let max_enc = config.train.max_enc;
    let mean = |v: &[usize]| {
        if v.is_empty() { 0.0 } else { v.iter().sum::<usize>() as f64 / v.len() as f64 }
    };
    println!(
        "{}",
        serde_json::json!({
            "rouge1": s.rouge1, "rouge2": s.rouge2, "rougeL": s.rouge_l, "pairs": cands.len(), "stem": a.stem,
            "article_tokens": length_summary(&article_lengths),
            "articles_longer_than_max_enc": article_lengths.iter().filter(|&&n| n > max_enc).count(), "max_enc": max_enc,
            "summary_tokens_mean": mean(&cands.iter().map(|c| words(c)).collect::<Vec<_>>()),
            "reference_tokens_mean": mean(&targets.iter().map(|t| words(t)).collect::<Vec<_>>()),
        })
    );
    Ok(())
}

/// Mean and percentiles of token counts, for reading what "the first N tokens" leaves out.
fn length_summary(lengths: &[usize]) -> serde_json::Value {
    let mut v = lengths.to_vec();
    v.sort_unstable();
    let at =
        |q: f64| v.get(((v.len().max(1) - 1) as f64 * q).round() as usize).copied().unwrap_or(0);
    let mean = if v.is_empty() { 0.0 } else { v.iter().sum::<usize>() as f64 / v.len() as f64 };
    serde_json::json!({ "mean": mean, "min": at(0.0), "p10": at(0.1), "p25": at(0.25), "median": at(0.5), "p75": at(0.75), "p90": at(0.9), "max": at(1.0) })
}

fn export(a: ExportArgs) -> Result<()> {
    let l = load_model(&a.model, &Device::flex())?;
    a.write(&l.model, l.config.clone(), &l.vocab, Precision::Int8, &[])
}

/// Pairs as token lists, and the examples of one batch.
struct Data {
    pairs: Vec<Pair>,
}

impl Data {
    fn examples(&self, idx: &[usize], vocab: &Vocab, c: &SummarizerConfig) -> Vec<Example> {
        idx.iter()
            .map(|&i| {
                let p = &self.pairs[i];
                let art: Vec<&str> = p.article.split_whitespace().collect();
                let sum: Vec<&str> = p.summary.split_whitespace().filter(|w| *w != "<q>").collect();
                Example::new(&art, &sum, vocab, c.train.max_enc, c.train.max_dec)
            })
            .collect()
    }
}

/// The order of epoch `epoch`: a seeded shuffle, so a cursor identifies a position exactly.
fn epoch_order(n: usize, seed: u64, epoch: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = Rng::stream(seed, 31, epoch);
    for i in (1..n).rev() {
        order.swap(i, rng.below(i + 1));
    }
    order
}

fn batch_indices(n: usize, batch: usize, seed: u64, step: u64) -> Vec<usize> {
    let per_epoch = (n / batch).max(1) as u64;
    let (epoch, k) = (step / per_epoch, (step % per_epoch) as usize);
    let order = epoch_order(n, seed, epoch);
    (0..batch).map(|i| order[(k * batch + i) % n]).collect()
}

fn build_config(a: &TrainArgs, base: Option<&SummarizerConfig>) -> Result<SummarizerConfig> {
    let mut c = base.cloned().unwrap_or_default();
    // A model loaded --from another run keeps its shape (its weights fit no other); a resumed
    // one is checked against its checkpoint's whole config by the driver, like every setting.
    let keeps_shape = base.is_some() && !a.run.resume;
    let m = &mut c.model;
    if let Some(v) = a.vocab_size {
        if keeps_shape && v != m.vocab_size {
            bail!(
                "--vocab-size cannot change when starting --from a saved model: it has {}",
                m.vocab_size
            );
        }
        m.vocab_size = v;
    }
    for (flag, value, field) in
        [("--emb", a.emb, &mut m.emb), ("--hidden", a.hidden, &mut m.hidden)]
    {
        if let Some(v) = value {
            if keeps_shape && v != *field {
                bail!("{flag} cannot change when starting --from a saved model: it has {}", *field);
            }
            *field = v;
        }
    }
    m.coverage |= a.coverage;
    if a.no_pointer {
        m.pointer = false;
    }
    m.init_std = a.init_std.unwrap_or(m.init_std);
    let t = &mut c.train;
    t.batch_size = a.batch_size.unwrap_or(t.batch_size);
    t.max_enc = a.max_enc.unwrap_or(t.max_enc);
    t.max_dec = a.max_dec.unwrap_or(t.max_dec);
    if let Some(v) = a.optimizer {
        if v != t.optimizer {
            t.lr = if v == OptimizerKind::Adam { 1e-3 } else { TrainConfig::default().lr };
        }
        t.optimizer = v;
    }
    t.lr = a.lr.unwrap_or(t.lr);
    t.seed = a.seed.unwrap_or(t.seed);
    c.validate()?;
    Ok(c)
}

fn train(a: TrainArgs) -> Result<()> {
    let log = ("--eval-every", a.eval_every);
    let cadence = Cadence::new(a.steps, log, a.checkpoint_every, a.run.max_minutes)?;
    if a.run.resume && a.from.is_some() {
        bail!(
            "use either --resume (continue this folder) or --from (start from another model), not both"
        );
    }
    let folder = RunFolder::create(&a.out, CHECKPOINT)?;
    let ckpt = folder.checkpoint.clone();
    let started = device::native(a.device)?;
    let (device, backend) = (started.clone().announce(), started.backend);
    eprintln!("reading {} …", a.data.display());
    let train_set = read_parallel(&a.data, a.limit)
        .with_context(|| format!("cannot read training data {}", a.data.display()))?;
    report_bad(&a.data, &train_set.report);
    if train_set.pairs.is_empty() {
        bail!("{} has no usable article/summary pairs", a.data.display());
    }
    let val_set = match &a.val {
        Some(v) => {
            let d = read_parallel(v, Some(a.val_batches.max(1) * 64))
                .with_context(|| format!("cannot read validation data {}", v.display()))?;
            report_bad(v, &d.report);
            Some(d)
        }
        None => None,
    };
    let (state, config, vocab) = if a.run.resume {
        let bytes = folder.read_checkpoint()?;
        let l = store::load(&bytes, &device)
            .with_context(|| format!("cannot resume from {}", ckpt.display()))?;
        let opt = match l.kind {
            store::Kind::Checkpoint | store::Kind::OldCheckpoint => {
                l.opt.ok_or_else(|| anyhow!("{} has no optimizer state", ckpt.display()))?
            }
            store::Kind::Export => {
                bail!("{} is an export, not a checkpoint: it cannot be resumed", ckpt.display())
            }
        };
        // The checkpoint's config stays; a flag that would change it is refused by name.
        let wanted = build_config(&a, Some(&l.config))
            .with_context(|| format!("--resume with {}", ckpt.display()))?;
        folder.refuse_changed_settings(&l.config, &wanted)?;
        let state =
            TrainState { model: crate::summarize::train::trainable(l.model), opt, step: l.step };
        (state, l.config, l.vocab)
    } else if let Some(from) = &a.from {
        let l = load_model(from, &device)?;
        let config = build_config(&a, Some(&l.config))?;
        (TrainState::from_model(l.model, &config), config, l.vocab)
    } else {
        let config = build_config(&a, None)?;
        eprintln!("building a {}-word vocabulary …", config.model.vocab_size);
        let tokens = train_set.pairs.iter().flat_map(|p| {
            p.article.split_whitespace().chain(p.summary.split_whitespace().filter(|w| *w != "<q>"))
        });
        let vocab = Vocab::build(tokens, config.model.vocab_size)?;
        if vocab.len() < config.model.vocab_size {
            bail!(
                "the training data has only {} distinct words; use --vocab-size {} or less",
                vocab.len() - 4,
                vocab.len()
            );
        }
        (TrainState::new(&config, &device), config, vocab)
    };
    folder.write_config(&config)?;
    super::write_atomic(&a.out.join("vocab.txt"), vocab.to_text().as_bytes())?;
    let mut metrics = folder.metrics(a.run.resume.then_some(state.step))?;
    let m = &config.model;
    eprintln!(
        "pointer-generator{} · vocab {} · emb {} · hidden {} · batch {} · ≤{}/{} tokens · {} {} · {} pairs · {backend}",
        if m.coverage { " + coverage" } else { "" },
        m.vocab_size,
        m.emb,
        m.hidden,
        config.train.batch_size,
        config.train.max_enc,
        config.train.max_dec,
        config.train.optimizer,
        config.train.lr,
        train_set.pairs.len()
    );
    let mut run = SummarizeRun {
        config: &config,
        vocab: &vocab,
        data: Data { pairs: train_set.pairs },
        val: val_set.map(|d| Data { pairs: d.pairs }),
        val_batches: a.val_batches,
        values: SummarizeValues::default(),
        tokens: 0,
        start: Instant::now(),
        last_val: String::new(),
    };
    if !a.run.resume {
        folder.save(&run, &state, 0)?;
        // The starting point, so the curve shows where training began.
        if let Some(v) = run.val_loss(&state) {
            writeln!(
                metrics,
                "{}",
                serde_json::json!({ "step": 0, "val_nll": v, "seconds": 0.0 })
            )?;
            run.last_val = format!(" · val {v:.3}");
        }
    }
    let (state, seconds) = drive(&mut run, state, &folder, &cadence, &mut metrics)?;
    println!("step {} ({seconds:.0} s). Wrote {}", state.step, a.out.display());
    Ok(())
}

/// `summarize train` as the driver's [`Run`].
struct SummarizeRun<'a> {
    config: &'a SummarizerConfig,
    vocab: &'a Vocab,
    data: Data,
    val: Option<Data>,
    val_batches: usize,
    /// The last step's loss, NLL, coverage loss and gradient norm.
    values: SummarizeValues,
    tokens: usize,
    start: Instant,
    last_val: String,
}

impl SummarizeRun<'_> {
    /// Mean NLL over the first `val_batches` validation batches.
    fn val_loss(&self, state: &TrainState) -> Option<f64> {
        let (v, config) = (self.val.as_ref()?, self.config);
        let n = v.pairs.len();
        let losses: Vec<f64> = (0..self.val_batches)
            .map(|k| {
                let idx: Vec<usize> = (0..config.train.batch_size)
                    .map(|i| (k * config.train.batch_size + i) % n)
                    .collect();
                eval_loss(
                    &state.model,
                    &Batch::new(&v.examples(&idx, self.vocab, config), self.vocab.len()),
                    config,
                )
            })
            .collect();
        Some(losses.iter().sum::<f64>() / losses.len().max(1) as f64)
    }
}

/// One line of metrics.jsonl.
#[derive(serde::Serialize)]
struct TrainLine {
    step: u64,
    #[serde(flatten)]
    values: SummarizeValues,
    val_nll: Option<f64>,
    tokens_per_sec: f64,
    seconds: f64,
}

impl Run for SummarizeRun<'_> {
    type State = TrainState;

    fn advance(&mut self, state: TrainState) -> Result<TrainState> {
        let config = self.config;
        let idx = batch_indices(
            self.data.pairs.len(),
            config.train.batch_size,
            config.train.seed,
            state.step,
        );
        let examples = self.data.examples(&idx, self.vocab, config);
        self.tokens += examples.iter().map(|e| e.enc.len() + e.target.len()).sum::<usize>();
        let batch = Batch::new(&examples, self.vocab.len());
        let (state, report) = train_step(state, &batch, config);
        self.values = report.values()?;
        if !self.values.loss.is_finite() {
            bail!("the loss diverged to {}", self.values.loss);
        }
        Ok(state)
    }

    fn message(&self) -> String {
        let SummarizeValues { loss, coverage: cov, grad_norm: norm, .. } = self.values;
        format!(
            "loss {loss:.3}{} · |g| {norm:.2} · {:.0} tok/s{}",
            if self.config.model.coverage { format!(" (cov {cov:.3})") } else { String::new() },
            self.tokens as f64 / self.start.elapsed().as_secs_f64(),
            self.last_val
        )
    }

    fn log(&mut self, state: &TrainState, seconds: f64) -> Result<impl serde::Serialize> {
        let val_nll = self.val_loss(state);
        if let Some(v) = val_nll {
            self.last_val = format!(" · val {v:.3}");
        }
        Ok(TrainLine {
            step: state.step,
            values: self.values,
            val_nll,
            tokens_per_sec: self.tokens as f64 / seconds,
            seconds,
        })
    }

    fn checkpoint(&self, state: &TrainState) -> std::result::Result<Vec<u8>, Unsaved> {
        store::checkpoint_bytes(state, self.config, self.vocab, &[]).map_err(Unsaved::from_record)
    }

    fn divergence_hint(&self) -> &'static str {
        " Try a smaller --lr."
    }
}

fn report_bad(path: &Path, r: &crate::text::data::ReadReport) {
    let bad = r.bad();
    if bad > 0 {
        eprintln!("{}: skipped {bad} bad records", path.display());
        for m in r.messages.iter().take(5) {
            eprintln!("  {m}");
        }
    }
}
