//! The web app: a leptos client-side app. Components only draw and call the library; all
//! training logic lives in `crate::gan`.

mod align_page;
mod canvas;
mod chart;
mod driver;
mod emd_page;
mod explorer;
mod gan_lab;
mod summarize_page;
mod unpaired_page;

use leptos::prelude::*;

/// Installs a panic hook that tells the person the page must be reloaded, then mounts the app.
///
/// On wasm32 a panic aborts: the hook runs, then the module traps, leaving whatever the
/// failed code held (a borrowed cell, a half-made update) as it was. Nothing after that can
/// be trusted, so the hook does not call back into the app. It only writes to the DOM: a
/// notice over the whole page with the message and a Reload button (plain JavaScript).
pub fn mount() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        show_fatal(&info.to_string());
    }));
    leptos::mount::mount_to_body(App);
}

/// Covers the page with the panic's message and a Reload button, through DOM calls only.
fn show_fatal(message: &str) {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else { return };
    let el = match doc.get_element_by_id("panic") {
        Some(el) => el,
        None => {
            let Ok(el) = doc.create_element("div") else { return };
            el.set_id("panic");
            if let Some(body) = doc.body() {
                let _ = body.append_child(&el);
            }
            el
        }
    };
    el.set_text_content(None);
    let _ = el.set_attribute("role", "alertdialog");
    let _ = el.set_attribute("data-testid", "panic");
    let _ = el.set_attribute("class", "fatal");
    if let Ok(box_) = doc.create_element("div") {
        let text = format!(
            "earthmover stopped with an internal error, and this page must be reloaded to go on. Nothing you typed or uploaded left the browser. The error: {message}"
        );
        if let Ok(p) = doc.create_element("p") {
            p.set_text_content(Some(&text));
            let _ = p.set_attribute("data-testid", "panic-message");
            let _ = box_.append_child(&p);
        }
        if let Ok(b) = doc.create_element("button") {
            b.set_text_content(Some("Reload the page"));
            let _ = b.set_attribute("data-testid", "panic-reload");
            let _ = b.set_attribute("onclick", "location.reload()");
            let _ = box_.append_child(&b);
        }
        let _ = el.append_child(&box_);
    }
}

/// Whether the page's address has `word` in its query.
fn query_has(word: &str) -> bool {
    web_sys::window().and_then(|w| w.location().search().ok()).is_some_and(|q| q.contains(word))
}

/// The app's pages: (hash, title). The first is the default.
const PAGES: [(&str, &str); 10] = [
    ("gan-lab", "GAN lab"),
    ("summarize", "Summarize"),
    ("unpaired", "Unpaired"),
    ("align", "Align"),
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
    // The hidden test hook: with `?test-panic` in the address, the page shows a button that
    // panics, so the browser test can check what a person sees after one.
    view! {
        <header>
            <h1>"earthmover"</h1>
            <p class="tagline">"Wasserstein GANs and summarization, live in your browser."</p>
        </header>
        <nav>{links}</nav>
        <div id="panic" role="alertdialog" data-testid="panic"></div>
        {query_has("test-panic").then(|| view! {
            <button class="test-hook" data-testid="test-panic" on:click=|_| panic!("a test panic, requested by ?test-panic")>"panic (test)"</button>
        })}
        <main id="gan-lab" class:hidden=shown("gan-lab")><gan_lab::GanLab/></main>
        <main id="summarize" class:hidden=shown("summarize")><summarize_page::SummarizePage visible=Signal::derive(move || page.get() == "summarize")/></main>
        <main id="unpaired" class:hidden=shown("unpaired")><unpaired_page::UnpairedPage visible=Signal::derive(move || page.get() == "unpaired")/></main>
        <main id="align" class:hidden=shown("align")><align_page::AlignPage/></main>
        <main id="lines" class:hidden=shown("lines")><explorer::LinesPage/></main>
        <main id="gaussians" class:hidden=shown("gaussians")><explorer::GaussiansPage/></main>
        <main id="emd" class:hidden=shown("emd")><emd_page::EmdPage/></main>
        <main id="kl" class:hidden=shown("kl")><explorer::KlPage/></main>
        <main id="optimal-d" class:hidden=shown("optimal-d")><explorer::OptimalDPage/></main>
        <main id="xy" class:hidden=shown("xy")><explorer::XyPage/></main>
    }
}

/// A device, its backend and the note on why (see [`shared_device`]).
type Found = (burn::tensor::Device, crate::device::Backend, Option<String>);

thread_local! {
    static DEVICE_STARTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static DEVICE: std::cell::RefCell<Option<Found>> = const { std::cell::RefCell::new(None) };
}

/// The page's one device, shared by every page: WebGPU on a hardware adapter, else Flex
/// (`?webgpu=always` takes a software one too), with a note saying why. The first caller initialises it; later callers wait.
pub async fn shared_device() -> Found {
    if !DEVICE_STARTED.replace(true) {
        DEVICE.set(Some(crate::device::browser(query_has("webgpu=always")).await));
    }
    loop {
        if let Some(found) = DEVICE.with_borrow(Option::clone) {
            return found;
        }
        yield_to_browser().await;
    }
}

/// Lets the browser paint and handle input before the next step (a training step, a decoding
/// step).
///
/// A message to a `MessageChannel` port queues a task at once; `setTimeout(0)` would too, but
/// browsers clamp nested timeouts to 4 ms, which cost a 100-step beam search 0.4 s of waiting.
/// Falls back to `setTimeout` where `MessageChannel` is missing.
pub async fn yield_to_browser() {
    use js_sys::Reflect;
    use wasm_bindgen::{JsCast, JsValue};
    let function = |on: &JsValue, name: &str| {
        Reflect::get(on, &name.into()).ok()?.dyn_into::<js_sys::Function>().ok()
    };
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let channel = function(&js_sys::global(), "MessageChannel")
            .and_then(|c| Reflect::construct(&c, &js_sys::Array::new()).ok());
        if let Some(channel) = channel {
            let port = |k: &str| Reflect::get(&channel, &k.into()).unwrap_or(JsValue::UNDEFINED);
            let (rx, tx) = (port("port1"), port("port2"));
            if let Some(post) = function(&tx, "postMessage")
                && Reflect::set(&rx, &"onmessage".into(), &resolve).is_ok()
                && post.call1(&tx, &JsValue::NULL).is_ok()
            {
                return;
            }
        }
        let scheduled = web_sys::window().is_some_and(|w| {
            w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0).is_ok()
        });
        if !scheduled {
            let _ = resolve.call0(&JsValue::NULL);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Reads a number field through its page bounds ([`crate::bounds`]). A good value is
/// returned; a bad one (empty, not a number, NaN, out of range) is shown in `error`, and the
/// box gets `current` back, so it never shows a value that is not in force.
pub fn bounded<T>(
    ev: &leptos::ev::Event,
    field: crate::bounds::Field<T>,
    current: T,
    error: RwSignal<Option<String>>,
) -> Option<T>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    match field.parse(&event_target_value(ev)) {
        Ok(v) => Some(v),
        Err(e) => {
            let input: web_sys::HtmlInputElement = event_target(ev);
            input.set_value(&current.to_string());
            error.set(Some(e.to_string()));
            None
        }
    }
}

/// A labelled number box whose range is `field`'s (its `min` and `max`, and what
/// [`bounded`] accepts): a good value goes to `on_set`, a bad one is named in `error` and the
/// box shows `value` again.
#[component]
pub fn NumberField<T>(
    label: &'static str,
    testid: &'static str,
    field: crate::bounds::Field<T>,
    #[prop(into)] value: Signal<T>,
    on_set: impl Fn(T) + 'static,
    error: RwSignal<Option<String>>,
    #[prop(optional)] step: Option<&'static str>,
    #[prop(optional)] title: Option<&'static str>,
) -> impl IntoView
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy + Send + Sync + 'static,
{
    view! {
        <label title=title>{label} " "
            <input data-testid=testid type="number" step=step min=field.min.to_string() max=field.max.to_string()
                prop:value=move || value.get().to_string()
                on:change=move |ev| if let Some(v) = bounded(&ev, field, value.get_untracked(), error) { on_set(v) }/>
        </label>
    }
}

/// A labelled checkbox showing `value` and handing a change to `on_set`.
#[component]
pub fn Check(
    label: &'static str,
    testid: &'static str,
    #[prop(into)] value: Signal<bool>,
    on_set: impl Fn(bool) + 'static,
) -> impl IntoView {
    view! {
        <label><input type="checkbox" data-testid=testid prop:checked=move || value.get() on:change=move |ev| on_set(event_target_checked(&ev))/>" " {label}</label>
    }
}

/// A labelled select over library values, `(value, label)` pairs, whose options' values are
/// `name`'s (the library's names): it shows the choice named as `value` and hands the picked
/// value itself to `on_pick`, so a pick is always one of `choices` and nothing parses a name.
#[component]
pub fn Choice<T>(
    label: &'static str,
    testid: &'static str,
    choices: Vec<(T, &'static str)>,
    name: fn(&T) -> &'static str,
    #[prop(into)] value: Signal<T>,
    on_pick: impl Fn(T) + 'static,
    #[prop(into, optional)] disabled: Signal<bool>,
) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
{
    let options = choices.clone();
    let pick = move |ev| {
        let picked = event_target_value(&ev);
        if let Some((v, _)) = choices.iter().find(|(v, _)| name(v) == picked) {
            on_pick(v.clone())
        }
    };
    view! {
        <label>{label} " "
            <select data-testid=testid disabled=move || disabled.get() on:change=pick>
                {options.into_iter().map(|(v, l)| { let n = name(&v); view! { <option value=n selected=move || value.with(|v| name(v) == n)>{l}</option> } }).collect_view()}
            </select>
        </label>
    }
}

/// Downloads `url`, telling the person in `status` how much of `what` has arrived.
pub async fn download_shown(
    url: &str,
    what: &str,
    status: RwSignal<String>,
) -> Result<Vec<u8>, String> {
    status.set(format!("Downloading {what}…"));
    summarize_page::download(url, |n, total| {
        status.set(format!("Downloading {what}: {}", megabytes(n, total)))
    })
    .await
}

/// `n` bytes of `total` as "1.5 of 2.0 MB", or "1.5 MB" when the total is unknown.
fn megabytes(n: usize, total: Option<usize>) -> String {
    let mb = |b: usize| b as f64 / 1e6;
    match total {
        Some(t) => format!("{:.1} of {:.1} MB", mb(n), mb(t)),
        None => format!("{:.1} MB", mb(n)),
    }
}

pub fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or(0.0)
}
