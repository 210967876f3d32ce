/**
 * The WebAssembly SIMD artifact in a real browser: headless Chromium (Debian's /usr/bin/chromium
 * through playwright-core) loads model.mjs + model.wasm + model.weights from a local http server
 * (127.0.0.1) and runs small_cnn; the numbers must match PyTorch's (rtol 1e-3, atol 1e-4).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { serve } from '../browser-util.ts';
import { loadOnnxFile } from '@aic/onnx';
import { pipelineFor, runPipeline } from '@aic/passes';
import { compileWasm, writeWasmArtifact } from '@aic/codegen';
import { zooModel } from '../model-zoo.ts';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'];

describe('wasm-simd artifact in headless Chromium', () => {
  it('runs small_cnn from a local page and matches the reference', async () => {
    expect(fs.existsSync(CHROMIUM), `${CHROMIUM} is installed (apt-get install chromium; scripts/setup.sh does)`).toBe(true);
    const pw = await import('playwright-core');
    const m = zooModel('small_cnn');
    const [inName, input] = [...m.inputs][0];
    const [outName, want] = [...m.outputs][0];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-wasm-web-'));
    const g = runPipeline(loadOnnxFile(m.onnx), pipelineFor(2)).graph;
    writeWasmArtifact(dir, compileWasm(g, { simd: true, version: 'test', source: 'small_cnn', sourceHash: '-' }));
    fs.writeFileSync(path.join(dir, 'input.json'), JSON.stringify(Array.from(input.num as ArrayLike<number>)));
    fs.writeFileSync(path.join(dir, 'index.html'), `<!doctype html><meta charset="utf-8"><title>aic wasm</title>
<script type="module">
import { load } from './model.mjs';
try {
  const model = await load();
  const x = new Float32Array(await (await fetch('./input.json')).json());
  const out = await model.run({ ${JSON.stringify(inName)}: x });
  window.__result = { ok: true, output: Array.from(out[${JSON.stringify(outName)}]) };
} catch (e) {
  window.__result = { ok: false, message: String(e && e.stack || e) };
}
</script>`);
    const srv = await serve(dir);
    const browser = await pw.chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
    try {
      const page = await browser.newPage();
      const logs: string[] = [];
      page.on('console', (msg) => logs.push(msg.text()));
      await page.goto(`${srv.url}/index.html`);
      await page.waitForFunction(() => (globalThis as unknown as { __result?: unknown }).__result !== undefined, undefined, { timeout: 60_000 });
      const r = await page.evaluate(() => (globalThis as unknown as { __result: { ok: boolean; message?: string; output?: number[] } }).__result);
      expect(r.ok, `${r.message} ${logs.join(' | ')}`).toBe(true);
      const w = want.num as ArrayLike<number>;
      expect(r.output!.length).toBe(w.length);
      for (let i = 0; i < w.length; i++) expect(Math.abs(r.output![i] - w[i]), `output[${i}]`).toBeLessThanOrEqual(1e-4 + 1e-3 * Math.abs(w[i]));
    } finally {
      await browser.close();
      srv.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
