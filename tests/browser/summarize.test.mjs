// The Summarize page in headless Chromium, with WebGPU (SwiftShader) and without (CPU
// fallback): paste and upload articles, compare the greedy summary with the native CLI token
// for token, watch that nothing is requested while summarising, and feed it bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { withBrowser } from './serve.mjs';
import { sel, set, summarize } from './summarize_page.mjs';

const ROOT = path.resolve('dist');
const TARGET = path.resolve(process.env.CARGO_TARGET_DIR ?? 'target');
const SHOTS = path.join(TARGET, 'screenshots');
const NATIVE = path.join(TARGET, 'debug', 'earthmover');
const MODEL = path.resolve('public/models/pointer-generator.safetensors');
const VAL = path.resolve('../shared/data/cnndm/val.source.gz');

const text = async (page, id) => (await page.locator(sel(id)).textContent()).trim();

// Fixed articles: the first validation articles, as plain text.
const articles = zlib.gunzipSync(fs.readFileSync(VAL)).toString('utf8').split('\n').slice(0, 3);

// The native CLI's summary of `article` (tokens, from --explain): greedy, or beam search with
// `beam` rows.
function native(article, { minLen, maxLen, beam, model = MODEL }) {
  const mode = beam ? ['--beam', String(beam)] : ['--greedy'];
  const out = execFileSync(NATIVE, ['summarize', 'run', '--model', model, ...mode, '--min-len', String(minLen), '--max-len', String(maxLen), '--explain', '--device', 'cpu'], { input: article, stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = out.toString('utf8').trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

const words = (page) => page.locator(`${sel('summary')} [data-pgen]`).evaluateAll((els) => els.map((e) => ({ token: e.dataset.token, pgen: Number(e.dataset.pgen) })));

async function expectError(page, what) {
  await summarize(page);
  const err = await text(page, 'error');
  assert.match(err, what);
  assert.equal(await page.locator(sel('summarize')).isEnabled(), true, 'the page stays usable');
}

async function upload(page, name, buffer) {
  await page.locator(sel('file-input')).setInputFiles({ name, mimeType: 'text/plain', buffer });
}

for (const webgpu of [true, false]) {
  const label = webgpu ? 'WebGPU' : 'CPU fallback';
  test(`Summarize page (${label})`, { timeout: 1_500_000 }, async () => {
    assert.ok(fs.existsSync(path.join(ROOT, 'index.html')), 'run `trunk build --release` first');
    assert.ok(fs.existsSync(NATIVE), 'run `cargo test` (it builds the native CLI) first');
    await withBrowser({ webgpu }, async ({ page, server, errors }) => {
      const requests = [];
      page.on('request', (r) => requests.push(r.url()));
      // SwiftShader is a software adapter: the page takes it only when the address asks.
      await page.goto(`${server.url}${webgpu ? '?webgpu=always' : ''}#summarize`);
      await page.waitForFunction(() => /model ready|not usable|Could not/.test(document.querySelector('#summarize [data-testid=model-status]')?.textContent ?? ''), null, { timeout: 300_000, polling: 250 });
      const status = await text(page, 'model-status');
      assert.match(status, /model ready/);
      assert.equal(await text(page, 'backend'), webgpu ? 'WebGPU' : 'CPU (Flex)');
      console.log(`${label}: ${status}`);

      // Same answers as native: greedy, token for token, on fixed articles. The privacy check
      // watches every request from here on.
      const before = requests.length;
      const served = server.requests.length;
      const lengths = { minLen: 10, maxLen: webgpu ? 20 : 40 };
      await set(page, 'decode-mode', 'greedy');
      await set(page, 'min-len', lengths.minLen);
      await set(page, 'max-len', lengths.maxLen);
      for (const article of articles.slice(0, webgpu ? 1 : 3)) {
        const want = native(article, lengths);
        await set(page, 'source-text', article);
        await summarize(page);
        assert.equal(await text(page, 'error'), '');
        const got = await words(page);
        assert.deepEqual(got.map((w) => w.token), want.tokens, 'the page and the native CLI disagree');
        got.forEach((w, i) => {
          assert.ok(w.pgen >= 0 && w.pgen <= 1, `p_gen ${w.pgen}`);
          assert.ok(Math.abs(w.pgen - want.p_gen[i]) < 2e-3, `p_gen of word ${i}: page ${w.pgen}, native ${want.p_gen[i]}`);
        });
      }
      console.log(`${label}: greedy summaries equal the native CLI's on ${webgpu ? 1 : 3} articles; last: ${await text(page, 'summary-text')}`);

      // Hovering a summary word shows its attention over the article.
      await page.locator(`${sel('summary')} [data-pgen]`).first().hover();
      const attn = await page.locator(`${sel('source-view')} [data-attn]`).evaluateAll((els) => els.map((e) => Number(e.dataset.attn)));
      assert.ok(attn.length > 0 && Math.max(...attn) === 1, 'the focused word highlights its attention (scaled to its peak)');

      // Upload a file.
      await upload(page, 'article.txt', Buffer.from(articles[0]));
      await page.waitForFunction(() => /Read article\.txt/.test(document.querySelector('#summarize [data-testid=file-note]').textContent));
      assert.equal(await page.locator(sel('source-text')).inputValue(), articles[0]);
      await summarize(page);
      assert.equal(await text(page, 'error'), '');
      assert.ok((await words(page)).length >= lengths.minLen);

      // Copy says "Copied" only when the clipboard took the text, and a refusal is shown.
      if (!webgpu) {
        const copyLabel = (want) => page.waitForFunction((w) => document.querySelector('#summarize [data-testid=copy]').textContent.trim() === w, want, { timeout: 10_000 });
        await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(server.url).origin });
        await page.locator(sel('copy')).click();
        await copyLabel('Copied');
        assert.equal(await page.evaluate(() => navigator.clipboard.readText()), await text(page, 'summary-text'));
        await page.evaluate(() => { navigator.clipboard.writeText = () => Promise.reject(new DOMException('Write permission denied.', 'NotAllowedError')); });
        await page.locator(sel('copy')).click();
        await copyLabel('Copy failed');
        assert.match(await text(page, 'error'), /Could not copy to the clipboard: Write permission denied/);
        console.log(`${label}: Copy reports success and a refused clipboard`);
      }

      // Beam search (See et al.'s settings) on a 400-token article: the timing for BENCHMARKS.md
      // (on WebGPU here that is SwiftShader, a CPU emulation).
      {
        await set(page, 'decode-mode', 'beam');
        await set(page, 'beam', 4);
        await set(page, 'min-len', 35);
        await set(page, 'max-len', 100);
        const long = articles.find((a) => a.split(' ').length >= 400) ?? articles[0].repeat(3);
        const article400 = long.split(' ').slice(0, 400).join(' ');
        await set(page, 'source-text', article400);
        await summarize(page);
        assert.equal(await text(page, 'error'), '');
        // Beam search matches the native CLI too (the same host-side search over the same
        // device outputs; float differences between backends have not changed a choice here).
        const beamWant = native(article400, { minLen: 35, maxLen: 100, beam: 4 });
        assert.deepEqual((await words(page)).map((w) => w.token), beamWant.tokens, 'beam search: the page and the native CLI disagree');
        console.log(`${label}: beam 4 on a 400-token article: ${await text(page, 'summarize-ms')}, ${(await words(page)).length} words`);
        await page.locator(sel('show-heatmap')).check();
        await page.locator(sel('heatmap')).waitFor({ state: 'visible' });
        fs.mkdirSync(SHOTS, { recursive: true });
        await page.locator(`${sel('summary')} [data-pgen]`).nth(3).hover();
        await page.screenshot({ path: path.join(SHOTS, `summarize-${webgpu ? 'webgpu' : 'cpu'}.png`), fullPage: true });
      }

      const fetched = requests.slice(before).filter((u) => !u.startsWith('data:') && !u.startsWith('blob:'));
      assert.deepEqual(fetched, [], 'the page made requests while summarising');
      assert.equal(server.requests.length, served, 'the server saw requests while the page summarised');

      // Bad input: a clear message each, and the page stays usable.
      await set(page, 'source-text', '');
      await expectError(page, /empty/);
      await set(page, 'source-text', '  \n\t  ');
      await expectError(page, /empty/);
      await set(page, 'source-text', '... !!! ??? ---');
      await expectError(page, /no words/);
      await set(page, 'source-text', '🙂🎉🙂 🚀');
      await expectError(page, /no words/);
      await page.locator(sel('source-text')).evaluate((el) => {
        el.value = 'the police said . '.repeat(300_000);
        el.dispatchEvent(new Event('input', { bubbles: true }));
      });
      await expectError(page, /more than the 5 MB/);
      await upload(page, 'big.txt', Buffer.alloc(6 << 20, 'a'));
      await page.waitForFunction(() => /5 MB/.test(document.querySelector('#summarize [data-testid=error]').textContent));
      await upload(page, 'photo.txt', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01, 0x02]));
      await page.waitForFunction(() => /binary/.test(document.querySelector('#summarize [data-testid=error]').textContent));
      await upload(page, 'latin1.txt', Buffer.from([0x63, 0x61, 0x66, 0xe9]));
      await page.waitForFunction(() => /not UTF-8/.test(document.querySelector('#summarize [data-testid=error]').textContent));
      // CJK: a summary still comes out (it can only copy), with a note.
      await set(page, 'decode-mode', 'greedy');
      await set(page, 'min-len', 3);
      await set(page, 'max-len', 8);
      await set(page, 'source-text', '日本語のテキストです。東京は大きい。');
      await summarize(page);
      assert.equal(await text(page, 'error'), '');
      assert.match(await text(page, 'notes'), /vocabulary/);
      // A very long article is truncated to the encoder length, and the page says so.
      await set(page, 'source-text', articles.join(' '));
      await summarize(page);
      assert.match(await text(page, 'notes'), /read the first \d+/);
      assert.deepEqual(errors, []);
    });
  });
}

test('a model file that fails to load says why', { timeout: 300_000 }, async () => {
  await withBrowser({}, async ({ browser, server }) => {
    for (const [body, status, want] of [['not a model', 200, /not usable: .*safetensors/], ['gone', 404, /answered 404/]]) {
      const page = await browser.newPage();
      await page.route('**/pointer-generator.safetensors', (route) => route.fulfill({ status, body }));
      await page.goto(`${server.url}#summarize`);
      await page.waitForFunction(() => /model ready|not usable|Could not/.test(document.querySelector('#summarize [data-testid=model-status]')?.textContent ?? ''), null, { timeout: 120_000 });
      assert.match(await text(page, 'model-status'), want);
      assert.equal(await page.locator(sel('summarize')).isEnabled(), false);
      await page.close();
    }
  });
});

// The native CLI's summary with the model file's own decoding (no overrides): beam search,
// with whatever lengths and blocks the file saved.
function nativeDefault(article, model) {
  const out = execFileSync(NATIVE, ['summarize', 'run', '--model', model, '--explain', '--device', 'cpu'], { input: article, stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = out.toString('utf8').trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

// The models trained without pairs: the menu loads each, its decoding defaults come from its
// file, and with those defaults (beam search, as shipped) its summaries equal the native CLI's
// on the same file, token for token. Switching back restores the news model.
const DEBIAN = path.resolve('../shared/data/debian/long2synopsis.tsv.gz');
const UNPAIRED = [
  {
    id: 'debian-unpaired',
    file: 'public/models/unpaired-debian.safetensors',
    about: /without a single description\/synopsis pair/,
    // Chosen on the validation pairs: [STOP] from the sixth step, at most 9, no repeats.
    controls: { 'min-len': '6', 'max-len': '9', 'target-len': '0', 'no-repeat-trigram': true, 'no-repeat-word': true },
    documents: () => zlib.gunzipSync(fs.readFileSync(DEBIAN)).toString('utf8').split('\n').filter((_, i) => [1000, 2000, 3000].includes(i)).map((l) => l.split('\t')[0]),
    shot: 'summarize-unpaired.png',
  },
  {
    id: 'news-unpaired',
    file: 'public/models/unpaired-news.safetensors',
    about: /without a single article\/headline pair/,
    // Exactly 9 words (the test headlines' length), Wang & Lee's [STOP] schedule, no repeats.
    controls: { 'target-len': '9', 'max-len': '13', 'no-repeat-trigram': false, 'no-repeat-word': true },
    // First sentences of validation articles (the page is meant for a pasted first sentence).
    documents: () => zlib.gunzipSync(fs.readFileSync(VAL)).toString('utf8').split('\n').filter((_, i) => [1000, 2000, 3000].includes(i)).map((l) => l.split(' . ')[0] + ' .'),
    shot: 'summarize-unpaired-news.png',
  },
  {
    // A search file (`unpaired search --export`): no decoding settings, every word copied.
    id: 'news-search',
    file: 'public/models/search-news.safetensors',
    about: /without a single article\/headline pair/,
    search: true,
    documents: () => zlib.gunzipSync(fs.readFileSync(VAL)).toString('utf8').split('\n').filter((_, i) => [1000, 2000, 3000].includes(i)).map((l) => l.split(' . ')[0] + ' .'),
    shot: 'summarize-search-news.png',
  },
];

// The native CLI's headline from a search file.
function nativeSearch(article, file) {
  const out = execFileSync(NATIVE, ['unpaired', 'run', '--model', file], { input: article, stdio: ['pipe', 'pipe', 'pipe'] });
  return { tokens: out.toString('utf8').trim().split(' ') };
}
test('the unpaired models summarize as the native CLI does, with their own decoding', { timeout: 900_000 }, async () => {
  const ready = () => /model ready|not usable|Could not/.test(document.querySelector('#summarize [data-testid=model-status]')?.textContent ?? '');
  await withBrowser({}, async ({ page, server, errors }) => {
    await page.goto(`${server.url}#summarize`);
    await page.waitForFunction(ready, null, { timeout: 300_000, polling: 250 });
    for (const m of UNPAIRED) {
      await set(page, 'model-choice', m.id);
      await page.waitForFunction(() => /model ready/.test(document.querySelector('#summarize [data-testid=model-status]').textContent) && /without/.test(document.querySelector('#summarize [data-testid=model-about]').textContent), null, { timeout: 300_000, polling: 250 });
      assert.match(await text(page, 'model-about'), m.about);
      // A search has no decoding settings to show; a network shows its file's.
      assert.equal(await page.locator(sel('decoding')).isVisible(), !m.search, `${m.id}: decoding settings`);
      for (const [id, want] of Object.entries(m.controls ?? {})) {
        const box = page.locator(sel(id));
        assert.equal(typeof want === 'boolean' ? await box.isChecked() : await box.inputValue(), want, `${m.id}: ${id}`);
      }
      if (!m.search) assert.equal(await page.locator(sel('decode-mode')).inputValue(), 'beam');
      for (const d of m.documents()) {
        const want = m.search ? nativeSearch(d, path.resolve(m.file)) : nativeDefault(d, path.resolve(m.file));
        await set(page, 'source-text', d);
        await summarize(page);
        assert.equal(await text(page, 'error'), '');
        const shown = await words(page);
        assert.deepEqual(shown.map((w) => w.token), want.tokens, `${m.id}: the page and the native CLI disagree`);
        if (m.search) assert.ok(shown.length === 9 && shown.every((w) => Number(w.pgen) === 0), `${m.id}: 9 copied words`);
        console.log(`${m.id}: "${d.slice(0, 60)}…" → ${want.tokens.join(' ')}`);
      }
      fs.mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: path.join(SHOTS, m.shot), fullPage: true });
    }
    // Back to the news model: the old summary goes, the news model loads again.
    await set(page, 'model-choice', 'news');
    await page.waitForFunction(ready, null, { timeout: 300_000, polling: 250 });
    assert.match(await text(page, 'model-status'), /model ready/);
    assert.equal(await page.locator(`${sel('summary')} [data-pgen]`).count(), 0);
    assert.equal(await page.locator(sel('max-len')).inputValue(), '100');
    assert.deepEqual(errors, []);
  });
});
