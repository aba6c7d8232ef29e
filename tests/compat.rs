//! Files written before the stores shared one container (`record.rs`) still load, and saving
//! what they load writes the same file again: the same tensors, byte for byte, and the same
//! header. The fixtures in `tests/fixtures/before-container/` were written by the CLI at
//! commit 2710e5a, each run two or three steps at tiny sizes: `gan train`, `align train --toy`
//! (a checkpoint and its best map), `summarize train` and `unpaired pretrain`. The shipped
//! files (`public/`), written before it too, load through their stores.

use std::collections::BTreeMap;

use burn::tensor::Device;
use earthmover::align::{adversarial, bundle};
use earthmover::gan::checkpoint;
use earthmover::record::Precision;
use earthmover::summarize::store::{self, Kind};
use earthmover::summarize::train::{TrainState, trainable};
use earthmover::unpaired::store as unpaired;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{ROOT}/tests/fixtures/before-container/{name}.safetensors");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

type Content = (BTreeMap<String, String>, BTreeMap<String, Vec<u8>>);

/// A file's metadata and every tensor's bytes, by name.
fn content(bytes: &[u8]) -> Content {
    let (_, meta) = safetensors::SafeTensors::read_metadata(bytes).unwrap();
    let tensors = safetensors::SafeTensors::deserialize(bytes).unwrap();
    (
        meta.metadata().clone().unwrap_or_default().into_iter().collect(),
        tensors.tensors().into_iter().map(|(n, t)| (n, t.data().to_vec())).collect(),
    )
}

/// The re-saved file holds the old file's tensors and header exactly.
fn assert_same_file(what: &str, old: &[u8], new: &[u8]) {
    let (old_meta, old_tensors) = content(old);
    let (new_meta, new_tensors) = content(new);
    assert_eq!(
        old_tensors.keys().collect::<Vec<_>>(),
        new_tensors.keys().collect::<Vec<_>>(),
        "{what}: tensor names"
    );
    for (name, bytes) in &old_tensors {
        assert!(bytes == &new_tensors[name], "{what}: tensor {name} changed");
    }
    assert_eq!(old_meta, new_meta, "{what}: header");
}

#[test]
fn a_gan_checkpoint_from_before_the_container_resumes_and_saves_the_same_file() {
    let old = fixture("gan-checkpoint");
    let (state, config) = checkpoint::from_bytes(&old, &Device::flex()).unwrap();
    // `gan train --steps 3` with 5 critic updates a step and historical averaging.
    assert_eq!((state.step, state.critic_steps), (3, 15));
    assert!(state.generator_avg.is_some() && state.critic_avg.is_some());
    assert_same_file("gan", &old, &checkpoint::to_bytes(&state, &config).unwrap());
}

#[test]
fn an_alignment_checkpoint_and_map_from_before_the_container_load_with_their_extras() {
    let old = fixture("align-checkpoint");
    let dim = 2; // the toy
    let (state, config, extras) = adversarial::from_bytes(&old, dim, &Device::flex()).unwrap();
    assert_eq!((state.step, state.critic_steps), (3, 15));
    // Written under its bare name before the container; `align train --resume` reads it.
    let best = &extras["best_criterion"];
    assert_eq!(best, "0.9881396199266116");
    let new = adversarial::to_bytes(&state, &config, &[("best_criterion", best.clone())]).unwrap();
    // The same file, with the extra now under the container's `extra.` prefix.
    let (mut old_meta, old_tensors) = content(&old);
    let (new_meta, new_tensors) = content(&new);
    let moved = old_meta.remove("best_criterion").unwrap();
    old_meta.insert("extra.best_criterion".into(), moved);
    assert_eq!((old_meta, old_tensors), (new_meta, new_tensors));
    let (again, _, extras) = adversarial::from_bytes(&new, dim, &Device::flex()).unwrap();
    assert_eq!((again.step, extras["best_criterion"].as_str()), (3, best.as_str()));

    let (w, extras) = adversarial::read_map(&fixture("align-map")).unwrap();
    assert_eq!(w.n, 2);
    assert_eq!((extras["objective"].as_str(), extras["epoch"].as_str()), ("wgan-gp", "1"));
}

#[test]
fn a_summarizer_checkpoint_from_before_the_container_resumes_and_saves_the_same_file() {
    let old = fixture("summarize-checkpoint");
    let l = store::load(&old, &Device::flex()).unwrap();
    assert_eq!((l.kind, l.step, l.vocab.len()), (Kind::Checkpoint, 2, 40));
    let state = TrainState { model: trainable(l.model), opt: l.opt.unwrap(), step: l.step };
    let new = store::checkpoint_bytes(&state, &l.config, &l.vocab, &[]).unwrap();
    assert_same_file("summarize", &old, &new);
}

#[test]
fn an_unpaired_pretraining_run_from_before_the_container_saves_the_same_file() {
    let old = fixture("unpaired-pretrain");
    let l = unpaired::from_bytes(&old, &Device::flex()).unwrap();
    assert_eq!(l.phase.name(), "pretrain");
    let new = unpaired::to_bytes(&l.phase, &l.config, &l.vocab, &[]).unwrap();
    assert_same_file("unpaired", &old, &new);
}

/// The shipped files: the exports the Summarize page loads (float16 and int8), the
/// Unpaired tab's float16 bundles with their corpus samples, and the Align tab's vectors.
#[test]
fn the_shipped_files_load_through_the_container() {
    let device = Device::flex();
    let read = |p: &str| std::fs::read(format!("{ROOT}/{p}")).unwrap();
    for (name, precision) in [
        ("pointer-generator", Precision::F16),
        ("unpaired-debian", Precision::Int8),
        ("unpaired-news", Precision::Int8),
    ] {
        let bytes = read(&format!("public/models/{name}.safetensors"));
        let l = store::load(&bytes, &device).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(l.is_export(), "{name}");
        let (meta, _) = content(&bytes);
        assert_eq!(meta["precision"].parse::<Precision>(), Ok(precision), "{name}");
    }
    for name in ["unpaired-lab", "unpaired-lab-news"] {
        let bytes = read(&format!("public/models/{name}.safetensors"));
        let l = unpaired::from_bytes(&bytes, &device).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(unpaired::is_bundle(&l.metadata), "{name}");
        let (documents, summaries) = unpaired::bundle_corpus(&l.metadata).unwrap();
        assert!(!documents.is_empty() && !summaries.is_empty(), "{name}");
    }
    let b = bundle::from_bytes(&read("public/align/es-en.safetensors")).unwrap();
    assert_eq!((b.src.len(), b.tgt.len()), (4774, 6637));
    let s = earthmover::unpaired::search::Searcher::from_bytes(&read(
        "public/models/search-news.safetensors",
    ))
    .unwrap();
    assert_eq!(s.config, earthmover::unpaired::search::SearchConfig::default());
}

/// Every store refuses another store's file by naming both formats.
#[test]
fn a_file_of_another_kind_is_refused_by_name() {
    let device = Device::flex();
    let gan = fixture("gan-checkpoint");
    let err = store::load(&gan, &device).err().unwrap().to_string();
    assert!(err.contains("not an earthmover pointer-generator file"), "{err}");
    assert!(err.contains("earthmover-gan-v2"), "{err}");
    let err = checkpoint::from_bytes(&fixture("summarize-checkpoint"), &device).err().unwrap();
    assert!(err.to_string().contains("not an earthmover GAN checkpoint"), "{err}");
    let err = unpaired::from_bytes(&fixture("align-checkpoint"), &device).err().unwrap();
    assert!(err.to_string().contains("earthmover-align-v1"), "{err}");
}
