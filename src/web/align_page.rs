//! The Align tab: word translation without a dictionary, live (MUSE with the GAN lab's four
//! objectives). Two clouds, the 2-D toy or a PCA view of the es-en vectors, move as the map W
//! trains on WebGPU or the CPU. The component holds signals and calls `crate::align`: the
//! training step is `align_step`, refinement is `Refinement`, P@1 is `evaluate` on the
//! page's own copy of the lexicon's held-out words. It has no training logic.

use std::rc::Rc;

use burn::module::Module;
use burn::tensor::Device;
use leptos::prelude::*;
use leptos::task::spawn_local;
use web_sys::HtmlCanvasElement;

use super::canvas;
use super::chart::{LineChart, Series};
use super::driver::{Trainer, push_thinned};
use super::{Check, Choice, NumberField, now_ms, yield_to_browser};
use crate::align::adversarial::{
    AdversarialConfig, AdversarialState, LinearMap, Spaces, align_step,
};
use crate::align::embed::identical_pairs;
use crate::align::linalg::Square;
use crate::align::retrieval::{Retrieval, Retriever, precision};
use crate::align::{
    CRITERION_WORDS, CSLS, Problem, Refinement, evaluate, map_rows, principal_plane,
};
use crate::bounds;
use crate::device::Backend;
use crate::gan::Objective;

/// The page's copy of the es-en vectors and lexicon (`earthmover align export-web`).
const DATA_URL: &str = "public/align/es-en.safetensors";
/// The toy's data seed (the same as `align train --toy --data-seed 1`).
const TOY_SEED: u64 = 1;
/// Redraw and re-measure P@1 at most this often while training (milliseconds).
const VIEW_INTERVAL_MS: f64 = 600.0;
/// Words of each language drawn in the PCA view.
const SHOWN: usize = 500;
/// MUSE's refinement rounds, as `align refine`.
const ROUNDS: usize = 5;

/// A problem and the plane it is drawn in.
struct Loaded {
    problem: Problem,
    /// Two axes of the target space (the toy: its own x and y).
    plane: [Vec<f64>; 2],
}

/// The models of the current run.
struct Run {
    config: AdversarialConfig,
    state: AdversarialState,
    spaces: Spaces,
}

/// What the tab aligns.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
enum AlignData {
    /// 120 2-D points and a hidden rotation.
    #[default]
    Toy,
    /// The Spanish and English word vectors.
    EsEn,
}

impl AlignData {
    fn name(&self) -> &'static str {
        match self {
            AlignData::Toy => "toy",
            AlignData::EsEn => "es-en",
        }
    }
}

#[derive(Clone, Copy, Default)]
struct Ctx {
    data: RwSignal<AlignData>,
    objective: RwSignal<Objective>,
    /// Layer normalisation in the critic; the objective's setting until the person changes it.
    layer_norm: RwSignal<bool>,
    seed: RwSignal<u64>,
    budget: RwSignal<u64>,
    /// The models of the current run and the training loop.
    trainer: Trainer<Run>,
    /// A refinement or a training loop holds the models.
    busy: RwSignal<bool>,
    step: RwSignal<u64>,
    p1_nn: RwSignal<Option<f64>>,
    p1_csls: RwSignal<Option<f64>>,
    crit: RwSignal<Option<f64>>,
    /// ‖W − Q‖ when the answer is known (the toy).
    truth: RwSignal<Option<f64>>,
    status: RwSignal<String>,
    error: RwSignal<Option<String>>,
    backend: RwSignal<Option<Backend>>,
    word: RwSignal<String>,
    /// (map update, P@1 by nearest neighbour) at each redraw, and (map update, the critic's
    /// estimate) at each step, for the charts.
    p1_history: RwSignal<Vec<(f64, f64)>>,
    estimate_history: RwSignal<Vec<(f64, f64)>>,
    translations: RwSignal<Vec<String>>,
    device: StoredValue<Option<Device>, LocalStorage>,
    toy: StoredValue<Option<Rc<Loaded>>, LocalStorage>,
    real: StoredValue<Option<Rc<Loaded>>, LocalStorage>,
    /// The map last read back from the device (what the picture and translations use).
    w: StoredValue<Square, LocalStorage>,
    canvas: NodeRef<leptos::html::Canvas>,
    loading: StoredValue<bool>,
}

impl Ctx {
    fn is_toy(self) -> bool {
        self.data.get_untracked() == AlignData::Toy
    }

    fn loaded(self) -> Option<Rc<Loaded>> {
        if self.is_toy() { self.toy.get_value() } else { self.real.get_value() }
    }

    /// The objective's settings for the chosen data: the toy's (2-D) or word vectors'.
    fn defaults(self) -> Option<AdversarialConfig> {
        let name = self.objective.get_untracked().name();
        if self.is_toy() { AdversarialConfig::toy(name) } else { AdversarialConfig::page(name) }
    }

    /// The objective's own layer-norm setting for the chosen data (on for WGAN-GP on word
    /// vectors), which the toggle starts from whenever the objective or the data changes.
    fn default_layer_norm(self) -> bool {
        self.defaults().is_some_and(|c| c.layer_norm)
    }

    fn config(self) -> Result<AdversarialConfig, String> {
        let name = self.objective.get_untracked().name();
        let mut c = self.defaults().ok_or_else(|| format!("unknown objective '{name}'"))?;
        c.seed = self.seed.get_untracked();
        c.layer_norm = self.layer_norm.get_untracked();
        c.validate().map_err(|e| e.to_string())?;
        Ok(c)
    }

    /// Fresh models for the current data and objective; W starts at the identity.
    fn reset(self) {
        // Work begun before (a training loop, a refinement) sees the new generation and drops
        // its models.
        self.trainer.reset(None);
        self.busy.set(false);
        self.step.set(0);
        self.p1_history.set(vec![]);
        self.estimate_history.set(vec![]);
        self.p1_csls.set(None);
        self.crit.set(None);
        let Some(device) = self.device.get_value() else { return };
        let Some(l) = self.loaded() else {
            self.redraw();
            return self.load_real();
        };
        let dim = l.problem.src.dim;
        match self.config() {
            Ok(config) => {
                let w = Square::identity(dim);
                let state = AdversarialState::new(&config, &w, &device);
                let spaces =
                    Spaces::new(&l.problem.src.vectors, &l.problem.tgt.vectors, dim, &device);
                self.trainer.reset(Some(Run { config, state, spaces }));
                self.error.set(None);
                self.status.set(String::new());
                self.show(w, false);
            }
            Err(e) => self.error.set(Some(e)),
        }
    }

    /// Downloads the es-en copy once, then resets onto it.
    fn load_real(self) {
        if self.loading.get_value() {
            return;
        }
        self.loading.set_value(true);
        spawn_local(async move {
            let what = "the Spanish and English vectors";
            let got = super::download_shown(DATA_URL, what, self.status).await.and_then(|bytes| {
                crate::align::bundle::from_bytes(&bytes).map_err(|e| format!("{DATA_URL}: {e}"))
            });
            self.loading.set_value(false);
            match got {
                Ok(b) => {
                    let problem = Problem::real(&b.src, &b.tgt, &b.lexicon, false, 1000, 0);
                    let plane = principal_plane(&problem.tgt);
                    self.real.set_value(Some(Rc::new(Loaded { problem, plane })));
                    self.reset();
                }
                Err(e) => {
                    self.status.set(String::new());
                    self.error.set(Some(format!("could not load the word vectors: {e}")));
                }
            }
        });
    }

    /// Makes `w` the map on show: P@1 by nearest neighbour (cheap, live), with CSLS too when
    /// `csls` (the number the CLI reports), the criterion, the picture and the translations.
    fn show(self, w: Square, csls: bool) {
        let Some(l) = self.loaded() else { return };
        let p = &l.problem;
        let nn = evaluate(&p.src, &p.tgt, &w, &p.test, Retrieval::Nn)[0];
        self.p1_nn.set(Some(nn));
        let step = self.step.get_untracked() as f64;
        self.p1_history.update(|h| {
            if h.last().is_none_or(|l| l.0 < step) {
                h.push((step, nn));
            }
        });
        self.truth.set(p.truth.as_ref().map(|q| q.distance(&w)));
        if csls {
            // One CSLS retriever (its two k-NN passes are the costly part) serves P@1, the
            // criterion and the typed word.
            let mapped = map_rows(&p.src.vectors, &w);
            let r = Retriever::new(&mapped, &p.tgt.vectors, p.src.dim, CSLS);
            self.p1_csls.set(Some(precision(&r, &p.test)[0]));
            self.crit.set(Some(r.criterion(CRITERION_WORDS)));
            self.translate_with(p, &r);
        }
        self.w.set_value(w);
        self.redraw();
    }

    /// The typed word's five best CSLS translations under the shown map.
    fn translate(self) {
        let Some(l) = self.loaded() else { return };
        let p = &l.problem;
        let mapped = self.w.with_value(|w| map_rows(&p.src.vectors, w));
        self.translate_with(p, &Retriever::new(&mapped, &p.tgt.vectors, p.src.dim, CSLS));
        self.redraw();
    }

    /// The typed word's translations by `r` (nothing for an empty box; a word outside the
    /// vocabulary is named in the status line).
    fn translate_with(self, p: &Problem, r: &Retriever<'_>) {
        let word = self.word.get_untracked().trim().to_lowercase();
        let Some(id) = p.src.id(&word) else {
            self.translations.set(vec![]);
            if !word.is_empty() {
                let shown: String = word.chars().take(40).collect();
                let more = if shown.len() < word.len() { "…" } else { "" };
                self.status
                    .set(format!("'{shown}{more}' is not among the {} source words", p.src.len()));
            }
            return;
        };
        let best = r.translate(&[id], 5)[0].iter().map(|&t| p.tgt.words[t].clone()).collect();
        self.translations.set(best);
    }

    fn redraw(self) {
        let Some(c) = self.canvas.get_untracked() else { return };
        let Some(l) = self.loaded() else { return };
        let word = self.word.get_untracked().trim().to_lowercase();
        let translations = self.translations.get_untracked();
        self.w.with_value(|w| draw(&c, &l, w, &word, &translations));
    }

    fn start(self) {
        if self.trainer.running.get_untracked() || self.busy.get_untracked() {
            return;
        }
        if self.step.get_untracked() >= self.budget.get_untracked() {
            self.error
                .set(Some("the run has used its map updates: raise them or press Reset".into()));
            return;
        }
        self.busy.set(true);
        self.error.set(None);
        self.p1_csls.set(None);
        let mut last_view = now_ms();
        self.trainer.start(
            self.error,
            async move || {
                self.train_step().await?;
                if now_ms() - last_view > VIEW_INTERVAL_MS {
                    self.read_back(false).await;
                    last_view = now_ms();
                }
                Ok(self.step.get_untracked() < self.budget.get_untracked())
            },
            async move || {
                self.busy.set(false);
                self.read_back(true).await;
            },
        );
    }

    /// One map update, its report on the charts.
    async fn train_step(self) -> Result<(), String> {
        let lent = self
            .trainer
            .lend(async |mut run: Run| {
                let (state, report) = align_step(run.state, &run.config, &run.spaces);
                run.state = state;
                let values = report.values_async().await;
                let step = run.state.step;
                (Some(run), (step, values))
            })
            .await;
        let Some((step, values)) = lent? else { return Ok(()) };
        let v = values.map_err(|e| format!("{e}. Press Reset to start again."))?;
        if !(v.critic_loss.is_finite() && v.map_loss.is_finite()) {
            return Err(format!(
                "training diverged at map update {step}: a loss became NaN or infinite. Press Reset, or pick another objective."
            ));
        }
        self.step.set(step);
        self.estimate_history.update(|h| push_thinned(h, (step as f64, v.estimate), |_| false));
        Ok(())
    }

    /// Reads W from the device and shows it.
    async fn read_back(self, csls: bool) {
        let w = self.trainer.lend(async |run: Run| {
            let w = run.state.map.square_async().await;
            (Some(run), w)
        });
        match w.await {
            Ok(Some(Ok(w))) => self.show(w, csls),
            Ok(Some(Err(e))) => self.error.set(Some(format!("could not read the map back: {e}"))),
            _ => {}
        }
    }

    /// MUSE's refinement from `w0` (the trained map, or Procrustes on the identical strings),
    /// one round per frame; keeps the round the criterion likes best, as `align refine`.
    fn refine_from(self, w0: Option<Square>) {
        if self.trainer.running.get_untracked() || self.busy.get_untracked() {
            return;
        }
        let Some(l) = self.loaded() else { return };
        self.busy.set(true);
        self.error.set(None);
        let generation = self.trainer.generation();
        spawn_local(async move {
            let p = &l.problem;
            let w = w0.unwrap_or_else(|| self.w.get_value());
            self.status.set("Refining: measuring the start…".into());
            yield_to_browser().await;
            let mut refinement = Refinement::new(&p.src, &p.tgt, w);
            for round in 1..=ROUNDS {
                if !self.trainer.is_current(generation) {
                    return;
                }
                let Some((r, _)) = refinement.step() else { break };
                self.status.set(format!(
                    "Refining: round {round} of {ROUNDS}, Procrustes on {} mutual nearest neighbours",
                    r.pairs
                ));
                yield_to_browser().await;
            }
            if !self.trainer.is_current(generation) {
                return;
            }
            let (best, _) = refinement.finish();
            // Training goes on from the refined map. Without models (none built yet) there is
            // no run to carry on, and the refined map is shown all the same.
            if let Some(device) = self.device.get_value() {
                let map = LinearMap::new(&best, &device).train();
                let _ = self
                    .trainer
                    .lend(async |mut run: Run| {
                        run.state.map = map;
                        (Some(run), ())
                    })
                    .await;
            }
            self.busy.set(false);
            self.status.set("Refined.".into());
            self.show(best, true);
        });
    }

    fn start_from_identical(self) {
        let Some(l) = self.loaded() else { return };
        let (src, tgt) = (&l.problem.src, &l.problem.tgt);
        let pairs = identical_pairs(src, tgt);
        if pairs.is_empty() {
            self.error.set(Some("the two vocabularies share no word".into()));
            return;
        }
        self.refine_from(Some(crate::align::procrustes_from(src, tgt, &pairs)));
    }
}

/// Draws the target words (black) and the mapped source words (orange) in the plane; the
/// toy's points sit on rings so each pair of points keeps its own radius, and W is aligned
/// when every orange point covers its black one. The typed word and its translations are
/// labelled.
fn draw(c: &HtmlCanvasElement, l: &Loaded, w: &Square, word: &str, translations: &[String]) {
    let Some(ctx) = canvas::cleared(c, "#fafafa") else { return };
    let (cw, ch) = (c.width() as f64, c.height() as f64);
    let p = &l.problem;
    let d = p.src.dim;
    let toy = d == 2;
    let n_src = if toy { p.src.len() } else { p.src.len().min(SHOWN) };
    let n_tgt = if toy { p.tgt.len() } else { p.tgt.len().min(SHOWN) };
    let mapped = map_rows(&p.src.vectors[..n_src * d], w);
    let project = |r: &[f32], i: usize| -> (f64, f64) {
        let x: f64 = r.iter().zip(&l.plane[0]).map(|(a, b)| *a as f64 * b).sum();
        let y: f64 = r.iter().zip(&l.plane[1]).map(|(a, b)| *a as f64 * b).sum();
        // The toy: ring i at radius 0.55–0.95, so pairs stay apart from their neighbours.
        let s = if toy { 0.55 + 0.4 * ((i as f64 * 0.618_034) % 1.0) } else { 1.0 };
        (x * s, y * s)
    };
    let tgt: Vec<(f64, f64)> = (0..n_tgt).map(|i| project(p.tgt.row(i), i)).collect();
    let extent =
        if toy { 1.0 } else { tgt.iter().map(|(x, y)| x.abs().max(y.abs())).fold(1e-9, f64::max) };
    let px =
        |(x, y): (f64, f64)| (cw / 2.0 + x / extent * cw * 0.46, ch / 2.0 - y / extent * ch * 0.46);
    canvas::squares(&ctx, "rgba(0,0,0,0.7)", 3.0, tgt.into_iter().map(px));
    let src = (0..n_src).map(|i| px(project(&mapped[i * d..(i + 1) * d], i)));
    canvas::dots(&ctx, "rgba(255,140,0,0.8)", src);
    ctx.set_font("13px sans-serif");
    if let Some(id) = p.src.id(word) {
        let m = map_rows(p.src.row(id), w);
        let (x, y) = px(project(&m, id));
        ctx.set_fill_style_str("rgb(200,80,0)");
        let _ = ctx.fill_text(word, x + 4.0, y - 4.0);
        ctx.set_fill_style_str("rgb(0,0,0)");
        for t in translations.iter().take(3) {
            if let Some(j) = p.tgt.id(t) {
                let (x, y) = px(project(p.tgt.row(j), j));
                let _ = ctx.fill_text(t, x + 4.0, y + 12.0);
            }
        }
    }
}

#[component]
pub fn AlignPage() -> impl IntoView {
    // The toy and the non-saturating GAN (the default objective) to start with.
    let ctx = Ctx {
        layer_norm: RwSignal::new(AdversarialConfig::toy("gan").is_some_and(|c| c.layer_norm)),
        budget: RwSignal::new(1000),
        w: StoredValue::new_local(Square::identity(2)),
        ..Default::default()
    };
    let problem = Problem::toy(TOY_SEED);
    let plane = [vec![1.0, 0.0], vec![0.0, 1.0]];
    ctx.toy.set_value(Some(Rc::new(Loaded { problem, plane })));
    spawn_local(async move {
        let (device, backend, _) = super::shared_device().await;
        ctx.device.set_value(Some(device));
        ctx.backend.set(Some(backend));
        ctx.reset();
    });
    view! {
        <section class="lab">
            <Controls ctx/>
            <Stage ctx/>
            <div class="charts">
                <LineChart title="P@1 (nearest neighbour) while training" series=Signal::derive(move || vec![Series::new("P@1", "#1b7f3b", ctx.p1_history.get())])/>
                <LineChart title="The critic's estimate" series=Signal::derive(move || vec![Series::new(ctx.objective.get().estimate_name(), "#8a3ab9", ctx.estimate_history.get())])/>
            </div>
        </section>
    }
}

/// The data, objective and budget, the buttons, and the translation box.
#[component]
fn Controls(ctx: Ctx) -> impl IntoView {
    let working = move || ctx.trainer.running.get() || ctx.busy.get();
    let [gan, _, wgan, wgan_gp, ct_gan] = Objective::paper_defaults();
    view! {
        <div class="controls">
            <p class="hint">"A linear map W (the generator) moves the source words (orange) onto the target words (black) while a critic tries to tell them apart (MUSE, Conneau et al. 2018, with seed 002's four objectives). Refinement then solves Procrustes on the words that are each other's nearest neighbours."</p>
            <Choice label="Data" testid="align-data" name=AlignData::name value=ctx.data
                choices=vec![(AlignData::Toy, "2-D toy: 120 points and a hidden rotation"), (AlignData::EsEn, "Spanish → English word vectors (2.4 MB)")]
                on_pick=move |v| { ctx.data.set(v); ctx.layer_norm.set(ctx.default_layer_norm()); ctx.word.set(String::new()); ctx.translations.set(vec![]); ctx.reset() }/>
            <Choice label="Objective" testid="align-objective" name=Objective::name value=ctx.objective
                choices=vec![(gan, "GAN (MUSE)"), (wgan, "WGAN (weight clipping)"), (wgan_gp, "WGAN-GP"), (ct_gan, "CT-GAN")]
                on_pick=move |v| { ctx.objective.set(v); ctx.layer_norm.set(ctx.default_layer_norm()); ctx.reset() }/>
            <Check label="layer-normalised critic (seed 002)" testid="align-layer-norm" value=ctx.layer_norm on_set=move |v| { ctx.layer_norm.set(v); ctx.reset() }/>
            <NumberField label="Map updates" testid="align-steps" field=bounds::align::STEPS value=ctx.budget error=ctx.error on_set=move |v| { ctx.budget.set(v) }/>
            <NumberField label="Seed" testid="align-seed" field=bounds::align::SEED value=ctx.seed error=ctx.error on_set=move |v| { ctx.seed.set(v); ctx.reset() }/>
            <div class="buttons">
                <button data-testid="align-train" disabled=working on:click=move |_| ctx.start()>"Train"</button>
                <button data-testid="align-pause" disabled=move || !ctx.trainer.running.get() on:click=move |_| ctx.trainer.running.set(false)>"Pause"</button>
                <button data-testid="align-reset" on:click=move |_| ctx.reset()>"Reset"</button>
                <button data-testid="align-refine" disabled=working on:click=move |_| ctx.refine_from(None)>"Refine (Procrustes)"</button>
                <button data-testid="align-identical" disabled=working class:hidden=move || ctx.data.get() == AlignData::Toy on:click=move |_| ctx.start_from_identical()>"Start from identical strings"</button>
            </div>
            <p class="hint">"The settings are seed 002's for each objective, with a smaller critic (2×64 for the toy, 2×256 for words) so a step stays quick. The CLI's "<code>"earthmover align train --toy"</code>" runs the same toy."</p>
            <p class="hint" data-testid="align-success-rates">"On the Spanish and English vectors (5 seeds, a 2×256 critic, then refinement), the vanilla GAN finds the map in 3 of 5 seeds within 10,000 map updates (4 of 5 with the layer-normalised critic), WGAN in 3 of 5 (1 of 5 with it), WGAN-GP, by default with the layer-normalised critic and λ 0.1, in 4 of 5 within 30,000 (1 within 10,000; at the thesis's λ 0.5, 3 of 5 without layer norm and 2 of 5 with it), and CT-GAN in none."</p>
            <label>"Translate a Spanish word " <input data-testid="align-word" type="text" placeholder="ciudad" prop:value=move || ctx.word.get() on:change=move |ev| { ctx.word.set(event_target_value(&ev)); ctx.translate() }/></label>
            <ol data-testid="align-translations">{move || ctx.translations.get().into_iter().map(|t| view! { <li>{t}</li> }).collect_view()}</ol>
        </div>
    }
}

/// The map's picture and its numbers.
#[component]
fn Stage(ctx: Ctx) -> impl IntoView {
    let pct = |v: Option<f64>| v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "–".into());
    view! {
        <div class="stage">
            <canvas node_ref=ctx.canvas width="480" height="480" data-testid="align-canvas"></canvas>
            <p class="legend-line">{move || if ctx.data.get() == AlignData::Toy { "black: target points · orange: source points mapped by W (each pair on its own ring)" } else { "the 500 most frequent words of each language, in the English vectors' two principal axes · black: English · orange: Spanish mapped by W" }}</p>
            <div class="stats">
                <span>"Backend: " <b data-testid="align-backend">{move || ctx.backend.get().map(|b| b.to_string()).unwrap_or_else(|| "starting…".into())}</b></span>
                <span>"Map updates: " <b data-testid="align-step">{move || ctx.step.get()}</b></span>
                <span>"P@1 (nearest neighbour): " <b data-testid="align-p1-nn">{move || pct(ctx.p1_nn.get())}</b></span>
                <span>"P@1 (CSLS): " <b data-testid="align-p1">{move || pct(ctx.p1_csls.get())}</b></span>
                <span class:hidden=move || ctx.data.get() != AlignData::Toy>"‖W − hidden rotation‖: " <b data-testid="align-truth">{move || ctx.truth.get().map(|v| format!("{v:.4}")).unwrap_or_else(|| "–".into())}</b></span>
                <span>"Criterion: " <b data-testid="align-criterion">{move || ctx.crit.get().map(|v| format!("{v:.4}")).unwrap_or_else(|| "–".into())}</b></span>
            </div>
            <p class="note">{move || if ctx.data.get() == AlignData::Toy { "P@1 counts the points whose best match is their own rotated copy (all 120).".to_string() } else { "P@1 counts the 1,000 held-out Spanish words of the lexicon whose best match is a listed translation.".to_string() }}" CSLS is measured when training stops and after refinement."</p>
            <p class="note" data-testid="align-status">{move || ctx.status.get()}</p>
            <p class="error" role="alert" data-testid="error">{move || ctx.error.get()}</p>
        </div>
    }
}
