//! Drawing on a 2-D canvas: the pages' helpers, and a lab snapshot (the critic's values as a
//! heatmap, real points, generated points and the gradient arrows).

use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d as Context, HtmlCanvasElement};

use crate::gan::view::{EXTENT, Snapshot};

/// The canvas's 2-D drawing context, the whole canvas filled with `background`.
pub fn cleared(canvas: &HtmlCanvasElement, background: &str) -> Option<Context> {
    let ctx = canvas.get_context("2d").ok().flatten()?.dyn_into::<Context>().ok()?;
    ctx.set_fill_style_str(background);
    ctx.fill_rect(0.0, 0.0, canvas.width() as f64, canvas.height() as f64);
    Some(ctx)
}

/// `size`-pixel squares in `color` centred on `points` (pixels).
pub fn squares(ctx: &Context, color: &str, size: f64, points: impl Iterator<Item = (f64, f64)>) {
    ctx.set_fill_style_str(color);
    for (x, y) in points {
        ctx.fill_rect(x - size / 2.0, y - size / 2.0, size, size);
    }
}

/// Dots 2.2 pixels in radius, in `color`, centred on `points` (pixels).
pub fn dots(ctx: &Context, color: &str, points: impl Iterator<Item = (f64, f64)>) {
    ctx.set_fill_style_str(color);
    for (x, y) in points {
        ctx.begin_path();
        let _ = ctx.arc(x, y, 2.2, 0.0, std::f64::consts::TAU);
        ctx.fill();
    }
}

/// Data coordinates of a point the page gives (a click's `client_x` and `client_y`).
pub fn to_data(canvas: &HtmlCanvasElement, client_x: f64, client_y: f64) -> [f32; 2] {
    let (w, h) = (canvas.width() as f64, canvas.height() as f64);
    let rect = canvas.get_bounding_client_rect();
    let px = (client_x - rect.left()) * (w / rect.width().max(1.0));
    let py = (client_y - rect.top()) * (h / rect.height().max(1.0));
    [(-EXTENT + 2.0 * EXTENT * px / w) as f32, (EXTENT - 2.0 * EXTENT * py / h) as f32]
}

fn to_px(canvas: &HtmlCanvasElement, p: [f64; 2]) -> (f64, f64) {
    let (w, h) = (canvas.width() as f64, canvas.height() as f64);
    ((p[0] + EXTENT) / (2.0 * EXTENT) * w, (EXTENT - p[1]) / (2.0 * EXTENT) * h)
}

fn heat(t: f64) -> String {
    // Blue (low) → white → red (high), as in the CLI's PNG.
    const BLUE: [f64; 3] = [49.0, 104.0, 176.0];
    const WHITE: [f64; 3] = [247.0; 3];
    const RED: [f64; 3] = [203.0, 62.0, 44.0];
    let t = t.clamp(0.0, 1.0);
    let (from, to, s) =
        if t < 0.5 { (BLUE, WHITE, t / 0.5) } else { (WHITE, RED, (t - 0.5) / 0.5) };
    let [r, g, b] = [0, 1, 2].map(|i| (from[i] + (to[i] - from[i]) * s).round() as u8);
    format!("rgb({r},{g},{b})")
}

pub fn draw(canvas: &HtmlCanvasElement, snap: Option<&Snapshot>, drawn: &[[f32; 2]], arrows: bool) {
    let Some(ctx) = cleared(canvas, "#fafafa") else { return };
    let (w, h) = (canvas.width() as f64, canvas.height() as f64);
    if let Some(s) = snap {
        let n = s.grid_size;
        if n > 0 && s.grid.len() == n * n {
            let (lo, hi) = s
                .grid
                .iter()
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
            let span = (hi - lo).max(1e-12) as f64;
            let (cw, ch) = (w / n as f64, h / n as f64);
            for (k, v) in s.grid.iter().enumerate() {
                ctx.set_fill_style_str(&heat((*v - lo) as f64 / span));
                ctx.fill_rect((k % n) as f64 * cw, (k / n) as f64 * ch, cw + 0.5, ch + 0.5);
            }
        }
        squares(&ctx, "rgba(0,0,0,0.75)", 3.0, s.real.iter().map(|&p| to_px(canvas, p)));
        if arrows {
            let max = s.arrows.iter().map(|a| a[0].hypot(a[1])).fold(1e-12, f64::max);
            ctx.set_stroke_style_str("rgba(20,120,40,0.8)");
            ctx.begin_path();
            for (p, a) in s.fake.iter().zip(&s.arrows).step_by(4) {
                let (x, y) = to_px(canvas, *p);
                let len = 22.0 / max;
                ctx.move_to(x, y);
                ctx.line_to(x + a[0] * len, y - a[1] * len);
            }
            ctx.stroke();
        }
        dots(&ctx, "rgb(255,140,0)", s.fake.iter().map(|&p| to_px(canvas, p)));
    }
    let drawn = drawn.iter().map(|p| to_px(canvas, [p[0] as f64, p[1] as f64]));
    squares(&ctx, "rgba(120,0,160,0.9)", 4.0, drawn);
}
