//! `earthmover gan train`: a full training run with a progress bar, metrics, plots and
//! exact checkpoints.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::cli::driver::{Cadence, ResumeArgs, Run, RunFolder, Unsaved, drive};
use crate::cli::set;
use crate::cli::values::{GanOptimizer, Loss, LrSchedule};
use crate::device::{self, DeviceChoice};
use crate::gan::checkpoint;
use crate::gan::train::{RealData, StepValues};
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

const STREAM_EVAL: u64 = 100;

/// One line of `metrics.jsonl`.
#[derive(Serialize)]
struct EvalLine {
    w1: f64,
    modes: Option<usize>,
    modes_total: Option<usize>,
    hq: Option<f64>,
    #[serde(flatten)]
    values: StepValues,
}

/// The `--config` file, or `default` without one.
fn read_config(args: &TrainArgs, default: GanConfig) -> Result<GanConfig> {
    let Some(path) = &args.config else { return Ok(default) };
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
        config = if args.config.is_some() {
            GanConfig { objective, ..config }
        } else {
            GanConfig { seed: config.seed, ..GanConfig::paper(objective, config.data) }
        };
    }
    set(args.data.map(Source::Toy), &mut config.data);
    config.seed = args.seed.unwrap_or(config.seed);
    config.hidden = args.hidden.unwrap_or(config.hidden);
    config.depth = args.depth.unwrap_or(config.depth);
    config.batch_size = args.batch_size.unwrap_or(config.batch_size);
    config.n_critic = args.n_critic.unwrap_or(config.n_critic);
    // A named optimizer replaces both players', at the critic's learning rate.
    let named = args.optimizer.map(|name| name.config(config.critic_optimizer.lr()));
    for opt in [&mut config.critic_optimizer, &mut config.generator_optimizer] {
        set(named.clone(), opt);
        set(args.lr.map(|lr| opt.clone().with_lr(lr)), opt);
        if let OptimizerConfig::Adam { beta1, beta2, .. } = opt {
            *beta1 = args.beta1.unwrap_or(*beta1);
            *beta2 = args.beta2.unwrap_or(*beta2);
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
    config.tricks.label_smoothing = args.label_smoothing.or(config.tricks.label_smoothing);
    config.tricks.feature_matching |= args.feature_matching;
    config.critic_layer_norm |= args.layer_norm;
    let (kernels, dims) = (args.minibatch_kernels, args.minibatch_dims);
    if args.minibatch_discrimination || kernels.is_some() || dims.is_some() {
        let mut shape = config.tricks.minibatch_discrimination.unwrap_or_default();
        shape.kernels = kernels.unwrap_or(shape.kernels);
        shape.dims = dims.unwrap_or(shape.dims);
        config.tricks.minibatch_discrimination = Some(shape);
    }
    config.tricks.historical_averaging =
        args.historical_averaging.or(config.tricks.historical_averaging);
    set(args.lr_schedule.map(|s| s.schedule(args.steps)), &mut config.schedule);
    config.validate()?;
    Ok(config)
}

/// The config a `--resume` continues with. Rule: the checkpoint's config stays; a flag that
/// would change it is refused by name (giving the same value again is fine). The one setting a
/// resume may change is the linear schedule's end: it is defined by the total step count, so
/// resuming past it needs `--lr-schedule linear`, which stretches it to the new `--steps` and
/// says so (resuming past it without that would train at learning rate 0).
fn resumed_config(args: &TrainArgs, saved: GanConfig, folder: &RunFolder) -> Result<GanConfig> {
    let wanted = apply_flags(args, read_config(args, saved.clone())?)?;
    let stretched = match (&saved.schedule, &wanted.schedule, args.lr_schedule) {
        (Schedule::Linear { steps: a }, Schedule::Linear { steps: b }, Some(_)) => Some((*a, *b)),
        _ => None,
    };
    let mut compare = wanted.clone();
    if stretched.is_some() {
        compare.schedule = saved.schedule.clone();
    }
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
    values: StepValues,
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
        self.values = v;
        Ok(state)
    }

    fn message(&self) -> String {
        let v = &self.values;
        format!(
            "D {:.3} · G {:.3} · {} {:.3} · {}",
            v.critic_loss,
            v.generator_loss,
            if self.config.objective.is_wasserstein() { "Ŵ" } else { "JŜ" },
            v.estimate,
            self.last_eval
        )
    }

    fn log(&mut self, state: &GanState, _: f64) -> Result<impl serde::Serialize> {
        let (w1, modes, _) = evaluate(state, self.config, self.eval_samples)?;
        let line = EvalLine {
            w1,
            modes: modes.as_ref().map(|m| m.covered),
            modes_total: modes.as_ref().map(|m| m.total),
            hq: modes.as_ref().map(|m| m.hq),
            values: self.values,
        };
        self.history.push((state.step, w1, line.modes));
        let modes = modes.map_or(String::new(), |m| {
            format!(" · modes {}/{} · HQ {:.0}%", m.covered, m.total, 100.0 * m.hq)
        });
        self.last_eval = format!("W1 {w1:.3}{modes}");
        Ok(line)
    }

    fn checkpoint(&self, state: &GanState) -> std::result::Result<Vec<u8>, Unsaved> {
        Ok(checkpoint::to_bytes(state, self.config)?)
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
    let folder = RunFolder::create(&args.out)?;
    let started = device::native(args.device)?;
    let (device, backend) = (started.clone().announce(), started.backend);
    let (state, config) = if args.run.resume {
        let (state, saved) = folder.resume(|b| checkpoint::from_bytes(b, &device))?;
        (state, resumed_config(&args, saved, &folder)?)
    } else {
        let config = apply_flags(&args, read_config(&args, GanConfig::toy_default())?)?;
        (GanState::new(&config, &device), config)
    };
    let mut metrics = folder.start(&config, args.run.resume.then_some(state.step))?;
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
        values: StepValues::default(),
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
    let modes = modes.map_or(String::new(), |m| {
        format!(", modes {}/{}, high quality {:.1}%", m.covered, m.total, 100.0 * m.hq)
    });
    let (step, out) = (state.step, args.out.display());
    println!("step {step}: W1 {w1:.4}{modes} ({seconds:.1} s). Wrote {out}");
    Ok(())
}
