//! The command-line tool: `earthmover gan …`, `earthmover summarize …`, `earthmover rouge`,
//! `earthmover align …`, `earthmover unpaired …`.

mod align;
mod driver;
mod gan;
mod plot;
mod summarize;
mod unpaired;
pub mod values;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "earthmover",
    version,
    about = "Wasserstein GANs and summarization: train, evaluate, export."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// GAN, WGAN, WGAN-GP and CT-GAN on 2-D toy distributions.
    #[command(subcommand)]
    Gan(gan::GanCommand),
    /// Pointer-generator summarization: train, run, eval, lead, export.
    #[command(subcommand)]
    Summarize(summarize::SummarizeCommand),
    /// ROUGE-1/2/L F1 (×100) of candidate summaries against references, as rouge-score.
    Rouge(summarize::RougeArgs),
    /// Word translation without a dictionary: adversarial alignment (GAN, WGAN, WGAN-GP,
    /// CT-GAN), Procrustes refinement, CSLS evaluation.
    #[command(subcommand)]
    Align(align::AlignCommand),
    /// Summarization without pairs (Wang & Lee 2018): pretrain, train (the GAN phase), eval,
    /// run, export.
    #[command(subcommand)]
    Unpaired(unpaired::UnpairedCommand),
}

/// Parses the arguments, runs the command, and prints any error once with its causes.
pub fn main() -> ExitCode {
    crate::heap::keep_freed_memory();
    // Exits 0 after --help or --version, 2 on a usage error.
    let result = match Cli::parse().command {
        Command::Gan(command) => gan::run(command),
        Command::Summarize(command) => summarize::run(command),
        Command::Rouge(args) => summarize::rouge_cmd(args),
        Command::Align(command) => align::run(command),
        Command::Unpaired(command) => unpaired::run(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// A training run's checkpoint, inside its folder.
const CHECKPOINT: &str = "checkpoint.safetensors";

/// The bytes of `path`, or an error naming it.
fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// The bytes of `path`, decompressed when its name ends in .gz.
fn read_gz(path: &Path) -> Result<Vec<u8>> {
    let bytes = read(path)?;
    if path.extension().is_none_or(|e| e != "gz") {
        return Ok(bytes);
    }
    let mut out = vec![];
    std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&bytes[..]), &mut out)
        .with_context(|| format!("{} is not valid gzip", path.display()))?;
    Ok(out)
}

/// `path` itself, or `name` inside it when it is a folder (a run's folder given for its file).
fn file_in(path: &Path, name: &str) -> PathBuf {
    if path.is_dir() { path.join(name) } else { path.to_path_buf() }
}

/// Writes a flag that was given over the setting it overrides.
fn set<T>(flag: Option<T>, setting: &mut T) {
    if let Some(v) = flag {
        *setting = v;
    }
}

/// Tells how many records of `path` were skipped, and why (the first five).
fn report_bad(path: &Path, r: &crate::text::data::ReadReport) {
    let bad = r.bad();
    if bad > 0 {
        eprintln!("{}: skipped {bad} bad records", path.display());
        for m in r.messages.iter().take(5) {
            eprintln!("  {m}");
        }
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, then a rename,
/// so a crash never leaves a half-written file where a good one was.
fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map_or("file".into(), |n| n.to_string_lossy());
    // One fixed name, so a write killed halfway leaves at most one stale file, which the next
    // write replaces.
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, path))
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The progress bar every long command shows: `{bar} pos/len {unit} · rate · message · eta`,
/// starting at `at` (a resumed run's step).
fn progress_bar(total: u64, at: u64, unit: &str) -> ProgressBar {
    let unit = if unit.is_empty() { String::new() } else { format!(" {unit}") };
    let template =
        format!("{{bar:30}} {{pos}}/{{len}}{unit} · {{per_sec}} · {{msg}} · eta {{eta}}");
    let style = ProgressStyle::with_template(&template).unwrap_or(ProgressStyle::default_bar());
    ProgressBar::new(total).with_style(style).with_position(at.min(total))
}
