//! The one place that knows which backend runs. Everything else takes `&Device`.
//!
//! - Natively: `--device auto|vulkan|wgpu|cuda|cpu`. `auto` tries CUDA (when built with the
//!   `cuda` feature), then a hardware wgpu adapter, then the CPU; the choice is printed.
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

/// A device started natively, with what a person should be told about it.
#[derive(Clone, Debug)]
pub struct Started {
    pub device: Device,
    pub backend: Backend,
    /// The adapter, as wgpu names it (name, type, driver), or the CPU.
    pub adapter: String,
    /// Why `auto` did not take the first device it found, if it did not.
    pub note: Option<String>,
}

impl Started {
    /// Prints the choice (stderr) and returns the device.
    pub fn announce(self) -> Device {
        eprintln!("{self}");
        self.device
    }
}

impl fmt::Display for Started {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "device: {} on {}", self.backend, self.adapter)?;
        if let Some(note) = &self.note {
            write!(f, " ({note})")?;
        }
        Ok(())
    }
}

/// Starts the requested device natively.
///
/// `auto` tries CUDA, then wgpu, then the CPU, and never takes a software adapter (lavapipe,
/// llvmpipe, SwiftShader: wgpu's `DeviceType::Cpu`), which is slower than Flex: it says so in
/// [`Started::note`] and runs on the CPU. `--device wgpu` or `vulkan` takes any adapter.
#[cfg(not(target_arch = "wasm32"))]
pub fn native(choice: DeviceChoice) -> Result<Started, DeviceError> {
    use burn::tensor::wgpu::{WgpuBackend, wgpu::DeviceType};
    let cpu = |note: Option<String>| Started {
        device: Device::flex(),
        backend: Backend::Cpu,
        adapter: "the CPU".into(),
        note,
    };
    let wgpu = |api: WgpuBackend, what: &'static str, backend: Backend| {
        let (device, setup) = Device::wgpu_options()
            .graphics_api(api)
            .init_with_setup()
            .map_err(|e| DeviceError::Unavailable { what, why: e.to_string() })?;
        let info = setup.adapter.get_info();
        let software = info.device_type == DeviceType::Cpu;
        let kind = match info.device_type {
            DeviceType::DiscreteGpu => "discrete GPU",
            DeviceType::IntegratedGpu => "integrated GPU",
            DeviceType::VirtualGpu => "virtual GPU",
            DeviceType::Cpu => "software renderer",
            DeviceType::Other => "adapter of unknown type",
        };
        let adapter = format!(
            "{}, a {kind} through {:?} (driver: {} {})",
            info.name, info.backend, info.driver, info.driver_info
        )
        .replace(" )", ")");
        Ok::<_, DeviceError>((Started { device, backend, adapter, note: None }, software))
    };
    match choice {
        DeviceChoice::Cpu => Ok(cpu(None)),
        DeviceChoice::Vulkan => wgpu(WgpuBackend::Vulkan, "Vulkan", Backend::Vulkan).map(|(s, _)| s),
        DeviceChoice::Wgpu => wgpu(WgpuBackend::Auto, "wgpu", Backend::Wgpu).map(|(s, _)| s),
        DeviceChoice::Cuda => cuda(),
        DeviceChoice::Auto => cuda().or_else(|_| match wgpu(WgpuBackend::Auto, "wgpu", Backend::Wgpu) {
            Ok((s, false)) => Ok(s),
            Ok((s, true)) => Ok(cpu(Some(format!("auto skipped {}: slower than the CPU backend; pass --device wgpu to use it anyway", s.adapter)))),
            Err(e) => Ok(cpu(Some(format!("auto found no GPU: {e}")))),
        }),
    }
}

#[cfg(all(not(target_arch = "wasm32"), feature = "cuda"))]
fn cuda() -> Result<Started, DeviceError> {
    // CUDA initialises lazily and panics when there is no driver: probe with one tiny op.
    let probe = std::panic::catch_unwind(|| {
        let d = Device::cuda(0);
        let _ = burn::tensor::Tensor::<1>::ones([1], &d).into_data();
        d
    });
    probe
        .map(|device| Started {
            device,
            backend: Backend::Cuda,
            adapter: "CUDA device 0".into(),
            note: None,
        })
        .map_err(|_| DeviceError::Unavailable {
            what: "CUDA",
            why: "no CUDA driver or GPU was found".into(),
        })
}

#[cfg(all(not(target_arch = "wasm32"), not(feature = "cuda")))]
fn cuda() -> Result<Started, DeviceError> {
    Err(DeviceError::NoCuda)
}

/// WebGPU if the browser offers an adapter, else Flex; with the reason WebGPU was not used.
pub async fn browser() -> (Device, Backend, Option<String>) {
    match Device::wgpu_options().init_async().await {
        Ok(d) => (d, Backend::WebGpu, None),
        Err(e) => (Device::flex(), Backend::Cpu, Some(e.to_string())),
    }
}
