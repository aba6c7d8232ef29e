//! The divergence explorer: KL, JS and Wasserstein side by side on the seeds' own examples.
//! Every number the explorer's pages show is computed here, in plain `f64` where a closed
//! form or quadrature exists, and with the GAN engine where a network estimates it.

pub mod density;
pub mod emd;
pub mod estimate;
pub mod kl_fit;
pub mod lines;
pub mod optimal_d;
pub mod xy;
