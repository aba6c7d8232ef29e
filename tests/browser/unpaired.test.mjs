// The Unpaired tab in headless Chromium (it trains on the CPU): starting from the shipped
// bundle, each update's critic estimate, reconstruction NLL and sampled hidden summary equal
// those of the native CLI's `unpaired train --from` the same bundle; after more updates the
// shown documents' hidden summaries have changed from the pretrained generator's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { withBrowser } from './serve.mjs';

const ROOT = path.resolve('dist');
const TARGET = path.resolve(process.env.CARGO_TARGET_DIR ?? 'target');
const SHOTS = path.join(TARGET, 'screenshots');
const NATIVE = path.join(TARGET, 'debug', 'earthmover');
// The tab's corpora and their bundles, the default first.
const SETTINGS = [
  { id: 'debian', bundle: path.resolve('public/models/unpaired-lab.safetensors'), shot: 'unpaired-tab.png' },
  { id: 'news', bundle: path.resolve('public/models/unpaired-lab-news.safetensors'), shot: 'unpaired-tab-news.png' },
];
// Updates compared with the CLI, one by one; then the run goes on to MORE in all.
const STEPS = 4;
const MORE = 40;

const sel = (id) => `#unpaired [data-testid=${id}]`;
const text = async (page, id) => (await page.locator(sel(id)).first().textContent()).trim();

// The page's step log: [update, estimate, reconstruction NLL, sampled summary] per line.
async function log(page) {
  const t = await page.locator(sel('unpaired-log')).textContent();
  return t.split('\n').filter((l) => l.length > 0).map((l) => {
    const [step, estimate, rec, sample] = l.split('\t');
    return { step: Number(step), estimate: Number(estimate), rec: Number(rec), sample: sample ?? '' };
  });
}

async function trainTo(page, steps) {
  await page.locator(sel('unpaired-steps')).fill(String(steps));
  await page.locator(sel('unpaired-steps')).dispatchEvent('change');
  await page.locator(sel('unpaired-train')).click();
  await page.waitForFunction((n) => Number(document.querySelector('#unpaired [data-testid=unpaired-step]').textContent) === n
    && !document.querySelector('#unpaired [data-testid=unpaired-train]').disabled, steps, { timeout: 540_000, polling: 500 });
}

for (const { id, bundle: BUNDLE, shot } of SETTINGS) test(`Unpaired tab (${id}): updates equal the CLI's from the same bundle, and the hidden summaries move (CPU)`, { timeout: 600_000 }, async () => {
  assert.ok(fs.existsSync(path.join(ROOT, 'index.html')), 'run `trunk build --release` first');
  assert.ok(fs.existsSync(NATIVE), 'run `cargo test` (it builds the native CLI) first');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unpaired-lab-'));
  execFileSync(NATIVE, ['unpaired', 'train', '--from', BUNDLE, '--data', BUNDLE, '--corpus', 'bundle', '--out', dir, '--steps', String(STEPS), '--log-every', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const native = fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(native.length, STEPS);
  await withBrowser({ webgpu: false }, async ({ page, server, errors }) => {
    await page.goto(`${server.url}#unpaired`);
    if (id !== 'debian') {
      await page.waitForFunction(() => document.querySelector('#unpaired [data-testid=unpaired-train]')?.disabled === false, null, { timeout: 120_000 });
      await page.locator(sel('unpaired-corpus')).selectOption(id);
    }
    // The bundle downloads when the tab opens; then the shown documents get their summaries.
    await page.waitForFunction(() => document.querySelectorAll('#unpaired [data-testid=unpaired-now]').length === 4
      && !document.querySelector('#unpaired [data-testid=unpaired-train]').disabled, null, { timeout: 120_000 });
    const before = await page.locator(sel('unpaired-now')).allTextContents();
    assert.ok(before.every((s) => s.trim().length > 0), `the pretrained generator writes something: ${JSON.stringify(before)}`);
    const t0 = Date.now();
    await trainTo(page, STEPS);
    const perStep = (Date.now() - t0) / STEPS;
    const got = await log(page);
    assert.equal(got.length, STEPS);
    // Float32 rounding differs between wasm and native kernels: equal to a few parts in 10⁴.
    for (let i = 0; i < STEPS; i++) {
      const [g, n] = [got[i], native[i]];
      assert.equal(g.step, n.step);
      const close = (a, b) => Math.abs(a - b) <= 1e-3 * Math.max(1, Math.abs(b));
      assert.ok(close(g.estimate, n.critic_estimate), `update ${g.step}: estimate ${g.estimate} vs CLI ${n.critic_estimate}`);
      assert.ok(close(g.rec, n.reconstruction_nll), `update ${g.step}: reconstruction ${g.rec} vs CLI ${n.reconstruction_nll}`);
      assert.equal(g.sample, n.samples[0], `update ${g.step}: the sampled hidden summary`);
    }
    console.log(`Unpaired tab (${id}): ${STEPS} updates equal the CLI's; ${(perStep / 1000).toFixed(2)} s per update in the browser`);
    await trainTo(page, MORE);
    const after = await page.locator(sel('unpaired-now')).allTextContents();
    const changed = after.filter((s, i) => s !== before[i]).length;
    console.log(`after ${MORE} updates: ${changed} of 4 hidden summaries changed; estimate ${await text(page, 'unpaired-estimate')}`);
    console.log(JSON.stringify({ before, after }));
    assert.ok(changed >= 2, `the hidden summaries move: ${JSON.stringify({ before, after })}`);
    assert.equal((await log(page)).length, MORE);
    fs.mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, shot), fullPage: true });
    assert.equal(await text(page, 'error'), '');
    assert.deepEqual(errors, []);
  });
});
