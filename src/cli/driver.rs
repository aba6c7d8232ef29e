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

impl Unsaved {
    /// A checkpoint's write error: a non-finite tensor is divergence, the rest a failure.
    pub fn from_record(e: crate::record::RecordError) -> Self {
        match e {
            crate::record::RecordError::NonFinite(name) => Unsaved::NonFinite(name),
            other => Unsaved::Other(other.into()),
        }
    }
}

impl<E: Into<anyhow::Error>> From<E> for Unsaved {
    fn from(e: E) -> Self {
        Unsaved::Other(e.into())
    }
}

/// A training run the driver advances one step at a time.
pub trait Run {
    /// One line of metrics.jsonl: a typed record, so each command's lines keep one shape.
    type Metrics: serde::Serialize;
    /// Steps done so far.
    fn step(&self) -> u64;
    /// One step. The error names what went wrong (a loss that became NaN, a value that could
    /// not be read); the driver adds the step and the last good checkpoint.
    fn advance(&mut self) -> Result<(), String>;
    /// The progress bar's message after the last step.
    fn message(&self) -> String;
    /// The metrics line of the current step, on the log cadence (it may evaluate).
    fn log(&mut self, seconds: f64) -> Result<Self::Metrics>;
    /// The checkpoint file's bytes.
    fn checkpoint(&self) -> Result<Vec<u8>, Unsaved>;
    /// Whether to save a checkpoint after this step besides the cadence's (align: each
    /// epoch's end).
    fn wants_checkpoint(&self) -> bool {
        false
    }
    /// What the user is told to try when training diverged.
    fn divergence_hint(&self) -> &'static str {
        ""
    }
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
    /// Refuses a cadence of 0, naming the flags.
    pub fn check(&self, log_flag: &str, checkpoint_flag: &str) -> Result<()> {
        if self.log_every == 0 || self.checkpoint_every == 0 {
            bail!("{log_flag} and {checkpoint_flag} must be at least 1");
        }
        if self.max_minutes.is_some_and(|m| !(m.is_finite() && m >= 0.0)) {
            bail!("--max-minutes must be a number of minutes ≥ 0");
        }
        Ok(())
    }
}

/// A run's folder: its checkpoint, config.toml and metrics.jsonl.
pub struct RunFolder {
    pub out: PathBuf,
    pub checkpoint: PathBuf,
}

impl RunFolder {
    /// Creates `out` if needed; the checkpoint is `out/checkpoint_name`.
    pub fn create(out: &Path, checkpoint_name: &str) -> Result<Self> {
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
        Ok(RunFolder { out: out.to_path_buf(), checkpoint: out.join(checkpoint_name) })
    }

    /// The checkpoint's bytes, for `--resume`.
    pub fn read_checkpoint(&self) -> Result<Vec<u8>> {
        std::fs::read(&self.checkpoint)
            .with_context(|| format!("--resume needs {}", self.checkpoint.display()))
    }

    /// Writes the run's config as config.toml.
    pub fn write_config<C: serde::Serialize>(&self, config: &C) -> Result<()> {
        let text = toml::to_string(config)?;
        super::write_atomic(&self.out.join("config.toml"), text.as_bytes())
            .with_context(|| format!("cannot write {}", self.out.join("config.toml").display()))
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
        let changed = changed_settings(saved, wanted)?;
        if changed.is_empty() {
            return Ok(());
        }
        let list: Vec<String> = changed.iter().map(|(k, a, b)| format!("{k} {a} → {b}")).collect();
        bail!(
            "--resume continues {} with the config it was saved with, but the flags given would change: {}. \
             Drop those flags to resume, or start a new run in another --out.",
            self.checkpoint.display(),
            list.join(", ")
        )
    }

    /// metrics.jsonl, opened for appending: emptied for a fresh run, cut to the lines up to
    /// the checkpoint's step for a resumed one (the steps after it are run again).
    pub fn metrics(&self, resume_at: Option<u64>) -> Result<std::fs::File> {
        let path = self.out.join("metrics.jsonl");
        match resume_at {
            Some(step) => super::truncate_metrics(&path, step)?,
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
    pub fn save(&self, run: &impl Run, last_good: u64) -> Result<()> {
        let bytes = match run.checkpoint() {
            Ok(b) => b,
            Err(Unsaved::NonFinite(name)) => bail!(
                "training diverged at step {}: {name} became NaN or infinite. The last good checkpoint (step {last_good}) is kept in {}.{}",
                run.step(),
                self.checkpoint.display(),
                run.divergence_hint()
            ),
            Err(Unsaved::Other(e)) => return Err(e),
        };
        super::write_atomic(&self.checkpoint, &bytes)
            .with_context(|| format!("cannot write {}", self.checkpoint.display()))
    }
}

/// The settings (dotted config paths, old value, new value) that differ between a checkpoint's
/// config and the one the command line asks for.
fn changed_settings<C: serde::Serialize>(
    old: &C,
    new: &C,
) -> Result<Vec<(String, String, String)>> {
    fn flatten(
        prefix: &str,
        v: &toml::Value,
        out: &mut std::collections::BTreeMap<String, String>,
    ) {
        match v {
            toml::Value::Table(t) => t.iter().for_each(|(k, v)| {
                flatten(
                    &if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") },
                    v,
                    out,
                )
            }),
            other => {
                out.insert(prefix.to_string(), other.to_string());
            }
        }
    }
    let (mut a, mut b) = (Default::default(), Default::default());
    flatten("", &toml::Value::try_from(old)?, &mut a);
    flatten("", &toml::Value::try_from(new)?, &mut b);
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let none = || "(none)".to_string();
    Ok(keys
        .into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| {
            (
                k.clone(),
                a.get(k).cloned().unwrap_or_else(none),
                b.get(k).cloned().unwrap_or_else(none),
            )
        })
        .collect())
}

/// Trains `run` to `cadence.steps`: a step, then (on their cadence) a metrics line and a
/// checkpoint, with a progress bar, until the steps or `--max-minutes` run out; the last state
/// is saved either way. A step that fails ends the run with the step and the last good
/// checkpoint named. Returns the elapsed seconds.
pub fn drive(
    run: &mut impl Run,
    folder: &RunFolder,
    cadence: &Cadence,
    metrics: &mut std::fs::File,
) -> Result<f64> {
    let bar = super::progress_bar(cadence.steps, run.step(), "");
    let start = Instant::now();
    let mut last_good = run.step();
    while run.step() < cadence.steps {
        if cadence.max_minutes.is_some_and(|m| start.elapsed().as_secs_f64() >= 60.0 * m) {
            // Through the bar, so the line is printed when stderr is not a terminal too.
            bar.suspend(|| eprintln!("--max-minutes reached at step {}", run.step()));
            break;
        }
        let at = run.step() + 1;
        if let Err(e) = run.advance() {
            bar.abandon();
            bail!(
                "training stopped at step {at}: {e}. The last good checkpoint (step {last_good}) is kept in {}.{}",
                folder.checkpoint.display(),
                run.divergence_hint()
            );
        }
        let step = run.step();
        if step.is_multiple_of(cadence.log_every) || step == cadence.steps {
            let line = run.log(start.elapsed().as_secs_f64())?;
            writeln!(metrics, "{}", serde_json::to_string(&line)?)?;
        }
        bar.set_position(step);
        bar.set_message(run.message());
        if step.is_multiple_of(cadence.checkpoint_every)
            || step == cadence.steps
            || run.wants_checkpoint()
        {
            folder.save(run, last_good)?;
            last_good = step;
        }
    }
    bar.finish();
    if last_good != run.step() || !folder.checkpoint.exists() {
        folder.save(run, last_good)?;
    }
    Ok(start.elapsed().as_secs_f64())
}
