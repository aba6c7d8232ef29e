//! The CLI as a person uses it: outputs, exact --resume, --config round trip, and clear errors.

use std::path::Path;
use std::process::{Command, Output};

fn earthmover(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_earthmover")).args(args).output().expect("the binary runs")
}

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("earthmover-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const SMALL: [&str; 8] =
    ["--hidden", "16", "--batch-size", "32", "--device", "cpu", "--eval-samples", "64"];

fn train(out: &Path, extra: &[&str]) -> Output {
    let out = out.to_str().unwrap();
    let mut args = vec!["gan", "train", "--out", out];
    args.extend(SMALL);
    args.extend(extra);
    earthmover(&args)
}

fn metrics(out: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(out.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn train_writes_metrics_config_checkpoint_and_plots() {
    let out = tmp("outputs");
    let o = train(
        &out,
        &[
            "--data",
            "8gaussians",
            "--loss",
            "wgan-gp",
            "--steps",
            "6",
            "--eval-every",
            "2",
            "--seed",
            "3",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let m = metrics(&out);
    assert_eq!(m.iter().map(|v| v["step"].as_u64().unwrap()).collect::<Vec<_>>(), vec![2, 4, 6]);
    for v in &m {
        assert!(v["w1"].as_f64().unwrap() > 0.0);
        assert!(v["modes"].as_u64().unwrap() <= 8);
        assert!((0.0..=1.0).contains(&v["hq"].as_f64().unwrap()));
    }
    for f in ["config.toml", "checkpoint.safetensors", "samples.png", "metrics.png"] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    let png = std::fs::read(out.join("samples.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("modes") && stdout.contains("W1"), "{stdout}");
}

#[test]
fn resume_continues_exactly_and_config_round_trips() {
    let (a, b, c) = (tmp("straight"), tmp("resumed"), tmp("from-config"));
    let common = [
        "--data",
        "25gaussians",
        "--loss",
        "wgan-gp",
        "--seed",
        "5",
        "--eval-every",
        "2",
        "--checkpoint-every",
        "2",
    ];
    let o = train(&a, &[&common[..], &["--steps", "6"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let o = train(&b, &[&common[..], &["--steps", "4"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let o = earthmover(&[
        "gan",
        "train",
        "--out",
        b.to_str().unwrap(),
        "--resume",
        "--steps",
        "6",
        "--eval-every",
        "2",
        "--eval-samples",
        "64",
        "--device",
        "cpu",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let strip = |v: Vec<serde_json::Value>| {
        v.into_iter()
            .map(|mut x| {
                x.as_object_mut().unwrap().remove("seconds");
                x
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(metrics(&a)), strip(metrics(&b)));
    // The saved config reproduces the run.
    let cfg = a.join("config.toml");
    let o = earthmover(&[
        "gan",
        "train",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        c.to_str().unwrap(),
        "--steps",
        "6",
        "--eval-every",
        "2",
        "--eval-samples",
        "64",
        "--device",
        "cpu",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(&cfg).unwrap(),
        std::fs::read_to_string(c.join("config.toml")).unwrap()
    );
    assert_eq!(strip(metrics(&a)), strip(metrics(&c)));
}

#[test]
fn bad_input_gets_a_clear_message_and_a_nonzero_exit() {
    let out = tmp("bad");
    let cases: [(&[&str], &str); 8] = [
        (
            &["--loss", "wgan-gp", "--minibatch-discrimination"],
            "minibatch discrimination cannot be used with wgan-gp",
        ),
        (&["--loss", "gan", "--minibatch-kernels", "0"], "minibatch kernels must be at least 1"),
        (
            &["--data", "9gaussians"],
            "invalid value '9gaussians' for '--data <DATA>'\n  [possible values: 8gaussians, 25gaussians, swissroll, ring, blobs, line]",
        ),
        (&["--loss", "lsgan"], "[possible values: gan, gan-minimax, wgan, wgan-gp, ct-gan]"),
        (&["--n-critic", "0"], "n_critic must be at least 1"),
        (&["--lr", "0"], "learning rate is 0"),
        (&["--loss", "gan", "--lambda", "1"], "--lambda applies to wgan-gp"),
        (&["--config", "/nonexistent/config.toml"], "cannot read config"),
    ];
    for (args, msg) in cases {
        let o = train(&out, &[args, &["--steps", "1"]].concat());
        assert!(!o.status.success(), "{args:?} should fail");
        assert!(stderr(&o).contains(msg), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{args:?} panicked");
    }
    let o = earthmover(&[
        "gan",
        "train",
        "--out",
        out.to_str().unwrap(),
        "--device",
        "tpu",
        "--steps",
        "1",
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("invalid value 'tpu' for '--device <DEVICE>'")
            && stderr(&o).contains("[possible values: auto, vulkan, wgpu, cuda, cpu]"),
        "{}",
        stderr(&o)
    );
    let o = earthmover(&["gan", "train", "--no-such-flag"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--no-such-flag"));
    let o = earthmover(&[
        "gan",
        "train",
        "--out",
        out.to_str().unwrap(),
        "--resume",
        "--device",
        "cpu",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--resume needs"), "{}", stderr(&o));
}

#[test]
fn nan_stops_training_and_keeps_the_last_good_checkpoint() {
    let out = tmp("nan");
    let o = train(
        &out,
        &[
            "--loss",
            "wgan-gp",
            "--optimizer",
            "sgd",
            "--lr",
            "1e30",
            "--steps",
            "50",
            "--checkpoint-every",
            "1",
            "--eval-every",
            "1",
        ],
    );
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("diverged") && err.contains("last good checkpoint"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // The checkpoint left behind loads, and holds finite weights from before the divergence.
    let bytes = std::fs::read(out.join("checkpoint.safetensors")).expect("a checkpoint stays");
    let (state, _) =
        earthmover::gan::checkpoint::from_bytes(&bytes, &burn::tensor::Device::flex()).unwrap();
    for (name, v) in earthmover::nn::param_values(&state.generator) {
        assert!(v.iter().all(|v| v.is_finite()), "{name}");
    }
}

/// `--resume` keeps the checkpoint's config: a flag that would change it is refused by name
/// (the same value again is fine), a config file with an unknown value names it, and a linear
/// schedule is stretched only when asked, never silently run past its end at learning rate 0.
#[test]
fn resume_refuses_changed_settings_and_schedules_extend_explicitly() {
    let out = tmp("resume-rules");
    let o = train(
        &out,
        &["--loss", "wgan-gp", "--steps", "2", "--eval-every", "2", "--lr-schedule", "linear"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let resume = |extra: &[&str]| {
        let mut args = vec![
            "gan",
            "train",
            "--out",
            out.to_str().unwrap(),
            "--resume",
            "--device",
            "cpu",
            "--eval-samples",
            "64",
            "--eval-every",
            "2",
        ];
        args.extend(extra);
        earthmover(&args)
    };
    // A changed width and learning rate: refused, each setting named with both values.
    let o = resume(&["--steps", "2", "--hidden", "32", "--lr", "0.01"]);
    let err = stderr(&o);
    assert!(!o.status.success());
    assert!(err.contains("hidden 16 → 32"), "{err}");
    assert!(err.contains("critic_optimizer.lr") && err.contains("generator_optimizer.lr"), "{err}");
    // The same width again: no conflict.
    let o = resume(&["--steps", "2", "--hidden", "16"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Past the linear schedule's end: refused unless the schedule is stretched explicitly.
    let o = resume(&["--steps", "4"]);
    let err = stderr(&o);
    assert!(
        !o.status.success()
            && err.contains("reaches 0 at step 2")
            && err.contains("--lr-schedule linear"),
        "{err}"
    );
    let o = resume(&["--steps", "4", "--lr-schedule", "linear"]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("now ends at step 4 instead of 2"), "{err}");
    assert!(std::fs::read_to_string(out.join("config.toml")).unwrap().contains("steps = 4"));

    // A config file with an unknown optimizer names the field's allowed values.
    let cfg = out.join("config.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let bad = out.join("bad.toml");
    let kind_line = text
        .lines()
        .find(|l| l.contains("\"adam\""))
        .expect("the optimizer's kind is in the config");
    std::fs::write(&bad, text.replacen(kind_line, &kind_line.replace("\"adam\"", "\"adamw\""), 1))
        .unwrap();
    let o = earthmover(&[
        "gan",
        "train",
        "--config",
        bad.to_str().unwrap(),
        "--out",
        tmp("bad-config").to_str().unwrap(),
        "--steps",
        "1",
        "--device",
        "cpu",
    ]);
    let err = stderr(&o);
    assert!(!o.status.success() && err.contains("adamw") && err.contains("adam"), "{err}");
}

/// Every training command honours `--max-minutes`: a run of many steps stops early with a
/// checkpoint at the step it names, and `--resume` with no time left starts from that step.
/// Every one refuses, by name, a resume whose flags would change the saved config.
#[test]
fn every_training_command_stops_at_max_minutes_resumes_there_and_refuses_changes() {
    let dir = tmp("max-minutes");
    std::fs::create_dir_all(&dir).unwrap();
    let tsv = dir.join("pairs.tsv");
    let lines: String = (0..200)
        .map(|i| {
            format!("This package provides a small tool for text, number {i}.\ttool for text\n")
        })
        .collect();
    std::fs::write(&tsv, lines).unwrap();
    let cnndm = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/cnndm/train");
    let path = |name: &str| dir.join(name).to_str().unwrap().to_string();
    let (gan, sum, align, pre, adv) =
        (path("gan"), path("summarize"), path("align"), path("pretrain"), path("adversarial"));
    let commands: Vec<(&str, Vec<&str>)> = vec![
        ("gan train", vec!["gan", "train", "--out", &gan, "--steps", "1000000", "--hidden", "8"]),
        (
            "summarize train",
            vec![
                "summarize",
                "train",
                "--data",
                cnndm,
                "--limit",
                "64",
                "--vocab-size",
                "300",
                "--emb",
                "8",
                "--hidden",
                "8",
                "--max-enc",
                "40",
                "--max-dec",
                "10",
                "--batch-size",
                "4",
                "--out",
                &sum,
                "--steps",
                "1000000",
            ],
        ),
        (
            "align train",
            vec![
                "align",
                "train",
                "--toy",
                "--epoch-size",
                "1000",
                "--epochs",
                "1000",
                "--out",
                &align,
            ],
        ),
        (
            "unpaired pretrain",
            vec![
                "unpaired",
                "pretrain",
                "--data",
                tsv.to_str().unwrap(),
                "--vocab-size",
                "60",
                "--emb",
                "8",
                "--hidden",
                "8",
                "--batch-size",
                "4",
                "--out",
                &pre,
                "--steps",
                "1000000",
            ],
        ),
        (
            "unpaired train",
            vec![
                "unpaired",
                "train",
                "--data",
                tsv.to_str().unwrap(),
                "--from",
                &pre,
                "--out",
                &adv,
                "--steps",
                "1000000",
            ],
        ),
    ];
    // For each command, a flag that changes its saved config, and the setting it changes.
    let changes: std::collections::HashMap<&str, (&str, &str, &str)> = [
        ("gan train", ("--hidden", "16", "hidden")),
        ("summarize train", ("--hidden", "16", "hidden")),
        ("align train", ("--critic-hidden", "24", "critic_hidden")),
        ("unpaired pretrain", ("--hidden", "16", "hidden")),
        ("unpaired train", ("--n-critic", "1", "n_critic")),
    ]
    .into_iter()
    .collect();
    let stopped_at = |o: &Output, what: &str| -> u64 {
        let err = stderr(o);
        assert!(o.status.success(), "{what}: {err}");
        let at = err
            .split("--max-minutes reached at step ")
            .nth(1)
            .unwrap_or_else(|| panic!("{what} ignored --max-minutes: {err}"));
        at.split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
    };
    for (what, args) in commands {
        let mut timed = args.clone();
        timed.extend(["--max-minutes", "0.003"]);
        let step = stopped_at(&earthmover(&timed), what);
        assert!(step < 100_000, "{what} stopped at step {step}");
        // The checkpoint holds that step: a resume with no time left starts, and stops, there.
        let mut resumed = args.clone();
        resumed.extend(["--resume", "--max-minutes", "0"]);
        if what == "unpaired train" {
            resumed.retain(|a| *a != "--from" && *a != pre.as_str());
        }
        assert_eq!(stopped_at(&earthmover(&resumed), what), step, "{what}");
        // A flag that would change the saved config is refused the same way by every command:
        // the setting named with its new value, and the checkpoint left as it was.
        let (flag, value, setting) = changes[what];
        let out = args[args.iter().position(|a| *a == "--out").unwrap() + 1];
        let ckpt = Path::new(out).join("checkpoint.safetensors");
        let before = std::fs::read(&ckpt).unwrap();
        match resumed.iter().position(|a| *a == flag) {
            Some(i) => resumed[i + 1] = value,
            None => resumed.extend([flag, value]),
        }
        let o = earthmover(&resumed);
        let err = stderr(&o);
        assert!(!o.status.success(), "{what} resumed with {flag} {value} changed: {err}");
        assert!(
            err.contains("the flags given would change: ")
                && err.contains(setting)
                && err.contains(&format!("→ {value}")),
            "{what}, {flag}: {err}"
        );
        assert_eq!(before, std::fs::read(&ckpt).unwrap(), "{what}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
