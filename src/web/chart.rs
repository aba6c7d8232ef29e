//! A small SVG line chart.

use leptos::prelude::*;

/// One named series of (x, y) points.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub name: &'static str,
    pub color: &'static str,
    pub points: Vec<(f64, f64)>,
}

impl Series {
    pub fn new(name: &'static str, color: &'static str, points: Vec<(f64, f64)>) -> Self {
        Series { name, color, points }
    }
}

const W: f64 = 320.0;
const H: f64 = 140.0;
const PAD: f64 = 28.0;

#[component]
pub fn LineChart(
    title: &'static str,
    #[prop(into)] series: Signal<Vec<Series>>,
    /// What x is ("step" unless told).
    #[prop(optional)]
    x_label: Option<&'static str>,
    /// A vertical line at this x (the current slider value).
    #[prop(optional, into)]
    marker: MaybeProp<f64>,
    /// Fixed y limits instead of the data's own.
    #[prop(optional)]
    y_range: Option<(f64, f64)>,
) -> impl IntoView {
    let x_label = x_label.unwrap_or("step");
    let body = move || {
        let all = series.get();
        let pts = all.iter().flat_map(|s| s.points.iter().copied());
        let (mut x0, mut x1, mut y0, mut y1) =
            (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
        for (x, y) in pts.filter(|p| p.0.is_finite() && p.1.is_finite()) {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
        if let Some((lo, hi)) = y_range {
            (y0, y1) = (lo, hi);
        }
        if !x0.is_finite() {
            return view! { <text x="50%" y="50%" text-anchor="middle" class="muted">"no data yet"</text> }.into_any();
        }
        if x1 - x0 < 1e-12 {
            x1 = x0 + 1.0;
        }
        if y1 - y0 < 1e-12 {
            y1 = y0 + 1.0;
        }
        let sx = move |x: f64| PAD + (x - x0) / (x1 - x0) * (W - 2.0 * PAD);
        let sy = move |y: f64| H - PAD + (y0 - y) / (y1 - y0) * (H - 2.0 * PAD);
        let clamp = move |y: f64| y.clamp(y0, y1);
        let marker = marker.get().filter(|m| m.is_finite()).map(|m| {
            let x = sx(m.clamp(x0, x1));
            view! { <line x1=x y1=PAD x2=x y2=H - PAD stroke="#888" stroke-dasharray="3 3"/> }
        });
        let lines = all
            .into_iter()
            .map(|s| {
                let d = s
                    .points
                    .iter()
                    .filter(|p| p.1.is_finite())
                    .map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(clamp(y))))
                    .collect::<Vec<_>>()
                    .join(" ");
                view! { <polyline points=d fill="none" stroke=s.color stroke-width="1.5"/> }
            })
            .collect_view();
        view! {
            <g>
                <line x1=PAD y1=H - PAD x2=W - PAD y2=H - PAD stroke="#999"/>
                <line x1=PAD y1=PAD x2=PAD y2=H - PAD stroke="#999"/>
                <text x=2 y=PAD class="tick">{format!("{y1:.2}")}</text>
                <text x=2 y=H - PAD class="tick">{format!("{y0:.2}")}</text>
                <text x=W - PAD y=H - 8.0 class="tick" text-anchor="end">{format!("{x_label} {}", short(x1))}</text>
                <text x=PAD y=H - 8.0 class="tick">{short(x0)}</text>
                {marker}
                {lines}
            </g>
        }
        .into_any()
    };
    let legend = move || {
        series.get().into_iter().map(|s| view! { <span class="legend" style=format!("color:{}", s.color)>"━ " {s.name}</span> }).collect_view()
    };
    view! {
        <figure class="chart">
            <figcaption>{title} " " {legend}</figcaption>
            <svg viewBox=format!("0 0 {W} {H}") width=W height=H>{body}</svg>
        </figure>
    }
}

fn short(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e9 { format!("{v:.0}") } else { format!("{v:.2}") }
}
