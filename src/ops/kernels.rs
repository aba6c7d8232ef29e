//! The fused text kernels over plain slices, forward and backward, written once for f32 and f64.
//! `flex.rs` feeds them Flex's storage; the tests in `tests/fused_ops.rs` check them against
//! finite differences and against the same computations made of ordinary burn ops.
//!
//! Layouts are row-major. The LSTM gates are ordered i, f, g, o as in PyTorch; weights are
//! `[in, out]`. Batch rows are independent in every kernel, so native builds split them over
//! the cores (rayon) with no synchronisation inside the time loop.

use super::math::{Real, multiversion};

/// A matrix operand for [`gemm`]: a pointer with row and column strides (in elements).
#[derive(Clone, Copy)]
pub struct Mat<T> {
    pub ptr: *const T,
    pub rs: isize,
    pub cs: isize,
}

impl<T> Mat<T> {
    /// A row-major `[rows, cols]` block of `s` starting at element `offset`.
    pub fn rows(s: &[T], offset: usize, cols: usize) -> Self {
        Mat { ptr: s[offset..].as_ptr(), rs: cols as isize, cs: 1 }
    }
    /// The transpose of a row-major `[rows, cols]` slice.
    pub fn t(s: &[T], cols: usize) -> Self {
        Mat { ptr: s.as_ptr(), rs: 1, cs: cols as isize }
    }
    pub fn strided(s: &[T], offset: usize, rs: usize) -> Self {
        Mat { ptr: s[offset..].as_ptr(), rs: rs as isize, cs: 1 }
    }
}

/// `dst[m×n] (row stride dst_rs) = [dst +] a[m×k] · b[k×n]`, with gemm 0.19 (Flex's kernel).
/// `parallel` lets gemm use Flex's thread pool; the kernels' own row-split loops pass `false`.
///
/// # Safety
/// `a` and `b` must address `m×k` and `k×n` valid elements through their strides, and `dst`
/// must hold row `m − 1` at `(m − 1)·dst_rs` with `n` elements, not aliasing `a` or `b`.
#[allow(clippy::too_many_arguments)]
pub unsafe fn gemm<T: Real>(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut T,
    dst_rs: usize,
    accumulate: bool,
    a: Mat<T>,
    b: Mat<T>,
    parallel: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    #[cfg(not(target_arch = "wasm32"))]
    let par = if parallel && m * n * k >= 192 * 192 * 192 {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    };
    #[cfg(target_arch = "wasm32")]
    let par = {
        let _ = parallel;
        gemm::Parallelism::None
    };
    // SAFETY: forwarded from the caller; gemm reads `dst` only when `accumulate`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            dst_rs as isize,
            accumulate && k > 0,
            a.ptr,
            a.cs,
            a.rs,
            b.ptr,
            b.cs,
            b.rs,
            T::ONE,
            T::ONE,
            false,
            false,
            false,
            par,
        );
    }
    if k == 0 && !accumulate {
        for r in 0..m {
            // SAFETY: row r of dst is valid by the contract above.
            unsafe { core::slice::from_raw_parts_mut(dst.add(r * dst_rs), n) }.fill(T::ZERO);
        }
    }
}

/// Runs `f(first_row, rows)` over chunks of `n` independent rows, on every core natively.
fn for_row_chunks<F: Fn(usize, usize) + Sync>(n: usize, f: F) {
    #[cfg(not(target_arch = "wasm32"))]
    {
        let threads = rayon::current_num_threads().max(1).min(n.max(1));
        if threads > 1 {
            let per = n.div_ceil(threads);
            rayon::scope(|s| {
                for c in 0..threads {
                    let (start, end) = (c * per, ((c + 1) * per).min(n));
                    if start < end {
                        let f = &f;
                        s.spawn(move |_| f(start, end - start));
                    }
                }
            });
            return;
        }
    }
    f(0, n)
}

/// A raw pointer that may cross threads: each chunk writes only its own rows.
#[derive(Clone, Copy)]
struct Shared<T>(*mut T);
unsafe impl<T> Send for Shared<T> {}
unsafe impl<T> Sync for Shared<T> {}
impl<T> Shared<T> {
    /// # Safety
    /// `[start, start + len)` must be in bounds and written by one chunk only.
    #[allow(clippy::mut_from_ref)]
    unsafe fn slice(&self, start: usize, len: usize) -> &mut [T] {
        unsafe { core::slice::from_raw_parts_mut(self.0.add(start), len) }
    }
}

/// Sizes of one LSTM direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LstmDims {
    pub batch: usize,
    pub len: usize,
    pub input: usize,
    pub hidden: usize,
    /// Runs from the last position to the first.
    pub reverse: bool,
}

impl LstmDims {
    fn position(&self, step: usize) -> usize {
        if self.reverse { self.len - 1 - step } else { step }
    }
}

/// What the backward pass of [`lstm_seq_forward`] needs, all in `(b, t)` row order.
#[derive(Clone, Debug, Default)]
pub struct LstmTape<T> {
    /// Activated gates i, f, g, o, `[B·T, 4H]`.
    pub acts: Vec<T>,
    /// The state before each position, `[B·T, H]` each.
    pub h_prev: Vec<T>,
    pub c_prev: Vec<T>,
    /// tanh of the new cell state, `[B·T, H]`.
    pub tanh_c: Vec<T>,
}

/// One LSTM direction over `x` `[B, T, E]`, starting from zeros. `mask` `[B, T]` is 1 on tokens
/// and 0 on padding, where the state is carried unchanged and the output is 0.
///
/// Returns `[B, T + 2, H]`: the outputs at rows `0..T`, then the final `h` and `c`; and the
/// tape for the backward pass.
pub fn lstm_seq_forward<T: Real>(
    x: &[T],
    w_ih: &[T],
    w_hh: &[T],
    bias: &[T],
    mask: &[T],
    d: LstmDims,
) -> (Vec<T>, LstmTape<T>) {
    let LstmDims { batch, len, input, hidden: h, .. } = d;
    let g4 = 4 * h;
    let rows = batch * len;
    // The input part of every gate at once: one large product, then the bias.
    let mut acts = vec![T::ZERO; rows * g4];
    // SAFETY: x is [rows, input], w_ih [input, 4H], acts [rows, 4H].
    unsafe {
        gemm(
            rows,
            g4,
            input,
            acts.as_mut_ptr(),
            g4,
            false,
            Mat::rows(x, 0, input),
            Mat::rows(w_ih, 0, g4),
            true,
        )
    };
    for row in acts.chunks_exact_mut(g4) {
        row.iter_mut().zip(bias).for_each(|(a, &b)| *a += b);
    }
    let mut out = vec![T::ZERO; batch * (len + 2) * h];
    let mut tape = LstmTape {
        acts,
        h_prev: vec![T::ZERO; rows * h],
        c_prev: vec![T::ZERO; rows * h],
        tanh_c: vec![T::ZERO; rows * h],
    };
    let p_acts = Shared(tape.acts.as_mut_ptr());
    let p_hp = Shared(tape.h_prev.as_mut_ptr());
    let p_cp = Shared(tape.c_prev.as_mut_ptr());
    let p_tc = Shared(tape.tanh_c.as_mut_ptr());
    let p_out = Shared(out.as_mut_ptr());
    for_row_chunks(batch, |b0, nb| {
        // SAFETY: chunks own disjoint batch rows, and each array is laid out batch-major.
        let (acts, hp, cp, tc, out) = unsafe {
            (
                p_acts.slice(b0 * len * g4, nb * len * g4),
                p_hp.slice(b0 * len * h, nb * len * h),
                p_cp.slice(b0 * len * h, nb * len * h),
                p_tc.slice(b0 * len * h, nb * len * h),
                p_out.slice(b0 * (len + 2) * h, nb * (len + 2) * h),
            )
        };
        let mut hs = vec![T::ZERO; nb * h];
        let mut cs = vec![T::ZERO; nb * h];
        for step in 0..len {
            let t = d.position(step);
            if step > 0 {
                // gates[b] += h[b] · W_hh for this position's rows (stride T·4H).
                // SAFETY: rows b·T + t of acts, b < nb, are in this chunk's slice.
                unsafe {
                    gemm(
                        nb,
                        g4,
                        h,
                        acts[t * g4..].as_mut_ptr(),
                        len * g4,
                        true,
                        Mat::rows(&hs, 0, h),
                        Mat::rows(w_hh, 0, g4),
                        false,
                    )
                };
            }
            for b in 0..nb {
                let r = b * len + t;
                let (hb, cb) = (&mut hs[b * h..(b + 1) * h], &mut cs[b * h..(b + 1) * h]);
                hp[r * h..(r + 1) * h].copy_from_slice(hb);
                cp[r * h..(r + 1) * h].copy_from_slice(cb);
                let o_row = &mut out[(b * (len + 2) + t) * h..][..h];
                if mask[(b0 + b) * len + t] == T::ZERO {
                    o_row.fill(T::ZERO);
                    continue;
                }
                let g = &mut acts[r * g4..(r + 1) * g4];
                T::sigmoid_slice(&mut g[..2 * h]);
                T::tanh_slice(&mut g[2 * h..3 * h]);
                T::sigmoid_slice(&mut g[3 * h..]);
                let tcr = &mut tc[r * h..(r + 1) * h];
                for j in 0..h {
                    cb[j] = g[h + j] * cb[j] + g[j] * g[2 * h + j];
                    tcr[j] = cb[j];
                }
                T::tanh_slice(tcr);
                for j in 0..h {
                    hb[j] = g[3 * h + j] * tcr[j];
                }
                o_row.copy_from_slice(hb);
            }
        }
        for b in 0..nb {
            out[(b * (len + 2) + len) * h..][..h].copy_from_slice(&hs[b * h..(b + 1) * h]);
            out[(b * (len + 2) + len + 1) * h..][..h].copy_from_slice(&cs[b * h..(b + 1) * h]);
        }
    });
    (out, tape)
}

/// Gradients of [`lstm_seq_forward`] given `dy`, the gradient of its `[B, T + 2, H]` output:
/// `(dx, dw_ih, dw_hh, dbias)`.
pub fn lstm_seq_backward<T: Real>(
    dy: &[T],
    tape: &LstmTape<T>,
    x: &[T],
    w_ih: &[T],
    w_hh: &[T],
    mask: &[T],
    d: LstmDims,
) -> (Vec<T>, Vec<T>, Vec<T>, Vec<T>) {
    let LstmDims { batch, len, input, hidden: h, .. } = d;
    let g4 = 4 * h;
    let rows = batch * len;
    // Gradients of the pre-activation gates, `[B·T, 4H]`; zero at padding.
    let mut dg = vec![T::ZERO; rows * g4];
    let p_dg = Shared(dg.as_mut_ptr());
    for_row_chunks(batch, |b0, nb| {
        // SAFETY: chunks own disjoint batch rows.
        let dg = unsafe { p_dg.slice(b0 * len * g4, nb * len * g4) };
        let mut dh = vec![T::ZERO; nb * h];
        let mut dc = vec![T::ZERO; nb * h];
        for b in 0..nb {
            let base = ((b0 + b) * (len + 2) + len) * h;
            dh[b * h..(b + 1) * h].copy_from_slice(&dy[base..base + h]);
            dc[b * h..(b + 1) * h].copy_from_slice(&dy[base + h..base + 2 * h]);
        }
        let mut dh_prev = vec![T::ZERO; nb * h];
        for step in (0..len).rev() {
            let t = d.position(step);
            for b in 0..nb {
                if mask[(b0 + b) * len + t] == T::ZERO {
                    continue;
                }
                let r = (b0 + b) * len + t; // global row (tape)
                let lr = b * len + t; // row within this chunk (dg)
                let a = &tape.acts[r * g4..(r + 1) * g4];
                let tc = &tape.tanh_c[r * h..(r + 1) * h];
                let cp = &tape.c_prev[r * h..(r + 1) * h];
                let dyr = &dy[((b0 + b) * (len + 2) + t) * h..][..h];
                let (dhb, dcb) = (&mut dh[b * h..(b + 1) * h], &mut dc[b * h..(b + 1) * h]);
                let gr = &mut dg[lr * g4..(lr + 1) * g4];
                for j in 0..h {
                    let (i, f, g, o) = (a[j], a[h + j], a[2 * h + j], a[3 * h + j]);
                    let dhj = dhb[j] + dyr[j];
                    let dct = dcb[j] + dhj * o * (T::ONE - tc[j] * tc[j]);
                    gr[j] = dct * g * i * (T::ONE - i);
                    gr[h + j] = dct * cp[j] * f * (T::ONE - f);
                    gr[2 * h + j] = dct * i * (T::ONE - g * g);
                    gr[3 * h + j] = dhj * tc[j] * o * (T::ONE - o);
                    dcb[j] = dct * f;
                }
            }
            if step == 0 {
                break; // the initial state is a constant
            }
            // dh_prev = dgates · W_hhᵀ; padded rows carry dh through unchanged.
            // SAFETY: rows b·T + t of this chunk's dg; W_hh is [H, 4H].
            unsafe {
                gemm(
                    nb,
                    h,
                    g4,
                    dh_prev.as_mut_ptr(),
                    h,
                    false,
                    Mat::strided(dg, t * g4, len * g4),
                    Mat::t(w_hh, g4),
                    false,
                )
            };
            for b in 0..nb {
                if mask[(b0 + b) * len + t] != T::ZERO {
                    dh[b * h..(b + 1) * h].copy_from_slice(&dh_prev[b * h..(b + 1) * h]);
                }
            }
        }
    });
    let mut dw_hh = vec![T::ZERO; h * g4];
    let mut dw_ih = vec![T::ZERO; input * g4];
    let mut dx = vec![T::ZERO; rows * input];
    // SAFETY: h_prev is [rows, H], x [rows, E], dg [rows, 4H], the weights [·, 4H].
    unsafe {
        gemm(
            h,
            g4,
            rows,
            dw_hh.as_mut_ptr(),
            g4,
            false,
            Mat::t(&tape.h_prev, h),
            Mat::rows(&dg, 0, g4),
            true,
        );
        gemm(
            input,
            g4,
            rows,
            dw_ih.as_mut_ptr(),
            g4,
            false,
            Mat::t(x, input),
            Mat::rows(&dg, 0, g4),
            true,
        );
        gemm(
            rows,
            input,
            g4,
            dx.as_mut_ptr(),
            input,
            false,
            Mat::rows(&dg, 0, g4),
            Mat::t(w_ih, g4),
            true,
        );
    }
    let mut db = vec![T::ZERO; g4];
    for row in dg.chunks_exact(g4) {
        db.iter_mut().zip(row).for_each(|(s, &v)| *s += v);
    }
    (dx, dw_ih, dw_hh, db)
}

/// One LSTM cell from pre-activation gates `[B, 4H]` and the previous cell state `[B, H]`:
/// returns `[B, 2H]` = `[c; h]` (See et al.'s decoder state `s`) and the activated gates plus
/// tanh(c) `[B, 5H]` for the backward pass.
pub fn lstm_cell_forward<T: Real>(
    gates: &[T],
    c_prev: &[T],
    batch: usize,
    h: usize,
) -> (Vec<T>, Vec<T>) {
    let mut out = vec![T::ZERO; batch * 2 * h];
    let mut tape = vec![T::ZERO; batch * 5 * h];
    for b in 0..batch {
        let a = &mut tape[b * 5 * h..(b + 1) * 5 * h];
        a[..4 * h].copy_from_slice(&gates[b * 4 * h..(b + 1) * 4 * h]);
        T::sigmoid_slice(&mut a[..2 * h]);
        T::tanh_slice(&mut a[2 * h..3 * h]);
        T::sigmoid_slice(&mut a[3 * h..4 * h]);
        let o = &mut out[b * 2 * h..(b + 1) * 2 * h];
        for j in 0..h {
            o[j] = a[h + j] * c_prev[b * h + j] + a[j] * a[2 * h + j];
            a[4 * h + j] = o[j];
        }
        T::tanh_slice(&mut a[4 * h..]);
        for j in 0..h {
            o[h + j] = a[3 * h + j] * a[4 * h + j];
        }
    }
    (out, tape)
}

/// Gradients of [`lstm_cell_forward`] given `dout` `[B, 2H]`: `(dgates, dc_prev)`.
pub fn lstm_cell_backward<T: Real>(
    dout: &[T],
    tape: &[T],
    c_prev: &[T],
    batch: usize,
    h: usize,
) -> (Vec<T>, Vec<T>) {
    let mut dg = vec![T::ZERO; batch * 4 * h];
    let mut dcp = vec![T::ZERO; batch * h];
    for b in 0..batch {
        let a = &tape[b * 5 * h..(b + 1) * 5 * h];
        for j in 0..h {
            let (i, f, g, o, tc) = (a[j], a[h + j], a[2 * h + j], a[3 * h + j], a[4 * h + j]);
            let dh = dout[b * 2 * h + h + j];
            let dc = dout[b * 2 * h + j] + dh * o * (T::ONE - tc * tc);
            let r = &mut dg[b * 4 * h..(b + 1) * 4 * h];
            r[j] = dc * g * i * (T::ONE - i);
            r[h + j] = dc * c_prev[b * h + j] * f * (T::ONE - f);
            r[2 * h + j] = dc * i * (T::ONE - g * g);
            r[3 * h + j] = dh * tc * o * (T::ONE - o);
            dcp[b * h + j] = dc * f;
        }
    }
    (dg, dcp)
}

/// Sizes of the additive attention.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttnDims {
    pub batch: usize,
    pub len: usize,
    pub width: usize,
}

/// Bahdanau scores `e[b, t] = Σₐ v[a] · tanh(F[b, t, a] + q[b, a] + cov[b, t] · w_c[a])`
/// (See et al. eq. 1 and 11) without materialising the `[B, T, A]` tanh.
pub fn attention_forward<T: Real>(
    features: &[T],
    query: &[T],
    cov: &[T],
    w_c: &[T],
    v: &[T],
    d: AttnDims,
) -> Vec<T> {
    let AttnDims { batch, len, width: a } = d;
    let mut e = vec![T::ZERO; batch * len];
    let p_e = Shared(e.as_mut_ptr());
    for_row_chunks(batch, |b0, nb| {
        // SAFETY: chunks own disjoint batch rows of e.
        let e = unsafe { p_e.slice(b0 * len, nb * len) };
        let mut buf = vec![T::ZERO; a];
        for b in 0..nb {
            let q = &query[(b0 + b) * a..][..a];
            for t in 0..len {
                let f = &features[((b0 + b) * len + t) * a..][..a];
                let c = cov[(b0 + b) * len + t];
                attn_pre(f, q, c, w_c, &mut buf);
                e[b * len + t] = dot(&buf, v);
            }
        }
    });
    e
}

/// Gradients of [`attention_forward`] given `de` `[B, T]`: `(dF, dq, dcov, dw_c, dv)`. The tanh
/// is recomputed rather than stored: it is `[B, T, A]` per decoder step.
#[allow(clippy::type_complexity)]
pub fn attention_backward<T: Real>(
    de: &[T],
    features: &[T],
    query: &[T],
    cov: &[T],
    w_c: &[T],
    v: &[T],
    d: AttnDims,
) -> (Vec<T>, Vec<T>, Vec<T>, Vec<T>, Vec<T>) {
    let AttnDims { batch, len, width: a } = d;
    let mut df = vec![T::ZERO; batch * len * a];
    let mut dq = vec![T::ZERO; batch * a];
    let mut dcov = vec![T::ZERO; batch * len];
    // Per-row partial sums of dw_c and dv, reduced after.
    let mut partial = vec![T::ZERO; batch * 2 * a];
    let (p_df, p_dq, p_dcov, p_part) = (
        Shared(df.as_mut_ptr()),
        Shared(dq.as_mut_ptr()),
        Shared(dcov.as_mut_ptr()),
        Shared(partial.as_mut_ptr()),
    );
    for_row_chunks(batch, |b0, nb| {
        // SAFETY: chunks own disjoint batch rows of every output.
        let (df, dq, dcov, part) = unsafe {
            (
                p_df.slice(b0 * len * a, nb * len * a),
                p_dq.slice(b0 * a, nb * a),
                p_dcov.slice(b0 * len, nb * len),
                p_part.slice(b0 * 2 * a, nb * 2 * a),
            )
        };
        let mut th = vec![T::ZERO; a];
        for b in 0..nb {
            let q = &query[(b0 + b) * a..][..a];
            let (dwc, dv) = part[b * 2 * a..(b + 1) * 2 * a].split_at_mut(a);
            let dqb = &mut dq[b * a..(b + 1) * a];
            for t in 0..len {
                let g = de[(b0 + b) * len + t];
                let f = &features[((b0 + b) * len + t) * a..][..a];
                let c = cov[(b0 + b) * len + t];
                attn_pre(f, q, c, w_c, &mut th);
                let dc = attn_back_row(
                    g,
                    c,
                    &th,
                    v,
                    w_c,
                    &mut df[(b * len + t) * a..][..a],
                    dqb,
                    dwc,
                    dv,
                );
                dcov[b * len + t] = dc;
            }
        }
    });
    let mut dwc = vec![T::ZERO; a];
    let mut dv = vec![T::ZERO; a];
    for p in partial.chunks_exact(2 * a) {
        dwc.iter_mut().zip(&p[..a]).for_each(|(s, &x)| *s += x);
        dv.iter_mut().zip(&p[a..]).for_each(|(s, &x)| *s += x);
    }
    (df, dq, dcov, dwc, dv)
}

multiversion! {
    /// `out = tanh(f + q + c·w_c)`, one row of the attention's pre-activation.
    fn attn_pre<T: Real>(f: &[T], q: &[T], c: T, w_c: &[T], out: &mut [T]) -> () {
        for (((o, &f), &q), &w) in out.iter_mut().zip(f).zip(q).zip(w_c) {
            *o = f + q + c * w;
        }
        T::tanh_slice(out);
    }
}

multiversion! {
    /// One row of the attention's backward pass given the row's tanh `th` and its score's
    /// gradient `g`: writes `dF`, accumulates `dq`, `dw_c` and `dv`, and returns `dcov`. Each
    /// loop is element-wise so it vectorises.
    fn attn_back_row<T: Real>(g: T, c: T, th: &[T], v: &[T], w_c: &[T], df: &mut [T], dq: &mut [T], dwc: &mut [T], dv: &mut [T]) -> T {
        for ((d, &t), &vk) in df.iter_mut().zip(th).zip(v) {
            *d = g * vk * (T::ONE - t * t);
        }
        for (((q, w), &d), (dvk, &t)) in dq.iter_mut().zip(dwc.iter_mut()).zip(df.iter()).zip(dv.iter_mut().zip(th)) {
            *q += d;
            *w += d * c;
            *dvk += g * t;
        }
        dot(df, w_c)
    }
}

#[inline(always)]
fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    // Eight partial sums: vectorises, and gives the same bits on every build.
    let mut acc = [T::ZERO; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let mut s = acc.iter().fold(T::ZERO, |s, &v| s + v);
    for (&x, &y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

/// `p[n] = softmax(logits[n, ·])[target[n]]` over `[N, V]`, and each row's max and Σ e^(l − max)
/// for the backward pass. Neither the softmax nor a one-hot is stored.
pub fn softmax_pick_forward<T: Real>(
    logits: &[T],
    target: &[usize],
    vocab: usize,
) -> (Vec<T>, Vec<T>) {
    let n = target.len();
    let mut p = vec![T::ZERO; n];
    let mut stats = vec![T::ZERO; 2 * n];
    let (p_p, p_s) = (Shared(p.as_mut_ptr()), Shared(stats.as_mut_ptr()));
    for_row_chunks(n, |r0, nr| {
        // SAFETY: chunks own disjoint rows.
        let (p, stats) = unsafe { (p_p.slice(r0, nr), p_s.slice(2 * r0, 2 * nr)) };
        let mut buf = vec![T::ZERO; vocab];
        for r in 0..nr {
            let row = &logits[(r0 + r) * vocab..][..vocab];
            let max = row.iter().fold(row[0], |m, &x| m.max(x));
            buf.copy_from_slice(row);
            let sum = T::exp_shift_sum(&mut buf, max);
            p[r] = buf[target[r0 + r]] / sum;
            stats[2 * r] = max;
            stats[2 * r + 1] = sum;
        }
    });
    (p, stats)
}

/// Gradient of [`softmax_pick_forward`] given `dp` `[N]`:
/// `dlogits[n, j] = dp[n] · p[n] · (1[j = target[n]] − softmax(logits[n])[j])`.
pub fn softmax_pick_backward<T: Real>(
    dp: &[T],
    p: &[T],
    stats: &[T],
    logits: &[T],
    target: &[usize],
    vocab: usize,
) -> Vec<T> {
    let n = target.len();
    let mut dl = vec![T::ZERO; n * vocab];
    let p_dl = Shared(dl.as_mut_ptr());
    for_row_chunks(n, |r0, nr| {
        // SAFETY: chunks own disjoint rows.
        let dl = unsafe { p_dl.slice(r0 * vocab, nr * vocab) };
        for r in 0..nr {
            let g = r0 + r;
            let row = &mut dl[r * vocab..(r + 1) * vocab];
            row.copy_from_slice(&logits[g * vocab..(g + 1) * vocab]);
            T::exp_shift_sum(row, stats[2 * g]);
            let scale = -(dp[g] * p[g]) / stats[2 * g + 1];
            row.iter_mut().for_each(|v| *v = *v * scale);
            row[target[g]] += dp[g] * p[g];
        }
    });
    dl
}

/// Rows at or below this count use [`project_rows`] instead of gemm.
pub const SMALL_ROWS: usize = 16;

/// `x [m, k] · w [k, n]` for a few rows (decoding: the beam's rows against a 50,000-word output
/// matrix). gemm packs the whole right operand on every call, which for `m = 4` moves the 51 MB
/// weight three times; this reads it once, in column tiles whose accumulators (`m × 4096`
/// floats, 64 KB for a beam of 4) stay in L2. Measured on the See-sized beam search: tiles of
/// 128, 512, 2048, 4096 and 8192 columns gave 1.49, 1.29, 1.03–1.20, 0.82–0.95 and 1.03–1.11 s.
pub fn project_rows<T: Real>(x: &[T], w: &[T], m: usize, k: usize, n: usize) -> Vec<T> {
    const TILE: usize = 4096;
    let mut out = vec![T::ZERO; m * n];
    let tiles = n.div_ceil(TILE);
    let p_out = Shared(out.as_mut_ptr());
    for_row_chunks(tiles, |t0, nt| {
        let mut acc = vec![T::ZERO; m * TILE];
        for tile in t0..t0 + nt {
            let (j0, width) = (tile * TILE, TILE.min(n - tile * TILE));
            acc.iter_mut().for_each(|a| *a = T::ZERO);
            for kk in 0..k {
                let wr = &w[kk * n + j0..][..width];
                for r in 0..m {
                    axpy(x[r * k + kk], wr, &mut acc[r * TILE..r * TILE + width]);
                }
            }
            for r in 0..m {
                // SAFETY: each tile's columns belong to one chunk.
                unsafe { p_out.slice(r * n + j0, width) }
                    .copy_from_slice(&acc[r * TILE..r * TILE + width]);
            }
        }
    });
    out
}

/// `x [m, k] · wtᵀ` for a few rows, with the weight stored transposed (`wt [n, k]`, word-major,
/// as [`super::decoding_layout`] leaves it). Each word's row is read once from memory and kept in
/// L1 while every beam row takes its dot product, so the 51 MB See-sized matrix streams at
/// memory speed. The column-tiled [`project_rows`] instead re-reads `m × 4096` accumulators from
/// L2 for each of the `k` weight rows; in a standalone test at `m = 4, k = 256, n = 50000` this
/// ran 2.3–3.0 ms per call on two threads against its 9.5–10.3 ms.
pub fn project_rows_t<T: Real>(x: &[T], wt: &[T], m: usize, k: usize, n: usize) -> Vec<T> {
    const BLOCK: usize = 512;
    let mut out = vec![T::ZERO; m * n];
    let p_out = Shared(out.as_mut_ptr());
    for_row_chunks(n.div_ceil(BLOCK), |b0, nb| {
        let mut buf = vec![T::ZERO; BLOCK * m];
        for block in b0..b0 + nb {
            let (j0, width) = (block * BLOCK, BLOCK.min(n - block * BLOCK));
            dot_words(x, &wt[j0 * k..(j0 + width) * k], k, &mut buf[..width * m]);
            for r in 0..m {
                // SAFETY: each block's columns belong to one chunk.
                let row = unsafe { p_out.slice(r * n + j0, width) };
                row.iter_mut().enumerate().for_each(|(j, o)| *o = buf[j * m + r]);
            }
        }
    });
    out
}

multiversion! {
    /// `out[j, r] = x[r, ·] · w[j, ·]` for the words `w [J, k]` and rows `x [m, k]`, with
    /// `out [J, m]`. Rows go four at a time so each load of a word's weights feeds four
    /// products. Each product keeps sixteen partial sums: LLVM vectorises `[f32; 16]` as two
    /// 256-bit registers but `[f32; 8]` as two 128-bit ones (4.2 against 8.7 ms per See-sized
    /// call on one thread, standalone).
    fn dot_words<T: Real>(x: &[T], w: &[T], k: usize, out: &mut [T]) -> () {
        const L: usize = 16;
        let m = x.len() / k;
        let split = k - k % L;
        fn chunks<T>(x: &[T], split: usize) -> &[[T; L]] {
            x[..split].as_chunks::<L>().0
        }
        let lanes = |x| chunks(x, split);
        let sum = |a: &[T; L]| a.iter().fold(T::ZERO, |s, &v| s + v);
        let tail = |xr: &[T], wr: &[T]| xr[split..].iter().zip(&wr[split..]).fold(T::ZERO, |s, (&a, &b)| s + a * b);
        for (wr, o) in w.chunks_exact(k).zip(out.chunks_exact_mut(m)) {
            let w16 = lanes(wr);
            let row = |r: usize| &x[r * k..(r + 1) * k];
            let mut r = 0;
            while r + 4 <= m {
                let (x0, x1, x2, x3) = (lanes(row(r)), lanes(row(r + 1)), lanes(row(r + 2)), lanes(row(r + 3)));
                let (mut a0, mut a1, mut a2, mut a3) = ([T::ZERO; L], [T::ZERO; L], [T::ZERO; L], [T::ZERO; L]);
                for (c, wc) in w16.iter().enumerate() {
                    let (p0, p1, p2, p3) = (&x0[c], &x1[c], &x2[c], &x3[c]);
                    for l in 0..L {
                        a0[l] += p0[l] * wc[l];
                        a1[l] += p1[l] * wc[l];
                        a2[l] += p2[l] * wc[l];
                        a3[l] += p3[l] * wc[l];
                    }
                }
                for (i, a) in [a0, a1, a2, a3].iter().enumerate() {
                    o[r + i] = sum(a) + tail(row(r + i), wr);
                }
                r += 4;
            }
            for (i, o) in o.iter_mut().enumerate().skip(r) {
                let mut a = [T::ZERO; L];
                for (xc, wc) in lanes(row(i)).iter().zip(w16) {
                    for l in 0..L {
                        a[l] += xc[l] * wc[l];
                    }
                }
                *o = sum(&a) + tail(row(i), wr);
            }
        }
    }
}

multiversion! {
    /// `y += a·x`.
    fn axpy<T: Real>(a: T, x: &[T], y: &mut [T]) -> () {
        for (y, &x) in y.iter_mut().zip(x) {
            *y += a * x;
        }
    }
}

/// Row-wise softmax of `[m, n]`, in place, with the vectorised exp.
pub fn softmax_rows<T: Real>(x: &mut [T], n: usize) {
    for row in x.chunks_exact_mut(n) {
        let max = row.iter().fold(row[0], |m, &v| m.max(v));
        let sum = T::exp_shift_sum(row, max);
        let inv = T::ONE / sum;
        row.iter_mut().for_each(|v| *v = *v * inv);
    }
}
