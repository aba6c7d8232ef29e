// The GAN lab in headless Chromium: with WebGPU (SwiftShader) and without (CPU fallback),
// training WGAN-GP on 8 Gaussians makes the step count rise and the exact W1 fall.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { serve, chromiumArgs } from './serve.mjs';

const ROOT = path.resolve('dist');
const SHOTS = path.resolve(process.env.CARGO_TARGET_DIR ?? 'target', 'screenshots');

async function text(page, id) {
  return (await page.locator(`#gan-lab [data-testid=${id}]`).textContent()).trim();
}

async function number(page, id) {
  return Number.parseFloat(await text(page, id));
}

for (const webgpu of [true, false]) {
  const label = webgpu ? 'WebGPU' : 'CPU fallback';
  test(`GAN lab trains WGAN-GP on 8 Gaussians (${label})`, { timeout: 600_000 }, async () => {
    assert.ok(fs.existsSync(path.join(ROOT, 'index.html')), 'run `trunk build --release` first');
    const server = await serve(ROOT);
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      // Playwright starts Chromium with a fresh, empty profile of its own.
      args: chromiumArgs({ webgpu }),
    });
    const errors = [];
    try {
      const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(server.url);
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
      fs.mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: path.join(SHOTS, `gan-lab-${webgpu ? 'webgpu' : 'cpu'}.png`) });
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await server.close();
    }
  });
}

test('GAN lab: minibatch discrimination trains a GAN and is refused with a gradient penalty (CPU fallback)', { timeout: 300_000 }, async () => {
  const server = await serve(ROOT);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: chromiumArgs({ webgpu: false }) });
  const errors = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
    page.on('pageerror', (e) => errors.push(e.message));
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
  } finally {
    await browser.close();
    await server.close();
  }
});
