// The GAN lab in headless Chromium: with WebGPU (SwiftShader) and without (CPU fallback),
// training WGAN-GP on 8 Gaussians makes the step count rise and the exact W1 fall.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { withBrowser } from './serve.mjs';

const ROOT = path.resolve('dist');
const SHOTS = path.resolve(process.env.CARGO_TARGET_DIR ?? 'target', 'screenshots');

async function text(page, id) {
  return (await page.locator(`#gan-lab [data-testid=${id}]`).textContent()).trim();
}

// What the canvas shows, read from its pixels: whether each of the 8 Gaussians' centres has a
// real (black) point within 4 px, whether the origin (no data there) has none, how many pixels
// are the generated points' orange, and the heatmap's colour at 100 fixed spots between the
// modes (to see the critic change).
async function canvasView(page) {
  return page.evaluate(() => {
    const c = document.querySelector('#gan-lab canvas');
    const { width: w, height: h } = c;
    const d = c.getContext('2d').getImageData(0, 0, w, h).data;
    const px = (x, y) => { const i = 4 * (Math.round(y) * w + Math.round(x)); return [d[i], d[i + 1], d[i + 2]]; };
    // Data → pixel, as src/web/canvas.rs draws (EXTENT 2.5).
    const toPx = ([x, y]) => [(x + 2.5) / 5 * w, (2.5 - y) / 5 * h];
    const dark = ([r, g, b]) => Math.max(r, g, b) < 90;
    const near = ([cx, cy], r, test) => {
      for (let y = cy - r; y <= cy + r; y++) for (let x = cx - r; x <= cx + r; x++) if (test(px(x, y))) return true;
      return false;
    };
    const centres = [...Array(8).keys()].map((k) => toPx([Math.SQRT2 * Math.cos(k * Math.PI / 4), Math.SQRT2 * Math.sin(k * Math.PI / 4)]));
    let orange = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] > 200 && d[i + 1] > 100 && d[i + 1] < 180 && d[i + 2] < 60) orange++;
    const spots = [];
    for (let k = 0; k < 100; k++) spots.push(px(20 + (k % 10) * 48, 20 + Math.floor(k / 10) * 48));
    return { realAtCentres: centres.map((c) => near(c, 4, dark)), realAtOrigin: near(toPx([0, 0]), 6, dark), orange, spots };
  });
}

async function number(page, id) {
  return Number.parseFloat(await text(page, id));
}

for (const webgpu of [true, false]) {
  const label = webgpu ? 'WebGPU' : 'CPU fallback';
  test(`GAN lab trains WGAN-GP on 8 Gaussians (${label})`, { timeout: 600_000 }, async () => {
    assert.ok(fs.existsSync(path.join(ROOT, 'index.html')), 'run `trunk build --release` first');
    await withBrowser({ webgpu, viewport: { width: 1300, height: 900 } }, async ({ page, server, errors }) => {
      // SwiftShader is a software adapter: the page takes it only when the address asks.
      await page.goto(webgpu ? `${server.url}?webgpu=always` : server.url);
      await page.waitForFunction(() => {
        const el = document.querySelector('#gan-lab [data-testid=backend]');
        return el !== null && el.textContent !== 'starting…';
      }, null, { timeout: 120_000 });
      const backend = await text(page, 'backend');
      if (webgpu) {
        assert.equal(backend, 'WebGPU');
      } else {
        assert.equal(backend, 'CPU (Flex)');
        assert.match(await text(page, 'backend-note'), /WebGPU is not available/);
      }
      assert.equal(await page.locator('#gan-lab [data-testid=data-select]').inputValue(), '8gaussians');
      assert.equal(await page.locator('#gan-lab [data-testid=loss-select]').inputValue(), 'wgan-gp');

      // The untrained generator's exact W1, shown before any step.
      await page.waitForFunction(() => !Number.isNaN(Number.parseFloat(document.querySelector('[data-testid=w1]').textContent)), null, { timeout: 120_000 });
      const w1Start = await number(page, 'w1');
      assert.equal(await number(page, 'step-count'), 0);
      assert.match(await text(page, 'modes'), /^\d+\/8$/);
      const viewStart = await canvasView(page);

      // On SwiftShader a busy machine can hold the page's main thread for a while.
      await page.locator('#gan-lab [data-testid=train]').click({ timeout: 180_000 });
      // SwiftShader runs WebGPU on the CPU in emulation: about 0.2 steps/s here, against
      // about 7 on Flex, so the WebGPU run is shorter.
      const target = webgpu ? 12 : 150;
      await page.waitForFunction((n) => Number(document.querySelector('[data-testid=step-count]').textContent) >= n, target, { timeout: 480_000, polling: 500 });
      // Let one more snapshot land after the target step.
      const stepAtTarget = await number(page, 'step-count');
      await page.waitForTimeout(1500);
      await page.locator('#gan-lab [data-testid=pause]').click({ timeout: 180_000 });
      const w1End = await number(page, 'w1');
      const steps = await number(page, 'step-count');
      const sps = await number(page, 'steps-per-sec');
      console.log(`${label}: backend ${backend}, W1 ${w1Start} → ${w1End} after ${steps} steps, ${sps} steps/s, modes ${await text(page, 'modes')}`);
      assert.ok(steps >= target && steps >= stepAtTarget, `the step count rises to ${target}: ${steps}`);
      const fall = webgpu ? 0.9 : 0.6;
      assert.ok(w1End < fall * w1Start, `exact W1 should fall below ${fall} of its start: ${w1Start} → ${w1End}`);
      assert.equal(await text(page, 'error'), '');
      // What a person sees: real points on all 8 modes and none at the empty centre,
      // generated points drawn, and a heatmap that changed as the critic trained.
      const view = await canvasView(page);
      assert.deepEqual(view.realAtCentres, Array(8).fill(true), 'a real point is drawn at every mode');
      assert.equal(view.realAtOrigin, false, 'no real point is drawn where the data has none');
      assert.ok(view.orange > 200, `generated points are drawn: ${view.orange} orange pixels`);
      const change = view.spots.reduce((a, p, i) => a + p.reduce((b, v, j) => b + Math.abs(v - viewStart.spots[i][j]), 0), 0) / (3 * view.spots.length);
      console.log(`${label}: canvas: real points at 8/8 modes, ${view.orange} orange pixels, heatmap changed by ${change.toFixed(1)} levels per channel on average`);
      assert.ok(change > 5, `the heatmap changes as the critic trains: ${change}`);
      fs.mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: path.join(SHOTS, `gan-lab-${webgpu ? 'webgpu' : 'cpu'}.png`) });
      assert.deepEqual(errors, []);
    });
  });
}

test('GAN lab: minibatch discrimination trains a GAN and is refused with a gradient penalty (CPU fallback)', { timeout: 300_000 }, async () => {
  await withBrowser({ webgpu: false, viewport: { width: 1300, height: 900 } }, async ({ page, server, errors }) => {
    await page.goto(server.url);
    await page.waitForFunction(() => !Number.isNaN(Number.parseFloat(document.querySelector('#gan-lab [data-testid=w1]')?.textContent ?? '')), null, { timeout: 120_000 });
    // WGAN-GP's penalty needs a per-sample critic: the page says why instead of training.
    await page.locator('#gan-lab [data-testid=minibatch-discrimination]').check();
    await page.waitForFunction(() => (document.querySelector('#gan-lab [data-testid=error]')?.textContent ?? '').includes('minibatch discrimination cannot be used with wgan-gp'), null, { timeout: 30_000 });
    // The Jensen–Shannon GAN with it: steps run, the view (heatmap against the generated batch,
    // autodiff arrows) renders, nothing fails.
    await page.locator('#gan-lab [data-testid=loss-select]').selectOption('gan');
    await page.locator('#gan-lab [data-testid=minibatch-discrimination]').check();
    assert.equal(await text(page, 'error'), '');
    for (let i = 0; i < 3; i++) {
      await page.locator('#gan-lab [data-testid=step-both]').click();
      await page.waitForFunction((n) => Number(document.querySelector('#gan-lab [data-testid=step-count]')?.textContent) >= n, i + 1, { timeout: 60_000 });
    }
    await page.waitForFunction(() => !Number.isNaN(Number.parseFloat(document.querySelector('#gan-lab [data-testid=w1]')?.textContent ?? '')), null, { timeout: 60_000 });
    assert.equal(await number(page, 'step-count'), 3);
    assert.equal(await text(page, 'error'), '');
    assert.deepEqual(errors, []);
  });
});
