//! The one place that knows which backend runs. Everything else takes `&Device`.
//!
//! - Natively: `--device auto|vulkan|wgpu|cuda|cpu`. `auto` tries CUDA (when built with the
//!   `cuda` feature), then any wgpu adapter, then the CPU.
//! - In the page: WebGPU when the browser has an adapter, else Flex on the CPU.

use std::fmt;
use std::str::FromStr;

use burn::tensor::Device;

/// What the person asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    #[default]
    Auto,
    Vulkan,
    Wgpu,
    Cuda,
    Cpu,
}

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("unknown device '{0}': choose one of auto, vulkan, wgpu, cuda, cpu")]
    Unknown(String),
    #[error("no {what} device could be started: {why}")]
    Unavailable { what: &'static str, why: String },
    #[error("this build has no CUDA support: rebuild with `--features cuda`")]
    NoCuda,
}

impl FromStr for DeviceChoice {
    type Err = DeviceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "auto" => DeviceChoice::Auto,
            "vulkan" => DeviceChoice::Vulkan,
            "wgpu" | "gpu" => DeviceChoice::Wgpu,
            "cuda" => DeviceChoice::Cuda,
            "cpu" | "flex" => DeviceChoice::Cpu,
            _ => return Err(DeviceError::Unknown(s.to_string())),
        })
    }
}

/// The backend that actually runs, as shown to the person.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Cpu,
    Vulkan,
    Wgpu,
    Cuda,
    WebGpu,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Cpu => "CPU (Flex)",
            Backend::Vulkan => "Vulkan (wgpu)",
            Backend::Wgpu => "wgpu",
            Backend::Cuda => "CUDA",
            Backend::WebGpu => "WebGPU",
        })
    }
}

/// Starts the requested device natively.
#[cfg(not(target_arch = "wasm32"))]
pub fn native(choice: DeviceChoice) -> Result<(Device, Backend), DeviceError> {
    use burn::tensor::wgpu::WgpuBackend;
    let wgpu = |api: WgpuBackend, what: &'static str| {
        Device::wgpu_options().graphics_api(api).init().map_err(|e| DeviceError::Unavailable { what, why: e.to_string() })
    };
    match choice {
        DeviceChoice::Cpu => Ok((Device::flex(), Backend::Cpu)),
        DeviceChoice::Vulkan => wgpu(WgpuBackend::Vulkan, "Vulkan").map(|d| (d, Backend::Vulkan)),
        DeviceChoice::Wgpu => wgpu(WgpuBackend::Auto, "wgpu").map(|d| (d, Backend::Wgpu)),
        DeviceChoice::Cuda => cuda(),
        DeviceChoice::Auto => cuda()
            .or_else(|_| wgpu(WgpuBackend::Auto, "wgpu").map(|d| (d, Backend::Wgpu)))
            .or_else(|_| Ok((Device::flex(), Backend::Cpu))),
    }
}

#[cfg(all(not(target_arch = "wasm32"), feature = "cuda"))]
fn cuda() -> Result<(Device, Backend), DeviceError> {
    // CUDA initialises lazily and panics when there is no driver: probe with one tiny op.
    let probe = std::panic::catch_unwind(|| {
        let d = Device::cuda(0);
        let _ = burn::tensor::Tensor::<1>::ones([1], &d).into_data();
        d
    });
    probe.map(|d| (d, Backend::Cuda)).map_err(|_| DeviceError::Unavailable { what: "CUDA", why: "no CUDA driver or GPU was found".into() })
}

#[cfg(all(not(target_arch = "wasm32"), not(feature = "cuda")))]
fn cuda() -> Result<(Device, Backend), DeviceError> {
    Err(DeviceError::NoCuda)
}

/// WebGPU if the browser offers an adapter, else Flex; with the reason WebGPU was not used.
pub async fn browser() -> (Device, Backend, Option<String>) {
    match Device::wgpu_options().init_async().await {
        Ok(d) => (d, Backend::WebGpu, None),
        Err(e) => (Device::flex(), Backend::Cpu, Some(e.to_string())),
    }
}
