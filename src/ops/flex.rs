//! The fused kernels on Flex's storage: typed views in, new tensors out. float32 and float64 run
//! natively; other float types go through float32.
//!
//! The forward functions check the operands' shapes ([`super::shapes`]) before anything else,
//! so a direct [`TextOps`] call with mismatched tensors is refused with the op's name; the
//! kernels then check every slice's length against the sizes derived here.

use std::borrow::Cow;

use burn::backend::flex::FlexTensor;
use burn::backend::ops::FloatTensorOps;
use burn::backend::{DType, Flex, FloatDType, TensorMetadata};
use burn::tensor::{Element, TensorData};

use super::kernels::{self, AttnDims, LstmDims, LstmTape};
use super::math::Real;
use super::{TextOps, shapes};

/// A contiguous typed view, copied or converted only when it has to be.
fn view<T: Element + bytemuck::Pod>(t: &FlexTensor) -> Cow<'_, [T]> {
    if t.dtype() == T::dtype() {
        if let Some(s) = t.as_slice::<T>() {
            return Cow::Borrowed(s);
        }
        let c = t.to_contiguous();
        return Cow::Owned(c.as_slice::<T>().expect("contiguous").to_vec());
    }
    Cow::Owned(
        t.clone()
            .into_data()
            .convert::<T>()
            .try_to_vec::<T>()
            .expect("converted to the kernel's type"),
    )
}

fn tensor<T: Real>(values: Vec<T>, shape: &[usize]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape.to_vec()))
}

/// Target ids as indices, checked against the vocabulary width.
fn indices(t: &FlexTensor, width: usize) -> Vec<usize> {
    let ids: Vec<i64> = match t.dtype() {
        DType::I32 => view::<i32>(t).iter().map(|&i| i64::from(i)).collect(),
        _ => view::<i64>(t).into_owned(),
    };
    ids.into_iter()
        .map(|i| {
            assert!(
                i >= 0 && (i as usize) < width,
                "softmax_pick: target id {i} outside the {width} logits"
            );
            i as usize
        })
        .collect()
}

/// Runs `$body` with `$T` bound to the kernel type for `$dtype`.
macro_rules! by_dtype {
    ($dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            DType::F64 => {
                type $T = f64;
                $body
            }
            _ => {
                type $T = f32;
                $body
            }
        }
    };
}

/// Casts a result back to the inputs' float type when the kernel ran in float32 for it.
fn restore(t: FlexTensor, dtype: DType) -> FlexTensor {
    if t.dtype() == dtype || !matches!(dtype, DType::F16 | DType::BF16 | DType::Flex32) {
        t
    } else {
        Flex::float_cast(t, FloatDType::from(dtype))
    }
}

/// The LSTM's tape, type-erased in Flex tensors.
#[derive(Clone, Debug)]
pub struct LstmSaved {
    acts: FlexTensor,
    h_prev: FlexTensor,
    c_prev: FlexTensor,
    tanh_c: FlexTensor,
}

pub fn lstm_dims(x: &FlexTensor, w_hh: &FlexTensor, reverse: bool) -> LstmDims {
    let [batch, len, input] = x.shape().dims();
    LstmDims { batch, len, input, hidden: w_hh.shape()[0], reverse }
}

pub fn lstm_seq_forward(
    x: &FlexTensor,
    w_ih: &FlexTensor,
    w_hh: &FlexTensor,
    bias: &FlexTensor,
    mask: &FlexTensor,
    reverse: bool,
) -> (FlexTensor, LstmSaved) {
    shapes::lstm_seq(&x.shape(), &w_ih.shape(), &w_hh.shape(), &bias.shape(), &mask.shape());
    let d = lstm_dims(x, w_hh, reverse);
    let dtype = x.dtype();
    by_dtype!(dtype, T => {
        let (out, tape) = kernels::lstm_seq_forward::<T>(&view(x), &view(w_ih), &view(w_hh), &view(bias), &view(mask), d);
        let (rows, h) = (d.batch * d.len, d.hidden);
        let saved = LstmSaved { acts: tensor(tape.acts, &[rows, 4 * h]), h_prev: tensor(tape.h_prev, &[rows, h]), c_prev: tensor(tape.c_prev, &[rows, h]), tanh_c: tensor(tape.tanh_c, &[rows, h]) };
        (restore(tensor(out, &[d.batch, d.len + 2, h]), dtype), saved)
    })
}

/// `[dx, dw_ih, dw_hh, dbias]`.
pub fn lstm_seq_backward(
    dy: &FlexTensor,
    saved: &LstmSaved,
    x: &FlexTensor,
    w_ih: &FlexTensor,
    w_hh: &FlexTensor,
    mask: &FlexTensor,
    reverse: bool,
) -> [FlexTensor; 4] {
    let d = lstm_dims(x, w_hh, reverse);
    let dtype = x.dtype();
    by_dtype!(dtype, T => {
        let tape = LstmTape::<T> { acts: view(&saved.acts).into_owned(), h_prev: view(&saved.h_prev).into_owned(), c_prev: view(&saved.c_prev).into_owned(), tanh_c: view(&saved.tanh_c).into_owned() };
        let (dx, dwih, dwhh, db) = kernels::lstm_seq_backward::<T>(&view(dy), &tape, &view(x), &view(w_ih), &view(w_hh), &view(mask), d);
        let h4 = 4 * d.hidden;
        [dx, dwih, dwhh, db].into_iter().zip([x.shape().to_vec(), vec![d.input, h4], vec![d.hidden, h4], vec![1, h4]]).map(|(v, s)| restore(tensor(v, &s), dtype)).collect::<Vec<_>>().try_into().expect("four gradients")
    })
}

/// `([c; h], tape)`; the tape holds the activated gates and tanh(c), `[B, 5H]`.
pub fn lstm_cell_forward(gates: &FlexTensor, c_prev: &FlexTensor) -> (FlexTensor, FlexTensor) {
    shapes::lstm_cell(&gates.shape(), &c_prev.shape());
    let [b, h] = c_prev.shape().dims();
    let dtype = gates.dtype();
    by_dtype!(dtype, T => {
        let (out, tape) = kernels::lstm_cell_forward::<T>(&view(gates), &view(c_prev), b, h);
        (restore(tensor(out, &[b, 2 * h]), dtype), tensor(tape, &[b, 5 * h]))
    })
}

/// `[dgates, dc_prev]`.
pub fn lstm_cell_backward(
    dout: &FlexTensor,
    tape: &FlexTensor,
    c_prev: &FlexTensor,
) -> [FlexTensor; 2] {
    let [b, h] = c_prev.shape().dims();
    let dtype = dout.dtype();
    by_dtype!(dtype, T => {
        let (dg, dc) = kernels::lstm_cell_backward::<T>(&view(dout), &view(tape), &view(c_prev), b, h);
        [restore(tensor(dg, &[b, 4 * h]), dtype), restore(tensor(dc, &[b, h]), dtype)]
    })
}

fn attn_dims(features: &FlexTensor) -> AttnDims {
    let [batch, len, width] = features.shape().dims();
    AttnDims { batch, len, width }
}

pub fn attention_forward(
    f: &FlexTensor,
    q: &FlexTensor,
    cov: &FlexTensor,
    w_c: &FlexTensor,
    v: &FlexTensor,
) -> FlexTensor {
    shapes::attention_scores(&f.shape(), &q.shape(), &cov.shape(), &w_c.shape(), &v.shape());
    let d = attn_dims(f);
    let dtype = f.dtype();
    by_dtype!(dtype, T => restore(tensor(kernels::attention_forward::<T>(&view(f), &view(q), &view(cov), &view(w_c), &view(v), d), &[d.batch, d.len]), dtype))
}

/// `[dF, dq, dcov, dw_c, dv]`, each in its input's shape.
pub fn attention_backward(
    de: &FlexTensor,
    f: &FlexTensor,
    q: &FlexTensor,
    cov: &FlexTensor,
    w_c: &FlexTensor,
    v: &FlexTensor,
) -> [FlexTensor; 5] {
    let d = attn_dims(f);
    let dtype = f.dtype();
    by_dtype!(dtype, T => {
        let (df, dq, dcov, dwc, dv) = kernels::attention_backward::<T>(&view(de), &view(f), &view(q), &view(cov), &view(w_c), &view(v), d);
        [restore(tensor(df, &f.shape()), dtype), restore(tensor(dq, &q.shape()), dtype), restore(tensor(dcov, &cov.shape()), dtype), restore(tensor(dwc, &w_c.shape()), dtype), restore(tensor(dv, &v.shape()), dtype)]
    })
}

/// `(p [N, 1], stats [N, 2])`.
pub fn softmax_pick_forward(logits: &FlexTensor, target: &FlexTensor) -> (FlexTensor, FlexTensor) {
    shapes::softmax_pick(&logits.shape(), &target.shape());
    let [n, vocab] = logits.shape().dims();
    let ids = indices(target, vocab);
    let dtype = logits.dtype();
    by_dtype!(dtype, T => {
        let (p, stats) = kernels::softmax_pick_forward::<T>(&view(logits), &ids, vocab);
        (restore(tensor(p, &[n, 1]), dtype), tensor(stats, &[n, 2]))
    })
}

pub fn softmax_pick_backward(
    dp: &FlexTensor,
    p: &FlexTensor,
    stats: &FlexTensor,
    logits: &FlexTensor,
    target: &FlexTensor,
) -> FlexTensor {
    let [_, vocab] = logits.shape().dims();
    let ids = indices(target, vocab);
    let dtype = logits.dtype();
    by_dtype!(dtype, T => restore(tensor(kernels::softmax_pick_backward::<T>(&view(dp), &view(p), &view(stats), &view(logits), &ids, vocab), &logits.shape()), dtype))
}

/// Element-wise tanh or sigmoid.
pub fn unary(x: &FlexTensor, sigmoid: bool) -> FlexTensor {
    let dtype = x.dtype();
    let shape = x.shape().to_vec();
    by_dtype!(dtype, T => {
        let mut v = view::<T>(x).into_owned();
        if sigmoid { T::sigmoid_slice(&mut v) } else { T::tanh_slice(&mut v) }
        restore(tensor(v, &shape), dtype)
    })
}

/// `g·(1 − y²)` (tanh) or `g·y·(1 − y)` (sigmoid) from the output `y`.
pub fn unary_backward(grad: &FlexTensor, y: &FlexTensor, sigmoid: bool) -> FlexTensor {
    let dtype = y.dtype();
    let shape = y.shape().to_vec();
    by_dtype!(dtype, T => {
        let (g, y) = (view::<T>(grad), view::<T>(y));
        let v: Vec<T> = g.iter().zip(y.iter()).map(|(&g, &y)| if sigmoid { g * y * (T::ONE - y) } else { g * (T::ONE - y * y) }).collect();
        restore(tensor(v, &shape), dtype)
    })
}

impl TextOps for Flex {
    /// `x · w`: [`kernels::project_rows`] for a few rows, Flex's gemm otherwise.
    fn project(x: FlexTensor, w: FlexTensor) -> FlexTensor {
        let (xs, ws) = (x.shape(), w.shape());
        if xs.len() == 2 && ws.len() == 2 {
            shapes::project(&xs, &ws);
        }
        if xs.len() != 2 || ws.len() != 2 || xs[0] > kernels::SMALL_ROWS || x.dtype() != w.dtype() {
            return Flex::float_matmul(x, w);
        }
        let (m, k, n) = (xs[0], xs[1], ws[1]);
        let dtype = x.dtype();
        // A weight in the decoding layout ([`Self::decoding_layout`]: `[k, n]` viewed over
        // word-major storage) goes to the kernel that reads each word's row once.
        let layout = w.layout();
        if layout.strides() == [1, k as isize] {
            let off = layout.start_offset();
            return by_dtype!(dtype, T => {
                let wt = if w.dtype() == T::dtype() { Cow::Borrowed(&w.storage::<T>()[off..off + n * k]) } else { Cow::Owned(view::<T>(&w.transpose(0, 1)).into_owned()) };
                restore(tensor(kernels::project_rows_t::<T>(&view(&x), &wt, m, k, n), &[m, n]), dtype)
            });
        }
        by_dtype!(dtype, T => restore(tensor(kernels::project_rows::<T>(&view(&x), &view(&w), m, k, n), &[m, n]), dtype))
    }
    /// `w` `[k, n]` as a view over word-major (`[n, k]`) storage, for [`TextOps::project`] in
    /// decoding.
    fn decoding_layout(w: FlexTensor) -> FlexTensor {
        if w.shape().len() != 2 || w.layout().strides() == [1, w.shape()[0] as isize] {
            return w;
        }
        w.transpose(0, 1).to_contiguous().transpose(0, 1)
    }
    /// Softmax over the last dimension of a `[m, n]` tensor.
    fn softmax_rows(x: FlexTensor) -> FlexTensor {
        let s = x.shape();
        if s.len() != 2 {
            return <Flex as burn::backend::ops::ActivationOps<Flex>>::softmax(x, s.len() - 1);
        }
        let dtype = x.dtype();
        by_dtype!(dtype, T => {
            let mut v = view::<T>(&x).into_owned();
            kernels::softmax_rows(&mut v, s[0], s[1]);
            restore(tensor(v, &[s[0], s[1]]), dtype)
        })
    }
    fn lstm_seq(
        x: FlexTensor,
        w_ih: FlexTensor,
        w_hh: FlexTensor,
        bias: FlexTensor,
        mask: FlexTensor,
        reverse: bool,
    ) -> FlexTensor {
        lstm_seq_forward(&x, &w_ih, &w_hh, &bias, &mask, reverse).0
    }
    fn lstm_cell(gates: FlexTensor, c_prev: FlexTensor) -> FlexTensor {
        lstm_cell_forward(&gates, &c_prev).0
    }
    fn attention_scores(
        features: FlexTensor,
        query: FlexTensor,
        coverage: FlexTensor,
        w_c: FlexTensor,
        v: FlexTensor,
    ) -> FlexTensor {
        attention_forward(&features, &query, &coverage, &w_c, &v)
    }
    fn softmax_pick(logits: FlexTensor, target: FlexTensor) -> FlexTensor {
        softmax_pick_forward(&logits, &target).0
    }
    fn fused_tanh(x: FlexTensor) -> FlexTensor {
        unary(&x, false)
    }
    fn fused_sigmoid(x: FlexTensor) -> FlexTensor {
        unary(&x, true)
    }
}
