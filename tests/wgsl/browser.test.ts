/**
 * The WGSL artifact in a real browser: headless Chromium (Debian's /usr/bin/chromium through
 * playwright-core, WebGPU on SwiftShader) loads model.mjs + model.weights from a local http server
 * (127.0.0.1) and runs small_cnn; the numbers must match PyTorch's (atol 1e-3, rtol 1e-3).
 * Skips with the reason when chromium or playwright-core is missing; with chromium installed, a browser
 * without a WebGPU adapter is a failure (the rule of tests/webgpu.ts: chromium present means WebGPU tests run).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { serve } from '../browser-util.ts';
import { parseNpy, type Tensor } from '@aic/core';
import { loadOnnxFile } from '@aic/onnx';
import { compileWgsl, writeWgslArtifact } from '../../codegen/wgsl/index.ts';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/models');
const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'];

describe('wgsl artifact in headless Chromium', () => {
  it('runs small_cnn from a local page and matches the reference', async (ctx) => {
    if (!fs.existsSync(CHROMIUM)) return ctx.skip(`SKIPPED: ${CHROMIUM} not found (apt-get install chromium)`);
    let pw: typeof import('playwright-core');
    try { pw = await import('playwright-core'); } catch { return ctx.skip('SKIPPED: playwright-core is not installed'); }
    const meta = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'small_cnn.json'), 'utf8'));
    const input = parseNpy(new Uint8Array(fs.readFileSync(path.join(FIXTURES, meta.inputs[0].file))));
    const want = parseNpy(new Uint8Array(fs.readFileSync(path.join(FIXTURES, meta.outputs[0].file)))) as Tensor;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-wgsl-web-'));
    const c = compileWgsl(loadOnnxFile(path.join(FIXTURES, meta.model)), { version: 'test', source: 'small_cnn', sourceHash: '-' });
    writeWgslArtifact(dir, c);
    fs.writeFileSync(path.join(dir, 'input.json'), JSON.stringify(Array.from(input.num as ArrayLike<number>)));
    fs.writeFileSync(path.join(dir, 'index.html'), `<!doctype html><meta charset="utf-8"><title>aic wgsl</title>
<script type="module">
import { load } from './model.mjs';
try {
  const model = await load();
  const x = new Float32Array(await (await fetch('./input.json')).json());
  const out = await model.run({ ${JSON.stringify(meta.inputs[0].name)}: x });
  window.__result = { ok: true, output: Array.from(out[${JSON.stringify(meta.outputs[0].name)}]) };
} catch (e) {
  window.__result = { ok: false, message: String(e && e.message || e) };
}
</script>`);
    const srv = await serve(dir);
    const browser = await pw.chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
    try {
      const page = await browser.newPage();
      const logs: string[] = [];
      page.on('console', (m) => logs.push(m.text()));
      await page.goto(`${srv.url}/index.html`);
      await page.waitForFunction(() => (globalThis as unknown as { __result?: unknown }).__result !== undefined, undefined, { timeout: 90_000 });
      const r = await page.evaluate(() => (globalThis as unknown as { __result: { ok: boolean; message?: string; output?: number[] } }).__result);
      expect(r.ok, `${r.message} ${logs.join(' | ')}`).toBe(true);
      const got = r.output!;
      const w = want.num as ArrayLike<number>;
      expect(got.length).toBe(w.length);
      for (let i = 0; i < w.length; i++) expect(Math.abs(got[i] - w[i]), `output[${i}] ${got[i]} vs ${w[i]}`).toBeLessThanOrEqual(1e-3 + 1e-3 * Math.abs(w[i]));
    } finally {
      await browser.close();
      srv.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
