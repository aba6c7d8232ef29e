// Profiles the Summarize page's beam search on the CPU path (Flex in wasm) in headless Chromium
// with the DevTools CPU profiler, and prints the functions with the most self time. Needs a web
// build whose name section is kept (the release build strips it):
//   CARGO_PROFILE_WASM_RELEASE_STRIP=false trunk build --release --dist /tmp/dist-prof
//   node bench/profile_beam.mjs /tmp/dist-prof
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { withBrowser } from '../tests/browser/serve.mjs';
import { sel, set, summarize } from '../tests/browser/summarize_page.mjs';

const root = path.resolve(process.argv[2] ?? 'dist');
const articles = zlib.gunzipSync(fs.readFileSync(path.resolve('../shared/data/cnndm/val.source.gz'))).toString('utf8').split('\n').slice(0, 3);
const long = articles.find((a) => a.split(' ').length >= 400) ?? articles[0].repeat(3);
const article400 = long.split(' ').slice(0, 400).join(' ');

// One beam search, timed by the page itself.
async function run(page) {
  await summarize(page);
  return (await page.locator(sel('summarize-ms')).textContent()).trim();
}

await withBrowser({ root }, async ({ page, server }) => {
  await page.goto(`${server.url}#summarize`);
  await page.waitForFunction(() => /model ready/.test(document.querySelector('#summarize [data-testid=model-status]')?.textContent ?? ''), null, { timeout: 300_000 });
  await set(page, 'decode-mode', 'beam');
  await set(page, 'beam', 4);
  await set(page, 'min-len', 35);
  await set(page, 'max-len', 100);
  await set(page, 'source-text', article400);
  console.log('warm-up:', await run(page));
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
  await cdp.send('Profiler.start');
  console.log('profiled:', await run(page));
  const { profile } = await cdp.send('Profiler.stop');
  fs.mkdirSync('/tmp/prof', { recursive: true });
  fs.writeFileSync('/tmp/prof/beam.cpuprofile', JSON.stringify(profile)); // for DevTools' Performance panel
  // Self time per function name.
  const dt = new Map();
  for (let i = 1; i < profile.samples.length; i++) dt.set(profile.samples[i], (dt.get(profile.samples[i]) ?? 0) + profile.timeDeltas[i]);
  const self = new Map();
  let total = 0;
  for (const n of profile.nodes) {
    const t = dt.get(n.id) ?? 0;
    const name = n.callFrame.functionName || `(${n.callFrame.url.split('/').pop()})`;
    self.set(name, (self.get(name) ?? 0) + t);
    total += t;
  }
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 45);
  for (const [name, t] of top) console.log(`${(100 * t / total).toFixed(1).padStart(5)}%  ${(t / 1000).toFixed(0).padStart(6)} ms  ${name.slice(0, 150)}`);
});
