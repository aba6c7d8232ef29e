//! The divergence explorer's pages. Each page holds sliders and signals and draws what
//! `crate::divergence` computes; none of the mathematics lives here.

use burn::tensor::Device;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::chart::{LineChart, Series};
use super::{bounded, yield_to_browser};
use crate::bounds::Field;
use crate::divergence::density::{Gauss, Mixture};
use crate::divergence::estimate::{
    self, CriticFit, Divergence, Estimate, EstimatorConfig, SaturationRow, SaturationView,
};
use crate::divergence::lines::{self, Line, Normal1d};
use crate::divergence::xy::{self, Update};
use crate::divergence::{kl_fit, optimal_d};
use crate::gan::train::RealData;

/// A number as the pages show it: three decimals, ∞ for infinity, no “−0.000”.
pub fn fmt(v: f64) -> String {
    if v.is_nan() {
        "—".into()
    } else if v.is_infinite() {
        if v > 0.0 { "∞".into() } else { "−∞".into() }
    } else if v.abs() < 5e-4 {
        "0.000".into()
    } else {
        format!("{v:.3}")
    }
}

pub fn num<T: std::str::FromStr>(ev: &leptos::ev::Event) -> Option<T> {
    event_target_value(ev).trim().parse().ok()
}

fn curve(lo: f64, hi: f64, n: usize, f: impl Fn(f64) -> f64) -> Vec<(f64, f64)> {
    (0..=n).map(|i| lo + (hi - lo) * i as f64 / n as f64).map(|x| (x, f(x))).collect()
}

/// A labelled slider bound to `value`.
#[component]
fn Slider(
    label: &'static str,
    testid: &'static str,
    value: RwSignal<f64>,
    min: f64,
    max: f64,
    step: f64,
) -> impl IntoView {
    view! {
        <label class="slider">
            {label} " "
            <input type="range" data-testid=testid min=min max=max step=step
                prop:value=move || value.get().to_string()
                on:input=move |ev| { if let Some(v) = num::<f64>(&ev) { value.set(v) } } />
            <output>{move || format!("{:.2}", value.get())}</output>
        </label>
    }
}

/// Trains a discriminator (JS) and a critic (W) on Flex, yielding to the browser between
/// steps; returns the fitted networks and their estimates, in that order.
async fn fit_in_page(
    real: &dyn RealData,
    fake: &dyn RealData,
    critic: EstimatorConfig,
    progress: RwSignal<String>,
) -> [(CriticFit, Estimate); 2] {
    let device = Device::flex();
    let fit = async |kind, config, name: &str| {
        let mut fit = CriticFit::new(kind, config, real.dim(), &device);
        while !fit.done() {
            fit = fit.step(real, fake);
            if fit.step.is_multiple_of(10) {
                progress
                    .set(format!("training the {name}: step {} of {}", fit.step, fit.config.steps));
                yield_to_browser().await;
            }
        }
        let values = estimate::read(fit.estimate_tensor(real, fake)).await;
        (fit, Estimate::from_values(&values))
    };
    let js = fit(Divergence::Js, EstimatorConfig::default(), "discriminator").await;
    let w = fit(Divergence::W, critic, "critic").await;
    progress.set(String::new());
    [js, w]
}

/// Where the lines chart draws an infinite KL.
const KL_TOP: f64 = 1.2;

/// Parallel lines: P₀ = (0, U[0,1]) against P_θ = (θ, U[0,1]).
#[component]
pub fn LinesPage() -> impl IntoView {
    let theta = RwSignal::new(0.5);
    let exact = Memo::new(move |_| lines::closed_form(theta.get()));
    let grads = Memo::new(move |_| lines::closed_gradient(theta.get()));
    let estimates = RwSignal::new(None::<(f64, Estimate, Estimate)>);
    let progress = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let estimate = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        let t = theta.get_untracked();
        spawn_local(async move {
            let (p0, pt) = (Line { x: 0.0 }, Line { x: t });
            let [(_, js), (_, w)] =
                fit_in_page(&p0, &pt, EstimatorConfig::default(), progress).await;
            estimates.set(Some((t, js, w)));
            busy.set(false);
        });
    };
    // KL is +∞ off θ = 0: drawn along the top edge of the plot, and 0 at θ = 0.
    let top = |v: f64| if v.is_infinite() { KL_TOP } else { v };
    let kl = curve(-1.0, 1.0, 200, |t| top(lines::closed_form(t).kl));
    let series = vec![
        Series::new("KL, both ways (∞ at the top edge)", "#e67e22", kl),
        Series::new("JS", "#c0392b", curve(-1.0, 1.0, 200, |t| lines::closed_form(t).js)),
        Series::new("W", "#3167b0", curve(-1.0, 1.0, 200, |t| lines::closed_form(t).w)),
    ];
    let scene = move || {
        let x = 150.0 + 100.0 * theta.get();
        view! {
            <svg viewBox="0 0 300 130" width="300" height="130" class="scene">
                <line x1=150 y1=15 x2=150 y2=115 stroke="#2e7d32" stroke-width="4"/>
                <line x1=x y1=15 x2=x y2=115 stroke="#c0392b" stroke-width="4" opacity="0.8"/>
                <text x=150 y=128 text-anchor="middle" class="tick">"P₀ (x = 0)"</text>
                <text x=x y=10 text-anchor="middle" class="tick">"P_θ"</text>
            </svg>
        }
    };
    let est = move |f: fn(&(f64, Estimate, Estimate)) -> f64| {
        move || estimates.get().map(|e| fmt(f(&e))).unwrap_or_else(|| "—".into())
    };
    view! {
        <section class="panel">
            <h2>"Parallel lines"</h2>
            <p class="lead">"P₀ puts its mass uniformly on the segment x = 0, 0 ≤ y ≤ 1; P_θ on the same segment moved to x = θ (Arjovsky et al., Example 1). Unless θ = 0 they never overlap, so both KLs are infinite and JS is stuck at log 2 — a generator moving θ learns nothing from them. W = |θ| shrinks smoothly, and its gradient sign(θ) points home."</p>
            <div class="row">
                <div>
                    <Slider label="θ" testid="theta" value=theta min=-1.0 max=1.0 step=0.01/>
                    {scene}
                    <table class="numbers">
                        <tr><th></th><th>"closed form"</th><th>"d/dθ"</th><th>"from samples"</th><th>"d/dθ (samples)"</th></tr>
                        <tr><td>"KL(P₀‖P_θ)"</td><td data-testid="kl">{move || fmt(exact.get().kl)}</td><td></td><td></td><td></td></tr>
                        <tr><td>"KL(P_θ‖P₀)"</td><td data-testid="kl-reverse">{move || fmt(exact.get().kl_reverse)}</td><td></td><td></td><td></td></tr>
                        <tr><td>"JS"</td><td data-testid="js">{move || fmt(exact.get().js)}</td><td data-testid="js-grad">{move || fmt(grads.get().0)}</td>
                            <td data-testid="js-estimate">{est(|e| e.1.value)}</td><td data-testid="js-grad-estimate">{est(|e| e.1.generator_grad.first().copied().unwrap_or(f64::NAN))}</td></tr>
                        <tr><td>"W"</td><td data-testid="w">{move || fmt(exact.get().w)}</td><td data-testid="w-grad">{move || fmt(grads.get().1)}</td>
                            <td data-testid="w-estimate">{est(|e| e.2.value)}</td><td data-testid="w-grad-estimate">{est(|e| e.2.generator_grad.first().copied().unwrap_or(f64::NAN))}</td></tr>
                    </table>
                    <div class="buttons">
                        <button data-testid="estimate" on:click=estimate disabled=move || busy.get()>"Estimate from samples"</button>
                        <span class="note" data-testid="estimate-progress">{move || progress.get()}</span>
                    </div>
                    <p class="note">{move || estimates.get().map(|e| format!("Estimated at θ = {:.2}: a discriminator (JS = (V + log 4)/2 from its value V) and a WGAN-GP critic (W = E f(P₀) − E f(P_θ)), each a 2×64 ReLU MLP trained 400 steps on fresh samples, on the CPU.", e.0)).unwrap_or_else(|| "Press the button to train a discriminator and a critic on samples at this θ and compare them with the closed forms.".into())}</p>
                </div>
                <LineChart title="Divergence against θ" series=series x_label="θ" marker=Signal::derive(move || theta.get()) y_range=(0.0, KL_TOP)/>
            </div>
        </section>
    }
}

/// WGAN Fig. 2: a discriminator and a critic trained on two 1-D Gaussians.
#[component]
pub fn GaussiansPage() -> impl IntoView {
    let real_mu = RwSignal::new(0.0);
    let fake_mu = RwSignal::new(4.0);
    const SIGMA: f64 = 0.5;
    let curves = RwSignal::new(None::<SaturationView>);
    let progress = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let train = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        let (a, b) = (real_mu.get_untracked(), fake_mu.get_untracked());
        spawn_local(async move {
            let (real, fake) = (Normal1d(Gauss::new(a, SIGMA)), Normal1d(Gauss::new(b, SIGMA)));
            let fits = fit_in_page(&real, &fake, EstimatorConfig::clipped(), progress).await;
            let (lo, hi) = (a.min(b) - 2.0, a.max(b) + 2.0);
            let xs: Vec<f32> =
                (0..=120).map(|i| (lo + (hi - lo) * i as f64 / 120.0) as f32).collect();
            let d = estimate::read(fits[0].0.curve_tensor(&xs)).await;
            let f = estimate::read(fits[1].0.curve_tensor(&xs)).await;
            // [D(a), D(b), |∇|(a), |∇|(b)] and the same for the critic.
            let ends = [a as f32, b as f32];
            let dp = estimate::read(fits[0].0.curve_tensor(&ends)).await;
            let fp = estimate::read(fits[1].0.curve_tensor(&ends)).await;
            if let Some(view) = SaturationView::new(&xs, &d, &f, &dp, &fp, (a, b)) {
                curves.set(Some(view));
            }
            busy.set(false);
        });
    };
    // A trained curve as a chart's series; none before training.
    let trained = move |name, color, y: fn(&SaturationRow) -> f64| {
        let line = |v: &SaturationView| v.rows.iter().map(|r| (r.x, y(r))).collect();
        curves.with(|v| v.as_ref().map(|v| Series::new(name, color, line(v))))
    };
    let densities = Signal::derive(move || {
        let (a, b) = (real_mu.get(), fake_mu.get());
        let (lo, hi) = (a.min(b) - 2.0, a.max(b) + 2.0);
        let (r, g) = (Gauss::new(a, SIGMA), Gauss::new(b, SIGMA));
        let mut s = vec![
            Series::new("real density", "#2e7d32", curve(lo, hi, 200, |x| r.pdf(x))),
            Series::new("fake density", "#c0392b", curve(lo, hi, 200, |x| g.pdf(x))),
        ];
        s.extend(trained("D(x)", "#8e44ad", |r| r.d));
        s
    });
    let critic = Signal::derive(move || {
        trained("critic f(x), rescaled to [0, 1]", "#3167b0", |r| r.critic).into_iter().collect()
    });
    let gradients = Signal::derive(move || {
        let d = trained("|∂/∂x log(1 − D)|", "#8e44ad", |r| r.d_grad);
        d.into_iter().chain(trained("|f′(x)|", "#3167b0", |r| r.f_grad)).collect()
    });
    // A trained number as the table shows it; "—" before training.
    let number = move |f: fn(&SaturationView) -> f64, show: fn(f64) -> String| {
        move || curves.with(|v| v.as_ref().map(|v| show(f(v)))).unwrap_or_else(|| "—".into())
    };
    let s = move |f| number(f, fmt);
    let sci = move |f| number(f, |x| format!("{x:.2e}"));
    view! {
        <section class="panel">
            <h2>"Two Gaussians: a saturating discriminator and a linear critic"</h2>
            <p class="lead">"As in the WGAN paper's Figure 2, train a minimax discriminator and a WGAN critic to tell a real Gaussian from a fake one. The discriminator saturates — D is 1 on the real data and 0 on the fake — so log(1 − D) is flat where the fake samples are and the generator gets almost no gradient. The critic stays close to linear and hands the generator a steady gradient."</p>
            <div class="row">
                <div>
                    <Slider label="real mean" testid="real-mean" value=real_mu min=-4.0 max=4.0 step=0.1/>
                    <Slider label="fake mean" testid="fake-mean" value=fake_mu min=-4.0 max=8.0 step=0.1/>
                    <p class="note">"Both have σ = 0.5. The discriminator is a 2×64 ReLU MLP; the critic the same, held Lipschitz by WGAN's weight clipping (c = 0.01, RMSProp), as in the paper's figure. Clipping fixes the critic only up to scale, so its values and gradients are shown relative to their range."</p>
                    <div class="buttons">
                        <button data-testid="train-gaussians" on:click=train disabled=move || busy.get()>"Train both"</button>
                        <span class="note">{move || progress.get()}</span>
                    </div>
                    <table class="numbers">
                        <tr><td>"D at the real mean"</td><td data-testid="d-real">{s(|v| v.d_real)}</td></tr>
                        <tr><td>"D at the fake mean"</td><td data-testid="d-fake">{s(|v| v.d_fake)}</td></tr>
                        <tr><td>"generator's |gradient| from D at the fake mean, relative to its peak"</td><td data-testid="d-grad-fake">{sci(|v| v.d_grad_fake)}</td></tr>
                        <tr><td>"…from the critic there, relative to its peak"</td><td data-testid="f-grad-fake">{s(|v| v.f_grad_fake)}</td></tr>
                        <tr><td>"critic's linearity between the means (R²)"</td><td data-testid="critic-r2">{s(|v| v.critic_r2)}</td></tr>
                    </table>
                </div>
                <div>
                    <LineChart title="Densities and D(x)" series=densities x_label="x"/>
                    <LineChart title="Critic f(x)" series=critic x_label="x"/>
                    <LineChart title="Gradient the generator receives, each relative to its peak" series=gradients x_label="x"/>
                </div>
            </div>
        </section>
    }
}

/// Forward vs reverse KL fits of one Gaussian to two modes.
#[component]
pub fn KlPage() -> impl IntoView {
    let separation = RwSignal::new(6.0);
    let sigma = RwSignal::new(0.5);
    let weight = RwSignal::new(0.5);
    let mixture = Memo::new(move |_| {
        let (d, s) = (separation.get() / 2.0, sigma.get());
        Mixture { components: [Gauss::new(-d, s), Gauss::new(d, s)], weight: weight.get() }
    });
    let fits = Memo::new(move |_| kl_fit::fit_both(&mixture.get()));
    let series = Signal::derive(move || {
        let p = mixture.get();
        let hi = separation.get() / 2.0 + 4.0 * sigma.get() + 1.0;
        let lo = -hi;
        let mut s = vec![Series::new("target p", "#222", curve(lo, hi, 300, |x| p.pdf(x)))];
        if let Ok(f) = fits.get() {
            let fit = |q: Gauss| curve(lo, hi, 300, move |x| q.pdf(x));
            s.push(Series::new("argmin KL(p‖q)", "#3167b0", fit(f.forward)));
            s.push(Series::new("argmin KL(q‖p)", "#c0392b", fit(f.reverse)));
        }
        s
    });
    let get = move |f: fn(&kl_fit::Fits) -> f64| {
        move || fits.get().map(|v| fmt(f(&v))).unwrap_or_else(|_| "—".into())
    };
    view! {
        <section class="panel">
            <h2>"Forward vs reverse KL"</h2>
            <p class="lead">"Fit one Gaussian q to a target p with two modes. Minimising KL(p‖q) punishes q for missing any of p's mass, so q spreads over both modes (mean-seeking). Minimising KL(q‖p) punishes q for putting mass where p has none, so q hugs one mode (mode-seeking) — the behaviour behind a GAN's mode collapse."</p>
            <div class="row">
                <div>
                    <Slider label="distance between modes" testid="kl-separation" value=separation min=0.0 max=10.0 step=0.1/>
                    <Slider label="σ of each mode" testid="kl-sigma" value=sigma min=0.1 max=3.0 step=0.05/>
                    <Slider label="weight of the right mode" testid="kl-weight" value=weight min=0.05 max=0.95 step=0.05/>
                    <p class="error" data-testid="kl-error">{move || fits.get().err().map(|e| e.to_string())}</p>
                    <table class="numbers">
                        <tr><th></th><th>"μ"</th><th>"σ"</th><th>"KL(p‖q)"</th><th>"KL(q‖p)"</th></tr>
                        <tr><td>"forward fit"</td><td data-testid="fwd-mu">{get(|f| f.forward.mu)}</td><td data-testid="fwd-sigma">{get(|f| f.forward.sigma)}</td>
                            <td data-testid="kl-forward">{get(|f| f.forward_kl)}</td><td>{get(|f| f.forward_fit_reverse_kl)}</td></tr>
                        <tr><td>"reverse fit"</td><td data-testid="rev-mu">{get(|f| f.reverse.mu)}</td><td data-testid="rev-sigma">{get(|f| f.reverse.sigma)}</td>
                            <td>{get(|f| f.reverse_fit_forward_kl)}</td><td data-testid="kl-reverse-fit">{get(|f| f.reverse_kl)}</td></tr>
                    </table>
                    <p class="note">"The forward fit is exact (it matches p's mean and variance); the reverse fit is a natural-gradient descent started on the heavier mode. Two far-apart equal modes give KL(q‖p) → log 2 = 0.693."</p>
                </div>
                <LineChart title="Target and the two fits" series=series x_label="x"/>
            </div>
        </section>
    }
}

/// The optimal discriminator D* = p_r/(p_r + p_g) and its value −log 4 + 2·JS.
#[component]
pub fn OptimalDPage() -> impl IntoView {
    let (rm, rs, gm, gs) =
        (RwSignal::new(0.0), RwSignal::new(1.0), RwSignal::new(2.0), RwSignal::new(1.0));
    let pair = Memo::new(move |_| (Gauss::new(rm.get(), rs.get()), Gauss::new(gm.get(), gs.get())));
    let numbers = Memo::new(move |_| {
        let (r, g) = pair.get();
        r.check("real").and(g.check("generated")).map(|_| {
            (optimal_d::value(&r, &g), optimal_d::js(&r, &g), optimal_d::d_star(&r, &g, r.mu))
        })
    });
    let series = Signal::derive(move || {
        let (r, g) = pair.get();
        let (lo, hi) = (
            (r.mu - 4.0 * r.sigma).min(g.mu - 4.0 * g.sigma),
            (r.mu + 4.0 * r.sigma).max(g.mu + 4.0 * g.sigma),
        );
        vec![
            Series::new("p_r", "#2e7d32", curve(lo, hi, 300, |x| r.pdf(x))),
            Series::new("p_g", "#c0392b", curve(lo, hi, 300, |x| g.pdf(x))),
            Series::new("D*", "#8e44ad", curve(lo, hi, 300, |x| optimal_d::d_star(&r, &g, x))),
        ]
    });
    let n = move |f: fn(&(f64, f64, f64)) -> f64| {
        move || numbers.get().map(|v| fmt(f(&v))).unwrap_or_else(|_| "—".into())
    };
    view! {
        <section class="panel">
            <h2>"The optimal discriminator"</h2>
            <p class="lead">"For fixed p_r and p_g the best discriminator is D* = p_r/(p_r + p_g), and its value V = E log D*(x_r) + E log(1 − D*(x_g)) equals −log 4 + 2·JS(p_r, p_g). V is lowest, −2 log 2 ≈ −1.386, exactly when p_g = p_r (then D* = ½ everywhere); it rises to 0 as they separate."</p>
            <div class="row">
                <div>
                    <Slider label="real mean" testid="optd-real-mean" value=rm min=-5.0 max=5.0 step=0.1/>
                    <Slider label="real σ" testid="optd-real-sigma" value=rs min=0.1 max=3.0 step=0.05/>
                    <Slider label="generated mean" testid="optd-fake-mean" value=gm min=-5.0 max=5.0 step=0.1/>
                    <Slider label="generated σ" testid="optd-fake-sigma" value=gs min=0.1 max=3.0 step=0.05/>
                    <p class="error" data-testid="optd-error">{move || numbers.get().err().map(|e| e.to_string())}</p>
                    <table class="numbers">
                        <tr><td>"V(D*)"</td><td data-testid="optd-value">{n(|v| v.0)}</td></tr>
                        <tr><td>"JS(p_r, p_g)"</td><td data-testid="optd-js">{n(|v| v.1)}</td></tr>
                        <tr><td>"−log 4 + 2·JS"</td><td data-testid="optd-identity">{n(|v| -(4f64.ln()) + 2.0 * v.1)}</td></tr>
                        <tr><td>"optimum −2 log 2"</td><td data-testid="optd-optimum">{fmt(optimal_d::OPTIMUM)}</td></tr>
                        <tr><td>"D* at the real mean"</td><td data-testid="optd-dstar">{n(|v| v.2)}</td></tr>
                    </table>
                </div>
                <LineChart title="Densities and D*" series=series x_label="x" y_range=(0.0, 1.0)/>
            </div>
        </section>
    }
}

/// The xy page's step count: enough to see the spiral, few enough to draw at once.
const XY_STEPS: Field<usize> = Field::new("steps", 1, 5000);

/// The min_x max_y xy game under gradient descent-ascent.
#[component]
pub fn XyPage() -> impl IntoView {
    let eta = RwSignal::new(0.1);
    let steps = RwSignal::new(100usize);
    // A typed step count the page refuses (its message; the last good count stays).
    let steps_error = RwSignal::new(None::<String>);
    let runs = Memo::new(move |_| {
        let (e, n) = (eta.get(), steps.get());
        xy::trajectory((1.0, 1.0), e, n, Update::Simultaneous)
            .and_then(|s| Ok((s, xy::trajectory((1.0, 1.0), e, n, Update::Alternating)?)))
    });
    let radius_series = Signal::derive(move || {
        let radii = |t: Vec<(f64, f64)>| {
            t.into_iter().enumerate().map(|(i, p)| (i as f64, xy::radius(p))).collect()
        };
        match runs.get() {
            Ok((s, a)) => vec![
                Series::new("simultaneous", "#c0392b", radii(s)),
                Series::new("alternating", "#3167b0", radii(a)),
            ],
            Err(_) => vec![],
        }
    });
    let scene = move || {
        let Ok((s, a)) = runs.get() else {
            return view! { <svg viewBox="0 0 300 300" width="300" height="300" class="scene"></svg> }.into_any();
        };
        let r = s.iter().chain(&a).map(|&p| p.0.abs().max(p.1.abs())).fold(1.5, f64::max);
        let to = move |p: (f64, f64)| {
            format!("{:.1},{:.1}", 150.0 + p.0 / r * 140.0, 150.0 - p.1 / r * 140.0)
        };
        let path = |t: &[(f64, f64)]| t.iter().map(|&p| to(p)).collect::<Vec<_>>().join(" ");
        view! {
            <svg viewBox="0 0 300 300" width="300" height="300" class="scene">
                <line x1=0 y1=150 x2=300 y2=150 stroke="#ddd"/>
                <line x1=150 y1=0 x2=150 y2=300 stroke="#ddd"/>
                <polyline points=path(&s) fill="none" stroke="#c0392b" stroke-width="1.2"/>
                <polyline points=path(&a) fill="none" stroke="#3167b0" stroke-width="1.2"/>
                <circle cx=150 cy=150 r=3 fill="#222"/>
                <text x=154 y=146 class="tick">"equilibrium (0, 0)"</text>
            </svg>
        }
        .into_any()
    };
    let last = move |alt: bool| {
        move || match runs.get() {
            Ok((s, a)) => {
                let t = if alt { a } else { s };
                t.last().map(|&p| fmt(xy::radius(p))).unwrap_or_default()
            }
            Err(_) => "—".into(),
        }
    };
    let measured_growth = move || match runs.get() {
        Ok((s, _)) if s.len() > 1 => format!(
            "{:.6}",
            (xy::radius(s[s.len() - 1]) / xy::radius(s[0])).powf(1.0 / (s.len() - 1) as f64)
        ),
        _ => "—".into(),
    };
    view! {
        <section class="panel">
            <h2>"The xy game"</h2>
            <p class="lead">"min over x, max over y of f(x, y) = xy has its only equilibrium at (0, 0). Simultaneous gradient descent-ascent, x ← x − ηy and y ← y + ηx, moves at right angles to the line to the equilibrium, so every step multiplies the distance by √(1 + η²): it spirals outward from (1, 1) for any step size. Alternating updates (y sees the new x) circle forever instead."</p>
            <div class="row">
                <div>
                    <Slider label="step size η" testid="eta" value=eta min=0.0 max=0.5 step=0.01/>
                    <label class="slider">"…or type η " <input type="number" data-testid="eta-input" step="0.01" prop:value=move || eta.get().to_string()
                        on:change=move |ev| eta.set(num::<f64>(&ev).unwrap_or(f64::NAN))/></label>
                    <label class="slider">"steps " <input type="number" data-testid="xy-steps" min="1" max="5000" prop:value=move || steps.get().to_string()
                        on:change=move |ev| if let Some(n) = bounded(&ev, XY_STEPS, steps.get_untracked(), steps_error) { steps_error.set(None); steps.set(n) }/></label>
                    <p class="error" data-testid="xy-error">{move || steps_error.get().or_else(|| runs.get().err())}</p>
                    <table class="numbers">
                        <tr><td>"distance after the last step, simultaneous"</td><td data-testid="xy-radius">{last(false)}</td></tr>
                        <tr><td>"…alternating"</td><td data-testid="xy-radius-alt">{last(true)}</td></tr>
                        <tr><td>"growth per step, measured"</td><td data-testid="xy-growth">{measured_growth}</td></tr>
                        <tr><td>"growth per step, √(1 + η²)"</td><td data-testid="xy-growth-exact">{move || { let e = eta.get(); if e > 0.0 && e.is_finite() { format!("{:.6}", xy::growth_per_step(e)) } else { "—".into() } }}</td></tr>
                    </table>
                </div>
                <div>
                    {scene}
                    <LineChart title="Distance from the equilibrium" series=radius_series/>
                </div>
            </div>
        </section>
    }
}
