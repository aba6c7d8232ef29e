//! The command-line tool: `earthmover gan …`, `earthmover summarize …`, `earthmover rouge`,
//! `earthmover align …`, `earthmover unpaired …`.

mod align;
mod driver;
mod gan;
mod plot;
mod summarize;
mod unpaired;
pub mod values;

use std::process::ExitCode;

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
    Gan {
        #[command(subcommand)]
        command: gan::GanCommand,
    },
    /// Pointer-generator summarization: train, run, eval, lead, export.
    Summarize {
        #[command(subcommand)]
        command: summarize::SummarizeCommand,
    },
    /// ROUGE-1/2/L F1 (×100) of candidate summaries against references, as rouge-score.
    Rouge(summarize::RougeArgs),
    /// Word translation without a dictionary: adversarial alignment (GAN, WGAN, WGAN-GP,
    /// CT-GAN), Procrustes refinement, CSLS evaluation.
    Align {
        #[command(subcommand)]
        command: align::AlignCommand,
    },
    /// Summarization without pairs (Wang & Lee 2018): pretrain, train (the GAN phase), eval,
    /// run, export.
    Unpaired {
        #[command(subcommand)]
        command: unpaired::UnpairedCommand,
    },
}

/// Parses the arguments, runs the command, and prints any error once with its causes.
pub fn main() -> ExitCode {
    crate::heap::keep_freed_memory();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // --help and --version are not errors.
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let result = match cli.command {
        Command::Gan { command } => gan::run(command),
        Command::Summarize { command } => summarize::run(command),
        Command::Rouge(args) => summarize::rouge_cmd(args),
        Command::Align { command } => align::run(command),
        Command::Unpaired { command } => unpaired::run(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, then a rename,
/// so a crash never leaves a half-written file where a good one was.
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir =
        path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let name =
        path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "file".into());
    // One fixed name, so a write killed halfway leaves at most one stale file, which the next
    // write replaces.
    let tmp = dir.join(format!(".{name}.tmp"));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

/// Keeps only the lines of a metrics.jsonl whose `step` is at most `step` (a resumed run
/// rewrites what came after).
pub fn truncate_metrics(path: &std::path::Path, step: u64) -> anyhow::Result<()> {
    use anyhow::Context;
    let Ok(text) = std::fs::read_to_string(path) else { return Ok(()) };
    let kept: String = text
        .lines()
        .filter(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .ok()
                .and_then(|v| v["step"].as_u64())
                .is_some_and(|s| s <= step)
        })
        .map(|l| format!("{l}\n"))
        .collect();
    write_atomic(path, kept.as_bytes())
        .with_context(|| format!("cannot rewrite {}", path.display()))
}

/// The progress bar every long command shows: `{bar} pos/len {unit} · rate · message · eta`,
/// starting at `at` (a resumed run's step).
pub fn progress_bar(total: u64, at: u64, unit: &str) -> indicatif::ProgressBar {
    let unit = if unit.is_empty() { String::new() } else { format!(" {unit}") };
    let template =
        format!("{{bar:30}} {{pos}}/{{len}}{unit} · {{per_sec}} · {{msg}} · eta {{eta}}");
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&template)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_position(at.min(total));
    bar
}
