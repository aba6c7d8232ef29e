// The divergence explorer in headless Chromium: open each page, move its sliders or edit
// its inputs, and check that the numbers shown follow the closed forms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { withBrowser } from './serve.mjs';

const ROOT = path.resolve('dist');
const SHOTS = path.resolve(process.env.CARGO_TARGET_DIR ?? 'target', 'screenshots');

const text = async (page, id) => (await page.locator(`[data-testid=${id}]`).first().textContent()).trim();
const number = async (page, id) => Number.parseFloat((await text(page, id)).replace('−', '-'));
const near = (got, want, tol, what) => assert.ok(Math.abs(got - want) <= tol, `${what}: ${got}, expected ${want} ± ${tol}`);

// Sets a range or text input the way a person's drag or typing does (value, then input/change).
async function set(page, id, value) {
  await page.locator(`[data-testid=${id}]`).evaluate((el, v) => {
    const proto = el.tagName === 'TEXTAREA' ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
    Object.getOwnPropertyDescriptor(proto, 'value').set.call(el, String(v));
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.dispatchEvent(new Event('change', { bubbles: true }));
  }, value);
}

async function open(page, url, hash) {
  await page.goto(`${url}#${hash}`);
  await page.locator(`main#${hash}`).waitFor({ state: 'visible', timeout: 120_000 });
}

async function shot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

test('divergence explorer pages follow the closed forms', { timeout: 900_000 }, async () => {
  assert.ok(fs.existsSync(path.join(ROOT, 'index.html')), 'run `trunk build --release` first');
  await withBrowser({ webgpu: false, viewport: { width: 1300, height: 900 } }, async ({ page, server, errors }) => {

    // Parallel lines.
    await open(page, server.url, 'lines');
    assert.equal(Number(await page.getByTestId('theta').inputValue()), 0.5);
    assert.equal(await text(page, 'kl'), '∞');
    assert.equal(await text(page, 'kl-reverse'), '∞');
    assert.equal(await text(page, 'js'), '0.693');
    assert.equal(await number(page, 'w'), 0.5);
    assert.equal(await number(page, 'js-grad'), 0);
    assert.equal(await number(page, 'w-grad'), 1);
    await set(page, 'theta', 0);
    for (const id of ['kl', 'kl-reverse', 'js', 'w']) assert.equal(await number(page, id), 0, `${id} at θ = 0`);
    await set(page, 'theta', -0.7);
    assert.equal(await text(page, 'js'), '0.693');
    assert.equal(await number(page, 'w'), 0.7);
    assert.equal(await number(page, 'w-grad'), -1);
    await set(page, 'theta', 0.5);
    await page.getByTestId('estimate').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=w-estimate]').textContent !== '—', null, { timeout: 300_000 });
    near(await number(page, 'js-estimate'), Math.LN2, 0.02, 'JS from a discriminator');
    near(await number(page, 'w-estimate'), 0.5, 0.05, 'W from a critic');
    near(await number(page, 'js-grad-estimate'), 0, 0.02, 'JS gradient from a discriminator');
    near(await number(page, 'w-grad-estimate'), 1, 0.15, 'W gradient from a critic');
    await shot(page, 'explorer-lines');

    // Two Gaussians: the discriminator saturates, the critic stays linear.
    await open(page, server.url, 'gaussians');
    await page.getByTestId('train-gaussians').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=critic-r2]').textContent !== '—', null, { timeout: 300_000 });
    assert.ok(await number(page, 'd-real') > 0.99);
    assert.ok(await number(page, 'd-fake') < 0.01);
    assert.ok(await number(page, 'd-grad-fake') < 1e-3, 'the minimax gradient vanishes at the fakes');
    assert.ok(await number(page, 'f-grad-fake') > 0.1, 'the critic gradient does not');
    assert.ok(await number(page, 'critic-r2') > 0.95);
    await shot(page, 'explorer-gaussians');

    // Earth mover: seed 004's δ recursion, the boxes, seed 002, bad input, the 2-D editor.
    await open(page, server.url, 'emd');
    assert.equal(await text(page, 'emd-total'), '5');
    const deltas = await page.locator('[data-testid=delta-table] tr td:last-child').allTextContents();
    assert.deepEqual(deltas, ['0', '2', '2', '-1', '0']);
    assert.equal(await text(page, 'boxes-plan1'), '3');
    assert.equal(await text(page, 'boxes-plan2'), '7');
    assert.equal(await text(page, 'seed002-total'), '3.5');
    assert.equal(await text(page, 'seed002-optimum'), '3.5');
    await shot(page, 'explorer-emd');
    for (const [p, message] of [['', /empty/], ['0, 0', /no mass/], ['1, -2', /negative/], ['1, x', /not a number/], ['1e308, 1e308', /too large/]]) {
      await set(page, 'hist-p', p);
      assert.match(await text(page, 'emd-error'), message, `P = “${p}”`);
      assert.equal(await text(page, 'emd-total'), '—');
    }
    await set(page, 'hist-p', '1, 1');
    await set(page, 'hist-q', '0, 4');
    assert.equal(await text(page, 'emd-error'), '');
    assert.match(await text(page, 'emd-note'), /rescaled/);
    assert.equal(await text(page, 'emd-total'), '1');
    await page.getByTestId('hist-svg').click({ position: { x: 110, y: 60 } });
    assert.equal(await page.getByTestId('hist-p').inputValue(), '2, 1');
    await set(page, 'points-p', '0,0');
    await set(page, 'points-q', '3,4');
    assert.equal(await number(page, 'emd2d-total'), 5);
    await set(page, 'points-q', '3,4  -3,-4');
    assert.equal(await number(page, 'emd2d-total'), 5);
    await set(page, 'points-q', '3,');
    assert.match(await text(page, 'emd2d-error'), /not a number/);
    await set(page, 'points-q', '');
    assert.match(await text(page, 'emd2d-error'), /empty/);

    // Forward vs reverse KL.
    await open(page, server.url, 'kl');
    assert.equal(await number(page, 'fwd-mu'), 0);
    near(await number(page, 'fwd-sigma'), Math.sqrt(9.25), 1e-3, 'forward fit σ');
    near(await number(page, 'rev-mu'), 3, 1e-3, 'reverse fit μ');
    near(await number(page, 'rev-sigma'), 0.5, 1e-3, 'reverse fit σ');
    near(await number(page, 'kl-reverse-fit'), Math.LN2, 1e-3, 'KL(q‖p) of the reverse fit');
    await shot(page, 'explorer-kl');
    await set(page, 'kl-separation', 0);
    near(await number(page, 'rev-sigma'), 0.5, 1e-3, 'one mode: reverse fit σ');
    assert.equal(await number(page, 'kl-forward'), 0);
    assert.equal(await number(page, 'kl-reverse-fit'), 0);

    // Optimal discriminator.
    await open(page, server.url, 'optimal-d');
    assert.equal(await text(page, 'optd-value'), await text(page, 'optd-identity'));
    assert.ok(await number(page, 'optd-value') > -1.386);
    await set(page, 'optd-fake-mean', 0);
    assert.equal(await number(page, 'optd-value'), -1.386);
    assert.equal(await number(page, 'optd-optimum'), -1.386);
    assert.equal(await number(page, 'optd-dstar'), 0.5);
    assert.equal(await number(page, 'optd-js'), 0);
    await set(page, 'optd-fake-mean', 5);
    await set(page, 'optd-real-mean', -5);
    await set(page, 'optd-real-sigma', 0.1);
    await set(page, 'optd-fake-sigma', 0.1);
    assert.equal(await text(page, 'optd-js'), '0.693');
    assert.equal(await number(page, 'optd-value'), 0);
    await set(page, 'optd-fake-mean', 2);
    await set(page, 'optd-real-mean', 0);
    await set(page, 'optd-real-sigma', 1);
    await set(page, 'optd-fake-sigma', 1);
    await shot(page, 'explorer-optimal-d');

    // The xy game.
    await open(page, server.url, 'xy');
    for (const eta of [0.1, 0.3]) {
      await set(page, 'eta', eta);
      const want = Math.SQRT2 * Math.pow(1 + eta * eta, 50);
      near(await number(page, 'xy-radius'), want, 1e-3, `radius after 100 steps at η ${eta}`);
      assert.equal(await text(page, 'xy-growth'), await text(page, 'xy-growth-exact'));
      near(await number(page, 'xy-growth-exact'), Math.sqrt(1 + eta * eta), 1e-6, 'growth per step');
      assert.ok(await number(page, 'xy-radius-alt') < 2 * Math.SQRT2, 'alternating stays bounded');
    }
    await set(page, 'eta', 0.1);
    await shot(page, 'explorer-xy');
    for (const bad of [0, -0.1, 'abc']) {
      await set(page, 'eta-input', bad);
      assert.match(await text(page, 'xy-error'), /positive/, `η = ${bad}`);
      assert.equal(await text(page, 'xy-radius'), '—');
    }
    await set(page, 'eta-input', 0.2);
    assert.equal(await text(page, 'xy-error'), '');

    assert.equal(await page.getByTestId('panic').isVisible(), false, 'no panic');
    assert.deepEqual(errors, []);
  });
});
