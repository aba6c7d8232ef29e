//! Hand-written backward passes for the fused operations on Flex. On cubecl backends autodiff
//! differentiates the default bodies (ordinary ops) instead.

use core::fmt::Debug;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, NodeGuard, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::{FloatTensor, IntTensor};
use burn::backend::{Autodiff, Cube, Flex};

use super::TextOps;
use super::flex;

type Ad<C> = Autodiff<Flex, C>;

/// A fused op's backward pass: from the output's gradient and the saved state, the gradients of
/// its first `M` parents (the rest, such as a mask, get none).
#[derive(Debug)]
struct FlexBackward<S, const M: usize>(fn(&FlexTensor, S) -> [FlexTensor; M]);

impl<S, const N: usize, const M: usize> Backward<Flex, N> for FlexBackward<S, M>
where
    S: Clone + Send + Debug + 'static,
{
    type State = S;

    fn backward(self, ops: Ops<S, N>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dy = grads.consume::<Flex>(&ops.node);
        // Registers each gradient for its parent, where the parent requires one.
        for (parent, grad) in ops.parents.iter().zip((self.0)(&dy, ops.state)) {
            if let Some(node) = parent {
                grads.register::<Flex>(node.id, grad);
            }
        }
    }
}

/// `out`, computed from `parents`, as an autodiff tensor; `backward` gets `state` when a parent
/// requires a gradient.
fn record<C, S, const N: usize, const M: usize>(
    parents: [NodeGuard; N],
    out: FlexTensor,
    state: S,
    backward: fn(&FlexTensor, S) -> [FlexTensor; M],
) -> FloatTensor<Ad<C>>
where
    C: CheckpointStrategy,
    S: Clone + Send + Debug + 'static,
{
    match FlexBackward(backward).prepare::<C>(parents).compute_bound().stateful() {
        OpsKind::Tracked(prep) => prep.finish(state, out),
        OpsKind::UnTracked(prep) => prep.finish(out),
    }
}

fn unary<C: CheckpointStrategy>(x: FloatTensor<Ad<C>>, sigmoid: bool) -> FloatTensor<Ad<C>> {
    let (x, node) = x.into_parts();
    let y = flex::unary(&x, sigmoid);
    // The state is the output, and whether the function is the sigmoid (else tanh).
    record::<C, _, 1, 1>([node], y.clone(), (y, sigmoid), |g, (y, sigmoid)| {
        [flex::unary_backward(g, &y, sigmoid)]
    })
}

/// `project`, `softmax_rows` and `decoding_layout` keep the default bodies: training takes
/// gradients through them as ordinary autodiff ops.
impl<C: CheckpointStrategy> TextOps for Ad<C> {
    fn lstm_seq(
        x: FloatTensor<Self>,
        w_ih: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        mask: FloatTensor<Self>,
        reverse: bool,
    ) -> FloatTensor<Self> {
        let [(x, nx), (w_ih, nwi), (w_hh, nwh), (bias, nb), (mask, nm)] =
            [x, w_ih, w_hh, bias, mask].map(|t| t.into_parts());
        let (out, saved) = flex::lstm_seq_forward(&x, &w_ih, &w_hh, &bias, &mask, reverse);
        let state = (saved, [x, w_ih, w_hh, mask], reverse);
        record::<C, _, 5, 4>([nx, nwi, nwh, nb, nm], out, state, |dy, (saved, ops, reverse)| {
            let [x, w_ih, w_hh, mask] = ops;
            flex::lstm_seq_backward(dy, &saved, &x, &w_ih, &w_hh, &mask, reverse)
        })
    }

    fn lstm_cell(gates: FloatTensor<Self>, c_prev: FloatTensor<Self>) -> FloatTensor<Self> {
        let [(gates, ng), (c_prev, nc)] = [gates, c_prev].map(|t| t.into_parts());
        let (out, tape) = flex::lstm_cell_forward(&gates, &c_prev);
        record::<C, _, 2, 2>([ng, nc], out, (tape, c_prev), |dout, (tape, c_prev)| {
            flex::lstm_cell_backward(dout, &tape, &c_prev)
        })
    }

    fn attention_scores(
        features: FloatTensor<Self>,
        query: FloatTensor<Self>,
        coverage: FloatTensor<Self>,
        w_c: FloatTensor<Self>,
        v: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let [(f, nf), (q, nq), (cov, ncov), (w_c, nwc), (v, nv)] =
            [features, query, coverage, w_c, v].map(|t| t.into_parts());
        let e = flex::attention_forward(&f, &q, &cov, &w_c, &v);
        record::<C, _, 5, 5>([nf, nq, ncov, nwc, nv], e, [f, q, cov, w_c, v], |de, ops| {
            let [f, q, cov, w_c, v] = ops;
            flex::attention_backward(de, &f, &q, &cov, &w_c, &v)
        })
    }

    fn softmax_pick(logits: FloatTensor<Self>, target: IntTensor<Self>) -> FloatTensor<Self> {
        let (logits, nl) = logits.into_parts();
        let (p, stats) = flex::softmax_pick_forward(&logits, &target);
        let state = [p.clone(), stats, logits, target];
        record::<C, _, 1, 1>([nl], p, state, |dp, [p, stats, logits, target]| {
            [flex::softmax_pick_backward(dp, &p, &stats, &logits, &target)]
        })
    }

    fn fused_tanh(x: FloatTensor<Self>) -> FloatTensor<Self> {
        unary::<C>(x, false)
    }

    fn fused_sigmoid(x: FloatTensor<Self>) -> FloatTensor<Self> {
        unary::<C>(x, true)
    }
}

/// On cubecl, autodiff differentiates the default bodies.
impl<C: CheckpointStrategy> TextOps for Autodiff<Cube, C> {}
