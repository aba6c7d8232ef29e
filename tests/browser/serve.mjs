// A tiny static server for dist/ on 127.0.0.1 (random port), with the wasm MIME type, that
// records every request so a test can assert what the page fetched.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css', '.png': 'image/png', '.json': 'application/json', '.safetensors': 'application/octet-stream' };

export async function serve(root) {
  const requests = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url);
    const url = new URL(req.url, 'http://x');
    let file = path.join(root, decodeURIComponent(url.pathname));
    if (!file.startsWith(root)) { res.writeHead(403).end(); return; }
    if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, 'index.html');
    fs.readFile(file, (err, data) => {
      if (err) { res.writeHead(404).end('not found'); return; }
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
      res.end(data);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}/`, requests, close: () => new Promise((r) => server.close(r)) };
}

export function chromiumArgs({ webgpu }) {
  const args = ['--headless=new', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--disable-dev-shm-usage'];
  if (webgpu) args.push('--enable-unsafe-webgpu');
  return args;
}

// Serves `root` (dist/) and opens a page in headless Chromium (a fresh, empty profile of Playwright's
// own), with WebGPU (SwiftShader) or without it (the CPU fallback), collecting the page's
// uncaught errors. `body({ page, browser, server, errors })` runs inside; the browser and the
// server always close.
export async function withBrowser({ webgpu = false, viewport = { width: 1300, height: 1000 }, root = 'dist' }, body) {
  const server = await serve(path.resolve(root));
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: chromiumArgs({ webgpu }) });
  const errors = [];
  try {
    const page = await browser.newPage({ viewport });
    page.on('pageerror', (e) => errors.push(e.message));
    return await body({ page, browser, server, errors });
  } finally {
    await browser.close();
    await server.close();
  }
}
