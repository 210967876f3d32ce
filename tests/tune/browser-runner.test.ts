/**
 * aic tune --runner browser: the CLI serves the page on 127.0.0.1 and waits; headless Chromium
 * (playwright-core) opens the printed URL and times every build; the log it writes is applied by
 * aic compile --tuning-log. A tiny budget keeps it short.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const MODEL = path.join(ROOT, 'tests/fixtures/models/small_cnn.onnx');
const CHROMIUM = '/usr/bin/chromium';

function aic(args: string[], onErr?: (text: string) => void): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [path.join(ROOT, 'bin/aic'), ...args], { env: { ...process.env, NO_COLOR: '1' }, cwd: ROOT });
    let out = '', err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; onErr?.(err); });
    p.on('close', (code) => resolve({ code, out, err }));
  });
}

/** aic tune --runner browser with headless Chromium opening the printed URL; the log's records. */
async function tuneInBrowser(target: string, args: string[], flags: string[], log: string) {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', ...flags] });
  let opened: Promise<unknown> | undefined;
  let title = '', isolated = false;
  try {
    const r = await aic(['tune', MODEL, '--target', target, '--runner', 'browser', ...args, '-o', log], (err) => {
      const m = /open this URL in the browser to tune for: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(err);
      if (m && !opened) opened = browser.newPage().then(async (page) => { await page.goto(m[1]); await page.waitForFunction("document.title === 'aic tune: done' || document.title === 'aic tune: stopped'", undefined, { timeout: 200_000 }); title = await page.title(); isolated = await page.evaluate('crossOriginIsolated'); });
    });
    await opened;
    expect(r.code, r.err).toBe(0);
    expect(title, r.err).toBe('aic tune: done');
    expect(isolated).toBe(true); // the 5 µs clock
    expect(r.out).toMatch(/model \(sum of kernels\): default [\d.]+ ms, tuned [\d.]+ ms/);
    const recs = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(recs.filter((x) => x.trial === 0 && !x.confirmed).length).toBe(7); // small_cnn: 7 kernels, 7 workloads
    expect(recs.filter((x) => x.trial > 0).length).toBeGreaterThan(0); // candidates measured in the page
    for (const x of recs) {
      expect(x.target).toBe(target);
      expect(x.median_us).toBeGreaterThan(0);
    }
    return recs;
  } finally { await browser.close(); }
}

describe.runIf(fs.existsSync(CHROMIUM))('aic tune --runner browser', () => {
  it('tunes small_cnn in headless Chromium and compile applies the log', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-tune-browser-'));
    const log = path.join(dir, 'tuning.jsonl');
    await tuneInBrowser('wasm-simd', ['--trials', '3', '--budget', '1m', '--reps', '3'], [], log);
    const c = await aic(['--verbose', 'compile', MODEL, '--target', 'wasm-simd', '--tuning-log', log, '-o', path.join(dir, 'out')]);
    expect(c.code).toBe(0);
    expect(c.err).not.toMatch(/warning/);
    expect(c.err).toMatch(/tuning logs: \d+ kernel\(s\) get a tuned schedule/);
    expect(fs.existsSync(path.join(dir, 'out', 'model.wasm'))).toBe(true);
    // a candidate the page measured, promoted to a confirmed winner: its schedule applies at compile time
    const cand = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).find((x) => x.trial > 0);
    const won = path.join(dir, 'won.jsonl');
    fs.writeFileSync(won, JSON.stringify({ ...cand, median_us: 0.001, confirmed: true }) + '\n');
    const w = await aic(['--verbose', 'compile', MODEL, '--target', 'wasm-simd', '--tuning-log', log, '--tuning-log', won, '-o', path.join(dir, 'out2')]);
    expect(w.code).toBe(0);
    expect(w.err).not.toMatch(/warning/);
    expect(w.err).toMatch(/tuning logs: [1-9]\d* kernel\(s\) get a tuned schedule/);
  }, 240_000); // a headless Chromium tuning run: 20-40 s alone, past 60 s on a loaded CI machine

  it('tunes small_cnn for wgsl on the page\'s WebGPU adapter (SwiftShader) and logs that adapter', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-tune-browser-gpu-'));
    const recs = await tuneInBrowser('wgsl', ['--trials', '3', '--budget', '1m', '--reps', '2'], ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'], path.join(dir, 'tuning.jsonl'));
    const gpu = recs[0].machine.gpu;
    expect(typeof gpu).toBe('string');
    expect(gpu).toMatch(/swiftshader/i); // the page's adapter (GPUDevice.adapterInfo)
    for (const x of recs) expect(x.machine.gpu).toBe(gpu);
  }, 300_000);
});
