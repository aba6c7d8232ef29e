//! The Summarize page: paste or drop an article, and the pointer-generator summarises it on
//! the person's own device (WebGPU, or Flex on the CPU). Each summary word is coloured by
//! p_gen; hovering or focusing a word shows where the network looked. Nothing leaves the
//! browser: the only request is the model file, once.
//!
//! The component holds signals and calls `crate::summarize`: the same input checks, model and
//! decoder as `earthmover summarize run`.

use std::rc::Rc;
use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::{Check, Choice, NumberField, now_ms, yield_to_browser};
use crate::bounds;
use crate::device::Backend;
use crate::record::Reader;
use crate::summarize::decode::{Summary, summarize_with};
use crate::summarize::input::{Article, read_article};
use crate::summarize::store;
use crate::summarize::train::frozen;
use crate::summarize::vocab::Vocab;
use crate::summarize::{DecodeConfig, PointerGenerator, SummarizerConfig};
use crate::text::tokenize::detokenize;
use crate::unpaired::search::{self, Searcher};

/// A model the page offers (see `public/models/README.md`).
pub struct ModelEntry {
    /// The `<option>` value.
    pub id: &'static str,
    pub label: &'static str,
    pub url: &'static str,
    /// What the model was trained on, shown under the menu.
    pub about: &'static str,
}

/// The models, the default first.
pub static MODELS: [ModelEntry; 4] = [
    ModelEntry {
        id: "news",
        label: "news articles (See et al., trained on pairs)",
        url: "public/models/pointer-generator.safetensors",
        about: "Trained on CNN/DailyMail articles with their highlights.",
    },
    ModelEntry {
        id: "debian-unpaired",
        label: "package descriptions (Wang & Lee, trained without pairs)",
        url: "public/models/unpaired-debian.safetensors",
        about: "Trained without a single description/synopsis pair: Debian package descriptions from one half of the packages, and human synopses from the other half as the critic's real data (Wang & Lee 2018). It reads up to 50 words and writes up to 13.",
    },
    ModelEntry {
        id: "news-unpaired",
        label: "news headlines (Wang & Lee, trained without pairs)",
        url: "public/models/unpaired-news.safetensors",
        about: "Trained without a single article/headline pair: first sentences of CNN/DailyMail articles from one half of the articles, and highlight sentences of the other half as the critic's real data (Wang & Lee 2018). It reads the first 50 words (paste a first sentence) and writes a 9-word headline.",
    },
    ModelEntry {
        id: "news-search",
        label: "news headlines (search, without pairs)",
        url: "public/models/search-news.safetensors",
        about: "No network: the 9 words of the first sentence that score best under a language model of human highlight sentences, how rare each word is in news first sentences, how much more often highlights use it than first sentences do (Schumann et al. 2020), and how often an article repeats it in the sentences after the first. Every count comes from CNN/DailyMail articles and highlights of other articles, without a single article/headline pair. Each summary word is copied; hover it to see where.",
    },
];

/// The most text the page accepts.
const MAX_TEXT: usize = 5 << 20;

enum Model {
    Net {
        net: Box<PointerGenerator>,
        vocab: Vocab,
        config: SummarizerConfig,
    },
    /// A search file: no decoding settings, every word copied.
    Search(Searcher),
}

#[derive(Clone, Debug, Default, PartialEq)]
enum LoadState {
    #[default]
    Idle,
    Loading {
        received: usize,
        total: Option<usize>,
    },
    Ready {
        ms: f64,
        bytes: usize,
    },
    Failed(String),
}

/// `base` decoding as the controls say: every setting but the file's [STOP] schedule, which
/// has no control and is kept as saved.
fn with_controls(
    base: &SummarizerConfig,
    controls: DecodeConfig,
) -> Result<SummarizerConfig, String> {
    let mut c = base.clone();
    c.decode = DecodeConfig { stop_schedule: base.decode.stop_schedule.clone(), ..controls };
    c.validate().map_err(|e| e.to_string())?;
    Ok(c)
}

#[derive(Clone, Copy, Default)]
struct Ctx {
    load: RwSignal<LoadState>,
    backend: RwSignal<Option<Backend>>,
    backend_note: RwSignal<Option<String>>,
    text: RwSignal<String>,
    file_note: RwSignal<Option<String>>,
    /// The decoding controls (the schedule of [`with_controls`] aside).
    controls: RwSignal<DecodeConfig>,
    running: RwSignal<bool>,
    progress: RwSignal<usize>,
    summary: RwSignal<Option<Arc<Summary>>>,
    notes: RwSignal<Vec<String>>,
    error: RwSignal<Option<String>>,
    summarize_ms: RwSignal<Option<f64>>,
    focus: RwSignal<Option<usize>>,
    heatmap: RwSignal<bool>,
    /// The last Copy: None before any (or while it runs), then whether the clipboard took it.
    copied: RwSignal<Option<bool>>,
    model: StoredValue<Option<Rc<Model>>, LocalStorage>,
    /// Index into [`MODELS`].
    choice: RwSignal<usize>,
    /// The loaded file is a search, which has no decoding settings.
    searching: RwSignal<bool>,
    canvas: NodeRef<leptos::html::Canvas>,
}

fn js_err(e: JsValue) -> String {
    e.as_string()
        .or_else(|| e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())))
        .unwrap_or_else(|| format!("{e:?}"))
}

/// Downloads `url`, reporting bytes received as they arrive.
pub(super) async fn download(
    url: &str,
    mut progress: impl FnMut(usize, Option<usize>),
) -> Result<Vec<u8>, String> {
    let window = web_sys::window().ok_or("no window")?;
    let resp: web_sys::Response = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|e| format!("the download failed ({})", js_err(e)))?
        .unchecked_into();
    if !resp.ok() {
        return Err(format!("the server answered {} {}", resp.status(), resp.status_text()));
    }
    let total =
        resp.headers().get("content-length").ok().flatten().and_then(|v| v.parse::<usize>().ok());
    let Some(body) = resp.body() else {
        let buf = JsFuture::from(resp.array_buffer().map_err(js_err)?).await.map_err(js_err)?;
        return Ok(js_sys::Uint8Array::new(&buf).to_vec());
    };
    let reader: web_sys::ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let mut bytes = Vec::with_capacity(total.unwrap_or(0));
    loop {
        let chunk = JsFuture::from(reader.read())
            .await
            .map_err(|e| format!("the download broke off ({})", js_err(e)))?;
        let done =
            js_sys::Reflect::get(&chunk, &"done".into()).map(|v| v.is_truthy()).unwrap_or(true);
        if done {
            break;
        }
        if let Ok(value) = js_sys::Reflect::get(&chunk, &"value".into()) {
            bytes.extend(js_sys::Uint8Array::new(&value).to_vec());
        }
        progress(bytes.len(), total);
    }
    Ok(bytes)
}

impl Ctx {
    /// Picks the device and downloads the model, once per page load.
    fn ensure_loaded(self) {
        if !matches!(self.load.get_untracked(), LoadState::Idle | LoadState::Failed(_)) {
            return;
        }
        self.load.set(LoadState::Loading { received: 0, total: None });
        let chosen = self.choice.get_untracked();
        let url = MODELS[chosen].url;
        // A download for a model the person has since switched away from is dropped.
        let current = move || self.choice.get_untracked() == chosen;
        spawn_local(async move {
            let start = now_ms();
            let (device, backend, why) = super::shared_device().await;
            self.backend.set(Some(backend));
            self.backend_note.set(why);
            let got = download(url, |received, total| {
                if current() {
                    self.load.set(LoadState::Loading { received, total })
                }
            })
            .await;
            if !current() {
                return;
            }
            let bytes = match got {
                Ok(b) => b,
                Err(e) => {
                    let why = format!("Could not load the model {url}: {e}.");
                    return self.load.set(LoadState::Failed(why));
                }
            };
            let search = Reader::new(&bytes)
                .is_ok_and(|r| r.metadata.get("format").is_some_and(|f| f == search::FORMAT));
            let model = if search {
                Searcher::from_bytes(&bytes).map(Model::Search)
            } else {
                store::load(&bytes, &device).map(|l| {
                    self.controls.set(l.config.decode.clone());
                    Model::Net { net: Box::new(frozen(&l.model)), vocab: l.vocab, config: l.config }
                })
            };
            match model {
                Ok(model) => {
                    self.searching.set(matches!(model, Model::Search(_)));
                    self.model.set_value(Some(Rc::new(model)));
                    self.load.set(LoadState::Ready { ms: now_ms() - start, bytes: bytes.len() });
                }
                Err(e) => self
                    .load
                    .set(LoadState::Failed(format!("The model file {url} is not usable: {e}."))),
            }
        });
    }

    /// Switches to model `index` of [`MODELS`] and loads it; the summary shown is cleared,
    /// since it came from the other model.
    fn choose(self, index: usize) {
        if index >= MODELS.len() || index == self.choice.get_untracked() {
            return;
        }
        self.choice.set(index);
        self.model.set_value(None);
        self.summary.set(None);
        self.notes.set(vec![]);
        self.error.set(None);
        self.load.set(LoadState::Idle);
        self.ensure_loaded();
    }

    fn run(self) {
        if self.running.get_untracked() {
            return;
        }
        let Some(model) = self.model.get_value() else {
            self.error.set(Some("The model has not loaded yet.".into()));
            return;
        };
        self.error.set(None);
        let (vocab, config) = match &*model {
            Model::Net { vocab, config, .. } => (vocab, config),
            Model::Search(searcher) => return self.search(searcher),
        };
        let config = match with_controls(config, self.controls.get_untracked()) {
            Ok(c) => c,
            Err(e) => return self.error.set(Some(format!("Check the decoding settings: {e}."))),
        };
        let Some(article) = self.article(vocab, config.train.max_enc) else { return };
        self.running.set(true);
        self.progress.set(0);
        spawn_local(async move {
            let Model::Net { net, vocab, .. } = &*model else { return };
            let start = now_ms();
            let result = summarize_with(
                net,
                vocab,
                &article.tokens,
                config.train.max_enc,
                &config.decode,
                async |step| {
                    self.progress.set(step);
                    yield_to_browser().await;
                },
            )
            .await;
            self.running.set(false);
            match result {
                Ok(s) => self.show(s, start),
                Err(e) => self.error.set(Some(format!("Summarising failed: {e}."))),
            }
        });
    }

    /// The text box's article as `vocab` reads it, its notes shown; None, with the reason
    /// shown, when the text is refused.
    fn article(self, vocab: &Vocab, max_enc: usize) -> Option<Article> {
        match read_article(self.text.get_untracked().as_bytes(), MAX_TEXT, vocab, max_enc) {
            Ok(a) => {
                self.notes.set(a.notes.iter().map(|n| capitalise(n)).collect());
                Some(a)
            }
            Err(e) => {
                self.summary.set(None);
                self.error.set(Some(capitalise(&e.to_string())));
                None
            }
        }
    }

    /// Shows `summary`, made in the time since `start`.
    fn show(self, summary: Summary, start: f64) {
        self.summarize_ms.set(Some(now_ms() - start));
        self.focus.set(None);
        self.summary.set(Some(Arc::new(summary)));
        self.draw_heatmap();
    }

    /// A search file's summary: its words, each copied (p_gen 0) from the one source word its
    /// "attention" marks. The same checks of the text as the network's.
    fn search(self, searcher: &Searcher) {
        let start = now_ms();
        let Some(article) = self.article(searcher.vocab(), usize::MAX) else { return };
        let picked = searcher.extract(&article.tokens);
        let n = article.tokens.len();
        let summary = Summary {
            tokens: picked.iter().map(|&i| article.tokens[i].clone()).collect(),
            p_gen: vec![0.0; picked.len()],
            attention: picked
                .iter()
                .map(|&i| (0..n).map(|j| (i == j) as u8 as f32).collect())
                .collect(),
            source: article.tokens,
            truncated: false,
            score: 0.0,
        };
        self.show(summary, start);
    }

    /// Reads a dropped or chosen file into the text box, refusing what is not text.
    fn take_file(self, file: web_sys::File) {
        let name = file.name();
        if file.size() > MAX_TEXT as f64 {
            return self.error.set(Some(format!(
                "{name} is {:.1} MB, more than the 5 MB this page accepts.",
                file.size() / (1 << 20) as f64
            )));
        }
        spawn_local(async move {
            let buf = match JsFuture::from(file.array_buffer()).await {
                Ok(b) => b,
                Err(e) => {
                    return self.error.set(Some(format!("Could not read {name}: {}.", js_err(e))));
                }
            };
            let bytes = js_sys::Uint8Array::new(&buf).to_vec();
            if bytes.contains(&0) {
                return self.error.set(Some(format!(
                    "{name} looks binary (it contains NUL bytes): choose a .txt or .md file."
                )));
            }
            match String::from_utf8(bytes) {
                Ok(text) => {
                    self.error.set(None);
                    self.file_note
                        .set(Some(format!("Read {name} ({:.1} KB).", text.len() as f64 / 1024.0)));
                    self.text.set(text);
                }
                Err(e) => self.error.set(Some(format!(
                    "{name} is not UTF-8 text (invalid byte at offset {}).",
                    e.utf8_error().valid_up_to()
                ))),
            }
        });
    }

    /// Draws the summary × source attention as a heatmap, each row scaled to its maximum.
    fn draw_heatmap(self) {
        let (Some(canvas), Some(s)) = (self.canvas.get_untracked(), self.summary.get_untracked())
        else {
            return;
        };
        let (rows, cols) = (s.attention.len().max(1), s.source.len().max(1));
        let (cw, ch) =
            ((800.0 / cols as f64).clamp(1.0, 12.0), (480.0 / rows as f64).clamp(2.0, 14.0));
        canvas.set_width((cw * cols as f64).ceil() as u32);
        canvas.set_height((ch * rows as f64).ceil() as u32);
        let Some(ctx) = super::canvas::cleared(&canvas, "#fff") else { return };
        for (r, row) in s.attention.iter().enumerate() {
            let max = row.iter().cloned().fold(1e-12f32, f32::max);
            for (c, &a) in row.iter().enumerate() {
                let v = (a / max).clamp(0.0, 1.0);
                if v > 0.01 {
                    ctx.set_fill_style_str(&format!("rgba(49,103,176,{v:.3})"));
                    ctx.fill_rect(c as f64 * cw, r as f64 * ch, cw, ch);
                }
            }
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// Background colour for a summary word: copied (p_gen 0) blue, generated (p_gen 1) orange.
fn pgen_color(p: f32) -> String {
    let p = p.clamp(0.0, 1.0);
    let (r, g, b) =
        (49.0 + (230.0 - 49.0) * p, 103.0 + (140.0 - 103.0) * p, 176.0 + (30.0 - 176.0) * p);
    format!("rgba({r:.0},{g:.0},{b:.0},0.5)")
}

/// Tokens that attach to the one before them when read (no space).
const ATTACHED: [&str; 15] =
    [".", ",", ":", ";", "!", "?", ")", "%", "'s", "n't", "'re", "'ve", "'ll", "'d", "'m"];

fn save(name: &str, mime: &str, content: &str) -> Result<(), String> {
    let parts = js_sys::Array::of1(&JsValue::from_str(content));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts).map_err(js_err)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(js_err)?;
    let doc = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    let a: web_sys::HtmlAnchorElement = doc.create_element("a").map_err(js_err)?.unchecked_into();
    a.set_href(&url);
    a.set_download(name);
    a.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}

fn explain_json(s: &Summary) -> String {
    serde_json::json!({ "summary": detokenize(&s.tokens), "tokens": s.tokens, "p_gen": s.p_gen, "attention": s.attention, "source": s.source, "truncated": s.truncated, "score": s.score }).to_string()
}

#[component]
pub fn SummarizePage(#[prop(into)] visible: Signal<bool>) -> impl IntoView {
    let ctx = Ctx::default();
    // The model downloads the first time the page is shown, and stays while the page is open.
    Effect::new(move |_| {
        if visible.get() {
            ctx.ensure_loaded();
        }
    });
    view! {
        <section class="panel summarize">
            <h2>"Summarize an article, privately"</h2>
            <p class="lead">"Paste a news article or drop a .txt or .md file. A pointer-generator network (See et al. 2017) trained by earthmover summarises it on this device: on WebGPU, or on the CPU when the browser has no WebGPU. The text never leaves the browser; the only download is the model, once. Each summary word is coloured by p_gen, the network's probability of generating a word rather than copying one from the article; hover or focus a word to see where it looked."</p>
            <div class="sum-grid">
                <div>
                    <Input ctx/>
                    <Settings ctx/>
                    <Status ctx/>
                </div>
                <div>
                    <Output ctx/>
                </div>
            </div>
        </section>
    }
}

/// The article: typed, pasted or dropped as a file.
#[component]
fn Input(ctx: Ctx) -> impl IntoView {
    let on_file = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        if let Some(f) = input.files().and_then(|l| l.get(0)) {
            ctx.take_file(f);
        }
        input.set_value("");
    };
    let on_drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        if let Some(f) = ev.data_transfer().and_then(|d| d.files()).and_then(|l| l.get(0)) {
            ctx.take_file(f);
        }
    };
    view! {
        <textarea data-testid="source-text" rows="14" placeholder="Paste an article here…" prop:value=move || ctx.text.get() on:input=move |ev| { ctx.text.set(event_target_value(&ev)); ctx.file_note.set(None) }></textarea>
        <div class="drop" on:dragover=move |ev: leptos::ev::DragEvent| ev.prevent_default() on:drop=on_drop>
            <label>"…or drop a file here, or choose one: " <input type="file" accept=".txt,.md,text/plain,text/markdown" data-testid="file-input" on:change=on_file/></label>
            <span class="note" data-testid="file-note">{move || ctx.file_note.get()}</span>
        </div>
    }
}

/// The model and its decoding, and the Summarize button.
#[component]
fn Settings(ctx: Ctx) -> impl IntoView {
    let c = move || ctx.controls.get();
    let set = move |f: &dyn Fn(&mut DecodeConfig)| ctx.controls.update(|c| f(c));
    let ready = move || matches!(ctx.load.get(), LoadState::Ready { .. });

    view! {
        <div class="controls inline">
            <Choice label="Model" testid="model-choice" name=|m: &&ModelEntry| m.id disabled=ctx.running
                value=Signal::derive(move || &MODELS[ctx.choice.get()])
                choices=MODELS.iter().map(|m| (m, m.label)).collect()
                on_pick=move |m: &'static ModelEntry| { if let Some(i) = MODELS.iter().position(|n| n.id == m.id) { ctx.choose(i) } }/>
            <span class="note" data-testid="model-about">{move || MODELS[ctx.choice.get()].about}</span>
        </div>
        <div class="controls inline" data-testid="decoding" style:display=move || if ctx.searching.get() { "none" } else { "" }>
            <Choice label="Decoding" testid="decode-mode" name=|&greedy: &bool| if greedy { "greedy" } else { "beam" }
                value=Signal::derive(move || c().greedy) choices=vec![(false, "beam search"), (true, "greedy")]
                on_pick=move |g| set(&|c| c.greedy = g)/>
            <NumberField label="beam" testid="beam" field=bounds::summarize::BEAM value=Signal::derive(move || c().beam) error=ctx.error on_set=move |v| { ctx.error.set(None); set(&|c| c.beam = v) }/>
            <NumberField label="min length" testid="min-len" field=bounds::summarize::MIN_LEN value=Signal::derive(move || c().min_len) error=ctx.error on_set=move |v| { ctx.error.set(None); set(&|c| c.min_len = v) }/>
            <NumberField label="max length" testid="max-len" field=bounds::summarize::MAX_LEN value=Signal::derive(move || c().max_len) error=ctx.error on_set=move |v| { ctx.error.set(None); set(&|c| c.max_len = v) }/>
            <NumberField label="target length" testid="target-len" field=bounds::summarize::TARGET_LEN title="exactly this many words; 0: min and max length apply" value=Signal::derive(move || c().target_len.unwrap_or(0)) error=ctx.error on_set=move |v| { ctx.error.set(None); set(&|c| c.target_len = (v > 0).then_some(v)) }/>
            <Check label="no repeated trigram" testid="no-repeat-trigram" value=Signal::derive(move || c().no_repeat_trigram) on_set=move |v| set(&|c| c.no_repeat_trigram = v)/>
            <Check label="no repeated word" testid="no-repeat-word" value=Signal::derive(move || c().no_repeat_word) on_set=move |v| set(&|c| c.no_repeat_word = v)/>
        </div>
        <div class="controls inline">
            <button data-testid="summarize" disabled=move || !ready() || ctx.running.get() on:click=move |_| ctx.run()>"Summarize"</button>
        </div>
    }
}

/// The backend, the model's download, the decoding's progress, notes and errors.
#[component]
fn Status(ctx: Ctx) -> impl IntoView {
    let c = move || ctx.controls.get();
    let load_text = move || match ctx.load.get() {
        LoadState::Idle => "not loaded".to_string(),
        LoadState::Loading { received, total } => {
            format!("downloading the model: {}", super::megabytes(received, total))
        }
        LoadState::Ready { ms, bytes } => {
            format!("model ready ({:.1} MB, loaded in {:.2} s)", bytes as f64 / 1e6, ms / 1e3)
        }
        LoadState::Failed(e) => e,
    };
    view! {
        <div class="stats">
            <span>"Backend: " <b data-testid="backend">{move || ctx.backend.get().map(|b| b.to_string()).unwrap_or_else(|| "starting…".into())}</b></span>
            <span data-testid="model-status">{load_text}</span>
            <span>"Summary time: " <b data-testid="summarize-ms">{move || ctx.summarize_ms.get().map(|t| format!("{:.0} ms", t)).unwrap_or_else(|| "–".into())}</b></span>
            <span data-testid="decode-progress">{move || ctx.running.get().then(|| format!("decoding: step {} of at most {}", ctx.progress.get() + 1, c().target_len.unwrap_or(c().max_len)))}</span>
        </div>
        <p class="note" data-testid="backend-note">{move || ctx.backend_note.get()}</p>
        <p class="error" role="alert" data-testid="error">{move || ctx.error.get()}</p>
        <ul class="note" data-testid="notes">{move || ctx.notes.get().into_iter().map(|n| view! { <li>{n}</li> }).collect_view()}</ul>
    }
}

/// The summary coloured by p_gen, its buttons, the attention heatmap and the article as read.
#[component]
fn Output(ctx: Ctx) -> impl IntoView {
    let summary_words = move || {
        ctx.summary.get().map(|s| {
            s.tokens
                .iter()
                .zip(&s.p_gen)
                .enumerate()
                .map(|(i, (tok, &p))| {
                    let space = if i == 0 || ATTACHED.contains(&tok.as_str()) { "" } else { " " };
                    view! {
                        {space}
                        <span class="word" tabindex="0" data-pgen=format!("{p:.4}") data-token=tok.clone() style=format!("background:{}", pgen_color(p))
                            class:focused=move || ctx.focus.get() == Some(i)
                            title=format!("p_gen {p:.2}: {}", if p < 0.5 { "mostly copied" } else { "mostly generated" })
                            on:mouseenter=move |_| ctx.focus.set(Some(i)) on:focus=move |_| ctx.focus.set(Some(i))>{tok.clone()}</span>
                    }
                })
                .collect_view()
        })
    };
    let source_words = move || {
        ctx.summary.get().map(|s| {
            s.source
                .iter()
                .enumerate()
                .map(|(j, tok)| {
                    let s = s.clone();
                    let weight = move || {
                        ctx.focus.get().and_then(|i| s.attention.get(i)).map(|row| {
                            let max = row.iter().cloned().fold(1e-12f32, f32::max);
                            row.get(j).map(|a| a / max).unwrap_or(0.0)
                        })
                    };
                    let weight2 = weight.clone();
                    view! { <span class="src" data-attn=move || weight().map(|w| format!("{w:.3}")) style=move || weight2().map(|w| format!("background:rgba(224,123,0,{:.3})", w * 0.8)).unwrap_or_default()>{tok.clone()}</span>" " }
                })
                .collect_view()
        })
    };
    let reading = move || ctx.summary.get().map(|s| detokenize(&s.tokens)).unwrap_or_default();
    // The clipboard answers with a promise: the button says "Copied" only when it resolved, and a
    // refusal (no permission, an insecure page) is shown with the browser's reason.
    let copy = move |_| {
        let text = reading();
        let Some(w) = web_sys::window() else { return };
        let promise = w.navigator().clipboard().write_text(&text);
        ctx.copied.set(None);
        wasm_bindgen_futures::spawn_local(async move {
            match wasm_bindgen_futures::JsFuture::from(promise).await {
                Ok(_) => ctx.copied.set(Some(true)),
                Err(e) => {
                    ctx.copied.set(Some(false));
                    ctx.error.set(Some(format!("Could not copy to the clipboard: {}.", js_err(e))));
                }
            }
        });
    };
    let saved = move |r: Result<(), String>| {
        if let Err(e) = r {
            ctx.error.set(Some(format!("Could not save: {e}.")));
        }
    };
    let download_txt = move |_| saved(save("summary.txt", "text/plain", &reading()));
    let download_json = move |_| {
        if let Some(s) = ctx.summary.get_untracked() {
            saved(save("summary.json", "application/json", &explain_json(&s)))
        }
    };

    view! {
        <h3>"Summary"</h3>
        <p class="legend-line">
            <span class="swatch" style=format!("background:{}", pgen_color(0.0))></span>" copied from the article (p_gen 0) "
            <span class="swatch" style=format!("background:{}", pgen_color(0.5))></span>" 0.5 "
            <span class="swatch" style=format!("background:{}", pgen_color(1.0))></span>" generated from the vocabulary (p_gen 1)"
        </p>
        <p class="summary" data-testid="summary" on:mouseleave=move |_| ctx.focus.set(None)>{summary_words}</p>
        <p class="reading" data-testid="summary-text">{reading}</p>
        <div class="buttons" class:hidden=move || ctx.summary.get().is_none()>
            <button data-testid="copy" on:click=copy>{move || match ctx.copied.get() { Some(true) => "Copied", Some(false) => "Copy failed", None => "Copy" }}</button>
            <button data-testid="download-txt" on:click=download_txt>"Download .txt"</button>
            <button data-testid="download-json" on:click=download_json>"Download .json (p_gen, attention)"</button>
            <Check label="attention heatmap" testid="show-heatmap" value=ctx.heatmap on_set=move |v| { ctx.heatmap.set(v); ctx.draw_heatmap() }/>
        </div>
        <figure class:hidden=move || !ctx.heatmap.get() || ctx.summary.get().is_none()>
            <canvas node_ref=ctx.canvas class="heatmap" data-testid="heatmap"></canvas>
            <figcaption class="legend-line">"Rows: summary words, top to bottom. Columns: the article words the model read, left to right. Darker: more attention (each row scaled to its largest weight)."</figcaption>
        </figure>
        <h3>"The article as the model read it"</h3>
        <p class="legend-line">"Orange: attention of the focused summary word."</p>
        <p class="source" data-testid="source-view">{source_words}</p>
    }
}
