//! The fused text kernels over plain slices, forward and backward, written once for f32 and f64.
//! `flex.rs` feeds them Flex's storage; the tests in `tests/fused_ops.rs` check them against
//! finite differences and against the same computations made of ordinary burn ops.
//!
//! Layouts are row-major. The LSTM gates are ordered i, f, g, o as in PyTorch; weights are
//! `[in, out]`. Batch rows are independent in every kernel, so native builds split them over
//! the cores (rayon) with no synchronisation inside the time loop.
//!
//! Every entry point is safe: it first checks each slice's length against the sizes it is given
//! ([`check`], O(1) per call) and panics with the kernel's and the operand's names on a mismatch,
//! before any raw pointer is formed. The raw pointers that remain are confined to [`Mat`] (which
//! checks its whole block when it is built) and [`gemm`] (which checks the operands' shapes
//! against `m`, `n`, `k` and the destination's extent), and to the row-chunk writes of
//! [`Shared`], whose ranges are sized from the buffers each kernel allocates itself (and checked
//! against them in [`for_row_chunks_mut`]).

use core::fmt;
use core::marker::PhantomData;

use super::math::{Real, multiversion};

/// `a·b·…`, panicking with `op`'s name when the product overflows `usize` (sizes that no slice
/// can have; refusing them keeps every later index computation free of wrap-around).
#[track_caller]
fn size(op: &str, dims: &[usize]) -> usize {
    dims.iter()
        .try_fold(1usize, |p, &d| p.checked_mul(d))
        .unwrap_or_else(|| panic!("{op}: the sizes {dims:?} overflow usize"))
}

/// Panics unless operand `name` of kernel `op` holds exactly `expected` values; `shape` names
/// the expected shape in the message, e.g.
/// `lstm_seq_forward: w_ih has 12 values, expected 16 ([E=2, 4H=8])`.
#[track_caller]
fn check(op: &str, name: &str, len: usize, expected: usize, shape: fmt::Arguments<'_>) {
    if len != expected {
        panic!("{op}: {name} has {len} values, expected {expected} ({shape})");
    }
}

/// A read-only matrix operand for [`gemm`]: `rows × cols` elements of a borrowed slice, reached
/// from `ptr` through the row and column strides `rs` and `cs` (in elements).
///
/// Invariant (established by the constructors, the only way to build one): every element
/// `ptr + i·rs + j·cs` with `i < rows`, `j < cols` lies inside the slice it was built from, which
/// stays borrowed (shared) for `'a`. The constructors panic, naming the operand, when the block
/// does not fit.
#[derive(Clone, Copy)]
pub struct Mat<'a, T> {
    name: &'static str,
    ptr: *const T,
    rows: usize,
    cols: usize,
    rs: isize,
    cs: isize,
    _borrow: PhantomData<&'a [T]>,
}

impl<'a, T> Mat<'a, T> {
    /// Panics unless `[offset, offset + extent)` lies inside `s` (`extent` as computed by the
    /// caller, `None` when it overflowed); returns the pointer to element `offset`.
    #[track_caller]
    fn base(
        name: &str,
        s: &'a [T],
        offset: usize,
        extent: Option<usize>,
        what: fmt::Arguments<'_>,
    ) -> *const T {
        match extent.and_then(|e| e.checked_add(offset)) {
            Some(end) if end <= s.len() => s[offset..].as_ptr(),
            _ => panic!(
                "matrix operand {name}: {what} at offset {offset} does not fit in its {} values",
                s.len()
            ),
        }
    }

    /// The last element's distance from the first, plus one, of a `rows × cols` block whose rows
    /// are `rs` apart (0 for an empty block).
    fn extent(rows: usize, cols: usize, rs: usize) -> Option<usize> {
        if rows == 0 || cols == 0 {
            return Some(0);
        }
        (rows - 1).checked_mul(rs)?.checked_add(cols)
    }

    /// Strides as `isize`; a slice never holds more than `isize::MAX` elements, so a stride that
    /// does not fit can only belong to an empty or single-row/column block, where it is unused.
    fn stride(s: usize) -> isize {
        isize::try_from(s).unwrap_or(isize::MAX)
    }

    /// The row-major `[rows, cols]` block of `s` that starts at element `offset`.
    #[track_caller]
    pub fn rows(name: &'static str, s: &'a [T], offset: usize, rows: usize, cols: usize) -> Self {
        let extent = rows.checked_mul(cols);
        let ptr = Self::base(name, s, offset, extent, format_args!("[{rows}, {cols}]"));
        Mat { name, ptr, rows, cols, rs: Self::stride(cols), cs: 1, _borrow: PhantomData }
    }

    /// The transpose (`[cols, rows]`) of the row-major `[rows, cols]` block at the start of `s`.
    #[track_caller]
    pub fn t(name: &'static str, s: &'a [T], rows: usize, cols: usize) -> Self {
        let m = Self::rows(name, s, 0, rows, cols);
        Mat { rows: cols, cols: rows, rs: m.cs, cs: m.rs, ..m }
    }

    /// `rows` rows of `cols` contiguous elements, `rs` apart, the first at element `offset`.
    #[track_caller]
    pub fn strided(
        name: &'static str,
        s: &'a [T],
        offset: usize,
        rows: usize,
        cols: usize,
        rs: usize,
    ) -> Self {
        let extent = Self::extent(rows, cols, rs);
        let what = format_args!("[{rows}, {cols}] with row stride {rs}");
        let ptr = Self::base(name, s, offset, extent, what);
        Mat { name, ptr, rows, cols, rs: Self::stride(rs), cs: 1, _borrow: PhantomData }
    }

    /// Panics unless this operand is `[rows, cols]`.
    #[track_caller]
    fn expect(&self, rows: usize, cols: usize) {
        if (self.rows, self.cols) != (rows, cols) {
            panic!(
                "gemm: {} is [{}, {}], expected [{rows}, {cols}]",
                self.name, self.rows, self.cols
            );
        }
    }
}

/// `dst[m×n] (row stride dst_rs) = [dst +] a[m×k] · b[k×n]`, with gemm 0.19 (Flex's kernel).
/// `parallel` lets gemm use Flex's thread pool; the kernels' own row-split loops pass `false`.
///
/// Safe: panics unless `a` is `[m, k]`, `b` is `[k, n]` and `dst` holds row `m − 1` at
/// `(m − 1)·dst_rs` with `n` elements (rows `dst_rs ≥ n` apart, unless there is one). `dst` is
/// a unique borrow and the operands shared ones, so they cannot alias.
#[allow(clippy::too_many_arguments)]
#[track_caller]
pub fn gemm<T: Real>(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [T],
    dst_rs: usize,
    accumulate: bool,
    a: Mat<'_, T>,
    b: Mat<'_, T>,
    parallel: bool,
) {
    a.expect(m, k);
    b.expect(k, n);
    if m == 0 || n == 0 {
        return;
    }
    let fits = (m == 1 || dst_rs >= n)
        && Mat::<T>::extent(m, n, dst_rs).is_some_and(|end| end <= dst.len());
    if !fits {
        panic!(
            "gemm: dst has {} values, too few for [{m}, {n}] with row stride {dst_rs}",
            dst.len()
        );
    }
    if k == 0 {
        // An empty product: nothing to add, or zeros.
        if !accumulate {
            dst.chunks_mut(dst_rs.max(n)).take(m).for_each(|row| row[..n].fill(T::ZERO));
        }
        return;
    }
    #[cfg(not(target_arch = "wasm32"))]
    let par = if parallel && m.saturating_mul(n).saturating_mul(k) >= 192 * 192 * 192 {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    };
    #[cfg(target_arch = "wasm32")]
    let par = {
        let _ = parallel;
        gemm::Parallelism::None
    };
    // SAFETY: `a` and `b` address `m×k` and `k×n` elements (their shapes were checked above)
    // inside slices borrowed for the call (the `Mat` invariant; with m, n, k > 0 here, neither
    // stride is a clamped one). `dst` holds `m` rows of `n` elements at `i·dst_rs`, and the
    // rows are `dst_rs ≥ n` apart or there is one (checked above), so no two overlap; as a
    // unique borrow it aliases neither operand. gemm reads `dst` only when `accumulate`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            Mat::<T>::stride(dst_rs),
            accumulate,
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
}

/// Runs `f(first_row, rows)` over chunks of `n` independent rows, on every core natively. The
/// chunks are disjoint and cover `[0, n)` exactly.
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

/// A raw pointer to the start of a buffer that may cross threads: each chunk of
/// [`for_row_chunks`] writes only its own rows of it.
#[derive(Clone, Copy)]
struct Shared<T>(*mut T);
// SAFETY: a `Shared` is only dereferenced through `slice`, whose contract makes every range
// handed out in bounds and owned by one chunk, so sending or sharing the pointer between the
// chunks' threads creates no data race (`T` is a plain float).
unsafe impl<T> Send for Shared<T> {}
// SAFETY: as for `Send`.
unsafe impl<T> Sync for Shared<T> {}
impl<T> Shared<T> {
    /// # Safety
    /// `[start, start + len)` must lie inside the buffer the pointer came from, which must
    /// outlive the returned slice and not be accessed otherwise meanwhile, and no other live
    /// slice from the same `Shared` may overlap it.
    #[allow(clippy::mut_from_ref)]
    unsafe fn slice(&self, start: usize, len: usize) -> &mut [T] {
        // SAFETY: in bounds and unaliased by the caller's contract above.
        unsafe { core::slice::from_raw_parts_mut(self.0.add(start), len) }
    }
}

/// [`for_row_chunks`] over buffers of `n` rows: `f(first_row, rows, chunks)` gets the chunk's
/// own rows of each `(buffer, width)`, a buffer of `n` rows of `width` values.
fn for_row_chunks_mut<T: Send, const K: usize>(
    n: usize,
    bufs: [(&mut [T], usize); K],
    f: impl Fn(usize, usize, [&mut [T]; K]) + Sync,
) {
    let bufs = bufs.map(|(b, width)| {
        assert_eq!(Some(b.len()), n.checked_mul(width), "a buffer of {n} rows of {width}");
        (Shared(b.as_mut_ptr()), width)
    });
    for_row_chunks(n, |r0, nr| {
        // SAFETY: each buffer holds `n` rows of `width` values (asserted above) and stays
        // mutably borrowed, so untouched elsewhere, until the chunks end; the chunks are
        // disjoint and cover `[0, n)`, so each range is in bounds and owned by one chunk.
        f(r0, nr, bufs.each_ref().map(|(p, w)| unsafe { p.slice(r0 * w, nr * w) }))
    })
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

    /// Checks the operands every LSTM kernel reads and returns `(4H, B·T)`; panics, naming
    /// `op` and the operand, on a length that does not match these sizes.
    #[track_caller]
    fn check_inputs<T>(
        &self,
        op: &str,
        x: &[T],
        w_ih: &[T],
        w_hh: &[T],
        mask: &[T],
    ) -> (usize, usize) {
        let LstmDims { batch: b, len: t, input: e, hidden: h, .. } = *self;
        let g4 = size(op, &[4, h]);
        let rows = size(op, &[b, t]);
        // The largest buffers the kernels allocate: `[B·T, 4H]` and `[B, T + 2, H]`.
        let t2 = t.checked_add(2).unwrap_or_else(|| panic!("{op}: T = {t} overflows usize"));
        size(op, &[b, t, g4]);
        size(op, &[b, t2, h]);
        check(op, "x", x.len(), size(op, &[b, t, e]), format_args!("[B={b}, T={t}, E={e}]"));
        check(op, "w_ih", w_ih.len(), size(op, &[e, g4]), format_args!("[E={e}, 4H={g4}]"));
        check(op, "w_hh", w_hh.len(), size(op, &[h, g4]), format_args!("[H={h}, 4H={g4}]"));
        check(op, "mask", mask.len(), rows, format_args!("[B={b}, T={t}]"));
        (g4, rows)
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
    const OP: &str = "lstm_seq_forward";
    let LstmDims { batch, len, input, hidden: h, .. } = d;
    let (g4, rows) = d.check_inputs(OP, x, w_ih, w_hh, mask);
    check(OP, "bias", bias.len(), g4, format_args!("[4H={g4}]"));
    // The input part of every gate at once: one large product, then the bias.
    let mut acts = vec![T::ZERO; rows * g4];
    let (xm, wm) = (Mat::rows("x", x, 0, rows, input), Mat::rows("w_ih", w_ih, 0, input, g4));
    gemm(rows, g4, input, &mut acts, g4, false, xm, wm, true);
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
    let bufs = [
        (&mut tape.acts[..], len * g4),
        (&mut tape.h_prev, len * h),
        (&mut tape.c_prev, len * h),
        (&mut tape.tanh_c, len * h),
        (&mut out, (len + 2) * h),
    ];
    for_row_chunks_mut(batch, bufs, |b0, nb, [acts, hp, cp, tc, out]| {
        let mut hs = vec![T::ZERO; nb * h];
        let mut cs = vec![T::ZERO; nb * h];
        for step in 0..len {
            let t = d.position(step);
            if step > 0 {
                // gates[b] += h[b] · W_hh for this position's rows b·T + t (stride T·4H).
                let (hm, wm) = (Mat::rows("h", &hs, 0, nb, h), Mat::rows("w_hh", w_hh, 0, h, g4));
                gemm(nb, g4, h, &mut acts[t * g4..], len * g4, true, hm, wm, false);
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
                cell_forward(&mut acts[r * g4..(r + 1) * g4], cb, &mut tc[r * h..(r + 1) * h], hb);
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
    const OP: &str = "lstm_seq_backward";
    let LstmDims { batch, len, input, hidden: h, .. } = d;
    let (g4, rows) = d.check_inputs(OP, x, w_ih, w_hh, mask);
    let rh = size(OP, &[rows, h]);
    let t2 = len + 2; // checked by `check_inputs`
    let dy_len = size(OP, &[batch, t2, h]);
    check(OP, "dy", dy.len(), dy_len, format_args!("[B={batch}, T+2={t2}, H={h}]"));
    check(OP, "tape.acts", tape.acts.len(), rows * g4, format_args!("[B·T={rows}, 4H={g4}]"));
    for (name, v) in [
        ("tape.h_prev", &tape.h_prev),
        ("tape.c_prev", &tape.c_prev),
        ("tape.tanh_c", &tape.tanh_c),
    ] {
        check(OP, name, v.len(), rh, format_args!("[B·T={rows}, H={h}]"));
    }
    // Gradients of the pre-activation gates, `[B·T, 4H]`; zero at padding.
    let mut dg = vec![T::ZERO; rows * g4];
    for_row_chunks_mut(batch, [(&mut dg, len * g4)], |b0, nb, [dg]| {
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
                // dh is overwritten below (by dh_prev) once this row's gradients are taken.
                dhb.iter_mut().zip(dyr).for_each(|(d, &y)| *d += y);
                cell_backward(a, tc, cp, dhb, dcb, &mut dg[lr * g4..(lr + 1) * g4]);
            }
            if step == 0 {
                break; // the initial state is a constant
            }
            // dh_prev = dgates · W_hhᵀ over rows b·T + t of this chunk's dg; padded rows carry
            // dh through unchanged.
            let dgm = Mat::strided("dgates", dg, t * g4, nb, g4, len * g4);
            gemm(nb, h, g4, &mut dh_prev, h, false, dgm, Mat::t("w_hh", w_hh, h, g4), false);
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
    let dgm = Mat::rows("dgates", &dg, 0, rows, g4);
    let hpm = Mat::t("tape.h_prev", &tape.h_prev, rows, h);
    gemm(h, g4, rows, &mut dw_hh, g4, false, hpm, dgm, true);
    gemm(input, g4, rows, &mut dw_ih, g4, false, Mat::t("x", x, rows, input), dgm, true);
    gemm(rows, input, g4, &mut dx, input, false, dgm, Mat::t("w_ih", w_ih, input, g4), true);
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
    const OP: &str = "lstm_cell_forward";
    let (b, h4) = (batch, size(OP, &[4, h]));
    size(OP, &[b, 5, h]); // the tape, `[B, 5H]`
    check(OP, "gates", gates.len(), size(OP, &[b, h4]), format_args!("[B={b}, 4H={h4}]"));
    check(OP, "c_prev", c_prev.len(), size(OP, &[b, h]), format_args!("[B={b}, H={h}]"));
    let mut out = vec![T::ZERO; batch * 2 * h];
    let mut tape = vec![T::ZERO; batch * 5 * h];
    for b in 0..batch {
        let (a, tc) = tape[b * 5 * h..(b + 1) * 5 * h].split_at_mut(4 * h);
        a.copy_from_slice(&gates[b * 4 * h..(b + 1) * 4 * h]);
        let (c, hn) = out[b * 2 * h..(b + 1) * 2 * h].split_at_mut(h);
        c.copy_from_slice(&c_prev[b * h..(b + 1) * h]);
        cell_forward(a, c, tc, hn);
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
    const OP: &str = "lstm_cell_backward";
    let (b, h2, h5) = (batch, size(OP, &[2, h]), size(OP, &[5, h]));
    size(OP, &[b, 4, h]); // dgates, `[B, 4H]`
    check(OP, "dout", dout.len(), size(OP, &[b, h2]), format_args!("[B={b}, 2H={h2}]"));
    check(OP, "tape", tape.len(), size(OP, &[b, h5]), format_args!("[B={b}, 5H={h5}]"));
    check(OP, "c_prev", c_prev.len(), size(OP, &[b, h]), format_args!("[B={b}, H={h}]"));
    let mut dg = vec![T::ZERO; batch * 4 * h];
    let mut dcp = vec![T::ZERO; batch * h];
    for b in 0..batch {
        let (a, tc) = tape[b * 5 * h..(b + 1) * 5 * h].split_at(4 * h);
        let (dc, dh) = dout[b * 2 * h..(b + 1) * 2 * h].split_at(h);
        let dcp = &mut dcp[b * h..(b + 1) * h];
        dcp.copy_from_slice(dc);
        cell_backward(a, tc, &c_prev[b * h..(b + 1) * h], dh, dcp, &mut dg[b * 4 * h..][..4 * h]);
    }
    (dg, dcp)
}

/// One LSTM cell, in place: activates the pre-activation gates `g` `[4H]` (i, f, g, o), takes
/// the cell state `c` `[H]` to its new value, and writes tanh(c) to `tc` and the new `h` to
/// `h_out`.
fn cell_forward<T: Real>(g: &mut [T], c: &mut [T], tc: &mut [T], h_out: &mut [T]) {
    let n = c.len();
    T::sigmoid_slice(&mut g[..2 * n]);
    T::tanh_slice(&mut g[2 * n..3 * n]);
    T::sigmoid_slice(&mut g[3 * n..]);
    for j in 0..n {
        c[j] = g[n + j] * c[j] + g[j] * g[2 * n + j];
        tc[j] = c[j];
    }
    T::tanh_slice(tc);
    for j in 0..n {
        h_out[j] = g[3 * n + j] * tc[j];
    }
}

/// The backward pass of [`cell_forward`]: the gradients of the pre-activation gates (into `dg`
/// `[4H]`) from the activated gates `a`, `tc` = tanh(c), the previous cell state `c_prev` and
/// the gradients `dh` and `dc` reaching the new `h` and `c`; `dc` becomes that of `c_prev`.
fn cell_backward<T: Real>(a: &[T], tc: &[T], c_prev: &[T], dh: &[T], dc: &mut [T], dg: &mut [T]) {
    let h = tc.len();
    for j in 0..h {
        let (i, f, g, o) = (a[j], a[h + j], a[2 * h + j], a[3 * h + j]);
        let dct = dc[j] + dh[j] * o * (T::ONE - tc[j] * tc[j]);
        dg[j] = dct * g * i * (T::ONE - i);
        dg[h + j] = dct * c_prev[j] * f * (T::ONE - f);
        dg[2 * h + j] = dct * i * (T::ONE - g * g);
        dg[3 * h + j] = dh[j] * tc[j] * o * (T::ONE - o);
        dc[j] = dct * f;
    }
}

/// Sizes of the additive attention.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttnDims {
    pub batch: usize,
    pub len: usize,
    pub width: usize,
}

impl AttnDims {
    /// Checks the operands both attention kernels read; panics, naming `op` and the operand,
    /// on a length that does not match these sizes.
    #[track_caller]
    fn check_inputs<T>(
        &self,
        op: &str,
        features: &[T],
        query: &[T],
        cov: &[T],
        w_c: &[T],
        v: &[T],
    ) {
        let AttnDims { batch: b, len: t, width: a } = *self;
        size(op, &[b, 2, a]); // the backward pass's partial sums
        let f_len = size(op, &[b, t, a]);
        check(op, "features", features.len(), f_len, format_args!("[B={b}, T={t}, A={a}]"));
        check(op, "query", query.len(), size(op, &[b, a]), format_args!("[B={b}, A={a}]"));
        check(op, "coverage", cov.len(), size(op, &[b, t]), format_args!("[B={b}, T={t}]"));
        check(op, "w_c", w_c.len(), a, format_args!("[A={a}]"));
        check(op, "v", v.len(), a, format_args!("[A={a}]"));
    }
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
    d.check_inputs("attention_forward", features, query, cov, w_c, v);
    let AttnDims { batch, len, width: a } = d;
    let mut e = vec![T::ZERO; batch * len];
    for_row_chunks_mut(batch, [(&mut e, len)], |b0, nb, [e]| {
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
    const OP: &str = "attention_backward";
    d.check_inputs(OP, features, query, cov, w_c, v);
    let AttnDims { batch, len, width: a } = d;
    check(OP, "de", de.len(), batch * len, format_args!("[B={batch}, T={len}]"));
    let mut df = vec![T::ZERO; batch * len * a];
    let mut dq = vec![T::ZERO; batch * a];
    let mut dcov = vec![T::ZERO; batch * len];
    // Per-row partial sums of dw_c and dv, reduced after.
    let mut partial = vec![T::ZERO; batch * 2 * a];
    let bufs = [(&mut df[..], len * a), (&mut dq, a), (&mut dcov, len), (&mut partial, 2 * a)];
    for_row_chunks_mut(batch, bufs, |b0, nb, [df, dq, dcov, part]| {
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
                let dfr = &mut df[(b * len + t) * a..][..a];
                dcov[b * len + t] = attn_back_row(g, c, &th, v, w_c, dfr, dqb, dwc, dv);
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
    const OP: &str = "softmax_pick_forward";
    let n = target.len();
    check(OP, "logits", logits.len(), size(OP, &[n, vocab]), format_args!("[N={n}, V={vocab}]"));
    if n > 0 && vocab == 0 {
        panic!("{OP}: no logits to pick {n} targets from (V = 0)");
    }
    let mut p = vec![T::ZERO; n];
    let mut stats = vec![T::ZERO; 2 * n];
    for_row_chunks_mut(n, [(&mut p[..], 1), (&mut stats, 2)], |r0, nr, [p, stats]| {
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
    const OP: &str = "softmax_pick_backward";
    let n = target.len();
    check(OP, "logits", logits.len(), size(OP, &[n, vocab]), format_args!("[N={n}, V={vocab}]"));
    check(OP, "dp", dp.len(), n, format_args!("[N={n}]"));
    check(OP, "p", p.len(), n, format_args!("[N={n}]"));
    check(OP, "stats", stats.len(), 2 * n, format_args!("[N={n}, 2]"));
    let mut dl = vec![T::ZERO; n * vocab];
    for_row_chunks_mut(n, [(&mut dl, vocab)], |r0, nr, [dl]| {
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
    const OP: &str = "project_rows";
    check(OP, "x", x.len(), size(OP, &[m, k]), format_args!("[M={m}, K={k}]"));
    check(OP, "w", w.len(), size(OP, &[k, n]), format_args!("[K={k}, N={n}]"));
    size(OP, &[m, n]);
    size(OP, &[m, TILE]);
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
                // SAFETY: out holds `m·n` values (allocated above, untouched elsewhere until the
                // chunks end) and `j0 + width ≤ n`, so row r's columns `[j0, j0 + width)` are in
                // bounds; each tile belongs to one chunk, and this slice dies before the next.
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
    const OP: &str = "project_rows_t";
    check(OP, "x", x.len(), size(OP, &[m, k]), format_args!("[M={m}, K={k}]"));
    check(OP, "wt", wt.len(), size(OP, &[n, k]), format_args!("[N={n}, K={k}]"));
    size(OP, &[BLOCK, m]);
    let mut out = vec![T::ZERO; size(OP, &[m, n])];
    if k == 0 {
        return out; // empty dot products (and `dot_words` divides by k)
    }
    let p_out = Shared(out.as_mut_ptr());
    for_row_chunks(n.div_ceil(BLOCK), |b0, nb| {
        let mut buf = vec![T::ZERO; BLOCK * m];
        for block in b0..b0 + nb {
            let (j0, width) = (block * BLOCK, BLOCK.min(n - block * BLOCK));
            dot_words(x, &wt[j0 * k..(j0 + width) * k], k, &mut buf[..width * m]);
            for r in 0..m {
                // SAFETY: out holds `m·n` values (allocated above, untouched elsewhere until the
                // chunks end) and `j0 + width ≤ n`, so row r's columns `[j0, j0 + width)` are in
                // bounds; each block belongs to one chunk, and this slice dies before the next.
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
pub fn softmax_rows<T: Real>(x: &mut [T], m: usize, n: usize) {
    const OP: &str = "softmax_rows";
    check(OP, "x", x.len(), size(OP, &[m, n]), format_args!("[M={m}, N={n}]"));
    if n == 0 {
        return;
    }
    for row in x.chunks_exact_mut(n) {
        let max = row.iter().fold(row[0], |m, &v| m.max(v));
        let sum = T::exp_shift_sum(row, max);
        let inv = T::ONE / sum;
        row.iter_mut().for_each(|v| *v = *v * inv);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The panic message of `f`, which must panic.
    fn panic_message<R>(f: impl FnOnce() -> R) -> String {
        let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
            .err()
            .expect("expected a panic");
        err.downcast_ref::<String>()
            .cloned()
            .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    }

    fn dims(batch: usize, len: usize, input: usize, hidden: usize) -> LstmDims {
        LstmDims { batch, len, input, hidden, reverse: false }
    }

    #[test]
    fn mat_checks_the_whole_block() {
        let s = [0f32; 12];
        let _ = Mat::rows("ok", &s, 4, 2, 4);
        let _ = Mat::rows("empty", &s, 12, 0, 4);
        let _ = Mat::t("ok", &s, 3, 4);
        let _ = Mat::strided("ok", &s, 1, 3, 3, 4);
        let msg = panic_message(|| Mat::rows("queries", &s, 8, 2, 4));
        assert!(msg.contains("queries") && msg.contains("[2, 4]"), "{msg}");
        let msg = panic_message(|| Mat::t("keys", &s, 4, 4));
        assert!(msg.contains("keys"), "{msg}");
        let msg = panic_message(|| Mat::strided("dgates", &s, 2, 3, 3, 4));
        assert!(msg.contains("dgates"), "{msg}");
        let msg = panic_message(|| Mat::rows("huge", &s, 0, usize::MAX, 2));
        assert!(msg.contains("huge"), "{msg}");
    }

    #[test]
    fn gemm_checks_shapes_and_destination() {
        let a = [1f64, 2.0, 3.0, 4.0, 5.0, 6.0]; // [2, 3]
        let b = [1f64, 0.0, 0.0, 1.0, 1.0, 1.0]; // [3, 2]
        let mut c = [0f64; 4];
        let (ma, mb) = (Mat::rows("a", &a, 0, 2, 3), Mat::rows("b", &b, 0, 3, 2));
        gemm(2, 2, 3, &mut c, 2, false, ma, mb, false);
        assert_eq!(c, [4.0, 5.0, 10.0, 11.0]);
        // Transposed operands: aᵀ [3, 2] · bᵀ [2, 3].
        let mut d = [0f64; 9];
        gemm(3, 3, 2, &mut d, 3, false, Mat::t("a", &a, 2, 3), Mat::t("b", &b, 3, 2), false);
        assert_eq!(d, [1.0, 4.0, 5.0, 2.0, 5.0, 7.0, 3.0, 6.0, 9.0]);
        let msg = panic_message(|| gemm(2, 2, 2, &mut c, 2, false, ma, mb, false));
        assert!(msg.contains("gemm: a is [2, 3], expected [2, 2]"), "{msg}");
        let msg = panic_message(|| gemm(2, 2, 3, &mut c[..3], 2, false, ma, mb, false));
        assert!(msg.contains("gemm: dst"), "{msg}");
        let msg = panic_message(|| gemm(2, 2, 3, &mut c, 1, false, ma, mb, false));
        assert!(msg.contains("gemm: dst"), "{msg}");
        // An empty product zeroes (or keeps, accumulating) the destination.
        let mut e = [7f64; 5];
        let z: [f64; 0] = [];
        let (za, zb) = (Mat::rows("a", &z, 0, 2, 0), Mat::rows("b", &z, 0, 0, 2));
        gemm(2, 2, 0, &mut e, 3, false, za, zb, false);
        assert_eq!(e, [0.0, 0.0, 7.0, 0.0, 0.0]);
        let mut e = [7f64; 4];
        gemm(2, 2, 0, &mut e, 2, true, za, zb, false);
        assert_eq!(e, [7.0; 4]);
    }

    #[test]
    fn lstm_kernels_check_every_operand() {
        let d = dims(1, 3, 2, 2); // 4H = 8
        let (x, w_ih, w_hh, bias, mask) =
            (vec![0.1f32; 6], vec![0.1f32; 16], vec![0.1f32; 16], vec![0f32; 8], vec![1f32; 3]);
        let (out, tape) = lstm_seq_forward(&x, &w_ih, &w_hh, &bias, &mask, d);
        assert_eq!(out.len(), 5 * 2);
        let msg = panic_message(|| lstm_seq_forward(&x, &w_ih[..12], &w_hh, &bias, &mask, d));
        assert_eq!(msg, "lstm_seq_forward: w_ih has 12 values, expected 16 ([E=2, 4H=8])");
        for (k, name) in ["x", "w_hh", "bias", "mask"].into_iter().enumerate() {
            let mut ops = [x.clone(), w_hh.clone(), bias.clone(), mask.clone()];
            ops[k].pop();
            let [x, w_hh, bias, mask] = ops;
            let msg = panic_message(|| lstm_seq_forward(&x, &w_ih, &w_hh, &bias, &mask, d));
            assert!(msg.starts_with(&format!("lstm_seq_forward: {name} has ")), "{msg}");
        }
        let dy = vec![1f32; 10];
        let _ = lstm_seq_backward(&dy, &tape, &x, &w_ih, &w_hh, &mask, d);
        let msg = panic_message(|| lstm_seq_backward(&dy[..9], &tape, &x, &w_ih, &w_hh, &mask, d));
        assert!(msg.starts_with("lstm_seq_backward: dy has 9 values, expected 10"), "{msg}");
        let mut short = tape.clone();
        short.h_prev.pop();
        let msg = panic_message(|| lstm_seq_backward(&dy, &short, &x, &w_ih, &w_hh, &mask, d));
        assert!(msg.starts_with("lstm_seq_backward: tape.h_prev has "), "{msg}");
        let msg = panic_message(|| lstm_seq_backward(&dy, &tape, &x, &w_ih[..8], &w_hh, &mask, d));
        assert!(msg.starts_with("lstm_seq_backward: w_ih has 8 values"), "{msg}");
        let msg = panic_message(|| {
            lstm_seq_forward(&x, &w_ih, &w_hh, &bias, &mask, dims(usize::MAX, 2, 2, 2))
        });
        assert!(msg.contains("overflow"), "{msg}");

        let (out, tape) = lstm_cell_forward(&[0.5f64; 8], &[0.1; 2], 1, 2);
        assert_eq!((out.len(), tape.len()), (4, 10));
        let msg = panic_message(|| lstm_cell_forward(&[0.5f64; 7], &[0.1; 2], 1, 2));
        assert_eq!(msg, "lstm_cell_forward: gates has 7 values, expected 8 ([B=1, 4H=8])");
        let msg = panic_message(|| lstm_cell_backward(&[1f64; 4], &tape[..9], &[0.1; 2], 1, 2));
        assert!(msg.starts_with("lstm_cell_backward: tape has 9 values"), "{msg}");
    }

    #[test]
    fn attention_softmax_and_projection_kernels_check_their_operands() {
        let d = AttnDims { batch: 2, len: 3, width: 4 };
        let (f, q, cov, w_c, v) =
            (vec![0.1f32; 24], vec![0.2f32; 8], vec![0f32; 6], [0.3f32; 4], [1f32; 4]);
        assert_eq!(attention_forward(&f, &q, &cov, &w_c, &v, d).len(), 6);
        let msg = panic_message(|| attention_forward(&f, &q, &cov, &w_c, &v[..3], d));
        assert_eq!(msg, "attention_forward: v has 3 values, expected 4 ([A=4])");
        let msg = panic_message(|| attention_backward(&[1f32; 5], &f, &q, &cov, &w_c, &v, d));
        assert!(msg.starts_with("attention_backward: de has 5 values, expected 6"), "{msg}");

        let logits = [0.5f32, 1.0, -1.0, 2.0, 0.0, 0.0];
        let (p, stats) = softmax_pick_forward(&logits, &[2, 0], 3);
        let msg = panic_message(|| softmax_pick_forward(&logits, &[2, 0, 1], 3));
        assert!(msg.starts_with("softmax_pick_forward: logits has 6 values, expected 9"), "{msg}");
        let msg = panic_message(|| {
            softmax_pick_backward(&[1f32; 2], &p, &stats[..3], &logits, &[2, 0], 3)
        });
        assert!(msg.starts_with("softmax_pick_backward: stats has 3 values"), "{msg}");
        let msg = panic_message(|| softmax_pick_forward::<f32>(&[], &[0], 0));
        assert!(msg.starts_with("softmax_pick_forward: no logits"), "{msg}");

        let (x, w) = ([1f32, 2.0], [1f32, 2.0, 3.0, 4.0, 5.0, 6.0]); // [1, 2] · [2, 3]
        assert_eq!(project_rows(&x, &w, 1, 2, 3), [9.0, 12.0, 15.0]);
        let wt = [1f32, 4.0, 2.0, 5.0, 3.0, 6.0]; // the same weight, word-major [3, 2]
        assert_eq!(project_rows_t(&x, &wt, 1, 2, 3), [9.0, 12.0, 15.0]);
        assert_eq!(project_rows_t::<f32>(&[], &[], 2, 0, 3), [0.0; 6]);
        let msg = panic_message(|| project_rows(&x, &w[..5], 1, 2, 3));
        assert_eq!(msg, "project_rows: w has 5 values, expected 6 ([K=2, N=3])");
        let msg = panic_message(|| project_rows_t(&x, &wt, 1, 3, 3));
        assert!(msg.starts_with("project_rows_t: x has 2 values, expected 3"), "{msg}");

        let mut s = [0f32, 0.0, 1.0, 1.0];
        softmax_rows(&mut s, 2, 2);
        assert!(s.iter().all(|&p| (p - 0.5).abs() < 1e-6), "{s:?}");
        softmax_rows::<f32>(&mut [], 3, 0);
        let msg = panic_message(|| softmax_rows(&mut s, 3, 2));
        assert!(msg.starts_with("softmax_rows: x has 4 values, expected 6"), "{msg}");
    }
}
