//! The one training loop every CLI training command runs: `gan train`, `summarize train`,
//! `align train`, `unpaired pretrain` and `unpaired train` each wrap their state in a [`Run`]
//! and hand it to [`drive`], which owns the cadence (log, checkpoint, `--max-minutes`), the
//! progress bar, the metrics file and the last good checkpoint.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};

/// Why a checkpoint could not be written.
#[derive(Debug)]
pub enum Unsaved {
    /// A tensor (named) holds NaN or infinity: training diverged.
    NonFinite(String),
    Other(anyhow::Error),
}

/// A checkpoint's write error: a non-finite tensor is divergence, the rest a failure.
impl<E: Into<anyhow::Error>> From<E> for Unsaved {
    fn from(e: E) -> Self {
        match e.into().downcast() {
            Ok(crate::record::RecordError::NonFinite(name)) => Unsaved::NonFinite(name),
            Ok(other) => Unsaved::Other(other.into()),
            Err(e) => Unsaved::Other(e),
        }
    }
}

/// A training state that counts its steps.
pub trait Steps {
    fn step(&self) -> u64;
}

macro_rules! steps {
    ($($t:ty),*) => { $(impl Steps for $t { fn step(&self) -> u64 { self.step } })* };
}
steps!(
    crate::gan::GanState,
    crate::summarize::train::TrainState,
    crate::align::adversarial::AdversarialState,
    crate::unpaired::train::UnpairedState
);

/// Two models trained in step (unpaired pretraining): the first one's count.
impl<A: Steps, B> Steps for (A, B) {
    fn step(&self) -> u64 {
        self.0.step()
    }
}

/// A training run the driver advances one step at a time. The driver holds the state; the run
/// holds what its command needs around the pure step function (data, config, the last report).
pub trait Run {
    type State: Steps;
    /// One step from `state`. The error names what went wrong (a loss that became NaN, a value
    /// that could not be read); the driver adds the step and the last good checkpoint.
    fn advance(&mut self, state: Self::State) -> Result<Self::State>;
    /// The progress bar's message after the last step.
    fn message(&self) -> String;
    /// The metrics.jsonl record of `state`, on the log cadence (it may evaluate): a typed
    /// record, so each command's lines keep one shape. The driver adds the step and seconds.
    fn log(&mut self, state: &Self::State, seconds: f64) -> Result<impl serde::Serialize>;
    /// The checkpoint file's bytes.
    fn checkpoint(&self, state: &Self::State) -> Result<Vec<u8>, Unsaved>;
    /// Whether to save a checkpoint after this step besides the cadence's (align: each
    /// epoch's end).
    fn wants_checkpoint(&self, _state: &Self::State) -> bool {
        false
    }
    /// What the user is told to try when training diverged.
    fn divergence_hint(&self) -> &'static str {
        ""
    }
}

/// The flags every training command shares: continuing a run, and a time limit.
#[derive(clap::Args, Debug)]
pub struct ResumeArgs {
    /// Continue the run in --out exactly where its checkpoint stopped; a flag that would change
    /// a saved setting is refused by name.
    #[arg(long)]
    pub resume: bool,
    /// Stop after this many minutes, with a checkpoint (`--resume` continues).
    #[arg(long)]
    pub max_minutes: Option<f64>,
}

/// One line of metrics.jsonl: the step, the run's record, and the seconds since the start.
#[derive(serde::Serialize)]
struct Line<T> {
    step: u64,
    #[serde(flatten)]
    record: T,
    seconds: f64,
}

/// When the driver logs, saves and stops.
#[derive(Clone, Copy, Debug)]
pub struct Cadence {
    /// Steps to reach in total.
    pub steps: u64,
    pub log_every: u64,
    pub checkpoint_every: u64,
    /// Stop (with a checkpoint) after this many minutes.
    pub max_minutes: Option<f64>,
}

impl Cadence {
    /// A command's cadence from its flags; a cadence of 0 is refused naming `log_flag` and
    /// --checkpoint-every, and --max-minutes must be a number of minutes.
    pub fn new(
        steps: u64,
        (log_flag, log_every): (&str, u64),
        checkpoint_every: u64,
        max_minutes: Option<f64>,
    ) -> Result<Self> {
        if log_every == 0 || checkpoint_every == 0 {
            bail!("{log_flag} and --checkpoint-every must be at least 1");
        }
        if max_minutes.is_some_and(|m| !(m.is_finite() && m >= 0.0)) {
            bail!("--max-minutes must be a number of minutes ≥ 0");
        }
        Ok(Cadence { steps, log_every, checkpoint_every, max_minutes })
    }
}

/// A run's folder: its checkpoint, config.toml and metrics.jsonl.
pub struct RunFolder {
    pub out: PathBuf,
    pub checkpoint: PathBuf,
}

impl RunFolder {
    /// Creates `out` if needed; the checkpoint is `out/checkpoint.safetensors`.
    pub fn create(out: &Path) -> Result<Self> {
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
        Ok(RunFolder { out: out.to_path_buf(), checkpoint: out.join(super::CHECKPOINT) })
    }

    /// The checkpoint, read by `from_bytes`, for `--resume`.
    pub fn resume<T>(
        &self,
        from_bytes: impl FnOnce(&[u8]) -> Result<T, crate::record::RecordError>,
    ) -> Result<T> {
        let bytes = std::fs::read(&self.checkpoint)
            .with_context(|| format!("--resume needs {}", self.checkpoint.display()))?;
        from_bytes(&bytes)
            .with_context(|| format!("cannot resume from {}", self.checkpoint.display()))
    }

    /// Refuses a `--resume` whose flags would change the checkpoint's config, naming each
    /// setting with its saved and its asked-for value. Every training command resumes through
    /// this: the flags given are written over a copy of the saved config, and that copy must
    /// equal it.
    pub fn refuse_changed_settings<C: serde::Serialize>(
        &self,
        saved: &C,
        wanted: &C,
    ) -> Result<()> {
        type Flat = std::collections::BTreeMap<String, String>;
        /// The leaves of `v`, by dotted path.
        fn flatten(prefix: &str, v: &toml::Value, out: &mut Flat) {
            let toml::Value::Table(t) = v else {
                out.insert(prefix.to_string(), v.to_string());
                return;
            };
            for (k, v) in t {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten(&key, v, out);
            }
        }
        let (mut a, mut b) = (Flat::new(), Flat::new());
        flatten("", &toml::Value::try_from(saved)?, &mut a);
        flatten("", &toml::Value::try_from(wanted)?, &mut b);
        let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
        let get = |m: &Flat, k: &String| m.get(k).map_or("(none)".to_string(), Clone::clone);
        let changed: Vec<String> = (keys.into_iter())
            .filter(|k| a.get(*k) != b.get(*k))
            .map(|k| format!("{k} {} → {}", get(&a, k), get(&b, k)))
            .collect();
        if changed.is_empty() {
            return Ok(());
        }
        bail!(
            "--resume continues {} with the config it was saved with, but the flags given would change: {}. \
             Drop those flags to resume, or start a new run in another --out.",
            self.checkpoint.display(),
            changed.join(", ")
        )
    }

    /// Writes the run's config as config.toml, and opens metrics.jsonl for appending: emptied
    /// for a fresh run, cut to the lines up to the checkpoint's step for a resumed one (the
    /// steps after it are run again).
    pub fn start<C: serde::Serialize>(
        &self,
        config: &C,
        resume_at: Option<u64>,
    ) -> Result<std::fs::File> {
        super::write(&self.out.join("config.toml"), toml::to_string(config)?.as_bytes())?;
        let path = self.out.join("metrics.jsonl");
        match resume_at {
            Some(step) => {
                // A resumed run keeps the lines up to its checkpoint's step (none if the file
                // is missing; one it cannot read is an error, never overwritten).
                let text = match std::fs::read_to_string(&path) {
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
                    r => r.with_context(|| format!("cannot read {}", path.display()))?,
                };
                let kept: String = (text.lines())
                    .filter(|l| {
                        serde_json::from_str::<serde_json::Value>(l)
                            .ok()
                            .and_then(|v| v["step"].as_u64())
                            .is_some_and(|s| s <= step)
                    })
                    .map(|l| format!("{l}\n"))
                    .collect();
                super::write(&path, kept.as_bytes())?
            }
            None if path.exists() => std::fs::remove_file(&path)
                .with_context(|| format!("cannot empty {}", path.display()))?,
            None => {}
        }
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))
    }

    /// Saves the run's checkpoint atomically. A checkpoint with NaN is refused and the last
    /// good one (step `last_good`) stays.
    pub fn save<R: Run>(&self, run: &R, state: &R::State, last_good: u64) -> Result<()> {
        let bytes = match run.checkpoint(state) {
            Ok(b) => b,
            Err(Unsaved::NonFinite(name)) => bail!(
                "training diverged at step {}: {name} became NaN or infinite. The last good checkpoint (step {last_good}) is kept in {}.{}",
                state.step(),
                self.checkpoint.display(),
                run.divergence_hint()
            ),
            Err(Unsaved::Other(e)) => return Err(e),
        };
        super::write(&self.checkpoint, &bytes)
    }
}

/// Trains `state` to `cadence.steps` with `run`: a step, then (on their cadence) a metrics line
/// and a checkpoint, with a progress bar, until the steps or `--max-minutes` run out; the last
/// state is saved either way. A step that fails ends the run with the step and the last good
/// checkpoint named. Returns the last state and the elapsed seconds.
pub fn drive<R: Run>(
    run: &mut R,
    mut state: R::State,
    folder: &RunFolder,
    cadence: &Cadence,
    metrics: &mut std::fs::File,
) -> Result<(R::State, f64)> {
    let bar = super::progress_bar(cadence.steps, state.step(), "");
    let start = Instant::now();
    let mut last_good = state.step();
    while state.step() < cadence.steps {
        if cadence.max_minutes.is_some_and(|m| start.elapsed().as_secs_f64() >= 60.0 * m) {
            // Through the bar, so the line is printed when stderr is not a terminal too.
            bar.suspend(|| eprintln!("--max-minutes reached at step {}", state.step()));
            break;
        }
        let at = state.step() + 1;
        state = match run.advance(state) {
            Ok(next) => next,
            Err(e) => {
                bar.abandon();
                bail!(
                    "training stopped at step {at}: {e:#}. The last good checkpoint (step {last_good}) is kept in {}.{}",
                    folder.checkpoint.display(),
                    run.divergence_hint()
                );
            }
        };
        let step = state.step();
        if step.is_multiple_of(cadence.log_every) || step == cadence.steps {
            let seconds = start.elapsed().as_secs_f64();
            let line = Line { step, record: run.log(&state, seconds)?, seconds };
            writeln!(metrics, "{}", serde_json::to_string(&line)?)?;
        }
        bar.set_position(step);
        bar.set_message(run.message());
        if step.is_multiple_of(cadence.checkpoint_every)
            || step == cadence.steps
            || run.wants_checkpoint(&state)
        {
            folder.save(run, &state, last_good)?;
            last_good = step;
        }
    }
    bar.finish();
    if last_good != state.step() || !folder.checkpoint.exists() {
        folder.save(run, &state, last_good)?;
    }
    Ok((state, start.elapsed().as_secs_f64()))
}
