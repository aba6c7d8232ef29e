//! The earth mover's distance page: the seeds' worked examples and a free editor for
//! histograms and small 2-D point sets. `crate::divergence::emd` solves every plan.

use leptos::prelude::*;

use super::explorer::fmt;
use crate::divergence::emd::{self, Cumulative, EmdError, Plan2d, TWO_BOXES};

const HIST_W: f64 = 420.0;
const HIST_H: f64 = 240.0;
const P_BASE: f64 = 105.0;
const Q_BASE: f64 = 135.0;

fn join(values: &[f64]) -> String {
    values.iter().map(|v| fmt_mass(*v)).collect::<Vec<_>>().join(", ")
}

fn fmt_mass(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{v:.0}") } else { format!("{v}") }
}

/// Bars of P (up) and Q (down) with the optimal flows between them.
fn histogram_svg(c: &Cumulative) -> impl IntoView + use<> {
    let n = c.p.len();
    let col = (HIST_W - 20.0) / n as f64;
    let top = c.p.iter().chain(&c.q).copied().fold(0.0, f64::max).max(1e-300);
    let h = |v: f64| v / top * 90.0;
    let cx = move |i: usize| 10.0 + col * (i as f64 + 0.5);
    let biggest = c.flows.iter().map(|f| f.mass).fold(0.0, f64::max).max(1e-300);
    let bars = (0..n)
        .map(|i| {
            let (hp, hq) = (h(c.p[i]), h(c.q[i]));
            view! {
                <rect x=cx(i) - col * 0.35 y=P_BASE - hp width=col * 0.7 height=hp fill="#3167b0" opacity="0.8"/>
                <rect x=cx(i) - col * 0.35 y=Q_BASE width=col * 0.7 height=hq fill="#e67e22" opacity="0.8"/>
            }
        })
        .collect_view();
    let flows = c
        .flows
        .iter()
        .map(|f| {
            let w = 1.0 + 5.0 * f.mass / biggest;
            view! { <line x1=cx(f.from) y1=P_BASE x2=cx(f.to) y2=Q_BASE stroke="#555" stroke-width=w marker-end="url(#arrow)"><title>{format!("move {} from bin {} to bin {}", fmt_mass(f.mass), f.from + 1, f.to + 1)}</title></line> }
        })
        .collect_view();
    view! {
        <svg viewBox=format!("0 0 {HIST_W} {HIST_H}") width=HIST_W height=HIST_H class="scene" data-testid="hist-svg">
            <defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="4" markerHeight="4" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>
            <text x=4 y=12 class="tick">"P (click above the middle to add a unit)"</text>
            <text x=4 y=HIST_H - 4.0 class="tick">"Q (click below the middle to add a unit)"</text>
            {bars}
            {flows}
        </svg>
    }
}

#[component]
fn HistogramEditor() -> impl IntoView {
    let p_text = RwSignal::new("3, 2, 1, 4".to_string());
    let q_text = RwSignal::new("1, 2, 4, 3".to_string());
    let result = Memo::new(move |_| -> Result<Cumulative, EmdError> {
        let p = emd::parse_histogram(&p_text.get(), "P")?;
        let q = emd::parse_histogram(&q_text.get(), "Q")?;
        emd::cumulative(&p, &q)
    });
    let click = move |ev: leptos::ev::MouseEvent| {
        let Ok(c) = result.get_untracked() else { return };
        let n = c.p.len();
        let col = (HIST_W - 20.0) / n as f64;
        let i = ((ev.offset_x() as f64 - 10.0) / col).floor();
        if i < 0.0 || i >= n as f64 {
            return;
        }
        let upper = (ev.offset_y() as f64) < (P_BASE + Q_BASE) / 2.0;
        let (text, name) = if upper { (p_text, "P") } else { (q_text, "Q") };
        if let Ok(mut values) = emd::parse_histogram(&text.get_untracked(), name) {
            values.resize(n, 0.0);
            values[i as usize] += 1.0;
            text.set(join(&values));
        }
    };
    let table = move || {
        result.get().ok().map(|c| {
            let rows = (1..c.deltas.len())
                .map(|i| {
                    view! { <tr><td>{format!("δ{i} = δ{} + P{i} − Q{i}", i - 1)}</td><td>{format!("{} + {} − {}", fmt_mass(c.deltas[i - 1]), fmt_mass(c.p[i - 1]), fmt_mass(c.q[i - 1]))}</td><td>{fmt_mass(c.deltas[i])}</td></tr> }
                })
                .collect_view();
            view! { <table class="numbers" data-testid="delta-table"><tr><th>"step"</th><th></th><th>"δ"</th></tr><tr><td>"δ0"</td><td></td><td>"0"</td></tr>{rows}</table> }
        })
    };
    view! {
        <h3>"Histograms on a line (seed 004)"</h3>
        <p class="lead">"Move P's dirt into Q's shape, bins one unit apart. δ carries the running surplus from one bin to the next: δ₀ = 0, δᵢ₊₁ = δᵢ + Pᵢ − Qᵢ; the total work is Σ|δᵢ|. For P = (3, 2, 1, 4) and Q = (1, 2, 4, 3) it is 5. Edit the numbers or click the bars."</p>
        <div class="row">
            <div>
                <label class="slider">"P " <input type="text" data-testid="hist-p" prop:value=move || p_text.get() on:input=move |ev| p_text.set(event_target_value(&ev))/></label>
                <label class="slider">"Q " <input type="text" data-testid="hist-q" prop:value=move || q_text.get() on:input=move |ev| q_text.set(event_target_value(&ev))/></label>
                <p class="error" data-testid="emd-error">{move || result.get().err().map(|e| e.to_string())}</p>
                <p class="note" data-testid="emd-note">{move || result.get().ok().map(|c| c.notes.join(" ")).unwrap_or_default()}</p>
                <p>"Total work Σ|δ|: " <strong data-testid="emd-total">{move || result.get().map(|c| fmt_mass(c.total)).unwrap_or_else(|_| "—".into())}</strong></p>
                {table}
            </div>
            <div on:click=click>{move || result.get().ok().map(|c| histogram_svg(&c))}</div>
        </div>
    }
}

#[component]
fn Boxes() -> impl IntoView {
    let plans = TWO_BOXES.plans();
    let (b, t) = (TWO_BOXES.boxes, TWO_BOXES.targets);
    let describe =
        |p: [usize; 2]| format!("box at {} → {}, box at {} → {}", b[0], t[p[0]], b[1], t[p[1]]);
    let x = |v: f64| 20.0 + v * 40.0;
    let arcs = plans
        .iter()
        .enumerate()
        .map(|(k, (p, _))| {
            let color = if k == 0 { "#2e7d32" } else { "#c0392b" };
            (0..2)
                .map(|i| {
                    let (a, b) = (x(TWO_BOXES.boxes[i]), x(TWO_BOXES.targets[p[i]]));
                    let lift = 18.0 + 14.0 * k as f64;
                    view! { <path d=format!("M{a},60 Q{},{} {b},60", (a + b) / 2.0, 60.0 - 2.0 * lift) fill="none" stroke=color stroke-width="2"/> }
                })
                .collect_view()
        })
        .collect_view();
    view! {
        <h3>"Two boxes (seed 001)"</h3>
        <p class="lead">"Boxes at x = 3 and x = 8 must move to two targets. Note: the seed says the targets are 4 and 7, but every cost it computes uses 5 and 7; we use 5 and 7 so that its numbers hold."</p>
        <div class="row">
            <table class="numbers">
                <tr><td><span style="color:#2e7d32">"━ Π₁: "</span> {describe(plans[0].0)}</td><td data-testid="boxes-plan1">{fmt_mass(plans[0].1)}</td></tr>
                <tr><td><span style="color:#c0392b">"━ Π₂: "</span> {describe(plans[1].0)}</td><td data-testid="boxes-plan2">{fmt_mass(plans[1].1)}</td></tr>
                <tr><td>"earth mover's distance (the cheaper plan)"</td><td data-testid="boxes-emd">{fmt_mass(plans[0].1.min(plans[1].1))}</td></tr>
            </table>
            <svg viewBox="0 0 420 80" width="420" height="80" class="scene">
                <line x1=0 y1=60 x2=420 y2=60 stroke="#999"/>
                {(0..=10).map(|v| view! { <text x=x(v as f64) y=76 text-anchor="middle" class="tick">{v}</text> }).collect_view()}
                {TWO_BOXES.boxes.iter().map(|&b| view! { <rect x=x(b) - 8.0 y=48 width=16 height=12 fill="#3167b0"/> }).collect_view()}
                {TWO_BOXES.targets.iter().map(|&t| view! { <rect x=x(t) - 8.0 y=48 width=16 height=12 fill="none" stroke="#e67e22" stroke-dasharray="3 2"/> }).collect_view()}
                {arcs}
            </svg>
        </div>
    }
}

#[component]
fn Seed002() -> impl IntoView {
    let (p, q, plan) = emd::seed002_example();
    let xs: Vec<f64> = p.iter().map(|v| v.0).collect();
    let ys: Vec<f64> = q.iter().map(|v| v.0).collect();
    let cost = emd::plan_cost(&plan, &xs, &ys);
    let optimum = emd::w1_line(&p, &q);
    let rows = plan.iter().map(|f| view! { <tr><td>{format!("{} from {} to {}", f.mass, xs[f.from], ys[f.to])}</td><td>{format!("{} × {} = {:.1}", f.mass, (xs[f.from] - ys[f.to]).abs(), f.mass * (xs[f.from] - ys[f.to]).abs())}</td></tr> }).collect_view();
    view! {
        <h3>"A discrete example (seed 002)"</h3>
        <p class="lead">"P puts 0.4, 0.2, 0.3, 0.1 at 4, 5, 6, 7; Q puts 0.2, 0.2, 0.4, 0.2 at 0, 1, 2, 3. The seed's plan costs 3.5, and since all of P lies right of all of Q, every plan costs the same: 3.5 is the distance (∫|F_P − F_Q| agrees)."</p>
        <table class="numbers">
            {rows}
            <tr><td>"the seed's plan"</td><td data-testid="seed002-total">{format!("{cost:.1}")}</td></tr>
            <tr><td>"optimum, ∫|F_P − F_Q| dx"</td><td data-testid="seed002-optimum">{format!("{optimum:.1}")}</td></tr>
        </table>
    }
}

const PTS: f64 = 320.0;
const RANGE: f64 = 3.0;

fn to_px(v: [f64; 2]) -> (f64, f64) {
    (PTS / 2.0 + v[0] / RANGE * PTS / 2.0, PTS / 2.0 - v[1] / RANGE * PTS / 2.0)
}

fn format_points(points: &[[f64; 2]]) -> String {
    points.iter().map(|p| format!("{:.2},{:.2}", p[0], p[1])).collect::<Vec<_>>().join("  ")
}

/// The typed point sets P and Q, and their optimal plan.
type Problem = (Vec<[f64; 2]>, Vec<[f64; 2]>, Plan2d);

#[component]
fn PointsEditor() -> impl IntoView {
    let p_text = RwSignal::new("-2,1  -2,-1  -1,0".to_string());
    let q_text = RwSignal::new("1,1  2,0  1,-1  2,2".to_string());
    let adding_p = RwSignal::new(true);
    let parsed = Memo::new(move |_| -> Result<Problem, EmdError> {
        let p = emd::parse_points(&p_text.get(), "P")?;
        let q = emd::parse_points(&q_text.get(), "Q")?;
        let plan = emd::plan_2d(&p, &q)?;
        Ok((p, q, plan))
    });
    let click = move |ev: leptos::ev::MouseEvent| {
        let x = (ev.offset_x() as f64 - PTS / 2.0) / (PTS / 2.0) * RANGE;
        let y = -(ev.offset_y() as f64 - PTS / 2.0) / (PTS / 2.0) * RANGE;
        let text = if adding_p.get_untracked() { p_text } else { q_text };
        let mut points = emd::parse_points(&text.get_untracked(), "points").unwrap_or_default();
        points.push([x, y]);
        text.set(format_points(&points));
    };
    let scene = move || {
        let body = parsed.get().ok().map(|(p, q, plan)| {
            let biggest = plan.flows.iter().map(|f| f.mass).fold(0.0, f64::max).max(1e-300);
            let flows = plan
                .flows
                .iter()
                .map(|f| {
                    let ((x1, y1), (x2, y2)) = (to_px(p[f.from]), to_px(q[f.to]));
                    view! { <line x1=x1 y1=y1 x2=x2 y2=y2 stroke="#555" stroke-width=1.0 + 4.0 * f.mass / biggest opacity="0.7"/> }
                })
                .collect_view();
            let dots = |pts: &[[f64; 2]], color: &'static str| pts.iter().map(|&v| { let (x, y) = to_px(v); view! { <circle cx=x cy=y r=5 fill=color/> } }).collect_view();
            view! { <g>{flows}{dots(&p, "#3167b0")}{dots(&q, "#e67e22")}</g> }
        });
        view! {
            <svg viewBox=format!("0 0 {PTS} {PTS}") width=PTS height=PTS class="scene clickable" data-testid="points-svg" on:click=click>
                <rect width=PTS height=PTS fill="#fafafa"/>
                {body}
            </svg>
        }
    };
    view! {
        <h3>"Your own point sets"</h3>
        <p class="lead">"Each set's points share its mass equally, so the sets may have different sizes. The exact optimal plan is a min-cost flow; lines show how much moves where. Click to add points, or edit the coordinates (−3 to 3 fits the picture)."</p>
        <div class="row">
            <div>
                <label class="slider">"P (blue) " <textarea data-testid="points-p" rows="2" cols="36" prop:value=move || p_text.get() on:input=move |ev| p_text.set(event_target_value(&ev))></textarea></label>
                <label class="slider">"Q (orange) " <textarea data-testid="points-q" rows="2" cols="36" prop:value=move || q_text.get() on:input=move |ev| q_text.set(event_target_value(&ev))></textarea></label>
                <label><input type="radio" name="adding" prop:checked=move || adding_p.get() on:change=move |_| adding_p.set(true)/>" clicks add to P"</label>
                <label><input type="radio" name="adding" prop:checked=move || !adding_p.get() on:change=move |_| adding_p.set(false)/>" clicks add to Q"</label>
                <p class="error" data-testid="emd2d-error">{move || parsed.get().err().map(|e| e.to_string())}</p>
                <p>"W1 between them: " <strong data-testid="emd2d-total">{move || parsed.get().map(|(_, _, plan)| fmt(plan.total)).unwrap_or_else(|_| "—".into())}</strong></p>
            </div>
            {scene}
        </div>
    }
}

#[component]
pub fn EmdPage() -> impl IntoView {
    view! {
        <section class="panel">
            <h2>"Earth mover's distance, worked by hand"</h2>
            <HistogramEditor/>
            <Boxes/>
            <Seed002/>
            <PointsEditor/>
        </section>
    }
}
