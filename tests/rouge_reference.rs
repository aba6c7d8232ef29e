//! Compares `rouge::score` with Google's `rouge-score` (Python) on Lead-3 of
//! the first 1,000 CNN/DailyMail validation pairs, with and without stemming.
//!
//! Needs `python3` and access to PyPI the first time: a venv is created at
//! `$EARTHMOVER_VENV` (default `<crate>/.venv`) and `rouge-score` installed
//! into it unless it is already importable (scripts/setup.sh does this). The test fails (with a
//! message naming what is missing) when the data or Python is unavailable.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use earthmover::text::data::read_parallel;
use earthmover::text::rouge::{lead, score};

const VAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/cnndm/val");
const PAIRS: usize = 1000;

fn venv_dir() -> PathBuf {
    std::env::var_os("EARTHMOVER_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv"))
}

fn run_ok(cmd: &mut Command) -> bool {
    cmd.status().map(|s| s.success()).unwrap_or(false)
}

/// Returns the venv's python with `rouge_score` importable, creating the venv
/// and installing `rouge-score` only when needed.
fn python_with_rouge_score() -> Option<PathBuf> {
    let venv = venv_dir();
    let python = venv.join("bin").join("python");
    let has_rouge = |py: &Path| run_ok(Command::new(py).args(["-c", "import rouge_score"]));
    if python.exists() && has_rouge(&python) {
        return Some(python);
    }
    if !python.exists() && !run_ok(Command::new("python3").args(["-m", "venv"]).arg(&venv)) {
        return None;
    }
    let pip_ok =
        run_ok(Command::new(&python).args(["-m", "pip", "install", "--quiet", "rouge-score"]));
    (pip_ok && has_rouge(&python)).then_some(python)
}

/// References: the target with ` <q> ` replaced by a newline (rougeL ignores
/// line breaks, and this avoids the spurious token `q`).
fn reference(target: &str) -> String {
    earthmover::text::tokenize::split_summary_sentences(target).join("\n")
}

struct Stats {
    mean_rust: [f64; 3],
    mean_py: [f64; 3],
    max_diff: [f64; 3],
}

fn compare(cands: &[String], refs: &[String], stem: bool, py: &serde_json::Value) -> Stats {
    let rows = py["per_pair"].as_array().expect("per_pair array");
    assert_eq!(rows.len(), cands.len());
    let mut st = Stats { mean_rust: [0.0; 3], mean_py: [0.0; 3], max_diff: [0.0; 3] };
    for ((c, r), row) in cands.iter().zip(refs).zip(rows) {
        let s = score(c, r, stem);
        let rust = [s.rouge1.f1 * 100.0, s.rouge2.f1 * 100.0, s.rouge_l.f1 * 100.0];
        for k in 0..3 {
            let p = row[k].as_f64().expect("number");
            st.mean_rust[k] += rust[k] / cands.len() as f64;
            st.max_diff[k] = st.max_diff[k].max((rust[k] - p).abs());
        }
    }
    for k in 0..3 {
        st.mean_py[k] = py["mean"][k].as_f64().expect("mean");
    }
    let corpus = earthmover::text::rouge::corpus(cands, refs, stem);
    let corpus = [corpus.rouge1, corpus.rouge2, corpus.rouge_l];
    for (c, m) in corpus.iter().zip(&st.mean_rust) {
        assert!((c - m).abs() < 1e-9);
    }
    st
}

#[test]
fn lead3_matches_rouge_score() {
    assert!(
        Path::new(&format!("{VAL}.source.gz")).exists(),
        "{VAL} is missing: the tests read ../shared/data in place"
    );
    let python = python_with_rouge_score().unwrap_or_else(|| {
        panic!(
            "could not set up a venv with rouge-score at {} (python3-venv and PyPI are needed)",
            venv_dir().display()
        )
    });
    let t0 = Instant::now();
    let data = read_parallel(Path::new(VAL), Some(PAIRS)).expect("read val");
    let cands: Vec<String> = data.pairs.iter().map(|p| lead(&p.article, 3)).collect();
    let refs: Vec<String> = data.pairs.iter().map(|p| reference(&p.summary)).collect();

    let input =
        std::env::temp_dir().join(format!("earthmover-rouge-ref-{}.json", std::process::id()));
    let json = serde_json::json!({ "cands": cands, "refs": refs });
    std::fs::write(&input, json.to_string()).expect("write input");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("rouge_reference.py");
    let t_py = Instant::now();
    let out = Command::new(&python).arg(&script).arg(&input).output().expect("run python");
    let py_secs = t_py.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&input);
    assert!(out.status.success(), "python failed: {}", String::from_utf8_lossy(&out.stderr));
    let py: serde_json::Value = serde_json::from_slice(&out.stdout).expect("python json");

    let t_rust = Instant::now();
    for (name, stem) in [("stem", true), ("nostem", false)] {
        let st = compare(&cands, &refs, stem, &py[name]);
        eprintln!(
            "{name}: rust R1/R2/RL = {:.4}/{:.4}/{:.4}, rouge-score = {:.4}/{:.4}/{:.4}, max per-pair |diff| = {:.2e}/{:.2e}/{:.2e}",
            st.mean_rust[0],
            st.mean_rust[1],
            st.mean_rust[2],
            st.mean_py[0],
            st.mean_py[1],
            st.mean_py[2],
            st.max_diff[0],
            st.max_diff[1],
            st.max_diff[2]
        );
        for k in 0..3 {
            assert!((st.mean_rust[k] - st.mean_py[k]).abs() < 0.05, "{name} mean differs");
            assert!(st.max_diff[k] < 1e-6, "{name} per-pair diff {}", st.max_diff[k]);
        }
    }
    eprintln!(
        "timing: python {py_secs:.1}s, rust scoring (both settings) {:.2}s, total {:.1}s",
        t_rust.elapsed().as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );
}
