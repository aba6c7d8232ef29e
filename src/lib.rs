//! earthmover: Wasserstein GANs and summarization, in the browser and on the command line.

pub mod align;
pub mod bounds;
pub mod device;
pub mod divergence;
pub mod gan;
pub mod nn;
pub mod ops;
pub mod optim;
pub mod record;
pub mod rng;
pub mod summarize;
pub mod text;
pub mod toy;
pub mod transport;
pub mod unpaired;

#[cfg(not(target_arch = "wasm32"))]
pub mod cli;
#[cfg(not(target_arch = "wasm32"))]
pub mod heap;
#[cfg(target_arch = "wasm32")]
pub mod web;
