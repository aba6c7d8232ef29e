//! Hand-written backward passes for the fused operations on Flex. On cubecl backends autodiff
//! differentiates the default bodies (ordinary ops) instead.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::{FloatTensor, IntTensor};
use burn::backend::{Autodiff, Cube, Flex};

use super::TextOps;
use super::flex;

type Ad<C> = Autodiff<Flex, C>;

/// Registers each gradient for its parent, where the parent requires one. (A macro: the node
/// type is private to burn-autodiff.)
macro_rules! give {
    ($grads:expr, $parents:expr, $values:expr) => {
        for (parent, grad) in $parents.iter().zip($values) {
            if let Some(node) = parent {
                $grads.register::<Flex>(node.id, grad);
            }
        }
    };
}

#[derive(Debug)]
struct LstmSeqBackward;

impl Backward<Flex, 5> for LstmSeqBackward {
    type State = (flex::LstmSaved, [FlexTensor; 4], bool);

    fn backward(self, ops: Ops<Self::State, 5>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dy = grads.consume::<Flex>(&ops.node);
        let (saved, [x, w_ih, w_hh, mask], reverse) = ops.state;
        let g = flex::lstm_seq_backward(&dy, &saved, &x, &w_ih, &w_hh, &mask, reverse);
        give!(grads, ops.parents, g);
    }
}

#[derive(Debug)]
struct LstmCellBackward;

impl Backward<Flex, 2> for LstmCellBackward {
    type State = (FlexTensor, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dout = grads.consume::<Flex>(&ops.node);
        let (tape, c_prev) = ops.state;
        let [dg, dc] = flex::lstm_cell_backward(&dout, &tape, &c_prev);
        give!(grads, ops.parents, [dg, dc]);
    }
}

#[derive(Debug)]
struct AttentionBackward;

impl Backward<Flex, 5> for AttentionBackward {
    type State = [FlexTensor; 5];

    fn backward(self, ops: Ops<Self::State, 5>, grads: &mut Gradients, _: &mut Checkpointer) {
        let de = grads.consume::<Flex>(&ops.node);
        let [f, q, cov, w_c, v] = ops.state;
        let g = flex::attention_backward(&de, &f, &q, &cov, &w_c, &v);
        give!(grads, ops.parents, g);
    }
}

#[derive(Debug)]
struct SoftmaxPickBackward;

impl Backward<Flex, 1> for SoftmaxPickBackward {
    type State = [FlexTensor; 4];

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dp = grads.consume::<Flex>(&ops.node);
        let [p, stats, logits, target] = ops.state;
        give!(grads, ops.parents, [flex::softmax_pick_backward(&dp, &p, &stats, &logits, &target)]);
    }
}

#[derive(Debug)]
struct UnaryBackward;

impl Backward<Flex, 1> for UnaryBackward {
    /// The output, and whether the function is the sigmoid (else tanh).
    type State = (FlexTensor, bool);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let g = grads.consume::<Flex>(&ops.node);
        let (y, sigmoid) = ops.state;
        give!(grads, ops.parents, [flex::unary_backward(&g, &y, sigmoid)]);
    }
}

fn unary<C: CheckpointStrategy>(x: FloatTensor<Ad<C>>, sigmoid: bool) -> FloatTensor<Ad<C>> {
    let (x, node) = x.into_parts();
    let y = flex::unary(&x, sigmoid);
    match UnaryBackward.prepare::<C>([node]).compute_bound().stateful() {
        OpsKind::Tracked(prep) => prep.finish((y.clone(), sigmoid), y),
        OpsKind::UnTracked(prep) => prep.finish(y),
    }
}

impl<C: CheckpointStrategy> TextOps for Ad<C> {
    fn lstm_seq(
        x: FloatTensor<Self>,
        w_ih: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        mask: FloatTensor<Self>,
        reverse: bool,
    ) -> FloatTensor<Self> {
        let (x, nx) = x.into_parts();
        let (w_ih, nwi) = w_ih.into_parts();
        let (w_hh, nwh) = w_hh.into_parts();
        let (bias, nb) = bias.into_parts();
        let (mask, nm) = mask.into_parts();
        let (out, saved) = flex::lstm_seq_forward(&x, &w_ih, &w_hh, &bias, &mask, reverse);
        match LstmSeqBackward.prepare::<C>([nx, nwi, nwh, nb, nm]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish((saved, [x, w_ih, w_hh, mask], reverse), out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }

    fn lstm_cell(gates: FloatTensor<Self>, c_prev: FloatTensor<Self>) -> FloatTensor<Self> {
        let (gates, ng) = gates.into_parts();
        let (c_prev, nc) = c_prev.into_parts();
        let (out, tape) = flex::lstm_cell_forward(&gates, &c_prev);
        match LstmCellBackward.prepare::<C>([ng, nc]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish((tape, c_prev), out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }

    fn attention_scores(
        features: FloatTensor<Self>,
        query: FloatTensor<Self>,
        coverage: FloatTensor<Self>,
        w_c: FloatTensor<Self>,
        v: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let (f, nf) = features.into_parts();
        let (q, nq) = query.into_parts();
        let (cov, ncov) = coverage.into_parts();
        let (w_c, nwc) = w_c.into_parts();
        let (v, nv) = v.into_parts();
        let e = flex::attention_forward(&f, &q, &cov, &w_c, &v);
        match AttentionBackward.prepare::<C>([nf, nq, ncov, nwc, nv]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish([f, q, cov, w_c, v], e),
            OpsKind::UnTracked(prep) => prep.finish(e),
        }
    }

    fn softmax_pick(logits: FloatTensor<Self>, target: IntTensor<Self>) -> FloatTensor<Self> {
        let (logits, nl) = logits.into_parts();
        let (p, stats) = flex::softmax_pick_forward(&logits, &target);
        match SoftmaxPickBackward.prepare::<C>([nl]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish([p.clone(), stats, logits, target], p),
            OpsKind::UnTracked(prep) => prep.finish(p),
        }
    }

    fn fused_tanh(x: FloatTensor<Self>) -> FloatTensor<Self> {
        unary::<C>(x, false)
    }

    // Training takes gradients through these: the ordinary autodiff ops.
    fn project(x: FloatTensor<Self>, w: FloatTensor<Self>) -> FloatTensor<Self> {
        <Self as burn::backend::ops::FloatTensorOps<Self>>::float_matmul(x, w)
    }

    fn softmax_rows(x: FloatTensor<Self>) -> FloatTensor<Self> {
        <Self as burn::backend::ops::ActivationOps<Self>>::softmax(x, 1)
    }

    fn fused_sigmoid(x: FloatTensor<Self>) -> FloatTensor<Self> {
        unary::<C>(x, true)
    }
}

/// On cubecl, autodiff differentiates the default bodies.
impl<C: CheckpointStrategy> TextOps for Autodiff<Cube, C> {}
