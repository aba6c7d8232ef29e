//! Fused operations for the text models, as a burn backend extension.
//!
//! On Flex (the CPU backend, native and in the browser) each operation is one kernel with a
//! hand-written backward (the crate-private `kernels` module); on the cubecl backends (wgpu,
//! WebGPU, CUDA) it runs the default body below, made of ordinary burn ops, so the same model
//! runs everywhere and autodiff differentiates it as usual. The default bodies are also the
//! reference the fused kernels are tested against (`tests/fused_ops.rs`): [`unfused`] calls them
//! through `Dispatch` on any device.
//!
//! - [`lstm_seq`]: one LSTM direction over a whole sequence, with padding (as `nn.LSTM` runs it).
//!   It replaces a loop that sliced one step out of a tracked `[B, T, 4H]` tensor per step, which
//!   cost a full-size zero tensor and add per step in backward (O(T²)).
//! - [`lstm_cell`]: one LSTM cell from its pre-activation gates, for the decoder.
//! - [`attention_scores`]: See et al.'s additive attention scores with coverage.
//! - [`softmax_pick`]: the softmax probability of one target per row, without materialising the
//!   softmax (or, in backward, a one-hot scatter).
//! - [`tanh`] and [`sigmoid`]: vectorised element-wise functions ([`math`]).
//!
//! Every op checks its operands' shapes before it dispatches (and the Flex implementation and
//! the default bodies check them again, for direct [`TextOps`] calls): a mismatch panics with
//! the op's name, the operand and both shapes, e.g.
//! `lstm_seq: w_ih is [3, 8], expected [E, 4H] = [2, 8]`, before any kernel runs.

pub(crate) mod kernels;
pub mod math;

mod autodiff;
mod flex;

use burn::backend::tensor::{FloatTensor, IntTensor};
use burn::backend::{Backend, Dispatch, Shape, Slice, TensorMetadata, backend_extension};
use burn::tensor::{Int, Tensor};

/// The fused text operations. See the module documentation for each one's contract.
#[backend_extension(Flex, Cube, Autodiff)]
pub trait TextOps: Backend {
    /// `x` `[B, T, E]`, `w_ih` `[E, 4H]`, `w_hh` `[H, 4H]`, `bias` `[1, 4H]`, `mask` `[B, T]`
    /// (1 on tokens, 0 on padding) → `[B, T + 2, H]`: outputs, then final `h` and `c`.
    fn lstm_seq(
        x: FloatTensor<Self>,
        w_ih: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        mask: FloatTensor<Self>,
        reverse: bool,
    ) -> FloatTensor<Self> {
        reference::lstm_seq::<Self>(x, w_ih, w_hh, bias, mask, reverse)
    }
    /// `gates` `[B, 4H]` (pre-activation), `c_prev` `[B, H]` → `[B, 2H]` = `[c; h]`.
    fn lstm_cell(gates: FloatTensor<Self>, c_prev: FloatTensor<Self>) -> FloatTensor<Self> {
        reference::lstm_cell::<Self>(gates, c_prev)
    }
    /// `features` `[B, T, A]`, `query` `[B, A]`, `coverage` `[B, T]`, `w_c` `[1, A]`, `v` `[A, 1]`
    /// → scores `[B, T]`.
    fn attention_scores(
        features: FloatTensor<Self>,
        query: FloatTensor<Self>,
        coverage: FloatTensor<Self>,
        w_c: FloatTensor<Self>,
        v: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        reference::attention_scores::<Self>(features, query, coverage, w_c, v)
    }
    /// `logits` `[N, V]`, `target` `[N, 1]` → `softmax(logits)[n, target[n]]`, `[N, 1]`.
    fn softmax_pick(logits: FloatTensor<Self>, target: IntTensor<Self>) -> FloatTensor<Self> {
        shapes::softmax_pick(&logits.shape(), &target.shape());
        let p = Self::softmax(logits, 1);
        Self::float_gather(1, p, target)
    }
    fn fused_tanh(x: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::float_tanh(x)
    }
    /// `x` `[M, K]` · `w` `[K, N]`; on Flex a kernel that streams `w` once when `M` is small.
    fn project(x: FloatTensor<Self>, w: FloatTensor<Self>) -> FloatTensor<Self> {
        shapes::project(&x.shape(), &w.shape());
        Self::float_matmul(x, w)
    }
    /// The same `[K, N]` weight in the storage [`Self::project`] reads fastest; on Flex,
    /// word-major (each output's `K` weights contiguous). Values and shape are unchanged.
    fn decoding_layout(w: FloatTensor<Self>) -> FloatTensor<Self> {
        w
    }
    /// Softmax over the last dimension of `[M, N]`; vectorised on Flex.
    fn softmax_rows(x: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::softmax(x, 1)
    }
    fn fused_sigmoid(x: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::sigmoid(x)
    }
}

impl TextOps for burn::backend::Cube {}

/// The ops' shape contracts (the [`TextOps`] documentation), checked in O(1) from the shapes
/// alone. Each check panics with the op's name, the operand, its shape and the expected one.
pub(crate) mod shapes {
    /// `got` as an array of rank `N`, or a panic naming `op`, `name` and the expected `pattern`.
    #[track_caller]
    fn rank<const N: usize>(op: &str, name: &str, got: &[usize], pattern: &str) -> [usize; N] {
        got.try_into().unwrap_or_else(|_| panic!("{op}: {name} is {got:?}, expected {pattern}"))
    }

    /// Panics, naming `op` and `name`, unless `got` is `want` (`pattern` in symbols).
    #[track_caller]
    fn expect(op: &str, name: &str, got: &[usize], pattern: &str, want: &[usize]) {
        if got != want {
            panic!("{op}: {name} is {got:?}, expected {pattern} = {want:?}");
        }
    }

    /// `k·h` for a width such as 4H, or a panic: no tensor can have that many columns.
    #[track_caller]
    fn times(op: &str, name: &str, got: &[usize], k: usize, h: usize) -> usize {
        let overflow = || panic!("{op}: {name} is {got:?}, and {k}·{h} overflows");
        k.checked_mul(h).unwrap_or_else(overflow)
    }

    /// `x` `[B, T, E]`, `w_ih` `[E, 4H]`, `w_hh` `[H, 4H]`, `bias` `[1, 4H]`, `mask` `[B, T]`.
    #[track_caller]
    pub fn lstm_seq(x: &[usize], w_ih: &[usize], w_hh: &[usize], bias: &[usize], mask: &[usize]) {
        const OP: &str = "lstm_seq";
        let [b, t, e] = rank(OP, "x", x, "[B, T, E]");
        let [h, _] = rank(OP, "w_hh", w_hh, "[H, 4H]");
        let h4 = times(OP, "w_hh", w_hh, 4, h);
        expect(OP, "w_hh", w_hh, "[H, 4H]", &[h, h4]);
        expect(OP, "w_ih", w_ih, "[E, 4H]", &[e, h4]);
        expect(OP, "bias", bias, "[1, 4H]", &[1, h4]);
        expect(OP, "mask", mask, "[B, T]", &[b, t]);
    }

    /// `gates` `[B, 4H]`, `c_prev` `[B, H]`.
    #[track_caller]
    pub fn lstm_cell(gates: &[usize], c_prev: &[usize]) {
        const OP: &str = "lstm_cell";
        let [b, h] = rank(OP, "c_prev", c_prev, "[B, H]");
        let h4 = times(OP, "c_prev", c_prev, 4, h);
        expect(OP, "gates", gates, "[B, 4H]", &[b, h4]);
    }

    /// `features` `[B, T, A]`, `query` `[B, A]`, `coverage` `[B, T]`, `w_c` `[1, A]`, `v` `[A, 1]`.
    #[track_caller]
    pub fn attention_scores(
        features: &[usize],
        query: &[usize],
        coverage: &[usize],
        w_c: &[usize],
        v: &[usize],
    ) {
        const OP: &str = "attention_scores";
        let [b, t, a] = rank(OP, "features", features, "[B, T, A]");
        expect(OP, "query", query, "[B, A]", &[b, a]);
        expect(OP, "coverage", coverage, "[B, T]", &[b, t]);
        expect(OP, "w_c", w_c, "[1, A]", &[1, a]);
        expect(OP, "v", v, "[A, 1]", &[a, 1]);
    }

    /// `logits` `[N, V]`, `target` `[N, 1]`. (The ids themselves are checked against `V` where
    /// they are read.)
    #[track_caller]
    pub fn softmax_pick(logits: &[usize], target: &[usize]) {
        const OP: &str = "softmax_pick";
        let [n, _] = rank(OP, "logits", logits, "[N, V]");
        expect(OP, "target", target, "[N, 1]", &[n, 1]);
    }

    /// `x` `[M, K]`, `w` `[K, N]`.
    #[track_caller]
    pub fn project(x: &[usize], w: &[usize]) {
        const OP: &str = "project";
        let [_, k] = rank(OP, "x", x, "[M, K]");
        let [_, n] = rank(OP, "w", w, "[K, N]");
        expect(OP, "w", w, "[K, N]", &[k, n]);
    }
}

/// `$op` (a [`TextOps`] method or a reference body) on the tensors in dispatch form, then any
/// flag; the result back as a tensor.
macro_rules! dispatch {
    ($op:expr; $($t:ident),+ $(; $flag:ident)?) => {
        Tensor::from_dispatch($op($($t.into_dispatch()),+ $(, $flag)?))
    };
}

/// [`TextOps`]'s `$op` through `Dispatch`, once `shapes::$op` has checked the operands.
macro_rules! fused {
    ($op:ident; $($t:ident),+ $(; $flag:ident)?) => {{
        shapes::$op($(&$t.dims()),+);
        dispatch!(<Dispatch as TextOps>::$op; $($t),+ $(; $flag)?)
    }};
}

/// One LSTM direction over `[B, T, E]` inputs; see [`TextOps::lstm_seq`]. Returns the outputs
/// `[B, T, H]` (zero at padding) and the final `h` and `c` `[B, H]`.
pub fn lstm_seq(
    x: Tensor<3>,
    w_ih: Tensor<2>,
    w_hh: Tensor<2>,
    bias: Tensor<2>,
    mask: Tensor<2>,
    reverse: bool,
) -> (Tensor<3>, Tensor<2>, Tensor<2>) {
    unpack_lstm(fused!(lstm_seq; x, w_ih, w_hh, bias, mask; reverse))
}

/// The outputs `[B, T, H]` and final `h` and `c` `[B, H]` from [`TextOps::lstm_seq`]'s result.
fn unpack_lstm(packed: Tensor<3>) -> (Tensor<3>, Tensor<2>, Tensor<2>) {
    let [b, t2, h] = packed.dims();
    let t = t2 - 2;
    let out = packed.clone().narrow(1, 0, t);
    let hn = packed.clone().narrow(1, t, 1).reshape([b, h]);
    let cn = packed.narrow(1, t + 1, 1).reshape([b, h]);
    (out, hn, cn)
}

/// One LSTM cell; see [`TextOps::lstm_cell`]. Returns `[c; h]` `[B, 2H]`.
pub fn lstm_cell(gates: Tensor<2>, c_prev: Tensor<2>) -> Tensor<2> {
    fused!(lstm_cell; gates, c_prev)
}

/// Additive attention scores; see [`TextOps::attention_scores`].
pub fn attention_scores(
    features: Tensor<3>,
    query: Tensor<2>,
    coverage: Tensor<2>,
    w_c: Tensor<2>,
    v: Tensor<2>,
) -> Tensor<2> {
    fused!(attention_scores; features, query, coverage, w_c, v)
}

/// The softmax probability of each row's target; see [`TextOps::softmax_pick`].
pub fn softmax_pick(logits: Tensor<2>, target: Tensor<2, Int>) -> Tensor<2> {
    fused!(softmax_pick; logits, target)
}

/// `x · w`, for decoding's few rows against a large output matrix; see [`TextOps::project`].
/// Differentiable everywhere (under autodiff it is the ordinary matmul).
pub fn project(x: Tensor<2>, w: Tensor<2>) -> Tensor<2> {
    fused!(project; x, w)
}

/// `w` laid out for [`project`] in decoding; see [`TextOps::decoding_layout`]. Not for weights
/// being trained (under autodiff it returns `w` unchanged).
pub fn decoding_layout(w: Tensor<2>) -> Tensor<2> {
    dispatch!(<Dispatch as TextOps>::decoding_layout; w)
}

/// Softmax over the last dimension of `[M, N]`; see [`TextOps::softmax_rows`]. Differentiable
/// everywhere (under autodiff it is the ordinary softmax).
pub fn softmax_rows(x: Tensor<2>) -> Tensor<2> {
    dispatch!(<Dispatch as TextOps>::softmax_rows; x)
}

/// Vectorised tanh (exact gradient `1 − tanh²`).
pub fn tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    dispatch!(<Dispatch as TextOps>::fused_tanh; x)
}

/// Vectorised logistic sigmoid (exact gradient `σ(1 − σ)`).
pub fn sigmoid<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    dispatch!(<Dispatch as TextOps>::fused_sigmoid; x)
}

/// The same operations made of ordinary burn ops (the cubecl bodies), on any device: the
/// reference for the fused kernels' tests and benchmarks.
pub mod unfused {
    use super::*;

    pub fn lstm_seq(
        x: Tensor<3>,
        w_ih: Tensor<2>,
        w_hh: Tensor<2>,
        bias: Tensor<2>,
        mask: Tensor<2>,
        reverse: bool,
    ) -> (Tensor<3>, Tensor<2>, Tensor<2>) {
        unpack_lstm(dispatch!(reference::lstm_seq::<Dispatch>; x, w_ih, w_hh, bias, mask; reverse))
    }
    pub fn lstm_cell(gates: Tensor<2>, c_prev: Tensor<2>) -> Tensor<2> {
        dispatch!(reference::lstm_cell::<Dispatch>; gates, c_prev)
    }
    pub fn attention_scores(
        features: Tensor<3>,
        query: Tensor<2>,
        coverage: Tensor<2>,
        w_c: Tensor<2>,
        v: Tensor<2>,
    ) -> Tensor<2> {
        dispatch!(reference::attention_scores::<Dispatch>; features, query, coverage, w_c, v)
    }
    pub fn softmax_pick(logits: Tensor<2>, target: Tensor<2, Int>) -> Tensor<2> {
        shapes::softmax_pick(&logits.dims(), &target.dims());
        burn::tensor::activation::softmax(logits, 1).gather(1, target)
    }
    pub fn tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
        x.tanh()
    }
    pub fn project(x: Tensor<2>, w: Tensor<2>) -> Tensor<2> {
        shapes::project(&x.dims(), &w.dims());
        x.matmul(w)
    }
    pub fn softmax_rows(x: Tensor<2>) -> Tensor<2> {
        burn::tensor::activation::softmax(x, 1)
    }
    pub fn sigmoid<const D: usize>(x: Tensor<D>) -> Tensor<D> {
        burn::tensor::activation::sigmoid(x)
    }
}

/// The default bodies, over any backend's ordinary ops.
mod reference {
    use super::*;

    fn cols<B: Backend>(t: FloatTensor<B>, from: usize, len: usize) -> FloatTensor<B> {
        let s = t.shape();
        B::float_slice(t, &[Slice::from(0..s[0]), Slice::from(from..from + len)])
    }

    /// i, f, g, o from pre-activation gates `[B, 4H]`.
    fn gates<B: Backend>(g: FloatTensor<B>, h: usize) -> [FloatTensor<B>; 4] {
        [
            B::sigmoid(cols::<B>(g.clone(), 0, h)),
            B::sigmoid(cols::<B>(g.clone(), h, h)),
            B::float_tanh(cols::<B>(g.clone(), 2 * h, h)),
            B::sigmoid(cols::<B>(g, 3 * h, h)),
        ]
    }

    pub fn lstm_seq<B: Backend>(
        x: FloatTensor<B>,
        w_ih: FloatTensor<B>,
        w_hh: FloatTensor<B>,
        bias: FloatTensor<B>,
        mask: FloatTensor<B>,
        reverse: bool,
    ) -> FloatTensor<B> {
        shapes::lstm_seq(&x.shape(), &w_ih.shape(), &w_hh.shape(), &bias.shape(), &mask.shape());
        let [batch, len, e] = x.shape().dims();
        let h = w_hh.shape()[0];
        let zeros = B::float_zeros(Shape::new([batch, h]), &x.device(), x.dtype().into());
        let (mut hs, mut cs) = (zeros.clone(), zeros);
        let mut outs: Vec<Option<FloatTensor<B>>> = vec![None; len];
        for step in 0..len {
            let t = if reverse { len - 1 - step } else { step };
            // Slicing the [B, T, E] input (not a [B, T, 4H] product) keeps backward's per-step
            // zero-fill E/4H times smaller.
            let xt = B::float_reshape(
                B::float_slice(
                    x.clone(),
                    &[Slice::from(0..batch), Slice::from(t..t + 1), Slice::from(0..e)],
                ),
                Shape::new([batch, e]),
            );
            let g = B::float_add(
                B::float_add(B::float_matmul(xt, w_ih.clone()), bias.clone()),
                B::float_matmul(hs.clone(), w_hh.clone()),
            );
            let [i, f, u, o] = gates::<B>(g, h);
            let c_new = B::float_add(B::float_mul(f, cs.clone()), B::float_mul(i, u));
            let h_new = B::float_mul(o, B::float_tanh(c_new.clone()));
            let m = cols::<B>(mask.clone(), t, 1); // [B, 1]
            let keep = B::float_add_scalar(B::float_neg(m.clone()), 1f32.into());
            let blend = |new, old| {
                B::float_add(B::float_mul(new, m.clone()), B::float_mul(old, keep.clone()))
            };
            hs = blend(h_new.clone(), hs);
            cs = blend(c_new, cs);
            outs[t] = Some(B::float_reshape(B::float_mul(h_new, m), Shape::new([batch, 1, h])));
        }
        let last = [hs, cs].map(|s| B::float_reshape(s, Shape::new([batch, 1, h])));
        B::float_cat(outs.into_iter().map(|o| o.expect("every step ran")).chain(last).collect(), 1)
    }

    pub fn lstm_cell<B: Backend>(g: FloatTensor<B>, c_prev: FloatTensor<B>) -> FloatTensor<B> {
        shapes::lstm_cell(&g.shape(), &c_prev.shape());
        let h = c_prev.shape()[1];
        let [i, f, u, o] = gates::<B>(g, h);
        let c = B::float_add(B::float_mul(f, c_prev), B::float_mul(i, u));
        let hn = B::float_mul(o, B::float_tanh(c.clone()));
        B::float_cat(vec![c, hn], 1)
    }

    pub fn attention_scores<B: Backend>(
        features: FloatTensor<B>,
        query: FloatTensor<B>,
        coverage: FloatTensor<B>,
        w_c: FloatTensor<B>,
        v: FloatTensor<B>,
    ) -> FloatTensor<B> {
        shapes::attention_scores(
            &features.shape(),
            &query.shape(),
            &coverage.shape(),
            &w_c.shape(),
            &v.shape(),
        );
        let [b, t, a] = features.shape().dims();
        let q = B::float_reshape(query, Shape::new([b, 1, a]));
        let cov = B::float_mul(
            B::float_reshape(coverage, Shape::new([b, t, 1])),
            B::float_reshape(w_c, Shape::new([1, 1, a])),
        );
        let scores = B::float_tanh(B::float_add(B::float_add(features, q), cov));
        B::float_reshape(
            B::float_matmul(B::float_reshape(scores, Shape::new([b * t, a])), v),
            Shape::new([b, t]),
        )
    }
}
