//! The GAN lab page: pick data and objective, train live, watch the critic and the metrics.
//! The component holds signals and calls `crate::gan`; it has no training logic.

use burn::tensor::Device;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::canvas;
use super::chart::{LineChart, Series};
use super::driver::{Trainer, push_thinned};
use super::{Check, Choice, NumberField, now_ms};
use crate::bounds::{self, gan};
use crate::device::Backend;
use crate::gan::mlp::MinibatchShape;
use crate::gan::train::{critic_step, generator_step, generator_values_async};
use crate::gan::view::{Snapshot, snapshot};
use crate::gan::{GanConfig, GanState, Objective, StepValues, Tricks, train_step};
use crate::nn::StepError;
use crate::optim::OptimizerConfig;
use crate::toy::{Source, Toy};

/// Points shown and scored per snapshot, and the heatmap's resolution.
const VIEW_SAMPLES: usize = 256;
const GRID: usize = 40;
/// Redraw at most this often while training (milliseconds).
const VIEW_INTERVAL_MS: f64 = 400.0;

struct Lab {
    state: GanState,
    config: GanConfig,
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Point {
    step: u64,
    values: StepValues,
    w1: Option<f64>,
    modes: Option<usize>,
}

/// What the lab trains on: a toy distribution, or points drawn on the canvas.
#[derive(Clone, Copy, Debug, PartialEq)]
enum LabData {
    Toy(Toy),
    Drawn,
}

impl LabData {
    fn name(&self) -> &'static str {
        match self {
            LabData::Toy(t) => t.name(),
            LabData::Drawn => "drawn",
        }
    }
}

/// The person's settings, as plain values.
#[derive(Clone, Debug, PartialEq)]
struct Settings {
    data: LabData,
    /// The objective's kind; its λ or clip is `lambda` or `clip`.
    objective: Objective,
    /// The optimizer's kind; its rate and βs are `lr`, `beta1` and `beta2`.
    optimizer: OptimizerConfig,
    lr: f64,
    beta1: f64,
    beta2: f64,
    lambda: f64,
    clip: f64,
    n_critic: usize,
    batch: usize,
    hidden: usize,
    depth: usize,
    seed: u64,
    layer_norm: bool,
    label_smoothing: bool,
    feature_matching: bool,
    historical_averaging: bool,
    minibatch_discrimination: bool,
}

impl Default for Settings {
    /// The page's start: WGAN-GP on eight Gaussians.
    fn default() -> Self {
        Settings::paper(Objective::WganGp { lambda: 0.1 }, LabData::Toy(Toy::EightGaussians))
    }
}

impl Settings {
    /// The paper's settings for `loss`, with smaller networks so the page stays quick.
    fn paper(objective: Objective, data: LabData) -> Self {
        let c = GanConfig::paper(objective.clone(), Source::Toy(Toy::EightGaussians));
        let (lambda, clip) = match objective {
            Objective::WganGp { lambda } => (lambda, 0.01),
            Objective::CtGan { lambda_gp, .. } => (lambda_gp, 0.01),
            Objective::Wgan { clip } => (0.1, clip),
            Objective::Gan { .. } => (0.1, 0.01),
        };
        let (beta1, beta2) = match c.critic_optimizer {
            OptimizerConfig::Adam { beta1, beta2, .. } => (beta1, beta2),
            _ => (0.5, 0.9),
        };
        Settings {
            data,
            objective,
            optimizer: c.critic_optimizer.clone(),
            lr: c.critic_optimizer.lr() * 10.0,
            beta1,
            beta2,
            lambda,
            clip,
            n_critic: c.n_critic,
            batch: 128,
            hidden: 128,
            depth: 3,
            seed: 0,
            layer_norm: false,
            label_smoothing: false,
            feature_matching: false,
            historical_averaging: false,
            minibatch_discrimination: false,
        }
    }

    /// The config these settings describe, refused if one step would be too much work for the
    /// page on this backend (see `crate::bounds`).
    fn config(&self, drawn: &[[f32; 2]], on_gpu: bool) -> Result<GanConfig, String> {
        let data = match self.data {
            LabData::Toy(t) => Source::Toy(t),
            LabData::Drawn => Source::Drawn(drawn.to_vec()),
        };
        let mut objective = self.objective.clone();
        match &mut objective {
            Objective::WganGp { lambda } => *lambda = self.lambda,
            Objective::CtGan { lambda_gp, .. } => *lambda_gp = self.lambda,
            Objective::Wgan { clip } => *clip = self.clip,
            Objective::Gan { .. } => {}
        }
        let mut opt = self.optimizer.clone().with_lr(self.lr);
        if let OptimizerConfig::Adam { beta1, beta2, .. } = &mut opt {
            (*beta1, *beta2) = (self.beta1, self.beta2);
        }
        let mut c = GanConfig::paper(objective, data);
        c.critic_optimizer = opt.clone();
        c.generator_optimizer = opt;
        c.n_critic = self.n_critic;
        c.batch_size = self.batch;
        c.hidden = self.hidden;
        c.depth = self.depth;
        c.seed = self.seed;
        c.critic_layer_norm = self.layer_norm;
        c.tricks = Tricks {
            label_smoothing: self.label_smoothing.then_some(0.9),
            feature_matching: self.feature_matching,
            historical_averaging: self.historical_averaging.then_some(1e-3),
            // Fewer kernels than Salimans et al.'s 100 keeps the page's [B, B, kernels, 5] cheap.
            minibatch_discrimination: self
                .minibatch_discrimination
                .then_some(MinibatchShape { kernels: 10, dims: 5 }),
        };
        c.validate().map_err(|e| e.to_string())?;
        let mbd = c.tricks.minibatch_discrimination.map(|m| (m.kernels, m.dims));
        let cost = bounds::gan_step_cost(c.batch_size, c.hidden, c.depth, c.n_critic, mbd);
        bounds::check_gan_step(cost, on_gpu).map_err(|e| e.to_string())?;
        Ok(c)
    }
}

/// What the stats line shows.
#[derive(Clone, Copy, Default)]
struct Stats {
    step: RwSignal<u64>,
    w1: RwSignal<Option<f64>>,
    modes: RwSignal<Option<(usize, usize, f64)>>,
    backend: RwSignal<Option<Backend>>,
    backend_note: RwSignal<Option<String>>,
    steps_per_sec: RwSignal<f64>,
}

/// Handles the page's callbacks share; all are `Copy`.
#[derive(Clone, Copy, Default)]
struct Ctx {
    settings: RwSignal<Settings>,
    drawn: RwSignal<Vec<[f32; 2]>>,
    /// The models and the training loop.
    trainer: Trainer<Lab>,
    /// A step holds the models (a button's step, or the training loop's).
    busy: RwSignal<bool>,
    stats: Stats,
    /// The charts' points, thinned.
    history: RwSignal<Vec<Point>>,
    error: RwSignal<Option<String>>,
    arrows: RwSignal<bool>,
    device: StoredValue<Option<Device>, LocalStorage>,
    last_snapshot: StoredValue<Option<Snapshot>, LocalStorage>,
    canvas: NodeRef<leptos::html::Canvas>,
}

impl Ctx {
    fn redraw(self) {
        if let Some(c) = self.canvas.get_untracked() {
            let drawn = self.drawn.get_untracked();
            let arrows = self.arrows.get_untracked();
            self.last_snapshot.with_value(|s| canvas::draw(&c, s.as_ref(), &drawn, arrows));
        }
    }

    /// Builds fresh models from the settings; stops any running loop.
    fn reset(self) {
        self.stats.step.set(0);
        self.stats.w1.set(None);
        self.stats.modes.set(None);
        self.history.set(vec![]);
        self.stats.steps_per_sec.set(0.0);
        self.last_snapshot.set_value(None);
        let Some(device) = self.device.get_value() else {
            return self.trainer.reset(None);
        };
        let on_gpu = self.stats.backend.get_untracked() == Some(Backend::WebGpu);
        match self.settings.get_untracked().config(&self.drawn.get_untracked(), on_gpu) {
            Ok(config) => {
                self.error.set(None);
                self.trainer.reset(Some(Lab { state: GanState::new(&config, &device), config }));
                spawn_local(self.view());
            }
            Err(e) => {
                self.trainer.reset(None);
                self.error.set(Some(e));
            }
        }
        self.redraw();
    }

    /// Reads a snapshot of the current models and redraws (nothing after a Reset meanwhile:
    /// those models and their picture are stale).
    async fn view(self) {
        let snap = self
            .trainer
            .lend(async |lab: Lab| {
                let snap = snapshot(&lab.state, &lab.config, VIEW_SAMPLES, GRID).await;
                (Some(lab), snap)
            })
            .await;
        if let Ok(Some(snap)) = snap {
            self.show(snap);
        }
    }

    fn show(self, snap: Result<Snapshot, StepError>) {
        match snap {
            Ok(s) => {
                self.stats.w1.set(Some(s.w1));
                self.stats.modes.set(s.modes.as_ref().map(|m| (m.covered, m.total, m.hq)));
                self.history.update(|h| {
                    if let Some(p) = h.iter_mut().rev().find(|p| p.step == s.step) {
                        p.w1 = Some(s.w1);
                        p.modes = s.modes.as_ref().map(|m| m.covered);
                    }
                });
                self.last_snapshot.set_value(Some(s));
                self.redraw();
            }
            Err(e) => {
                self.error.set(Some(format!("could not read the models back from the device: {e}")))
            }
        }
    }

    /// Runs one of the step functions on the current models.
    async fn one(self, which: StepKind) -> Result<(), String> {
        self.busy.set(true);
        let r = self.one_inner(which).await;
        self.busy.set(false);
        r
    }

    async fn one_inner(self, which: StepKind) -> Result<(), String> {
        let lent = self
            .trainer
            .lend(async |Lab { state, config }: Lab| {
                let data = &config.data;
                let (state, values) = match which {
                    StepKind::Both => {
                        let (state, report) = train_step(state, &config, data);
                        (state, report.values_async().await)
                    }
                    StepKind::Critic => {
                        let (state, report) = critic_step(state, &config, data);
                        (state, report.values_async().await)
                    }
                    StepKind::Generator => {
                        let (state, loss) = generator_step(state, &config, data);
                        (state, generator_values_async(&loss).await)
                    }
                };
                let step = state.step;
                (Some(Lab { state, config }), (step, values))
            })
            .await;
        // None: a Reset came meanwhile, and the stale models were dropped.
        let Some((step, values)) = lent? else { return Ok(()) };
        let values = values.map_err(|e| format!("{e}. Press Reset to start again."))?;
        let diverged = match which {
            StepKind::Both => !values.all_finite(),
            StepKind::Critic => !values.critic_loss.is_finite(),
            StepKind::Generator => !values.generator_loss.is_finite(),
        };
        if diverged {
            return Err(format!(
                "training diverged at step {step}: a loss became NaN or infinite. Lower the learning rate and press Reset."
            ));
        }
        self.stats.step.set(step);
        // The thinned chart keeps the points that carry a W₁ measurement.
        self.history.update(|h| {
            push_thinned(h, Point { step, values, w1: None, modes: None }, |p| p.w1.is_some())
        });
        Ok(())
    }

    /// Trains until Pause or Reset, measuring the steps per second and redrawing every
    /// [`VIEW_INTERVAL_MS`].
    fn start(self) {
        if self.busy.get_untracked() {
            return;
        }
        let mut last_view = now_ms();
        let mut window: Vec<f64> = vec![];
        self.trainer.start(
            self.error,
            async move || {
                let t0 = now_ms();
                self.one(StepKind::Both).await?;
                let t1 = now_ms();
                window.push(t1 - t0);
                if window.len() > 20 {
                    window.remove(0);
                }
                let mean = window.iter().sum::<f64>() / window.len() as f64;
                self.stats.steps_per_sec.set(if mean > 0.0 { 1000.0 / mean } else { 0.0 });
                if t1 - last_view > VIEW_INTERVAL_MS {
                    self.view().await;
                    last_view = now_ms();
                }
                Ok(true)
            },
            async || {},
        );
    }
}

#[derive(Clone, Copy)]
enum StepKind {
    Critic,
    Generator,
    Both,
}

#[component]
pub fn GanLab() -> impl IntoView {
    let ctx = Ctx { arrows: RwSignal::new(true), ..Default::default() };
    spawn_local(async move {
        let (device, backend, why) = super::shared_device().await;
        ctx.device.set_value(Some(device));
        ctx.stats.backend.set(Some(backend));
        ctx.stats.backend_note.set(why);
        ctx.reset();
    });
    view! {
        <section class="lab">
            <Controls ctx/>
            <div class="stage">
                <Stage ctx/>
                <LabStats stats=ctx.stats/>
                <p class="error" role="alert" data-testid="error">{move || ctx.error.get()}</p>
            </div>
            <Charts ctx/>
        </section>
    }
}

/// The settings and the buttons. A changed setting restarts the run.
#[component]
fn Controls(ctx: Ctx) -> impl IntoView {
    let s = move || ctx.settings.get();
    let set = move |f: &dyn Fn(&mut Settings)| {
        ctx.settings.update(|s| f(s));
        ctx.reset();
    };
    let step_button = move |which: StepKind| {
        move |_| {
            if ctx.trainer.running.get_untracked() || ctx.busy.get_untracked() {
                return;
            }
            spawn_local(async move {
                match ctx.one(which).await {
                    Ok(()) => spawn_local(ctx.view()),
                    Err(e) => ctx.error.set(Some(e)),
                }
            });
        }
    };
    let working = move || ctx.trainer.running.get() || ctx.busy.get();
    view! {
        <div class="controls">
            <Choice label="Data" testid="data-select" name=LabData::name value=Signal::derive(move || s().data)
                choices=Toy::ALL.iter().map(|&t| (LabData::Toy(t), t.label())).chain([(LabData::Drawn, "Draw your own (click the canvas)")]).collect()
                on_pick=move |v| set(&|s| s.data = v)/>
            <Choice label="Objective" testid="loss-select" name=Objective::name value=Signal::derive(move || s().objective)
                choices=Objective::paper_defaults().into_iter().zip(["GAN (non-saturating)", "GAN (minimax)", "WGAN (weight clipping)", "WGAN-GP", "CT-GAN"]).collect()
                on_pick=move |v| { let data = s().data; set(&|st| *st = Settings { seed: st.seed, ..Settings::paper(v.clone(), data) }) }/>
            <Choice label="Optimizer" testid="optimizer-select" name=OptimizerConfig::name value=Signal::derive(move || s().optimizer)
                choices=vec![(OptimizerConfig::adam(1e-4, 0.5, 0.9), "adam"), (OptimizerConfig::rmsprop(5e-5), "rmsprop"), (OptimizerConfig::sgd(1e-3), "sgd")]
                on_pick=move |v| set(&|s| s.optimizer = v.clone())/>
            <NumberField label="Learning rate" testid="lr" field=gan::LR step="any" value=Signal::derive(move || s().lr) error=ctx.error on_set=move |v| { set(&|s| s.lr = v) }/>
            <NumberField label="β₁" testid="beta1" field=gan::BETA1 step="0.1" value=Signal::derive(move || s().beta1) error=ctx.error on_set=move |v| { set(&|s| s.beta1 = v) }/>
            <NumberField label="β₂" testid="beta2" field=gan::BETA2 step="0.01" value=Signal::derive(move || s().beta2) error=ctx.error on_set=move |v| { set(&|s| s.beta2 = v) }/>
            <NumberField label="λ (penalty)" testid="lambda" field=gan::LAMBDA step="any" value=Signal::derive(move || s().lambda) error=ctx.error on_set=move |v| { set(&|s| s.lambda = v) }/>
            <NumberField label="clip c" testid="clip" field=gan::CLIP step="any" value=Signal::derive(move || s().clip) error=ctx.error on_set=move |v| { set(&|s| s.clip = v) }/>
            <NumberField label="n_critic" testid="n-critic" field=gan::N_CRITIC value=Signal::derive(move || s().n_critic) error=ctx.error on_set=move |v| { set(&|s| s.n_critic = v) }/>
            <NumberField label="batch" testid="batch" field=gan::BATCH value=Signal::derive(move || s().batch) error=ctx.error on_set=move |v| { set(&|s| s.batch = v) }/>
            <NumberField label="width" testid="hidden" field=gan::HIDDEN value=Signal::derive(move || s().hidden) error=ctx.error on_set=move |v| { set(&|s| s.hidden = v) }/>
            <NumberField label="depth" testid="depth" field=gan::DEPTH value=Signal::derive(move || s().depth) error=ctx.error on_set=move |v| { set(&|s| s.depth = v) }/>
            <NumberField label="seed" testid="seed" field=gan::SEED value=Signal::derive(move || s().seed) error=ctx.error on_set=move |v| { set(&|s| s.seed = v) }/>
            <Check label="layer-normalised critic" testid="layer-norm" value=Signal::derive(move || s().layer_norm) on_set=move |v| set(&|s| s.layer_norm = v)/>
            <Check label="one-sided label smoothing (GAN)" testid="label-smoothing" value=Signal::derive(move || s().label_smoothing) on_set=move |v| set(&|s| s.label_smoothing = v)/>
            <Check label="feature matching" testid="feature-matching" value=Signal::derive(move || s().feature_matching) on_set=move |v| set(&|s| s.feature_matching = v)/>
            <Check label="historical averaging" testid="historical-averaging" value=Signal::derive(move || s().historical_averaging) on_set=move |v| set(&|s| s.historical_averaging = v)/>
            <Check label="minibatch discrimination (GAN, WGAN)" testid="minibatch-discrimination" value=Signal::derive(move || s().minibatch_discrimination) on_set=move |v| set(&|s| s.minibatch_discrimination = v)/>
            <Check label="gradient arrows" testid="arrows" value=ctx.arrows on_set=move |v| { ctx.arrows.set(v); ctx.redraw() }/>
            <div class="buttons">
                <button data-testid="train" disabled=working on:click=move |_| ctx.start()>"Train"</button>
                <button data-testid="pause" disabled=move || !ctx.trainer.running.get() on:click=move |_| ctx.trainer.running.set(false)>"Pause"</button>
                <button data-testid="reset" on:click=move |_| ctx.reset()>"Reset"</button>
                <button data-testid="step-critic" disabled=working on:click=step_button(StepKind::Critic)>"Step critic"</button>
                <button data-testid="step-generator" disabled=working on:click=step_button(StepKind::Generator)>"Step generator"</button>
                <button data-testid="step-both" disabled=working on:click=step_button(StepKind::Both)>"Step both"</button>
            </div>
            <p class="hint">"Changing a setting restarts the run with fresh models."</p>
        </div>
    }
}

/// The canvas: real and generated points over the critic's field; a click adds a drawn point.
#[component]
fn Stage(ctx: Ctx) -> impl IntoView {
    let on_click = move |ev: leptos::ev::MouseEvent| {
        if ctx.settings.get_untracked().data != LabData::Drawn {
            return;
        }
        if let Some(c) = ctx.canvas.get_untracked() {
            let p = canvas::to_data(&c, ev.client_x() as f64, ev.client_y() as f64);
            ctx.drawn.update(|d| d.push(p));
            ctx.reset();
        }
    };
    view! {
        <canvas node_ref=ctx.canvas width="480" height="480" data-testid="canvas" on:click=on_click></canvas>
        <p class="legend-line">"black: real · orange: generated · background: critic value (blue low, red high) · green: ∇f, where the generator is pushed"</p>
    }
}

#[component]
fn LabStats(stats: Stats) -> impl IntoView {
    let or_dash = |v: Option<String>| v.unwrap_or_else(|| "–".into());
    view! {
        <div class="stats">
            <span>"Backend: " <b data-testid="backend">{move || stats.backend.get().map(|b| b.to_string()).unwrap_or_else(|| "starting…".into())}</b></span>
            <span>"Step: " <b data-testid="step-count">{move || stats.step.get()}</b></span>
            <span>"Steps/s: " <b data-testid="steps-per-sec">{move || format!("{:.1}", stats.steps_per_sec.get())}</b></span>
            <span>"Exact W1: " <b data-testid="w1">{move || or_dash(stats.w1.get().map(|w| format!("{w:.3}")))}</b></span>
            <span>"Modes: " <b data-testid="modes">{move || or_dash(stats.modes.get().map(|(c, t, _)| format!("{c}/{t}")))}</b></span>
            <span>"High quality: " <b data-testid="hq">{move || or_dash(stats.modes.get().map(|(_, _, hq)| format!("{:.0}%", 100.0 * hq)))}</b></span>
        </div>
        <p class="note" data-testid="backend-note">{move || stats.backend_note.get()}</p>
    }
}

/// Losses, the critic's estimate against exact W1, and modes covered, by step.
#[component]
fn Charts(ctx: Ctx) -> impl IntoView {
    let h = ctx.history;
    let line = move |name, color, y: fn(&Point) -> Option<f64>| {
        let points = h.with(|h| h.iter().filter_map(|p| Some((p.step as f64, y(p)?))).collect());
        Series::new(name, color, points)
    };
    let losses = Signal::derive(move || {
        vec![
            line("critic", "#3167b0", |p| Some(p.values.critic_loss)),
            line("generator", "#e07b00", |p| Some(p.values.generator_loss)),
        ]
    });
    let estimate = Signal::derive(move || {
        let w = ctx.settings.with(|s| s.objective.is_wasserstein());
        let name = if w { "critic's W estimate" } else { "critic's JS estimate" };
        vec![
            line(name, "#8a3ab9", |p| Some(p.values.estimate)),
            line("exact W1", "#1b7f3b", |p| p.w1),
        ]
    });
    let modes = Signal::derive(move || {
        vec![line("modes covered", "#1b7f3b", |p| p.modes.map(|m| m as f64))]
    });
    view! {
        <div class="charts">
            <LineChart title="Losses" series=losses/>
            <LineChart title="Critic's estimate vs exact W1" series=estimate/>
            <LineChart title="Modes covered" series=modes/>
        </div>
    }
}
