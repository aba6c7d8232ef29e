//! `earthmover gan train`: a full training run with a progress bar, metrics, plots and
//! exact checkpoints.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::cli::driver::{Cadence, ResumeArgs, Run, RunFolder, Unsaved, drive};
use crate::cli::values::{GanOptimizer, Loss, LrSchedule};
use crate::device::{self, DeviceChoice};
use crate::gan::checkpoint;
use crate::gan::train::RealData;
use crate::gan::{GanConfig, GanState, Objective, Schedule, train_step};
use crate::optim::OptimizerConfig;
use crate::rng::Rng;
use crate::toy::{Source, Toy};
use crate::transport::pairs;

#[derive(Subcommand)]
pub enum GanCommand {
    /// Train a generator and critic on a toy distribution.
    Train(TrainArgs),
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Real data.
    #[arg(long)]
    data: Option<Toy>,
    /// Objective; picks that paper's defaults.
    #[arg(long)]
    loss: Option<Loss>,
    /// Train until this many generator iterations in total.
    #[arg(long, default_value_t = 2000)]
    steps: u64,
    /// Random seed (initialisation, data, noise).
    #[arg(long)]
    seed: Option<u64>,
    #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
    device: DeviceChoice,
    /// Output folder: config.toml, metrics.jsonl, checkpoint.safetensors, PNG plots.
    #[arg(long, default_value = "runs/gan")]
    out: PathBuf,
    /// Start from this config.toml (flags given as well override it).
    #[arg(long)]
    config: Option<PathBuf>,
    #[command(flatten)]
    run: ResumeArgs,
    /// Evaluate (exact W1, modes, high-quality share) every this many steps.
    #[arg(long, default_value_t = 100)]
    eval_every: u64,
    /// Samples per evaluation (generated and real each); exact W1 is O(N³).
    #[arg(long, default_value_t = 512)]
    eval_samples: usize,
    /// Save a checkpoint every this many steps (and at the end).
    #[arg(long, default_value_t = 500)]
    checkpoint_every: u64,
    /// Hidden units per layer.
    #[arg(long)]
    hidden: Option<usize>,
    /// Hidden layers per network.
    #[arg(long)]
    depth: Option<usize>,
    #[arg(long)]
    batch_size: Option<usize>,
    /// Critic updates per generator update.
    #[arg(long)]
    n_critic: Option<usize>,
    /// Optimizer of both players.
    #[arg(long)]
    optimizer: Option<GanOptimizer>,
    /// Learning rate (both players).
    #[arg(long)]
    lr: Option<f64>,
    /// Adam β₁.
    #[arg(long)]
    beta1: Option<f64>,
    /// Adam β₂.
    #[arg(long)]
    beta2: Option<f64>,
    /// Gradient-penalty weight λ (WGAN-GP; λ₁ for CT-GAN).
    #[arg(long)]
    lambda: Option<f64>,
    /// WGAN clipping bound c.
    #[arg(long)]
    clip: Option<f64>,
    /// One-sided label smoothing target for real samples (GAN only), e.g. 0.9.
    #[arg(long)]
    label_smoothing: Option<f64>,
    /// Feature matching for the generator.
    #[arg(long)]
    feature_matching: bool,
    /// Historical-averaging weight.
    #[arg(long)]
    historical_averaging: Option<f64>,
    /// Layer normalisation after each of the critic's hidden layers (seed 002's critic).
    #[arg(long)]
    layer_norm: bool,
    /// Minibatch discrimination in the critic (gan, gan-minimax or wgan), with Salimans et
    /// al.'s 100 kernels of 5 dimensions unless --minibatch-kernels/--minibatch-dims say otherwise.
    #[arg(long)]
    minibatch_discrimination: bool,
    /// Minibatch-discrimination kernels B (implies --minibatch-discrimination).
    #[arg(long)]
    minibatch_kernels: Option<usize>,
    /// Dimensions C of each minibatch-discrimination kernel (implies --minibatch-discrimination).
    #[arg(long)]
    minibatch_dims: Option<usize>,
    /// Learning-rate schedule.
    #[arg(long)]
    lr_schedule: Option<LrSchedule>,
}

pub fn run(cmd: GanCommand) -> Result<()> {
    match cmd {
        GanCommand::Train(args) => train(args),
    }
}

const CHECKPOINT: &str = "checkpoint.safetensors";
const STREAM_EVAL: u64 = 100;

/// One line of `metrics.jsonl`.
#[derive(Serialize)]
struct EvalLine {
    step: u64,
    w1: f64,
    modes: Option<usize>,
    modes_total: Option<usize>,
    hq: Option<f64>,
    critic_loss: f64,
    generator_loss: f64,
    estimate: f64,
    penalty: f64,
    seconds: f64,
}

/// The config a fresh run asks for: `--config` (or the toy default), then the flags.
fn build_config(args: &TrainArgs) -> Result<GanConfig> {
    let base = match &args.config {
        Some(_) => read_config(args)?,
        None => GanConfig::toy_default(),
    };
    apply_flags(args, base)
}

fn read_config(args: &TrainArgs) -> Result<GanConfig> {
    let path = args.config.as_ref().expect("called with --config");
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config {}", path.display()))?;
    toml::from_str::<GanConfig>(&text)
        .with_context(|| format!("{} is not a valid GAN config", path.display()))
}

/// The flags applied on top of `config`.
fn apply_flags(args: &TrainArgs, mut config: GanConfig) -> Result<GanConfig> {
    if let Some(loss) = args.loss {
        let objective = loss.objective();
        // A named loss brings its paper's optimizer and n_critic unless a config file set them.
        let data = config.data.clone();
        let seed = config.seed;
        config = if args.config.is_some() {
            GanConfig { objective, ..config }
        } else {
            GanConfig { seed, ..GanConfig::paper(objective, data) }
        };
    }
    if let Some(d) = args.data {
        config.data = Source::Toy(d);
    }
    config.seed = args.seed.unwrap_or(config.seed);
    config.hidden = args.hidden.unwrap_or(config.hidden);
    config.depth = args.depth.unwrap_or(config.depth);
    config.batch_size = args.batch_size.unwrap_or(config.batch_size);
    config.n_critic = args.n_critic.unwrap_or(config.n_critic);
    if let Some(name) = args.optimizer {
        let opt = name.config(config.critic_optimizer.lr());
        config.critic_optimizer = opt.clone();
        config.generator_optimizer = opt;
    }
    for opt in [&mut config.critic_optimizer, &mut config.generator_optimizer] {
        if let Some(lr) = args.lr {
            *opt = opt.clone().with_lr(lr);
        }
        if let OptimizerConfig::Adam { beta1, beta2, .. } = opt {
            if let Some(b) = args.beta1 {
                *beta1 = b;
            }
            if let Some(b) = args.beta2 {
                *beta2 = b;
            }
        } else if args.beta1.is_some() || args.beta2.is_some() {
            bail!("--beta1/--beta2 apply to Adam, but the optimizer is {}", opt.name());
        }
    }
    match (&mut config.objective, args.lambda, args.clip) {
        (Objective::WganGp { lambda }, Some(l), _) => *lambda = l,
        (Objective::CtGan { lambda_gp, .. }, Some(l), _) => *lambda_gp = l,
        (Objective::Wgan { clip }, _, Some(c)) => *clip = c,
        (o, Some(_), _) => bail!("--lambda applies to wgan-gp and ct-gan, not {}", o.name()),
        (o, _, Some(_)) => bail!("--clip applies to wgan, not {}", o.name()),
        _ => {}
    }
    if args.label_smoothing.is_some() {
        config.tricks.label_smoothing = args.label_smoothing;
    }
    if args.feature_matching {
        config.tricks.feature_matching = true;
    }
    if args.layer_norm {
        config.critic_layer_norm = true;
    }
    if args.minibatch_discrimination
        || args.minibatch_kernels.is_some()
        || args.minibatch_dims.is_some()
    {
        let mut shape = config.tricks.minibatch_discrimination.unwrap_or_default();
        shape.kernels = args.minibatch_kernels.unwrap_or(shape.kernels);
        shape.dims = args.minibatch_dims.unwrap_or(shape.dims);
        config.tricks.minibatch_discrimination = Some(shape);
    }
    if args.historical_averaging.is_some() {
        config.tricks.historical_averaging = args.historical_averaging;
    }
    if let Some(s) = args.lr_schedule {
        config.schedule = s.schedule(args.steps);
    }
    config.validate()?;
    Ok(config)
}

/// The config a `--resume` continues with. Rule: the checkpoint's config stays; a flag that
/// would change it is refused by name (giving the same value again is fine). The one setting a
/// resume may change is the linear schedule's end: it is defined by the total step count, so
/// resuming past it needs `--lr-schedule linear`, which stretches it to the new `--steps` and
/// says so (resuming past it without that would train at learning rate 0).
fn resumed_config(args: &TrainArgs, saved: GanConfig, folder: &RunFolder) -> Result<GanConfig> {
    let base = if args.config.is_some() { read_config(args)? } else { saved.clone() };
    let wanted = apply_flags(args, base)?;
    let stretched = match (&saved.schedule, &wanted.schedule) {
        (Schedule::Linear { steps: old }, Schedule::Linear { steps: new })
            if args.lr_schedule.is_some() =>
        {
            Some((*old, *new))
        }
        _ => None,
    };
    let compare = if stretched.is_some() {
        GanConfig { schedule: saved.schedule.clone(), ..wanted.clone() }
    } else {
        wanted.clone()
    };
    folder.refuse_changed_settings(&saved, &compare)?;
    if let Some((old, new)) = stretched {
        if old != new {
            eprintln!(
                "note: the linear learning-rate schedule now ends at step {new} instead of {old}"
            );
        }
        return Ok(wanted);
    }
    if let Schedule::Linear { steps } = saved.schedule
        && args.steps > steps
    {
        bail!(
            "the run's linear learning-rate schedule reaches 0 at step {steps}, and --steps {} goes past it. Pass --lr-schedule linear to stretch the schedule to {} steps.",
            args.steps,
            args.steps
        );
    }
    Ok(saved)
}

/// Exact W1 and mode statistics on fresh samples.
fn evaluate(
    state: &GanState,
    config: &GanConfig,
    n: usize,
) -> Result<(f64, Option<crate::gan::metrics::ModeStats>, Vec<[f64; 2]>)> {
    let mut rng = Rng::stream(config.seed, STREAM_EVAL, state.step);
    let fake = state
        .generate(n, &mut rng, config.noise_dim)
        .into_data()
        .try_to_vec::<f32>()
        .map_err(|e| anyhow!("cannot read samples: {e:?}"))?;
    let fake = pairs(&fake);
    let real = pairs(&config.data.sample(n, &mut rng));
    let (w1, modes) = crate::gan::view::score(config, &fake, &real);
    Ok((w1, modes, fake))
}

/// `gan train` as the driver's [`Run`].
struct GanRun<'a> {
    config: &'a GanConfig,
    eval_samples: usize,
    values: Option<crate::gan::train::StepValues>,
    last_eval: String,
    history: Vec<(u64, f64, Option<usize>)>,
}

impl Run for GanRun<'_> {
    type State = GanState;

    fn advance(&mut self, state: GanState) -> Result<GanState> {
        let (state, report) = train_step(state, self.config, &self.config.data as &dyn RealData);
        let v = report.values()?;
        if !v.all_finite() {
            bail!("the losses diverged (critic {}, generator {})", v.critic_loss, v.generator_loss);
        }
        self.values = Some(v);
        Ok(state)
    }

    fn message(&self) -> String {
        let Some(v) = &self.values else { return String::new() };
        format!(
            "D {:.3} · G {:.3} · {} {:.3} · {}",
            v.critic_loss,
            v.generator_loss,
            if self.config.objective.is_wasserstein() { "Ŵ" } else { "JŜ" },
            v.estimate,
            self.last_eval
        )
    }

    fn log(&mut self, state: &GanState, seconds: f64) -> Result<impl serde::Serialize> {
        let (w1, modes, _) = evaluate(state, self.config, self.eval_samples)?;
        let v = self.values.as_ref().context("no step was taken")?;
        let step = state.step;
        let line = EvalLine {
            step,
            w1,
            modes: modes.as_ref().map(|m| m.covered),
            modes_total: modes.as_ref().map(|m| m.total),
            hq: modes.as_ref().map(|m| m.hq),
            critic_loss: v.critic_loss,
            generator_loss: v.generator_loss,
            estimate: v.estimate,
            penalty: v.penalty,
            seconds,
        };
        self.history.push((step, w1, line.modes));
        self.last_eval = match &modes {
            Some(m) => {
                format!("W1 {w1:.3} · modes {}/{} · HQ {:.0}%", m.covered, m.total, 100.0 * m.hq)
            }
            None => format!("W1 {w1:.3}"),
        };
        Ok(line)
    }

    fn checkpoint(&self, state: &GanState) -> std::result::Result<Vec<u8>, Unsaved> {
        checkpoint::to_bytes(state, self.config).map_err(Unsaved::from_record)
    }

    fn divergence_hint(&self) -> &'static str {
        " Try a smaller --lr."
    }
}

fn train(args: TrainArgs) -> Result<()> {
    if !(2..=4096).contains(&args.eval_samples) {
        bail!("--eval-samples must be between 2 and 4096 (exact W1 costs O(N³))");
    }
    let log = ("--eval-every", args.eval_every);
    let cadence = Cadence::new(args.steps, log, args.checkpoint_every, args.run.max_minutes)?;
    let folder = RunFolder::create(&args.out, CHECKPOINT)?;
    let started = device::native(args.device)?;
    let (device, backend) = (started.clone().announce(), started.backend);
    let (state, config) = if args.run.resume {
        let bytes = folder.read_checkpoint()?;
        let (state, saved) = checkpoint::from_bytes(&bytes, &device)
            .with_context(|| format!("cannot resume from {}", folder.checkpoint.display()))?;
        (state, resumed_config(&args, saved, &folder)?)
    } else {
        let config = build_config(&args)?;
        (GanState::new(&config, &device), config)
    };
    folder.write_config(&config)?;
    let mut metrics = folder.metrics(args.run.resume.then_some(state.step))?;
    eprintln!(
        "{} on {} · {}×{} MLPs · batch {} · n_critic {} · {} on {backend}",
        config.objective.name(),
        match &config.data {
            Source::Toy(t) => t.label().to_string(),
            Source::Drawn(p) => format!("{} drawn points", p.len()),
        },
        config.depth,
        config.hidden,
        config.batch_size,
        config.n_critic,
        config.critic_optimizer.name(),
    );
    let mut run = GanRun {
        config: &config,
        eval_samples: args.eval_samples,
        values: None,
        last_eval: String::new(),
        history: vec![],
    };
    if !args.run.resume {
        // A fresh run keeps its starting point, so there is always a good checkpoint to go back to.
        folder.save(&run, &state, 0)?;
    }
    let (state, seconds) = drive(&mut run, state, &folder, &cadence, &mut metrics)?;
    let (w1, modes, fake) = evaluate(&state, &config, args.eval_samples)?;
    super::plot::samples_png(&args.out.join("samples.png"), &state, &config, &fake)?;
    if !run.history.is_empty() {
        super::plot::metrics_png(&args.out.join("metrics.png"), &run.history)?;
    }
    let summary = match modes {
        Some(m) => format!(
            "W1 {w1:.4}, modes {}/{}, high quality {:.1}%",
            m.covered,
            m.total,
            100.0 * m.hq
        ),
        None => format!("W1 {w1:.4}"),
    };
    println!("step {}: {summary} ({seconds:.1} s). Wrote {}", state.step, args.out.display());
    Ok(())
}
