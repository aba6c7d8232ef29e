//! The `earthmover` binary: the CLI natively, the web app in the browser.

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    earthmover::cli::main()
}

#[cfg(target_arch = "wasm32")]
fn main() {
    earthmover::web::mount();
}
