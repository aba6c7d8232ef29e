//! The `earthmover` binary: the CLI natively, the web app in the browser.

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    earthmover::cli::main()
}

#[cfg(target_arch = "wasm32")]
unsafe extern "C" {
    /// wasm-ld's function that runs the static constructors (cubecl registers its IR dialects
    /// and WGSL lowerings through `inventory`, which runs them as constructors).
    fn __wasm_call_ctors();
}

#[cfg(target_arch = "wasm32")]
fn main() {
    // When no code refers to `__wasm_call_ctors`, wasm-ld links a binary as a "command": it
    // wraps every export so that each call from JavaScript (every closure, every externref
    // the bindings allocate or free) first reruns all constructors and then the destructors.
    // In a beam search that was 40% of the time (BENCHMARKS.md). Calling it here, once, makes
    // this a module that runs its constructors once, before the app starts.
    unsafe { __wasm_call_ctors() };
    earthmover::web::mount();
}
