//! The web app: a leptos client-side app. Components only draw and call the library; all
//! training logic lives in `crate::gan`.

mod canvas;
mod chart;
mod gan_lab;

use leptos::prelude::*;

/// Installs a panic hook that shows the error in the page, then mounts the app.
pub fn mount() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
            if let Some(el) = doc.get_element_by_id("panic") {
                el.set_text_content(Some(&format!("Something went wrong: {info}. Reload the page to continue.")));
                let _ = el.set_attribute("style", "display:block");
            }
        }
    }));
    leptos::mount::mount_to_body(App);
}

#[component]
fn App() -> impl IntoView {
    view! {
        <header>
            <h1>"earthmover"</h1>
            <p class="tagline">"Wasserstein GANs, trained live in your browser."</p>
            <nav><a class="active" href="#gan-lab">"GAN lab"</a></nav>
        </header>
        <div id="panic" role="alert" data-testid="panic"></div>
        <main id="gan-lab"><gan_lab::GanLab/></main>
    }
}

/// Lets the browser paint and handle input before the next training step.
pub async fn yield_to_browser() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            if w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0).is_err() {
                let _ = resolve.call0(&wasm_bindgen::JsValue::NULL);
            }
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

pub fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or(0.0)
}
