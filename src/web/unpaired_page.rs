//! The Unpaired tab: Wang & Lee's unpaired summarization, trained live. A small generator and
//! reconstructor, pretrained natively on Debian package descriptions (`earthmover unpaired
//! bundle`), meet a fresh critic that reads human synopses of *other* packages; the page shows
//! the critic's estimate and the hidden summaries as they change. The component holds signals
//! and calls `crate::unpaired::train::train_step`, the CLI's own step; it has no training logic.
//!
//! The step reads the generator's words back synchronously, which a browser allows on Flex
//! only (a WebGPU read must be awaited), so this tab trains on the CPU.

use std::rc::Rc;

use burn::tensor::Device;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::chart::{LineChart, Series};
use super::driver::{Trainer, push_thinned};
use super::{Choice, NumberField};
use crate::bounds;
use crate::gan::Objective;
use crate::rng::Rng;
use crate::summarize::PointerGenerator;
use crate::summarize::model::Pick;
use crate::summarize::train::frozen;
use crate::summarize::vocab::Vocab;
use crate::unpaired::config::{Method, UnpairedConfig, unpaired_objective};
use crate::unpaired::store::{self, Phase};
use crate::unpaired::train::{Corpus, UnpairedState, summarize_batch, summary_words, train_step};

/// A corpus the tab trains on: pretrained models and a corpus sample (`earthmover unpaired
/// bundle`).
#[derive(Debug)]
struct Setting {
    id: &'static str,
    label: &'static str,
    url: &'static str,
    /// What the documents are, for the intro and the table's header.
    documents: &'static str,
    summaries: &'static str,
}

/// The bundles, the default first.
static SETTINGS: [Setting; 2] = [
    Setting {
        id: "debian",
        label: "Debian package descriptions → synopses",
        url: "public/models/unpaired-lab.safetensors",
        documents: "a Debian package's description",
        summaries: "human-written synopses of other packages",
    },
    Setting {
        id: "news",
        label: "news first sentences → headlines",
        url: "public/models/unpaired-lab-news.safetensors",
        documents: "a news article's first sentence",
        summaries: "highlight sentences written by editors for other articles",
    },
];
/// Documents whose hidden summaries are shown.
const SHOWN: usize = 4;
/// Re-read the shown hidden summaries every this many updates while training.
const VIEW_EVERY: u64 = 10;
/// How a failed download of the bundle begins its message.
const LOAD_FAILED: &str = "could not load the pretrained models";
/// Lines kept in the step log.
const LOG_LINES: usize = 200;

/// What the bundle holds.
struct Lab {
    generator: PointerGenerator,
    reconstructor: PointerGenerator,
    config: UnpairedConfig,
    vocab: Vocab,
    documents: Vec<Vec<String>>,
    summaries: Vec<Vec<String>>,
}

impl Lab {
    fn corpus(&self) -> Corpus<'_> {
        Corpus::new(&self.documents, &self.summaries, &self.vocab)
    }

    /// The generator's greedy hidden summaries of the shown documents.
    fn hidden(
        &self,
        state: &UnpairedState,
        config: &UnpairedConfig,
    ) -> Result<Vec<String>, String> {
        let docs: Vec<Vec<&str>> = self.documents[..SHOWN.min(self.documents.len())]
            .iter()
            .map(|d| d.iter().map(String::as_str).collect())
            .collect();
        let run = summarize_batch(
            &frozen(&state.generator),
            &docs,
            config,
            &self.vocab,
            Pick::Greedy,
            &mut Rng::new(0),
        )
        .map_err(|e| e.to_string())?;
        Ok(run.words.iter().map(|w| summary_words(w, &self.vocab).join(" ")).collect())
    }
}

/// One shown document: its words, its hidden summary before training, and now.
#[derive(Clone, Debug, PartialEq)]
struct Shown {
    document: String,
    before: String,
    now: String,
}

#[derive(Clone, Copy, Default)]
struct Ctx {
    /// Index into [`SETTINGS`].
    setting: RwSignal<usize>,
    method: RwSignal<Method>,
    objective: RwSignal<Objective>,
    budget: RwSignal<u64>,
    /// The GAN phase's models and config, and the training loop.
    trainer: Trainer<(UnpairedState, UnpairedConfig)>,
    step: RwSignal<u64>,
    estimate: RwSignal<Option<f64>>,
    reconstruction: RwSignal<Option<f64>>,
    estimates: RwSignal<Vec<(f64, f64)>>,
    reconstructions: RwSignal<Vec<(f64, f64)>>,
    shown: RwSignal<Vec<Shown>>,
    log: RwSignal<Vec<String>>,
    status: RwSignal<String>,
    error: RwSignal<Option<String>>,
    /// The loaded bundle, with the index of its setting.
    lab: StoredValue<Option<(usize, Rc<Lab>)>, LocalStorage>,
    loading: StoredValue<bool>,
}

impl Ctx {
    /// A fresh run, as the person asked (Reset, another method, objective or corpus): earlier
    /// messages go.
    fn reset(self) {
        self.error.set(None);
        self.rebuild();
    }

    /// Fresh critic and optimizers from the pretrained models, with the chosen method and
    /// objective (what `earthmover unpaired train --from <bundle>` starts with). A message
    /// shown meanwhile (a field refused while the bundle downloaded) stays.
    fn rebuild(self) {
        self.trainer.reset(None);
        self.step.set(0);
        self.estimate.set(None);
        self.reconstruction.set(None);
        self.estimates.set(vec![]);
        self.reconstructions.set(vec![]);
        self.log.set(vec![]);
        let Some(lab) = self.current() else { return self.load() };
        let (method, objective) = (self.method.get_untracked(), self.objective.get_untracked());
        let config = UnpairedConfig { method, objective, ..lab.config.clone() };
        let (generator, reconstructor) = (lab.generator.clone(), lab.reconstructor.clone());
        let state = UnpairedState::new(generator, reconstructor, &config, &Device::flex());
        match lab.hidden(&state, &config) {
            Ok(hidden) => self.shown.set(
                lab.documents
                    .iter()
                    .zip(hidden)
                    .map(|(d, h)| Shown { document: d.join(" "), before: h.clone(), now: h })
                    .collect(),
            ),
            Err(e) => self.error.set(Some(e)),
        }
        self.trainer.reset(Some((state, config)));
        self.status.set(String::new());
    }

    /// The loaded bundle, if it is the chosen setting's.
    fn current(self) -> Option<Rc<Lab>> {
        let chosen = self.setting.get_untracked();
        self.lab.get_value().filter(|(i, _)| *i == chosen).map(|(_, lab)| lab)
    }

    /// Switches to another corpus: its bundle downloads, then the run resets onto it.
    fn choose(self, i: usize) {
        if i < SETTINGS.len() && i != self.setting.get_untracked() {
            self.setting.set(i);
            self.shown.set(vec![]);
            self.reset();
        }
    }

    /// Downloads the chosen setting's bundle, then resets onto it (unless the choice changed
    /// meanwhile: then the newer choice's download follows).
    fn load(self) {
        if self.loading.get_value() {
            return;
        }
        self.loading.set_value(true);
        let chosen = self.setting.get_untracked();
        let data_url = SETTINGS[chosen].url;
        spawn_local(async move {
            let what = "the pretrained models";
            let got = super::download_shown(data_url, what, self.status).await.and_then(|bytes| {
                let l = store::from_bytes(&bytes, &Device::flex())
                    .map_err(|e| format!("{data_url}: {e}"))?;
                let (documents, summaries) =
                    store::bundle_corpus(&l.metadata).map_err(|e| format!("{data_url}: {e}"))?;
                let Phase::Pretrain { generator, reconstructor } = l.phase else {
                    return Err(format!("{data_url} is not a pretrained run"));
                };
                Ok(Lab {
                    generator: generator.model,
                    reconstructor: reconstructor.model,
                    config: l.config,
                    vocab: l.vocab,
                    documents,
                    summaries,
                })
            });
            self.loading.set_value(false);
            match got {
                Ok(lab) => {
                    self.lab.set_value(Some((chosen, Rc::new(lab))));
                    // An earlier attempt's failure no longer holds; a field's message does.
                    if self.error.get_untracked().is_some_and(|e| e.starts_with(LOAD_FAILED)) {
                        self.error.set(None);
                    }
                    self.rebuild();
                }
                Err(e) => {
                    self.status.set(String::new());
                    self.error.set(Some(format!("{LOAD_FAILED}: {e}")));
                }
            }
        });
    }

    fn start(self) {
        if self.trainer.running.get_untracked() {
            return;
        }
        if self.step.get_untracked() >= self.budget.get_untracked() {
            self.error.set(Some("the run has used its updates: raise them or press Reset".into()));
            return;
        }
        let Some(lab) = self.current() else { return self.load() };
        self.error.set(None);
        let end = lab.clone();
        self.trainer.start(
            self.error,
            async move || {
                self.train_step(&lab).await?;
                Ok(self.step.get_untracked() < self.budget.get_untracked())
            },
            async move || {
                self.view(&end);
            },
        );
    }

    /// One GAN-phase update, its report on the charts and in the log.
    async fn train_step(self, lab: &Lab) -> Result<(), String> {
        let corpus = lab.corpus();
        let lent = self
            .trainer
            .lend(async |(state, config): (UnpairedState, UnpairedConfig)| {
                let at = state.step + 1;
                let stopped = |e: &dyn std::fmt::Display| {
                    format!("training stopped at update {at}: {e}. Press Reset.")
                };
                match train_step(state, &config, &corpus) {
                    Ok((state, report)) => {
                        let values = report.values_async().await.map_err(|e| stopped(&e));
                        (Some((state, config)), values.map(|v| (at, v, report.samples)))
                    }
                    Err(e) => (None, Err(stopped(&e))),
                }
            })
            .await;
        let Some(lent) = lent? else { return Ok(()) };
        let (step, v, samples) = lent?;
        let (estimate, reconstruction) = (v.estimate, v.reconstruction);
        if !v.all_finite() {
            return Err(format!(
                "training diverged at update {step}: a loss became NaN. Press Reset, or pick another objective."
            ));
        }
        self.step.set(step);
        self.estimate.set(Some(estimate));
        self.reconstruction.set(Some(reconstruction));
        self.estimates.update(|h| push_thinned(h, (step as f64, estimate), |_| false));
        self.reconstructions.update(|h| push_thinned(h, (step as f64, reconstruction), |_| false));
        let sample = samples.first().map(|w| summary_words(w, &lab.vocab).join(" "));
        self.log.update(|l| {
            l.push(format!(
                "{step}\t{estimate:.6}\t{reconstruction:.6}\t{}",
                sample.unwrap_or_default()
            ));
            if l.len() > LOG_LINES {
                l.remove(0);
            }
        });
        if step % VIEW_EVERY == 0 {
            self.view(lab);
        }
        Ok(())
    }

    /// Re-reads the shown documents' hidden summaries.
    fn view(self, lab: &Lab) {
        match self.trainer.with(|(s, c)| lab.hidden(s, c)) {
            Some(Ok(now)) => self.shown.update(|shown| {
                for (s, n) in shown.iter_mut().zip(now) {
                    s.now = n;
                }
            }),
            Some(Err(e)) => self.error.set(Some(e)),
            None => {}
        }
    }
}

#[component]
pub fn UnpairedPage(#[prop(into)] visible: Signal<bool>) -> impl IntoView {
    // The first corpus, method 1 (the default) and WGAN-GP at the paper's λ.
    let ctx = Ctx {
        objective: RwSignal::new(Objective::WganGp { lambda: 10.0 }),
        budget: RwSignal::new(300),
        ..Default::default()
    };
    // The bundle downloads when the tab is first opened.
    Effect::new(move |_| {
        if visible.get() && ctx.current().is_none() {
            ctx.load();
        }
    });
    view! {
        <section class="lab">
            <Controls ctx/>
            <Stage ctx/>
            <Charts ctx/>
        </section>
    }
}

/// The corpus, method, objective and budget, and the buttons.
#[component]
fn Controls(ctx: Ctx) -> impl IntoView {
    let ready = move || ctx.step.get() == 0 && ctx.shown.get().is_empty();
    let [gan, _, wgan, wgan_gp, ct_gan] = Objective::paper_defaults().map(unpaired_objective);
    view! {
        <div class="controls">
            <p class="hint">{move || { let s = &SETTINGS[ctx.setting.get()]; format!("Unpaired summarization (Wang & Lee 2018). A generator writes a short hidden summary of {}; a reconstructor must rebuild the document from it; a critic, shown {}, pushes the hidden summaries to read like them. No document is ever paired with its own summary.", s.documents, s.summaries) }}</p>
            <Choice label="Corpus" testid="unpaired-corpus" name=|s: &&Setting| s.id disabled=ctx.trainer.running
                value=Signal::derive(move || &SETTINGS[ctx.setting.get()])
                choices=SETTINGS.iter().map(|s| (s, s.label)).collect()
                on_pick=move |s: &'static Setting| { if let Some(i) = SETTINGS.iter().position(|t| t.id == s.id) { ctx.choose(i) } }/>
            <Choice label="Method" testid="unpaired-method" name=|m: &Method| m.name() value=ctx.method
                choices=vec![(Method::Distributions, "1: the critic reads the word distributions"), (Method::Reinforce, "2: adversarial REINFORCE (sampled words)")]
                on_pick=move |v| { ctx.method.set(v); ctx.reset() }/>
            <Choice label="Critic objective" testid="unpaired-objective" name=Objective::name value=ctx.objective
                choices=vec![(wgan_gp, "WGAN-GP"), (ct_gan, "CT-GAN"), (wgan, "WGAN (weight clipping)"), (gan, "GAN (Jensen–Shannon)")]
                on_pick=move |v| { ctx.objective.set(v); ctx.reset() }/>
            <NumberField label="Generator updates" testid="unpaired-steps" field=bounds::unpaired::STEPS value=ctx.budget error=ctx.error on_set=move |v| { ctx.budget.set(v) }/>
            <div class="buttons">
                <button data-testid="unpaired-train" disabled=move || ctx.trainer.running.get() || ready() on:click=move |_| ctx.start()>"Train"</button>
                <button data-testid="unpaired-pause" disabled=move || !ctx.trainer.running.get() on:click=move |_| ctx.trainer.running.set(false)>"Pause"</button>
                <button data-testid="unpaired-reset" on:click=move |_| ctx.reset()>"Reset"</button>
            </div>
            <p class="hint">"The models are small (embeddings and LSTMs of 64, a vocabulary of 4,000 words), pretrained for a few minutes with "<code>"earthmover unpaired pretrain"</code>"; each update here is the CLI's "<code>"unpaired train"</code>" step (3 critic updates, then the generator and the reconstructor), on the CPU. The full-size run and its ROUGE are in the README."</p>
        </div>
    }
}

/// The run's numbers and the documents with their hidden summaries before and now.
#[component]
fn Stage(ctx: Ctx) -> impl IntoView {
    let num = |v: Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or_else(|| "–".into());
    view! {
        <div class="stage">
            <div class="stats">
                <span>"Backend: " <b data-testid="unpaired-backend">"CPU (Flex)"</b></span>
                <span>"Generator updates: " <b data-testid="unpaired-step">{move || ctx.step.get()}</b></span>
                <span>"Critic's estimate: " <b data-testid="unpaired-estimate">{move || num(ctx.estimate.get())}</b></span>
                <span>"Reconstruction NLL: " <b data-testid="unpaired-reconstruction">{move || num(ctx.reconstruction.get())}</b></span>
            </div>
            <p class="note" data-testid="unpaired-status">{move || ctx.status.get()}</p>
            <p class="error" role="alert" data-testid="error">{move || ctx.error.get()}</p>
            <table class="samples" data-testid="unpaired-samples">
                <thead><tr><th>{move || if ctx.setting.get() == 0 { "description (the document)" } else { "first sentence (the document)" }}</th><th>"hidden summary before"</th><th>"hidden summary now"</th></tr></thead>
                <tbody>{move || ctx.shown.get().into_iter().map(|s| view! { <tr><td>{s.document}</td><td>{s.before}</td><td data-testid="unpaired-now">{s.now}</td></tr> }).collect_view()}</tbody>
            </table>
        </div>
    }
}

/// The critic's estimate and the reconstruction NLL by update, and the step log.
#[component]
fn Charts(ctx: Ctx) -> impl IntoView {
    view! {
        <div class="charts">
            <LineChart title="The critic's estimate" series=Signal::derive(move || vec![Series::new(ctx.objective.get().estimate_name(), "#8a3ab9", ctx.estimates.get())])/>
            <LineChart title="Reconstruction NLL (per document token)" series=Signal::derive(move || vec![Series::new("NLL", "#1b7f3b", ctx.reconstructions.get())])/>
            <details>
                <summary>"Step log (update · critic's estimate · reconstruction NLL · a sampled hidden summary)"</summary>
                <pre data-testid="unpaired-log">{move || ctx.log.get().join("\n")}</pre>
            </details>
        </div>
    }
}
