//! What the GAN objectives need from a critic, whatever its input means.
//!
//! A critic scores a batch of vectors `[B, dim]`: 2-D points in the GAN lab, embedding vectors
//! in alignment, and a summary's per-step word distributions, flattened, in unpaired
//! summarization ([`crate::unpaired::critic::SeqCritic`]). The objectives in
//! [`super::objective`] and the update in [`super::train::update_critic`] are written once
//! against this trait.

use burn::module::Module;
use burn::tensor::{Device, Tensor};

use super::mlp::{Mlp, Pass};

/// A scalar-output network over a batch of vectors, with its input gradient written as forward
/// operations (burn's autodiff is first order; see [`Mlp::input_grad`]).
pub trait Critic: Module + Sized {
    fn device(&self) -> Device;

    /// Output `[B, 1]` and last hidden features. `dropout` holds one rescaled mask per hidden
    /// layer, shaped as [`Critic::hidden_widths`] says.
    fn pass(&self, x: Tensor<2>, dropout: Option<&[Tensor<2>]>) -> Pass;

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.pass(x, None).out
    }

    /// `f(x)` as a constant and `∇ₓ f(x)` `[B, dim]` as an expression in the weights, so that
    /// first-order autodiff gives the gradient penalty's exact weight gradient.
    fn input_grad(&self, x: Tensor<2>) -> (Tensor<2>, Tensor<2>);

    /// Width of each hidden layer (the dropout masks of CT-GAN's perturbed passes).
    fn hidden_widths(&self) -> Vec<usize>;

    /// False when a sample's score depends on the rest of its batch (minibatch
    /// discrimination): such a critic scores real and generated batches in separate passes.
    fn scores_each_sample(&self) -> bool {
        true
    }

    /// The same critic with trainable leaves.
    fn trainable(self) -> Self {
        self.train()
    }

    /// The same values as constants.
    fn frozen(&self) -> Self {
        self.valid()
    }
}

impl Critic for Mlp {
    fn device(&self) -> Device {
        Mlp::device(self)
    }

    fn pass(&self, x: Tensor<2>, dropout: Option<&[Tensor<2>]>) -> Pass {
        Mlp::pass(self, x, dropout)
    }

    fn input_grad(&self, x: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        Mlp::input_grad(self, x)
    }

    fn hidden_widths(&self) -> Vec<usize> {
        self.net[..self.net.len() - 1].iter().map(|l| l.weight.dims()[1]).collect()
    }

    fn scores_each_sample(&self) -> bool {
        self.minibatch.is_none()
    }
}
