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
use crate::summarize::{
    DecodeConfig, OptimizerKind, PointerGenerator, SummarizerConfig, TrainConfig, block_on,
};
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
        super::set(self.target_len.map(|n| (n > 0).then_some(n)), &mut d.target_len);
        super::set(self.stop_schedule.clone().map(|s| s.0), &mut d.stop_schedule);
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
        model: &PointerGenerator,
        config: SummarizerConfig,
        vocab: &Vocab,
        default_precision: Precision,
        extra: &[(&str, String)],
    ) -> Result<()> {
        let precision = self.precision.unwrap_or(default_precision);
        let config = with_decoding(config, &self.decode, self.max_enc)?;
        let bytes = store::export_bytes(model, &config, vocab, precision, extra)?;
        super::write(&self.out, &bytes)?;
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

/// Lines of a plain or gzipped text file (invalid UTF-8 is an error naming the line).
fn read_lines(path: &Path, limit: Option<usize>) -> Result<Vec<String>> {
    let bytes = super::read_gz(path)?;
    let mut lines = (bytes.split(|&b| b == b'\n').enumerate().take(limit.unwrap_or(usize::MAX)))
        .map(|(i, line)| match std::str::from_utf8(line) {
            Ok(text) => Ok(text.trim_end_matches('\r').to_string()),
            Err(_) => Err(anyhow!("{} line {} is not valid UTF-8", path.display(), i + 1)),
        })
        .collect::<Result<Vec<_>>>()?;
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    Ok(lines)
}

/// `rouge-score`'s view of a summary: one sentence per line.
fn sentences(summary: &str) -> String {
    tokenize::split_summary_sentences(summary).join("\n")
}

/// The lines of two line-parallel files (the first `limit` of each).
fn read_parallel_lines(
    a: &Path,
    b: &Path,
    limit: Option<usize>,
) -> Result<(Vec<String>, Vec<String>)> {
    let (x, y) = (read_lines(a, limit)?, read_lines(b, limit)?);
    if x.len() != y.len() {
        let (a, b) = (a.display(), b.display());
        bail!("{a} has {} lines but {b} has {}: they must be line-parallel", x.len(), y.len());
    }
    Ok((x, y))
}

pub fn rouge_cmd(a: RougeArgs) -> Result<()> {
    let (cands, refs) = read_parallel_lines(&a.candidates, &a.references, None)?;
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
    let mut out = String::new();
    for line in read_lines(&a.source, a.limit)? {
        let mut lead = tokenize::split_sentences(&line);
        lead.truncate(a.n);
        out.push_str(&format!("{}\n", lead.join(" <q> ")));
    }
    match &a.out {
        Some(p) => super::write(p, out.as_bytes())?,
        None => std::io::stdout().write_all(out.as_bytes())?,
    }
    Ok(())
}

/// Loads a model from a training folder, a checkpoint or an export.
pub fn load_model(path: &Path, device: &Device) -> Result<Loaded> {
    let file = super::file_in(path, super::CHECKPOINT);
    let bytes = std::fs::read(&file)
        .with_context(|| format!("cannot read the model {}", file.display()))?;
    store::load(&bytes, device).with_context(|| format!("{} is not a usable model", file.display()))
}

/// `c` with the decoding overrides and `max_enc` written over it, validated.
fn with_decoding(
    mut c: SummarizerConfig,
    overrides: &DecodeOverrides,
    max_enc: Option<usize>,
) -> Result<SummarizerConfig> {
    overrides.apply(&mut c.decode);
    c.train.max_enc = max_enc.unwrap_or(c.train.max_enc);
    c.validate()?;
    Ok(c)
}

/// `config`'s decoding of `tokens` with `model`.
pub fn decode(
    model: &PointerGenerator,
    vocab: &Vocab,
    tokens: &[String],
    config: &SummarizerConfig,
) -> Result<Summary> {
    block_on(summarize(model, vocab, tokens, config.train.max_enc, &config.decode))
        .map_err(|e| anyhow!(e))
}

/// The most input `summarize run` reads.
const MAX_INPUT: usize = 64 << 20;

fn run_one(a: RunArgs) -> Result<()> {
    let device = device::native(a.decode.device)?.announce();
    let loaded = load_model(&a.model, &device)?;
    let config = with_decoding(loaded.config.clone(), &a.decode.overrides, a.decode.max_enc)?;
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
    let s = decode(&model, &loaded.vocab, &article.tokens, &config)?;
    println!("{}", tokenize::detokenize(&s.tokens));
    if a.explain {
        println!(
            "{}",
            serde_json::json!({ "tokens": s.tokens, "p_gen": s.p_gen, "attention": s.attention, "source": s.source, "truncated": s.truncated, "score": s.score })
        );
    }
    Ok(())
}

fn eval(a: EvalArgs) -> Result<()> {
    let device = device::native(a.decode.device)?.announce();
    let loaded = load_model(&a.model, &device)?;
    let config = with_decoding(loaded.config.clone(), &a.decode.overrides, a.decode.max_enc)?;
    let (sources, targets) = read_parallel_lines(&a.source, &a.target, a.limit)?;
    let model = frozen(&loaded.model);
    let bar = super::progress_bar(sources.len() as u64, 0, "articles");
    let mut cands = vec![String::new(); sources.len()];
    for (src, cand) in sources.iter().zip(&mut cands) {
        let tokens: Vec<String> = src.split_whitespace().map(str::to_string).collect();
        if !tokens.is_empty() {
            *cand = decode(&model, &loaded.vocab, &tokens, &config)?.tokens.join(" ");
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    if let Some(out) = &a.out {
        super::write(out, cands.iter().map(|c| format!("{c}\n")).collect::<String>().as_bytes())?;
    }
    let refs: Vec<String> = targets.iter().map(|r| sentences(r)).collect();
    let s = rouge::corpus(&cands, &refs, a.stem);
    let words = |t: &str| t.split_whitespace().filter(|w| *w != "<q>").count();
    let article_lengths: Vec<usize> = sources.iter().map(|t| words(t)).collect();
    let max_enc = config.train.max_enc;
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

fn mean(v: &[usize]) -> f64 {
    if v.is_empty() { 0.0 } else { v.iter().sum::<usize>() as f64 / v.len() as f64 }
}

/// Mean and percentiles of token counts, for reading what "the first N tokens" leaves out.
fn length_summary(lengths: &[usize]) -> serde_json::Value {
    let mut v = lengths.to_vec();
    v.sort_unstable();
    let at =
        |q: f64| v.get(((v.len().max(1) - 1) as f64 * q).round() as usize).copied().unwrap_or(0);
    serde_json::json!({ "mean": mean(&v), "min": at(0.0), "p10": at(0.1), "p25": at(0.25), "median": at(0.5), "p75": at(0.75), "p90": at(0.9), "max": at(1.0) })
}

fn export(a: ExportArgs) -> Result<()> {
    let l = load_model(&a.model, &Device::flex())?;
    a.write(&l.model, l.config.clone(), &l.vocab, Precision::Int8, &[])
}

/// The examples of the pairs at `idx`.
fn examples(pairs: &[Pair], idx: &[usize], vocab: &Vocab, c: &SummarizerConfig) -> Vec<Example> {
    idx.iter()
        .map(|&i| {
            let p = &pairs[i];
            let art: Vec<&str> = p.article.split_whitespace().collect();
            let sum: Vec<&str> = p.summary.split_whitespace().filter(|w| *w != "<q>").collect();
            Example::new(&art, &sum, vocab, c.train.max_enc, c.train.max_dec)
        })
        .collect()
}

/// The pairs of step `step`'s batch: each epoch's order is a seeded shuffle, so a cursor
/// identifies a position exactly.
fn batch_indices(n: usize, batch: usize, seed: u64, step: u64) -> Vec<usize> {
    let per_epoch = (n / batch).max(1) as u64;
    let (epoch, k) = (step / per_epoch, (step % per_epoch) as usize);
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = Rng::stream(seed, 31, epoch);
    for i in (1..n).rev() {
        order.swap(i, rng.below(i + 1));
    }
    (0..batch).map(|i| order[(k * batch + i) % n]).collect()
}

fn build_config(a: &TrainArgs, base: Option<&SummarizerConfig>) -> Result<SummarizerConfig> {
    let mut c = base.cloned().unwrap_or_default();
    // A model loaded --from another run keeps its shape (its weights fit no other); a resumed
    // one is checked against its checkpoint's whole config by the driver, like every setting.
    let keeps_shape = base.is_some() && !a.run.resume;
    let m = &mut c.model;
    for (flag, value, field) in [
        ("--vocab-size", a.vocab_size, &mut m.vocab_size),
        ("--emb", a.emb, &mut m.emb),
        ("--hidden", a.hidden, &mut m.hidden),
    ] {
        if let Some(v) = value {
            if keeps_shape && v != *field {
                bail!("{flag} cannot change when starting --from a saved model: it has {}", *field);
            }
            *field = v;
        }
    }
    m.coverage |= a.coverage;
    m.pointer &= !a.no_pointer;
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
    let folder = RunFolder::create(&a.out)?;
    let started = device::native(a.device)?;
    let (device, backend) = (started.clone().announce(), started.backend);
    let read = |path: &Path, limit, what| {
        let d = read_parallel(path, limit)
            .with_context(|| format!("cannot read {what} data {}", path.display()))?;
        super::report_bad(path, &d.report);
        anyhow::Ok(d.pairs)
    };
    eprintln!("reading {} …", a.data.display());
    let pairs = read(&a.data, a.limit, "training")?;
    if pairs.is_empty() {
        bail!("{} has no usable article/summary pairs", a.data.display());
    }
    let val = (a.val.as_deref())
        .map(|v| read(v, Some(a.val_batches.max(1) * 64), "validation"))
        .transpose()?;
    let (state, config, vocab) = if a.run.resume {
        let l = folder.resume(|b| store::load(b, &device))?;
        let ckpt = &folder.checkpoint;
        if l.kind == store::Kind::Export {
            bail!("{} is an export, not a checkpoint: it cannot be resumed", ckpt.display())
        }
        let opt = l.opt.ok_or_else(|| anyhow!("{} has no optimizer state", ckpt.display()))?;
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
        let tokens = pairs.iter().flat_map(|p| {
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
    let mut metrics = folder.start(&config, a.run.resume.then_some(state.step))?;
    super::write(&a.out.join("vocab.txt"), vocab.to_text().as_bytes())?;
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
        pairs.len()
    );
    let mut run = SummarizeRun {
        config: &config,
        vocab: &vocab,
        data: pairs,
        val,
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
            let line = serde_json::json!({ "step": 0, "val_nll": v, "seconds": 0.0 });
            writeln!(metrics, "{line}")?;
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
    data: Vec<Pair>,
    val: Option<Vec<Pair>>,
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
        let (v, config, b) = (self.val.as_ref()?, self.config, self.config.train.batch_size);
        let total: f64 = (0..self.val_batches)
            .map(|k| {
                let idx: Vec<usize> = (k * b..(k + 1) * b).map(|i| i % v.len()).collect();
                let batch = Batch::new(&examples(v, &idx, self.vocab, config), self.vocab.len());
                eval_loss(&state.model, &batch, config)
            })
            .sum();
        Some(total / self.val_batches.max(1) as f64)
    }
}

/// One line of metrics.jsonl.
#[derive(serde::Serialize)]
struct TrainLine {
    #[serde(flatten)]
    values: SummarizeValues,
    val_nll: Option<f64>,
    tokens_per_sec: f64,
}

impl Run for SummarizeRun<'_> {
    type State = TrainState;

    fn advance(&mut self, state: TrainState) -> Result<TrainState> {
        let config = self.config;
        let idx =
            batch_indices(self.data.len(), config.train.batch_size, config.train.seed, state.step);
        let examples = examples(&self.data, &idx, self.vocab, config);
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
        Ok(TrainLine { values: self.values, val_nll, tokens_per_sec: self.tokens as f64 / seconds })
    }

    fn checkpoint(&self, state: &TrainState) -> std::result::Result<Vec<u8>, Unsaved> {
        Ok(store::checkpoint_bytes(state, self.config, self.vocab, &[])?)
    }

    fn divergence_hint(&self) -> &'static str {
        " Try a smaller --lr."
    }
}
