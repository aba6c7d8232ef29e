//! Crash safety, proven: `gan train` and `summarize train` are killed with SIGKILL at 20
//! random moments each (checkpoints are written every step, so many kills land inside a
//! write), and restarted with `--resume` after every kill. After each kill the last checkpoint
//! must load and hold no fewer steps than before; at the end, the weights, optimizer state and
//! metrics must equal those of a run that was never interrupted, bit for bit.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use burn::tensor::Device;
use common::cli::tmp;
use earthmover::rng::Rng;

const KILLS: usize = 20;
const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/cnndm/train");

fn spawn(args: &[String]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_earthmover"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs")
}

/// A checkpoint's tensors (name → dtype, shape, bytes) and metadata, in a fixed order: the
/// file's own byte order depends on a hash map's.
type Contents = (BTreeMap<String, String>, BTreeMap<String, (String, Vec<usize>, Vec<u8>)>);

fn contents(path: &Path) -> Contents {
    let bytes = std::fs::read(path).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let metadata = meta.metadata().clone().unwrap_or_default().into_iter().collect();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let tensors = st
        .tensors()
        .into_iter()
        .map(|(n, v)| (n, (format!("{:?}", v.dtype()), v.shape().to_vec(), v.data().to_vec())))
        .collect();
    (metadata, tensors)
}

/// metrics.jsonl without the wall-clock fields.
fn metrics(dir: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap_or_default();
    text.lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{e}: a metrics line is broken: {l}"));
            for k in ["seconds", "tokens_per_sec"] {
                v.as_object_mut().unwrap().remove(k);
            }
            v
        })
        .collect()
}

/// Runs `args` (plus `--out dir`) straight through, then again with 20 kills and resumes, and
/// compares. `step_of` loads a checkpoint the way the program does and returns its step.
fn kill_and_resume(name: &str, args: &[&str], step_of: impl Fn(&[u8]) -> Result<u64, String>) {
    let with_out = |dir: &Path, resume: bool| {
        let mut v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        v.extend(["--out".into(), dir.to_str().unwrap().into()]);
        if resume {
            v.push("--resume".into());
        }
        v
    };
    let straight = tmp(&format!("{name}-straight"));
    let t0 = Instant::now();
    let o = spawn(&with_out(&straight, false)).wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let full = t0.elapsed();

    let dir = tmp(&format!("{name}-killed"));
    let ckpt = dir.join("checkpoint.safetensors");
    let mut rng = Rng::new(2026);
    let (mut kills, mut in_write, mut finished_early, mut last_step) = (0, 0, 0, 0u64);
    let mut steps_seen = vec![];
    while kills < KILLS {
        let mut child = spawn(&with_out(&dir, ckpt.exists()));
        // Uniform over a tenth of the straight run: startup, loading, steps and writes alike.
        std::thread::sleep(full.mul_f64(0.1 * rng.uniform()));
        if child.try_wait().unwrap().is_some() {
            finished_early += 1;
        } else {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        let status = child.wait().unwrap();
        if status.success() {
            continue;
        }
        if std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().contains(".tmp"))
        {
            in_write += 1;
            for e in std::fs::read_dir(&dir).unwrap().flatten() {
                if e.file_name().to_string_lossy().contains(".tmp") {
                    std::fs::remove_file(e.path()).unwrap();
                }
            }
        }
        if ckpt.exists() {
            let step = step_of(&std::fs::read(&ckpt).unwrap()).unwrap_or_else(|e| {
                panic!("{name}: after kill {kills} the checkpoint does not load: {e}")
            });
            assert!(
                step >= last_step,
                "{name}: kill {kills} lost saved work: step {step} after {last_step}"
            );
            last_step = step;
            steps_seen.push(step);
        }
    }
    let o = spawn(&with_out(&dir, ckpt.exists())).wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    println!(
        "{name}: {kills} kills ({in_write} inside a checkpoint write, {finished_early} runs finished first), 0 unreadable checkpoints, steps at each kill {steps_seen:?}; straight run {:.1} s",
        full.as_secs_f64()
    );
    let (a, b) = (contents(&straight.join("checkpoint.safetensors")), contents(&ckpt));
    assert_eq!(a.0, b.0, "{name}: the resumed run's checkpoint metadata differs");
    assert_eq!(a.1.keys().collect::<Vec<_>>(), b.1.keys().collect::<Vec<_>>());
    for (k, v) in &a.1 {
        assert!(v == &b.1[k], "{name}: tensor {k} differs from the uninterrupted run's");
    }
    assert_eq!(
        metrics(&straight),
        metrics(&dir),
        "{name}: metrics differ from the uninterrupted run's"
    );
}

#[test]
fn gan_train_survives_sigkill() {
    let args = [
        "gan",
        "train",
        "--data",
        "8gaussians",
        "--loss",
        "wgan-gp",
        "--hidden",
        "32",
        "--batch-size",
        "64",
        "--steps",
        "300",
    ];
    let rest = [
        "--checkpoint-every",
        "1",
        "--eval-every",
        "100",
        "--eval-samples",
        "64",
        "--device",
        "cpu",
        "--seed",
        "5",
    ];
    let device = Device::flex();
    kill_and_resume("gan", &[&args[..], &rest[..]].concat(), |bytes| {
        earthmover::gan::checkpoint::from_bytes(bytes, &device)
            .map(|(s, _)| s.step)
            .map_err(|e| e.to_string())
    });
}

#[test]
fn summarize_train_survives_sigkill() {
    let args = [
        "summarize",
        "train",
        "--data",
        DATA,
        "--limit",
        "200",
        "--vocab-size",
        "500",
        "--emb",
        "16",
        "--hidden",
        "16",
        "--max-enc",
        "60",
    ];
    let rest = [
        "--max-dec",
        "16",
        "--batch-size",
        "4",
        "--steps",
        "60",
        "--checkpoint-every",
        "1",
        "--eval-every",
        "1000",
        "--device",
        "cpu",
        "--seed",
        "5",
    ];
    let device = Device::flex();
    kill_and_resume("summarize", &[&args[..], &rest[..]].concat(), |bytes| {
        earthmover::summarize::store::load(bytes, &device)
            .map(|l| l.step)
            .map_err(|e| e.to_string())
    });
}
