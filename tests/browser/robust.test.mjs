// The page under abuse, in headless Chromium: every typed field of every tab gets huge,
// negative, NaN, non-numeric and empty values; the GAN lab's largest allowed network trains
// and pauses; step buttons are disabled while a step runs; WebGPU on a software adapter
// (SwiftShader) is not taken unasked; and a Rust panic (through the hidden ?test-panic hook)
// shows a notice that the page must be reloaded, whose button brings the page back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { withBrowser } from './serve.mjs';

const ROOT = path.resolve('dist');
const SHOTS = path.resolve(process.env.CARGO_TARGET_DIR ?? 'target', 'screenshots');
const BAD = ['1e12', '99999999999999999999999', '-5', 'NaN', 'Infinity', '', 'abc'];

// Opens the app at `query` and `hash` once the GAN lab has picked its backend.
async function withPage({ webgpu = false, query = '', hash = '' }, body) {
  await withBrowser({ webgpu }, async ({ page, server, errors }) => {
    await page.goto(`${server.url}${query}${hash}`);
    await page.waitForFunction(() => {
      const el = document.querySelector('#gan-lab [data-testid=backend]');
      return el !== null && el.textContent !== 'starting…';
    }, null, { timeout: 120_000 });
    await body(page, errors);
  });
}

// Types `value` into the field as a person would (value, then input and change events).
async function type(locator, value) {
  await locator.evaluate((el, v) => {
    const proto = el.tagName === 'TEXTAREA' ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
    Object.getOwnPropertyDescriptor(proto, 'value').set.call(el, String(v));
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.dispatchEvent(new Event('change', { bubbles: true }));
  }, value);
}

const panicShown = (page) => page.locator('#panic.fatal').count().then((n) => n > 0);

test('every typed field refuses huge, negative, NaN and empty values by name (CPU fallback)', { timeout: 600_000 }, async () => {
  assert.ok(fs.existsSync(path.join(ROOT, 'index.html')), 'run `trunk build --release` first');
  await withPage({}, async (page, errors) => {
    // The GAN lab and Summarize fields: the message names the field and its range, and the
    // box shows the value still in force.
    const named = {
      'gan-lab': { lr: 'learning rate', beta1: 'β₁', beta2: 'β₂', lambda: 'λ', clip: 'clip c', 'n-critic': 'n_critic', batch: 'batch', hidden: 'width', depth: 'depth', seed: 'seed' },
      summarize: { beam: 'beam', 'min-len': 'min length', 'max-len': 'max length', 'target-len': 'target length' },
      align: { 'align-steps': 'map updates', 'align-seed': 'seed' },
      unpaired: { 'unpaired-steps': 'generator updates' },
    };
    let checked = 0;
    for (const [tab, fields] of Object.entries(named)) {
      await page.goto(page.url().replace(/#.*$/, '') + `#${tab}`);
      for (const [id, name] of Object.entries(fields)) {
        const box = page.locator(`#${tab} [data-testid=${id}]`);
        const good = await box.inputValue();
        for (const bad of BAD) {
          await type(box, bad);
          const err = (await page.locator(`#${tab} [data-testid=error]`).textContent()).trim();
          assert.ok(err.startsWith(`${name} `) && /a number from .* to /.test(err), `${tab} ${id} = “${bad}”: ${err}`);
          assert.equal(await box.inputValue(), good, `${tab} ${id} shows the value in force after “${bad}”`);
          checked++;
        }
      }
    }
    // The Align tab's word box: anything typed is looked up, never trusted; a word outside the
    // vocabulary is named.
    await page.goto(page.url().replace(/#.*$/, '') + '#align');
    for (const bad of [...BAD, 'x'.repeat(100_000), '<script>alert(1)</script>', 'año\u0000']) {
      await type(page.locator('#align [data-testid=align-word]'), bad);
      const status = (await page.locator('#align [data-testid=align-status]').textContent()).trim();
      assert.ok(bad.trim() === '' || status.includes('is not among the 120 source words'), `align word “${bad.slice(0, 20)}”: ${status.slice(0, 80)}`);
      assert.equal(await page.locator('#align [data-testid=align-translations] li').count(), 0);
      assert.equal(await panicShown(page), false);
      checked++;
    }
    // The GAN lab: a good value clears the message; a network too big for the CPU is refused
    // with the work it would take.
    await page.goto(page.url().replace(/#.*$/, '') + '#gan-lab');
    await type(page.locator('#gan-lab [data-testid=batch]'), '256');
    assert.equal((await page.locator('#gan-lab [data-testid=error]').textContent()).trim(), '');
    await type(page.locator('#gan-lab [data-testid=batch]'), '4096');
    await type(page.locator('#gan-lab [data-testid=hidden]'), '1024');
    assert.match(await page.locator('#gan-lab [data-testid=error]').textContent(), /billion multiply-adds per step, more than the page runs on the CPU/);
    assert.equal(await page.locator('#gan-lab [data-testid=train]').isEnabled(), true);
    await page.locator('#gan-lab [data-testid=step-both]').click();
    assert.match(await page.locator('#gan-lab [data-testid=error]').textContent(), /models are not ready|multiply-adds/);
    await type(page.locator('#gan-lab [data-testid=batch]'), '128');
    await type(page.locator('#gan-lab [data-testid=hidden]'), '128');
    assert.equal((await page.locator('#gan-lab [data-testid=error]').textContent()).trim(), '');

    // The other tabs: typed fields and sliders, each with every bad value. A value that is no
    // number (or negative, or empty) is refused with a message in that tab or held to the
    // slider's range; a huge number may also be taken (a histogram bin of 1e12 is a valid
    // mass), and then every number the tab shows must still be finite.
    for (const tab of ['lines', 'gaussians', 'emd', 'kl', 'optimal-d', 'xy']) {
      await page.goto(page.url().replace(/#.*$/, '') + `#${tab}`);
      const fields = page.locator(`#${tab} input[type=number], #${tab} input[type=text], #${tab} input[type=range], #${tab} textarea`);
      const n = await fields.count();
      for (let i = 0; i < n; i++) {
        const box = fields.nth(i);
        const kind = await box.evaluate((el) => el.type);
        const good = await box.inputValue();
        for (const bad of BAD) {
          await type(box, bad);
          await page.waitForTimeout(50);
          const shown = await box.inputValue();
          const messages = (await page.locator(`#${tab} .error`).allTextContents()).join(' ').trim();
          const held = kind === 'range' && shown !== '' && Number.isFinite(Number(shown));
          const huge = bad === '1e12' || /^9+$/.test(bad);
          const finite = !/\bNaN\b|\binf\b|\binfinity\b/i.test(await page.locator(`#${tab}`).innerText());
          assert.ok(held || messages !== '' || (huge && finite), `${tab} field ${i} (${kind}) = “${bad}”: no message, shows “${shown}”`);
          assert.equal(await panicShown(page), false, `${tab} field ${i} = “${bad}” panicked`);
          checked++;
        }
        await type(box, good);
      }
    }
    console.log(`robust: ${checked} bad values typed into the page's fields, each refused or held in range; no panic`);
    assert.deepEqual(errors, []);
  });
});

test('GAN lab: the largest network the CPU path allows trains and pauses; step buttons wait for a step (CPU fallback)', { timeout: 600_000 }, async () => {
  await withPage({}, async (page, errors) => {
    const sel = (id) => page.locator(`#gan-lab [data-testid=${id}]`);
    // The longest task on the page's main thread while training: how long a click (Pause) can
    // wait before the page sees it (Chromium's Long Tasks API reports tasks over 50 ms).
    await page.evaluate(() => {
      window.longTasks = [];
      new PerformanceObserver((l) => window.longTasks.push(...l.getEntries().map((e) => e.duration))).observe({ type: 'longtask' });
    });
    const trainFor = async (steps) => {
      await page.waitForFunction(() => !Number.isNaN(Number.parseFloat(document.querySelector('#gan-lab [data-testid=w1]')?.textContent ?? '')), null, { timeout: 120_000 });
      await page.evaluate(() => { window.longTasks.length = 0; });
      await sel('train').click();
      for (const id of ['train', 'step-critic', 'step-generator', 'step-both']) {
        assert.equal(await sel(id).isDisabled(), true, `${id} is disabled while training`);
      }
      await page.waitForFunction((n) => Number(document.querySelector('#gan-lab [data-testid=step-count]').textContent) >= n, steps, { timeout: 300_000, polling: 100 });
      await sel('pause').click();
      await page.waitForFunction(() => !document.querySelector('#gan-lab [data-testid=train]').disabled, null, { timeout: 60_000, polling: 10 });
      const longest = await page.evaluate(() => Math.max(0, ...window.longTasks));
      const stepAtPause = Number(await sel('step-count').textContent());
      await page.waitForTimeout(1500);
      assert.equal(Number(await sel('step-count').textContent()), stepAtPause, 'Pause stops training');
      return { longest, stepAtPause };
    };
    const small = await trainFor(30);
    // 3× the default network's work per step: the most the page allows on the CPU.
    await type(sel('batch'), '384');
    assert.equal((await sel('error').textContent()).trim(), '');
    const { longest, stepAtPause } = await trainFor(10);
    console.log(`robust: longest main-thread task while training on the CPU: ${small.longest.toFixed(0)} ms with the default network, ${longest.toFixed(0)} ms with batch 384 (3× the default work, the page's limit)`);
    // One step from a button: the buttons are disabled until it is done, then enabled again.
    await sel('step-both').click();
    await page.waitForFunction((n) => Number(document.querySelector('#gan-lab [data-testid=step-count]').textContent) > n, stepAtPause, { timeout: 60_000 });
    await page.waitForFunction(() => !document.querySelector('#gan-lab [data-testid=step-both]').disabled, null, { timeout: 60_000 });
    assert.equal((await sel('error').textContent()).trim(), '');
    assert.deepEqual(errors, []);
  });
});

test('WebGPU on a software adapter is not taken unless the address asks for it', { timeout: 300_000 }, async () => {
  await withPage({ webgpu: true }, async (page, errors) => {
    const backend = (await page.locator('#gan-lab [data-testid=backend]').textContent()).trim();
    const note = (await page.locator('#gan-lab [data-testid=backend-note]').textContent()).trim();
    console.log(`robust: with --enable-unsafe-webgpu and no ?webgpu=always: ${backend}; ${note}`);
    assert.equal(backend, 'CPU (Flex)');
    assert.match(note, /software renderer .* so the page runs on the CPU\. Add \?webgpu=always/);
    assert.deepEqual(errors, []);
  });
  await withPage({ webgpu: true, query: '?webgpu=always' }, async (page, errors) => {
    assert.equal((await page.locator('#gan-lab [data-testid=backend]').textContent()).trim(), 'WebGPU');
    assert.match(await page.locator('#gan-lab [data-testid=backend-note]').textContent(), /because the address asks for it/);
    assert.deepEqual(errors, []);
  });
});

test('a panic says the page must be reloaded, and Reload brings it back', { timeout: 300_000 }, async () => {
  await withPage({ query: '?test-panic' }, async (page, errors) => {
    assert.equal(await panicShown(page), false);
    await page.locator('[data-testid=test-panic]').click();
    await page.waitForSelector('#panic.fatal', { timeout: 10_000 });
    const message = (await page.locator('[data-testid=panic-message]').textContent()).trim();
    assert.match(message, /must be reloaded/);
    assert.match(message, /a test panic, requested by \?test-panic/);
    // The notice covers the page: a click on Train lands on the notice, not the button.
    const box = await page.locator('#gan-lab [data-testid=train]').boundingBox();
    const top = await page.evaluate(([x, y]) => document.elementFromPoint(x, y)?.closest('#panic') !== null, [box.x + box.width / 2, box.y + box.height / 2]);
    assert.ok(top, 'the notice is on top of the page');
    fs.mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, 'panic.png') });
    assert.ok(errors.some((e) => /unreachable/.test(e)), `the module trapped: ${errors}`);
    await page.locator('[data-testid=panic-reload]').click();
    await page.waitForFunction(() => {
      const el = document.querySelector('#gan-lab [data-testid=backend]');
      return el !== null && el.textContent !== 'starting…' && !Number.isNaN(Number.parseFloat(document.querySelector('#gan-lab [data-testid=w1]')?.textContent ?? ''));
    }, null, { timeout: 120_000 });
    assert.equal(await panicShown(page), false, 'the reloaded page has no notice');
    await page.locator('#gan-lab [data-testid=step-both]').click();
    await page.waitForFunction(() => Number(document.querySelector('#gan-lab [data-testid=step-count]').textContent) >= 1, null, { timeout: 60_000 });
  });
});
