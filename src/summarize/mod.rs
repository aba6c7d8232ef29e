//! Pointer-generator summarization (See et al. 2017): vocabulary, batches, the model, its
//! training step, decoding, checkpoints and the compact export the web page loads.

pub mod batch;
pub mod config;
pub mod decode;
pub mod input;
pub mod model;
pub mod store;
pub mod train;
pub mod vocab;

pub use config::{DecodeConfig, ModelConfig, OptimizerKind, SummarizerConfig, TrainConfig};
pub use model::PointerGenerator;

/// Runs a future to completion on this thread. Native reads from burn's devices complete
/// without waiting, so the async code shared with the browser runs synchronously here.
#[cfg(not(target_arch = "wasm32"))]
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut cx = Context::from_waker(Waker::noop());
    let mut f = std::pin::pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}
