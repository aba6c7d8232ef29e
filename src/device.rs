//! The one place that knows which backend runs. Everything else takes `&Device`.
//!
//! - Natively: `--device auto|vulkan|wgpu|cuda|cpu`. `auto` tries CUDA (when built with the
//!   `cuda` feature), then a hardware wgpu adapter, then the CPU; the choice is printed.
//! - In the page: WebGPU on a hardware adapter, else Flex on the CPU (a software adapter such
//!   as SwiftShader only when the address says `?webgpu=always`).

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
    let device = probe.map_err(|_| DeviceError::Unavailable {
        what: "CUDA",
        why: "no CUDA driver or GPU was found".into(),
    })?;
    Ok(Started { device, backend: Backend::Cuda, adapter: "CUDA device 0".into(), note: None })
}

#[cfg(all(not(target_arch = "wasm32"), not(feature = "cuda")))]
fn cuda() -> Result<Started, DeviceError> {
    Err(DeviceError::NoCuda)
}

/// What the browser says about its WebGPU adapter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdapterFacts {
    /// Vendor, architecture and description, as the browser reports them (any may be empty).
    pub name: String,
    /// `GPUAdapterInfo.isFallbackAdapter`: a software adapter the browser offers when it has
    /// no usable GPU.
    pub fallback: bool,
}

impl AdapterFacts {
    /// A software renderer: the browser's fallback adapter, or one named like Chromium's
    /// SwiftShader or Mesa's llvmpipe/lavapipe. These run WebGPU on the CPU in emulation,
    /// far slower than Flex (a beam search took 182 s on SwiftShader, 1.9 s on Flex).
    pub fn is_software(&self) -> bool {
        let n = self.name.to_ascii_lowercase();
        self.fallback
            || ["swiftshader", "llvmpipe", "lavapipe", "software"].iter().any(|s| n.contains(s))
    }
}

/// The page's backend, from the browser's adapter (or why it has none) and whether the
/// address asks for WebGPU regardless (`?webgpu=always`): `Ok(note)` runs on WebGPU,
/// `Err(note)` on Flex. The note says why, in the page's words.
pub fn browser_choice(
    adapter: Result<AdapterFacts, String>,
    always_webgpu: bool,
) -> Result<Option<String>, String> {
    match adapter {
        Err(why) => {
            Err(format!("WebGPU is not available here ({why}), so the page runs on the CPU."))
        }
        Ok(a) if !a.is_software() => Ok(None),
        Ok(a) if always_webgpu => Ok(Some(format!(
            "WebGPU runs on a software renderer here ({}), because the address asks for it (?webgpu=always); the CPU path is faster.",
            a.name
        ))),
        Ok(a) => Err(format!(
            "The browser's WebGPU adapter is a software renderer ({}), slower than the CPU path, so the page runs on the CPU. Add ?webgpu=always to the address to use it anyway.",
            if a.name.trim().is_empty() { "a fallback adapter" } else { a.name.trim() }
        )),
    }
}

/// Asks the browser for its WebGPU adapter without starting a device.
#[cfg(target_arch = "wasm32")]
async fn browser_adapter() -> Result<AdapterFacts, String> {
    use js_sys::Reflect;
    use wasm_bindgen::{JsCast, JsValue};
    let get =
        |o: &JsValue, k: &str| Reflect::get(o, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED);
    let window = web_sys::window().ok_or("no window")?;
    let gpu = get(&window.navigator().into(), "gpu");
    if gpu.is_undefined() || gpu.is_null() {
        return Err("the browser offers no WebGPU".into());
    }
    let request = get(&gpu, "requestAdapter")
        .dyn_into::<js_sys::Function>()
        .map_err(|_| "navigator.gpu.requestAdapter is missing".to_string())?;
    let promise = request
        .call0(&gpu)
        .map_err(|e| format!("requestAdapter failed: {e:?}"))?
        .dyn_into::<js_sys::Promise>()
        .map_err(|_| "requestAdapter did not return a promise".to_string())?;
    let adapter = wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map_err(|e| format!("requestAdapter failed: {e:?}"))?;
    if adapter.is_null() || adapter.is_undefined() {
        return Err("the browser offers no WebGPU adapter".into());
    }
    let info = get(&adapter, "info");
    let text = |k: &str| get(&info, k).as_string().unwrap_or_default();
    let name = [text("vendor"), text("architecture"), text("description")]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let fallback = get(&info, "isFallbackAdapter").as_bool().unwrap_or(false)
        || get(&adapter, "isFallbackAdapter").as_bool().unwrap_or(false);
    Ok(AdapterFacts { name, fallback })
}

/// The page's device: WebGPU on a hardware adapter, Flex otherwise (a software WebGPU adapter
/// only when `always_webgpu`), with a note for the person when it is not plain WebGPU.
#[cfg(target_arch = "wasm32")]
pub async fn browser(always_webgpu: bool) -> (Device, Backend, Option<String>) {
    match browser_choice(browser_adapter().await, always_webgpu) {
        Ok(note) => match Device::wgpu_options().init_async().await {
            Ok(d) => (d, Backend::WebGpu, note),
            Err(e) => (
                Device::flex(),
                Backend::Cpu,
                Some(format!("WebGPU could not start ({e}), so the page runs on the CPU.")),
            ),
        },
        Err(note) => (Device::flex(), Backend::Cpu, Some(note)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(name: &str, fallback: bool) -> Result<AdapterFacts, String> {
        Ok(AdapterFacts { name: name.into(), fallback })
    }

    #[test]
    fn the_page_never_takes_a_software_adapter_unasked() {
        assert_eq!(browser_choice(facts("nvidia ampere", false), false), Ok(None));
        for (name, fallback) in
            [("google swiftshader", false), ("", true), ("mesa llvmpipe (LLVM 15)", false)]
        {
            let e = browser_choice(facts(name, fallback), false).unwrap_err();
            assert!(e.contains("software renderer") && e.contains("?webgpu=always"), "{e}");
            let forced = browser_choice(facts(name, fallback), true).unwrap().unwrap();
            assert!(forced.contains("because the address asks for it"), "{forced}");
        }
        let e = browser_choice(Err("the browser offers no WebGPU".into()), true).unwrap_err();
        assert_eq!(
            e,
            "WebGPU is not available here (the browser offers no WebGPU), so the page runs on the CPU."
        );
    }
}
