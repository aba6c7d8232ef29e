//! `earthmover align train | refine | eval`: word translation without a dictionary (MUSE with
//! the GAN lab's four objectives), its Procrustes refinement, the supervised baselines, and
//! P@1/5/10 with CSLS.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;

use crate::align::adversarial::{
    self, AdversarialConfig, AdversarialState, AlignValues, Spaces, align_step,
};
use crate::align::embed::{Embeddings, Lexicon, identical_pairs};
use crate::align::linalg::Square;
use crate::align::retrieval::{Retrieval, Retriever};
use crate::align::{CSLS, Problem, criterion, evaluate, map_rows, procrustes_from, refine};
use crate::cli::driver::{Cadence, ResumeArgs, Run, RunFolder, Unsaved, drive};
use crate::cli::set;
use crate::cli::values::GanOptimizer;
use crate::device::{self, DeviceChoice};
use crate::gan::objective::Objective;
use crate::optim::OptimizerConfig;

#[derive(Subcommand)]
pub enum AlignCommand {
    /// The adversarial stage: learn W with a critic, keep the epoch MUSE's criterion likes best.
    Train(Box<TrainArgs>),
    /// Procrustes refinement from a learned map, or a supervised baseline from a dictionary.
    Refine(RefineArgs),
    /// P@1/5/10 of a map on the held-out lexicon words, and translations of given words.
    Eval(EvalArgs),
    /// Write the Align tab's copy of two vector files and their lexicon (one safetensors file).
    ExportWeb(ExportWebArgs),
}

#[derive(Args, Debug)]
pub struct ExportWebArgs {
    #[arg(long)]
    src: PathBuf,
    #[arg(long)]
    tgt: PathBuf,
    #[arg(long)]
    lexicon: PathBuf,
    /// Where the page looks for it: public/align/es-en.safetensors.
    #[arg(long)]
    out: PathBuf,
}

/// Where the two spaces and the lexicon come from.
#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    /// Source vectors (word2vec text, plain or .gz), most frequent first.
    #[arg(long, required_unless_present = "toy")]
    src: Option<PathBuf>,
    /// Target vectors (same format).
    #[arg(long, required_unless_present_any = ["synthetic", "toy"])]
    tgt: Option<PathBuf>,
    /// "source target" lines; evaluation uses its held-out part.
    #[arg(long)]
    lexicon: Option<PathBuf>,
    /// Align --src with a random rotation of itself plus noise, where the answer is known
    /// (the lexicon is then the identity).
    #[arg(long)]
    synthetic: bool,
    /// σ of the synthetic target's noise, per coordinate.
    #[arg(long, default_value_t = 0.01)]
    noise: f64,
    /// Seed of the synthetic rotation and of the lexicon split.
    #[arg(long, default_value_t = 0)]
    data_seed: u64,
    /// Source words of the lexicon held out for evaluation (the rest can seed Procrustes).
    #[arg(long, default_value_t = 1000)]
    test_words: usize,
    /// Subtract the mean vector (then unit length again), MUSE's "renorm,center,renorm".
    #[arg(long)]
    center: bool,
    /// The Align tab's 2-D toy instead of word vectors: 120 points on a circle against a
    /// rotation of themselves (no noise; --data-seed picks both), with the toy's settings.
    #[arg(long, conflicts_with_all = ["src", "tgt", "lexicon", "synthetic", "center"])]
    toy: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AlignObjective {
    Gan,
    Wgan,
    WganGp,
    CtGan,
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    #[command(flatten)]
    data: DataArgs,
    /// The critic's objective; brings seed 002's settings for it (WGAN-GP on word vectors: with
    /// the layer-normalised critic and λ 0.1, which aligned es-en most often here).
    #[arg(long, value_enum, default_value_t = AlignObjective::Gan)]
    objective: AlignObjective,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Epochs; the criterion is computed after each.
    #[arg(long, default_value_t = 5)]
    epochs: u64,
    /// Map updates per epoch.
    #[arg(long, default_value_t = 2000)]
    epoch_size: u64,
    /// Output folder: config.toml, metrics.jsonl, checkpoint.safetensors, best-map.safetensors.
    #[arg(long, default_value = "runs/align")]
    out: PathBuf,
    #[command(flatten)]
    run: ResumeArgs,
    #[arg(long, value_enum, default_value_t = DeviceChoice::Cpu)]
    device: DeviceChoice,
    /// Save a checkpoint every this many map updates (and at each epoch's end).
    #[arg(long, default_value_t = 500)]
    checkpoint_every: u64,
    /// Hidden units of the critic's layers (seed 002: 2,048).
    #[arg(long)]
    critic_hidden: Option<usize>,
    /// Hidden layers of the critic (seed 002: 2).
    #[arg(long)]
    critic_depth: Option<usize>,
    /// Weight λ of the gradient penalty (wgan-gp: 0.1 on word vectors, 0.5 on the toy, seed
    /// 002's; λ_GP of ct-gan: 0.5).
    #[arg(long)]
    lambda: Option<f64>,
    /// Layer normalisation after each of the critic's hidden layers (seed 002's critic):
    /// true or false (default: the objective's setting).
    #[arg(long)]
    layer_norm: Option<bool>,
    /// σ of Gaussian noise on the critic's inputs.
    #[arg(long)]
    input_noise: Option<f64>,
    /// Dropout rate on the critic's inputs.
    #[arg(long)]
    input_dropout: Option<f64>,
    /// The critic sees only this many most frequent words of each side.
    #[arg(long)]
    most_frequent: Option<usize>,
    /// β of the orthogonality update.
    #[arg(long)]
    beta: Option<f64>,
    /// Rescale the map's gradient to this global norm when larger (default: the objective's
    /// setting; 0 turns clipping off).
    #[arg(long)]
    map_grad_clip: Option<f64>,
    /// The critic's learning rate.
    #[arg(long)]
    critic_lr: Option<f64>,
    /// The map's learning rate (SGD).
    #[arg(long)]
    map_lr: Option<f64>,
    #[arg(long)]
    batch_size: Option<usize>,
    #[arg(long)]
    n_critic: Option<usize>,
    /// Weight of the reconstruction term 1 − cos(x, WᵀWx) (Zhang et al.: 1).
    #[arg(long)]
    reconstruction: Option<f64>,
    /// Start W at a random rotation instead of the identity.
    #[arg(long)]
    random_init: bool,
    /// The critic's optimizer (Adam: β 0.9, 0.999); keeps --critic-lr or the objective's rate.
    #[arg(long, value_enum)]
    critic_optimizer: Option<GanOptimizer>,
    /// The map's optimizer (MUSE: sgd; Zhang et al.: adam 1e-3).
    #[arg(long, value_enum)]
    map_optimizer: Option<GanOptimizer>,
}

fn optimizer(kind: GanOptimizer, lr: f64) -> OptimizerConfig {
    match kind {
        GanOptimizer::Adam => OptimizerConfig::adam(lr, 0.9, 0.999),
        other => other.config(lr),
    }
}

/// What a refinement starts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Start {
    /// A map file or a training folder (--model).
    Model,
    /// Procrustes on the lexicon's training part (supervised).
    Lexicon,
    /// Procrustes on the words spelled the same in both vocabularies.
    Identical,
}

#[derive(Args, Debug)]
pub struct RefineArgs {
    #[command(flatten)]
    data: DataArgs,
    #[arg(long, value_enum, default_value_t = Start::Model)]
    from: Start,
    /// A map file (best-map.safetensors) or a training folder, for --from model.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Refinement rounds (MUSE: 5); 0 keeps the starting map.
    #[arg(long, default_value_t = 5)]
    iterations: usize,
    /// Where to write the refined map.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    #[command(flatten)]
    data: DataArgs,
    /// A map file or a training folder.
    #[arg(long)]
    model: PathBuf,
    /// Translate these source words (top 5 by CSLS).
    #[arg(long, num_args = 1..)]
    translate: Vec<String>,
}

pub fn run(cmd: AlignCommand) -> Result<()> {
    match cmd {
        AlignCommand::Train(a) => train(*a),
        AlignCommand::Refine(a) => refine_cmd(a),
        AlignCommand::Eval(a) => eval(a),
        AlignCommand::ExportWeb(a) => export_web(a),
    }
}

const BEST: &str = "best-map.safetensors";

fn read_text(path: &Path) -> Result<String> {
    String::from_utf8(super::read_gz(path)?).map_err(|e| {
        anyhow!("{} is not UTF-8 (byte {})", path.display(), e.utf8_error().valid_up_to())
    })
}

fn read_vectors(path: &Path) -> Result<Embeddings> {
    Embeddings::parse_word2vec(&read_text(path)?)
        .with_context(|| format!("cannot read vectors {}", path.display()))
}

fn problem(d: &DataArgs) -> Result<Problem> {
    if d.toy {
        return Ok(Problem::toy(d.data_seed));
    }
    let src = read_vectors(d.src.as_ref().ok_or_else(|| anyhow!("--src is needed unless --toy"))?)?;
    if !(d.noise.is_finite() && d.noise >= 0.0) {
        bail!("--noise must be a finite number ≥ 0");
    }
    if d.synthetic {
        return Ok(Problem::synthetic(&src, d.noise, d.center, d.test_words, d.data_seed));
    }
    let path = d.tgt.as_ref().ok_or_else(|| anyhow!("--tgt is needed unless --synthetic"))?;
    let tgt = read_vectors(path)?;
    if tgt.dim != src.dim {
        bail!("the source vectors have {} dimensions and the target vectors {}", src.dim, tgt.dim);
    }
    let lexicon = d.lexicon.as_deref().map(|p| read_lexicon(p, &src, &tgt)).transpose()?;
    Ok(Problem::real(&src, &tgt, &lexicon.unwrap_or_default(), d.center, d.test_words, d.data_seed))
}

fn read_lexicon(path: &Path, src: &Embeddings, tgt: &Embeddings) -> Result<Lexicon> {
    Lexicon::parse(&read_text(path)?, src, tgt)
        .with_context(|| format!("cannot read lexicon {}", path.display()))
}

/// P@1/5/10 of `w` on the held-out lexicon words, if there are any.
fn held_out(p: &Problem, w: &Square, r: Retrieval) -> Option<[f64; 3]> {
    (!p.test.is_empty()).then(|| evaluate(&p.src, &p.tgt, w, &p.test, r))
}

fn build_config(a: &TrainArgs) -> Result<AdversarialConfig> {
    let base = if a.data.toy { AdversarialConfig::toy } else { AdversarialConfig::real };
    let objective = a.objective.to_possible_value().expect("every objective has a name");
    let mut c = base(objective.get_name()).expect("every objective has settings");
    c.seed = a.seed;
    set(a.critic_hidden, &mut c.critic_hidden);
    set(a.critic_depth, &mut c.critic_depth);
    set(a.most_frequent, &mut c.most_frequent);
    set(a.batch_size, &mut c.batch_size);
    set(a.n_critic, &mut c.n_critic);
    set(a.layer_norm, &mut c.layer_norm);
    if let Some(v) = a.lambda {
        match &mut c.objective {
            Objective::WganGp { lambda } => *lambda = v,
            Objective::CtGan { lambda_gp, .. } => *lambda_gp = v,
            other => bail!("--lambda applies to wgan-gp and ct-gan, not {}", other.name()),
        }
    }
    set(a.input_noise, &mut c.input_noise);
    set(a.input_dropout, &mut c.input_dropout);
    set(a.beta, &mut c.beta);
    set(a.map_grad_clip.map(|v| (v != 0.0).then_some(v)), &mut c.map_grad_clip);
    set(a.reconstruction, &mut c.reconstruction);
    c.random_init |= a.random_init;
    for (kind, lr, opt) in [
        (a.critic_optimizer, a.critic_lr, &mut c.critic_optimizer),
        (a.map_optimizer, a.map_lr, &mut c.map_optimizer),
    ] {
        set(kind.map(|k| optimizer(k, opt.lr())), opt);
        set(lr.map(|lr| opt.clone().with_lr(lr)), opt);
    }
    c.validate()?;
    Ok(c)
}

/// One line of metrics.jsonl, after each epoch.
#[derive(Serialize)]
struct EpochLine {
    epoch: u64,
    criterion: f64,
    p1: Option<f64>,
    p5: Option<f64>,
    p10: Option<f64>,
    #[serde(flatten)]
    values: AlignValues,
    orthogonality: f64,
}

fn train(a: TrainArgs) -> Result<()> {
    if a.epochs == 0 || a.epoch_size == 0 {
        bail!("--epochs and --epoch-size must be at least 1");
    }
    let steps = a.epochs.saturating_mul(a.epoch_size);
    let cadence =
        Cadence::new(steps, ("--epoch-size", a.epoch_size), a.checkpoint_every, a.run.max_minutes)?;
    let p = problem(&a.data)?;
    let folder = RunFolder::create(&a.out)?;
    let device = device::native(a.device)?.announce();
    let dim = p.src.dim;
    let (state, config, best) = if a.run.resume {
        let (state, saved, meta) = folder.resume(|b| adversarial::from_bytes(b, dim, &device))?;
        folder.refuse_changed_settings(&saved, &build_config(&a)?)?;
        let best = meta
            .get("best_criterion")
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or(f64::NEG_INFINITY);
        (state, saved, best)
    } else {
        let config = build_config(&a)?;
        (AdversarialState::new(&config, &Square::identity(dim), &device), config, f64::NEG_INFINITY)
    };
    let spaces = Spaces::new(&p.src.vectors, &p.tgt.vectors, dim, &device);
    let mut metrics = folder.start(&config, a.run.resume.then_some(state.step))?;
    eprintln!(
        "{} · {} → {} words · critic {}×{}{} · batch {} · n_critic {} · β {} · {} pairs held out",
        config.objective.name(),
        p.src.len(),
        p.tgt.len(),
        config.critic_depth,
        config.critic_hidden,
        if config.layer_norm { " with layer norm" } else { "" },
        config.batch_size,
        config.n_critic,
        config.beta,
        p.test.len()
    );
    let mut run = AlignRun {
        config: &config,
        problem: &p,
        spaces: &spaces,
        epoch_size: a.epoch_size,
        best,
        best_path: a.out.join(BEST),
        values: AlignValues::default(),
        last: String::new(),
    };
    if !a.run.resume {
        folder.save(&run, &state, 0)?;
    }
    let (state, seconds) = drive(&mut run, state, &folder, &cadence, &mut metrics)?;
    if !a.out.join(BEST).exists() && state.step < cadence.steps {
        println!(
            "stopped at step {} before the first epoch ended, so there is no best map yet; --resume continues. Wrote {}",
            state.step,
            a.out.display()
        );
        return Ok(());
    }
    let w = load_map(&a.out, dim)?;
    let prec = evaluate(&p.src, &p.tgt, &w, &p.test, CSLS);
    let json = serde_json::json!({ "objective": config.objective.name(), "seed": config.seed, "best_criterion": run.best, "p1": prec[0], "p5": prec[1], "p10": prec[2], "seconds": seconds, "truth_distance": p.truth.as_ref().map(|q| q.distance(&w)) });
    println!("{json}");
    Ok(())
}

/// `align train` as the driver's [`Run`]: its log, after each epoch, computes MUSE's
/// criterion and keeps the best map.
struct AlignRun<'a> {
    config: &'a AdversarialConfig,
    problem: &'a Problem,
    spaces: &'a Spaces,
    epoch_size: u64,
    /// The best criterion so far (saved with the checkpoint).
    best: f64,
    best_path: PathBuf,
    values: AlignValues,
    last: String,
}

impl Run for AlignRun<'_> {
    type State = AdversarialState;

    fn advance(&mut self, state: AdversarialState) -> Result<AdversarialState> {
        let (state, report) = align_step(state, self.config, self.spaces);
        let v = report.values()?;
        if !(v.critic_loss.is_finite() && v.map_loss.is_finite()) {
            bail!("the losses diverged to NaN or infinity");
        }
        self.values = v;
        Ok(state)
    }

    fn message(&self) -> String {
        format!("D {:.3} · M {:.3}{}", self.values.critic_loss, self.values.map_loss, self.last)
    }

    fn log(&mut self, state: &AdversarialState, _: f64) -> Result<impl serde::Serialize> {
        let p = self.problem;
        let w = state.map.square()?;
        let crit = criterion(&p.src, &p.tgt, &w);
        let prec = held_out(p, &w, CSLS);
        let line = EpochLine {
            epoch: state.step / self.epoch_size,
            criterion: crit,
            p1: prec.map(|x| x[0]),
            p5: prec.map(|x| x[1]),
            p10: prec.map(|x| x[2]),
            values: self.values,
            orthogonality: w.orthogonality_error(),
        };
        self.last = format!(
            " · epoch {} criterion {crit:.3}{}",
            line.epoch,
            prec.map(|x| format!(" P@1 {:.1}", x[0])).unwrap_or_default()
        );
        if crit > self.best {
            self.best = crit;
            let bytes = adversarial::map_bytes(
                &w,
                &[
                    ("criterion", crit.to_string()),
                    ("epoch", line.epoch.to_string()),
                    ("objective", self.config.objective.name().into()),
                ],
            )?;
            super::write(&self.best_path, &bytes)?;
        }
        Ok(line)
    }

    fn checkpoint(&self, state: &AdversarialState) -> std::result::Result<Vec<u8>, Unsaved> {
        let meta = [("best_criterion", self.best.to_string())];
        Ok(adversarial::to_bytes(state, self.config, &meta)?)
    }

    /// After each epoch, so a resumed run keeps the best map's criterion.
    fn wants_checkpoint(&self, state: &AdversarialState) -> bool {
        state.step.is_multiple_of(self.epoch_size)
    }

    fn divergence_hint(&self) -> &'static str {
        " Try a smaller --critic-lr or --map-lr."
    }
}

/// The map in `path` (a map file or a training folder), for vectors of `dim` dimensions.
fn load_map(path: &Path, dim: usize) -> Result<Square> {
    let file = super::file_in(path, BEST);
    let (w, _) = adversarial::read_map(&super::read(&file)?)
        .with_context(|| format!("cannot read a map from {}", file.display()))?;
    if w.n != dim {
        bail!("the map is {0}×{0} but the vectors have {dim} dimensions", w.n);
    }
    Ok(w)
}

fn refine_cmd(a: RefineArgs) -> Result<()> {
    let p = problem(&a.data)?;
    let start = Instant::now();
    let w0 = match a.from {
        Start::Model => {
            let m = a.model.as_ref().ok_or_else(|| anyhow!("--from model needs --model"))?;
            load_map(m, p.src.dim)?
        }
        Start::Lexicon => {
            if p.train.is_empty() {
                bail!(
                    "--from lexicon needs --lexicon with words beyond the {} held out",
                    a.data.test_words
                );
            }
            procrustes_from(&p.src, &p.tgt, &p.train.pairs())
        }
        Start::Identical => {
            let pairs = identical_pairs(&p.src, &p.tgt);
            if pairs.is_empty() {
                bail!("the two vocabularies share no word");
            }
            eprintln!("{} identical strings", pairs.len());
            procrustes_from(&p.src, &p.tgt, &pairs)
        }
    };
    let report = |label: &str, w: &Square| {
        let prec = held_out(&p, w, CSLS);
        eprintln!(
            "{label}: criterion {:.4}{}",
            criterion(&p.src, &p.tgt, w),
            prec.map(|x| format!(", P@1 {:.1} P@5 {:.1} P@10 {:.1}", x[0], x[1], x[2]))
                .unwrap_or_default()
        );
    };
    report("start", &w0);
    let before = held_out(&p, &w0, CSLS);
    let (w, rounds) = refine(&p.src, &p.tgt, w0, a.iterations, |r, w| {
        report(&format!("round {} ({} pairs)", r.round, r.pairs), w)
    });
    let after = held_out(&p, &w, CSLS);
    let bytes = adversarial::map_bytes(&w, &[("refined_rounds", rounds.len().to_string())])?;
    super::write(&a.out, &bytes)?;
    let json = serde_json::json!({
        "from": format!("{:?}", a.from).to_lowercase(),
        "rounds": rounds,
        "p1_before": before.map(|x| x[0]),
        "p1": after.map(|x| x[0]), "p5": after.map(|x| x[1]), "p10": after.map(|x| x[2]),
        "criterion": criterion(&p.src, &p.tgt, &w),
        "truth_distance": p.truth.as_ref().map(|q| q.distance(&w)),
        "determinant": w.det(),
        "seconds": start.elapsed().as_secs_f64(),
    });
    println!("{json}");
    Ok(())
}

fn eval(a: EvalArgs) -> Result<()> {
    let p = problem(&a.data)?;
    // Without held-out lexicon words there is nothing to score P@k on: refuse, rather than
    // print 0, unless the command only translates.
    if p.test.is_empty() && a.translate.is_empty() {
        bail!(
            "no lexicon words to evaluate on: pass --lexicon (with words in both vocabularies), or --translate WORD to see translations"
        );
    }
    let w = load_map(&a.model, p.src.dim)?;
    let scores =
        |r| held_out(&p, &w, r).map(|s| serde_json::json!({ "p1": s[0], "p5": s[1], "p10": s[2] }));
    let (nn, csls) = (scores(Retrieval::Nn), scores(CSLS));
    let mapped = map_rows(&p.src.vectors, &w);
    let r = Retriever::new(&mapped, &p.tgt.vectors, p.src.dim, CSLS);
    let mut translations = serde_json::Map::new();
    for word in &a.translate {
        let id =
            p.src.id(word).ok_or_else(|| anyhow!("'{word}' is not in the source vocabulary"))?;
        let best: Vec<&str> =
            r.translate(&[id], 5)[0].iter().map(|&t| p.tgt.words[t].as_str()).collect();
        translations.insert(word.clone(), serde_json::json!(best));
    }
    let json = serde_json::json!({
        "words": p.test.len(),
        "nn": nn,
        "csls": csls,
        "criterion": criterion(&p.src, &p.tgt, &w),
        "orthogonality": w.orthogonality_error(),
        "determinant": w.det(),
        "translations": translations,
    });
    println!("{json}");
    Ok(())
}

fn export_web(a: ExportWebArgs) -> Result<()> {
    let (src, tgt) = (read_vectors(&a.src)?, read_vectors(&a.tgt)?);
    if tgt.dim != src.dim {
        bail!("the source vectors have {} dimensions and the target vectors {}", src.dim, tgt.dim);
    }
    let lexicon = read_lexicon(&a.lexicon, &src, &tgt)?;
    let name =
        |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let bytes = crate::align::bundle::to_bytes(
        &src,
        &tgt,
        &lexicon,
        &format!("{} {} {}", name(&a.src), name(&a.tgt), name(&a.lexicon)),
    )?;
    if let Some(dir) = a.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    super::write(&a.out, &bytes)?;
    eprintln!(
        "{}: {} + {} vectors of {} dimensions, {} lexicon entries, {:.1} MB",
        a.out.display(),
        src.len(),
        tgt.len(),
        src.dim,
        lexicon.len(),
        bytes.len() as f64 / 1e6
    );
    Ok(())
}
