//! Wrongly shaped operands are refused before any kernel runs: every public fused op
//! (`earthmover::ops`), and the Flex implementation of `TextOps` called directly, panics with a
//! message naming the op and the bad operand instead of reading out of bounds. The retrieval
//! functions (`align::retrieval`) refuse rows and word ids outside their spaces the same way.
//! Correct shapes still give the unfused ops' numbers (and `tests/fused_ops.rs` still passes).

use std::panic::{AssertUnwindSafe, catch_unwind};

use burn::backend::Flex;
use burn::backend::flex::FlexTensor;
use burn::tensor::{DType, Device, Int, Tensor, TensorData};
use earthmover::align::embed::Lexicon;
use earthmover::align::retrieval::{Retrieval, Retriever, mean_knn, precision};
use earthmover::ops::{self, TextOps, unfused};

/// The message `f` panics with; fails the test if it returns.
fn panic_message<R>(what: &str, f: impl FnOnce() -> R) -> String {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(_) => panic!("{what}: accepted, expected a refusal"),
        Err(e) => e
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| panic!("{what}: panicked without a message")),
    }
}

/// Asserts `f` panics with a message that contains `op` and every one of `words`.
fn refused<R>(what: &str, op: &str, words: &[&str], f: impl FnOnce() -> R) {
    let m = panic_message(what, f);
    assert!(m.contains(&format!("{op}:")), "{what}: the message does not name {op}: {m}");
    for w in words {
        assert!(m.contains(w), "{what}: the message does not name {w}: {m}");
    }
}

/// Deterministic values in (−1, 1).
fn values(n: usize, seed: usize) -> Vec<f32> {
    (0..n).map(|i| (((i * 37 + seed * 11) % 101) as f32 / 50.5) - 1.0).collect()
}

fn t2(shape: [usize; 2], seed: usize, device: &Device) -> Tensor<2> {
    let n = shape[0] * shape[1];
    Tensor::from_data(TensorData::new(values(n, seed), shape), (device, DType::F32))
}

fn t3(shape: [usize; 3], seed: usize, device: &Device) -> Tensor<3> {
    let n = shape.iter().product();
    Tensor::from_data(TensorData::new(values(n, seed), shape), (device, DType::F32))
}

fn ids(v: &[i64], device: &Device) -> Tensor<2, Int> {
    Tensor::from_data(TensorData::new(v.to_vec(), [v.len(), 1]), device)
}

fn read<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

fn devices() -> [(&'static str, Device); 2] {
    [("flex", Device::flex()), ("flex autodiff", Device::flex().autodiff())]
}

// B = 2, T = 3, E = 2, H = 2 (4H = 8), A = 4.

#[test]
fn lstm_seq_refuses_mismatched_shapes() {
    for (dev, d) in devices() {
        let run = |x: [usize; 3], w_ih: [usize; 2], w_hh: [usize; 2], bias, mask: [usize; 2]| {
            let ones = vec![1f32; mask[0] * mask[1]];
            let mask = Tensor::<2>::from_data(TensorData::new(ones, mask), &d);
            ops::lstm_seq(
                t3(x, 1, &d),
                t2(w_ih, 2, &d),
                t2(w_hh, 3, &d),
                t2(bias, 4, &d),
                mask,
                false,
            )
        };
        let ok = ([2, 3, 2], [2, 8], [2, 8], [1, 8], [2, 3]);
        let (out, h, c) = run(ok.0, ok.1, ok.2, ok.3, ok.4);
        assert_eq!((out.dims(), h.dims(), c.dims()), ([2, 3, 2], [2, 2], [2, 2]));
        let m = panic_message(dev, || run(ok.0, [3, 8], ok.2, ok.3, ok.4));
        assert_eq!(m, "lstm_seq: w_ih is [3, 8], expected [E, 4H] = [2, 8]", "{dev}");
        // The input's width disagrees with w_ih (E is x's last dim).
        refused(dev, "lstm_seq", &["w_ih is [2, 8]", "[3, 8]"], || {
            run([2, 3, 3], ok.1, ok.2, ok.3, ok.4)
        });
        // Too short a w_ih: 12 values where 16 are read.
        refused(dev, "lstm_seq", &["w_ih is [2, 6]"], || run(ok.0, [2, 6], ok.2, ok.3, ok.4));
        refused(dev, "lstm_seq", &["w_hh is [2, 6]", "[H, 4H]"], || {
            run(ok.0, ok.1, [2, 6], ok.3, ok.4)
        });
        refused(dev, "lstm_seq", &["w_hh is [3, 8]"], || run(ok.0, ok.1, [3, 8], ok.3, ok.4));
        refused(dev, "lstm_seq", &["bias is [1, 4]"], || run(ok.0, ok.1, ok.2, [1, 4], ok.4));
        refused(dev, "lstm_seq", &["bias is [2, 8]"], || run(ok.0, ok.1, ok.2, [2, 8], ok.4));
        refused(dev, "lstm_seq", &["mask is [2, 4]", "[B, T] = [2, 3]"], || {
            run(ok.0, ok.1, ok.2, ok.3, [2, 4])
        });
        refused(dev, "lstm_seq", &["mask is [1, 3]"], || run(ok.0, ok.1, ok.2, ok.3, [1, 3]));
    }
}

#[test]
fn lstm_cell_refuses_mismatched_shapes() {
    for (dev, d) in devices() {
        let run = |g, c| ops::lstm_cell(t2(g, 1, &d), t2(c, 2, &d));
        assert_eq!(run([2, 8], [2, 2]).dims(), [2, 4]);
        let m = panic_message(dev, || run([2, 7], [2, 2]));
        assert_eq!(m, "lstm_cell: gates is [2, 7], expected [B, 4H] = [2, 8]", "{dev}");
        refused(dev, "lstm_cell", &["gates is [3, 8]"], || run([3, 8], [2, 2]));
        refused(dev, "lstm_cell", &["gates is [2, 8]", "[2, 12]"], || run([2, 8], [2, 3]));
    }
}

#[test]
fn attention_scores_refuses_mismatched_shapes() {
    for (dev, d) in devices() {
        let run = |q, cov, w_c, v| {
            ops::attention_scores(
                t3([2, 3, 4], 1, &d),
                t2(q, 2, &d),
                t2(cov, 3, &d),
                t2(w_c, 4, &d),
                t2(v, 5, &d),
            )
        };
        let ok = ([2, 4], [2, 3], [1, 4], [4, 1]);
        assert_eq!(run(ok.0, ok.1, ok.2, ok.3).dims(), [2, 3]);
        let m = panic_message(dev, || run([2, 5], ok.1, ok.2, ok.3));
        assert_eq!(m, "attention_scores: query is [2, 5], expected [B, A] = [2, 4]", "{dev}");
        refused(dev, "attention_scores", &["query is [1, 4]"], || run([1, 4], ok.1, ok.2, ok.3));
        refused(dev, "attention_scores", &["coverage is [2, 2]"], || run(ok.0, [2, 2], ok.2, ok.3));
        refused(dev, "attention_scores", &["w_c is [1, 3]"], || run(ok.0, ok.1, [1, 3], ok.3));
        refused(dev, "attention_scores", &["w_c is [4, 1]"], || run(ok.0, ok.1, [4, 1], ok.3));
        refused(dev, "attention_scores", &["v is [3, 1]"], || run(ok.0, ok.1, ok.2, [3, 1]));
        refused(dev, "attention_scores", &["v is [4, 2]"], || run(ok.0, ok.1, ok.2, [4, 2]));
    }
}

#[test]
fn softmax_pick_refuses_mismatched_shapes_and_ids() {
    for (dev, d) in devices() {
        let run = |logits, target: &[i64]| ops::softmax_pick(t2(logits, 1, &d), ids(target, &d));
        assert_eq!(run([2, 5], &[4, 0]).dims(), [2, 1]);
        let m = panic_message(dev, || run([2, 5], &[1, 2, 3]));
        assert_eq!(m, "softmax_pick: target is [3, 1], expected [N, 1] = [2, 1]", "{dev}");
        refused(dev, "softmax_pick", &["target is [1, 1]"], || run([2, 5], &[1]));
        let two_cols = || {
            let target = Tensor::<2, Int>::from_data(TensorData::new(vec![0i64; 4], [2, 2]), &d);
            ops::softmax_pick(t2([2, 5], 1, &d), target)
        };
        refused(dev, "softmax_pick", &["target is [2, 2]"], two_cols);
        // Ids outside the vocabulary are refused where the Flex kernel reads them.
        refused(dev, "softmax_pick", &["target id 5", "5 logits"], || run([2, 5], &[0, 5]));
        refused(dev, "softmax_pick", &["target id -1"], || run([2, 5], &[-1, 0]));
    }
}

#[test]
fn project_refuses_mismatched_shapes() {
    for (dev, d) in devices() {
        // A few rows (the Flex kernels) and more than 16 (gemm).
        for m in [2, 17] {
            let run = |k: usize, w: [usize; 2]| ops::project(t2([m, k], 1, &d), t2(w, 2, &d));
            assert_eq!(run(4, [4, 3]).dims(), [m, 3]);
            let msg = panic_message(dev, || run(4, [5, 3]));
            assert_eq!(msg, "project: w is [5, 3], expected [K, N] = [4, 3]", "{dev}, {m} rows");
            refused(dev, "project", &["w is [3, 3]"], || run(4, [3, 3]));
            // The word-major decoding layout takes another kernel: refused all the same.
            let wt = ops::decoding_layout(t2([3, 700], 3, &d));
            refused(dev, "project", &["w is [3, 700]", "[4, 700]"], || {
                ops::project(t2([m, 4], 1, &d), wt)
            });
        }
    }
}

/// The ops that take any shape accept edge shapes without reading outside them.
#[test]
fn shape_free_ops_accept_edge_shapes() {
    let d = Device::flex();
    for shape in [[1, 1], [3, 5], [2, 0], [0, 3]] {
        assert_eq!(ops::softmax_rows(t2(shape, 1, &d)).dims(), shape, "softmax_rows {shape:?}");
        assert_eq!(ops::tanh(t2(shape, 1, &d)).dims(), shape, "tanh {shape:?}");
        assert_eq!(ops::sigmoid(t2(shape, 1, &d)).dims(), shape, "sigmoid {shape:?}");
        assert_eq!(ops::decoding_layout(t2(shape, 1, &d)).dims(), shape, "layout {shape:?}");
    }
}

fn flex(values: Vec<f32>, shape: &[usize]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape.to_vec()))
}

fn flex_ones(shape: &[usize]) -> FlexTensor {
    flex(vec![1.0; shape.iter().product()], shape)
}

/// The trait's Flex implementation checks shapes itself, for callers that skip `ops::*`:
/// wrong shapes and wrong ranks.
#[test]
fn flex_text_ops_refuse_mismatched_shapes_when_called_directly() {
    let f = flex_ones;
    let (x, w_ih, w_hh, bias, mask) =
        (f(&[2, 3, 2]), f(&[2, 8]), f(&[2, 8]), f(&[1, 8]), f(&[2, 3]));
    let out = <Flex as TextOps>::lstm_seq(
        x.clone(),
        w_ih.clone(),
        w_hh.clone(),
        bias.clone(),
        mask.clone(),
        true,
    );
    assert_eq!(burn::backend::TensorMetadata::shape(&out).to_vec(), vec![2, 5, 2]);
    let m = panic_message("lstm_seq", || {
        <Flex as TextOps>::lstm_seq(
            x.clone(),
            f(&[3, 8]),
            w_hh.clone(),
            bias.clone(),
            mask.clone(),
            false,
        )
    });
    assert_eq!(m, "lstm_seq: w_ih is [3, 8], expected [E, 4H] = [2, 8]");
    refused("lstm_seq rank", "lstm_seq", &["x is [6, 2]", "[B, T, E]"], || {
        <Flex as TextOps>::lstm_seq(
            f(&[6, 2]),
            w_ih.clone(),
            w_hh.clone(),
            bias.clone(),
            mask.clone(),
            false,
        )
    });
    refused("lstm_seq w_hh", "lstm_seq", &["w_hh is [16]"], || {
        <Flex as TextOps>::lstm_seq(
            x.clone(),
            w_ih.clone(),
            f(&[16]),
            bias.clone(),
            mask.clone(),
            false,
        )
    });
    refused("lstm_cell", "lstm_cell", &["gates is [2, 6]"], || {
        <Flex as TextOps>::lstm_cell(f(&[2, 6]), f(&[2, 2]))
    });
    refused("attention_scores", "attention_scores", &["v is [5, 1]"], || {
        <Flex as TextOps>::attention_scores(
            f(&[2, 3, 4]),
            f(&[2, 4]),
            f(&[2, 3]),
            f(&[1, 4]),
            f(&[5, 1]),
        )
    });
    refused("softmax_pick", "softmax_pick", &["target is [3, 1]"], || {
        let target = FlexTensor::from_data(TensorData::new(vec![0i64; 3], [3, 1]));
        <Flex as TextOps>::softmax_pick(f(&[2, 5]), target)
    });
    refused("project", "project", &["w is [5, 3]"], || {
        <Flex as TextOps>::project(f(&[2, 4]), f(&[5, 3]))
    });
}

/// Correct shapes give the unfused ops' numbers (the finite-difference and gradient checks are
/// in `tests/fused_ops.rs`).
#[test]
fn correct_shapes_still_match_the_unfused_ops() {
    let d = Device::flex();
    let close = |name: &str, a: Vec<f32>, b: Vec<f32>| {
        assert_eq!(a.len(), b.len(), "{name}");
        let worst = a.iter().zip(&b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
        assert!(worst < 1e-5, "{name}: differs from the unfused op by {worst}");
    };
    let mask = Tensor::<2>::from_data(TensorData::new(vec![1f32, 1., 1., 1., 1., 0.], [2, 3]), &d);
    let args = (t3([2, 3, 2], 1, &d), t2([2, 8], 2, &d), t2([2, 8], 3, &d), t2([1, 8], 4, &d));
    for reverse in [false, true] {
        let (a, ah, ac) = ops::lstm_seq(
            args.0.clone(),
            args.1.clone(),
            args.2.clone(),
            args.3.clone(),
            mask.clone(),
            reverse,
        );
        let (b, bh, bc) = unfused::lstm_seq(
            args.0.clone(),
            args.1.clone(),
            args.2.clone(),
            args.3.clone(),
            mask.clone(),
            reverse,
        );
        close("lstm_seq", read(a), read(b));
        close("lstm_seq h", read(ah), read(bh));
        close("lstm_seq c", read(ac), read(bc));
    }
    let (g, c) = (t2([2, 8], 5, &d), t2([2, 2], 6, &d));
    close("lstm_cell", read(ops::lstm_cell(g.clone(), c.clone())), read(unfused::lstm_cell(g, c)));
    let att = (t3([2, 3, 4], 7, &d), t2([2, 4], 8, &d), t2([2, 3], 9, &d), t2([1, 4], 10, &d));
    let v = t2([4, 1], 11, &d);
    close(
        "attention_scores",
        read(ops::attention_scores(
            att.0.clone(),
            att.1.clone(),
            att.2.clone(),
            att.3.clone(),
            v.clone(),
        )),
        read(unfused::attention_scores(att.0, att.1, att.2, att.3, v)),
    );
    let logits = t2([3, 5], 12, &d);
    close(
        "softmax_pick",
        read(ops::softmax_pick(logits.clone(), ids(&[4, 0, 2], &d))),
        read(unfused::softmax_pick(logits.clone(), ids(&[4, 0, 2], &d))),
    );
    let (x, w) = (t2([3, 4], 13, &d), t2([4, 9], 14, &d));
    let want = read(unfused::project(x.clone(), w.clone()));
    close("project", read(ops::project(x.clone(), w.clone())), want.clone());
    close("project, decoding layout", read(ops::project(x, ops::decoding_layout(w))), want);
    close(
        "softmax_rows",
        read(ops::softmax_rows(logits.clone())),
        read(unfused::softmax_rows(logits)),
    );
}

/// Unit rows at the given angles (degrees), `[n, 2]`.
fn circle(angles: &[f64]) -> Vec<f32> {
    angles.iter().flat_map(|a| [a.to_radians().cos() as f32, a.to_radians().sin() as f32]).collect()
}

/// Source rows and word ids past the source space are refused with the function's name, for
/// both retrieval methods; nothing past the slices is read.
#[test]
fn retrieval_refuses_rows_and_ids_outside_the_spaces() {
    let src = circle(&[0.0, 30.0, 120.0]);
    let tgt = circle(&[10.0, 55.0, 115.0, 200.0]);
    for method in [Retrieval::Nn, Retrieval::Csls { k: 2 }] {
        let r = Retriever::new(&src, &tgt, 2, method);
        assert_eq!(r.scores(0..3).len(), 3 * 4);
        assert_eq!(r.translate(&[0, 1, 2], 1).len(), 3);
        refused("scores past the end", "Retriever::scores", &["2..4", "3 rows"], || r.scores(2..4));
        refused("scores far past the end", "Retriever::scores", &["1000..1001"], || {
            r.scores(1000..1001)
        });
        refused("scores, overflowing offset", "Retriever::scores", &[], || {
            r.scores(usize::MAX / 2..usize::MAX / 2 + 1)
        });
        refused("translate", "Retriever::translate", &["source id 3", "3 sources"], || {
            r.translate(&[1, 3], 5)
        });
        refused("translate, huge id", "Retriever::translate", &["source id"], || {
            r.translate(&[usize::MAX], 1)
        });
        // A lexicon listing a source word the space does not have.
        let lexicon = Lexicon { entries: vec![(0, vec![0]), (9, vec![1])] };
        refused("precision", "Retriever::translate", &["source id 9"], || precision(&r, &lexicon));
        // In range, everything still answers.
        assert!(r.mutual_pairs(10).iter().all(|&(s, t)| s < 3 && t < 4));
        assert!(r.criterion(100).is_finite());
    }
    refused("ragged source", "Retriever::new", &["src has 5 values"], || {
        Retriever::new(&src[..5], &tgt, 2, Retrieval::Nn).dim
    });
    refused("zero dim", "Retriever::new", &["dimension is 0"], || {
        Retriever::new(&src, &tgt, 0, Retrieval::Nn).dim
    });
    refused("zero dim", "mean_knn", &["dimension is 0"], || mean_knn(&src, &tgt, 0, 1));
    // A ragged key slice is read as its whole rows only.
    assert_eq!(mean_knn(&src, &tgt[..7], 2, 1).len(), 3);
}
