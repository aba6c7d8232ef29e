//! The pointer-generator: batches and the extended vocabulary, the full model's gradient
//! against float64 finite differences (p_gen, the copy path and coverage included), and
//! a tiny model learning.

use burn::tensor::{Device, FloatDType, Tensor, TensorData};
use earthmover::rng::Rng;
use earthmover::summarize::batch::{Batch, Example};
use earthmover::summarize::model::{PARAM_NAMES, PointerGenerator};
use earthmover::summarize::train::{TrainState, gradients, train_step};
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
    assert_eq!((v.word(0), v.word(1), v.word(2), v.word(3)), (Some("[PAD]"), Some("[UNK]"), Some("[START]"), Some("[STOP]")));
    assert_eq!(v.word(4), Some("the")); // most frequent first
    let e = Example::new(&words("zorro the cat met zorro and bo"), &words("zorro met cat xyz"), &v, 400, 100);
    let (z, m) = (v.len(), v.len() + 1);
    assert_eq!(e.oovs, vec!["zorro", "met", "and", "bo"]);
    assert_eq!(e.enc_ext[0], z);
    assert_eq!(e.enc_ext[4], z);
    assert_eq!(e.enc[0], vocab::UNK_ID);
    assert_eq!(e.dec_in, vec![vocab::START_ID, vocab::UNK_ID, vocab::UNK_ID, v.id("cat"), vocab::UNK_ID]);
    assert_eq!(e.target, vec![z, m, v.id("cat"), vocab::UNK_ID, vocab::STOP_ID]);
    let b = Batch::new(&[e.clone()], v.len());
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
    assert!(Vocab::from_text(&format!("{}x y\n", v.to_text())).unwrap_err().to_string().contains("line 11"));
}

fn tiny_config() -> ModelConfig {
    ModelConfig { vocab_size: 10, emb: 4, hidden: 3, pointer: true, coverage: true, init_uniform: 0.1, init_std: 0.1 }
}

fn tiny_batch(v: &Vocab) -> Batch {
    let a = Example::new(&words("zorro the cat sat on zorro mat"), &words("zorro sat on the mat"), v, 400, 100);
    let b = Example::new(&words("a dog ran to qux"), &words("dog ran qux"), v, 400, 100);
    Batch::new(&[a, b], v.len())
}

/// Random float64 parameters (scale 0.5, so every path carries gradient).
fn model_f64(config: &ModelConfig, values: &[Vec<f64>], device: &Device) -> PointerGenerator {
    let shapes = PointerGenerator::shapes(config);
    let params = values.iter().zip(&shapes).map(|(v, s)| Tensor::<2>::from_data(TensorData::new(v.clone(), *s), device).cast(FloatDType::F64)).collect();
    PointerGenerator::from_params(config, params).unwrap()
}

fn loss_f64(config: &ModelConfig, values: &[Vec<f64>], batch: &Batch, device: &Device) -> f64 {
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
    assert!(batch.copy_mask.iter().any(|&m| m == 1.0) && batch.target_in_vocab.iter().any(|&m| m == 0.0));
    let mut rng = Rng::new(5);
    let values: Vec<Vec<f64>> = PointerGenerator::shapes(&config).iter().map(|s| (0..s[0] * s[1]).map(|_| rng.uniform() - 0.5).collect()).collect();
    let m = model_f64(&config, &values, &device.clone().autodiff()).map(|p| p.require_grad());
    let loss = m.loss(&batch, 1.0);
    let grads: Vec<Vec<f64>> = gradients(&loss.total, &m.params()).into_iter().map(|g| g.into_data().convert::<f64>().try_into_vec::<f64>().unwrap()).collect();
    // ε = 1e-3: with smaller ε the differences pick up noise from Flex's float64 forward pass
    // (relative differences of 1e-3 at ε = 1e-6 and 1e-4 at 1e-4, shrinking as ε grows, so
    // not gradient error); the truncation error at 1e-3 is far below the bar.
    let eps = 1e-3;
    let mut worst = 0.0f64;
    let mut checked = 0;
    for (p, name) in PARAM_NAMES.iter().enumerate() {
        // A few entries of every parameter, including the largest-gradient one.
        let n = values[p].len();
        let biggest = (0..n).max_by(|&a, &b| grads[p][a].abs().total_cmp(&grads[p][b].abs())).unwrap();
        for i in [0, n / 2, n - 1, biggest] {
            let mut plus = values.clone();
            plus[p][i] += eps;
            let mut minus = values.clone();
            minus[p][i] -= eps;
            let fd = (loss_f64(&config, &plus, &batch, &device) - loss_f64(&config, &minus, &batch, &device)) / (2.0 * eps);
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
    eprintln!("checked {checked} entries of {} parameters: worst relative error {worst:.2e}", PARAM_NAMES.len());
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
        losses.push(r.values()[0]);
    }
    eprintln!("loss {:.3} → {:.3}", losses[0], losses[99]);
    assert!(losses.iter().all(|l| l.is_finite()));
    assert!(losses[99] < 0.5 * losses[0], "{losses:?}");
}

/// float16 conversion: every finite half round-trips exactly, and float32 values round to
/// the nearest half (ties to even).
#[test]
fn f16_conversion_is_exact() {
    use earthmover::summarize::store::{f16_to_f32, f32_to_f16};
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
    use earthmover::summarize::store::{self, Precision, StoreError};
    let device = Device::flex();
    let v = toy_vocab();
    let config = SummarizerConfig { model: tiny_config(), ..Default::default() };
    let batch = tiny_batch(&v);
    let (state, _) = train_step(TrainState::new(&config, &device), &batch, &config);
    let flat = |ps: Vec<Tensor<2>>| ps.into_iter().map(|p| p.inner().into_data().try_to_vec::<f32>().unwrap()).collect::<Vec<_>>();
    let bytes = store::checkpoint_bytes(&state, &config, &v, &[("cursor", "7".into())]).unwrap();
    let l = store::load(&bytes, &device).unwrap();
    assert_eq!(flat(l.model.params()), flat(state.model.params()));
    assert_eq!(flat(l.opt.as_ref().unwrap().slots.iter().map(|s| s[0].clone()).collect()), flat(state.opt.slots.iter().map(|s| s[0].clone()).collect()));
    assert_eq!((l.step, l.opt.unwrap().t, l.config.clone(), l.vocab.clone()), (1, 1, config.clone(), v.clone()));
    assert_eq!(l.extra.get("cursor").map(String::as_str), Some("7"));
    for (precision, tol) in [(Precision::F16, 1e-3), (Precision::Int8, 1.0 / 127.0)] {
        let e = store::export_bytes(&state.model, &config, &v, precision).unwrap();
        let l = store::load(&e, &device).unwrap();
        assert!(l.is_export && l.opt.is_none());
        for (a, b) in flat(l.model.params()).iter().zip(flat(state.model.params())) {
            let max = b.iter().fold(0f32, |m, x| m.max(x.abs()));
            for (x, y) in a.iter().zip(&b) {
                assert!((x - y).abs() <= tol * max.max(1e-3) as f64 as f32 + 1e-6, "{precision:?}: {x} vs {y}");
            }
        }
    }
    // Damaged and foreign files.
    assert!(matches!(store::load(b"not a model", &device), Err(StoreError::NotSafetensors(_))));
    assert!(matches!(store::load(&bytes[..bytes.len() / 2], &device), Err(StoreError::NotSafetensors(_))));
    let gan = earthmover::gan::checkpoint::to_bytes(&earthmover::gan::GanState::new(&earthmover::gan::GanConfig::toy_default(), &device), &earthmover::gan::GanConfig::toy_default()).unwrap();
    assert!(matches!(store::load(&gan, &device), Err(StoreError::WrongFormat(_))));
    // A model whose config no longer matches its tensors.
    let at = bytes.windows(10).position(|w| w == b"hidden = 3").expect("the config is in the metadata");
    let mut mismatched = bytes.clone();
    mismatched[at + 9] = b'5';
    let err = store::load(&mismatched, &device).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("shape"), "{err}");
}
