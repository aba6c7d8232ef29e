//! The pointer-generator: batches and the extended vocabulary, the full model's gradient
//! against float64 finite differences (p_gen, the copy path and coverage included), and
//! a tiny model learning.

use burn::module::Module;
use burn::tensor::{Device, FloatDType, Tensor, TensorData};
use earthmover::nn::{self, FloatMap};
use earthmover::optim::gradients;
use earthmover::rng::Rng;
use earthmover::summarize::batch::{Batch, Example};
use earthmover::summarize::model::PointerGenerator;
use earthmover::summarize::train::{TrainState, train_step};
use earthmover::summarize::vocab::{self, Vocab};
use earthmover::summarize::{ModelConfig, SummarizerConfig};

fn words(s: &str) -> Vec<&str> {
    s.split_whitespace().collect()
}

fn toy_vocab() -> Vocab {
    Vocab::build(words("the cat sat on the mat . a dog ran to the park . the cat"), 10).unwrap()
}

#[test]
fn extended_vocabulary_and_copy_mask() {
    let v = toy_vocab();
    assert_eq!(v.len(), 10);
    assert_eq!(
        (v.word(0), v.word(1), v.word(2), v.word(3)),
        (Some("[PAD]"), Some("[UNK]"), Some("[START]"), Some("[STOP]"))
    );
    assert_eq!(v.word(4), Some("the")); // most frequent first
    let e = Example::new(
        &words("zorro the cat met zorro and bo"),
        &words("zorro met cat xyz"),
        &v,
        400,
        100,
    );
    let (z, m) = (v.len(), v.len() + 1);
    assert_eq!(e.oovs, vec!["zorro", "met", "and", "bo"]);
    assert_eq!(e.enc_ext[0], z);
    assert_eq!(e.enc_ext[4], z);
    assert_eq!(e.enc[0], vocab::UNK_ID);
    assert_eq!(
        e.dec_in,
        vec![vocab::START_ID, vocab::UNK_ID, vocab::UNK_ID, v.id("cat"), vocab::UNK_ID]
    );
    assert_eq!(e.target, vec![z, m, v.id("cat"), vocab::UNK_ID, vocab::STOP_ID]);
    let b = Batch::new(std::slice::from_ref(&e), v.len());
    // Target 0 ("zorro") can be copied from positions 0 and 4; it is not in the vocabulary.
    let row = |j: usize| &b.copy_mask[j * b.enc_len..(j + 1) * b.enc_len];
    assert_eq!(row(0), &[1., 0., 0., 0., 1., 0., 0.]);
    assert_eq!(b.target_in_vocab[..5], [0., 0., 1., 1., 1.]);
    assert_eq!(row(3), &[0.; 7]); // an UNK target is never copied
    // Truncation.
    let short = Example::new(&words("a b c d e"), &words("x y z"), &v, 3, 3);
    assert!(short.truncated);
    assert_eq!(short.enc.len(), 3);
    assert_eq!(short.dec_in.len(), 3);
    assert_eq!(short.target.len(), 3);
    assert_ne!(short.target.last(), Some(&vocab::STOP_ID));
    // The vocabulary file round-trips and bad files are named.
    assert_eq!(Vocab::from_text(&v.to_text()).unwrap(), v);
    assert!(Vocab::from_text("the\t3\n").is_err());
    assert!(
        Vocab::from_text(&format!("{}x y\n", v.to_text()))
            .unwrap_err()
            .to_string()
            .contains("line 11")
    );
}

fn tiny_config() -> ModelConfig {
    ModelConfig {
        vocab_size: 10,
        emb: 4,
        hidden: 3,
        pointer: true,
        coverage: true,
        init_uniform: 0.1,
        init_std: 0.1,
    }
}

fn tiny_batch(v: &Vocab) -> Batch {
    let a = Example::new(
        &words("zorro the cat sat on zorro mat"),
        &words("zorro sat on the mat"),
        v,
        400,
        100,
    );
    let b = Example::new(&words("a dog ran to qux"), &words("dog ran qux"), v, 400, 100);
    Batch::new(&[a, b], v.len())
}

/// Puts the given values into each parameter, by name, as float64.
struct SetValues<'a>(&'a [(String, Vec<f64>)]);

impl FloatMap for SetValues<'_> {
    fn apply<const D: usize>(
        &mut self,
        path: &str,
        _id: burn::module::ParamId,
        t: Tensor<D>,
    ) -> Tensor<D> {
        let v = &self.0.iter().find(|(n, _)| n == path).expect("every parameter has values").1;
        Tensor::<D>::from_data(TensorData::new(v.clone(), t.shape()), &t.device())
            .cast(FloatDType::F64)
    }
}

/// A float64 model with the given parameter values (by name).
fn model_f64(
    config: &ModelConfig,
    values: &[(String, Vec<f64>)],
    device: &Device,
) -> PointerGenerator {
    nn::map_floats(PointerGenerator::init(config, 0, device), &mut SetValues(values))
}

fn loss_f64(
    config: &ModelConfig,
    values: &[(String, Vec<f64>)],
    batch: &Batch,
    device: &Device,
) -> f64 {
    let m = model_f64(config, values, device);
    m.loss(batch, 1.0).total.into_data().convert::<f64>().try_into_vec::<f64>().unwrap()[0]
}

/// Autodiff gradients of the full loss (NLL through p_gen, p_vocab and the copy path, plus
/// the coverage loss) against central finite differences, all in float64.
#[test]
fn full_model_gradient_matches_finite_differences() {
    let device = Device::flex();
    let v = toy_vocab();
    let config = tiny_config();
    let batch = tiny_batch(&v);
    assert!(batch.copy_mask.contains(&1.0) && batch.target_in_vocab.contains(&0.0));
    let mut rng = Rng::new(5);
    // Random parameters (scale 0.5, so every path carries gradient), by name.
    let values: Vec<(String, Vec<f64>)> =
        nn::param_values(&PointerGenerator::init(&config, 0, &device))
            .into_iter()
            .map(|(name, v)| (name, v.iter().map(|_| rng.uniform() - 0.5).collect()))
            .collect();
    assert_eq!(values.len(), 27, "every weight of See et al.'s model is a named parameter");
    let m = model_f64(&config, &values, &device).train();
    let loss = m.loss(&batch, 1.0);
    let grads: Vec<Vec<f64>> = nn::grad_values(&m, &gradients(&loss.total, &m))
        .into_iter()
        .map(|(name, g)| g.unwrap_or_else(|| panic!("{name} gets no gradient")))
        .collect();
    // ε = 1e-3: with smaller ε the differences pick up noise from Flex's float64 forward pass
    // (relative differences of 1e-3 at ε = 1e-6 and 1e-4 at 1e-4, shrinking as ε grows, so
    // not gradient error); the truncation error at 1e-3 is far below the bar.
    let eps = 1e-3;
    let mut worst = 0.0f64;
    let mut checked = 0;
    for (p, (name, _)) in values.iter().enumerate() {
        // A few entries of every parameter, including the largest-gradient one.
        let n = values[p].1.len();
        let biggest =
            (0..n).max_by(|&a, &b| grads[p][a].abs().total_cmp(&grads[p][b].abs())).unwrap();
        for i in [0, n / 2, n - 1, biggest] {
            let mut plus = values.clone();
            plus[p].1[i] += eps;
            let mut minus = values.clone();
            minus[p].1[i] -= eps;
            let fd = (loss_f64(&config, &plus, &batch, &device)
                - loss_f64(&config, &minus, &batch, &device))
                / (2.0 * eps);
            let ad = grads[p][i];
            let err = (fd - ad).abs() / fd.abs().max(ad.abs()).max(1e-6);
            if err >= 1e-4 {
                eprintln!("{name}[{i}]: autodiff {ad:e}, finite differences {fd:e}");
            }
            worst = worst.max(err);
            checked += 1;
        }
        assert!(grads[p].iter().any(|g| g.abs() > 1e-8), "{name} gets no gradient");
    }
    assert!(worst < 1e-4, "worst relative error {worst:e}");
    eprintln!(
        "checked {checked} entries of {} parameters: worst relative error {worst:.2e}",
        values.len()
    );
}

/// A tiny model memorises two article→summary pairs (Adagrad at lr 0.5 from σ 0.1 weights:
/// See et al.'s tiny initial weights make a toy learn slowly): the loss falls by more than half.
#[test]
fn tiny_model_learns() {
    let device = Device::flex();
    let v = toy_vocab();
    let mut config = SummarizerConfig { model: tiny_config(), ..Default::default() };
    config.model.emb = 16;
    config.model.hidden = 16;
    config.train.lr = 0.5;
    let batch = tiny_batch(&v);
    let mut state = TrainState::new(&config, &device);
    let mut losses = vec![];
    for _ in 0..100 {
        let (s, r) = train_step(state, &batch, &config);
        state = s;
        losses.push(r.values().unwrap().loss);
    }
    eprintln!("loss {:.3} → {:.3}", losses[0], losses[99]);
    assert!(losses.iter().all(|l| l.is_finite()));
    assert!(losses[99] < 0.5 * losses[0], "{losses:?}");
}

/// float16 conversion: every finite half round-trips exactly, and float32 values round to
/// the nearest half (ties to even).
#[test]
fn f16_conversion_is_exact() {
    use earthmover::record::{f16_to_f32, f32_to_f16};
    for h in 0..=u16::MAX {
        let x = f16_to_f32(h);
        if x.is_nan() {
            continue;
        }
        assert_eq!(f32_to_f16(x), h, "{h:#06x} → {x}");
    }
    assert_eq!(f16_to_f32(0x3c00), 1.0);
    assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
    assert_eq!(f32_to_f16(1.0 + 2f32.powi(-11)), 0x3c00); // a tie rounds to even
    assert_eq!(f32_to_f16(1.0 + 3.0 * 2f32.powi(-11)), 0x3c02);
    assert_eq!(f32_to_f16(1e6), 0x7c00);
}

/// Checkpoints reload bit-for-bit (weights and Adagrad state); exports reload within their
/// precision; bad files are named.
#[test]
fn checkpoints_and_exports() {
    use earthmover::record::RecordError;
    use earthmover::summarize::store::{self, Precision};
    let device = Device::flex();
    let v = toy_vocab();
    let config = SummarizerConfig { model: tiny_config(), ..Default::default() };
    let batch = tiny_batch(&v);
    let (state, _) = train_step(TrainState::new(&config, &device), &batch, &config);
    let flat =
        |m: &PointerGenerator| nn::param_values(m).into_iter().map(|(_, v)| v).collect::<Vec<_>>();
    let bytes = store::checkpoint_bytes(&state, &config, &v, &[("cursor", "7".into())]).unwrap();
    let l = store::load(&bytes, &device).unwrap();
    assert_eq!(flat(&l.model), flat(&state.model));
    let (saved, loaded) = (state.opt.state_values(), l.opt.as_ref().unwrap().state_values());
    assert_eq!(
        saved.len(),
        27,
        "an Adagrad accumulator for every parameter (coverage on: the loss reaches all 27)"
    );
    assert_eq!(loaded, saved);
    assert_eq!(
        (l.step, l.opt.unwrap().t, l.config.clone(), l.vocab.clone()),
        (1, 1, config.clone(), v.clone())
    );
    assert_eq!(l.extra.get("cursor").map(String::as_str), Some("7"));
    for (precision, tol) in
        [(Precision::F32, 0.0), (Precision::F16, 1e-3), (Precision::Int8, 1.0 / 127.0)]
    {
        let e = store::export_bytes(&state.model, &config, &v, precision, &[]).unwrap();
        let l = store::load(&e, &device).unwrap();
        assert!(l.is_export() && l.opt.is_none());
        for (a, b) in flat(&l.model).iter().zip(flat(&state.model)) {
            let max = b.iter().fold(0f64, |m, x| m.max(x.abs()));
            for (x, y) in a.iter().zip(&b) {
                assert!((x - y).abs() <= tol * max.max(1e-3) + 1e-6, "{precision:?}: {x} vs {y}");
            }
        }
    }
    // Damaged and foreign files.
    assert!(matches!(store::load(b"not a model", &device), Err(RecordError::NotSafetensors(_))));
    assert!(matches!(
        store::load(&bytes[..bytes.len() / 2], &device),
        Err(RecordError::NotSafetensors(_))
    ));
    let gan = earthmover::gan::checkpoint::to_bytes(
        &earthmover::gan::GanState::new(&earthmover::gan::GanConfig::toy_default(), &device),
        &earthmover::gan::GanConfig::toy_default(),
    )
    .unwrap();
    assert!(matches!(store::load(&gan, &device), Err(RecordError::Format { .. })));
    // A model whose config no longer matches its tensors.
    let at =
        bytes.windows(10).position(|w| w == b"hidden = 3").expect("the config is in the metadata");
    let mut mismatched = bytes.clone();
    mismatched[at + 9] = b'5';
    let err = store::load(&mismatched, &device).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("shape"), "{err}");
}

/// The tensors of `bytes` written again in the reverse order of their offsets, with each
/// name still on its own data: a file in which every pair of same-shaped tensors
/// (`reduce_h.weight` and `reduce_c.weight`, say) has swapped places.
fn reversed_layout(bytes: &[u8], rename: &dyn Fn(&str) -> String) -> Vec<u8> {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let data = &bytes[8 + n..];
    let mut entries: Vec<(String, serde_json::Value)> =
        header.into_iter().filter(|(k, _)| k != "__metadata__").collect();
    let offsets = |v: &serde_json::Value| {
        let o = v["data_offsets"].as_array().unwrap();
        (o[0].as_u64().unwrap() as usize, o[1].as_u64().unwrap() as usize)
    };
    entries.sort_by_key(|(_, v)| std::cmp::Reverse(offsets(v).0));
    let (mut out_header, mut out_data) = (serde_json::Map::new(), vec![]);
    for (name, v) in entries {
        let (a, b) = offsets(&v);
        let mut v = v.clone();
        v["data_offsets"] = serde_json::json!([out_data.len(), out_data.len() + b - a]);
        out_data.extend_from_slice(&data[a..b]);
        out_header.insert(rename(&name), v);
    }
    let metadata: serde_json::Value = serde_json::from_slice::<serde_json::Value>(&bytes[8..8 + n])
        .unwrap()["__metadata__"]
        .clone();
    out_header.insert("__metadata__".into(), metadata);
    let mut text = serde_json::to_vec(&out_header).unwrap();
    while text.len() % 8 != 0 {
        text.push(b' ');
    }
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend(text);
    out.extend(out_data);
    out
}

/// Weights load by name, never by position: a checkpoint whose same-shaped tensors have
/// swapped places in the file loads into exactly the model that was saved, and one whose
/// tensor was renamed is refused with the name it lacks.
#[test]
fn swapped_tensors_load_by_name() {
    use earthmover::summarize::store;
    let device = Device::flex();
    let v = toy_vocab();
    let config = SummarizerConfig { model: tiny_config(), ..Default::default() };
    let batch = tiny_batch(&v);
    let (state, _) = train_step(TrainState::new(&config, &device), &batch, &config);
    let bytes = store::checkpoint_bytes(&state, &config, &v, &[]).unwrap();
    let reversed = reversed_layout(&bytes, &|n| n.to_string());
    // The reversal really swaps same-shaped weights: reduce_h's bytes and reduce_c's trade order.
    let position = |b: &[u8], name: &str| {
        let st = safetensors::SafeTensors::deserialize(b).unwrap();
        st.tensor(name).unwrap().data().as_ptr() as usize - b.as_ptr() as usize
    };
    let before = position(&bytes, "reduce_h.weight") < position(&bytes, "reduce_c.weight");
    let after = position(&reversed, "reduce_h.weight") < position(&reversed, "reduce_c.weight");
    assert_ne!(before, after);
    let l = store::load(&reversed, &device).unwrap();
    assert_eq!(nn::param_values(&l.model), nn::param_values(&state.model));
    let loss = |m: &PointerGenerator| {
        m.valid()
            .loss(&batch, 1.0)
            .total
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .unwrap()
    };
    assert_eq!(loss(&l.model), loss(&state.model));
    // A renamed tensor: refused, naming the missing weight.
    let renamed = reversed_layout(&bytes, &|n| {
        if n == "reduce_c.weight" { "reduce_x.weight".into() } else { n.to_string() }
    });
    let err = store::load(&renamed, &device).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("reduce_c.weight"), "{err}");
}

/// A checkpoint written before the models were burn modules (format v1: optimizer slots by
/// position as `optim.NAME.k`, biases `[1, n]`) loads with its Adagrad or Adam state, and the
/// next step from it is the step the run would have taken.
#[test]
fn v1_checkpoints_still_resume() {
    use earthmover::summarize::store::{self, Kind};
    use safetensors::{Dtype, tensor::TensorView};
    let device = Device::flex();
    let v = toy_vocab();
    let batch = tiny_batch(&v);
    for optimizer in ["adagrad", "adam"] {
        let mut config = SummarizerConfig { model: tiny_config(), ..Default::default() };
        config.train.optimizer = optimizer.parse().unwrap();
        let mut state = TrainState::new(&config, &device);
        for _ in 0..2 {
            state = train_step(state, &batch, &config).0;
        }
        let v2 = store::checkpoint_bytes(&state, &config, &v, &[]).unwrap();
        // The same checkpoint as v1 wrote it.
        let st = safetensors::SafeTensors::deserialize(&v2).unwrap();
        let (_, md) = safetensors::SafeTensors::read_metadata(&v2).unwrap();
        let mut metadata: std::collections::HashMap<String, String> = md
            .metadata()
            .clone()
            .unwrap()
            .into_iter()
            .filter(|(k, _)| !k.starts_with("optim."))
            .collect();
        metadata.insert("format".into(), store::CHECKPOINT_FORMAT_V1.into());
        metadata.insert("optim_t".into(), state.opt.t.to_string());
        let mut entries: Vec<(String, Vec<usize>, Vec<u8>)> = st
            .names()
            .into_iter()
            .filter(|n| !n.starts_with("optim."))
            .map(|n| {
                (
                    n.to_string(),
                    st.tensor(n).unwrap().shape().to_vec(),
                    st.tensor(n).unwrap().data().to_vec(),
                )
            })
            .collect();
        let slots = state.opt.state_values();
        let leaves: &[&str] = if optimizer == "adam" {
            &["momentum.moment_1", "momentum.moment_2"]
        } else {
            &["sum"]
        };
        for (path, dims) in nn::param_shapes(&state.model) {
            let shape = if dims.len() == 1 { vec![1, dims[0]] } else { dims };
            for (k, leaf) in leaves.iter().enumerate() {
                let values = &slots.iter().find(|(n, _)| *n == format!("{path}.{leaf}")).unwrap().1;
                entries.push((
                    format!("optim.{path}.{k}"),
                    shape.clone(),
                    values.iter().flat_map(|x| (*x as f32).to_le_bytes()).collect(),
                ));
            }
        }
        let views: Vec<(String, TensorView<'_>)> = entries
            .iter()
            .map(|(n, s, b)| (n.clone(), TensorView::new(Dtype::F32, s.clone(), b).unwrap()))
            .collect();
        let v1 = safetensors::serialize(views, Some(metadata)).unwrap();
        let l = store::load(&v1, &device).unwrap();
        assert_eq!(l.kind, Kind::OldCheckpoint);
        assert_eq!(nn::param_values(&l.model), nn::param_values(&state.model));
        let opt = l.opt.unwrap();
        assert_eq!(opt.state_values(), slots, "{optimizer}");
        let resumed = train_step(
            TrainState {
                model: earthmover::summarize::train::trainable(l.model),
                opt,
                step: l.step,
            },
            &batch,
            &config,
        )
        .0;
        let straight = train_step(state, &batch, &config).0;
        assert_eq!(
            nn::param_values(&resumed.model),
            nn::param_values(&straight.model),
            "{optimizer}: the step after loading v1 differs"
        );
    }
}

/// The committed default model (an int8 export, so also the int8 decoding path) loads,
/// and each weight holds the file's values in burn's layout: the embedding as stored, every
/// matrix transposed from PyTorch's `[out, in]`, biases 1-D.
#[test]
fn the_committed_default_model_loads_by_name() {
    use earthmover::record::f16_to_f32;
    use earthmover::summarize::store;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/public/models/pointer-generator.safetensors");
    let bytes = std::fs::read(path).unwrap();
    let l = store::load(&bytes, &Device::flex()).unwrap();
    assert!(l.is_export());
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    // The file's own values, decoded here: int8 with one float32 scale per row (`NAME.scale`),
    // or float16.
    let file = |name: &str| {
        let t = st.tensor(name).unwrap();
        let values: Vec<f64> = match t.dtype() {
            safetensors::Dtype::I8 => {
                let cols = *t.shape().last().unwrap();
                let scales: Vec<f32> = st
                    .tensor(&format!("{name}.scale"))
                    .unwrap()
                    .data()
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect();
                t.data()
                    .iter()
                    .enumerate()
                    .map(|(i, &b)| ((b as i8) as f32 * scales[i / cols]) as f64)
                    .collect()
            }
            safetensors::Dtype::F16 => t
                .data()
                .chunks_exact(2)
                .map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]])) as f64)
                .collect(),
            other => panic!("{name}: unexpected dtype {other:?}"),
        };
        (t.shape().to_vec(), values)
    };
    let ours = nn::param_values(&l.model);
    let get = |name: &str| ours.iter().find(|(n, _)| n == name).unwrap().1.clone();
    assert_eq!(ours.len(), 27);
    assert_eq!(get("embedding.weight"), file("embedding.weight").1);
    assert_eq!(get("decoder.bias"), file("decoder.bias").1);
    for name in ["output.v2.weight", "encoder.backward.weight_hh", "attention.v"] {
        let (shape, v) = file(name);
        let (rows, cols) = (shape[0], shape[1]);
        let transposed: Vec<f64> =
            (0..cols * rows).map(|k| v[(k % rows) * cols + k / rows]).collect();
        assert_eq!(get(name), transposed, "{name}");
    }
}

/// `no_repeat_word` blocks exactly what it says: with greedy decoding, the blocked summary
/// equals the free one up to the free one's first repeated word, differs there, and never
/// repeats a word; a file saved before the flag existed reads it as off.
#[test]
fn no_repeat_word_blocks_only_repeats() {
    use earthmover::summarize::DecodeConfig;
    use earthmover::summarize::block_on;
    use earthmover::summarize::decode::summarize;
    use earthmover::summarize::store;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/public/models/pointer-generator.safetensors");
    let l = store::load(&std::fs::read(path).unwrap(), &Device::flex()).unwrap();
    assert!(!l.config.decode.no_repeat_word, "the default export predates the flag");
    let article: Vec<String> = "the city council voted on tuesday to close the old bridge after \
        engineers found cracks in the bridge 's main support . the bridge , built in 1931 , \
        carries 20,000 cars a day . the council said a new bridge would open in 2028 , and that \
        buses would run across the river until then ."
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let cfg = |block| DecodeConfig {
        beam: 1,
        min_len: 0,
        max_len: 40,
        no_repeat_trigram: false,
        no_repeat_word: block,
        greedy: true,
        ..Default::default()
    };
    let free = block_on(summarize(&l.model, &l.vocab, &article, 400, &cfg(false))).unwrap();
    let blocked = block_on(summarize(&l.model, &l.vocab, &article, 400, &cfg(true))).unwrap();
    let first_repeat = (0..free.tokens.len())
        .find(|&i| free.tokens[..i].contains(&free.tokens[i]))
        .expect("the free summary repeats a word (40 greedy tokens of news)");
    assert_eq!(blocked.tokens[..first_repeat], free.tokens[..first_repeat]);
    assert_ne!(blocked.tokens.get(first_repeat), free.tokens.get(first_repeat));
    for (i, w) in blocked.tokens.iter().enumerate() {
        assert!(!blocked.tokens[..i].contains(w), "'{w}' repeated in {:?}", blocked.tokens);
    }
}

/// The length controls, in greedy and beam decoding: a target length gives exactly that many
/// words; a [STOP] factor of 0 for the first m steps is the same as `min_len = m + 1` in greedy
/// decoding and keeps beam summaries at m words or more; a huge factor at step 2 makes greedy
/// decoding stop there (the factor multiplies [STOP]'s probability); a factor of 1 changes
/// nothing; and files saved before the fields existed read them as unset.
#[test]
fn target_length_and_stop_schedule_control_the_length() {
    use earthmover::summarize::DecodeConfig;
    use earthmover::summarize::block_on;
    use earthmover::summarize::decode::summarize;
    use earthmover::summarize::store;
    // The Debian unpaired generator: it stops on its own within a few words.
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/public/models/unpaired-debian.safetensors");
    let l = store::load(&std::fs::read(path).unwrap(), &Device::flex()).unwrap();
    assert!(l.config.decode.stop_schedule.is_empty() && l.config.decode.target_len.is_none());
    let article: Vec<String> = "this package provides a command line tool to convert images \
        between many formats , resize them and apply simple filters ."
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let run = |cfg: &DecodeConfig| {
        block_on(summarize(&l.model, &l.vocab, &article, 400, cfg)).unwrap().tokens
    };
    let base = |greedy: bool| DecodeConfig {
        beam: if greedy { 1 } else { 4 },
        min_len: 1,
        max_len: 14,
        greedy,
        ..Default::default()
    };
    for greedy in [true, false] {
        for n in [3, 9, 20] {
            let got = run(&DecodeConfig { target_len: Some(n), ..base(greedy) });
            assert_eq!(got.len(), n, "target {n}, greedy {greedy}: {got:?}");
        }
        let free = run(&base(greedy));
        let m = 5;
        let late = run(&DecodeConfig { stop_schedule: vec![0.0; m], ..base(greedy) });
        assert!(late.len() >= m, "greedy {greedy}: {late:?} is shorter than {m}");
        if greedy {
            let min = run(&DecodeConfig { min_len: m + 1, ..base(true) });
            assert_eq!(late, min);
        }
        let ones = run(&DecodeConfig { stop_schedule: vec![1.0; 14], ..base(greedy) });
        assert_eq!(ones, free);
    }
    for greedy in [true, false] {
        let early = run(&DecodeConfig { stop_schedule: vec![1.0, 1.0, 1e30], ..base(greedy) });
        assert_eq!(early.len(), 2, "greedy {greedy}: {early:?}");
    }
    let old: DecodeConfig = toml::from_str(
        "beam = 4\nmin_len = 35\nmax_len = 100\nno_repeat_trigram = false\ngreedy = false\n",
    )
    .unwrap();
    assert_eq!(old, DecodeConfig::default());
}
