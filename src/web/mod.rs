//! The web app: a leptos client-side app. Components only draw and call the library; all
//! training logic lives in `crate::gan`.

mod canvas;
mod chart;
mod emd_page;
mod explorer;
mod gan_lab;
mod summarize_page;

use leptos::prelude::*;

/// Installs a panic hook that shows the error in the page, then mounts the app.
pub fn mount() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        if let Some(doc) = web_sys::window().and_then(|w| w.document())
            && let Some(el) = doc.get_element_by_id("panic")
        {
            el.set_text_content(Some(&format!("Something went wrong: {info}. The page keeps working; reload it if something looks stuck.")));
            let _ = el.set_attribute("style", "display:block");
        }
        // Pages listen for this to release anything the failed task held (a busy button).
        if let (Some(w), Ok(ev)) = (web_sys::window(), web_sys::Event::new("earthmover-panic")) {
            let _ = w.dispatch_event(&ev);
        }
    }));
    leptos::mount::mount_to_body(App);
}

/// The app's pages: (hash, title). The first is the default.
const PAGES: [(&str, &str); 8] = [
    ("gan-lab", "GAN lab"),
    ("summarize", "Summarize"),
    ("lines", "Parallel lines"),
    ("gaussians", "Two Gaussians"),
    ("emd", "Earth mover"),
    ("kl", "Forward vs reverse KL"),
    ("optimal-d", "Optimal D"),
    ("xy", "xy game"),
];

fn current_page() -> String {
    let hash = web_sys::window().and_then(|w| w.location().hash().ok()).unwrap_or_default();
    let name = hash.trim_start_matches('#');
    PAGES.iter().find(|p| p.0 == name).map(|p| p.0).unwrap_or(PAGES[0].0).to_string()
}

#[component]
fn App() -> impl IntoView {
    let page = RwSignal::new(current_page());
    let handle = window_event_listener(leptos::ev::hashchange, move |_| page.set(current_page()));
    on_cleanup(move || handle.remove());
    let links = PAGES
        .iter()
        .map(|&(id, title)| {
            view! { <a href=format!("#{id}") data-testid=format!("nav-{id}") class:active=move || page.get() == id>{title}</a> }
        })
        .collect_view();
    // Every page stays mounted (a GAN keeps training while you read another page); only
    // the current one is shown.
    let shown = move |id: &'static str| move || page.get() != id;
    view! {
        <header>
            <h1>"earthmover"</h1>
            <p class="tagline">"Wasserstein GANs and summarization, live in your browser."</p>
        </header>
        <nav>{links}</nav>
        <div id="panic" role="alert" data-testid="panic"></div>
        <main id="gan-lab" class:hidden=shown("gan-lab")><gan_lab::GanLab/></main>
        <main id="summarize" class:hidden=shown("summarize")><summarize_page::SummarizePage visible=Signal::derive(move || page.get() == "summarize")/></main>
        <main id="lines" class:hidden=shown("lines")><explorer::LinesPage/></main>
        <main id="gaussians" class:hidden=shown("gaussians")><explorer::GaussiansPage/></main>
        <main id="emd" class:hidden=shown("emd")><emd_page::EmdPage/></main>
        <main id="kl" class:hidden=shown("kl")><explorer::KlPage/></main>
        <main id="optimal-d" class:hidden=shown("optimal-d")><explorer::OptimalDPage/></main>
        <main id="xy" class:hidden=shown("xy")><explorer::XyPage/></main>
    }
}

enum SharedDevice {
    Empty,
    Pending,
    Ready(burn::tensor::Device, crate::device::Backend, Option<String>),
}

thread_local! {
    static DEVICE: std::cell::RefCell<SharedDevice> = const { std::cell::RefCell::new(SharedDevice::Empty) };
}

/// The page's one device, shared by every page: WebGPU when the browser has it, else Flex,
/// with the reason WebGPU is missing. The first caller initialises it; later callers wait.
pub async fn shared_device() -> (burn::tensor::Device, crate::device::Backend, Option<String>) {
    loop {
        let start = DEVICE.with(|d| {
            let mut d = d.borrow_mut();
            match &*d {
                SharedDevice::Ready(dev, b, why) => Some(Some((dev.clone(), *b, why.clone()))),
                SharedDevice::Pending => None,
                SharedDevice::Empty => {
                    *d = SharedDevice::Pending;
                    Some(None)
                }
            }
        });
        match start {
            Some(Some(ready)) => return ready,
            Some(None) => {
                let (dev, b, why) = crate::device::browser().await;
                DEVICE.with(|d| *d.borrow_mut() = SharedDevice::Ready(dev.clone(), b, why.clone()));
                return (dev, b, why);
            }
            None => yield_to_browser().await,
        }
    }
}

/// Lets the browser paint and handle input before the next training step.
pub async fn yield_to_browser() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window()
            && w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0).is_err()
        {
            let _ = resolve.call0(&wasm_bindgen::JsValue::NULL);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

pub fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or(0.0)
}
